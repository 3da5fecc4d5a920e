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
//   - wgmma_topk (one pass, PULSE_TOPK_K defined; on the ping-pong loop, stream_pingpong, where each consumer
//     warpgroup takes every other 128-row tile with all the block's queries): each warpgroup keeps its own
//     threshold per query, starting from the query's seed and raised as its tiles go by, and appends to the
//     query's candidate regions; at the end the regions' counts and heads go to regions_merge
//     (kernels_onepass.cu), which selects across blocks and rescores;
//   - wgmma_seed (the seeds of wgmma_topk): each block keeps only running group maxima per query over its run
//     of a sample of the corpus and writes them for seed_floor (kernels_onepass.cu).
// NEG_INF, POS_INF, better() (order.cuh), floor_search and warp_min_max (warplist.cuh), let_next_start and
// wait_for_previous (depend.cuh) and the generated wgmma_m64n256 and wgmma_m64n128 wrappers (sm90.py) are
// prepended.

constexpr int BM = 128;       // queries per block: two consumer warpgroups of 64 rows
constexpr int BN = 256;       // corpus rows per tile (the wgmma N)
constexpr int BK = 64;        // d columns per step: one 128-byte swizzled row
constexpr int STAGES = 4;     // corpus ring depth
constexpr int CONSUMER_WARPS = 8;
constexpr int THREADS = CONSUMER_WARPS * 32 + 32;
constexpr int ROW_BYTES = BK * 2;

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

template <int TILE = BN>
__device__ __forceinline__ Run block_run(int nq, long long c_begin, long long c_end, int splits) {
    const int nqt = (nq + BM - 1) / BM;
    const int split = (int)(blockIdx.x / nqt);
    const long long tiles = (c_end - c_begin + TILE - 1) / TILE;
    return {(int)(blockIdx.x % nqt) * BM, split, tiles * split / splits, tiles * (split + 1) / splits};
}

// A main loop's shared memory from `base` (1024-aligned): the block's queries [KC][BM rows][128 B], a ring of
// S stages of TILE corpus rows x BK, then the mbarriers full[S], empty[S], a_full; and the producer's side of
// it. Both main loops (stream_tiles, stream_pingpong) stand on it.
template <int S, int TILE>
struct Ring {
    static constexpr int STEP = TILE * ROW_BYTES;  // bytes of a stage
    unsigned a_base, b_base, bars;
    __device__ Ring(unsigned base, int KC)
        : a_base(base), b_base(base + KC * BM * ROW_BYTES), bars(base + KC * BM * ROW_BYTES + S * STEP) {}
    __device__ unsigned full(int st) const { return bars + 8u * st; }
    __device__ unsigned empty(int st) const { return bars + 8u * (S + st); }
    __device__ unsigned a_full() const { return bars + 16u * S; }
    __device__ unsigned stage(int st) const { return b_base + st * STEP; }
    // Thread 0 makes the barriers (a stage is free again after `readers` warps' arrivals); all threads wait.
    __device__ void init(int readers) const {
        if (threadIdx.x == 0) {
            for (int st = 0; st < S; ++st) { mbar_init(full(st), 1); mbar_init(empty(st), readers); }
            mbar_init(a_full(), 1);
            asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
        }
        __syncthreads();
    }
    // One thread's loads: the block's queries, then the run's steps in order (step s: d columns (s % KC) * BK
    // of the tile s / KC), each into its stage once the stage's readers have freed it.
    __device__ void produce(const TensorMap& q_map, const TensorMap& c_map, int KC, long long c_begin,
                            const Run& run) const {
        mbar_expect_tx(a_full(), KC * BM * ROW_BYTES);
        for (int kc = 0; kc < KC; ++kc) tma_load(a_base + kc * BM * ROW_BYTES, &q_map, kc * BK, run.q0, a_full());
        const int steps = (int)(run.t_last - run.t_first) * KC;
        for (int s = 0; s < steps; ++s) {
            const int st = s % S;
            if (s >= S) mbar_wait(empty(st), ((s / S) - 1) & 1);
            mbar_expect_tx(full(st), STEP);
            tma_load(stage(st), &c_map, (s % KC) * BK, (int)(c_begin + (run.t_first + s / KC) * TILE), full(st));
        }
    }
};

