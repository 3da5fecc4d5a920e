"""The SQLite archive: schema, WAL, FTS5, stable ids."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

import pytest

from pipeline.store import SCHEMA_VERSION, SchemaError, Store, issue_id, story_id
from sources.models import Issue, Link, Story


def make_issue(n_stories=2, guid="g1", text="Speculative decoding gets faster"):
    stories = [Story(position=i, title=f"Story {i}", text=f"{text} number {i}",
                     links=[Link(f"https://x.example.org/{i}", "x")]) for i in range(n_stories)]
    return Issue(source="s", guid=guid, url=f"https://s.example.org/{guid}", title="Issue",
                 published=datetime(2026, 11, 2, tzinfo=timezone.utc), html="<p>x</p>", text="x", stories=stories)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "pulse.db") as s:
        s.ensure_source("s", "rss", "https://s.example.org/feed")
        yield s


def test_fresh_database_is_wal_with_schema_version_and_foreign_keys(store):
    assert store.schema_version == SCHEMA_VERSION
    assert store.db.journal_mode == "wal"
    assert store.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.db["stories"].detect_fts() == "stories_fts"  # what Datasette uses for its search box


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(SchemaError, match="newer than this Pulse"):
        Store(path)


def test_save_is_idempotent_and_ids_are_stable(store):
    assert store.save_issue(make_issue()) == "new"
    assert store.save_issue(make_issue()) == "unchanged"
    iid = issue_id("s", "g1")
    assert [r["id"] for r in store.iter_stories()] == [story_id(iid, 0), story_id(iid, 1)]
    assert store.counts() == {"sources": 1, "issues": 1, "stories": 2, "links": 2}


def test_shrinking_issue_drops_its_extra_stories_and_links(store):
    store.save_issue(make_issue(3))
    assert store.save_issue(make_issue(1)) == "updated"
    assert store.counts()["stories"] == 1 and store.counts()["links"] == 1


def test_fts_follows_inserts_updates_and_deletes(store):
    store.save_issue(make_issue(2))
    hits = lambda q: [r["id"] for r in store.db["stories"].search(q)]
    assert len(hits("speculative")) == 2
    store.save_issue(make_issue(2, text="Quantized serving on one card"))
    assert hits("speculative") == [] and len(hits("quantized")) == 2
    store.save_issue(make_issue(0, text="x"))
    assert hits("quantized") == []


def test_second_connection_reads_while_first_writes(tmp_path):
    path = tmp_path / "p.db"
    with Store(path) as a, Store(path) as b:
        a.ensure_source("s", "rss", "https://s.example.org/feed")
        with a.db.atomic():
            a.save_issue(make_issue(guid="g2"))
            assert b.count("issues") == 0  # WAL: readers see the last commit, never a half write
        assert b.count("issues") == 1
