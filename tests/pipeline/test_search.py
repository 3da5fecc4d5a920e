"""Hybrid search over a real archive (sample newsletters + a hostile one), with the real model."""
from __future__ import annotations

import json
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.embed_stage import embed_stories, load_vectors
from pipeline.search import Filters, SearchError, Searcher, SearchTimeout, rrf, split_snippet
from pipeline.search_eval import evaluate, load_judged
from pipeline.store import SNIPPET_CHARS, ModelMismatch, Store, interrupted
from sources.models import Issue, Story

JUDGED = Path(__file__).parent.parent / "fixtures" / "search_judged.toml"
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


@pytest.fixture(scope="module")
def searcher(archive, embedder):
    store = archive[0]
    return Searcher(store, lambda: (embedder.model_id, embedder.encode))


def top(searcher: Searcher, q: str, mode: str = "hybrid", n: int = 3, **filters) -> list[str]:
    return [h.title for h in searcher.search(q, mode=mode, limit=n, filters=Filters(**filters)).hits]


def test_judged_queries_meet_the_quality_floor_and_fusion_is_not_worse_than_keywords(searcher):
    scores = evaluate(searcher, load_judged(JUDGED))
    assert scores["hybrid"]["mrr"] >= 0.9 and scores["hybrid"]["ndcg"] >= 0.9, scores["hybrid"]
    assert scores["hybrid"]["mrr"] >= scores["keyword"]["mrr"]
    assert scores["semantic"]["mrr"] >= 0.8


@pytest.mark.parametrize("mode, q, first", [
    ("keyword", "KV cache", "KV cache compression in practice"),
    ("semantic", "speech synthesis with voice cloning", "Voxel, an open text-to-speech model"),  # no shared word
    ("hybrid", "robots trained by watching humans", "Robots learn to fold laundry from video alone"),
])
def test_each_mode_finds_its_kind_of_match(searcher, mode, q, first):
    assert top(searcher, q, mode)[0] == first


def test_keyword_mode_finds_nothing_for_a_paraphrase_that_semantic_finds(searcher):
    assert "Voxel, an open text-to-speech model" not in top(searcher, "vocal synthesis", "keyword", 10)
    assert top(searcher, "vocal synthesis", "semantic", 1) == ["Voxel, an open text-to-speech model"]


def test_hybrid_hits_carry_both_ranks_snippets_and_cluster_sizes(searcher):
    results = searcher.search("Hyperion open weights", limit=5)
    hit = results.hits[0]
    assert hit.keyword_rank and hit.semantic_rank and hit.cosine > 0.3
    assert hit.cluster_size == 3 and hit.cluster_sources == 3 and hit.slug
    assert results.to_dict()["hits"][0]["title"] == hit.title  # JSON-ready
    marked = [hit.snippet[a:b].lower() for a, b in hit.highlights]
    assert marked and all(m in ("hyperion", "open", "weights") or m.startswith("hyperion") for m in marked)


