// Top-k for small batches (1 to 64 queries: search's one query, a small night) in one pass over the corpus
// and one small merge launch; also the helpers of the wgmma one pass (unit_half, seed_floor, regions_merge).
// Compiled per shape by cupy_backend._onepass_kernels and _wgmma_helpers. Ordering: higher score first, then
// lower index.
//
// A batch this small is bound by reading the corpus once, not by arithmetic: the multi-pass filter of the
// large batches spends its time launching, compacting and re-reading. Here each block holds every query
// (unit rows in fp16, shared memory) and streams its own contiguous run of corpus rows through a cp.async
// ring; mma.sync scores 128 rows x NQ queries per tile in registers (fp16 in, fp32 accumulate).
// Selection keeps no sorted lists (a list insertion is a chain of dependent shuffles, slower than the
// scoring it follows). Each query has a candidate buffer and a threshold instead: the first tile's scores
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
// finds a value at least K of the warp's 512 maxima reach (kth_floor), so at least K rows of the corpus score
// that much; `margin` (relative above 1: queries read in place need not be unit) covers a difference in the
// last bits between the sample's sums and the pass's own. NEG_INF where fewer than K maxima exist (a small
// sample, a NaN query). A warp per query. First, while the seed still runs, the query as given (Q, d values a
// row) is checked: a NaN or infinite value sets *bad, which the host reads once the pass has signalled its
// end (cupy_backend._wgmma_topk), before the merge is done; and the pass's count of ended blocks is zeroed
// (each call starts it afresh: the pass counts only after its wait for this kernel).
template <int K, typename QT>
__global__ void __launch_bounds__(256) seed_floor(const QT* __restrict__ Q, int d, const float* maxima, int nq,
                                                  int blocks, int M, float margin, float* __restrict__ tau,
                                                  int* __restrict__ bad, unsigned* __restrict__ arrivals) {
    constexpr int G = 16;
    const int q = (int)((blockIdx.x * 256ll + threadIdx.x) >> 5), lane = threadIdx.x & 31;
    if (blockIdx.x == 0 && threadIdx.x == 0) *arrivals = 0;
    bool off = false;  // q is the warp's: every lane takes the same branches up to the vote
    if (q < nq)
        for (int x = lane; x < d; x += 32) off |= !isfinite(to_f32(Q[(long long)q * d + x]));
    if (__any_sync(0xffffffffu, off) && lane == 0) *bad = 1;  // the caller clears it before the launch
    wait_for_previous();  // the sample's maxima
    let_next_start();     // the pass sets up (barriers, queries, its first corpus tiles) while this runs
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
    const float v = kth_floor(g, K, 6);
    if (lane == 0) tau[q] = v - margin * fmaxf(1.f, fabsf(v));  // NEG_INF stays NEG_INF
}

// The merges, a block of four warps per query: every block's (or region's) candidates for the query, the best
// K rescored exactly in fp32 (dot / |row|, as every other path rescores), ranked, the best k written. A
// query's candidates come in regions, each with a count and a head, a score one of its rows reaches and none
// of its entries passes; heads are of distinct rows. So the K-th best head is a floor no entry below can pass,
// and only regions whose head reaches it are read: about K of a query's regions (of one per block and thread
// of a quad, sm90.splits), each holding one to three entries. Four warps a query keep the rescoring of K rows
// off one long chain of dependent instructions, and reading only the reaching regions keeps it off every entry.

// Each block's best K in order, [blocks][nq][K] (the mma.sync one pass); NEG_INF / -1 past what a block kept.
// The sources' pointers are not __restrict__: block_merge reads them after wait_for_previous (depend.cuh).
template <int K>
struct BlockLists {
    const float* s;
    const int* i;
    int blocks, nq, q;
    __device__ int size() const { return blocks; }
    __device__ int2 region(int b) const { return make_int2(K, __float_as_int(s[((long long)b * nq + q) * K])); }
    __device__ int2 entry(int b, int e) const {
        const long long a = ((long long)b * nq + q) * K + e;
        return make_int2(__float_as_int(s[a]), i[a]);
    }
};

