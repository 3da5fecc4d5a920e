// Top-k for small batches (2 to 64 queries) in one pass over the corpus and one small merge launch.
// Compiled per shape by cupy_backend._onepass_kernels. Ordering: higher score first, then lower index.
//
// A batch this small is bound by reading the corpus once, not by arithmetic: the multi-pass filter of the
// large batches spends its time launching, compacting and re-reading. Here each block holds every query
// (unit rows in fp16, shared memory) and streams its own contiguous run of corpus rows through a cp.async
// ring; mma.sync scores 128 rows x NQ queries per tile in registers (fp16 in, fp32 accumulate).
// Selection keeps no sorted lists (a list insertion is a chain of dependent shuffles: measured, it cost
// twice the whole scan). Each query has a candidate buffer and a threshold instead: the first tile's scores
// all go in; a score of a later tile goes in only above the threshold. A buffer that might not take
// another tile is compacted by a warp: a bisection on the value (counts by __reduce_add_sync) finds a
// threshold that keeps at least K candidates, the rest are dropped, and the threshold gates later tiles.
// Rows within a block only grow, so a later row that equals the threshold has at least K candidates
// before it: the gate is a strict `>`. At the end the warp ranks what is left (exact, ties by index) and
// writes the block's best K in order. onepass_merge takes, per query, the best K of every block's list,
// rescores them exactly in fp32 (the tensor-core scores are fp16-rounded; K leaves the margin) and
// writes the best k.
// NEG_INF, better() (order.cuh), to_f32 (half.cuh), WarpList (warplist.cuh) and the mma.sync wrappers (mma.cuh)
// are prepended.

namespace onepass {
constexpr int ROW_WARPS = 8;     // warps along the rows of a tile; WQ groups of them split the queries
constexpr int BN = ROW_WARPS * 16;  // corpus rows per tile: 16 per warp (the M side of m16n8k16)
constexpr int BK = 64;           // columns of d per pipeline step (the prepared corpus is padded to 64)
constexpr int STAGES = 3;
constexpr int LDS = BK + 8;      // ring row stride in halves: +16 bytes keeps ldmatrix free of bank conflicts
constexpr int CAP = BN + 64;     // candidates per query; compacted once a tile might not fit
constexpr int PER_LANE = CAP / 32;
constexpr int SEARCH = 6;        // search steps of 2 bits: the kept set overshoots K by the scores within range/4096
}  // namespace onepass

