"""Split a newsletter issue's HTML into ordered stories.

The HTML is sanitised and flattened into blocks (`blocks`); a segmenter,
picked by name from `SEGMENTERS`, decides where stories begin. `generic`
handles the common layouts (headed sections, numbered picks, bold headlines,
link lists); `importai` knows Import AI's bold-headline-and-dek layout.
"""
from __future__ import annotations

from ..models import Story
from . import generic, importai  # noqa: F401  (they register themselves)
from .blocks import Block, Draft, finish_all, to_blocks
from .registry import SEGMENTERS, Segmenter, register_segmenter

__all__ = ["SEGMENTERS", "Block", "Draft", "Segmenter", "register_segmenter", "segment", "to_blocks"]


def segment(html: str, *, segmenter: str = "generic", base_url: str = "", issue_title: str = "") -> list[Story]:
    """Stories of one issue, in order. `segmenter` names an entry of SEGMENTERS."""
    try:
        fn = SEGMENTERS[segmenter]
    except KeyError:
        raise ValueError(f"unknown segmenter {segmenter!r}; known: {', '.join(sorted(SEGMENTERS))}") from None
    return finish_all(fn(to_blocks(html), issue_title), base_url)
