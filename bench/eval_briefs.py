"""How varied and how well-spread the briefs of an archive are (issue 5: two stories must not get the same text).

    python bench/eval_briefs.py                 # the bundled samples, built fresh in a temporary folder
    python bench/eval_briefs.py path/to/pulse.db  # any archive `pulse run` has briefed

Prints one table: per free-text field, the share of distinct texts and the mean / 95th percentile / max
word-trigram Jaccard similarity between briefs of different clusters (lower = more varied); then the
spread of kinds and impact ratings.
"""
from __future__ import annotations

import itertools
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

from outputs.brief import FREE_TEXT
from outputs.brief_stage import Briefer, brief_clusters, load_brief
from outputs.render import Templates
from pipeline.cluster_stage import cluster_stories
from pipeline.embed import Embedder
from pipeline.embed_stage import embed_stories
from pipeline.ingest import ingest
from pipeline.samples import sample_sources
from pipeline.store import Store
from sources.fetch import Fetcher

MAX_PAIRS = 200_000


def trigrams(text: str) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def sample_db(folder: Path) -> Path:
    path = folder / "pulse.db"
    embedder = Embedder(device="cpu")
    with Store(path) as store:
        ingest(store, sample_sources(), Fetcher())
        embed_stories(store, embedder)
        cluster_stories(store)
        brief_clusters(store, Briefer(Templates(), embedder.encode), folder / "out")
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(sys.argv[1]) if len(sys.argv) > 1 else sample_db(Path(tmp))
        with Store(path) as store:
            briefs = [load_brief(r) for r in store.briefs().values()]
    news = [b for b in briefs if b.kind not in ("notice", "fiction")]
    pairs = list(itertools.combinations(range(len(news)), 2))
    if len(pairs) > MAX_PAIRS:
        pairs = random.Random(0).sample(pairs, MAX_PAIRS)
    print(f"archive: {path} · {len(briefs)} briefs, {len(news)} of them news (notices and fiction left out below)")
    print(f"{'field':<14} {'distinct':>9} {'mean J3':>8} {'p95 J3':>7} {'max J3':>7}")
    for field in (*FREE_TEXT, "all"):
        texts = [" ".join(getattr(b, f) for f in FREE_TEXT) if field == "all" else getattr(b, field) for b in news]
        grams = [trigrams(t) for t in texts]
        sims = np.array([jaccard(grams[i], grams[j]) for i, j in pairs]) if pairs else np.zeros(1)
        distinct = len(set(texts)) / max(len(texts), 1)
        print(f"{field:<14} {distinct:>8.1%} {sims.mean():>8.3f} {np.percentile(sims, 95):>7.3f} {sims.max():>7.3f}")
    print("kinds:  " + ", ".join(f"{k} {n}" for k, n in Counter(b.kind for b in briefs).most_common()))
    print("impact: " + ", ".join(f"{k} {n}" for k, n in Counter(b.impact for b in briefs).most_common()))


if __name__ == "__main__":
    main()
