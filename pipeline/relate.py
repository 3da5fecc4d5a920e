"""How two stories relate: the same story, related (same subject, different news), or neither — with why.

Whole-story cosine alone cannot tell these apart: a one-line link-list item and a long summary of the same
event are written too differently, while a fine-tune of a model reads much like the model's launch. So the
decision weighs evidence a reader can check:

- specific terms both stories name (`pipeline.terms`: words and phrases few stories of the archive use,
  names weighing most), as a share of the lighter story's;
- a specific link both cite (a paper, a repository, a post; not a home page);
- time: the same story is told within days (by one newsletter, within ten: later, without the same link,
  it is telling a development) — or repeated later: a newsletter that reruns an item weeks or months on (a
  "best of" edition, a paper cited again) cites the same specific link with near-identical text;
- embedding cosine, as support;
- a turn: a headline answering another piece ("Response to ...") or undoing a decision ("... lifts the
  ban", "undoing some of the limits") tells another event than the one it answers or undoes, however
  alike the two read and whatever link they share.

Related news must share a name that few of the archive's stories use: two stories naming "AI" or "ChatGPT"
are not related for that.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .terms import FIELD, GENERIC, TermStats

SAME, RELATED = "same", "related"


@dataclass(frozen=True)
class RelateConfig:
    """Defaults measured on the labelled real pairs (bench/eval_clusters.py --real)."""

    same_days: float = 14.0  # the same story is told within this many days (weeklies lag dailies)
    same_score: float = 0.85  # cosine + overlap_weight x shared specific weight, for the same story
    overlap_weight: float = 0.3
    link_cos: float = 0.30  # a shared specific link needs only this much cosine
    related_overlap: float = 0.20  # shared specific weight for related news (with a shared name)
    repeat_cos: float = 0.80  # a shared specific link and this much cosine: the same story at any distance
    related_max_share: float = 0.02  # a name more of the archive's stories use says nothing of relatedness
    # one newsletter telling it again more than this much later, with no shared link, tells a development: a
    # weekly's next issue (7 days) may repeat an item, the one after (14 days) reports what came of it
    own_days: float = 10.0
    # the same sum, share or count in both, within the same-story window: the same story with this much cosine
    figure_cos: float = 0.60


_REPLY = re.compile(r"^\W*(?:a |an |my |our )?(?:response|reply|rebuttal|counterpoint|answer)s? to\b|"
                    r"\bin (?:defen[cs]e|response) (?:of|to)\b|\brespond(?:s|ing)? to\b|\brebut(?:s|ting)?\b", re.I)
_REVERSAL = re.compile(r"\b(?:lift(?:s|ed|ing)?|drop(?:s|ped|ping)?|undo(?:es|ing)?|undid|revers(?:es|ed|ing)|"
                       r"roll(?:s|ed|ing)? back|scrap(?:s|ped|ping)?|relax(?:es|ed|ing)?|eas(?:es|ed|ing)|"
                       r"walk(?:s|ed|ing)? back)(?:\s+[\w'’-]+){0,4}?\s+(?:bans?|limits?|restrictions?|rules?|"
                       r"polic(?:y|ies)|blocks?|moratorium|pause)\b", re.I)


# a sum, a count or a share a story states ("$20/month", "$145M", "55,000 jobs", "90%"), in one unit
_FIGURE = re.compile(r"(?<![\w.-])(?P<cur>[$€£])?\s?(?P<num>\d[\d,]*(?:\.\d+)?)\s?(?P<unit>%|percent\b|k\b|thousand\b|"
                     r"m\b|mn\b|million\b|b\b|bn\b|billion\b|trillion\b)?", re.IGNORECASE)
_SCALE = {"k": 1e3, "thousand": 1e3, "m": 1e6, "mn": 1e6, "million": 1e6, "b": 1e9, "bn": 1e9, "billion": 1e9,
          "trillion": 1e12}


def figures_of(text: str) -> frozenset[str]:
    """The sums ("$145M" and "$145 million" alike), shares and counts of a thousand or more a text states,
    normalised; not years, small counts ("3 models", "Microsoft 365") nor a model's size ("Falcon 40B")."""
    out = set()
    for m in _FIGURE.finditer(text):
        digits = m.group("num").replace(",", "")
        try:
            value = float(digits)
        except ValueError:
            continue
        unit, money = (m.group("unit") or "").lower(), bool(m.group("cur"))
        if unit in ("%", "percent"):
            out.add(f"{value:g}%")
            continue
        if not money and unit and len(unit) <= 2:
            continue  # "40B", "6B": a model's size is part of its name
        value *= _SCALE.get(unit, 1.0)
        if money:
            out.add(f"${value:g}")
        elif not unit and 1900 <= value <= 2100 and "." not in digits:
            continue  # a year
        elif value >= 1000:
            out.add(f"{value:g}")
    return frozenset(out)


_FIRST_PERSON = re.compile(r"i['’](?:ve|m|ll|d)\b", re.I)


