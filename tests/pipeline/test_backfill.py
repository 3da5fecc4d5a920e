"""Backfilling an HTML archive: index pages, pagination, issue pages, --since."""
from __future__ import annotations

from datetime import datetime, timezone

from pipeline.ingest import ingest_source
from pipeline.store import Store
from sources import SourceConfig
from sources.fetch import Fetcher, FetchPolicy
from tests.conftest import Reply


def page(title, date, body):
    return (f'<html><head><title>{title}</title><meta property="article:published_time" content="{date}"></head>'
            f'<body><nav><a href="/p/nav">About</a></nav><article><h1>{title}</h1>{body}</article></body></html>').encode()


def issue_body(n):
    return (f'<p><strong>Headline number {n} about models<br></strong><em>…a dek…<br></em>Story text {n}. '
            f'<a href="https://paper.example.org/{n}">paper</a></p><h6></h6>'
            f'<p><strong>Second headline of issue {n}<br></strong><em>…another dek…<br></em>More text.</p>')


def test_backfill_follows_pages_until_since_and_skips_known(feed_server, tmp_path):
    s = feed_server
    s.route("/archive", Reply(body=f'<a href="{s.url("/p/i4")}">4</a><a href="/p/i3">3</a>'
                                   f'<a rel="next" href="/archive/2">Older</a>'.encode()))
    s.route("/archive/2", Reply(body=b'<a href="/p/i2">2</a><a href="/p/i1">1</a><a rel="next" href="/archive/3">Older</a>'))
    s.route("/archive/3", Reply(body=b'<a href="/p/i0">0</a>'))
    for n, date in enumerate(["2026-08-01", "2026-09-01", "2026-10-01", "2026-10-15", "2026-11-01"]):
        s.route(f"/p/i{n}", Reply(body=page(f"Issue {n}", date + "T10:00:00Z", issue_body(n))))
    cfg = SourceConfig("arch", "html", s.url("/archive"), {"segmenter": "importai", "link_pattern": r"/p/i\d"})
    fetcher = Fetcher(FetchPolicy(host_delay=0, retries=0))
    with Store(tmp_path / "p.db") as store:
        rep = ingest_source(store, cfg, fetcher, since=datetime(2026, 9, 15, tzinfo=timezone.utc))
        assert rep.ok, rep.error
        titles = [r[0] for r in store.db.execute("SELECT title FROM issues ORDER BY published")]
        assert titles == ["Issue 2", "Issue 3", "Issue 4"]
        assert s.hits["/archive/3"] == 0  # stopped once issues were older than --since
        assert store.count("stories") == 6
        rep2 = ingest_source(store, cfg, fetcher, since=datetime(2026, 9, 15, tzinfo=timezone.utc))
        assert rep2.ok and rep2.issues_new == 0
        assert s.hits["/p/i4"] == 1  # known pages are not fetched again


def test_an_archive_page_stored_as_it_is_is_not_parsed_again(feed_server, tmp_path):
    from sources import make_source
    from sources.base import Fetched

    url = feed_server.route("/p/i1", Reply(body=page("Issue 1", "2026-10-01T10:00:00Z", issue_body(1))))
    cfg = SourceConfig("arch", "html", feed_server.url("/archive"), {"segmenter": "importai"})
    fetcher = Fetcher(FetchPolicy(host_delay=0, retries=0))
    with Store(tmp_path / "p.db") as store:
        store.ensure_source(cfg.name, cfg.kind, cfg.url)
        source = make_source(cfg)
        doc = Fetched(fetcher.get(url), url, role="page")
        (issue,) = source.parse(doc)
        assert issue.entry_hash and store.save_issue(issue) == "new"
        stored = store.entry_hashes("arch")
        source.unchanged = lambda guid, digest: stored.get(guid) == digest
        assert source.parse(doc) == [] and source.skipped == 1
        feed_server.route("/p/i1", Reply(body=page("Issue 1", "2026-10-01T10:00:00Z", issue_body(1) + "<p>PS.</p>")))
        assert len(source.parse(Fetched(fetcher.get(url), url, role="page"))) == 1 and source.skipped == 1
