// The fallbacks of top-k and the connected components (compiled by CuPy's RawModule through NVRTC).
// What: the exhaustive path's per-slice top-K of cuBLAS score tiles (topk_half) and their merges
// (topk_merge); the multi-pass filter's query preparation (prep_queries) and compaction of candidates into
// each query's best K (compact, after each wgmma_filter pass); exact fp32 rescoring (rescore); union-find
// components (uf_union, uf_compress).
// Why this way: these paths run only when the one-pass kernels cannot (a candidate buffer overflowed, or no
// Hopper GPU), so they are plain: simple loops, exact whatever the corpus order.
// Ordering everywhere: higher score first, then lower index, the same rule as the NumPy path.
#include <cuda_fp16.h>
// NEG_INF and better() (order.cuh) are prepended.

// Per (slice of columns, query row): the best K of a score tile, written as one partial list.
// S is [rows, ncols] (half or float) with leading dimension ld. If idx_in is given, the tile is a list of
// earlier candidates and idx_in holds their corpus indices; otherwise index = col0 + column.
template <int K, typename T>
__device__ void slice_topk(const T* __restrict__ S, const long long* __restrict__ idx_in, int ncols, long long ld,
                           int slice, long long col0, float* __restrict__ out_s, long long* __restrict__ out_i,
                           int out_stride, int out_slot0) {
    const int row = blockIdx.y;
    const int s = blockIdx.x;
    const int begin = s * slice;
    const int end = min(ncols, begin + slice);
    float v[K];
    long long ix[K];
#pragma unroll
    for (int t = 0; t < K; ++t) { v[t] = NEG_INF; ix[t] = -1; }
    const T* rowp = S + (long long)row * ld;
    const long long* idxp = idx_in ? idx_in + (long long)row * ld : nullptr;
    for (int c = begin + threadIdx.x; c < end; c += blockDim.x) {
        float x = (float)rowp[c];
        long long id = idxp ? idxp[c] : col0 + c;
        if (id < 0 || !better(x, id, v[K - 1], ix[K - 1])) continue;
        // insertion into the sorted register list (unrolled: stays in registers)
        float cx = x; long long ci = id;
#pragma unroll
        for (int t = 0; t < K; ++t) {
            if (better(cx, ci, v[t], ix[t])) {
                float tv = v[t]; long long ti = ix[t];
                v[t] = cx; ix[t] = ci; cx = tv; ci = ti;
            }
        }
    }
    // block merge: K rounds of a block-wide argmax over each thread's list head
    __shared__ float hs[32];
    __shared__ long long hi[32];
    __shared__ int hw[32];
    __shared__ int winner;
    int head = 0;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31) >> 5;
    for (int r = 0; r < K; ++r) {
        float bv = NEG_INF; long long bi = -1;
#pragma unroll
        for (int t = 0; t < K; ++t) if (t == head) { bv = v[t]; bi = ix[t]; }
        int bt = threadIdx.x;
        for (int off = 16; off > 0; off >>= 1) {
            float ov = __shfl_down_sync(0xffffffff, bv, off);
            long long oi = __shfl_down_sync(0xffffffff, bi, off);
            int ot = __shfl_down_sync(0xffffffff, bt, off);
            if (better(ov, oi, bv, bi)) { bv = ov; bi = oi; bt = ot; }
        }
        if (lane == 0) { hs[warp] = bv; hi[warp] = bi; hw[warp] = bt; }
        __syncthreads();
        if (threadIdx.x == 0) {
            float wv = hs[0]; long long wi = hi[0]; int wt = hw[0];
            for (int w = 1; w < nwarps; ++w) if (better(hs[w], hi[w], wv, wi)) { wv = hs[w]; wi = hi[w]; wt = hw[w]; }
            long long o = (long long)row * out_stride + (long long)(out_slot0 + s) * K + r;
            out_s[o] = wv; out_i[o] = wi;
            winner = (wi >= 0) ? wt : -1;
        }
        __syncthreads();
        if (threadIdx.x == winner) ++head;
        __syncthreads();
    }
}

