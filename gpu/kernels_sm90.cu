// Hopper-only (sm_90a) tensor-core kernels for query batches, compiled by gpu/sm90.py through NVRTC.
// fp16 in, fp32 accumulation; no score leaves the registers unless it can be among a query's best.
//
// Why these kernels: mma.sync tops out near a third of the H100's fp16 rate. Here the tensor cores run
// warpgroup MMAs (wgmma.mma_async m64n256k16) straight from shared memory in the 128-byte swizzled layout
// that the tensor copy engine (TMA) writes:
//   - warps 0-7, two consumer warpgroups, own 64 queries each; a block's 128 queries stay resident in
//     shared memory for the block's life;
//   - warp 8 is the producer: one thread streams corpus tiles (256 rows x 64 columns of d per step) into a
//     4-stage ring with cp.async.bulk.tensor, each stage guarded by a full and an empty mbarrier, so loads
//     run up to three steps ahead of the tensor cores with no block-wide barrier;
//   - each block walks a contiguous run of tiles; blocks that share a run are numbered together, so the
//     corpus comes from device memory about once and from L2 for the other query tiles.
// After the last step of a tile, each thread holds 2 query rows x 64 columns of scores (stream_tiles); what
// happens to them is the kernel's epilogue:
//   - wgmma_filter (a pass of the multi-pass path): scores at or above the query's threshold tau[q], set
//     between passes by the compaction kernel, go to the query's candidate list;
//   - wgmma_topk (one pass, PULSE_TOPK_K defined): each block keeps its own threshold per query, starting
//     from the query's seed and raised as its tiles go by, and its own candidate buffers; at the end the
//     block writes its best K per query, in order, for onepass_merge (kernels_onepass.cu) to merge across
//     blocks and rescore;
//   - wgmma_seed (the seeds of wgmma_topk): each block keeps only running group maxima per query over its run
//     of a sample of the corpus and writes them for seed_floor (kernels_onepass.cu).
// NEG_INF, POS_INF, better() (order.cuh), floor_search and warp_min_max (warplist.cuh) and the generated
// wgmma_m64n256 wrapper (sm90.py) are prepended.

constexpr int BM = 128;       // queries per block: two consumer warpgroups of 64 rows
constexpr int BN = 256;       // corpus rows per tile (the wgmma N)
constexpr int BK = 64;        // d columns per step: one 128-byte swizzled row
constexpr int STAGES = 4;     // corpus ring depth
constexpr int CONSUMER_WARPS = 8;
constexpr int THREADS = CONSUMER_WARPS * 32 + 32;
constexpr int ROW_BYTES = BK * 2;
constexpr int STEP_BYTES = BN * ROW_BYTES;

struct __align__(64) TensorMap { unsigned long long bits[16]; };  // CUtensorMap, built by the host

__device__ __forceinline__ unsigned smem_addr(const void* p) { return (unsigned)__cvta_generic_to_shared(p); }

// Shared-memory matrix descriptor, K-major, 128-byte swizzle: rows of 128 bytes, groups of 8 rows 1024 bytes
// apart (stride byte offset); the leading byte offset is unused by this layout.
__device__ __forceinline__ unsigned long long sw128_desc(unsigned addr) {
    return (unsigned long long)((addr & 0x3FFFF) >> 4) | (1ull << 16) | (64ull << 32) | (1ull << 62);
}