// Shared memory: [NQ][dp + 8] queries, [STAGES][BN][LDS] ring, [NQ][CAP] candidates (score, row),
// [NQ] thresholds and candidate counts. cupy_backend._onepass_smem sizes it. WQ = 2 splits the queries
// between two groups of 8 warps: 16 warps hide the mma and shuffle latencies that 8 could not (one block
// per multiprocessor fits at 32 and 64 queries), and a query's selection work has twice the warps.
template <int NQ, int K, int WQ, typename QT>
__global__ void __launch_bounds__(onepass::ROW_WARPS * 32 * WQ, 1)
onepass_topk(const QT* __restrict__ Q, int nq, int d, const __half* __restrict__ C, int dp, long long n,
             int tiles_per_block, float* __restrict__ part_s, int* __restrict__ part_i) {
    using namespace onepass;
    extern __shared__ __align__(16) unsigned char smem_raw[];
    const int QLD = dp + 8;
    __half* qs = reinterpret_cast<__half*>(smem_raw);
    __half* ring = qs + NQ * QLD;
    float* cs = reinterpret_cast<float*>(ring + STAGES * BN * LDS);
    int* ci = reinterpret_cast<int*>(cs + NQ * CAP);
    float* tau = reinterpret_cast<float*>(ci + NQ * CAP);
    int* cnt = reinterpret_cast<int*>(tau + NQ);
    constexpr int WARPS = ROW_WARPS * WQ, THREADS = WARPS * 32, QW = NQ / WQ;  // QW: queries per warp
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wr = warp % ROW_WARPS, wq = warp / ROW_WARPS;  // the warp's 16 rows and its QW queries

    const long long tiles = (n + BN - 1) / BN;
    const long long tile0 = (long long)blockIdx.x * tiles_per_block;
    const long long tile_end = min(tiles, tile0 + tiles_per_block);
    const long long row_end = min(n, tile_end * BN);
    const int KT = dp / BK;
    const int chunks = (int)(tile_end - tile0) * KT;

    // Each (tile, k-step) chunk of the corpus: 128 rows x 64 halves, 16 bytes per cp.async. Rows past the
    // block's end repeat its last row; their scores are never kept.
    auto load_chunk = [&](int c) {
        const long long t = tile0 + c / KT;
        const int k0 = (c % KT) * BK;
        __half* dst = ring + (c % STAGES) * BN * LDS;
        for (int p = tid; p < BN * (BK / 8); p += THREADS) {
            const int r = p / (BK / 8), kc = (p % (BK / 8)) * 8;
            const long long row = min(t * BN + r, row_end - 1);
            cp_async16(dst + r * LDS + kc, C + row * dp + k0 + kc);
        }
    };
    // The ring starts filling before the queries are ready.
#pragma unroll
    for (int s = 0; s < STAGES - 1; ++s) {
        if (s < chunks) load_chunk(s);
        cp_async_commit();
    }

    // Unit queries in fp16, zero rows past nq. A NaN or infinite query scores NaN, which is never kept;
    // onepass_merge reports it.
    for (int j = warp; j < NQ; j += WARPS) {
        float ss = 0.f;
        if (j < nq)
            for (int x = lane; x < d; x += 32) { const float v = to_f32(Q[(long long)j * d + x]); ss += v * v; }
        for (int o = 16; o; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
        const float inv = ss > 0.f ? rsqrtf(ss) : 0.f;
        for (int x = lane; x < QLD; x += 32)
            qs[j * QLD + x] = __float2half(j < nq && x < d ? to_f32(Q[(long long)j * d + x]) * inv : 0.f);
    }
    const int first_rows = (int)min((long long)BN, row_end - tile0 * BN);  // the first tile keeps them all
    for (int x = tid; x < NQ; x += THREADS) { tau[x] = x < nq ? NEG_INF : POS_INF; cnt[x] = first_rows; }

    // Warp `warp`, query j: the candidates into registers (slot u * 32 + lane), NEG_INF past the count.
    float x[PER_LANE];
    int id[PER_LANE];
    auto load = [&](int j, int m) {
#pragma unroll
        for (int u = 0; u < PER_LANE; ++u) {
            const int p = u * 32 + lane;
            x[u] = p < m ? cs[j * CAP + p] : NEG_INF;
            id[u] = p < m ? ci[j * CAP + p] : -1;
        }
        __syncwarp();  // every lane has read before any lane writes back
    };
    // Keep the candidates at or above a threshold v that leaves at least K of them (m > K on entry).
    auto compact = [&](int j, int m) {
        load(j, m);
        float lo = POS_INF, hi = NEG_INF;
#pragma unroll
        for (int u = 0; u < PER_LANE; ++u)
            if (u * 32 + lane < m) { lo = fminf(lo, x[u]); hi = fmaxf(hi, x[u]); }
        warp_min_max(lo, hi);
        // lo keeps at least K: it starts as the minimum, which keeps all m
        lo = floor_search(lo, hi, K, SEARCH, [&](float v) {
            int c = 0;
#pragma unroll
            for (int u = 0; u < PER_LANE; ++u) c += x[u] >= v;
            return __reduce_add_sync(0xffffffffu, c);
        });
        int kept = 0;
#pragma unroll
        for (int u = 0; u < PER_LANE; ++u) {
            const bool keep = x[u] >= lo;  // NaN (a bad query) is never kept
            const unsigned int b = __ballot_sync(0xffffffffu, keep);
            if (keep) {
                const int p = kept + __popc(b & ((1u << lane) - 1));
                cs[j * CAP + p] = x[u];
                ci[j * CAP + p] = id[u];
            }
            kept += __popc(b);
        }
        __syncwarp();
        if (lane == 0) { cnt[j] = kept; tau[j] = lo; }
        return kept;
    };
    // Rank the m candidates (exact order: score, then index), then hand the best K to emit(rank, score,
    // row); every read of the buffer is done before emit runs, so emit may overwrite it. Candidates that
    // neither order separates (NaN: a bad query keeps its first tile when that tile is short) rank by slot,
    // so the ranks are always distinct and every slot of the output is written.
    auto rank_best = [&](int j, int m, auto emit) {
        load(j, m);
        int rank[PER_LANE];
#pragma unroll
        for (int u = 0; u < PER_LANE; ++u) {
            rank[u] = K;
            const int p = u * 32 + lane;
            if (p >= m) continue;
            int r = 0;
            for (int t = 0; t < m && r < K; ++t) {
                const float v = cs[j * CAP + t];
                const int i = ci[j * CAP + t];
                r += better(v, i, x[u], id[u]) || (t < p && !better(x[u], id[u], v, i));
            }
            rank[u] = r;
        }
        __syncwarp();
#pragma unroll
        for (int u = 0; u < PER_LANE; ++u)
            if (rank[u] < K) emit(rank[u], x[u], id[u]);
        __syncwarp();
    };

    constexpr int NT = QW / 8;
    float acc[NT][4];
#pragma unroll
    for (int t = 0; t < NT; ++t)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc[t][e] = 0.f;
    const int g = lane >> 2, t4 = lane & 3;

    for (int c = 0; c < chunks; ++c) {
        cp_async_wait<STAGES - 2>();
        __syncthreads();  // chunk c has landed for everyone; the slot refilled below was read at c - 1
        if (c + STAGES - 1 < chunks) load_chunk(c + STAGES - 1);
        cp_async_commit();
        const __half* a = ring + (c % STAGES) * BN * LDS + wr * 16 * LDS;
        const int k0 = (c % KT) * BK;
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            unsigned af[4];
            ldmatrix_x4(af, a + (lane & 15) * LDS + kk + (lane >> 4) * 8);
#pragma unroll
            for (int t = 0; t < NT; t += 2) {
                unsigned b[4];
                ldmatrix_x4(b, qs + (wq * QW + t * 8 + (lane >> 4) * 8 + (lane & 7)) * QLD + k0 + kk + ((lane >> 3) & 1) * 8);
                mma16816(acc[t], af, b[0], b[1]);
                mma16816(acc[t + 1], af, b[2], b[3]);
            }
        }
        if (c % KT != KT - 1) continue;

        // Tile done: acc[t][h * 2 + e] is the score of row (wr * 16 + g + 8h), query (wq * QW + 8t + 2 * t4 + e).
        const bool first = c < KT;
        const int r0 = wr * 16 + g;
        const int j0 = wq * QW + 2 * t4;
        const long long row0 = (tile0 + c / KT) * BN + r0;
        if (first) {  // every score in, each at its row's place: no gate yet, no atomics
#pragma unroll
            for (int t = 0; t < NT; ++t)
#pragma unroll
                for (int e = 0; e < 2; ++e)
#pragma unroll
                    for (int h = 0; h < 2; ++h) {
                        const int j = j0 + t * 8 + e;
                        if (r0 + 8 * h < first_rows && j < nq) {
                            cs[j * CAP + r0 + 8 * h] = acc[t][h * 2 + e];
                            ci[j * CAP + r0 + 8 * h] = (int)(row0 + 8 * h);
                        }
                    }
        } else {
            bool any = false;
#pragma unroll
            for (int t = 0; t < NT; ++t)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const float th = tau[j0 + t * 8 + e];
                    any |= acc[t][e] > th || acc[t][2 + e] > th;
                }
            if (__any_sync(0xffffffffu, any)) {  // rare once the thresholds have risen
#pragma unroll
                for (int t = 0; t < NT; ++t)
#pragma unroll
                    for (int e = 0; e < 2; ++e) {
                        const int j = j0 + t * 8 + e;
                        const float th = tau[j];
#pragma unroll
                        for (int h = 0; h < 2; ++h)
                            if (acc[t][h * 2 + e] > th && row0 + 8 * h < row_end && j < nq) {
                                const int p = atomicAdd(&cnt[j], 1);
                                cs[j * CAP + p] = acc[t][h * 2 + e];
                                ci[j * CAP + p] = (int)(row0 + 8 * h);
                            }
                    }
            }
        }
#pragma unroll
        for (int t = 0; t < NT; ++t)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc[t][e] = 0.f;
        __syncthreads();
        for (int j = warp; j < nq; j += WARPS) {
            int m = cnt[j];
            if (m > K && (first || m > CAP - BN)) m = compact(j, m);
            if (m > CAP - BN) {  // ties at the threshold filled the buffer: keep exactly the best K
                rank_best(j, m, [&](int r, float v, int i) { cs[j * CAP + r] = v; ci[j * CAP + r] = i; });
                if (lane == 0) { cnt[j] = K; tau[j] = cs[j * CAP + K - 1]; }
            }
        }
        // The next tile's gate reads tau after the next chunk's __syncthreads.
    }

    // The block's best K per query, in order; empty slots (fewer than K rows) are NEG_INF / -1.
    for (int j = warp; j < nq; j += WARPS) {
        int m = cnt[j];
        if (m > K) m = compact(j, m);
        const long long at = ((long long)blockIdx.x * nq + j) * K;
        rank_best(j, m, [&](int r, float v, int i) { part_s[at + r] = v; part_i[at + r] = i; });
        if (lane >= m && lane < K) { part_s[at + lane] = NEG_INF; part_i[at + lane] = -1; }
    }
}

