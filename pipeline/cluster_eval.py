"""Measuring clustering against a labelled set: pairwise precision/recall/F1 and B-cubed.

The set (tests/fixtures/cluster_eval.toml) is replayed night by night through the same incremental code the
nightly run uses (`assign`, then `attach_threads`), so the figures describe what Pulse really does.
"""
from __future__ import annotations

import tomllib
from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Sequence

import numpy as np

from .cluster import ClusterConfig, ClusterInfo, StoryRef, assign, attach_threads, central_order, unit
from .relate import figures_of, turn_of
from .terms import TermStats, lead_of, story_terms, subject


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def pairwise(truth: Sequence[str], pred: Sequence[str]) -> Scores:
    """Over all pairs of items: is 'same cluster' predicted where it is true?"""
    tp = fp = fn = 0
    for a, b in combinations(range(len(truth)), 2):
        same_t, same_p = truth[a] == truth[b], pred[a] == pred[b]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return Scores(p, r, _f1(p, r))


def bcubed(truth: Sequence[str], pred: Sequence[str]) -> Scores:
    """Per item: the share of its predicted cluster that truly belongs with it, and vice versa, averaged."""
    n = len(truth)
    by_t, by_p = defaultdict(set), defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, pred)):
        by_t[t].add(i)
        by_p[p].add(i)
    prec = sum(len(by_p[pred[i]] & by_t[truth[i]]) / len(by_p[pred[i]]) for i in range(n)) / n
    rec = sum(len(by_p[pred[i]] & by_t[truth[i]]) / len(by_t[truth[i]]) for i in range(n)) / n
    return Scores(prec, rec, _f1(prec, rec))


def load_eval_set(path: Path) -> list[dict]:
    return tomllib.loads(Path(path).read_text("utf-8"))["story"]


def replay(stories: Sequence[dict], vecs: np.ndarray, config: ClusterConfig = ClusterConfig(),
           backend: str | None = None) -> tuple[list[str], list[str]]:
    """(cluster label, thread label) per story, feeding the stories one day (one night) at a time, with
    the term statistics of the whole set (as a long-running archive would have them)."""
    stats = TermStats()
    refs = []
    for s in stories:
        terms = frozenset(story_terms(s["title"], lead_of(s["text"])))
        stats.add(terms, s["text"])
        refs.append(StoryRef(s["id"], s["issue"], s["source"], float(s["day"]), tuple(s.get("links", ())),
                             title_terms=frozenset(story_terms(s["title"])), terms=terms, turn=turn_of(s["title"]),
                             figures=figures_of(f"{s['title']}\n{s['text'][:600]}")))
    vecs = unit(vecs)
    labels: dict[int, str] = {}
    threads: dict[str, str] = {}
    df: dict[str, int] = defaultdict(int)
    for r in refs:
        for u in set(r.links):
            df[u] += 1
    for day in sorted({r.day for r in refs}):
        old = sorted(labels)
        new = [i for i, r in enumerate(refs) if r.day == day]
        got = assign([refs[i] for i in new], vecs[new], [refs[i] for i in old], vecs[old],
                     [labels[i] for i in old], config, backend, stats=stats)
        labels.update(zip(new, got))
        infos = {}
        for lab in set(labels.values()):
            mem = [i for i, v in labels.items() if v == lab]
            central = mem[central_order(vecs[mem], [stories[i]["title"] for i in mem],
                                        [stories[i]["text"][:600] for i in mem],
                                        [(refs[i].day, refs[i].id) for i in mem])[0]]
            infos[lab] = ClusterInfo(lab, vecs[mem].sum(axis=0), min(refs[i].day for i in mem),
                                     max(refs[i].day for i in mem),
                                     frozenset(u for i in mem for u in refs[i].links), threads.get(lab),
                                     subject(stories[central]["title"], stats, lead_of(stories[central]["text"])),
                                     frozenset().union(*(refs[i].terms for i in mem)))
        fresh = [infos[lab] for lab in set(got) if lab not in threads]
        threads.update(attach_threads(fresh, [c for c in infos.values() if c.thread_id], config, df))
    return [labels[i] for i in range(len(refs))], [threads[labels[i]] for i in range(len(refs))]