// Every candidate the wgmma one pass kept, unsorted: per (run, query) CAP (score bits, row) pairs in REGIONS
// regions of CAP / REGIONS (sm90.TOPK_CAP, TOPK_REGIONS: constants, so an address is shifts, not divisions),
// region r of a run holding counts [run][nq][REGIONS].x of them, .y its head.
template <int REGIONS, int CAP>
struct Regions {
    const int2* buf;
    const int2* counts;
    int runs, nq, q;
    __device__ int size() const { return runs * REGIONS; }
    __device__ int2 region(int r) const { return counts[((long long)(r / REGIONS) * nq + q) * REGIONS + r % REGIONS]; }
    __device__ int2 entry(int r, int e) const {
        return buf[((long long)(r / REGIONS) * nq + q) * CAP + (r % REGIONS) * (CAP / REGIONS) + e];
    }
};

namespace merge {
constexpr int WARPS = 4, THREADS = WARPS * 32;
constexpr int CANDS = 256;  // entries at or above the floor ranked at once; more (ties) go through a WarpList
constexpr int F = 4;        // heads folded into F maxima a lane for the floor (each still a distinct row's)
constexpr int LOADS = 4;    // query values and regions a thread loads at once
}  // namespace merge

template <int K>
struct MergeShared {
    int2 cand[merge::CANDS];
    long long cid[K];
    float cs[K];
    float red[merge::WARPS];
    int listed[merge::WARPS];
    float floor_v;
    int ncand;
};

