"""Hopper's wgmma kernels (kernels_sm90.cu): built for sm_90a through NVRTC, used where they can run.

CuPy's RawModule names its own target (plain sm_90, which has no wgmma), so this module compiles the source
with the `cupy_backends` NVRTC binding for `sm_90a` and loads the cubin through RawModule(path=...). The
kernels' tile loads go through TMA descriptors (CUtensorMap) made here by the driver's
cuTensorMapEncodeTiled and passed by value. Two kernels: `wgmma_filter` (a pass of the multi-pass path) and
`wgmma_topk` (the one pass, built per list length K). Anything that stops them (another GPU, an NVRTC without
sm_90a, `PULSE_GPU_WGMMA=0`) leaves the mma.sync kernels in use.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import warnings
from functools import lru_cache
from pathlib import Path

import cupy as cp
import numpy as np

BM, BN, BK, STAGES, THREADS = 128, 256, 64, 4, 288  # must match kernels_sm90.cu
MAX_D = 384  # resident queries (BM x d fp16) + the corpus ring must fit in 227 KB of shared memory


TOPK_CAP = 1024  # wgmma_topk's candidates per block and query (kernels_sm90.cu)
TOPK_BN = 128  # wgmma_topk's corpus rows per tile (PP_BN: its warpgroups take turns, each with all BM queries)
TOPK_REGIONS = 8  # wgmma_topk's regions of a query's candidates: a quad's 4 threads in each consumer warpgroup


def smem_bytes(d: int) -> int:
    """Queries + ring + mbarriers (wgmma_topk's ring has the most stages) + slack to align the 1024-byte
    swizzle atom."""
    return BM * d * 2 + STAGES * BN * BK * 2 + 8 * (2 * STAGES * BN // TOPK_BN + 1) + 1024


_MAP_DTYPE = np.dtype({"names": ["bits"], "formats": [(np.uint64, 16)], "offsets": [0], "itemsize": 128,
                       "aligned": True})


@lru_cache(maxsize=1)
def _encode():
    lib = ctypes.CDLL("libcuda.so.1")
    f = lib.cuTensorMapEncodeTiled
    u32p, u64p = ctypes.POINTER(ctypes.c_uint32), ctypes.POINTER(ctypes.c_uint64)
    f.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p, u64p, u64p, u32p, u32p,
                  ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    f.restype = ctypes.c_int
    return f


def tensor_map(x: cp.ndarray, box_rows: int, every: int = 1):
    """A TMA descriptor for a row-major fp16 matrix (every `every`-th row of it) read in boxes of box_rows x BK,
    128-byte swizzled; rows past the end read as zeros. Returned as a 128-byte struct scalar, CuPy passes it
    by value."""
    return _tensor_map(x.data.ptr, x.shape[0] // every, x.shape[1], x.strides[0] * every, box_rows)


@lru_cache(maxsize=256)
def _tensor_map(ptr: int, rows: int, cols: int, stride: int, box_rows: int):
    """Made once per address and shape (a descriptor holds nothing else; a search asks for the same corpus
    and query buffer again and again, and each encoding costs host time)."""
    buf = (ctypes.c_uint64 * 24)()  # CUtensorMap is 64-byte aligned: align inside a larger buffer
    addr = (ctypes.addressof(buf) + 63) & ~63
    dims = (ctypes.c_uint64 * 2)(cols, rows)
    strides = (ctypes.c_uint64 * 1)(stride)
    box = (ctypes.c_uint32 * 2)(BK, box_rows)
    one = (ctypes.c_uint32 * 2)(1, 1)
    # FLOAT16 = 6; no interleave; SWIZZLE_128B = 3; L2 promotion 256B = 3; out-of-bounds fill: zeros
    err = _encode()(addr, 6, 2, ptr, dims, strides, box, one, 0, 3, 3, 0)
    if err:
        raise RuntimeError(f"cuTensorMapEncodeTiled failed with CUresult {err}")
    return np.frombuffer(ctypes.string_at(addr, 128), dtype=_MAP_DTYPE)[0]


def _wgmma_wrapper(n: int) -> str:
    """wgmma.mma_async m64nNk16, f32 += f16 x f16, both operands from shared memory: N/2 accumulator registers
    listed one by one (PTX has no register arrays), written out here rather than by hand."""
    regs = n // 2
    outs = ", ".join(f"%{i}" for i in range(regs))
    cons = ", ".join(f'"+f"(d[{i}])' for i in range(regs))
    return (
        f"__device__ __forceinline__ void wgmma_m64n{n}(float (&d)[{regs}], unsigned long long da, "
        f"unsigned long long db, int scale_d) {{\n"
        f'    asm volatile("{{\\n.reg .pred p;\\nsetp.ne.b32 p, %{regs + 2}, 0;\\n"\n'
        f'        "wgmma.mma_async.sync.aligned.m64n{n}k16.f32.f16.f16 {{{outs}}}, %{regs}, %{regs + 1}, p, 1, 1, 0, 0;\\n}}\\n"\n'
        f'        : {cons}\n'
        f'        : "l"(da), "l"(db), "r"(scale_d));\n'
        "}\n"
    )


def source() -> str:
    """The ordering rule and the warp selection helpers the top-k kernel shares, the wrapper, the kernels."""
    here = Path(__file__).parent
    headers = "".join((here / f).read_text() for f in ("order.cuh", "warplist.cuh", "depend.cuh"))
    return headers + _wgmma_wrapper(BN) + _wgmma_wrapper(TOPK_BN) + (here / "kernels_sm90.cu").read_text()


def _compile(src: str, defines: tuple[str, ...]) -> bytes:
    from cupy_backends.cuda.libs import nvrtc

    prog = nvrtc.createProgram(src, "pulse_sm90.cu", [], [])
    try:
        try:
            nvrtc.compileProgram(prog, ["--gpu-architecture=sm_90a", "--std=c++17"] + [f"-D{x}" for x in defines])
        except nvrtc.NVRTCError as e:
            raise RuntimeError(f"sm_90a build failed: {nvrtc.getProgramLog(prog)}") from e
        return nvrtc.getCUBIN(prog)
    finally:
        nvrtc.destroyProgram(prog)


def _usable() -> bool:
    return os.environ.get("PULSE_GPU_WGMMA", "1") != "0" and cp.cuda.Device().compute_capability == "90"


@lru_cache(maxsize=1)
def kernel() -> cp.RawKernel | None:
    """The wgmma_filter kernel, or None where it cannot run here."""
    return _load("wgmma_filter", (), smem_bytes(MAX_D)) if _usable() else None


@lru_cache(maxsize=None)
def topk_kernel(K: int) -> cp.RawKernel | None:
    """The wgmma_topk kernel for lists of K, or None where it cannot run here."""
    defines = (f"PULSE_TOPK_K={K}",)
    return _load("wgmma_topk", defines, smem_bytes(MAX_D)) if _usable() else None


@lru_cache(maxsize=None)
def seed_kernel(K: int) -> cp.RawKernel | None:
    """wgmma_seed, the sample's group maxima for wgmma_topk's seeds (same build), or None where it cannot run."""
    defines = (f"PULSE_TOPK_K={K}",)
    return _load("wgmma_seed", defines, smem_bytes(MAX_D)) if _usable() else None


def seed_maxima(K: int) -> int:
    """Maxima wgmma_seed writes per block and query: a quad's 4 threads x GROUPS (kernels_sm90.cu)."""
    return 4 * ((K + 3) // 4)


def _load(name: str, defines: tuple[str, ...], smem: int) -> cp.RawKernel | None:
    try:
        src = source()
        # CuPy's own per-user kernel cache, where it keeps the cubins it builds
        cache = Path(os.environ.get("CUPY_CACHE_DIR") or Path.home() / ".cupy" / "kernel_cache")
        cache.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256("\0".join((src,) + defines).encode()).hexdigest()[:16]
        path = cache / f"sm90a-{key}.cubin"
        if not path.exists():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(_compile(src, defines))
            tmp.replace(path)
        fn = cp.RawModule(path=str(path)).get_function(name)
        fn.max_dynamic_shared_size_bytes = smem
        return fn
    except Exception as e:  # noqa: BLE001 - any build or load failure leaves the portable kernels in use
        warnings.warn(f"{name} unavailable, using mma.sync: {e}", RuntimeWarning, stacklevel=3)
        return None


@lru_cache(maxsize=None)
def multiprocessors(device: int) -> int:
    """The device's multiprocessor count, asked once (a launch-sizing question on the hot path)."""
    return cp.cuda.runtime.deviceGetAttribute(cp.cuda.runtime.cudaDevAttrMultiProcessorCount, device)


def splits(nq: int, width: int) -> int:
    """Corpus runs per query tile: enough blocks to fill every multiprocessor once (one block fits each)."""
    sms = multiprocessors(cp.cuda.runtime.getDevice())
    tiles = -(-width // BN)
    return max(1, min(tiles, sms // -(-nq // BM)))
