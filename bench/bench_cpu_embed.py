"""CPU embedding: what `pulse run` embeds stories with on a machine without a GPU, against stock encode.

    python bench/bench_cpu_embed.py --real ARCHIVE.db [--n 768] [--repeat 3]

Texts: N real stories of an archive (`../shared/tools/real-archive`), as the embed stage embeds them (title,
then text). Each path runs `--repeat` times in turn (the median is reported, so that a busy moment of a
2-core machine does not decide the table). Peer: stock `SentenceTransformer.encode` with its defaults (batch
32, all cores); its vectors are the reference for every cosine. Rows: Pulse's torch path (`cpu_encoder =
"torch"`), the model's ONNX twin (`"onnx"`, batches of 16: what `"auto"`, the default, picks) and its int8
variant (`"int8"`: one text a run, see pipeline/onnx_model.py), each in ONNX Runtime with a thread per core; the
twin's load is timed apart (a night loads it once).

The floor: the model's multiply-adds for these texts (each layer's projections and feed-forward per token, and
attention per token pair, at each text's own token count) against this CPU's fp32 peak (cores x clock x FLOP a
cycle from its vector units: 32 with AVX2 and FMA, 64 with AVX-512; from /proc/cpuinfo), printed as GFLOP/s and
the share of that peak each path reaches.
"""
from __future__ import annotations

import argparse
import os
import re
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from common import table
from pipeline import onnx_model
from pipeline.embed import Embedder, story_text


def model_flops(st, texts: list[str]) -> float:
    """Floating-point operations one forward pass of the model spends on these texts (2 per multiply-add)."""
    cfg = st[0].auto_model.config
    d, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    tokens = [len(ids) for ids in st.tokenizer(texts, truncation=True, max_length=st.max_seq_length)["input_ids"]]
    per_token = 2 * (4 * d * d + 2 * d * ff) * layers  # Q, K, V, output projections and the feed-forward
    return float(sum(t * per_token + layers * 4 * t * t * d for t in tokens))  # + QK^T and AV


def cpu_peak_gflops() -> tuple[float, str]:
    """This machine's fp32 peak, from its cores, clock and vector units (0 where /proc/cpuinfo says nothing)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return 0.0, "unknown"
    mhz = [float(x) for x in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", info, re.M)]
    flags = set(re.search(r"^flags\s*:(.*)$", info, re.M).group(1).split()) if "flags" in info else set()
    per_cycle = 64 if "avx512f" in flags else 32 if {"avx2", "fma"} <= flags else 16
    cores = os.cpu_count() or 1
    ghz = max(mhz) / 1000 if mhz else 0.0
    return cores * ghz * per_cycle, f"{cores} cores x {ghz:.2f} GHz x {per_cycle} FLOP a cycle"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True, type=Path, help="archive (pulse.db) to take story texts from")
    ap.add_argument("--n", type=int, default=768)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.environ.setdefault("PULSE_CACHE_DIR", tempfile.mkdtemp(prefix="pulse-bench-cache-"))
    db = sqlite3.connect(f"file:{args.real}?mode=ro", uri=True)
    rows = db.execute("SELECT s.title, s.text FROM stories s JOIN embeddings e ON e.id = s.id "
                      "ORDER BY s.id LIMIT ?", [args.n]).fetchall()
    texts = [story_text(t, x) for t, x in rows]
    stock = Embedder(device="cpu").load()
    t = time.perf_counter()
    report = onnx_model.ensure(stock)["onnx_twin"]
    export_s = time.perf_counter() - t
    paths = {"stock encode (batch 32)": lambda: stock.st.encode(texts, normalize_embeddings=True,
                                                                convert_to_numpy=True, show_progress_bar=False)}
    paths["pulse torch (batch 64)"] = lambda: stock.encode(texts)
    loads = {}
    for name, variant in (("onnx twin fp32", "onnx"), ("onnx twin int8", "int8")):
        t = time.perf_counter()
        emb = Embedder(device="cpu", cpu_encoder=variant).load()
        loads[name] = time.perf_counter() - t
        paths[name] = lambda emb=emb: emb.encode(texts)
    times: dict[str, list[float]] = {k: [] for k in paths}
    vectors = {}
    for _ in range(args.repeat):
        for name, fn in paths.items():
            t = time.perf_counter()
            vectors[name] = fn()
            times[name].append(time.perf_counter() - t)
    ref = vectors["stock encode (batch 32)"]
    base = statistics.median(times["stock encode (batch 32)"])
    flops = model_flops(stock.st, texts)
    peak, how = cpu_peak_gflops()
    out = []
    for name in paths:
        s = statistics.median(times[name])
        cos = np.sum(vectors[name] * ref, axis=1)
        rate = flops / s / 1e9
        out.append([name, round(s, 2), round(len(texts) / s, 1), round(base / s, 2), round(rate, 1),
                    f"{rate / peak:.0%}" if peak else "-", f"{cos.min():.4f}", f"{np.percentile(cos, 1):.4f}",
                    f"{cos.mean():.4f}", f"{loads[name]:.2f}" if name in loads else "-"])
    print(f"{len(texts)} real stories of {args.real}; {os.cpu_count()} cores; median of {args.repeat} runs; "
          f"twin export {export_s:.1f} s: {report}")
    print(f"model work: {flops / 1e9:.0f} GFLOP for these texts; fp32 peak {peak:.0f} GFLOP/s ({how}); "
          f"2x stock needs {2 * flops / base / 1e9:.0f} GFLOP/s = {2 * flops / base / 1e9 / peak:.0%} of it" if peak
          else f"model work: {flops / 1e9:.0f} GFLOP for these texts")
    print(table(["path", "s", "texts/s", "x stock", "GFLOP/s", "of peak", "cos min", "cos p1", "cos mean",
                 "load s"], out))


if __name__ == "__main__":
    main()
