"""Real clients read the archive: the llm CLI (`llm similar`) and Datasette (full-text search)."""
from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from gpu import topk
from pipeline.embed import COLLECTION
from pipeline.embed_stage import load_vectors
from pipeline.fts_query import parse
from pipeline.migrations import LLM_SET, LLM_STEPS, applied, pending
from pipeline.store import Store
from tests.pipeline.test_store import make_legacy, rows_of

LLM = Path(sys.executable).with_name("llm")  # the CLI the dev install puts next to this Python
needs_llm = pytest.mark.skipif(not LLM.exists(), reason="llm is not installed (./install.sh --dev installs it)")


@pytest.fixture
def archive_copy(archive, tmp_path) -> Path:
    """A copy of the shared archive (sample newsletters, embedded with the bundled model) to hand to clients."""
    path = tmp_path / "pulse.db"
    archive[0].backup_to(path)
    return path


def llm(*args: str, home: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real llm CLI with its own settings directory (nothing read from or written to ~)."""
    return subprocess.run([str(LLM), *args], capture_output=True, text=True, check=check, timeout=120,
                          env={**os.environ, "LLM_USER_PATH": str(home)})


def llm_similar(path: Path, sid: str, n: int, home: Path) -> list[tuple[str, float]]:
    out = llm("similar", COLLECTION, sid, "-n", str(n), "-d", str(path), home=home).stdout
    return [(r["id"], r["score"]) for r in map(json.loads, out.splitlines())]


def pulse_neighbours(path: Path, sid: str, n: int) -> list[tuple[str, float]]:
    """Pulse's own top-k by cosine over the stored vectors, the story itself left out."""
    with Store(path) as store:
        ids, vectors = load_vectors(store)
    scores, idx = topk(vectors[[ids.index(sid)]], vectors, n + 1, backend="numpy")
    return [(ids[i], float(s)) for s, i in zip(scores[0], idx[0]) if ids[i] != sid][:n]


def assert_same_neighbours(theirs: list[tuple[str, float]], ours: list[tuple[str, float]]) -> None:
    assert [i for i, _ in theirs] == [i for i, _ in ours]  # same stories, same order
    assert [s for _, s in theirs] == pytest.approx([s for _, s in ours], abs=1e-5)  # float64 vs float32 sums


@needs_llm
def test_llm_similar_returns_pulses_own_neighbours_without_the_model(archive_copy, tmp_path):
    with Store(archive_copy) as store:
        ids, _ = load_vectors(store)
        model = store.db.execute("SELECT model FROM collections WHERE name = ?", [COLLECTION]).fetchone()[0]
    # llm has no plugin for the bundled model: `similar` on a stored id compares stored vectors only
    assert model not in llm("embed-models", "list", home=tmp_path).stdout
    assert len(ids) > 20
    for sid in (ids[0], ids[len(ids) // 2], ids[-1]):
        assert_same_neighbours(llm_similar(archive_copy, sid, 5, tmp_path), pulse_neighbours(archive_copy, sid, 5))


def schema_of(path: Path) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT * FROM sqlite_master ORDER BY name").fetchall()
    finally:
        conn.close()


@needs_llm
def test_llm_changes_nothing_in_the_archive(archive_copy, tmp_path):
    from sqlite_utils import Database

    with Store(archive_copy) as store:
        sid = load_vectors(store)[0][0]
        model = store.db.execute("SELECT model FROM collections WHERE name = ?", [COLLECTION]).fetchone()[0]
    before, schema = rows_of(archive_copy), schema_of(archive_copy)
    assert len(llm_similar(archive_copy, sid, 3, tmp_path)) == 3
    assert llm("collections", "list", "-d", str(archive_copy), home=tmp_path).stdout.startswith(
        f"{COLLECTION}: {model}\n")
    new_text = llm("similar", COLLECTION, "-c", "a new text", "-d", str(archive_copy), home=tmp_path, check=False)
    assert new_text.returncode != 0 and "Unknown model" in new_text.stderr  # only new text needs the model
    assert rows_of(archive_copy) == before and schema_of(archive_copy) == schema
    db = Database(archive_copy)
    assert not pending(db)  # Pulse finds nothing to migrate after llm
    db.close()


@needs_llm
def test_fresh_archive_has_llms_own_embeddings_schema_and_record(tmp_path):
    from llm.embeddings_migrations import embeddings_migrations
    from sqlite_utils import Database

    theirs = Database(tmp_path / "llm.db")
    embeddings_migrations.apply(theirs)
    with Store(tmp_path / "pulse.db") as store:
        ours = store.db
        sql = "SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('collections', 'embeddings') ORDER BY name"
        assert ours.execute(sql).fetchall() == theirs.execute(sql).fetchall()
        assert applied(ours, LLM_SET) == applied(theirs, LLM_SET) == list(LLM_STEPS)
    theirs.close()


@needs_llm
def test_llm_opens_an_archive_from_before_named_steps_once_pulse_upgraded_it(archive_copy, tmp_path):
    with Store(archive_copy) as store:
        sid = load_vectors(store)[0][0]
    expected = pulse_neighbours(archive_copy, sid, 5)
    make_legacy(archive_copy)
    failed = llm("similar", COLLECTION, sid, "-d", str(archive_copy), home=tmp_path, check=False)
    assert failed.returncode != 0 and 'table "collections" already exists' in failed.stderr  # the old bug
    Store(archive_copy).close()  # the upgrade (it adopts the empty _sqlite_migrations llm left behind)
    assert_same_neighbours(llm_similar(archive_copy, sid, 5, tmp_path), expected)


def test_datasette_searches_stories_full_text(archive_copy):
    datasette = pytest.importorskip("datasette.app")

    async def search(q: str) -> list[dict]:
        ds = datasette.Datasette([str(archive_copy)])
        response = await ds.client.get(f"/pulse/stories.json?_search={q}&_shape=array&_col=title&_size=max")
        assert response.status_code == 200, response.text
        return response.json()

    with Store(archive_copy) as store:
        total = store.count("stories")
        for q in ("cache", "laundry", "open weights"):
            found = asyncio.run(search(q))
            ours = {sid for sid, _ in store.search_keyword(parse(q).match_all(), 1000)}
            assert {r["id"] for r in found} == ours and 0 < len(ours) < total, q
    assert [r["title"] for r in asyncio.run(search("cache"))] == ["KV cache compression in practice"]
