"""gpu.topk and gpu.components on the GPU against stock peers, with the physical floor.

    python bench/bench_topk.py                 # on the GPU machine, after pip install -e .
    python bench/bench_topk.py topk            # one table only (topk or components)
Prints markdown tables (ms, median of lone calls: CUDA events around one call, then a wait).
topk: k=10, d=384, fp16 unit corpus prepared once (the pipeline's way), one query (search) and batches
(the nightly cluster stage), against torch.topk(q @ C.T) and CuPy's argpartition. The floor is the larger of
reading the corpus once at 3.0 TB/s and the products at 750 TFLOP/s (H100).
components: a random graph of m edges over n nodes (the cluster stage's candidate edges), against SciPy on
the CPU (what the NumPy path runs).
"""
from __future__ import annotations

import sys
import time

import cupy as cp
import numpy as np
import torch

from common import H100_BW, H100_FP16, table, time_gpu
from gpu import components, prepare, topk

D, K = 384, 10


def unit16(n: int, seed: int) -> cp.ndarray:
    rs = cp.random.RandomState(seed)
    x = rs.standard_normal((n, D), dtype=cp.float32)
    x /= cp.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(cp.float16)


def bench_topk(sizes=(100_000, 1_000_000, 4_000_000), queries=(1, 64, 1024)) -> str:
    rows = []
    for n in sizes:
        corpus = unit16(n, 1)
        prep = prepare(corpus)
        tc = torch.as_tensor(corpus, device="cuda")
        for nq in queries:
            q = unit16(nq, 2)
            tq = torch.as_tensor(q, device="cuda")
            # 30 calls each: a lone call this short moves by a third from run to run
            ours = time_gpu(lambda q=q, prep=prep: topk(q, prep, K), repeat=30)
            peer = time_gpu(lambda tq=tq, tc=tc: torch.topk(tq @ tc.T, K, dim=1), repeat=30)
            try:
                argp = time_gpu(lambda q=q, c=corpus: cp.argpartition(-(q @ c.T), K, axis=1)[:, :K], repeat=5)
            except cp.cuda.memory.OutOfMemoryError:
                argp = float("nan")
            cp.get_default_memory_pool().free_all_blocks()
            floor = max((n * D * 2 + nq * D * 2) / H100_BW, 2 * nq * n * D / H100_FP16) * 1e3
            rows.append([n, nq, ours, peer, argp, floor, ours / floor, peer / ours])
        corpus = prep = tc = None
        cp.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
    return table(["N", "Q", "pulse topk", "torch.topk(q@C.T)", "cupy argpartition", "floor", "pulse/floor",
                  "torch/pulse"], rows)


def bench_components(shapes=((100_000, 200_000), (1_000_000, 2_000_000))) -> str:
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    rows = []
    for n, m in shapes:
        rng = np.random.default_rng(3)
        i, j = rng.integers(0, n, m), rng.integers(0, n, m)
        gi, gj = cp.asarray(i), cp.asarray(j)
        ours = time_gpu(lambda gi=gi, gj=gj, n=n: components(gi, gj, n), repeat=10)
        t = time.perf_counter()
        connected_components(coo_matrix((np.ones(m, np.int8), (i, j)), shape=(n, n)), directed=False)
        scipy_ms = (time.perf_counter() - t) * 1e3
        floor = (m * 16 + n * 8 * 2) / H100_BW * 1e3  # edges read, labels written and read once
        labels = components(gi, gj, n)
        rows.append([n, m, ours, scipy_ms, floor, ours / floor, int(cp.unique(labels).size)])
    return table(["N", "edges", "pulse components", "scipy (CPU)", "floor", "pulse/floor", "components"], rows)


if __name__ == "__main__":
    print(torch.cuda.get_device_name(), "cupy", cp.__version__, "torch", torch.__version__, flush=True)
    which = sys.argv[1:] or ["topk", "components"]
    if "topk" in which:
        print("\n## topk, k=10, d=384, fp16 corpus\n" + bench_topk(), flush=True)
    if "components" in which:
        print("\n## components (random graph)\n" + bench_components(), flush=True)
