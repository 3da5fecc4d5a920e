"""The one place SQL lives: schema, migrations and every read/write of pulse.db.

SQLite through sqlite-utils: WAL, foreign keys, FTS5 over story title+text kept
in sync by triggers (Datasette shows a search box for it). The schema is a list of named, ordered
migration steps in `migrations.py`, applied when a Store opens.
"""
from __future__ import annotations

import bisect
import contextlib
import hashlib
import json
import re
import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from sqlite_utils import Database
from sqlite_utils.db import NotFoundError

from sources.furniture import NOT_NEWS
from sources.models import Issue

from .migrations import SCHEMA_VERSION as SCHEMA_VERSION  # re-exported: doctor, tests
from .migrations import DUE_STAGES, FIRST_SOURCES, SchemaError, upgrade

# a story's date: its own, else its issue's, else when Pulse stored it
STORY_DATE = "COALESCE(s.published, i.published, s.updated)"
# snippets are cut from this many characters at a story's start: FTS5's snippet() over a whole 10 MB
# story runs for minutes, over this prefix it stays small whatever the story's size
SNIPPET_CHARS = 10_000
# how many SQLite VM steps between two looks at a statement's deadline
_DEADLINE_STEPS = 10_000


_NOT_NEWS_SQL = ", ".join(f"'{section}'" for section in NOT_NEWS)
# a story's cluster (m, c) and its brief (b), for search filters on them
FILTER_POOL = 4000  # a filtered keyword search ranks this many matches before it filters them (search_keyword)
_BY_STORY_JOINS = ("LEFT JOIN cluster_members m ON m.story_id = s.id LEFT JOIN clusters c ON c.id = m.cluster_id "
                   "LEFT JOIN briefs b ON b.cluster_id = m.cluster_id ")

class ModelMismatch(Exception):
    """The archive was embedded with another model; mixing them would make scores meaningless."""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def stable_id(*parts: str) -> str:
    return hashlib.sha1("\x00".join(parts).encode("utf-8")).hexdigest()[:16]


def issue_id(source: str, guid: str) -> str:
    return stable_id(source, guid)


def story_id(issue: str, position: int) -> str:
    """Stable across reruns and edits: an edited story keeps its id, its content_hash changes."""
    return stable_id(issue, str(position))


def _story_ids(iid: str, stories: list, old: list[dict[str, Any]]) -> list[str]:
    """An id for each new story: the old story with the same title and text, else the old story at its
    place if that one is not kept, else a fresh id made from its place and content."""
    by_text = {}
    for o in old:
        by_text.setdefault((o["title"], o["dek"], o["text"]), o["id"])
    by_place = {o["position"]: o["id"] for o in old}
    ids: list[str | None] = [by_text.pop((s.title, s.dek, s.text), None) for s in stories]
    taken = {i for i in ids if i}
    for k, story in enumerate(stories):
        if ids[k] is None:
            at_place = by_place.get(story.position)
            plain = story_id(iid, story.position)
            for candidate in (at_place, plain, stable_id(iid, str(story.position), story.content_hash)):
                if candidate and candidate not in taken:
                    ids[k] = candidate
                    break
            taken.add(ids[k])
    return ids


def _in_chunks(values: list[Any], size: int = 500) -> Iterator[tuple[list[Any], str]]:
    """(chunk, "?,?,...") pairs: long IN (...) lists stay under SQLite's bound-parameter limit."""
    for start in range(0, len(values), size):
        chunk = values[start:start + size]
        yield chunk, ",".join("?" * len(chunk))


