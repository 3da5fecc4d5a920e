"""Hostile input against a real HTTP server on 127.0.0.1: no local reads from remote content, no
stalled night, and a bad entry is skipped or repaired alone while the rest of its feed is stored."""
from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.ingest import ingest, ingest_source
from pipeline.store import Store
from sources import SourceConfig
from sources.fetch import Fetcher, FetchError, FetchPolicy
from sources.urls import UrlError, check_url, same_site
from tests.conftest import Reply
from tests.feeds import rss, story_html


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "pulse.db") as s:
        yield s


def quick_fetcher(**kw) -> Fetcher:
    policy = dict(read_timeout=2.0, deadline=5.0, retries=1, backoff=0.01, host_delay=0, max_bytes=5_000_000)
    return Fetcher(FetchPolicy(**{**policy, **kw}))


def fetched_urls(store: Store) -> list[str]:
    return [r[0] for r in store.db.execute("SELECT url FROM fetch_log")]


def item(n: int, **kw) -> dict:
    return {"title": f"Issue {n}", "link": f"https://feed.example.org/p/{n}",
            "html": story_html((f"Story {n} ships", f"Text of story {n}.", f"https://s{n}.example.com")), **kw}


# ---------------------------------------------------------------- local files and other hosts
def test_archive_never_follows_file_or_foreign_links(feed_server, store):
    s = feed_server
    s.route("/archive", Reply(body=(
        '<a rel="next" href="file:///etc/passwd">Older</a>'
        '<a href="file:///etc/hostname">/p/one</a><a href="http://elsewhere.example.org/p/two">2</a>'
        f'<a href="{s.url("/p/three")}">3</a>').encode()))
    s.route("/p/three", Reply(body=b"<html><body><article><h2>Three</h2><p>Text.</p></article></body></html>"))
    cfg = SourceConfig("arch", "html", s.url("/archive"), {"link_pattern": r"/p/"})
    rep = ingest_source(store, cfg, quick_fetcher())
    assert rep.ok, rep.error
    urls = fetched_urls(store)
    assert urls == [s.url("/archive"), s.url("/p/three")]
    assert not any(u.startswith("file:") or "elsewhere" in u for u in urls)


def test_next_page_on_another_host_or_scheme_is_not_followed(feed_server, store):
    s = feed_server
    s.route("/archive", Reply(body=f'<a href="{s.url("/p/1")}">1</a><a rel="next" href="file:///dev/zero">next</a>'
                                   '<a href="https://other.example.org/archive/2">Older posts</a>'.encode()))
    s.route("/p/1", Reply(body=b"<html><body><article><h2>One</h2><p>Text.</p></article></body></html>"))
    rep = ingest_source(store, SourceConfig("arch", "html", s.url("/archive"), {"link_pattern": r"/p/"}),
                        quick_fetcher())
    assert rep.ok and rep.issues_new == 1
    assert s.hits["/archive"] == 1 and len(fetched_urls(store)) == 2


def test_local_device_is_refused_even_where_local_paths_are_allowed(tmp_path):
    f = quick_fetcher()
    with pytest.raises(FetchError, match="not a regular file"):
        f.get("file:///dev/zero", local_ok=True)
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 6_000_000)
    with pytest.raises(FetchError, match="over the 5,000,000-byte cap"):
        f.get(str(big), local_ok=True)
    with pytest.raises(FetchError, match="refused"):
        f.get("/etc/passwd")  # a path that did not come from the user


@pytest.mark.parametrize("url, why", [
    ("http://", "no host"), ("http://[::1", "malformed"), ("http://bad host.example.org/", "space"),
    ("https://x.example.org/" + "a" * 100_000, "over the 2,048 limit"), ("ftp://x.example.org/f", "scheme 'ftp'"),
    ("javascript:alert(1)", "scheme 'javascript'"), ("file:///dev/zero", "local file"), ("/etc/passwd", "local file"),
    ("http://exa_mple..org/", "invalid host"), (5, "must be a string"),
])
def test_url_policy_names_why_a_url_is_refused(url, why):
    with pytest.raises(UrlError, match=why):
        check_url(url)


def test_url_policy_accepts_web_urls_and_hand_written_local_paths():
    assert check_url(" https://importai.substack.com/feed ") == "https://importai.substack.com/feed"
    assert check_url("http://127.0.0.1:8080/feed.xml") and check_url("http://[::1]:80/f")
    assert check_url("/home/me/feed.xml", local_ok=True) == "/home/me/feed.xml"
    assert same_site("https://www.example.org/p/2", "https://example.org/archive")
    assert not same_site("file:///etc/passwd", "https://example.org/archive")


def test_opml_import_refuses_local_and_malformed_entries_with_reasons(pulse_dirs, tmp_path):
    opml = tmp_path / "subs.opml"
    opml.write_text('<?xml version="1.0"?><opml version="2.0"><body>'
                    '<outline text="Good" xmlUrl="https://good.example.org/feed"/>'
                    '<outline text="Zero" xmlUrl="file:///dev/zero"/>'
                    '<outline text="Passwd" xmlUrl="/etc/passwd"/>'
                    '<outline text="Broken" xmlUrl="http://[::1"/></body></opml>')
    r = CliRunner().invoke(main, ["sources", "import", str(opml)])
    assert r.exit_code == 0, r.output
    assert "imported 1 new source(s): good" in r.output
    refused = [line for line in r.output.splitlines() if line.startswith("refused: ")]
    assert len(refused) == 3 and "local file 'file:///dev/zero' refused" in refused[0]
    listed = CliRunner().invoke(main, ["sources", "list", "--json"]).output
    assert "good.example.org" in listed and "/dev/zero" not in listed and "passwd" not in listed


