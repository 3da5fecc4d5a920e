"""A cold `pulse search` from the shell: wall seconds per mode, with the query vector from the model's ONNX
twin and, the stock peer in the same run, from torch (sentence-transformers).

    python bench/bench_cold_search.py [--data-dir DIR] [--repeat 5]

Each run is a fresh `pulse search ... --json` process (interpreter start, imports, opening the archive,
loading the vectors, the search and the printing), as a user at a shell meets it. Without --data-dir, the
sample archive is built first (`pulse run --sample` in a temporary folder; not timed). Target: hybrid
<= 1.0 s on the 2-core CPU.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import table

QUERIES = ("speculative decoding", "open weights under a permissive licence", "robots trained from video")


def pulse(*args: str, config: Path, data: Path, env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline.cli", "--config-dir", str(config), "--data-dir", str(data), *args],
                   check=True, capture_output=True, env=env, cwd=Path(__file__).parents[1])
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, help="an archive's data dir (default: the sample archive, built)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pulse-cold-"))
    env = {**os.environ, "PULSE_CACHE_DIR": os.environ.get("PULSE_CACHE_DIR", str(work / "cache"))}
    try:
        configs = {}
        for encoder in ("onnx", "torch"):
            configs[encoder] = work / encoder
            configs[encoder].mkdir()
            (configs[encoder] / "pulse.toml").write_text(f'[search]\nencoder = "{encoder}"\n', "utf-8")
        data = args.data_dir
        if data is None:
            data = work / "data"
            pulse("run", "--sample", config=configs["onnx"], data=data, env=env)
            data = data / "sample"
        else:  # make sure the twin exists (exported once per machine and model)
            pulse("embed", config=configs["onnx"], data=data, env=env)
        rows = []
        for mode in ("keyword", "semantic", "hybrid"):
            times = {}
            for encoder in ("onnx", "torch") if mode != "keyword" else ("onnx",):
                runs = [pulse("search", QUERIES[n % len(QUERIES)], "--mode", mode, "--json", config=configs[encoder],
                              data=data, env=env) for n in range(args.repeat)]
                times[encoder] = (statistics.median(runs), max(runs))
            onnx, torch = times["onnx"], times.get("torch")
            rows.append([mode, onnx[0], onnx[1], torch[0] if torch else "-", f"{torch[0] / onnx[0]:.1f}x" if torch
                         else "-"])
        print(f"cold `pulse search`, {args.repeat} runs each, {os.cpu_count()} cores, archive {data}")
        print(table(["mode", "ONNX twin median s", "ONNX max s", "torch median s", "speed-up"], rows))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
