"""Stage 2: give every new or changed story a vector, stored in llm's layout (`pipeline.embed` is the core)."""
from __future__ import annotations

import time
from typing import Callable, Iterable

import numpy as np

from .embed import COLLECTION, Embedder, content_hash, from_blob, story_text, to_blob
from .store import Store


def stale_stories(store: Store, model_id: str, *, rebuild: bool = False) -> tuple[int, list[tuple[str, str, bytes]]]:
    """(collection id, [(story id, text to embed, its hash)]) for every story whose vector is missing or
    was made from other text (all of them with `rebuild`), looking at every story."""
    cid = open_collection(store, model_id, rebuild=rebuild)
    return cid, stale_of(store.stories_for_embedding(cid))


def due_stories(store: Store, model_id: str) -> tuple[int, list[tuple[str, str, bytes]]]:
    """`stale_stories` among the stories added, edited or removed since the stage last ran (`Store.due`): the
    vectors of those gone or no longer news are dropped, and those whose vector is current are let go."""
    cid = store.embedding_collection(COLLECTION, model_id)
    with store.transaction():
        rows, gone = store.due_for_embedding(cid)
        store.prune_embeddings(cid, gone)
        stale = stale_of(rows)
        fresh = {sid for sid, _, _ in stale}
        store.clear_due("embed", [*gone, *(r[0] for r in rows if r[0] not in fresh)])
    return cid, stale


def open_collection(store: Store, model_id: str, *, rebuild: bool = False) -> int:
    """The stories' vector collection for this model (emptied with `rebuild`), without vectors of stories
    that are gone or no longer news."""
    cid = store.embedding_collection(COLLECTION, model_id, rebuild=rebuild)
    store.prune_embeddings(cid)
    return cid


def stale_of(rows: Iterable[tuple[str, str, str, bytes | None]]) -> list[tuple[str, str, bytes]]:
    """[(story id, text to embed, its hash)] of these (id, title, text, stored hash) rows whose vector is
    missing or was made from other text."""
    stale = []
    for sid, title, text, stored_hash in rows:
        full = story_text(title, text)
        digest = content_hash(full)
        if digest != stored_hash:
            stale.append((sid, full, digest))
    return stale


def embed_stories(store: Store, embedder: Embedder, *, rebuild: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> dict:
    """Embed new or changed stories (the stories marked due, or every one where the archive's markers are not
    known yet or with `rebuild`). Returns counts for the run report."""
    everything = rebuild or store.needs_full("embed")
    cid, stale = (stale_stories(store, embedder.model_id, rebuild=rebuild) if everything
                  else due_stories(store, embedder.model_id))
    done = 0
    load_ms = 0
    if stale:  # loaded apart, so that the report tells the load from the throughput
        t = time.perf_counter()
        embedder.load()
        load_ms = int((time.perf_counter() - t) * 1000)
    started = time.perf_counter()
    for start in range(0, len(stale), 2048):
        chunk = stale[start:start + 2048]
        vectors = embedder.encode([t for _, t, _ in chunk])
        store.save_embeddings(cid, [(sid, to_blob(v), h) for (sid, _, h), v in zip(chunk, vectors)])
        done += len(chunk)
        if progress:
            progress(done, len(stale))
    seconds = time.perf_counter() - started
    if everything:
        with store.transaction():  # every story was looked at, and the stale ones embedded
            store.clear_due("embed")
    report = {"model": embedder.model_id, "device": embedder.device, "embedded": done,
              "total": store.count_embeddings(cid)}
    if done:
        report.update(encoder=embedder.encoder, load_ms=load_ms, encode_ms=int(seconds * 1000),
                      per_s=round(done / seconds, 1))
    return report


def load_vectors(store: Store, ids: Iterable[str] | None = None) -> tuple[list[str], np.ndarray]:
    """(story ids, matrix) of stored vectors, in a stable order."""
    cid = store.collection_id(COLLECTION)
    if cid is None:
        return [], np.zeros((0, 0), np.float32)
    rows = store.embedding_rows(cid, ids)
    if not rows:
        return [], np.zeros((0, 0), np.float32)
    return [r[0] for r in rows], np.vstack([from_blob(r[1]) for r in rows])