@pytest.mark.parametrize("url", ["http://", "http://[::1", "http://a b.example.org/", "https://x.org/" + "a" * 100_000,
                                 "file:///dev/zero", "/etc"])
def test_sources_add_refuses_bad_urls_in_one_line(pulse_dirs, url):
    r = CliRunner().invoke(main, ["sources", "add", "x", url])
    assert r.exit_code == 2 and r.output.startswith("error: source 'x': ") and r.output.count("\n") == 1


def test_sources_add_takes_a_local_path_by_hand(pulse_dirs, tmp_path):
    feed = tmp_path / "mine.xml"
    feed.write_bytes(rss(item(1)))
    r = CliRunner().invoke(main, ["sources", "add", "mine", str(feed)])
    assert r.exit_code == 0, r.output


# ---------------------------------------------------------------- slow servers
def test_a_drip_fails_at_the_deadline_not_after_it(feed_server):
    url = feed_server.route("/drip", Reply(body=b"x" * 200, drip=0.4, drip_bytes=1))
    f = quick_fetcher(read_timeout=1.0, deadline=1.5)
    started = time.monotonic()
    with pytest.raises(FetchError, match="took over 1.5s"):
        f.get(url)
    assert time.monotonic() - started < 2.5


def test_retry_after_waits_share_one_budget_per_source(feed_server):
    url = feed_server.route("/busy", Reply(status=503, headers={"Retry-After": "50"}))
    f = quick_fetcher(retries=3, max_retry_after=120, retry_budget=30)
    f.sleep = lambda s: pytest.fail(f"slept {s}s past the budget")
    with f.source_budget(), pytest.raises(FetchError, match="30s retry budget"):
        f.get(url)


def test_retry_budget_is_spent_across_a_sources_urls(feed_server):
    url = feed_server.route("/busy", Reply(status=503, headers={"Retry-After": "2"}), Reply(body=b"ok"))
    url2 = feed_server.route("/busy2", Reply(status=503, headers={"Retry-After": "2"}), Reply(body=b"ok"))
    f = quick_fetcher(retries=3, retry_budget=3)
    slept = []
    f.sleep = slept.append
    with f.source_budget():
        assert f.get(url).body == b"ok"
        with pytest.raises(FetchError, match="retry budget"):
            f.get(url2)
    assert slept == [2.0]
    with f.source_budget():  # the next source starts with a full budget
        assert f.get(url2).body == b"ok"


# ---------------------------------------------------------------- one bad entry
def test_an_invalid_date_skips_nothing_and_is_reported(feed_server, store):
    items = [item(n) for n in range(15)]
    items[6]["date"] = "0000-00-00"
    items[9]["date"] = "Fri, 31 Dec 9999 00:00:00 GMT"
    url = feed_server.route("/feed", Reply(body=rss(*items)))
    rep = ingest(store, [SourceConfig("t", "rss", url)], quick_fetcher())
    src = rep.sources[0]
    assert src.ok and src.issues_new == 15, src.error
    assert any("unreadable date '0000-00-00'" in w for w in src.warnings)
    assert any("'Fri, 31 Dec 9999 00:00:00 GMT' is in the future" in w for w in src.warnings)
    published = dict(store.db.execute("SELECT title, published FROM issues").fetchall())
    assert published["Issue 6"] is None
    assert published["Issue 9"][:4] == str(datetime.now(timezone.utc).year)
    assert rep.as_dict()["warnings"][0].startswith("t: entry 'https://feed.example.org/p/")


def test_entries_sharing_a_guid_are_kept_apart(feed_server, store):
    items = [item(n, guid="same-guid") for n in range(5)] + [item(0, guid="same-guid")]
    url = feed_server.route("/feed", Reply(body=rss(*items)))
    rep = ingest(store, [SourceConfig("t", "rss", url)], quick_fetcher())
    assert rep.sources[0].issues_new == 5 and store.count("issues") == 5
    warnings = rep.sources[0].warnings
    assert sum("shares its GUID" in w for w in warnings) == 4 and sum("repeats an earlier entry" in w for w in warnings) == 1
    again = ingest(store, [SourceConfig("t", "rss", url)], quick_fetcher())  # the same ids next night
    assert again.sources[0].issues_unchanged == 5 and store.count("issues") == 5


def test_a_10mb_entry_is_stored_truncated_with_a_warning(feed_server, store):
    huge = item(2, html="<h2>Huge story</h2>" + "<p>" + "word " * 2_000_000 + "</p>")
    url = feed_server.route("/feed", Reply(body=rss(item(1), huge)))
    rep = ingest(store, [SourceConfig("t", "rss", url)], quick_fetcher(max_bytes=20_000_000, deadline=30))
    src = rep.sources[0]
    assert src.ok and src.issues_new == 2, src.error
    assert any("stored truncated" in w for w in src.warnings)
    longest = store.db.execute("SELECT max(length(html)), max(length(text)) FROM issues").fetchone()
    assert max(longest) <= 2_000_000


def test_bytes_in_the_wrong_encoding_are_repaired_and_reported(feed_server, store):
    items = [item(n, html=story_html((f"Story {n}", "Notes from a café in Zürich.", "https://c.example.com")))
             for n in range(3)]
    body = rss(*items).replace("café".encode(), b"caf\xe9", 1)  # one latin-1 byte in a UTF-8 feed
    url = feed_server.route("/feed", Reply(body=body))
    rep = ingest(store, [SourceConfig("t", "rss", url)], quick_fetcher())
    assert rep.sources[0].issues_new == 3
    assert any("not valid in the encoding it declares" in w for w in rep.sources[0].warnings)
    texts = [r[0] for r in store.db.execute("SELECT text FROM stories")]
    assert len(texts) == 3 and all("caf" in t and "\ufffd" not in t for t in texts)
