"""Ingest against a real HTTP server: every failure is contained, nothing is lost or duplicated."""
from __future__ import annotations

import pytest

from pipeline.ingest import ingest
from pipeline.store import Store
from sources import SourceConfig
from sources.fetch import Fetcher, FetchPolicy
from tests.conftest import Reply
from tests.feeds import rss, story_html

ISSUE_1 = {"title": "Issue 1", "link": "https://feed.example.org/p/1",
           "html": story_html(("Alpha ships", "Alpha shipped a model today.", "https://alpha.example.com"),
                              ("Beta raises", "Beta raised money.", "https://beta.example.com"))}
ISSUE_2 = {"title": "Issue 2", "link": "https://feed.example.org/p/2", "date": "Mon, 09 Nov 2026 12:00:00 +0000",
           "html": story_html(("Gamma paper", "Gamma wrote a paper about decoding.", "https://gamma.example.com"))}


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "pulse.db") as s:
        yield s


@pytest.fixture
def fetcher():
    return Fetcher(FetchPolicy(read_timeout=0.5, deadline=2, retries=1, backoff=0.01, host_delay=0, max_bytes=50_000))


def cfg(name, url, **options):
    return SourceConfig(name=name, kind="rss", url=url, options=options)


def test_ingest_then_rerun_adds_nothing_and_uses_304(feed_server, store, fetcher):
    url = feed_server.route("/feed", Reply(body=rss(ISSUE_1, ISSUE_2), etag='"e1"',
                                           headers={"Content-Type": "application/rss+xml"}))
    first = ingest(store, [cfg("t", url)], fetcher)
    assert (first.total("issues_new"), first.total("stories")) == (2, 3)
    counts = store.counts()
    second = ingest(store, [cfg("t", url)], fetcher)
    assert second.sources[0].not_modified and second.total("issues_new") == 0
    assert store.counts() == counts
    assert store.source_row("t")["etag"] == '"e1"'


def test_edited_issue_updates_in_place(feed_server, store, fetcher):
    url = feed_server.route("/feed", Reply(body=rss(ISSUE_1)))
    ingest(store, [cfg("t", url)], fetcher)
    ids_before = [s["id"] for s in store.iter_stories()]
    edited = dict(ISSUE_1, html=ISSUE_1["html"].replace("Beta raised money.", "Beta raised $5m."))
    feed_server.route("/feed", Reply(body=rss(edited)))
    report = ingest(store, [cfg("t", url)], fetcher)
    assert report.total("issues_updated") == 1
    rows = list(store.iter_stories())
    assert [s["id"] for s in rows] == ids_before
    assert "Beta raised $5m." in rows[1]["text"] and store.count("issues") == 1


def test_an_unchanged_entry_is_recognised_before_it_is_parsed(feed_server, store, fetcher, monkeypatch):
    import sources.models

    url = feed_server.route("/feed", Reply(body=rss(ISSUE_1, ISSUE_2)))  # no validators: the whole feed again
    ingest(store, [cfg("t", url)], fetcher)
    edited = dict(ISSUE_2, html=ISSUE_2["html"].replace("about decoding", "about speculative decoding"))
    feed_server.route("/feed", Reply(body=rss(ISSUE_1, edited)))
    again = ingest(store, [cfg("t", url)], fetcher).sources[0]
    assert (again.issues_skipped, again.issues_unchanged, again.issues_updated) == (1, 1, 1)
    assert "speculative decoding" in " ".join(s["text"] for s in store.iter_stories())
    counts = store.counts()
    third = ingest(store, [cfg("t", url)], fetcher).sources[0]
    assert (third.issues_skipped, third.issues_unchanged, third.issues_updated, third.issues_new) == (2, 2, 0, 0)
    assert store.counts() == counts
    monkeypatch.setattr(sources.models, "_CODE", "another version of the splitting code")
    upgraded = ingest(store, [cfg("t", url)], fetcher).sources[0]
    assert (upgraded.issues_skipped, upgraded.issues_unchanged) == (0, 2)  # parsed again, same stories
    assert ingest(store, [cfg("t", url)], fetcher).sources[0].issues_skipped == 2


def test_a_changed_segmenter_parses_again(feed_server, store, fetcher):
    url = feed_server.route("/feed", Reply(body=rss(ISSUE_1)))
    ingest(store, [cfg("t", url)], fetcher)
    report = ingest(store, [cfg("t", url, segmenter="importai")], fetcher).sources[0]
    assert report.issues_skipped == 0


