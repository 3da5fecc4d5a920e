"""The web page in a real browser: Debian's Chromium driven by Playwright (never its own download).

Skipped where /usr/bin/chromium is missing, unless PULSE_REQUIRE_BROWSER=1 (CI sets it, after
installing chromium), in which case a missing browser fails the run.
"""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time

import pytest

from outputs.web import create_app
from pipeline.search import Searcher

CHROMIUM = os.environ.get("PULSE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]

if not os.path.exists(CHROMIUM):
    if os.environ.get("PULSE_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"PULSE_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM} (apt-get install chromium)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(archive, embedder):
    """The real app under uvicorn on 127.0.0.1, on a free port, in a thread."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(archive[0].path, lambda store: Searcher(store, lambda: (embedder.model_id, embedder.encode)))
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not srv.started and time.time() < deadline:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    pg = context.new_page()
    dialogs: list[str] = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    yield pg
    context.close()


def test_type_a_query_see_results_open_a_story_see_every_section(server, page):
    page.goto(server + "/")
    page.fill("input[name=q]", "speculative decoding")
    page.press("input[name=q]", "Enter")
    page.wait_for_selector("ol.results li.hit")
    titles = page.locator("a.hit-title").all_inner_texts()
    assert any("speculative decoding" in t.lower() for t in titles)
    assert page.locator("ol.results mark").count() > 0
    page.locator("a.hit-title").first.click()
    page.wait_for_selector("#story-title")
    for heading in ("What Happened", "Our Take", "What To Do", "Builder's Brief", "What Skeptics Say", "Cited By"):
        assert page.get_by_role("heading", name=heading).is_visible()
    assert page.locator("dt", has_text="Watch for").is_visible()


def test_a_script_title_renders_as_text_and_never_runs(server, page):
    page.goto(server + "/?q=Quorum+evaluation+set&mode=keyword")
    first = page.locator("a.hit-title").first
    assert first.inner_text().startswith('<script>alert("title")</script>')
    first.click()
    page.wait_for_selector("#story-title")
    assert page.locator("#story-title").inner_text().startswith("<script>")
    assert page.locator("script").count() == 0 and page.dialogs == []


def test_a_bad_query_shows_a_message(server, page):
    page.goto(server + "/")
    page.fill("input[name=q]", '((( AND "')
    page.press("input[name=q]", "Enter")
    assert "nothing to search for" in page.locator("#error").inner_text()


def test_from_a_story_to_its_issue_and_its_newsletter(server, page):
    page.goto(server + "/?q=Hyperion+open+weights&mode=keyword")
    page.locator("a.hit-title").first.click()
    page.wait_for_selector("#story-title")
    page.locator("a.issue-page").click()
    page.wait_for_selector("#issue-title")
    assert page.get_by_role("link", name="Read the full article").get_attribute("href").startswith("https://")
    assert page.get_by_role("heading", name="The issue in brief").is_visible()
    assert page.locator("ol.main-news li").count() >= 1
    page.locator("nav.crumbs a").nth(1).click()
    page.wait_for_selector("#newsletter-name")
    assert page.locator("ol.issues li a.issue-title").count() >= 1
    assert page.get_by_role("heading", name="Issues").is_visible()


def test_a_script_story_title_is_text_on_its_issue_page(server, page):
    page.goto(server + "/newsletter/sentinel")
    page.locator("a.issue-title").first.click()
    page.wait_for_selector("#issue-title")
    listed = page.locator("ul.issue-stories a", has_text="Quorum AI")
    assert listed.first.inner_text().startswith('<script>alert("title")</script>')
    assert page.locator("script").count() == 0 and page.dialogs == []


def test_a_thread_shows_the_watch_for_items_its_stories_resolved(server, page):
    page.goto(server + "/?q=Hyperion+replication&mode=keyword")
    page.locator("a.hit-title").first.click()
    page.wait_for_selector("#story-title")
    page.get_by_role("link", name="follow the thread").click()
    page.wait_for_selector("ul.watch")
    resolved = page.locator("ul.watch li", has_text="resolved after")
    assert resolved.count() >= 1
    resolved.first.locator("a").nth(1).click()  # the story that resolved it
    page.wait_for_selector("#story-title")
    assert "resolves what earlier briefs watched for" in page.locator("#brief").inner_text()
