"""Where topk's time goes on the GPU: each launch of one call timed with CUDA events.

    python bench/profile_topk.py            # the mma.sync kernel shapes, scoring only
    python bench/profile_topk.py launches   # GPU time of each launch inside one topk call
    python bench/profile_topk.py scan       # the one-query scan kernel at each unroll depth
    python bench/profile_topk.py host       # host time of one small call, and where it goes
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cupy as cp  # noqa: E402
import numpy as np  # noqa: E402

from gpu import cupy_backend as cb  # noqa: E402

D = 384


def unit16(n: int, seed: int) -> cp.ndarray:
    x = cp.random.RandomState(seed).standard_normal((n, D), dtype=cp.float32)
    return (x / cp.linalg.norm(x, axis=1, keepdims=True)).astype(cp.float16)


C = cb.Config
EXTRA = (C(4, 4, 2, 4, 16, 2048, 64, 3), C(2, 8, 4, 2, 16, 2048, 64, 3), C(2, 8, 4, 2, 16, 2048, 32, 4),
         C(1, 4, 1, 8, 128, 16384, 64, 3), C(1, 8, 1, 8, 128, 16384, 32, 4), C(2, 8, 2, 4, 64, 8192, 32, 4),
         C(2, 4, 2, 4, 64, 8192, 64, 3))


def timed(f, repeat=20) -> float:
    """Mean milliseconds of f called back to back between two events (host and GPU overlap), after a warm-up."""
    f()
    cp.cuda.Device().synchronize()
    a, b = cp.cuda.Event(), cp.cuda.Event()
    a.record()
    for _ in range(repeat):
        f()
    b.record()
    b.synchronize()
    return cp.cuda.get_elapsed_time(a, b) / repeat


def fused_only(q16, c16, cfg, repeat=10) -> float:
    """The fused kernel over the whole corpus with an unreachable threshold: pure scoring speed."""
    nq, n = q16.shape[0], c16.shape[0]
    tau = cp.full(nq, cp.inf, cp.float32)
    cs, ci = cp.empty((nq, 1), cp.float32), cp.empty((nq, 1), cp.int64)
    count = cp.zeros(nq, cp.uint32)
    f = cb.fused(cfg)
    blocks = -(-nq // cfg.bm) * -(-n // cfg.bn)
    args = (q16, c16, np.int32(nq), np.int32(D), np.int64(0), np.int64(n), tau, cs, ci, count, np.int32(1))
    return timed(lambda: f((blocks,), (cfg.wm * cfg.wn * 32,), args, shared_mem=cfg.smem), repeat)


def host_overhead() -> None:
    """Host time of one small call (GPU work is tiny), and where it goes."""
    import cProfile
    import pstats
    import time
    c16 = unit16(100_000, 1)
    q = unit16(1, 2).astype(cp.float32)
    prep = cb.Prepared(c16, D)
    for _ in range(5):
        cb.topk(q, prep, 10)
    cp.cuda.Device().synchronize()
    t = time.perf_counter()
    for _ in range(50):
        cb.topk(q, prep, 10)
    cp.cuda.Device().synchronize()
    print(f"host+device per call, N=100k Q=1: {(time.perf_counter() - t) / 50 * 1e3:.3f} ms")
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(50):
        cb.topk(q, prep, 10)
    pr.disable()
    pstats.Stats(pr).sort_stats("tottime").print_stats(15)


def whole(q, c16, repeat=10) -> float:
    return timed(lambda: cb.topk(q, cb.Prepared(c16, D), 10), repeat)


def scan_unroll() -> None:
    """The one-query scan kernel at each unroll depth (loads in flight per lane) against torch's path."""
    import torch
    for n in (100_000, 1_000_000, 4_000_000):
        c16 = unit16(n, 1)
        q = unit16(1, 2).astype(cp.float32)
        tc, tq = torch.as_tensor(c16, device="cuda"), torch.as_tensor(q.astype(cp.float16), device="cuda")
        row = []
        for u in (1, 2, 3, 4):
            cb.SCAN_OPTIONS = (f"-DPULSE_SCAN_UNROLL={u}",)
            f = lambda: cb.topk(q, cb.Prepared(c16, D), 10)  # noqa: E731
            f()
            fn, resident = cb._scan_kernel(1, 12, D // 64, cb.SCAN_OPTIONS)
            row.append(f"unroll {u}: {timed(f):.3f} ms ({fn.num_regs} regs, {resident} blocks resident)")
        cb.SCAN_OPTIONS = ()
        print(f"N={n} Q=1 torch {timed(lambda: torch.topk(tq @ tc.T, 10, dim=1)):.3f} ms;", "; ".join(row))


if __name__ == "__main__" and "scan" in sys.argv:
    scan_unroll()

if __name__ == "__main__" and "host" in sys.argv:
    host_overhead()

if __name__ == "__main__" and not {"launches", "scan", "host"} & set(sys.argv):
    cb.module(EXTRA)
    for cfg in [c for _, c in cb.CONFIGS] + list(EXTRA):
        f = cb.fused(cfg)
        print(cfg.name, "regs", f.num_regs, "local bytes", f.local_size_bytes, "smem", cfg.smem)
    host_overhead()
    print("| N | Q | config | fused scoring only ms | TFLOP/s | GB/s | whole topk ms |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    for n in (100_000, 1_000_000, 4_000_000):
        c16 = unit16(n, 1)
        for nq in (1, 64, 1024):
            q = unit16(nq, 2).astype(cp.float32)
            q16 = q.astype(cp.float16)
            for cfg in [c for _, c in cb.CONFIGS] + list(EXTRA):
                ms = fused_only(q16, c16, cfg)
                tf = 2 * nq * n * D / ms / 1e9
                gbs = n * D * 2 / ms / 1e6
                mark = " (used)" if cfg is next(c for lim, c in cb.CONFIGS if nq <= lim) else ""
                w = f"{whole(q, c16):.3f}" if mark else ""
                print(f"| {n} | {nq} | {cfg.name}{mark} | {ms:.3f} | {tf:.0f} | {gbs:.0f} | {w} |", flush=True)


def per_launch(n: int, nq: int) -> None:
    """GPU time of each launch inside one topk call (events around every kernel)."""
    c16 = unit16(n, 1)
    q = unit16(nq, 2).astype(cp.float32)
    prep = cb.Prepared(c16, D)
    cb.topk(q, prep, 10)
    log = []

    class Timed:
        def __init__(self, name, f):
            self.name, self.f = name, f

        def __call__(self, *a, **kw):
            s, e = cp.cuda.Event(), cp.cuda.Event()
            s.record()
            self.f(*a, **kw)
            e.record()
            log.append((self.name, s, e))

    real_kernel, real_fused, real_wg = cb.kernel, cb.fused, cb.sm90.kernel
    cb.kernel = lambda name: Timed(name, real_kernel(name))
    cb.fused = lambda cfg: Timed(cfg.name, real_fused(cfg))
    cb.sm90.kernel = lambda: real_wg() and Timed("wgmma_filter", real_wg())
    try:
        cp.cuda.Device().synchronize()
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record()
        cb.topk(q, prep, 10)
        b.record()
        b.synchronize()
    finally:
        cb.kernel, cb.fused, cb.sm90.kernel = real_kernel, real_fused, real_wg
    print(f"N={n} Q={nq}: whole {cp.cuda.get_elapsed_time(a, b):.3f} ms;",
          "; ".join(f"{name.split('<')[0]} {cp.cuda.get_elapsed_time(s, e):.3f}" for name, s, e in log))


if __name__ == "__main__" and "launches" in sys.argv:
    for n in (100_000, 1_000_000, 4_000_000):
        for nq in (1, 64, 1024):
            per_launch(n, nq)
