"""Story clusters (one piece of news told by several newsletters) and threads (a subject over weeks).

The core works on arrays and small records so it can be measured and tested without a database:
`assign` puts new stories into existing or new clusters, `attach_threads` links new clusters to older
ones. `cluster_stage` (in cluster_stage.py) wires them to the store incrementally.

Clusters: cosine neighbours (the `gpu` top-k) above `threshold`, or above the lower `link_threshold` when
two stories link the same specific URL (a URL linked by at most `max_link_df` stories: papers, repos,
posts — not home pages). Edges are split into connected components (`gpu.components`), then merged
greedily, best edge first, under safeguards against chaining: two stories of one issue never share a
cluster; a cluster spans at most `window_days`; every member stays within `centroid_min` of the merged
centroid; one story can pull in at most `max_hub` merges; two existing clusters are never merged (ids
stay stable). New ids derive from the earliest member, so a rerun gives the same ids.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from typing import Any, Sequence

import numpy as np

import gpu
from gpu.numpy_backend import normalize as unit  # unit rows in float32, zero rows stay zero


@dataclass(frozen=True)
class ClusterConfig:
    """Defaults measured on tests/fixtures/cluster_eval.toml (see bench/eval_clusters.py)."""

    threshold: float = 0.62
    link_threshold: float = 0.40
    centroid_min: float = 0.55
    window_days: float = 10.0
    max_hub: int = 12
    max_link_df: int = 8
    neighbours: int = 20
    thread_threshold: float = 0.55
    thread_window_days: float = 120.0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> "ClusterConfig":
        """The [cluster] section of pulse.toml; unknown keys are an error, not silently ignored."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown [cluster] setting(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return cls(**{k: type(getattr(cls, k))(v) for k, v in data.items()})


@dataclass(frozen=True)
class StoryRef:
    """What clustering needs to know about a story besides its vector."""

    id: str
    issue_id: str
    source: str
    day: float  # days since the Unix epoch
    links: tuple[str, ...] = ()
    version: str = ""  # e.g. the hash of the embedded text: an edited story founds a cluster with a new id


def stable_label(kind: str, member: str) -> str:
    return kind[0] + hashlib.sha1(f"{kind}\x00{member}".encode()).hexdigest()[:15]


def _numpy(x: Any) -> np.ndarray:
    return x.get() if hasattr(x, "get") else np.asarray(x)


def candidate_edges(items: Sequence[StoryRef], vecs: np.ndarray, n_old: int, config: ClusterConfig,
                    backend: str | None = None, corpus: Any = None) -> dict[tuple[int, int], float]:
    """Edges (a, b) -> cosine, a < b, that may join a cluster. items/vecs (unit rows) are the archive's
    first (n_old of them), then the new stories'; only edges that touch a new story are made.

    `corpus` may be a prepared (`gpu.prepare`) copy of vecs to reuse across calls."""
    edges: dict[tuple[int, int], float] = {}
    if n_old == len(items):
        return edges
    k = min(config.neighbours + 1, len(items))
    if backend is None and corpus is None and gpu.cupy_available():
        backend = "cupy"  # a GPU is there: use it, even for NumPy inputs
    scores, idx = gpu.topk(vecs[n_old:], vecs if corpus is None else corpus, k, backend=backend)
    scores, idx = _numpy(scores), _numpy(idx)

    def admissible(a: int, b: int) -> bool:
        ia, ib = items[a], items[b]
        return (a != b and not (a < n_old and b < n_old) and ia.issue_id != ib.issue_id
                and abs(ia.day - ib.day) <= config.window_days)

    for row in range(len(items) - n_old):
        a = n_old + row
        for s, b in zip(scores[row].tolist(), idx[row].tolist()):
            if s < min(config.threshold, config.link_threshold):
                break
            if admissible(a, b) and s >= config.threshold:
                edges[(min(a, b), max(a, b))] = s
    # shared specific links: a lower bar, scored exactly
    by_link: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        for url in set(it.links):
            by_link.setdefault(url, []).append(i)
    for members in by_link.values():
        if len(members) < 2 or len(members) > config.max_link_df:
            continue
        for x in members:
            for y in members:
                if x < y and y >= n_old and admissible(x, y) and (x, y) not in edges:
                    s = float(vecs[x] @ vecs[y])
                    if s >= config.link_threshold:
                        edges[(x, y)] = s
    return edges


