"""Search quality per mode on the judged query set (tests/fixtures/search_judged.toml) over the test
archive (Pulse's sample newsletters + the hostile fixture), with the bundled model on the CPU.

    python bench/eval_search.py        # MRR and nDCG@10 per mode, and the queries each mode misses
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import table  # noqa: E402
from pipeline.embed import Embedder  # noqa: E402
from pipeline.search import Searcher  # noqa: E402
from pipeline.search_eval import evaluate, load_judged  # noqa: E402
from tests.archive import build_archive  # noqa: E402


def main() -> None:
    embedder = Embedder(device=os.environ.get("PULSE_DEVICE", "cpu"))
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = build_archive(Path(tmp) / "p.db", embedder, Path(tmp) / "out")
        searcher = Searcher(store, lambda: (embedder.model_id, embedder.encode))
        judged = load_judged(ROOT / "tests" / "fixtures" / "search_judged.toml")
        scores = evaluate(searcher, judged)
        searcher.close()
        store.close()
    print(f"\n{len(judged)} judged queries\n")
    print(table(["mode", "MRR", "nDCG@10", "queries not first"], [
        [m, s["mrr"], s["ndcg"], "; ".join(f"{q!r} (RR {rr:.2f})" for q, rr in s["per_query"].items() if rr < 1)]
        for m, s in scores.items()]))


if __name__ == "__main__":
    main()
