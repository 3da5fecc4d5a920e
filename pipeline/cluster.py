"""Story clusters (one piece of news told by several newsletters) and threads (a subject over weeks).

The core works on arrays and small records so it can be measured and tested without a database:
`assign` puts new stories into existing or new clusters, `attach_threads` links new clusters to older
ones. `cluster_stage` (in cluster_stage.py) wires them to the store incrementally.

Clusters: each new story's cosine neighbours (the `gpu` top-k) and the stories citing the same specific URL
(linked by at most `max_link_df` stories: papers, repos, posts — not home pages) are candidates. With the
stories' terms known, `pipeline.relate` decides which candidates are the same story (shared specific link;
or cosine plus shared specific terms, within `same_days`) and which are related but other news (kept
apart, recorded with why); with vectors only, cosine >= `threshold` (or `link_threshold` with a shared
link) decides. Edges are split into connected components (`gpu.components`), then merged greedily, best
edge first, under safeguards against chaining: two stories of one issue never share a cluster unless
both cite the same specific post; a cluster spans at most `window_days` (a repeat — the same specific link
and near-identical text, weeks or months later — joins across it); every member stays within
`centroid_min` (`member_min` with terms) of the merged centroid; one story can pull in at most `max_hub`
merges; two existing clusters are never merged (ids stay stable). New ids derive from the earliest member,
so a rerun gives the same ids.

Threads: see `attach_threads` — a subject, the thread as a whole, and a quiet period that ends it.
"""
from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Sequence

import numpy as np

import gpu
from gpu.numpy_backend import normalize as unit  # unit rows in float32, zero rows stay zero

from .relate import RELATED, SAME, RelateConfig, Relation, Side, relate
from .terms import FIELD, GENERIC, TermStats, head, story_terms


@dataclass(frozen=True)
class ClusterConfig:
    """Defaults measured on tests/fixtures/cluster_eval.toml (see bench/eval_clusters.py)."""

    threshold: float = 0.62
    link_threshold: float = 0.40
    centroid_min: float = 0.55
    window_days: float = 14.0
    max_hub: int = 12
    max_link_df: int = 8
    neighbours: int = 20
    thread_threshold: float = 0.55
    thread_window_days: float = 120.0  # how far back the clusters that describe open threads are read
    thread_quiet_days: float = 45.0  # a thread with nothing new for this long is over
    thread_member_min: float = 0.60  # a follow-up is this close to one of the thread's clusters
    thread_close: float = 0.75  # ... or this close, when the thread's subject is not specific
    thread_far: float = 0.30  # and no further than this from any of its clusters (a drifting chain breaks)
    subject_max_share: float = 0.015  # a subject named by more of the archive's stories is not specific
    member_min: float = 0.40  # centroid_min when stories are joined on their terms (looser: paraphrases)
    max_related: int = 3  # related stories recorded per story
    same_days: float = RelateConfig.same_days
    same_score: float = RelateConfig.same_score
    overlap_weight: float = RelateConfig.overlap_weight
    link_cos: float = RelateConfig.link_cos
    related_overlap: float = RelateConfig.related_overlap
    repeat_cos: float = RelateConfig.repeat_cos
    related_max_share: float = RelateConfig.related_max_share
    own_days: float = RelateConfig.own_days
    figure_cos: float = RelateConfig.figure_cos
    # two newsletters' headlines naming what no other headline of those days names: the same story at this cosine
    sole_name_cos: float = 0.55
    sole_name_days: float = 10.0
    sole_name_df: int = 6  # ... and few stories of the whole archive name (a rare name is one event's)
    # one issue's two reports of one event (the same sum, or a rare name only their headlines give): at this cosine
    issue_twice_cos: float = 0.65

    def relate(self) -> RelateConfig:
        """The same-story decision's settings ([cluster] in pulse.toml holds them too)."""
        return RelateConfig(**{f.name: getattr(self, f.name) for f in fields(RelateConfig)})

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
    title_terms: frozenset[str] = frozenset()  # `pipeline.terms.story_terms` of the title
    terms: frozenset[str] = frozenset()  # ... of the title and lead: empty when only vectors are known
    turn: str = ""  # `relate.turn_of` the title: a reply or a reversal is never the same story as its original
    figures: frozenset[str] = frozenset()  # `relate.figures_of` the title and lead

    def side(self) -> Side:
        return Side(self.id, self.day, self.title_terms, self.terms, frozenset(self.links), self.turn, self.source,
                    self.figures)


