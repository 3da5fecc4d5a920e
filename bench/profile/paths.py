"""Every top-k path of the CuPy backend, forced one at a time, in the regimes the pipeline calls it.

    python bench/profile/paths.py            # on the GPU machine; prints a markdown table (ms)
    python bench/profile/paths.py --quick    # 100k rows only

`gpu.topk` picks one path per call (gpu/cupy_backend.py `topk`); this script calls each path's function
directly on the same inputs so the choice can be checked: a path earns its place only where it beats the
others clearly. Regimes: search (one query, k = 10 in semantic mode, k = 50 = the hybrid depth) and the
nightly cluster stage (a night's new stories against the archive, k = neighbours + 1 = 21). Each cell is the
median of lone calls (events around one call, then a wait), the way the pipeline makes them. The printed
lines also give, per path, the share of rows whose indices differ from the dispatcher's where any do; a
wgmma one pass whose candidate buffers overflowed (topk() then takes the multi-pass path) is listed again
under "wgmma one pass overflowed".
"""
from __future__ import annotations

import statistics
import sys

import cupy as cp
import torch

from gpu import cupy_backend as cb
from gpu import prepare

D = 384


def unit16(n: int, seed: int) -> cp.ndarray:
    x = cp.random.RandomState(seed).standard_normal((n, D), dtype=cp.float32)
    return (x / cp.linalg.norm(x, axis=1, keepdims=True)).astype(cp.float16)


def lone_ms(f, repeat: int) -> float:
    """Median milliseconds of one call between two events and a wait, after two warm-up calls."""
    f(), f()
    cp.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        a, b = cp.cuda.Event(), cp.cuda.Event()
        a.record()
        f()
        b.record()
        b.synchronize()
        times.append(cp.cuda.get_elapsed_time(a, b))
    return statistics.median(times)


def with_outputs(fn):
    def call(q, c16, kk):
        out_s, out_i = cb._outputs(q.shape[0], kk)
        fn(q, c16, kk, out_s, out_i)
        return out_s, out_i
    return call


def paths(nq: int, kk: int, hopper: bool) -> dict:
    """The path functions that take this shape (the wgmma ones on Hopper only)."""
    found = {}
    small_k = kk <= cb.K_CHOICES[-1]
    if small_k and nq <= cb.ONEPASS_MAX_QUERIES:
        found["one pass"] = cb._onepass_topk
    if small_k and hopper:
        def wgmma(q, c, k):
            s, i, done = cb._wgmma_topk(q, c, k)
            wgmma.overflowed = not done
            return s, i
        found["wgmma one pass"] = wgmma
        found["multi-pass"] = with_outputs(cb._topk_rows)
    if small_k:
        found["exhaustive"] = with_outputs(cb._topk_rows_exhaustive)
    if not small_k or nq == 1:
        found["sorted"] = cb._topk_sorted
    return found


REGIMES = [("search", 1, 10), ("search hybrid", 1, 50)] + [
    ("cluster", nq, 21) for nq in (2, 8, 16, 32, 64, 256, 1024, 5000)]


def main() -> None:
    quick = "--quick" in sys.argv
    hopper = cp.cuda.Device().compute_capability == "90"
    print(torch.cuda.get_device_name(), "cupy", cp.__version__, "torch", torch.__version__, flush=True)
    rows = []
    names: list[str] = []
    for n in (100_000,) if quick else (100_000, 1_000_000):
        c16 = unit16(n, 1)
        prep = prepare(c16)
        tc = torch.as_tensor(c16, device="cuda")
        for regime, nq, kk in REGIMES:
            q = unit16(nq, 2)
            tq = torch.as_tensor(q, device="cuda")
            repeat = 5 if nq * n >= 1024 * 1_000_000 else 20
            want = cb.topk(q, prep, kk)[1]
            cells = {"topk()": lone_ms(lambda: cb.topk(q, prep, kk), repeat),
                     "torch": lone_ms(lambda: torch.topk(tq @ tc.T, kk, dim=1), repeat)}
            same = {}
            for name, fn in paths(nq, kk, hopper).items():
                cells[name] = lone_ms(lambda fn=fn: fn(q, prep.vectors, kk), repeat)
                same[name] = float((fn(q, prep.vectors, kk)[1] == want).all(axis=1).mean())
                if getattr(fn, "overflowed", False):  # its buffers overflowed: topk() takes the multi-pass path
                    cells[name + " overflowed"] = cells[name]
            for name in cells:
                if name not in names:
                    names.append(name)
            rows.append((regime, n, nq, kk, cells, same))
            print(regime, n, nq, kk, {k: round(v, 3) for k, v in cells.items()},
                  {k: v for k, v in same.items() if v < 1}, flush=True)
        c16 = prep = tc = None
        cp.get_default_memory_pool().free_all_blocks()
        torch.cuda.empty_cache()
    print("\n| regime | N | Q | k | " + " | ".join(names) + " |")
    print("|---|---:|---:|---:|" + "---:|" * len(names))
    for regime, n, nq, kk, cells, _ in rows:
        print(f"| {regime} | {n:,} | {nq} | {kk} | " + " | ".join(f"{cells[x]:.3f}" if x in cells else "" for x in names)
              + " |")


if __name__ == "__main__":
    main()
