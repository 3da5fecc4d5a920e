"""The archive's schema as named, ordered migration steps (sqlite-utils' `Migrations`).

Each step runs once and is recorded by name in `_sqlite_migrations` under the set "pulse", the table
and record format llm (and `sqlite-utils migrate`) use. The embeddings tables are llm's: Pulse creates
them in the layout llm's own migrations end with and records those migrations under llm's set name, so
`llm similar stories ID -d pulse.db` opens the archive as its own and changes nothing.

Archives made before the steps had names carry a number in `PRAGMA user_version` (1-5, one per step
m001-m005): `upgrade` records those steps as applied, then applies what is pending. `user_version`
still counts the applied steps, so an older Pulse refuses an archive it does not know.
"""
from __future__ import annotations

import datetime

from sqlite_utils import Database, Migrations

pulse_migrations = Migrations("pulse")

# llm's embeddings migration set (llm/embeddings_migrations.py, llm 0.36): its steps, in order, and
# the columns its last step leaves; `m006_llm_owns_embeddings` records these steps as applied
LLM_SET = "llm.embeddings"
LLM_STEPS = ("m001_create_tables", "m002_foreign_key", "m003_add_updated", "m004_store_content_hash",
             "m005_add_content_blob")
LLM_EMBEDDINGS_COLUMNS = {"collection_id": int, "id": str, "embedding": bytes, "content": str,
                          "content_blob": bytes, "content_hash": bytes, "metadata": str, "updated": int}
# archives before named steps: user_version N meant steps m001..mN were applied
LEGACY_VERSIONS = 5


class SchemaError(Exception):
    pass


_ARCHIVE = """
CREATE TABLE sources (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_attempt TEXT,
    last_ok TEXT,
    consecutive_errors INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE TABLE issues (
    id TEXT PRIMARY KEY,
    source TEXT NOT NULL REFERENCES sources(name),
    guid TEXT NOT NULL,
    url TEXT,
    title TEXT NOT NULL,
    published TEXT,
    html TEXT,
    text TEXT,
    content_hash TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (source, guid)
);
CREATE INDEX issues_published ON issues(published);
CREATE INDEX issues_url ON issues(source, url);
CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    issue_id TEXT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    source TEXT NOT NULL,
    published TEXT,
    position INTEGER NOT NULL,
    section TEXT NOT NULL DEFAULT 'main',
    title TEXT NOT NULL,
    dek TEXT,
    text TEXT NOT NULL,
    markdown TEXT,
    content_hash TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (issue_id, position)
);
CREATE INDEX stories_published ON stories(published);
CREATE INDEX stories_source ON stories(source);
CREATE TABLE links (
    story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    url TEXT NOT NULL,
    text TEXT,
    PRIMARY KEY (story_id, position)
);
CREATE INDEX links_url ON links(url);
CREATE TABLE fetch_log (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    url TEXT NOT NULL,
    at TEXT NOT NULL,
    status INTEGER,
    attempts INTEGER,
    ms INTEGER,
    bytes INTEGER,
    error TEXT
);
"""