// The producer/consumer main loop. Shared memory from `base` (1024-aligned): the block's queries
// [KC][BM rows][128 B], the ring [STAGES][BN rows][128 B], then the mbarriers. The producer warp returns
// false when it has issued every load; consumers call epilogue(acc, tile) after each tile (acc[4j + h + e]:
// query row (h ? row_b : row_a), corpus column 8j + 2 (lane & 3) + e of the tile) and return true.
template <typename Epilogue>
__device__ __forceinline__ bool stream_tiles(const TensorMap& q_map, const TensorMap& c_map, int d,
                                             long long c_begin, const Run& run, unsigned base, Epilogue&& epilogue) {
    const int KC = d / BK;                                       // steps per tile
    const Ring<STAGES, BN> ring(base, KC);

    // warp-uniform in the compiler's eyes (a shuffle from lane 0): else ptxas serialises every wgmma (C7518)
    const int tid = threadIdx.x, warp = __shfl_sync(0xffffffffu, tid >> 5, 0), lane = tid & 31;
    ring.init(CONSUMER_WARPS);  // both warpgroups read every stage
    if (warp == CONSUMER_WARPS) {  // producer
        if (lane == 0) ring.produce(q_map, c_map, KC, c_begin, run);
        return false;
    }

    const int wg = warp >> 2;
    float acc[128];
#pragma unroll
    for (int i = 0; i < 128; ++i) acc[i] = 0.f;

    mbar_wait(ring.a_full(), 0);
    int s = 0;  // steps issued
    // One step: wait for its corpus stage, queue its four MMAs (the first step of a tile starts from zero).
    auto step = [&](int kc) {
        const int st = s % STAGES;
        mbar_wait(ring.full(st), (s / STAGES) & 1);
        const unsigned a_addr = ring.a_base + kc * BM * ROW_BYTES + wg * 64 * ROW_BYTES;
        const unsigned b_addr = ring.stage(st);
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
            if (kc > 0 && lane == 0) mbar_arrive(ring.empty((s - 2) % STAGES));
        }
        step(KC - 1);
        wgmma_wait<0>();
        if (lane == 0) {
            if (KC > 1) mbar_arrive(ring.empty((s - 2) % STAGES));
            mbar_arrive(ring.empty((s - 1) % STAGES));
        }
#pragma unroll
        for (int i = 0; i < 128; ++i) asm volatile("" : "+f"(acc[i]) :: "memory");  // reads stay after the wait
        epilogue(acc, tile);
    }
    return true;
}

constexpr int PP_BN = 128;                          // corpus rows per tile of the ping-pong loop (wgmma N)
constexpr int PP_STAGES = STAGES * BN / PP_BN;      // its ring: the same bytes in steps of PP_BN rows

__device__ __forceinline__ void bar_sync(int id, int threads) { asm volatile("bar.sync %0, %1;\n" :: "r"(id), "r"(threads) : "memory"); }
__device__ __forceinline__ void bar_arrive(int id, int threads) { asm volatile("bar.arrive %0, %1;\n" :: "r"(id), "r"(threads) : "memory"); }