def test_a_long_question_falls_back_to_any_word_ranked_by_bm25(searcher):
    results = searcher.search("what did the newsletters say about draft trees since June?", mode="keyword")
    assert results.relaxed and results.hits[0].title in (
        "Draft trees make speculative decoding twice as fast", "Speculative decoding with draft trees")


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_filters_hold_in_every_mode(searcher, archive, mode):
    store = archive[0]
    for hit in searcher.search("Hyperion", mode=mode, limit=20, filters=Filters(sources=("model-drop",))).hits:
        assert hit.source == "model-drop"
    dated = searcher.search("Hyperion", mode=mode, limit=20, filters=Filters(since="2026-11-05", until="2026-11-12"))
    assert dated.hits and all("2026-11-05" <= h.date[:10] <= "2026-11-12" for h in dated.hits)
    first = searcher.search("Hyperion weights", mode=mode, limit=1).hits[0]
    clustered = searcher.search("Hyperion", mode=mode, limit=20, filters=Filters(cluster=first.cluster_id)).hits
    assert {h.cluster_id for h in clustered} == {first.cluster_id}
    threaded = searcher.search("Hyperion", mode=mode, limit=20, filters=Filters(thread=first.thread_id)).hits
    assert {h.thread_id for h in threaded} == {first.thread_id} and len(threaded) > len(clustered)
    assert store is archive[0]


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_kind_and_impact_filters_keep_only_stories_whose_brief_matches(searcher, archive, mode):
    store = archive[0]
    briefs = {b["cluster_id"]: (b["kind"], b["impact"]) for b in store.db.query("SELECT * FROM briefs")}
    every = searcher.search("model", mode=mode, limit=50).hits
    kinds = {h.kind for h in every if h.kind}
    assert len(kinds) >= 2  # the filter has something to leave out
    kind = sorted(kinds)[0]
    kept = searcher.search("model", mode=mode, limit=50, filters=Filters(kinds=(kind,))).hits
    assert kept and all(briefs[h.cluster_id][0] == kind and h.kind == kind for h in kept)
    assert {h.id for h in kept} == {h.id for h in every if h.kind == kind} or len(every) == 50
    for impact in ("low", "medium", "high"):
        ranked = searcher.search("model", mode=mode, limit=50, filters=Filters(impacts=(impact,))).hits
        assert all(briefs[h.cluster_id][1] == impact for h in ranked)
    both = searcher.search("model", mode=mode, limit=50, filters=Filters(kinds=(kind,), impacts=("high", "medium")))
    assert all(h.kind == kind and h.impact in ("high", "medium") for h in both.hits)


def test_an_unknown_kind_or_impact_is_a_clear_error(searcher):
    with pytest.raises(SearchError, match="not the kind of any brief here .*release"):
        searcher.search("model", filters=Filters(kinds=("releases",)))
    with pytest.raises(SearchError, match="not one of low, medium, high"):
        Filters(impacts=("huge",))


def test_semantic_top_k_under_a_filter_equals_brute_force(searcher, archive, embedder):
    store = archive[0]
    ids, vectors = load_vectors(store)
    cards = store.search_cards(ids)
    q = embedder.encode(["inference hardware"])[0]
    keep = [i for i, sid in enumerate(ids) if cards[sid]["source"] != "gradient-notes"
            and cards[sid]["date"][:10] >= "2026-11-03"]
    scores = vectors[keep] @ q
    want = [ids[keep[i]] for i in np.argsort(-scores, kind="stable")[:5]]
    got = searcher.semantic_index().search(q, 5, Filters(sources=("inference-letter", "model-drop", "sentinel"),
                                                         since="2026-11-03"), None)
    assert [sid for sid, _ in got] == want


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_left_out_words_are_left_out_of_semantic_hits_too(searcher, mode):
    assert not any("Hyperion" in t for t in top(searcher, "open weights model -hyperion", mode, 10))


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "fuzzy"}, "mode must be"), ({"limit": 0}, "limit must be"), ({"limit": 10_000}, "limit must be"),
])
def test_bad_arguments_are_one_line_errors(searcher, kwargs, message):
    with pytest.raises(SearchError, match=message):
        searcher.search("decoding", **kwargs)


def test_bad_dates_are_refused():
    with pytest.raises(SearchError, match="not a date"):
        Filters(since="June")


def test_the_index_sees_new_stories_without_a_restart(tmp_path, archive, embedder):
    archive[0].db.conn.backup(dst := __import__("sqlite3").connect(tmp_path / "copy.db"))
    dst.close()
    with Store(tmp_path / "copy.db") as store:
        searcher = Searcher(store, lambda: (embedder.model_id, embedder.encode))
        assert "Zephyr ships a photonic interconnect" not in top(searcher, "optical networking between GPUs", n=5)
        store.ensure_source("late", "rss", "https://late.example.org/feed")
        story = Story(position=0, title="Zephyr ships a photonic interconnect",
                      text="Zephyr's optical links connect GPU racks with light instead of copper.")
        store.save_issue(Issue(source="late", guid="z1", url="https://late.example.org/1", title="Late 1",
                               published=None, html="", text="", stories=[story]))
        embed_stories(store, embedder)
        assert top(searcher, "optical networking between GPUs", n=1) == ["Zephyr ships a photonic interconnect"]


