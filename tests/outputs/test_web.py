"""`pulse serve`'s app through HTTP (Starlette's TestClient, and a real uvicorn on 127.0.0.1): pages, the
JSON API, hostile content and hostile queries, time limits, and the `serve` command."""
from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from outputs.markdown import to_html
from outputs.web import Limits, create_app
from pipeline.cli import is_loopback, main
from pipeline.search import Searcher
from pipeline.store import Store
from sources.models import Issue, Story

SECTIONS = ["what-happened", "our-take", "what-to-do", "builders-brief", "what-skeptics-say", "cited-by"]


@pytest.fixture(scope="module")
def client(archive, embedder):
    app = create_app(archive[0].path, lambda store: Searcher(store, lambda: (embedder.model_id, embedder.encode)))
    with TestClient(app) as c:
        yield c


def story_links(html: str) -> list[str]:
    return re.findall(r'href="/story/([0-9a-f]+)"', html)


def hit_links(html: str) -> list[str]:
    """A search page's hits (not the other tellings listed under a hit)."""
    return re.findall(r'<a class="hit-title" href="/story/([0-9a-f]+)"', html)


def test_search_page_lists_stories_with_highlighted_snippets(client):
    page = client.get("/", params={"q": "speculative decoding"})
    assert page.status_code == 200
    assert len(story_links(page.text)) >= 2 and "<mark>" in page.text
    assert "told by 2 sources" in page.text


def test_story_page_shows_the_whole_brief_in_order(client):
    sid = story_links(client.get("/", params={"q": "Hyperion open weights"}).text)[0]
    page = client.get(f"/story/{sid}")
    assert page.status_code == 200
    found = re.findall(r'<h2 id="([a-z-]+)"', page.text)
    assert found == SECTIONS
    for label in ("Who", "What changes", "When", "Watch for"):
        assert f"<dt>{label}</dt>" in page.text
    assert re.search(r'impact-(low|medium|high)', page.text)
    assert len(set(story_links(page.text)) - {sid}) >= 2  # Cited By links to the other newsletters' stories


def test_a_story_page_counts_what_its_thread_did_after_its_brief(client, archive):
    from outputs.brief_stage import load_brief

    counts = {}
    for sid in hit_links(client.get("/", params={"q": "Hyperion open weights"}).text)[:3]:
        story = client.get(f"/api/story/{sid}").json()
        brief = load_brief(archive[0].briefs([story["cluster_id"]])[story["cluster_id"]])
        later = [c for c in story["cited_by"] if c["relation"] == "thread" and c["date"] > brief.signals["as_of"]]
        page = client.get(f"/story/{sid}").text
        m = re.search(r'id="later-in-thread">(\d+) later stor', page)
        assert (int(m.group(1)) if m else 0) == len(later), story["title"]
        assert not m or f'href="/thread/{story["thread_id"]}"' in page
        counts[story["title"]] = len(later)
    assert counts["Hyperion-7B released with open weights"] >= 2  # the launch, before the doubts and the replication


def test_a_script_in_a_title_is_text_everywhere(client):
    page = client.get("/", params={"q": "Quorum evaluation set"})
    assert "&lt;script&gt;alert" in page.text and "<script" not in page.text.lower()
    sid = story_links(page.text)[0]
    story = client.get(f"/story/{sid}").text
    assert "&lt;script&gt;" in story
    for bad in ("<script", "<iframe", "onerror", "javascript:", "data:text"):
        assert bad not in story.lower()
    api = client.get(f"/api/story/{sid}").json()
    assert api["title"].startswith("<script>")  # JSON carries the text as text; escaping is the page's job


