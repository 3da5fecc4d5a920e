"""The digests: one per publication day (the clusters with a story published that day, ranked; threads that
moved; open "Watch for" items), tonight's with the older issues that arrived late; and the Atom feed.

A day is a UTC publication day: `pulse digest --date 2023-09-28` gives the news published that day, as
the archive knew it by the end of that day (briefs of clusters that grew later are rebuilt as they
were), so the same day gives the same file however much later it is written. A night's run writes the
digest of every day its new issues were published on (a backfill of 30 days gives 30 digests); the
newest of them is the night's digest, and it also lists the older issues that arrived with it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date as Date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from feedgen.feed import FeedGenerator

from pipeline.store import Store
from pipeline.views import thread_view

from .brief import Brief
from .brief_stage import Briefer, inputs, load_brief, make_briefs, write_text
from .markdown import safe_url, to_html

WATCH_DAYS = 30
RANK_KINDS_LAST = ("notice", "fiction")


@dataclass
class Night:
    date: str

    @property
    def start(self) -> str:
        return f"{self.date}T00:00:00+00:00"

    @property
    def end(self) -> str:
        return f"{(Date.fromisoformat(self.date) + timedelta(days=1)).isoformat()}T00:00:00+00:00"

    @property
    def as_of(self) -> str:
        return f"{self.date}T23:59:59+00:00"

    @classmethod
    def parse(cls, text: str | None) -> "Night":
        if not text:
            return cls(datetime.now(timezone.utc).date().isoformat())
        try:
            return cls(Date.fromisoformat(text).isoformat())
        except ValueError:
            raise ValueError(f"--date {text!r} is not a date like 2026-11-24") from None


def _rank_key(b: Brief) -> tuple:
    return (-b.impact_score, -len(b.sources), -b.signals.get("stories", 1), -_stamp(b.date), b.cluster_id)


def _stamp(date: str) -> float:
    return _when(date).timestamp()


def briefs_as_of(store: Store, briefer: Briefer, cluster_ids: list[str], night: Night) -> list[Brief]:
    """The briefs as they stood at the end of that day: the stored ones where nothing in their cluster or
    thread was published later, the others rebuilt from what was published by then."""
    stored = store.briefs(cluster_ids)
    newest = store.last_published(cluster_ids)
    keep = [c for c in cluster_ids if c in stored and newest.get(c, "") <= night.as_of]
    redo = [c for c in cluster_ids if c not in keep]
    slugs = {c: r["slug"] for c, r in stored.items()}
    rebuilt = make_briefs(briefer, inputs(store, redo, night.as_of), slugs) if redo else []
    return [load_brief(stored[c]) for c in keep] + rebuilt


def build(store: Store, briefer: Briefer, night: Night, *, max_items: int = 25,
          arrived: tuple[str, str] | None = None) -> tuple[str, dict[str, Any]]:
    """The digest of one publication day: markdown and what it holds (for the run report). With `arrived`
    (tonight's window of first sight), the older issues that arrived in it are listed too."""
    cids = store.clusters_published(night.start, night.end)
    briefs = sorted(briefs_as_of(store, briefer, cids, night), key=_rank_key)
    fiction = [b for b in briefs if b.kind == "fiction"]
    main = [b for b in briefs if b.kind != "fiction"]
    top = [b for b in main if b.impact in ("high", "medium") and b.kind not in RANK_KINDS_LAST][:max_items]
    rest = [b for b in main if b not in top]
    low, more = rest[:max_items * 2], max(0, len(rest) - max_items * 2)

    moved, more_threads = _threads_moved(store, briefs, night)
    watch = _watchlist(store, briefer, night)
    counts = store.day_counts(night.start, night.end)
    counts["clusters"] = len(briefs)
    late = _late(store, night, arrived) if arrived else []
    item = lambda b: {"b": b}  # noqa: E731
    markdown = briefer.templates.page(
        "digest.md.j2", date=night.date, items=[item(b) for b in top], low=[item(b) for b in low],
        fiction=[item(b) for b in fiction], threads=moved, more_threads=more_threads, watchlist=watch, counts=counts,
        more=more, late=late)
    info = {"date": night.date, "clusters": len(briefs), "top": len(top), "threads_moved": len(moved) + more_threads,
            "watchlist": len(watch), "newest": counts["newest"], "late_days": len(late)}
    return markdown, info


def _late(store: Store, night: Night, arrived: tuple[str, str], most: int = 30) -> list[dict[str, Any]]:
    """Older issues that arrived tonight, by publication day (newest first): each day's digest has them."""
    days: dict[str, dict[str, Any]] = {}
    for r in store.late_arrivals(*arrived, before=night.start):
        d = days.setdefault(r["day"], {"day": r["day"], "sources": [], "issues": 0, "stories": 0})
        d["sources"].append(r["source"])
        d["issues"] += r["issues"]
        d["stories"] += r["stories"]
    out = sorted(days.values(), key=lambda d: d["day"], reverse=True)
    if len(out) > most:
        rest = out[most:]
        out = out[:most] + [{"day": "", "sources": sorted({s for d in rest for s in d["sources"]}),
                             "issues": sum(d["issues"] for d in rest), "stories": sum(d["stories"] for d in rest),
                             "days": len(rest), "first": rest[-1]["day"], "last": rest[0]["day"]}]
    return out


def _threads_moved(store: Store, briefs: list[Brief], night: Night, most: int = 15) -> tuple[list[dict[str, Any]], int]:
    """The threads that moved tonight, longest first, with what the night's step added; at most `most` of
    them (and how many more moved)."""
    tonight: dict[str, list[str]] = {}
    for b in briefs:
        if b.thread_id:
            tonight.setdefault(b.thread_id, []).append(b.title)
    rows: dict[str, list[dict]] = {}
    for r in store.thread_members(sorted(tonight), night.as_of):
        rows.setdefault(r["thread_id"], []).append(r)
    moved = []
    for tid, titles in tonight.items():
        clusters = {r["cluster_id"] for r in rows.get(tid, [])}
        if len(clusters) >= 2:
            moved.append((tid, titles, clusters))
    moved.sort(key=lambda m: (-len(m[2]), m[0]))
    out = []
    for tid, titles, clusters in moved[:most]:
        first = min(rows[tid], key=lambda r: (r["date"], r["id"]))
        view = thread_view(store, tid)
        steps = [c for c in view["timeline"] if c["cluster_id"] in clusters]
        step = steps[-1] if steps else None
        changed = ", ".join(step["new_names"] + step["new_numbers"]) if step else ""
        if step and step["claim"]:
            changed = f"{changed}; {step['claim']} what came before" if changed else f"{step['claim']} what came before"
        out.append({"id": tid, "title": first["title"], "first_date": first["date"], "clusters": len(clusters),
                    "subject": view["subject"], "changed": changed, "tonight": sorted(titles)[:5],
                    "tonight_more": max(0, len(titles) - 5)})
    return out, len(moved) - len(out)


def _watchlist(store: Store, briefer: Briefer, night: Night, most: int = 12) -> list[dict[str, Any]]:
    """Open "Watch for" items of the last weeks (by publication), as they stood that day: those whose thread
    has not moved since they were written, the highest-ranked first."""
    since = (Date.fromisoformat(night.date) - timedelta(days=WATCH_DAYS)).isoformat() + "T00:00:00+00:00"
    ranked = store.briefs(store.clusters_published(since, night.end))
    candidates = sorted(ranked, key=lambda c: (-ranked[c]["impact_score"], c))[:most * 2]  # stored rank first
    briefs = [b for b in briefs_as_of(store, briefer, candidates, night) if b.watch_for]
    later: dict[str, str] = {}
    for r in store.thread_members(sorted({b.thread_id for b in briefs if b.thread_id}), night.as_of):
        later[r["thread_id"]] = max(later.get(r["thread_id"], ""), r["date"])
    open_items = [b for b in briefs if not b.thread_id or later.get(b.thread_id, "") <= _last_date(b)]
    open_items.sort(key=_rank_key)
    return [{"watch_for": b.watch_for, "title": b.title, "slug": b.slug, "date": b.date} for b in open_items[:most]]


def _last_date(b: Brief) -> str:
    return max([b.date, *(c["date"] for c in b.cited_by if c["relation"] == "cluster")])


def write(store: Store, briefer: Briefer, out_dir: Path, night: Night, *, max_items: int = 25,
          base_url: str | None = None, arrived: tuple[str, str] | None = None, feed: bool = True) -> dict[str, Any]:
    """Write digest-YYYY-MM-DD.md for one publication day, keep it in the database, refresh the Atom feed."""
    markdown, info = build(store, briefer, night, max_items=max_items, arrived=arrived)
    path = out_dir / f"digest-{night.date}.md"
    write_text(path, markdown)
    store.save_digest(night.date, markdown, info["clusters"], info["newest"] or night.start)
    if feed:
        write_text(out_dir / "feed.xml", atom(store, out_dir, base_url))
    return {**info, "path": str(path)}


def write_night(store: Store, briefer: Briefer, out_dir: Path, today: Night, *, max_items: int = 25,
                base_url: str | None = None) -> dict[str, Any]:
    """A night's digests, one per publication day of the issues that arrived today (a backfill writes one per
    day it covers). The night's own digest is its newest day's (today's when nothing arrived): it also lists
    the older issues that arrived with it. Returns that one's info, with `days` written."""
    arrived = (today.start, today.end)
    days = store.days_arrived(*arrived)
    newest = Night(max(days)) if days else today
    for day in days:
        if day != newest.date:
            write(store, briefer, out_dir, Night(day), max_items=max_items, feed=False)
    info = write(store, briefer, out_dir, newest, max_items=max_items, base_url=base_url, arrived=arrived)
    return {**info, "days": len(set(days) | {newest.date})}


def atom(store: Store, out_dir: Path, base_url: str | None = None, limit: int = 30) -> str:
    """An Atom feed of the latest digests (feedgen), content as sanitised HTML."""
    base = safe_url(base_url.rstrip("/") + "/") if base_url else None
    fg = FeedGenerator()
    fg.id("urn:pulse:digests")
    fg.title("Pulse digests")
    fg.subtitle("What the newsletters said, every night")
    fg.link(href=(base or out_dir.resolve().as_uri() + "/") + "feed.xml", rel="self")
    fg.language("en")
    rows = store.digests(limit)
    fg.updated(_when(rows[0]["updated"]) if rows else datetime(1970, 1, 1, tzinfo=timezone.utc))
    for row in reversed(rows):
        entry = fg.add_entry()
        entry.id(f"urn:pulse:digest:{row['date']}")
        entry.title(f"Pulse digest · {row['date']} ({row['clusters']} stories)")
        entry.link(href=(base or out_dir.resolve().as_uri() + "/") + f"digest-{row['date']}.md")
        entry.updated(_when(row["updated"]))
        entry.content(to_html(row["markdown"]), type="html")
    return fg.atom_str(pretty=True).decode("utf-8")


def _when(stamp: str) -> datetime:
    d = datetime.fromisoformat(stamp)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