def test_a_different_model_is_refused_for_semantic_search(archive):
    searcher = Searcher(archive[0], lambda: ("some/other-model", lambda texts: np.zeros((len(texts), 384))))
    assert searcher.search("decoding", mode="keyword").hits  # keyword search needs no model
    with pytest.raises(ModelMismatch, match="same model"):
        searcher.search("decoding", mode="semantic")


def test_rrf_and_snippets():
    assert [s for s, _ in rrf(["a", "b", "c"], ["c", "a"])] == ["a", "c", "b"]
    assert split_snippet("x \x02draft\x03 and \x02trees\x03.") == ("x draft and trees.", [(2, 7), (12, 17)])


# ---------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def data_dir(archive):
    return str(Path(archive[0].path).parent)


def test_cli_json_with_filters(data_dir):
    out = CliRunner().invoke(main, ["--data-dir", data_dir, "search", "Hyperion", "--json", "--limit", "3",
                                    "--source", "inference-letter", "--since", "2026-11-01", "--mode", "keyword"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["count"] == 2 and {h["source"] for h in data["hits"]} == {"inference-letter"}


def test_cli_filters_by_kind_and_impact_and_shows_them(data_dir):
    out = CliRunner().invoke(main, ["--data-dir", data_dir, "search", "Hyperion", "--json", "--limit", "20",
                                    "--kind", "release", "--impact", "high", "--impact", "medium"])
    assert out.exit_code == 0, out.output
    hits = json.loads(out.output)["hits"]
    assert hits and all(h["kind"] == "release" and h["impact"] in ("high", "medium") for h in hits)
    shown = CliRunner().invoke(main, ["--data-dir", data_dir, "search", "Hyperion", "--kind", "release"])
    assert "release, " in shown.output


@pytest.mark.parametrize("args, message", [
    (["--kind", "gossip", "x"], "not the kind of any brief here"),
    (["((("], "nothing to search for"), (["--", "-hyperion"], "only words to leave out"),
    (["--since", "last week", "x"], "not a date"),
])
def test_cli_bad_queries_are_one_line_errors(data_dir, args, message):
    out = CliRunner().invoke(main, ["--data-dir", data_dir, "search", "--mode", "keyword", *args])
    assert out.exit_code == 2 and message in out.output and len(out.output.strip().splitlines()) == 1


def test_cli_without_an_archive_says_what_to_do(tmp_path):
    out = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "search", "x"])
    assert out.exit_code == 2 and "pulse run" in out.output


# ---------------------------------------------------------------------- bounded work, deadlines, threads
@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_the_last_possible_until_means_no_upper_bound(searcher, mode):
    assert Filters(until="9999-12-31").sql()["until"] is None
    everything = searcher.search("Hyperion", mode=mode, limit=20).hits
    assert searcher.search("Hyperion", mode=mode, limit=20, filters=Filters(until="9999-12-31")).hits == everything
    assert searcher.search("Hyperion", mode=mode, limit=20, filters=Filters(since="9999-12-31")).hits == []


@pytest.mark.parametrize("mode", ["keyword", "hybrid"])
def test_a_search_past_its_deadline_stops_with_a_timeout(searcher, mode):
    with pytest.raises(SearchTimeout, match="ran out of time"):
        searcher.search("Hyperion", mode=mode, deadline=time.monotonic() - 1)
    assert searcher.search("Hyperion", mode=mode).hits  # the connection is fine afterwards


def test_a_statement_still_running_at_its_deadline_is_interrupted(tmp_path):
    with Store(tmp_path / "p.db") as store:
        started = time.perf_counter()
        with pytest.raises(sqlite3.OperationalError) as caught, store.time_limit(time.monotonic() + 0.2):
            store.db.execute(ENDLESS).fetchone()
        assert interrupted(caught.value) and time.perf_counter() - started < 2
        assert store.db.execute("SELECT 1").fetchone() == (1,)  # no limit left behind