class Store:
    """A Pulse database file. Open it, use it, close it (or use as a context manager)."""

    def __init__(self, path: str | Path, *, timeout: float = 30.0, check_same_thread: bool = True):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False only for a connection one thread uses and another closes (ThreadStores)
        self._same_thread = check_same_thread
        self._scratch: sqlite3.Connection | None = None
        self._source_names: tuple[tuple[int, int], list[str]] | None = None
        self._deadline: float | None = None  # of the innermost time_limit
        conn = sqlite3.connect(str(self.path), timeout=timeout, check_same_thread=check_same_thread)
        self.db = Database(conn)
        self.db.execute("PRAGMA foreign_keys = ON")
        self.db.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if self.db.journal_mode != "wal":
            self.db.enable_wal()
        self.migrate()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.close()
            self._scratch = None
        self.db.close()

    # ------------------------------------------------------------------ schema
    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> None:
        """Apply the schema steps this archive lacks; an archive from a newer Pulse is refused."""
        try:
            upgrade(self.db)
        except SchemaError as exc:
            raise SchemaError(f"{self.path} {exc}") from None

    # ------------------------------------------------------------------ what the stages have to look at
    def due(self, stage: str) -> list[str]:
        """The keys the triggers of `migrations.m013_due` left for a stage (stories, clusters, issues,
        newsletters), in order."""
        return [r[0] for r in self.db.execute("SELECT key FROM due WHERE stage = ? ORDER BY key", [stage])]

    def clear_due(self, stage: str, keys: list[str] | None = None) -> None:
        """Forget these keys of a stage (None: all of them, with its `full` mark): its work on them is done.
        Call it in the transaction that stores that work."""
        if keys is None:
            self.db.execute("DELETE FROM due WHERE stage = ?", [stage])
            self.db.execute("DELETE FROM state WHERE name = ?", [f"full:{stage}"])
            return
        for chunk, marks in _in_chunks(keys):
            self.db.execute(f"DELETE FROM due WHERE stage = ? AND key IN ({marks})", [stage, *chunk])

    def needs_full(self, stage: str) -> bool:
        """Whether the stage must look at the whole archive once (markers are not known for all of it)."""
        return self.db.execute("SELECT 1 FROM state WHERE name = ?", [f"full:{stage}"]).fetchone() is not None

    def mark_full(self, stage: str) -> None:
        """Make the stage's next run look at the whole archive (a bulk write bypassed its markers)."""
        self.db.execute("INSERT OR IGNORE INTO state (name, value) VALUES (?, 1)", [f"full:{stage}"])

    def state_value(self, name: str) -> Any:
        row = self.db.execute("SELECT value FROM state WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def set_state(self, name: str, value: Any) -> None:
        self.db.execute("INSERT INTO state (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET "
                        "value = excluded.value", [name, value])

    # ------------------------------------------------------------------ sources
    def ensure_source(self, name: str, kind: str, url: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO sources (name, kind, url) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET kind = excluded.kind, url = excluded.url, "
                "etag = CASE WHEN sources.url = excluded.url THEN sources.etag END, "
                "last_modified = CASE WHEN sources.url = excluded.url THEN sources.last_modified END",
                [name, kind, url])

    def source_row(self, name: str) -> dict[str, Any] | None:
        try:
            return self.db["sources"].get(name)
        except NotFoundError:
            return None

    def source_rows(self) -> list[dict[str, Any]]:
        return list(self.db["sources"].rows_where(order_by="name"))

    def source_ok(self, name: str, *, etag: str | None, last_modified: str | None) -> None:
        """Record success; validators are stored only now, after every issue is saved."""
        stamp = now()
        with self.db.atomic():
            self.db["sources"].update(name, {
                "etag": etag, "last_modified": last_modified, "last_attempt": stamp,
                "last_ok": stamp, "consecutive_errors": 0, "last_error": None})

    def source_failed(self, name: str, error: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "UPDATE sources SET last_attempt = ?, consecutive_errors = consecutive_errors + 1, "
                "last_error = ? WHERE name = ?", [now(), error, name])

    def log_fetch(self, source: str, url: str, *, status: int | None = None, attempts: int | None = None,
                  ms: int | None = None, nbytes: int | None = None, error: str | None = None) -> None:
        with self.db.atomic():
            self.db["fetch_log"].insert({"source": source, "url": url, "at": now(), "status": status,
                                         "attempts": attempts, "ms": ms, "bytes": nbytes, "error": error})

    # ------------------------------------------------------------------ issues and stories
    def has_issue_url(self, source: str, url: str) -> bool:
        return self.db.execute("SELECT 1 FROM issues WHERE source = ? AND (url = ? OR guid = ?) LIMIT 1",
                               [source, url, url]).fetchone() is not None

    def entry_hashes(self, source: str) -> dict[str, str]:
        """guid -> entry hash of the source's stored issues (those that have one): what ingest may skip."""
        return dict(self.db.execute("SELECT guid, entry_hash FROM issues WHERE source = ? AND entry_hash "
                                    "IS NOT NULL", [source]).fetchall())

    def save_issue(self, issue: Issue) -> str:
        """Write an issue and its stories in one transaction: 'new', 'updated' or 'unchanged'.

        A story keeps its id while its text stays the same, wherever a new segmentation puts it; an
        edited story keeps the id of the story at its place (`_story_ids`)."""
        iid = issue_id(issue.source, issue.guid)
        row = self.db.execute("SELECT content_hash, entry_hash FROM issues WHERE id = ?", [iid]).fetchone()
        if row is not None and row[0] == issue.content_hash:
            if issue.entry_hash and row[1] != issue.entry_hash:  # same stories from another entry (or code)
                with self.db.atomic():
                    self.db.execute("UPDATE issues SET entry_hash = ? WHERE id = ?", [issue.entry_hash, iid])
            return "unchanged"
        stamp = now()
        published = iso(issue.published)
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO issues (id, source, guid, url, title, published, html, text, content_hash, "
                "entry_hash, first_seen, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET "
                "url=excluded.url, title=excluded.title, published=excluded.published, html=excluded.html, "
                "text=excluded.text, content_hash=excluded.content_hash, entry_hash=excluded.entry_hash, "
                "updated=excluded.updated",
                [iid, issue.source, issue.guid, issue.url, issue.title, published, issue.html, issue.text,
                 issue.content_hash, issue.entry_hash or None, stamp, stamp])
            old = [dict(r) for r in self.db.query(
                "SELECT id, position, title, dek, text, content_hash FROM stories WHERE issue_id = ?", [iid])]
            ids = _story_ids(iid, issue.stories, old)
            gone = [o["id"] for o in old if o["id"] not in set(ids)]
            for chunk, marks in _in_chunks(gone):
                self.db.execute(f"DELETE FROM stories WHERE id IN ({marks})", chunk)
            # Positions may swap between kept stories: park them out of the UNIQUE(issue, position) range.
            self.db.execute("UPDATE stories SET position = -1 - position WHERE issue_id = ?", [iid])
            hashes = {o["id"]: o["content_hash"] for o in old}
            for sid, story in zip(ids, issue.stories):
                if hashes.get(sid) == story.content_hash:
                    self.db.execute("UPDATE stories SET position = ? WHERE id = ?", [story.position, sid])
                    continue
                self.db.execute(
                    "INSERT INTO stories (id, issue_id, source, published, position, section, title, dek, text, "
                    "markdown, content_hash, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE "
                    "SET published=excluded.published, position=excluded.position, section=excluded.section, "
                    "title=excluded.title, dek=excluded.dek, text=excluded.text, markdown=excluded.markdown, "
                    "content_hash=excluded.content_hash, updated=excluded.updated",
                    [sid, iid, issue.source, published, story.position, story.section, story.title, story.dek,
                     story.text, story.markdown, story.content_hash, stamp])
                self.db.execute("DELETE FROM links WHERE story_id = ?", [sid])
                self.db["links"].insert_all(
                    [{"story_id": sid, "position": i, "url": link.url, "text": link.text}
                     for i, link in enumerate(story.links)])
        return "new" if row is None else "updated"

    def stored_issues(self, source: str) -> Iterator[Issue]:
        """A source's issues as stored (no stories): what a re-split needs, without fetching."""
        for r in self.db.query("SELECT guid, url, title, published, html, text FROM issues WHERE source = ? "
                               "ORDER BY published, id", [source]):
            published = datetime.fromisoformat(r["published"]) if r["published"] else None
            yield Issue(source=source, guid=r["guid"], url=r["url"], title=r["title"], published=published,
                        html=r["html"], text=r["text"])

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT count(*) FROM [{table}]").fetchone()[0]

    def counts(self) -> dict[str, int]:
        return {t: self.count(t) for t in ("sources", "issues", "stories", "links")}

    def story(self, sid: str) -> dict[str, Any] | None:
        try:
            row = self.db["stories"].get(sid)
        except NotFoundError:
            return None
        row["links"] = self.story_links(sid)
        return row

    def story_links(self, sid: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query(
            "SELECT url, text FROM links WHERE story_id = ? ORDER BY position", [sid])]

    def iter_stories(self, where: str = "1=1", params: list[Any] | None = None) -> Iterator[dict[str, Any]]:
        yield from self.db.query(f"SELECT * FROM stories WHERE {where} ORDER BY published, issue_id, position",
                                 params or [])

    # ------------------------------------------------------------------ embeddings (llm's layout)
    def collection_id(self, name: str) -> int | None:
        row = self.db.execute("SELECT id FROM collections WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def collection_model(self, name: str) -> str | None:
        """The model a collection's vectors were made with (None: no such collection)."""
        row = self.db.execute("SELECT model FROM collections WHERE name = ?", [name]).fetchone()
        return row[0] if row else None

    def embedding_collection(self, name: str, model: str, *, rebuild: bool = False) -> int:
        """The collection's id; refuses a different model unless rebuild (which drops every vector)."""
        with self.db.atomic():
            row = self.db.execute("SELECT id, model FROM collections WHERE name = ?", [name]).fetchone()
            if row is None:
                return self.db["collections"].insert({"name": name, "model": model}).last_pk
            cid, stored = row
            if stored != model:
                if not rebuild:
                    raise ModelMismatch(f"the archive's {name!r} vectors were made with {stored!r}, not {model!r}; "
                                        f"run `pulse embed --rebuild` to re-embed everything with the new model")
                self.db.execute("UPDATE collections SET model = ? WHERE id = ?", [model, cid])
                self.db.execute("DELETE FROM embeddings WHERE collection_id = ?", [cid])
            elif rebuild:
                self.db.execute("DELETE FROM embeddings WHERE collection_id = ?", [cid])
            return cid

    def stories_for_embedding(self, cid: int, rowids: tuple[int, int] | None = None
                              ) -> list[tuple[str, str, str, bytes | None]]:
        """News stories with their stored embedding's hash (sponsor items and furniture are not news); with
        `rowids` (lo, hi), only the stories stored in rows lo <= rowid < hi."""
        where, params = ("AND s.rowid >= ? AND s.rowid < ? ", [cid, *rowids]) if rowids else ("", [cid])
        return self.db.execute(
            "SELECT s.id, s.title, s.text, e.content_hash FROM stories s LEFT JOIN embeddings e "
            f"ON e.collection_id = ? AND e.id = s.id WHERE s.section NOT IN ({_NOT_NEWS_SQL}) {where}"
            "ORDER BY s.published, s.id", params).fetchall()

    def story_rowids(self) -> tuple[int, int]:
        """(lowest, highest) row number of the stories table ((0, -1) when empty)."""
        lo, hi = self.db.execute("SELECT min(rowid), max(rowid) FROM stories").fetchone()
        return (lo, hi) if lo is not None else (0, -1)

    def story_titles(self, source: str) -> list[tuple[str, str, str, str]]:
        """(story id, issue id, title, section) of every story of a source."""
        return self.db.execute("SELECT id, issue_id, title, section FROM stories WHERE source = ?", [source]).fetchall()

    def mark_furniture(self, story_ids: list[str]) -> list[str]:
        """Move stories to the furniture section, out of news: vectors and cluster places dropped.

        Returns the clusters they left, whose summaries need recomputing."""
        left: set[str] = set()
        with self.db.atomic():
            for chunk, marks in _in_chunks(story_ids):
                self.db.execute(f"UPDATE stories SET section = 'furniture' WHERE id IN ({marks})", chunk)
                self.db.execute(f"DELETE FROM embeddings WHERE id IN ({marks})", chunk)
            left.update(self.drop_memberships(story_ids))
        return sorted(left)

    def save_embeddings(self, cid: int, rows: list[tuple[str, bytes, bytes]]) -> None:
        """Store vectors; their stories are due for clustering, and no longer for embedding."""
        stamp = int(datetime.now(timezone.utc).timestamp())
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO embeddings (collection_id, id, embedding, content_hash, updated) VALUES (?,?,?,?,?) "
                "ON CONFLICT(collection_id, id) DO UPDATE SET embedding = excluded.embedding, "
                "content_hash = excluded.content_hash, updated = excluded.updated",
                [(cid, sid, blob, digest, stamp) for sid, blob, digest in rows])
            self.db.conn.executemany("INSERT OR IGNORE INTO due (stage, key) VALUES ('cluster', ?)",
                                     [(sid,) for sid, _, _ in rows])
            self.clear_due("embed", [sid for sid, _, _ in rows])

    def prune_embeddings(self, cid: int, story_ids: list[str] | None = None) -> int:
        """Drop the vectors of stories that are gone or no longer news: all such, or those of `story_ids`."""
        with self.db.atomic():
            if story_ids is None:
                return self.db.execute("DELETE FROM embeddings WHERE collection_id = ? AND id NOT IN (SELECT id FROM "
                                       f"stories WHERE section NOT IN ({_NOT_NEWS_SQL}))", [cid]).rowcount
            return sum(self.db.execute(f"DELETE FROM embeddings WHERE collection_id = ? AND id IN ({marks})",
                                       [cid, *chunk]).rowcount for chunk, marks in _in_chunks(story_ids))

    def due_for_embedding(self, cid: int) -> tuple[list[tuple[str, str, str, bytes | None]], list[str]]:
        """The stories the embed stage has due (`due`): ([(id, title, text, stored hash)] of the news stories,
        in `stories_for_embedding`'s order, and the ids of those that are gone or no longer news)."""
        rows = self.db.execute(
            "SELECT d.key, s.id, s.title, s.text, e.content_hash, s.section IN (" + _NOT_NEWS_SQL + ") FROM due d "
            "LEFT JOIN stories s ON s.id = d.key LEFT JOIN embeddings e ON e.collection_id = ? AND e.id = d.key "
            "WHERE d.stage = 'embed' ORDER BY s.published, s.id", [cid]).fetchall()
        news = [(sid, title, text, h) for _, sid, title, text, h, not_news in rows if sid is not None and not not_news]
        return news, [key for key, sid, _, _, _, not_news in rows if sid is None or not_news]

    def count_embeddings(self, cid: int) -> int:
        return self.db.execute("SELECT count(*) FROM embeddings WHERE collection_id = ?", [cid]).fetchone()[0]

    def embedding_rows(self, cid: int, ids=None) -> list[tuple[str, bytes]]:
        rows = self.db.execute("SELECT id, embedding FROM embeddings WHERE collection_id = ? ORDER BY id", [cid]).fetchall()
        if ids is not None:
            wanted = set(ids)
            rows = [r for r in rows if r[0] in wanted]
        return rows

    # ------------------------------------------------------------------ clusters and threads
    def _story_rows(self, where: str, params: list[Any], cid: int, *, clustered: bool = False,
                    found: tuple[str, list[Any]] | None = None) -> list[dict[str, Any]]:
        """Stories with their vector, membership and date. `clustered`: only clustered stories, found from their
        clusters; `found`: (a query giving story ids as `id`, its parameters) that finds the candidates by index
        (`_dated`, `due`). Either way the joins run in the order written (CROSS JOIN): left to choose, SQLite
        starts at the collection's vectors and reads them all."""
        cols = (f"SELECT s.id, s.issue_id, s.source, s.title, substr(s.text, 1, 600) AS lead, {STORY_DATE} AS date, "
                "e.embedding, e.content_hash AS embedded_hash, m.cluster_id, m.refs FROM ")
        rest = ("CROSS JOIN issues i ON i.id = s.issue_id CROSS JOIN embeddings e ON e.collection_id = ? AND "
                "e.id = s.id ")
        if clustered:
            sql = f"{cols}cluster_members m CROSS JOIN stories s ON s.id = m.story_id {rest}"
            args = [cid, *params]
        elif found:
            sql = (f"{cols}({found[0]}) f CROSS JOIN stories s ON s.id = f.id {rest}"
                   "LEFT JOIN cluster_members m ON m.story_id = s.id ")
            args = [*found[1], cid, *params]
        else:
            sql = (f"{cols}stories s JOIN issues i ON i.id = s.issue_id JOIN embeddings e ON e.collection_id = ? "
                   "AND e.id = s.id LEFT JOIN cluster_members m ON m.story_id = s.id ")
            args = [cid, *params]
        return [dict(r) for r in self.db.query(f"{sql}WHERE {where} ORDER BY date, s.id", args)]

    @staticmethod
    def _dated(low: str, high: str, lo: str, hi: str) -> tuple[str, list[Any]]:
        """A query for the ids of stories whose date (STORY_DATE) is `low` lo and `high` hi (operators such as
        ">=", "<"), each way a story gets its date by its own index: its own date, else its issue's, else when
        it was stored. The three parts are disjoint."""
        own = f"SELECT id FROM stories WHERE published {low} ? AND published {high} ?"
        issue = ("SELECT s.id FROM issues i CROSS JOIN stories s ON s.issue_id = i.id WHERE i.published "
                 f"{low} ? AND i.published {high} ? AND s.published IS NULL")
        stored = ("SELECT s.id FROM issues i CROSS JOIN stories s ON s.issue_id = i.id WHERE i.published IS NULL "
                  f"AND s.published IS NULL AND s.updated {low} ? AND s.updated {high} ?")
        return f"{own} UNION ALL {issue} UNION ALL {stored}", [lo, hi] * 3

    def stories_to_cluster(self, cid: int, *, everything: bool = False) -> list[dict[str, Any]]:
        """Embedded stories with no cluster yet, or whose text changed since they were clustered: among the
        stories the cluster stage has due (`due`), or with `everything` among all of them."""
        stale = "(m.story_id IS NULL OR m.embedded_hash IS NOT e.content_hash)"
        if everything:
            return self._story_rows(stale, [], cid)
        return self._story_rows(stale, [], cid, found=("SELECT key AS id FROM due WHERE stage = 'cluster'", []))

    def clustered_between(self, cid: int, start: str, end: str) -> list[dict[str, Any]]:
        return self._story_rows(f"m.story_id IS NOT NULL AND {STORY_DATE} BETWEEN ? AND ?", [start, end], cid,
                                found=self._dated(">=", "<=", start, end))

    def clustered_citing(self, cid: int, urls: list[str]) -> list[dict[str, Any]]:
        """Clustered stories, of any date, that link one of these URLs."""
        return [r for chunk, marks in _in_chunks(urls) for r in self._story_rows(
            "m.story_id IS NOT NULL", [], cid,
            found=(f"SELECT DISTINCT story_id AS id FROM links WHERE url IN ({marks})", chunk))]

    def cluster_stories(self, cid: int, cluster_ids: list[str]) -> list[dict[str, Any]]:
        return [r for chunk, marks in _in_chunks(cluster_ids)
                for r in self._story_rows(f"m.cluster_id IN ({marks})", chunk, cid, clustered=True)]

    def links_of(self, story_ids: list[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for chunk, marks in _in_chunks(story_ids):
            for sid, url in self.db.execute(
                    f"SELECT story_id, url FROM links WHERE story_id IN ({marks}) ORDER BY story_id, position", chunk):
                out.setdefault(sid, []).append(url)
        return out

    def link_df(self, urls: list[str]) -> dict[str, int]:
        """How many stories of the whole archive link each URL (generic links are linked by many)."""
        out: dict[str, int] = {}
        for chunk, marks in _in_chunks(urls):
            out.update(self.db.execute(
                f"SELECT url, count(DISTINCT story_id) FROM links WHERE url IN ({marks}) GROUP BY url", chunk).fetchall())
        return out

    def existing_clusters(self, cluster_ids: list[str]) -> set[str]:
        return {r[0] for chunk, marks in _in_chunks(cluster_ids)
                for r in self.db.execute(f"SELECT id FROM clusters WHERE id IN ({marks})", chunk)}

    def cluster_threads(self, cluster_ids: list[str]) -> set[str]:
        """The threads these clusters belong to."""
        return set(self.thread_of(cluster_ids).values())

    def thread_of(self, cluster_ids: list[str]) -> dict[str, str]:
        """Cluster id -> its thread, for those of these clusters that are in one."""
        return {r[0]: r[1] for chunk, marks in _in_chunks(cluster_ids) for r in self.db.execute(
            f"SELECT id, thread_id FROM clusters WHERE id IN ({marks}) AND thread_id IS NOT NULL", chunk)}

    def drop_memberships(self, story_ids: list[str]) -> list[str]:
        """Forget where these stories were clustered; returns the clusters they left."""
        left: set[str] = set()
        for chunk, marks in _in_chunks(story_ids):
            left |= {r[0] for r in self.db.execute(
                f"SELECT DISTINCT cluster_id FROM cluster_members WHERE story_id IN ({marks})", chunk)}
            self.db.execute(f"DELETE FROM cluster_members WHERE story_id IN ({marks})", chunk)
        return sorted(left)

    def set_memberships(self, rows: list[tuple[str, str, bytes, str | None, str | None]]) -> None:
        """(story, cluster, embedded hash, why it joined the cluster or None when it founded it, its refs as the
        cluster stage read them)."""
        self.db.conn.executemany(
            "INSERT INTO cluster_members (story_id, cluster_id, embedded_hash, reason, refs) VALUES (?,?,?,?,?) "
            "ON CONFLICT(story_id) DO UPDATE SET cluster_id = excluded.cluster_id, "
            "embedded_hash = excluded.embedded_hash, reason = excluded.reason, refs = excluded.refs", rows)

    def set_member_refs(self, refs: dict[str, str]) -> None:
        """Keep clustered stories' refs (story id -> refs as the cluster stage encodes them)."""
        self.db.conn.executemany("UPDATE cluster_members SET refs = ? WHERE story_id = ?",
                                 [(r, sid) for sid, r in refs.items()])

    def save_related(self, rows: list[tuple[str, str, str]]) -> None:
        """(story, an earlier story it is related to but not the same news as, why); replaces the story's."""
        for chunk, marks in _in_chunks(sorted({r[0] for r in rows})):
            self.db.execute(f"DELETE FROM related WHERE story_id IN ({marks})", chunk)
        self.db.conn.executemany("INSERT OR REPLACE INTO related (story_id, other_id, reason) VALUES (?,?,?)", rows)

    def related_to(self, sid: str) -> list[dict[str, Any]]:
        """Stories related to this one (either direction), with why, oldest first."""
        return [dict(r) for r in self.db.query(
            f"SELECT s.id AS story_id, s.title, s.source, {STORY_DATE} AS date, r.reason FROM related r "
            "JOIN stories s ON s.id = CASE WHEN r.story_id = ? THEN r.other_id ELSE r.story_id END "
            "JOIN issues i ON i.id = s.issue_id WHERE r.story_id = ? OR r.other_id = ? ORDER BY date, s.id",
            [sid, sid, sid])]

    def membership_reason(self, sid: str) -> str | None:
        row = self.db.execute("SELECT reason FROM cluster_members WHERE story_id = ?", [sid]).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ term statistics
    def uncounted_stories(self, not_news: tuple[str, ...]) -> list[dict[str, Any]]:
        """News stories whose terms are not in the archive's term statistics yet."""
        marks = ",".join("?" * len(not_news))
        return [dict(r) for r in self.db.query(  # the partial index holds only the stories not counted
            f"SELECT id, title, text FROM stories INDEXED BY stories_uncounted WHERE terms_counted = 0 AND section "
            f"NOT IN ({marks}) ORDER BY id", list(not_news))]

    def add_term_counts(self, story_ids: list[str], df: dict[str, int], upper: dict[str, int],
                        seen: dict[str, int]) -> None:
        """Add counts to the term statistics and mark the stories counted."""
        keys = set(df) | set(seen)
        self.db.conn.executemany(
            "INSERT INTO terms (term, df, upper, seen) VALUES (?,?,?,?) ON CONFLICT(term) DO UPDATE SET "
            "df = df + excluded.df, upper = upper + excluded.upper, seen = seen + excluded.seen",
            [(k, df.get(k, 0), upper.get(k, 0), seen.get(k, 0)) for k in sorted(keys)])
        for chunk, marks in _in_chunks(story_ids):
            self.db.execute(f"UPDATE stories SET terms_counted = 1 WHERE id IN ({marks})", chunk)

    def term_counts(self, terms: list[str]) -> tuple[int, dict[str, tuple[int, int, int]]]:
        """(stories counted, term -> (df, upper, seen)) for these terms."""
        return self.counted_stories(), self.term_rows(terms)

    def counted_stories(self) -> int:
        """How many stories the term statistics count (kept by triggers: no scan of the stories)."""
        return self.db.execute("SELECT value FROM state WHERE name = 'terms_counted'").fetchone()[0]

    def term_rows(self, terms: list[str]) -> dict[str, tuple[int, int, int]]:
        """term -> (df, upper, seen) for these terms (no count of the stories: that one reads them all)."""
        out: dict[str, tuple[int, int, int]] = {}
        for chunk, marks in _in_chunks(terms):
            for t, d, u, n in self.db.execute(f"SELECT term, df, upper, seen FROM terms WHERE term IN ({marks})", chunk):
                out[t] = (d, u, n)
        return out

    def save_cluster(self, cid: str, *, title: str, first_date: str, last_date: str, size: int, sources: int,
                     centroid: bytes, subject: str | None = None, terms: str | None = None,
                     first_source: str | None = None) -> None:
        """`terms`: the cluster's terms as `pipeline.cluster_stage` encodes them (None: not known);
        `first_source`: the newsletter that told it first (`first_sources`)."""
        self.db.execute(
            "INSERT INTO clusters (id, title, first_date, last_date, size, sources, centroid, subject, terms, "
            "first_source) VALUES (?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET title = excluded.title, "
            "first_date = excluded.first_date, last_date = excluded.last_date, size = excluded.size, "
            "sources = excluded.sources, centroid = excluded.centroid, subject = excluded.subject, "
            "terms = excluded.terms, first_source = excluded.first_source",
            [cid, title, first_date, last_date, size, sources, centroid, subject, terms, first_source])

    def first_sources(self, cluster_ids: list[str]) -> dict[str, str]:
        """The newsletter of each cluster's first story (by date, then id; every member, with a vector or not)."""
        out: dict[str, tuple[str, str, str]] = {}
        for chunk, marks in _in_chunks(cluster_ids):
            for c, date, sid, source in self.db.execute(
                    f"SELECT m.cluster_id, {STORY_DATE}, s.id, s.source FROM cluster_members m CROSS JOIN stories s "
                    f"ON s.id = m.story_id CROSS JOIN issues i ON i.id = s.issue_id WHERE m.cluster_id IN ({marks})",
                    chunk):
                if c not in out or (date, sid) < out[c][:2]:
                    out[c] = (date, sid, source)
        return {c: v[2] for c, v in out.items()}

    def recount(self) -> None:
        """After a bulk write that went around the triggers (`bench/scale_archive.py`): the counted stories and
        the clusters' first tellers again, and every stage's next run looks at the whole archive."""
        with self.db.atomic():
            self.set_state("terms_counted", self.db.execute(
                "SELECT count(*) FROM stories WHERE terms_counted = 1").fetchone()[0])
            self.db.execute(FIRST_SOURCES)
            for stage in DUE_STAGES:
                self.mark_full(stage)

    def set_cluster_terms(self, terms: dict[str, str]) -> None:
        self.db.conn.executemany("UPDATE clusters SET terms = ? WHERE id = ?", [(t, c) for c, t in terms.items()])

    def clusters_out_of_date(self, *, everything: bool = False) -> list[str]:
        """Clusters whose stored size no longer counts their members (stories deleted or re-split since):
        among those that lost or gained a member since the cluster stage last ran (`due`), or with
        `everything` among all of them."""
        if everything:
            return [r[0] for r in self.db.execute(
                "SELECT c.id FROM clusters c LEFT JOIN (SELECT cluster_id, count(*) AS n FROM cluster_members "
                "GROUP BY cluster_id) m ON m.cluster_id = c.id WHERE coalesce(m.n, 0) != c.size ORDER BY c.id")]
        return [r[0] for r in self.db.execute(
            "SELECT c.id FROM due d CROSS JOIN clusters c ON c.id = d.key WHERE d.stage = 'stale' AND c.size != "
            "(SELECT count(*) FROM cluster_members m WHERE m.cluster_id = c.id) ORDER BY c.id")]

    def delete_cluster(self, cid: str) -> None:
        self.db.execute("DELETE FROM clusters WHERE id = ?", [cid])

    def clusters_since(self, date: str, open_since: str | None = None) -> list[dict[str, Any]]:
        """Clusters in a thread whose newest story is from `date` on, by that date (then row); `open_since`:
        only those of threads with a cluster whose newest story is from then on (threads still open). Without
        their terms, which thread attachment reads for the new clusters only."""
        open_ = ("AND c.thread_id IN (SELECT thread_id FROM clusters WHERE last_date >= ? AND thread_id IS NOT NULL) "
                 if open_since else "")
        return [dict(r) for r in self.db.query(
            "SELECT c.id, c.thread_id, c.first_date, c.last_date, c.centroid, c.subject, "
            "t.subject AS thread_subject FROM clusters c INDEXED BY clusters_last LEFT JOIN threads t ON t.id = "
            f"c.thread_id WHERE c.last_date >= ? AND c.thread_id IS NOT NULL {open_}ORDER BY c.last_date, c.rowid",
            [date, *([open_since] if open_since else [])])]

    def clusters_citing(self, urls: list[str]) -> dict[str, set[str]]:
        """cluster id -> which of these URLs its stories link."""
        return self._cluster_urls("SELECT m.cluster_id, l.url FROM links l CROSS JOIN cluster_members m "
                                  "ON m.story_id = l.story_id WHERE l.url IN ({marks})", urls)

    def _cluster_urls(self, sql: str, keys: list[str]) -> dict[str, set[str]]:
        """cluster id -> URLs, from `sql` (see `_by_cluster`)."""
        return {c: {url for (url,) in rows} for c, rows in self._by_cluster(sql, keys).items()}

    def _by_cluster(self, sql: str, keys: list[str]) -> dict[str, list[tuple[Any, ...]]]:
        """`sql` (a cluster id, then the values wanted; `{marks}` for the placeholders of `keys`) run over `keys`
        in chunks: cluster id -> its rows' values, in the order read."""
        out: dict[str, list[tuple[Any, ...]]] = {}
        for chunk, marks in _in_chunks(keys):
            for c, *rest in self.db.execute(sql.format(marks=marks), chunk):
                out.setdefault(c, []).append(tuple(rest))
        return out

    def unnamed_clusters(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM clusters INDEXED BY clusters_unnamed WHERE subject IS "
                                              "NULL ORDER BY id")]

    def all_clusters(self) -> list[dict[str, Any]]:
        """Every cluster, oldest first, with what thread attachment needs (for `pulse rethread`)."""
        return [dict(r) for r in self.db.query(
            "SELECT id, thread_id, first_date, last_date, centroid, subject, terms FROM clusters "
            "ORDER BY first_date, id")]

    def cluster_terms_text(self, cluster_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
        """(title, lead) of each cluster's stories: what its terms are read from."""
        return self._by_cluster("SELECT m.cluster_id, s.title, substr(s.text, 1, 600) FROM cluster_members m "
                                "JOIN stories s ON s.id = m.story_id WHERE m.cluster_id IN ({marks})", cluster_ids)

    def clear_threads(self) -> None:
        """Forget every thread (clusters stay): `pulse rethread` builds them again."""
        self.db.execute("UPDATE clusters SET thread_id = NULL")
        self.db.execute("DELETE FROM threads")

    def thread_subject(self, thread_id: str) -> str | None:
        row = self.db.execute("SELECT subject FROM threads WHERE id = ?", [thread_id]).fetchone()
        return row[0] if row else None

    def set_thread_subjects(self, subjects: dict[str, str]) -> None:
        self.db.conn.executemany("UPDATE threads SET subject = ? WHERE id = ?",
                                 [(s, t) for t, s in subjects.items()])

    def cluster_links(self, cluster_ids: list[str]) -> dict[str, set[str]]:
        """cluster id -> the URLs its stories link."""
        return self._cluster_urls("SELECT m.cluster_id, l.url FROM cluster_members m JOIN links l "
                                  "ON l.story_id = m.story_id WHERE m.cluster_id IN ({marks})", cluster_ids)

    def set_thread(self, cluster_id: str, thread_id: str) -> None:
        self.db.execute("UPDATE clusters SET thread_id = ? WHERE id = ?", [thread_id, cluster_id])

    def refresh_threads(self, thread_ids: list[str]) -> None:
        """A thread's dates span its clusters; its title is its first cluster's."""
        for tid in thread_ids:
            rows = self.db.execute("SELECT title, first_date, last_date FROM clusters WHERE thread_id = ? "
                                   "ORDER BY first_date, id", [tid]).fetchall()
            if not rows:
                self.db.execute("DELETE FROM threads WHERE id = ?", [tid])
                continue
            self.db.execute(
                "INSERT INTO threads (id, title, first_date, last_date) VALUES (?,?,?,?) ON CONFLICT(id) DO UPDATE "
                "SET title = excluded.title, first_date = excluded.first_date, last_date = excluded.last_date",
                [tid, rows[0][0], min(r[1] for r in rows), max(r[2] for r in rows)])

    def story_card(self, sid: str) -> dict[str, Any] | None:
        """A story with its issue, cluster and thread: what `pulse story` shows. Accepts a unique id prefix."""
        # ids are lowercase hex: a range over the primary key finds the prefix without a full scan
        sid = sid.lower()
        rows = self.db.execute("SELECT id FROM stories WHERE id >= ? AND id < ? LIMIT 2",
                               [sid, sid + "\U0010ffff"]).fetchall()
        if len(rows) != 1:
            return None
        row = self.db.query(
            f"SELECT s.id, s.title, s.source, s.issue_id, i.title AS issue_title, i.url AS issue_url, "
            f"{STORY_DATE} AS date, s.section, s.dek, s.text, m.cluster_id, c.thread_id, c.size AS cluster_size, "
            "c.subject AS cluster_subject, t.subject AS thread_subject "
            "FROM stories s JOIN issues i ON i.id = s.issue_id LEFT JOIN cluster_members m ON m.story_id = s.id "
            "LEFT JOIN clusters c ON c.id = m.cluster_id LEFT JOIN threads t ON t.id = c.thread_id "
            "WHERE s.id = ?", [rows[0][0]])
        card = dict(next(iter(row)))
        card["links"] = self.story_links(card["id"])
        return card

    def related_stories(self, cluster_id: str | None, thread_id: str | None) -> list[dict[str, Any]]:
        """Every story in the cluster or its thread, oldest first, with how it is related."""
        if not cluster_id:
            return []
        return [dict(r) for r in self.db.query(
            f"SELECT s.id AS story_id, s.title, s.source, s.issue_id, i.title AS issue_title, {STORY_DATE} AS date, "
            "m.cluster_id, CASE WHEN m.cluster_id = ? THEN 'cluster' ELSE 'thread' END AS relation "
            "FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id JOIN stories s ON s.id = m.story_id "
            "JOIN issues i ON i.id = s.issue_id WHERE m.cluster_id = ? OR (c.thread_id IS NOT NULL AND c.thread_id = ?) "
            "ORDER BY date, s.id", [cluster_id, cluster_id, thread_id])]

    def thread_rows(self, since: str | None = None, min_stories: int = 2) -> list[dict[str, Any]]:
        where = "WHERE t.last_date >= ?" if since else ""
        return [dict(r) for r in self.db.query(
            "SELECT t.id, t.title, t.subject, t.first_date, t.last_date, count(DISTINCT c.id) AS clusters, "
            "sum(c.size) AS stories, (SELECT count(DISTINCT s.source) FROM cluster_members m2 JOIN stories s "
            "ON s.id = m2.story_id JOIN clusters c2 ON c2.id = m2.cluster_id WHERE c2.thread_id = t.id) AS sources "
            f"FROM threads t JOIN clusters c ON c.thread_id = t.id {where} GROUP BY t.id "
            f"HAVING sum(c.size) >= ? ORDER BY t.last_date DESC, t.id", [*([since] if since else []), min_stories])]

    def stored_terms(self, cluster_ids: list[str]) -> dict[str, str | None]:
        """Each cluster's terms as the cluster stage stored them (`cluster_stage.encode_terms`)."""
        return {r[0]: r[1] for chunk, marks in _in_chunks(cluster_ids)
                for r in self.db.execute(f"SELECT id, terms FROM clusters WHERE id IN ({marks})", chunk)}

    def thread_clusters(self, thread_id: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query(
            "SELECT id, title, subject, first_date, last_date, size, sources FROM clusters WHERE thread_id = ? "
            "ORDER BY first_date, id", [thread_id])]

    def newest_story_date(self) -> str | None:
        return self.db.execute(f"SELECT max({STORY_DATE}) FROM stories s JOIN issues i ON i.id = s.issue_id").fetchone()[0]

    # ------------------------------------------------------------------ newsletters and issues
    def newsletter(self, name: str) -> dict[str, Any] | None:
        """A source with its issue and story counts and the span of its issues."""
        row = self.db.execute("SELECT s.name, s.kind, s.url, count(DISTINCT i.id), min(i.published), max(i.published) "
                              "FROM sources s LEFT JOIN issues i ON i.source = s.name WHERE s.name = ? GROUP BY s.name",
                              [name]).fetchone()
        if row is None or row[0] is None:
            return None
        stories = self.db.execute(f"SELECT count(*) FROM stories WHERE source = ? AND section NOT IN ({_NOT_NEWS_SQL})",
                                  [name]).fetchone()[0]
        return {"name": row[0], "kind": row[1], "url": row[2], "issues": row[3], "first": row[4], "last": row[5],
                "stories": stories}

    def newsletter_issues(self, name: str) -> list[dict[str, Any]]:
        """A newsletter's issues, latest first, with their news story counts."""
        return [dict(r) for r in self.db.query(
            "SELECT i.id, i.title, i.url, i.published, i.first_seen, (SELECT count(*) FROM stories s WHERE s.issue_id = "
            f"i.id AND s.section NOT IN ({_NOT_NEWS_SQL})) AS stories FROM issues i WHERE i.source = ? "
            "ORDER BY COALESCE(i.published, i.first_seen) DESC, i.id", [name])]

    def first_tellings(self, name: str, limit: int = 20) -> tuple[int, list[dict[str, Any]]]:
        """Stories several newsletters told where this one told it first: how many, and the latest `limit`
        ({cluster_id, title, date, sources, slug})."""
        return self.all_first_tellings(limit, name).get(name, (0, []))

    def all_first_tellings(self, limit: int = 20, name: str | None = None
                           ) -> dict[str, tuple[int, list[dict[str, Any]]]]:
        """`first_tellings` of every newsletter (or of `name`), found in one pass over the clusters several
        newsletters told (each cluster's first story by date, then id)."""
        # each cluster's first teller is kept with it (`first_sources`, indexed where several told it)
        rows = self.db.query(
            "SELECT c.first_source AS source, c.id AS cluster_id, c.title, c.first_date AS date, c.sources, b.slug "
            "FROM clusters c INDEXED BY clusters_first_told CROSS JOIN briefs b ON b.cluster_id = c.id WHERE "
            "c.sources >= 2 AND c.first_source IS NOT NULL" + (" AND c.first_source = ?" if name else "")
            + " ORDER BY date DESC, cluster_id", [name] if name else [])
        out: dict[str, tuple[int, list[dict[str, Any]]]] = {}
        for r in rows:
            count, latest = out.get(r["source"], (0, []))
            if len(latest) < limit:
                latest.append({k: r[k] for k in ("cluster_id", "title", "date", "sources", "slug")})
            out[r["source"]] = (count + 1, latest)
        return out

    def issue(self, issue_id: str) -> dict[str, Any] | None:
        return self.issues_by_id([issue_id]).get(issue_id)

    def issues_by_id(self, issue_ids: list[str]) -> dict[str, dict[str, Any]]:
        cols = ("id", "source", "title", "url", "published", "first_seen")
        return {r[0]: dict(zip(cols, r)) for chunk, marks in _in_chunks(issue_ids) for r in self.db.execute(
            f"SELECT {', '.join(cols)} FROM issues WHERE id IN ({marks})", chunk)}

    def issues_with_prefix(self, prefix: str) -> list[tuple[str, str]]:
        """(id, title) of the issues whose id starts with `prefix` (ids are hex: a range of the key)."""
        return self.db.execute("SELECT id, title FROM issues WHERE id >= ? AND id < ?", [prefix, f"{prefix}~"]).fetchall()

    def issue_stories(self, issue_id: str) -> list[dict[str, Any]]:
        """An issue's stories in order, each with its cluster's brief (slug, impact, kind) and how many
        newsletters told it."""
        return self.stories_of_issues([issue_id]).get(issue_id, [])

    def stories_of_issues(self, issue_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        """`issue_stories` of many issues in one read per chunk (the nightly pages)."""
        out: dict[str, list[dict[str, Any]]] = {}
        for chunk, marks in _in_chunks(issue_ids):
            for r in self.db.query(
                    "SELECT s.issue_id, s.id, s.title, s.section, s.position, m.cluster_id, c.sources, c.thread_id, "
                    "b.slug, b.impact, b.impact_score, b.kind FROM stories s LEFT JOIN cluster_members m ON "
                    "m.story_id = s.id LEFT JOIN clusters c ON c.id = m.cluster_id LEFT JOIN briefs b ON "
                    f"b.cluster_id = m.cluster_id WHERE s.issue_id IN ({marks}) ORDER BY s.issue_id, s.position",
                    chunk):
                out.setdefault(r.pop("issue_id"), []).append(r)
        return out

    def issue_ids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT id FROM issues ORDER BY id")]

    # ------------------------------------------------------------------ watch-for items
    def watch_pending(self) -> list[str]:
        """Clusters whose brief the watch stage has not read in its present version (new or rewritten): among
        the briefs written or removed since it last ran (`due`), or every brief the first time."""
        if self.needs_full("watch"):
            return [r[0] for r in self.db.execute(
                "SELECT b.cluster_id FROM briefs b LEFT JOIN watch_seen w ON w.cluster_id = b.cluster_id "
                "WHERE w.input_hash IS NULL OR w.input_hash != b.input_hash ORDER BY 1")]
        return [r[0] for r in self.db.execute(
            "SELECT b.cluster_id FROM due d CROSS JOIN briefs b ON b.cluster_id = d.key LEFT JOIN watch_seen w ON "
            "w.cluster_id = b.cluster_id WHERE d.stage = 'watch' AND (w.input_hash IS NULL OR w.input_hash != "
            "b.input_hash) ORDER BY 1")]

    def mark_watch_seen(self, cluster_ids: list[str]) -> None:
        """The watch stage has read these briefs; it forgets those that are gone, and has nothing left due."""
        with self.db.atomic():
            for chunk, marks in _in_chunks(cluster_ids):
                self.db.execute("INSERT INTO watch_seen (cluster_id, input_hash) SELECT cluster_id, input_hash FROM "
                                f"briefs WHERE cluster_id IN ({marks}) ON CONFLICT(cluster_id) DO UPDATE SET "
                                "input_hash = excluded.input_hash", chunk)
            if self.needs_full("watch"):
                self.db.execute("DELETE FROM watch_seen WHERE cluster_id NOT IN (SELECT cluster_id FROM briefs)")
            else:
                self.db.execute("DELETE FROM watch_seen WHERE cluster_id IN (SELECT key FROM due WHERE stage = "
                                "'watch') AND cluster_id NOT IN (SELECT cluster_id FROM briefs)")
            self.clear_due("watch")

    def replace_watch_items(self, cluster_ids: list[str], rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        """Replace these clusters' items with `rows` and drop the items of clusters that are gone. Returns the
        items these clusters (or gone ones) had resolved, to be checked again, and the clusters that had
        resolved the replaced items (their pages change)."""
        reopened: list[str] = []
        resolvers: set[str] = set()
        with self.db.atomic():
            for chunk, marks in _in_chunks(cluster_ids):
                resolvers |= {r[0] for r in self.db.execute(
                    f"SELECT resolved_cluster FROM watch WHERE cluster_id IN ({marks}) AND resolved_cluster IS NOT NULL",
                    chunk)}
                self.db.execute(f"DELETE FROM watch WHERE cluster_id IN ({marks})", chunk)
                reopened += [r[0] for r in self.db.execute(
                    f"SELECT id FROM watch WHERE resolved_cluster IN ({marks})", chunk)]
            self.db.execute("DELETE FROM watch WHERE cluster_id NOT IN (SELECT id FROM clusters)")
            reopened += [r[0] for r in self.db.execute(
                "SELECT id FROM watch WHERE resolved_cluster IS NOT NULL AND resolved_cluster NOT IN "
                "(SELECT id FROM clusters)")]
            self.db.conn.executemany(
                "INSERT INTO watch (id, cluster_id, event, subject, text, opened, since, expires, actor, sources) VALUES "
                "(:id, :cluster_id, :event, :subject, :text, :opened, :since, :expires, :actor, :sources)", rows)
        return sorted(set(reopened)), sorted(resolvers)

    def set_watch_resolutions(self, updates: list[tuple[str, dict[str, Any] | None]]) -> None:
        """Record the story that resolved each item, or none."""
        with self.db.atomic():
            self.db.conn.executemany(
                "UPDATE watch SET resolved_story = ?, resolved_cluster = ?, resolved_date = ?, resolved_source = ?, "
                "resolved_title = ?, evidence = ? WHERE id = ?",
                [(*((f["story_id"], f["cluster_id"], f["date"], f["source"], f["title"], f["evidence"]) if f else
                    (None,) * 6), item_id) for item_id, f in updates])

    def watch_subjects(self) -> list[dict[str, Any]]:
        """Every item with a subject: id, subject, since, expires and when it was resolved (if it was)."""
        return [dict(r) for r in self.db.query("SELECT id, subject, since, expires, resolved_date FROM watch "
                                               "WHERE subject != ''")]

    def watch_items(self, *, ids: list[str] | None = None, clusters: list[str] | None = None,
                    resolved_by: list[str] | None = None, opened: tuple[str, str] | None = None,
                    resolved: tuple[str, str] | None = None, expiring: tuple[str, str] | None = None) -> list[dict[str, Any]]:
        """Watch-for items with their brief's slug, title and impact (and the resolving brief's slug):
        by id, by the cluster that opened them or resolved them, or opened / resolved / expiring in a
        [start, end) window of dates. Oldest first."""
        base = ("SELECT w.*, b.slug, b.impact, b.impact_score, c.title, c.thread_id, rb.slug AS resolved_slug "
                "FROM watch w JOIN briefs b ON b.cluster_id = w.cluster_id JOIN clusters c ON c.id = w.cluster_id "
                "LEFT JOIN briefs rb ON rb.cluster_id = w.resolved_cluster")
        where, params = [], []
        for column, values in (("w.id", ids), ("w.cluster_id", clusters), ("w.resolved_cluster", resolved_by)):
            if values is not None:
                where.append(f"{column} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(values))
        for column, window in (("w.opened", opened), ("w.resolved_date", resolved), ("w.expires", expiring)):
            if window:
                where.append(f"{column} >= ? AND {column} < ?")
                params += list(window)
        sql = base + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY w.opened, w.id"
        return [dict(r) for r in self.db.query(sql, params)]

    def watch_threads(self, thread_ids: list[str]) -> list[dict[str, Any]]:
        """Items opened by the clusters of these threads."""
        clusters = [r[0] for chunk, marks in _in_chunks(thread_ids) for r in self.db.execute(
            f"SELECT id FROM clusters WHERE thread_id IN ({marks})", chunk)]
        return self.watch_items(clusters=clusters)

    def cluster_member_titles(self, cluster_ids: list[str]) -> dict[str, list[dict[str, str]]]:
        """Each cluster's news headlines with their publication dates."""
        out: dict[str, list[dict[str, str]]] = {}
        for chunk, marks in _in_chunks(cluster_ids):
            for r in self.db.execute(
                    f"SELECT m.cluster_id, s.title, {STORY_DATE} FROM cluster_members m JOIN stories s ON s.id = "
                    f"m.story_id JOIN issues i ON i.id = s.issue_id WHERE m.cluster_id IN ({marks}) AND s.section NOT IN "
                    f"({_NOT_NEWS_SQL}) ORDER BY 3, s.id", chunk):
                out.setdefault(r[0], []).append({"title": r[1], "date": r[2]})
        return out

    def cluster_stories_between(self, cluster_id: str, after: str, until: str) -> list[dict[str, Any]]:
        """The cluster's stories published after `after` and by `until`, oldest first."""
        return [dict(r) for r in self.db.query(
            f"SELECT s.id AS story_id, s.title, s.source, {STORY_DATE} AS date FROM cluster_members m JOIN stories s "
            f"ON s.id = m.story_id JOIN issues i ON i.id = s.issue_id WHERE m.cluster_id = ? AND {STORY_DATE} > ? "
            f"AND {STORY_DATE} <= ? ORDER BY date, s.id", [cluster_id, after, until])]

    def title_mentions(self, phrase: str, after: str, until: str, limit: int = 200) -> list[dict[str, Any]]:
        """News stories published after `after` and by `until` whose headline names `phrase`, oldest first:
        {story_id, title, source, date, cluster_id}."""
        words = re.findall(r"\w+", phrase)
        if not words:
            return []
        return [dict(r) for r in self.db.query(
            f"SELECT s.id AS story_id, s.title, s.source, {STORY_DATE} AS date, m.cluster_id FROM stories_fts JOIN "
            "stories s ON s.rowid = stories_fts.rowid JOIN issues i ON i.id = s.issue_id LEFT JOIN cluster_members m "
            f"ON m.story_id = s.id WHERE stories_fts MATCH ? AND {STORY_DATE} > ? AND {STORY_DATE} <= ? AND "
            f"s.section NOT IN ({_NOT_NEWS_SQL}) ORDER BY date, s.id LIMIT ?",
            ['title : "' + " ".join(words) + '"', after, until, limit])]

    # ------------------------------------------------------------------ briefs and digests
    def brief_signatures(self, cluster_ids: list[str] | None = None) -> dict[str, tuple[str, str | None, str]]:
        """Per cluster (of `cluster_ids`, or every one), (digest, thread id, newest story date): the digest of its
        stories (ids and text hashes) and of its thread's stories published by its newest story (ids, clusters
        and text hashes, in the order a brief reads them). A brief is written as of its cluster's newest story,
        so a thread story published later (a cluster of the thread that grew tonight) leaves it alone; what it
        cites from later (counter-evidence) is `contrary_later`'s."""
        if cluster_ids is None:
            members = dict(self.db.execute(
                "SELECT m.cluster_id, group_concat(s.id || ':' || s.content_hash, ',') FROM "
                "(SELECT * FROM cluster_members ORDER BY story_id) m JOIN stories s ON s.id = m.story_id "
                "GROUP BY m.cluster_id").fetchall())
            clusters = self.db.execute("SELECT id, thread_id, last_date FROM clusters").fetchall()
        else:
            members = self._member_digests(cluster_ids)
            clusters = [r for chunk, marks in _in_chunks(cluster_ids) for r in self.db.execute(
                f"SELECT id, thread_id, last_date FROM clusters WHERE id IN ({marks})", chunk)]
        threads = sorted({tid for _, tid, _ in clusters if tid}) if cluster_ids is not None else None
        dates, prefixes = self._thread_prefixes(threads)
        out: dict[str, tuple[str, str | None, str]] = {}
        for cid, tid, last in clusters:
            if m := members.get(cid):
                cut = bisect.bisect_right(dates.get(tid, []), last) if tid else 0
                prefix = prefixes[tid][cut - 1] if cut else ""
                out[cid] = (hashlib.sha1(f"{m}|{prefix}".encode()).hexdigest(), tid, last)
        return out

    def _member_digests(self, cluster_ids: list[str]) -> dict[str, str]:
        """Each cluster's stories as `brief_signatures` sums them: id:hash, by story id, comma-joined."""
        found = self._by_cluster("SELECT m.cluster_id, s.id, s.content_hash FROM cluster_members m CROSS JOIN "
                                 "stories s ON s.id = m.story_id WHERE m.cluster_id IN ({marks})", cluster_ids)
        return {c: ",".join(f"{sid}:{h}" for sid, h in sorted(rows)) for c, rows in found.items()}

    def _thread_prefixes(self, thread_ids: list[str] | None) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Each thread's (of these, or every one) stories as `thread_members` reads them (by date, then id): their
        dates, and the running digest after each."""
        dates: dict[str, list[str]] = {}
        prefixes: dict[str, list[str]] = {}
        running: dict[str, Any] = {}
        sql = (f"SELECT c.thread_id, {STORY_DATE} AS date, s.id, m.cluster_id, s.content_hash FROM clusters c "
               "CROSS JOIN cluster_members m ON m.cluster_id = c.id CROSS JOIN stories s ON s.id = m.story_id "
               "CROSS JOIN issues i ON i.id = s.issue_id WHERE c.thread_id {where} ORDER BY c.thread_id, date, s.id")
        parts = ([(sql.format(where="IS NOT NULL"), [])] if thread_ids is None else
                 [(sql.format(where=f"IN ({marks})"), chunk) for chunk, marks in _in_chunks(thread_ids)])
        for query, args in parts:
            for tid, date, sid, cid, digest in self.db.execute(query, args):
                h = running.setdefault(tid, hashlib.sha1())
                h.update(f"{sid}:{cid}:{digest},".encode())
                dates.setdefault(tid, []).append(date)
                prefixes.setdefault(tid, []).append(h.hexdigest())
        return dates, prefixes

    def brief_scope(self, cluster_ids: list[str]) -> tuple[list[str], list[str]]:
        """(the clusters whose brief may have changed, those of them that are gone) when these are due. A brief
        hashes its stories, its thread's stories up to its newest one and the later ones that cut against its
        claim, so in each thread of a due cluster: every cluster, where a story left or changed (`due` rows
        'thread') or one that joined cuts against a claim (or has no mark); else the clusters whose newest
        story is no older than the first story that joined (`due` rows 'joined')."""
        found: dict[str, tuple[str | None, str]] = {}
        for chunk, marks in _in_chunks(cluster_ids):
            found.update({r[0]: (r[1], r[2]) for r in self.db.execute(
                f"SELECT id, thread_id, last_date FROM clusters WHERE id IN ({marks})", chunk)})
        whole = {r[0] for r in self.db.execute(
            "SELECT c.thread_id FROM due d CROSS JOIN clusters c ON c.id = d.key WHERE d.stage = 'thread' "
            "AND c.thread_id IS NOT NULL")}
        since: dict[str, str] = {}  # thread -> the oldest date a story joined it
        for tid, date, contrary in self.db.execute(
                f"SELECT c.thread_id, {STORY_DATE}, k.contrary FROM due d CROSS JOIN cluster_members m ON m.story_id "
                "= d.key CROSS JOIN clusters c ON c.id = m.cluster_id CROSS JOIN stories s ON s.id = d.key CROSS JOIN "
                "issues i ON i.id = s.issue_id LEFT JOIN story_marks k ON k.story_id = s.id AND k.content_hash = "
                "s.content_hash WHERE d.stage = 'joined' AND c.thread_id IS NOT NULL"):
            if contrary is None or contrary:
                whole.add(tid)
            elif tid not in since or date < since[tid]:
                since[tid] = date
        scope = set(found)
        for tid in sorted({t for t, _ in found.values() if t}):
            rows = self.db.execute("SELECT id, last_date FROM clusters WHERE thread_id = ?", [tid]).fetchall()
            scope |= {c for c, last in rows if tid in whole or (tid in since and last >= since[tid])}
        return sorted(scope), sorted(set(cluster_ids) - set(found))

    def contrary_later(self, thread_ids: list[str] | None = None) -> dict[str, list[tuple[str, str, str, str]]]:
        """Per thread (of these, or every one), its stories marked as cutting against a claim (`story_marks`),
        oldest first, as (date, story id, title, text)."""
        out: dict[str, list[tuple[str, str, str, str]]] = {}
        if thread_ids is None:
            parts = [(f"SELECT c.thread_id, {STORY_DATE} AS date, s.id, s.title, s.text FROM story_marks k JOIN "
                      "stories s ON s.id = k.story_id AND s.content_hash = k.content_hash JOIN issues i ON i.id = "
                      "s.issue_id JOIN cluster_members m ON m.story_id = s.id JOIN clusters c ON c.id = m.cluster_id "
                      "WHERE k.contrary = 1 AND c.thread_id IS NOT NULL ORDER BY c.thread_id, date, s.id", [])]
        else:  # from the threads' clusters, by index
            parts = [(f"SELECT c.thread_id, {STORY_DATE} AS date, s.id, s.title, s.text FROM clusters c CROSS JOIN "
                      "cluster_members m ON m.cluster_id = c.id CROSS JOIN stories s ON s.id = m.story_id CROSS JOIN "
                      "story_marks k ON k.story_id = s.id AND k.content_hash = s.content_hash CROSS JOIN issues i ON "
                      f"i.id = s.issue_id WHERE k.contrary = 1 AND c.thread_id IN ({marks}) ORDER BY c.thread_id, "
                      "date, s.id", chunk) for chunk, marks in _in_chunks(thread_ids)]
        for query, args in parts:
            for tid, date, sid, title, text in self.db.execute(query, args):
                out.setdefault(tid, []).append((date, sid, title, text))
        return out

    def brief_key_names(self, cluster_ids: list[str] | None = None) -> dict[str, list[str]]:
        """Each stored brief's subject and actor: what later counter-evidence must name to be cited."""
        if cluster_ids is None:
            rows = self.db.execute("SELECT cluster_id, key_names FROM briefs").fetchall()
        else:
            rows = [r for chunk, marks in _in_chunks(cluster_ids) for r in self.db.execute(
                f"SELECT cluster_id, key_names FROM briefs WHERE cluster_id IN ({marks})", chunk)]
        return {r[0]: [n for n in json.loads(r[1]) if n] for r in rows}

    def marks_due(self, limit: int = 2000) -> list[dict[str, Any]]:
        """`unmarked_stories` among the stories added or edited since the brief stage last marked (`due`); the
        due ones that need none are let go."""
        keys = [r[0] for r in self.db.execute("SELECT key FROM due WHERE stage = 'marks' ORDER BY key LIMIT ?",
                                              [limit])]
        if not keys:
            return []
        marks = ",".join("?" * len(keys))
        rows = [dict(r) for r in self.db.query(
            "SELECT s.id, s.content_hash, s.title, s.text FROM stories s LEFT JOIN story_marks k ON k.story_id = "
            f"s.id AND k.content_hash = s.content_hash WHERE s.id IN ({marks}) AND k.story_id IS NULL ORDER BY s.id",
            keys)]
        with self.db.atomic():
            self.clear_due("marks", sorted(set(keys) - {r["id"] for r in rows}))
        return rows or self.marks_due(limit)

    def unmarked_stories(self, limit: int = 2000) -> list[dict[str, Any]]:
        """Stories whose current text has no mark yet (`story_marks`), with their title and text."""
        return [dict(r) for r in self.db.query(
            "SELECT s.id, s.content_hash, s.title, s.text FROM stories s LEFT JOIN story_marks k ON k.story_id = "
            "s.id AND k.content_hash = s.content_hash WHERE k.story_id IS NULL ORDER BY s.id LIMIT ?", [limit])]

    def save_marks(self, marks: list[tuple[str, str, bool]]) -> None:
        """(story id, content hash, contrary) for each story: what its current text says."""
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO story_marks (story_id, content_hash, contrary) VALUES (?, ?, ?) ON CONFLICT(story_id) "
                "DO UPDATE SET content_hash = excluded.content_hash, contrary = excluded.contrary",
                [(sid, h, int(c)) for sid, h, c in marks])
            self.clear_due("marks", [sid for sid, _, _ in marks])

    def brief_states_of(self, cluster_ids: list[str]) -> dict[str, tuple[str, str]]:
        """`brief_states` of these clusters' briefs."""
        return {r[0]: (r[1], r[2]) for chunk, marks in _in_chunks(cluster_ids) for r in self.db.execute(
            f"SELECT cluster_id, input_hash, slug FROM briefs WHERE cluster_id IN ({marks})", chunk)}

    def drop_briefs(self, cluster_ids: list[str]) -> None:
        """Forget the briefs of these clusters (that are gone)."""
        with self.db.atomic():
            for chunk, marks in _in_chunks(cluster_ids):
                self.db.execute(f"DELETE FROM briefs WHERE cluster_id IN ({marks})", chunk)

    def briefs(self, cluster_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
        if cluster_ids is None:
            return {r["cluster_id"]: dict(r) for r in self.db.query("SELECT * FROM briefs")}
        return {r["cluster_id"]: dict(r) for chunk, marks in _in_chunks(cluster_ids)
                for r in self.db.query(f"SELECT * FROM briefs WHERE cluster_id IN ({marks})", chunk)}

    def brief_states(self) -> dict[str, tuple[str, str]]:
        """cluster id -> (input hash, slug) of every stored brief, without loading the briefs themselves."""
        return {r[0]: (r[1], r[2]) for r in self.db.execute("SELECT cluster_id, input_hash, slug FROM briefs")}

    def cluster_titles(self, cluster_ids: list[str]) -> dict[str, str]:
        return {r[0]: r[1] for chunk, marks in _in_chunks(cluster_ids)
                for r in self.db.execute(f"SELECT id, title FROM clusters WHERE id IN ({marks})", chunk)}

    def cluster_subjects(self, cluster_ids: list[str]) -> dict[str, str]:
        """Each cluster's subject as the cluster stage named it (lower case, from the archive's statistics)."""
        return {r[0]: r[1] for chunk, marks in _in_chunks(cluster_ids) for r in self.db.execute(
            f"SELECT id, subject FROM clusters WHERE id IN ({marks}) AND subject IS NOT NULL", chunk)}

    def save_briefs(self, rows: list[dict[str, Any]], *, orphans: bool = True) -> None:
        """Store briefs; `orphans`: and forget every brief whose cluster is gone (a pass over all of them)."""
        with self.db.atomic():
            self.db.conn.executemany(
                "INSERT INTO briefs (cluster_id, slug, input_hash, generator, kind, impact, impact_score, data, "
                "updated, key_names) VALUES (:cluster_id, :slug, :input_hash, :generator, :kind, :impact, "
                ":impact_score, :data, :updated, :key_names) ON CONFLICT(cluster_id) DO UPDATE SET slug = "
                "excluded.slug, input_hash = excluded.input_hash, generator = excluded.generator, kind = "
                "excluded.kind, impact = excluded.impact, impact_score = excluded.impact_score, data = excluded.data, "
                "updated = excluded.updated, key_names = excluded.key_names",
                [{"key_names": "[]", **r} for r in rows])
            if orphans:
                self.db.execute("DELETE FROM briefs WHERE cluster_id NOT IN (SELECT id FROM clusters)")

    def brief_members(self, cluster_ids: list[str], as_of: str | None = None) -> list[dict[str, Any]]:
        """Stories of these clusters with what a brief needs (text, issue, links, vector), oldest first;
        `as_of` keeps only stories published by then (to write a past day's digest as of that day)."""
        cid = self.collection_id("stories")
        seen = f"AND {STORY_DATE} <= ?" if as_of else ""
        out = []
        for chunk, marks in _in_chunks(cluster_ids):
            out += [dict(r) for r in self.db.query(
                f"SELECT s.id, s.title, s.text, s.source, s.section, s.issue_id, i.title AS issue_title, "
                f"i.url AS issue_url, i.first_seen, {STORY_DATE} AS date, m.cluster_id, c.thread_id, e.embedding "
                "FROM cluster_members m JOIN stories s ON s.id = m.story_id JOIN issues i ON i.id = s.issue_id "
                "JOIN clusters c ON c.id = m.cluster_id LEFT JOIN embeddings e ON e.collection_id = ? "
                f"AND e.id = s.id WHERE m.cluster_id IN ({marks}) {seen} ORDER BY date, s.id",
                [cid, *chunk, *([as_of] if as_of else [])])]
        links = {}
        for chunk, marks in _in_chunks([r["id"] for r in out]):
            for r in self.db.query(f"SELECT story_id, url, text FROM links WHERE story_id IN ({marks}) "
                                   "ORDER BY story_id, position", chunk):
                links.setdefault(r["story_id"], []).append({"url": r["url"], "text": r["text"] or ""})
        for r in out:
            r["links"] = links.get(r["id"], [])
        return out

    def thread_members(self, thread_ids: list[str], as_of: str | None = None) -> list[dict[str, Any]]:
        """Every story of these threads (with its cluster), oldest first; `as_of` as in brief_members. Each row's
        `contrary` is the mark of its current text (`story_marks`), None where it has none."""
        return self._thread_rows(
            f"SELECT s.id, s.title, s.text, k.contrary, s.source, s.issue_id, i.title AS issue_title, "
            f"{STORY_DATE} AS date, m.cluster_id, c.thread_id, c.first_date AS cluster_first FROM clusters c JOIN "
            "cluster_members m ON m.cluster_id = c.id JOIN stories s ON s.id = m.story_id JOIN issues i ON i.id = "
            "s.issue_id LEFT JOIN story_marks k ON k.story_id = s.id AND k.content_hash = s.content_hash "
            "WHERE c.thread_id IN ({marks}) {seen} ORDER BY date, s.id", thread_ids, as_of)

    def _thread_rows(self, sql: str, thread_ids: list[str], as_of: str | None) -> list[dict[str, Any]]:
        """`sql` (`{marks}` for the threads' placeholders, `{seen}` for the date bound) over `thread_ids` in chunks."""
        seen = f"AND {STORY_DATE} <= ?" if as_of else ""
        out = []
        for chunk, marks in _in_chunks(thread_ids):
            out += [dict(r) for r in self.db.query(sql.format(marks=marks, seen=seen),
                                                   [*chunk, *([as_of] if as_of else [])])]
        return out

    def thread_steps(self, thread_ids: list[str], as_of: str | None = None) -> list[dict[str, Any]]:
        """`thread_members` without the stories' text and issues' titles (which of a thread's clusters had
        stories by then, and its first story)."""
        return self._thread_rows(
            f"SELECT s.id, s.title, {STORY_DATE} AS date, m.cluster_id, c.thread_id FROM clusters c CROSS JOIN "
            "cluster_members m ON m.cluster_id = c.id CROSS JOIN stories s ON s.id = m.story_id CROSS JOIN "
            "issues i ON i.id = s.issue_id WHERE c.thread_id IN ({marks}) {seen} ORDER BY date, s.id", thread_ids, as_of)

    def clusters_published(self, start: str, end: str) -> list[str]:
        """Clusters with a news story published in [start, end): one day's news."""
        dated, args = self._dated(">=", "<", start, end)  # the day's stories by index, not every story
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT m.cluster_id FROM ({dated}) f CROSS JOIN cluster_members m ON m.story_id = f.id "
            "ORDER BY 1", args)]

    def last_published(self, cluster_ids: list[str]) -> dict[str, str]:
        """The newest publication date among each cluster's stories."""
        return {r[0]: r[1] or "" for chunk, marks in _in_chunks(cluster_ids) for r in self.db.execute(
            f"SELECT id, last_date FROM clusters WHERE id IN ({marks})", chunk)}

    def days_arrived(self, start: str, end: str, *, after: tuple[str, int] | None = None) -> list[str]:
        """The publication days (YYYY-MM-DD) of the stories whose issues Pulse first saw in [start, end).
        `after` (a time and an `issue_mark`): only issues stored after both were taken, that is first seen
        in a later second or stored after the mark (first_seen has one-second resolution)."""
        later, args = "", [start, end]
        if after:
            later, args = " AND (i.first_seen > ? OR i.rowid > ?)", [*args, *after]
        return [r[0] for r in self.db.execute(
            f"SELECT DISTINCT substr({STORY_DATE}, 1, 10) FROM stories s JOIN issues i ON i.id = s.issue_id "
            f"WHERE i.first_seen >= ? AND i.first_seen < ?{later} ORDER BY 1", args)]

    def issue_mark(self) -> int:
        """The newest issue's row number: issues stored later have a larger one."""
        return self.db.execute("SELECT coalesce(max(rowid), 0) FROM issues").fetchone()[0]

    def late_arrivals(self, start: str, end: str, before: str) -> list[dict[str, Any]]:
        """Issues first seen in [start, end) but published before `before`: {day, source, issues, stories}."""
        return [dict(r) for r in self.db.query(
            f"SELECT substr({STORY_DATE}, 1, 10) AS day, i.source, count(DISTINCT i.id) AS issues, "
            "count(*) AS stories FROM stories s JOIN issues i ON i.id = s.issue_id "
            f"WHERE i.first_seen >= ? AND i.first_seen < ? AND {STORY_DATE} < ? AND s.section NOT IN ({_NOT_NEWS_SQL}) "
            "GROUP BY day, i.source ORDER BY day DESC, i.source", [start, end, before])]

    def day_counts(self, start: str, end: str) -> dict[str, Any]:
        """Issues published in [start, end), their newsletters, and the newest publication time."""
        issues, newest = self.db.execute("SELECT count(*), max(published) FROM issues WHERE published >= ? AND "
                                         "published < ?", [start, end]).fetchone()
        sources = [r[0] for r in self.db.execute(
            "SELECT DISTINCT source FROM issues WHERE published >= ? AND published < ? ORDER BY 1", [start, end])]
        return {"issues": issues, "sources": sources, "newest": newest}

    def newest_first_seen(self) -> str | None:
        return self.db.execute("SELECT max(first_seen) FROM issues").fetchone()[0]

    def save_digest(self, date: str, markdown: str, clusters: int, updated: str) -> None:
        with self.db.atomic():
            self.db.execute(
                "INSERT INTO digests (date, markdown, clusters, updated) VALUES (?,?,?,?) ON CONFLICT(date) DO UPDATE "
                "SET markdown = excluded.markdown, clusters = excluded.clusters, updated = excluded.updated",
                [date, markdown, clusters, updated])

    def digests(self, limit: int = 30, *, weekly: bool = False) -> list[dict[str, Any]]:
        """The newest daily digests (or weekly ones, whose key is an ISO week: 2023-W40)."""
        kind = "LIKE" if weekly else "NOT LIKE"
        return [dict(r) for r in self.db.query(f"SELECT * FROM digests WHERE date {kind} '%-W%' ORDER BY date DESC "
                                               "LIMIT ?", [limit])]

    def digest_list(self, limit: int = 30) -> list[dict[str, Any]]:
        """The newest digests' dates, sizes and times, without their text (the web page's list)."""
        return [dict(r) for r in self.db.query("SELECT date, clusters, updated FROM digests ORDER BY date DESC "
                                               "LIMIT ?", [limit])]

    # ------------------------------------------------------------------ search
    def _search_filters(self, *, sources=(), since=None, until=None, cluster=None, thread=None, kinds=(),
                        impacts=()) -> tuple[str, list[Any]]:
        """SQL conditions (on s, i, m, c, b) for search filters; dates compare as ISO strings, `until`
        exclusive; kinds and impacts are those of the story's brief (a story with none passes neither)."""
        where, params = [], []
        if sources:
            where.append(f"s.source IN ({','.join('?' * len(sources))})")
            params += list(sources)
        if since:
            where.append(f"{STORY_DATE} >= ?")
            params.append(since)
        if until:
            where.append(f"{STORY_DATE} < ?")
            params.append(until)
        if cluster:
            where.append("m.cluster_id = ?")
            params.append(cluster)
        if thread:
            where.append("c.thread_id = ?")
            params.append(thread)
        for column, values in (("b.kind", kinds), ("b.impact", impacts)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params += list(values)
        return " AND ".join(where) or "1=1", params

    def count_matches(self, match: str) -> int:
        """How many stories match an FTS5 expression (no ranking: cheap even when it is most of them)."""
        return self.db.execute("SELECT count(*) FROM stories_fts WHERE stories_fts MATCH ?", [match]).fetchone()[0]

    def search_keyword(self, match: str, limit: int, **filters: Any) -> list[tuple[str, float]]:
        """(story id, BM25 score; lower is better) for an FTS5 expression, best first. Title words weigh 5x.
        The expression must come from pipeline.fts_query: user text is never passed here raw."""
        cond, params = self._search_filters(**filters)
        if not params:  # rank inside FTS5 first, join only the winners (2-3x faster on a 100k archive)
            return [(r[0], r[1]) for r in self.db.execute(
                "SELECT s.id, f.score FROM (SELECT rowid, bm25(stories_fts, 5.0, 1.0) AS score FROM stories_fts "
                "WHERE stories_fts MATCH ? ORDER BY score LIMIT ?) f JOIN stories s ON s.rowid = f.rowid "
                "ORDER BY f.score", [match, limit])]
        joins = (_BY_STORY_JOINS if any(filters.get(k) for k in ("cluster", "thread", "kinds", "impacts")) else "")
        if not (filters.get("cluster") or filters.get("thread")):
            # rank inside FTS5, then filter the best FILTER_POOL: exact whenever `limit` of them pass the
            # filters (every story outside them scores worse) or they are all the matches there are
            ranked = self.db.execute("SELECT rowid, bm25(stories_fts, 5.0, 1.0) AS score FROM stories_fts "
                                     "WHERE stories_fts MATCH ? ORDER BY score LIMIT ?",
                                     [match, FILTER_POOL]).fetchall()
            passed: dict[int, str] = {}
            for chunk, marks in _in_chunks([r[0] for r in ranked]):
                passed.update(self.db.execute(
                    f"SELECT s.rowid, s.id FROM stories s JOIN issues i ON i.id = s.issue_id {joins}"
                    f"WHERE s.rowid IN ({marks}) AND {cond}", [*chunk, *params]).fetchall())
            if len(passed) >= limit or len(ranked) < FILTER_POOL:
                return [(passed[r], score) for r, score in ranked if r in passed][:limit]
        sql = (f"SELECT s.id, bm25(stories_fts, 5.0, 1.0) AS score FROM stories_fts "
               f"JOIN stories s ON s.rowid = stories_fts.rowid JOIN issues i ON i.id = s.issue_id {joins}"
               f"WHERE stories_fts MATCH ? AND {cond} ORDER BY score LIMIT ?")
        return [(r[0], r[1]) for r in self.db.execute(sql, [match, *params, limit])]

    def mention_rows(self, phrase: str, *, titles_only: bool = True) -> list[tuple[str, str, str]]:
        """Every news story naming `phrase` (in its title, or anywhere) as (date, story id, cluster id or ''),
        oldest first (one day's by id, descending). One read serves every brief of a night that names the
        phrase (`outputs.brief_stage.Mentions`)."""
        words = re.findall(r"\w+", phrase)
        if not words:
            return []
        match = ("title : " if titles_only else "") + '"' + " ".join(words) + '"'
        return [tuple(r) for r in self.db.execute(
            f"SELECT {STORY_DATE} AS date, s.id, COALESCE(m.cluster_id, '') FROM stories_fts "
            "JOIN stories s ON s.rowid = stories_fts.rowid JOIN issues i ON i.id = s.issue_id "
            "LEFT JOIN cluster_members m ON m.story_id = s.id WHERE stories_fts MATCH ? "
            f"AND s.section NOT IN ({_NOT_NEWS_SQL}) ORDER BY date, s.id DESC", [match])]

    def story_heads(self, story_ids: list[str]) -> dict[str, dict[str, str]]:
        """Each story's title and newsletter."""
        return {r[0]: {"title": r[1], "source": r[2]} for chunk, marks in _in_chunks(story_ids)
                for r in self.db.execute(f"SELECT id, title, source FROM stories WHERE id IN ({marks})", chunk)}

    def stories_matching(self, match: str, story_ids: list[str]) -> set[str]:
        """Which of these stories match an FTS5 expression (to honour -word on hits found by meaning)."""
        out: set[str] = set()
        for chunk, marks in _in_chunks(story_ids):
            out |= {r[0] for r in self.db.execute(
                "SELECT s.id FROM stories_fts JOIN stories s ON s.rowid = stories_fts.rowid "
                f"WHERE stories_fts MATCH ? AND s.id IN ({marks})", [match, *chunk])}
        return out

    def text_prefixes(self, story_ids: list[str], chars: int = SNIPPET_CHARS) -> dict[str, str]:
        """The first `chars` characters of these stories' texts, read through SQLite's blob API so that only
        the first pages of a long text are read (substr() would load all of a 10 MB story first)."""
        out: dict[str, str] = {}
        for chunk, marks in _in_chunks(story_ids):
            for sid, rowid in self.db.execute(f"SELECT id, rowid FROM stories WHERE id IN ({marks})", chunk):
                try:
                    with self.db.conn.blobopen("stories", "text", rowid, readonly=True) as blob:
                        head = blob.read(chars * 4)  # UTF-8: at most 4 bytes a character
                except sqlite3.OperationalError:
                    continue  # deleted meanwhile, or no text
                out[sid] = head.decode("utf-8", "ignore")[:chars]  # "ignore": a character cut at the end
        return out

    def snippets(self, match: str | None, texts: dict[str, str], tokens: int = 24) -> dict[str, str]:
        """FTS5 snippets with \\x02...\\x03 around matched words, for the texts (story id -> text, say the
        first SNIPPET_CHARS characters from `text_prefixes`) that match. Made in a small in-memory FTS5
        table with the archive's tokenizer, so the work is bounded by the texts given, whatever the size of
        the stories they come from (ranking still reads the whole text)."""
        if not match or not texts:
            return {}
        ids = list(texts)
        rows = list(enumerate(texts.values()))
        scratch = self._snippet_table()
        scratch.execute("BEGIN")
        try:  # rolled back after: the tables are empty again for the next call, with no work to empty them
            scratch.executemany("INSERT INTO excerpt_texts (id, text) VALUES (?, ?)", rows)
            scratch.executemany("INSERT INTO excerpts (rowid, text) VALUES (?, ?)", rows)
            found = scratch.execute("SELECT rowid, snippet(excerpts, 0, char(2), char(3), '…', ?) FROM excerpts "
                                    "WHERE excerpts MATCH ?", [tokens, match]).fetchall()
        finally:
            if scratch.in_transaction:  # (an interrupted statement may have rolled it back already)
                scratch.execute("ROLLBACK")
        return {ids[row]: snippet for row, snippet in found}

    def _snippet_table(self) -> sqlite3.Connection:
        """This store's in-memory scratch database: an FTS5 table `excerpts` (the archive's tokenizer) over
        the texts in `excerpt_texts`."""
        if self._scratch is None:
            self._scratch = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=self._same_thread)
            self._scratch.executescript(
                "CREATE TABLE excerpt_texts (id INTEGER PRIMARY KEY, text TEXT NOT NULL);"
                "CREATE VIRTUAL TABLE excerpts USING fts5(text, content='excerpt_texts', content_rowid='id', "
                "tokenize='porter unicode61');")
        return self._scratch

    @contextlib.contextmanager
    def time_limit(self, deadline: float | None) -> Iterator[None]:
        """Interrupt any statement on this connection (and its snippet scratch table) still running at
        `deadline` (a time.monotonic() value): it raises sqlite3.OperationalError("interrupted").
        Limits nest: the earliest deadline holds, and the outer one again after the inner block."""
        outer = self._deadline
        if deadline is None or (outer is not None and outer <= deadline):
            yield
            return
        self._deadline = deadline
        conns = [self.db.conn, self._snippet_table()]
        for conn in conns:
            conn.set_progress_handler(lambda: time.monotonic() > deadline, _DEADLINE_STEPS)
        try:
            yield
        finally:
            self._deadline = outer
            for conn in conns:
                if outer is None:
                    conn.set_progress_handler(None, 0)
                else:
                    conn.set_progress_handler(lambda: time.monotonic() > outer, _DEADLINE_STEPS)

    def filtered_story_ids(self, **filters: Any) -> list[str]:
        """Ids of stories that pass cluster, thread, kind and impact filters (the semantic side filters these by
        id)."""
        cond, params = self._search_filters(**filters)
        return [r[0] for r in self.db.execute(
            f"SELECT s.id FROM stories s JOIN issues i ON i.id = s.issue_id {_BY_STORY_JOINS}WHERE {cond}", params)]

    def vector_fingerprint(self, cid: int) -> tuple[Any, ...]:
        """Changes whenever a vector is added, replaced or removed: a search index reloads on change."""
        return tuple(self.db.execute("SELECT count(*), sum(updated), max(updated) FROM embeddings "
                                     "WHERE collection_id = ?", [cid]).fetchone())

    def search_index_rows(self, cid: int) -> list[tuple[str, str, str, bytes]]:
        """(id, date, source, vector) of every embedded story, in no particular order: a semantic index's
        contents (it orders them itself: sorting here costs SQLite a third of the read)."""
        return self.db.execute(
            f"SELECT s.id, {STORY_DATE} AS date, s.source, e.embedding FROM embeddings e JOIN stories s "
            "ON s.id = e.id JOIN issues i ON i.id = s.issue_id WHERE e.collection_id = ?", [cid]).fetchall()

    def search_cards(self, story_ids: list[str]) -> dict[str, dict[str, Any]]:
        """What a search result shows: title, source, date, cluster (size) and thread, brief slug (the text
        comes apart, from `text_prefixes`)."""
        out: dict[str, dict[str, Any]] = {}
        for chunk, marks in _in_chunks(story_ids):
            for r in self.db.query(
                    f"SELECT s.id, s.title, s.source, {STORY_DATE} AS date, "
                    "s.section, i.title AS issue_title, i.url AS issue_url, m.cluster_id, c.size AS cluster_size, "
                    "c.sources AS cluster_sources, c.thread_id, b.slug, b.kind, b.impact FROM stories s JOIN issues i "
                    f"ON i.id = s.issue_id {_BY_STORY_JOINS}WHERE s.id IN ({marks})", chunk):
                out[r["id"]] = dict(r)
        return out

    def brief_kinds(self) -> list[str]:
        """The kinds the archive's briefs have (what search's kind filter can ask for)."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT kind FROM briefs WHERE kind != '' ORDER BY 1")]

    def source_names(self) -> list[str]:
        """Every source with a story (the search page's filter), kept until something is committed."""
        version = self.data_version()
        if self._source_names is None or self._source_names[0] != version:
            self._source_names = (version, [r[0] for r in self.db.execute(
                "SELECT DISTINCT source FROM stories ORDER BY 1")])
        return list(self._source_names[1])

    def brief_by_slug(self, slug: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM briefs WHERE slug = ?", [slug]))
        return dict(rows[0]) if rows else None

    def first_story_of(self, cluster_id: str) -> str | None:
        row = self.db.execute(
            f"SELECT s.id FROM cluster_members m JOIN stories s ON s.id = m.story_id JOIN issues i "
            f"ON i.id = s.issue_id WHERE m.cluster_id = ? ORDER BY {STORY_DATE}, s.id LIMIT 1", [cluster_id]).fetchone()
        return row[0] if row else None

    def digest(self, day: str) -> dict[str, Any] | None:
        rows = list(self.db.query("SELECT * FROM digests WHERE date = ?", [day]))
        return dict(rows[0]) if rows else None

    def data_version(self) -> tuple[int, int]:
        """Changes when any connection (another one, or this one) commits: a cheap "has anything
        changed?" for long-lived readers such as the web app's search index."""
        return self.db.execute("PRAGMA data_version").fetchone()[0], self.db.conn.total_changes

    # ------------------------------------------------------------------ transactions and health
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all (nested: a savepoint inside the outer one)."""
        with self.db.atomic():
            yield

    def quick_check(self) -> str:
        """SQLite's quick integrity check: 'ok', or the first problem it found."""
        return self.db.execute("PRAGMA quick_check").fetchone()[0]

    def check_writable(self) -> None:
        """Take the write lock and give it straight back; raises sqlite3.Error if another writer keeps it."""
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("ROLLBACK")

    # ------------------------------------------------------------------ run reports
    def start_run(self, started: str) -> int:
        """A new run; runs still marked running were killed (the caller holds the lock, so none is alive)."""
        with self.db.atomic():
            self.db.execute("UPDATE runs SET status = 'killed' WHERE status = 'running'")
            return self.db.execute("INSERT INTO runs (started, status) VALUES (?, 'running')", [started]).lastrowid

    def finish_run(self, run_id: int, finished: str, status: str, exit_code: int, model: str | None,
                   report: str) -> None:
        with self.db.atomic():
            self.db.execute("UPDATE runs SET finished = ?, status = ?, exit_code = ?, model = ?, report = ? "
                            "WHERE id = ?", [finished, status, exit_code, model, report, run_id])

    def last_stage_result(self, stage: str) -> dict[str, Any] | None:
        """The result of `stage` in the latest run whose report has it (None: no run recorded it)."""
        for (report,) in self.db.execute("SELECT report FROM runs WHERE report IS NOT NULL ORDER BY id DESC"):
            stages = json.loads(report).get("stages", {})
            if stage in stages:
                return stages[stage]
        return None

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.query("SELECT * FROM runs ORDER BY id DESC LIMIT ?", [limit])]

    def backup_to(self, target: Path) -> None:
        """A consistent copy of the live database through SQLite's online backup API (safe while a
        run writes: pages changed meanwhile are copied again)."""
        dst = sqlite3.connect(str(target))
        try:
            self.db.conn.backup(dst, pages=1024)
        finally:
            dst.close()

    def was_sent(self, date: str, digest_hash: str) -> bool:
        return self.db.execute("SELECT 1 FROM sent_emails WHERE date = ? AND digest_hash = ?",
                               [date, digest_hash]).fetchone() is not None

    def mark_sent(self, date: str, digest_hash: str, recipients: list[str]) -> None:
        with self.db.atomic():
            self.db.execute("INSERT OR REPLACE INTO sent_emails (date, digest_hash, recipients, at) VALUES (?,?,?,?)",
                            [date, digest_hash, ",".join(recipients), now()])


def interrupted(exc: BaseException) -> bool:
    """Whether an SQLite error is a statement stopped by `Store.time_limit` (or `interrupt()`)."""
    return isinstance(exc, sqlite3.OperationalError) and "interrupted" in str(exc)


class ThreadStores:
    """One Store per thread for one archive (SQLite connections belong to one thread), all closed together.

    `home` is the store of the thread that made this, used as is on that thread."""

    def __init__(self, path: str | Path, home: Store | None = None):
        self.path = Path(path)
        self._home = home
        self._home_thread = threading.get_ident() if home is not None else None
        self._local = threading.local()
        self._opened: list[Store] = []
        self._lock = threading.Lock()

    def get(self) -> Store:
        """The calling thread's store, opened on first use."""
        if self._home is not None and threading.get_ident() == self._home_thread:
            return self._home
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.path, check_same_thread=False)  # closed by close_all, from another thread
            self._local.store = store
            with self._lock:
                self._opened.append(store)
        return store

    def close_all(self) -> None:
        """Close every store opened here (call once the threads using them are done); not the home store."""
        with self._lock:
            opened, self._opened = self._opened, []
        for store in opened:
            store.close()
        self._local = threading.local()


def check_archive(path: str | Path) -> None:
    """Raise sqlite3.DatabaseError with one line (not naming the file) if `path` is not a whole SQLite
    database: cut short (its header counts more pages than the file holds), not SQLite at all, or
    unreadable. Reads the header and the schema only, so it is quick on a large archive."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            header = f.read(100)
        size = path.stat().st_size
    except OSError as exc:
        raise sqlite3.DatabaseError(f"cannot read it: {exc.strerror or exc}") from None
    if not header:
        return  # an empty file is a new, empty archive to SQLite
    if not header.startswith(b"SQLite format 3\x00"[:len(header)]):
        raise sqlite3.DatabaseError("not an SQLite database")
    if len(header) < 100:
        raise sqlite3.DatabaseError(f"truncated: {size:,} bytes, shorter than an SQLite header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    header_valid = header[24:28] == header[92:96]  # the page count is kept by SQLite 3.7.0 and later
    wal = Path(f"{path}-wal")
    pending = wal.exists() and wal.stat().st_size > 0  # a checkpoint in progress may leave the file short
    if header_valid and not pending and size < pages * page_size:
        raise sqlite3.DatabaseError(f"truncated: {size:,} bytes where its header says "
                                    f"{pages * page_size:,}")
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        conn.close()


def integrity_of(path: str | Path) -> str:
    """SQLite's full integrity check of a database file (a backup copy, say): 'ok', or the first problem."""
    conn = sqlite3.connect(str(path))
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()