template <int K>
__global__ void topk_half(const __half* S, int ncols, long long ld, int slice, long long col0,
                          float* out_s, long long* out_i, int out_stride, int out_slot0) {
    slice_topk<K, __half>(S, nullptr, ncols, ld, slice, col0, out_s, out_i, out_stride, out_slot0);
}

template <int K>
__global__ void topk_merge(const float* S, const long long* idx, int ncols, int slice,
                           float* out_s, long long* out_i, int out_stride) {
    slice_topk<K, float>(S, idx, ncols, ncols, slice, 0, out_s, out_i, out_stride, 0);
}

// A query holding NaN or infinity sets flags[1] (the caller raises a clear error after one synchronisation).
extern "C" __global__ void prep_queries(const float* __restrict__ Q, int nq, int d, int dp, float* q32, __half* q16,
                                        float* best_s, long long* best_i, int K, float* tau, unsigned int* count,
                                        int* flags) {
    const int row = blockIdx.x;
    __shared__ float part[32];
    float ss = 0.f;
    bool bad = false;
    for (int x = threadIdx.x; x < d; x += blockDim.x) { float v = Q[(long long)row * d + x]; ss += v * v; bad |= !isfinite(v); }
    if (bad) atomicExch(&flags[1], 1);
    for (int off = 16; off > 0; off >>= 1) ss += __shfl_down_sync(0xffffffff, ss, off);
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = ss;
    __syncthreads();
    if (threadIdx.x == 0) {
        float t = 0.f;
        for (int w = 0; w < (int)(blockDim.x >> 5); ++w) t += part[w];
        part[0] = t > 0.f ? rsqrtf(t) : 0.f;
    }
    __syncthreads();
    const float inv = part[0];
    for (int x = threadIdx.x; x < dp; x += blockDim.x) {
        float v = x < d ? Q[(long long)row * d + x] * inv : 0.f;
        q32[(long long)row * dp + x] = v;
        q16[(long long)row * dp + x] = __float2half(v);
    }
    for (int t = threadIdx.x; t < K; t += blockDim.x) { best_s[(long long)row * K + t] = NEG_INF; best_i[(long long)row * K + t] = -1; }
    if (threadIdx.x == 0) { tau[row] = NEG_INF; count[row] = 0; }
}

// Streaming top-k, after each filter pass: one warp per query merges its best-K list with the new candidates,
// raises the threshold to the new K-th score and empties the buffer. Overflow is flagged, never ignored.
template <int K>
__global__ void compact(int nq, float* best_s, long long* best_i, float* tau, const float* cs,
                        const long long* ci, unsigned int* count, int cap, int* overflow) {
    const int q = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (q >= nq) return;
    unsigned int n = count[q];
    if (n == 0) return;
    if (n > (unsigned int)cap) { if (lane == 0) atomicExch(overflow, 1); n = cap; }
    float v[K];
    long long ix[K];
#pragma unroll
    for (int t = 0; t < K; ++t) { v[t] = NEG_INF; ix[t] = -1; }
    auto insert = [&](float x, long long id) {
        if (id < 0 || !better(x, id, v[K - 1], ix[K - 1])) return;
        float cx = x; long long cid = id;
#pragma unroll
        for (int t = 0; t < K; ++t) {
            if (better(cx, cid, v[t], ix[t])) { float tv = v[t]; long long ti = ix[t]; v[t] = cx; ix[t] = cid; cx = tv; cid = ti; }
        }
    };
    for (int t = lane; t < K; t += 32) insert(best_s[(long long)q * K + t], best_i[(long long)q * K + t]);
    for (unsigned int t = lane; t < n; t += 32) insert(cs[(long long)q * cap + t], ci[(long long)q * cap + t]);
    int head = 0;
    for (int r = 0; r < K; ++r) {
        float bv = NEG_INF; long long bi = -1;
#pragma unroll
        for (int t = 0; t < K; ++t) if (t == head) { bv = v[t]; bi = ix[t]; }
        int bl = lane;
        for (int off = 16; off > 0; off >>= 1) {
            float ov = __shfl_down_sync(0xffffffff, bv, off);
            long long oi = __shfl_down_sync(0xffffffff, bi, off);
            int ol = __shfl_down_sync(0xffffffff, bl, off);
            if (better(ov, oi, bv, bi)) { bv = ov; bi = oi; bl = ol; }
        }
        bv = __shfl_sync(0xffffffff, bv, 0);
        bi = __shfl_sync(0xffffffff, bi, 0);
        bl = __shfl_sync(0xffffffff, bl, 0);
        if (lane == 0) { best_s[(long long)q * K + r] = bv; best_i[(long long)q * K + r] = bi; }
        if (bi >= 0 && lane == bl) ++head;
    }
    if (lane == 0) {
        long long last = best_i[(long long)q * K + K - 1];
        tau[q] = last >= 0 ? best_s[(long long)q * K + K - 1] : NEG_INF;
        count[q] = 0;
    }
}