def test_every_page_forbids_scripts(client):
    for path in ("/", "/digests", "/api/digests"):
        headers = client.get(path).headers
        assert "default-src 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_api_search_matches_the_page(client):
    data = client.get("/api/search", params={"q": "draft trees", "mode": "keyword", "limit": 5}).json()
    page = client.get("/", params={"q": "draft trees", "mode": "keyword", "limit": 5}).text
    assert [h["id"] for h in data["hits"]] == hit_links(page)
    assert data["mode"] == "keyword" and data["hits"][0]["snippet"]
    # the other tellings of a hit's story are listed under it, on the page and in the API alike
    told = [a["id"] for h in data["hits"] for a in h["also"]]
    assert told and all(f'href="/story/{sid}"' in page for sid in told)


@pytest.mark.parametrize("params, status, message", [
    ({"q": "((("}, 400, "nothing to search for"),
    ({"q": "x", "mode": "nope"}, 400, "mode must be"),
    ({"q": "x", "limit": "ten"}, 400, "whole number"),
    ({"q": "x", "since": "yesterday"}, 400, "not a date"),
])
def test_bad_searches_are_clear_errors_in_page_and_api(client, params, status, message):
    api = client.get("/api/search", params=params)
    assert api.status_code == status and message in api.json()["error"]
    page = client.get("/", params=params)
    assert page.status_code == status and message in page.text


def test_filters_reach_the_search(client):
    data = client.get("/api/search", params={"q": "Hyperion", "source": "model-drop", "limit": 20}).json()
    assert data["hits"] and {h["source"] for h in data["hits"]} == {"model-drop"}


def test_kind_and_impact_filters_in_page_and_api(client):
    data = client.get("/api/search", params={"q": "Hyperion", "kind": "release", "limit": 20}).json()
    assert data["hits"] and {h["kind"] for h in data["hits"]} == {"release"}
    page = client.get("/", params={"q": "Hyperion", "kind": "release", "impact": "high"})
    assert page.status_code == 200 and '<option selected>release</option>' in page.text
    assert '<option selected>high</option>' in page.text
    assert client.get("/api/search", params={"q": "x", "impact": "huge"}).status_code == 400


def test_thread_page_is_a_timeline_of_linked_stories(client):
    story = client.get("/api/search", params={"q": "Hyperion replication", "limit": 1}).json()["hits"][0]
    page = client.get(f"/thread/{story['thread_id']}")
    assert page.status_code == 200 and story["id"] in story_links(page.text)
    assert len(re.findall(r"<strong>\d{4}-\d\d-\d\d</strong>", page.text)) >= 2
    assert client.get(f"/api/thread/{story['thread_id']}").json()["timeline"]


def test_digest_pages_and_their_links(archive, client, embedder):
    from outputs import digest as digest_out

    store, briefer, out = archive
    night = digest_out.Night.parse(store.newest_first_seen()[:10])  # the night the archive arrived
    written = digest_out.write_night(store, briefer, out, night)
    listing = client.get("/digests").text
    days = re.findall(r'href="/digest/(\d{4}-\d\d-\d\d)"', listing)
    assert written["date"] in days and "2026-11-02" in days  # the night's, and each publication day's
    page = client.get("/digest/2026-11-02")
    assert page.status_code == 200 and "<script" not in page.text.lower()
    link = re.findall(r'href="(stories/[^"]+\.md)"', page.text)[0]
    moved = client.get(f"/digest/{link}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"].startswith("/story/")
    assert client.get("/api/digest/2026-11-02").json()["markdown"].startswith("#")
    # tonight's digest links each earlier publication day's, and the links work
    late = re.findall(r'href="(digest-[\d-]+\.md)"', client.get(f"/digest/{written['date']}").text)
    assert "digest-2026-11-02.md" in late and client.get(f"/digest/{late[0]}").status_code == 200