@dataclass
class Evidence:
    """Why stories were joined, and which were found related but kept apart (filled in by `assign`)."""

    why: dict[str, str] = field(default_factory=dict)  # new story id -> the reason of the edge that joined it
    related: list[tuple[str, str, str]] = field(default_factory=list)  # (story, other story, reason)


def central_order(vecs: np.ndarray, titles: Sequence[str], leads: Sequence[str],
                  tiebreak: Sequence[tuple], title_terms: Sequence[frozenset[str]] | None = None) -> list[int]:
    """A cluster's members (unit rows, with their headlines and leads), the most central first: cosine to their
    sum, to 3 decimals (a pair is always equally central, and the last digits are the machine's rounding).
    Between equally central members: a headline naming something the others tell (`shared_title_terms`; a
    story whose text ran on into the next item's has a long text under a stray headline), then the fuller
    lead, then `tiebreak` (date, id). `title_terms`: each member's headline terms where already read (the refs
    the cluster stage keeps)."""
    centroid = vecs.sum(axis=0)
    closeness = np.round(vecs @ centroid / max(float(np.linalg.norm(centroid)), 1e-12), 3)
    shared = shared_title_terms(titles, leads, title_terms) if len(titles) > 1 else [0] * len(titles)
    return sorted(range(len(vecs)), key=lambda i: (-float(closeness[i]), not shared[i], -len(leads[i]), tiebreak[i]))


def shared_title_terms(titles: Sequence[str], leads: Sequence[str],
                       title_terms: Sequence[frozenset[str]] | None = None) -> list[int]:
    """For each member, how many of its headline's specific terms the other members' titles and leads use (a
    headline that uses none names something only its own story tells). `title_terms` as in `central_order`."""
    def specific(term: str) -> bool:  # "ai", "model", "launches" name nothing
        return not all(w in GENERIC or w in FIELD for w in term.split())
    mine = title_terms if title_terms is not None else [frozenset(story_terms(t)) for t in titles]
    told = [frozenset(story_terms(t, lead)) for t, lead in zip(titles, leads)]
    return [sum(map(specific, own & frozenset().union(*(t for j, t in enumerate(told) if j != i))))
            for i, own in enumerate(mine)]


def stable_label(kind: str, member: str) -> str:
    return kind[0] + hashlib.sha1(f"{kind}\x00{member}".encode()).hexdigest()[:15]


def _numpy(x: Any) -> np.ndarray:
    return x.get() if hasattr(x, "get") else np.asarray(x)


