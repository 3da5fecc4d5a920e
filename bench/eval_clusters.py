"""Clustering and threading quality: on the synthetic labelled set, and on the real archive.

    python bench/eval_clusters.py                       # synthetic set, across settings (CPU is fine)
    python bench/eval_clusters.py --real [ARCHIVE.db]   # an archive built by ../shared/tools/real-archive

The synthetic set (tests/fixtures/cluster_eval.toml) is replayed night by night through `assign` and
`attach_threads`; the table gives pairwise P/R/F1 and B-cubed F1 for clusters (same news) and threads (same
subject) per setting.

`--real` reads what `pulse run` stored in ARCHIVE.db (default /tmp/pulse-real/data/pulse.db) and scores it
against bench/labels/clusters/pairs.json: hand-labelled pairs of stories that are the same story or related but
different news, and threads with their member stories (references are source, issue guid and title, matched
as in eval_segment). It prints:

- same story: over the labelled pairs, a pair is predicted "same" when both stories share a cluster;
  precision = same-labelled among predicted / predicted, recall = predicted among same-labelled;
  B-cubed F1 over the labelled stories (gold clusters: the same-labelled pairs joined; others alone);
- related kept apart: related-labelled pairs in different clusters / related pairs;
- thread purity: for each predicted thread holding labelled thread members, the share of them that belong
  to its majority labelled thread, weighted by members; thread recall: labelled member pairs of one thread
  that share a predicted thread;
- the largest thread's share of the archive's news stories, and the number of threads by size.
"""
from __future__ import annotations

import argparse
import json
import sqlite3
from collections import Counter, defaultdict
from dataclasses import replace
from itertools import combinations
from pathlib import Path

from eval_segment import norm, similar
from pipeline.cluster import ClusterConfig
from pipeline.cluster_eval import bcubed, load_eval_set, pairwise, replay
from pipeline.embed import Embedder, story_text

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "tests" / "fixtures" / "cluster_eval.toml"
LABELS = ROOT / "bench" / "labels" / "clusters" / "pairs.json"
TARGETS = ("targets: same-story F1 >= 0.92, related kept apart >= 95%, thread purity >= 0.9, "
           "largest thread <= 2% of stories")
NOT_NEWS = ("sponsor", "furniture", "notes", "fiction")


