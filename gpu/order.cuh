// The order of every top-k kernel, prepended to every kernel file by cupy_backend._source and sm90.source
// (so the compile caches, keyed on the source text, see a change here): higher score first, then lower
// index, the NumPy path's rule; index -1 marks an empty slot, worse than anything. No includes: the sm_90a
// build has no header search path.
#define NEG_INF (-__int_as_float(0x7f800000))
#define POS_INF (__int_as_float(0x7f800000))

__device__ __forceinline__ bool better(float a, long long ia, float b, long long ib) {
    return a > b || (a == b && ia >= 0 && (ib < 0 || ia < ib));
}