// Unit queries in fp16, zero-padded to dp columns: the operand of the wgmma one pass (kernels_sm90.cu), whose
// copy engine reads fp16 rows of dp. A block per query. A NaN or infinite query scores NaN, which is never
// kept; onepass_merge reports it.
template <typename QT>
__global__ void __launch_bounds__(128) unit_half(const QT* __restrict__ Q, int d, int dp, __half* __restrict__ out) {
    __shared__ float part[4];
    const int q = blockIdx.x, tid = threadIdx.x;
    float ss = 0.f;
    for (int x = tid; x < d; x += 128) { const float v = to_f32(Q[(long long)q * d + x]); ss += v * v; }
    for (int o = 16; o; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if ((tid & 31) == 0) part[tid >> 5] = ss;
    __syncthreads();
    const float tot = part[0] + part[1] + part[2] + part[3];
    const float inv = tot > 0.f ? rsqrtf(tot) : 0.f;
    for (int x = tid; x < dp; x += 128)
        out[(long long)q * dp + x] = __float2half(x < d ? to_f32(Q[(long long)q * d + x]) * inv : 0.f);
}

// A floor for each query's K-th best score, from the group maxima of its scores against a sample of the corpus
// (maxima: [blocks][nq][M] from wgmma_seed, kernels_sm90.cu; each over rows no other maximum covers): each lane
// folds its share into 16 maxima (entry i to maximum (i / 32) % 16, still over distinct rows), a value search
// finds a value at least K of the warp's 512 maxima reach, so at least K rows of the corpus score that much;
// `margin` covers a difference in the last bits between the sample's sums and the pass's own. NEG_INF where
// fewer than K maxima exist (a small sample, a NaN query). A warp per query.
template <int K>
__global__ void __launch_bounds__(256) seed_floor(const float* __restrict__ maxima, int nq, int blocks, int M,
                                                  float margin, float* __restrict__ tau) {
    constexpr int G = 16;
    const int q = (int)((blockIdx.x * 256ll + threadIdx.x) >> 5), lane = threadIdx.x & 31;
    if (q >= nq) return;
    const int total = blocks * M;
    float g[G];
#pragma unroll
    for (int r = 0; r < G; ++r) g[r] = NEG_INF;
    for (int i0 = 0; i0 < total; i0 += 32 * G) {
        float v[G];
#pragma unroll
        for (int r = 0; r < G; ++r) {  // every load in flight at once
            const int i = i0 + 32 * r + lane;
            v[r] = i < total ? maxima[((long long)(i / M) * nq + q) * M + i % M] : NEG_INF;
        }
#pragma unroll
        for (int r = 0; r < G; ++r) g[r] = fmaxf(g[r], v[r]);
    }
    float lo = POS_INF, hi = NEG_INF;
    int have = 0;
#pragma unroll
    for (int r = 0; r < G; ++r)
        if (g[r] > NEG_INF) { lo = fminf(lo, g[r]); hi = fmaxf(hi, g[r]); ++have; }
    warp_min_max(lo, hi);
    if (__reduce_add_sync(0xffffffffu, have) < K) {
        if (lane == 0) tau[q] = NEG_INF;
        return;
    }
    lo = floor_search(lo, hi, K, 6, [&](float v) {
        int c = 0;
#pragma unroll
        for (int r = 0; r < G; ++r) c += g[r] >= v;
        return __reduce_add_sync(0xffffffffu, c);
    });
    if (lane == 0) tau[q] = lo - margin;
}

// Where a query's merge finds its entries (score, row): size() of them, at(e) each.
// Each block's best K in order, [blocks][nq][K] (the one passes); NEG_INF / -1 past what a block kept.
template <int K>
struct BlockLists {
    const float* __restrict__ s;
    const int* __restrict__ i;
    int blocks, nq, q;
    __device__ long long size() const { return (long long)blocks * K; }
    __device__ int2 at(long long e) const {
        const long long a = ((e / K) * nq + q) * K + e % K;
        return make_int2(__float_as_int(s[a]), i[a]);
    }
};

// Every candidate the wgmma one pass kept, unsorted: per (run, query) `cap` pairs in `regions` regions of
// cap / regions, region r holding counts [run][nq][regions] of them. start: the counts' running sums for this
// query (shared memory, `total` + 1 of them), so entry e is in the last region that starts at or before it.
struct Regions {
    const int2* __restrict__ buf;
    const int* start;
    int nq, q, cap, regions, total;
    __device__ long long size() const { return start[total]; }
    __device__ int2 at(long long e) const {
        int lo = 0, hi = total;  // start[lo] <= e < start[hi]
        while (hi - lo > 1) { const int mid = (lo + hi) >> 1; if (start[mid] <= e) lo = mid; else hi = mid; }
        const int run = lo / regions, region = lo % regions;
        return buf[((long long)run * nq + q) * cap + (long long)region * (cap / regions) + (e - start[lo])];
    }
};

// The merge's shared memory and its steps, one block of 256 threads per query.
template <int K>
struct Merge {
    static constexpr int W = 8, CANDS = 1024;
    float ms[W][K];
    long long mi[W][K];
    float qv[1024];
    float red[W];
    int nonfinite, ncand;
    float cs[K];
    long long cid[K];
    float cv[CANDS];
    int ci[CANDS];
};

// The unit query (fp32) into m.qv, and whether it is finite (m.nonfinite). `between` runs after the query's
// loads are issued and before the barrier that ends them (the caller's own loads go out with them).
template <int K, typename QT, typename Between>
__device__ void merge_query(Merge<K>& m, const QT* __restrict__ Q, int d, int q, Between&& between) {
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    if (tid == 0) { m.nonfinite = 0; m.ncand = 0; }
    float ss = 0.f;
    bool off = false;
    for (int x = tid; x < d; x += 256) { const float v = to_f32(Q[(long long)q * d + x]); m.qv[x] = v; ss += v * v; off |= !isfinite(v); }
    between();
    for (int o = 16; o; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (lane == 0) m.red[warp] = ss;
    __syncthreads();
    if (off) m.nonfinite = 1;
    float tot = 0.f;
#pragma unroll
    for (int w = 0; w < Merge<K>::W; ++w) tot += m.red[w];
    const float inv = tot > 0.f ? rsqrtf(tot) : 0.f;
    for (int x = tid; x < d; x += 256) m.qv[x] *= inv;
}

// The best K of src's entries at or above v0 (every entry when v0 is NEG_INF), rescored exactly in fp32
// (dot / |row|, as every other path rescores), ranked, the best k written; *bad = 1 for a NaN/inf query.
// Entries at or above v0 are usually few: collected, then ranked in one step. Where more come than fit (ties
// at v0: a zero query, every score equal; or an unseeded wgmma pass) the warps' sorted lists take them.
template <int K, typename Entries>
__device__ void merge_rescore(Merge<K>& m, const Entries& src, float v0, const __half* __restrict__ C, int d,
                              int dp, long long n, int q, float* __restrict__ out_s, long long* __restrict__ out_i,
                              int k, int* __restrict__ bad) {
    constexpr int W = Merge<K>::W, CANDS = Merge<K>::CANDS;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const long long total = src.size();
    for (long long e = tid; e < total; e += 256) {
        const int2 c = src.at(e);
        const float x = __int_as_float(c.x);
        if (c.y >= 0 && x >= v0) {
            const int p = atomicAdd(&m.ncand, 1);
            if (p < CANDS) { m.cv[p] = x; m.ci[p] = c.y; }
        }
    }
    __syncthreads();
    const int got = m.ncand;
    if (got <= CANDS) {
        for (int u = tid; u < got; u += 256) {
            int r = 0;
            for (int t = 0; t < got && r < K; ++t) r += better(m.cv[t], m.ci[t], m.cv[u], m.ci[u]);
            if (r < K) m.cid[r] = m.ci[u];
        }
        if (tid < K && tid >= got) m.cid[tid] = -1;
    } else {
        WarpList<K> M;
        M.clear();
        for (long long e = (long long)warp * 32 + lane; e - lane < total; e += 256) {
            float x = NEG_INF;
            long long id = -1;
            if (e < total) {
                const int2 c = src.at(e);
                x = __int_as_float(c.x);
                if (x >= v0) id = c.y;
            }
            M.offer_lanes(__ballot_sync(0xffffffffu, id >= 0 && better(x, id, M.tv, M.ti)), x, id, lane);
        }
        if (lane < K) { m.ms[warp][lane] = M.v; m.mi[warp][lane] = M.i; }
        __syncthreads();
        if (warp == 0) {
            M.merge(m.ms, m.mi, W, lane);
            if (lane < K) m.cid[lane] = M.i;
        }
    }
    __syncthreads();
    // Exact scores of the K candidates, a warp per candidate, 16-byte loads of the fp16 row.
    for (int t = warp; t < K; t += W) {
        const long long id = m.cid[t];
        float dot = 0.f, nn = 0.f;
        if (id >= 0 && id < n)
            for (int x = lane * 8; x < d; x += 256) {
                const uint4 raw = *reinterpret_cast<const uint4*>(C + id * dp + x);
                const __half2* h = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const float2 f = __half22float2(h[e]);
                    dot += (x + 2 * e < d ? m.qv[x + 2 * e] * f.x : 0.f) + (x + 2 * e + 1 < d ? m.qv[x + 2 * e + 1] * f.y : 0.f);
                    nn += f.x * f.x + f.y * f.y;
                }
            }
        for (int o = 16; o; o >>= 1) { dot += __shfl_xor_sync(0xffffffffu, dot, o); nn += __shfl_xor_sync(0xffffffffu, nn, o); }
        if (lane == 0) m.cs[t] = id < 0 ? NEG_INF : (nn > 0.f ? dot / sqrtf(nn) : 0.f);
    }
    __syncthreads();
    if (warp == 0) {
        const float v = lane < K ? m.cs[lane] : NEG_INF;
        const long long i = lane < K ? m.cid[lane] : -1;
        int rank = 0;
        for (int u = 0; u < K; ++u) rank += better(__shfl_sync(0xffffffffu, v, u), __shfl_sync(0xffffffffu, i, u), v, i);
        if (lane < K && i >= 0 && rank < k) { out_s[(long long)q * k + rank] = v; out_i[(long long)q * k + rank] = i; }
        if (lane == 0 && m.nonfinite) *bad = 1;  // the caller clears it before the launch
    }
}

// Warp 0 of a merge: a value that at least K of `count` heads reach (each reached by a distinct row), 16 bits of
// search; NEG_INF when fewer than K have one. No entry below it can be among the query's best K.
template <int K>
__device__ float heads_floor(const float* heads, int count) {
    const int lane = threadIdx.x & 31;
    float lo = POS_INF, hi = NEG_INF;
    for (int b = lane; b < count; b += 32) if (heads[b] > NEG_INF) { lo = fminf(lo, heads[b]); hi = fmaxf(hi, heads[b]); }
    warp_min_max(lo, hi);
    const auto above = [&](float v) {
        int c = 0;
        for (int b = lane; b < count; b += 32) c += heads[b] >= v;
        return __reduce_add_sync(0xffffffffu, c);
    };
    return above(lo) < K ? NEG_INF : floor_search(lo, hi, K, 8, above);
}

// One block per query: the best K of every block's list merged (merge_rescore). blocks <= 1024. The K-th best
// of the blocks' heads (each list's first entry, K distinct rows) is a lower bound of the K-th best overall,
// so all but a few entries fail it: the loads can all be in flight at once and only the few that pass are
// ranked.
template <int K, typename QT>
__global__ void __launch_bounds__(256)
onepass_merge(const QT* __restrict__ Q, int d, const __half* __restrict__ C, int dp, long long n, int nq,
              const float* __restrict__ part_s, const int* __restrict__ part_i, int blocks,
              float* __restrict__ out_s, long long* __restrict__ out_i, int k, int* __restrict__ bad) {
    __shared__ Merge<K> m;
    __shared__ float heads[1024];
    __shared__ float floor_v;
    const int q = blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    merge_query(m, Q, d, q, [&] { for (int b = tid; b < blocks; b += 256) heads[b] = part_s[((long long)b * nq + q) * K]; });
    if (warp == 0) {
        const float v = heads_floor<K>(heads, blocks);
        if (lane == 0) floor_v = v;
    }
    __syncthreads();
    merge_rescore(m, BlockLists<K>{part_s, part_i, blocks, nq, q}, floor_v, C, d, dp, n, q, out_s, out_i, k, bad);
}

// One block per query: every candidate the wgmma one pass kept (Regions) merged by merge_rescore. counts
// [runs][nq][regions]: each region's count and its head, the best score its thread saw (a distinct row each;
// runs * regions <= 2048, sm90.splits keeps runs to one block per multiprocessor). The K-th best head is a
// floor (heads_floor) that keeps the entries collected few however many the pass kept (4M x 64: about 2,000
// a query, which the warps' lists took 0.3 ms to go through). The pass itself keeps no lists (its end phase
// of selections cost 14% of its warps' time at 100k x 1024 in ncu's samples, 0.02-0.03 ms a call).
template <int K, typename QT>
__global__ void __launch_bounds__(256)
regions_merge(const QT* __restrict__ Q, int d, const __half* __restrict__ C, int dp, long long n, int nq,
              const int2* __restrict__ buf, const int2* __restrict__ counts, int runs, int regions, int cap,
              float* __restrict__ out_s, long long* __restrict__ out_i, int k, int* __restrict__ bad) {
    __shared__ Merge<K> m;
    __shared__ int start[2049];
    __shared__ float heads[2048];
    __shared__ float floor_v;
    const int q = blockIdx.x, tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int total = runs * regions;
    int c[8];  // this thread's counts: regions tid * 8 ... (a block-wide scan of 2048 at most)
    merge_query(m, Q, d, q, [&] {
#pragma unroll
        for (int u = 0; u < 8; ++u) {
            const int r = tid * 8 + u;
            const int2 e = r < total ? counts[((long long)(r / regions) * nq + q) * regions + r % regions]
                                     : make_int2(0, __float_as_int(NEG_INF));
            c[u] = e.x;
            if (r < total) heads[r] = __int_as_float(e.y);
        }
    });
    int own = 0;
#pragma unroll
    for (int u = 0; u < 8; ++u) own += c[u];
    int scan = own;  // inclusive scan over the block: warps, then the warps' sums
    for (int o = 1; o < 32; o <<= 1) { const int v = __shfl_up_sync(0xffffffffu, scan, o); if (lane >= o) scan += v; }
    __shared__ int sums[8];
    if (lane == 31) sums[warp] = scan;
    __syncthreads();
    for (int w = 0; w < warp; ++w) scan += sums[w];
    int at = scan - own;
#pragma unroll
    for (int u = 0; u < 8; ++u) {
        if (tid * 8 + u < total) start[tid * 8 + u] = at;
        at += c[u];
    }
    if (tid == 255) start[total] = scan;  // the whole count
    if (warp == 0) {
        const float v = heads_floor<K>(heads, total);
        if (lane == 0) floor_v = v;
    }
    __syncthreads();
    merge_rescore(m, Regions{buf, start, nq, q, cap, regions, total}, floor_v, C, d, dp, n, q, out_s, out_i, k, bad);
}
