// Pulse's CUDA kernels (compiled by CuPy's RawModule through NVRTC).
// Ordering everywhere: higher score first, then lower index, the same rule as the NumPy path.
#include <cuda_fp16.h>
// NEG_INF and better() (order.cuh) and the mma.sync wrappers (mma.cuh) are prepended.

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

// ---- Fused tensor-core scoring + threshold filter -------------------------------------------------------
// Scores of corpus rows [c_begin, c_end) against every query come from mma.sync (fp16 in, fp32 accumulate)
// on tiles staged through shared memory by cp.async; they never leave registers. A score at or above the
// query's running threshold tau[q] is appended to that query's candidate list (count[q] may exceed cap:
// the caller sees the overflow and takes the exhaustive path). d must be a multiple of 32 (prepare pads).
// MT x NT mma tiles (16 x 8 each) per warp, WM x WN warps per block: a block scores BM queries x BN corpus
// rows, BK columns of d per pipeline step with STAGES steps in flight. Blocks are numbered query-tile
// fastest, so the query tiles that share a corpus tile run together and the corpus is read from device
// memory about once. (A persistent variant with one flat pipeline across tiles measured slower.)
template <int MT, int NT, int WM, int WN, int BK, int STAGES>
__global__ void __launch_bounds__(WM * WN * 32)
fused_filter(const __half* __restrict__ Q, const __half* __restrict__ C, int nq, int d,
             long long c_begin, long long c_end, const float* __restrict__ tau,
             float* __restrict__ cs, long long* __restrict__ ci, unsigned int* __restrict__ count, int cap) {
    constexpr int BM = WM * MT * 16, BN = WN * NT * 8, THREADS = WM * WN * 32, LDS = BK + 8, CH = BK / 8;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    __half* As = reinterpret_cast<__half*>(smem_raw);        // [STAGES][BM][LDS]
    __half* Bs = As + STAGES * BM * LDS;                      // [STAGES][BN][LDS]
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm = warp / WN, wn = warp % WN;
    const int nqt = (nq + BM - 1) / BM;
    const int q0 = (int)(blockIdx.x % nqt) * BM;
    const long long n0 = c_begin + (long long)(blockIdx.x / nqt) * BN;

    auto load_stage = [&](int stage, int k0) {
        for (int c = tid; c < BM * CH; c += THREADS) {
            int r = c / CH, kc = (c % CH) * 8;
            int q = min(q0 + r, nq - 1);
            cp_async16(As + (stage * BM + r) * LDS + kc, Q + (long long)q * d + k0 + kc);
        }
        for (int c = tid; c < BN * CH; c += THREADS) {
            int r = c / CH, kc = (c % CH) * 8;
            long long row = min(n0 + r, c_end - 1);
            cp_async16(Bs + (stage * BN + r) * LDS + kc, C + row * d + k0 + kc);
        }
    };

    float acc[MT][NT][4];
#pragma unroll
    for (int mi = 0; mi < MT; ++mi)
#pragma unroll
        for (int ni = 0; ni < NT; ++ni)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[mi][ni][e] = 0.f;

    const int KT = d / BK;
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < KT) load_stage(s, s * BK);
        cp_async_commit();
    }
    for (int kt = 0; kt < KT; ++kt) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();
        const int nk = kt + STAGES - 1;
        if (nk < KT) load_stage(nk % STAGES, nk * BK);
        cp_async_commit();
        const __half* a = As + (kt % STAGES) * BM * LDS;
        const __half* b = Bs + (kt % STAGES) * BN * LDS;
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            unsigned af[MT][4], bf[NT][2];
#pragma unroll
            for (int mi = 0; mi < MT; ++mi)
                ldmatrix_x4(af[mi], a + (wm * MT * 16 + mi * 16 + (lane & 15)) * LDS + kk + (lane >> 4) * 8);
#pragma unroll
            for (int ni = 0; ni < NT; ni += 2) {
                unsigned t[4];
                ldmatrix_x4(t, b + (wn * NT * 8 + ni * 8 + (lane >> 4) * 8 + (lane & 7)) * LDS + kk + ((lane >> 3) & 1) * 8);
                bf[ni][0] = t[0]; bf[ni][1] = t[1]; bf[ni + 1][0] = t[2]; bf[ni + 1][1] = t[3];
            }
#pragma unroll
            for (int mi = 0; mi < MT; ++mi)
#pragma unroll
                for (int ni = 0; ni < NT; ++ni) mma16816(acc[mi][ni], af[mi], bf[ni][0], bf[ni][1]);
        }
    }
    cp_async_wait<0>();

    const int g = lane >> 2, t4 = lane & 3;
#pragma unroll
    for (int mi = 0; mi < MT; ++mi)
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            const int q = q0 + wm * MT * 16 + mi * 16 + g + h * 8;
            if (q >= nq) continue;
            const float th = tau[q];
#pragma unroll
            for (int ni = 0; ni < NT; ++ni)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const float x = acc[mi][ni][h * 2 + e];
                    const long long col = n0 + wn * NT * 8 + ni * 8 + t4 * 2 + e;
                    if (x >= th && col < c_end) {
                        unsigned int slot = atomicAdd(&count[q], 1u);
                        if (slot < (unsigned int)cap) { cs[(long long)q * cap + slot] = x; ci[(long long)q * cap + slot] = col; }
                    }
                }
        }
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

// Streaming top-k, after each fused pass: one warp per query merges its best-K list with the new candidates,
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