__device__ __forceinline__ void mbar_init(unsigned bar, unsigned count) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" :: "r"(bar), "r"(count) : "memory");
}
__device__ __forceinline__ void mbar_expect_tx(unsigned bar, unsigned bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" :: "r"(bar), "r"(bytes) : "memory");
}
__device__ __forceinline__ void mbar_arrive(unsigned bar) {
    asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" :: "r"(bar) : "memory");
}
__device__ __forceinline__ void mbar_wait(unsigned bar, unsigned parity) {
    asm volatile("{\n.reg .pred done;\nWAIT:\n"
                 "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
                 "@!done bra WAIT;\n}\n" :: "r"(bar), "r"(parity) : "memory");
}
__device__ __forceinline__ void tma_load(unsigned dst, const TensorMap* map, int col, int row, unsigned bar) {
    asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1, {%2, %3}], [%4];\n"
                 :: "r"(dst), "l"(reinterpret_cast<unsigned long long>(map)), "r"(col), "r"(row), "r"(bar) : "memory");
}
__device__ __forceinline__ void wgmma_fence() { asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory"); }
__device__ __forceinline__ void wgmma_commit() { asm volatile("wgmma.commit_group.sync.aligned;\n" ::: "memory"); }
template <int N> __device__ __forceinline__ void wgmma_wait() { asm volatile("wgmma.wait_group.sync.aligned %0;\n" :: "n"(N) : "memory"); }

// The block's share of the work: query tile q0 and corpus tiles [t_first, t_last) of the rows [c_begin, c_end).
struct Run {
    int q0, split;
    long long t_first, t_last;
};

__device__ __forceinline__ Run block_run(int nq, long long c_begin, long long c_end, int splits) {
    const int nqt = (nq + BM - 1) / BM;
    const int split = (int)(blockIdx.x / nqt);
    const long long tiles = (c_end - c_begin + BN - 1) / BN;
    return {(int)(blockIdx.x % nqt) * BM, split, tiles * split / splits, tiles * (split + 1) / splits};
}

// The producer/consumer main loop. Shared memory from `base` (1024-aligned): the block's queries
// [KC][BM rows][128 B], the ring [STAGES][BN rows][128 B], then the mbarriers. The producer warp returns
// false when it has issued every load; consumers call epilogue(acc, tile) after each tile (acc[4j + h + e]:
// query row (h ? row_b : row_a), corpus column 8j + 2 (lane & 3) + e of the tile) and return true.
template <typename Epilogue>
__device__ __forceinline__ bool stream_tiles(const TensorMap& q_map, const TensorMap& c_map, int d,
                                             long long c_begin, const Run& run, unsigned base, Epilogue&& epilogue) {
    const int KC = d / BK;                                       // steps per tile
    const unsigned a_base = base;
    const unsigned b_base = a_base + KC * BM * ROW_BYTES;
    const unsigned bars = b_base + STAGES * STEP_BYTES;          // full[STAGES], empty[STAGES], a_full
    auto full = [&](int st) { return bars + 8u * st; };
    auto empty = [&](int st) { return bars + 8u * (STAGES + st); };
    const unsigned a_full = bars + 16u * STAGES;
    const int steps = (int)(run.t_last - run.t_first) * KC;

    // warp-uniform in the compiler's eyes (a shuffle from lane 0): else ptxas serialises every wgmma (C7518)
    const int tid = threadIdx.x, warp = __shfl_sync(0xffffffffu, tid >> 5, 0), lane = tid & 31;
    if (tid == 0) {
        for (int st = 0; st < STAGES; ++st) { mbar_init(full(st), 1); mbar_init(empty(st), CONSUMER_WARPS); }
        mbar_init(a_full, 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (warp == CONSUMER_WARPS) {  // producer
        if (lane == 0) {
            mbar_expect_tx(a_full, KC * BM * ROW_BYTES);
            for (int kc = 0; kc < KC; ++kc) tma_load(a_base + kc * BM * ROW_BYTES, &q_map, kc * BK, run.q0, a_full);
            for (int s = 0; s < steps; ++s) {
                const int st = s % STAGES;
                if (s >= STAGES) mbar_wait(empty(st), ((s / STAGES) - 1) & 1);
                mbar_expect_tx(full(st), STEP_BYTES);
                tma_load(b_base + st * STEP_BYTES, &c_map, (s % KC) * BK, (int)(c_begin + (run.t_first + s / KC) * BN), full(st));
            }
        }
        return false;
    }

    const int wg = warp >> 2;
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;

    mbar_wait(a_full, 0);
    int s = 0;  // steps issued
    // One step: wait for its corpus stage, queue its four MMAs (the first step of a tile starts from zero).
    auto step = [&](int kc) {
        const int st = s % STAGES;
        mbar_wait(full(st), (s / STAGES) & 1);
        const unsigned a_addr = a_base + kc * BM * ROW_BYTES + wg * 64 * ROW_BYTES;
        const unsigned b_addr = b_base + st * STEP_BYTES;
        wgmma_fence();
#pragma unroll
        for (int k16 = 0; k16 < BK / 16; ++k16)  // +32 bytes along the swizzled row per k16 step
            wgmma_m64n256(acc, sw128_desc(a_addr + k16 * 32), sw128_desc(b_addr + k16 * 32), (kc | k16) != 0);
        wgmma_commit();
        ++s;
    };
    for (long long tile = run.t_first; tile < run.t_last; ++tile) {
        // All but the tile's last step wait only for the step before (whose stage goes back to the producer);
        // the last step is issued after the loop. Wait counts that hang on a runtime branch, or a loop that
        // ends in reads of acc, make ptxas wait for every MMA after every step.
#pragma unroll 1
        for (int kc = 0; kc < KC - 1; ++kc) {
            step(kc);
            wgmma_wait<1>();
            if (kc > 0 && lane == 0) mbar_arrive(empty((s - 2) % STAGES));
        }
        step(KC - 1);
        wgmma_wait<0>();
        if (lane == 0) {
            if (KC > 1) mbar_arrive(empty((s - 2) % STAGES));
            mbar_arrive(empty((s - 1) % STAGES));
        }
#pragma unroll
        for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i]) :: "memory");  // reads stay after the wait
        epilogue(acc, tile);
    }
    return true;
}

