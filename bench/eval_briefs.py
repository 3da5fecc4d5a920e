"""How varied and how well-spread the briefs of an archive are (issue 5: two stories must not get the same text).

    python bench/eval_briefs.py                 # the bundled samples, built fresh in a temporary folder
    python bench/eval_briefs.py path/to/pulse.db  # any archive `pulse run` has briefed

Prints, over the news briefs (notices and fiction left out):
- per free-text field, the share of distinct texts and the mean / 95th percentile / max word-trigram Jaccard
  similarity between briefs of different clusters (lower = more varied);
- per opinion field, the share of briefs its most repeated sentence appears in, verbatim and with names
  masked (quotes, links, numbers and capitalised words replaced), and how many sentences pass 2% / 20%
  (issue 27's limits), with the most repeated masked sentence;
- Watch for presence, the spread of kinds and positions, impact by number of sources, and how many of the
  digest's Top-story slots one newsletter's one-line items hold (archives whose briefs record `one_line`).
"""
from __future__ import annotations

import itertools
import random
import re
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
OPINION_FIELDS = ("our_take", "what_to_do", "watch_for", "skeptics")
VERBATIM_LIMIT, MASKED_LIMIT = 0.02, 0.20
_SENTENCE = re.compile(r"(?<=[.!?…])[”\"']?\s+(?=[A-Z“\"])")
_MASKS = [(re.compile(r"“[^”]*”|\"[^\"]*\"|\([^)]*\)"), "Q"), (re.compile(r"\b\S+\.\w{2,}/\S*|https?://\S+"), "U"),
          (re.compile(r"[$€£]?\d[\d.,]*\w*%?"), "N")]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s.strip()]


def masked(sentence: str, names: list[str]) -> str:
    """The sentence with what is specific to one story replaced: quotes, links, numbers, its names, and any
    capitalised word past the first."""
    for name in sorted((n for n in names if n), key=len, reverse=True):
        sentence = sentence.replace(name, "X")
    for pattern, mark in _MASKS:
        sentence = pattern.sub(mark, sentence)
    words = sentence.split()
    return " ".join(words[:1] + ["X" if w[:1].isupper() else w for w in words[1:]])


def repetition(news: list, field: str) -> tuple[float, int, float, int, str]:
    """(largest verbatim share, sentences over 2%, largest masked share, masked sentences over 20%, the most
    repeated masked sentence) for one field: shares of the news briefs a sentence appears in."""
    plain: Counter = Counter()
    mask: Counter = Counter()
    for b in news:
        found = sentences(getattr(b, field))
        names = [b.signals.get("subject", ""), b.signals.get("actor", ""), *b.sources, *b.who]
        plain.update(set(found))
        mask.update({masked(x, names) for x in found})
    n = max(len(news), 1)
    top_plain = max(plain.values(), default=0) / n
    top_mask, most = (max(mask.values()) / n, mask.most_common(1)[0][0]) if mask else (0.0, "")
    return (top_plain, sum(c / n > VERBATIM_LIMIT for c in plain.values()), top_mask,
            sum(c / n > MASKED_LIMIT for c in mask.values()), most)


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
    print()
    print(f"{'field':<11} {'top verbatim':>12} {'>2%':>5} {'top masked':>11} {'>20%':>5}  most repeated, masked")
    for field in OPINION_FIELDS:
        top, over, top_m, over_m, most = repetition(news, field)
        print(f"{field:<11} {top:>12.1%} {over:>5} {top_m:>11.1%} {over_m:>5}  {most[:90]}")
    watch = sum(bool(b.watch_for.strip()) for b in news) / max(len(news), 1)
    print(f"\nWatch for present: {watch:.1%} of news briefs (target 95%)")
    print("kinds:     " + ", ".join(f"{k} {n}" for k, n in Counter(b.kind for b in briefs).most_common()))
    print("positions: " + ", ".join(f"{k} {n}" for k, n in Counter(
        b.signals.get("position", "?") for b in news).most_common()))
    print("impact:    " + ", ".join(f"{k} {n}" for k, n in Counter(b.impact for b in briefs).most_common()))
    print(f"\n{'sources':<8} {'low':>6} {'medium':>7} {'high':>6}")
    by_sources = Counter((min(len(b.sources), 3), b.impact) for b in news)
    for n in (1, 2, 3):
        print(f"{n if n < 3 else '3+':<8} {by_sources[(n, 'low')]:>6} {by_sources[(n, 'medium')]:>7} "
              f"{by_sources[(n, 'high')]:>6}")
    # the digest's Top stories are the medium and high news: how many are one newsletter's one-line items
    if news and "one_line" in news[0].signals:
        top = [b for b in news if b.impact in ("medium", "high")]
        lines = [b for b in top if b.signals["one_line"] and len(b.sources) == 1]
        usable = [b for b in lines if {"weights", "code", "api"} & set(b.signals.get("artifacts", []))]
        print(f"\nTop-story slots (medium or high news): {len(top)}; one newsletter's one-line items: {len(lines)} "
              f"({len(lines) / max(len(top), 1):.1%}), {len(usable)} of them with weights, code or an API")


if __name__ == "__main__":
    main()
