// Hopper-only (sm_90a) scoring kernel for large query batches, compiled by gpu/sm90.py through NVRTC.
// Same contract as fused_filter in kernels.cu: scores of corpus rows [c_begin, c_end) against every query,
// fp16 in and fp32 accumulation, never leave registers; a score at or above the query's threshold tau[q] is
// appended to that query's candidate list (count[q] may pass cap: the caller sees the overflow).
//
// Why a second kernel: mma.sync tops out near a third of the H100's fp16 rate. Here the tensor cores run
// warpgroup MMAs (wgmma.mma_async m64n256k16) straight from shared memory in the 128-byte swizzled layout
// that the tensor copy engine (TMA) writes:
//   - warps 0-7, two consumer warpgroups, own 64 queries each; a block's 128 queries stay resident in
//     shared memory for the block's life;
//   - warp 8 is the producer: one thread streams corpus tiles (256 rows x 64 columns of d per step) into a
//     4-stage ring with cp.async.bulk.tensor, each stage guarded by a full and an empty mbarrier, so loads
//     run up to three steps ahead of the tensor cores with no block-wide barrier;
//   - each block walks a contiguous run of tiles; blocks that share a run are numbered together, so the
//     corpus comes from device memory about once and from L2 for the other query tiles.
// After the last step of a tile, each thread holds 2 query rows x 64 columns of scores; one max per row
// decides whether the row can hold anything at or above its threshold, and only then is it scanned.
// The generated wgmma_m64n256 wrapper (sm90.py) is prepended. No headers: fp16 data is only moved here.

#define POS_INF (__int_as_float(0x7f800000))

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

extern "C" __global__ void __launch_bounds__(THREADS, 1)
wgmma_filter(const __grid_constant__ TensorMap q_map, const __grid_constant__ TensorMap c_map, int nq, int d,
             long long c_begin, long long c_end, const float* __restrict__ tau,
             float* __restrict__ cs, long long* __restrict__ ci, unsigned int* __restrict__ count, int cap,
             int splits) {
    extern __shared__ unsigned char smem_raw[];
    const unsigned base = (smem_addr(smem_raw) + 1023u) & ~1023u;  // the swizzle atom is 1024 bytes
    const int KC = d / BK;                                       // steps per tile
    const unsigned a_base = base;                                // [KC][BM rows][128 B]
    const unsigned b_base = a_base + KC * BM * ROW_BYTES;        // [STAGES][BN rows][128 B]
    const unsigned bars = b_base + STAGES * STEP_BYTES;          // full[STAGES], empty[STAGES], a_full
    auto full = [&](int st) { return bars + 8u * st; };
    auto empty = [&](int st) { return bars + 8u * (STAGES + st); };
    const unsigned a_full = bars + 16u * STAGES;

    // warp-uniform in the compiler's eyes (a shuffle from lane 0): else ptxas serialises every wgmma (C7518)
    const int tid = threadIdx.x, warp = __shfl_sync(0xffffffffu, tid >> 5, 0), lane = tid & 31;
    const int nqt = (nq + BM - 1) / BM;
    const int q0 = (int)(blockIdx.x % nqt) * BM;
    const int split = (int)(blockIdx.x / nqt);
    const long long tiles = (c_end - c_begin + BN - 1) / BN;
    const long long t_first = tiles * split / splits, t_last = tiles * (split + 1) / splits;
    const int steps = (int)(t_last - t_first) * KC;
    if (steps == 0) return;

    if (tid == 0) {
        for (int st = 0; st < STAGES; ++st) { mbar_init(full(st), 1); mbar_init(empty(st), CONSUMER_WARPS); }
        mbar_init(a_full, 1);
        asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
    }
    __syncthreads();

    if (warp == CONSUMER_WARPS) {  // producer
        if (lane == 0) {
            mbar_expect_tx(a_full, KC * BM * ROW_BYTES);
            for (int kc = 0; kc < KC; ++kc) tma_load(a_base + kc * BM * ROW_BYTES, &q_map, kc * BK, q0, a_full);
            for (int s = 0; s < steps; ++s) {
                const int st = s % STAGES;
                if (s >= STAGES) mbar_wait(empty(st), ((s / STAGES) - 1) & 1);
                mbar_expect_tx(full(st), STEP_BYTES);
                tma_load(b_base + st * STEP_BYTES, &c_map, (s % KC) * BK, (int)(c_begin + (t_first + s / KC) * BN), full(st));
            }
        }
        return;
    }

    // consumers: this thread's two query rows in the wgmma accumulator layout, and their thresholds
    const int wg = warp >> 2;
    const int row_a = q0 + wg * 64 + (warp & 3) * 16 + (lane >> 2), row_b = row_a + 8;
    const float th_a = row_a < nq ? tau[row_a] : POS_INF;
    const float th_b = row_b < nq ? tau[row_b] : POS_INF;
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
    for (long long tile = t_first; tile < t_last; ++tile) {
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

        float ma = acc[0], mb = acc[2];
#pragma unroll
        for (int j = 0; j < BN / 8; ++j) {
            ma = fmaxf(ma, fmaxf(acc[4 * j], acc[4 * j + 1]));
            mb = fmaxf(mb, fmaxf(acc[4 * j + 2], acc[4 * j + 3]));
        }
        if (!(ma >= th_a || mb >= th_b)) continue;
        const long long n0 = c_begin + tile * BN;
        const int valid = (int)min((long long)BN, c_end - n0) - 2 * (lane & 3);  // columns left in the tile
        if (ma >= th_a) keep_row<BN>(acc, 0, th_a, row_a, n0 + 2 * (lane & 3), valid, cs, ci, count, cap);
        if (mb >= th_b) keep_row<BN>(acc, 2, th_b, row_b, n0 + 2 * (lane & 3), valid, cs, ci, count, cap);
    }
}