def turn_of(title: str) -> str:
    """"reply" for a headline answering another piece, "reversal" for one undoing a decision, else ""."""
    return "reply" if _REPLY.search(title) else "reversal" if _REVERSAL.search(title) else ""


@dataclass
class Side:
    """One story as the decision sees it."""

    id: str
    day: float
    title_terms: frozenset[str]
    terms: frozenset[str]  # title and lead
    links: frozenset[str] = frozenset()
    turn: str = ""  # `turn_of` its headline
    source: str = ""  # the newsletter that told it
    figures: frozenset[str] = frozenset()  # `figures_of` its title and lead
    _weights: dict[str, float] | None = field(default=None, repr=False, compare=False)
    _total: float | None = field(default=None, repr=False, compare=False)

    def weights(self, stats: TermStats) -> dict[str, float]:
        """Each term's specific weight (computed once: a story meets many neighbours)."""
        if self._weights is None:
            self._weights = {t: stats.idf(t) * (0.25 + min(stats.name_like(w) for w in t.split())) for t in self.terms}
        return self._weights

    def total(self, stats: TermStats) -> float:
        if self._total is None:
            self._total = sum(self.weights(stats).values())
        return self._total


@dataclass
class Relation:
    kind: str | None  # SAME, RELATED or None
    reason: str
    overlap: float = 0.0
    cosine: float = 0.0
    shared: list[str] = field(default_factory=list)
    repeat: bool = False  # the same story told again after the same-story window (joins across it)


def overlap(a: Side, b: Side, stats: TermStats) -> tuple[float, list[str]]:
    """Specific weight the two stories share, as a share of the lighter one's; the shared terms, heaviest first."""
    wa, wb = a.weights(stats), b.weights(stats)
    shared = a.terms & b.terms
    if not wa or not wb:
        return 0.0, []
    common = sum(wa[t] for t in shared)
    score = common / min(a.total(stats), b.total(stats))
    return min(score, 1.0), sorted(shared, key=lambda t: (-wa[t], t))


def relate(a: Side, b: Side, cosine: float, stats: TermStats, config: RelateConfig = RelateConfig(),
           shared_link: str = "") -> Relation:
    """The relation of two stories and the evidence for it."""
    share, shared = overlap(a, b, stats)
    gap = abs(a.day - b.day)
    top = ", ".join(shared[:3])
    linked = bool(shared_link) and cosine >= config.link_cos  # the same specific link, and alike enough
    alike = cosine + config.overlap_weight * share >= config.same_score
    if a.turn != b.turn and (linked or alike):
        # told alike, but one answers or undoes what the other tells: other news about the same thing
        turn = "a reply" if "reply" in (a.turn, b.turn) else "a reversal"
        names = _specific_names(shared, stats, config)
        return Relation(RELATED if names else None, f"{turn}: other news about {', '.join(names[:2])}" if names
                        else "", share, cosine, shared)
    if shared_link and gap > config.same_days and cosine >= config.repeat_cos:
        return Relation(SAME, f"told again {gap:.0f} days later, both cite {shared_link}", share, cosine, shared,
                        repeat=True)
    own = bool(a.source) and a.source == b.source and gap > config.own_days and not shared_link
    if gap <= config.same_days and not own:
        if linked:
            return Relation(SAME, f"both cite {shared_link}", share, cosine, shared)
        if alike:
            subject = f"both name {top}; " if top else ""
            return Relation(SAME, f"{subject}cosine {cosine:.2f} within {gap:.0f} days", share, cosine, shared)
        figures = a.figures & b.figures
        if figures and cosine >= config.figure_cos:
            return Relation(SAME, f"both give {', '.join(sorted(figures)[:2])}; cosine {cosine:.2f} within "
                            f"{gap:.0f} days", share, cosine, shared)
    # related news shares a name that is not the field ("AI", "LLMs") nor one a big share of the archive uses
    # ("ChatGPT", "Google": two stories naming it are not related for that)
    names = _specific_names(shared, stats, config) if share >= config.related_overlap else []
    if names:
        when = f", {gap:.0f} days apart" if gap > 1 else ""
        return Relation(RELATED, f"both about {', '.join(names[:2])}, other news{when}", share, cosine, shared)
    return Relation(None, "", share, cosine, shared)


def _specific_names(shared: list[str], stats: TermStats, config: RelateConfig) -> list[str]:
    """The shared terms that are names, not the field, and used by few of the archive's stories; not a word of
    one or two letters ("HQ", "UK": an abbreviation, not what two stories are about), nor "I've" or "I'm",
    capitalised wherever they are written."""
    common = max(10.0, config.related_max_share * stats.docs)
    return [t for t in shared if (" " in t or len(t) >= 3) and not _FIRST_PERSON.match(t)
            and min(stats.name_like(w) for w in t.split()) >= 0.6
            and not all(w in GENERIC or w in FIELD for w in t.split()) and stats.df.get(t, 0) <= common]
