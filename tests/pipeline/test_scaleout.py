"""Pulse on a local Dask cluster of worker processes: the same archive, nothing lost, exact sharded top-k."""
from __future__ import annotations

import os
import signal
import sqlite3
from datetime import datetime, timezone

import numpy as np
import pytest

import gpu
from pipeline import scaleout
from pipeline.embed_stage import load_vectors
from pipeline.ingest import ingest_source
from pipeline.store import Store
from sources import SourceConfig
from sources.fetch import Fetcher, FetchPolicy
from tests.conftest import Reply
from tests.pipeline.test_backfill import issue_body, page

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with scaleout.connect("local", workers=2) as c:
        yield c


def test_sharded_top_k_equals_the_single_array_top_k(client):
    rng = np.random.default_rng(7)
    vectors = rng.standard_normal((3001, 384)).astype(np.float32)
    vectors[2000] = vectors[10]  # the same vector in two shards: the tie goes to the lower index
    queries = np.vstack([vectors[10], rng.standard_normal((6, 384)).astype(np.float32)])
    want_s, want_i = gpu.topk(queries, gpu.prepare(vectors, backend="numpy"), 25, backend="numpy")
    for shards in (1, 2, 5):
        got_s, got_i = scaleout.ShardedCorpus(client, vectors, shards=shards, backend="numpy").topk(queries, 25)
        assert np.array_equal(got_i, want_i), shards
        np.testing.assert_allclose(got_s, want_s, atol=1e-6)
    assert want_i[0, 0] == 10 and want_i[0, 1] == 2000
    small_s, small_i = scaleout.ShardedCorpus(client, vectors[:3], shards=2, backend="numpy").topk(queries, 25)
    assert small_i.shape == (7, 3)


def _rows(path) -> dict[str, list]:
    conn = sqlite3.connect(path)
    out = {"issues": sorted(conn.execute("SELECT id, title, url, published, content_hash, entry_hash, text "
                                         "FROM issues")),
           "stories": sorted(conn.execute("SELECT id, issue_id, position, section, title, text, content_hash "
                                          "FROM stories")),
           "links": sorted(conn.execute("SELECT story_id, url FROM links"))}
    conn.close()
    return out


def test_a_backfill_across_workers_gives_the_same_archive(client, feed_server, tmp_path):
    s = feed_server
    s.route("/archive", Reply(body=("".join(f'<a href="/p/i{n}">{n}</a>' for n in range(7, -1, -1))).encode()))
    for n in range(8):
        s.route(f"/p/i{n}", Reply(body=page(f"Issue {n}", f"2026-10-{n + 1:02d}T10:00:00Z", issue_body(n))))
    cfg = SourceConfig("arch", "html", s.url("/archive"), {"segmenter": "importai", "link_pattern": r"/p/i\d"})
    since = datetime(2026, 9, 1, tzinfo=timezone.utc)
    reports = {}
    for name in ("here", "workers"):
        with Store(tmp_path / f"{name}.db") as store:
            parse = scaleout.parse_on(client, {}) if name == "workers" else None
            fetcher = Fetcher(FetchPolicy(host_delay=0, retries=0))
            reports[name] = (ingest_source(store, cfg, fetcher, since=since, parse=parse) if parse
                             else ingest_source(store, cfg, fetcher, since=since))
    assert reports["workers"].ok and reports["workers"].issues_new == reports["here"].issues_new == 8
    here, there = _rows(tmp_path / "here.db"), _rows(tmp_path / "workers.db")
    assert there == here and len(here["stories"]) == 16


def test_killing_a_worker_mid_embed_loses_nothing_and_embeds_nothing_twice(client, archive, embedder, tmp_path):
    archive[0].backup_to(tmp_path / "p.db")  # (a file copy would miss what is still in the WAL)
    with Store(tmp_path / "p.db") as store:
        want_ids, want = load_vectors(store)
        assert len(want_ids) > 12
        store.db.execute("DELETE FROM embeddings")
        store.db.conn.commit()
        pids = client.run(os.getpid)
        killed = []

        def kill_one(done: int, total: int) -> None:
            if not killed:  # after the first batch is written, a worker dies with others in flight
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        report = scaleout.embed_on(client, store, batch=3, progress=kill_one)
        assert killed, report
        assert report["embedded"] == len(want_ids) == report["total"]
        got_ids, got = load_vectors(store)
    assert got_ids == want_ids
    np.testing.assert_allclose(got, want, atol=1e-5)
    client.wait_for_workers(2, timeout=120)  # the nanny brought the dead one back


@pytest.mark.parametrize("read_on_workers", [True, False])
def test_embedding_on_workers_gives_the_vectors_of_one_process(client, archive, embedder, tmp_path, read_on_workers):
    archive[0].backup_to(tmp_path / "p.db")
    with Store(tmp_path / "p.db") as store:
        want_ids, want = load_vectors(store)
        stale = want_ids[::3]  # a third missing: only those are embedded again
        store.db.execute(f"DELETE FROM embeddings WHERE id IN ({','.join('?' * len(stale))})", stale)
        store.db.conn.commit()
        seen = []
        report = scaleout.embed_on(client, store, batch=4, read_on_workers=read_on_workers,
                                   progress=lambda done, total: seen.append((done, total)))
        got_ids, got = load_vectors(store)
    assert report["embedded"] == len(stale) and report["read_on_workers"] is read_on_workers
    assert seen[-1][0] == seen[-1][1]  # progress ends at its total
    assert got_ids == want_ids
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_an_unreachable_scheduler_is_a_one_line_error(tmp_path):
    from click.testing import CliRunner

    from pipeline.cli import main

    out = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "embed", "--cluster", "tcp://127.0.0.1:9"])
    assert out.exit_code != 0 and "cannot reach the Dask scheduler" in out.output and "Traceback" not in out.output
    assert len(out.output.strip().splitlines()) == 1