// The ping-pong main loop (wgmma_topk): each consumer warpgroup takes every other tile of the run with all
// BM queries (two m64n128 accumulators), and the two take turns at the tensor cores, so one's epilogue runs
// while the other's products do. In stream_tiles both warpgroups end a tile together and the tensor cores
// wait for both epilogues, which a staggered start cannot hide (the shared ring holds too few steps). Here a stage of the ring belongs to
// one warpgroup, released by its 4 warps. Turns: named barriers 2 (warpgroup 1 may issue) and 3 (warpgroup
// 0 may), one arrive and one sync per round each, so no barrier gets two arrivals of one side in a row.
// Consumers call epilogue(acc0, acc1, tile) (queries 0-63 and 64-127, acc[4j + h + e] as in stream_tiles,
// columns 8j + 2 quad + e of the tile) and return true; the producer returns false.
template <typename Epilogue>
__device__ __forceinline__ bool stream_pingpong(const TensorMap& q_map, const TensorMap& c_map, int d, const Run& run,
                                                unsigned base, Epilogue&& epilogue) {
    const int KC = d / BK;
    const Ring<PP_STAGES, PP_BN> ring(base, KC);
    const long long tiles = run.t_last - run.t_first;

    const int tid = threadIdx.x, warp = __shfl_sync(0xffffffffu, tid >> 5, 0), lane = tid & 31;
    ring.init(4);  // a stage is read by one warpgroup
    if (warp == CONSUMER_WARPS) {  // producer
        if (lane == 0) ring.produce(q_map, c_map, KC, 0, run);
        return false;
    }

    const int wg = warp >> 2;
    float acc0[64], acc1[64];
#pragma unroll
    for (int i = 0; i < 64; ++i) acc0[i] = acc1[i] = 0.f;
    mbar_wait(ring.a_full(), 0);
    const long long rounds = (tiles + 1) / 2;
    for (long long r = 0; r < rounds; ++r) {
        const long long t = 2 * r + wg;  // this warpgroup's tile of the run
        if (wg == 1) bar_sync(2, 2 * 128);
        else if (r > 0) bar_sync(3, 2 * 128);
        if (t < tiles) {
            int s = (int)t * KC;
#pragma unroll 1
            for (int kc = 0; kc < KC; ++kc, ++s) {
                const int st = s % PP_STAGES;
                mbar_wait(ring.full(st), (s / PP_STAGES) & 1);
                // descriptors of 1024-aligned tiles: +32 bytes along the swizzled row is +2 (addresses >> 4)
                const unsigned long long a0 = sw128_desc(ring.a_base + kc * BM * ROW_BYTES),
                                         a1 = sw128_desc(ring.a_base + kc * BM * ROW_BYTES + 64 * ROW_BYTES),
                                         b = sw128_desc(ring.stage(st));
                wgmma_fence();
#pragma unroll
                for (int k16 = 0; k16 < BK / 16; ++k16) {
                    wgmma_m64n128(acc0, a0 + 2 * k16, b + 2 * k16, (kc | k16) != 0);
                    wgmma_m64n128(acc1, a1 + 2 * k16, b + 2 * k16, (kc | k16) != 0);
                }
                wgmma_commit();
                wgmma_wait<1>();  // the step before is done: its stage goes back
                if (kc > 0 && lane == 0) mbar_arrive(ring.empty((s - 1) % PP_STAGES));
            }
        }
        if (wg == 0) bar_arrive(2, 2 * 128);  // the other warpgroup's turn
        else if (r + 1 < rounds) bar_arrive(3, 2 * 128);
        wgmma_wait<0>();  // on every path, else ptxas adds its own wait (C7517)
        if (t < tiles) {
            if (lane == 0) mbar_arrive(ring.empty(((int)(t + 1) * KC - 1) % PP_STAGES));
#pragma unroll
            for (int i = 0; i < 64; ++i) asm volatile("" : "+f"(acc0[i]), "+f"(acc1[i]) :: "memory");
            epilogue(acc0, acc1, run.t_first + t);
        }
    }
    return true;
}

// This thread's two query rows in the accumulator layout (block-local, 0..127).
__device__ __forceinline__ int local_row_a() { return (threadIdx.x >> 7) * 64 + ((threadIdx.x >> 5) & 3) * 16 + ((threadIdx.x & 31) >> 2); }

// The last tile of rows [.., n) starting at n0: its columns past n (zeros from the copy engine) become NaN,
// which no maximum takes and no gate passes (acc[4j + h + e]: column 8j + 2 quad + e, h = 0 or 2).
template <int N>
__device__ __forceinline__ void mask_past_end(float (&acc)[N], long long n0, long long n) {
    if (n0 + 2 * N <= n) return;  // a tile of 2N columns
    const int valid = (int)(n - n0) - 2 * (threadIdx.x & 3);
#pragma unroll
    for (int j = 0; j < N / 4; ++j)
#pragma unroll
        for (int e = 0; e < 2; ++e)
            if (8 * j + e >= valid) acc[4 * j + e] = acc[4 * j + 2 + e] = __int_as_float(0x7fffffff);
}

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
constexpr int REGIONS = 8;                // ... in eight regions: the quad's 4 threads in each warpgroup
constexpr int LANE_CAP = TOPK_CAP / REGIONS;

// A candidate: score bits and corpus row, one 8-byte store.
__device__ __forceinline__ int2 candidate(float x, int row) { return make_int2(__float_as_int(x), row); }

