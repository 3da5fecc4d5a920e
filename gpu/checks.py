"""Input checks shared by both backends, so both reject bad input the same way."""
from __future__ import annotations

from typing import Any


def check_matrix(xp: Any, x: Any, name: str, dim: int | None = None, finite: bool = True) -> Any:
    """Shape and dtype always; NaN/inf too unless the caller checks them itself (finite=False)."""
    if x.ndim == 1:
        x = x.reshape(1, -1)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array of vectors, got shape {tuple(x.shape)}")
    if dim is not None and x.shape[1] != dim and x.shape[0] > 0:
        raise ValueError(f"{name} has dimension {x.shape[1]}, expected {dim}")
    if x.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be numeric, got {x.dtype}")
    if finite and x.size and not bool(xp.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def check_k(k: int) -> int:
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    return int(k)

