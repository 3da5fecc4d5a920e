"""The nightly clustering stage: new (or edited) stories into clusters, new clusters into threads.

Incremental: only stories without a cluster (or whose text changed since) are looked at, against the
archive's stories within the cluster window (and older ones citing the same specific link: an item told
again), and new clusters against the open threads (clusters of the last `thread_window_days`). The archive's
term statistics (`pipeline.terms`) grow with each story first seen, so subjects and specific terms are weighed
against everything read so far. All of it is one transaction, so a crash leaves the previous night intact
and a rerun does the same work with the same ids.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from sources.furniture import NOT_NEWS

from .cluster import (ClusterConfig, ClusterInfo, Evidence, StoryRef, assign, attach_threads, central_order,
                      unit)
from .dates import from_day, to_day
from .embed import COLLECTION, from_blob, to_blob
from . import relate as relate_module
from . import terms as terms_module
from .relate import figures_of, turn_of
from .store import Store
from .terms import (GENERIC, TERMS_VERSION, TermStats, head, lead_of, names_something, shared_subject, story_terms,
                    subject, terms_of)

NOT_COUNTED = (*NOT_NEWS, "fiction")


def count_terms(store: Store) -> int:
    """Add the news stories not counted yet to the archive's term statistics; returns how many."""
    rows = store.uncounted_stories(NOT_COUNTED)
    counts = TermStats()
    for r in rows:
        counts.add(terms_of([(r["title"], r["text"])]), r["text"])
    store.add_term_counts([r["id"] for r in rows], counts.df, counts.upper, counts.seen)
    return len(rows)


def term_stats(store: Store, terms: set[str]) -> TermStats:
    """The archive's statistics for these terms (and their words), as a TermStats."""
    wanted = set(terms) | {w for t in terms for w in t.split()}
    docs, counts = store.term_counts(sorted(wanted))
    stats = TermStats(docs=docs)
    for t, (d, u, n) in counts.items():
        stats.df[t], stats.upper[t], stats.seen[t] = d, u, n
    return stats


# the code that reads a story's refs: refs kept by another version are read again
REFS_VERSION = hashlib.sha1(Path(terms_module.__file__).read_bytes() + Path(relate_module.__file__).read_bytes()
                            ).hexdigest()[:12]


def refs_of(title: str, lead: str) -> tuple[frozenset[str], frozenset[str], str, frozenset[str]]:
    """What `relate` needs of a story's words: its headline's terms, its headline's and lead's, the turn its
    headline takes (a reply, a reversal) and the figures they give."""
    return (frozenset(story_terms(title)), terms_of([(title, lead)]), turn_of(title),
            figures_of(f"{title}\n{lead}"))


def encode_refs(refs: tuple[frozenset[str], frozenset[str], str, frozenset[str]]) -> str:
    title_terms, terms, turn, figures = refs
    return json.dumps({"v": REFS_VERSION, "t": sorted(title_terms), "s": sorted(terms), "u": turn,
                       "f": sorted(figures)}, ensure_ascii=False)


def decode_refs(stored: str | None) -> tuple[frozenset[str], frozenset[str], str, frozenset[str]] | None:
    data = json.loads(stored) if stored else None
    if not data or data.get("v") != REFS_VERSION:
        return None
    return frozenset(data["t"]), frozenset(data["s"]), data["u"], frozenset(data["f"])


def _refs(store: Store, rows: list[dict[str, Any]], config: ClusterConfig,
          made: dict[str, str] | None = None) -> list[StoryRef]:
    """The stories as `assign` sees them. With `made`, they are tonight's: their refs are read from their text
    and go into `made` (story -> encoded), to be kept with their new membership. Else they are clustered: refs
    kept with them are read, not made again, and those made now are kept."""
    links = store.links_of([r["id"] for r in rows])
    df = store.link_df(sorted({u for us in links.values() for u in us}))
    out, keep = [], {}
    for r in rows:
        refs = None if made is not None else decode_refs(r.get("refs"))
        if refs is None:
            refs = refs_of(r["title"], r["lead"])
            (made if made is not None else keep)[r["id"]] = encode_refs(refs)
        out.append(StoryRef(r["id"], r["issue_id"], r["source"], to_day(r["date"]),
                            tuple(u for u in links.get(r["id"], []) if df.get(u, 0) <= config.max_link_df),
                            (r["embedded_hash"] or b"").hex()[:16], *refs))
    if keep:
        store.set_member_refs(keep)
    return out


