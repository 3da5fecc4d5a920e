"""Newsletter furniture learned from the archive's own repetition.

A block whose title recurs across many issues of one newsletter (a standing section label, a hiring
list, a referral promo, "View more") is furniture, not news, whatever words it uses: no hand list
has to know it. Sponsor items and furniture are stored apart from news under their own sections.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from typing import Any, Iterable

NOT_NEWS = ("sponsor", "furniture", "notes")  # stored, searchable, never embedded, clustered or briefed
MIN_ISSUES = 3  # a title seen in fewer issues than this is never furniture
MIN_SHARE = 0.05  # ... nor one seen in under this share of the newsletter's issues


def title_key(title: str) -> str:
    """A title reduced to its words: case, punctuation, emoji and spacing do not matter."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.findall(r"[^\W_]+", text))


def recurring_titles(issues: Iterable[Iterable[str]], *, min_issues: int = MIN_ISSUES,
                     min_share: float = MIN_SHARE) -> set[str]:
    """Title keys that recur in enough of one newsletter's issues to be furniture (one list per issue)."""
    counts: Counter[str] = Counter()
    n = 0
    for titles in issues:
        n += 1
        counts.update({title_key(t) for t in titles} - {""})
    need = max(min_issues, math.ceil(min_share * n))
    return {key for key, c in counts.items() if c >= need}


def furniture_among(issues: Iterable[list[tuple[Any, str, str]]]) -> list[Any]:
    """The keys of the news stories that are furniture, from each issue's (key, title, section) list.

    Titles are counted over every story but sponsor items, so stories already moved to furniture keep
    their titles' counts; fiction and what is already out of news are never moved."""
    issues = list(issues)
    recurring = recurring_titles([title for _, title, section in stories if section != "sponsor"]
                                 for stories in issues)
    return [key for stories in issues for key, title, section in stories
            if section not in (*NOT_NEWS, "fiction") and title_key(title) in recurring]
