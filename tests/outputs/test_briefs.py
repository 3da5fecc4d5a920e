"""Golden tests for briefs on Pulse's own sample issues: sections, grounding, ratings, safety, variety."""
from __future__ import annotations

import dataclasses
import itertools
import re
from datetime import date, timedelta

import pytest
from markdown_it import MarkdownIt

from outputs import sentences as sent
from outputs import signals as sig
from outputs.brief import FREE_TEXT, rate, recent_related
from outputs.brief_stage import brief_clusters, input_hashes, inputs, load_brief, make_briefs, texts_of
from outputs.grounding import check
from outputs.markdown import escape_md, safe_url, slug_for
from outputs.render import Templates

from tests.archive import build_archive

SECTIONS = ["## What Happened", "## Our Take", "## What To Do", "## Builder's Brief", "## What Skeptics Say",
            "## Cited By"]


def briefs_by_title(store):
    return {b.title: b for b in (load_brief(r) for r in store.briefs().values())}


def pages(out_dir):
    return sorted((out_dir / "stories").glob("*.md"))


def test_every_cluster_has_one_page_with_every_section_in_order(archive):
    store, _, out = archive
    assert len(pages(out)) == store.count("clusters") == store.count("briefs")
    for page in pages(out):
        text = page.read_text("utf-8")
        where = [text.find(h) for h in SECTIONS]
        assert -1 not in where and where == sorted(where), page.name
        for label in ("**Who:**", "**What changes:**", "**When:**", "**Watch for:**", "impact: **"):
            assert label in text, (page.name, label)


def test_watch_for_never_asks_for_a_second_newsletter_when_two_told_it(archive):
    import dataclasses

    from outputs.brief import build
    store, briefer, _ = archive
    once = [b for b in briefs_by_title(store).values() if len(b.sources) == 1 and "second newsletter" in b.watch_for]
    assert once
    inp = inputs(store, [once[0].cluster_id])[0]
    seen = {}

    def spy(**context):
        seen.update(context)
        return briefer.templates.fields(**context)
    build(inp, briefer.cached_encode, briefer.roles, spy, kinds=briefer.kinds, cues=briefer.cues)
    assert "second newsletter" in briefer.templates.fields(**seen)["watch_for"]
    # the same story told by two newsletters: the next one to watch for is another, not "a second"
    twice = briefer.templates.fields(**{**seen, "s": dataclasses.replace(seen["s"], sources=2)})["watch_for"]
    assert "second newsletter" not in twice and "nother newsletter" in twice


def test_briefs_are_grounded_in_their_sources(archive):
    store, briefer, _ = archive
    house = briefer.templates.house_words()
    briefs = {b.cluster_id: b for b in (load_brief(r) for r in store.briefs().values())}
    for inp in inputs(store, sorted(briefs)):
        sources, archive_texts = texts_of(inp)
        assert check(briefs[inp.cluster_id], sources, archive_texts, house) == [], inp.title


def test_the_grounding_check_catches_invented_names_numbers_and_sentences(archive):
    store, briefer, _ = archive
    b = briefs_by_title(store)["Tessellate raises $40 million for inference silicon"]
    inp = inputs(store, [b.cluster_id])[0]
    sources, archive_texts = texts_of(inp)
    house = briefer.templates.house_words()
    assert check(b, sources, archive_texts, house) == []
    invented = {"our_take": "Analysts at Zorblax Capital expect it to triple by 2031.", "what_to_do": b.what_to_do,
                "what_changes": b.what_changes, "watch_for": b.watch_for, "skeptics": b.skeptics}
    problems = check(b, sources, archive_texts, house, fields=invented)
    assert any("Zorblax" in p for p in problems) and any("2031" in p for p in problems)
    b.what_happened[0]["text"] = "Tessellate has shipped a million boards."
    assert any("not in any source" in p for p in check(b, sources, archive_texts, house))


def test_what_happened_takes_one_sentence_per_newsletter_not_three_copies(archive):
    b = briefs_by_title(archive[0])["Hyperion-7B is out with open weights"]
    assert len(b.what_happened) == 3 and len({w["source"] for w in b.what_happened}) == 3
    assert not any(w["text"].lower().startswith(("read more", "launch post")) for w in b.what_happened)


def test_what_happened_is_chosen_by_centrality_not_position(embedder):
    text = ("Before we start, a reminder that our office has moved to a new building downtown this month. "
            "Kestrel Research released a speculative decoding method that verifies trees of draft tokens. "
            "The draft-tree method doubles decoding speed for large language models at batch size one. "
            "Speculative decoding with draft trees keeps outputs identical to ordinary decoding.")
    cands = sent.candidates([("s1", text)])
    assert len(cands) == 4
    picked = [s.text for s, _ in sent.central(cands, embedder.encode, None, limit=2)]
    assert not any("office" in p for p in picked)  # the first sentence is not the news
    assert all("draft" in p.lower() for p in picked)


@pytest.mark.parametrize("title, kind", [
    ("Hyperion-7B is out with open weights", "release"),
    ("Tessellate raises $40 million for inference silicon", "funding"),
    ("The EU proposes a registry for large training runs", "policy"),
    ("Independent replication finds Hyperion-7B's scores do not hold up", "benchmark"),
    ("Analyst predicts most inference will run on-device by 2030", "opinion"),  # a forecast is an opinion piece (form: forecast)
    ('<script>alert("title")</script> Quorum AI leaks its evaluation set', "incident"),
    ("Quick note: our meetup is moving", "notice"),
    ("The Quiet Benchmark", "fiction"),
])
def test_kind_of_news(archive, title, kind):
    assert briefs_by_title(archive[0])[title].kind == kind


def signals(**over) -> sig.Signals:
    base = dict(kind="research", kind_cues=[], horizon="months", horizon_cues=[], sources=1, stories=1,
                thread_position=1, thread_clusters=1, days_since_thread_start=0.0, span_days=0.0, artifacts=[],
                figures=[], names=[], plans=[], contrary=False)
    return sig.Signals(**{**base, **over})


@pytest.mark.parametrize("over, extra, level", [
    ({}, {}, "low"),
    ({"sources": 2, "figures": ["2x"]}, {"claim_by": "measured"}, "medium"),
    ({"sources": 2, "figures": ["2x"]}, {"claim_by": "asserted"}, "low"),  # the makers' own number earns nothing
    ({"kind": "release", "sources": 3, "artifacts": ["weights"], "horizon": "weeks"}, {"usable": ["weights"]}, "high"),
    ({"kind": "notice", "sources": 5}, {}, "low"),
    ({"kind": "opinion", "horizon": "years", "sources": 2}, {}, "low"),
    ({"kind": "policy", "sources": 2, "thread_position": 3}, {}, "medium"),
    # one newsletter's one-line link item never ranks high, however much else it has
    ({"kind": "release", "horizon": "weeks"}, {"usable": ["code"], "novel": True, "actor": "Acme",
                                               "actor_mentions": 40, "one_line": True}, "medium"),
    ({"kind": "release", "horizon": "weeks"}, {"usable": ["code"], "novel": True, "actor": "Acme",
                                               "actor_mentions": 40}, "high"),
    # a one-line listing by an unknown maker with nothing to use ranks with the list it came from
    ({"kind": "release", "horizon": "weeks"}, {"novel": True, "one_line": True}, "low"),
    ({"kind": "release", "horizon": "weeks"}, {"novel": True, "one_line": True, "usable": ["api"]}, "low"),
    ({"kind": "release", "horizon": "weeks"}, {"novel": True, "one_line": True, "actor": "Acme",
                                               "actor_mentions": 40}, "medium"),
    ({"kind": "release", "sources": 2, "horizon": "weeks"}, {"novel": True, "one_line": True}, "high"),
    # ... but not a listing of something the archive has met: earlier headlines, or a maker in a few stories
    ({"kind": "release", "horizon": "weeks"}, {"seen_before": 2, "one_line": True}, "medium"),
    ({"kind": "release", "horizon": "weeks"}, {"novel": True, "one_line": True, "actor": "Quillworks",
                                               "actor_mentions": 6}, "medium"),
    ({"kind": "release", "sources": 3, "horizon": "weeks"}, {"promo": True}, "low"),
    ({"kind": "opinion", "sources": 3, "horizon": "weeks"}, {"novel": True}, "medium"),
])
def test_impact_follows_the_signals(over, extra, level):
    got, score, reasons = rate(signals(**over), **extra)
    assert got == level
    assert sum(int(m) for r in reasons for m in re.findall(r"\(([+-]\d+)\)", r)) == score  # the reasons add up


def test_a_capped_story_ranks_by_what_the_cap_left():
    news = rate(signals(kind="business"))  # one newsletter's plain news: no point either way
    listing = rate(signals(kind="release", horizon="weeks"), novel=True, one_line=True)
    assert news[:2] == ("low", 0) and listing[0] == "low" and listing[1] <= news[1]
    assert "at most low (-3)" in listing[2][-1]
    capped = rate(signals(kind="release", horizon="weeks"), usable=["code"], novel=True, actor="Acme",
                  actor_mentions=40, one_line=True)
    assert capped[:2] == ("medium", 3) and capped[2][-1].endswith("at most medium (-2)")


def test_more_coverage_never_lowers_impact():
    scores = [rate(signals(sources=v))[1] for v in (1, 2, 3, 5)]
    assert scores == sorted(scores) and scores[0] < scores[-1]


def test_a_long_thread_alone_never_raises_impact():
    base = rate(signals(kind="release", sources=2))
    for n in (2, 10, 100, 974):
        assert rate(signals(kind="release", sources=2, thread_position=n, thread_clusters=n,
                            days_since_thread_start=3.0 * n)) == base


def test_impact_on_the_sample(archive):
    briefs = briefs_by_title(archive[0])
    assert briefs["Hyperion-7B is out with open weights"].impact == "high"
    assert briefs["Quick note: our meetup is moving"].impact == "low"
    assert briefs["The Quiet Benchmark"].impact == "low"


def test_skeptics_cite_archive_stories_that_cut_against_the_claim(archive):
    b = briefs_by_title(archive[0])["Hyperion-7B is out with open weights"]
    # the counter-evidence by name, and the launch claim it is against (the figure, not the training size)
    assert "“Early users question Hyperion-7B's benchmark numbers” (inference-letter" in b.skeptics
    assert "71.2" in b.skeptics and "The company says" in b.skeptics
    assert {c["source"] for c in b.counter} >= {"gradient-notes", "model-drop"}
    assert all(c["date"] > b.date for c in b.counter)  # the replication came later


def test_builders_brief_signals(archive):
    briefs = briefs_by_title(archive[0])
    funding = briefs["Tessellate raises $40 million for inference silicon"]
    assert funding.when == "months" and "developer boards" in funding.watch_for
    assert "Tessellate" in funding.what_to_do
    policy = briefs["The EU proposes a registry for large training runs"]
    assert "Policy teams" in policy.who
    forecast = briefs["Analyst predicts most inference will run on-device by 2030"]
    assert forecast.when == "years" and "The forecast to hold" in forecast.skeptics and "80%" in forecast.skeptics


def test_what_changes_and_skeptics_state_what_the_story_gives(archive):
    briefs = briefs_by_title(archive[0])
    # doubted, but the weights are out: what changes is that you can run them, not "announced"
    launch = briefs["Hyperion-7B is out with open weights"]
    assert "run and inspect yourself: weights" in launch.what_changes and "announced" not in launch.what_changes
    # a listed tool gives no figure: the claim in doubt is its own description, quoted
    tool = next(b for t, b in briefs.items() if t.startswith("Batchwise"))
    assert "“a scheduler that packs inference requests by length" in tool.skeptics
    assert "only claim is that it exists" not in tool.skeptics
    # an unsure kind with a figure names the figure rather than saying nothing
    assert "18 percent" in briefs["GPU rental prices fall again"].what_changes


def test_every_brief_of_a_known_kind_names_its_readers(archive):
    from outputs.brief import KIND_AUDIENCE
    for b in briefs_by_title(archive[0]).values():
        if b.kind in KIND_AUDIENCE:
            assert b.who, b.title
            # backed by words of the story, or, with none, by its kind
            assert b.signals["audience_cues"][b.who[0]], b.title

        for name in b.who:  # a reader's name inside a sentence is written as a sentence writes it
            lower = name[:1].lower() + name[1:]
            if name != lower and name[1:2].islower():
                assert f" {name} " not in f"{b.our_take} {b.what_to_do} {b.what_changes}", (b.title, name)


def test_different_stories_get_different_text(archive):
    news = [b for b in briefs_by_title(archive[0]).values() if b.kind not in ("notice", "fiction")]
    for a, b in itertools.combinations(news, 2):
        assert (a.our_take, a.what_to_do, a.what_changes) != (b.our_take, b.what_to_do, b.what_changes), \
            (a.title, b.title)


