"""Embeddings with the real bundled model, stored in llm's layout."""
from __future__ import annotations

import numpy as np
import pytest

from gpu import topk
from pipeline.embed import COLLECTION, DEFAULT_MODEL_ID, Embedder, from_blob
from pipeline.embed_stage import embed_stories, load_vectors
from pipeline.ingest import ingest
from pipeline.samples import sample_sources
from pipeline.store import ModelMismatch, Store
from sources.fetch import Fetcher


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "pulse.db") as s:
        ingest(s, sample_sources(), Fetcher())
        yield s


def news_count(store) -> int:
    return store.db.execute("SELECT count(*) FROM stories WHERE section NOT IN ('sponsor', 'furniture', 'notes')"
                            ).fetchone()[0]


def test_every_news_story_gets_a_unit_float32_vector_once(store, embedder):
    first = embed_stories(store, embedder)
    n = news_count(store)
    assert store.count("stories") > n  # the sample's sponsor item is stored but never embedded
    timing = {k: first.pop(k) for k in ("load_ms", "encode_ms", "per_s")}  # the load told apart from the rate
    assert first == {"model": DEFAULT_MODEL_ID, "device": "cpu", "encoder": "torch", "embedded": n, "total": n}
    assert timing["load_ms"] >= 0 and timing["encode_ms"] > 0 and timing["per_s"] > 0
    ids, vectors = load_vectors(store)
    assert vectors.shape == (n, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    blob = store.db.execute("SELECT embedding FROM embeddings LIMIT 1").fetchone()[0]
    assert len(blob) == 384 * 4 and np.allclose(np.frombuffer(blob, "<f4"), from_blob(blob))
    assert embed_stories(store, embedder)["embedded"] == 0


def test_changed_story_is_re_embedded_and_deleted_story_pruned(store, embedder):
    embed_stories(store, embedder)
    sid = next(store.iter_stories())["id"]
    store.db.execute("UPDATE stories SET text = text || ' Update: the weights were withdrawn.' WHERE id = ?", [sid])
    store.db.conn.commit()
    assert embed_stories(store, embedder)["embedded"] == 1
    store.db.execute("DELETE FROM stories WHERE id = ?", [sid])
    store.db.conn.commit()
    assert embed_stories(store, embedder)["total"] == news_count(store)


def test_another_model_is_refused_until_rebuild(store, embedder):
    embed_stories(store, embedder)
    with pytest.raises(ModelMismatch, match="pulse embed --rebuild"):
        store.embedding_collection(COLLECTION, "some-other/model")
    assert embed_stories(store, embedder, rebuild=True)["embedded"] == news_count(store)


def test_layout_is_llms(store, embedder):
    embed_stories(store, embedder)
    cols = {c.name for c in store.db["embeddings"].columns}
    assert cols == {"collection_id", "id", "embedding", "content", "content_blob", "content_hash", "metadata", "updated"}
    assert store.db.execute("SELECT name, model FROM collections").fetchall() == [(COLLECTION, DEFAULT_MODEL_ID)]


def test_the_same_news_from_three_newsletters_are_neighbours(store, embedder):
    embed_stories(store, embedder)
    ids, vectors = load_vectors(store)
    titles = {r["id"]: r["title"] for r in store.iter_stories()}
    query = ids.index(next(i for i in ids if titles[i] == "Lumen Labs releases the weights of Hyperion-7B"))
    _, idx = topk(vectors[query:query + 1], vectors, 4)
    near = [titles[ids[j]] for j in idx[0][1:]]
    assert {"Hyperion-7B is out with open weights", "Hyperion-7B released with open weights"} <= set(near)


def test_the_first_night_exports_the_twin_before_it_embeds(store, tmp_path, monkeypatch):
    pytest.importorskip("onnxruntime")
    from pipeline import onnx_model

    monkeypatch.setenv("PULSE_CACHE_DIR", str(tmp_path / "fresh-cache"))
    report = embed_stories(store, Embedder(device="cpu", cpu_encoder="auto"))
    assert report["embedded"] > 0 and report["encoder"] == "onnx"
    twins = list((tmp_path / "fresh-cache" / "onnx").glob("*/model.onnx"))
    assert len(twins) == 1 and (twins[0].parent / "check.json").exists()
    assert not (twins[0].parent / onnx_model.INT8_FILE).exists()  # made only by a night that asks for int8
