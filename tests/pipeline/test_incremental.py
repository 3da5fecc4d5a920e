"""The markers the store keeps for the nightly stages (`due`, migration m013): a stage looks only at what
changed, finds what a look at the whole archive would find, and a run killed mid-stage leaves its work due."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from pipeline.cluster_stage import cluster_stories
from pipeline.embed import COLLECTION
from pipeline.embed_stage import embed_stories, stale_of
from pipeline.store import STORY_DATE, Store
from sources.models import Issue, Link, Story


@pytest.fixture
def night_store(clustered_sample):
    """The sample archive after one night: every stage's first look at the whole of it is done."""
    return clustered_sample


def late_issue(source: str, guid: str = "late-1") -> Issue:
    """An issue telling again two of the sample's stories (same headline and link) and one new one."""
    stories = [Story(position=0, title="Hyperion-7B weights are out under Apache 2.0",
                     text="The Hyperion-7B model weights were released today under the Apache 2.0 licence.",
                     links=[Link("https://hyperion.example.org/blog/release", "release")]),
               Story(position=1, title="A lighthouse keeper's notebook", text="Nothing about models at all today.")]
    return Issue(source=source, guid=guid, url=f"https://example.org/{guid}", title="Late issue",
                 published=datetime(2026, 11, 3, tzinfo=timezone.utc), html="", text="", stories=stories)


def whole_archive_finds_nothing(store: Store) -> None:
    """What each stage's look at the whole archive would find still to do: nothing."""
    cid = store.collection_id(COLLECTION)
    assert stale_of(store.stories_for_embedding(cid)) == []
    assert store.stories_to_cluster(cid, everything=True) == []
    assert store.clusters_out_of_date(everything=True) == []


def test_the_first_night_looks_at_everything_then_only_what_changed(night_store, embedder):
    store = night_store
    assert not any(store.needs_full(s) for s in ("embed", "cluster", "stale"))
    assert store.due("embed") == store.due("cluster") == store.due("stale") == []
    source = store.source_names()[0]
    store.save_issue(late_issue(source))
    new = [r[0] for r in store.db.execute("SELECT id FROM stories WHERE issue_id = (SELECT id FROM issues WHERE "
                                          "guid = 'late-1') ORDER BY position")]
    assert store.due("embed") == sorted(new)
    assert embed_stories(store, embedder)["embedded"] == 2
    assert store.due("embed") == [] and store.due("cluster") == sorted(new)
    report = cluster_stories(store)
    assert report["stories"] == 2 and store.due("cluster") == store.due("stale") == []
    whole_archive_finds_nothing(store)


def test_an_edited_or_removed_story_is_due_and_its_vector_follows(night_store, embedder):
    store = night_store
    edited, removed = [r[0] for r in store.db.execute("SELECT id FROM stories ORDER BY id LIMIT 2")]
    store.db.execute("UPDATE stories SET text = 'Rewritten entirely.' WHERE id = ?", [edited])
    store.db.execute("DELETE FROM stories WHERE id = ?", [removed])
    store.db.conn.commit()
    assert store.due("embed") == sorted([edited, removed])
    assert embed_stories(store, embedder)["embedded"] == 1
    cid = store.collection_id(COLLECTION)
    assert {r[0] for r in store.embedding_rows(cid)} & {removed} == set()  # the vector of a story that is gone
    left = store.due("stale")
    assert left  # the removed story's cluster lost a member
    cluster_stories(store)
    whole_archive_finds_nothing(store)


def test_a_crash_mid_cluster_stage_leaves_its_stories_due(night_store, embedder, monkeypatch):
    import pipeline.cluster_stage as stage

    store = night_store
    store.save_issue(late_issue(store.source_names()[0]))
    embed_stories(store, embedder)
    due = store.due("cluster")
    assert len(due) == 2

    def boom(*a, **k):
        raise RuntimeError("killed")

    monkeypatch.setattr(stage, "refresh_clusters", boom)  # after the memberships are written
    with pytest.raises(RuntimeError):
        cluster_stories(store)
    assert store.due("cluster") == due  # rolled back with the work it marked done
    monkeypatch.undo()
    assert cluster_stories(store)["stories"] == 2
    whole_archive_finds_nothing(store)


def test_a_crash_mid_embed_stage_leaves_the_stories_due(night_store, embedder, monkeypatch):
    store = night_store
    store.save_issue(late_issue(store.source_names()[0]))
    due = store.due("embed")

    def boom(texts):
        raise RuntimeError("killed")

    monkeypatch.setattr(embedder, "encode", boom)
    with pytest.raises(RuntimeError):
        embed_stories(store, embedder)
    assert store.due("embed") == due and store.due("cluster") == []
    monkeypatch.undo()
    assert embed_stories(store, embedder)["embedded"] == 2 and store.due("embed") == []


