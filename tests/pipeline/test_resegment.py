"""`pulse resegment`: re-split the stored archive without fetching; unchanged stories keep their ids and
only what changed is embedded again."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.store import Store
from sources.segment import SEGMENTERS, register_segmenter
from tests.conftest import Reply
from tests.feeds import rss, story_html


def split_last(blocks, issue_title=""):
    """A 'changed' segmenter: generic, but the last story's two paragraphs become two stories."""
    drafts = SEGMENTERS["generic"](blocks, issue_title)
    last = drafts[-1]
    if len(last.nodes) > 1:
        tail = type(last)(title="Second half: " + last.title, section=last.section, nodes=last.nodes[1:])
        last.nodes = last.nodes[:1]
        drafts.append(tail)
    return drafts


@pytest.fixture(scope="module", autouse=True)
def changed_segmenter():
    if "test-split-last" not in SEGMENTERS:
        register_segmenter("test-split-last")(split_last)
    yield
    SEGMENTERS.pop("test-split-last", None)


def issue(n: int) -> dict:
    html = story_html((f"Lab {n} ships a model", f"Lab {n} shipped a model for code.", f"https://lab{n}.example.com"),
                      (f"Fund {n} backs chips", f"Fund {n} backed a chip startup.", f"https://fund{n}.example.com"))
    html += f"<h2>Long read {n}</h2><p>First part of the long read {n}.</p><p>Second part of read {n}, on data.</p>"
    return {"title": f"Weekly {n}", "link": f"https://weekly.example.org/p/{n}", "html": html,
            "date": f"Mon, 0{n + 1} Nov 2026 12:00:00 +0000"}


def run_json(*args: str) -> dict:
    r = CliRunner().invoke(main, [*args, "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.output[r.output.index("{"):])


def test_resegment_keeps_unchanged_ids_and_redoes_only_what_changed(feed_server, pulse_dirs):
    config, data = pulse_dirs
    url = feed_server.route("/feed", Reply(body=rss(*[issue(n) for n in range(3)])))
    config.mkdir(parents=True)
    (config / "sources.toml").write_text("")  # no shipped defaults: they would try the network
    assert CliRunner().invoke(main, ["sources", "add", "weekly", url, "--segmenter", "generic"]).exit_code == 0
    first = run_json("run")
    with Store(data / "pulse.db") as store:
        before = dict(store.db.execute("SELECT id, title FROM stories").fetchall())
    assert first["embed"]["embedded"] == len(before) == 9

    assert CliRunner().invoke(main, ["sources", "set", "weekly", "segmenter=test-split-last"]).exit_code == 0
    second = run_json("resegment")
    assert second["resegment"]["issues"] == 3 and second["resegment"]["updated"] == 3
    assert feed_server.hits["/feed"] == 1  # nothing fetched
    with Store(data / "pulse.db") as store:
        after = dict(store.db.execute("SELECT id, title FROM stories").fetchall())
        clustered = store.db.execute("SELECT count(*) FROM cluster_members").fetchone()[0]
    kept = {sid for sid, title in before.items() if not title.startswith("Long read")}
    assert kept <= set(after) and all(after[s] == before[s] for s in kept)  # same ids, same stories
    assert len(after) == 12 and sum(t.startswith("Second half") for t in after.values()) == 3
    assert second["embed"]["embedded"] == 6  # the three shortened long reads and their three second halves
    assert clustered == 12

    third = run_json("resegment", "--source", "weekly")
    assert third["resegment"]["updated"] == 0 and third["embed"]["embedded"] == 0


def test_resegment_names_an_unknown_source(pulse_dirs):
    r = CliRunner().invoke(main, ["resegment", "--source", "nope"])
    assert r.exit_code == 2 and "no source named 'nope'" in r.output