def test_a_broken_source_never_affects_the_others(feed_server, store, fetcher):
    good = feed_server.route("/good", Reply(body=rss(ISSUE_1)))
    configs = [
        cfg("malformed", feed_server.route("/bad", Reply(body=b"<rss><channel><item><title>oops</channel"))),
        cfg("html-not-feed", feed_server.route("/page", Reply(body=b"<html><body>hello</body></html>",
                                                              headers={"Content-Type": "text/html"}))),
        cfg("down", feed_server.route("/down", Reply(status=500))),
        cfg("slow", feed_server.route("/slow", Reply(body=rss(ISSUE_2), delay=1.2))),
        cfg("huge", feed_server.route("/huge", Reply(body=b"x" * 60_000))),
        cfg("good", good),
    ]
    report = ingest(store, configs, fetcher)
    errors = {s.name: s.error for s in report.sources}
    assert errors["good"] is None and report.sources[-1].issues_new == 1
    assert errors["malformed"].startswith("malformed feed:")
    assert errors["html-not-feed"].startswith(("not a feed", "malformed feed"))
    assert errors["down"] == f"HTTP 500 from {feed_server.url('/down')} after 2 attempts"
    assert "timed out" in errors["slow"]
    assert "50,000-byte cap" in errors["huge"]
    assert all("\n" not in e for e in errors.values() if e)
    row = store.source_row("down")
    assert row["consecutive_errors"] == 1 and row["last_error"] == errors["down"] and row["last_ok"] is None
    ingest(store, configs, fetcher)
    assert store.source_row("down")["consecutive_errors"] == 2
    assert store.count("issues") == 1


def test_latin1_feed_keeps_its_accents(feed_server, store, fetcher):
    item = {"title": "Café des modèles", "link": "https://fr.example.org/p/1",
            "html": story_html(("Über-modèle à Zürich", "Le modèle façonné à Zürich coûte 5 francs, dit-on.",
                                "https://fr.example.org/a"))}
    body = rss(item, encoding="ISO-8859-1")
    assert "é".encode("latin-1") in body
    url = feed_server.route("/fr", Reply(body=body, headers={"Content-Type": "application/xml"}))
    ingest(store, [cfg("fr", url)], fetcher)
    story = next(store.iter_stories())
    assert story["title"] == "Über-modèle à Zürich"
    assert "façonné" in story["text"]
    assert store.db.execute("SELECT title FROM issues").fetchone()[0] == "Café des modèles"


def test_hostile_entry_is_neutralised(feed_server, store, fetcher):
    item = {"title": "<script>alert(1)</script>Hostile", "link": "https://evil.example.org/p/1",
            "html": '<h2>Click <img src=x onerror=alert(2)>me</h2><p>Text <a href="javascript:alert(3)">bad</a> '
                    '<a href="https://ok.example.org/x">good</a><script>steal()</script>'
                    '<iframe src="https://evil.example.org"></iframe></p>'}
    url = feed_server.route("/evil", Reply(body=rss(item)))
    ingest(store, [cfg("evil", url)], fetcher)
    issue = store.db.execute("SELECT title, html FROM issues").fetchone()
    story = next(store.iter_stories())
    blob = " ".join([issue[0], issue[1], story["title"], story["text"], story["markdown"]])
    for bad in ("<script", "steal()", "onerror", "javascript:", "<iframe"):
        assert bad not in blob
    assert [l["url"] for l in store.story_links(story["id"])] == ["https://ok.example.org/x"]


def test_crash_mid_issue_leaves_no_half_issue_and_rerun_finishes(feed_server, store, fetcher, monkeypatch):
    url = feed_server.route("/feed", Reply(body=rss(ISSUE_1, ISSUE_2), etag='"v"'))
    real_insert_all = store.db["links"].__class__.insert_all
    calls = {"n": 0}

    def exploding_insert_all(self, records, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 2:  # second story of the first issue
            raise OSError("disk I/O error (simulated)")
        return real_insert_all(self, records, *a, **kw)

    monkeypatch.setattr(store.db["links"].__class__, "insert_all", exploding_insert_all)
    report = ingest(store, [cfg("t", url)], fetcher)
    assert report.sources[0].error.endswith("disk I/O error (simulated)")
    assert store.count("issues") == 0 and store.count("stories") == 0 and store.count("links") == 0
    assert store.source_row("t")["etag"] is None  # not marked fetched: the rerun must not get a 304
    monkeypatch.undo()
    again = ingest(store, [cfg("t", url)], fetcher)
    assert again.total("issues_new") == 2 and store.count("stories") == 3
    assert store.db.execute("SELECT count(*) FROM (SELECT url FROM links GROUP BY story_id, url HAVING count(*) > 1)").fetchone()[0] == 0