def test_counted_stories_follow_every_change(night_store):
    store = night_store

    def counted() -> int:
        return store.db.execute("SELECT count(*) FROM stories WHERE terms_counted = 1").fetchone()[0]

    assert store.counted_stories() == counted() > 0
    store.save_issue(late_issue(store.source_names()[0]))
    cluster_stories(store)  # counts the new stories' terms
    assert store.counted_stories() == counted()
    store.db.execute("DELETE FROM stories WHERE id IN (SELECT id FROM stories WHERE terms_counted = 1 LIMIT 3)")
    store.db.conn.commit()
    assert store.counted_stories() == counted()


def test_each_clusters_first_teller_is_its_earliest_story(night_store, embedder):
    """`clusters.first_source` against the definition: the source of the cluster's first story by date, then id."""
    store = night_store
    store.save_issue(late_issue(store.source_names()[-1]))
    embed_stories(store, embedder)
    cluster_stories(store)
    first = dict(store.db.execute(
        "SELECT cluster_id, source FROM (SELECT m.cluster_id, s.source, row_number() OVER (PARTITION BY m.cluster_id "
        f"ORDER BY {STORY_DATE}, s.id) AS n FROM cluster_members m JOIN stories s ON s.id = m.story_id JOIN issues "
        "i ON i.id = s.issue_id) WHERE n = 1").fetchall())
    assert dict(store.db.execute("SELECT id, first_source FROM clusters").fetchall()) == first


def test_an_archive_from_before_the_markers_upgrades_in_place(night_store, embedder, tmp_path):
    """Undo m013 on a clustered archive, open it again: the first tellers and the count are filled in, and each
    stage's first run looks at the whole archive once and leaves nothing due."""
    import sqlite3

    from pipeline.migrations import DUE_STAGES, SCHEMA_VERSION

    store = night_store
    path = store.path
    want_first = dict(store.db.execute("SELECT id, first_source FROM clusters").fetchall())
    store.close()
    conn = sqlite3.connect(path)
    for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'due_%'").fetchall():
        conn.execute(f"DROP TRIGGER {trigger}")
    conn.executescript("DROP TABLE due; DROP TABLE state; DROP INDEX stories_uncounted; DROP INDEX issues_first_seen; "
                       "DROP INDEX clusters_unnamed; DROP INDEX stories_source_section; DROP INDEX "
                       "stories_issue_section; DROP INDEX clusters_first_told; ALTER TABLE clusters DROP COLUMN "
                       f"first_source; DELETE FROM _sqlite_migrations WHERE name = 'm013_due'; "
                       f"PRAGMA user_version = {SCHEMA_VERSION - 1};")
    conn.commit()
    conn.close()
    with Store(path) as again:
        assert all(again.needs_full(s) for s in DUE_STAGES)
        assert dict(again.db.execute("SELECT id, first_source FROM clusters").fetchall()) == want_first
        assert again.counted_stories() == again.db.execute(
            "SELECT count(*) FROM stories WHERE terms_counted = 1").fetchone()[0]
        assert embed_stories(again, embedder)["embedded"] == 0 and cluster_stories(again)["stories"] == 0
        assert not any(again.needs_full(s) for s in ("embed", "cluster", "stale"))
        whole_archive_finds_nothing(again)


def test_the_window_stories_words_are_read_once_and_kept_with_their_membership(night_store, embedder, monkeypatch):
    """A clustered story keeps what `relate` needs of its words (`refs`); a later night reads them for its window
    instead of the texts' terms, decides the same, and keeping them marks nothing due."""
    from pipeline import cluster_stage
    store = night_store
    kept = dict(store.db.execute("SELECT story_id, refs FROM cluster_members").fetchall())
    assert kept and all(cluster_stage.decode_refs(r) is not None for r in kept.values())
    sid, refs = next(iter(kept.items()))
    title, text = store.db.execute("SELECT title, text FROM stories WHERE id = ?", [sid]).fetchone()
    assert cluster_stage.decode_refs(refs) == cluster_stage.refs_of(title, text[:600])
    # an archive from before: the refs are made once, kept without marking any brief or page due
    store.db.execute("UPDATE cluster_members SET refs = NULL")
    store.db.execute("DELETE FROM due")
    store.db.conn.commit()
    made = []
    real = cluster_stage.refs_of
    monkeypatch.setattr(cluster_stage, "refs_of", lambda t, lead: made.append(t) or real(t, lead))
    source = store.source_names()[0]
    store.save_issue(late_issue(source))
    embed_stories(store, embedder)
    cluster_stories(store)
    first = len(made)
    assert first > 2  # the two new stories and the window's
    assert store.due("brief") == sorted({r[0] for r in store.db.execute(
        "SELECT cluster_id FROM cluster_members m JOIN stories s ON s.id = m.story_id JOIN issues i ON "
        "i.id = s.issue_id WHERE i.guid = 'late-1'")})  # only the new stories' clusters are due
    # the next night reads them: only its own new story's words are read
    made.clear()
    store.save_issue(late_issue(source, guid="late-2"))
    embed_stories(store, embedder)
    cluster_stories(store)
    assert len(made) == len(set(made)) <= 2
    whole_archive_finds_nothing(store)