def test_cited_by_lists_the_other_issues_with_dates(archive):
    b = briefs_by_title(archive[0])["Independent replication finds Hyperion-7B's scores do not hold up"]
    relations = {(c["source"], c["relation"]) for c in b.cited_by}
    assert ("model-drop", "cluster") in relations and ("inference-letter", "thread") in relations
    assert all(re.match(r"\d{4}-\d\d-\d\d", c["date"]) for c in b.cited_by)


# ---------------------------------------------------------------- hostile input
def all_outputs(out_dir):
    return [p for p in out_dir.rglob("*") if p.is_file()]


def test_hostile_titles_and_html_are_neutralised(archive):
    _, _, out = archive
    texts = {p.name: p.read_text("utf-8") for p in all_outputs(out)}
    for name, text in texts.items():
        assert "<script" not in text.lower() and "<iframe" not in text.lower(), name
        assert "javascript:" not in text.lower() and "data:text" not in text.lower(), name
        assert "onerror" not in text.lower(), name
        if name.endswith(".md"):  # what any markdown renderer makes of it: links only where Pulse put them
            html = MarkdownIt("commonmark").render(text)
            assert "<script" not in html and "<img" not in html and "<iframe" not in html, name
            for target in re.findall(r'href="([^"]*)"', html):
                # Pulse's own links: the web, and its pages (briefs, issues, newsletters, digests) by safe slug
                assert re.match(r"https?://|(?:stories/|\.\./(?:stories|issues|newsletters)/|digest-)?[a-z0-9%-]+\.md$",
                                target), (name, target)
    quorum = next(t for n, t in texts.items() if n.startswith("script-alert-title-script-quorum"))
    assert "&lt;script&gt;" in quorum  # shown as text, not dropped


@pytest.mark.parametrize("title", ['<script>alert(1)</script>', "../../../etc/passwd", "CON", "🚀🚀🚀", "",
                                   "a" * 500, "Ünïcödé — naïve café", "x/y\\z:*?\"<>|"])
def test_slugs_are_safe_file_names(title):
    slug = slug_for(title, "c0ffee12deadbeef")
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug) and len(slug) <= 70
    assert slug.endswith("c0ffee12") and slug.split("-")[0] not in ("con", "")


def test_page_file_names_are_safe(archive):
    for page in pages(archive[2]):
        assert re.fullmatch(r"[a-z0-9-]+\.md", page.name)


@pytest.mark.parametrize("raw", ["<script>x</script>", "[a](javascript:alert(1))", "*bold* _it_", "`code`",
                                 "# heading", "1. list", "- item", "<https://a.example>", "![img](https://a.example/i)",
                                 "line one\n\n| a | b |\n|---|---|"])
def test_escaped_text_renders_as_the_same_text_and_no_markup(raw):
    html = MarkdownIt("commonmark").enable("table").render(escape_md(raw))
    assert re.fullmatch(r"<p>[^<]*</p>\n", html), html  # one paragraph of plain text: no link, tag or list


@pytest.mark.parametrize("url, ok", [("https://a.example/x", True), ("javascript:alert(1)", False),
                                     ("data:text/html,x", False), ("//evil.example", False), ("", False),
                                     ("https://a.example/(x)", True)])
def test_only_http_links_survive(url, ok):
    got = safe_url(url)
    assert (got is not None) == ok
    assert got is None or (")" not in got and " " not in got)


# ---------------------------------------------------------------- incremental and overridable
def test_rerun_rebuilds_nothing_and_an_edit_rebuilds_its_cluster(tmp_path, embedder):
    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "out")
    with store:
        assert brief_clusters(store, briefer, tmp_path / "out")["briefed"] == 0
        sid = next(iter(store.db.query("SELECT id FROM stories WHERE title LIKE 'Orbital%'")))["id"]
        store.db.execute("UPDATE stories SET text = text || ' The company plans to ship samples in March.', "
                         "content_hash = 'edited' WHERE id = ?", [sid])
        embed_stories_again(store, embedder)
        from pipeline.cluster_stage import cluster_stories
        cluster_stories(store)
        again = brief_clusters(store, briefer, tmp_path / "out")
        assert 1 <= again["briefed"] <= 3  # its cluster (and its thread, if any)
        b = briefs_by_title(store)["Orbital announces an inference chip for edge devices"]
        assert "March" in " ".join(w["text"] for w in b.what_happened) + b.what_changes


def test_a_brief_is_written_as_of_its_cluster_and_what_its_thread_gains_later_does_not_rebuild_it(tmp_path, embedder):
    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "out")
    with store:
        steps = store.db.execute("SELECT thread_id, group_concat(id) FROM (SELECT * FROM clusters WHERE thread_id "
                                 "IS NOT NULL ORDER BY first_date, id) GROUP BY thread_id HAVING count(*) >= 2").fetchall()
        assert steps, "the sample archive has a thread of two steps or more"
        first, later = steps[0][1].split(",")[0], steps[0][1].split(",")[-1]
        briefs = store.briefs([first, later])
        b = load_brief(briefs[first])
        assert b.signals["as_of"] == store.last_published([first])[first]
        # Cited By of the first step lists nothing published after its own newest story; what it cites from
        # later is counter-evidence naming its subject or actor
        assert all(c["date"] <= b.signals["as_of"] for c in b.cited_by)
        against = {r[0] for r in store.db.execute("SELECT story_id FROM story_marks WHERE contrary = 1")}
        assert all(c["story_id"] in against for c in b.counter if c["date"] > b.signals["as_of"])
        page = (tmp_path / "out" / "stories" / f"{b.slug}.md").read_text("utf-8")
        assert f"As of {b.signals['as_of'][:10]}; what the thread did after: `pulse thread {b.thread_id}`" in page
        before = input_hashes(store, briefer)
        # the first step grows by a story published after the later step's newest (size and members, as the
        # cluster stage writes them): the later brief read the thread as of its own date, so it stays
        grown = store.db.execute("SELECT s.id FROM stories s JOIN cluster_members m ON m.story_id = s.id "
                                 "WHERE m.cluster_id NOT IN (?, ?) LIMIT 1", [first, later]).fetchone()[0]
        store.db.execute("UPDATE cluster_members SET cluster_id = ? WHERE story_id = ?", [first, grown])
        store.db.execute("UPDATE stories SET published = '2099-01-01T00:00:00+00:00' WHERE id = ?", [grown])
        store.db.execute("UPDATE clusters SET size = size + 1, last_date = '2099-01-01T00:00:00+00:00' "
                         "WHERE id = ?", [first])
        after = input_hashes(store, briefer)
        assert after[later] == before[later] and after[first] != before[first]
        again = brief_clusters(store, briefer, tmp_path / "out")
        assert again["briefed"] >= 1 and store.briefs([later])[later]["updated"] == briefs[later]["updated"]
        after = input_hashes(store, briefer)
        # a story of the first step that the later brief read is edited: the later brief is rebuilt
        edited = store.db.execute("SELECT story_id FROM cluster_members WHERE cluster_id = ? AND story_id != ? "
                                  "LIMIT 1", [first, grown]).fetchone()[0]
        store.db.execute("UPDATE stories SET content_hash = 'edited' WHERE id = ?", [edited])
        assert input_hashes(store, briefer)[later] != after[later]


def test_later_counter_evidence_naming_the_subject_rebuilds_the_brief_it_cuts_against(tmp_path, embedder):
    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "out")
    with store:
        b = briefs_by_title(store)["Hyperion-7B is out with open weights"]
        later = [c for c in b.counter if c["date"] > b.signals["as_of"]]
        assert later, "the replication came later and is cited against the launch claim"
        hashes = input_hashes(store, briefer)
        # the later story no longer cuts against anything: the launch brief is rebuilt without it
        store.db.execute("UPDATE story_marks SET contrary = 0 WHERE story_id = ?", [later[0]["story_id"]])
        assert input_hashes(store, briefer)[b.cluster_id] != hashes[b.cluster_id]
        # a later contrary story that names neither its subject nor its actor changes nothing
        store.db.execute("UPDATE briefs SET key_names = '[\"Zorblax\"]' WHERE cluster_id = ?", [b.cluster_id])
        unnamed = input_hashes(store, briefer)[b.cluster_id]
        store.db.execute("UPDATE story_marks SET contrary = 1 WHERE story_id = ?", [later[0]["story_id"]])
        assert input_hashes(store, briefer)[b.cluster_id] == unnamed


def test_only_the_counter_evidence_a_brief_can_cite_rebuilds_it():
    from outputs.brief import MAX_COUNTER
    from outputs.brief_stage import Signatures

    doubt = "Lab Q failed to reproduce Hyperion-7B's scores."
    later = [(f"2026-11-{10 + n:02d}", f"s{n}", f"Replication {n}", doubt) for n in range(MAX_COUNTER + 2)]
    base = {"c1": ("own", "t1", "2026-11-05")}

    def hashed(rows, cited=MAX_COUNTER):
        return Signatures(base, {"t1": rows}, "fp", cited=cited).of("c1", ["Hyperion-7B"])
    cites = hashed(later[:MAX_COUNTER])
    assert hashed(later) == cites  # a fourth and fifth doubt come after the three it cites
    assert hashed([("2026-11-06", "s9", "Early doubt", doubt), *later]) != cites  # one before them enters
    assert hashed(later[:MAX_COUNTER - 1]) != cites
    assert hashed(later, cited=None) != hashed(later[:MAX_COUNTER], cited=None)  # a writer reads them all
    elsewhere = [("2026-11-20", "s8", "Other news", "Critics doubt Zorblax.")]
    assert hashed(later[:MAX_COUNTER] + elsewhere) == cites  # naming neither its subject nor its actor
    assert hashed([("2026-11-01", "s7", "Before", doubt), *later[:MAX_COUNTER]]) == cites  # before its newest story


def embed_stories_again(store, embedder):
    from pipeline.embed_stage import embed_stories
    embed_stories(store, embedder)


def test_user_templates_override_the_package_ones(tmp_path, embedder):
    user = tmp_path / "templates"
    user.mkdir()
    (user / "brief.md.j2").write_text("# {{ b.title }}\nCUSTOM PAGE {{ b.impact }}\n", "utf-8")
    store, _ = build_archive(tmp_path / "p.db", embedder, tmp_path / "out", Templates(user))
    with store:
        page = next(p for p in pages(tmp_path / "out") if p.name.startswith("hyperion-7b-is-out"))
        assert page.read_text("utf-8") == "# Hyperion-7B is out with open weights\nCUSTOM PAGE high\n"


def test_the_subject_is_the_clusters_own_name_as_written():
    from outputs.brief import Member, as_written, subject_and_org

    titles = ["OpenAI releases Point-E, an AI that generates 3D models", "OpenAI open-sources Point-E for 3D"]
    members = [Member(f"s{i}", t, t + ". OpenAI says OpenAI will keep improving it.", "src", "2022-12-20", f"i{i}",
                      "Issue", None) for i, t in enumerate(titles)]
    names = sig.names(titles + [m.text for m in members], " ".join(titles))
    assert names[0] == "OpenAI"  # the most frequent name is the maker, not the news
    # without the cluster's subject, the headline's grammar: "OpenAI releases Point-E" is about Point-E
    assert subject_and_org(members, names) == ("Point-E", "OpenAI")
    assert subject_and_org(members, names, "point-e") == ("Point-E", "OpenAI")
    assert as_written("mistral 7b", ["Mistral-7B's weights are out"]) == "Mistral-7B"
    assert as_written("point-e", ["nothing here"]) == ""


def subject_of(title: str, text: str = "", named: str = "") -> tuple[str, str]:
    """(subject, actor) of one story, as its brief names them."""
    from outputs.brief import Member, subject_and_org
    m = Member("s", title, text, "src", "2023-01-01", "i", "Issue", None)
    return subject_and_org([m], sig.names([title, text], title), named)


