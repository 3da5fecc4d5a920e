"""Clustering quality on the labelled set, across thresholds: how the defaults were chosen.

    python bench/eval_clusters.py            # bundled model, CPU is fine (45 stories)
Prints a markdown table: pairwise P/R/F1 and B-cubed F1 for clusters (same news) and threads (same subject).
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from pipeline.cluster import ClusterConfig  # noqa: E402
from pipeline.cluster_eval import bcubed, load_eval_set, pairwise, replay  # noqa: E402
from pipeline.embed import Embedder, story_text  # noqa: E402

EVAL = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cluster_eval.toml"


def main() -> None:
    stories = load_eval_set(EVAL)
    vecs = Embedder(device="cpu").encode([story_text(s["title"], s["text"]) for s in stories])
    ev, th = [s["event"] for s in stories], [s["thread"] for s in stories]
    base = ClusterConfig()
    print(f"{len(stories)} stories, {len(set(ev))} events, {len(set(th))} threads\n")
    print("| threshold | link_threshold | centroid_min | thread_threshold | cluster P | R | F1 | B3 F1 | thread P | R | F1 | B3 F1 |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    grid = [dict(threshold=t) for t in (0.5, 0.55, 0.6, 0.62, 0.65, 0.7, 0.75, 0.8)]
    grid += [dict(link_threshold=t) for t in (0.3, 0.5, 0.6)]
    grid += [dict(centroid_min=t) for t in (0.45, 0.65)]
    grid += [dict(thread_threshold=t) for t in (0.45, 0.5, 0.6, 0.65)]
    grid += [dict(link_threshold=1.01)]  # links ignored
    for change in [{}] + grid:
        cfg = replace(base, **change)
        cl, tl = replay(stories, vecs, cfg)
        c, cb, t, tb = pairwise(ev, cl), bcubed(ev, cl), pairwise(th, tl), bcubed(th, tl)
        mark = " **(default)**" if not change else ""
        print(f"| {cfg.threshold}{mark} | {cfg.link_threshold} | {cfg.centroid_min} | {cfg.thread_threshold} | "
              f"{c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {cb.f1:.3f} | "
              f"{t.precision:.3f} | {t.recall:.3f} | {t.f1:.3f} | {tb.f1:.3f} |", flush=True)


if __name__ == "__main__":
    main()