def candidate_edges(items: Sequence[StoryRef], vecs: np.ndarray, n_old: int, config: ClusterConfig,
                    backend: str | None = None, corpus: Any = None, stats: TermStats | None = None,
                    evidence: Evidence | None = None) -> dict[tuple[int, int], Relation]:
    """Edges (a, b) -> the relation that makes them the same story, a < b; only edges that touch a new
    story are made. items/vecs (unit rows) are the archive's first (n_old of them), then the new stories'.

    Candidates are each new story's cosine neighbours (the `gpu` top-k) and the stories citing the same
    specific link. With terms (`stats` given and the stories' terms known) `relate` decides from the subject,
    links, time and cosine, and related pairs go to `evidence`; with vectors only, cosine >= threshold (or
    link_threshold with a shared link) decides. `corpus` may be a prepared (`gpu.prepare`) copy of vecs."""
    edges: dict[tuple[int, int], Relation] = {}
    if n_old == len(items):
        return edges
    rcfg = config.relate()
    floor = min(config.threshold, config.link_threshold)
    if stats is not None:
        floor = min(floor, rcfg.same_score - rcfg.overlap_weight, rcfg.link_cos)
    k = min(config.neighbours + 1, len(items))
    if backend is None and corpus is None and gpu.cupy_available():
        backend = "cupy"  # a GPU is there: use it, even for NumPy inputs
    scores, idx = gpu.topk(vecs[n_old:], vecs if corpus is None else corpus, k, backend=backend)
    scores, idx = _numpy(scores), _numpy(idx)
    by_link: dict[str, list[int]] = {}
    for i, it in enumerate(items):
        for url in sorted(set(it.links)):  # sorted: the reason names the same link on every run
            by_link.setdefault(url, []).append(i)
    shared_link = {}
    for url, members in by_link.items():
        if 2 <= len(members) <= config.max_link_df:
            for x in members:
                for y in members:
                    if x < y and y >= n_old:
                        shared_link.setdefault((x, y), url)
    title_days: dict[str, list[float]] = {}  # each headline term: the days of the headlines naming it, sorted
    if stats is not None and min(config.sole_name_cos, config.issue_twice_cos) <= 1.0:  # either rule is on
        for it in items:
            for t in it.title_terms:
                title_days.setdefault(t, []).append(it.day)
        for days in title_days.values():
            days.sort()

    def sole_name(a: StoryRef, b: StoryRef) -> str:
        """A name both headlines give that no other headline within the window around them gives."""
        lo, hi = min(a.day, b.day) - config.same_days, max(a.day, b.day) + config.same_days
        for t in sorted(a.title_terms & b.title_terms, key=lambda t: (-len(t), t)):
            words = t.split()
            if all(w in GENERIC or w in FIELD for w in words) or min(stats.name_like(w) for w in words) < 0.6 \
                    or any(len(w) < 3 for w in words) or stats.df.get(t, 0) > config.sole_name_df:
                continue
            days = title_days.get(t, [])
            if bisect_right(days, hi) - bisect_left(days, lo) == 2:
                return t
        return ""
    sides: dict[int, Side] = {}
    related_seen: set[tuple[int, int]] = set()
    related: dict[int, list[tuple[float, int, str]]] = {}

    def side(i: int) -> Side:
        if i not in sides:
            sides[i] = items[i].side()
        return sides[i]

    def consider(a: int, b: int, cos: float) -> None:
        ia, ib = items[a], items[b]
        if a == b or (a < n_old and b < n_old):
            return
        key = (min(a, b), max(a, b))
        if ia.issue_id == ib.issue_id and (stats is None or key not in shared_link):
            # one issue's items are different news, unless both cite one specific post, or a digest gives two
            # outlets' reports of one event: the same sum, or a rare name only their two headlines give
            if stats is not None and key not in edges and ia.terms and ib.terms and cos >= config.issue_twice_cos:
                rel = relate(side(a), side(b), cos, stats, rcfg, "")
                name = sole_name(ia, ib)
                if (rel.kind == SAME and ia.figures & ib.figures) or name:
                    edges[key] = Relation(SAME, f"told twice in one issue: {rel.reason if rel.kind == SAME else ''}"
                                          f"{'' if rel.kind == SAME else f'both headlines name {name}'}",
                                          rel.overlap, cos, rel.shared)
            return
        if key in edges or key in related_seen:
            return
        link = shared_link.get(key, "")
        if stats is None or not (ia.terms and ib.terms):
            near = abs(ia.day - ib.day) <= config.window_days
            if near and (cos >= config.threshold or (link and cos >= config.link_threshold)):
                reason = f"both cite {link}" if link and cos < config.threshold else f"cosine {cos:.2f}"
                edges[key] = Relation(SAME, reason, cosine=cos)
            return
        rel = relate(side(a), side(b), cos, stats, rcfg, link)
        if rel.kind != SAME and cos >= config.sole_name_cos and ia.source != ib.source \
                and ia.turn == ib.turn and abs(ia.day - ib.day) <= config.sole_name_days:
            name = sole_name(ia, ib)
            if name:
                rel = Relation(SAME, f"both headlines name {name}, no other headline of those days does; cosine "
                               f"{cos:.2f}", rel.overlap, cos, rel.shared)
        if rel.kind == SAME and (rel.repeat or abs(ia.day - ib.day) <= config.window_days):
            edges[key] = rel
        elif rel.kind == RELATED:
            related_seen.add(key)
            related.setdefault(max(a, b), []).append((cos + rcfg.overlap_weight * rel.overlap, min(a, b), rel.reason))

    for row in range(len(items) - n_old):
        a = n_old + row
        for sc, b in zip(scores[row].tolist(), idx[row].tolist()):
            if sc < floor:
                break
            consider(a, b, sc)
    for (x, y) in shared_link:  # shared specific links: scored exactly, whatever the neighbours
        if (x, y) not in edges:
            consider(y, x, float(vecs[x] @ vecs[y]))
    if evidence is not None:  # the closest few related stories of each new story
        for a, found in related.items():
            for _, b, reason in sorted(found, reverse=True)[:config.max_related]:
                if (min(a, b), max(a, b)) not in edges:
                    evidence.related.append((items[a].id, items[b].id, reason))
    return edges