@pytest.mark.parametrize("title, text, want", [
    ("CoLT5 from Google - Faster long-range transformers", "Paper.", ("CoLT5", "Google")),
    ("Vidyo - Make short videos from long ones.", "", ("Vidyo", "")),
    ("Quillica -AI platform to cut the cost of storing data.", "", ("Quillica", "")),  # a dash against its text
    ("Meta's Looper powers decisions", "Looper is used by Meta engineers.", ("Looper", "Meta")),
    ("Codeium announces free code completion in notebooks", "Codeium says it is free.", ("Codeium", "Codeium")),
    ("Google makes an AI that beats most humans at geometry", "AlphaGeometry solves problems. AlphaGeometry "
     "was trained on synthetic data.", ("AlphaGeometry", "Google")),
    ("Orbital Labs’ Hyperion-7B Model Claims To Beat Rivals On Every Benchmark", "Orbital Labs’ Hyperion-7B Model "
     "Claims To Beat Rivals On Every Benchmark - Orbital Labs says Hyperion-7B beats larger models.",
     ("Hyperion-7B", "Orbital Labs")),
    # the headline's owner of a thing it does not name made it, not a name the text drops in passing
    ("Quillsound’s speech model is the most accurate yet", "Time for Shazbot to take a leaf out of Quillsound’s "
     "book. These guys are releasing a speech model.", ("Quillsound", "Quillsound")),
    ("Quillsound’s scores do not hold up in a replication", "A second lab could not reproduce them.",
     ("Quillsound", "")),
    ("Quillsound’s speech model has been extended to video", "A student extended it.", ("Quillsound", "")),
    # a listed tool is its name, even in plain words, and the names it works with are not its maker
    ("Caption anything - Image captions with Quill Segment and Quillchat.", "", ("Caption anything", "")),
    ("You - yes, you - can help Orchard map the floods", "Orchard asks volunteers for photos.", ("Orchard", "")),
    ("Dexa’s Quill Notes plugin on Quillchat gives answers with timestamps", "Dexa built it.",
     ("Quill Notes plugin", "Dexa")),
    ("QUILL-E and QSM- Two new models from Orchard.", "", ("QUILL-E and QSM", "Orchard")),
    ("Replication finds Quillnote scores do not hold up", "Two weeks after Orchard released Quillnote, researchers "
     "at the Open Eval Collective re-ran its benchmarks.", ("Quillnote", "Open Eval Collective")),
    # who the text says released it, not the first name it mentions
    ("Quillnote: An Open Unified Notes Learner", "Readers of Quillchat will like it. Orchard has released "
     "Quillnote, a model trained on notes.", ("Quillnote", "Orchard")),
    # a sentence before a dash is not a listed name: "Orchard presents Quill-9" names Quill-9, by Orchard
    ("Orchard presents Quill-9 — the first model to play Diplomacy", "Orchard built Quill-9.", ("Quill-9", "Orchard")),
    # something built for a product is not the product: its public code is not Quillchat's
    ("An unofficial collection of plugins for Quillchat in five languages.", "", ("", "")),
    ("Node.js wrapper to build experiments on top of Quillchat.", "", ("", "")),
    # what a tool runs on or who backs it did not make it ("generated by", "powered by")
    ("The Quillpost -satirical news generated by Quill-4, laugh while keeping up.", "", ("Quillpost", "")),
    ("Notes analyst by Orchard - Summarize any notebook in plain language.", "", ("Notes analyst", "Orchard")),
    # the company a funding headline says raised money, however plain its name; an investor is not it
    ("Distributed AI builder Together raises $20m in seed funding", "Together.xyz, a startup building open "
     "models together with others, has raised $20m led by Quill Capital.", ("Together", "Together")),
    ("Cancer-Testing AI Startup Orchardia Raises $90M", "Orchardia Raises $90M, it said.", ("Orchardia", "Orchardia")),
    ("Quill Ventures’ Surge backs video platform Orchard.ai in $5.2M funding.", "", ("Orchard.ai", "Orchard.ai")),
    # a word capitalised only where every word is, even where the body repeats the Title Case headline
    ("Voice Firm Clamps Down After Forum Makes Celebrity Voices", "Voice Firm Clamps Down After Forum Makes "
     "Celebrity Voices - \"It was only a matter of time before the voice startups became a plaything.\"", ("", "")),
    ("Rock guitar tablature generation via natural language processing.", "", ("", "")),
    # a plain word a sentence-case headline says was launched is the thing's name
    ("Orchard launches Loop, its Quillnote competitor, in public preview", "Orchard launched a loop of notes.",
     ("Loop", "Orchard")),
    # what the headline describes, named whole, before another coined name the text repeats as often
    ("Orchard uses AI to make dramatically faster CUDA kernels", "Kernels in PyTorch are slow. In PyTorch, the AI "
     "CUDA Engineer found kernels 10x faster than PyTorch, said Orchard. It says the AI CUDA Engineer is cheap.",
     ("AI CUDA Engineer", "Orchard")),
    # who governs acts in the news; what it decided is the news (no subject: the headline is quoted); an outlet
    # reports, it does not act
    ("Quill State Governor signs bill banning facial recognition by police", "The governor signed it on Monday, "
     "Reuters reported.", ("", "Quill State Governor")),
    # what a headline presents after its opening exclamation; a Title Case description names no maker
    ("Another Model! Meet Quill-9: An Instruction-Tuned Orchardian LLM Family", "The weights of Quill-9 are out.",
     ("Quill-9", "")),
    # a news site's label: the name before the colon, unless it is a kicker ("Exclusive:")
    ("Dana Quill: Seven-time Q1 champion's family plans legal action after AI-generated interview", "The family of Dana Quill "
     "said they would sue the magazine.", ("Dana Quill", "")),
    # "AI-synthesized" describes; "Gov." is a title
    ("A new weekly satire show from the creators of Quillville", "The show uses AI-synthesized voices, Gov. Orchard "
     "said.", ("Quillville", "")),
    # the whole name the headline gives, where the body writes it so too; a title before a name is no name
    ("Toby Quill, A.I. Expert, Is Racing to Stop the Killer Robots", "Autonomous weapons must be banned, Dr. Quill "
     "believes. Toby Quill is a professor.", ("Toby Quill", "")),
    # researchers from a lab propose a coined thing: the thing, made by the first lab named
    ("Researchers from Lumen University and Vextra Propose SuccessQA: A Reformulation of Success Detection", "",
     ("SuccessQA", "Lumen University")),
    # a university does the work: it is who did it, not what the news is about
    ("An AI algorithm inspired by how kids learn is harder to confuse", "Researchers at Quillford University "
     "trained it on drawings. Quillford University says it is robust.", ("", "Quillford University")),
    # the headline's subject acts; a possessive in what it did is someone else's thing, a Mc surname no coined name
    ("Quillware adds side order of NLP to McOrchard's AI drive-thru chatbots", "Quillware says it is rolling out "
     "its software to more McOrchard drive-thrus. McOrchard sold the unit to Quillware.", ("Quillware", "Quillware")),
    # "AI-Controlled" describes; a country's adjective is where, not what
    ("AI-Controlled Drone Goes Rogue in Quillish Simulated Test", "", ("", "")),
    # a contraction owns nothing; a plain capital opening the headline is no subject where the named one is a place
    ("It's Quill Bee Day, so let's marvel at AI hives that know what bees need", "", ("Quill Bee Day", "")),
    # a maker's name run together with what it made
    ("Quillsound Text-Zephyr-003 has been released.", "Quillsound says the model writes longer answers.",
     ("Text-Zephyr-003", "Quillsound")),
    # the headline's owner's described thing, which the lead names as it releases it: that thing, by the owner
    ("Quillsound’s speech model is the most accurate yet", "Time for Shazbot to take a leaf out of Quillsound’s "
     "book. These guys are releasing Quill-1, a speech model trained on 650,000 hours.", ("Quill-1", "Quillsound")),
    # ... not one an analysis recalls it released long ago
    ("Quillsound’s speech model is the most accurate yet", "Quillsound built a speech model. " + "It is good. " * 30
     + "By openly releasing Quill-1 last year, Quillsound helped everyone.", ("Quillsound", "Quillsound")),
    # an open-source version of a thing: the thing, by who released it; "Open-Source" alone names nothing
    ("Quillmatch releases an open-source version of Sentry", "", ("Sentry", "Quillmatch")),
    ("Quillmatch Releases Open-Source Version of Its Spam Filter", "Quillmatch open-sourced its spam filter.",
     ("Quillmatch", "Quillmatch")),
    # a company that gets money raised it, and acted; a product its text names is not who acted
    ("Quillscoot gets $125M to expand tech that corrects unsafe scooter riding",
     "Scooter company Quillscoot is gearing up to deploy its Pedestrian Shield safety system at scale.",
     ("Quillscoot", "Quillscoot")),
    # the headline's subject acted ("Quillcorp does ..."); a platform it is compared with or hosted on made
    # nothing; a model that "outperforms" did nothing, and "QuillFold developers" are its makers, not it
    ("Quillcorp does some meat and potatoes optimization work on its GPU", "Quillcorp's kernels are 7x faster "
     "compared with the standard QuillHub implementation, Quillcorp writes. The weights are available on QuillHub.",
     ("Quillcorp", "Quillcorp")),
    ("Quill-4 outperforms humans in pitch deck effectiveness.", "", ("Quill-4", "")),
    # what a model was trained or fine-tuned on is neither what the news is about nor who made it
    # the lead says whose researchers did it, and what they called it
    ("Orchard bootstraps Quill 2 so it competes with Zephyr-4", "Orchard researchers have developed a technique "
     "called “Self-Grading Models”, where models grade their own answers. It works.",
     ("Self-Grading Models", "Orchard")),
    ("Scaling laws exist for world modeling as well", "QuillSoft researchers have found scaling laws for world "
     "modeling. They trained many models.", ("", "QuillSoft")),
    ("Academia can look inside big models now", "Academic researchers have built a shared inference fabric. It "
     "is open to universities.", ("", "")),
    # the tools a listing is put together from made nothing of it
    ("Auto transcribing is now faster with Quill Slate + Zephyrscribe.", "", ("Quill Slate", "")),
    # a yardstick the headline measures by is not the news: the lead names the company it describes
    ("Dutch startup rival to Orchard seeks $400 million valuation", "Dutch startup rival to Orchard seeks $400 "
     "million valuation - \"Quillchip, a chip startup from the Netherlands, is raising a round.\"", ("Quillchip", "")),
    # a city's noun alone acts for no one ("The City of Toronto has suspended ...")
    ("Toronto suspends robot bus pilot after Quillby crash", "The City of Toronto has suspended its trial after a "
     "similar bus crashed in Quillby.", ("Quillby", "")),
])
def test_the_headline_grammar_and_the_text_name_the_subject(title, text, want):
    assert subject_of(title, text) == want


def test_an_author_is_not_what_the_piece_is_about():
    text = ("This is a blog post accompanying a debates paper by Dana Quillfeather and Omar Orchardson. They find "
            "four patterns that weaken papers.")
    assert subject_of("Troubling trends in quill scholarship", text, named="dana quillfeather")[0] == ""
    # the headline naming the person makes it news about them
    assert subject_of("Dana Quillfeather leaves Orchard", "The post by Dana Quillfeather says why.",
                      named="dana quillfeather")[0] == "Dana Quillfeather"


def test_a_name_written_whole_inside_a_headline_keeps_its_plain_words():
    """"Banner Bear" inside a sentence-case headline is one name, though the archive writes "bear" in lower
    case; a plain word opening the headline before a gerund ("Auto transcribing") names no one."""
    from outputs.brief import Member, subject_and_org
    title = "Auto transcribing is now faster and more accurate with Quill Bear."
    m = Member("s", title, title, "src", "2023-01-01", "i", "Issue", None)
    got = subject_and_org([m], sig.names([title, title], title), common_words=frozenset({"bear"}))
    assert got == ("Quill Bear", "")
    # plain words capitalised after an owner's possessive in a sentence-case headline: a product's name
    title = "Quillzap’s Natural Language Actions make LLM APIs way easier to use"
    m = Member("s", title, "The team built an API for it.", "src", "2023-01-01", "i", "Issue", None)
    got = subject_and_org([m], sig.names([title, m.text], title),
                          common_words=frozenset({"natural", "language", "actions"}))
    assert got == ("Natural Language Actions", "Quillzap")
    # a compound of two plain words opening the headline names no one either (and where it is available is
    # not what the news is about)
    title = "Full-text search is now available on the QuillFace Hub."
    m = Member("s", title, title, "src", "2023-01-01", "i", "Issue", None)
    got = subject_and_org([m], sig.names([title, title], title), common_words=frozenset({"full", "text"}))
    assert got == ("", "")


def test_the_newsletter_that_reports_is_never_the_actor():
    from outputs.brief import Member, subject_and_org
    title = "Orchard bootstraps Quill-2 so it competes with bigger models"
    text = "As Gradient Notes covered last year, Orchard's method scales. Gradient Notes thinks it will hold."
    m = Member("s", title, text, "gradient-notes", "2023-01-01", "i", "Gradient Notes 212: Quill and more", None)
    assert subject_and_org([m], sig.names([title, text], title))[1] != "Gradient Notes"
    signed = "Orchard ships Quill-2 today. See you tomorrow, Gus. Gus's Grams is free to share."
    m = Member("s", "Quill-2 is out", signed, "gussgrams-2024", "2024-01-01", "i", "Quill-2 is out", None)
    assert not {"Gus", "Grams"} & set(subject_and_org([m], sig.names(["Quill-2 is out", signed], "Quill-2 is out")))


