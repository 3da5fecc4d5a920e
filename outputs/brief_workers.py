"""The brief stage on every core: briefs read and built in worker processes.

Reading a brief's inputs (many small queries) and building it (facts, evidence, templates) are pure Python,
so threads would share one core. Worker processes (forked from a small fork server, never from a parent
holding torch; spawned where there is no fork server), each with its own
read connection to the archive, read each chunk's inputs and send back only the sentences its briefs will
weigh; the main process embeds them, the sentences of every chunk read meanwhile in one batch (the model,
on the GPU where there is one, stays here); the worker that read a chunk builds its briefs and renders their
pages from the inputs it kept and the vectors (each worker is a pool of its own, so a build goes where its
read went); the main process writes them, in order. Only ids, sentences and vectors cross between processes.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import deque
from contextlib import ExitStack
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pipeline.store import Store

from .brief import BriefInput
from .brief_stage import Briefer, Mentions, brief_rows, inputs, sentences_of
from .render import Templates
from .watch import page_items

CHUNK = 48  # briefs a task: small enough to spread over the workers, large enough to batch the sentences


@dataclass(frozen=True)
class Tools:
    """What a worker needs to build briefs as the parent's Briefer would."""

    user_templates: str | None
    audiences: dict[str, list[str]]
    kind_descriptions: dict[str, list[str]]
    roles: dict[str, np.ndarray]
    kinds: dict[str, np.ndarray]


_BRIEFER: Briefer | None = None
_STORE: Store | None = None
_MENTIONS: Mentions | None = None  # the archive's earlier mentions this worker read, for all its chunks


def _start(tools: Tools, db_path: str) -> None:
    """A worker's Briefer (the parent's templates, audiences and kinds, their vectors already made) and its
    own connection to the archive."""
    global _BRIEFER, _STORE, _MENTIONS, _STARTED_MS
    t = time.perf_counter()
    _STORE = Store(Path(db_path))
    _MENTIONS = Mentions(_STORE)

    def encode(texts: list[str]) -> np.ndarray:  # every sentence a brief weighs comes with its chunk
        raise RuntimeError(f"brief worker: {len(texts)} sentence(s) were not embedded by the main process")

    templates = Templates(Path(tools.user_templates) if tools.user_templates else None)
    _BRIEFER = Briefer(templates, encode, tools.audiences, None, tools.kind_descriptions)
    _BRIEFER._roles, _BRIEFER._kinds = tools.roles, tools.kinds
    _STARTED_MS = (time.perf_counter() - t) * 1000


_STARTED_MS = 0.0  # how long this worker's start took, reported with its first task (then 0)


_READ: dict[tuple[str, ...], list[BriefInput]] = {}  # chunks this worker read for their sentences, not built yet
KEEP = 8  # ... at most this many (a chunk not kept is read again)


def _sentences(chunk: list[str]) -> tuple[list[str], float, float]:
    """The sentences a chunk's briefs will weigh (its inputs kept, in case this worker builds it too), the
    milliseconds it took, and those of this worker's start (with its first task only)."""
    global _STARTED_MS
    assert _STORE is not None
    t = time.perf_counter()
    inps = inputs(_STORE, chunk, mentions=_MENTIONS)
    _READ[tuple(chunk)] = inps
    while len(_READ) > KEEP:
        _READ.pop(next(iter(_READ)))
    started, _STARTED_MS = _STARTED_MS, 0.0
    return sentences_of(inps), (time.perf_counter() - t) * 1000, started


def _build(chunk: list[str], vectors: dict[str, np.ndarray], slugs: dict[str, str]
           ) -> tuple[list[dict[str, Any]], list[str], float, bool]:
    """A chunk's briefs and pages, from its inputs (read again unless this worker read them) and the
    vectors of its sentences, the milliseconds it took, and whether it read the inputs again."""
    assert _BRIEFER is not None and _STORE is not None
    t = time.perf_counter()
    inps = _READ.pop(tuple(chunk), None)
    reread = inps is None
    if inps is None:
        inps = inputs(_STORE, chunk, mentions=_MENTIONS)
    _BRIEFER._cache = vectors  # this chunk's sentences only: a worker's memory stays flat
    rows, texts = brief_rows(_BRIEFER, inps, slugs, page_items(_STORE, chunk))
    return rows, texts, (time.perf_counter() - t) * 1000, reread


