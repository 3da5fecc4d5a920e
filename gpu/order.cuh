// The order of every top-k kernel, prepended to every kernel file by cupy_backend._source (so CuPy's compile
// cache, keyed on the source text, sees a change here): higher score first, then lower index, the NumPy
// path's rule; index -1 marks an empty slot, worse than anything.
#include <cuda_fp16.h>
#define NEG_INF (-__int_as_float(0x7f800000))
#define POS_INF (__int_as_float(0x7f800000))

__device__ __forceinline__ bool better(float a, long long ia, float b, long long ib) {
    return a > b || (a == b && ia >= 0 && (ib < 0 || ia < ib));
}


// Queries arrive as fp32 or fp16 (QT) and are read as fp32: no conversion launch before the kernels.
__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
