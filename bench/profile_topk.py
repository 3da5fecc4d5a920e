"""Where topk's time goes on the GPU: each launch of one call timed with CUDA events.

    python bench/profile_topk.py            # the mma.sync kernel shapes, scoring only
    python bench/profile_topk.py launches   # GPU time of each launch inside one topk call
    python bench/profile_topk.py scan       # the one-query scan kernel at each unroll depth
    python bench/profile_topk.py host       # host time of one small call, and where it goes
    python bench/profile_topk.py onepass    # the one-pass kernel for 3-64 queries against the multi-pass path
    python bench/profile_topk.py sync       # what the NaN-flag read of a one-query call costs, four ways
    python bench/profile_topk.py wgmma      # the wgmma one pass against the other batch paths and torch
    python bench/profile_topk.py parts      # the wgmma one pass kernel with and without its appends
    python bench/profile_topk.py wglaunches # each launch of a wgmma one-pass call
    python bench/profile_topk.py seeds      # the wgmma one pass with seed samples of three sizes
    python bench/profile_topk.py kernels    # kernel times (CUPTI) and host profile of two small calls
    python bench/profile_topk.py issue      # host time to issue a call's launches [profile: and where it goes]
    python bench/profile_topk.py launchcost # host time of a launch: CuPy's RawKernel call against gpu/launch.py
    python bench/profile_topk.py scanfile OLD.cu  # the scan kernel against another version of kernels_scan.cu
    python bench/profile_topk.py two        # one and two queries: the scan kernel, the one pass, torch
    python bench/profile_topk.py seedsplits # the wgmma one pass's seed with its runs of the sample capped
    python bench/profile_topk.py timeline   # a lone call's host calls and kernels on one clock (CUPTI)
    python bench/profile_topk.py dependent  # the wgmma one pass with and without dependent launches
    python bench/profile_topk.py merge      # what a wgmma one-pass merge reads: regions, entries, passing
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import cupy as cp  # noqa: E402
import numpy as np  # noqa: E402

from gpu import cupy_backend as cb  # noqa: E402
from gpu.launch import Launch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import time_gpu  # noqa: E402  (events around one call, then a wait: a lone call)

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


def host_profile(f, calls: int):
    """Where the host time of `calls` calls of f goes (cProfile), sorted by own time, to print."""
    import cProfile
    import pstats

    pr = cProfile.Profile()
    pr.enable()
    for _ in range(calls):
        f()
    pr.disable()
    return pstats.Stats(pr).sort_stats("tottime")


def host_overhead() -> None:
    """Host time of one small call (GPU work is tiny), and where it goes."""
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
    host_profile(lambda: cb.topk(q, prep, 10), 50).print_stats(15)


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
            fn, resident = cb._scan_kernel(1, 12, D // 64, "float", cb.SCAN_OPTIONS)
            row.append(f"unroll {u}: {timed(f):.3f} ms ({fn.num_regs} regs, {resident} blocks resident)")
        cb.SCAN_OPTIONS = ()
        print(f"N={n} Q=1 torch {timed(lambda: torch.topk(tq @ tc.T, 10, dim=1)):.3f} ms;", "; ".join(row))


class paths:
    """Module settings that make topk take one path for every batch size (restored on exit)."""
    SETTINGS = {
        "wgmma one pass": {"WGMMA_MIN_QUERIES": 1, "WGMMA_MIN_ROWS": 0},
        "mma.sync one pass": {"WGMMA_MIN_QUERIES": 1 << 40},
        "multi-pass": {"WGMMA_MIN_QUERIES": 1 << 40, "ONEPASS_MAX_QUERIES": 0},
        "default": {},
    }

    def __init__(self, name: str):
        self.values = self.SETTINGS[name]

    def __enter__(self):
        self.saved = {k: getattr(cb, k) for k in self.values}
        for k, v in self.values.items():
            setattr(cb, k, v)

    def __exit__(self, *exc):
        for k, v in self.saved.items():
            setattr(cb, k, v)


class Spy:
    """A kernel (or any launching function) whose launches are timed with events, (name, start, end) appended
    to `log`; anything else goes to the kernel."""
    def __init__(self, fn, log: list, name: str = ""):
        self.fn, self.log, self.name = fn, log, name

    def __getattr__(self, name):
        return getattr(self.fn, name)

    def __call__(self, *x, **kw):
        e0, e1 = cp.cuda.Event(), cp.cuda.Event()
        e0.record()
        self.fn(*x, **kw)
        e1.record()
        self.log.append((self.name, e0, e1))


LAUNCH_NAMES = {"unit_half": "unit", "wgmma_seed": "seed", "seed_floor": "floor", "wgmma_topk": "pass",
                "onepass_merge": "merge", "regions_merge": "merge", "onepass_topk": "one pass", "scan_topk": "scan"}


@contextmanager
def spy_launches(log: list):
    """Every packed launch (gpu/launch.py) timed with events, (short name, start, end) appended to log."""
    real = Launch.__call__

    def call(self, *values):
        e0, e1 = cp.cuda.Event(), cp.cuda.Event()
        e0.record()
        real(self, *values)
        e1.record()
        log.append((next((v for k, v in LAUNCH_NAMES.items() if k in self.fn.name), self.fn.name), e0, e1))
    Launch.__call__ = call
    try:
        yield
    finally:
        Launch.__call__ = real


def onepass() -> None:
    """One pass (every query held by every block) against the multi-pass filter, alone and back to back, with
    the GPU time of the one-pass path's two launches."""
    import torch
    print("| N | Q | one-pass alone | one-pass b2b | scan kernel | merge kernel | multi-pass alone | multi-pass b2b "
          "| torch alone |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (100_000, 1_000_000, 4_000_000):
        c16 = unit16(n, 1)
        prep = cb.Prepared(c16, D)
        tc = torch.as_tensor(c16, device="cuda")
        for nq in (3, 16, 32, 64):
            q = unit16(nq, 2).astype(cp.float32)
            tq = torch.as_tensor(q.astype(cp.float16), device="cuda")
            f = lambda: cb.topk(q, prep, 10)  # noqa: E731
            with paths("mma.sync one pass"):  # at every size, to compare
                one = (time_gpu(f, repeat=20), timed(f))
            launches = []
            with paths("mma.sync one pass"), spy_launches(launches):
                f()
            cp.cuda.Device().synchronize()
            k1, k2 = (cp.cuda.get_elapsed_time(a, b) for _, a, b in launches)
            limit, cb.ONEPASS_MAX_QUERIES = cb.ONEPASS_MAX_QUERIES, 0
            try:
                multi = (time_gpu(f, repeat=20), timed(f))
            finally:
                cb.ONEPASS_MAX_QUERIES = limit
            peer = time_gpu(lambda: torch.topk(tq @ tc.T, 10, dim=1), repeat=20)
            print(f"| {n} | {nq} | {one[0]:.3f} | {one[1]:.3f} | {k1:.3f} | {k2:.3f} | {multi[0]:.3f} | {multi[1]:.3f} "
                  f"| {peer:.3f} |", flush=True)


def flag_sync() -> None:
    """A one-query call timed alone with its NaN flag read four ways: CuPy's get(), a copy into pinned memory
    and a stream wait, the kernel writing straight to mapped pinned memory and a stream wait, no read at all."""
    import torch
    for n in (100_000, 1_000_000, 4_000_000):
        c16 = unit16(n, 1)
        q = unit16(1, 2).astype(cp.float32)
        tc, tq = torch.as_tensor(c16, device="cuda"), torch.as_tensor(q.astype(cp.float16), device="cuda")
        K = 12
        fn, resident = cb._scan_kernel(1, K, D // 64, "float")
        blocks = max(1, min(resident, (n + 3) // 4 // 32))
        done = cp.zeros(1, cp.uint32)
        part_s, part_i = cp.empty(blocks * K, cp.float32), cp.empty(blocks * K, cp.int64)
        out_s, out_i = cp.empty((1, 10), cp.float32), cp.empty((1, 10), cp.int64)
        flag = cp.empty(1, cp.int32)
        pinned = cp.cuda.alloc_pinned_memory(4)
        host = np.frombuffer(pinned, np.int32, 1)
        mapped = cp.ndarray(1, cp.int32, cp.cuda.MemoryPointer(cp.cuda.UnownedMemory(pinned.ptr, 4, pinned), 0))
        stream = cp.cuda.get_current_stream()

        def launch(f):
            fn((blocks,), (256,), (q, np.int32(1), np.int32(D), c16, np.int64(n), part_s, part_i, done, out_s, out_i,
                                   np.int32(10), f))
        ways = {
            "get()": lambda: (launch(flag), flag.get()[0]),
            "pinned copy": lambda: (launch(flag),
                                    cp.cuda.runtime.memcpyAsync(pinned.ptr, flag.data.ptr, 4, 2, stream.ptr),
                                    stream.synchronize(), host[0]),
            "mapped": lambda: (launch(mapped), stream.synchronize(), host[0]),
            "no read": lambda: launch(flag),
        }
        row = [f"{name} {time_gpu(w, repeat=20):.3f}" for name, w in ways.items()]
        row.append(f"topk() {time_gpu(lambda: cb.topk(q, cb.Prepared(c16, D), 10), repeat=20):.3f}")
        row.append(f"torch {time_gpu(lambda: torch.topk(tq @ tc.T, 10, dim=1), repeat=20):.3f}")
        print(f"N={n} Q=1 alone, ms:", "; ".join(row), flush=True)


def wgmma(sizes=(100_000, 300_000, 500_000, 1_000_000, 4_000_000), batches=(16, 17, 32, 64, 128, 1024),
          rounds=3) -> None:
    """Every batch path and torch on the same inputs, each timed alone (median of 10), interleaved over
    `rounds` rounds, the median of the rounds printed: drift of the machine hits every column alike. The
    last column: rows where the wgmma one pass returns the same neighbours as the multi-pass path."""
    import statistics

    import torch
    names = [x for x in paths.SETTINGS if x != "default"]
    print("| N | Q | " + " | ".join(names) + " | torch | wgmma one pass b2b | its pass kernel | same answer |")
    print("|---:|---:|" + "---:|" * (len(names) + 4))
    for n in sizes:
        c16 = unit16(n, 1)
        prep = cb.Prepared(c16, D)
        tc = torch.as_tensor(c16, device="cuda")
        for nq in batches:
            q = unit16(nq, 2)
            tq = torch.as_tensor(q, device="cuda")
            f = lambda: cb.topk(q, prep, 10)  # noqa: E731
            ours = [x for x in names if x != "mma.sync one pass" or nq <= cb.ONEPASS_MAX_QUERIES]
            times = {x: [] for x in ours + ["torch"]}
            for _ in range(rounds):
                for name in ours:
                    with paths(name):
                        times[name].append(time_gpu(f))
                times["torch"].append(time_gpu(lambda: torch.topk(tq @ tc.T, 10, dim=1)))
            with paths("wgmma one pass"):
                b2b = timed(f)
                got = f()[1]
            kernel = wgmma_kernel_ms(f)
            with paths("multi-pass"):
                want = f()[1]
            same = float((got == want).all(axis=1).mean())
            cells = [f"{statistics.median(times[x]):.3f}" if x in times else "" for x in names + ["torch"]]
            print(f"| {n} | {nq} | " + " | ".join(cells) + f" | {b2b:.3f} | {kernel:.3f} | {same:.3f} |", flush=True)


def wgmma_spied(f, log: list, calls: int = 7) -> None:
    """f called `calls` times on the wgmma one pass with every packed launch timed into log, then a wait."""
    with paths("wgmma one pass"), spy_launches(log):
        for _ in range(calls):
            f()
    cp.cuda.Device().synchronize()


def wgmma_kernel_ms(f, defines: tuple[str, ...] = ()) -> float:
    """Median ms of the wgmma_topk launch inside 7 calls of f (the first two left out: builds, warm-up), the
    kernel built with these extra macros; f runs on the wgmma one pass."""
    import statistics

    log = []
    cb.sm90.TOPK_DEFINES = defines
    cb.sm90.topk_kernel.cache_clear(), cb.sm90.seed_kernel.cache_clear()
    cb._wgmma_plan.cache_clear()  # plans hold the kernels they were made with
    try:
        wgmma_spied(f, log)
    finally:
        cb.sm90.TOPK_DEFINES = ()
        cb.sm90.topk_kernel.cache_clear(), cb.sm90.seed_kernel.cache_clear()
        cb._wgmma_plan.cache_clear()
    return statistics.median([cp.cuda.get_elapsed_time(a, b) for name, a, b in log if name == "pass"][2:])


def wgmma_launches(shapes=((100_000, 64), (100_000, 1024), (300_000, 1024), (1_000_000, 64), (1_000_000, 1024),
                           (4_000_000, 64))) -> None:
    """GPU time of each launch of a wgmma one-pass call (events around each, median of 5 calls after 2), and
    the whole call alone (time_gpu)."""
    import statistics

    names = ("unit", "seed", "floor", "pass", "merge")
    print("| N | Q | seed rows | " + " | ".join(names) + " | sum | whole call |")
    print("|---:|---:|---:|" + "---:|" * (len(names) + 2))
    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        f = lambda: cb.topk(q, prep, 10)  # noqa: E731
        log = []
        wgmma_spied(f, log)
        per = {x: statistics.median(cp.cuda.get_elapsed_time(a, b) for name, a, b in log[len(log) * 2 // 7:]
                                    if name == x) if any(y == x for y, _, _ in log) else 0.0 for x in names}
        with paths("wgmma one pass"):
            alone = time_gpu(f)
        sample = cb._seed_sample(nq, n)[0]
        print(f"| {n} | {nq} | {sample} | " + " | ".join(f"{per[x]:.3f}" for x in names)
              + f" | {sum(per.values()):.3f} | {alone:.3f} |", flush=True)


def wgmma_parts() -> None:
    """The wgmma_topk kernel alone (events around its launch inside topk: wgmma_kernel_ms), built two ways:
    as used; gates never passed (no candidate kept)."""
    variants = {"as used": (), "no appends": ("PULSE_PROFILE_NO_KEEP",)}
    print("| N | Q | " + " | ".join(variants) + " |")
    print("|---:|---:|" + "---:|" * len(variants))
    for n in (100_000, 1_000_000, 4_000_000):
        prep = cb.Prepared(unit16(n, 1), D)
        for nq in (16, 64, 1024):
            q = unit16(nq, 2)
            cells = [wgmma_kernel_ms(lambda: cb.topk(q, prep, 10), defines) for defines in variants.values()]
            print(f"| {n} | {nq} | " + " | ".join(f"{x:.3f}" for x in cells) + " |", flush=True)


def kernel_times(shapes=((100_000, 64), (100_000, 1024))) -> None:
    """Where a call's time goes: each kernel's own GPU time (CUPTI through torch.profiler, 10 calls) and the
    host's (cProfile, 50 calls), for the path topk takes and for torch's."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        tq, tc = torch.as_tensor(q, device="cuda"), torch.as_tensor(prep.vectors, device="cuda")
        for name, f in (("pulse", lambda: cb.topk(q, prep, 10)), ("torch", lambda: torch.topk(tq @ tc.T, 10, dim=1))):
            for _ in range(3):
                f()
            torch.cuda.synchronize()
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(10):
                    f()
                torch.cuda.synchronize()
            print(f"## N={n} Q={nq} {name}: alone {time_gpu(f, repeat=20):.3f} ms, b2b {timed(f):.3f} ms")
            print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=8, max_name_column_width=50))
        host_profile(lambda: cb.topk(q, prep, 10), 50).print_stats(12)


def seed_sizes(shapes=((100_000, 64), (100_000, 1024), (1_000_000, 64), (1_000_000, 1024), (4_000_000, 64)),
               settings=((16, 8192), (8, 16384), (4, 32768), (2, 65536))) -> None:
    """The wgmma one pass with seed samples of several sizes (SEED_SHARE, SEED_ROWS): candidates
    kept per query and block (the kernel built with PULSE_PROFILE_COUNT), its pass kernel, the whole call."""
    print("| N | Q | share | seed rows | entries kept per query and block (pairs) | pass kernel | whole call |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    saved = cb.SEED_SHARE, cb.SEED_ROWS
    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        f = lambda: cb.topk(q, prep, 10)  # noqa: E731
        for share, rows in settings:
            cb.SEED_SHARE, cb.SEED_ROWS = share, rows
            cb._wgmma_plan.cache_clear()
            sample = cb._seed_sample(nq, n)[0]
            try:
                wgmma_kernel_ms(f, ("PULSE_PROFILE_COUNT",))  # leaves the count of its last call in the flag
                kept = int(cb._host_flags(3, "wgmma")[1][1]) / (nq * cb.sm90.splits(nq, n))
                kernel = wgmma_kernel_ms(f)
                with paths("wgmma one pass"):
                    alone = time_gpu(f, repeat=20)
            finally:
                cb.SEED_SHARE, cb.SEED_ROWS = saved
                cb._wgmma_plan.cache_clear()
            print(f"| {n} | {nq} | {share} | {sample}"
                  f" | {kept:.1f} | {kernel:.3f} | {alone:.3f} |", flush=True)


@contextmanager
def no_wait():
    """topk without its one wait (the flags read after a stream sync, or after the wgmma pass's signal): host
    time alone."""
    real = cb._raise_if_flagged, cb._wait_for_pass
    cb._raise_if_flagged = cb._wait_for_pass = lambda host: None
    try:
        yield
    finally:
        cb._raise_if_flagged, cb._wait_for_pass = real


def host_issue(shapes=((100_000, 64), (100_000, 1024), (1_000_000, 64))) -> None:
    """Host time to issue one call's launches (its one wait taken out, 50 calls in a row), against the whole
    call alone and the GPU's own time for it (b2b with the wait taken out); with `profile`, where the host
    time of the first wgmma one-pass shape goes (cProfile, 200 calls)."""
    import time

    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        f = lambda: cb.topk(q, prep, 10)  # noqa: E731
        for path in ("mma.sync one pass", "wgmma one pass"):
            if path.startswith("mma") and nq > cb.ONEPASS_MAX_QUERIES:
                continue
            with paths(path):
                alone = time_gpu(f, repeat=20)
                with no_wait():
                    f()
                    cp.cuda.Device().synchronize()
                    t = time.perf_counter()
                    for _ in range(50):
                        f()
                    issue = (time.perf_counter() - t) / 50 * 1e3
                    cp.cuda.Device().synchronize()
                    gpu = timed(f, 50)
                    if "profile" in sys.argv and path.startswith("wgmma"):
                        stats = host_profile(f, 200)
            print(f"N={n} Q={nq} {path}: alone {alone:.3f} ms, host issue {issue:.3f} ms, GPU b2b without the wait "
                  f"{gpu:.3f} ms", flush=True)
            if "profile" in sys.argv and path.startswith("wgmma"):
                stats.print_stats(25)
                return


def fused_configs() -> None:
    """The mma.sync fused kernel's shapes: registers, scoring speed alone, the whole call where it is used."""
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
    real_kernel, real_fused, real_wg = cb.kernel, cb.fused, cb.sm90.kernel
    cb.kernel = lambda name: Spy(real_kernel(name), log, name)
    cb.fused = lambda cfg: Spy(real_fused(cfg), log, cfg.name)
    cb.sm90.kernel = lambda: real_wg() and Spy(real_wg(), log, "wgmma_filter")
    try:
        cp.cuda.Device().synchronize()
        a, b = cp.cuda.Event(), cp.cuda.Event()
        with spy_launches(log):
            a.record()
            cb.topk(q, prep, 10)
            b.record()
        b.synchronize()
    finally:
        cb.kernel, cb.fused, cb.sm90.kernel = real_kernel, real_fused, real_wg
    print(f"N={n} Q={nq}: whole {cp.cuda.get_elapsed_time(a, b):.3f} ms;",
          "; ".join(f"{name.split('<')[0]} {cp.cuda.get_elapsed_time(s, e):.3f}" for name, s, e in log))


def scan_against(path: str) -> None:
    """The one- and two-query scan kernel against another version of kernels_scan.cu (e.g. `git show
    a320254:gpu/kernels_scan.cu > /tmp/old.cu`), each timed alone and back to back, with torch's path."""
    import torch
    from pathlib import Path

    real, other = cb._source, Path(path).read_text()

    def old_source(name, *headers):
        if name != "kernels_scan.cu":
            return real(name, *headers)
        return "".join((Path(cb.__file__).parent / f).read_text() for f in ("order.cuh",) + headers) + other
    print("| N | Q | other alone | this alone | other b2b | this b2b | torch alone | same answer |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (100_000, 1_000_000, 4_000_000):
        prep = cb.Prepared(unit16(n, 1), D)
        tc = torch.as_tensor(prep.vectors, device="cuda")
        for nq in (1, 2):
            q = unit16(nq, 2).astype(cp.float32)
            tq = torch.as_tensor(q.astype(cp.float16), device="cuda")
            res = {}
            try:
                for name, src in (("other", old_source), ("this", real)):
                    cb._source = src
                    cb._scan_kernels.clear()
                    f = lambda: cb.topk(q, prep, 10)  # noqa: E731
                    res[name] = (time_gpu(f, repeat=30), timed(f, 30), f()[1].get())
            finally:
                cb._source = real
                cb._scan_kernels.clear()
            peer = time_gpu(lambda: torch.topk(tq @ tc.T, 10, dim=1), repeat=30)
            print(f"| {n} | {nq} | {res['other'][0]:.3f} | {res['this'][0]:.3f} | {res['other'][1]:.3f} | "
                  f"{res['this'][1]:.3f} | {peer:.3f} | {(res['other'][2] == res['this'][2]).all()} |", flush=True)


def launch_cost() -> None:
    """Host time of one launch of a 12-argument kernel: CuPy's RawKernel call against a packed Launch."""
    import time

    from gpu.launch import Launch

    nop = cp.RawKernel(r"""extern "C" __global__ void nop(const float* a, int b, int c, const float* d, long long e,
        float* f, long long* g, unsigned* h, float* i, long long* j, int k, int* l) { if (b < 0) l[0] = 1; }""", "nop")
    a = cp.zeros(16, cp.float32)
    args = (a, np.int32(1), np.int32(384), a, np.int64(100_000), a, a, a, a, a, np.int32(10), a)
    packed = Launch(nop, 1, 32, args, varying=(0, 2, 3, 4, 8, 9, 10))
    for name, f in (("RawKernel call", lambda: nop((1,), (32,), args)), ("Launch, nothing changed", lambda: packed()),
                    ("Launch, 7 values changed", lambda: packed(a.data.ptr, 384, a.data.ptr, 100_000, a.data.ptr,
                                                                a.data.ptr, 10))):
        f()
        cp.cuda.Device().synchronize()
        t = time.perf_counter()
        for _ in range(2000):
            f()
        print(f"{name}: {(time.perf_counter() - t) / 2000 * 1e6:.2f} us per launch", flush=True)
        cp.cuda.Device().synchronize()


def launches() -> None:
    for n in (100_000, 1_000_000, 4_000_000):
        for nq in (1, 64, 1024):
            per_launch(n, nq)


def two_queries(sizes=(100_000, 300_000, 1_000_000, 4_000_000), rounds=3) -> None:
    """One and two queries: the scan kernel against the one pass (mma.sync) and torch, interleaved rounds in
    one process (each cell alone, median of 20 per round, then the median of the rounds)."""
    import statistics

    import torch
    print("| N | Q | scan | one pass | torch | path taken |")
    print("|---:|---:|---:|---:|---:|---|")
    for n in sizes:
        prep = cb.Prepared(unit16(n, 1), D)
        tc = torch.as_tensor(prep.vectors, device="cuda")
        for nq in (1, 2):
            q = unit16(nq, 2)
            tq = torch.as_tensor(q, device="cuda")
            f = lambda: cb.topk(q, prep, 10)  # noqa: E731
            times = {"scan": [], "one pass": [], "torch": []}
            for _ in range(rounds):
                for path, limit in (("scan", 2), ("one pass", 0)):
                    saved, cb.SCAN_MAX_QUERIES = cb.SCAN_MAX_QUERIES, limit
                    try:
                        times[path].append(time_gpu(f, repeat=20))
                    finally:
                        cb.SCAN_MAX_QUERIES = saved
                times["torch"].append(time_gpu(lambda: torch.topk(tq @ tc.T, 10, dim=1), repeat=20))
            cells = [f"{statistics.median(times[x]):.3f}" for x in times]
            taken = "scan" if nq <= cb.SCAN_MAX_QUERIES else "one pass"
            print(f"| {n} | {nq} | " + " | ".join(cells) + f" | {taken} |", flush=True)


def seed_splits(shapes=((100_000, 64), (300_000, 32), (1_000_000, 64), (100_000, 1024)), caps=(16, 32, 64, 132),
                rounds=3) -> None:
    """The wgmma one pass with the seed's runs per query tile capped (SEED_MAX_SPLITS): the whole call alone
    and the seed, seed_floor and pass launches (events), interleaved rounds, medians; torch alone beside."""
    import statistics

    import torch
    print("| N | Q | cap | whole call | seed | floor | pass |")
    print("|---:|---:|---|---:|---:|---:|---:|")
    saved = cb.SEED_MAX_SPLITS
    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        f = lambda: cb.topk(q, prep, 10)  # noqa: E731
        tq, tc = torch.as_tensor(q, device="cuda"), torch.as_tensor(prep.vectors, device="cuda")
        res: dict = {}
        try:
            for _ in range(rounds):
                for cap in caps:
                    cb.SEED_MAX_SPLITS = cap
                    cb._wgmma_plan.cache_clear()
                    log: list = []
                    wgmma_spied(f, log)
                    per = [statistics.median(cp.cuda.get_elapsed_time(a, b) for name, a, b in log[2 * len(log) // 7:]
                                             if name == x) for x in ("seed", "floor", "pass")]
                    res.setdefault(cap, []).append([time_gpu(f, repeat=20)] + per)
                res.setdefault("torch", []).append([time_gpu(lambda: torch.topk(tq @ tc.T, 10, dim=1), repeat=20)])
        finally:
            cb.SEED_MAX_SPLITS = saved
            cb._wgmma_plan.cache_clear()
        for cap, rows in res.items():
            cells = [statistics.median(r[i] for r in rows) for i in range(len(rows[0]))]
            print(f"| {n} | {nq} | {cap} | " + " | ".join(f"{x:.3f}" for x in cells) + " |", flush=True)


def timeline(shapes=((100_000, 1024), (100_000, 64)), calls: int = 12) -> None:
    """Where a lone call's time goes between the bench's two events: host API calls (launches, the wait) and
    kernels on one clock (torch.profiler's CUPTI trace), relative to the first event's record, median over
    calls after a warm-up."""
    import json
    import statistics
    import tempfile

    import torch
    from torch.profiler import ProfilerActivity, profile

    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        for _ in range(3):
            cb.topk(q, prep, 10)
        torch.cuda.synchronize()
        stream = torch.cuda.current_stream()  # as time_gpu records
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(calls):
                a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                a.record(stream)
                cb.topk(q, prep, 10)
                b.record(stream)
                b.synchronize()
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            prof.export_chrome_trace(f.name)
            trace = json.load(open(f.name))["traceEvents"]
        if os.environ.get("OUT"):
            json.dump(trace, open(os.path.join(os.environ["OUT"], f"trace_{n}_{nq}.json"), "w"))
        evs = sorted((e for e in trace if e.get("ph") == "X" and e.get("cat") in ("cuda_runtime", "cuda_driver", "kernel")),
                     key=lambda e: e["ts"])
        records = [e["ts"] for e in evs if e["name"].startswith("cudaEventRecord")]
        rows: dict[str, list] = {}
        for c in range(1, len(records) // 2):  # the first call is left out
            t0, t1 = records[2 * c], records[2 * c + 1]
            seen: dict[str, int] = {}
            for e in evs:
                if t0 <= e["ts"] <= t1 + 1000 and not e["name"].startswith("cudaEventRecord") and (e["cat"] == "kernel" or e["ts"] <= t1):
                    name = ("GPU " if e["cat"] == "kernel" else "host ") + e["name"].split("(")[0][:40]
                    seen[name] = seen.get(name, 0) + 1
                    key = f"{name} #{seen[name]}"
                    rows.setdefault(key, []).append((e["ts"] - t0, e["ts"] + e.get("dur", 0) - t0))
            rows.setdefault("host second record", []).append((t1 - t0, t1 - t0))
        print(f"## N={n} Q={nq}: us after the first event's record (median of {calls - 1} calls)")
        print("| what | start | end |\n|---|---:|---:|")
        for key, spans in sorted(rows.items(), key=lambda kv: statistics.median(s for s, _ in kv[1])):
            print(f"| {key} | {statistics.median(s for s, _ in spans):.1f} | {statistics.median(e for _, e in spans):.1f} |")


def dependent_launches(shapes=((100_000, 1024), (100_000, 64), (1_000_000, 1024), (4_000_000, 64)),
                       rounds: int = 4) -> None:
    """The wgmma one pass with seed_floor, the pass and the merge launched as programmatic dependents
    (`Launch.after`) and as plain launches, alternating on one machine, 30 calls a measurement."""
    print("| N | Q | dependent launches | plain launches |\n|---:|---:|---|---|")
    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        cb.topk(q, prep, 10)
        w = cb._scratch(cb._wgmma_plan(cp.cuda.runtime.getDevice(), nq, n, D, 10, "__half").key, None)
        got = {True: [], False: []}
        for _ in range(rounds):
            for on in (True, False):
                for launch in (w.floor, w.scan, w.merge):
                    launch.after = on
                got[on].append(time_gpu(lambda: cb.topk(q, prep, 10), repeat=30))
        for launch in (w.floor, w.scan, w.merge):
            launch.after = True
        print(f"| {n} | {nq} | {sorted(round(x, 3) for x in got[True])} | {sorted(round(x, 3) for x in got[False])} |",
              flush=True)


def merge_reads(shapes=((100_000, 64), (100_000, 1024), (1_000_000, 1024))) -> None:
    """Per query, what the wgmma one pass kept and what its merge reads (kernels_onepass.cu block_merge): the
    regions whose head reaches the K-th best head (exact here; the kernel's floor search may take a few more),
    the entries in them, and those at or above that floor; means over the queries (max)."""
    print("| N | Q | regions | kept | regions read | entries read | entries passing |\n|---:|---:|---:|---:|---|---|---|")
    for n, nq in shapes:
        prep = cb.Prepared(unit16(n, 1), D)
        q = unit16(nq, 2)
        cb.topk(q, prep, 10)
        p = cb._wgmma_plan(cp.cuda.runtime.getDevice(), nq, n, D, 10, "__half")
        w = cb._scratch(p.key, None)
        runs, regions, cap = int(p.splits), cb.sm90.TOPK_REGIONS, cb.sm90.TOPK_CAP
        counts = w.merge.args[7].get().reshape(runs, nq, regions, 2)
        buf = w.merge.args[6].get().reshape(runs, nq, regions, cap // regions, 2)
        read, entries, passing, kept = [], [], [], []
        for j in range(nq):
            cnt, head = counts[:, j, :, 0], counts[:, j, :, 1].view(np.float32)
            floor = np.sort(head, axis=None)[-p.K]
            take = np.argwhere((cnt > 0) & (head >= floor))
            scores = [buf[r, j, g, : cnt[r, g], 0].view(np.float32) for r, g in take]
            read.append(len(take)), kept.append(cnt.sum())
            entries.append(sum(len(x) for x in scores)), passing.append(sum(int((x >= floor).sum()) for x in scores))
        stat = lambda xs: f"{np.mean(xs):.1f} ({max(xs)})"  # noqa: E731
        print(f"| {n} | {nq} | {runs * regions} | {np.mean(kept):.1f} | {stat(read)} | {stat(entries)} | {stat(passing)} |",
              flush=True)


MODES = {"scan": scan_unroll, "host": host_overhead, "wgmma": wgmma, "issue": host_issue, "seeds": seed_sizes,
         "kernels": kernel_times, "wglaunches": wgmma_launches, "parts": wgmma_parts, "onepass": onepass,
         "sync": flag_sync, "launches": launches, "scanfile": lambda: scan_against(sys.argv[-1]),
         "launchcost": launch_cost, "two": two_queries, "seedsplits": seed_splits, "timeline": timeline,
         "dependent": dependent_launches, "merge": merge_reads}

if __name__ == "__main__":
    for run in [f for m, f in MODES.items() if m in sys.argv] or [fused_configs]:
        run()
