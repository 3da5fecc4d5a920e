// Top-k for one query (search: a query at a time), in one launch, exact fp32 scores (built for up to two;
// topk sends two to the one pass, faster at every size measured).
// Compiled per shape by cupy_backend.scan_kernel. Ordering: higher score first, then lower index.
//
// A batch this small is a stream over the corpus: the tensor cores would idle and the multi-pass filter
// spends more time launching and compacting than reading. Here every 8 lanes of a warp take one corpus
// row (16-byte loads, coalesced within the row), scores are exact fp32 cosines (dot / |row|, the same
// arithmetic as the rescoring of the other paths), and each warp keeps its best K as a sorted list spread
// over its lanes (lane t holds entry t), so most rows cost one comparison against the list's last entry.
// A block ranks its warps' lists together; the last block to finish (atomic ticket) merges every block's
// list and writes the answer, then re-arms the ticket for the next launch. Neither merge inserts into sorted
// lists (a chain of dependent shuffles per entry) unless ties force it: ranks are counted in parallel.
// NEG_INF, better() (order.cuh), to_f32 (half.cuh) and WarpList (warplist.cuh) are prepended.

constexpr int WARPS = 8;
#ifndef PULSE_SCAN_UNROLL
#define PULSE_SCAN_UNROLL 3
#endif
// Row groups per warp iteration: UNROLL x CPL 16-byte loads in flight per lane. Measured on the H100 at d=384
// (bench/profile_topk.py scan): 1 and 2 leave bandwidth unused, 3 is best, 4 no better.
constexpr int UNROLL = PULSE_SCAN_UNROLL;
constexpr int MAX_BLOCKS = 1024;  // blocks a launch may have: cupy_backend.SCAN_MAX_BLOCKS
constexpr int CANDS = 512;  // entries the last block ranks at once (K and a few, but for ties at the floor)

