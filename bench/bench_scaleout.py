"""Embedding and top-k on a Dask cluster against the same work in one process: the engine's overhead (one
GPU) or its speed-up (several).

    python bench/bench_scaleout.py [--stories 200000] [--model PATH] [--workers N]

A synthetic archive of --stories stories (bench/common.py's made-up newsletter text) in a real Pulse SQLite
file. Embedding: `pulse embed` in this process (`embed_stories`, the engine's peer) against `embed_on` with a
local cluster (dask-cuda's LocalCUDACluster, one worker per GPU, where it is installed; else --workers CPU
processes), both writing every vector to the archive. Top-k: `gpu.topk` of 1,024 queries against the
archive's vectors on one device against `ShardedCorpus` (one shard per worker, merged exactly).
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import SOURCES, insert_rows, story_rows, table, vocabulary

import gpu
from pipeline import scaleout
from pipeline.embed import Embedder
from pipeline.embed_stage import embed_stories, load_vectors
from pipeline.store import Store


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", type=int, default=200_000)
    ap.add_argument("--model", default="default")
    ap.add_argument("--workers", type=int, help="CPU worker processes (default: one per GPU, else per core)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pulse-scaleout-"))
    rng = np.random.default_rng(0)
    vocab, weights = vocabulary(rng)
    started = time.perf_counter()
    with Store(work / "pulse.db") as store:
        for source in SOURCES:
            store.ensure_source(source, "rss", f"https://{source}.example.org/feed")
        for base in range(0, args.stories, 50_000):
            issues, stories = story_rows(rng, vocab, weights, base, min(50_000, args.stories - base), args.stories)
            insert_rows(store, issues, stories)
        store.db.conn.commit()
        print(f"archive of {args.stories} stories built in {time.perf_counter() - started:.0f} s", flush=True)
        rows = []
        embedder = Embedder(model=args.model).load()
        t = time.perf_counter()
        single = embed_stories(store, embedder)
        one = time.perf_counter() - t
        rows.append(["embed, one process", single["embedded"], one, single["embedded"] / one, "-"])
        print(rows[-1], flush=True)
        client = scaleout.connect("local", workers=args.workers)
        workers = len(client.scheduler_info()["workers"])
        t = time.perf_counter()
        spread = scaleout.embed_on(client, store, args.model, rebuild=True, batch=4096)
        many = time.perf_counter() - t
        where = "workers read the archive" if spread["read_on_workers"] else "texts sent to the workers"
        rows.append([f"embed, Dask, {workers} workers ({where})", spread["embedded"], many,
                     spread["embedded"] / many, f"{one / many:.2f}x"])
        print(rows[-1], flush=True)
        ids, vectors = load_vectors(store)
    backend = "cupy" if gpu.cupy_available() else "numpy"
    queries = vectors[rng.choice(len(vectors), 1024, replace=len(vectors) < 1024)]
    corpus = gpu.prepare(vectors, backend=backend)
    q = queries
    if backend == "cupy":
        import cupy as cp

        q = cp.asarray(queries)
    gpu.topk(q, corpus, 10, backend=backend)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        s, i = gpu.topk(q, corpus, 10, backend=backend)
        if backend == "cupy":
            s, i = s.get(), i.get()
        times.append(time.perf_counter() - t)
    one = float(np.median(times))
    sharded = scaleout.ShardedCorpus(client, vectors)
    sharded.topk(queries, 10)
    times = []
    for _ in range(5):
        t = time.perf_counter()
        ss, si = sharded.topk(queries, 10)
        times.append(time.perf_counter() - t)
    many = float(np.median(times))
    same = bool(np.array_equal(np.asarray(si), np.asarray(i)))
    rows.append([f"top-k 1024 x {len(vectors)}, one device ({backend})", 1024, f"{one:.5f}", 1024 / one, "-"])
    rows.append([f"top-k, {len(sharded.parts)} shards (same answers: {same})", 1024, f"{many:.5f}", 1024 / many,
                 f"{one / many:.2f}x"])
    client.close()
    print(f"{args.stories} stories, model {embedder.model_id} on {embedder.device}")
    print(table(["work", "items", "seconds", "items/s", "speed-up"], rows))


if __name__ == "__main__":
    main()
