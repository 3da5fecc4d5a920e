"""One night's assignment against a large archive: `assign` end to end, GPU (CuPy) or CPU (NumPy).

    python bench/bench_assign.py --archive 1000000 --new 5000 --backend cupy
    python bench/bench_assign.py --archive 1000000 --new 5000 --backend numpy
The archive is synthetic: clusters of three noisy copies of a topic vector, one story per issue, spread
over 400 days; the night's stories are fresh copies of archive topics (half) and new topics (half).
No all-pairs matrix: the new stories' top-k against the archive (gpu.topk), then edges and merges.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import gpu
from pipeline.cluster import ClusterConfig, StoryRef, assign, unit

D = 384


def synthetic(n_archive: int, n_new: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    topics = rng.standard_normal((n_archive // 3 + 1, D), dtype=np.float32)
    t_of = np.arange(n_archive) // 3
    old_vecs = unit(topics[t_of] + 0.5 * rng.standard_normal((n_archive, D), dtype=np.float32))
    days = 400.0 * t_of / max(1, t_of.max())
    old = [StoryRef(f"a{i}", f"ia{i}", f"src{i % 40}", float(days[i])) for i in range(n_archive)]
    labels = [f"c{t}" for t in t_of.tolist()]
    # tonight (day 400): half continue the latest archive topics, half are new
    recent = t_of[-1] - np.arange(n_new // 2) % 300
    fresh = rng.standard_normal((n_new - n_new // 2, D), dtype=np.float32)
    base = np.vstack([topics[recent], fresh])
    new_vecs = unit(base + 0.5 * rng.standard_normal(base.shape, dtype=np.float32))
    new = [StoryRef(f"n{i}", f"in{i // 8}", f"src{i % 40}", 400.0) for i in range(n_new)]
    return new, new_vecs, old, old_vecs, labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archive", type=int, default=1_000_000)
    ap.add_argument("--new", type=int, default=5000)
    ap.add_argument("--backend", choices=("cupy", "numpy"), default="numpy")
    args = ap.parse_args()
    new, new_vecs, old, old_vecs, labels = synthetic(args.archive, args.new)
    cfg = ClusterConfig()
    rows = []
    # kernels built first (NVRTC, once per machine and shape class), as a nightly run finds them cached
    gpu.topk(new_vecs[:200], old_vecs[:200_000], cfg.neighbours + 1, backend=args.backend)
    t = time.perf_counter()
    got = assign(new, new_vecs, old, old_vecs, labels, cfg, backend=args.backend)
    total = time.perf_counter() - t
    t = time.perf_counter()
    gpu.topk(new_vecs, np.vstack([old_vecs, new_vecs]), cfg.neighbours + 1, backend=args.backend)
    topk_s = time.perf_counter() - t
    known = set(labels)
    joined = sum(g in known for g in got)
    rows.append((args.backend, args.archive, args.new, total, topk_s, joined, len(set(got) - known)))
    if args.backend == "cupy":  # archive kept on the GPU between calls (a long-lived process)
        prepared = gpu.prepare(np.vstack([old_vecs, new_vecs]), backend="cupy")
        t = time.perf_counter()
        again = assign(new, new_vecs, old, old_vecs, labels, cfg, corpus=prepared)
        rows.append(("cupy, archive resident", args.archive, args.new, time.perf_counter() - t, float("nan"),
                     sum(g in known for g in again), len(set(again) - known)))
        assert list(again) == list(got), "the resident archive changed the assignments"
    print("| backend | archive | new | assign s | of which top-k s | joined existing | new clusters |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for b, n, m, tot, tk, j, c in rows:
        print(f"| {b} | {n} | {m} | {tot:.2f} | {tk:.2f} | {j} | {c} |")


if __name__ == "__main__":
    main()
