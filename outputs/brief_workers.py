"""The brief stage on every core: briefs built in worker processes.

Building a brief is pure Python (facts, evidence, templates), so threads would share one core. The main
process reads each chunk's inputs from the store and embeds its sentences in one batch (the model stays
here); spawned workers (a parent holding torch is never forked) build the briefs and render their pages
from those inputs and vectors; the main process writes them. While workers build, the main process reads
and embeds the next chunks.
"""
from __future__ import annotations

import multiprocessing
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from pipeline.store import Store

from . import sentences as sent
from .brief import BriefInput
from .brief_stage import Briefer, brief_rows, inputs
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
    model: str


_BRIEFER: Briefer | None = None


def _start(tools: Tools) -> None:
    """A worker's Briefer: the parent's templates, audiences and kinds, their vectors already made."""
    global _BRIEFER
    embedder: list[Any] = []

    def encode(texts: list[str]) -> np.ndarray:  # only for a sentence the parent did not send (none expected)
        if not embedder:
            from pipeline.embed import Embedder

            embedder.append(Embedder(model=tools.model, device="cpu"))
        return embedder[0].encode(texts)

    templates = Templates(Path(tools.user_templates) if tools.user_templates else None)
    _BRIEFER = Briefer(templates, encode, tools.audiences, None, tools.kind_descriptions, model=tools.model)
    _BRIEFER._roles, _BRIEFER._kinds = tools.roles, tools.kinds


def _build(inps: list[BriefInput], vectors: dict[str, np.ndarray], slugs: dict[str, str],
           watch: dict[str, dict]) -> tuple[list[dict[str, Any]], list[str]]:
    assert _BRIEFER is not None
    _BRIEFER._cache = vectors  # this chunk's sentences only: a worker's memory stays flat
    return brief_rows(_BRIEFER, inps, slugs, watch)


def build_in_workers(store: Store, briefer: Briefer, todo: list[str], slugs: dict[str, str]
                     ) -> Iterator[tuple[int, list[dict[str, Any]], list[str]]]:
    """(briefs done, rows, page texts) per chunk, in the order of `todo`, built by `briefer.workers`
    processes."""
    user = briefer.templates.user_dir
    tools = Tools(str(user) if user else None, briefer.audiences, briefer.kind_descriptions, briefer.roles,
                  briefer.kinds, briefer.model)
    context = multiprocessing.get_context("spawn")
    pending: deque[tuple[int, Future]] = deque()
    done = 0
    with ProcessPoolExecutor(briefer.workers, mp_context=context, initializer=_start, initargs=(tools,)) as pool:
        for start in range(0, len(todo), CHUNK):
            chunk = todo[start:start + CHUNK]
            inps = inputs(store, chunk)
            texts = [s.text for inp in inps for s in sent.candidates([(m.id, m.text) for m in inp.members])]
            briefer.warm(texts)
            vectors = {t: briefer._cache[t] for t in texts}
            pending.append((len(chunk), pool.submit(_build, inps, vectors, {c: slugs[c] for c in chunk if c in slugs},
                                                    page_items(store, chunk))))
            while len(pending) > 2 * briefer.workers:  # keep every worker busy, and memory bounded
                n, future = pending.popleft()
                done += n
                yield done, *future.result()
        while pending:
            n, future = pending.popleft()
            done += n
            yield done, *future.result()
