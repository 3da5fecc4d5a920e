// Pulse's CUDA kernels (compiled by CuPy's RawModule through NVRTC).
// Ordering everywhere: higher score first, then lower index, the same rule as the NumPy path.
#include <cuda_fp16.h>

#define NEG_INF (-__int_as_float(0x7f800000))

__device__ __forceinline__ bool better(float a, long long ia, float b, long long ib) {
    return a > b || (a == b && ia >= 0 && (ib < 0 || ia < ib));
}

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

// Streaming top-k, step 1: keep the elements of a score tile that reach the query's running threshold.
// After the first tile the threshold is the K-th best so far, so almost everything is rejected by one compare.
extern "C" __global__ void filter_tile(const __half* __restrict__ S, int cols, long long col0,
                                       const float* __restrict__ tau, float* __restrict__ cs,
                                       long long* __restrict__ ci, unsigned int* __restrict__ count, int cap) {
    const int q = blockIdx.y;
    const float t = tau[q];
    const __half* row = S + (long long)q * cols;
    for (int c = blockIdx.x * blockDim.x + threadIdx.x; c < cols; c += gridDim.x * blockDim.x) {
        float x = __half2float(row[c]);
        if (x >= t) {
            unsigned int slot = atomicAdd(&count[q], 1u);
            if (slot < (unsigned int)cap) { cs[(long long)q * cap + slot] = x; ci[(long long)q * cap + slot] = col0 + c; }
        }
    }
}

// Streaming top-k, step 2: one warp per query merges its best-K list with the new candidates,
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

// Pairs of a score tile at or above a (slightly lowered) threshold, appended through an atomic counter.
extern "C" __global__ void emit_pairs(const __half* __restrict__ S, int rows, int cols, long long row0, long long col0,
                                      float thr, int upper, unsigned long long* count, unsigned long long cap,
                                      long long* oi, long long* oj) {
    long long total = (long long)rows * cols;
    for (long long e = blockIdx.x * (long long)blockDim.x + threadIdx.x; e < total; e += (long long)gridDim.x * blockDim.x) {
        int r = e / cols, c = e - (long long)r * cols;
        long long gi = row0 + r, gj = col0 + c;
        if (upper && gj <= gi) continue;
        if (__half2float(S[e]) >= thr) {
            unsigned long long slot = atomicAdd(count, 1ULL);
            if (slot < cap) { oi[slot] = gi; oj[slot] = gj; }
        }
    }
}

// Exact fp32 cosine for listed pairs of fp16 rows.
extern "C" __global__ void pair_scores(const __half* __restrict__ A, const __half* __restrict__ B,
                                       const long long* __restrict__ pi, const long long* __restrict__ pj,
                                       long long m, int d, float* out) {
    long long p = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (p >= m) return;
    const __half* a = A + pi[p] * d;
    const __half* b = B + pj[p] * d;
    float acc = 0.f, aa = 0.f, bb = 0.f;
    for (int x = 0; x < d; ++x) {
        float av = __half2float(a[x]), bv = __half2float(b[x]);
        acc += av * bv; aa += av * av; bb += bv * bv;
    }
    float den = sqrtf(aa) * sqrtf(bb);
    out[p] = den > 0.f ? acc / den : 0.f;
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