def assign(new: Sequence[StoryRef], new_vecs: np.ndarray, old: Sequence[StoryRef], old_vecs: np.ndarray,
           old_labels: Sequence[str], config: ClusterConfig = ClusterConfig(), backend: str | None = None,
           corpus: Any = None) -> list[str]:
    """A cluster label for each new story: an existing label from old_labels, or a new stable one."""
    if not new:
        return []
    n_old = len(old)
    items = list(old) + list(new)
    vecs = unit(np.vstack([old_vecs, new_vecs]) if n_old else new_vecs)  # normalised once, shared with the edges
    edges = candidate_edges(items, vecs, n_old, config, backend, corpus)

    # groups: existing clusters start whole, new stories alone
    group_of = list(range(len(items)))
    members: dict[int, list[int]] = {i: [i] for i in range(len(items))}
    label_of: dict[int, str] = {}
    first: dict[str, int] = {}
    for i, lab in enumerate(old_labels):
        g = first.setdefault(lab, i)
        if g != i:
            group_of[i] = g
            members[g].append(i)
            del members[i]
        label_of[g] = lab
    if edges:  # components split the work: merges never cross them
        pairs = np.array(list(edges), dtype=np.int64)
        comp = _numpy(gpu.components(pairs[:, 0], pairs[:, 1], len(items)))
    else:
        comp = np.arange(len(items))
    hub = np.zeros(len(items), np.int64)
    for (a, b), s in sorted(edges.items(), key=lambda e: (-e[1], e[0])):
        if comp[a] != comp[b]:
            continue
        ga, gb = group_of[a], group_of[b]
        if ga == gb or (ga in label_of and gb in label_of) or hub[a] >= config.max_hub or hub[b] >= config.max_hub:
            continue
        ma, mb = members[ga], members[gb]
        if {items[i].issue_id for i in ma} & {items[i].issue_id for i in mb}:
            continue
        days = [items[i].day for i in ma + mb]
        if max(days) - min(days) > config.window_days:
            continue
        both = ma + mb
        centroid = vecs[both].sum(axis=0)
        norm = float(np.linalg.norm(centroid))
        if norm == 0 or float((vecs[both] @ (centroid / norm)).min()) < config.centroid_min:
            continue
        keep, drop = (ga, gb) if (ga in label_of or gb not in label_of) else (gb, ga)
        for i in members[drop]:
            group_of[i] = keep
        members[keep] = both
        del members[drop]
        hub[a] += 1
        hub[b] += 1
    out = []
    taken = set(old_labels)
    for i in range(n_old, len(items)):
        g = group_of[i]
        if g not in label_of:
            earliest = items[min(members[g], key=lambda m: (items[m].day, items[m].id))]
            label, n = stable_label("cluster", earliest.id + earliest.version), 0
            while label in taken:
                n += 1
                label = stable_label("cluster", f"{earliest.id}{earliest.version}/{n}")
            label_of[g] = label
            taken.add(label)
        out.append(label_of[g])
    return out


@dataclass
class ClusterInfo:
    """A cluster as thread attachment sees it."""

    id: str
    centroid: np.ndarray
    first_day: float
    last_day: float
    links: frozenset[str] = frozenset()
    thread_id: str | None = None


def attach_threads(new: Sequence[ClusterInfo], older: Sequence[ClusterInfo], config: ClusterConfig,
                   link_df: dict[str, int] | None = None) -> dict[str, str]:
    """Thread id for each new cluster: the thread of the most similar earlier cluster (centroid cosine at or
    above thread_threshold, or link_threshold with a shared specific link) within thread_window_days, or
    a new thread of its own. New clusters are taken oldest first, so one night's clusters chain too."""
    link_df = link_df or {}
    pool = [c for c in older if c.thread_id]
    dim = len(new[0].centroid) if new else 0
    mat = unit(np.array([c.centroid for c in pool], np.float32).reshape(len(pool), dim)) if new else None
    first = np.array([c.first_day for c in pool], np.float64)
    last = np.array([c.last_day for c in pool], np.float64)
    out: dict[str, str] = {}
    for c in sorted(new, key=lambda c: (c.first_day, c.id)):
        cu = unit(np.asarray(c.centroid, np.float32)[None])[0]
        sims = mat @ cu  # one product per new cluster: the pool's centroids are one matrix
        ok = (first < c.first_day) & (c.first_day - last <= config.thread_window_days)
        best, best_s = None, -2.0
        for j in np.nonzero(ok & (sims >= min(config.thread_threshold, config.link_threshold)))[0].tolist():
            o, s_ = pool[j], float(sims[j])
            if o.id == c.id:
                continue
            shared = any(link_df.get(u, 0) <= config.max_link_df for u in c.links & o.links)
            if (s_ >= config.thread_threshold or (shared and s_ >= config.link_threshold)) and s_ > best_s:
                best, best_s = o, s_
        c.thread_id = best.thread_id if best else stable_label("thread", c.id)
        out[c.id] = c.thread_id
        pool.append(c)
        mat = np.vstack([mat, cu[None]])
        first, last = np.append(first, c.first_day), np.append(last, c.last_day)
    return out
