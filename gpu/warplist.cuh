// A warp's sorted list of its best K (lane t holds entry t), shared by the scan and one-pass kernels;
// prepended after order.cuh by cupy_backend._source.

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
