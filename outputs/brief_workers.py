"""The brief stage on every core: briefs read and built in worker processes.

Reading a brief's inputs (many small queries) and building it (facts, evidence, templates) are pure Python,
so threads would share one core. Spawned workers (a parent holding torch is never forked), each with its own
read connection to the archive, read each chunk's inputs; the main process embeds the chunk's sentences in
one batch (the model, on the GPU where there is one, stays here); a worker builds the briefs and renders
their pages from the inputs and vectors; the main process writes them, in order. While workers read and
build, the main process embeds the next chunks.
"""
from __future__ import annotations

import multiprocessing
import time
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pipeline.store import Store

from .brief import BriefInput
from .brief_stage import Briefer, brief_rows, inputs, sentences_of
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


def _start(tools: Tools, db_path: str) -> None:
    """A worker's Briefer (the parent's templates, audiences and kinds, their vectors already made) and its
    own connection to the archive."""
    global _BRIEFER, _STORE
    _STORE = Store(Path(db_path))

    def encode(texts: list[str]) -> np.ndarray:  # every sentence a brief weighs comes with its chunk
        raise RuntimeError(f"brief worker: {len(texts)} sentence(s) were not embedded by the main process")

    templates = Templates(Path(tools.user_templates) if tools.user_templates else None)
    _BRIEFER = Briefer(templates, encode, tools.audiences, None, tools.kind_descriptions)
    _BRIEFER._roles, _BRIEFER._kinds = tools.roles, tools.kinds


def _read(chunk: list[str]) -> tuple[list[BriefInput], list[str], dict[str, dict]]:
    """A chunk's inputs, the sentences its briefs will weigh, and each cluster's watch-for items."""
    assert _STORE is not None
    inps = inputs(_STORE, chunk)
    return inps, sentences_of(inps), page_items(_STORE, chunk)


def _build(inps: list[BriefInput], vectors: dict[str, np.ndarray], slugs: dict[str, str],
           watch: dict[str, dict]) -> tuple[list[dict[str, Any]], list[str]]:
    assert _BRIEFER is not None
    _BRIEFER._cache = vectors  # this chunk's sentences only: a worker's memory stays flat
    return brief_rows(_BRIEFER, inps, slugs, watch)


def build_in_workers(store: Store, briefer: Briefer, todo: list[str], slugs: dict[str, str],
                     parts: dict[str, float] | None = None) -> Iterator[tuple[int, list[dict[str, Any]], list[str]]]:
    """(briefs done, rows, page texts) per chunk, in the order of `todo`, built by `briefer.workers`
    processes. `parts` gathers the main process's milliseconds: starting the workers, embedding the
    sentences, waiting for read and built chunks."""
    parts = parts if parts is not None else {}
    for key in ("start_ms", "embed_ms", "wait_read_ms", "wait_build_ms"):
        parts.setdefault(key, 0.0)
    clock = time.perf_counter
    user = briefer.templates.user_dir
    tools = Tools(str(user) if user else None, briefer.audiences, briefer.kind_descriptions, briefer.roles,
                  briefer.kinds)
    context = multiprocessing.get_context("spawn")
    chunks = iter([todo[start:start + CHUNK] for start in range(0, len(todo), CHUNK)])
    ahead = 2 * briefer.workers  # tasks of each kind in flight: every worker busy, memory bounded
    reading: deque[tuple[list[str], Future]] = deque()
    building: deque[tuple[int, Future]] = deque()
    done = 0
    t = clock()
    with ProcessPoolExecutor(briefer.workers, mp_context=context, initializer=_start,
                             initargs=(tools, str(store.path))) as pool:
        parts["start_ms"] += (clock() - t) * 1000

        def read_ahead() -> None:
            while len(reading) < ahead:
                chunk = next(chunks, None)
                if chunk is None:
                    return
                reading.append((chunk, pool.submit(_read, chunk)))

        read_ahead()
        while reading or building:
            if reading:
                chunk, future = reading.popleft()
                t = clock()
                inps, texts, watch = future.result()
                parts["wait_read_ms"] += (clock() - t) * 1000
                t = clock()
                briefer.warm(texts)  # one batch for the chunk, on this process's model
                parts["embed_ms"] += (clock() - t) * 1000
                vectors = {t: briefer._cache[t] for t in texts}
                building.append((len(chunk), pool.submit(_build, inps, vectors,
                                                         {c: slugs[c] for c in chunk if c in slugs}, watch)))
                read_ahead()
            while building and (not reading or len(building) > ahead or building[0][1].done()):
                n, future = building.popleft()
                done += n
                t = clock()
                result = future.result()
                parts["wait_build_ms"] += (clock() - t) * 1000
                yield done, *result
