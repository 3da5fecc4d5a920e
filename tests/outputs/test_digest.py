"""Digests by publication day, past days written as they were, the Atom feed, and the CLI around them."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import feedparser
import pytest
from click.testing import CliRunner

from outputs import digest
from outputs.markdown import escape_md
from pipeline.cli import main

from tests.archive import build_archive

TODAY = datetime.now(timezone.utc).date().isoformat()


DAYS = ["2026-11-02", "2026-11-03", "2026-11-04", "2026-11-10", "2026-11-16", "2026-11-18", "2026-11-19"]


@pytest.fixture(scope="module")
def tonight(archive):
    """The night the whole sample arrived: a digest per publication day; the newest is the night's and lists
    the older ones."""
    store, briefer, out = archive
    info = digest.write_night(store, briefer, out, digest.Night.parse(None))
    return info, (out / f"digest-{DAYS[-1]}.md").read_text("utf-8")


def day_text(archive, day: str) -> str:
    return (archive[2] / f"digest-{day}.md").read_text("utf-8")


def test_a_night_writes_the_digest_of_every_publication_day_it_brought(archive, tonight):
    store, briefer, out = archive
    info, text = tonight
    assert info["days"] == len(DAYS) and info["date"] == DAYS[-1]
    assert sorted(p.name for p in out.glob("digest-????-??-??.md")) == sorted(f"digest-{d}.md" for d in DAYS)
    # and each week they complete: Nov 2-8, 9-15, 16-22 (ended before today)
    assert {"2026-W45", "2026-W46", "2026-W47"} <= set(info["weeks"])
    assert all((out / f"digest-{w}.md").is_file() for w in info["weeks"])
    assert sum(d["clusters"] for d in store.digests(100)) >= store.count("clusters")
    # the night's digest (its newest day) lists the older issues that arrived with it, each day with its digest
    late = text.split("## Arrived tonight, published earlier")[1]
    assert all(f"(digest-{d}.md)" in late for d in DAYS[:-1])
    # rebuilding the same days gives the same files, byte for byte
    before = {d: day_text(archive, d) for d in DAYS}
    digest.write_night(store, briefer, out, digest.Night.parse(None))
    assert {d: day_text(archive, d) for d in DAYS} == before


def test_a_run_that_reaches_its_digest_after_midnight_still_writes_what_it_brought(archive, tonight, tmp_path):
    from datetime import timedelta

    store, briefer, _ = archive
    began = store.db.execute("SELECT min(first_seen) FROM issues").fetchone()[0]  # the run that brought them
    tomorrow = digest.Night((datetime.fromisoformat(began) + timedelta(days=1)).date().isoformat())
    # a run that began today and reaches its digest tomorrow writes the days it brought
    late = digest.write_night(store, briefer, tmp_path / "late", tomorrow, run_started=began)
    assert late["days"] == len(DAYS) and late["date"] == DAYS[-1]
    # a run that began tomorrow brought none of it
    fresh = digest.write_night(store, briefer, tmp_path / "fresh", tomorrow)
    assert fresh["days"] == 1 and fresh["date"] == tomorrow.date and fresh["clusters"] == 0


def test_a_days_digest_ranks_its_clusters_by_impact(archive, tonight):
    store, briefer, _ = archive
    text = day_text(archive, "2026-11-02")
    night = digest.Night("2026-11-02")
    as_then = digest.briefs_as_of(store, briefer, store.clusters_published(night.start, night.end), night)
    by_title = {escape_md(b.title): b for b in as_then}
    top = re.findall(r"^### \d+\. (.+)$", text, re.M)
    assert len(top) >= 2
    scores = [by_title[t].impact_score for t in top]
    assert scores == sorted(scores, reverse=True)
    assert all(by_title[t].impact in ("high", "medium") for t in top)
    order = [text.find(h) for h in ("## Top stories", "## Also on this day", "## Fiction")]
    assert -1 not in order and order == sorted(order)


def test_every_digest_link_leads_to_a_page(archive, tonight):
    _, _, out = archive
    for day in DAYS:
        links = re.findall(r"\]\((stories/[^)]+)\)", day_text(archive, day))
        assert links and all((out / link).is_file() for link in links), day


def test_threads_that_moved_and_the_watchlist(archive, tonight):
    text = day_text(archive, "2026-11-18")
    moved = text.split("## Threads that moved")[1].split("##")[0]
    assert "Hyperion" in moved
    watch = text.split("## Watchlist")[1].split("##")[0]
    assert "A reply from the makers of Hyperion-7B" in watch  # the replication's open question, as of Nov 18
    assert "A reply from Lumen Labs" not in watch  # the launch's: resolved on Nov 16
    resolved = day_text(archive, "2026-11-16").split("## Watch-for resolved")[1].split("\n## ")[0]
    assert re.search(r"Resolved after 14 days: A reply from Lumen Labs .* — \[Independent replication finds "
                     r"Hyperion-7B's scores do not hold up\]\(stories/[^)]+\.md\) in gradient-notes", resolved)


def test_atom_feed_of_digests(archive, tonight):
    _, _, out = archive
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo and feed.feed.title == "Pulse digests"
    assert {f"urn:pulse:digest:{d}" for d in DAYS} <= {e.id for e in feed.entries}
    entry = next(e for e in feed.entries if e.id == "urn:pulse:digest:2026-11-02")
    html = entry.content[0].value
    assert "<h2>Top stories</h2>" in html and "<script" not in html
    assert all(h.startswith(("http://", "https://", "stories/", "digest-")) for h in re.findall(r'href="([^"]*)"', html))


def test_a_past_day_is_written_as_the_archive_knew_it_that_day(tmp_path, embedder):
    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "out")
    with store:
        first, info = digest.build(store, briefer, digest.Night("2026-11-04"))
        assert info["clusters"] > 0
        # the replication (published Nov 16) had not happened yet: no brief of that day cites it
        assert "Independent replication" not in first and "replication falls short" not in first
        assert "Early users question" not in first
        assert "## Threads that moved" not in first  # nothing had moved yet
        again, _ = digest.build(store, briefer, digest.Night("2026-11-04"))
        assert again == first  # the same file whenever it is rebuilt
        later, _ = digest.build(store, briefer, digest.Night("2026-11-18"))
        assert "## Threads that moved" in later and "Hyperion" in later.split("## Threads that moved")[1]
        empty, info = digest.build(store, briefer, digest.Night("2026-11-12"))
        assert info["clusters"] == 0 and "Nothing was published on 2026-11-12." in empty


def test_cli_run_writes_the_digest_and_rebuilds_a_night(pulse_dirs):
    _, data = pulse_dirs
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--sample", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["brief"]["briefed"] == report["brief"]["total"] > 0
    path = data / "sample" / "digests" / "digest-2026-11-18.md"  # the newest day the sample brought
    assert report["digest"]["path"] == str(path) and path.is_file()
    # the sample's six issues were published on six days: a digest each
    assert report["digest"]["days"] == 6 and (path.parent / "digest-2026-11-02.md").is_file()
    day = runner.invoke(main, ["digest", "--sample", "--date", "2026-11-02", "--json"], catch_exceptions=False)
    assert json.loads(day.stdout)["clusters"] > 0
    again = json.loads(runner.invoke(main, ["run", "--sample", "--json"], catch_exceptions=False).stdout)
    assert again["brief"]["briefed"] == 0
    old = runner.invoke(main, ["digest", "--sample", "--date", "2020-01-01", "--json"], catch_exceptions=False)
    assert json.loads(old.stdout)["clusters"] == 0
    bad = runner.invoke(main, ["digest", "--sample", "--date", "yesterday"])
    assert bad.exit_code == 2 and "not a date" in bad.output and "Traceback" not in bad.output


def test_cli_brief_prints_a_story_brief(pulse_dirs):
    runner = CliRunner()
    runner.invoke(main, ["run", "--sample", "--json"], catch_exceptions=False)
    threads = json.loads(runner.invoke(main, ["threads", "--sample", "--json"], catch_exceptions=False).stdout)
    sid = threads[0]["timeline"][0]["stories"][0]
    page = runner.invoke(main, ["brief", "--sample", sid[:10]], catch_exceptions=False).stdout
    assert page.startswith("# ") and "## What Skeptics Say" in page
    data = json.loads(runner.invoke(main, ["brief", "--sample", sid, "--json"], catch_exceptions=False).stdout)
    assert data["impact"] in ("low", "medium", "high") and data["what_happened"]


def test_a_backfill_of_30_days_gives_30_dated_digests_identical_on_a_rebuild(feed_server, pulse_dirs, monkeypatch):
    from datetime import date, timedelta

    from importlib import import_module

    from tests.conftest import Reply
    from tests.feeds import rss, story_html

    # both runs within one second (the clock has one-second steps): the second still knows what is new
    store_module, app_module = import_module("pipeline.store"), import_module("pipeline.app")  # app loads lazily
    stamp = store_module.now()
    monkeypatch.setattr(store_module, "now", lambda: stamp)
    monkeypatch.setattr(app_module, "now", lambda: stamp)
    config, data = pulse_dirs
    days = [date(2026, 10, 1) + timedelta(days=n) for n in range(30)]
    items = [{"title": f"Daily issue {d}", "link": f"https://daily.example.org/p/{d}",
              "date": d.strftime("%a, %d %b %Y 09:00:00 +0000"),
              "html": story_html((f"Quillfish ships version {n} of its notes tool", f"Release {n} adds tickets.",
                                  f"https://quillfish.example.com/{n}"),
                                 (f"Orrery lab posts paper {n} on sparse routing", f"A study of routing, part {n}.",
                                  f"https://arxiv.org/abs/2610.{n:05d}"))} for n, d in enumerate(days)]
    url = feed_server.route("/feed", Reply(body=rss(*items, title="Daily")))
    config.mkdir(parents=True)
    (config / "sources.toml").write_text("")
    runner = CliRunner()
    assert runner.invoke(main, ["sources", "add", "daily", url]).exit_code == 0
    report = json.loads(runner.invoke(main, ["run", "--json"], catch_exceptions=False).stdout)
    assert report["digest"]["days"] == 30 and report["digest"]["date"] == days[-1].isoformat()
    out = data / "digests"
    written = {d.isoformat(): (out / f"digest-{d}.md").read_text("utf-8") for d in days}
    assert all("2 stories from 1 newsletter issue published that day (daily)" in t for t in written.values())
    assert all(t.startswith(f"# Pulse digest · {d}") for d, t in written.items())
    night = written[days[-1].isoformat()].split("## Arrived tonight, published earlier")[1]
    assert f"(digest-{days[0]}.md)" in night and f"(digest-{days[-2]}.md)" in night
    for d in days:  # each day rebuilt on its own gives the same file, byte for byte
        again = json.loads(runner.invoke(main, ["digest", "--date", d.isoformat(), "--json"],
                                         catch_exceptions=False).stdout)
        if d != days[-1]:
            assert (out / f"digest-{d}.md").read_text("utf-8") == written[d.isoformat()], d
        assert again["clusters"] >= 1
    # the weeks the backfill covers, each with its weekly digest, byte-identical on a rebuild
    weeks = ["2026-W40", "2026-W41", "2026-W42", "2026-W43", "2026-W44"]
    assert set(weeks) <= set(report["digest"]["weeks"])
    weekly = {w: (out / f"digest-{w}.md").read_text("utf-8") for w in weeks}
    assert re.match(r"# Pulse weekly · 2026-W41\n\n2026-10-05 to 2026-10-11: \d+ stories from 7 newsletter issues \(daily\)",
                    weekly["2026-W41"])
    assert all(f"(digest-2026-10-{d:02d}.md)" in weekly["2026-W41"] for d in range(5, 12))
    assert "(digest-2026-09-28.md)" not in weekly["2026-W40"] and "2026-09-28: nothing published" in weekly["2026-W40"]
    again = runner.invoke(main, ["digest", "--week", "2026-W41", "--json"], catch_exceptions=False)
    assert json.loads(again.stdout)["week"] == "2026-W41"
    assert (out / "digest-2026-W41.md").read_text("utf-8") == weekly["2026-W41"]
    feed = feedparser.parse((out / "weekly.xml").read_bytes())
    assert {e.title.split(" · ")[1].split(" ")[0] for e in feed.entries} >= set(weeks)
    assert not any("W" in e.title for e in feedparser.parse((out / "feed.xml").read_bytes()).entries)
    bad = runner.invoke(main, ["digest", "--week", "2026-W60"])
    assert bad.exit_code == 2 and "is not an ISO week like 2023-W40" in bad.output
    # a second run the same day with nothing new writes no backfilled day again, only the night's own
    stamps = {d: (out / f"digest-{d}.md").stat().st_mtime_ns for d in days[:-1]}
    second = json.loads(runner.invoke(main, ["run", "--json"], catch_exceptions=False).stdout)
    assert second["digest"]["days"] == 1 and second["digest"]["date"] == days[-1].isoformat()
    assert {d: (out / f"digest-{d}.md").stat().st_mtime_ns for d in days[:-1]} == stamps
    assert (out / f"digest-{days[-1]}.md").read_text("utf-8") == written[days[-1].isoformat()]  # the same night


def test_at_equal_score_a_story_a_cap_held_down_ranks_after_the_news(archive):
    import dataclasses

    from outputs.brief_stage import load_brief

    store = archive[0]
    a, b = [load_brief(r) for r in list(store.briefs().values())[:2]]
    news = dataclasses.replace(a, impact_score=0, impact_reasons=["no signal raises it (0)"], sources=["x"],
                               cluster_id="b", date=a.date, signals={"stories": 1})
    listing = dataclasses.replace(b, impact_score=0, sources=["x"], cluster_id="a", date=a.date,
                                  signals={"stories": 1}, impact_reasons=[
        "a release (+1)", "a one-line listing from one newsletter, of something few earlier stories name, "
        "with no weights, code or API: at most low (-1)"])
    for order in ([news, listing], [listing, news]):
        assert sorted(order, key=digest._rank_key)[0] is news
