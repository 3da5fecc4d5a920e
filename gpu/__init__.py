"""Pulse's similarity engine: exact cosine top-k and connected components.

One small API, two backends that give the same answers: NumPy on the CPU and
custom CuPy kernels on the GPU. CuPy is imported only when a CuPy array is
passed or `backend="cupy"` is asked for, so CPU machines never need it.
Outputs come back as the same kind of array as the inputs.

    from gpu import topk, components, prepare, rows
"""
from __future__ import annotations

from typing import Any

from . import numpy_backend

__all__ = ["topk", "components", "prepare", "rows", "cupy_available", "backend_name"]


_CUPY_TYPES: dict[type, bool] = {}  # the answer per type: asked on every call, where host time is most of it


def _is_cupy(x: Any) -> bool:
    t = type(x)
    hit = _CUPY_TYPES.get(t)
    if hit is None:
        hit = t.__module__.split(".")[0] == "cupy" or getattr(t, "__pulse_backend__", None) == "cupy"
        _CUPY_TYPES[t] = hit
    return hit


def cupy_available() -> bool:
    """True when CuPy imports and sees a CUDA device."""
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def backend_name(*arrays: Any, backend: str | None = None) -> str:
    if backend not in (None, "auto", "numpy", "cupy"):
        raise ValueError(f"unknown backend {backend!r}: use 'numpy', 'cupy' or None")
    if backend in ("numpy", "cupy"):
        return backend
    for a in arrays:
        if a is not None and _is_cupy(a):
            return "cupy"
    return "numpy"


_MODULES: dict[str, Any] = {"numpy": numpy_backend}  # cupy_backend joins on first use (it imports CuPy)


def _module(name: str):
    module = _MODULES.get(name)
    if module is None:  # an import statement costs its machinery even for a loaded module: once only
        from . import cupy_backend
        module = _MODULES[name] = cupy_backend
    return module


def topk(queries: Any, corpus: Any, k: int, *, backend: str | None = None):
    """Exact cosine top-k: (scores, indices), each (Q, min(k, N)), best first, ties by lower index."""
    return _module(backend_name(queries, corpus, backend=backend)).topk(queries, corpus, k)


def components(i: Any, j: Any, n: int, *, backend: str | None = None):
    """Connected components of an n-node graph given as edge lists; label = smallest node of its component."""
    return _module(backend_name(i, j, backend=backend)).components(i, j, n)


def prepare(corpus: Any, *, backend: str | None = None):
    """Keep a corpus ready for many queries: checked and made unit once (GPU: fp16 on the device)."""
    return _module(backend_name(corpus, backend=backend)).prepare(corpus)


def rows(prepared: Any, which: Any):
    """A prepared corpus restricted to some rows (a slice or an index array): filtered search."""
    return _module(backend_name(prepared)).rows(prepared, which)
