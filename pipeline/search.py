"""Search the archive: FTS5 BM25 and semantic top-k, fused by reciprocal rank fusion.

keyword   FTS5 over title (weighted 5x) and text, through `fts_query` so user text never reaches
          FTS5 raw; all words first, then (if that finds too few) any word, ranked by BM25.
semantic  the query embedded with the archive's own model, exact cosine top-k through the `gpu`
          API (CuPy on a GPU, NumPy otherwise) over vectors kept in memory in date order, so a
          date filter is a slice and other filters an index.
hybrid    both lists fused: score = sum of 1 / (RRF_K + rank) (Cormack et al., 2009).

A `Searcher` is made once and asked many times (the web app keeps one, asked from its worker
threads: each thread searches through its own SQLite connection); it reloads its vectors when the
archive's vectors change. A search may carry a deadline: SQLite work still running at it is
interrupted and the search raises SearchTimeout.
"""
from __future__ import annotations

import re
import sqlite3
import threading
import time
import weakref
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any, Callable

import numpy as np

import gpu

from .embed import COLLECTION
from .fts_query import Query, QueryError, parse
from .store import ModelMismatch, Store, ThreadStores, interrupted

MODES = ("hybrid", "keyword", "semantic")
RRF_K = 60
BROAD = 10_000  # a query matching more stories than this ranks its headline matches first (Searcher.keyword)
MAX_LIMIT = 200
_MARK = re.compile("\x02(.*?)\x03", re.S)
TIMED_OUT = "the search ran out of time; try fewer or more specific words"


class SearchError(ValueError):
    """A search that cannot run as asked: one line for the user."""


class SearchTimeout(SearchError):
    """A search stopped at its deadline (its SQLite work interrupted)."""


def _check_deadline(deadline: float | None) -> None:
    """Raise SearchTimeout once `deadline` (a time.monotonic() value) has passed."""
    if deadline is not None and time.monotonic() > deadline:
        raise SearchTimeout(TIMED_OUT)


IMPACTS = ("low", "medium", "high")