// This thread's two query rows in the accumulator layout (block-local, 0..127).
__device__ __forceinline__ int local_row_a() { return (threadIdx.x >> 7) * 64 + ((threadIdx.x >> 5) & 3) * 16 + ((threadIdx.x & 31) >> 2); }

// Appends one accumulator row's scores at or above th (acc[4j + h + e]: column 8j + e of this thread's pair).
template <int N>
__device__ __forceinline__ void keep_row(const float (&acc)[N / 2], int h, float th, int row, long long col0, int valid,
                                         float* __restrict__ cs, long long* __restrict__ ci,
                                         unsigned int* __restrict__ count, int cap) {
#pragma unroll
    for (int j = 0; j < N / 8; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e) {
            const float x = acc[4 * j + h + e];
            if (x >= th && j * 8 + e < valid) {
                const unsigned int slot = atomicAdd(&count[row], 1u);
                if (slot < (unsigned int)cap) { cs[(long long)row * cap + slot] = x; ci[(long long)row * cap + slot] = col0 + j * 8 + e; }
            }
        }
}

#ifndef PULSE_TOPK_K
// A pass of the multi-pass path: scores of corpus rows [c_begin, c_end) at or above tau[q] are appended to
// query q's candidate list (count[q] may pass cap: the caller sees the overflow). One max per row decides
// whether the row can hold anything at or above its threshold, and only then is it scanned.
extern "C" __global__ void __launch_bounds__(THREADS, 1)
wgmma_filter(const __grid_constant__ TensorMap q_map, const __grid_constant__ TensorMap c_map, int nq, int d,
             long long c_begin, long long c_end, const float* __restrict__ tau,
             float* __restrict__ cs, long long* __restrict__ ci, unsigned int* __restrict__ count, int cap,
             int splits) {
    extern __shared__ unsigned char smem_raw[];
    const Run run = block_run(nq, c_begin, c_end, splits);
    if (run.t_first == run.t_last) return;
    const int lane = threadIdx.x & 31;
    const int row_a = run.q0 + local_row_a(), row_b = row_a + 8;
    const float th_a = row_a < nq ? tau[row_a] : POS_INF;
    const float th_b = row_b < nq ? tau[row_b] : POS_INF;
    stream_tiles(q_map, c_map, d, c_begin, run, (smem_addr(smem_raw) + 1023u) & ~1023u,
                 [&](const float (&acc)[128], long long tile) {
        float ma = acc[0], mb = acc[2];
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
            ma = fmaxf(ma, fmaxf(acc[4 * j], acc[4 * j + 1]));
            mb = fmaxf(mb, fmaxf(acc[4 * j + 2], acc[4 * j + 3]));
        }
        if (!(ma >= th_a || mb >= th_b)) return;
        const long long n0 = c_begin + tile * BN;
        const int valid = (int)min((long long)BN, c_end - n0) - 2 * (lane & 3);  // columns left in the tile
        if (ma >= th_a) keep_row<BN>(acc, 0, th_a, row_a, n0 + 2 * (lane & 3), valid, cs, ci, count, cap);
        if (mb >= th_b) keep_row<BN>(acc, 2, th_b, row_b, n0 + 2 * (lane & 3), valid, cs, ci, count, cap);
    });
}
#else
constexpr int TOPK_K = PULSE_TOPK_K;
constexpr int GROUPS = (TOPK_K + 3) / 4;  // per thread and row: 4 threads x GROUPS >= K distinct maxima
constexpr int TOPK_CAP = 1024;            // candidates per block and query (more: the caller's fallback); = sm90.TOPK_CAP
constexpr int LANE_CAP = TOPK_CAP / 4;    // ... in four regions, one per thread of the quad that holds the row
constexpr int PER_LANE = TOPK_CAP / 32;

