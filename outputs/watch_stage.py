"""The watch stage: after the briefs, store their watch-for items and settle the ones tonight's stories
resolve (see `outputs/watch.py` for what an item is and what settles it), then rewrite the pages of the
briefs on either side of a resolution.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pipeline.store import Store

from .headline import about
from .brief_stage import Briefer, write_pages
from .watch import Later, derivative, item_rows, later_of, names_subject, settles


def watch_stage(store: Store, briefer: Briefer, out_dir: Path) -> dict[str, Any]:
    report = track(store)
    report["pages"] = write_pages(store, briefer, out_dir, report.pop("affected"))
    return report


def track(store: Store) -> dict[str, Any]:
    """The watch stage: store the items of briefs written or rewritten since it last ran, then settle every
    item a new or changed story might resolve. Deterministic: the earliest story that settles an item wins,
    whatever order the stories arrived in."""
    changed = store.watch_pending()
    briefs = {cid: json.loads(r["data"]) for cid, r in store.briefs(changed).items()}
    rows = [row for cid in changed if cid in briefs for row in item_rows(briefs[cid])]
    reopened, old_resolvers = store.replace_watch_items(changed, rows)
    recheck = set(reopened)  # items whose resolving cluster changed too
    recheck |= {r["id"] for r in rows}
    # items a changed cluster's headline may settle (or settle earlier than the story that did): their
    # subject is named in it
    titles = store.cluster_member_titles(changed)
    by_word: dict[str, list[dict[str, Any]]] = {}
    for item in store.watch_subjects() if titles else []:  # no changed headline settles anything
        words = re.findall(r"\w+", item["subject"].lower())
        if words and item["id"] not in recheck:
            by_word.setdefault(words[0], []).append(item)
    for cid, heads in titles.items():
        first, last = heads[0]["date"], heads[-1]["date"]  # oldest first
        seen = {w for t in heads for w in re.findall(r"\w+", t["title"].lower())}
        for word in seen & by_word.keys():
            for item in by_word[word]:
                if item["since"] < last and first <= min(item["expires"] + "T23:59:59", item["resolved_date"] or "~") and names_subject(
                        item["subject"], [t["title"] for t in heads]):
                    recheck.add(item["id"])
    cache: dict[str, Later | None] = {}
    resolved = 0
    updates = []
    affected = set(changed) | set(old_resolvers)  # pages to rewrite: both ends of every resolution that changed
    for item in store.watch_items(ids=sorted(recheck)):
        found = resolve(store, item, cache)
        updates.append((item["id"], found))
        resolved += bool(found)
        if (found or {}).get("story_id") != item["resolved_story"]:
            affected |= {item["cluster_id"], item["resolved_cluster"], (found or {}).get("cluster_id")}
    store.set_watch_resolutions(updates)
    store.mark_watch_seen(changed)
    return {"briefs": len(changed), "items": len(rows), "checked": len(recheck), "resolved": resolved,
            "affected": sorted(c for c in affected if c)}


_ACTS = r"(?:['’]s\s+\S+\s+)?(?:\w+\s+)?(?:launch|release|unveil|debut|ship|introduce|open-source|roll|announce|" \
        r"opens?|make|add|bring)"


def resolve(store: Store, item: dict[str, Any], cache: dict[str, Later | None]) -> dict[str, Any] | None:
    """The earliest later story that settles this item: {story_id, cluster_id, date, source, title, evidence}.
    A second newsletter is the cluster's own (the clustering decided it is the same story); any other event
    is a later headline about the subject whose brief shows the event."""
    until = item["expires"] + "T23:59:59+00:00"
    if item["event"] == "coverage":
        sources = set(json.loads(item["sources"]))
        for r in store.cluster_stories_between(item["cluster_id"], item["since"], until):
            if r["source"] not in sources:
                return {**r, "cluster_id": item["cluster_id"], "evidence": f"told by {r['source']} too"}
        return None
    for r in store.title_mentions(item["subject"], item["since"], until):
        # a measurement, a ruling or a post-mortem may name the subject anywhere in its headline; a release
        # of something must be about it
        loose = item["event"] in ("replication", "ruling", "postmortem")
        if r["cluster_id"] == item["cluster_id"] or not r["cluster_id"] or not about(item["subject"], r["title"], named=loose):
            continue
        if item["event"] == "release" and not re.match(
                r"\W*" + r"\W{1,3}".join(map(re.escape, re.findall(r"\w+", item["subject"]))) + _ACTS, r["title"], re.I):
            continue  # after a raise: a release the company itself makes
        if r["cluster_id"] not in cache:
            row = store.briefs([r["cluster_id"]]).get(r["cluster_id"])
            cache[r["cluster_id"]] = later_of(json.loads(row["data"])) if row else None
        later = cache[r["cluster_id"]]
        if later is None or (item["event"] != "version" and derivative(item["subject"], later)):
            continue
        why = settles(item["event"], item, later)
        if why:
            return {**r, "evidence": why}
    return None