// Dynamic shared memory (cupy_backend._merge_smem sizes it): qv[dp] float, reg[T] int2 (T = src.size()), and
// WARPS lists of the regions each warp takes, 32 * ceil(T / THREADS) ints each.
template <int K, typename QT, typename Source>
__device__ void block_merge(const Source& src, const QT* __restrict__ Q, int d, int dp, const __half* __restrict__ C,
                            long long n, int q, float* __restrict__ out_s, long long* __restrict__ out_i, int k,
                            int* __restrict__ bad) {
    using namespace merge;
    __shared__ MergeShared<K> s;
    extern __shared__ __align__(16) unsigned char merge_smem[];
    float* qv = reinterpret_cast<float*>(merge_smem);
    const int T = src.size(), seg = 32 * ((T + THREADS - 1) / THREADS);
    int2* reg = reinterpret_cast<int2*>(qv + dp);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    int* lists = reinterpret_cast<int*>(reg + T);  // warp w's: lists + w * seg
    int* mine = lists + warp * seg;
    const unsigned below = (1u << lane) - 1;
    const auto head = [](int2 e) { return __int_as_float(e.y); };

    // The query (zero-padded to dp), loaded before the wait for the kernel whose candidates these are, then
    // every region's count and head. A thread's loads are all issued before its stores: a load after a store
    // to shared memory waits for the load before it.
    float ss = 0.f;
    bool off = false;
    for (int x0 = 0, r0 = 0; x0 < dp || r0 < T; x0 += THREADS * LOADS, r0 += THREADS * LOADS) {
        float v[LOADS];
        int2 e[LOADS];
#pragma unroll
        for (int u = 0; u < LOADS; ++u) {
            const int x = x0 + THREADS * u + tid;
            v[u] = x < d ? to_f32(Q[(long long)q * d + x]) : 0.f;
        }
        if (x0 == 0) wait_for_previous();
#pragma unroll
        for (int u = 0; u < LOADS; ++u) {
            const int r = r0 + THREADS * u + tid;
            e[u] = r < T ? src.region(r) : make_int2(0, 0);
        }
#pragma unroll
        for (int u = 0; u < LOADS; ++u) {
            const int x = x0 + THREADS * u + tid, r = r0 + THREADS * u + tid;
            if (x < dp) { qv[x] = v[u]; ss += v[u] * v[u]; off |= !isfinite(v[u]); }
            if (r < T) reg[r] = e[u];
        }
    }
    for (int o = 16; o; o >>= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (lane == 0) s.red[warp] = ss;
    if (tid == 0) s.ncand = 0;
    const bool nonfinite = __syncthreads_or(off);
    float tot = 0.f;
#pragma unroll
    for (int w = 0; w < WARPS; ++w) tot += s.red[w];
    const float inv = tot > 0.f ? rsqrtf(tot) : 0.f;
    for (int x = tid; x < dp; x += THREADS) qv[x] *= inv;  // read after the barriers below

    // Warp 0: the floor, a value K heads reach (NEG_INF when fewer than K regions have one).
    if (warp == 0) {
        float f[F];
#pragma unroll
        for (int u = 0; u < F; ++u) f[u] = NEG_INF;
        for (int r0 = 0; r0 < T; r0 += 32 * F)
#pragma unroll
            for (int u = 0; u < F; ++u)
                if (r0 + 32 * u + lane < T) f[u] = fmaxf(f[u], head(reg[r0 + 32 * u + lane]));
        const float v = kth_floor(f, K, 8);
        if (lane == 0) s.floor_v = v;
    }
    __syncthreads();
    const float fl = s.floor_v;
    const auto passes = [&](int2 c) { return c.y >= 0 && __int_as_float(c.x) >= fl; };

    // Each warp: its regions whose head reaches the floor, listed, then their entries at or above it collected.
    int listed = 0;
    for (int r0 = warp * 32; r0 < T; r0 += THREADS) {
        const int r = r0 + lane;
        const bool take = r < T && reg[r].x > 0 && head(reg[r]) >= fl;
        const unsigned bal = __ballot_sync(0xffffffffu, take);
        if (take) mine[listed + __popc(bal & below)] = r;
        listed += __popc(bal);
    }
    if (lane == 0) s.listed[warp] = listed;
    __syncwarp();
    for (int j = lane; j < listed; j += 32) {
        const int r = mine[j], c = reg[r].x;
        for (int e0 = 0; e0 < c; e0 += LOADS) {
            int2 x[LOADS];
#pragma unroll
            for (int u = 0; u < LOADS; ++u) x[u] = e0 + u < c ? src.entry(r, e0 + u) : make_int2(0, -1);
#pragma unroll
            for (int u = 0; u < LOADS; ++u)
                if (passes(x[u])) {
                    const int p = atomicAdd(&s.ncand, 1);
                    if (p < CANDS) s.cand[p] = x[u];
                }
        }
    }
    __syncthreads();

    // The best K of them by their pass scores: few, each ranked against all at once.
    const int m = s.ncand;
    if (m <= CANDS) {
        for (int u = tid; u < m; u += THREADS) {
            const int2 cu = s.cand[u];
            int r = 0;
            for (int t = 0; t < m && r < K; ++t) r += better(__int_as_float(s.cand[t].x), s.cand[t].y, __int_as_float(cu.x), cu.y);
            if (r < K) s.cid[r] = cu.y;
        }
        for (int r = m + tid; r < K; r += THREADS) s.cid[r] = -1;
    } else if (warp == 0) {  // more than fit (ties at the floor: a zero query, a corpus of copies): a sorted list
        WarpList<K> M;
        M.clear();
        for (int w = 0; w < WARPS; ++w)
            for (int j = 0; j < s.listed[w]; ++j) {
                const int r = lists[w * seg + j], c = reg[r].x;
                for (int e0 = 0; e0 < c; e0 += 32) {
                    const int2 x = e0 + lane < c ? src.entry(r, e0 + lane) : make_int2(0, -1);
                    const float xs = __int_as_float(x.x);
                    M.offer_lanes(__ballot_sync(0xffffffffu, passes(x) && better(xs, x.y, M.tv, M.ti)), xs, x.y, lane);
                }
            }
        if (lane < K) s.cid[lane] = M.i;
    }
    __syncthreads();

    // Exact scores: warp w rescores candidates w, w + WARPS, ..., their rows' 16-byte loads in flight together
    // (the query is zero past d, as the prepared corpus is: no bound to check).
    constexpr int PER = K / WARPS;
    long long id[PER];
    float dot[PER], nn[PER];
#pragma unroll
    for (int u = 0; u < PER; ++u) { id[u] = s.cid[warp + WARPS * u]; dot[u] = nn[u] = 0.f; }
#pragma unroll 2
    for (int x = lane * 8; x < dp; x += 256) {
        uint4 raw[PER];
#pragma unroll
        for (int u = 0; u < PER; ++u)
            raw[u] = id[u] >= 0 && id[u] < n ? *reinterpret_cast<const uint4*>(C + id[u] * dp + x) : make_uint4(0, 0, 0, 0);
        const float4 qa = *reinterpret_cast<const float4*>(qv + x), qb = *reinterpret_cast<const float4*>(qv + x + 4);
        const float qx[8] = {qa.x, qa.y, qa.z, qa.w, qb.x, qb.y, qb.z, qb.w};
#pragma unroll
        for (int u = 0; u < PER; ++u) {
            const __half2* hv = reinterpret_cast<const __half2*>(&raw[u]);
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const float2 f = __half22float2(hv[e]);
                dot[u] += qx[2 * e] * f.x + qx[2 * e + 1] * f.y;
                nn[u] += f.x * f.x + f.y * f.y;
            }
        }
    }
#pragma unroll
    for (int u = 0; u < PER; ++u) {
        for (int o = 16; o; o >>= 1) {
            dot[u] += __shfl_xor_sync(0xffffffffu, dot[u], o);
            nn[u] += __shfl_xor_sync(0xffffffffu, nn[u], o);
        }
        if (lane == 0) s.cs[warp + WARPS * u] = id[u] < 0 ? NEG_INF : (nn[u] > 0.f ? dot[u] / sqrtf(nn[u]) : 0.f);
    }
    __syncthreads();
    if (warp == 0) {
        const float v = lane < K ? s.cs[lane] : NEG_INF;
        const long long i = lane < K ? s.cid[lane] : -1;
        int rank = 0;
        for (int u = 0; u < K; ++u) rank += better(__shfl_sync(0xffffffffu, v, u), __shfl_sync(0xffffffffu, i, u), v, i);
        if (lane < K && i >= 0 && rank < k) { out_s[(long long)q * k + rank] = v; out_i[(long long)q * k + rank] = i; }
        if (lane == 0 && nonfinite) *bad = 1;  // the caller clears it before the launch
    }
}

