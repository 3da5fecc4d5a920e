"""The `pulse` command as a user meets it."""
from __future__ import annotations

import json

from click.testing import CliRunner

from pipeline.cli import main
from tests.conftest import Reply
from tests.feeds import rss, story_html

OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>subs</title></head><body>
<outline text="AI"><outline type="rss" text="Alpha Letter" xmlUrl="https://alpha.example.org/feed"/>
<outline type="rss" title="Beta Weekly" text="Beta" xmlUrl="https://beta.example.org/rss"/></outline></body></opml>"""


def invoke(*args):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_sample_run_ingests_bundled_issues(pulse_dirs):
    result = invoke("run", "--sample", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["totals"]["issues"] == 6 and data["totals"]["stories"] == 25  # 24 news stories and one sponsor item (not embedded)
    assert {s["name"] for s in data["ingest"]["sources"]} == {"gradient-notes", "inference-letter", "model-drop"}
    again = json.loads(invoke("run", "--sample", "--json").stdout)
    assert again["totals"] == data["totals"] and again["ingest"]["issues_new"] == 0
    assert data["embed"]["embedded"] == 24 and again["embed"]["embedded"] == 0


def test_sources_add_list_remove_import(pulse_dirs, tmp_path):
    assert invoke("sources", "add", "mine", "https://mine.example.org/feed").exit_code == 0
    names = [s["name"] for s in json.loads(invoke("sources", "list", "--json").stdout)]
    assert names[0] == "importai" and "mine" in names
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    out = invoke("sources", "import", str(opml))
    assert "imported 2 new source(s): alpha-letter, beta-weekly" in out.output
    assert "imported 0 new" in invoke("sources", "import", str(opml)).output
    assert invoke("sources", "remove", "mine").exit_code == 0
    names = [s["name"] for s in json.loads(invoke("sources", "list", "--json").stdout)]
    assert "mine" not in names and "beta-weekly" in names


def test_user_errors_are_one_line(pulse_dirs):
    config, _ = pulse_dirs
    r = CliRunner().invoke(main, ["sources", "add", "Bad Name!", "https://x.example.org"])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "error:" in r.output
    r = CliRunner().invoke(main, ["sources", "add", "x", "ftp://x.example.org"])
    assert r.exit_code == 2 and "scheme 'ftp' refused" in r.output and r.output.count("\n") == 1
    config.mkdir(parents=True)
    (config / "sources.toml").write_text("[[source]\nname=")
    r = CliRunner().invoke(main, ["run"])
    assert r.exit_code == 2 and "invalid TOML" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(main, ["backfill", "nope", "--since", "yesterday"])
    assert r.exit_code == 2 and "not a date" in r.output


def test_run_exit_codes_follow_source_health(pulse_dirs, feed_server):
    good = feed_server.route("/good", Reply(body=rss({"title": "I", "link": "https://g.example.org/1",
                                                      "html": story_html(("T", "text", "https://l.example.org"))})))
    bad = feed_server.route("/bad", Reply(status=404))
    invoke("sources", "remove", "importai")
    for name in ("bensbites", "lastweekinai", "interconnects", "thegradient", "simonwillison"):
        invoke("sources", "remove", name)
    invoke("sources", "add", "good", good)
    invoke("sources", "add", "bad", bad)
    r = CliRunner().invoke(main, ["run"])
    assert r.exit_code == 3 and "HTTP 404" in r.output
    invoke("sources", "remove", "good")
    assert CliRunner().invoke(main, ["run"]).exit_code == 4
