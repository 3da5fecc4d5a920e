"""Watch-for tracking: items a brief opens, resolved by a later story of another newsletter or expired after
their horizon; shown in `pulse watch`, both briefs' pages, the digest of the day and the thread."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from outputs import watch
from outputs.facts import Facts
from pipeline.cli import main
from tests.conftest import Reply
from tests.feeds import rss, story_html

ALPHA_DAY, BETA_DAY = date(2026, 10, 1), date(2026, 10, 12)


def _item(title: str, link: str, day: date, html: str) -> dict:
    return {"title": title, "link": link, "date": day.strftime("%a, %d %b %Y 09:00:00 +0000"), "html": html}


@pytest.fixture(scope="module")
def night(tmp_path_factory):
    """Two newsletters: Alpha tells of a waitlist (and a paper without code) on Oct 1; Beta, eleven days later,
    that the product is open to everyone and its price. One `pulse run` over both."""
    from tests.conftest import FeedServer

    root = tmp_path_factory.mktemp("watch")
    mp = pytest.MonkeyPatch()
    mp.setenv("PULSE_CONFIG_DIR", str(root / "config"))
    mp.setenv("PULSE_DATA_DIR", str(root / "data"))
    server = FeedServer().start()
    alpha = story_html(
        ("Corvid AI opens a waitlist for Larkspur-2, its coding agent",
         "Corvid AI unveiled Larkspur-2, a coding agent that edits whole repositories and runs their tests. "
         "Access is limited for now: developers can join the waitlist today, and Corvid AI has not said what "
         "Larkspur-2 will cost.", "https://corvid.example.com/larkspur-2"),
        ("Orrery Lab posts a paper on Tessel-R routing for sparse models",
         "Researchers at Orrery Lab describe Tessel-R, a routing method that cuts the compute of sparse models "
         "by 31% in their own experiments. The paper describes Tessel-R in detail; no code was released.",
         "https://arxiv.org/abs/2610.01234"))
    beta = story_html(
        ("Larkspur-2 is now available to everyone",
         "Corvid AI's Larkspur-2 coding agent is now generally available to all developers, priced at $20 per "
         "month per seat, after a month behind a waitlist.", "https://corvid.example.com/pricing"),
        ("Quillfish ships version 3 of its notes tool",
         "Quillfish 3 adds tickets and a shared inbox for small teams.", "https://quillfish.example.com/3"))
    alpha_url = server.route("/alpha", Reply(body=rss(_item("Alpha Dispatch 40", "https://alpha.example.org/40",
                                                            ALPHA_DAY, alpha), title="Alpha Dispatch")))
    beta_url = server.route("/beta", Reply(body=rss(_item("Beta Weekly 12", "https://beta.example.org/12", BETA_DAY,
                                                          beta), title="Beta Weekly")))
    (root / "config").mkdir(parents=True)
    (root / "config" / "sources.toml").write_text("")
    runner = CliRunner()
    try:
        for name, url in (("alpha", alpha_url), ("beta", beta_url)):
            assert runner.invoke(main, ["sources", "add", name, url]).exit_code == 0
        report = json.loads(runner.invoke(main, ["run", "--json"], catch_exceptions=False).stdout)
        yield runner, root / "data", report
    finally:
        server.stop()
        mp.undo()


def _watch(runner, *args: str) -> dict:
    result = runner.invoke(main, ["watch", "--json", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_an_item_is_resolved_by_a_later_story_in_another_newsletter(night):
    runner, data, report = night
    assert report["watch"]["items"] >= 4 and report["watch"]["resolved"] >= 2, report["watch"]
    listed = _watch(runner, "--resolved")
    larkspur = [w for w in listed["items"] if w["subject"] == "Larkspur-2"]
    events = {w["event"]: w for w in larkspur}
    assert set(events) == {"open", "price"}, larkspur
    for w in events.values():
        assert w["status"] == "resolved" and w["resolved_source"] == "beta" and w["days"] == 11
        assert w["resolved_title"] == "Larkspur-2 is now available to everyone"
    assert "$20 per month" in events["price"]["evidence"]
    # both briefs say so, each linking the other
    origin = (data / "digests" / "stories" / f"{events['open']['slug']}.md").read_text("utf-8")
    resolver = (data / "digests" / "stories" / f"{events['open']['resolved_slug']}.md").read_text("utf-8")
    assert "Resolved after 11 days" in origin and f"({events['open']['resolved_slug']}.md)" in origin
    assert "resolves what earlier briefs watched for" in resolver and f"({events['open']['slug']}.md)" in resolver
    # the digest of the resolving day reports it; the day before, the item was still open
    day = (data / "digests" / f"digest-{BETA_DAY}.md").read_text("utf-8")
    resolved = day.split("## Watch-for resolved")[1].split("\n## ")[0]
    assert "Resolved after 11 days: Larkspur-2 opening to everyone" in resolved and "in beta" in resolved
    before = _watch(runner, "--open", "--as-of", (BETA_DAY - timedelta(days=1)).isoformat())
    assert {w["event"] for w in before["items"] if w["subject"] == "Larkspur-2"} == {"open", "price"}


def test_an_item_nobody_resolves_expires_after_its_horizon(night):
    runner, data, _ = night
    paper = [w for w in _watch(runner)["items"] if w["event"] == "code"]
    assert len(paper) == 1 and paper[0]["status"] == "open" and "Tessel-R" in paper[0]["text"]
    horizon = watch.EVENTS["code"].horizon
    gone = (ALPHA_DAY + timedelta(days=horizon + 1)).isoformat()
    expired = _watch(runner, "--expired", "--as-of", gone)
    assert [w["id"] for w in expired["items"] if w["event"] == "code"] == [paper[0]["id"]]
    assert expired["counts"]["expired"] >= 1 and expired["counts"]["resolved"] >= 2
    result = runner.invoke(main, ["digest", "--date", gone, "--json"], catch_exceptions=False)
    assert result.exit_code == 0
    text = (data / "digests" / f"digest-{gone}.md").read_text("utf-8")
    block = text.split("## Watch-for expired")[1]
    assert f"Not (yet) happened in {horizon} days: Code for Tessel-R" in block
    # the day before, it was not yet reported
    result = runner.invoke(main, ["digest", "--date", (ALPHA_DAY + timedelta(days=horizon)).isoformat()])
    assert "Watch-for expired" not in (data / "digests" / f"digest-{ALPHA_DAY + timedelta(days=horizon)}.md").read_text("utf-8")


def test_pulse_watch_refuses_a_bad_date_in_one_line(night):
    runner, _, _ = night
    result = runner.invoke(main, ["watch", "--as-of", "2026-13-01"])
    assert result.exit_code == 2 and "is not a date like" in result.output


def test_items_come_from_the_facts_of_news_only():
    base = dict(kind_cues=[], artifacts=[], artifact_links={})
    assert watch.items_for("opinion", Facts(kind="opinion", **base), "Zephyr") == []
    assert [w["event"] for w in watch.items_for("research", Facts(kind="research", **base), "Zephyr")] == ["code", "replication"]
    waitlist = Facts(kind="release", access="waitlist", **base)
    assert [w["event"] for w in watch.items_for("release", waitlist, "Zephyr")] == ["open", "price"]
    # without a subject to look for, only a second newsletter's telling can be checked
    assert [w["event"] for w in watch.items_for("research", Facts(kind="research", **base), "")] == ["coverage"]


def test_a_derivative_does_not_resolve_its_base():
    later = watch.Later("c2", "release", "Mistral 7B OpenOrca", "", ["weights"], "", "open", "", False, False,
                        "Mistral 7B OpenOrca fine-tune released")
    assert watch.derivative("Mistral 7B", later)
    assert not watch.derivative("Mistral 7B", watch.Later(**{**later.__dict__, "subject": "Mistral 7B"}))
    assert watch.names_subject("Larkspur-2", ["Larkspur-2 is now available"])
    assert not watch.names_subject("Larkspur", ["Larkspur-based tools"])


def test_an_item_its_own_cluster_resolved_is_not_shown_as_resolving_an_earlier_brief(archive, tmp_path):
    """A second newsletter telling the same news resolves the first telling's 'another newsletter' item: the
    brief shows it among its own items, without a link to itself, and not as an earlier brief's."""
    from pipeline.store import Store

    archive[0].backup_to(tmp_path / "p.db")
    with Store(tmp_path / "p.db") as store:
        cid = sorted(store.briefs())[0]
        event = next(iter(watch.EVENTS))
        store.replace_watch_items([cid], [{"id": "w1", "cluster_id": cid, "event": event, "subject": "Larkspur-2",
                                           "text": "Another newsletter on Larkspur-2.", "opened": "2026-10-01",
                                           "since": "2026-10-01", "expires": "2026-12-01", "actor": "",
                                           "sources": "[]"}])
        story = store.db.execute("SELECT story_id FROM cluster_members WHERE cluster_id = ?", [cid]).fetchone()[0]
        store.set_watch_resolutions([("w1", {"story_id": story, "cluster_id": cid, "date": "2026-10-07",
                                             "source": "beta", "title": "Larkspur-2 again", "evidence": "told too"})])
        items = watch.page_items(store, [cid])[cid]
    assert [w["id"] for w in items["watch"]] == ["w1"] and items["watch"][0]["resolved_slug"] is None
    assert items["resolves"] == []


def test_a_deal_is_watched_until_it_closes_or_falls_through():
    base = dict(kind_cues=[], artifacts=[], artifact_links={})
    deal = Facts(kind="funding", deal={"buyer": "Orvex", "target": "Tindal", "price": "$230M"}, **base)
    assert [w["event"] for w in watch.items_for("funding", deal, "Tindal")] == ["closing"]
    assert [w["event"] for w in watch.items_for("funding", Facts(kind="funding", **base), "Tindal")] == ["release"]

    def later(kind: str, headline: str) -> watch.Later:
        return watch.Later("c2", kind, "Tindal", "Orvex", [], "", "", "", False, False, headline)
    item = {"subject": "Tindal", "actor": "Orvex"}
    assert watch.settles("closing", item, later("funding", "Orvex completes its acquisition of Tindal"))
    assert watch.settles("closing", item, later("policy", "Regulator blocks Orvex's Tindal deal"))
    assert not watch.settles("closing", item, later("release", "Tindal ships a new speech model"))
    assert not watch.settles("closing", item, later("funding", "Tindal raises more money"))