@pulse_migrations()
def m001_archive(db: Database) -> None:
    """Sources, issues, stories, links and the fetch log; FTS5 over story title and text."""
    db.executescript(_ARCHIVE)
    db["stories"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter unicode61")


@pulse_migrations()
def m002_embeddings(db: Database) -> None:
    """Embeddings in the layout llm's own migrations end with (collections + embeddings)."""
    # if_not_exists: llm may have made them already, on an archive still at m001
    db["collections"].create({"id": int, "name": str, "model": str}, pk="id", if_not_exists=True)
    db["collections"].create_index(["name"], unique=True, if_not_exists=True)
    db["embeddings"].create(LLM_EMBEDDINGS_COLUMNS, pk=("collection_id", "id"),
                            foreign_keys=[("collection_id", "collections", "id")], if_not_exists=True)
    db["embeddings"].create_index(["content_hash"], if_not_exists=True)


_CLUSTERS = """
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    first_date TEXT,
    last_date TEXT
);
CREATE TABLE clusters (
    id TEXT PRIMARY KEY,
    thread_id TEXT,
    title TEXT NOT NULL,
    first_date TEXT,
    last_date TEXT,
    size INTEGER NOT NULL,
    sources INTEGER NOT NULL,
    centroid BLOB
);
CREATE INDEX clusters_thread ON clusters(thread_id);
CREATE INDEX clusters_last ON clusters(last_date);
CREATE TABLE cluster_members (
    story_id TEXT PRIMARY KEY REFERENCES stories(id) ON DELETE CASCADE,
    cluster_id TEXT NOT NULL,
    embedded_hash BLOB
);
CREATE INDEX cluster_members_cluster ON cluster_members(cluster_id);
"""


@pulse_migrations()
def m003_clusters(db: Database) -> None:
    """Clusters (same news), threads (same subject over time), and which cluster each story is in."""
    db.executescript(_CLUSTERS)


_BRIEFS = """
CREATE TABLE briefs (
    cluster_id TEXT PRIMARY KEY,
    slug TEXT NOT NULL UNIQUE,
    input_hash TEXT NOT NULL,
    generator TEXT NOT NULL,
    impact TEXT NOT NULL,
    impact_score INTEGER NOT NULL,
    data TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE TABLE digests (
    date TEXT PRIMARY KEY,
    markdown TEXT NOT NULL,
    clusters INTEGER NOT NULL,
    updated TEXT NOT NULL
);
"""


@pulse_migrations()
def m004_briefs(db: Database) -> None:
    """Briefs (one per cluster, its fields as JSON, with a hash of what it was built from) and digests."""
    db.executescript(_BRIEFS)


_RUNS = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    started TEXT NOT NULL,
    finished TEXT,
    status TEXT NOT NULL,
    exit_code INTEGER,
    model TEXT,
    report TEXT
);
CREATE TABLE sent_emails (
    date TEXT NOT NULL,
    digest_hash TEXT NOT NULL,
    recipients TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (date, digest_hash)
);
"""


@pulse_migrations()
def m005_runs(db: Database) -> None:
    """Run reports of the nightly job, and which digests were e-mailed (a rerun does not mail twice)."""
    db.executescript(_RUNS)


@pulse_migrations()
def m006_llm_owns_embeddings(db: Database) -> None:
    """Record llm's embeddings migrations as applied, so llm opens the archive as its own."""
    # archives before this step made the tables with Pulse's own SQL: same columns, no content_hash index
    have = {c.name for c in db["embeddings"].columns}
    if have != set(LLM_EMBEDDINGS_COLUMNS):
        raise SchemaError(f"embeddings has columns {sorted(have)}, not llm's {sorted(LLM_EMBEDDINGS_COLUMNS)}")
    db["embeddings"].create_index(["content_hash"], if_not_exists=True)
    done = applied(db, LLM_SET)
    for name in LLM_STEPS:
        if name not in done:
            _record(db, LLM_SET, name)


_RELATIONS = [
    "ALTER TABLE clusters ADD COLUMN subject TEXT",
    "ALTER TABLE threads ADD COLUMN subject TEXT",
    "ALTER TABLE cluster_members ADD COLUMN reason TEXT",
    "ALTER TABLE stories ADD COLUMN terms_counted INTEGER NOT NULL DEFAULT 0",
    """CREATE TABLE related (
    story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    other_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
    reason TEXT NOT NULL,
    PRIMARY KEY (story_id, other_id)
)""",
    "CREATE INDEX related_other ON related(other_id)",
    """CREATE TABLE terms (
    term TEXT PRIMARY KEY,
    df INTEGER NOT NULL DEFAULT 0,
    upper INTEGER NOT NULL DEFAULT 0,
    seen INTEGER NOT NULL DEFAULT 0
)""",
]