// A candidate: score bits and corpus row, one 8-byte store.
__device__ __forceinline__ int2 candidate(float x, int row) { return make_int2(__float_as_int(x), row); }

// This thread's scores of one row at or above th into its own region of the row's candidate buffer, looking
// only at the groups whose tile maximum (tmax) reaches th. The count lives in a register: no atomic and no
// counting pass first (measured at 100k x 1024: stores after a shared-memory reservation cost 0.035 ms of
// the pass's 0.168). A region without room for a whole row's scores (2 x BN / 8 of them) is marked
// overflowed instead (count past LANE_CAP: the caller takes another path), so each score is a compare, a
// predicated store and a pointer step, with no bound to check and no address to rebuild.
__device__ __forceinline__ void append_row(const float (&acc)[128], int h, const float (&tmax)[GROUPS], float th,
                                           int& count, int2* region, long long col0) {
    if (count > LANE_CAP - 2 * (BN / 8)) {
        count = LANE_CAP + 1;
        return;
    }
    int2* dst = region + count;
    const int c0 = (int)col0;
#pragma unroll
    for (int g = 0; g < GROUPS; ++g)
        if (tmax[g] >= th)
#pragma unroll
            for (int j = g; j < BN / 8; j += GROUPS)
#pragma unroll
                for (int e = 0; e < 2; ++e) {
                    const float x = acc[4 * j + h + e];
                    const bool keep = x >= th;
                    if (keep) *dst = candidate(x, c0 + 8 * j + e);
                    dst += keep;
                }
    count = (int)(dst - region);
}

// Candidate p of a row whose four regions (LANE_CAP apart from `row`) hold c[0..3] each, in region order.
__device__ __forceinline__ int2 candidate_at(const int2* row, const int* c, int p) {
    int q = 0;
#pragma unroll
    for (int t = 0; t < 3; ++t)
        if (q == t && p >= c[t]) { p -= c[t]; ++q; }
    return row[q * LANE_CAP + p];
}

// A warp's selection of one query's best K from its m > 32 candidates (buf: the row's four regions, counts c,
// written by this block), through the warp's shared scratch (TOPK_CAP scores and rows): a value search keeps
// at least K (usually K and a few), those are ranked (score, then row) and written in order to out.
__device__ __noinline__ void write_best(const int2* buf, const int* c, int m, float* sx, int* si, float* out_s,
                                      int* out_i) {
    const int lane = threadIdx.x & 31;
    float x[PER_LANE];
    int id[PER_LANE];
    float lo = POS_INF, hi = NEG_INF;
#pragma unroll
    for (int u = 0; u < PER_LANE; ++u) {  // every load in flight at once
        const int p = u * 32 + lane;
        const int2 e = p < m ? candidate_at(buf, c, p) : candidate(NEG_INF, -1);
        x[u] = __int_as_float(e.x);
        id[u] = e.y;
        if (p < m) { lo = fminf(lo, x[u]); hi = fmaxf(hi, x[u]); }
    }
    warp_min_max(lo, hi);
    lo = floor_search(lo, hi, TOPK_K, 6, [&](float v) {
        int c = 0;
#pragma unroll
        for (int u = 0; u < PER_LANE; ++u) if (u * 32 < m) c += x[u] >= v;
        return __reduce_add_sync(0xffffffffu, c);
    });
    int kept = 0;
#pragma unroll
    for (int u = 0; u < PER_LANE; ++u) {
        if (u * 32 >= m) break;
        const bool keep = x[u] >= lo;
        const unsigned int b = __ballot_sync(0xffffffffu, keep);
        if (keep) { sx[kept + __popc(b & ((1u << lane) - 1))] = x[u]; si[kept + __popc(b & ((1u << lane) - 1))] = id[u]; }
        kept += __popc(b);
    }
    __syncwarp();
    for (int p = lane; p < kept; p += 32) {
        const float v = sx[p];
        const int i = si[p];
        int r = 0;
        for (int t = 0; t < kept && r < TOPK_K; ++t) r += better(sx[t], si[t], v, i);
        if (r < TOPK_K) { out_s[r] = v; out_i[r] = i; }
    }
    __syncwarp();  // the scratch is read before the next row overwrites it
}