def assign(new: Sequence[StoryRef], new_vecs: np.ndarray, old: Sequence[StoryRef], old_vecs: np.ndarray,
           old_labels: Sequence[str], config: ClusterConfig = ClusterConfig(), backend: str | None = None,
           corpus: Any = None, stats: TermStats | None = None, evidence: Evidence | None = None) -> list[str]:
    """A cluster label for each new story: an existing label from old_labels, or a new stable one.
    With `stats` and the stories' terms, same-story edges are decided by `relate`; `evidence` collects why."""
    if not new:
        return []
    n_old = len(old)
    items = list(old) + list(new)
    vecs = unit(np.vstack([old_vecs, new_vecs]) if n_old else new_vecs)  # normalised once, shared with the edges
    edges = candidate_edges(items, vecs, n_old, config, backend, corpus, stats, evidence)

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
    why: dict[int, str] = {}
    earlier: set[int] = set()  # members joined by a repeat edge as the earlier telling
    for (a, b), rel in sorted(edges.items(), key=lambda e: (-(e[1].cosine + e[1].overlap), e[0])):
        if comp[a] != comp[b]:
            continue
        ga, gb = group_of[a], group_of[b]
        if ga == gb or (ga in label_of and gb in label_of) or hub[a] >= config.max_hub or hub[b] >= config.max_hub:
            continue
        ma, mb = members[ga], members[gb]
        if {items[i].issue_id for i in ma} & {items[i].issue_id for i in mb} and not (
                stats is not None and _told_twice(items, ma, mb, edges)):
            continue  # two items of one issue are two pieces of news, unless the evidence says one
        days = [items[i].day for i in ma + mb if i not in earlier]
        if not rel.repeat and days and max(days) - min(days) > config.window_days:
            continue
        both = ma + mb
        centroid = vecs[both].sum(axis=0)
        norm = float(np.linalg.norm(centroid))
        floor = config.centroid_min if stats is None else config.member_min
        if norm == 0 or float((vecs[both] @ (centroid / norm)).min()) < floor:
            continue
        if rel.repeat:  # the older group is an earlier telling: later spans are measured without it
            earlier.update(ma if max(items[i].day for i in ma) < max(items[i].day for i in mb) else mb)
        keep, drop = (ga, gb) if (ga in label_of or gb not in label_of) else (gb, ga)
        for i in members[drop]:
            group_of[i] = keep
        members[keep] = both
        del members[drop]
        hub[a] += 1
        hub[b] += 1
        for i in (a, b):
            if i >= n_old:
                why.setdefault(i, rel.reason)
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
    if evidence is not None:
        evidence.why.update({items[i].id: r for i, r in why.items()})
    return out


def _told_twice(items: Sequence[StoryRef], ma: list[int], mb: list[int],
                edges: dict[tuple[int, int], Relation]) -> bool:
    """Every pair of stories of one issue across the two groups is itself a same-story edge: an issue that
    tells one piece of news twice (a headline and a tools-list entry citing the same post)."""
    pairs = [(min(x, y), max(x, y)) for x in ma for y in mb if items[x].issue_id == items[y].issue_id]
    return all(p in edges and edges[p].reason.startswith(("both cite", "told twice in one issue")) for p in pairs)