@pulse_migrations()
def m007_relations(db: Database) -> None:
    """Why stories were joined, related stories kept apart, subjects of clusters and threads, and the
    archive's term statistics (document frequency; how often a word is written capitalised mid-sentence)."""
    for sql in _RELATIONS:
        db.execute(sql)


_WATCH = [
    """CREATE TABLE watch (
    id TEXT PRIMARY KEY,
    cluster_id TEXT NOT NULL,
    event TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    opened TEXT NOT NULL,
    since TEXT NOT NULL,
    expires TEXT NOT NULL,
    actor TEXT NOT NULL DEFAULT '',
    sources TEXT NOT NULL DEFAULT '[]',
    resolved_story TEXT,
    resolved_cluster TEXT,
    resolved_date TEXT,
    resolved_source TEXT,
    resolved_title TEXT,
    evidence TEXT
)""",
    "CREATE INDEX watch_cluster ON watch(cluster_id)",
    "CREATE INDEX watch_resolved_cluster ON watch(resolved_cluster)",
    "CREATE TABLE watch_seen (cluster_id TEXT PRIMARY KEY, input_hash TEXT NOT NULL)",
]


@pulse_migrations()
def m008_watch(db: Database) -> None:
    """Watch-for items of briefs (an event about a subject, within a horizon) and the story that resolved
    each; which brief versions the watch stage has read."""
    for sql in _WATCH:
        db.execute(sql)


@pulse_migrations()
def m009_brief_kind(db: Database) -> None:
    """The brief's kind as a column (search filters by kind and impact), filled from its stored data."""
    db.execute("ALTER TABLE briefs ADD COLUMN kind TEXT NOT NULL DEFAULT ''")
    db.execute("UPDATE briefs SET kind = COALESCE(json_extract(data, '$.kind'), '')")
    db.execute("CREATE INDEX briefs_kind ON briefs(kind, impact)")


@pulse_migrations()
def m010_entry_hash(db: Database) -> None:
    """Each issue's entry hash (the feed entry or page as fetched, with the code that split it): an unchanged
    entry is recognised before it is parsed and segmented again."""
    db.execute("ALTER TABLE issues ADD COLUMN entry_hash TEXT")


@pulse_migrations()
def m011_story_marks(db: Database) -> None:
    """Whether a story cuts against a claim (`outputs.signals.contrary`), per text version, and the names a
    brief's counter-evidence must carry (its subject and actor): a brief cites a later story of its thread
    only as counter-evidence naming them, so only such a story rebuilds it."""
    db.execute("CREATE TABLE story_marks (story_id TEXT PRIMARY KEY, content_hash TEXT NOT NULL, "
               "contrary INTEGER NOT NULL)")
    db.execute("ALTER TABLE briefs ADD COLUMN key_names TEXT NOT NULL DEFAULT '[]'")
    db.execute("UPDATE briefs SET key_names = json_array(COALESCE(json_extract(data, '$.signals.subject'), ''), "
               "COALESCE(json_extract(data, '$.signals.actor'), ''))")


@pulse_migrations()
def m012_cluster_terms(db: Database) -> None:
    """Each cluster's terms (`pipeline.terms.terms_of` of its stories' titles and leads, with the version of
    the code that read them), kept so that threading a night does not read every open cluster's text again."""
    db.execute("ALTER TABLE clusters ADD COLUMN terms TEXT")


