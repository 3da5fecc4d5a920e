"""Text is unescaped exactly once from feed to page: a title with a real "&" or "<" reads the same in the
stored story, the brief page, the digest, the Atom feed, the e-mail and the web page."""
from __future__ import annotations

import json
from email import message_from_bytes

import feedparser
from bs4 import BeautifulSoup
from click.testing import CliRunner
from markdown_it import MarkdownIt
from starlette.testclient import TestClient

from outputs.email import EmailConfig, build_message
from outputs.web import create_app
from pipeline.cli import main
from pipeline.search import Searcher
from pipeline.store import Store
from tests.conftest import Reply
from tests.feeds import rss

TITLE = "AT&T <Labs> & Q&A: 3 < 4 on R&D"
# In the feed the title is escaped once (as every feed does), in a CDATA body it is not.
HTML = ("<h2>AT&amp;T &lt;Labs&gt; &amp; Q&amp;A: 3 &lt; 4 on R&amp;D</h2>"
        "<p>AT&amp;T's lab answered questions on a new chip for R&amp;D. <a href='https://att.example.com/x'>post</a></p>"
        "<h2>Another lab ships a coding model</h2><p>It writes code for builders. "
        "<a href='https://lab.example.com/m'>model</a></p>")


def rendered_md(markdown: str) -> str:
    return BeautifulSoup(MarkdownIt("commonmark").render(markdown), "lxml").get_text(" ")


def test_a_title_with_ampersand_and_angle_brackets_survives_every_output(feed_server, pulse_dirs, embedder):
    config, data = pulse_dirs
    url = feed_server.route("/feed", Reply(body=rss({"title": "R&D weekly", "link": "https://rd.example.org/p/1",
                                                     "html": HTML})))
    config.mkdir(parents=True)
    (config / "sources.toml").write_text("")
    assert CliRunner().invoke(main, ["sources", "add", "rd", url]).exit_code == 0
    r = CliRunner().invoke(main, ["run", "--json"])
    assert r.exit_code == 0, r.output
    with Store(data / "pulse.db") as store:
        stored = [row[0] for row in store.db.execute("SELECT title FROM stories")]
        assert TITLE in stored
        sid = store.db.execute("SELECT id FROM stories WHERE title = ?", [TITLE]).fetchone()[0]
    out = data / "digests"
    page = next(p for p in (out / "stories").glob("*.md") if "labs" in p.name)
    assert TITLE in rendered_md(page.read_text("utf-8"))
    assert "&amp;" not in page.read_text("utf-8")
    digest = (out / "digest-2026-11-02.md").read_text("utf-8")  # the day the issue was published
    assert TITLE in rendered_md(digest) and "&amp;" not in digest
    atom = feedparser.parse((out / "feed.xml").read_bytes())
    entry = next(e for e in atom.entries if e.id.endswith("2026-11-02"))
    assert TITLE in BeautifulSoup(entry.content[0].value, "lxml").get_text(" ")
    msg = message_from_bytes(build_message(EmailConfig(sender="p@example.org", to=["me@example.org"]),
                                           "2026-12-05", digest).as_bytes())
    parts = {p.get_content_type(): p.get_payload(decode=True).decode("utf-8") for p in msg.walk()
             if not p.is_multipart()}
    assert TITLE in BeautifulSoup(parts["text/html"], "lxml").get_text(" ")
    app = create_app(data / "pulse.db", lambda store: Searcher(store, lambda: (embedder.model_id, embedder.encode)))
    with TestClient(app) as client:
        html = client.get(f"/story/{sid}").text
        assert TITLE in BeautifulSoup(html, "lxml").get_text(" ")
        assert "&amp;amp;" not in html
        api = client.get(f"/api/story/{sid}").json()
        assert api["title"] == TITLE
        hits = client.get("/api/search", params={"q": "R&D lab", "mode": "keyword"}).json()
        assert json.dumps(hits).count("&amp;") == 0