def test_snippets_come_from_a_bounded_prefix_of_the_story(tmp_path):
    with Store(tmp_path / "p.db") as store:
        store.ensure_source("t", "rss", "https://t.example.org/feed")
        filler = "lorem ipsum " * (SNIPPET_CHARS // 12)
        stories = [Story(position=0, title="Early", text="photonic links early on. " + filler),
                   Story(position=1, title="Late", text=filler + " photonic links at the very end.")]
        store.save_issue(Issue(source="t", guid="1", url="https://t.example.org/1", title="I", published=None,
                               html="", text="", stories=stories))
        hits = Searcher(store, lambda: None).search("photonic", mode="keyword").hits
        assert {h.title for h in hits} == {"Early", "Late"}  # ranking reads the whole text
        early, late = sorted(hits, key=lambda h: h.title)
        assert [early.snippet[a:b] for a, b in early.highlights] == ["photonic"]
        assert late.highlights == [] and late.snippet.startswith("lorem ipsum")  # past the prefix: the lead


def test_one_searcher_searches_from_many_threads_each_on_its_own_connection(searcher):
    queries = ["Hyperion open weights", "speculative decoding", "KV cache", "robots laundry"]
    want = {q: [h.id for h in searcher.search(q, mode="hybrid").hits] for q in queries}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda q: (q, [h.id for h in searcher.search(q, mode="hybrid").hits]), queries * 4))
    assert all(ids == want[q] for q, ids in got)


def test_time_limits_nest_and_the_earliest_holds(tmp_path):
    with Store(tmp_path / "p.db") as store:
        with store.time_limit(time.monotonic() + 0.2):
            with store.time_limit(time.monotonic() + 60):  # a later inner limit does not lift the outer one
                with pytest.raises(sqlite3.OperationalError, match="interrupted"):
                    store.db.execute(ENDLESS).fetchone()
        with store.time_limit(time.monotonic() + 0.3):
            with store.time_limit(time.monotonic() + 0.1):
                assert store.db.execute("SELECT 1").fetchone() == (1,)
            with pytest.raises(sqlite3.OperationalError, match="interrupted"):  # the outer limit is back
                store.db.execute(ENDLESS).fetchone()
        assert store.db.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.parametrize("mode", ["keyword", "semantic", "hybrid"])
def test_hits_are_stories_not_copies(searcher, mode):
    """One hit per cluster: the same news told by three newsletters is one hit with the others under it."""
    grouped = searcher.search("Hyperion-7B open weights", mode=mode, limit=10)
    clusters = [h.cluster_id for h in grouped.hits if h.cluster_id]
    assert len(clusters) == len(set(clusters))
    flat = searcher.search("Hyperion-7B open weights", mode=mode, limit=10, by_story=False)
    launch = next(h for h in grouped.hits if h.cluster_size >= 3)
    copies = [h for h in flat.hits if h.cluster_id == launch.cluster_id]
    assert len(copies) >= 2  # without grouping the same story fills several places
    assert {a["id"] for a in launch.also} == {h.id for h in copies} - {launch.id}


@pytest.mark.parametrize("pool", [2, 3, 1000])
def test_a_filtered_keyword_search_ranks_inside_fts5_and_stays_exact(archive, monkeypatch, pool):
    """The best FILTER_POOL matches are filtered first; too few passing falls back to the full join. Either
    way the answer is the full join's."""
    import pipeline.store as store_module

    store = archive[0]
    sources = sorted({r[0] for r in store.db.execute("SELECT source FROM stories")})
    expected = {}
    for src in sources:
        expected[src] = [r[0] for r in store.db.execute(
            "SELECT s.id FROM stories_fts JOIN stories s ON s.rowid = stories_fts.rowid WHERE stories_fts MATCH ? "
            "AND s.source = ? ORDER BY bm25(stories_fts, 5.0, 1.0), s.id LIMIT 3", ['"decoding" OR "model"', src])]
    monkeypatch.setattr(store_module, "FILTER_POOL", pool)
    for src in sources:
        got = [sid for sid, _ in store.search_keyword('"decoding" OR "model"', 3, sources=(src,))]
        assert got == expected[src]