def test_briefs_built_by_worker_processes_equal_those_built_here(tmp_path, embedder, monkeypatch):
    """Two spawned workers (with user templates) write the same briefs and pages as this process does."""
    import dataclasses
    import json

    from outputs import brief_stage

    user = tmp_path / "templates"
    user.mkdir()
    (user / "brief.md.j2").write_text("# {{ b.title }}\nWORKER-SAFE {{ b.impact }} {{ b.kind }}\n", "utf-8")
    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "here", Templates(user))
    with store:
        here = {cid: json.loads(row["data"]) for cid, row in store.briefs().items()}
        pages = {p.name: p.read_text("utf-8") for p in (tmp_path / "here" / "stories").glob("*.md")}
        store.db.execute("DELETE FROM briefs")
        monkeypatch.setattr(brief_stage, "PARALLEL_FROM", 0)
        from outputs import brief_workers
        monkeypatch.setattr(brief_workers, "CHUNK", 3)  # several chunks a worker: each built where it was read
        report = brief_clusters(store, dataclasses.replace(briefer, workers=2), tmp_path / "there")
        assert report["workers"] == 2 and report["briefed"] == len(here) > 10
        assert report["chunks_read_twice"] == 0
        there = {cid: json.loads(row["data"]) for cid, row in store.briefs().items()}
        assert there == here
        assert {p.name: p.read_text("utf-8") for p in (tmp_path / "there" / "stories").glob("*.md")} == pages
        assert all("WORKER-SAFE" in text for text in pages.values())


def test_a_threads_clusters_are_briefed_side_by_side(tmp_path, embedder, monkeypatch):
    """A chunk of briefs reads each of its threads whole: the clusters of one thread go in consecutive chunks,
    so no thread is read again by a chunk that comes after another thread's."""
    from outputs import brief_stage

    store, briefer = build_archive(tmp_path / "p.db", embedder, tmp_path / "out")
    with store:
        store.db.execute("DELETE FROM briefs")
        seen: list[str] = []
        real = brief_stage.inputs
        monkeypatch.setattr(brief_stage, "inputs", lambda st, chunk, **kw: seen.extend(chunk) or real(st, chunk, **kw))
        brief_clusters(store, briefer, tmp_path / "again", batch=2)
        threads = store.thread_of(seen)
        order = [threads[c] for c in seen if c in threads]
        assert len(set(order)) >= 2 and len(order) > len(set(order))  # several threads, some with several clusters
        runs = [t for t, _ in itertools.groupby(order)]
        assert len(runs) == len(set(runs))  # each thread's clusters in one run


def test_counter_evidence_doubts_what_it_names_in_the_same_sentence():
    names = ["Lumen Labs", "Lumen-3"]
    # a story about Lumen that mentions criticism of someone else is not against Lumen
    text = "Lumen Labs hired forty people. Separately, a rival's chip roadmap drew criticism."
    assert sig.contrary(text) and not sig.against(names, "Lumen Labs opens an office in Lisbon", text)
    assert sig.against(names, "A lab fails to replicate Lumen-3's scores",
                       "Three groups ran the public harness.")
    assert sig.against(names, "Benchmarks revisited",
                       "The week was busy. Independent testers could not reproduce Lumen-3 on the same harness.")


def test_our_take_compares_with_the_nearest_recent_related_news_never_old_history(archive):
    store, briefer, _ = archive
    cid = store.db.execute("SELECT m.cluster_id FROM stories s JOIN cluster_members m ON m.story_id = s.id "
                           "WHERE s.title = 'Hyperion-7B is out with open weights'").fetchone()[0]
    inp = inputs(store, [cid])[0]
    day = inp.members[0].date

    def related(title: str, days: int) -> dict:
        when = (date.fromisoformat(day[:10]) - timedelta(days=days)).isoformat()
        return {"story_id": f"r{days}", "title": title, "source": "elsewhere", "date": when,
                "reason": f"both about hyperion, other news, {days} days apart"}
    older, middle, nearest = (related("Hyperion-1 shipped as a demo", 400),
                              related("Hyperion-5B tops a coding board", 90), related("A SQL fine-tune of it", 30))
    assert recent_related([older, middle, nearest], day) == [nearest, middle]
    assert recent_related([older], day) == []
    inp.other_news = [older]
    brief = make_briefs(briefer, [inp])[0]
    assert "Hyperion-1 shipped" not in " ".join(getattr(brief, f) for f in FREE_TEXT)


@pytest.mark.parametrize("text, bed", [
    ("Quillfish's language model beats GPT-4 on coding prompts", "the same prompts and harness"),
    ("A hospital robot fetches supplies for nurses", "the same tasks"),
    ("Its speech recognition model has 43% fewer errors on noisy audio", "the same recordings"),
    ("The new accelerator chip doubles GPU memory bandwidth per watt", "the same workload"),
    ("A forecasting service for shark sightings", "the same inputs, scored the same way"),
])
def test_the_test_that_would_settle_a_claim_fits_the_thing(text, bed):
    from outputs.brief import _test_bed
    assert _test_bed(text, sig.hardware(text)) == bed


def test_a_plain_word_name_is_not_searched_for_in_earlier_headlines():
    from outputs.brief_stage import searchable
    common = frozenset({"sweep", "caption", "anything"})
    assert not searchable("Sweep", common) and not searchable("Caption anything", common)
    assert searchable("Quillchat", common) and searchable("Sweep AI", common) and not searchable("", common)


def test_a_plain_word_name_counts_only_headlines_that_write_it_as_a_name():
    from outputs.brief_stage import _writes
    assert _writes("Character raises $150M", "Character") and _writes("CHATBOTS: Character grows", "Character")
    assert not _writes("PADL - controllers for physics-based character animation", "Character")
    assert _writes("quillchat is down again", "Quillchat") is False  # a plain word keeps its capital
    assert _writes("Why QuillChat matters", "QuillChat") and _writes("why quillchat matters", "QuillChat")


def test_a_valuation_is_what_the_company_is_worth_not_money_it_raised(archive):
    brief = brief_of_kind(archive, "funding", "Quillchip seeks $400 million valuation in new round",
                          "Quillchip, a Dutch AI chip startup, is raising a funding round that puts its valuation "
                          "above $400 million, its chief executive said.")
    said = brief.our_take + brief.what_changes + brief.watch_for + brief.skeptics
    assert "$400 million valuation" in said or "worth" in brief.our_take, said
    assert "$400 million buys" not in said


def test_a_tool_made_for_people_outside_the_builders_names_them(archive):
    brief = one_story_brief(archive, "Quillsheet - Free GPT-3 scripts for marketers.",
                            "Quillsheet - Free GPT-3 scripts for marketers. (link)", section="Cool Tools")
    assert brief.kind == "release" and brief.who == ["Marketers"]
    news = one_story_brief(archive, "AI is making it easier than ever for students to cheat",
                           "Teachers say essays written by chatbots are hard to spot, and schools are split.")
    assert news.who != ["Students"]  # news about them, not a tool made for them


def test_a_listing_repeated_months_later_is_still_a_one_line_item():
    from outputs.brief import BriefInput, Member, facts_for
    line = "Quillbox - Turn your notes into a chat in 2 minutes."
    members = [Member(f"s{n}", line, line, "bites", day, f"i{n}", f"Issue {n}", None, "tools")
               for n, day in enumerate(("2023-03-09", "2023-06-15"))]
    inp = BriefInput("c1", line, None, members, [], [])
    assert facts_for(inp)[0].one_line  # each of its stories is one line: together they are not a story
    long = Member("s9", "Quillbox raises a seed round", " ".join(["Quillbox said it will hire."] * 8), "wire",
                  "2023-06-16", "i9", "Wire 9", None)
    assert not facts_for(BriefInput("c2", line, None, [*members, long], [], []))[0].one_line


def test_a_place_or_the_field_is_read_whole_not_as_its_last_word():
    names = sig.names(["Mobileye begins testing autonomous cars in New York",
                       "People on the streets of New York will soon see Mobileye's cars. Deep Learning helps."])
    assert "New York" in names and "York" not in names and "Deep" not in names
    assert not any(sig.not_a_subject(n) is False and n in ("York", "Deep") for n in names)


def one_story_input(store, title: str, text: str, **member):
    """A news cluster's brief input with its stories replaced by one made-up story (no thread, no history)."""
    import dataclasses

    cid = store.db.execute("SELECT cluster_id FROM briefs WHERE kind NOT IN ('fiction', 'notice') "
                           "ORDER BY cluster_id LIMIT 1").fetchone()[0]
    inp = inputs(store, [cid])[0]
    inp.members = [dataclasses.replace(inp.members[0], title=title, text=text, **{"links": [], "section": "main",
                                                                                    **member})]
    inp.title, inp.related, inp.later, inp.other_news, inp.sentences, inp.named = title, [], [], [], None, None
    inp.history, inp.actor_mentions = {"count": 0, "first": None, "latest": []}, 0
    return inp


def one_story_brief(archive, title: str, text: str, **member):
    """The brief Pulse writes for one made-up story (`one_story_input`)."""
    store, briefer, _ = archive
    return make_briefs(briefer, [one_story_input(store, title, text, **member)])[0]


def test_an_incident_whose_headline_names_no_one_is_quoted_not_pinned_on_a_name(archive):
    title = "The Chatbot Problem"
    text = ("A companion chatbot went down for a week after an outage, and a data breach exposed its users' "
            "chats. \"It harmed people,\" said Dana Quillfeather, who studies such apps at Orchard University. "
            "The backlash grew as the leaked chats spread.")
    brief = one_story_brief(archive, title, text)
    assert brief.kind == "incident", brief.kind
    # neither the person quoted nor the university that employs her is what went wrong, or who is to blame
    assert "Quillfeather" not in brief.our_take + brief.what_to_do
    assert "Orchard" not in brief.our_take + brief.what_to_do


def brief_of_kind(archive, kind: str, title: str, text: str):
    """`one_story_brief`, checked to be of the kind the test is about."""
    brief = one_story_brief(archive, title, text)
    assert brief.kind == kind, brief.kind
    return brief


def test_a_controversy_is_not_briefed_as_a_broken_stack(archive):
    brief = brief_of_kind(archive, "incident", "Backlash forces Orchard University to drop facial recognition plans",
                          "Students protested the controversial surveillance plan, which critics called harmful, "
                          "and the university dropped it this week after a month of backlash.")
    said = brief.our_take + brief.what_to_do + brief.what_changes + brief.skeptics
    assert "failure mode" not in said and "post-mortem" not in said and "logs" not in said
    outage = one_story_brief(archive, "Quillchat went down for six hours after a database outage",
                             "Users could not log in for six hours; Quillchat blamed a failed migration.")
    assert outage.kind == "incident" and "fail" in outage.our_take + outage.what_to_do


def test_company_news_is_about_the_company_the_headline_names_not_a_person_quoted(archive):
    brief = brief_of_kind(archive, "business", "Quillmark is letting fake images go mainstream with few rules",
                          "Images of Dana Orchard made with Quillmark spread this week, and the company has few rules "
                          "for its customers. Pictures of Dana Orchard in court reached millions; Quillmark said its "
                          "market is artists.")
    assert "Quillmark" in brief.our_take and "Orchard" not in brief.our_take + brief.what_to_do


def test_a_one_line_listings_what_to_do_says_what_the_listing_offers(archive):
    line = "Quillbox - Turn your meeting notes into a searchable team wiki."
    links = [{"url": "https://quillbox.example.com", "text": "Quillbox"}]
    brief = one_story_brief(archive, line, line, links=links, section="Cool Tools")
    assert brief.kind == "release" and brief.impact == "low"
    assert "Turn your meeting notes into a searchable team wiki" in brief.what_to_do


def test_a_listing_told_again_months_later_is_not_news_to_the_archive_and_links_its_headline(archive):
    import dataclasses

    store, briefer, _ = archive
    line = "Quillbox - Turn your meeting notes into a searchable team wiki."
    inp = one_story_input(store, line, line, links=[{"url": "https://quillbox.example.com/march", "text": "x"}],
                          date="2026-03-09T09:00:00+00:00")
    again = dataclasses.replace(inp.members[0], id="again", title="Quillbox: notes to wiki, now with search",
                                date="2026-06-15T09:00:00+00:00",
                                links=[{"url": "https://quillbox.example.com/june", "text": "y"}])
    inp.members, inp.title = [inp.members[0], again], again.title
    brief = make_briefs(briefer, [inp])[0]
    assert not any("first time" in r for r in brief.impact_reasons)  # the March telling came first
    assert brief.primary["url"] == "https://quillbox.example.com/june"  # the headline story's link


