"""The GPU path: custom CuPy kernels, cuBLAS only in the exhaustive fallback.

topk picks one path per call (`topk`, `_batch_path`); bench/profile/paths.py times each against the others:
- up to 64 queries (search's one query; a small night): one pass over the corpus with every query held by
  every block, then one merge launch that rescores exactly (kernels_onepass.cu). Off Hopper, larger batches
  take it 64 queries at a time.
- on Hopper (d up to 384), more than 32 queries, and 17-32 from 300k rows (the nightly cluster stage): a one
  pass on wgmma (kernels_sm90.cu wgmma_topk, sm90.py) with the same kind of merge.
- if its candidate buffers overflow (many rows tie near a query's best): the multi-pass filter (wgmma_filter,
  kernels.cu compact): passes of geometrically growing width keep only scores at or above each query's
  running threshold, then exact fp32 rescoring.
- if that overflows too (an adversarial order): the exhaustive path (cuBLAS tiles, per-slice top-K, merges),
  exact whatever the order.
- k above 32 (hybrid search asks for its depth): tiled fp32 scores and CuPy's stable argsort.
The paths launch through gpu/launch.py (arguments packed once per thread and shape): host time is most of
a small call.

components: union-find in one kernel (atomicCAS hooks larger roots under smaller), then path compression:
labels are each component's smallest node.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import cupy as cp
import numpy as np

from . import sm90
from .checks import check_k, check_matrix
from .launch import Launch

K_CHOICES = (4, 8, 12, 16, 24, 32)
TILE_ENTRIES = 1 << 24  # fp16 score entries per cuBLAS tile (exhaustive path): 32 MB, resident in L2
SLICE = 2048  # columns per block in the exhaustive tile kernel
MERGE_SLICE = 4096
THREADS = 128
PAD = 64  # corpus and query rows are zero-padded to a multiple of the kernels' k-step
FIRST = 1024  # the multi-pass filter's first pass keeps every score: its K-th best seeds the threshold
QUERY_CHUNK = 8192  # queries per call of the streaming path (bounds the candidate buffers)


_module: cp.RawModule | None = None
_functions: dict[str, cp.RawKernel] = {}


def _source(name: str, *headers: str) -> str:
    """A kernel file with the shared ordering rule (order.cuh) and any other headers in front of it (one
    text, so CuPy's compile cache, keyed on the source, sees a change in any of them)."""
    here = Path(__file__).parent
    return "".join((here / f).read_text() for f in ("order.cuh",) + headers + (name,))


def module() -> cp.RawModule:
    global _module
    if _module is None:
        names = [f"{kern}<{k}>" for kern in ("topk_half", "topk_merge", "compact") for k in K_CHOICES]
        _module = cp.RawModule(code=_source("kernels.cu"), options=("--std=c++17",), name_expressions=names)
        _functions.clear()
    return _module


def kernel(name: str) -> cp.RawKernel:
    """A compiled kernel, looked up once (launch overhead matters for small batches)."""
    f = _functions.get(name)
    if f is None:
        f = _functions[name] = module().get_function(name)
    return f


@lru_cache(maxsize=1)
def _cublas():
    try:
        from cupy_backends.cuda.libs import cublas
    except ImportError:  # older CuPy
        from cupy.cuda import cublas
    return cublas


_ONE = np.array(1.0, np.float32)
_ZERO = np.array(0.0, np.float32)
_ONE_PTR, _ZERO_PTR = _ONE.ctypes.data, _ZERO.ctypes.data  # asked once: numpy's .ctypes costs microseconds


def gemm_half(a16: cp.ndarray, b16: cp.ndarray, out16: cp.ndarray) -> None:
    """out[m, n] = a16[m, d] @ b16[n, d].T in fp16 with fp32 accumulation (cuBLAS GemmEx); rows of a16 and
    b16 contiguous, out16 contiguous."""
    (m, d), n = a16.shape, b16.shape[0]
    cublas = _cublas()
    handle = cp.cuda.device.get_cublas_handle()
    cublas.setPointerMode(handle, 0)  # host pointers for alpha/beta
    # row-major out[m, n] is column-major out^T[n, m] = b (as [d, n] col-major)^T @ a (as [d, m])
    cublas.gemmEx(handle, 1, 0, n, m, d, _ONE_PTR, b16.data.ptr, 2, b16.strides[0] // 2, a16.data.ptr, 2,
                  a16.strides[0] // 2, _ZERO_PTR, out16.data.ptr, 2, n, 68, -1)


@dataclass
class Prepared:
    """A corpus kept on the GPU as unit rows in fp16, zero-padded to a multiple of PAD columns (zeros change
    no dot product): prepare once, query many times. `dim` is the caller's dimension."""

    vectors: cp.ndarray
    dim: int
    __pulse_backend__ = "cupy"

    @property
    def shape(self):
        return (self.vectors.shape[0], self.dim)


def rows(prepared: Prepared, which) -> Prepared:
    """The prepared corpus restricted to some rows (a slice stays a view; an index array may be NumPy)."""
    if isinstance(which, np.ndarray):
        which = cp.asarray(which)
    return Prepared(prepared.vectors[which], prepared.dim)


def _padded(d: int) -> int:
    return max(PAD, -(-d // PAD) * PAD)


def prepare(corpus) -> Prepared:
    if isinstance(corpus, Prepared):
        return corpus
    c = check_matrix(cp, cp.asarray(corpus), "corpus")
    return Prepared(_unit(c, _padded(c.shape[1]), cp.float16), c.shape[1])


def _unit(x: cp.ndarray, dp: int, dtype=cp.float32) -> cp.ndarray:
    """Unit rows (computed in fp32; zero rows stay zero), stored as dtype and zero-padded to dp columns."""
    out = cp.zeros((x.shape[0], dp), dtype)
    if x.shape[0]:
        x = x.astype(cp.float32, copy=False)
        norms = cp.linalg.norm(x, axis=1, keepdims=True)
        out[:, : x.shape[1]] = cp.where(norms > 0, x / cp.where(norms > 0, norms, 1), 0)
    return out


@lru_cache(maxsize=None)
def _pick_k(kk: int) -> int:
    """Candidates kept per query: k plus a margin for fp16 score rounding, rescored exactly at the end."""
    want = min(32, kk + max(4, kk // 2))
    return next(k for k in K_CHOICES if k >= want)


def topk(queries, corpus, k: int):
    k = check_k(k)
    q = queries if type(queries) is cp.ndarray else cp.asarray(queries)
    q = check_matrix(cp, q, "queries", finite=False)  # the kernels check, without a sync
    prep = prepare(corpus)
    c16 = prep.vectors
    if c16.shape[0] and prep.dim != q.shape[1]:
        raise ValueError(f"corpus has dimension {prep.dim}, expected {q.shape[1]}")
    nq, n = q.shape[0], c16.shape[0]
    kk = min(k, n)
    if kk == 0 or nq == 0:
        return cp.zeros((nq, kk), cp.float32), cp.zeros((nq, kk), cp.int64)
    if kk > K_CHOICES[-1]:
        return _topk_sorted(q, c16, kk)
    path = _batch_path(nq, n, c16.shape[1], kk)
    if path == "one pass" and nq <= ONEPASS_MAX_QUERIES:
        return _onepass_topk(q, c16, kk)
    if path == "wgmma one pass" and nq <= QUERY_CHUNK:  # a batch that fits is passed whole: slicing costs host time
        out_s, out_i, done = _wgmma_topk(q, c16, kk)
        if not done:
            _topk_rows(q, c16, kk, out_s, out_i)
        return out_s, out_i
    out_s, out_i = _outputs(nq, kk)
    chunk = ONEPASS_MAX_QUERIES if path == "one pass" else QUERY_CHUNK
    for q0 in range(0, nq, chunk):
        part = slice(q0, q0 + chunk)
        qp, sp, ip = q[part], out_s[part], out_i[part]
        if path == "one pass":
            _onepass_topk(qp, c16, kk, sp, ip)
        elif not (path == "wgmma one pass" and _wgmma_topk(qp, c16, kk, sp, ip)[2]):
            _topk_rows(qp, c16, kk, sp, ip)
    return out_s, out_i


def _outputs(nq: int, kk: int) -> tuple[cp.ndarray, cp.ndarray]:
    """The scores and indices a call returns, in one allocation (one allocation costs less host time)."""
    mem = cp.cuda.alloc(nq * kk * 12)
    return cp.ndarray((nq, kk), cp.float32, mem + nq * kk * 8), cp.ndarray((nq, kk), cp.int64, mem)


def _batch_path(nq: int, n: int, dp: int, kk: int) -> str:
    """The path for a call with k up to 32 (bench/profile/paths.py times them against each other). Hopper's
    wgmma one pass for more than 32 queries, and for 17-32 from 300k rows, where the mma.sync one pass is
    bound by its MMAs (below that, its launches cost more than the scoring saves). Otherwise the mma.sync
    one pass, 64 queries at a time; where neither fits (d over 1024, 2^31 rows), the multi-pass path."""
    if nq >= WGMMA_MIN_QUERIES and n < 2**31 and dp <= sm90.MAX_D:
        if (nq >= WGMMA_ALL_ROWS or n >= WGMMA_MIN_ROWS) and sm90.topk_kernel(_pick_k(kk)) is not None:
            return "wgmma one pass"
    if n < 2**31 and _onepass_rows(cp.cuda.runtime.getDevice(), min(nq, ONEPASS_MAX_QUERIES), dp):
        return "one pass"
    return "multi-pass"


_scratch_local = threading.local()  # per thread: the kernels' scratch buffers and packed launches (_scratch)


def _query_type(q: cp.ndarray) -> tuple[cp.ndarray, str]:
    """Queries as the one-pass kernels read them: fp32 or fp16 as given (C order), anything else
    as fp32; with the kernels' name for the type. A conversion would cost a launch and an allocation."""
    if q.dtype == cp.float16:
        return cp.ascontiguousarray(q), "__half"
    return cp.ascontiguousarray(q, dtype=cp.float32), "float"


ONEPASS_MAX_QUERIES = 64  # queries a one-pass call holds (larger batches off Hopper take it in chunks)
ONEPASS_NQ = (16, 32, 64)  # query rows a block holds (mma tiles of 8): the smallest that takes the batch
ONEPASS_BN, ONEPASS_STAGES, ONEPASS_LDS, ONEPASS_CAP = 128, 3, 72, 192  # must match kernels_onepass.cu
ONEPASS_MAX_DIM = 1024  # onepass_merge keeps the unit query in shared memory
ONEPASS_MAX_BLOCKS = 1024  # and every block's best score (its lists' heads)
_onepass_compiled: dict[tuple, tuple[cp.RawKernel, cp.RawKernel]] = {}


def _onepass_smem(nq_rows: int, dp: int) -> int:
    """Queries + ring + candidate buffers (score, row) + thresholds and counts (kernels_onepass.cu)."""
    return (nq_rows * (dp + 8) * 2 + ONEPASS_STAGES * ONEPASS_BN * ONEPASS_LDS * 2
            + nq_rows * ONEPASS_CAP * 8 + nq_rows * 8)


@lru_cache(maxsize=None)
def _onepass_rows(device: int, nq: int, dp: int) -> int | None:
    """Query rows per block for this batch, or None where its shared memory would not fit."""
    if dp > ONEPASS_MAX_DIM:
        return None
    limit = _smem_optin(device)
    return next((r for r in ONEPASS_NQ if r >= nq and _onepass_smem(r, dp) <= limit), None)


@lru_cache(maxsize=None)
def _smem_optin(device: int) -> int:
    attr = getattr(cp.cuda.runtime, "cudaDevAttrMaxSharedMemoryPerBlockOptin", 97)
    return cp.cuda.runtime.deviceGetAttribute(attr, device)


def _onepass_kernels(rows: int, K: int, qt: str = "float") -> tuple[cp.RawKernel, cp.RawKernel]:
    """onepass_topk and onepass_merge for this shape, compiled on first use. The scan kernel may use all
    the shared memory a block can have: a call's size depends on d, and one function serves every d."""
    device = cp.cuda.runtime.getDevice()
    key = (device, rows, K, qt)
    if key not in _onepass_compiled:
        names = [f"onepass_topk<{rows},{K},{_onepass_groups(rows)},{qt}>", f"onepass_merge<{K},{qt}>"]
        mod = cp.RawModule(code=_source("kernels_onepass.cu", "half.cuh", "warplist.cuh", "mma.cuh", "depend.cuh"),
                           options=("--std=c++17",), name_expressions=names)
        scan, merge = (mod.get_function(x) for x in names)
        scan.max_dynamic_shared_size_bytes = _smem_optin(device)
        _onepass_compiled[key] = (scan, merge)
    return _onepass_compiled[key]


def _onepass_groups(rows: int) -> int:
    """Warp groups that split the queries (kernels_onepass.cu, WQ): two from 32 query rows up."""
    return 2 if rows >= 32 else 1


@lru_cache(maxsize=None)
def _resident(fn_ptr: int, threads: int, smem: int, device: int, guess: int = 1) -> int:
    """Blocks of a kernel that fit the whole GPU at once with this much dynamic shared memory (per
    multiprocessor: the driver's answer, or `guess` where CuPy cannot ask)."""
    try:
        per_sm = cp.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor(fn_ptr, threads, smem)
    except Exception:  # noqa: BLE001 - an older CuPy without the occupancy call
        per_sm = guess
    return max(1, per_sm) * sm90.multiprocessors(device)


def _scratch(key: tuple, make):
    """Buffers reused by calls on the same thread, device and stream (stream order keeps calls apart)."""
    by_key = getattr(_scratch_local, "by_key", None)
    if by_key is None:
        by_key = _scratch_local.by_key = {}
    key = (cp.cuda.runtime.getDevice(), cp.cuda.get_current_stream().ptr) + key
    if key not in by_key:
        by_key[key] = make()
    return by_key[key]


def _host_flags(size: int, name: str = "flags") -> tuple[cp.ndarray, np.ndarray]:
    """int32 flags a kernel writes straight into pinned host memory (reachable from the device under unified
    addressing), read once the stream is synchronised: the one wait a call needs to report a bad query,
    without a copy launch (a device flag would need its own copy back). One word per question (any bad
    query, an overflow), not one per query: no reduction over flags in a call's tail."""
    def make():
        mem = cp.cuda.PinnedMemoryPointer(cp.cuda.PinnedMemory(4 * size, cp.cuda.runtime.hostAllocMapped), 0)
        dev = cp.ndarray((size,), cp.int32, cp.cuda.MemoryPointer(cp.cuda.UnownedMemory(mem.ptr, 4 * size, mem), 0))
        return dev, np.frombuffer(mem, np.int32, size)
    return _scratch((name, size), make)


def _raise_if_flagged(host: np.ndarray) -> None:
    """Wait for the call, then report a bad query (host[0], set by its kernel)."""
    cp.cuda.get_current_stream().synchronize()
    if host[0]:
        raise ValueError("queries contains NaN or infinite values")


class _OnePassPlan(NamedTuple):
    """What a one-pass call's shape decides: kernels, launch sizes, and the launch scalars made once."""

    scan: cp.RawKernel
    merge: cp.RawKernel
    K: int
    blocks: int
    threads: int
    smem: int
    nq: np.int32
    per_block: int
    blocks32: np.int32


@lru_cache(maxsize=1024)
def _onepass_plan(device: int, nq: int, n: int, dp: int, kk: int, qt: str) -> _OnePassPlan:
    """Everything about a call that its shape decides, worked out once (a search runs the same shape again
    and again, and host time is most of a small call)."""
    K = _pick_k(kk)
    rows = _onepass_rows(device, nq, dp)
    smem = _onepass_smem(rows, dp)
    scan, merge = _onepass_kernels(rows, K, qt)
    threads = 256 * _onepass_groups(rows)
    tiles = -(-n // ONEPASS_BN)
    per_block = -(-tiles // min(tiles, _resident(scan.kernel.ptr, threads, smem, device), ONEPASS_MAX_BLOCKS))
    blocks = -(-tiles // per_block)
    return _OnePassPlan(scan, merge, K, blocks, threads, smem, np.int32(nq), per_block, np.int32(blocks))


def _onepass_topk(q: cp.ndarray, c16: cp.ndarray, kk: int, out_s: cp.ndarray | None = None,
                  out_i: cp.ndarray | None = None) -> tuple[cp.ndarray, cp.ndarray]:
    """One pass over the corpus (each block a contiguous run of rows, every query held), then one merge
    launch that rescores each query's best K exactly. Two launches whatever the corpus size; the host work
    that the first does not need (outputs, flags) is done while it runs. Outputs allocated unless given."""
    q, qt = _query_type(q)
    nq, d = q.shape
    n, dp = c16.shape
    p = _onepass_plan(cp.cuda.runtime.getDevice(), nq, n, dp, kk, qt)
    scan, merge, host = _scratch(("onepass", p.scan.kernel.ptr, p.merge.kernel.ptr, p.blocks, nq), lambda: _onepass_launches(p))
    scan.smem = p.smem  # d and n change the launch, not the buffers
    merge.smem = _merge_smem(p.blocks, dp)
    host[0] = 0  # the merge sets it for a bad query
    scan(q.data.ptr, d, c16.data.ptr, dp, n, p.per_block)
    if out_s is None:
        out_s, out_i = _outputs(nq, kk)
    merge(q.data.ptr, d, c16.data.ptr, dp, n, out_s.data.ptr, out_i.data.ptr, kk)
    _raise_if_flagged(host)
    return out_s, out_i


MERGE_THREADS = 128  # kernels_onepass.cu merge::THREADS: four warps a query


def _merge_smem(regions: int, dp: int) -> int:
    """Dynamic shared memory of a merge block (kernels_onepass.cu block_merge): the unit query, each region's
    count and head, and each warp's list of the regions it reads."""
    return 4 * dp + 8 * regions + 4 * MERGE_THREADS * -(-regions // MERGE_THREADS)


def _onepass_launches(p: _OnePassPlan) -> tuple[Launch, Launch, np.ndarray]:
    """The one pass's two launches with their buffers (each block's best K per query) and flags packed in."""
    size = p.blocks * int(p.nq) * p.K
    part_s, part_i = cp.empty(size, cp.float32), cp.empty(size, cp.int32)
    bad, host = _host_flags(1, "onepass")
    zero32, zero64, none = np.int32(0), np.int64(0), cp.empty(0, cp.float32)
    scan = Launch(p.scan, p.blocks, p.threads, (none, p.nq, zero32, none, zero32, zero64, zero32, part_s, part_i), p.smem,
                  varying=(0, 2, 3, 4, 5, 6))
    merge = Launch(p.merge, int(p.nq), MERGE_THREADS, (none, zero32, none, zero32, zero64, p.nq, part_s, part_i, p.blocks32,
                                             none, none, zero32, bad), varying=(0, 1, 2, 3, 4, 9, 10, 11))
    return scan, merge, host


WGMMA_MIN_QUERIES, WGMMA_MIN_ROWS = 17, 300_000  # the wgmma one pass from 17 queries; up to 32, from 300k rows
WGMMA_ALL_ROWS = 33  # and from 33 queries against any corpus
_wgmma_compiled: dict[tuple, tuple[cp.RawKernel, ...]] = {}


SEED_ROWS = 65536  # corpus rows sampled for the queries' seeds (_seed) ...
SEED_SHARE = 4  # ... at most 1/4 of the corpus (the seed costs a quarter of the pass's products at most)
SEED_MAX_SPLITS = 64  # runs of the sample per query tile: seed_floor reads 16 maxima per run and query
SEED_MARGIN = 1e-4  # the sample's fp32 sums against the pass's sums of the same fp16 products: last bits only


def _seed_rows(n: int) -> int:
    """Sample size for the seeds, every (n // sample)-th row of the corpus; 0 for none."""
    return min(SEED_ROWS, n // SEED_SHARE)


def _seed_sample(nq: int, n: int) -> tuple[int, int]:
    """The seeds' sample (rows, see _seed_rows) and wgmma_seed's runs of it per query tile. The sample is
    rounded to the nearest whole number of tiles for every run: the longest run sets the kernel's time, so
    a sample in runs of unequal length costs as much as one of the longest run's length everywhere."""
    sample = _seed_rows(n)
    if not sample:
        return 0, 0
    splits = min(sm90.splits(nq, sample), SEED_MAX_SPLITS)
    run = splits * sm90.BN
    if run <= n:
        sample = max(1, round(sample / run)) * run
    return sample, splits


class _WgmmaPlan(NamedTuple):
    """What a wgmma one-pass call's shape decides (see _onepass_plan)."""

    scan: cp.RawKernel | None
    seeder: cp.RawKernel | None  # wgmma_seed: the sample's group maxima
    unit: cp.RawKernel
    floor: cp.RawKernel  # seed_floor: a query's seed from its maxima
    merge: cp.RawKernel  # regions_merge: a query's candidates from every block, selected and rescored
    K: int
    blocks: int
    smem: int
    sample: int  # rows sampled for the seeds (0: none), every stride-th row of the corpus
    stride: int
    seed_splits: int  # wgmma_seed's runs of the sample per query tile
    key: tuple  # of the call's scratch buffers
    nq: np.int32
    dp: np.int32
    splits: np.int32


def _wgmma_helpers(K: int, qt: str) -> tuple[cp.RawKernel, cp.RawKernel, cp.RawKernel]:
    """unit_half, seed_floor and regions_merge for lists of K (the wgmma one pass's helpers), built once."""
    key = (cp.cuda.runtime.getDevice(), K, qt)
    if key not in _wgmma_compiled:
        names = [f"unit_half<{qt}>", f"seed_floor<{K},{qt}>", f"regions_merge<{K},{qt},{sm90.TOPK_REGIONS},{sm90.TOPK_CAP}>"]
        mod = cp.RawModule(code=_source("kernels_onepass.cu", "half.cuh", "warplist.cuh", "mma.cuh", "depend.cuh"),
                           options=("--std=c++17",), name_expressions=names)
        _wgmma_compiled[key] = tuple(mod.get_function(x) for x in names)
    return _wgmma_compiled[key]


@lru_cache(maxsize=1024)
def _wgmma_plan(device: int, nq: int, n: int, dp: int, kk: int, qt: str) -> _WgmmaPlan:
    K = _pick_k(kk)
    unit, floor, merge = _wgmma_helpers(K, qt)
    scan, seeder = sm90.topk_kernel(K), sm90.seed_kernel(K)
    splits = sm90.splits(nq, n)
    sample, seed_splits = _seed_sample(nq, n) if seeder is not None else (0, 0)
    # the kernels are part of the key: a shape's scratch holds launches of them
    key = ("wgmma", nq, dp, splits, K, sample, seed_splits, scan.kernel.ptr if scan is not None else 0,
           merge.kernel.ptr)
    return _WgmmaPlan(scan, seeder, unit, floor, merge, K, -(-nq // sm90.BM) * splits, sm90.smem_bytes(dp), sample,
                      n // max(sample, 1), seed_splits, key, np.int32(nq), np.int32(dp), np.int32(splits))


class _WgmmaScratch(NamedTuple):
    """A wgmma one-pass shape's buffers and its kernel launches with them packed in (one per thread)."""

    q16: cp.ndarray  # unit queries
    q_map: np.void  # their TMA descriptor
    tau: cp.ndarray  # their seeds
    unit: Launch
    seed: Launch | None  # wgmma_seed (None without a sample)
    floor: Launch
    scan: Launch
    merge: Launch
    host: np.ndarray  # a bad query (seed_floor), an overflow, the pass's end (the pass)


def _wgmma_scratch(p: _WgmmaPlan) -> _WgmmaScratch:
    nq, dp, splits = int(p.nq), int(p.dp), int(p.splits)
    q16, tau = cp.empty((nq, dp), cp.float16), cp.empty(nq, cp.float32)
    buf = cp.empty(splits * nq * sm90.TOPK_CAP * 2, cp.int32)  # candidates: (score bits, row) pairs
    counts = cp.empty(splits * nq * sm90.TOPK_REGIONS * 2, cp.int32)  # of each region of buf, and its head
    flags, host = _host_flags(3, "wgmma")  # a bad query (seed_floor), an overflow, the pass's end (the pass)
    arrivals = cp.empty(1, cp.uint32)  # the pass's blocks that have ended (zeroed by seed_floor each call)
    merge_flag = cp.zeros(1, cp.int32)  # the merge's own NaN flag: it may still run when the host has returned
    zero32, zero64, none = np.int32(0), np.int64(0), cp.empty(0, cp.float32)
    q_map = sm90.tensor_map(q16, sm90.BM)
    seed, floor = _seed_launches(p, q_map, tau, flags, arrivals)
    return _WgmmaScratch(
        q16, q_map, tau,
        Launch(p.unit, nq, 128, (none, zero32, p.dp, q16), varying=(0, 1)),
        seed, floor,
        Launch(p.scan, p.blocks, sm90.THREADS, (q_map, q_map, p.nq, p.dp, zero64, p.splits, tau, buf, counts, flags[1:],
                                                arrivals, flags[2:]), p.smem, varying=(4,), after=True),
        Launch(p.merge, nq, MERGE_THREADS, (none, zero32, none, p.dp, zero64, p.nq, buf, counts, p.splits, none, none,
                                            zero32, merge_flag),
               _merge_smem(splits * sm90.TOPK_REGIONS, dp), varying=(0, 1, 2, 4, 9, 10, 11), after=True),
        host)


def _seed_launches(p: _WgmmaPlan, q_map: np.void, tau: cp.ndarray, bad: cp.ndarray,
                   arrivals: cp.ndarray) -> tuple[Launch | None, Launch]:
    """wgmma_seed over the sample (its map set per corpus: _seed; q_map, the unit queries' map the pass reads
    too) into group maxima, and seed_floor from them into `tau`, a warp per query, which also sets bad[0] for
    a query with a NaN or infinite value and zeroes the pass's `arrivals`; without a sample only seed_floor,
    which writes NEG_INF, launched plainly (its query check must not start before the queries are made)."""
    M = sm90.seed_maxima(p.K)
    maxima = cp.empty(max(1, p.seed_splits * int(p.nq) * M), cp.float32)
    seed = None
    if p.sample:
        seed = Launch(p.seeder, -(-int(p.nq) // sm90.BM) * p.seed_splits, sm90.THREADS,
                      (q_map, q_map, p.nq, p.dp, np.int64(p.sample), np.int32(p.seed_splits), maxima), p.smem)
    floor = Launch(p.floor, -(-int(p.nq) // 8), 256, (tau, np.int32(0), maxima, p.nq, np.int32(p.seed_splits),
                                                     np.int32(M), np.float32(SEED_MARGIN), tau, bad, arrivals),
                   varying=(0, 1), after=p.sample > 0)
    return seed, floor


def _layout(x: cp.ndarray) -> tuple:
    """What a TMA descriptor of x encodes: its address, shape and strides."""
    return x.data.ptr, x.shape, x.strides


def _seed(c16: cp.ndarray, p: _WgmmaPlan, seed: Launch | None, floor: Launch, q: cp.ndarray) -> None:
    """Per query, a score at least K rows of the corpus reach (its seed, in the scratch's tau), from its scores
    against every stride-th row, the wgmma one pass's own sums: it keeps only scores at or above it, where a
    block's own running maxima get that high only after many tiles, so few entries per query and block are
    kept. NEG_INF for no sample (seed_floor finds fewer than K maxima). seed_floor checks the queries as given
    (q, C order)."""
    if seed is not None:
        seed.set_for(1, _layout(c16), lambda: sm90.tensor_map(c16, sm90.BN, p.stride))
        seed()
    floor(q.data.ptr, q.shape[1])


def _wgmma_topk(q: cp.ndarray, c16: cp.ndarray, kk: int, out_s: cp.ndarray | None = None,
                out_i: cp.ndarray | None = None) -> tuple[cp.ndarray, cp.ndarray, bool]:
    """One pass on Hopper's tensor cores (kernels_sm90.cu wgmma_topk), each block a query tile and a run of
    the corpus keeping its own thresholds and buffers, then regions_merge across the runs with exact fp32
    rescoring. Five launches (unit queries; seeds: the sample's maxima, a floor from them; the pass; the
    merge; the last three as programmatic dependents), no cuBLAS call; four for fp16 queries of the padded
    width, which the seeds and the pass read in place (a query's norm only scales its scores, and the merge
    rescores from the queries as given). Returns the outputs (allocated here, while the GPU works, unless
    given) and False when a block's candidate buffer overflowed (a corpus in an adversarial order): the
    caller takes the multi-pass path, which has its own exhaustive fallback. The host waits for the pass's
    end, not the merge's (_wait_for_pass): seed_floor has checked the queries by then, so the merge runs
    while the host returns."""
    q, qt = _query_type(q)
    nq, d = q.shape
    n, dp = c16.shape
    p = _wgmma_plan(cp.cuda.runtime.getDevice(), nq, n, dp, kk, qt)
    w = _scratch(p.key, lambda: _wgmma_scratch(p))
    qp = q.data.ptr
    if qt == "__half" and d == dp and qp % 16 == 0:  # the pass's own operand: read in place
        key, make = (qp, q.shape, q.strides), lambda: sm90.tensor_map(q, sm90.BM)
    else:
        w.unit(qp, d)
        key, make = "unit", lambda: w.q_map
    if w.seed is not None:
        w.seed.set_for(0, key, make)
    w.host[0] = 0  # before seed_floor: it sets it
    _seed(c16, p, w.seed, w.floor, q)  # first: what the seeds do not need is done while they run
    w.host[1] = w.host[2] = 0
    w.scan.set_for(0, key, make)
    w.scan.set_for(1, _layout(c16), lambda: sm90.tensor_map(c16, sm90.TOPK_BN))
    w.scan(n)
    if out_s is None:
        out_s, out_i = _outputs(nq, kk)
    w.merge(qp, d, c16.data.ptr, n, out_s.data.ptr, out_i.data.ptr, kk)
    _wait_for_pass(w.host)  # the one wait; a bad query is bad whichever path answers
    if w.host[0]:
        raise ValueError("queries contains NaN or infinite values")
    return out_s, out_i, not w.host[1]


def _wait_for_pass(host: np.ndarray) -> None:
    """Wait until the wgmma pass's last block has set host[2] (its flags and seed_floor's are final then), not
    for the merge: a lone call returns while the merge ends, and whatever the caller does next on the stream
    still comes after it. Should the stream run dry without the signal (a failed launch), its synchronize
    raises or returns."""
    stream = cp.cuda.get_current_stream()
    polls = 0
    while not host[2]:
        polls += 1
        if polls % 64 == 0 and stream.done:
            stream.synchronize()
            return


PASSES = ((16, 128, 16384), (64, 64, 8192), (1 << 30, 16, 2048))  # (queries up to, growth, cap) of the
# multi-pass filter: each pass is `growth` times as wide as all before it, so about K x growth candidates reach
# the threshold of a randomly ordered corpus; `cap` per query leaves a wide margin. Small batches are bound by
# memory and afford wide passes; large ones by their products.


def _topk_rows(q: cp.ndarray, c16: cp.ndarray, kk: int, out_s: cp.ndarray, out_i: cp.ndarray) -> None:
    """Streaming top-k in a few passes over the corpus, each one wgmma_filter launch (scores + threshold
    filter, kernels_sm90.cu) and one compaction (merge candidates into each query's best K, raise its
    threshold); exact fp32 rescoring of the best K at the end. The first pass keeps everything, later ones
    grow geometrically. Without the Hopper kernel (or d above its limit), the exhaustive path."""
    K = _pick_k(kk)
    nq, n, dp = q.shape[0], c16.shape[0], c16.shape[1]
    q = cp.ascontiguousarray(q, dtype=cp.float32)
    wg = sm90.kernel() if dp <= sm90.MAX_D else None
    if wg is None:
        if not bool(cp.isfinite(q).all()):
            raise ValueError("queries contains NaN or infinite values")
        _topk_rows_exhaustive(q, c16, kk, out_s, out_i)
        return
    _, growth, cap = next(x for x in PASSES if nq <= x[0])
    q32 = cp.empty((nq, dp), cp.float32)
    q16 = cp.empty((nq, dp), cp.float16)
    best_s = cp.empty((nq, K), cp.float32)
    best_i = cp.empty((nq, K), cp.int64)
    tau = cp.empty(nq, cp.float32)
    count = cp.empty(nq, cp.uint32)
    cs = cp.empty((nq, cap), cp.float32)
    ci = cp.empty((nq, cap), cp.int64)
    flags = cp.zeros(2, cp.int32)  # [candidate overflow, non-finite query]
    kernel("prep_queries")((nq,), (128,), (q, np.int32(nq), np.int32(q.shape[1]), np.int32(dp), q32, q16,
                                           best_s, best_i, np.int32(K), tau, count, flags))
    comp = kernel(f"compact<{K}>")
    maps = (sm90.tensor_map(q16, sm90.BM), sm90.tensor_map(c16, sm90.BN))
    begin, end = 0, min(n, FIRST)
    while begin < n:
        args = (np.int32(nq), np.int32(dp), np.int64(begin), np.int64(end), tau, cs, ci, count, np.int32(cap))
        s = sm90.splits(nq, end - begin)
        wg((-(-nq // sm90.BM) * s,), (sm90.THREADS,), maps + args + (np.int32(s),), shared_mem=sm90.smem_bytes(dp))
        comp((-(-nq // 8),), (256,), (np.int32(nq), best_s, best_i, tau, cs, ci, count, np.int32(cap), flags))
        begin, end = end, min(n, end * growth)
    overflow, nonfinite = flags.get()
    if nonfinite:
        raise ValueError("queries contains NaN or infinite values")
    if overflow:  # adversarial order (e.g. a corpus sorted by score): take the exhaustive path
        _topk_rows_exhaustive(q, c16, kk, out_s, out_i)
        return
    kernel("rescore")((nq,), (THREADS,), (q32, c16, best_i, np.int32(K), np.int32(dp), np.int32(kk), out_s, out_i))


def _topk_rows_exhaustive(q: cp.ndarray, c16: cp.ndarray, kk: int, out_s: cp.ndarray, out_i: cp.ndarray) -> None:
    """Every slice of every tile keeps its own best K; partial lists are merged. Exact whatever the order."""
    K = _pick_k(kk)
    nq, n = q.shape[0], c16.shape[0]
    q32 = _unit(q, c16.shape[1])
    q16 = q32.astype(cp.float16)
    tile = min(n, max(SLICE, (TILE_ENTRIES // nq) // SLICE * SLICE))
    slots = sum(-(-min(tile, n - t0) // SLICE) for t0 in range(0, n, tile))
    part_s = cp.empty((nq, slots * K), cp.float32)
    part_i = cp.empty((nq, slots * K), cp.int64)
    buf = cp.empty(nq * tile, cp.float16)
    kern = kernel(f"topk_half<{K}>")
    slot = 0
    for t0 in range(0, n, tile):
        cols = min(tile, n - t0)
        s = buf[: nq * cols].reshape(nq, cols)
        gemm_half(q16, c16[t0:t0 + cols], s)
        nsl = -(-cols // SLICE)
        kern((nsl, nq), (THREADS,), (s, np.int32(cols), np.int64(cols), np.int32(SLICE), np.int64(t0),
                                     part_s, part_i, np.int32(slots * K), np.int32(slot)))
        slot += nsl
    merge = kernel(f"topk_merge<{K}>")
    while part_s.shape[1] > K:
        cols = part_s.shape[1]
        nsl = -(-cols // MERGE_SLICE)
        nxt_s = cp.empty((nq, nsl * K), cp.float32)
        nxt_i = cp.empty((nq, nsl * K), cp.int64)
        merge((nsl, nq), (THREADS,), (part_s, part_i, np.int32(cols), np.int32(MERGE_SLICE), nxt_s, nxt_i,
                                      np.int32(nsl * K)))
        part_s, part_i = nxt_s, nxt_i
    kernel("rescore")((nq,), (THREADS,), (q32, c16, part_i, np.int32(K), np.int32(c16.shape[1]),
                                                  np.int32(kk), out_s, out_i))


def _topk_sorted(q: cp.ndarray, c16: cp.ndarray, kk: int):
    """k above the kernel's register lists: tiled fp32 scores, then CuPy's argsort, which is stable, over
    (best so far + tile) in index order, so equal scores keep the lower index first."""
    q32 = _unit(q, c16.shape[1])
    best_s = cp.empty((q.shape[0], 0), cp.float32)
    best_i = cp.empty((q.shape[0], 0), cp.int64)
    tile = max(kk, TILE_ENTRIES // max(q.shape[0], 1))
    for t0 in range(0, c16.shape[0], tile):
        c = c16[t0:t0 + tile].astype(cp.float32)
        norms = cp.linalg.norm(c, axis=1)
        s = cp.concatenate([best_s, (q32 @ c.T) / cp.where(norms > 0, norms, 1)[None, :]], axis=1)
        idx = cp.concatenate([best_i, cp.broadcast_to(cp.arange(t0, t0 + c.shape[0]), (q.shape[0], c.shape[0]))], axis=1)
        o = cp.argsort(idx, axis=1)  # best-so-far indices can be anywhere below t0: restore index order first
        s, idx = cp.take_along_axis(s, o, 1), cp.take_along_axis(idx, o, 1)
        o = cp.argsort(-s, axis=1)[:, :kk]
        best_s, best_i = cp.take_along_axis(s, o, 1), cp.take_along_axis(idx, o, 1)
    return best_s, best_i


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
    m = i.size
    if m:
        kernel("uf_union")((min(4096, -(-m // 256)),), (256,), (parent, i, j, np.int64(m)))
    kernel("uf_compress")((min(4096, -(-n // 256)),), (256,), (parent, np.int64(n)))
    return parent
