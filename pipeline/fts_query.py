"""User text to a safe FTS5 MATCH expression: what people type never reaches FTS5 raw.

The syntax people expect from a search box, and nothing else:

    speculative decoding        both words (then, if too few hits, either word)
    "draft trees"               a phrase
    spec*                       a prefix
    -hyperion  NOT hyperion     leave out stories with the word
    vllm OR sglang              either
    title:hyperion              in the title only (title: and text:)

Every word and phrase is re-quoted for FTS5, so `AND`, `NEAR(`, stray
parentheses, quotes, `*`, `:` and `^` can make no syntax error. Common English
words are dropped outside phrases (they match everything and rank nothing).

Work per query is bounded: at most MAX_QUERY_CHARS characters and MAX_TERMS words (FTS5's cost grows
faster than linearly in the terms of an OR), past which `parse` refuses with one line.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

STOPWORDS = frozenset("""
a about above after again all also am an and any are as at be been before being below between both but by can
could did do does doing done down during each few for from further had has have having he her here hers him his
how i if in into is it its itself just me more most my no nor not now of off on once only or other our ours out
over own same say said says she should so some such than that the their theirs them then there these they this
those through to too under until up very was we were what when where which while who whom why will with would
you your yours newsletter newsletters since
""".split())

COLUMNS = ("title", "text")
MAX_QUERY_CHARS = 500
MAX_TERMS = 32
MOST_GROUPS = 6  # up to this many groups, "all but one" is tried before "any word" (n subsets of n - 1)
_TOKEN = re.compile(r'(?P<neg>-)?(?:(?P<col>title|text):)?(?:"(?P<phrase>[^"]*)"?|(?P<word>[^\s"]+))', re.I)
_WORD_CHARS = re.compile(r"[\w]+(?:[-'.][\w]+)*\*?", re.UNICODE)


class QueryError(ValueError):
    """A query that cannot be searched (say, only operators or only left-out words)."""


@dataclass(frozen=True)
class Term:
    text: str            # the words, as typed (a phrase may hold several)
    column: str | None = None
    prefix: bool = False
    phrase: bool = False

    def fts(self) -> str:
        quoted = '"' + self.text.replace('"', '""') + '"' + ("*" if self.prefix else "")
        return f"{self.column} : {quoted}" if self.column else quoted


@dataclass
class Query:
    """A parsed query: groups of alternatives that must all match (AND of ORs), and terms left out."""

    groups: list[list[Term]] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    raw: str = ""
    words: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """What the semantic side embeds: every word asked for (common ones too: the model reads
        sentences), without operators or left-out words."""
        return " ".join(self.words) or " ".join(t.text for g in self.groups for t in g)

    @property
    def empty(self) -> bool:
        return not self.groups

    def _not(self) -> str:
        return "".join(f" NOT {t.fts()}" for t in self.excluded)

    def match_all(self) -> str:
        """Every group must match (the precise query)."""
        return " AND ".join(_group(g) for g in self.groups) + self._not()

    def match_any(self) -> str:
        """Any term may match (the relaxed query, ranked by BM25, for long natural-language questions)."""
        return " OR ".join(t.fts() for g in self.groups for t in g)

    def match_any_with_not(self) -> str:
        return f"({self.match_any()}){self._not()}" if self.excluded else self.match_any()

    def steps(self) -> list[str]:
        """What the keyword side asks FTS5 for, in order, while too few stories are found (without the
        left-out words: see `with_not`): every group; then, for 3 to MOST_GROUPS groups, every group but
        one (stories missing one word rank above stories with one, and far fewer rows are scored than for
        any word: a few thousand instead of every story with a common word); then any term."""
        steps = [" AND ".join(_group(g) for g in self.groups)]
        n = len(self.groups)
        if 3 <= n <= MOST_GROUPS:
            steps.append(" OR ".join("(" + " AND ".join(_group(g) for j, g in enumerate(self.groups) if j != skip)
                                     + ")" for skip in range(n)))
        if sum(len(g) for g in self.groups) > 1:
            steps.append(self.match_any())
        return steps

    def with_not(self, step: str) -> str:
        """A step with the left-out words left out."""
        return f"({step}){self._not()}" if self.excluded else step

    def in_titles(self, step: str) -> str | None:
        """A step matched in headlines only (None when the query names its own columns): what a broad query
        ranks when too many stories match it anywhere (see `Searcher.keyword`)."""
        if any(t.column for g in self.groups for t in g):
            return None
        return f"title : ({step}){self._not()}"

    def match_excluded(self) -> str | None:
        return " OR ".join(t.fts() for t in self.excluded) or None

    def highlight(self) -> str:
        """Every asked-for term, for snippets of stories found by meaning rather than by words."""
        return " OR ".join(Term(t.text, None, t.prefix, t.phrase).fts() for g in self.groups for t in g)


def _group(group: list[Term]) -> str:
    return group[0].fts() if len(group) == 1 else "(" + " OR ".join(t.fts() for t in group) + ")"


def _check_size(terms: list[tuple[Term, bool, bool]]) -> None:
    """Refuse a query with more than MAX_TERMS words to search for or leave out (a phrase counts its words)."""
    words = sum(len(term.text.split()) for term, _, _ in terms)
    if words > MAX_TERMS:
        raise QueryError(f"a query may have at most {MAX_TERMS} words and operands; this one has {words}")


def parse(raw: str) -> Query:
    """Parse what a user typed. Never raises for odd syntax; raises QueryError when nothing is left to search."""
    if len(raw) > MAX_QUERY_CHARS:
        raise QueryError(f"a query may be at most {MAX_QUERY_CHARS} characters long; this one has {len(raw):,}")
    query = Query(raw=raw)
    pending_or = False
    negate_next = False
    candidates: list[tuple[Term, bool, bool]] = []  # (term, excluded, joined to the previous by OR)
    for m in _TOKEN.finditer(raw.replace("\u201c", '"').replace("\u201d", '"')):
        col = (m.group("col") or "").lower() or None
        neg = bool(m.group("neg")) or negate_next
        negate_next = False
        if m.group("phrase") is not None:
            words = _WORD_CHARS.findall(m.group("phrase"))
            if not words:
                continue
            term = Term(" ".join(w.rstrip("*") for w in words), col, phrase=True)
        else:
            token = m.group("word")
            if token in ("OR", "|"):
                pending_or = bool(candidates)
                continue
            if token in ("AND", "&", "&&"):
                continue
            if token == "NOT":
                negate_next = True
                continue
            if re.fullmatch(r"NEAR\(.*", token):
                token = token[5:]  # the NEAR( operator: its words are searched as words
            words = _WORD_CHARS.findall(token)
            if not words:
                continue  # "(", ")", "*", "^" ... on their own
            if len(words) > 1:  # NEAR(a  or  foo(bar)  or  a+b: the words, as separate terms
                for w in words:
                    if w.upper() not in ("NEAR", "AND", "OR", "NOT"):
                        candidates.append((Term(w.rstrip("*"), col, w.endswith("*")), neg, False))
                pending_or = False
                continue
            word = words[0]
            term = Term(word.rstrip("*"), col, prefix=word.endswith("*") and len(word) > 2)
        candidates.append((term, neg, pending_or and not neg))
        pending_or = False

    useful = [c for c in candidates if c[0].phrase or c[0].prefix or c[0].column
              or c[0].text.lower() not in STOPWORDS]
    if not any(not neg for _, neg, _ in useful):
        useful = candidates  # "the who": only common words, search them anyway
    _check_size(useful)
    query.words = [t.text for t, neg, _ in candidates if not neg]
    for term, neg, joined in useful:
        if neg:
            query.excluded.append(term)
        elif joined and query.groups:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
    if query.empty:
        if query.excluded:
            raise QueryError("a query needs at least one word to look for, not only words to leave out")
        raise QueryError(f"nothing to search for in {raw!r}")
    return query
