"""`pulse serve`'s app through HTTP (Starlette's TestClient): pages, the JSON API, and hostile content."""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from outputs.web import create_app
from pipeline.search import Searcher

SECTIONS = ["what-happened", "our-take", "what-to-do", "builders-brief", "what-skeptics-say", "cited-by"]


@pytest.fixture(scope="module")
def client(archive, embedder):
    app = create_app(archive[0].path, lambda store: Searcher(store, lambda: (embedder.model_id, embedder.encode)))
    with TestClient(app) as c:
        yield c


def story_links(html: str) -> list[str]:
    return re.findall(r'href="/story/([0-9a-f]+)"', html)


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
    assert [h["id"] for h in data["hits"]] == story_links(page)
    assert data["mode"] == "keyword" and data["hits"][0]["snippet"]


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


def test_thread_page_is_a_timeline_of_linked_stories(client):
    story = client.get("/api/search", params={"q": "Hyperion replication", "limit": 1}).json()["hits"][0]
    page = client.get(f"/thread/{story['thread_id']}")
    assert page.status_code == 200 and story["id"] in story_links(page.text)
    assert len(re.findall(r"<strong>\d{4}-\d\d-\d\d</strong>", page.text)) >= 2
    assert client.get(f"/api/thread/{story['thread_id']}").json()["timeline"]


def test_digest_pages_and_their_links(archive, client, embedder):
    from outputs import digest as digest_out

    store, briefer, out = archive
    night = digest_out.Night.parse(store.newest_first_seen()[:10])
    digest_out.write(store, briefer, out, night)
    listing = client.get("/digests").text
    day = re.findall(r'href="/digest/(\d{4}-\d\d-\d\d)"', listing)[0]
    page = client.get(f"/digest/{day}")
    assert page.status_code == 200 and "<script" not in page.text.lower()
    link = re.findall(r'href="(stories/[^"]+\.md)"', page.text)[0]
    moved = client.get(f"/digest/{link}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"].startswith("/story/")
    assert client.get(f"/api/digest/{day}").json()["markdown"].startswith("#")


@pytest.mark.parametrize("path", ["/story/0000", "/thread/nope", "/digest/2001-01-01", "/digest/not-a-date",
                                  "/brief/no-such-slug"])
def test_unknown_things_are_404s(client, path):
    assert client.get(path).status_code == 404


def test_api_404s_are_json(client):
    got = client.get("/api/story/0000")
    assert got.status_code == 404 and got.json()["error"]
