// The order of every top-k kernel, prepended to kernels.cu and kernels_scan.cu by cupy_backend._source (so
// CuPy's compile cache, keyed on the source text, sees a change here): higher score first, then lower index,
// the NumPy path's rule; index -1 marks an empty slot, worse than anything.
#define NEG_INF (-__int_as_float(0x7f800000))

__device__ __forceinline__ bool better(float a, long long ia, float b, long long ib) {
    return a > b || (a == b && ia >= 0 && (ib < 0 || ia < ib));
}

