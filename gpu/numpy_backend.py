"""The CPU path: blocked NumPy, float32 arithmetic, exact tie rule (higher score, then lower index)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import check_k, check_matrix

TILE_ENTRIES = 1 << 24  # score-matrix entries held at once (64 MB of float32)


def normalize(x: np.ndarray) -> np.ndarray:
    """Unit rows in float32; zero rows stay zero (their cosine with anything is 0)."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


@dataclass(frozen=True)
class Prepared:
    """A corpus checked and normalised once (unit float32 rows), for many queries: a search index
    asks one query at a time, and re-normalising 100k rows per query would cost more than the scores."""

    vectors: np.ndarray
    dim: int
    __pulse_backend__ = "numpy"

    @property
    def shape(self):
        return self.vectors.shape


def prepare(corpus) -> Prepared:
    if isinstance(corpus, Prepared):
        return corpus
    c = check_matrix(np, np.asarray(corpus), "corpus")
    return Prepared(normalize(c), c.shape[1])


def rows(prepared: Prepared, which) -> Prepared:
    """The prepared corpus restricted to some rows (a slice stays a view)."""
    return Prepared(prepared.vectors[which], prepared.dim)


def _order(scores: np.ndarray, idx: np.ndarray, kk: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the best kk by (score desc, index asc)."""
    order = np.lexsort((idx, -scores), axis=-1)[:, :kk]
    return np.take_along_axis(scores, order, 1), np.take_along_axis(idx, order, 1)


def _tile_best(s: np.ndarray, kk: int, offset: int) -> tuple[np.ndarray, np.ndarray]:
    """Top kk of a score tile with the exact tie rule, without sorting the whole tile."""
    n = s.shape[1]
    if n <= kk:
        idx = np.broadcast_to(np.arange(n, dtype=np.int64) + offset, s.shape).copy()
        return s.copy(), idx
    part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
    kth = np.take_along_axis(s, part, 1).min(axis=1)
    vals = np.take_along_axis(s, part, 1)
    idx = part.astype(np.int64)
    crowded = np.nonzero((s >= kth[:, None]).sum(axis=1) > kk)[0]
    for r in crowded:  # ties straddle the cut: keep the lowest indices among equals
        above = np.nonzero(s[r] > kth[r])[0]
        equal = np.nonzero(s[r] == kth[r])[0][: kk - len(above)]
        keep = np.concatenate([above, equal])
        idx[r], vals[r] = keep, s[r, keep]
    return vals, idx + offset


def topk(queries, corpus, k: int):
    k = check_k(k)
    q = check_matrix(np, np.asarray(queries), "queries")
    unit = isinstance(corpus, Prepared)
    c = corpus.vectors if unit else check_matrix(np, np.asarray(corpus), "corpus", q.shape[1])
    if unit and c.shape[0] and corpus.dim != q.shape[1]:
        raise ValueError(f"corpus has dimension {corpus.dim}, expected {q.shape[1]}")
    nq, n = q.shape[0], c.shape[0]
    kk = min(k, n)
    if kk == 0 or nq == 0:
        return np.zeros((nq, kk), np.float32), np.zeros((nq, kk), np.int64)
    qn = normalize(q)
    tile = max(kk, TILE_ENTRIES // max(nq, 1))
    best_s = np.empty((nq, 0), np.float32)
    best_i = np.empty((nq, 0), np.int64)
    for start in range(0, n, tile):
        block = c[start:start + tile]
        s = qn @ (block if unit else normalize(block)).T
        vals, idx = _tile_best(s, kk, start)
        best_s, best_i = _order(np.hstack([best_s, vals]), np.hstack([best_i, idx]), kk)
    return best_s, best_i


def components(i, j, n: int):
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    i = np.asarray(i, dtype=np.int64).ravel()
    j = np.asarray(j, dtype=np.int64).ravel()
    if i.shape != j.shape:
        raise ValueError("i and j must have the same length")
    if n < 0 or (i.size and (min(i.min(), j.min()) < 0 or max(i.max(), j.max()) >= n)):
        raise ValueError(f"edge endpoints must lie in [0, {n})")
    if n == 0:
        return np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(i.size, np.int8), (i, j)), shape=(n, n))
    _, raw = connected_components(graph, directed=False)
    # canonical labels: the smallest node of each component, so both backends agree exactly
    smallest = np.full(raw.max() + 1, n, np.int64)
    np.minimum.at(smallest, raw, np.arange(n))
    return smallest[raw]
