"""The digests: one per publication day (the clusters with a story published that day, ranked; threads that
moved; open "Watch for" items), tonight's with the older issues that arrived late; and the Atom feed.

A day is a UTC publication day: `pulse digest --date 2023-09-28` gives the news published that day, as
the archive knew it by the end of that day (briefs of clusters that grew later are rebuilt as they
were), so the same day gives the same file however much later it is written. A night's run writes the
digest of every day its new issues were published on (a backfill of 30 days gives 30 digests); the
newest of them is the night's digest, and it also lists the older issues that arrived with it.
"""
from __future__ import annotations

import re
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
from .watch import shown as _shown, status_on

WATCH_DAYS = 30
RANK_KINDS_LAST = ("notice", "fiction")


class _Days:
    """A run of whole UTC days, `length` of them from `first_day`: stories of [start, end), read as of the
    last second of its last day."""

    first_day: Date
    length: int

    @property
    def start(self) -> str:
        return f"{self.first_day.isoformat()}T00:00:00+00:00"

    @property
    def end(self) -> str:
        return f"{(self.first_day + timedelta(days=self.length)).isoformat()}T00:00:00+00:00"

    @property
    def as_of(self) -> str:
        return f"{(self.first_day + timedelta(days=self.length - 1)).isoformat()}T23:59:59+00:00"


@dataclass
class Night(_Days):
    date: str
    length = 1

    @property
    def first_day(self) -> Date:
        return Date.fromisoformat(self.date)

    @classmethod
    def parse(cls, text: str | None) -> "Night":
        if not text:
            return cls(datetime.now(timezone.utc).date().isoformat())
        try:
            return cls(Date.fromisoformat(text).isoformat())
        except ValueError:
            raise ValueError(f"--date {text!r} is not a date like 2026-11-24") from None


@dataclass(frozen=True)
class Week(_Days):
    """An ISO week (Monday to Sunday, UTC): the weekly digest's window."""

    label: str  # 2023-W40
    length = 7

    @property
    def monday(self) -> Date:
        year, week = self.label.split("-W")
        return Date.fromisocalendar(int(year), int(week), 1)

    first_day = monday

    @property
    def date(self) -> str:
        return self.label

    @property
    def days(self) -> list[str]:
        return [(self.monday + timedelta(days=n)).isoformat() for n in range(7)]

    @classmethod
    def of(cls, day: str) -> "Week":
        year, week, _ = Date.fromisoformat(day[:10]).isocalendar()
        return cls(f"{year}-W{week:02d}")

    @classmethod
    def parse(cls, text: str) -> "Week":
        m = re.fullmatch(r"(\d{4})-?W(\d{1,2})", text.strip(), re.I)
        try:
            if not m:
                raise ValueError
            return cls.of(Date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1).isoformat())
        except ValueError:
            raise ValueError(f"--week {text!r} is not an ISO week like 2023-W40") from None


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _rank_key(b: Brief) -> tuple:
    # at the same score, a story a cap held down (a bare listing, a promotion) comes after the uncapped news
    capped = any("at most" in r for r in b.impact_reasons)
    return (-b.impact_score, capped, -len(b.sources), -b.signals.get("stories", 1), -_stamp(b.date), b.cluster_id)


def _stamp(date: str) -> float:
    return _when(date).timestamp()


def briefs_as_of(store: Store, briefer: Briefer, cluster_ids: list[str], night: Night) -> list[Brief]:
    """The briefs as they stood at the end of that day: the stored ones where nothing in their cluster was
    published later, nor anything they cite against its claim, the others rebuilt from what was published
    by then."""
    stored = {c: load_brief(r) for c, r in store.briefs(cluster_ids).items()}
    newest = store.last_published(cluster_ids)
    keep = [c for c in cluster_ids if c in stored and newest.get(c, "") <= night.as_of
            and all(x["date"] <= night.as_of for x in stored[c].counter)]
    redo = [c for c in cluster_ids if c not in keep]
    slugs = {c: b.slug for c, b in stored.items()}
    rebuilt = make_briefs(briefer, inputs(store, redo, night.as_of), slugs) if redo else []
    return [stored[c] for c in keep] + rebuilt


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
    watch = _watch(store, briefer, night)
    counts = store.day_counts(night.start, night.end)
    counts["clusters"] = len(briefs)
    late = _late(store, night, arrived) if arrived else []
    item = lambda b: {"b": b}  # noqa: E731
    markdown = briefer.templates.page(
        "digest.md.j2", date=night.date, items=[item(b) for b in top], low=[item(b) for b in low],
        fiction=[item(b) for b in fiction], threads=moved, more_threads=more_threads, counts=counts,
        more=more, late=late, **watch)
    info = {"date": night.date, "clusters": len(briefs), "top": len(top), "threads_moved": len(moved) + more_threads,
            "watchlist": len(watch["watchlist"]), "resolved": len(watch["resolved"]), "newest": counts["newest"], "late_days": len(late)}
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
    for r in store.thread_steps(sorted(tonight), night.as_of):  # no text: which clusters, the first story
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


