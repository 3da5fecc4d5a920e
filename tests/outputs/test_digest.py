"""The nightly digest, past nights rebuilt as they were, the Atom feed, and the CLI around them."""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import feedparser
import pytest
from click.testing import CliRunner

from outputs import digest
from outputs.brief_stage import load_brief
from outputs.markdown import escape_md
from pipeline.cli import main

from tests.archive import build_archive

TODAY = datetime.now(timezone.utc).date().isoformat()


@pytest.fixture(scope="module")
def tonight(archive):
    store, briefer, out = archive
    info = digest.write(store, briefer, out, digest.Night.parse(None))
    return info, (out / f"digest-{TODAY}.md").read_text("utf-8")


def test_digest_ranks_the_nights_clusters_by_impact(archive, tonight):
    store, _, _ = archive
    info, text = tonight
    assert info["clusters"] == store.count("clusters")
    by_title = {escape_md(b.title): b for b in (load_brief(r) for r in store.briefs().values())}
    top = re.findall(r"^### \d+\. (.+)$", text, re.M)
    assert top and len(top) == info["top"]
    scores = [by_title[t].impact_score for t in top]
    assert scores == sorted(scores, reverse=True)
    assert all(by_title[t].impact in ("high", "medium") for t in top)
    order = [text.find(h) for h in ("## Top stories", "## Also tonight", "## Threads that moved", "## Watchlist",
                                    "## Fiction")]
    assert -1 not in order and order == sorted(order)


def test_every_digest_link_leads_to_a_page(archive, tonight):
    _, _, out = archive
    links = re.findall(r"\]\((stories/[^)]+)\)", tonight[1])
    assert links and all((out / link).is_file() for link in links)


def test_threads_that_moved_and_the_watchlist(tonight):
    text = tonight[1]
    moved = text.split("## Threads that moved")[1].split("##")[0]
    assert "Hyperion" in moved
    watch = text.split("## Watchlist")[1].split("##")[0]
    assert "a second replication" in watch  # the replication's open question
    assert "Independent results for Hyperion-7B" not in watch  # answered: the thread moved on since


def test_atom_feed_of_digests(archive, tonight):
    _, _, out = archive
    feed = feedparser.parse((out / "feed.xml").read_bytes())
    assert not feed.bozo and feed.feed.title == "Pulse digests"
    entry = next(e for e in feed.entries if e.id == f"urn:pulse:digest:{TODAY}")
    html = entry.content[0].value
    assert "<h2>Top stories</h2>" in html and "<script" not in html
    assert all(h.startswith(("http://", "https://", "stories/")) for h in re.findall(r'href="([^"]*)"', html))


def test_a_past_night_is_rebuilt_as_pulse_knew_it(tmp_path, embedder):
    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "out")
    with store:
        # pretend the early issues arrived on the night of Nov 5 and the rest a week later
        store.db.execute("UPDATE issues SET first_seen = CASE WHEN published < '2026-11-05' "
                         "THEN '2026-11-05T03:00:00+00:00' ELSE '2026-11-20T03:00:00+00:00' END")
        first, info = digest.build(store, briefer, digest.Night("2026-11-05"))
        assert info["clusters"] > 0
        assert "Independent replication" not in first and "replication falls short" not in first
        assert "## Threads that moved" not in first  # nothing had moved yet
        again, _ = digest.build(store, briefer, digest.Night("2026-11-05"))
        assert again == first  # the same file whenever it is rebuilt
        later, _ = digest.build(store, briefer, digest.Night("2026-11-20"))
        assert "## Threads that moved" in later and "Hyperion" in later.split("## Threads that moved")[1]
        empty, info = digest.build(store, briefer, digest.Night("2026-11-12"))
        assert info["clusters"] == 0 and "Nothing new tonight." in empty


def test_cli_run_writes_the_digest_and_rebuilds_a_night(pulse_dirs):
    _, data = pulse_dirs
    runner = CliRunner()
    result = runner.invoke(main, ["run", "--sample", "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["brief"]["briefed"] == report["brief"]["total"] > 0
    path = data / "sample" / "digests" / f"digest-{TODAY}.md"
    assert report["digest"]["path"] == str(path) and path.is_file()
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