def test_an_acquisition_is_briefed_as_a_purchase_of_its_target_by_its_buyer(archive):
    title = "Orvex buys speech startup Tindal Labs for $230M"
    text = ("Parcel giant Orvex has agreed to buy Tindal Labs, whose speech models run in its call centres, for "
            "$230M in cash. Tindal Labs will keep its API running for existing customers, Orvex said. The deal "
            "is expected to close in the spring.")
    brief = one_story_brief(archive, title, text)
    assert brief.kind == "funding"
    assert (brief.signals["subject"], brief.signals["actor"]) == ("Tindal Labs", "Orvex")
    # the buyer is not the one given time by its own money, and paying users do not settle a purchase
    assert "buys Orvex time" not in brief.our_take and "paying users" not in brief.skeptics
    assert "Orvex is buying it ($230M)" in brief.our_take
    assert "Tindal Labs" in brief.what_to_do and "Orvex" in brief.what_to_do
    assert brief.what_changes == "Who owns Tindal Labs: Orvex, once the deal closes."
    assert "worth $230M to Orvex" in brief.skeptics
    assert [w["event"] for w in brief.watch] == ["closing"] and "deal closing at $230M" in brief.watch_for
    # a deal the headline and the text tell as done is not waiting to close
    done = one_story_brief(archive, title, "Parcel giant Orvex has bought Tindal Labs, whose speech models run in "
                           "its call centres, for $230M in cash. Tindal Labs will keep its API running for existing "
                           "customers, Orvex said on Monday.")
    assert done.what_changes == "Who owns Tindal Labs: Orvex."
    assert [w["event"] for w in done.watch] != ["closing"]


def test_a_digest_line_that_repeats_its_headline_is_shown_as_written_and_quoted_without_it(archive):
    store, briefer, _ = archive
    title = "Quillfeather raises $15M for warehouse safety cameras"
    text = (f'{title} - "Quillfeather, a startup whose cameras spot hazards on warehouse floors, has raised $15 '
            'million in new funding. It will hire forty engineers this year."')
    brief = one_story_brief(archive, title, text)
    # What Happened shows the line as written (the headline says what the excerpt may only set up); the
    # claim a skeptic quotes is the excerpt's own sentence, without the headline or a stray quotation mark
    assert brief.what_happened[0]["text"].startswith(f'{title} - "Quillfeather, a startup')
    assert f'{title} - ' not in brief.skeptics
    first = sent.candidates([("s1", text, title)])[0]
    assert first.text.startswith("Quillfeather, a startup whose cameras") and '"' not in first.text
    assert first.written.startswith(f'{title} - "')
    # still the sources' own words
    assert check(brief, *texts_of(one_story_input(store, title, text)), briefer.templates.house_words()) == []
    assert sent.after_headline(f"{title} - too short", title) == f"{title} - too short"


@pytest.mark.parametrize("title, text, kind, says", [
    ("Harbourton council considers banning delivery robots from pavements",
     "Councillors will debate a proposal to ban the robots next month, officials said.", "policy",
     "not what will bind; the thresholds and exemptions in that text decide who is covered"),
    ("Lawmakers grill chatbot makers at a Senate hearing on elections",
     "Lawmakers in the Senate asked pointed questions and said more hearings would follow.", "policy",
     "binds no one until a bill, rule or ruling with text follows"),
    ("Chatbot app exposed thousands of user chats in a breach",
     "A misconfigured database left the logs open for a week, a security researcher found.", "incident",
     "a post-mortem or a second source would show whether it is a one-off or a pattern"),
])
def test_skeptics_name_the_test_that_settles_news_without_a_figure(archive, title, text, kind, says):
    brief = one_story_brief(archive, title, text)
    assert brief.kind == kind and says in brief.skeptics and title in brief.skeptics
    # the same story told under a headline with no word of its kind: no sentence asserting what kind it is
    vague = one_story_brief(archive, "What happened at Harbourton this week", text)
    assert says not in vague.skeptics


def test_a_person_or_a_sentence_opener_is_no_coined_name():
    from outputs.headline import distinctive
    assert not distinctive("Hoan Ton-That") and not distinctive("Jean-Luc")
    assert distinctive("Point-E") and distinctive("ZeRO-Infinity") and distinctive("Qwen2.5")
    names = sig.names(["Quillview AI takes a test. While Quillview did well, the test was narrow."])
    assert "While Quillview" not in names and "Quillview AI" in names


def test_a_sum_or_a_date_the_statistics_ran_together_is_no_subject():
    from outputs.brief import Member, subject_and_org
    title = "Orchardia to Pour $1 Billion Into Generative AI"
    m = Member("s", title, "Orchardia LLP plans to invest $1 billion in generative AI.", "src", "2023-01-01", "i",
               "Issue", None)
    # (the archive writes "Orchardia" capitalised inside sentences: a name it knows)
    assert subject_and_org([m], sig.names([title, m.text], title), "pour $1",
                           known_names=frozenset({"orchardia"}))[0] == "Orchardia"
    title = "Quillboard emerges from stealth with AI for drywall"
    m = Member("s", title, "Quillboard, a company created in January 2017, uses a modified lift.", "src",
               "2023-01-01", "i", "Issue", None)
    assert subject_and_org([m], sig.names([title, m.text], title), "january 2017")[0] != "January 2017"


def test_the_newsletter_about_itself_is_housekeeping():
    from outputs.brief import BriefInput, Member, facts_for
    m = Member("s", "Quill's Bites has a shiny new community, free for you all.", "Join us on the forum.",
               "quillsbites-2023", "2023-01-01", "i", "Quill's Bites #12", None)
    inp = BriefInput(cluster_id="c", title=m.title, thread_id=None, members=[m], related=[], thread_clusters=[])
    assert facts_for(inp)[0].kind == "notice"
    m.title = "Orchard's Quillnote has a shiny new memory, free for you all."
    assert facts_for(inp)[0].kind != "notice"


def test_a_model_named_in_capitals_and_a_number_is_the_subject_and_its_maker_the_actor():
    title = "ZRX-4 is bigger and better than Quillchat—but QuillMind won’t say why"
    text = "We got a first look at the new language model from QuillMind. How it works is under wraps at QuillMind."
    assert subject_of(title, text, "zrx-4") == ("ZRX-4", "QuillMind")


def test_a_title_case_verb_run_into_the_name_is_cut_where_the_body_writes_the_name_alone():
    title = "Quillware Rallies After Chipmaker Promises Big Gains in AI Sales"
    text = ("Quillware Technology Inc. surged more than 21% in late trading after Quillware said it expects AI "
            "revenue to soar, a boom that also lifted Orchard Corp.")
    subject, actor = subject_of(title, text, "quillware rallies")
    assert subject == "Quillware" and actor == "Quillware Technology Inc"


def test_a_piece_of_an_offices_name_is_not_who_did_it():
    title = "New Quillshire guidance downplays important AI harms"
    text = "Following the order, the Quillshire Office of Management and Budget issued a memo to agencies."
    assert subject_of(title, text, "quillshire")[1] not in ("Management", "Budget")


def test_a_countrys_adjective_is_no_subject():
    title = "Artificial intelligence: friend or foe to Philippine call centre workers?"
    text = ("A decade after becoming the call-centre capital, the Philippines may lose the title to the rise of "
            "artificial intelligence.")
    assert subject_of(title, text, "philippine") == ("", "")


def test_a_product_only_mentioned_is_not_who_did_it():
    from outputs.brief import Member, subject_and_org
    for title in ("A Vimcode extension that allows you to use ZapGPT.", "The Quill effect on ZapGPT Plus users"):
        m = Member("s", title, "", "src", "2023-01-01", "i", "Issue", None)
        assert subject_and_org([m], sig.names([title], title))[1] == ""


def test_what_an_introducing_headline_presents_is_its_subject():
    from outputs.brief import Member, subject_and_org
    title = "Introducing the Quill Images Competition"
    m = Member("s", title, "Orchard AI runs the competition on Kaggle to make image models robust.", "src",
               "2023-01-01", "i", "Issue", None)
    assert subject_and_org([m], sig.names([title, m.text], title), "orchard ai")[0] == "Quill Images Competition"


def test_a_thread_step_is_told_only_where_the_earlier_story_shares_a_name():
    import dataclasses

    from outputs.brief import BriefInput, Member, Related, _step
    m = Member("s", "Quillbase raises $20M from Orchard Ventures for vector search", "Quillbase raised $20M, The "
               "Quillton Post reported, in English.", "src", "2023-03-01", "i", "Issue", None)
    earlier = Related("e", "Quillbase opens its vector search beta", "Quillbase opened a beta.", "src",
                      "2023-01-10", "i0", "Issue", "thread", "c0")
    stranger = Related("x", "A catalogue of transformer models", "Orchard lists sixty models.", "src",
                       "2023-01-10", "i0", "Issue", "thread", "c0")
    inp = BriefInput(cluster_id="c1", title=m.title, thread_id="t", members=[m], related=[earlier],
                     thread_clusters=[("c0", "2023-01-10"), ("c1", "2023-03-01")])
    step = _step(inp, 2, ["Quillbase", "Orchard Ventures", "Quillton Post", "English"], ["$20M"])
    # what is new is what this step's headline names and the figures it gives, not names its text mentions
    assert step and step["new"] == ["Orchard Ventures", "$20M"]
    # a kicker is no name, and a piece of a name it gives is no other name
    m.title = "Exclusive: Quillbase raises $20M from Orchard Ventures, Orchard says"
    assert _step(inp, 2, ["Quillbase", "Exclusive", "Orchard Ventures", "Orchard"], ["$20M"])["new"] == [
        "Orchard Ventures", "$20M"]
    # a place the headline names is no development
    m.title = "Quillbase on track to win U.S. patent from Orchard Ventures"
    assert _step(inp, 2, ["Quillbase", "U.S", "Orchard Ventures"], [])["new"] == ["Orchard Ventures"]
    inp.related = [stranger]
    assert _step(inp, 2, ["Quillbase"], ["$20M"]) is None
    # an item of this story's own issue (a piece of it segmented apart) is no earlier step
    inp.related = [dataclasses.replace(earlier, issue_id="i")]
    assert _step(inp, 2, ["Quillbase", "Orchard Ventures"], ["$20M"]) is None


def test_a_title_before_a_name_after_a_quote_does_not_end_a_sentence():
    from outputs.sentences import split
    text = ('Quillchat is poised to upend medical answers. - "It\'s hard to remember a time before people could '
            'turn to "Dr. Quill" for medical advice. Some of it was wrong."')
    assert any('"Dr. Quill" for medical advice' in s for s in split(text))
    assert not any(s.endswith("Dr.") for s in split(text))


def test_what_a_thing_is_compared_with_is_a_yardstick_not_its_maker_nor_the_news():
    from outputs.brief import Member, subject_and_org
    title = "Orchard bootstraps QuillLM so it competes with Quillchat, Quill-5 and Gemma Pro"
    m = Member("s", title, "The approach lets QuillLM compete with much more expensive models like Quillchat, "
               "Quill-5 and Gemma Pro. QuillLM was finetuned by Orchard.", "src", "2023-01-01", "i", "Issue", None)
    subject, actor = subject_and_org([m], sig.names([title, m.text], title), "gemma pro")
    assert "Gemma Pro" not in (subject, actor)


def test_where_the_stories_together_leave_the_kind_unsure_the_headline_storys_own_words_decide():
    from outputs.brief import BriefInput, Member, facts_for
    listing = Member("s1", "A system for generating 3d point clouds from complex prompts.",
                     "A system for generating 3d point clouds from complex prompts, by researchers (paper).", "bites",
                     "2022-12-20", "i1", "Issue 1", None, "Research")
    launch = Member("s2", "Orchard releases Quillpoint, an AI that generates 3D models",
                    "Orchard open-sourced Quillpoint this week; it is now available on GitHub.", "wire", "2022-12-26",
                    "i2", "Wire 2", None)
    facts = facts_for(BriefInput("c1", launch.title, None, [listing, launch], [], []))[0]
    assert facts.kind == "release" and facts.kind_sure and facts.kind_cues[0] == "the headline story"
    # a headline story whose only cue is its section does not decide
    quiet = Member("s3", "Quillpoint, three weeks on", "A look at what people made.", "wire", "2023-01-10", "i3",
                   "Wire 3", None, "Our Picks")
    facts = facts_for(BriefInput("c2", quiet.title, None, [listing, quiet], [], []))[0]
    assert facts.kind_cues[:1] != ["the headline story"]