def cluster_subject(rows: list[dict[str, Any]], central: dict[str, Any], stats: TermStats) -> str:
    """The subject most of a cluster's stories name (its central story's when none is shared)."""
    return shared_subject([r["title"] for r in rows], stats) or subject(central["title"], stats, lead_of(central["lead"]))


def refresh_clusters(store: Store, cid: int, cluster_ids: list[str],
                     stats: TermStats | None = None) -> dict[str, ClusterInfo]:
    """Recompute each cluster's centroid, dates, size, title (its member closest to the centroid whose headline
    names something, `terms.names_something`; the closest where none does; between equally close members the
    one whose headline names something the others' text does, then the longer text) and subject."""
    by_cluster: dict[str, list[dict[str, Any]]] = {c: [] for c in cluster_ids}
    kept: dict[str, tuple[frozenset[str], frozenset[str]]] = {}  # each member's title terms and terms
    for r in store.cluster_stories(cid, cluster_ids):
        by_cluster[r["cluster_id"]].append(r)
        kept[r["id"]] = (decode_refs(r.get("refs")) or refs_of(r["title"], r["lead"]))[:2]
    terms = {c: frozenset().union(*(kept[r["id"]][1] for r in rows)) for c, rows in by_cluster.items()}
    if stats is None:
        stats = term_stats(store, set().union(*terms.values()))
    firsts = store.first_sources(cluster_ids)
    infos = {}
    for c, rows in by_cluster.items():
        if not rows:
            store.delete_cluster(c)
            continue
        vecs = unit(np.vstack([from_blob(r["embedding"]) for r in rows]))
        centroid = vecs.sum(axis=0)
        order = central_order(vecs, [r["title"] for r in rows], [r["lead"] or "" for r in rows],
                              [(r["date"], r["id"]) for r in rows], [kept[r["id"]][0] for r in rows])
        central = next((rows[i] for i in order if names_something(rows[i]["title"], stats)), rows[order[0]])
        dates = sorted(r["date"] for r in rows)
        subj = cluster_subject(rows, central, stats)
        store.save_cluster(c, title=central["title"], first_date=dates[0], last_date=dates[-1], size=len(rows),
                           sources=len({r["source"] for r in rows}), centroid=to_blob(centroid), subject=subj,
                           terms=encode_terms(terms[c]), first_source=firsts.get(c))
        infos[c] = ClusterInfo(c, centroid, to_day(dates[0]), to_day(dates[-1]), subject=subj, terms=terms[c])
    return infos


def name_clusters(store: Store, cid: int) -> None:
    """Give a subject to clusters made before clusters had subjects (an archive from an older Pulse)."""
    unnamed = store.unnamed_clusters()
    if unnamed:
        refresh_clusters(store, cid, unnamed)


def encode_terms(terms: frozenset[str]) -> str:
    """A cluster's terms as stored, with the version of the code that read them."""
    return json.dumps({"v": TERMS_VERSION, "terms": sorted(terms)}, ensure_ascii=False)


def decode_terms(stored: str | None) -> frozenset[str] | None:
    """Stored terms, or None where there are none or another version of the code read them."""
    data = json.loads(stored) if stored else None
    return frozenset(data["terms"]) if data and data.get("v") == TERMS_VERSION else None


def _stored(store: Store, rows: list[dict[str, Any]]) -> tuple[list[ClusterInfo], dict[str, int]]:
    """Stored clusters as thread attachment sees them (terms, specific links), and the links' frequencies.
    Terms are read from the clusters' stories only where none are stored for this code (and then stored)."""
    terms = {r["id"]: decode_terms(r.get("terms")) for r in rows}
    missing = [c for c, t in terms.items() if t is None]
    if missing:
        texts = store.cluster_terms_text(missing)
        terms.update({c: terms_of(texts.get(c, [])) for c in missing})
        store.set_cluster_terms({c: encode_terms(terms[c]) for c in missing})
    links = store.cluster_links([r["id"] for r in rows])
    df = store.link_df(sorted({u for us in links.values() for u in us}))
    return [ClusterInfo(r["id"], from_blob(r["centroid"]), to_day(r["first_date"]), to_day(r["last_date"]),
                        frozenset(links.get(r["id"], ())), r["thread_id"], r["subject"] or "",
                        terms[r["id"]]) for r in rows], df


