"""Pulse on a Dask cluster: embedding, backfill parsing and a sharded top-k spread over workers.

An extra (`pip install pulse-digest[cluster]`): Dask is imported only when a cluster is asked for, so
`pulse run` works without it. The archive stays one SQLite file with one writer, this process: workers
compute (vectors, parsed issues, the top-k of their shard of the vectors) and send results back; where they
can open the archive's file, they read the stories they embed themselves. A worker that dies mid-task has
its task run again on another (Dask's retries); a batch is written once, when its result arrives, so no
story is lost or written twice, and a run stopped midway resumes from what was written (stale stories are
found by their text's hash).
"""
from __future__ import annotations

import os
from collections import deque
from datetime import datetime
from typing import Any, Callable, Iterable, Iterator

import numpy as np

import gpu
from sources import Source, SourceConfig, make_source
from sources.base import Fetched
from sources.models import Issue

from .embed import to_blob
from .embed_stage import open_collection, stale_of, stale_stories
from .store import Store

IN_FLIGHT = 4  # tasks per worker queued at once: enough to keep workers busy, bounded memory here


class ScaleOutError(RuntimeError):
    pass


def connect(address: str, workers: int | None = None) -> Any:
    """A Dask client: `local` starts a cluster on this machine (dask-cuda's LocalCUDACluster, one worker
    per GPU, where GPUs and dask-cuda are there; else `workers` CPU worker processes, default one per
    core); anything else is a scheduler's address (tcp://host:8786)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScaleOutError("Dask is not installed: pip install 'pulse-digest[cluster]'") from None
    if address != "local":
        try:
            return Client(address, timeout="10s")
        except (OSError, TimeoutError) as exc:
            raise ScaleOutError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    if workers is None and gpu.cupy_available():
        try:
            from dask_cuda import LocalCUDACluster

            return Client(LocalCUDACluster())
        except ImportError:
            pass
    cluster = LocalCluster(n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    return Client(cluster)


def _bounded(client: Any, tasks: Iterable[tuple[Any, ...]], fn: Callable) -> Iterator[Any]:
    """Results of fn(*args) for each args in `tasks`, in the order given, at most IN_FLIGHT a worker queued."""
    limit = IN_FLIGHT * max(1, len(client.scheduler_info()["workers"]))
    pending: deque = deque()
    for args in tasks:
        pending.append(client.submit(fn, *args, pure=False, retries=3))
        if len(pending) >= limit:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


# ---------------------------------------------------------------------- embedding
_EMBEDDERS: dict[tuple[str, str], Any] = {}
_ARCHIVES: dict[str, Store] = {}  # a worker's read connection to each archive it embeds from


def _vectors(model: str, device: str, stale: list[tuple[str, str, bytes]]) -> list[tuple[str, bytes, bytes]]:
    """On a worker: (story id, vector, text hash) of these stale stories, the model loaded once per process."""
    if not stale:
        return []
    from .embed import Embedder

    key = (model, device)
    if key not in _EMBEDDERS:
        _EMBEDDERS[key] = Embedder(model=model, device=device).load()
    vectors = _EMBEDDERS[key].encode([text for _, text, _ in stale])
    return [(sid, to_blob(v), digest) for (sid, _, digest), v in zip(stale, vectors)]


def _embed_rows(model: str, device: str, path: str, cid: int, lo: int, hi: int
                ) -> tuple[int, list[tuple[str, bytes, bytes]]]:
    """On a worker that can open the archive: its stories of rows lo <= rowid < hi read here, and the vectors
    of those whose vector is missing or stale; (rows covered, vectors)."""
    if path not in _ARCHIVES:
        _ARCHIVES[path] = Store(path)
    rows = _ARCHIVES[path].stories_for_embedding(cid, (lo, hi))
    return hi - lo, _vectors(model, device, stale_of(rows))


def _readable(path: str) -> bool:
    return os.path.isfile(path)


def embed_on(client: Any, store: Store, model: str = "default", *, device: str = "auto", batch: int = 512,
             rebuild: bool = False, progress: Callable[[int, int], None] | None = None,
             read_on_workers: bool | None = None) -> dict[str, Any]:
    """Embed the archive's stale stories on the cluster's workers; this process writes each batch once.

    Where every worker can open the archive's file (a local cluster, a shared disk; `read_on_workers` None
    asks them), each task names `batch` rows of the stories table and the worker reads them, finds the stale
    ones and embeds them: only row numbers go out and only vectors come back. Otherwise this process reads
    the stale stories and sends their texts. `progress(done, total)`: the stories table's rows covered of all
    (or the stale stories embedded of all)."""
    from .embed import resolve_model

    model_id = resolve_model(model)[0]
    path = str(store.path.resolve())
    if read_on_workers is None:
        read_on_workers = all(client.run(_readable, path).values())
    done = 0
    if read_on_workers:
        cid = open_collection(store, model_id, rebuild=rebuild)
        lo, hi = store.story_rowids()
        tasks = ((model, device, path, cid, a, min(a + batch, hi + 1)) for a in range(lo, hi + 1, batch))
        read = 0
        for n, rows in _bounded(client, tasks, _embed_rows):
            store.save_embeddings(cid, rows)
            done, read = done + len(rows), read + n
            if progress:
                progress(read, hi - lo + 1)
    else:
        cid, stale = stale_stories(store, model_id, rebuild=rebuild)
        chunks = ((model, device, stale[i:i + batch]) for i in range(0, len(stale), batch))
        for rows in _bounded(client, chunks, _vectors):
            store.save_embeddings(cid, rows)
            done += len(rows)
            if progress:
                progress(done, len(stale))
    return {"model": model_id, "embedded": done, "total": store.count_embeddings(cid),
            "workers": len(client.scheduler_info()["workers"]), "read_on_workers": read_on_workers}


# ---------------------------------------------------------------------- backfill
def _parse_doc(cfg: SourceConfig, doc: Fetched, since: datetime | None, stored: dict[str, str]
               ) -> tuple[list[Issue], list[str], int]:
    """On a worker: a document's issues (segmented), the warnings and how many entries were unchanged."""
    source = make_source(cfg)
    source.unchanged = lambda guid, digest: stored.get(guid) == digest
    issues = source.parse(doc, since=since)
    return issues, source.warnings, source.skipped