// The same for m <= 32 candidates, one per lane (e), ranked by shuffles; slots past m get NEG_INF / -1.
__device__ __forceinline__ void write_few(int2 e, int m, float* out_s, int* out_i) {
    const int lane = threadIdx.x & 31;
    const float x = __int_as_float(e.x);
    int r = 0;
    for (int t = 0; t < m; ++t)
        r += better(__shfl_sync(0xffffffffu, x, t), __shfl_sync(0xffffffffu, e.y, t), x, e.y);
    if (lane < m && r < TOPK_K) { out_s[r] = x; out_i[r] = e.y; }
    for (int t = m + lane; t < TOPK_K; t += 32) { out_s[t] = NEG_INF; out_i[t] = -1; }
}

// A sample's group maxima for the one pass's seeds: each block scores its query tile against its run of the
// sample (s_map: every stride-th row of the corpus, as the caller maps it) and writes the 4 x GROUPS running
// maxima each query's quad keeps, each over its own share of the run's rows: maxima [splits][nq][4 * GROUPS].
// seed_floor (kernels_onepass.cu) then finds a value K of a query's maxima reach. The scores are the pass's own
// fp32 sums of the same fp16 products, and no score leaves the registers (a cuBLAS product wrote them all out
// in fp16 and read them back: 0.07 ms of 100k x 1024's 0.34).
extern "C" __global__ void __launch_bounds__(THREADS, 1)
wgmma_seed(const __grid_constant__ TensorMap q_map, const __grid_constant__ TensorMap s_map, int nq, int d,
           long long n, int splits, float* __restrict__ maxima) {
    extern __shared__ unsigned char smem_raw[];
    const unsigned base = (smem_addr(smem_raw) + 1023u) & ~1023u;
    const Run run = block_run(nq, 0, n, splits);
    const int quad = threadIdx.x & 3, ra = local_row_a(), rb = ra + 8;
    float ga[GROUPS], gb[GROUPS];
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) ga[g] = gb[g] = NEG_INF;
    const bool consumer = stream_tiles(q_map, s_map, d, 0, run, base, [&](float (&acc)[128], long long tile) {
        const long long n0 = tile * BN;
        if (n0 + BN > n) {  // the sample's last tile: columns past n are NaN, which no maximum takes
            const int valid = (int)(n - n0) - 2 * quad;
#pragma unroll
            for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e)
                    if (8 * j + e >= valid) acc[4 * j + e] = acc[4 * j + 2 + e] = __int_as_float(0x7fffffff);
        }
#pragma unroll
        for (int g = 0; g < GROUPS; ++g)
#pragma unroll
            for (int j = g; j < BN / 8; j += GROUPS) {
                ga[g] = fmaxf(ga[g], fmaxf(acc[4 * j], acc[4 * j + 1]));
                gb[g] = fmaxf(gb[g], fmaxf(acc[4 * j + 2], acc[4 * j + 3]));
            }
    });
    if (!consumer) return;
    const long long at_a = ((long long)run.split * nq + run.q0 + ra) * 4 + quad, at_b = at_a + 8 * 4;
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) {
        if (run.q0 + ra < nq) maxima[at_a * GROUPS + g] = ga[g];
        if (run.q0 + rb < nq) maxima[at_b * GROUPS + g] = gb[g];
    }
}

