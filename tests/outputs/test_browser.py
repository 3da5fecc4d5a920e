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
