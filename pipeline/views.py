"""Read-side views of the archive: a story with its Cited By, a thread's timeline, the threads active lately."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from .cluster_stage import decode_terms, term_stats
from .dates import to_day
from .embed import COLLECTION
from .store import Store
from .terms import TermStats, lead_of, terms_of

# words that say a step confirms or contradicts what came before (read from its titles and leads)
# ("ask questions of your CSV" or "trails" in a tool's listing doubts nothing: only doubt itself counts)
_CONTRADICT = re.compile(r"\b(fail(s|ed)? to (replicate|reproduce)|falls? short|(do|does|did) not hold|"
                         r"disput(e[sd]?|ing)|contradict\w*|den(y|ies|ied)|question(s|ed|ing)? (the|whether|its|their|[\w.-]+['’]s)|"
                         r"call(s|ed)? into question|debunk\w*|retract\w*|walk(s|ed)? back|cannot reproduce|"
                         r"trails? (behind|rivals|competitors|the))\b", re.I)
_CONFIRM = re.compile(r"\b(confirm\w*|replicat(es|ed)|reproduc(es|ed)|verif(y|ies|ied)|holds? up|"
                      r"officially|now available|ships?|shipped|released)\b", re.I)


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
    reason = store.membership_reason(card["id"])
    card["joined_because"] = reason or ("it started the cluster" if card["cluster_id"] else None)
    card["related"] = [r for r in store.related_to(card["id"]) if r["story_id"] != card["id"]]
    return card


def thread_view(store: Store, thread_id: str) -> dict[str, Any]:
    """A thread's subject and timeline: each cluster with its date, sources and what changed against the
    steps before it — names and numbers not seen before, and whether it confirms or contradicts."""
    cid = store.collection_id(COLLECTION)
    clusters = store.thread_clusters(thread_id)
    by_cluster: dict[str, list[dict[str, Any]]] = {}
    for r in store.cluster_stories(cid, [c["id"] for c in clusters]) if cid else []:  # one query, not one a cluster
        by_cluster.setdefault(r["cluster_id"], []).append(r)
    steps = [(c, by_cluster.get(c["id"], [])) for c in clusters]
    # each cluster's terms as the cluster stage stored them (of the same stories), read again only where this
    # code's terms.py did not store them
    stored = store.stored_terms([c["id"] for c in clusters])
    terms = [(decode_terms(stored.get(c["id"])) if rows else None) or terms_of((r["title"], r["lead"]) for r in rows)
             for c, rows in steps]
    stats = term_stats(store, set().union(*terms)) if terms else TermStats()
    seen: set[str] = set()
    timeline = []
    for n, ((c, rows), mine) in enumerate(zip(steps, terms)):
        fresh = mine - seen
        names = sorted((t for t in fresh if " " not in t and stats.name_like(t) > 0.5 and not _number(t)),
                       key=lambda t: (-stats.idf(t), t))[:5]
        numbers = sorted(t for t in fresh if " " not in t and _number(t))[:5]
        text = " ".join(f"{r['title']} {lead_of(r['lead'])}" for r in rows)
        claim = None if n == 0 else "contradicts" if _CONTRADICT.search(text) else \
            "confirms" if _CONFIRM.search(text) else None
        seen |= mine
        timeline.append({"cluster_id": c["id"], "title": c["title"], "subject": c.get("subject"),
                         "first_date": c["first_date"], "last_date": c["last_date"], "size": c["size"],
                         "sources": sorted({r["source"] for r in rows}),
                         "new_names": names if n else [], "new_numbers": numbers if n else [], "claim": claim,
                         "added": (names + numbers)[:8] if n else [],
                         "stories": [r["id"] for r in rows],
                         "items": [{"id": r["id"], "title": r["title"], "source": r["source"], "date": r["date"]}
                                   for r in rows]})
    subject = store.thread_subject(thread_id)
    return {"id": thread_id, "subject": subject, "timeline": timeline}


def _number(term: str) -> bool:
    return any(ch.isdigit() for ch in term)


def active_threads(store: Store, days: int) -> tuple[str | None, list[dict[str, Any]]]:
    """(the newest story's date, threads that moved within `days` of it); every thread when the archive is empty."""
    newest = store.newest_story_date()
    since = None
    if newest:
        since = (datetime.fromisoformat(newest) - timedelta(days=days)).isoformat(timespec="seconds")
    return newest, store.thread_rows(since)
