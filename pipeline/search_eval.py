"""Search quality on a judged query set: MRR and nDCG@10 per mode, so changes to ranking or fusion
can be measured (bench/eval_search.py prints the table; tests hold the floor)."""
from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .search import MODES, Searcher


@dataclass(frozen=True)
class Judged:
    q: str
    relevant: dict[str, int]  # story title -> grade (2: must come first, 1: also relevant)


def load_judged(path: Path) -> list[Judged]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return [Judged(item["q"], {str(k): int(v) for k, v in item["relevant"].items()}) for item in data["query"]]


def reciprocal_rank(titles: list[str], judged: Judged) -> float:
    """1 / rank of the first grade-2 story (0 if none is in the list)."""
    top = max(judged.relevant.values())
    return next((1.0 / r for r, t in enumerate(titles, 1) if judged.relevant.get(t) == top), 0.0)


def ndcg(titles: list[str], judged: Judged, k: int = 10) -> float:
    gain = sum((2 ** judged.relevant.get(t, 0) - 1) / math.log2(r + 1) for r, t in enumerate(titles[:k], 1))
    ideal = sorted(judged.relevant.values(), reverse=True)[:k]
    best = sum((2 ** g - 1) / math.log2(r + 1) for r, g in enumerate(ideal, 1))
    return gain / best if best else 0.0


def evaluate(searcher: Searcher, queries: list[Judged], modes: tuple[str, ...] = MODES, k: int = 10
             ) -> dict[str, dict[str, float]]:
    """Per mode: mean MRR, mean nDCG@k, and per-query reciprocal ranks (to see which query moved). The
    judgements are per story, so the ranking is scored story by story (`by_story=False`: each telling in its
    own place, as judged); grouping hits by cluster is how they are shown, not how they are ranked."""
    out: dict[str, dict] = {}
    for mode in modes:
        rr, nd, per = [], [], {}
        for j in queries:
            titles = [h.title for h in searcher.search(j.q, mode=mode, limit=k, by_story=False).hits]
            rr.append(reciprocal_rank(titles, j))
            nd.append(ndcg(titles, j, k))
            per[j.q] = rr[-1]
        out[mode] = {"mrr": sum(rr) / len(rr), "ndcg": sum(nd) / len(nd), "per_query": per}
    return out