def _day_after(value: str) -> str | None:
    """The ISO day after `value` (an exclusive upper bound); None past the last day a date can have."""
    day = date.fromisoformat(value[:10])
    return None if day == date.max else (day + timedelta(days=1)).isoformat()


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    since: str | None = None   # YYYY-MM-DD, inclusive
    until: str | None = None   # YYYY-MM-DD, inclusive
    cluster: str | None = None
    thread: str | None = None
    kinds: tuple[str, ...] = ()    # the brief's kind: release, research, funding, ...
    impacts: tuple[str, ...] = ()  # the brief's impact: low, medium, high

    def __post_init__(self) -> None:
        bad = [i for i in self.impacts if i not in IMPACTS]
        if bad:
            raise SearchError(f"--impact {bad[0]!r} is not one of {', '.join(IMPACTS)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value:
                try:
                    date.fromisoformat(value[:10])
                except ValueError:
                    raise SearchError(f"--{name} {value!r} is not a date like 2026-06-01") from None

    def sql(self) -> dict[str, Any]:
        """Keyword arguments for the store: dates as ISO bounds, `until` made exclusive (the next day)."""
        until = _day_after(self.until) if self.until else None  # 9999-12-31: no bound at all
        return {"sources": self.sources, "since": self.since[:10] if self.since else None, "until": until,
                "cluster": self.cluster, "thread": self.thread, "kinds": self.kinds, "impacts": self.impacts}

    @property
    def by_story(self) -> bool:
        """Whether a filter needs the story's cluster or brief (the semantic side then filters by id)."""
        return bool(self.cluster or self.thread or self.kinds or self.impacts)


@dataclass
class Hit:
    id: str
    title: str
    source: str
    date: str
    snippet: str                       # plain text
    highlights: list[tuple[int, int]]  # [start, end) character spans of matched words in the snippet
    cluster_id: str | None
    cluster_size: int
    cluster_sources: int
    thread_id: str | None
    slug: str | None
    kind: str | None                   # the brief's kind and impact (None: no brief yet)
    impact: str | None
    issue_title: str
    issue_url: str | None
    score: float                       # the fused score (hybrid), -BM25 (keyword) or the cosine (semantic)
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    cosine: float | None = None
    also: list[dict[str, str]] = field(default_factory=list)  # other tellings of the same story that matched

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Results:
    query: str
    mode: str
    hits: list[Hit]
    ms: dict[str, float] = field(default_factory=dict)
    relaxed: bool = False  # keyword side fell back from all words to any word

    def to_dict(self) -> dict[str, Any]:
        return {"query": self.query, "mode": self.mode, "relaxed": self.relaxed, "ms": self.ms,
                "count": len(self.hits), "hits": [h.to_dict() for h in self.hits]}


def split_snippet(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """'a \\x02b\\x03 c' -> ('a b c', [(2, 3)])."""
    plain, spans, pos, length = [], [], 0, 0
    for m in _MARK.finditer(marked):
        before, word = marked[pos:m.start()], m.group(1)
        plain += [before, word]
        length += len(before)
        spans.append((length, length + len(word)))
        length += len(word)
        pos = m.end()
    plain.append(marked[pos:])
    return "".join(plain).replace("\x02", "").replace("\x03", ""), spans


def checked(text: str, mode: str, limit: int) -> Query:
    """The parsed query; SearchError with one line for a bad mode, limit or query (cheap: no SQL)."""
    if mode not in MODES:
        raise SearchError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if not 1 <= limit <= MAX_LIMIT:
        raise SearchError(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    try:
        return parse(text)
    except QueryError as exc:
        raise SearchError(str(exc)) from None


def rrf(*rankings: list[str], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ranked id lists: best first, ties by first appearance."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, sid in enumerate(ranking, 1):
            scores[sid] = scores.get(sid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


_BLAS = None


def _one_blas_thread():
    """One BLAS thread for the query's GEMV: it is memory-bound, and BLAS threads left spinning after
    it fight torch's threads in the next query's encode (measured: encode p95 from ~15 ms to ~100 ms)."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


class SemanticIndex:
    """Every story vector in memory, oldest first, prepared once for the gpu API."""

    def __init__(self, store: Store, backend: str | None = None):
        self.backend = backend or ("cupy" if gpu.cupy_available() else "numpy")
        self.fingerprint: tuple[Any, ...] | None = None
        # each connection's data_version when it last looked (the number is per connection)
        self.data_versions: weakref.WeakKeyDictionary[Store, tuple[int, int]] = weakref.WeakKeyDictionary()
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}
        self.dates = np.zeros(0, "<U32")
        self.source_names: list[str] = []  # each story's source as a small integer: filtering 1M is a compare
        self.source_codes = np.zeros(0, np.int32)
        self.corpus: Any = None
        self.refresh(store)

    def refresh(self, store: Store) -> bool:
        """Reload when the archive's vectors changed; True if it did. Asks SQLite's data_version first,
        so a server answering many queries between nightly runs pays almost nothing for the check."""
        version = store.data_version()
        if self.data_versions.get(store) == version:
            return False  # nothing committed since this connection last looked, and the index was current then
        self.data_versions[store] = version
        cid = store.collection_id(COLLECTION)
        fingerprint = store.vector_fingerprint(cid) if cid is not None else None
        if fingerprint == self.fingerprint:
            return False
        rows = store.search_index_rows(cid) if cid is not None else []
        if rows:  # oldest first (ties by id): a date filter is then a slice
            order = np.lexsort((np.array([r[0] for r in rows]), np.array([r[1] for r in rows])))
            rows = [rows[i] for i in order]
        self.ids = [r[0] for r in rows]
        self.row_of = {sid: i for i, sid in enumerate(self.ids)}
        self.dates = np.array([r[1][:32] for r in rows], "<U32")
        names, codes = np.unique(np.array([r[2] for r in rows], object), return_inverse=True)
        self.source_names, self.source_codes = [str(n) for n in names], codes.astype(np.int32)
        # one buffer for all the blobs: a reshape instead of stacking 1M small arrays
        vectors = (np.frombuffer(b"".join(r[3] for r in rows), "<f4").reshape(len(rows), -1) if rows
                   else np.zeros((0, 1), np.float32))
        self.corpus = gpu.prepare(vectors, backend=self.backend)
        self.fingerprint = fingerprint
        return True

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, qvec: np.ndarray, k: int, filters: Filters, allowed: list[str] | None) -> list[tuple[str, float]]:
        """(story id, cosine) best first, within the filters (`allowed`: ids that pass the filters on cluster,
        thread, kind and impact)."""
        if not self.ids:
            return []
        bounds = filters.sql()
        lo = int(np.searchsorted(self.dates, bounds["since"], "left")) if bounds["since"] else 0
        hi = int(np.searchsorted(self.dates, bounds["until"], "left")) if bounds["until"] else len(self.ids)
        if hi <= lo:
            return []
        rows: Any = slice(lo, hi)
        if filters.sources or allowed is not None:
            keep = np.ones(hi - lo, bool)
            if filters.sources:
                wanted = [i for i, name in enumerate(self.source_names) if name in filters.sources]
                keep &= np.isin(self.source_codes[lo:hi], wanted)
            if allowed is not None:
                mask = np.zeros(len(self.ids), bool)
                mask[[self.row_of[s] for s in allowed if s in self.row_of]] = True
                keep &= mask[lo:hi]
            rows = np.flatnonzero(keep) + lo
            if rows.size == 0:
                return []
        whole = isinstance(rows, slice) and lo == 0 and hi == len(self.ids)
        corpus = self.corpus if whole else gpu.rows(self.corpus, rows)
        q = qvec.reshape(1, -1).astype(np.float32)
        if self.backend == "cupy":
            import cupy as cp

            q = cp.asarray(q)
        with _one_blas_thread():
            scores, idx = gpu.topk(q, corpus, k, backend=self.backend)
        if self.backend == "cupy":
            scores, idx = scores.get(), idx.get()
        base = np.arange(lo, hi) if isinstance(rows, slice) else rows
        return [(self.ids[int(base[i])], float(s)) for s, i in zip(scores[0], idx[0])]


class Searcher:
    """Hybrid search over one archive. `encoder` is built on the first semantic query (keyword search
    never loads a model); it returns (model id, encode function)."""

    def __init__(self, store: Store, encoder: Callable[[], tuple[str, Callable[[list[str]], np.ndarray]]],
                 *, backend: str | None = None, depth: int = 50, min_cosine: float = 0.2):
        # `store` on its own thread, a connection of their own on others (the web app shares its workers')
        self.stores = ThreadStores(store.path, home=store)
        self.min_cosine = min_cosine
        self._encoder_factory = encoder
        self._encode: Callable[[list[str]], np.ndarray] | None = None
        self._backend = backend
        self.index: SemanticIndex | None = None
        self.depth = depth
        self._lock = threading.RLock()  # the model's load and the shared vector index, across threads
        self._encoding = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    @property
    def store(self) -> Store:
        """The calling thread's connection to the archive."""
        return self.stores.get()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.stores.close_all()

    def load(self) -> None:
        """Load the model and the vectors (once; vectors again when the archive changed)."""
        with self._lock:
            if self._encode is not None:
                self.semantic_index()
                return
            with ThreadPoolExecutor(1, thread_name_prefix="pulse-model") as pool:
                # the model loads while this thread reads the vectors (both mostly in C, off the GIL)
                built = pool.submit(self._encoder_factory)
                self.semantic_index()
                model_id, encode = built.result()
            stored = self.store.collection_model(COLLECTION)
            if stored and stored != model_id:
                raise ModelMismatch(f"the archive was embedded with {stored!r}, but the configured model "
                                    f"is {model_id!r}; semantic search needs the same model "
                                    "(or `pulse embed --rebuild`)")
            self._encode = encode

    def encode(self, text: str) -> np.ndarray:
        self.load()
        with self._encoding:  # one query at a time: a fast tokenizer must not be used by two threads at once
            return np.asarray(self._encode([text]))[0]

    def semantic_index(self) -> SemanticIndex:
        with self._lock:
            if self.index is None:
                self.index = SemanticIndex(self.store, self._backend)
            else:
                self.index.refresh(self.store)
            return self.index

    def keyword(self, query: Query, depth: int, filters: Filters, limit: int,
                store: Store | None = None) -> tuple[list[tuple[str, float]], bool]:
        """All words first; while fewer than `limit` stories are found, stories with all words but one follow
        (3 to 6 words), then stories with any word (`Query.steps`). A step that more than BROAD stories
        match ranks those that match it in their headline instead, when enough of them do: BM25 costs per
        matching story, and the semantic side still reads every story."""
        store = store or self.store
        hits: list[tuple[str, float]] = []
        relaxed = False
        for n, step in enumerate(query.steps()):
            if n and len(hits) >= limit:
                break
            match, titles = query.with_not(step), query.in_titles(step)
            found = None
            if titles and store.count_matches(match) > BROAD:
                found = store.search_keyword(titles, depth, **filters.sql())
                if len(hits) + len(found) < limit:
                    found = None
            if found is None:
                found = store.search_keyword(match, depth, **filters.sql())
            seen = {h[0] for h in hits}
            more = [h for h in found if h[0] not in seen]
            relaxed = relaxed or (n > 0 and bool(more))
            hits += more[: depth - len(hits)]
        return hits, relaxed

    def semantic(self, query: Query, depth: int, filters: Filters, ms: dict[str, float] | None = None
                 ) -> list[tuple[str, float]]:
        allowed = (self.store.filtered_story_ids(cluster=filters.cluster, thread=filters.thread,
                                                 kinds=filters.kinds, impacts=filters.impacts)
                   if filters.by_story else None)
        t = time.perf_counter()
        qvec = self.encode(query.text)
        if ms is not None:
            ms["encode"] = round((time.perf_counter() - t) * 1000, 2)
        with self._lock:  # another thread may be reloading the index
            index = self.index or self.semantic_index()
            found = [f for f in index.search(qvec, depth, filters, allowed) if f[1] >= self.min_cosine]
        excluded = query.match_excluded()
        if excluded and found:
            drop = self.store.stories_matching(excluded, [sid for sid, _ in found])
            found = [f for f in found if f[0] not in drop]
        return found

    def search(self, text: str, *, mode: str = "hybrid", limit: int = 10, filters: Filters | None = None,
               deadline: float | None = None, by_story: bool = True) -> Results:
        """Search in `mode`; past `deadline` (a time.monotonic() value) SQLite work stops: SearchTimeout.
        `by_story`: one hit per cluster (the best-ranked telling), the other tellings that matched under it."""
        query = checked(text, mode, limit)
        filters = filters or Filters()
        if filters.kinds:
            known = self.store.brief_kinds()
            unknown = [k for k in filters.kinds if k not in known]
            if unknown:
                raise SearchError(f"--kind {unknown[0]!r} is not the kind of any brief here "
                                  f"(there are: {', '.join(known) or 'none yet'})")
        try:
            with self.store.time_limit(deadline):
                return self._search(text, query, mode, limit, filters, deadline, by_story)
        except sqlite3.OperationalError as exc:
            if interrupted(exc):
                raise SearchTimeout(TIMED_OUT) from None
            raise

    def _search(self, text: str, query: Query, mode: str, limit: int, filters: Filters,
                deadline: float | None, by_story: bool = True) -> Results:
        """The search itself, its SQLite work on this thread under `deadline` already."""
        _check_deadline(deadline)
        depth = max(self.depth, limit)
        started = time.perf_counter()
        ms: dict[str, float] = {}
        kw: list[tuple[str, float]] = []
        sem: list[tuple[str, float]] = []
        relaxed = False
        pending = None
        if mode == "keyword":
            kw, relaxed, ms["keyword"] = self._timed_keyword(text, query, depth if by_story else limit, filters,
                                                             limit, self.store)
        elif mode == "hybrid":  # keyword on a worker thread (SQLite releases the GIL) while the query is embedded
            pending = self._keyword_pool().submit(self._keyword_on_worker, text, query, depth, filters, limit,
                                                  deadline)
        if mode in ("semantic", "hybrid"):
            t = time.perf_counter()
            self.load()
            ms["load"] = round((time.perf_counter() - t) * 1000, 2)
            t = time.perf_counter()
            parts: dict[str, float] = {}
            sem = self.semantic(query, depth if mode == "hybrid" or by_story else limit, filters, parts)
            ms["semantic"] = round((time.perf_counter() - t) * 1000, 2)
            ms["encode"] = parts["encode"]  # part of "semantic"
        if pending is not None:
            kw, relaxed, ms["keyword"] = pending.result()
        _check_deadline(deadline)
        t = time.perf_counter()
        kw_rank = {sid: r for r, (sid, _) in enumerate(kw, 1)}
        sem_rank = {sid: r for r, (sid, _) in enumerate(sem, 1)}
        cosine = dict(sem)
        if mode == "keyword":
            ranked = [(sid, -score) for sid, score in kw]
        elif mode == "semantic":
            ranked = sem
        else:
            ranked = rrf([s for s, _ in kw], [s for s, _ in sem])
        ranked, also = self._by_story(ranked, limit) if by_story else (ranked[:limit], {})
        hits = self._hits(query, ranked, kw_rank, sem_rank, cosine)
        for h in hits:
            h.also = also.get(h.id, [])
        ms["fetch"] = round((time.perf_counter() - t) * 1000, 2)
        ms["total"] = round((time.perf_counter() - started) * 1000 - ms.get("load", 0.0), 2)
        return Results(text, mode, hits, ms, relaxed)

    def _keyword_pool(self) -> ThreadPoolExecutor:
        """Threads for the keyword side of hybrid searches (several: the web app searches from several threads)."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(4, thread_name_prefix="pulse-keyword")
            return self._pool

    def _keyword_on_worker(self, text: str, query: Query, depth: int, filters: Filters, limit: int,
                           deadline: float | None) -> tuple[list[tuple[str, float]], bool, float]:
        """The keyword side on a keyword thread, through that thread's connection, under `deadline`."""
        store = self.store
        with store.time_limit(deadline):
            return self._timed_keyword(text, query, depth, filters, limit, store)

    def _timed_keyword(self, text: str, query: Query, depth: int, filters: Filters, limit: int, store: Store
                       ) -> tuple[list[tuple[str, float]], bool, float]:
        """The keyword side on `store` (the worker's own connection in hybrid mode), with its milliseconds."""
        t = time.perf_counter()
        try:
            kw, relaxed = self.keyword(query, depth, filters, limit, store)
        except sqlite3.OperationalError as exc:  # a parser gap must still be one clear line
            if interrupted(exc):
                raise SearchTimeout(TIMED_OUT) from None
            raise SearchError(f"cannot search for {text!r}: {exc}") from None
        return kw, relaxed, round((time.perf_counter() - t) * 1000, 2)

    def _by_story(self, ranked: list[tuple[str, float]], limit: int
                  ) -> tuple[list[tuple[str, float]], dict[str, list[dict[str, str]]]]:
        """The first `limit` stories of the ranking counting each cluster once (its best-ranked telling), and
        for each kept hit the other tellings of its cluster that matched."""
        cards = self.store.search_cards([sid for sid, _ in ranked])
        kept: list[tuple[str, float]] = []
        also: dict[str, list[dict[str, str]]] = {}
        lead: dict[str, str] = {}
        for sid, score in ranked:
            card = cards.get(sid)
            if card is None:
                continue
            cid = card["cluster_id"]
            if cid and cid in lead:
                also[lead[cid]].append({"id": sid, "title": card["title"], "source": card["source"],
                                        "date": card["date"]})
                continue
            if len(kept) < limit:
                kept.append((sid, score))
                also[sid] = []
                if cid:
                    lead[cid] = sid
        return kept, also

    def _hits(self, query: Query, ranked: list[tuple[str, float]], kw_rank: dict[str, int],
              sem_rank: dict[str, int], cosine: dict[str, float]) -> list[Hit]:
        ids = [sid for sid, _ in ranked]
        cards = self.store.search_cards(ids)
        texts = self.store.text_prefixes(ids)
        snippets = self.store.snippets(query.highlight(), texts)
        hits = []
        for sid, score in ranked:
            card = cards.get(sid)
            if card is None:
                continue  # deleted since the index was loaded
            if sid in snippets:
                snippet, spans = split_snippet(snippets[sid])
            else:
                lead = " ".join(texts.get(sid, "")[:400].split())
                snippet, spans = (lead[:240].rsplit(" ", 1)[0] + "…" if len(lead) > 240 else lead), []
            hits.append(Hit(
                id=sid, title=card["title"], source=card["source"], date=card["date"], snippet=snippet,
                highlights=spans, cluster_id=card["cluster_id"], cluster_size=card["cluster_size"] or 1,
                cluster_sources=card["cluster_sources"] or 1, thread_id=card["thread_id"], slug=card["slug"],
                kind=card["kind"], impact=card["impact"],
                issue_title=card["issue_title"], issue_url=card["issue_url"], score=round(float(score), 6),
                keyword_rank=kw_rank.get(sid), semantic_rank=sem_rank.get(sid),
                cosine=round(cosine[sid], 4) if sid in cosine else None))
        return hits
