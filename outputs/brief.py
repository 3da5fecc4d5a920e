"""A brief for one cluster (one story told by one or more newsletters): inputs, signals, rating, fields.

`build` is deterministic: the same inputs give the same brief, byte for byte. The free-text fields come
from `templates/fields.j2` (house voice, overridable), fed only with signals and words of the sources,
so nothing in a brief names what the sources do not. A language model may rewrite those fields
afterwards (`outputs.generate`); the rest (sentences, ratings, citations) is always computed here.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from pipeline.dates import to_day

from . import sentences as sent
from . import signals as sig
from .markdown import slug_for

Encode = Callable[[list[str]], np.ndarray]
BRIEF_VERSION = 8  # bump when the way briefs are computed changes: every brief is rebuilt on the next run
MAX_THREAD_CITED = 12  # Cited By lists the thread's stories nearest in time; the count says how many more
FREE_TEXT = ("our_take", "what_to_do", "what_changes", "watch_for", "skeptics")
IMPACT_LEVELS = ((4, "high"), (2, "medium"), (-99, "low"))
_ORG = re.compile(r"\b(Labs?|Research|AI|Inc|Corp|University|Institute|Collective|Ventures|Commission|Foundation|"
                  r"Group|Robotics)$")


@dataclass
class Member:
    """A story of the cluster, as the brief needs it."""

    id: str
    title: str
    text: str
    source: str
    date: str
    issue_id: str
    issue_title: str
    issue_url: str | None
    section: str = "main"
    links: list[dict[str, str]] = field(default_factory=list)
    vector: np.ndarray | None = None


@dataclass
class Related:
    """Another story of the same cluster or thread (what Cited By and the skeptics draw on)."""

    story_id: str
    title: str
    text: str
    source: str
    date: str
    issue_id: str
    issue_title: str
    relation: str  # cluster | thread
    cluster_id: str


@dataclass
class BriefInput:
    cluster_id: str
    title: str  # the cluster's title: its most central story's
    thread_id: str | None
    members: list[Member]  # oldest first
    related: list[Related]  # oldest first; thread stories outside this cluster, and the cluster's own
    thread_clusters: list[tuple[str, str]]  # (cluster id, first date), oldest first, as known then
    subject: str = ""  # the cluster's subject from the archive's statistics (pipeline.terms), lower case


@dataclass
class Brief:
    cluster_id: str
    slug: str
    title: str
    date: str
    sources: list[str]
    kind: str
    impact: str
    impact_score: int
    impact_reasons: list[str]
    what_happened: list[dict[str, str]]  # {text, story_id, source, date}
    original: dict[str, str | None]  # {title, url, source}
    primary: dict[str, str] | None  # the main link the story points to
    who: list[str]
    when: str
    when_reason: str
    our_take: str
    what_to_do: str
    what_changes: str
    watch_for: str
    skeptics: str
    counter: list[dict[str, str]]  # archive stories that cut against it
    cited_by: list[dict[str, Any]]
    signals: dict[str, Any]
    generator: str = "template"
    thread_id: str | None = None
    cited_more: int = 0  # thread stories beyond those listed in cited_by

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Brief":
        return cls(**data)


def rate(s: sig.Signals) -> tuple[str, int, list[str]]:
    """impact low/medium/high from stated signals; the reasons are the points, in words a reader can check."""
    if s.kind in ("notice", "fiction"):
        return "low", -2, [f"a {s.kind}, not news (-2)"]
    points: list[tuple[int, str]] = []
    if s.sources >= 3:
        points.append((2, f"carried by {s.sources} sources (+2)"))
    elif s.sources == 2:
        points.append((1, "carried by 2 sources (+1)"))
    if s.kind in ("release", "incident", "policy"):
        points.append((1, f"a {s.kind} (+1)"))
    elif s.kind == "other":
        points.append((-1, "no clear kind of news (-1)"))
    usable = [a for a in s.artifacts if a in ("weights", "code")]
    if usable:
        points.append((1, f"{' and '.join(usable)} available (+1)"))
    if s.figures:
        points.append((1, "states a measured figure (+1)"))
    # a thread's length is not news by itself: a follow-up rises only by what it brings (sources, figures...)
    if s.horizon == "weeks":
        points.append((1, "acts within weeks (+1)"))
    elif s.horizon == "years":
        points.append((-1, "plays out over years (-1)"))
    score = sum(p for p, _ in points)
    level = next(name for floor, name in IMPACT_LEVELS if score >= floor)
    return level, score, [r for _, r in points] or ["no signal raises it (0)"]


def as_written(subject: str, texts: Sequence[str]) -> str:
    """A lower-case subject ("point-e", "mistral 7b") as the texts write it ("Point-E", "Mistral 7B"), or ""."""
    words = [re.escape(w) for w in subject.split()]
    pattern = re.compile(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?:['’]s)?(?![\w-])", re.I)
    for text in texts:
        m = pattern.search(text)
        if m:
            return re.sub(r"['’]s$", "", m.group(0))
    return ""


def subject_and_org(members: Sequence[Member], names: list[str], named: str = "") -> tuple[str, str]:
    """(subject, organisation). The subject is the cluster's own (`named`: the most specific name its titles
    share, by the archive's statistics) as the stories write it; without one, the most mentioned name that
    appears in a title. The organisation is the next other name."""
    def titles_with(name: str) -> int:
        return sum(bool(re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", m.title)) for m in members)
    in_title = sorted((n for n in names if titles_with(n)), key=lambda n: -titles_with(n))  # stable: frequency next
    subject = as_written(named, [m.title for m in members] + [m.text for m in members]) if named else ""
    subject = subject or (in_title[0] if in_title else (names[0] if names else ""))
    orgs = [n for n in names if _ORG.search(n)]
    others = [n for n in names if n != subject and n not in subject and subject not in n]
    org = orgs[0] if orgs else (others[0] if others else "")
    return subject, org


def _change_sentence(cands: list[sent.Sentence], chosen: set[str]) -> str:
    """A sentence of the sources with a figure or a stated plan that What Happened did not already use."""
    for s in cands:
        if s.text not in chosen and (sig.figures(s.text) or sig.plans(s.text)):
            return s.text.strip("\"“”' ")
    return ""


def _lag(a: str, b: str) -> float:
    """Days from b to a, one decimal."""
    return round(to_day(a) - to_day(b), 1)


def build(inp: BriefInput, encode: Encode, roles: dict[str, np.ndarray], fields_renderer: Callable[..., dict],
          slug: str | None = None) -> Brief:
    """The brief for one cluster: every sentence picked, every signal measured, every field written."""
    members = inp.members
    lead = members[0]
    vectors = [m.vector for m in members if m.vector is not None]
    centroid = np.mean(np.vstack(vectors), axis=0) if vectors else None
    text = "\n".join(m.text for m in members)
    titles = " ".join(m.title for m in members)
    urls = [link["url"] for m in members for link in m.links]
    kind, kind_cues = sig.classify("\n".join(m.title for m in members), text, lead.section)
    horizon, horizon_cues = sig.horizon(kind, text)
    position = next((i + 1 for i, (cid, _) in enumerate(inp.thread_clusters) if cid == inp.cluster_id), 1)
    thread_start = inp.thread_clusters[0][1] if inp.thread_clusters else lead.date
    names = sig.names([titles, text], titles)
    s = sig.Signals(kind=kind, kind_cues=kind_cues, horizon=horizon, horizon_cues=horizon_cues,
                    sources=len({m.source for m in members}), stories=len(members), thread_position=position,
                    thread_clusters=len(inp.thread_clusters), days_since_thread_start=_lag(lead.date, thread_start),
                    span_days=_lag(members[-1].date, lead.date),
                    artifacts=sig.artifacts(text, urls), figures=sig.figures(text), names=names, plans=sig.plans(text),
                    contrary=sig.contrary(titles + " " + text))
    if centroid is not None and kind not in ("notice", "fiction"):
        s.audiences = sig.audiences(centroid, roles)

    cands = sent.candidates([(m.id, m.text) for m in members])
    picked = sent.central(cands, encode, centroid, limit=3 if len(members) > 1 else 2)
    by_id = {m.id: m for m in members}
    if len(members) == 1:  # one story: keep its own order
        picked.sort(key=lambda p: p[0].index)
    what_happened = [{"text": p.text, "story_id": p.story_id, "source": by_id[p.story_id].source,
                      "date": by_id[p.story_id].date} for p, _ in picked]

    level, score, reasons = rate(s)
    subject, org = subject_and_org(members, names, inp.subject)
    member_ids = {m.id for m in members}
    key_names = [n for n in (subject, org) if n]
    counter = [] if s.contrary or kind in ("notice", "fiction") or not key_names else [
        {"story_id": r.story_id, "title": r.title, "source": r.source, "date": r.date}
        for r in inp.related if r.story_id not in member_ids and r.relation == "thread"
        and any(n in r.title or n in r.text for n in key_names) and sig.contrary(f"{r.title} {r.text}")][:3]
    same = [r for r in inp.related if r.relation == "cluster" and r.story_id != lead.id]
    thread = sorted((r for r in inp.related if r.relation == "thread"),
                    key=lambda r: (abs(_lag(r.date, lead.date)), r.date, r.story_id))[:MAX_THREAD_CITED]
    cited_by = [{"story_id": r.story_id, "title": r.title, "source": r.source, "date": r.date,
                 "issue_title": r.issue_title, "relation": r.relation, "lag_days": _lag(r.date, lead.date)}
                for r in sorted(same + thread, key=lambda r: (r.date, r.story_id))]
    links = [link for m in members for link in m.links]
    primary = links[0] if links else None
    first_thread = next((r for r in inp.related if r.cluster_id == inp.thread_clusters[0][0]), None) \
        if inp.thread_clusters and position > 1 else None
    chosen = {w["text"] for w in what_happened}
    context = {
        "s": s, "kind": kind, "subject": subject, "org": org, "title": inp.title, "level": level,
        "sources": sorted({m.source for m in members}), "figure": sig.key_figure(s.figures), "hardware": sig.hardware(titles + " " + text),
        "plan": s.plans[0] if s.plans else "", "change_sentence": _change_sentence(cands, chosen),
        "first_thread": first_thread, "counter": counter, "horizon": horizon,
        "span_days": s.span_days,
    }
    fields = fields_renderer(**context)
    when_reason = (f"the text says \u201c{horizon_cues[0]}\u201d" if horizon_cues else f"usual for a {kind}")
    if kind in ("notice", "fiction"):
        horizon, when_reason = "n/a", f"a {kind}"
    return Brief(
        cluster_id=inp.cluster_id, slug=slug or slug_for(inp.title, inp.cluster_id), title=inp.title,
        date=lead.date, sources=context["sources"], kind=kind, impact=level, impact_score=score,
        impact_reasons=reasons, what_happened=what_happened,
        original={"title": lead.issue_title, "url": lead.issue_url, "source": lead.source}, primary=primary,
        who=[name for name, _ in s.audiences], when=horizon, when_reason=when_reason,
        counter=counter, cited_by=cited_by, signals=asdict(s), thread_id=inp.thread_id,
        cited_more=sum(r.relation == "thread" for r in inp.related) - len(thread),
        **{k: fields.get(k, "") for k in FREE_TEXT})