// The mma.sync one pass's merge: each block's list is a region of K whose head is its first entry.
template <int K, typename QT>
__global__ void __launch_bounds__(merge::THREADS)
onepass_merge(const QT* __restrict__ Q, int d, const __half* __restrict__ C, int dp, long long n, int nq,
              const float* part_s, const int* part_i, int blocks,
              float* __restrict__ out_s, long long* __restrict__ out_i, int k, int* __restrict__ bad) {
    const int q = blockIdx.x;
    block_merge<K>(BlockLists<K>{part_s, part_i, blocks, nq, q}, Q, d, dp, C, n, q, out_s, out_i, k, bad);
}

// The wgmma one pass's merge (kernels_sm90.cu wgmma_topk keeps no lists, only the regions' counts and heads).
template <int K, typename QT, int REGIONS, int CAP>
__global__ void __launch_bounds__(merge::THREADS)
regions_merge(const QT* __restrict__ Q, int d, const __half* __restrict__ C, int dp, long long n, int nq,
              const int2* buf, const int2* counts, int runs,
              float* __restrict__ out_s, long long* __restrict__ out_i, int k, int* __restrict__ bad) {
    const int q = blockIdx.x;
    block_merge<K>(Regions<REGIONS, CAP>{buf, counts, runs, nq, q}, Q, d, dp, C, n, q, out_s, out_i, k, bad);
}
