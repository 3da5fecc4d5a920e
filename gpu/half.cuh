// Queries arrive as fp32 or fp16 (QT) and are read as fp32: no conversion launch before the kernels.
#include <cuda_fp16.h>

__device__ __forceinline__ float to_f32(float x) { return x; }
__device__ __forceinline__ float to_f32(__half x) { return __half2float(x); }
