"""The brief's grounding rules, as a check anyone (tests, the LLM validator) can run.

1. Every sentence under What Happened is a sentence of one of the cluster's stories.
2. Every name or number written elsewhere appears in the sources, the archive stories the brief cites,
   the numbers Pulse measured (counts, days), or the house templates' own words.
"""
from __future__ import annotations

import math
import re
from typing import Iterable

from .brief import FREE_TEXT, Brief

_TOKEN = re.compile(r"\$?[\w][\w.,'’%-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“(]\s*)$")


def _norm(text: str) -> str:
    return " ".join(text.split())


def _tokens(text: str) -> Iterable[tuple[str, bool]]:
    """(token, starts_a_sentence) for each word-like token, trailing punctuation trimmed."""
    for m in _TOKEN.finditer(text):
        tok = re.sub(r"['’][sS]$", "", m.group(0).rstrip(".,'’-"))
        if tok:
            yield tok, bool(_SENTENCE_START.search(text[:m.start()]))


def vocabulary(texts: Iterable[str]) -> set[str]:
    return {tok for text in texts for tok, _ in _tokens(text)}


def entity_problems(text: str, allowed: set[str], house: set[str]) -> list[str]:
    """Names and numbers not found in `allowed` (source words) or `house` (template words, lower case).

    A name is a capitalised word past a sentence's first word, or any word with a capital inside or a
    digit ("GPT-5", "71.2"). A sentence's first word is not checked unless it looks like that: an
    invented one-word name opening a sentence gets through (the limit of a check without a dictionary).
    """
    bad = []
    for tok, initial in _tokens(text):
        has_digit = any(c.isdigit() for c in tok)
        is_name = any(c.isupper() for c in tok[1:]) or (tok[0].isupper() and not initial)
        if has_digit:
            if tok not in allowed and tok.strip("$%") not in allowed:
                bad.append(tok)
        elif is_name and tok not in allowed and tok.lower() not in house:
            bad.append(tok)
    return bad


def check(brief: Brief, sources: list[str], archive: list[str], house: set[str],
          fields: dict[str, str] | None = None) -> list[str]:
    """Every rule broken, as readable lines (empty when the brief is grounded)."""
    problems = []
    normed = [_norm(s) for s in sources]
    for w in brief.what_happened:
        if not any(_norm(w["text"]) in s for s in normed):
            problems.append(f"What Happened sentence not in any source: {w['text'][:60]!r}")
    measured = {str(v) for v in _numbers(brief.signals)} | {str(len(brief.sources))}
    measured |= vocabulary([str(brief.signals.get(k) or "") for k in ("licence", "price")])  # Pulse's names for them
    allowed = vocabulary([*sources, *archive, *brief.sources, *brief.who]) | measured  # who: the audiences
    for name in FREE_TEXT:
        text = (fields or {}).get(name, getattr(brief, name))
        for tok in entity_problems(text, allowed, house):
            problems.append(f"{name}: {tok!r} is not in the sources")
    return problems


def _numbers(signals: dict) -> Iterable[int | float]:
    """The counts Pulse measured itself (templates may write them: "3 newsletters", "within 2 days")."""
    for key in ("sources", "stories", "thread_position", "thread_clusters", "seen_before", "minutes"):
        yield signals.get(key, 0)
    for key in ("days_since_thread_start", "span_days"):
        value = float(signals.get(key) or 0)
        yield from {math.floor(value), math.ceil(value)}  # however a template rounds it
