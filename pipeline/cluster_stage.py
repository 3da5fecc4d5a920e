"""The nightly clustering stage: new (or edited) stories into clusters, new clusters into threads.

Incremental: only stories without a cluster (or whose text changed since) are looked at, against the
archive's stories within the cluster window, and new clusters against clusters of the last
`thread_window_days`. All of it is one transaction, so a crash leaves the previous night intact and a
rerun does the same work again with the same ids.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from .cluster import ClusterConfig, ClusterInfo, StoryRef, assign, attach_threads, unit
from .embed import COLLECTION, from_blob, to_blob
from .store import Store

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def to_day(date: str) -> float:
    d = datetime.fromisoformat(date)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return (d - EPOCH).total_seconds() / 86400


def from_day(day: float) -> str:
    return (EPOCH + timedelta(days=day)).isoformat(timespec="seconds")


def _refs(store: Store, rows: list[dict[str, Any]], config: ClusterConfig) -> list[StoryRef]:
    links = store.links_of([r["id"] for r in rows])
    df = store.link_df(sorted({u for us in links.values() for u in us}))
    return [StoryRef(r["id"], r["issue_id"], r["source"], to_day(r["date"]),
                     tuple(u for u in links.get(r["id"], []) if df.get(u, 0) <= config.max_link_df),
                     (r["embedded_hash"] or b"").hex()[:16]) for r in rows]


def refresh_clusters(store: Store, cid: int, cluster_ids: list[str]) -> dict[str, ClusterInfo]:
    """Recompute each cluster's centroid, dates, size and title (its member closest to the centroid)."""
    by_cluster: dict[str, list[dict[str, Any]]] = {c: [] for c in cluster_ids}
    for r in store.cluster_stories(cid, cluster_ids):
        by_cluster[r["cluster_id"]].append(r)
    infos = {}
    for c, rows in by_cluster.items():
        if not rows:
            store.delete_cluster(c)
            continue
        vecs = unit(np.vstack([from_blob(r["embedding"]) for r in rows]))
        centroid = vecs.sum(axis=0)
        central = rows[int(np.argmax(vecs @ centroid))]
        dates = sorted(r["date"] for r in rows)
        store.save_cluster(c, title=central["title"], first_date=dates[0], last_date=dates[-1], size=len(rows),
                           sources=len({r["source"] for r in rows}), centroid=to_blob(centroid))
        infos[c] = ClusterInfo(c, centroid, to_day(dates[0]), to_day(dates[-1]))
    return infos


