"""Segmenters by name, registered like sources are."""
from __future__ import annotations

from collections.abc import Callable

from .blocks import Block, Draft

Segmenter = Callable[[list[Block], str], list[Draft]]
SEGMENTERS: dict[str, Segmenter] = {}


def register_segmenter(name: str) -> Callable[[Segmenter], Segmenter]:
    """Register a segmenter function under `name` (the value of a source's `segmenter` option)."""
    def add(fn: Segmenter) -> Segmenter:
        if name in SEGMENTERS and SEGMENTERS[name] is not fn:
            raise ValueError(f"segmenter {name!r} registered twice")
        SEGMENTERS[name] = fn
        return fn
    return add
