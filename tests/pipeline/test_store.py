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


def test_issues_stored_after_a_mark_in_the_same_second_count_as_arrived_after_it(store):
    store.save_issue(make_issue(guid="g1"))
    stamp = store.db.execute("SELECT first_seen FROM issues").fetchone()[0]
    mark = store.issue_mark()
    window = ("2026-01-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")
    assert store.days_arrived(*window, after=(stamp, mark)) == []  # nothing since the mark
    later = make_issue(guid="g2")
    later.published = datetime(2026, 11, 5, tzinfo=timezone.utc)
    store.save_issue(later)
    store.db.execute("UPDATE issues SET first_seen = ?", [stamp])  # both stored within one second
    assert store.days_arrived(*window) == ["2026-11-02", "2026-11-05"]
    assert store.days_arrived(*window, after=(stamp, mark)) == ["2026-11-05"]
    assert store.days_arrived(*window, after=("2000-01-01T00:00:00+00:00", 2**62)) == ["2026-11-02", "2026-11-05"]


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


# ------------------------------------------------------------------ migrations: named steps, older archives

# the embeddings tables as Pulse made them before its steps had names (schema v2 of `PRAGMA user_version`)
LEGACY_EMBEDDINGS = """
CREATE TABLE collections (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL
);
CREATE TABLE embeddings (
    collection_id INTEGER NOT NULL REFERENCES collections(id),
    id TEXT NOT NULL,
    embedding BLOB,
    content TEXT,
    content_blob BLOB,
    content_hash BLOB,
    metadata TEXT,
    updated INTEGER,
    PRIMARY KEY (collection_id, id)
);
"""
# the tables each numbered version added
LEGACY_TABLES = {1: ["sources", "issues", "stories", "links", "fetch_log"], 2: ["collections", "embeddings"],
                 3: ["threads", "clusters", "cluster_members"], 4: ["briefs", "digests"], 5: ["runs", "sent_emails"]}