def cluster_stories(store: Store, config: ClusterConfig = ClusterConfig(), backend: str | None = None) -> dict:
    """Cluster what is new since the last run. Returns counts for the run report."""
    started = time.perf_counter()
    report = {"stories": 0, "clusters_new": 0, "clusters_grown": 0, "threads_new": 0, "threads_extended": 0}
    cid = store.collection_id(COLLECTION)
    if cid is None:
        return report
    with store.db.atomic():
        stale = store.clusters_out_of_date()  # stories of theirs were deleted by a re-split or an edit
        if stale:
            refresh_clusters(store, cid, stale)
        rows = store.stories_to_cluster(cid)
        if not rows:
            return report
        left = store.drop_memberships([r["id"] for r in rows])
        new_refs = _refs(store, rows, config)
        days = [r.day for r in new_refs]
        old_rows = store.clustered_between(cid, from_day(min(days) - config.window_days),
                                           from_day(max(days) + config.window_days))
        old_refs = _refs(store, old_rows, config)
        new_vecs = np.vstack([from_blob(r["embedding"]) for r in rows])
        dim = new_vecs.shape[1]
        old_vecs = np.vstack([from_blob(r["embedding"]) for r in old_rows]) if old_rows else np.zeros((0, dim))
        labels = assign(new_refs, new_vecs, old_refs, old_vecs, [r["cluster_id"] for r in old_rows], config, backend)
        existed = store.existing_clusters(sorted(set(labels)))
        store.set_memberships([(r["id"], lab, r["embedded_hash"]) for r, lab in zip(rows, labels)])
        infos = refresh_clusters(store, cid, sorted(set(labels) | set(left)))
        fresh = [infos[c] for c in sorted(set(labels) - existed)]
        grown = sorted(set(labels) & existed)
        report.update(stories=len(rows), clusters_new=len(fresh), clusters_grown=len(grown))
        moved = store.cluster_threads(grown)  # threads whose clusters grew tonight
        if fresh:
            since = from_day(min(c.first_day for c in fresh) - config.thread_window_days)
            fresh_ids = {c.id for c in fresh}
            older = [ClusterInfo(r["id"], from_blob(r["centroid"]), to_day(r["first_date"]), to_day(r["last_date"]),
                                 thread_id=r["thread_id"]) for r in store.clusters_since(since)
                     if r["id"] not in fresh_ids]
            links = store.cluster_links([c.id for c in fresh + older])
            df = store.link_df(sorted({u for us in links.values() for u in us}))
            for c in fresh + older:
                c.links = frozenset(links.get(c.id, ()))
            threads = attach_threads(fresh, older, config, df)
            known = {c.thread_id for c in older}
            for c, t in threads.items():
                store.set_thread(c, t)
            report.update(threads_new=len(set(threads.values()) - known),
                          threads_extended=len(set(threads.values()) & known))
            moved |= set(threads.values())
        store.refresh_threads(sorted(moved))
    report["ms"] = int((time.perf_counter() - started) * 1000)
    return report


def story_view(store: Store, sid: str) -> dict[str, Any] | None:
    """A story with its cluster, thread and Cited By: the other issues and sources that carry the same
    news (relation 'cluster') or the same subject (relation 'thread'), who had it first and the lag."""
    card = store.story_card(sid)
    if card is None:
        return None
    related = store.related_stories(card["cluster_id"], card["thread_id"])
    cluster_first = next((r for r in related if r["relation"] == "cluster"), None)
    first = related[0] if related else None
    here = to_day(card["date"])
    card["cited_by"] = [
        {"story_id": r["story_id"], "source": r["source"], "date": r["date"], "title": r["title"],
         "issue_id": r["issue_id"], "issue_title": r["issue_title"], "relation": r["relation"],
         "lag_days": round(to_day(r["date"]) - here, 1)}
        for r in related if r["story_id"] != card["id"] and r["issue_id"] != card["issue_id"]]
    card["first_mention"] = ({"story_id": cluster_first["story_id"], "source": cluster_first["source"],
                              "date": cluster_first["date"]} if cluster_first else None)
    card["lag_days"] = round(here - to_day(cluster_first["date"]), 1) if cluster_first else 0.0
    card["thread_first_mention"] = ({"story_id": first["story_id"], "source": first["source"],
                                     "date": first["date"]} if first else None)
    return card


def thread_view(store: Store, thread_id: str) -> dict[str, Any]:
    """A thread's timeline: each cluster with its date, sources and what it added (terms not seen before)."""
    cid = store.collection_id(COLLECTION)
    clusters = store.thread_clusters(thread_id)
    seen: set[str] = set()
    timeline = []
    for c in clusters:
        rows = store.cluster_stories(cid, [c["id"]]) if cid else []
        words = set()
        for r in rows:
            words |= {w.strip(".,:;()\"'").lower() for w in r["title"].split()}
        added = sorted(w for w in words - seen if len(w) > 3)[:8]
        seen |= words
        timeline.append({"cluster_id": c["id"], "title": c["title"], "first_date": c["first_date"],
                         "last_date": c["last_date"], "size": c["size"],
                         "sources": sorted({r["source"] for r in rows}), "added": added,
                         "stories": [r["id"] for r in rows],
                         "items": [{"id": r["id"], "title": r["title"], "source": r["source"], "date": r["date"]}
                                   for r in rows]})
    return {"id": thread_id, "timeline": timeline}