// One pass over the corpus rows [0, n): each block its query tile and corpus run. A query's threshold is
// the higher of its seed (a score K rows of the corpus reach: wgmma_seed, seed_floor) and the smallest of
// 4 x GROUPS running maxima its quad keeps (each over a fixed share of the columns, so over distinct rows:
// K of the block's rows reach it). Either way the query's best K overall all reach it when their tile
// comes, and each is among its own block's best K. Scores at or above it go to the query's buffer (buf:
// [splits][nq][TOPK_CAP] (score, row) pairs, four regions of LANE_CAP, one per thread of the row's quad); at
// the end each consumer warp writes the best K of its 16 queries, in order, to part ([splits][nq][K];
// NEG_INF / -1 past what the block kept), using the corpus ring, free by then, as scratch and for the
// regions' counts. A region that overflowed sets *overflow (the caller takes another path).
// PULSE_PROFILE_NO_KEEP / PULSE_PROFILE_NO_END build it without its appends / its end phase, and
// PULSE_PROFILE_COUNT makes *overflow the number of candidates kept (wrong answers; `python
// bench/profile_topk.py parts` and `seeds` only).
extern "C" __global__ void __launch_bounds__(THREADS, 1)
wgmma_topk(const __grid_constant__ TensorMap q_map, const __grid_constant__ TensorMap c_map, int nq, int d,
           long long n, int splits, const float* __restrict__ seed, int2* buf, float* __restrict__ part_s,
           int* __restrict__ part_i, int* overflow) {
    extern __shared__ unsigned char smem_raw[];
    const unsigned base = (smem_addr(smem_raw) + 1023u) & ~1023u;
    unsigned char* ring = smem_raw + (base - smem_addr(smem_raw)) + (d / BK) * BM * ROW_BYTES;
    const Run run = block_run(nq, 0, n, splits);
    const int tid = threadIdx.x, lane = tid & 31, quad = lane & 3;
    const int ra = local_row_a(), rb = ra + 8;
    const bool live_a = run.q0 + ra < nq, live_b = run.q0 + rb < nq;
    const float seed_a = live_a ? seed[run.q0 + ra] : POS_INF, seed_b = live_b ? seed[run.q0 + rb] : POS_INF;
    auto buffer = [&](int r) { return ((long long)run.split * nq + run.q0 + r) * TOPK_CAP; };
    int2* region_a = buf + buffer(ra) + quad * LANE_CAP;
    int2* region_b = buf + buffer(rb) + quad * LANE_CAP;
    int count_a = 0, count_b = 0;
    float ga[GROUPS], gb[GROUPS];
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) ga[g] = gb[g] = NEG_INF;

    const bool consumer = stream_tiles(q_map, c_map, d, 0, run, base, [&](float (&acc)[128], long long tile) {
        const long long n0 = tile * BN;
        if (n0 + BN > n) {  // the corpus's last tile: columns past n (zeros from the copy engine) are NaN,
            const int valid = (int)(n - n0) - 2 * quad;  // which no maximum takes and no gate passes
#pragma unroll
            for (int j = 0; j < BN / 8; ++j)
#pragma unroll
                for (int e = 0; e < 2; ++e)
                    if (8 * j + e >= valid) acc[4 * j + e] = acc[4 * j + 2 + e] = __int_as_float(0x7fffffff);
        }
        float ma = NEG_INF, mb = NEG_INF, na = POS_INF, nb = POS_INF, xa[GROUPS], xb[GROUPS];
#pragma unroll
        for (int g = 0; g < GROUPS; ++g) {
            xa[g] = xb[g] = NEG_INF;
#pragma unroll
            for (int j = g; j < BN / 8; j += GROUPS) {
                xa[g] = fmaxf(xa[g], fmaxf(acc[4 * j], acc[4 * j + 1]));
                xb[g] = fmaxf(xb[g], fmaxf(acc[4 * j + 2], acc[4 * j + 3]));
            }
            ma = fmaxf(ma, xa[g]);
            mb = fmaxf(mb, xb[g]);
            ga[g] = fmaxf(ga[g], xa[g]);
            gb[g] = fmaxf(gb[g], xb[g]);
            na = fminf(na, ga[g]);
            nb = fminf(nb, gb[g]);
        }
        // The gate: the quad's smallest running maximum, this tile's included (its K rows are as good as any),
        // or the query's seed where that is higher (a floor K rows of the whole corpus reach)
        na = fminf(na, __shfl_xor_sync(0xffffffffu, na, 1));
        na = fminf(na, __shfl_xor_sync(0xffffffffu, na, 2));
        nb = fminf(nb, __shfl_xor_sync(0xffffffffu, nb, 1));
        nb = fminf(nb, __shfl_xor_sync(0xffffffffu, nb, 2));
#ifdef PULSE_PROFILE_NO_KEEP
        const float ta = POS_INF + na, tb = POS_INF + nb;
#else
        const float ta = fmaxf(seed_a, na), tb = fmaxf(seed_b, nb);
#endif
        const long long col0 = n0 + 2 * quad;
        if (ma >= ta) append_row(acc, 0, xa, ta, count_a, region_a, col0);
        if (mb >= tb) append_row(acc, 2, xb, tb, count_b, region_b, col0);
    });
    if (!consumer) return;