# What each stage still has to look at, kept by triggers as the archive changes, so that a night reads what
# changed rather than the whole archive: rows of `due` are (stage, key). A stage reads its rows, does the
# work and deletes the rows it read in the transaction that commits the work, so a run killed before that
# leaves them for the next. `state` holds the counted stories (`terms_counted`, read by every term lookup)
# and, per stage, `full:<stage>`: the next run scans the whole archive once (an archive from before these
# markers, or one written in bulk) and clears it.
DUE_STAGES = ("embed", "marks", "cluster", "stale", "brief", "page", "letter", "watch")
# with "brief": "joined" (stories that joined a cluster: they change the briefs of their thread written as of
# their date or later, and every brief of it where they are counter-evidence) and "thread" (clusters whose
# change may reach any brief of their thread: a story left or changed)
# each select gives (stage, key) rows as `k`; `_due_from` adds those not there yet (a trigger cannot rely on
# INSERT OR IGNORE: an outer upsert's conflict handling overrides it)
_STORY_CLUSTERS = "SELECT 'brief' AS stage, cluster_id AS k FROM cluster_members WHERE story_id = {story}"
_MEMBER_ISSUES = ("SELECT 'page' AS stage, s.issue_id AS k FROM cluster_members m JOIN stories s ON s.id = "
                  "m.story_id WHERE m.cluster_id = {cluster}")
_THREAD_CLUSTERS = "SELECT 'brief' AS stage, id AS k FROM clusters WHERE thread_id = {thread}"
_STORY_THREAD = "SELECT 'thread' AS stage, cluster_id AS k FROM cluster_members WHERE story_id = {story}"
_FIRST_LETTER = "SELECT 'letter' AS stage, first_source AS k FROM clusters WHERE id = {cluster}"


def _story_page(story: str) -> str:
    """A story's issue page is due."""
    return _due_from(f"SELECT 'page' AS stage, issue_id AS k FROM stories WHERE id = {story}")


def _trigger(name: str, event: str, body: list[str]) -> str:
    return f"CREATE TRIGGER {name} {event} BEGIN {'; '.join(body)}; END"


def _due(stage: str, key: str) -> str:
    return _due_from(f"SELECT '{stage}' AS stage, {key} AS k")


def _due_from(select: str) -> str:
    return (f"INSERT INTO due (stage, key) SELECT DISTINCT x.stage, x.k FROM ({select}) x WHERE x.k IS NOT NULL "
            "AND NOT EXISTS (SELECT 1 FROM due d WHERE d.stage = x.stage AND d.key = x.k)")


_COUNTED = "UPDATE state SET value = value + ({delta}) WHERE name = 'terms_counted'"
_FIRSTS_CHANGED = ("OLD.title IS NOT NEW.title OR OLD.first_date IS NOT NEW.first_date OR OLD.sources IS NOT "
                   "NEW.sources OR OLD.first_source IS NOT NEW.first_source")
_MEMBER_MOVED = [_due("brief", "OLD.cluster_id"), _due("brief", "NEW.cluster_id"), _due("thread", "OLD.cluster_id"),
                 _due("thread", "NEW.cluster_id"), _due("stale", "OLD.cluster_id"), _due("stale", "NEW.cluster_id"),
                 _story_page("NEW.story_id")]