def _watch(store: Store, briefer: Briefer, night: Night, most: int = 12) -> dict[str, list[dict[str, Any]]]:
    """The day's watch-for items, as they stood at its end: resolved by a story of that day, still open
    (opened in the last weeks, the highest-ranked briefs first), and expired that day unresolved."""
    day = night.date
    yesterday = (Date.fromisoformat(day) - timedelta(days=1)).isoformat()
    since = (Date.fromisoformat(day) - timedelta(days=WATCH_DAYS)).isoformat()
    recent = [w for w in store.watch_items(opened=(since, night.end)) if status_on(w, day) == "open"]
    recent.sort(key=lambda w: (-w["impact_score"], w["opened"], w["id"]))
    # an item's horizon ends with its `expires` day: it is reported expired on the day after
    expired = [w for w in store.watch_items(expiring=(yesterday, day)) if status_on(w, day) == "expired"]
    resolved = store.watch_items(resolved=(night.start, night.end))
    worded = _as_worded(store, briefer, night, [*resolved[:most * 2], *recent[:most * 3], *expired[:most]])
    return {"resolved": worded(resolved)[:most * 2], "watchlist": worded(recent)[:most], "expired": worded(expired)[:most]}


def _as_worded(store: Store, briefer: Briefer, period: Any, rows: list[dict[str, Any]]):
    """Items as the briefs of the period's end worded them (a brief rewritten later, when its thread grew,
    may watch for something else: a past digest shows what it said then, and drops what it did not say)."""
    then = {b.cluster_id: b for b in briefs_as_of(store, briefer, sorted({w["cluster_id"] for w in rows}), period)}

    def worded(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for w in items:
            b = then.get(w["cluster_id"])
            said = next((x for x in (b.watch if b else []) if x["event"] == w["event"]), None)
            if said:
                out.append({**_shown(w), "text": said["text"], "title": b.title, "slug": b.slug})
        return out
    return worded


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
                base_url: str | None = None, weekly_day: str = "monday",
                since: tuple[str, int] | None = None, run_started: str | None = None) -> dict[str, Any]:
    """A night's digests, one per publication day of the issues that arrived today (a backfill writes one per
    day it covers), and the weekly digests of the weeks they complete (`weeks_to_write`). The night's own
    digest is its newest day's (today's when nothing arrived): it also lists the older issues that arrived
    with it. `since` (the time and `store.issue_mark()` an earlier run took when it wrote its digests): the
    other days are written only where something arrived after it (a second run on the day of a backfill
    does not write the backfill's days again; the night's own digest is the same one, and is not e-mailed
    twice). `run_started`: when this run began; a run that began before midnight counts what it brought
    before midnight as tonight's too (a cron run at 23:58 that reaches its digest after midnight). Returns
    that one's info, with `days` written and the `weeks` (labels)."""
    arrived = (min(today.start, run_started) if run_started else today.start, today.end)
    days = store.days_arrived(*arrived)
    fresh = store.days_arrived(*arrived, after=since) if since and since[0] >= arrived[0] else days
    newest = Night(max(days)) if days else today
    for day in fresh:
        if day != newest.date:
            write(store, briefer, out_dir, Night(day), max_items=max_items, feed=False)
    info = write(store, briefer, out_dir, newest, max_items=max_items, base_url=base_url, arrived=arrived)
    weeks = [write_week(store, briefer, out_dir, w, max_items=max_items, base_url=base_url)["week"]
             for w in weeks_to_write(fresh, today, weekly_day)]
    return {**info, "days": len(set(fresh) | {newest.date}), "weeks": weeks}


