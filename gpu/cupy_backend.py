"""The GPU path: custom CuPy kernels (see kernels.cu) around cuBLAS score tiles.

topk: the corpus (fp16, unit rows) is streamed in tiles; each tile's scores come
from one cuBLAS GEMM (fp16 in, fp32 accumulation, fp16 out) into a buffer small
enough to stay in L2, and our kernel keeps each block's best K in registers;
partial lists are merged by the same kernel, and the final candidates are
rescored exactly in fp32. The full Q x N score matrix never exists.

pairs_above: blocked GEMM tiles (upper triangle only when symmetric), pairs
emitted through an atomic counter with a small margin, then rescored exactly.

components: union-find in one kernel (atomicCAS hooks larger roots under
smaller), then path compression: labels are each component's smallest node.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cupy as cp
import numpy as np

from .checks import check_k, check_matrix, check_threshold

K_CHOICES = (4, 8, 12, 16, 24, 32)
TILE_ENTRIES = 1 << 24  # fp16 score entries per tile: 32 MB, resident in H100's 50 MB L2
SLICE = 2048  # columns per block in the tile kernel
FIRST_TILE = 4096  # the first tile sets the running threshold; it fits the candidate buffer whole
MERGE_SLICE = 4096
THREADS = 128
PAIR_MARGIN = 4e-3  # fp16 score error bound for unit vectors, d <= 4096, with fp32 accumulation

_module: cp.RawModule | None = None


def module() -> cp.RawModule:
    global _module
    if _module is None:
        names = [f"{kern}<{k}>" for kern in ("topk_half", "topk_merge", "compact") for k in K_CHOICES]
        src = Path(__file__).with_name("kernels.cu").read_text()
        _module = cp.RawModule(code=src, options=("--std=c++17",), name_expressions=names)
    return _module


def _cublas():
    try:
        from cupy_backends.cuda.libs import cublas
    except ImportError:  # older CuPy
        from cupy.cuda import cublas
    return cublas


_ONE = np.array(1.0, np.float32)
_ZERO = np.array(0.0, np.float32)


def gemm_half(a16: cp.ndarray, b16: cp.ndarray, out16: cp.ndarray) -> None:
    """out[m, n] = a16[m, d] @ b16[n, d].T in fp16 with fp32 accumulation (cuBLAS GemmEx)."""
    cublas = _cublas()
    m, d = a16.shape
    n = b16.shape[0]
    handle = cp.cuda.device.get_cublas_handle()
    cublas.setPointerMode(handle, 0)  # host pointers for alpha/beta
    # row-major out[m, n] is column-major out^T[n, m] = b16 (as [d, n] col-major)^T @ a16 (as [d, m])
    cublas.gemmEx(handle, 1, 0, n, m, d, _ONE.ctypes.data, b16.data.ptr, 2, d, a16.data.ptr, 2, d,
                  _ZERO.ctypes.data, out16.data.ptr, 2, n, 68, -1)


@dataclass
class Prepared:
    """A corpus kept on the GPU as unit rows in fp16: prepare once, query many times."""

    vectors: cp.ndarray
    __pulse_backend__ = "cupy"

    @property
    def shape(self):
        return self.vectors.shape


def prepare(corpus) -> Prepared:
    if isinstance(corpus, Prepared):
        return corpus
    c = check_matrix(cp, cp.asarray(corpus), "corpus")
    c32 = c.astype(cp.float32, copy=False)
    norms = cp.linalg.norm(c32, axis=1, keepdims=True)
    unit = cp.where(norms > 0, c32 / cp.where(norms > 0, norms, 1), 0)
    return Prepared(cp.ascontiguousarray(unit.astype(cp.float16)))


def _unit32(x: cp.ndarray) -> cp.ndarray:
    x = x.astype(cp.float32, copy=False)
    norms = cp.linalg.norm(x, axis=1, keepdims=True)
    return cp.ascontiguousarray(cp.where(norms > 0, x / cp.where(norms > 0, norms, 1), 0))


def _pick_k(kk: int) -> int:
    """Candidates kept per query: k plus a margin for fp16 score rounding, rescored exactly at the end."""
    want = min(32, kk + max(4, kk // 2))
    return next(k for k in K_CHOICES if k >= want)


def topk(queries, corpus, k: int):
    k = check_k(k)
    q = check_matrix(cp, cp.asarray(queries), "queries")
    prep = prepare(corpus)
    c16 = prep.vectors
    if c16.shape[0] and c16.shape[1] != q.shape[1]:
        raise ValueError(f"corpus has dimension {c16.shape[1]}, expected {q.shape[1]}")
    nq, n = q.shape[0], c16.shape[0]
    kk = min(k, n)
    if kk == 0 or nq == 0:
        return cp.zeros((nq, kk), cp.float32), cp.zeros((nq, kk), cp.int64)
    if kk > K_CHOICES[-1]:
        return _topk_sorted(q, c16, kk)
    out_s = cp.empty((nq, kk), cp.float32)
    out_i = cp.empty((nq, kk), cp.int64)
    step = 65535  # grid.y limit
    for q0 in range(0, nq, step):
        _topk_rows(q[q0:q0 + step], c16, kk, out_s[q0:q0 + step], out_i[q0:q0 + step])
    return out_s, out_i


def _setup(q: cp.ndarray, c16: cp.ndarray, kk: int):
    """What both top-k paths start from: kernels, list size, shapes, unit queries in fp32 and fp16."""
    q32 = _unit32(q)
    return module(), _pick_k(kk), q.shape[0], c16.shape[0], q32, q32.astype(cp.float16)


def _topk_rows(q: cp.ndarray, c16: cp.ndarray, kk: int, out_s: cp.ndarray, out_i: cp.ndarray) -> None:
    """Streaming top-k: GEMM tile -> threshold filter -> warp compaction, per tile; exact rescoring at the end."""
    mod, K, nq, n, q32, q16 = _setup(q, c16, kk)
    cap = max(4096, min(1 << 18, TILE_ENTRIES // nq))
    tile = min(n, max(SLICE, TILE_ENTRIES // nq))
    first = min(n, FIRST_TILE)
    best_s = cp.full((nq, K), -cp.inf, cp.float32)
    best_i = cp.full((nq, K), -1, cp.int64)
    tau = cp.full(nq, -cp.inf, cp.float32)
    cs = cp.empty((nq, cap), cp.float32)
    ci = cp.empty((nq, cap), cp.int64)
    count = cp.zeros(nq, cp.uint32)
    overflow = cp.zeros(1, cp.int32)
    buf = cp.empty(nq * max(tile, first), cp.float16)
    filt, comp = mod.get_function("filter_tile"), mod.get_function(f"compact<{K}>")
    t0 = 0
    while t0 < n:
        # tiles double in width up to the L2 budget: each new tile is about as wide as everything seen so far,
        # so about K of its elements beat the running threshold, whatever N and Q are
        cols = min(n - t0, first if t0 == 0 else min(tile, t0))
        s = buf[: nq * cols].reshape(nq, cols)
        gemm_half(q16, c16[t0:t0 + cols], s)
        filt((min(-(-cols // 2048), 4096), nq), (256,), (s, np.int32(cols), np.int64(t0), tau, cs, ci, count, np.int32(cap)))
        comp((-(-nq // 8),), (256,), (np.int32(nq), best_s, best_i, tau, cs, ci, count, np.int32(cap), overflow))
        t0 += cols
    if int(overflow.get()[0]):  # adversarial order (e.g. a corpus sorted by score): take the exhaustive path
        _topk_rows_exhaustive(q, c16, kk, out_s, out_i)
        return
    mod.get_function("rescore")((nq,), (THREADS,), (q32, c16, best_i, np.int32(K), np.int32(q.shape[1]),
                                                  np.int32(kk), out_s, out_i))


def _topk_rows_exhaustive(q: cp.ndarray, c16: cp.ndarray, kk: int, out_s: cp.ndarray, out_i: cp.ndarray) -> None:
    """Every slice of every tile keeps its own best K; partial lists are merged. Exact whatever the order."""
    mod, K, nq, n, q32, q16 = _setup(q, c16, kk)
    tile = min(n, max(SLICE, (TILE_ENTRIES // nq) // SLICE * SLICE))
    slots = sum(-(-min(tile, n - t0) // SLICE) for t0 in range(0, n, tile))
    part_s = cp.empty((nq, slots * K), cp.float32)
    part_i = cp.empty((nq, slots * K), cp.int64)
    buf = cp.empty(nq * tile, cp.float16)
    kern = mod.get_function(f"topk_half<{K}>")
    slot = 0
    for t0 in range(0, n, tile):
        cols = min(tile, n - t0)
        s = buf[: nq * cols].reshape(nq, cols)
        gemm_half(q16, c16[t0:t0 + cols], s)
        nsl = -(-cols // SLICE)
        kern((nsl, nq), (THREADS,), (s, np.int32(cols), np.int64(cols), np.int32(SLICE), np.int64(t0),
                                     part_s, part_i, np.int32(slots * K), np.int32(slot)))
        slot += nsl
    merge = mod.get_function(f"topk_merge<{K}>")
    while part_s.shape[1] > K:
        cols = part_s.shape[1]
        nsl = -(-cols // MERGE_SLICE)
        nxt_s = cp.empty((nq, nsl * K), cp.float32)
        nxt_i = cp.empty((nq, nsl * K), cp.int64)
        merge((nsl, nq), (THREADS,), (part_s, part_i, np.int32(cols), np.int32(MERGE_SLICE), nxt_s, nxt_i,
                                      np.int32(nsl * K)))
        part_s, part_i = nxt_s, nxt_i
    mod.get_function("rescore")((nq,), (THREADS,), (q32, c16, part_i, np.int32(K), np.int32(q.shape[1]),
                                                  np.int32(kk), out_s, out_i))


def _topk_sorted(q: cp.ndarray, c16: cp.ndarray, kk: int):
    """k above the kernel's register lists: tiled fp32 scores and a stable sort per tile."""
    q32 = _unit32(q)
    best_s = cp.empty((q.shape[0], 0), cp.float32)
    best_i = cp.empty((q.shape[0], 0), cp.int64)
    tile = max(kk, TILE_ENTRIES // max(q.shape[0], 1))
    for t0 in range(0, c16.shape[0], tile):
        c = c16[t0:t0 + tile].astype(cp.float32)
        norms = cp.linalg.norm(c, axis=1)
        s = (q32 @ c.T) / cp.where(norms > 0, norms, 1)[None, :]
        s = cp.concatenate([best_s, s], axis=1)
        idx = cp.concatenate([best_i, cp.broadcast_to(cp.arange(t0, t0 + c.shape[0]), (q.shape[0], c.shape[0]))], axis=1)
        # stable sort by index first, then by score: equal scores keep index order
        o = cp.argsort(idx, axis=1)
        s, idx = cp.take_along_axis(s, o, 1), cp.take_along_axis(idx, o, 1)
        o = cp.argsort(-s, axis=1, kind="stable") if "kind" in cp.argsort.__code__.co_varnames else cp.argsort(-s, axis=1)
        best_s = cp.take_along_axis(s, o, 1)[:, :kk]
        best_i = cp.take_along_axis(idx, o, 1)[:, :kk]
    return best_s, best_i


def pairs_above(vectors, threshold: float, other=None):
    t = check_threshold(threshold)
    a16 = prepare(vectors).vectors
    b16 = a16 if other is None else prepare(other).vectors
    if other is not None and a16.shape[0] and b16.shape[0] and a16.shape[1] != b16.shape[1]:
        raise ValueError(f"other has dimension {b16.shape[1]}, expected {a16.shape[1]}")
    na, nb, d = a16.shape[0], b16.shape[0], a16.shape[1] if a16.ndim == 2 else 0
    empty = (cp.zeros(0, cp.int64), cp.zeros(0, cp.int64), cp.zeros(0, cp.float32))
    if na == 0 or nb == 0:
        return empty
    mod = module()
    emit = mod.get_function("emit_pairs")
    side = int(np.sqrt(TILE_ENTRIES))
    rows_blk, cols_blk = min(na, side), min(nb, side)
    buf = cp.empty(rows_blk * cols_blk, cp.float16)
    cap = 1 << 20
    oi, oj = cp.empty(cap, cp.int64), cp.empty(cap, cp.int64)
    count = cp.zeros(1, cp.uint64)
    symmetric = other is None
    tiles = [(r0, c0) for r0 in range(0, na, rows_blk)
             for c0 in range(r0 - r0 % cols_blk if symmetric else 0, nb, cols_blk)]
    i = 0
    while i < len(tiles):
        batch = tiles[i:i + 64]
        before = int(count.get()[0])
        for r0, c0 in batch:
            rows, cols = min(rows_blk, na - r0), min(cols_blk, nb - c0)
            s = buf[: rows * cols].reshape(rows, cols)
            gemm_half(a16[r0:r0 + rows], b16[c0:c0 + cols], s)
            emit((1024,), (256,), (s, np.int32(rows), np.int32(cols), np.int64(r0), np.int64(c0),
                                   np.float32(t - PAIR_MARGIN), np.int32(symmetric), count, np.uint64(cap), oi, oj))
        total = int(count.get()[0])
        if total > cap:  # grow and redo this batch of tiles
            cap = 1 << int(np.ceil(np.log2(total * 1.5)))
            oi2, oj2 = cp.empty(cap, cp.int64), cp.empty(cap, cp.int64)
            oi2[:before], oj2[:before] = oi[:before], oj[:before]
            oi, oj = oi2, oj2
            count[0] = before
            continue
        i += len(batch)
    m = int(count.get()[0])
    if m == 0:
        return empty
    pi, pj = oi[:m], oj[:m]
    scores = cp.empty(m, cp.float32)
    mod.get_function("pair_scores")((-(-m // 256),), (256,), (a16, b16, pi, pj,
                                                              np.int64(m), np.int32(d), scores))
    keep = scores >= t
    pi, pj, scores = pi[keep], pj[keep], scores[keep]
    order = cp.lexsort(cp.stack([pj, pi]))
    return pi[order], pj[order], scores[order]


def components(i, j, n: int):
    i = cp.asarray(i, dtype=cp.int64).ravel()
    j = cp.asarray(j, dtype=cp.int64).ravel()
    if i.shape != j.shape:
        raise ValueError("i and j must have the same length")
    if n < 0 or (i.size and (int(cp.minimum(i.min(), j.min())) < 0 or int(cp.maximum(i.max(), j.max())) >= n)):
        raise ValueError(f"edge endpoints must lie in [0, {n})")
    parent = cp.arange(n, dtype=cp.int64)
    if n == 0:
        return parent
    mod = module()
    m = i.size
    if m:
        mod.get_function("uf_union")((min(4096, -(-m // 256)),), (256,), (parent, i, j, np.int64(m)))
    mod.get_function("uf_compress")((min(4096, -(-n // 256)),), (256,), (parent, np.int64(n)))
    return parent