// CPL = 16-byte chunks per lane per row = dp / 64 (dp, the padded dimension, is the corpus row stride).
template <int NQ, int K, int CPL, typename QT>
__global__ void __launch_bounds__(WARPS * 32)
scan_topk(const QT* __restrict__ Q, int nq, int d, const __half* __restrict__ C, long long n,
          float* __restrict__ part_s, long long* __restrict__ part_i, unsigned int* __restrict__ done,
          float* __restrict__ out_s, long long* __restrict__ out_i, int k, int* __restrict__ bad_query) {
    constexpr int DP = CPL * 64;
    __shared__ __align__(16) float qs[NQ][DP];
    __shared__ float ms[NQ][WARPS][K];
    __shared__ long long mi[NQ][WARPS][K];
    __shared__ float inv[NQ];
    __shared__ int bad;
    __shared__ unsigned int ticket;
    __shared__ float heads[MAX_BLOCKS];  // the last block's: every block's best score for one query
    __shared__ float cv[CANDS];
    __shared__ long long cid[CANDS];
    __shared__ float floor_v;
    __shared__ int ncand;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;

    // Unit queries (zero-padded to DP; a zero query stays zero). A NaN or infinity is reported, not scored.
    if (tid == 0) bad = 0;
    __syncthreads();
    if (warp < NQ) {
        float ss = 0.f;
        bool nonfinite = false;
        if (warp < nq)
            for (int x = lane; x < d; x += 32) { const float v = to_f32(Q[(long long)warp * d + x]); ss += v * v; nonfinite |= !isfinite(v); }
        for (int o = 16; o; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
        if (__any_sync(0xffffffffu, nonfinite) && lane == 0) atomicOr(&bad, 1);
        if (lane == 0) inv[warp] = ss > 0.f ? rsqrtf(ss) : 0.f;
    }
    __syncthreads();
    for (int x = tid; x < NQ * DP; x += WARPS * 32) {
        const int j = x / DP, c = x % DP;
        qs[j][c] = (j < nq && c < d) ? to_f32(Q[(long long)j * d + c]) * inv[j] : 0.f;
    }
    if (blockIdx.x == 0 && tid == 0) *bad_query = bad;
    __syncthreads();

    const int sub = lane & 7, grp = lane >> 3;  // 4 rows per warp step, 8 lanes per row
    WarpList<K> L[NQ];
#pragma unroll
    for (int j = 0; j < NQ; ++j) L[j].clear();
    const long long groups = (n + 3) / 4;
    const long long wtot = (long long)gridDim.x * WARPS;
    for (long long g0 = (long long)blockIdx.x * WARPS + warp; g0 < groups; g0 += wtot * UNROLL) {
        uint4 raw[UNROLL][CPL];
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long row = (g0 + u * wtot) * 4 + grp;
            const uint4* src = reinterpret_cast<const uint4*>(C + (row < n ? row : 0) * DP) + sub;
#pragma unroll
            for (int m = 0; m < CPL; ++m) raw[u][m] = __ldcs(src + 8 * m);  // streamed once: evict first
        }
#pragma unroll
        for (int u = 0; u < UNROLL; ++u) {
            const long long g = g0 + u * wtot;
            if (g >= groups) break;
            float dot[NQ], nn = 0.f;
#pragma unroll
            for (int j = 0; j < NQ; ++j) dot[j] = 0.f;
#pragma unroll
            for (int m = 0; m < CPL; ++m) {
                const __half2* h = reinterpret_cast<const __half2*>(&raw[u][m]);
                const int col = (sub + 8 * m) * 8;
                float2 f[4];
#pragma unroll
                for (int e = 0; e < 4; ++e) { f[e] = __half22float2(h[e]); nn += f[e].x * f[e].x + f[e].y * f[e].y; }
#pragma unroll
                for (int j = 0; j < NQ; ++j) {
                    const float4 a = *reinterpret_cast<const float4*>(&qs[j][col]);
                    const float4 b = *reinterpret_cast<const float4*>(&qs[j][col + 4]);
                    dot[j] += a.x * f[0].x + a.y * f[0].y + a.z * f[1].x + a.w * f[1].y
                            + b.x * f[2].x + b.y * f[2].y + b.z * f[3].x + b.w * f[3].y;
                }
            }
#pragma unroll
            for (int o = 1; o < 8; o <<= 1) {
                nn += __shfl_xor_sync(0xffffffffu, nn, o);
#pragma unroll
                for (int j = 0; j < NQ; ++j) dot[j] += __shfl_xor_sync(0xffffffffu, dot[j], o);
            }
#pragma unroll
            for (int j = 0; j < NQ; ++j) {
                const float score = nn > 0.f ? dot[j] / sqrtf(nn) : 0.f;
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    const float x = __shfl_sync(0xffffffffu, score, r * 8);
                    const long long id = g * 4 + r;
                    if (id < n) L[j].offer(x, id, lane);
                }
            }
        }
    }

    // The block's best K per query: every warp's list into shared memory, then each entry ranked against
    // its query's others at once, a thread an entry (rows are distinct; empty slots rank by position).