// This thread's scores of one row at or above th into its own region of the row's candidate buffer, looking
// only at the groups whose tile maximum (tmax) reaches th. The count lives in a register: no atomic and no
// counting pass first (a shared-memory reservation before the stores costs more than the stores). Scores go
// in pairs (the thread's two adjacent columns, both stored when either reaches th; the merge drops what its
// floor does not reach): one compare and one pointer step a pair, where one score at a time makes each
// store's pointer step wait for the store before; the epilogue is on the tensor cores' path once it outlasts
// the other warpgroup's products. A region without room for a whole row's scores (N / 2 of them) is marked
// overflowed instead (count past LANE_CAP: the caller takes another path), so there is no bound to check and
// no address to rebuild.
template <int N>
__device__ __forceinline__ void append_row(const float (&acc)[N], int h, const float (&tmax)[GROUPS], float th,
                                           int& count, int2* region, long long col0) {
    if (count > LANE_CAP - N / 2) {
        count = LANE_CAP + 1;
        return;
    }
    int2* dst = region + count;
    const int c0 = (int)col0;
#pragma unroll
    for (int g = 0; g < GROUPS; ++g)
        if (tmax[g] >= th)
#pragma unroll
            for (int j = g; j < N / 4; j += GROUPS) {
                const float a = acc[4 * j + h], b = acc[4 * j + h + 1];
                const bool keep = a >= th || b >= th;
                if (keep) {
                    dst[0] = candidate(a, c0 + 8 * j);
                    dst[1] = candidate(b, c0 + 8 * j + 1);
                }
                dst += 2 * keep;
            }
    count = (int)(dst - region);
}

// A sample's group maxima for the one pass's seeds: each block scores its query tile against its run of the
// sample (s_map: every stride-th row of the corpus, as the caller maps it) and writes the 4 x GROUPS running
// maxima each query's quad keeps, each over its own share of the run's rows: maxima [splits][nq][4 * GROUPS].
// seed_floor (kernels_onepass.cu) then finds a value K of a query's maxima reach. The scores are the pass's own
// fp32 sums of the same fp16 products, and no score leaves the registers (a cuBLAS product would write them
// all out in fp16 and read them back).
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
        mask_past_end(acc, tile * BN, n);
#pragma unroll
        for (int g = 0; g < GROUPS; ++g)
#pragma unroll
            for (int j = g; j < BN / 8; j += GROUPS) {
                ga[g] = fmaxf(ga[g], fmaxf(acc[4 * j], acc[4 * j + 1]));
                gb[g] = fmaxf(gb[g], fmaxf(acc[4 * j + 2], acc[4 * j + 3]));
            }
    });
    if (!consumer) return;
    let_next_start();  // seed_floor's blocks start as these end, not a launch after the last
    const long long at_a = ((long long)run.split * nq + run.q0 + ra) * 4 + quad, at_b = at_a + 8 * 4;
#pragma unroll
    for (int g = 0; g < GROUPS; ++g) {
        if (run.q0 + ra < nq) maxima[at_a * GROUPS + g] = ga[g];
        if (run.q0 + rb < nq) maxima[at_b * GROUPS + g] = gb[g];
    }
}

// The gate and the appends of one accumulator row (h = 0 or 2 of acc) of a tile: the row's group maxima
// update the running ones (g, 4 x GROUPS per quad, each over a fixed share of the columns, so over distinct
// rows: K of the block's rows reach the smallest), and scores at or above the query's threshold, the higher
// of that smallest maximum (this tile's included) and the query's seed, go to this thread's region.
template <int N>
__device__ __forceinline__ void gate_row(const float (&acc)[N], int h, float seed, float (&g)[GROUPS], int& count,
                                         int2* region, long long col0) {
    float m = NEG_INF, lo = POS_INF, x[GROUPS];
#pragma unroll
    for (int k = 0; k < GROUPS; ++k) {
        x[k] = NEG_INF;
#pragma unroll
        for (int j = k; j < N / 4; j += GROUPS) x[k] = fmaxf(x[k], fmaxf(acc[4 * j + h], acc[4 * j + h + 1]));
        m = fmaxf(m, x[k]);
        g[k] = fmaxf(g[k], x[k]);
        lo = fminf(lo, g[k]);
    }
    lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, 1));
    lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, 2));
    const float th = fmaxf(seed, lo);
    if (m >= th) append_row(acc, h, x, th, count, region, col0);
}

