"""Split a newsletter issue's HTML into ordered stories (see `sources.segmenters`).

Kept for compatibility: `segment`, `SEGMENTERS` and the block helpers are
importable from here as before.
"""
from __future__ import annotations

from .segmenters import SEGMENTERS, Block, Draft, Segmenter, register_segmenter, segment, to_blocks

__all__ = ["SEGMENTERS", "Block", "Draft", "Segmenter", "register_segmenter", "segment", "to_blocks"]