def test_newsletter_and_issue_pages_link_each_other_and_every_story(client):
    hit = client.get("/api/search", params={"q": "Hyperion open weights", "limit": 1}).json()["hits"][0]
    story = client.get(f"/api/story/{hit['id']}").json()
    page = client.get(f"/story/{hit['id']}").text
    assert f'href="/issue/{story["issue_id"]}"' in page and f'href="/newsletter/{story["source"]}"' in page
    letter = client.get(f"/newsletter/{story['source']}")
    assert letter.status_code == 200
    issues = re.findall(r'class="issue-title" href="/issue/([0-9a-f]+)"', letter.text)
    dates = re.findall(r'<span class="meta">(\d{4}-\d\d-\d\d) · \d+ stor', letter.text)
    assert story["issue_id"] in issues and dates == sorted(dates, reverse=True) and len(dates) == len(issues)
    issue = client.get(f"/issue/{story['issue_id']}")
    assert issue.status_code == 200
    assert re.search(r'<a id="original" href="https://[^"]+"[^>]*>Read the full article</a>', issue.text)
    assert "The issue in brief" in issue.text and "Main news" in issue.text
    assert hit["id"] in story_links(issue.text)
    api = client.get(f"/api/issue/{story['issue_id']}").json()
    assert [s["id"] for s in api["stories"]] == story_links(issue.text.split("<h2>Stories</h2>")[1])
    assert api["main"][0]["impact_score"] == max(s["impact_score"] or 0 for s in api["stories"])


HOSTILE = '<script>alert("issue")</script> [x](javascript:alert(1)) <img src=x onerror=alert(2)>'


def test_a_hostile_issue_title_is_text_on_the_new_pages(tmp_path):
    """Titles reach the store from every source kind; the newsletter and issue pages show them as text."""
    from outputs.pages import write_pages
    from outputs.render import Templates

    with Store(tmp_path / "pulse.db") as store:
        store.ensure_source("bad", "rss", "https://t.example.org/feed")
        store.save_issue(Issue(source="bad", guid="1", url="javascript:alert(3)", title=HOSTILE,
                                     published=None, html="", text="",
                                     stories=[Story(position=0, title=HOSTILE, text="A story.")]))
        written = write_pages(store, Templates(), tmp_path / "out")
        iid = store.issue_ids()[0]
    assert written["issues"] == 1
    with TestClient(create_app(tmp_path / "pulse.db", lambda store: Searcher(store, no_model))) as c:
        letter = c.get("/newsletter/bad")
        issue = c.get(f"/issue/{iid}")
    assert letter.status_code == issue.status_code == 200
    assert "&lt;script&gt;alert(&#34;issue&#34;)" in letter.text and "&lt;script&gt;alert(&#34;issue&#34;)" in issue.text
    assert "Read the full article" not in issue.text  # a javascript: link is no link
    live = re.compile(r"<script|<img|<b>|(?:href|src)\s*=\s*[\"']?\s*javascript:", re.I)
    assert not live.search(letter.text) and not live.search(issue.text)
    for page in (tmp_path / "out").rglob("*.md"):
        html = to_html(page.read_text("utf-8"))
        assert "&lt;script&gt;" in html and not live.search(html), page


def test_thread_page_shows_its_watch_for_items_and_what_resolved_them(client):
    story = client.get("/api/search", params={"q": "Hyperion replication", "limit": 1}).json()["hits"][0]
    page = client.get(f"/thread/{story['thread_id']}").text
    watch = page.split("<h2>Watch for</h2>")[1]
    assert re.search(r"<strong>resolved after \d+ days?</strong>: <a href=\"/brief/[^\"]+\">", watch)
    items = client.get(f"/api/thread/{story['thread_id']}").json()["watch"]
    assert any(w["status"] == "resolved" and w["resolved_title"] for w in items)


@pytest.mark.parametrize("path", ["/story/0000", "/thread/nope", "/digest/2001-01-01", "/digest/not-a-date",
                                  "/brief/no-such-slug", "/newsletter/nope", "/issue/nope"])
def test_unknown_things_are_404s(client, path):
    assert client.get(path).status_code == 404


def test_api_404s_are_json(client):
    got = client.get("/api/story/0000")
    assert got.status_code == 404 and got.json()["error"]


