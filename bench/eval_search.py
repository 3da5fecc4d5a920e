"""Search quality per mode on the judged query set (tests/fixtures/search_judged.toml) over the test
archive (Pulse's sample newsletters + the hostile fixture), with the bundled model on the CPU.

    python bench/eval_search.py        # MRR and nDCG@10 per mode, and the queries each mode misses
    PULSE_CPU_ENCODER=int8 python bench/eval_search.py   # stories embedded as `pulse run` does on the CPU

Queries are always embedded with the model's own vectors (as `pulse search` does, through the fp32 twin).
"""
from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

from common import table
from pipeline.embed import Embedder
from pipeline.search import Searcher
from pipeline.search_eval import evaluate, load_judged

ROOT = Path(__file__).resolve().parent.parent


def build_archive(*args):
    """tests/archive.py's build_archive, loaded from its file: the test suite is not part of the installed
    package, and this script uses the same archive the search tests judge."""
    spec = importlib.util.spec_from_file_location("pulse_test_archive", ROOT / "tests" / "archive.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_archive(*args)


def main() -> None:
    embedder = Embedder(device=os.environ.get("PULSE_DEVICE", "cpu"))
    stories = Embedder(device=embedder.device, cpu_encoder=os.environ.get("PULSE_CPU_ENCODER", "torch"))
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = build_archive(Path(tmp) / "p.db", stories, Path(tmp) / "out")
        searcher = Searcher(store, lambda: (embedder.model_id, embedder.encode))
        judged = load_judged(ROOT / "tests" / "fixtures" / "search_judged.toml")
        scores = evaluate(searcher, judged)
        searcher.close()
        store.close()
    print(f"\n{len(judged)} judged queries; stories embedded with {stories.encoder}\n")
    print(table(["mode", "MRR", "nDCG@10", "queries not first"], [
        [m, s["mrr"], s["ndcg"], "; ".join(f"{q!r} (RR {rr:.2f})" for q, rr in s["per_query"].items() if rr < 1)]
        for m, s in scores.items()]))


if __name__ == "__main__":
    main()