// One pass over the corpus rows [0, n): each block its query tile and corpus run, its two consumer
// warpgroups taking turns at the tensor cores (stream_pingpong), each over every other tile with all the
// block's queries: a thread holds 4 query rows (gate_row). A query's threshold in a warpgroup is the higher
// of its seed (a score K rows of the corpus reach: wgmma_seed, seed_floor) and the warpgroup's running
// bound; either way the query's best K overall all reach it when their tile comes. Scores at or above it go
// to the query's buffer (buf: [splits][nq][TOPK_CAP] (score, row) pairs, REGIONS regions of LANE_CAP, one per
// thread of the row's quad in each warpgroup), unsorted; the regions' counts go to counts
// [splits][nq][REGIONS] with the best score each thread saw of the row (its head) for regions_merge
// (kernels_onepass.cu), which selects and rescores. A region that overflowed sets *overflow (the caller takes
// another path). The block that ends last sets *done (host memory: the host waits for it, not for the merge,
// whose time then covers the host's return; `arrivals` is zeroed by seed_floor, which the consumers wait for).
extern "C" __global__ void __launch_bounds__(THREADS, 1)
wgmma_topk(const __grid_constant__ TensorMap q_map, const __grid_constant__ TensorMap c_map, int nq, int d,
           long long n, int splits, const float* seed, int2* buf, int2* __restrict__ counts,
           int* overflow, unsigned* arrivals, volatile int* done) {
    extern __shared__ unsigned char smem_raw[];
    const unsigned base = (smem_addr(smem_raw) + 1023u) & ~1023u;
    const Run run = block_run<PP_BN>(nq, 0, n, splits);
    const int tid = threadIdx.x, lane = tid & 31, quad = lane & 3;
    // this thread's rows: r0, r0 + 8 (acc0), r0 + 64, r0 + 72 (acc1); its region in each row's buffer
    const int r0 = ((tid >> 5) & 3) * 16 + (lane >> 2), region = (tid >> 7) * 4 + quad;
    auto row = [&](int i) { return run.q0 + r0 + (i & 1) * 8 + (i >> 1) * 64; };
    float th[4], g[4][GROUPS];
    int count[4];
    // Launched while seed_floor runs (cupy_backend): the producer's loads need nothing of it, the consumers'
    // seeds do.
    const bool consumes = tid < CONSUMER_WARPS * 32;
    if (consumes) wait_for_previous();
#pragma unroll
    for (int i = 0; i < 4; ++i) {
        th[i] = consumes && row(i) < nq ? seed[row(i)] : POS_INF;  // a row past nq keeps nothing
        count[i] = 0;
#pragma unroll
        for (int k = 0; k < GROUPS; ++k) g[i][k] = NEG_INF;
    }
    // row(i)'s region: regions + (row(i) - row(0)) * TOPK_CAP
    int2* regions = buf + ((long long)run.split * nq + row(0)) * TOPK_CAP + region * LANE_CAP;

    const bool consumer = stream_pingpong(q_map, c_map, d, run, base,
                                          [&](float (&acc0)[64], float (&acc1)[64], long long tile) {
        const long long n0 = tile * PP_BN, col0 = n0 + 2 * quad;
        mask_past_end(acc0, n0, n);
        mask_past_end(acc1, n0, n);
        gate_row(acc0, 0, th[0], g[0], count[0], regions, col0);
        gate_row(acc0, 2, th[1], g[1], count[1], regions + 8 * TOPK_CAP, col0);
        gate_row(acc1, 0, th[2], g[2], count[2], regions + 64 * TOPK_CAP, col0);
        gate_row(acc1, 2, th[3], g[3], count[3], regions + 72 * TOPK_CAP, col0);
    });
    // The merge may start (and load its queries) once every block's consumers are here. A block lets it with
    // its first thread to ask, so not the producer, which is done early: the merge's waiting blocks would
    // take the pass's multiprocessors too soon.
    if (!consumer) return;
    let_next_start();
    bool over = false;
#pragma unroll
    for (int i = 0; i < 4; ++i)
        if (row(i) < nq) {
            float head = NEG_INF;
#pragma unroll
            for (int k = 0; k < GROUPS; ++k) head = fmaxf(head, g[i][k]);
            counts[((long long)run.split * nq + row(i)) * REGIONS + region] = make_int2(min(count[i], LANE_CAP),
                                                                                        __float_as_int(head));
            over |= count[i] > LANE_CAP;
        }
    // What the host reads is out before the block's arrival is counted; the last arrival tells the host.
    if (over) {
        *overflow = 1;
        __threadfence_system();
    }
    bar_sync(1, CONSUMER_WARPS * 32);
    if (tid == 0 && atomicAdd(arrivals, 1u) == gridDim.x - 1) {
        __threadfence_system();
        *done = 1;
    }
}
#endif