@dataclass
class ClusterInfo:
    """A cluster as thread attachment sees it."""

    id: str
    centroid: np.ndarray
    first_day: float
    last_day: float
    links: frozenset[str] = frozenset()
    thread_id: str | None = None
    subject: str = ""  # `pipeline.terms.subject` of its central story
    terms: frozenset[str] = frozenset()  # its stories' title and lead terms


@dataclass
class Thread:
    """A thread as attachment sees it: its subject, the sum of its clusters' unit centroids, its span."""

    id: str
    subject: str
    centroid: np.ndarray
    first_day: float
    last_day: float

    def add(self, c: ClusterInfo) -> None:
        self.centroid = self.centroid + unit(np.asarray(c.centroid, np.float32)[None])[0]
        self.first_day, self.last_day = min(self.first_day, c.first_day), max(self.last_day, c.last_day)


def mentions(terms: frozenset[str], subject: str) -> bool:
    """Does a cluster with these terms name this subject: the phrase, or each of its specific words (a
    compound also by its head: "hyperion" for "hyperion-7b")?"""
    if not subject:
        return False
    if subject in terms:
        return True
    words = [w for w in subject.split() if w not in GENERIC]
    return bool(words) and all(w in terms or (head(w) and head(w) in terms) for w in words)


def threads_of(clusters: Sequence[ClusterInfo], subjects: dict[str, str] | None = None) -> dict[str, Thread]:
    """The threads these clusters belong to, built from them; `subjects` names threads (else: first cluster's)."""
    subjects = subjects or {}
    out: dict[str, Thread] = {}
    for c in sorted(clusters, key=lambda c: (c.first_day, c.id)):
        if not c.thread_id:
            continue
        t = out.get(c.thread_id)
        if t is None:
            dim = len(c.centroid)
            t = out[c.thread_id] = Thread(c.thread_id, subjects.get(c.thread_id, c.subject), np.zeros(dim, np.float32),
                                         c.first_day, c.last_day)
        t.add(c)
    return out


