"""Clusters and threads: the core on hand-made vectors, quality on the labelled set, the stage on a real store."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.cluster import ClusterConfig, StoryRef, assign, unit
from pipeline.cluster_eval import bcubed, load_eval_set, pairwise, replay
from pipeline.cluster_stage import cluster_stories
from pipeline.embed import story_text
from pipeline.embed_stage import embed_stories
from pipeline.ingest import ingest
from pipeline.samples import sample_sources
from pipeline.store import Store
from pipeline.views import story_view
from sources.fetch import Fetcher

EVAL = Path(__file__).parent.parent / "fixtures" / "cluster_eval.toml"


def near(base: np.ndarray, noise: float, rng) -> np.ndarray:
    v = base + noise * rng.standard_normal(base.shape)
    return v / np.linalg.norm(v)


def ref(i: int, issue: str | None = None, day: float = 0.0, links=()) -> StoryRef:
    return StoryRef(f"s{i}", issue or f"issue{i}", f"src{i % 3}", day, tuple(links))


# ---------------------------------------------------------------- the core
def test_same_news_joins_and_different_news_stays_apart():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    vecs = np.array([near(a, 0.05, rng), near(a, 0.05, rng), near(b, 0.05, rng), near(a, 0.05, rng)])
    labels = assign([ref(i) for i in range(4)], vecs, [], np.zeros((0, 64)), [])
    assert labels[0] == labels[1] == labels[3] != labels[2]


def test_two_stories_of_one_issue_are_never_merged():
    rng = np.random.default_rng(1)
    a = rng.standard_normal(64)
    vecs = np.array([near(a, 0.01, rng) for _ in range(3)])
    labels = assign([ref(0, "same"), ref(1, "same"), ref(2)], vecs, [], np.zeros((0, 64)), [])
    assert labels[0] != labels[1]
    assert labels[2] in (labels[0], labels[1])


def test_a_cluster_does_not_span_more_than_the_window():
    rng = np.random.default_rng(2)
    a = rng.standard_normal(64)
    vecs = np.array([near(a, 0.01, rng) for _ in range(2)])
    labels = assign([ref(0, day=0), ref(1, day=30)], vecs, [], np.zeros((0, 64)), [], ClusterConfig(window_days=10))
    assert labels[0] != labels[1]


def test_chaining_is_stopped_by_the_centroid_rule():
    """A walk of small steps: each neighbour is close, the ends are far apart."""
    rng = np.random.default_rng(3)
    x, y = rng.standard_normal(128), rng.standard_normal(128)
    x, y = x / np.linalg.norm(x), y / np.linalg.norm(y)
    steps = [np.cos(t) * x + np.sin(t) * y for t in np.linspace(0, np.pi / 2, 12)]
    vecs = np.array(steps)
    cfg = ClusterConfig(threshold=0.95, centroid_min=0.9, window_days=100)
    labels = assign([ref(i) for i in range(12)], vecs, [], np.zeros((0, 128)), [], cfg)
    assert labels[0] != labels[-1]
    chained = assign([ref(i) for i in range(12)], vecs, [], np.zeros((0, 128)), [],
                     ClusterConfig(threshold=0.95, centroid_min=-1, window_days=100))
    assert len(set(chained)) == 1  # without the safeguard, one chain swallows everything


def test_shared_specific_link_lowers_the_bar():
    rng = np.random.default_rng(4)
    a = rng.standard_normal(64)
    vecs = np.array([near(a, 0.9, rng), near(a, 0.9, rng)])
    s = float(vecs[0] @ vecs[1])
    cfg = ClusterConfig(threshold=s + 0.05, link_threshold=s - 0.05, centroid_min=0.0)
    plain = assign([ref(0), ref(1)], vecs, [], np.zeros((0, 64)), [], cfg)
    linked = assign([ref(0, links=["https://paper.example/1"]), ref(1, links=["https://paper.example/1"])], vecs,
                    [], np.zeros((0, 64)), [], cfg)
    assert plain[0] != plain[1] and linked[0] == linked[1]


def test_incremental_assignment_keeps_existing_ids_and_is_deterministic():
    rng = np.random.default_rng(5)
    a, b = rng.standard_normal(64), rng.standard_normal(64)
    old_vecs = np.array([near(a, 0.05, rng), near(a, 0.05, rng), near(b, 0.05, rng)])
    old = [ref(0), ref(1), ref(2)]
    new_vecs = np.array([near(a, 0.05, rng), near(b, 0.05, rng), rng.standard_normal(64)])
    new = [ref(3), ref(4), ref(5)]
    labels = assign(new, new_vecs, old, old_vecs, ["c-a", "c-a", "c-b"])
    assert labels[:2] == ["c-a", "c-b"]
    assert labels[2] not in ("c-a", "c-b")
    assert assign(new, new_vecs, old, old_vecs, ["c-a", "c-a", "c-b"]) == labels


def test_two_existing_clusters_are_never_merged_by_a_bridge():
    rng = np.random.default_rng(6)
    a = rng.standard_normal(64)
    old_vecs = np.array([near(a, 0.05, rng), near(a, 0.05, rng)])
    labels = assign([ref(2)], np.array([near(a, 0.05, rng)]), [ref(0), ref(1)], old_vecs, ["c-1", "c-2"])
    assert labels[0] in ("c-1", "c-2")


@pytest.mark.parametrize("truth,pred,pw,b3", [
    (list("aabb"), list("aabb"), 1.0, 1.0),
    (list("aabb"), list("abcd"), 0.0, 2 * 1 * 0.5 / 1.5),
    (list("aaab"), list("aaaa"), 2 * 0.5 * 1 / 1.5, None),
])
def test_metrics_on_hand_examples(truth, pred, pw, b3):
    assert pairwise(truth, pred).f1 == pytest.approx(pw)
    if b3 is not None:
        assert bcubed(truth, pred).f1 == pytest.approx(b3)


# ---------------------------------------------------------------- quality on the labelled set
def test_labelled_set_quality_with_the_bundled_model(embedder):
    stories = load_eval_set(EVAL)
    vecs = embedder.encode([story_text(s["title"], s["text"]) for s in stories])
    clusters, threads = replay(stories, vecs)
    events, subjects = [s["event"] for s in stories], [s["thread"] for s in stories]
    # nothing wrongly joined; some paraphrases left apart: the same-story decision trades recall on these
    # short synthetic paraphrases for keeping related news apart on real issues (bench/eval_clusters.py --real)
    assert pairwise(events, clusters).precision == 1.0 and bcubed(events, clusters).f1 >= 0.93
    assert pairwise(subjects, threads).precision == 1.0 and bcubed(subjects, threads).f1 >= 0.88
    for i, s in enumerate(stories):  # near misses: same organisation or topic, still alone
        if s["id"].startswith("n"):
            assert clusters.count(clusters[i]) == 1, s["id"]
    # a replication weeks later is a new cluster in the release's thread
    pos = {s["id"]: i for i, s in enumerate(stories)}
    assert clusters[pos["e1-gn"]] != clusters[pos["e2-gn"]] and threads[pos["e1-gn"]] == threads[pos["e2-gn"]]


# ---------------------------------------------------------------- the stage on a real store
@pytest.fixture
def sample_store(tmp_path, embedder):
    with Store(tmp_path / "pulse.db") as s:
        ingest(s, sample_sources(), Fetcher())
        embed_stories(s, embedder)
        yield s


def memberships(store: Store) -> dict[str, str]:
    return dict(store.db.execute("SELECT story_id, cluster_id FROM cluster_members").fetchall())


def test_stage_clusters_the_sample_and_a_rerun_changes_nothing(sample_store):
    first = cluster_stories(sample_store)
    assert first["stories"] == 24 and first["clusters_new"] < 24
    before = memberships(sample_store)
    again = cluster_stories(sample_store)
    assert again["stories"] == 0 and memberships(sample_store) == before
    hyperion = [r for r in sample_store.db.query(
        "SELECT s.title, m.cluster_id, c.thread_id FROM stories s JOIN cluster_members m ON m.story_id = s.id "
        "JOIN clusters c ON c.id = m.cluster_id WHERE s.title LIKE '%Hyperion%'")]
    assert len({r["thread_id"] for r in hyperion}) == 1  # release, early doubts, replication: one thread
    assert len({r["cluster_id"] for r in hyperion}) == 3  # but three pieces of news


def test_crash_mid_stage_keeps_nothing_and_rerun_matches_a_clean_run(sample_store, tmp_path, embedder, monkeypatch):
    import pipeline.cluster_stage as stage

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(stage, "attach_threads", boom)
    with pytest.raises(RuntimeError):
        cluster_stories(sample_store)
    assert memberships(sample_store) == {} and sample_store.count("clusters") == 0
    monkeypatch.undo()
    cluster_stories(sample_store)
    with Store(tmp_path / "clean.db") as clean:
        ingest(clean, sample_sources(), Fetcher())
        embed_stories(clean, embedder)
        cluster_stories(clean)
        assert memberships(clean) == memberships(sample_store)


def test_an_edited_story_is_reclustered(sample_store, embedder):
    cluster_stories(sample_store)
    sid = next(iter(sample_store.db.query("SELECT id FROM stories WHERE title LIKE '%Tessellate%' LIMIT 1")))["id"]
    sample_store.db.execute("UPDATE stories SET title = 'A poem about autumn', text = 'Leaves fall softly.' "
                            "WHERE id = ?", [sid])
    embed_stories(sample_store, embedder)
    assert cluster_stories(sample_store)["stories"] == 1
    view = story_view(sample_store, sid)
    assert view["cluster_size"] == 1 and all(c["relation"] == "thread" for c in view["cited_by"])


def test_story_and_threads_commands(pulse_dirs):
    runner = CliRunner()
    assert runner.invoke(main, ["run", "--sample", "--json"], catch_exceptions=False).exit_code == 0
    threads = json.loads(runner.invoke(main, ["threads", "--sample", "--json"], catch_exceptions=False).stdout)
    hyperion = next(t for t in threads if "Hyperion" in t["title"])
    assert hyperion["clusters"] == 3 and hyperion["sources"] == 3 and len(hyperion["timeline"]) == 3
    assert hyperion["subject"] == "hyperion-7b"
    doubts, replication = hyperion["timeline"][1], hyperion["timeline"][2]
    assert doubts["claim"] == replication["claim"] == "contradicts" and "grademath" in replication["new_names"]
    later = replication["stories"][0]
    out = runner.invoke(main, ["story", "--sample", later[:8], "--json"], catch_exceptions=False)
    view = json.loads(out.stdout)
    assert {"id", "title", "cluster_id", "thread_id", "cited_by", "joined_because", "related"} <= set(view)
    assert view["thread_subject"] == "hyperion-7b" and "both cite https://openeval" in view["joined_because"]
    one = runner.invoke(main, ["thread", "--sample", view["thread_id"]], catch_exceptions=False)
    assert one.exit_code == 0 and "hyperion-7b" in one.output and "contradicts" in one.output
    assert all({"story_id", "source", "date"} <= set(c) for c in view["cited_by"])
    relations = {c["relation"] for c in view["cited_by"]}
    assert relations == {"cluster", "thread"}
    assert view["first_mention"]["date"] <= view["date"]
    bad = runner.invoke(main, ["story", "--sample", "nope"])
    assert bad.exit_code == 2 and "no single story" in bad.output


def test_equally_central_members_go_to_the_fuller_account_whatever_their_order():
    from pipeline.cluster import central_order
    rng = np.random.default_rng(3)
    a, b = unit(rng.normal(size=(2, 16)).astype(np.float32))
    titles = ["Orvex ships a chip", "Orvex ships a chip for phones"]
    short, full = "Orvex ships a chip.", "Orvex ships a chip for phones, " + "with more detail " * 30
    # a pair is always equally central; the last digits of the closeness must not decide
    for vecs, leads, want in (((a, b), [short, full], 1), ((b, a), [full, short], 0)):
        heads = titles if want == 1 else titles[::-1]
        assert central_order(np.vstack(vecs), heads, leads, [("d", "x"), ("d", "y")])[0] == want
    c = unit((a + b + 0.05 * rng.normal(size=16)).astype(np.float32)[None])[0]
    assert central_order(np.vstack([a, b, c]), [*titles, titles[0]], [full, full, short],
                         [(0,), (0,), (1,)])[0] == 2  # the closest still comes first


def test_a_headline_that_names_nothing_the_others_tell_is_not_the_cluster_title():
    from pipeline.cluster import central_order, shared_title_terms
    rng = np.random.default_rng(4)
    a, b = unit(rng.normal(size=(2, 16)).astype(np.float32))
    # a story whose text ran on into the next item's: a long text under a stray headline
    stray = ("Quillon is all in on AI and shared its prompt gallery",
             "Quillon is all in on AI. Notepad now writes drafts for you, on a waitlist for now.")
    told = ("Notepad is using AI to write your drafts", "Notepad starts testing a feature that writes drafts.")
    titles, leads = [stray[0], told[0]], [stray[1], told[1]]
    shared = shared_title_terms(titles, leads)
    assert shared[0] == 0 and shared[1] > 0
    assert central_order(np.vstack([a, b]), titles, leads, [(0,), (0,)])[0] == 1  # though its text is shorter


@pytest.mark.parametrize("text, doubts", [
    ("Early users question Quillion-7B's benchmark numbers", True),
    ("Independent replication fails to reproduce the scores", True),
    ("It trails the launch claims on math problems", True),
    ("QuillCSV - ask questions of your CSV files in plain words", False),  # a tool's listing doubts nothing
    ("Quilltrails: a walking app that trails your runs", False),
])
def test_a_thread_step_contradicts_only_where_its_words_doubt(text, doubts):
    from pipeline.views import _CONTRADICT
    assert bool(_CONTRADICT.search(text)) == doubts