def parse_on(client: Any, stored: dict[str, str]) -> Callable[[Source, Iterable[Fetched], datetime | None],
                                                              Iterator[list[Issue]]]:
    """A `parse` for `pipeline.ingest.ingest_source` that segments documents on the cluster's workers as
    this process fetches them (`stored`: the source's entry hashes, to skip unchanged entries there too)."""

    def parse(source: Source, docs: Iterable[Fetched], since: datetime | None) -> Iterator[list[Issue]]:
        tasks = ((source.config, doc, since, stored) for doc in docs)
        for issues, warnings, skipped in _bounded(client, tasks, _parse_doc):
            source.warnings.extend(warnings)
            source.skipped += skipped
            yield issues

    return parse


# ---------------------------------------------------------------------- a sharded top-k
def _prepare_shard(vectors: np.ndarray, backend: str | None) -> Any:
    return gpu.prepare(vectors, backend=backend or ("cupy" if gpu.cupy_available() else "numpy"))


def _shard_topk(shard: Any, queries: np.ndarray, k: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """On a worker: the top-k of its shard, indices made global."""
    q = queries
    if gpu.backend_name(shard) == "cupy":
        import cupy as cp

        q = cp.asarray(queries)
    scores, idx = gpu.topk(q, shard, k)
    if hasattr(scores, "get"):
        scores, idx = scores.get(), idx.get()
    return np.asarray(scores, np.float32), np.asarray(idx, np.int64) + offset


def merge_topk(parts: list[tuple[np.ndarray, np.ndarray]], k: int) -> tuple[np.ndarray, np.ndarray]:
    """The exact top-k of the whole from each shard's top-k: best first, ties by lower index, as gpu.topk."""
    scores = np.concatenate([s for s, _ in parts], axis=1)
    idx = np.concatenate([i for _, i in parts], axis=1)
    order = np.lexsort((idx, -scores), axis=1)[:, :k]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(idx, order, 1)


class ShardedCorpus:
    """Vectors split in contiguous shards, one per worker, each prepared (GPU: on that worker's device) and
    kept there; `topk` asks every shard and merges their answers exactly."""

    def __init__(self, client: Any, vectors: np.ndarray, *, shards: int | None = None, backend: str | None = None):
        self.client = client
        workers = list(client.scheduler_info()["workers"])
        count = max(1, min(shards or len(workers), len(vectors)))
        bounds = np.linspace(0, len(vectors), count + 1).astype(int)
        self.offsets = bounds[:-1].tolist()
        self.size = len(vectors)
        self.parts = [client.submit(_prepare_shard, vectors[a:b], backend, workers=[workers[n % len(workers)]],
                                    pure=False) for n, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
        client.gather(self.parts)  # prepared before the first query is timed

    def topk(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        q = np.ascontiguousarray(queries, np.float32)
        futures = [self.client.submit(_shard_topk, part, q, k, offset, pure=False)
                   for part, offset in zip(self.parts, self.offsets)]
        return merge_topk(self.client.gather(futures), min(k, self.size))