def worker_context() -> multiprocessing.context.BaseContext:
    """How workers start: forked from a small fork server that has this module imported (started by
    `prestart`, or now), else spawned. Each start from the parent itself pays for the parent's size: once torch,
    the model and the GPU are in it, spawning 16 workers took 10 s and more on the H100 machine."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def prestart() -> None:
    """Start the fork server while this process is still small (before the nightly run loads the model)."""
    context = worker_context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()


def build_in_workers(store: Store, briefer: Briefer, todo: list[str], slugs: dict[str, str],
                     parts: dict[str, float] | None = None) -> Iterator[tuple[int, list[dict[str, Any]], list[str]]]:
    """(briefs done, rows, page texts) per chunk, in the order of `todo`, built by `briefer.workers`
    processes. `parts` gathers the main process's milliseconds (embedding the sentences, waiting for read
    and built chunks, starting the workers) and the workers' (reading, building: summed over workers)."""
    parts = parts if parts is not None else {}
    for key in ("embed_ms", "wait_read_ms", "wait_build_ms", "start_ms", "shutdown_ms", "workers_start_ms",
                "workers_read_ms", "workers_build_ms", "chunks_read_twice"):
        parts.setdefault(key, 0.0)
    clock = time.perf_counter
    user = briefer.templates.user_dir
    tools = Tools(str(user) if user else None, briefer.audiences, briefer.kind_descriptions, briefer.roles,
                  briefer.kinds)
    context = worker_context()
    chunks = iter(enumerate(todo[start:start + CHUNK] for start in range(0, len(todo), CHUNK)))
    ahead = 2 * briefer.workers  # tasks of each kind in flight: every worker busy, memory bounded
    reading: deque[tuple[list[str], Future, ProcessPoolExecutor]] = deque()
    building: deque[tuple[int, Future]] = deque()
    done = 0
    with ExitStack() as stack:
        # one pool of one process per worker: a chunk is built by the worker that read it (its inputs kept
        # there), not read a second time by whichever worker the build went to
        pools = [stack.enter_context(ProcessPoolExecutor(1, mp_context=context, initializer=_start,
                                                         initargs=(tools, str(store.path))))
                 for _ in range(briefer.workers)]

        def read_ahead() -> None:
            while len(reading) < ahead:
                n, chunk = next(chunks, (0, None))
                if chunk is None:
                    return
                pool = pools[n % len(pools)]
                reading.append((chunk, pool.submit(_sentences, chunk), pool))

        t = clock()
        read_ahead()
        if reading:
            reading[0][1].result()
        parts["start_ms"] += (clock() - t) * 1000  # until the first chunk is read: the workers' start, mostly
        while reading or building:
            if reading:  # the next chunk's sentences, and those of every chunk read meanwhile: one batch
                t = clock()
                chunk, future, pool = reading.popleft()
                batch = [(chunk, future.result(), pool)]
                while reading and reading[0][1].done():
                    chunk, future, pool = reading.popleft()
                    batch.append((chunk, future.result(), pool))
                parts["wait_read_ms"] += (clock() - t) * 1000
                parts["workers_read_ms"] += sum(ms for _, (_, ms, _), _ in batch)
                parts["workers_start_ms"] += sum(ms for _, (_, _, ms), _ in batch)
                t = clock()
                briefer.warm([text for _, (texts, _, _), _ in batch for text in texts])
                parts["embed_ms"] += (clock() - t) * 1000
                for chunk, (texts, _, _), pool in batch:
                    vectors = {text: briefer._cache[text] for text in texts}
                    building.append((len(chunk), pool.submit(_build, chunk, vectors,
                                                             {c: slugs[c] for c in chunk if c in slugs})))
                read_ahead()
            while building and (not reading or len(building) > ahead or building[0][1].done()):
                n, future = building.popleft()
                done += n
                t = clock()
                rows, texts, ms, reread = future.result()
                parts["wait_build_ms"] += (clock() - t) * 1000
                parts["workers_build_ms"] += ms
                parts["chunks_read_twice"] += reread
                yield done, rows, texts
        t = clock()
    parts["shutdown_ms"] += (clock() - t) * 1000  # the workers' exit
