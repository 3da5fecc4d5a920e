"""Timing helpers for the benchmarks: device events, warm-up, median of repeats."""
from __future__ import annotations

import statistics
from typing import Callable

H100_BW = 3.0e12  # bytes/s, device memory
H100_FP16 = 750e12  # FLOP/s, dense fp16 tensor cores


def time_gpu(fn: Callable[[], object], repeat: int = 10, warmup: int = 2) -> float:
    """Median milliseconds of fn on the GPU (CUDA events around each call). The events are recorded on the
    stream looked up once: `Event.record()` with no stream looks it up on every call, 10 of the 26 us of host
    time it took on the H100 host, which count in full after a call that waits for its own result (ours)
    and not after one that returns at once (torch's)."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    stream = torch.cuda.current_stream()
    times = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(stream)
        fn()
        b.record(stream)
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)



def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]])
