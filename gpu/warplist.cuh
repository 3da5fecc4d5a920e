// Warp-level selection shared by the one-pass, seed-floor and merge kernels (prepended after order.cuh by
// cupy_backend._source and sm90.source): a warp's sorted list of its best K, and a search for a value K
// entries reach.

// The best K seen by one warp, sorted, entry t in lane t; (tv, ti) is the last entry, held by every lane.
template <int K>
struct WarpList {
    float v, tv;
    long long i, ti;
    __device__ void clear() { v = tv = NEG_INF; i = ti = -1; }
    // The merge of `lists` sorted lists of K in shared memory: the first as it is, the others offered.
    __device__ void merge(const float (*s)[K], const long long (*ix)[K], int lists, int lane) {
        v = lane < K ? s[0][lane] : NEG_INF;
        i = lane < K ? ix[0][lane] : -1;
        tv = __shfl_sync(0xffffffffu, v, K - 1);
        ti = __shfl_sync(0xffffffffu, i, K - 1);
        for (int w = 1; w < lists; ++w)
            for (int t = 0; t < K; ++t) offer(s[w][t], ix[w][t], lane);
    }
    // Each lane's own (x, id) where its bit of `hit` is set, lowest lane first (hit: a ballot of candidates).
    __device__ void offer_lanes(unsigned int hit, float x, long long id, int lane) {
        while (hit) {
            const int src = __ffs(hit) - 1;
            hit &= hit - 1;
            offer(__shfl_sync(0xffffffffu, x, src), __shfl_sync(0xffffffffu, id, src), lane);
        }
    }
    // (x, id) is the same in every lane.
    __device__ void offer(float x, long long id, int lane) {
        if (!better(x, id, tv, ti)) return;
        const int pos = __popc(__ballot_sync(0xffffffffu, lane < K && better(v, i, x, id)));
        const float uv = __shfl_up_sync(0xffffffffu, v, 1);
        const long long ui = __shfl_up_sync(0xffffffffu, i, 1);
        if (lane == pos) { v = x; i = id; }
        else if (lane > pos && lane < K) { v = uv; i = ui; }
        tv = __shfl_sync(0xffffffffu, v, K - 1);
        ti = __shfl_sync(0xffffffffu, i, K - 1);
    }
};

// lo and hi become the warp's lowest and highest value (NaN ignored), in every lane.
__device__ __forceinline__ void warp_min_max(float& lo, float& hi) {
    for (int o = 16; o; o >>= 1) {
        lo = fminf(lo, __shfl_xor_sync(0xffffffffu, lo, o));
        hi = fmaxf(hi, __shfl_xor_sync(0xffffffffu, hi, o));
    }
}

// A value that at least K entries reach, from lo (which they do) towards hi: count(v) is the warp's number
// of entries >= v, the same in every lane. Three probes a step (two bits), their counts independent: half
// the dependent steps of a bisection.
template <typename Count>
__device__ float floor_search(float lo, float hi, int K, int steps, Count count) {
    for (int it = 0; it < steps && lo < hi; ++it) {
        const float w = 0.25f * (hi - lo), m1 = lo + w, m2 = lo + 2.f * w, m3 = lo + 3.f * w;
        const int c1 = count(m1), c2 = count(m2), c3 = count(m3);
        if (c3 >= K) lo = m3;
        else if (c2 >= K) { lo = m2; hi = m3; }
        else if (c1 >= K) { lo = m1; hi = m2; }
        else hi = m1;
    }
    return lo;
}

// A value at least K of the warp's values reach (g: N a lane, each the score of a distinct row; NEG_INF for
// none), from `steps` steps of floor_search; NEG_INF when fewer than K have one. The seeds' floor and the
// merges' floor both take it.
template <int N>
__device__ float kth_floor(const float (&g)[N], int K, int steps) {
    float lo = POS_INF, hi = NEG_INF;
    int have = 0;
#pragma unroll
    for (int r = 0; r < N; ++r)
        if (g[r] > NEG_INF) { lo = fminf(lo, g[r]); hi = fmaxf(hi, g[r]); ++have; }
    warp_min_max(lo, hi);
    if (__reduce_add_sync(0xffffffffu, have) < K) return NEG_INF;
    return floor_search(lo, hi, K, steps, [&](float v) {
        int c = 0;
#pragma unroll
        for (int r = 0; r < N; ++r) c += g[r] >= v;
        return __reduce_add_sync(0xffffffffu, c);
    });
}