_INCREMENTAL = [
    "CREATE TABLE due (stage TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (stage, key)) WITHOUT ROWID",
    "CREATE TABLE state (name TEXT PRIMARY KEY, value)",
    "CREATE INDEX stories_uncounted ON stories(section, id) WHERE terms_counted = 0",
    # a newsletter's and an issue's news stories counted from the index alone
    "CREATE INDEX stories_source_section ON stories(source, section)",
    "CREATE INDEX stories_issue_section ON stories(issue_id, section)",
    "CREATE INDEX issues_first_seen ON issues(first_seen)",
    "CREATE INDEX clusters_unnamed ON clusters(id) WHERE subject IS NULL",
    # the newsletter whose story came first (by date, then id), kept by the cluster stage: a newsletter's
    # page lists the stories several told where it told them first
    "ALTER TABLE clusters ADD COLUMN first_source TEXT",
    "CREATE INDEX clusters_first_told ON clusters(first_source, first_date) WHERE sources >= 2",
    # stories: their vector, their contrary mark, their issue's page and newsletter's; the count of counted
    _trigger("due_story_new", "AFTER INSERT ON stories", [
        _due("embed", "NEW.id"), _due("marks", "NEW.id"), _due("page", "NEW.issue_id"), _due("letter", "NEW.source"),
        _COUNTED.format(delta="NEW.terms_counted")]),
    _trigger("due_story_text", "AFTER UPDATE OF title, text, section ON stories", [_due("embed", "NEW.id")]),
    _trigger("due_story_hash", "AFTER UPDATE OF content_hash, published ON stories", [
        _due("marks", "NEW.id"), _due_from(_STORY_CLUSTERS.format(story="NEW.id")),
        _due_from(_STORY_THREAD.format(story="NEW.id"))]),
    _trigger("due_story_page", "AFTER UPDATE OF issue_id, position, section, title ON stories", [
        _due("page", "OLD.issue_id"), _due("page", "NEW.issue_id"), _due("letter", "OLD.source"),
        _due("letter", "NEW.source")]),
    _trigger("due_story_counted", "AFTER UPDATE OF terms_counted ON stories",
             [_COUNTED.format(delta="NEW.terms_counted - OLD.terms_counted")]),
    _trigger("due_story_gone", "AFTER DELETE ON stories", [
        _due("embed", "OLD.id"), _due("page", "OLD.issue_id"), _due("letter", "OLD.source"),
        _COUNTED.format(delta="-OLD.terms_counted")]),
    # issues: their page and their newsletter's; a new date moves their stories in their threads
    _trigger("due_issue_new", "AFTER INSERT ON issues", [_due("page", "NEW.id"), _due("letter", "NEW.source")]),
    _trigger("due_issue_changed", "AFTER UPDATE ON issues", [_due("page", "NEW.id"), _due("letter", "NEW.source"),
                                                              _due("letter", "OLD.source")]),
    _trigger("due_issue_date", "AFTER UPDATE OF published ON issues", [_due_from(
        f"SELECT {stage} AS stage, m.cluster_id AS k FROM stories s JOIN cluster_members m ON m.story_id = s.id "
        "WHERE s.issue_id = NEW.id") for stage in ("'brief'", "'thread'")]),
    _trigger("due_issue_gone", "AFTER DELETE ON issues", [_due("page", "OLD.id"), _due("letter", "OLD.source")]),
    _trigger("due_source", "AFTER UPDATE ON sources", [_due("letter", "NEW.name"), _due("letter", "OLD.name")]),
    _trigger("due_source_new", "AFTER INSERT ON sources", [_due("letter", "NEW.name")]),
    _trigger("due_source_gone", "AFTER DELETE ON sources", [_due("letter", "OLD.name")]),
    # (a vector made or remade is due for clustering: `Store.save_embeddings` says so, the embeddings tables
    # being llm's, as llm makes them)
    # memberships: the clusters' briefs and sizes, the story's issue page; a story that left is clustered again
    _trigger("due_member_new", "AFTER INSERT ON cluster_members",
             [_due("brief", "NEW.cluster_id"), _due("joined", "NEW.story_id"), _due("stale", "NEW.cluster_id"),
              _story_page("NEW.story_id")]),
    _trigger("due_member_moved", "AFTER UPDATE ON cluster_members", _MEMBER_MOVED),
    _trigger("due_member_gone", "AFTER DELETE ON cluster_members", [
        _due("brief", "OLD.cluster_id"), _due("thread", "OLD.cluster_id"), _due("stale", "OLD.cluster_id"),
        _due("cluster", "OLD.story_id"), _story_page("OLD.story_id")]),
    # clusters: an issue page shows each story's cluster's sources and thread, a newsletter page its first
    # tellings; a brief reads its whole thread, so a cluster joining or leaving one changes every brief of it
    _trigger("due_cluster_new", "AFTER INSERT ON clusters", [
        _due("brief", "NEW.id"), _due("letter", "NEW.first_source")]),
    _trigger("due_cluster_pages", "AFTER UPDATE ON clusters WHEN OLD.sources IS NOT NEW.sources OR OLD.thread_id "
             "IS NOT NEW.thread_id", [_due_from(_MEMBER_ISSUES.format(cluster="NEW.id"))]),
    _trigger("due_cluster_firsts", f"AFTER UPDATE ON clusters WHEN {_FIRSTS_CHANGED}", [
        _due("letter", "OLD.first_source"), _due("letter", "NEW.first_source")]),
    _trigger("due_cluster_rethreaded", "AFTER UPDATE ON clusters WHEN OLD.thread_id IS NOT NULL AND OLD.thread_id "
             "IS NOT NEW.thread_id", [
        _due("brief", "NEW.id"), _due_from(_THREAD_CLUSTERS.format(thread="OLD.thread_id")),
        _due_from(_THREAD_CLUSTERS.format(thread="NEW.thread_id"))]),
    # a cluster given its first thread: its stories join that thread as a new story would
    _trigger("due_cluster_threaded", "AFTER UPDATE ON clusters WHEN OLD.thread_id IS NULL AND NEW.thread_id IS "
             "NOT NULL", [_due("brief", "NEW.id"), _due_from(
                 "SELECT 'joined' AS stage, story_id AS k FROM cluster_members WHERE cluster_id = NEW.id")]),
    _trigger("due_cluster_gone", "AFTER DELETE ON clusters", [
        _due("brief", "OLD.id"), _due("letter", "OLD.first_source"),
        _due_from(_THREAD_CLUSTERS.format(thread="OLD.thread_id"))]),
    # a story's contrary mark is counter-evidence for its thread's earlier briefs
    _trigger("due_mark_new", "AFTER INSERT ON story_marks", [_due_from(_STORY_CLUSTERS.format(story="NEW.story_id"))]),
    _trigger("due_mark_changed", "AFTER UPDATE ON story_marks",
             [_due_from(_STORY_CLUSTERS.format(story="NEW.story_id")), _due_from(_STORY_THREAD.format(story="NEW.story_id"))]),
    # briefs: the pages of their clusters' issues show their slug, kind and impact, a newsletter page the slug
    # ... and the watch stage reads every brief written or removed (a brief removed is due again)
    _trigger("due_brief_new", "AFTER INSERT ON briefs", [_due_from(_MEMBER_ISSUES.format(cluster="NEW.cluster_id")),
                                                          _due_from(_FIRST_LETTER.format(cluster="NEW.cluster_id")),
                                                          _due("watch", "NEW.cluster_id")]),
    _trigger("due_brief_rewritten", "AFTER UPDATE OF input_hash ON briefs WHEN OLD.input_hash IS NOT NEW.input_hash",
             [_due("watch", "NEW.cluster_id")]),
    _trigger("due_brief_changed", "AFTER UPDATE ON briefs WHEN OLD.slug IS NOT NEW.slug OR OLD.kind IS NOT NEW.kind "
             "OR OLD.impact IS NOT NEW.impact OR OLD.impact_score IS NOT NEW.impact_score", [
        _due_from(_MEMBER_ISSUES.format(cluster="NEW.cluster_id")),
        _due_from(_FIRST_LETTER.format(cluster="NEW.cluster_id"))]),
    _trigger("due_brief_gone", "AFTER DELETE ON briefs", [_due_from(_MEMBER_ISSUES.format(cluster="OLD.cluster_id")),
                                                           _due_from(_FIRST_LETTER.format(cluster="OLD.cluster_id")),
                                                           _due("watch", "OLD.cluster_id"), _due("brief", "OLD.cluster_id")]),
]
# the first teller of every cluster, for an archive from before `clusters.first_source`
FIRST_SOURCES = ("UPDATE clusters SET first_source = (SELECT s.source FROM cluster_members m JOIN stories s ON s.id = "
                 "m.story_id JOIN issues i ON i.id = s.issue_id WHERE m.cluster_id = clusters.id ORDER BY "
                 "COALESCE(s.published, i.published, s.updated), s.id LIMIT 1)")