def _older(store: Store, fresh: list[ClusterInfo], config: ClusterConfig
           ) -> tuple[list[ClusterInfo], dict[str, int], dict[str, str]]:
    """The clusters of the threads tonight's clusters may join, the frequencies of the links they share with
    tonight's clusters, and the threads' subjects. A thread is read (its clusters of the last
    `thread_window_days`) only where one of its clusters is recent enough for the oldest new cluster to join
    it (`thread_quiet_days`): `attach_threads` looks at no other. Only the links tonight's clusters cite are
    read (attachment only asks which links a cluster shares with a thread), and no terms (it reads the new
    clusters' only). The clusters keep the order of the whole window's, so ties fall as they did."""
    first = min(c.first_day for c in fresh)
    skip = {c.id for c in fresh}
    # a day early: stored dates compare as text, whatever their zone (reading more threads changes nothing)
    rows = [r for r in store.clusters_since(from_day(first - config.thread_window_days),
                                            from_day(first - config.thread_quiet_days - 1)) if r["id"] not in skip]
    links = store.cluster_links(sorted(skip))
    for c in fresh:
        c.links = frozenset(links.get(c.id, ()))
    urls = sorted({u for c in fresh for u in c.links})
    cited = store.clusters_citing(urls)
    older = [ClusterInfo(r["id"], from_blob(r["centroid"]), to_day(r["first_date"]), to_day(r["last_date"]),
                         frozenset(cited.get(r["id"], ())), r["thread_id"], r["subject"] or "") for r in rows]
    return older, store.link_df(urls), {r["thread_id"]: r["thread_subject"] for r in rows if r["thread_subject"]}


def specificity(store: Store, subjects: set[str], config: ClusterConfig):
    """A test of whether a subject is specific: few of the archive's stories name it (its rarest form)."""
    stats = term_stats(store, subjects | {head(w) for s in subjects for w in s.split()} - {""})
    limit = max(10.0, config.subject_max_share * stats.docs)  # a small archive: every name is specific

    def specific(subject: str) -> bool:
        """Judged by the form `mentions` matches: a compound by its head when it has one."""
        words = [w for w in subject.split() if w not in GENERIC] or subject.split()
        dfs = [max(stats.df.get(w, 0), stats.df.get(head(w), 0) if head(w) else 0) for w in words]
        return min(dfs, default=0) <= limit  # every word must be present: the rarest bounds how many do
    return specific


def _thread(store: Store, fresh: list[ClusterInfo], older: list[ClusterInfo], link_df: dict[str, int],
            config: ClusterConfig, subjects: dict[str, str]) -> dict[str, str]:
    """Attach fresh clusters to threads and store the result; returns cluster -> thread."""
    named = {c.subject for c in fresh + older} | set(subjects.values())
    threads = attach_threads(fresh, older, config, link_df, subjects, specificity(store, named - {""}, config))
    for c, t in threads.items():
        store.set_thread(c, t)
    return threads