def synthetic() -> None:
    stories = load_eval_set(EVAL)
    vecs = Embedder(device="cpu").encode([story_text(s["title"], s["text"]) for s in stories])
    ev, th = [s["event"] for s in stories], [s["thread"] for s in stories]
    base = ClusterConfig()
    print(f"{len(stories)} stories, {len(set(ev))} events, {len(set(th))} threads\n")
    print("| change | cluster P | R | F1 | B3 F1 | thread P | R | F1 | B3 F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    grid = [dict(same_score=t) for t in (0.75, 0.8, 0.9, 0.95)]
    grid += [dict(overlap_weight=t) for t in (0.0, 0.5)]
    grid += [dict(thread_threshold=t) for t in (0.45, 0.5, 0.6)]
    for change in [{}] + grid:
        cl, tl = replay(stories, vecs, replace(base, **change))
        c, cb, t, tb = pairwise(ev, cl), bcubed(ev, cl), pairwise(th, tl), bcubed(th, tl)
        name = ", ".join(f"{k}={v}" for k, v in change.items()) or "**defaults**"
        print(f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {cb.f1:.3f} | "
              f"{t.precision:.3f} | {t.recall:.3f} | {t.f1:.3f} | {tb.f1:.3f} |", flush=True)


def real(db_path: Path, labels_path: Path) -> int:
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    marks = ",".join("?" * len(NOT_NEWS))
    rows = db.execute(
        "SELECT s.id, i.source, i.guid, s.title, m.cluster_id, c.thread_id FROM stories s "
        "JOIN issues i ON i.id = s.issue_id LEFT JOIN cluster_members m ON m.story_id = s.id "
        f"LEFT JOIN clusters c ON c.id = m.cluster_id WHERE s.section NOT IN ({marks})", NOT_NEWS).fetchall()
    by_issue: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    cluster, thread = {}, {}
    for sid, source, guid, title, cid, tid in rows:
        by_issue[(source, guid)].append((sid, norm(title)))
        cluster[sid], thread[sid] = cid or f"alone:{sid}", tid or f"alone:{sid}"
    labels = json.loads(labels_path.read_text("utf-8"))
    missing = 0

    def ref(r: dict) -> str | None:
        nonlocal missing
        want = norm(r["title"])
        best = max(by_issue.get((r["source"], r["issue"]), []), key=lambda c: similar(c[1], want), default=None)
        if best is None or similar(best[1], want) < 0.85:
            missing += 1
            return None
        return best[0]

    same = [(a, b) for p in labels["same"] if (a := ref(p["a"])) and (b := ref(p["b"]))]
    related = [(a, b) for p in labels["related"] if (a := ref(p["a"])) and (b := ref(p["b"]))]
    tp = sum(cluster[a] == cluster[b] for a, b in same)
    fp = sum(cluster[a] == cluster[b] for a, b in related)
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / len(same) if same else 1.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    gold = {s: s for pair in same + related for s in pair}
    for a, b in same:  # union the same-labelled pairs
        ga, gb = _find(gold, a), _find(gold, b)
        gold[ga] = gb
    items = sorted(gold)
    b3 = bcubed([_find(gold, s) for s in items], [cluster[s] for s in items])
    apart = sum(cluster[a] != cluster[b] for a, b in related)
    members = [(t, s) for t in labels["threads"] for m in t["members"] if (s := ref(m))]
    by_pred: dict[str, Counter] = defaultdict(Counter)
    for t, s in members:
        by_pred[thread[s]][t["subject"]] += 1
    purity = sum(c.most_common(1)[0][1] for c in by_pred.values()) / max(1, sum(sum(c.values()) for c in by_pred.values()))
    pairs = [(a, b) for t in labels["threads"] for a, b in combinations([s for tt, s in members if tt is t], 2)]
    t_recall = sum(thread[a] == thread[b] for a, b in pairs) / max(1, len(pairs))
    sizes = Counter(thread[s] for s in thread if not thread[s].startswith("alone:"))
    clusters_per = Counter()
    for cid, tid in {(cluster[s], thread[s]) for s in thread if not thread[s].startswith("alone:")}:
        clusters_per[tid] += 1
    largest = max(sizes.values(), default=0)
    print(f"archive {db_path}: {len(rows)} news stories, {len(sizes)} threads; labels {labels_path.name}: "
          f"{len(same)} same pairs, {len(related)} related pairs, {len(labels['threads'])} threads "
          f"({missing} references not found)\n")
    print("| measure | value |\n|---|---:|")
    print(f"| same story: precision / recall / F1 | {p:.3f} / {r:.3f} / {f1:.3f} |")
    print(f"| same story: B-cubed F1 (labelled stories) | {b3.f1:.3f} |")
    print(f"| related kept apart | {apart}/{len(related)} = {apart / max(1, len(related)):.1%} |")
    print(f"| thread purity (labelled members) | {purity:.3f} |")
    print(f"| thread recall (labelled member pairs) | {t_recall:.3f} |")
    print(f"| largest thread | {largest} stories = {largest / max(1, len(rows)):.2%} of news stories |")
    buckets = [(1, 1), (2, 3), (4, 10), (11, 30), (31, 100), (101, 10**9)]
    dist = ", ".join(f"{lo if lo == hi else f'{lo}-{hi}' if hi < 10**9 else f'>{lo - 1}'}: "
                     f"{sum(lo <= n <= hi for n in clusters_per.values())}" for lo, hi in buckets)
    print(f"| threads by clusters | {dist} |")
    print(f"\n{TARGETS}")
    return 0


def _find(parent: dict[str, str], x: str) -> str:
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", nargs="?", const="/tmp/pulse-real/data/pulse.db", metavar="ARCHIVE.db",
                    help="score an archive built from ../shared/data against bench/labels/clusters/pairs.json")
    ap.add_argument("--labels", default=str(LABELS), help="labels file for --real")
    args = ap.parse_args(argv)
    if args.real:
        return real(Path(args.real), Path(args.labels))
    synthetic()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