def build_week(store: Store, briefer: Briefer, week: Week, *, max_items: int = 25) -> tuple[str, dict[str, Any]]:
    """The weekly digest: the week's top stories (as the archive knew them at its end), the threads that
    moved, the watch-for items resolved and expired that week, and each day's digest."""
    cids = store.clusters_published(week.start, week.end)
    briefs = sorted(briefs_as_of(store, briefer, cids, week), key=_rank_key)
    top = [b for b in briefs if b.impact in ("high", "medium") and b.kind not in RANK_KINDS_LAST][:max_items]
    moved, more_threads = _threads_moved(store, briefs, week)
    last, before = week.days[-1], (week.monday - timedelta(days=1)).isoformat()
    resolved = store.watch_items(resolved=(week.start, week.end))
    expired = [w for w in store.watch_items(expiring=(before, last)) if status_on(w, last) == "expired"]
    worded = _as_worded(store, briefer, week, [*resolved, *expired])
    resolved, expired = worded(resolved), worded(expired)
    days = [{"day": d, **store.day_counts(f"{d}T00:00:00+00:00", Night(d).end)} for d in week.days]
    counts = {"clusters": len(briefs), "issues": sum(d["issues"] for d in days),
              "sources": sorted({s for d in days for s in d["sources"]})}
    markdown = briefer.templates.page(
        "weekly.md.j2", week=week.label, first=week.days[0], last=last, items=[{"b": b} for b in top],
        threads=moved, more_threads=more_threads, resolved=resolved[:max_items], more_resolved=max(0, len(resolved) - max_items),
        expired=expired[:max_items], more_expired=max(0, len(expired) - max_items), days=days, counts=counts)
    info = {"week": week.label, "clusters": len(briefs), "top": len(top), "threads_moved": len(moved) + more_threads,
            "resolved": len(resolved), "expired": len(expired)}
    return markdown, info


def write_week(store: Store, briefer: Briefer, out_dir: Path, week: Week, *, max_items: int = 25,
               base_url: str | None = None) -> dict[str, Any]:
    """Write digest-YYYY-Www.md, keep it in the database, refresh the weekly Atom feed (weekly.xml)."""
    markdown, info = build_week(store, briefer, week, max_items=max_items)
    path = out_dir / f"digest-{week.label}.md"
    write_text(path, markdown)
    store.save_digest(week.label, markdown, info["clusters"], week.as_of)
    write_text(out_dir / "weekly.xml", atom(store, out_dir, base_url, weekly=True))
    return {**info, "path": str(path)}


def weeks_to_write(days: list[str], today: Night, weekly_day: str) -> list[Week]:
    """The weeks a night writes: every week its arrivals were published in that has ended by today, and on
    the configured weekday the week just ended."""
    weeks = {Week.of(d) for d in days if Week.of(d).end <= today.end}
    if WEEKDAYS[Date.fromisoformat(today.date).weekday()] == weekly_day:
        weeks.add(Week.of((Date.fromisoformat(today.date) - timedelta(days=7)).isoformat()))
    return sorted(weeks, key=lambda w: w.label)


def atom(store: Store, out_dir: Path, base_url: str | None = None, limit: int = 30, *, weekly: bool = False) -> str:
    """An Atom feed of the latest daily digests (feed.xml) or weekly ones (weekly.xml), content as sanitised
    HTML."""
    base = safe_url(base_url.rstrip("/") + "/") if base_url else None
    fg = FeedGenerator()
    fg.id("urn:pulse:weekly" if weekly else "urn:pulse:digests")
    fg.title("Pulse weekly" if weekly else "Pulse digests")
    fg.subtitle("The week in AI newsletters" if weekly else "What the newsletters said, every night")
    fg.link(href=(base or out_dir.resolve().as_uri() + "/") + ("weekly.xml" if weekly else "feed.xml"), rel="self")
    fg.language("en")
    rows = store.digests(limit, weekly=weekly)
    fg.updated(_when(rows[0]["updated"]) if rows else datetime(1970, 1, 1, tzinfo=timezone.utc))
    for row in reversed(rows):
        entry = fg.add_entry()
        entry.id(f"urn:pulse:digest:{row['date']}")
        entry.title(f"Pulse {'weekly' if weekly else 'digest'} · {row['date']} ({row['clusters']} stories)")
        entry.link(href=(base or out_dir.resolve().as_uri() + "/") + f"digest-{row['date']}.md")
        entry.updated(_when(row["updated"]))
        entry.content(to_html(row["markdown"]), type="html")
    return fg.atom_str(pretty=True).decode("utf-8")


def _when(stamp: str) -> datetime:
    d = datetime.fromisoformat(stamp)
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)