def cluster_stories(store: Store, config: ClusterConfig = ClusterConfig(), backend: str | None = None) -> dict:
    """Cluster what is new since the last run. Returns counts for the run report."""
    started = time.perf_counter()
    report = {"stories": 0, "clusters_new": 0, "clusters_grown": 0, "threads_new": 0, "threads_extended": 0,
              "related": 0}
    cid = store.collection_id(COLLECTION)
    if cid is None:
        return report
    mark = [started]

    def lap(part: str) -> None:  # where the stage's time goes, in the report: terms_ms, read_ms, assign_ms...
        now = time.perf_counter()
        report[f"{part}_ms"] = report.get(f"{part}_ms", 0) + int((now - mark[0]) * 1000)
        mark[0] = now

    with store.transaction():
        full = store.needs_full("cluster")  # an archive whose markers are not known: look at all of it once
        count_terms(store)
        name_clusters(store, cid)
        lap("terms")
        # stories of theirs were deleted by a re-split or an edit
        stale = store.clusters_out_of_date(everything=full or store.needs_full("stale"))
        if stale:
            refresh_clusters(store, cid, stale)
        rows = store.stories_to_cluster(cid, everything=full)
        if not rows:
            _done(store)
            return report
        left = store.drop_memberships([r["id"] for r in rows])
        made: dict[str, str] = {}  # tonight's stories are read as they are now
        new_refs = _refs(store, rows, config, made)
        days = [r.day for r in new_refs]
        old_rows = store.clustered_between(cid, from_day(min(days) - config.window_days),
                                           from_day(max(days) + config.window_days))
        seen = {r["id"] for r in old_rows}  # and earlier tellings: older stories citing the same specific link
        for r in store.clustered_citing(cid, sorted({u for ref in new_refs for u in ref.links})):
            if r["id"] not in seen:
                seen.add(r["id"])
                old_rows.append(r)
        old_refs = _refs(store, old_rows, config)
        stats = term_stats(store, {t for r in new_refs + old_refs for t in r.terms})
        new_vecs = np.vstack([from_blob(r["embedding"]) for r in rows])
        dim = new_vecs.shape[1]
        old_vecs = np.vstack([from_blob(r["embedding"]) for r in old_rows]) if old_rows else np.zeros((0, dim))
        evidence = Evidence()
        lap("read")
        labels = assign(new_refs, new_vecs, old_refs, old_vecs, [r["cluster_id"] for r in old_rows], config, backend,
                        stats=stats, evidence=evidence)
        lap("assign")
        existed = store.existing_clusters(sorted(set(labels)))
        store.set_memberships([(r["id"], lab, r["embedded_hash"], evidence.why.get(r["id"]), made.get(r["id"]))
                               for r, lab in zip(rows, labels)])
        store.save_related(evidence.related)
        infos = refresh_clusters(store, cid, sorted(set(labels) | set(left)), stats)
        fresh = [infos[c] for c in sorted(set(labels) - existed)]
        grown = sorted(set(labels) & existed)
        report.update(stories=len(rows), clusters_new=len(fresh), clusters_grown=len(grown),
                      related=len(evidence.related))
        moved = store.cluster_threads(grown)  # threads whose clusters grew tonight
        lap("write")
        if fresh:
            older, link_df, subjects = _older(store, fresh, config)
            threads = _thread(store, fresh, older, link_df, config, subjects)
            known = {c.thread_id for c in older}
            report.update(threads_new=len(set(threads.values()) - known),
                          threads_extended=len(set(threads.values()) & known))
            moved |= set(threads.values())
            store.refresh_threads(sorted(moved))
            store.set_thread_subjects(_new_subjects(fresh, threads, subjects))
        else:
            store.refresh_threads(sorted(moved))
        _done(store)
        lap("thread")
    report["ms"] = int((time.perf_counter() - started) * 1000)
    return report


def _done(store: Store) -> None:
    """Every story and cluster the stage had due is clustered and refreshed (with the rest of its work, in its
    transaction): including those its own regrouping marked."""
    store.clear_due("cluster")
    store.clear_due("stale")


def _new_subjects(fresh: list[ClusterInfo], threads: dict[str, str], known: dict[str, str]) -> dict[str, str]:
    """A new thread is named by the subject of the cluster that started it."""
    out: dict[str, str] = {}
    for c in sorted(fresh, key=lambda c: (c.first_day, c.id)):
        t = threads[c.id]
        if t not in known and t not in out:
            out[t] = c.subject
    return out


def rethread(store: Store, config: ClusterConfig = ClusterConfig()) -> dict:
    """Build every thread again from the stored clusters with the current rules, oldest cluster first.
    Clusters made before clusters had subjects get theirs first. Thread ids derive from the cluster that
    starts them, so a thread whose start did not change keeps its id."""
    started = time.perf_counter()
    with store.transaction():
        before = {r["id"]: r["thread_id"] for r in store.all_clusters()}
        count_terms(store)
        cid = store.collection_id(COLLECTION)
        if cid is not None:
            name_clusters(store, cid)
        store.clear_threads()
        clusters, link_df = _stored(store, [{**r, "thread_id": None} for r in store.all_clusters()])
        threads = _thread(store, clusters, [], link_df, config, {})
        store.refresh_threads(sorted(set(threads.values())))
        store.set_thread_subjects(_new_subjects(clusters, threads, {}))
    changed = sum(before.get(c) != t for c, t in threads.items())
    return {"clusters": len(clusters), "threads": len(set(threads.values())), "changed": changed,
            "ms": int((time.perf_counter() - started) * 1000)}