// Exact fp32 rescoring of candidates (fp16 corpus rows, fp32 unit queries), then per-row sort.
// One block per query, one thread per candidate (kc <= blockDim.x <= 128).
extern "C" __global__ void rescore(const float* __restrict__ Q, const __half* __restrict__ C,
                                   const long long* __restrict__ cand,
                                   int kc, int d, int k, float* out_s, long long* out_i) {
    __shared__ float ss[128];
    __shared__ long long si[128];
    const int row = blockIdx.x, t = threadIdx.x;
    if (t < kc) {
        long long id = cand[(long long)row * kc + t];
        float acc = NEG_INF;
        if (id >= 0) {
            float dot = 0.f, nn = 0.f;
            const __half* cr = C + id * d;
            const float* qr = Q + (long long)row * d;
            for (int x = 0; x < d; ++x) { float cv = __half2float(cr[x]); dot += qr[x] * cv; nn += cv * cv; }
            acc = nn > 0.f ? dot / sqrtf(nn) : 0.f;
        }
        ss[t] = acc; si[t] = id;
    }
    __syncthreads();
    if (t == 0) {
        for (int a = 1; a < kc; ++a) {  // insertion sort, kc <= 128
            float v = ss[a]; long long i = si[a]; int b = a - 1;
            while (b >= 0 && better(v, i, ss[b], si[b])) { ss[b + 1] = ss[b]; si[b + 1] = si[b]; --b; }
            ss[b + 1] = v; si[b + 1] = i;
        }
        for (int a = 0; a < k; ++a) { out_s[(long long)row * k + a] = ss[a]; out_i[(long long)row * k + a] = si[a]; }
    }
}

// Union-find connected components: hook the larger root under the smaller (atomicCAS), so the
// final root of every component is its smallest node; then compress every node to its root.
__device__ long long find_root(long long* parent, long long x) {
    while (true) {
        long long p = parent[x];
        if (p == x) return x;
        long long g = parent[p];
        if (g != p) atomicCAS((unsigned long long*)&parent[x], (unsigned long long)p, (unsigned long long)g);
        x = p;
    }
}

extern "C" __global__ void uf_union(long long* parent, const long long* ei, const long long* ej, long long m) {
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < m; e += (long long)gridDim.x * blockDim.x) {
        long long a = ei[e], b = ej[e];
        while (true) {
            a = find_root(parent, a);
            b = find_root(parent, b);
            if (a == b) break;
            if (a > b) { long long t = a; a = b; b = t; }
            // b is the larger root: point it at a, unless someone moved it meanwhile
            if (atomicCAS((unsigned long long*)&parent[b], (unsigned long long)b, (unsigned long long)a) == (unsigned long long)b) break;
        }
    }
}

extern "C" __global__ void uf_compress(long long* parent, long long n) {
    for (long long x = blockIdx.x * (long long)blockDim.x + threadIdx.x; x < n; x += (long long)gridDim.x * blockDim.x) {
        parent[x] = find_root(parent, x);
    }
}
