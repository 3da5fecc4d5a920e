"""Layout detection when subscribing, and furniture learned from a newsletter's own repetition."""
from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import main
from pipeline.ingest import ingest
from pipeline.store import Store
from sources import SourceConfig
from sources.detect import detect_segmenter
from sources.fetch import Fetcher, FetchPolicy
from sources.furniture import recurring_titles, title_key
from tests.conftest import Reply
from tests.feeds import rss, story_html


def importai_like(n: int) -> dict:
    """An issue in Import AI's shape: bold headline, italic '…' dek, body; fiction last."""
    stories = "".join(f"<p><strong>Lab {n}-{k} trains a model on {k} things<br></strong><em>…a dek about it…</em>"
                      f"<br>Body of story {k}. <strong>Why this matters:</strong> reasons.</p><p>#####</p>"
                      for k in range(3))
    return {"title": f"Weekly AI {n}: lab news", "link": f"https://weekly.example.org/p/{n}",
            "html": stories + "<p><strong>Tech Tales:</strong></p><p><em>The Quiet Machine</em></p><p>Fiction text.</p>"}


def generic_like(n: int) -> dict:
    return {"title": f"Digest {n}", "link": f"https://digest.example.org/p/{n}",
            "html": story_html((f"Startup {n} raises a round", f"Startup {n} raised money for chips.", f"https://s{n}.example.com"),
                               ("Hiring this week", "Acme is hiring ML engineers. Apply now.", "https://jobs.example.com"),
                               (f"Paper {n} on decoding", f"Paper {n} speeds up decoding.", f"https://p{n}.example.com"))}


def test_detection_reads_the_layout_from_the_issues_not_the_name():
    found = detect_segmenter(rss(*[importai_like(n) for n in range(4)], title="Some Weekly"), "https://weekly.example.org/feed")
    assert found.segmenter == "importai" and "4 of 4 issues" in found.reason
    assert detect_segmenter(rss(*[generic_like(n) for n in range(4)]), "https://digest.example.org/feed").segmenter == "generic"
    assert detect_segmenter(b"<rss></rss>", "https://importai.substack.com/feed").segmenter == "importai"


def test_opml_import_picks_each_feeds_layout_and_says_why(feed_server, pulse_dirs, tmp_path):
    a = feed_server.route("/weekly.xml", Reply(body=rss(*[importai_like(n) for n in range(3)])))
    b = feed_server.route("/digest.xml", Reply(body=rss(*[generic_like(n) for n in range(3)])))
    config, _ = pulse_dirs
    config.mkdir(parents=True)
    (config / "pulse.toml").write_text("host_delay = 0\n")
    opml = tmp_path / "subs.opml"
    opml.write_text(f'<opml version="2.0"><body><outline text="Weekly" xmlUrl="{a}"/>'
                    f'<outline text="Digest" xmlUrl="{b}"/></body></opml>')
    r = CliRunner().invoke(main, ["sources", "import", str(opml)])
    assert r.exit_code == 0, r.output
    assert "weekly: layout importai (3 of 3 issues have bold headlines" in r.output
    assert "digest: layout generic" in r.output and "pulse sources set weekly segmenter=NAME" in r.output
    listed = {s["name"]: s for s in json.loads(CliRunner().invoke(main, ["sources", "list", "--json"]).output)}
    assert listed["weekly"]["segmenter"] == "importai" and listed["digest"]["segmenter"] == "generic"
    r = CliRunner().invoke(main, ["sources", "set", "weekly", "segmenter=generic"])
    assert r.exit_code == 0, r.output
    listed = {s["name"]: s for s in json.loads(CliRunner().invoke(main, ["sources", "list", "--json"]).output)}
    assert listed["weekly"]["segmenter"] == "generic"
    r = CliRunner().invoke(main, ["sources", "set", "weekly", "segmenter=nope"])
    assert r.exit_code == 2 and "segmenter must be one of" in r.output


def test_a_block_recurring_across_issues_becomes_furniture(feed_server, tmp_path):
    url = feed_server.route("/feed", Reply(body=rss(*[generic_like(n) for n in range(4)])))
    fetcher = Fetcher(FetchPolicy(host_delay=0, retries=0))
    with Store(tmp_path / "p.db") as store:
        report = ingest(store, [SourceConfig("d", "rss", url)], fetcher)
        assert report.furniture == 4 and report.as_dict()["furniture"] == 4
        sections = dict(store.db.execute("SELECT title, section FROM stories").fetchall())
        assert sections["Hiring this week"] == "furniture"
        assert sections["Startup 2 raises a round"] != "furniture"
        cid = store.embedding_collection("stories", "m")
        embeddable = {r[1] for r in store.stories_for_embedding(cid)}
        assert "Hiring this week" not in embeddable and "Paper 3 on decoding" in embeddable


def test_recurring_titles_needs_enough_issues():
    issues = [["Why should I care?", f"Story {n}"] for n in range(3)]
    assert recurring_titles(issues) == {title_key("why should I care")}
    assert recurring_titles(issues[:2]) == set()  # two issues are not a pattern
    many = [[f"Story {n}"] for n in range(100)] + [["Weekly column"]] * 3
    assert recurring_titles(many) == set()  # 3 of 103 issues is under the 5% share