# ---------------------------------------------------------------------- hostile queries, time limits
BIG = 10_000_000
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def no_model():
    raise AssertionError("these tests search by keyword only")


def big_text() -> str:
    """About 10 MB of words with the query words all through it (snippet() over it ran for minutes)."""
    block = " ".join(f"gpu w{i % 997} kernel w{i % 89} tensor memory" for i in range(4000))
    return (block * (BIG // len(block) + 1))[:BIG]


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    """A real archive with one 10 MB story among small ones."""
    path = tmp_path_factory.mktemp("big") / "pulse.db"
    with Store(path) as store:
        store.ensure_source("t", "rss", "https://t.example.org/feed")
        stories = [Story(position=0, title="The longest story", text=big_text()),
                   *(Story(position=i, title=f"Small story {i}", text=f"a gpu kernel note number {i}")
                     for i in range(1, 6))]
        store.save_issue(Issue(source="t", guid="1", url="https://t.example.org/1", title="Issue 1",
                               published=None, html="", text="", stories=stories))
    return path


@pytest.fixture(scope="module")
def big_client(big_db):
    with TestClient(create_app(big_db, lambda store: Searcher(store, no_model))) as c:
        yield c


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    return fn(*args, **kwargs), time.perf_counter() - started


@pytest.mark.parametrize("path", ["/api/search", "/"])
def test_a_10_mb_story_is_searched_quickly(big_client, path):
    got, seconds = timed(big_client.get, path, params={"q": "gpu kernel", "mode": "keyword"})
    assert got.status_code == 200 and seconds < 2
    assert "The longest story" in got.text
    if path == "/":
        assert "<mark>gpu</mark>" in got.text
    else:
        longest = next(h for h in got.json()["hits"] if h["title"] == "The longest story")
        assert longest["highlights"] and len(longest["snippet"]) < 1000


def test_the_10_mb_story_page_is_quick_and_cut(big_client):
    sid = next(h["id"] for h in big_client.get("/api/search", params={"q": "gpu", "mode": "keyword"}).json()["hits"]
               if h["title"] == "The longest story")
    page, seconds = timed(big_client.get, f"/story/{sid}")
    assert page.status_code == 200 and seconds < 2 and "too long to show here" in page.text
    assert len(page.content) < BIG // 10


@pytest.mark.parametrize("q, message", [
    (" OR ".join(["a"] * 2000), "at most 500 characters"),
    (" OR ".join(f"w{i}" for i in range(40)), "at most 32 words"),
])
def test_a_query_too_big_answers_400_at_once(big_client, q, message):
    api, seconds = timed(big_client.get, "/api/search", params={"q": q, "mode": "keyword"})
    assert api.status_code == 400 and message in api.json()["error"] and seconds < 1
    page = big_client.get("/", params={"q": q, "mode": "keyword"})
    assert page.status_code == 400 and message in page.text


@pytest.mark.parametrize("params", [{"until": "9999-12-31"}, {"since": "9999-12-31"},
                                    {"since": "0001-01-01", "until": "9999-12-31"}])
def test_dates_at_the_ends_of_the_calendar_are_no_server_error(big_client, params):
    for path in ("/", "/api/search"):
        got = big_client.get(path, params={"q": "gpu", "mode": "keyword", **params})
        assert got.status_code == 200, got.text
    hits = big_client.get("/api/search", params={"q": "gpu", "mode": "keyword", **params}).json()["hits"]
    assert bool(hits) == (params.get("since") != "9999-12-31")


def test_a_date_out_of_range_is_a_400(big_client):
    got = big_client.get("/api/search", params={"q": "gpu", "until": "10000-01-01"})
    assert got.status_code == 400 and "not a date" in got.json()["error"]


class Endless(Searcher):
    """A search for "endless" runs an SQLite statement that never ends on its own."""

    def search(self, text, **kwargs):
        if text == "endless":
            self.store.db.execute(ENDLESS).fetchone()
        return super().search(text, **kwargs)


def test_a_search_past_its_time_limit_answers_503_and_frees_its_thread(big_db):
    limits = Limits(workers=1, search_timeout=0.5)
    with TestClient(create_app(big_db, lambda store: Endless(store, no_model), limits)) as client:
        api, seconds = timed(client.get, "/api/search", params={"q": "endless", "mode": "keyword"})
        assert api.status_code == 503 and seconds < 2
        assert "took longer than 0.5 s" in api.json()["error"] and "\n" not in api.json()["error"]
        page = client.get("/", params={"q": "endless", "mode": "keyword"})
        assert page.status_code == 503 and 'class="error"' in page.text and "took longer" in page.text
        # the one worker thread was freed by the interrupt: a plain search gets it at once
        plain, seconds = timed(client.get, "/api/search", params={"q": "gpu", "mode": "keyword"})
        assert plain.status_code == 200 and plain.json()["hits"] and seconds < 1


class Sleepy(Searcher):
    """Every search sleeps (no SQLite, so nothing can interrupt it) and says when it has started."""

    started = threading.Event()

    def search(self, text, **kwargs):
        self.started.set()
        time.sleep(3)
        return super().search(text, **kwargs)


@contextlib.contextmanager
def uvicorn_on_loopback(app):
    """The app under a real uvicorn on 127.0.0.1, on a free port, in a thread."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not server.started and time.time() < deadline:
        time.sleep(0.02)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


def test_a_slow_search_in_flight_does_not_hold_up_other_pages(big_db):
    Sleepy.started.clear()
    app = create_app(big_db, lambda store: Sleepy(store, no_model))
    with uvicorn_on_loopback(app) as base:
        slow: dict = {}
        search = threading.Thread(target=lambda: slow.update(r=httpx.get(
            f"{base}/api/search", params={"q": "gpu", "mode": "keyword"}, timeout=10)))
        search.start()
        assert Sleepy.started.wait(5)
        for path in ("/static/pulse.css", "/digests", "/api/digests", "/"):
            got, seconds = timed(httpx.get, base + path, timeout=5)
            assert got.status_code == 200 and seconds < 1, (path, seconds)
        search.join(10)
        assert slow["r"].status_code == 200 and slow["r"].json()["hits"]


# ---------------------------------------------------------------------- pulse serve
def serve(tmp_path: Path, *args: str):
    return CliRunner().invoke(main, ["--config-dir", str(tmp_path / "config"), "--data-dir", str(tmp_path / "data"),
                                     "serve", *args])


@pytest.mark.parametrize("damage, message", [
    (lambda data: data[:len(data) // 2], "truncated"),
    (lambda data: data[:60], "truncated"),
    (lambda data: b"not a database at all " * 500, "not an SQLite database"),
])
def test_serve_on_a_damaged_archive_says_so_in_one_line_and_exits_4(tmp_path, big_db, damage, message):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pulse.db").write_bytes(damage(big_db.read_bytes()))
    out = serve(tmp_path)
    assert out.exit_code == 4, out.output
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.output


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("127.1.2.3", True), ("::1", True),
                                            ("[::1]", True), ("localhost", True), ("0.0.0.0", False),
                                            ("::", False), ("192.168.1.5", False), ("pulse.example.org", False)])
def test_loopback_hosts(host, loopback):
    assert is_loopback(host) is loopback


@pytest.mark.parametrize("host, warned", [("0.0.0.0", True), ("127.0.0.1", False)])
def test_serve_warns_that_a_non_loopback_host_has_no_authentication(tmp_path, big_db, monkeypatch, host, warned):
    import uvicorn

    ran = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: ran.append(kw))  # nothing is bound
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "pulse.db").write_bytes(big_db.read_bytes())
    out = serve(tmp_path, "--host", host)
    assert out.exit_code == 0, out.output
    assert ran and ran[0]["host"] == host
    assert ("no authentication" in out.stderr) is warned