@pulse_migrations()
def m013_due(db: Database) -> None:
    """What each nightly stage still has to look at (`due`, kept by triggers), the count of stories in the
    term statistics, and indexes for the stories not counted yet and the issues by first sight: a night
    reads what changed, not the whole archive. Each stage's first run after this scans the archive once."""
    for sql in _INCREMENTAL:
        db.execute(sql)
    db.execute(FIRST_SOURCES)
    db.execute("INSERT INTO state (name, value) SELECT 'terms_counted', count(*) FROM stories WHERE terms_counted = 1")
    db.conn.executemany("INSERT INTO state (name, value) VALUES (?, 1)", [(f"full:{s}",) for s in DUE_STAGES])


@pulse_migrations()
def m014_member_refs(db: Database) -> None:
    """Each clustered story's terms, figures and turn as the cluster stage read them (`cluster_stage.refs_of`,
    with the version of the code that read them), kept so that a night reads its 14-day window's stories
    instead of reading their texts' terms again."""
    db.execute("ALTER TABLE cluster_members ADD COLUMN refs TEXT")
    # a membership moved or remade is due; its refs kept is not
    db.execute("DROP TRIGGER due_member_moved")
    db.execute(_trigger("due_member_moved", "AFTER UPDATE OF cluster_id, embedded_hash, reason ON cluster_members",
                        _MEMBER_MOVED))