#pragma unroll
    for (int j = 0; j < NQ; ++j)
        if (lane < K) { ms[j][warp][lane] = L[j].v; mi[j][warp][lane] = L[j].i; }
    __syncthreads();
    constexpr int ENTRIES = WARPS * K;
    for (int u = tid; u < NQ * ENTRIES; u += WARPS * 32) {
        const int j = u / ENTRIES, e = u % ENTRIES;
        const float* s = &ms[j][0][0];
        const long long* ix = &mi[j][0][0];
        const float x = s[e];
        const long long id = ix[e];
        int r = 0;
        for (int t = 0; t < ENTRIES && r < K; ++t) r += better(s[t], ix[t], x, id) || (t < e && s[t] == x && ix[t] == id);
        if (r < K) {
            part_s[((long long)blockIdx.x * NQ + j) * K + r] = x;
            part_i[((long long)blockIdx.x * NQ + j) * K + r] = id;
        }
    }
    __threadfence();
    __syncthreads();
    if (tid == 0) ticket = atomicAdd(done, 1u);
    __syncthreads();
    if (ticket != gridDim.x - 1) return;

    // The last block, a query at a time. The K-th best of the blocks' list heads (their first entries, K
    // distinct rows) is a floor of the K-th best overall, so all but a few entries fail it: their loads can
    // all be in flight at once, and the few that pass are ranked in one step (onepass_merge's method). Ties
    // at the floor that overflow the buffer (a corpus of copies) take sorted-list merges instead.
    const long long total = (long long)gridDim.x * K;
    for (int j = 0; j < nq; ++j) {
        for (int b = tid; b < gridDim.x; b += WARPS * 32) heads[b] = __ldcg(part_s + ((long long)b * NQ + j) * K);
        if (tid == 0) ncand = 0;
        __syncthreads();
        if (warp == 0) {
            float lo = POS_INF, hi = NEG_INF;
            for (int b = lane; b < gridDim.x; b += 32) if (heads[b] > NEG_INF) { lo = fminf(lo, heads[b]); hi = fmaxf(hi, heads[b]); }
            warp_min_max(lo, hi);
            const auto count = [&](float v) {
                int c = 0;
                for (int b = lane; b < gridDim.x; b += 32) c += heads[b] >= v;
                return __reduce_add_sync(0xffffffffu, c);
            };
            lo = count(lo) < K ? NEG_INF : floor_search(lo, hi, K, 8, count);
            if (lane == 0) floor_v = lo;
        }
        __syncthreads();
        const float v0 = floor_v;
        for (long long e = tid; e < total; e += WARPS * 32) {
            const long long at = ((e / K) * NQ + j) * K + e % K;
            const float x = __ldcg(part_s + at);
            if (x >= v0) {
                const long long id = __ldcg(part_i + at);
                if (id >= 0) {
                    const int p = atomicAdd(&ncand, 1);
                    if (p < CANDS) { cv[p] = x; cid[p] = id; }
                }
            }
        }
        __syncthreads();
        const int m = ncand;
        if (m <= CANDS) {
            for (int u = tid; u < m; u += WARPS * 32) {
                int r = 0;
                for (int t = 0; t < m && r < k; ++t) r += better(cv[t], cid[t], cv[u], cid[u]);
                if (r < k) { out_s[(long long)j * k + r] = cv[u]; out_i[(long long)j * k + r] = cid[u]; }
            }
        } else {
            // Warp w merges slice w of the entries, four loaded per lane at a time; warp 0 merges the slices.
            WarpList<K> M;
            M.clear();
            const long long per = (total + WARPS - 1) / WARPS, lo = warp * per, hi = min(total, lo + per);
            for (long long b0 = lo; b0 < hi; b0 += 128) {
                float x[4];
                long long id[4];
#pragma unroll
                for (int u = 0; u < 4; ++u) {
                    const long long b = b0 + u * 32 + lane;
                    x[u] = NEG_INF;
                    id[u] = -1;
                    if (b < hi) {
                        const long long at = ((b / K) * NQ + j) * K + b % K;
                        x[u] = __ldcg(part_s + at);
                        id[u] = __ldcg(part_i + at);
                    }
                }
#pragma unroll
                for (int u = 0; u < 4; ++u)
                    M.offer_lanes(__ballot_sync(0xffffffffu, better(x[u], id[u], M.tv, M.ti)), x[u], id[u], lane);
            }
            if (lane < K) { ms[0][warp][lane] = M.v; mi[0][warp][lane] = M.i; }
            __syncthreads();
            if (warp == 0) {
                M.merge(ms[0], mi[0], WARPS, lane);
                if (lane < k) { out_s[(long long)j * k + lane] = M.v; out_i[(long long)j * k + lane] = M.i; }
            }
        }
        __syncthreads();
    }
    if (tid == 0) *done = 0;
}