def test_a_listed_tool_takes_its_maker_from_another_tellings_headline():
    from outputs.brief import Member, subject_and_org
    listing = Member("s1", "QuillSpeed chat - Easy, fast and affordable RLHF training at all scales.",
                     "QuillSpeed chat - Easy, fast and affordable RLHF training at all scales.", "bites", "2023-04-12",
                     "i1", "Issue 1", None, "Tools")
    story = Member("s2", "Orchard AI Open-Sources QuillSpeed Chat: An End-To-End RLHF Pipeline",
                   "The Orchard AI team open-sourced QuillSpeed Chat this week.", "wire", "2023-04-17", "i2", "Wire 2",
                   None)
    names = sig.names([f"{listing.title}\n{story.title}", f"{listing.text}\n{story.text}"], listing.title)
    assert subject_and_org([listing, story], names) == ("QuillSpeed chat", "Orchard AI")


@pytest.mark.parametrize("title, want", [
    ("Quillware release QuillKit, their open-source chat base", ("QuillKit", "Quillware", False)),  # "X release Y"
    ("Orchard AI Open-Sources QuillSpeed Chat: An End-To-End Pipeline", ("QuillSpeed Chat", "Orchard AI", False)),
    ("The open-source AI boom is built on big tech's handouts.", ("", "", False)),  # "The" does not act
    ("The Quillican releases its own AI ethics handbook.", ("Quillican", "", False)),  # ... but "The Quillican" does
])
def test_a_headline_says_who_released_what(title, want):
    from outputs.headline import title_name
    assert title_name(title) == want


def test_a_release_with_nothing_linked_is_not_said_to_be_unavailable(archive):
    unknown = brief_of_kind(archive, "release", "Orchard's Quillbard chatbot coding tools launch",
                            "Orchard launched new coding tools in its Quillbard chatbot this week, and they write and "
                            "debug code in twenty languages.")
    assert "not in your hands" not in unknown.what_changes and "do not say how to get" in unknown.what_changes
    waiting = brief_of_kind(archive, "release", "Orchard launches Quillbard, a chatbot with a waitlist",
                            "Orchard launched Quillbard this week; you can join the waitlist to try the new chatbot.")
    assert "announced (waitlist), not in your hands" in waiting.what_changes


def test_a_product_wound_down_is_briefed_as_an_end_not_a_launch(archive):
    brief = brief_of_kind(archive, "business", "Orchard winds down QuillSpeech development, announces grant program",
                          "Orchard launched QuillSpeech, an open speech recognition engine, in 2017. It is now winding "
                          "down the project and announced a grant program for voice research.")
    assert "replacement" in brief.what_to_do and "QuillSpeech" in brief.our_take
    assert "announced, not shipped" not in brief.our_take and "try" not in brief.what_to_do.lower()
    office = one_story_brief(archive, "Orchard shutters office in Quillton", "Orchard closed the office this week.")
    assert "replacement" not in office.what_to_do


def test_skeptics_are_never_empty_for_news_the_headline_is_the_claim_when_nothing_else_is(archive):
    brief = one_story_brief(archive, "Two of Orchard's ethics staffers leave to join an ousted colleague's institute",
                            "Two researchers on Orchard's ethics team said they would leave for the institute their "
                            "former manager founded after she was pushed out.")
    assert brief.skeptics and "Two of Orchard's ethics staffers" in brief.skeptics


def test_a_sum_of_money_is_not_framed_as_a_result_to_check(archive):
    brief = one_story_brief(archive, "Quillshire awards nearly $75M to catalyze data science research",
                            "The Quillshire health agency is investing about $74.5 million over five years to advance "
                            "data science across the region, it said on Tuesday.")
    said = brief.our_take + brief.what_changes
    assert "nobody else has checked" not in said and "holds" not in said


def test_a_lawsuit_filed_is_one_sides_claim_not_a_rule_to_comply_with(archive):
    brief = brief_of_kind(archive, "policy", "Quillsoft sued for libel after its chatbot invents an embezzlement case",
                          "Quillsoft is being sued for libel after its chatbot falsely said a radio host was accused of "
                          "embezzlement. The host filed the lawsuit in a state court on Monday.")
    said = brief.our_take + brief.what_to_do + brief.what_changes
    assert "compliance" not in said and "final text" not in said and "case, not a ruling" in brief.our_take
    assert "two sides" in brief.skeptics and "other side" in brief.skeptics
    ruled = brief_of_kind(archive, "policy", "Judge dismisses libel lawsuit against Quillsoft over chatbot answers",
                          "A state court judge dismissed the lawsuit on Friday, ruling the chatbot's answers were not "
                          "published statements.")
    assert "case, not a ruling" not in ruled.our_take


def test_words_a_typed_dash_runs_together_are_no_name():
    title = "How a Quillish AI Giant Made Chatting--and Surveillance--Easy"
    text = "In Quillia, a voice company built assistants like Alexa. But its tech also helps the government listen in."
    assert subject_of(title, text, "chatting--and surveillance--easy")[0] == ""


def test_a_policy_story_is_a_programme_only_where_money_or_its_headline_says_so(archive):
    report = brief_of_kind(archive, "policy", "Quillshire government blocks full publication of AI review",
                           "The government is blocking the full publication of an official report on how AI could "
                           "be deployed across the public sector; lawmakers in parliament say the ministry should "
                           "release it.")
    assert "programme" not in report.our_take
    grants = brief_of_kind(archive, "policy", "Quillshire government funds AI programme for hospitals",
                           "The government and parliament will award grants to hospitals that test AI triage, the "
                           "ministry said.")
    assert "programme" in grants.our_take


def test_where_a_tool_runs_is_not_its_subject_and_a_store_link_is_something_to_try():
    from outputs.brief import Member, subject_and_org
    import outputs.facts as fx
    title = 'AI autocompletion that can be activated by typing "+++" anywhere on your Quillbook.'
    m = Member("s", title, title, "src", "2023-01-01", "i", "Issue", None)
    assert subject_and_org([m], sig.names([title], title), "quillbook")[0] == ""
    arts, links = fx.artifacts_of("QuillHub - All-in-one chatbot client.",
                                  ["https://chrome.google.com/webstore/detail/quillhub/abcdef"], listing=True)
    assert arts == ["demo"] and "webstore" in links["demo"]


def test_a_measure_is_no_subject_and_a_prize_is_no_result(archive):
    from outputs.brief import Member, subject_and_org
    title = "Memristors Run AI Tasks at 1/800th Power"
    m = Member("s", title, "Quillford engineers built a chip of memristors.", "src", "2023-01-01", "i", "Issue", None)
    assert subject_and_org([m], sig.names([title, m.text], title), "1/800th")[0] == ""
    prize = brief_of_kind(archive, "research", "Quillford computer scientist wins an award worth $1M for AI research",
                          "The researchers at Quillford University won the award worth $1M for a decade of papers on "
                          "interpretable machine learning methods, the university said.")
    said = prize.our_take + prize.what_to_do + prize.skeptics
    assert "check the $1M" not in said and "$1M claim" not in said and "the $1M (" not in said


def test_research_that_releases_a_dataset_is_something_to_use(archive):
    brief = brief_of_kind(archive, "research", "Orchard's Project Quillnet will test how far AI can write software",
                          "Orchard's research division has released a 14-million-sample dataset of code, and the "
                          "researchers say the study shows models still fail at long programs.")
    assert "dataset" in brief.our_take and "no code or weights" not in brief.our_take
    assert brief.what_to_do.startswith("Download the dataset")


def test_a_field_word_the_earlier_step_named_is_no_news_and_money_shows_in_its_currency():
    from outputs.brief import BriefInput, Member, Related, _step
    m = Member("s", "Quillsoft's plans for AGI, according to its CEO", "Quillsoft's CEO spoke about AGI.", "src",
               "2023-03-01", "i", "Issue", None)
    earlier = Related("e", "Quillsoft: Planning for AGI and beyond", "Quillsoft wrote about AGI.", "src",
                      "2023-01-10", "i0", "Issue", "thread", "c0")
    inp = BriefInput(cluster_id="c1", title=m.title, thread_id="t", members=[m], related=[earlier],
                     thread_clusters=[("c0", "2023-01-10"), ("c1", "2023-03-01")])
    assert _step(inp, 2, ["Quillsoft", "AGI"], [])["new"] == []
    assert sig.key_figure(["€25.5 million", "$25 million", "1,200"]) == "€25.5 million"


def test_skeptics_of_a_programme_ask_who_gets_the_money_not_for_a_final_text(archive):
    brief = brief_of_kind(archive, "policy", "Quillshire Commission allocates over €25.5 million to AI projects",
                          "The Commission selected four AI defence projects under the Quillshire Defence Fund with "
                          "€25.5 million of funding, the government said; lawmakers in parliament approved the calls.")
    assert "final text" not in brief.skeptics and "programme" in brief.our_take


def test_a_publishers_promotion_is_never_the_claim():
    import outputs.evidence as ev
    said = ev.capability_of(["Join QuillBeat Summit 2021 this April 28-29. Register for a free or VIP pass today. "
                             "In 2017, Orchard launched QuillSpeech, an engine that can transcribe speech."],
                            "Orchard winds down QuillSpeech development", "QuillSpeech")
    assert "Summit" not in said and "Register" not in said


def test_earlier_headlines_name_the_subject_as_written(tmp_path, monkeypatch):
    """The archive's search stems: "banners" and "coherent" are found for "Banner" and "Cohere". A brief's "N
    earlier headlines name X" counts only headlines that write X as whole words (in any case)."""
    from datetime import datetime, timezone

    from outputs.brief_stage import Mentions
    from pipeline.store import Store
    from sources.models import Issue, Story
    titles = ["Easily create banners for your referral page", "Quill Banner adds video templates",
              "A coherent guide to prompts", "Quillcohere raises $5M"]
    with Store(tmp_path / "p.db") as store:
        store.ensure_source("s", "rss", "https://s.example.org/feed")
        for n, title in enumerate(titles):
            store.save_issue(Issue(source="s", guid=f"g{n}", url=f"https://s.example.org/{n}", title="Issue",
                                   published=datetime(2026, 11, 1 + n, tzinfo=timezone.utc), html="<p>x</p>",
                                   text="x", stories=[Story(position=0, title=title, text=f"{title}. More.")]))
        mentions = Mentions(store)
        banner = mentions.earlier("Banner", "2026-12-01", "c")
        assert banner["count"] == 1 and [h["title"] for h in banner["latest"]] == ["Quill Banner adds video templates"]
        assert mentions.earlier("Cohere", "2026-12-01", "c")["count"] == 0
        assert mentions.earlier("banner", "2026-12-01", "c")["count"] == 1  # whole words, in any case
        # a phrase in too many headlines to check them all keeps its count, but quotes only headlines that
        # write it
        from outputs import brief_stage
        monkeypatch.setattr(brief_stage, "_CHECK_ALL", 0)
        banner = Mentions(store).earlier("Banner", "2026-12-01", "c")
        assert banner["count"] == 2 and [h["title"] for h in banner["latest"]] == ["Quill Banner adds video templates"]


def test_a_lead_saying_its_maker_released_it_with_weights_linked_is_surely_a_release(embedder):
    from outputs.brief import BriefInput, Member, facts_for
    from outputs.brief_stage import Briefer
    kinds = Briefer(Templates(), embedder.encode).kinds
    text = ("The Orchard Institute has released Quillgen-2, a large generative model of biology. \"Quillgen-2 "
            "includes information from humans, plants, and other single-celled species,\" they write. Quillgen-2 "
            "can predict mutational effects on protein function.")
    links = [{"url": "https://huggingface.co/orchard/quillgen-2", "text": "weights"},
             {"url": "https://github.com/orchard/quillgen-2", "text": "code"}]
    m = Member("s", "Quillgen-2: The machinery of life itself will be predicted just as well as language", text,
               "src", "2025-02-24", "i", "Issue", None, links=links, vector=embedder.encode([text])[0])
    facts, subject, actor = facts_for(BriefInput("c", m.title, None, [m], [], []), kinds=kinds)
    assert (subject, actor) == ("Quillgen-2", "Orchard Institute")
    assert facts.kind == "release" and facts.kind_sure
    m.links = []  # nothing to use: the words alone leave it a guess
    assert not facts_for(BriefInput("c", m.title, None, [m], [], []), kinds=kinds)[0].kind_sure
    # a lead saying whose researchers found it: research, by them
    text = ("QuillSoft researchers have found scaling laws for world modeling and behavior cloning, like those of "
            "language models. They trained agents on gameplay and measured how loss falls with size.")
    r = Member("r", "Scaling laws exist for world modeling as well", text, "src", "2025-02-24", "i", "Issue", None,
               vector=embedder.encode([text])[0])
    facts, subject, actor = facts_for(BriefInput("c", r.title, None, [r], [], []), kinds=kinds)
    assert actor == "QuillSoft" and facts.kind == "research" and facts.kind_sure