def _step_names() -> tuple[str, ...]:
    """Every step's name, in order: what is pending on an empty database."""
    with Database(memory=True) as empty:
        return tuple(m.name for m in pulse_migrations.pending(empty))


STEPS = _step_names()
SCHEMA_VERSION = len(STEPS)


def applied(db: Database, migration_set: str) -> list[str]:
    """Names of the steps of a migration set recorded in this database, in the order applied."""
    return [m.name for m in Migrations(migration_set).applied(db)]


def _record(db: Database, migration_set: str, name: str) -> None:
    """Record a step as applied, as sqlite-utils' Migrations.apply does."""
    db[Migrations.migrations_table].insert({"migration_set": migration_set, "name": name,
                                            "applied_at": str(datetime.datetime.now(datetime.timezone.utc))})


def _check(done: list[str], version: int) -> None:
    """Refuse an archive made by a newer Pulse: steps this code does not know, or a higher version."""
    unknown = [name for name in done if name not in STEPS]
    if unknown or version > SCHEMA_VERSION or (not done and version > LEGACY_VERSIONS):
        raise SchemaError(f"has schema version {version} ({', '.join(unknown) or 'no named steps'}), newer "
                          f"than this Pulse ({SCHEMA_VERSION}); upgrade Pulse")


def pending(db: Database) -> bool:
    """Whether `upgrade` has work to do (reads only); raises SchemaError for a newer archive."""
    version = db.execute("PRAGMA user_version").fetchone()[0]
    done = applied(db, pulse_migrations.name)
    _check(done, version)
    return len(done) < SCHEMA_VERSION or version != SCHEMA_VERSION


def upgrade(db: Database) -> None:
    """Apply every pending step in one write transaction (all or nothing; a second process waits)."""
    if not pending(db):
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("PRAGMA user_version").fetchone()[0]  # again: another process may have won
        done = applied(db, pulse_migrations.name)
        _check(done, version)
        pulse_migrations.ensure_migrations_table(db)
        if not done:  # an archive from before named steps: its version says which were applied
            for name in STEPS[:version]:
                _record(db, pulse_migrations.name, name)
        pulse_migrations.apply(db)  # each step in a savepoint of this transaction, with its record
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