def make_legacy(path, version: int = 5) -> None:
    """Turn an archive made by this Pulse into one made before the steps had names: no migration record,
    the embeddings tables in Pulse's old SQL, `user_version` = version, later versions' tables dropped."""
    conn = sqlite3.connect(path)
    for (trigger,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'due_%'").fetchall():
        conn.execute(f"DROP TRIGGER {trigger}")  # undo m014 and m013: the markers and their indexes
    conn.execute("ALTER TABLE cluster_members DROP COLUMN refs")
    conn.executescript("DROP TABLE due; DROP TABLE state; DROP INDEX stories_uncounted; DROP INDEX issues_first_seen; "
                       "DROP INDEX clusters_unnamed; DROP INDEX stories_source_section; DROP INDEX "
                       "stories_issue_section; DROP INDEX clusters_first_told; ALTER TABLE clusters DROP COLUMN "
                       "first_source;")
    conn.executescript(  # undo the steps after m006 (they came after the steps got names): m012 to m007
        "ALTER TABLE clusters DROP COLUMN terms; DROP TABLE story_marks; ALTER TABLE briefs DROP COLUMN key_names; ALTER TABLE issues DROP COLUMN entry_hash; DROP INDEX briefs_kind; ALTER TABLE briefs DROP COLUMN kind; DROP TABLE watch; DROP TABLE watch_seen; "
        "DROP TABLE related; DROP TABLE terms; ALTER TABLE clusters DROP COLUMN subject; "
        "ALTER TABLE threads DROP COLUMN subject; ALTER TABLE cluster_members DROP COLUMN reason; "
        "ALTER TABLE stories DROP COLUMN terms_counted;")
    conn.executescript(
        "DROP TABLE _sqlite_migrations; CREATE TEMP TABLE c AS SELECT * FROM collections; "
        "CREATE TEMP TABLE e AS SELECT * FROM embeddings; DROP TABLE embeddings; DROP TABLE collections;"
        f"{LEGACY_EMBEDDINGS} INSERT INTO collections SELECT * FROM temp.c; "
        "INSERT INTO embeddings SELECT * FROM temp.e;")
    for later in range(version + 1, 6):
        for table in reversed(LEGACY_TABLES[later]):
            conn.execute(f"DROP TABLE {table}")
    conn.execute(f"PRAGMA user_version = {version}")
    conn.commit()
    conn.close()


def rows_of(path, columns: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Every row of every table (FTS shadow tables included), as sorted reprs: compares whole archives.
    With `columns`, only those columns of the tables named there (what an older archive had)."""
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        cols = {t: ", ".join(f'"{c}"' for c in (columns or {}).get(t, ["*"])).replace('"*"', "*") for t in tables}
        return {t: sorted(map(repr, conn.execute(f'SELECT {cols[t]} FROM "{t}"'))) for t in tables}
    finally:
        conn.close()


def columns_of(path) -> dict[str, list[str]]:
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}
    finally:
        conn.close()


def filled_store(path) -> None:
    """An archive with a row in each kind of table Pulse writes most: stories, links, vectors, a run."""
    with Store(path) as s:
        s.ensure_source("s", "rss", "https://s.example.org/feed")
        s.save_issue(make_issue(3))
        cid = s.embedding_collection("stories", "m")
        s.save_embeddings(cid, [(r["id"], bytes(16), b"h" * 16) for r in s.iter_stories()])
        s.finish_run(s.start_run("2026-11-02T00:00:00+00:00"), "2026-11-02T00:01:00+00:00", "ok", 0, "m", "{}")


def test_steps_are_named_applied_once_and_recorded_with_llms(tmp_path):
    from pipeline.migrations import LLM_SET, LLM_STEPS, STEPS, applied

    path = tmp_path / "pulse.db"
    with Store(path) as s:
        assert applied(s.db, "pulse") == list(STEPS) and STEPS[0] == "m001_archive"
        assert applied(s.db, LLM_SET) == list(LLM_STEPS)
        record = list(s.db.query("SELECT * FROM _sqlite_migrations ORDER BY id"))
    with Store(path) as s:  # reopening applies nothing and records nothing
        assert list(s.db.query("SELECT * FROM _sqlite_migrations ORDER BY id")) == record
        assert s.schema_version == SCHEMA_VERSION == len(STEPS)


@pytest.mark.parametrize("version", [1, 2, 3, 4, 5])
def test_archive_from_before_named_steps_upgrades_without_loss(tmp_path, version):
    from pipeline.migrations import LLM_SET, LLM_STEPS, STEPS, applied

    path = tmp_path / "pulse.db"
    filled_store(path)
    make_legacy(path, version)
    before, had = rows_of(path), columns_of(path)
    assert "_sqlite_migrations" not in before and ("embeddings" in before) == (version >= 2)
    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION
        assert applied(s.db, "pulse") == list(STEPS)  # the old version's steps recorded first, then the rest
        assert applied(s.db, LLM_SET) == list(LLM_STEPS)
        assert s.db["embeddings"].columns_dict == {"collection_id": int, "id": str, "embedding": bytes,
                                                   "content": str, "content_blob": bytes, "content_hash": bytes,
                                                   "metadata": str, "updated": int}
        assert any(ix.columns == ["content_hash"] for ix in s.db["embeddings"].indexes)
        assert len(s.search_keyword('"speculative"', 10)) == 3  # FTS5 still in step with its table
        s.save_issue(make_issue(1, guid="g2"))  # and the archive takes new writes
    after = rows_of(path, had)  # the columns the old archive had (later steps add some)
    for table, rows in before.items():
        if not table.startswith("stories_fts"):  # the FTS index took the new issue's story
            assert set(rows) <= set(after[table]), table
    assert after["embeddings"] == before.get("embeddings", [])


def test_a_failed_step_leaves_the_archive_as_it_was(tmp_path):
    path = tmp_path / "pulse.db"
    filled_store(path)
    make_legacy(path, 2)
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE threads (x)")  # m003_clusters will fail on it
    conn.commit()
    conn.close()
    before = rows_of(path)
    with pytest.raises(sqlite3.OperationalError, match="threads already exists"):
        Store(path)
    assert rows_of(path) == before  # no step, no record, no version: all of the upgrade or none
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
    conn.close()


def test_archive_with_a_step_this_pulse_does_not_know_is_refused(tmp_path):
    path = tmp_path / "pulse.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('pulse', 'm999_x', '')")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaError, match="m999_x.*newer than this Pulse"):
        Store(path)


def test_stores_opening_a_new_archive_at_once_migrate_it_once(tmp_path):
    import threading

    from pipeline.migrations import LLM_STEPS, STEPS

    path = tmp_path / "pulse.db"
    start, errors = threading.Barrier(4), []

    def open_store() -> None:
        start.wait()
        try:
            Store(path).close()
        except Exception as exc:  # collected: the assertion below names them
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = sqlite3.connect(path)
    steps = len(STEPS) + len(LLM_STEPS)
    assert conn.execute("SELECT count(*), count(DISTINCT migration_set || name) FROM _sqlite_migrations"
                        ).fetchone() == (steps, steps)
    conn.close()