def attach_threads(new: Sequence[ClusterInfo], older: Sequence[ClusterInfo], config: ClusterConfig,
                   link_df: dict[str, int] | None = None, subjects: dict[str, str] | None = None,
                   specific: Callable[[str], bool] | None = None) -> dict[str, str]:
    """Thread id for each new cluster. A cluster follows up a thread when the thread is not over (its last
    cluster within thread_quiet_days), the cluster names the thread's subject, its centroid is within
    thread_threshold of the thread's as a whole, within thread_member_min of one of its clusters and
    thread_far of all of them (so a chain that drifts step by step breaks into several threads) — or it
    cites a specific link of the thread's clusters with link_threshold. A subject that `specific` rejects
    (a name half the archive mentions: "chatgpt") does not hold a thread together by itself: such a thread
    grows only by links or by a cluster within thread_close of one of its own. Otherwise a cluster starts a
    thread of its own, named by its subject. New clusters are taken oldest first, so one night's clusters
    follow each other too. With no subjects known (vectors only), the subject test is skipped."""
    link_df = link_df or {}
    specific = specific or (lambda subject: True)
    threads = threads_of(older, subjects)
    links_of: dict[str, set[str]] = {}
    for o in older:
        if o.thread_id:
            links_of.setdefault(o.thread_id, set()).update(o.links)
    if not new:
        return {}
    pool = [o for o in older if o.thread_id]  # member clusters, as unit rows, with the new ones appended
    dim = len(new[0].centroid)
    size = len(pool) + len(new)
    mat = np.zeros((size, dim), np.float32)
    if pool:
        mat[:len(pool)] = unit(np.array([o.centroid for o in pool], np.float32).reshape(len(pool), dim))
    last = np.zeros(size, np.float64)
    last[:len(pool)] = [o.last_day for o in pool]
    index: dict[str, int] = {}  # thread id -> a small int, so members can be found with one comparison
    owner = np.zeros(size, np.int64)
    owner[:len(pool)] = [index.setdefault(o.thread_id, len(index)) for o in pool]
    # each thread's numbers by its small int, kept in step with its Thread: centroid sum, first and last day
    cap = len(index) + len(threads) + len(new)
    tsum = np.zeros((cap, dim), np.float32)
    tfirst, tlast = np.zeros(cap, np.float64), np.zeros(cap, np.float64)
    tid_of: list[str] = [""] * cap

    def keep(t: Thread) -> int:
        i = index.setdefault(t.id, len(index))
        tsum[i], tfirst[i], tlast[i], tid_of[i] = t.centroid, t.first_day, t.last_day, t.id
        return i

    for t in threads.values():
        keep(t)
    n = len(pool)
    rows_of: dict[int, list[int]] = {}  # each thread's member rows (the thread_far test reads all of them)
    for r, i in enumerate(owner[:n].tolist()):
        rows_of.setdefault(i, []).append(r)
    out: dict[str, str] = {}
    floor = min(config.thread_threshold, config.link_threshold)  # below it, a thread is neither joined nor linked
    order = sorted(new, key=lambda c: (c.first_day, c.id))
    units = unit(np.array([c.centroid for c in order], np.float32).reshape(len(order), dim))
    block = 256  # the night's clusters against the archive's in one product per block (not one pass over the
    pooled = np.zeros((len(pool), 0), np.float32)  # archive's clusters per cluster); the night's own as they come
    recent = np.zeros(0, np.int64)  # the night's rows that were still open when this block began
    recent_sims = np.zeros((0, 0), np.float32)
    start = n
    for k, c in enumerate(order):
        if k % block == 0:
            pooled = mat[:len(pool)] @ units[k:k + block].T
            # clusters come oldest first: a row whose thread window has closed for this one has for every later
            # one too, so each block compares with the night's rows still open and those added since
            recent = len(pool) + np.nonzero(last[len(pool):n] >= c.first_day - config.thread_quiet_days)[0]
            recent_sims = mat[recent] @ units[k:k + block].T
            start = n
        cu = units[k]
        idx = np.concatenate([np.arange(len(pool)), recent, np.arange(start, n)])
        sims = np.concatenate([pooled[:, k % block], recent_sims[:, k % block], mat[start:n] @ cu])
        open_ = np.nonzero((last[idx] >= c.first_day - config.thread_quiet_days) &
                           (sims >= min(config.thread_member_min, config.link_threshold)))[0]
        best, best_s = None, -2.0
        if open_.size:
            own = owner[idx[open_]]
            found, first, inverse = np.unique(own, return_index=True, return_inverse=True)
            nearest = np.full(len(found), -2.0)
            np.maximum.at(nearest, inverse.reshape(-1), sims[open_].astype(np.float64))
            by_first = np.argsort(first, kind="stable")  # threads in the order their members come
            found, nearest = found[by_first], nearest[by_first]
            keep_ = (tfirst[found] <= c.first_day) & (c.first_day - tlast[found] <= config.thread_quiet_days)
            found, nearest = found[keep_], nearest[keep_]
            whole = unit(tsum[found]) @ cu if found.size else np.zeros(0, np.float32)
            for j in np.nonzero(whole >= floor)[0].tolist():
                i, s_ = int(found[j]), float(whole[j])
                if s_ <= best_s:
                    continue
                t, near = threads[tid_of[i]], float(nearest[j])
                joins = s_ >= config.thread_threshold and near >= config.thread_member_min
                if joins and c.terms and t.subject:  # numbers first: the subject test is the dearer one
                    joins = mentions(c.terms, t.subject) and (specific(t.subject) or near >= config.thread_close)
                joins = joins and float((mat[rows_of[i]] @ cu).min()) >= config.thread_far
                if joins or (s_ >= config.link_threshold and any(
                        link_df.get(u, 0) <= config.max_link_df for u in c.links & links_of.get(t.id, set()))):
                    best, best_s = t, s_
        if best is None:
            tid = stable_label("thread", c.id)
            best = threads[tid] = Thread(tid, c.subject, np.zeros(len(cu), np.float32), c.first_day, c.last_day)
        c.thread_id = best.id
        best.add(c)
        links_of.setdefault(best.id, set()).update(c.links)
        out[c.id] = best.id
        mat[n], last[n], owner[n] = cu, c.last_day, keep(best)
        rows_of.setdefault(int(owner[n]), []).append(n)
        n += 1
    return out