#ifdef PULSE_PROFILE_NO_END
    return;
#endif
    // The ring is free once every consumer is past its last tile (the producer's loads all landed before
    // that): the regions' counts go there, then each warp takes rows warp + 8i.
    int* counts = reinterpret_cast<int*>(ring + CONSUMER_WARPS * 2 * TOPK_CAP * 4);  // after the warps' scratch
    asm volatile("bar.sync 1, %0;\n" :: "n"(CONSUMER_WARPS * 32) : "memory");
    counts[4 * ra + quad] = min(count_a, LANE_CAP);
    counts[4 * rb + quad] = min(count_b, LANE_CAP);
#ifndef PULSE_PROFILE_COUNT
    if (count_a > LANE_CAP || count_b > LANE_CAP) *overflow = 1;
#endif
    asm volatile("bar.sync 1, %0;\n" :: "n"(CONSUMER_WARPS * 32) : "memory");
    const int warp = tid >> 5;
    constexpr int ROWS = BM / CONSUMER_WARPS;
    int m[ROWS];
#pragma unroll
    for (int i = 0; i < ROWS; ++i) {
        const int* c = counts + 4 * (warp + CONSUMER_WARPS * i);
        m[i] = c[0] + c[1] + c[2] + c[3];
    }
    // With a seed most rows hold a few candidates, whose loads go out together.
    int2 first[ROWS];
#pragma unroll
    for (int i = 0; i < ROWS; ++i) {
        const int r = warp + CONSUMER_WARPS * i;
        first[i] = run.q0 + r < nq && lane < m[i] ? candidate_at(buf + buffer(r), counts + 4 * r, lane)
                                                  : candidate(NEG_INF, -1);
    }
    float* sx = reinterpret_cast<float*>(ring) + warp * 2 * TOPK_CAP;
    int* si = reinterpret_cast<int*>(sx + TOPK_CAP);
#ifdef PULSE_PROFILE_COUNT
    if (lane == 0) {  // the candidates kept, for bench/profile_topk.py
        int kept = 0;
#pragma unroll
        for (int i = 0; i < ROWS; ++i) kept += run.q0 + warp + CONSUMER_WARPS * i < nq ? m[i] : 0;
        atomicAdd(overflow, kept);
    }
#endif
#pragma unroll
    for (int i = 0; i < ROWS; ++i) {
        const int r = warp + CONSUMER_WARPS * i;
        if (run.q0 + r >= nq) break;
        const long long at = ((long long)run.split * nq + run.q0 + r) * TOPK_K;
        if (m[i] <= 32) write_few(first[i], m[i], part_s + at, part_i + at);
        else write_best(buf + buffer(r), counts + 4 * r, m[i], sx, si, part_s + at, part_i + at);
    }
}
#endif
