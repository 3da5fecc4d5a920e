"""Layout and text features that decide story boundaries, shared by segmenters.

Each function looks at one block (and at most the block after it); none does
heavy work, so segmenting stays linear in the issue's length.
"""
from __future__ import annotations

import copy
import re

from bs4 import NavigableString, Tag

from ..clean import element_text, normalize_text
from .blocks import BOLD, ITALIC, Block, first_sentence, lead_with_separator, lines_of, shorten

BYLINE = re.compile(r"^(by|from|via|written by|photo:?)\s", re.I)
DEK_START = ("…", "...", "_…", "_...")
# bold run-ins that are never headlines, whatever their markup
NOT_HEADLINE = re.compile(r"^(read more|tech tales|things that inspired|why this matters|get the|find out more)\b",
                          re.I)

_SENTENCE_END = re.compile(r"[.!?…]\W*$")


def caps_label(block: Block) -> bool:
    """All-capital short text ("QUICK BITES", "🫦 BEN'S BITES"): a section label."""
    letters = [ch for ch in block.text if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters) and block.words <= 8


def question_label(block: Block) -> bool:
    """A short question or colon label ("Why should I care?", "The details:"): a sub-heading."""
    return block.words <= 7 and block.text.rstrip(" *_").endswith(("?", ":")) and not block.link_only


def short_label(block: Block) -> bool:
    """A few words with no sentence end and no link ("Research", "🛠️ Cool Tools")."""
    return block.words <= 4 and not block.has_link and not _SENTENCE_END.search(block.text) \
        and len(block.lines) == 1


def emoji_label(block: Block) -> bool:
    """A few words behind an emoji or symbol ("🤌 Ben's Picks", "🛠️ Cool Tools"): a section label."""
    first = block.text.lstrip()[:1]
    return bool(first) and not first.isalnum() and first not in "\"'“‘([*_#@$£€" and block.words <= 4 \
        and not block.link_only


def label_like(block: Block) -> bool:
    """A section label or a question sub-heading: never a headline."""
    return caps_label(block) or question_label(block)


def is_entry(block: Block) -> bool:
    """A link-list entry: "[Title](url) - summary" or "Title - description (link)"."""
    return bool(lead_with_separator(block)) and block.has_link


def heading_score(block: Block, nxt: Block | None) -> float:
    """How much a heading looks like a story headline (> 0) rather than a section label."""
    score = 0.0
    if block.link_only:
        score += 3
    elif block.has_link:
        score += 1
    if caps_label(block):
        score -= 3
    elif question_label(block):
        score -= 2
    if emoji_label(block):
        score -= 2
    if block.words <= 2 and not block.has_link:
        score -= 1
    elif block.words >= 4:
        score += 0.5
    if nxt is None:
        score -= 1
    elif nxt.kind == "heading":
        if nxt.level > block.level and question_label(nxt):
            score += 1  # a headline over its question sub-headings
        else:
            score -= 2 if nxt.level > block.level else 1
    elif nxt.kind == "item" or nxt.marker or is_entry(nxt) or headline_para(nxt):
        score -= 2  # a label over entries, picks or headlines of its own
    elif nxt.bold_link:
        score -= 1  # prose led by a highlighted link: the first of several one-paragraph entries
    elif nxt.kind == "para":
        score += 2 if block.words <= 2 and not block.has_link else 1  # a short headline over its text
    return score


def headline_para(block: Block) -> bool:
    """A paragraph that is a headline by itself: all bold or all link, a few words, not a lead-in or byline."""
    return block.kind == "para" and (block.bold_only or block.link_only) and 3 <= block.words <= 25 \
        and len(block.lines) == 1 and not block.text.rstrip(" *_").endswith(":") and not BYLINE.match(block.text)


def item_title(block: Block) -> str:
    """An entry's title: its lead before " - ", else its first sentence without "(link)"."""
    lead = lead_with_separator(block, min_words=2)  # "Batchwise - a scheduler that...": the sentence says more
    if lead:
        return shorten(lead)
    return first_sentence(block.text, 200)


def skippable(block: Block) -> bool:
    """Navigation, prompts and calls to action: never part of a story."""
    return block.boilerplate


def is_dek(line: str) -> bool:
    """A standfirst line: "…dek…" (Import AI and others) ."""
    return line.lstrip().startswith(DEK_START)


def dek_text(line: str) -> str:
    return line.strip().strip("_…. ")


def _content_children(node: Tag) -> list:
    return [c for c in node.children if not (isinstance(c, NavigableString) and not c.strip())]


def head_run(block: Block) -> Tag | None:
    """The bold element a paragraph opens with (also inside a leading <em>)."""
    children = _content_children(block.node)
    if not children or not isinstance(children[0], Tag):
        return None
    first = children[0]
    if first.name in BOLD:
        return first
    if first.name in ITALIC:
        inner = _content_children(first)
        if inner and isinstance(inner[0], Tag) and inner[0].name in BOLD:
            return first
    return None


def bold_first_line(block: Block) -> tuple[str, str] | None:
    """(title, dek) when a paragraph's bold run is exactly its first line ("**Title:**<br>…dek…<br>text")."""
    if block.kind != "para":
        return None
    run = head_run(block)
    if run is None:
        return None
    run_lines = lines_of(element_text(run))
    lines = block.lines
    if len(run_lines) != 1 or not lines or lines[0] != run_lines[0]:
        return None  # the bold run is not exactly the first line: a lead-in running into text
    title = run_lines[0]
    if NOT_HEADLINE.match(title) or len(title.split()) < 3:
        return None
    dek = dek_text(lines[1]) if len(lines) > 1 and is_dek(lines[1]) else ""
    return title, dek


def strip_lead(node: Tag, dek: str) -> Tag | None:
    """A copy of a paragraph without its headline run and dek line; None when nothing is left."""
    rest = copy.copy(node)
    _content_children(rest)[0].extract()
    if dek:
        want, got = re.sub(r"\W+", "", dek), ""
        for child in list(rest.children):
            if isinstance(child, Tag) and child.name == "br" and not got:
                child.extract()
                continue
            text = child if isinstance(child, NavigableString) else element_text(child)
            got += re.sub(r"\W+", "", str(text))
            child.extract()
            if len(got) >= len(want):
                break
    return rest if normalize_text(element_text(rest)) else None
