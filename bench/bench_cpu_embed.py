"""CPU embedding: what `pulse run` embeds stories with on a machine without a GPU, against stock encode.

    python bench/bench_cpu_embed.py --real ARCHIVE.db [--n 768] [--repeat 3]

Texts: N real stories of an archive (`../shared/tools/real-archive`), as the embed stage embeds them (title,
then text). Each path runs `--repeat` times in turn (the median is reported, so that a busy moment of a
2-core machine does not decide the table). Peer: stock `SentenceTransformer.encode` with its defaults (batch
32, all cores); its vectors are the reference for every cosine. Rows: Pulse's torch path (`cpu_encoder =
"torch"`), the model's ONNX twin (`"onnx"`, batches of 16) and its int8 variant (`"int8"`, the default: one text
a run, see pipeline/onnx_model.py), each in ONNX Runtime with a thread per core; the twin's load is timed apart
(a night loads it once).
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from common import table
from pipeline import onnx_model
from pipeline.embed import Embedder, story_text


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
    for name, variant in (("onnx twin fp32", "onnx"), ("onnx twin int8 (default)", "int8")):
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
    out = []
    for name in paths:
        s = statistics.median(times[name])
        cos = np.sum(vectors[name] * ref, axis=1)
        out.append([name, round(s, 2), round(len(texts) / s, 1), round(base / s, 2), f"{cos.min():.4f}",
                    f"{np.percentile(cos, 1):.4f}", f"{cos.mean():.4f}",
                    f"{loads[name]:.2f}" if name in loads else "-"])
    print(f"{len(texts)} real stories of {args.real}; {os.cpu_count()} cores; median of {args.repeat} runs; "
          f"twin export {export_s:.1f} s: {report}")
    print(table(["path", "s", "texts/s", "x stock", "cos min", "cos p1", "cos mean", "load s"], out))


if __name__ == "__main__":
    main()