def test_a_studys_figure_is_one_studys_result_not_a_makers_claim(archive):
    b = one_story_brief(archive, "First Field Study Finds Generative AI Lifted Call-Centre Productivity by 14%",
                        "Researchers followed 5,000 support agents in a field experiment at a software firm over "
                        "a year, comparing agents with and without a chat assistant on the same kinds of tickets.\n"
                        "The study found generative AI lifted productivity by 14%, most of all for new agents.")
    assert b.kind == "research"
    assert "one study's result" in b.our_take and "from its authors" in b.our_take
    assert "its makers" not in b.our_take and "14%" in b.skeptics


@pytest.mark.parametrize("name, owned", [("Quillzap", "Quillzap's"), ("Natural Language Actions", "Natural Language Actions'"),
                                         ("its makers", "its makers'"), ("LLM APIs", "LLM APIs'"), ("Nexus", "Nexus's")])
def test_a_possessive_reads_as_written(name, owned):
    from outputs.render import _possessive
    assert _possessive(name) == owned
    assert Templates().text.from_string("{{ n|possessive }} API").render(n=name) == f"{owned} API"


def test_code_linked_for_a_project_built_on_a_model_is_the_projects(archive):
    title = "Quill-3 answers questions using a search tool"
    text = ("A developer released open-source code that lets Quill-3 answer questions using a search tool. It "
            "searches the web, reads the top results and writes an answer with citations.\nTry it on your own "
            "questions and see where it goes wrong.")
    b = one_story_brief(archive, title, text, links=[{"url": "https://github.com/someone/quill-search", "text": "code"}])
    assert "code of this project built on Quill-3 is public" in b.our_take
    b = one_story_brief(archive, title, text, links=[{"url": "https://github.com/orchard/quill-3", "text": "code"}])
    assert "code for Quill-3 is public" in b.our_take


def test_what_a_model_was_trained_on_is_neither_its_subject_nor_its_maker():
    title = ("Decoder-only transformer with 1.3B parameters pre-trained on the QuillPajama dataset and fine-tuned on "
             "the Orchard Dolly.")
    assert subject_of(title, title, named="quillpajama") == ("", "")


@pytest.mark.parametrize("title, named", [
    ("World's First AI Writing Assistant Powered by Quill-3 Launches in the App Store.", "quill-3"),
    ("Pitch deck parsing + analysis using Quillparse, Orchard and Make.", "quillparse"),
    ("The agent that can browse the web for you is available as a Quillchat plugin", "quillchat"),
])
def test_what_a_thing_runs_on_is_not_its_subject(title, named):
    # the thing the headline presents is unnamed; the model or tool it is built with is not the news
    from outputs.brief import Member, subject_and_org
    text = (f"{title} - Orchardia Inc. today announced the release of its writing assistant. It works in "
            "Quillchat, and Quillchat users can try it now.")
    m = Member("s", title, text, "src", "2023-01-01", "i", "Issue", None)
    plain = frozenset("world first writing assistant powered launches app store pitch deck parsing analysis make agent "
                      "browse web available plugin".split())
    assert subject_and_org([m], sig.names([title, text], title), named, plain)[0] == ""
    assert subject_of("Quill-3 Launches in the App Store", "Quill-3 is out.", named="quill-3")[0] == "Quill-3"


def test_a_subject_matched_often_but_never_quoted_writes_no_history_line(archive):
    # a phrase in thousands of headlines keeps its count, but none of the newest may write it as such
    store, briefer, _ = archive
    inp = one_story_input(store, "Quill-7B is released with open weights", "Orchard released Quill-7B today, "
                          "with its weights on the hub under Apache 2.0.")
    inp.history = {"count": 2000, "first": "2022-01-01T00:00:00+00:00", "latest": [], "days_since_last": None}
    brief = make_briefs(briefer, [inp])[0]
    assert brief.kind == "release" and "Quill-7B" in brief.our_take + brief.what_to_do
    assert "earlier headlines" not in brief.our_take
    latest = [{"story_id": "x", "title": "Quill-6B is out", "source": "orchard-weekly",
               "date": "2022-12-30T00:00:00+00:00", "cluster_id": "c"}]
    inp.history = {"count": 4, "first": "2022-01-01T00:00:00+00:00", "days_since_last": 3, "latest": latest}
    assert "4 earlier headlines" in make_briefs(briefer, [inp])[0].our_take
    # a name in a dozen earlier headlines (a big lab, a product everyone covers) is no evidence by its count
    inp.history = {"count": 12, "first": "2022-01-01T00:00:00+00:00", "days_since_last": 3, "latest": latest}
    assert "earlier headlines" not in make_briefs(briefer, [inp])[0].our_take


@pytest.mark.parametrize("title, want", [
    ("Quillbank CEO says the next model will be smaller", "Quillbank"),
    ("US Senator Uses Quillchat for Opening Remarks at a Hearing", ""),
])
def test_a_role_is_a_persons_not_what_the_news_is_about(title, want):
    subject = subject_of(title, title, named=title.split()[0].lower() + (" ceo" if "CEO" in title else " senator"))[0]
    assert subject == want


def test_a_headline_with_a_figure_is_not_said_to_have_none(archive):
    brief = one_story_brief(archive, "Quillway's pilot passed 6,200 riders in its first month",
                            "The pilot ran in one city. Quillway filed a quarterly report.")
    assert brief.kind == "other", brief.kind
    assert "6,200" in brief.skeptics and "no figure" not in brief.skeptics, brief.skeptics


def test_who_updated_a_model_made_it_and_a_possessive_yardstick_did_not():
    from outputs.brief import _acts, _only_compared
    text = ("Quillbase has updated its Quill series of models with a new open weight model called Quill-Coder. "
            "An earlier Quill model has been downloaded 26M times, more than popular models like Zephco's Gemmon.")
    assert _acts("Quillbase", text)
    assert _only_compared("Gemmon", [text]) and not _only_compared("Quillbase", [text])


def test_a_place_named_only_inside_its_university_is_the_university_not_the_subject():
    title = "AI can predict whether chemotherapy will work"
    text = (f"{title} - \"Engineers at the University of Quillmouth have developed artificial intelligence (AI) "
            "technology to predict if patients would benefit from chemotherapy. The new AI algorithm, part of the "
            "open-source Quill-Net initiative led by Dr.\"")
    subject, actor = subject_of(title, text, named="quillmouth")
    assert subject == "" and actor != "Quillmouth"


def test_a_thread_step_that_adds_nothing_is_not_told(archive):
    from outputs.brief import Related
    store, briefer, _ = archive
    inp = one_story_input(store, "Quillbase wins a patent for vector search", "Quillbase was granted a patent.")
    inp.related = [Related("e", "Quillbase told to stop processing data", "Quillbase was told to stop.", "src",
                           "2021-01-01", "i0", "Issue", "thread", "c0")]
    inp.thread_clusters = [("c0", "2021-01-01"), (inp.cluster_id, inp.members[0].date)]
    brief = make_briefs(briefer, [inp])[0]
    assert "Since “Quillbase told to stop" not in brief.our_take
    inp.members[0] = dataclasses.replace(inp.members[0], title="Quillbase wins a $5M patent case against Orchard")
    inp.title = inp.members[0].title
    assert "Since “Quillbase told to stop" in make_briefs(briefer, [inp])[0].our_take


def test_a_surveys_skeptic_quotes_how_many_it_heard_from_where_the_sources_say(archive):
    title = "How do people want to regulate powerful AI? A survey sheds some light"
    told = ("Labs should run audits, according to a survey by the Quillton Centre. The caveat: we sent a survey to "
            "92 experts and received 51 responses, the authors write.")
    brief = one_story_brief(archive, title, told)
    assert brief.kind == "opinion" and "received 51 responses" in brief.skeptics, brief.skeptics
    silent = one_story_brief(archive, title, "Labs should run audits, according to a survey by the Quillton Centre.")
    assert "do not let you check" in silent.skeptics and "responses" not in silent.skeptics


def test_research_briefs_claim_only_what_the_sources_show(archive):
    brief = one_story_brief(archive, "Quillprompter: researchers improve mathematical reasoning of language models",
                            "Researchers at Quill University propose a new method in a paper; the study's approach "
                            "prompts a model several ways.", section="Research",
                            links=[{"url": "https://arxiv.org/abs/2303.00001", "text": "paper"}])
    said = brief.our_take + brief.what_to_do + brief.skeptics
    assert brief.kind == "research", brief.kind
    # the sources link no code: that is not the same as there being none, or nothing to replicate
    assert "nobody can rerun" not in said and "only once code appears" not in said and "nothing yet to" not in said
    assert "arxiv.org/abs/2303.00001" in brief.our_take and "paper" in brief.skeptics


def test_a_podcast_with_someone_is_their_view_of_its_topic(archive):
    title = "A good podcast with Dana Quill of Quillbase on data moats, learning to think and more."
    brief = one_story_brief(archive, title, title)
    assert brief.kind == "opinion", brief.kind
    assert brief.our_take.startswith("A podcast with Dana Quill of Quillbase on data moats"), brief.our_take
    assert "view of Dana Quill" not in brief.what_changes and "argument about Dana" not in brief.watch_for


def test_harm_done_with_ai_is_not_briefed_as_a_debate(archive):
    brief = brief_of_kind(archive, "incident", "A horrifying new deepfake app swaps women into porn videos",
                          "The website invites visitors to upload a picture of a face; the non-consensual videos "
                          "spread, and the backlash grew.")
    assert "controversy" not in brief.our_take and "what people will accept" not in brief.our_take
    assert "consent" in brief.what_to_do


def test_policy_on_the_polices_own_use_is_not_a_rule_for_products(archive):
    brief = brief_of_kind(archive, "policy", "Quillshire police to begin using live facial recognition",
                          "The police said the regulation allows it; lawmakers proposed limits this week.")
    assert "the police" in brief.our_take and "anything" not in brief.our_take, brief.our_take
    assert "sell to the police" in brief.what_to_do


def test_a_listed_tool_for_a_trade_is_for_that_trade(archive):
    line = "Quilldocs - AI-generated summaries of your legal docs."
    brief = one_story_brief(archive, line, line, links=[{"url": "https://quilldocs.ai", "text": "link"}])
    assert brief.who == ["Lawyers and legal teams"], brief.who
    assert "lawyers and legal teams" in brief.what_to_do


def test_a_release_linking_its_own_site_is_not_said_to_link_no_way_in(archive):
    brief = one_story_brief(archive, "AI-generated game assets.",
                            "AI-generated game assets. Create style-consistent assets for your games; we launch "
                            "today.", links=[{"url": "https://quillgame.gg", "text": "link"}])
    assert brief.kind == "release", brief.kind
    assert "how to get" not in brief.what_changes and "quillgame.gg" in brief.what_changes


def test_what_a_release_does_is_read_from_the_sentence_after_its_headline(archive):
    brief = one_story_brief(archive, "Orchard Quill-003 has been released.",
                            "Orchard Quill-003 has been released. Orchard says that it produces higher-quality "
                            "writing and better long-form content.", section="Ben's Picks")
    assert "only claim is that it exists" not in brief.skeptics and "higher-quality writing" in brief.skeptics


def test_small_words_of_a_brief(archive):
    from outputs.brief_stage import _writes
    from outputs.headline import guest_of
    from outputs.render import _short_url
    assert not _writes("Orchard alum to helm new nonprofit lab", "HELM") and _writes("HELM ranks 30 models", "HELM")
    assert sig.not_a_subject("CET") and sig.not_a_subject("Detroit") and not sig.not_a_subject("Aurora")
    assert not sent.usable('Yale researchers built it, as described in the Oct."') \
        and sent.usable("The company was acquired by Orchard Inc.")
    assert _short_url("https://www.youtube.com/watch?v=abc123&t=4") == "youtube.com/watch?v=abc123"
    assert _short_url("https://quill.ai/blog/post/?utm_source=x") == "quill.ai/blog/post"
    assert guest_of("Chat with PDF - talk to your documents") == ("", "", "")
    # a question's opening verb is no name ("Would I be able to tell?"); a first name that is a verb can be
    assert sig.names(["Would I be able to tell? Nearly 50 sites are fakes", "x"], "Would I be able to tell?") == []
    assert "Do Quill" in sig.names(["Do Quill arrested in Orchardia", "x"], "Do Quill arrested in Orchardia")
    # the newsletter talking to its reader is not what happened
    assert not sent.usable("Anyway, click the link above and check out his video demo - it gave me shivers!")


