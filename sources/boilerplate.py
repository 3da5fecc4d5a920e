"""What is never a story: welcome lines, subscribe/share prompts, sponsor blocks, polls.

Patterns are matched against a block's plain text, case-insensitively. They are
deliberately anchored or specific, so a story that merely *mentions* a sponsor
or a subscription is not thrown away.
"""
from __future__ import annotations

import re

_BOILERPLATE = [
    r"^welcome to\b.{0,80}\b(newsletter|issue|edition)",
    r"^welcome to import ai\b",
    r"\bif you('| woul)d like to support this\b",
    r"^(thanks|thank you) for reading\b",
    r"^(subscribe|subscribe now|share|share this|forward(ed)? (this|to a friend))\b.{0,60}$",
    r"^(view|read) (this|it)? ?(email|issue|post)? ?(online|in (your|a|the) browser)",
    r"\bunsubscribe\b",
    r"^(follow|find) us on\b",
    r"\b(refer|send this to) (a|1|one|\d+) (ai-curious )?friends?\b",
    r"^how (was|did you like) today'?s (email|issue|newsletter)",
    r"\blogin\b.{0,10}\bor\b.{0,10}\bsubscribe\b",
    r"\bon our website\b",
    r"^check out .{1,40} for more\b",
    r"^too many links\b",
    r"^(newsfeed|advertise)\s*\|",
    r"^have a product, service,.*(share|advertise)",
    r"^let'?s (get to it|dive in)\.?$",
    r"^(loved it|meh)\b",
    r"^you('re| are) receiving this\b",
]
_SPONSOR_START = [
    r"^(from )?our sponsors?\b",
    r"^(this (issue|newsletter|email) is )?(sponsored|presented|brought to you) by\b",
    r"^together with\b",
    r"^(a )?(word|message) from our (sponsor|partner)s?\b",
    r"^sponsor(ed)?\s*[:\-—]",
]
_SPONSOR_SECTION = re.compile(r"sponsor|unclassified|partner(ed)? content|advertis", re.I)
_BOILERPLATE_RE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE), re.I)
_SPONSOR_RE = re.compile("|".join(f"(?:{p})" for p in _SPONSOR_START), re.I)


def _head(text: str) -> str:
    return re.sub(r"^[^\w$]+", "", text.strip())[:400]


def is_boilerplate(text: str) -> bool:
    """A block that no reader wants as news (nav, prompts, polls, greetings)."""
    return bool(_BOILERPLATE_RE.search(_head(text)))


def starts_sponsor_block(text: str) -> bool:
    """A block that opens a sponsor message: drop it and what follows up to the next boundary."""
    return bool(_SPONSOR_RE.search(_head(text)))


def is_sponsor_section(heading: str) -> bool:
    return bool(_SPONSOR_SECTION.search(heading))