def test_an_event_announced_is_briefed_as_an_event(archive):
    brief = one_story_brief(archive, "Quillface is putting on a live event",
                            "Quillface is putting on a live event: diffusion models, today (Wednesday 18:00 CET).",
                            links=[{"url": "https://www.youtube.com/watch?v=quill123", "text": "link"}])
    assert brief.our_take.startswith("An event, not news"), brief.our_take
    assert "youtube.com/watch?v=quill123" in brief.what_to_do and "CET" not in brief.watch_for
    assert "asks a builder to act" not in brief.our_take
    report = one_story_brief(archive, "Top 10 projects from the Quill House hackathon",
                             "Top 10 projects from the Quill House hackathon, with 170 founders.")
    assert not report.our_take.startswith("An event")


def test_research_on_a_project_page_points_to_the_page_not_to_nothing(archive):
    title = "Quill3D - Learning a 3D-aware generative model on ImageNet."
    brief = one_story_brief(archive, title, f"{title} Researchers at Quill University propose a new approach.",
                            section="Research", links=[{"url": "https://quillsargent.github.io/quill3d", "text": "link"}])
    assert brief.kind == "research", brief.kind
    assert "quillsargent.github.io/quill3d" in brief.our_take + brief.what_to_do
    assert "no paper" not in brief.our_take and "nothing to check it against" not in brief.skeptics


def test_a_sites_name_after_the_headline_is_not_the_subject(archive):
    store, briefer, _ = archive
    title = "Computer Scientist Explains One Concept in 5 Levels of Difficulty | QUILLED"
    inp = one_story_input(store, title, f'{title} - "In this explainer video, Professor Dana Orchard explains the '
                          'paradox to a child, a teen and a grad student: a guide to why robots find easy things '
                          'hard."')
    inp.subject = "quilled"  # the name the cluster's titles share: every headline of the site ends with it
    brief = make_briefs(briefer, [inp])[0]
    assert brief.kind == "opinion", brief.kind
    assert "QUILLED" not in brief.our_take + brief.what_changes + brief.watch_for, brief.our_take


def test_a_replication_that_failed_is_not_briefed_as_a_result_to_build_on(archive):
    title = "The infamous Quill gaydar study was repeated – and, no, code can't tell who you are from your face"
    text = ("Researchers tried to replicate the original Quill University study with limited success: the network "
            "still scored over 60% with the faces blurred out. The new study is also poorly conducted.")
    brief = one_story_brief(archive, title, text, section="Research")
    said = brief.our_take + brief.what_to_do + brief.what_changes + brief.skeptics
    assert "prototype" not in said and "Nothing in the archive contradicts" not in said, said
    assert "doubt" in brief.our_take + brief.skeptics
    assert sig.contrary("Quillchat doesn't work the way you think") is False


def test_a_listed_site_is_not_said_to_be_open_to_use(archive):
    line = "Quillplan - Turns your to-dos into the perfect schedule."
    links = [{"url": "https://quillplan.example.com", "text": "Quillplan"}]
    brief = one_story_brief(archive, line, line, links=links)
    assert brief.kind == "release", brief.kind
    said = brief.our_take + brief.what_changes + brief.skeptics
    # a link to its site is no word that anyone can use it today (a waitlist, a sales call, a price)
    assert "can be tried today" not in said and "use today" not in said, said
    assert "quillplan.example.com" in brief.our_take and "nothing of access" in brief.our_take
    # a schedule for your to-dos is for anyone, not for the builders Pulse's audiences describe
    assert brief.who == ["General users"], brief.who
    assert "only if you need" in brief.what_to_do and "engineers" not in brief.what_to_do
    offered = one_story_brief(archive, line, f"{line} Free to use: try it now.", links=links)
    assert "can be tried today" in offered.our_take, offered.our_take


def test_an_investment_is_the_raise_of_the_company_invested_in(archive):
    brief = brief_of_kind(archive, "funding", "Quillvest Ventures invests in Orchardly, fueling better AI trust.",
                          "Quillvest Ventures invests in Orchardly, fueling better AI trust.")
    assert "Orchardly" in brief.our_take and "Quillvest" not in brief.our_take + brief.what_to_do, brief.our_take


def test_someone_talking_about_a_topic_is_their_view_of_it(archive):
    brief = brief_of_kind(archive, "opinion", "What's next for AI: Dana Quill talks about the journey toward robust "
                          "artificial intelligence", "Dana Quill, an academic who founded two startups, one acquired "
                          "by Orchard, talks about what robust AI needs.")
    assert brief.our_take.startswith("Dana Quill's view on the journey toward robust"), brief.our_take
    said = brief.our_take + brief.what_changes + brief.watch_for
    assert "about Dana Quill" not in said and "view of Dana Quill" not in said and "by Orchard" not in said, said
    # an interview whose subject is the person interviewed: the text uses the surname alone
    from outputs.headline import speaker_of
    text = "An hour with Dana Quillfeather. A really good interview where Quillfeather explains the future of AI."
    assert speaker_of("None of us will see it", text, "Dana Quillfeather", interview=True)[0] == "Dana Quillfeather"
    assert speaker_of("None of us will see it", text, "Dana Quillfeather", interview=False)[0] == ""  # an essay on her
    assert speaker_of("AI pioneer Dana Quill says lawmakers must move fast")[:1] == ("Dana Quill",)
    assert speaker_of("Quill Labs says its model is best") == ("", "", "")  # a company's claim, not a person's view


def test_a_persons_call_for_rules_is_their_view_not_a_rule(archive):
    brief = brief_of_kind(archive, "opinion", "Dana Quill calls for regulation on AI-generated music",
                          "The singer said lawmakers should regulate AI-generated music.")
    said = brief.our_take + brief.what_to_do + brief.what_changes + brief.watch_for
    assert "compliance" not in said and "goes ahead" not in said and "ruling" not in said, said


def test_a_platforms_own_ban_is_its_rule_not_a_law(archive):
    brief = brief_of_kind(archive, "policy", "ChatGPT banned on Chinese social media app Quillchat.",
                          "Quillchat has banned mini-programs that give access to ChatGPT, citing the law.")
    assert brief.our_take.startswith("Quillchat's own rule, not a law"), brief.our_take
    said = brief.our_take + brief.what_to_do + brief.what_changes + brief.skeptics
    assert "compliance" not in said and "appeal" not in said and "goes ahead" not in said, said
    state = brief_of_kind(archive, "policy", "Italy bans Quillbot from using personal data",
                          "The regulator's ban takes effect at once, under the law on personal data.")
    assert "own rule" not in state.our_take, state.our_take


def test_a_signed_statement_and_a_tutorial_are_no_products(archive):
    statement = one_story_brief(archive, "Statement on AI risk - The game of signatures is back.",
                                "A non-profit has put out a one-sentence statement on AI risk, signed by researchers.",
                                links=[{"url": "https://quillsafety.org/statement", "text": "statement"}],
                                section="Our Picks")
    assert statement.kind == "opinion", statement.kind
    assert "Weights" not in statement.watch_for and "site" not in statement.what_changes
    lesson = one_story_brief(archive, "Orchard's QuillLM 4-bit works on the free Quillbook notebooks",
                             "This tutorial takes us through using it in the free notebooks, step by step.",
                             links=[{"url": "https://www.youtube.com/watch?v=abc", "text": "video"}],
                             section="Our Picks")
    assert lesson.kind == "opinion" and lesson.our_take.startswith("A how-to"), (lesson.kind, lesson.our_take)
    assert "how to get" not in lesson.what_changes


def test_former_staff_and_where_a_tool_runs_are_no_subject_or_actor(archive):
    launch = one_story_brief(archive, "Ex-Quillers take a stab at building 'general intelligence' that makes "
                             "software do what you tell it", "Orchard AI, a lab founded by ex-Quillers, launched on "
                             "Tuesday with the goal of teaching machines how to use every software tool.",
                             section="Business")
    assert "Ex-Quillers" not in launch.our_take + launch.what_to_do, launch.our_take
    assert not launch.our_take.startswith("A how-to"), launch.our_take
    study = one_story_brief(archive, "Quill Copilot Generated Insecure Code In 40% Of Circumstances During Experiment",
                            "Researchers published a paper examining the security of Quill Copilot, an AI system "
                            "now being used for code completion in Orchard Studio Code. Some 40 percent of tested "
                            "projects were found to include vulnerabilities.")
    assert "Studio" not in study.our_take + study.watch_for, study.our_take


def test_a_paper_named_but_not_linked_is_not_something_to_open_and_the_writers_aside_is_no_claim(archive):
    report = one_story_brief(archive, "When AI Sees a Man, It Thinks 'Official.' A Woman? 'Smile'",
                             "A new paper renews concerns about bias in image labelling.",
                             links=[{"url": "https://www.quillnews.example/story/ai-sees-man", "text": "x"}])
    assert "something to open" not in report.what_changes and "link none" in report.what_changes, \
        report.what_changes
    tool = one_story_brief(archive, "Quillmagic have produced a very cool-looking generative app tool",
                           "In case you haven't noticed, I don't tend to focus on tools that are 10x better than "
                           "the last. Quillmagic builds an app from a sentence, and it launches today.")
    assert "haven't noticed" not in tool.skeptics, tool.skeptics
    assert "headline comes from its makers" not in tool.our_take, tool.our_take


def test_a_feature_of_an_app_is_not_asked_for_weights(archive):
    brief = one_story_brief(archive, "Quillsoft launches Quill Duet, AI tools for Docs and Mail",
                            "Quill Duet suggests prompts, turns text into tables and drafts replies in Mail.",
                            links=[{"url": "https://www.quillnews.example/2023/5/10/quill-duet", "text": "x"}])
    assert brief.kind == "release", brief.kind
    said = brief.our_take + brief.watch_for
    assert "eights" not in said, said  # a feature has no weights to wait for
    model = one_story_brief(archive, "Quillsoft launches Quill-7B, a language model",
                            "Quill-7B is a 7B-parameter model trained on 1T tokens.",
                            links=[{"url": "https://www.quillnews.example/2023/5/10/quill-7b", "text": "x"}])
    assert "eights" in model.our_take + model.watch_for, model.our_take + model.watch_for


def test_a_headline_with_a_quoted_passage_is_not_said_to_have_no_quote_and_a_model_repo_is_for_builders(archive):
    brief = one_story_brief(archive, "Quill Looks Increasingly Isolated as Automakers Embrace Lidar",
                            'Quill Looks Increasingly Isolated as Automakers Embrace Lidar - "At least 17 automakers '
                            'plan cars with lidar, the sensor Quill calls a crutch."')
    assert "no figure, quote" not in brief.skeptics and "quoted from the article" in brief.skeptics, brief.skeptics
    line = "Quilldonut - OCR-free document understanding transformer."
    repo = one_story_brief(archive, line, line, links=[{"url": "https://github.com/quill/donut", "text": "x"}])
    assert "General users" not in repo.who, repo.who
    line = "Quillium - ChatGPT in your IDE for free."
    ide = one_story_brief(archive, line, line, links=[{"url": "https://quillium.example", "text": "x"}])
    assert "General users" not in ide.who, ide.who


def test_a_release_open_to_everyone_is_not_said_to_have_no_way_in_and_a_user_count_is_no_claim(archive):
    brief = brief_of_kind(archive, "release", "Quillchat is releasing its AI chatbot to everyone for free",
                          "Quillchat is releasing its My Quill chatbot to all of its 750 million monthly users for "
                          "free, a move that comes less than two months after the bot was first made available to "
                          "the app's more than 3 million paid subscribers.")
    said = brief.our_take + brief.what_changes + brief.watch_for + brief.skeptics + brief.what_to_do
    assert "how to get" not in said and "open to everyone" in brief.what_changes, brief.what_changes
    assert "750 million" not in brief.our_take + brief.what_to_do and " and 3 " not in said, said
    # how many use it, and when it was first made available, are no claim to doubt
    assert "a claim, not a result" not in brief.our_take and "paid subscribers" not in brief.skeptics, said


def test_a_speaker_with_a_co_speaker_on_a_topic_is_their_view(archive):
    brief = brief_of_kind(archive, "opinion", "Quill in Robotics' Dana Quill, Orin Orchard on diversity & inclusion",
                          "In this interview, the two talk about diversity and inclusion in robotics labs and "
                          "what they think should change.")
    said = brief.our_take + brief.what_changes + brief.watch_for
    assert "about Dana Quill" not in said and "made by Orin" not in said, said
