"""A brief for one cluster (one story told by one or more newsletters): inputs, signals, rating, fields.

`build` is deterministic: the same inputs give the same brief, byte for byte. The free-text fields come
from `templates/fields.j2` (house voice, overridable), fed only with signals and words of the sources,
so nothing in a brief names what the sources do not. A language model may rewrite those fields
afterwards (`outputs.generate`); the rest (sentences, ratings, citations) is always computed here.
"""
from __future__ import annotations

import heapq
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Sequence

import numpy as np

from pipeline.dates import to_day
from pipeline.relate import RelateConfig, figures_of

from . import evidence as ev
from . import facts as fx
from . import sentences as sent
from . import signals as sig
from . import watch as wt
from .headline import (about, alternative, announcer, around, distinctive, introduced, proposed, raiser,
                       researched, speaker_of, title_name, used_by)
from .markdown import issue_slug, newsletter_slug, slug_for

Encode = Callable[[list[str]], np.ndarray]
BRIEF_VERSION = 67  # bump when the way briefs are computed changes: every brief is rebuilt on the next run
REPEAT_DAYS = RelateConfig.same_days  # a cluster spanning more days holds the same story told again later
MAX_COUNTER = 3  # counter-evidence a brief cites: the first few of its thread, in time order
MAX_THREAD_CITED = 12  # Cited By lists the thread's stories nearest in time; the count says how many more
RELATED_TAKE_DAYS = 180  # Our Take compares with related news this recent (the nearest first); older is history
FREE_TEXT = ("our_take", "what_to_do", "what_changes", "watch_for", "skeptics")
IMPACT_LEVELS = ((4, "high"), (2, "medium"), (-99, "low"))
_CAP_SCORE = {"medium": 3, "low": 0}  # the most points a capped story keeps: the top of medium; no more than news
# with no signal at all (a bare listing or a promotion)
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
    # the archive before this cluster: stories naming its subject in their titles ({count, first, latest}),
    # how many stories name its actor anywhere, and stories related to its own but other news
    history: dict[str, Any] | None = None
    actor_mentions: int = 0
    common_words: frozenset[str] = frozenset()  # capitalised words of its stories the archive writes in lower case
    known_names: frozenset[str] = frozenset()  # ... and those it writes capitalised inside sentences
    other_news: list[dict[str, Any]] = field(default_factory=list)
    # later stories of its thread that cut against a claim (`signals.contrary`): the only later news a
    # brief cites, as counter-evidence
    later: list[Related] = field(default_factory=list)
    # worked out once per brief (the stage reads them too): (subject, actor), and the candidate sentences
    named: tuple[str, str] | None = None
    sentences: list[sent.Sentence] | None = None


def candidates_of(inp: BriefInput) -> list[sent.Sentence]:
    """The candidate sentences of a cluster's stories (split once, then kept on the input)."""
    if inp.sentences is None:
        inp.sentences = sent.candidates([(m.id, m.text, m.title) for m in inp.members])
    return inp.sentences


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
    watch: list[dict[str, str]] = field(default_factory=list)  # watch-for items: event, subject, text

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Brief":
        return cls(**data)


# who a story of a (sure) kind is for when its text names no audience's words (the default audiences' names;
# an audience a user's [brief.audiences] does not have is skipped)
KIND_AUDIENCE = {"research": "Researchers", "benchmark": "Researchers", "release": "Applied ML engineers",
                 "funding": "Founders", "business": "Founders", "policy": "Policy teams"}
REACH = 25  # an actor named in this many stories of the archive is one readers know
FAMILIAR = 5  # ... and in this many, one the archive has met: its one-line listings are not bare
_PROMO = re.compile(r"\b(?:fan[- ]made|fan project|i made|i built|my (?:first|new|latest)|affiliate|promo code|"
                    r"discount|giveaway|sponsored)\b", re.IGNORECASE)


def rate(s: sig.Signals, *, usable: Sequence[str] = (), claim_by: str = "", novel: bool = False,
         seen_before: int = 0, actor: str = "", actor_mentions: int = 0, one_line: bool = False,
         promo: bool = False) -> tuple[str, int, list[str]]:
    """impact low/medium/high the way an editor ranks: independent coverage, novelty against the archive,
    artifacts a builder can use, a measured (not asserted) result, the actor's reach; one-line link items,
    fan projects and promotions are never high. The reasons are the points, in words a reader can check."""
    if s.kind in ("notice", "fiction"):
        return "low", -2, [f"a {s.kind}, not news (-2)"]
    points: list[tuple[int, str]] = []
    if s.sources >= 3:
        points.append((2, f"told by {s.sources} newsletters independently (+2)"))
    elif s.sources == 2:
        points.append((1, "told by 2 newsletters (+1)"))
    if s.kind in ("release", "incident", "policy"):
        points.append((1, f"{'an' if s.kind[0] in 'aeiou' else 'a'} {s.kind} (+1)"))
    elif s.kind in ("opinion", "other"):
        points.append((-1, f"{'an opinion piece' if s.kind == 'opinion' else 'no clear kind of news'} (-1)"))
    if usable:
        points.append((1, f"{' and '.join(usable)} to use now (+1)"))
    if claim_by == "measured":
        points.append((1, "its result was measured by someone other than its makers (+1)"))
    if novel:
        points.append((1, "the first time the archive names its subject (+1)"))
    elif seen_before >= 10:
        points.append((-1, f"its subject is in {seen_before} earlier headlines (-1)"))
    known = bool(actor) and actor_mentions >= REACH and not sig.not_a_subject(actor)  # a maker's reach, not "US"'s
    if known:
        points.append((1, f"from {actor}, named in {actor_mentions} stories of the archive (+1)"))
    # a thread's length is not news by itself: a follow-up rises only by what it brings (sources, figures...)
    if s.horizon == "weeks":
        points.append((1, "acts within weeks (+1)"))
    elif s.horizon == "years":
        points.append((-1, "plays out over years (-1)"))
    score = sum(p for p, _ in points)
    level = next(name for floor, name in IMPACT_LEVELS if score >= floor)
    reasons = [r for _, r in points] or ["no signal raises it (0)"]
    # a one-line listing of something the archive has not met (no earlier headline names it, its maker is in
    # fewer than FAMILIAR stories) is a list entry, whatever it links: every such item is "new" and "acts within
    # weeks", and a repository or an API is what a listed tool usually is, so those points would rank a day's
    # tool listings above its news
    familiar = known or seen_before >= 2 or (bool(actor) and actor_mentions >= FAMILIAR)
    bare = one_line and s.sources == 1 and not familiar
    cap = ("a promotion or fan project: at most low" if promo else
           "a one-line listing from one newsletter, of something few earlier stories name: at most low" if bare else
           "a one-line link item from one newsletter: at most medium" if one_line and s.sources == 1 else
           "an opinion piece: at most medium" if s.kind == "opinion" else
           "one newsletter alone, without a well-known actor and something to use or a measured result: "
           "at most medium" if s.sources == 1 and not (known and (usable or claim_by == "measured"))
           else "")
    # a cap takes the points above it away, so the score ranks what the cap left: a capped listing sorts below
    # the day's uncapped news, not above it
    most = _CAP_SCORE["low" if promo or bare else "medium"] if cap else score
    if score > most:
        reasons.append(f"{cap} ({most - score:+d})")
        score = most
        level = next(name for floor, name in IMPACT_LEVELS if score >= floor)
    return level, score, reasons


def as_written(subject: str, texts: Sequence[str]) -> str:
    """A lower-case subject ("point-e", "mistral 7b") as the texts write it ("Point-E", "Mistral 7B"), or ""."""
    words = [re.escape(w) for w in subject.split()]
    pattern = sig.pattern(r"(?<![\w-])" + r"[\s-]+".join(words) + r"(?:['’]s)?(?![\w-])", re.I)
    for text in texts:
        m = pattern.search(text)
        if m:
            return re.sub(r"['’]s$", "", m.group(0))
    return ""


_ACTS = (r"(?:released|releases|launched|launches|announced|announces|introduced|introduces|unveiled|unveils|"
         r"open-sourced|open sourced|open-sources|built|builds|trained|trains|published|publishes|debuted|"
         r"debuts|shipped|ships|rolled out|rolls out|developed|develops|created|creates|updated|updates|"
         r"upgraded|upgrades)\b")
_SINCE = re.compile(r"\b(?:after|since|when|before|once|until|because|as)\s+(?:the\s+)?$", re.I)
# "Meta's segmentation model has been extended to videos": someone else's news about the owner's thing
_DONE_TO = re.compile(r"\b(?:has|have) been \w+(?:ed|en)\b|\b(?:was|were|gets?|got) \w+(?:ed|en)\b")
# what a headline's opening possessive owns that it did not make: "Hyperion-7B's scores", "OpenAI's CEO"
_PROPERTY = (r"(?:scores?|results?|claims?|numbers|benchmarks?|performance|valuation|stock|shares|revenue|"
             r"ceo|founders?|chief|boss|board|investors?|lawyers?|users?|critics?)\b")


_MADE_AFTER = re.compile(rf"['’]s (?!{_PROPERTY})(?:new |latest )?[a-z]")
_ACTS_AFTER = re.compile(rf"(?:['’]s team)? (?:has |have |had )?{_ACTS}")
_OPENING = re.compile(r"\W*")


def _opens_made_by(head: str, subject: str) -> bool:
    """The headline opens with the subject's possessive of a thing it made ("AssemblyAI’s speech model"),
    not of its property ("Hyperion-7B's scores"). Matched without a pattern per subject."""
    start = _OPENING.match(head).end()
    return head.startswith(subject, start) and bool(_MADE_AFTER.match(head, start + len(subject)))


def _acts(name: str, text: str) -> bool:
    """The text says `name` released, built, launched... something ("Google has released"), outside a clause
    that only dates the news ("two weeks after Lumen Labs released it"). Like
    `re.finditer(rf"(?<![\\w-]){name}... {_ACTS}")` without a pattern compiled per name."""
    start = text.find(name) if name else -1
    while start >= 0:
        before = text[start - 1:start]
        if not (before and (before.isalnum() or before in "_-")) and _ACTS_AFTER.match(text, start + len(name)) \
                and not _SINCE.search(text[:start]):
            return True
        start = text.find(name, start + 1)
    return False


_OF_NAME = re.compile(r"\b(?:Office|Department|Ministry|Bureau|Secretary|Council|Committee|Commission|Agency|"
                      r"Board|Administration|Federation|Association|Society)(?: (?:of|for|and|&) [A-Z][\w.’'-]*)*"
                      r" (?:of|for|and|&) (?:the )?$")


# where a thing is run, hosted or measured against ("compared with the standard HuggingFace implementation",
# "available on HuggingFace"): not what the story made
_PLACED = re.compile(r"\b(?:compared (?:with|to)|against|than|versus|vs\.?|(?:available|hosted|found|run|runs) "
                     r"(?:on|at|via)|(?:pre-?)?trained on|fine-?tuned on|"
                     # "used for code completion in Visual Studio Code": where the thing is used
                     r"(?:used|using|use) (?:for|in|by) (?:[\w-]+ ){0,3}?(?:in|on|inside|within))\s+(?:the\s+)?"
                     r"(?:standard\s+|official\s+|"
                     r"original\s+|usual\s+|popular\s+)?$", re.I)


def _always_after(name: str, texts: Sequence[str], before: re.Pattern, reach: int) -> bool:
    """The texts name it, and every time the `reach` characters before it end in `before`."""
    seen = False
    for text in texts:
        start = text.find(name)
        while start >= 0:
            seen = True
            if not before.search(text[max(0, start - reach):start]):
                return False
            start = text.find(name, start + 1)
    return seen


def _fragment(name: str, texts: Sequence[str]) -> bool:
    """Every time the texts name it, it ends an office's longer name ("Management", "Budget" of "Office of
    Management and Budget"): a piece of another name, not one."""
    return _always_after(name, texts, _OF_NAME, 40)


_ON = r"(?:on|for|inside|into) (?:your |the |a |an |any |all )?"


def _runs_on(name: str, title: str) -> bool:
    """The headline names it only as where something runs ("... anywhere on your Mac", "a plugin for Figma"),
    never as what acts or is made."""
    seen = [m.start() for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", title)]
    return bool(seen) and all(sig.pattern(rf"{_ON}$", re.I).search(title[max(0, i - 30):i]) for i in seen)


def _maker_told(members: Sequence[Member], subject: str) -> str:
    """The maker another telling's headline names for the subject ("Together release OpenChatKit, their ..."), or
    ""."""
    for m in members:
        thing, maker, _ = title_name(m.title)
        if maker and thing and maker != subject and not sig.the_field(maker) and (
                thing.lower() in subject.lower() or subject.lower() in thing.lower()):
            return maker
    return ""


def _coined(name: str) -> bool:
    """A coined name ("SuccessVQA", "Qwen2.5"), an acronym with a number too ("GPT-4")."""
    return distinctive(name) or (name.isupper() and bool(re.search(r"[A-Z]{2}.*\d", name)))


_PRODUCT_END = re.compile(r"(?:GPT|Plus|Pro|Max|Mini|Turbo|Chat|Bot|Copilot)$")


def _product(name: str) -> bool:
    """Shaped like a model's or a product's name: a number in it ("GPT-4", "Text-Davinci-003") or a product's
    ending ("ChatGPT", "ChatGPT Plus"); "OpenAI", "BigScience" may be makers."""
    return any(c.isdigit() for c in name) or bool(_PRODUCT_END.search(name))


def _launched_in_lead(members: Sequence[Member], names: list[str], subject: str) -> str:
    """A coined name the lead says is being released ("These guys are releasing Conformer-1, a speech
    recognition model"): what a headline's "AssemblyAI’s speech recognition model" is."""
    for name in names:
        if distinctive(name) and name != subject and subject not in name and any(sig.pattern(
                rf"\b(?:releas|launch|introduc|unveil|debut|open[- ]sourc)\w*\s+{re.escape(name)}(?![\w-])").search(
                    m.text[:300]) for m in members):
            return name
    return ""


def _made_thing(members: Sequence[Member], names: list[str], subject: str) -> str:
    """When the headline's subject is a plain name (a company, a country) or nothing, the coined name the
    text repeats (at least twice), if there is one: what the story is about, made by the headline's subject."""
    if subject and _coined(subject):
        return ""
    text = "\n".join(f"{m.title}\n{m.text}" for m in members)
    head = {w.lower() for w in re.findall(r"\w+", members[0].title)} if members else set()
    texts = [f"{m.title}\n{m.text}" for m in members]
    found = [name for name in names if distinctive(name) and name != subject and not (subject and subject in name)
             and sig.standalone(name, text, most=2) >= 2 and not _always_after(name, texts, _PLACED, 40)]
    # what the headline describes ("Sakana uses AI to make CUDA kernels": "The AI CUDA Engineer", not "PyTorch",
    # which the text names as often): a name sharing a word with the headline first, then the most repeated
    shares = [n for n in found if {w.lower() for w in re.findall(r"\w+", n)} & head - {"ai"}]
    return (shares or found or [""])[0]


_COMPARED = re.compile(r"(?:\blike|such as|\bthan|versus|\bvs\.?|compet\w+ with|rivals?|against|including|"
                       r"outperform\w*|beats?|matches)\s+(?:[\w'’-]+(?:\.\d+)?,?\s+){0,6}$", re.I)  # "like Google's Gemma"


# an author's byline: "a paper by", "written by", "an essay from"
_BYLINE = re.compile(r"\b(?:(?:paper|post|essay|article|piece|blog|op-ed|column|book|thread|talk|report|study|"
                     r"written|authored|co-authored)\s+(?:[\w-]+\s+){0,3}?by|by)\s+$|"
                     r"\bby\s+[A-Z][\w.'’-]+(?:\s+[A-Z][\w.'’-]+)?\s+and\s+$", re.I)


def _only_compared(name: str, texts: Sequence[str]) -> bool:
    """Every time the texts name it, it is what something is compared with ("competitive with models like
    GPT-4, Claude 2, and Gemini Pro"): a yardstick, not who did anything."""
    return _always_after(name, texts, _COMPARED, 80)


# a news outlet reports the news; it is not who acted in it
_OUTLET = re.compile(r"(?:Reuters|Bloomberg|AP|AFP|CNBC|CNN|BBC|Axios|TechCrunch|(?:The )?Verge|Wired|VentureBeat|"
                     r"(?:The )?Information|WSJ|NYT|(?:The )?New York Times|(?:The )?Wall Street Journal|"
                     r"Financial Times|FT|(?:The )?Guardian|Forbes|Fortune|Business Insider|Insider|Engadget|"
                     r"Ars Technica|ZDNet|Semafor|Platformer|Motherboard|Vice)")
# a body that governs, rules or polices: it acts in the news (the actor), the news is what it decided
_GOVERNING = re.compile(r"\b(?:Governor|Senate|Congress|Court|Commission|Parliament|Ministry|Department|Agency|"
                        r"Administration|Government|Council|Police|Lawmakers|Regulators?|Judge|Legislature)$")
# a number or a measure the statistics took for a name ("1/800th", "280-billion-parameter", "5x")
_MEASURE_WORD = re.compile(r"\d[\d,.]*/\d+(?:st|nd|rd|th)?|\d[\d,.]*(?:st|nd|rd|th|x|×|%)|"
                           r"\d[\d,.]*-(?:billion|million|thousand|trillion|parameter|year|day|hour|minute)s?(?:-\w+)?",
                           re.IGNORECASE)
# a university or an institute does research; it is who did the work, not what the news is about
_INSTITUTION = re.compile(r"\b(?:University|Institute|College|School|Laborator(?:y|ies)|Academy)\b|^University of\b")
def _institution_of(name: str, texts: Sequence[str]) -> str:
    """The institution the texts name with this name in it, where they never write the name alone ("University
    of Waterloo", "Stanford University" for "Waterloo", "Stanford"), or ""."""
    pattern = sig.pattern(rf"\b(?:(?:University|Institute|College|School|Academy) of (?:the )?{re.escape(name)}\b|"
                          rf"{re.escape(name)} (?:University|Institute|College|School|Academy)\b)")
    found = next((m.group(0) for t in texts for m in [pattern.search(t)] if m), "")
    if not found:
        return ""
    alone = sum(len(sig.pattern(rf"(?<![\w-]){re.escape(name)}(?![\w-])").findall(t)) for t in texts)
    inside = sum(len(pattern.findall(t)) for t in texts)
    return found if alone <= inside else ""


# a headline that opens with a name and a colon, the way news sites label a story ("Project Maven: Amazon...")
_LABELLED = re.compile(r"^\s*([A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,3}):\s+\S")
_KICKERS = frozenset("""exclusive breaking update updated opinion analysis report watch video podcast interview
explainer review live new study poll survey editorial commentary perspective essay listen read""".split())


def _launched(head: str, owner: str, thing: str) -> bool:
    """A sentence-case headline that says the owner launched a one-word thing, capitalised ("Microsoft launches
    Loop, its Notion competitor"): a plain word so written is the thing's name."""
    return bool(owner) and " " not in thing and not sig.title_case(head) and bool(re.match(
        rf"\s*{re.escape(owner)} \w+ (?:its |the |a |an )?(?:new )?{re.escape(thing)}(?:,|\s+(?:to|in|for|with|on|as|"
        r"at)\b|\s*[-–—:.]|\s*$)", head))


def _without(text: str, headlines: Sequence[str]) -> str:
    """The text with each copy of these headlines blanked out."""
    for line in headlines:
        text = text.replace(line, " ") if line else text
    return text


def newsletter_name(name: str, members: Sequence[Member]) -> bool:
    """The newsletter itself ("Import AI" in "as Import AI covered last year"): the name its issues are
    numbered under ("Import AI 401: ...", "Last Week in AI #220") or its feed's name. It reports, it does not act."""
    squashed = re.sub(r"\W", "", name).lower()

    def feed(m: Member) -> str:
        return re.sub(r"\W", "", m.source.split("-")[0]).lower()
    # "Ben" and "Bites" of "Ben's Bites" (its author signs with the first): one word of its feed's name
    numbered = sig.pattern(rf"{re.escape(name)}\s*#?\d", re.I)
    return any(numbered.match(m.issue_title or "") or squashed == feed(m)
               or (" " not in name and len(squashed) >= 3 and squashed in feed(m)) for m in members)


def headline_names(members: Sequence[Member]) -> str:
    """The headline with its names as the grammar should read them: a Title Case headline's capitals say
    nothing, so only the names its body confirms stay capitalised (a one-line item has no body beyond its
    headline to confirm anything, so its headline is read as written)."""
    head = members[0].title if members else ""
    body = "\n".join(m.text for m in members)
    if sig.title_case(head) and len(body.replace(head, " ").split()) > 3:
        head = sig.named_in_title_case(head, body)
    return head


# a lead naming the company the headline only describes: "Sapeon, a South Korean AI chip startup headquartered in
# California, is raising ..."
_APPOSITIVE = re.compile(r"(?:^|[.!?:\"“]\s*|\s[-–—]\s*[\"“]?\s*)(?P<name>[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,2}), "
                         r"(?:a|an|the) (?:[\w.-]+ ){0,6}?(?:startup|start-up|company|firm|maker|developer|provider|"
                         r"lab|unicorn|chipmaker|platform)\b")


# a headline naming who a tool is for, where that is not one of the builders Pulse writes for
_FOR_WHOM = re.compile(r"\bfor (?:(?:busy|small|indie|solo|independent|non-technical|content|video|social media|real "
                       r"estate|e-?commerce) )?(?P<who>marketers|designers|lawyers|teachers|educators|students|"
                       r"creators|writers|authors|journalists|recruiters|doctors|clinicians|artists|musicians|"
                       r"podcasters|youtubers|streamers|sellers|salespeople|agents|accountants|kids|parents|gamers|"
                       r"photographers|filmmakers|editors|businesses|shops|stores|freelancers)\b", re.I)


# the people a tool is for, from the domain its description names ("AI-generated summaries of your legal docs",
# "Your AI for all things crypto"): where no builder audience's words appear, the tool's own users are the Who
_DOMAIN_READERS = tuple((who, re.compile(rf"\b(?:{words})\b", re.I)) for who, words in (
    ("Lawyers and legal teams", r"legal|lawyers?|law firms?|contracts?|paralegals?|patents?"),
    ("Crypto traders", r"crypto\w*|bitcoin|blockchain|web3|defi|nfts?"),
    ("Sales teams", r"sales\w*|crm|leads|prospect\w*|cold emails?"),
    ("Marketers", r"marketing|marketers?|ads|advertis\w+|seo|copywrit\w+|social media posts?"),
    ("Recruiters and job seekers", r"recruit\w*|hiring|resumes?|cvs?|job (?:search|seekers?|applications?)|cover letters?"),
    ("Students and teachers", r"students?|teachers?|homework|lectures?|classroom|tutor\w*|studying"),
    ("Clinicians", r"doctors?|clinic\w*|patients?|medical|nurses?|ecgs?|diagnos\w+|radiolog\w+"),
    ("Online sellers", r"e-?commerce|shopify|amazon sellers?|product listings?|online stores?"),
    ("Designers", r"designers?|logos?|figma|ui mockups?|interior design"),
    ("Video and podcast creators", r"youtube\w*|videos?|podcasts?|tiktok|streamers?"),
    ("Finance teams", r"accounting|accountants?|invoices?|tax(?:es)?|bookkeeping|spreadsheets?|excel"),
    ("Support teams", r"customer support|support tickets?|helpdesk|customer service"),
    ("Game developers", r"games?|gaming|game assets?|npcs?"),
    ("Writers", r"writers?|authors?|novels?|books?|blog posts?|essays?"),
    ("Security teams", r"security|cyber\w*|threats?|vulnerabilit\w+|malware|phishing|attacks?"),
    ("Travellers", r"travel\w*|trips?|itinerar\w+|flights?|hotels?|vacations?"),
))


# a listed tool for people who build software: where none of these words appear, it is for its own users
_BUILDER_TOOL = re.compile(r"\b(?:developers?|devs?|engineers?|code|coding|programm\w+|apis?|sdks?|llms?|gpt[\w-]*|"
                           r"models?|prompts?|deploy\w*|open[- ]source|github|python|javascript|typescript|"
                           r"sql|data(?:sets?|bases?)?|workflows?|no-code|low-code|automat\w+|embeddings?|"
                           r"vectors?|fine-?tun\w*|inference|gpus?|ml|machine learning|plugins?|integrat\w+|"
                           r"terminal|cli|websites?|apps? builder|"
                           r"build(?:ing|s)? (?:apps?|tools?|bots?|agents?|chatbots?)|"
                           r"transformers?|ocr|neural|diffusion|nlp|retrieval|rag|training|research|papers?|docs|"
                           r"library|framework|benchmarks?|ides?|editors?|devtools?)\b", re.I)
GENERAL = "General users"  # who a listed tool with no builder's words is for
# the sources speak of a model (what has weights), not a feature or an app
_MODEL_WORDS = re.compile(r"\b(?:models?|llms?|weights|checkpoints?|parameters|params|fine-?tun\w+)\b", re.I)


def domain_readers(text: str) -> str:
    """Who a tool's description says it serves (`_DOMAIN_READERS`), when exactly one domain is named; else ""."""
    found = [who for who, pattern in _DOMAIN_READERS if pattern.search(text)]
    return found[0] if len(found) == 1 else ""


def _valuation(figure: str, text: str) -> bool:
    """The sources give this sum as a valuation ("valued at $2 billion", "a $400 million valuation")."""
    f = re.escape(figure)
    return bool(re.search(rf"\b(?:valued at|valuation (?:of|at|above|over|near)|valuing (?:it|the \w+) at)\s+"
                          rf"(?:about |around |roughly |nearly |over |above |more than |almost )?{f}|{f}\+?\s+"
                          rf"(?:\w+ )?valuation\b", text, re.I))


def subject_and_org(members: Sequence[Member], names: list[str], named: str = "",
                    common_words: frozenset[str] = frozenset(),
                    known_names: frozenset[str] = frozenset()) -> tuple[str, str]:
    """(subject, organisation). What the headline's grammar names first (a listed tool, "Org's Product");
    else the cluster's own subject (`named`: the most specific name its titles share, by the archive's
    statistics) as the stories write it, unless that is a common word in lower case while a title names
    something; else the most mentioned name that appears in a title. The organisation is the owner the
    headline names, else the next other name."""
    def titles_with(name: str) -> int:
        return sum(bool(sig.standalone(name, m.title)) for m in members)
    lower = {w for m in members for w in re.findall(r"\b[a-z][\w-]*\b", f"{m.title} {m.text}")}

    def common(name: str) -> bool:
        """A word the stories or the archive write in lower case ("Hard" in a Title Case headline,
        "Researchers" opening a sentence): not a name."""
        if re.search(r"-(?:powered|based|driven|generated|like|style|enabled|focused|related|made|first|owned|backed|"
                     r"funded|led|run|affiliated|linked)(?: AI)?$", name, re.I) \
                or re.fullmatch(r"(?:AI|A\.I\.?|ML|LLM)-[A-Za-z][a-z]+", name) or re.match(
                    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|\d+)-(?:time|year|day|week|month)\b", name, re.I):
            return True  # "AI-powered", "AI-synthesized", "Seven-time F1": a description, not a name
        if "--" in name:
            return True  # "Chatting--and Surveillance--Easy": words run together by a typed dash
        if any(c.isdigit() or c.isupper() for part in re.split(r"[\s-]+", name) for c in part[1:]):
            return False  # coined ("OpenAI", "GPT-4"); "Open-Sourcing" is two plain words
        # ... and a compound modifier of two plain words ("Full-text search", "Low-Code"), not a coined name with a
        # function word inside ("Smile-to-pay", "Paint-with-words")
        return all(w.lower() in common_words or (w.count("-") == 1 and all(p.lower() in common_words
                                                                            for p in w.split("-")))
                   for w in name.split()) or (" " not in name and name.lower() in lower)
    # where a capital says something: the texts (less their copies of a Title Case headline: "As Writers
    # Strike, AI Could Covertly Cross..." opening the body says no more than the headline), and the
    # headlines not in Title Case
    cased = [m.title for m in members if sig.title_case(m.title)]
    written = [_without(m.text, cased) for m in members] + [m.title for m in members if m.title not in cased]

    def capitalised_inside(name: str, body: bool = False) -> bool:
        """Written with its capitals inside a headline in sentence case ("... with Banner Bear + Whisper") or,
        with `body`, inside a sentence of the text ("deploy its Pedestrian Defense safety system"): every word
        of it is the name."""
        inside = sig.pattern(rf"(?<=[a-z,;:+] ){re.escape(name)}(?![\w-])")
        return any(inside.search(m.title) for m in members if m.title not in cased) or (
            body and any(inside.search(t) for t in written))

    def trimmed(name: str) -> str:  # "IBM Leverages Reinforcement Learning" (a Title Case headline) -> "IBM"
        if sig.not_a_subject(name) or (name.count(" ") in (1, 2) and not any(map(sig.the_field, name.split()))
                                       and capitalised_inside(name, body=True)):
            return name  # a place as written ("New York"), not "York": it is no actor either way
        words = name.split()
        while words and words[-1].lower() in common_words and not distinctive(words[-1]):
            words.pop()
        while words and words[0].lower() in common_words and not distinctive(words[0]):
            words.pop(0)
        return " ".join(words)
    raw = names
    names = list(dict.fromkeys(t for t in map(trimmed, names) if t and not common(t)
                               and not newsletter_name(t, members)))
    texts = [f"{m.title}\n{m.text}" for m in members]

    def initial_only(name: str) -> bool:
        """One plain word that is capitalised only where every word is (opening a headline or sentence, or
        anywhere in a Title Case headline: "AI's Best Trick Yet Is Showering Us With Attention")."""
        if " " in name or distinctive(name) or name.isupper():
            return False
        inside = sig.pattern(rf"(?<=[a-z,;] ){re.escape(name)}\b")
        return not any(inside.search(t) for t in written)
    in_title = sorted((n for n in names if titles_with(n)), key=lambda n: -titles_with(n))  # stable: frequency next
    head = headline_names(members)
    body = "\n".join(m.text for m in members)
    untitled = _without(body, [m.title for m in members])  # the body less its copies of the headlines
    deal = fx.deal_of(head, members[0].title if members else "")
    if deal:  # "Intel buys AI chipmaker Habana": the news is about what was bought, done by the buyer
        return deal["target"], deal["buyer"]
    raised = raiser(members[0].title if members else "")
    if raised:  # "Distributed AI builder Together raises $20m": the company, which acted too
        return raised, raised
    rival = alternative(members[0].title if members else "")
    if rival:  # "GPT-3's free alternative GPT-Neo": the alternative, made by whoever the stories say
        return rival, ""
    presented = introduced(members[0].title if members else "")
    subject, owner, listed = title_name(head) if head else ("", "", False)
    thing, lab = proposed(members[0].title) if members and not presented else ("", "")
    if thing:  # "Researchers from UC Berkeley and DeepMind Propose SuccessVQA": what they made, and who
        subject, owner, listed = thing, lab, False
    if presented:  # "Introducing the Inclusive Images Competition": what the headline presents, as written
        subject, owner, listed = presented, "", False
    labelled = _LABELLED.match(members[0].title) if members and not subject else None
    if labelled and (labelled.group(1) not in names or sig.not_a_subject(labelled.group(1))
                     or labelled.group(1).lower() in _KICKERS):
        labelled = None
    if labelled:  # "Michael Schumacher: family plan legal action...": what the news is about
        subject = labelled.group(1)
    if not listed and ((owner and common(owner)) or (subject and common(subject) and not _launched(head, owner,
                                                                                               subject)
                                                      and not (" " in subject and capitalised_inside(subject)))):
        subject, owner = "", ""  # "World's First AI Writing Assistant"; a listed tool's name is its name
    if not subject:
        # a sum or a date the archive's statistics ran together with a word ("Pour $1", "January 2017") is no name
        figure = any(w[:1] in "$€£¥" or sig.function_word(w) or _MEASURE_WORD.fullmatch(w) for w in named.split())
        subject = as_written(named, [m.title for m in members] + [m.text for m in members]) if named and not figure \
            else ""
        if subject and (common(subject) or initial_only(subject)):
            subject = ""  # "adapts", "Commoditizing": a rare word, not a name
        if " " in subject and sig.title_case(members[0].title) and untitled.strip() \
                and not sig.standalone(subject, untitled):
            # "Marvell Rallies": a Title Case headline's verb run into the name; the body writes "Marvell"
            words = subject.split()
            while len(words) > 1 and words[-1].lower() not in known_names and not distinctive(words[-1]) \
                    and not sig.standalone(" ".join(words), untitled):
                words.pop()
            short = " ".join(words)
            subject = short if short in names and sig.standalone(short, untitled) else subject
        # "Clearview" where the headline writes "Clearview AI", "Walsh" where it writes "Toby Walsh": the whole
        # name as the headline gives it (and the body confirms, where the headline's capitals say nothing)
        # ("IBM AI predicts...": the company's AI, unless the body writes "IBM AI" too)
        def whole(n: str) -> bool:
            if n == subject or f" {subject} " not in f" {n} " or len(n.split()) > 3 or sig.not_a_subject(n):
                return False
            plain = sig.title_case(members[0].title) or all(
                sig.the_field(w) for w in f" {n} ".replace(f" {subject} ", " ").split())
            return not plain or bool(sig.standalone(n, untitled))
        subject = next((n for n in in_title if whole(n)), subject) if subject and " " not in subject else subject
    fallback = not subject  # neither the headline's grammar nor the cluster's subject named it
    # a name only the text gives is what the story is about only when it is a coined one the text repeats
    # ("SparseGPT"): else it is a lab, a paper or a place the story mentions ("Stanford", "Netflix")
    def owns(name: str) -> bool:  # "Quillsound’s scores": what owns something is a name
        return any(re.search(rf"(?<![\w-]){re.escape(name)}['’]s\b", m.title) for m in members)

    def named_inside(name: str) -> bool:
        """A headline names it where its capital says something: inside a Title Case headline, or anywhere but
        the opening word of a sentence-case one ("Health systems are using AI..." names no "Health")."""
        plain = name.lower() in common_words or name.lower() in lower
        # ... and a plain word the archive does not know as a name, opening a noun with a gerund ("Auto
        # transcribing is now faster with Banner Bear")
        compound = " " not in name and not distinctive(name) and name.lower() not in known_names
        return any(sig.standalone(name, m.title) and (sig.title_case(m.title) or not (
            plain or (compound and re.match(rf"\W*{re.escape(name)} [a-z]+ing\b", m.title)))
            or not re.match(rf"\W*{re.escape(name)}\b", m.title)) for m in members)

    def plain_capital(name: str) -> bool:
        """Capitalised only where every word is ("Rock guitar tablature generation", "Polyamorous Human and
        Robot Girlfriends", "Autonomous weapons..."), and neither written capitalised inside the archive's
        sentences nor given a possessive by the headline: no name."""
        return initial_only(name) and name.lower() not in known_names and not owns(name)
    if not subject:  # a name the titles give, unless it is a plain capital
        subject = next((n for n in in_title if not plain_capital(n)), "") or next(
            (n for n in names if distinctive(n) and sig.standalone(n, body, most=2) >= 2), "")
    maker, _, made = subject.partition(" ")
    if made[:1].isalpha() and not owner and not listed and maker in names and _coined(made) and " " not in made:
        subject, owner = made, maker  # "OpenAI Text-Davinci-003 has been released": the maker, then what it made
    if subject and _only_compared(subject, texts):
        subject = ""  # "...so it competes with GPT-4, Claude 2, and Gemini Pro": a yardstick, not the news
    if subject and not titles_with(subject) and _always_after(subject, texts, _BYLINE, 60):
        subject = ""  # "an ICML debates paper by Zach Lipton and Jacob Steinhardt": who wrote it, not its subject
    if subject and not (owner or listed or labelled or presented) and members and _runs_on(subject, members[0].title):
        subject = ""  # "AI autocompletion ... anywhere on your Mac": where the thing runs, not the thing
    if subject and sig.not_a_subject(subject):  # "Israel", "A.I": another name of the headline, or none
        subject = next((n for n in in_title if not sig.not_a_subject(n) and not plain_capital(n)
                        and not _only_compared(n, texts)), "")  # "startup rival to Nvidia": a yardstick
    if not subject and (lead := _APPOSITIVE.search(untitled[:400])) and lead.group("name") in names \
            and not sig.not_a_subject(lead.group("name")):
        subject = lead.group("name")  # "South Korean startup rival to Nvidia ...": "Sapeon, a ... chip startup"
    title0 = members[0].title if members else ""
    powering = {True: used_by(title0), False: used_by(title0, joined_with=False)}

    def powers(name: str, joined_with: bool = True) -> bool:
        """The headline says the thing it presents runs on, is built with or plugs into this ("Powered by GPT-3
        Launches": a Title Case verb may follow the name; "is available as a ChatGPT plugin")."""
        return any(n == name or n.startswith(f"{name} ") for n in powering[joined_with]) or bool(sig.pattern(
            rf"\b(?:a|an|its|their|this|new) {re.escape(name)} (?:plug-?in|extension|add-?on|integration|app|bot|"
            r"wrapper|client)\b", re.I).search(title0))
    if subject and ((fallback and around(subject, title0)) or (
            not (owner or listed or labelled or presented) and powers(subject, joined_with=False))):
        # "Plugins for ChatGPT": their code is public, ChatGPT's is not; "Writing Assistant Powered by GPT-3":
        # what it runs on is not the news; the headline is quoted
        subject = ""
    launched = _launched_in_lead(members, names, subject) if subject and not (listed or labelled or presented) \
        and _opens_made_by(head, subject) else ""
    if launched:  # "AssemblyAI’s speech recognition model ... releasing Conformer-1": what it made, and who
        subject, owner = launched, subject
    if not owner and not listed and not labelled:  # "Google makes an AI that beats...": what it made
        # a name the trimming cut ("AI CUDA Engineer" -> "AI CUDA") counts whole where the body writes it so twice
        whole_names = [n for n in raw if n not in names and " " in n and not common(n) and all(
            w[:1].isupper() or w[:1].isdigit() for w in n.split()) and sig.standalone(n, untitled, most=2) >= 2]
        made = _made_thing(members, [*names, *whole_names], subject)
        if made and not powers(made, joined_with=False):
            subject, owner = made, (subject if subject in names and not _only_compared(subject, texts) else "")
    # "Facebook researchers have developed a technique called “Self-Rewarding Language Models”": the lead says
    # who did the research, and what it is called
    lab, called = researched(members[0].text) if members else ("", "")
    if called and called != subject and not (listed or labelled or presented) and not sig.not_a_subject(called):
        subject, owner = called, owner if owner and owner != called else ""
    # who did it: the owner the headline names (a place can be: "China's new rules"), else another name of
    # the stories that is not a place, a people or the field ("U.S.", "AI" did nothing)
    # a plain capital acts only where a headline names it or the text says it acted ("Orchard has released")
    actors = [n for n in names if not sig.not_a_subject(n) and not powers(n) and not _OUTLET.fullmatch(n)
              and not _only_compared(n, texts) and not _always_after(n, texts, _PLACED, 40)
              and not _fragment(n, texts)
              and (not plain_capital(n) or named_inside(n) or any(_acts(n, t) for t in texts))]
    if presented and members and sig.title_case(members[0].title):  # "Meet IGEL: An Instruction-Tuned German
        # LLM Family": the capitals of a Title Case description say nothing; its maker is one the body names
        actors = [n for n in actors if sig.standalone(n, untitled)]
    orgs = [n for n in actors if _ORG.search(n) and n != subject]
    others = [n for n in actors if n != subject and n not in subject and subject not in n]
    if not owner and subject and len(members) > 1:  # another telling's headline says who made it
        owner = _maker_told(members[1:], subject)  # "Announcing OpenChatKit", "Together release OpenChatKit"
    if listed:  # a listed tool: the listing names no maker (the names in it are what it works with)
        return subject, owner
    owner = "" if owner and sig.the_field(owner) else owner
    if not owner and subject and _opens_made_by(head, subject) and not _DONE_TO.search(head):
        owner = subject  # "AssemblyAI’s speech recognition model": the subject made it (not a name in passing)
    # who the text says did it ("Google has released ..."), before a name that is only mentioned; not in a
    # clause that dates tonight's news ("two weeks after Lumen Labs released it, researchers re-ran ...")
    acting = [n for n in others if any(_acts(n, t) for t in texts)]
    # a name that is only mentioned is who did it when it can be a maker: a model's or a product's name ("GPT-4",
    # "ChatGPT Plus") is a made thing unless the stories write it as one that makes or owns ("from OpenAI")
    mentioned = [n for n in others if not _product(n) or _ORG.search(n) or owns(n) or any(
        sig.pattern(rf"\b(?:from|by|at) {re.escape(n)}\b").search(t) for t in texts)]
    if not owner and subject and (subject == announcer(head) or (
            not _product(subject) and not re.match(r"\d|\w+ing\b", subject) and re.match(
                rf"\W*{re.escape(subject)} (?!is\b|was\b|has\b|says\b|(?:developers|creators|makers|"
                rf"founders|users|fans)\b)[a-z]+s\b", members[0].title if members else ""))):
        # "IBM adds NLP to McDonald's drive-thrus", "Intel does some optimization work": the subject acted (a
        # model that "outperforms" did nothing; "AlphaFold developers win" is its makers)
        owner = subject
    # ("Academic researchers have built ...": a capital that only opens the sentence names no lab)
    lab = lab if lab and not sig.not_a_subject(lab) and lab != subject and not common(lab) and (
        not plain_capital(lab) or named_inside(lab)) else ""
    org = owner or lab or (acting[0] if acting else orgs[0] if orgs else (mentioned[0] if mentioned else ""))
    if _GOVERNING.search(subject):  # "California Governor signs bill...": who decides, not what is decided
        return "", org or subject
    if _INSTITUTION.search(subject) or (org and subject and subject in org and _INSTITUTION.search(org)):
        return "", org or subject  # "An algorithm inspired by how kids learn...": the university did the work
    school = _institution_of(subject, texts) if subject else ""
    if school:  # "Waterloo" of "Engineers at the University of Waterloo have developed ...": the university
        return "", org if org and org != subject else school
    if sig.not_a_subject(subject):  # "Ex-Googlers take a stab at ...": who they were, not a subject
        return "", org
    return _unroled(subject), org  # "Getty Images CEO says ...": the company; "US Senator": none


def facts_for(inp: BriefInput, only: str | None = None,
              kinds: dict[str, np.ndarray] | None = None) -> tuple[fx.Facts, str, str]:
    """(facts, subject, actor) of a cluster's stories, or of one of them (`only`), as its brief states them.
    `kinds`: each kind's described prototypes (unit rows), compared with the stories' mean vector."""
    members = [m for m in inp.members if only is None or m.id == only] or inp.members
    titles = "\n".join(m.title for m in members)
    text = "\n".join(m.text for m in members)
    sections = [m.section for m in members if m.section and m.section != "main"]
    vectors = [m.vector for m in members if m.vector is not None]
    facts = fx.extract(titles, text, [link["url"] for m in members for link in m.links],
                       max(sections, key=sections.count) if sections else members[0].section,
                       sentences=[c.text for c in (candidates_of(inp) if only is None else
                                                   sent.candidates([(m.id, m.text, m.title) for m in members]))],
                       vector=np.mean(np.vstack(vectors), axis=0) if vectors else None, prototypes=kinds,
                       one_line=all(fx.one_line_item(m.text) for m in members),  # a listing repeated is one still
                       deal=fx.deal_of(headline_names(members), members[0].title),
                       lead_kind=_lead_kind(members, inp.title, kinds) if len(members) > 1 else None)
    if facts.kind not in ("notice", "fiction") and _about_itself(members):
        facts = replace(facts, kind="notice", kind_cues=["the newsletter about itself"])
    subject, actor = subject_for(inp, only)
    if facts.kind == "release" and not facts.kind_sure and {"weights", "code"} & set(facts.artifacts) \
            and _released_by(subject, actor, members):
        # "The Arc Institute has released Evo2" opening the story, with its weights or code linked: a release
        facts = replace(facts, kind_sure=True, kind_cues=[f"{actor} released {subject}", *facts.kind_cues])
    lab = researched(members[0].text)[0] if members else ""
    if facts.kind == "research" and not facts.kind_sure and lab and actor == lab:
        # "Microsoft researchers have found ..." opening the story: research, by them
        facts = replace(facts, kind_sure=True, kind_cues=[f"{lab} researchers", *facts.kind_cues])
    return facts, subject, actor


_RELEASED = re.compile(r"\s+(?:has |have |just |today |officially |publicly |openly )*(?:released|releases|"
                       r"launched|launches|open[- ]sourced|open[- ]sources|unveiled|unveils|introduced|introduces|"
                       r"published|publishes)\s+(?:its |their |a |an |the |new |open[- ]source )*")


_ROLE = re.compile(r"\s*\b(?:CEOs?|CTOs?|CFOs?|COOs?|Chief|Chiefs|Senators?|Governors?|Presidents?|Ministers?|Mayors?|"
                   r"Founders?|Co-[Ff]ounders?|Chair(?:man|woman)?|Commissioners?|Secretar(?:y|ies)|Directors?|Heads?)$")


def _unroled(name: str) -> str:
    """A name that ends in a role ("Getty Images CEO", "US Senator", "CEOs"): the organisation it names, or
    nothing where what is left is a place, the field or nothing (a role is a person's, not what news is about)."""
    role = _ROLE.search(name)
    if not role:
        return name
    rest = name[:role.start()].strip()
    return rest if rest and not sig.not_a_subject(rest) and not sig.function_word(rest) else ""


def _released_by(subject: str, actor: str, members: Sequence[Member]) -> bool:
    """The lead's opening sentences say the actor released the subject ("The Arc Institute has released Evo2")."""
    if not subject or not actor or subject == actor:
        return False
    for m in members:
        lead = m.text[:400]
        at = lead.find(actor)
        while at >= 0:
            said = _RELEASED.match(lead, at + len(actor))
            if said and lead.startswith(subject, said.end()):
                return True
            at = lead.find(actor, at + 1)
    return False


def _lead_kind(members: Sequence[Member], title: str,
               kinds: dict[str, np.ndarray] | None) -> tuple[str, list[str], float]:
    """The kind of news the cluster's headline story alone is, its cues and margin (`fx.kind_decision`)."""
    lead = next((m for m in members if m.title == title), members[0])
    return fx.kind_decision(lead.title, lead.text, "" if lead.section == "main" else lead.section, lead.vector,
                            kinds)


def _about_itself(members: Sequence[Member]) -> bool:
    """The headline is the newsletter's news about itself ("Ben's Bites has a shiny new community"): its
    grammar's subject or owner is the newsletter's own name."""
    subject, owner, _ = title_name(members[0].title) if members else ("", "", False)
    return any(n and newsletter_name(n, members) for n in (subject, owner))


_SITE_SUFFIX = re.compile(r"\s+\|\s+[A-Z][\w.&'’ -]{1,30}$")


def subject_for(inp: BriefInput, only: str | None = None) -> tuple[str, str]:
    """(subject, actor) of a cluster's stories (or one of them), as its brief names them."""
    if only is None and inp.named is not None:
        return inp.named
    members = [m for m in inp.members if only is None or m.id == only] or inp.members
    # "Computer Scientist Explains One Concept in 5 Levels of Difficulty | WIRED": the site is no subject
    sites = {m.group(0).strip(" |") for m in (_SITE_SUFFIX.search(x.title) for x in members) if m}
    members = [replace(m, title=_SITE_SUFFIX.sub("", m.title)) for m in members]
    titles = "\n".join(m.title for m in members)
    named = "" if (inp.subject or "").lower() in {x.lower() for x in sites} else inp.subject
    subject, actor = subject_and_org(members, sig.names([titles, "\n".join(m.text for m in members)], titles),
                                     named, inp.common_words, inp.known_names)
    house = fx.house_rule(members[0].title) if members else ""
    if house and not house.startswith("the "):
        actor = house  # "ChatGPT banned on ... WeChat": WeChat made the rule, not ChatGPT's maker
    return subject, actor


def _change_sentence(cands: list[sent.Sentence], chosen: set[str]) -> str:
    """A sentence of the sources with a figure or a stated plan that What Happened did not already use."""
    for s in cands:
        if s.text not in chosen and (fx.figures_of([s.text]) or sig.plans(s.text)):
            return s.text.strip("\"“”' ")
    return ""


_TEST_BEDS = (("the same recordings", r"\b(?:speech|audio|voice|transcri\w+|asr)\b"),
              ("the same tasks", r"\b(?:robots?|robotic\w*|drones?|humanoids?)\b"),
              ("the same prompts and harness", r"\b(?:llms?|language models?|chatbots?|gpt\S*|prompts?|chat\w*)\b"),
              ("the same images", r"\b(?:images?|photos?|pictures?|vision|video)\b"))


def _test_bed(text: str, hardware: bool) -> str:
    """What two systems would be run on to settle a claim between them: a workload for a chip (`hardware`),
    recordings for speech, prompts for a language model (not "prompts" for a hospital robot)."""
    if hardware:
        return "the same workload"
    return next((bed for bed, cue in _TEST_BEDS if re.search(cue, text, re.I)), "the same inputs, scored the same way")


def _slug_in(name: str, url: str) -> bool:
    """The URL's path names the thing ("github.com/orchard/quill-7b" for "Quill-7B")."""
    slug = re.sub(r"[^a-z0-9]+", "", name.lower())
    return bool(slug) and slug in re.sub(r"[^a-z0-9]+", "", url.lower().split("/", 3)[-1] if "/" in url else "")


def _lag(a: str, b: str) -> float:
    """Days from b to a, one decimal."""
    return round(to_day(a) - to_day(b), 1)


def _step(inp: BriefInput, position: int, names: list[str], figures: list[str]) -> dict[str, Any] | None:
    """The thread's previous step (its first story) and what this one adds: names and figures it did not have."""
    if position <= 1 or len(inp.thread_clusters) < position - 1:
        return None
    prev = inp.thread_clusters[position - 2][0]
    stories = [r for r in inp.related if r.cluster_id == prev]
    if not stories or {r.issue_id for r in stories} & {m.issue_id for m in inp.members}:
        return None  # told in the same issue: another item of one edition (or a piece of this one), not a step
    before = " ".join(f"{r.title} {r.text}" for r in stories).lower()
    names = [n for n in names if not all(w.lower() in inp.common_words for w in n.split())]  # not "Fine", "Race"
    if not any(n.lower() in before for n in names):
        return None  # no name in common: the thread's link is the vectors' alone, too weak to tell as a step
    # what is new is what this step's headlines name (a name its text mentions in passing, "English", "Verge",
    # is no development) and the figures it gives
    heads = " ".join(m.title for m in inp.members).lower()
    def told_before(name: str) -> bool:  # "Bard AI" is no news after "Google Bard"; "AGI" after "Planning for AGI"
        words = [w for w in name.split() if not sig.the_field(w)] or name.split()
        return any(re.search(rf"(?<!\w){re.escape(w.lower())}(?!\w)", before) for w in words)
    # a name, not a kicker ("Exclusive: ...") nor a piece of another name it gives ("Gary" of "Gary Marcus")
    new_names = [n for n in names if n.lower() in heads and not told_before(n) and n.lower() not in _KICKERS
                 and not sig.not_a_subject(n)  # "U.S": where it happened is no development
                 and not any(n != o and f" {n} " in f" {o} " for o in names)][:3]
    new_figures = [f for f in figures if f.lower() not in before][:2]
    first = stories[0]
    return {"title": first.title, "source": first.source, "date": first.date[:10],
            "days": round(_lag(inp.members[0].date, first.date)), "new": new_names + new_figures,
            "new_names": new_names, "new_figures": new_figures, "story_id": first.story_id}


def _ref(title: str, words: int = 8) -> str:
    """A story without a named subject is named by its headline, shortened and quoted (as words: link and
    tag syntax dropped, so a hostile headline puts no link or markup into a brief's text)."""
    title = re.sub(r"\[([^\]]*)\]\((?:[^()]|\([^()]*\))*\)", r"\1", title)  # [text](url) -> text
    title = re.sub(r"<[^>]*>|\b(?:https?|javascript):\S*|[\[\]<>`]", " ", title)
    parts = re.sub(r"\s+[-–—|:]\s+.*$", "", title).strip(" .").split()
    return "“" + " ".join(parts[:words]) + ("…" if len(parts) > words else "") + "”"


def recent_related(other_news: list[dict[str, Any]], day: str) -> list[dict[str, Any]]:
    """The related-but-other news Our Take may compare a story of `day` with: the nearest first, none older
    than RELATED_TAKE_DAYS (a launch five years earlier that shares a name is history, not context)."""
    recent = [r for r in other_news if _lag(day, r["date"]) <= RELATED_TAKE_DAYS]
    return sorted(recent, key=lambda r: (r["date"], r["story_id"]), reverse=True)


def _reading_minutes(text: str) -> int:
    """Minutes to read the stories themselves; 0 for a newsletter's blurb (it says nothing of the linked piece)."""
    words = len(text.split())
    return round(words / 230) if words >= 400 else 0


def build(inp: BriefInput, encode: Encode, roles: dict[str, np.ndarray], fields_renderer: Callable[..., dict],
          slug: str | None = None, kinds: dict[str, np.ndarray] | None = None,
          cues: dict[str, frozenset[str]] | None = None) -> Brief:
    """The brief for one cluster: every sentence picked, every fact and signal measured, every field written."""
    members = inp.members
    lead = members[0]
    vectors = [m.vector for m in members if m.vector is not None]
    centroid = np.mean(np.vstack(vectors), axis=0) if vectors else None
    text = "\n".join(m.text for m in members)
    titles = " ".join(m.title for m in members)
    facts, subject, org = facts_for(inp, kinds=kinds)
    # a kind that only just won is a guess: the brief then frames the story as no kind in particular, and
    # says less, rather than a research take on an essay or a funding take on a purchase
    kind = facts.kind if facts.kind_sure else "other"
    horizon, horizon_cues = sig.horizon(kind, text)
    position = next((i + 1 for i, (cid, _) in enumerate(inp.thread_clusters) if cid == inp.cluster_id), 1)
    thread_start = inp.thread_clusters[0][1] if inp.thread_clusters else lead.date
    title_lines = "\n".join(m.title for m in members)  # one line a headline: each Title Case one is read alone
    names = sig.names([title_lines, text], title_lines)
    # a figure the story cites from someone else as background is not one it reports
    figures = [f.value for f in facts.figures if not ev.cited(f.sentence, subject, org)]
    s = sig.Signals(kind=kind, kind_cues=facts.kind_cues, horizon=horizon, horizon_cues=horizon_cues,
                    sources=len({m.source for m in members}), stories=len(members), thread_position=position,
                    thread_clusters=len(inp.thread_clusters), days_since_thread_start=_lag(lead.date, thread_start),
                    span_days=_lag(members[-1].date, lead.date), artifacts=facts.artifacts, figures=figures,
                    names=names, plans=sig.plans(text), contrary=sig.contrary(titles + " " + text))
    if centroid is not None and kind not in ("notice", "fiction"):
        # an audience is named only where the story uses one of its descriptions' own words (no story about
        # a chatbot is "for policy teams" because its vector sits a little nearer their descriptions)
        backed = sig.supported(cues, f"{titles}\n{text}") if cues is not None else {n: [] for n in roles}
        s.audiences = sig.audiences(centroid, {n: r for n, r in roles.items() if n in backed})
        mine = KIND_AUDIENCE.get(kind) if KIND_AUDIENCE.get(kind) in roles else None
        guessed = False  # no audience's words: the kind's readers stand in
        if mine in backed:  # a funding story is for founders first, when its words say so too
            s.audiences = [(mine, 0.0), *[a for a in s.audiences if a[0] != mine]][:3]
        elif mine and not s.audiences:  # no words for anyone: the kind's readers
            s.audiences, backed, guessed = [(mine, 0.0)], {mine: [f"a {kind} story"]}, True
        s.audience_cues = {n: backed[n][:4] for n, _ in s.audiences}
        whom = _FOR_WHOM.search(inp.title) if kind == "release" else None
        domain = domain_readers(f"{inp.title}\n{text[:300]}") if kind == "release" and not whom and guessed else ""
        if whom:  # "Free GPT-3 sheets for marketers": made for people none of the builder audiences covers
            reader = whom.group("who")[:1].upper() + whom.group("who")[1:].lower()
            s.audiences, s.audience_cues = [(reader, 0.0)], {reader: [whom.group(0).strip()]}
        elif domain:  # "Detangle AI - AI-generated summaries of your legal docs": for lawyers, not ML engineers
            s.audiences, s.audience_cues = [(domain, 0.0)], {domain: ["what the sources say it is for"]}
        elif kind == "release" and guessed and facts.one_line and not _BUILDER_TOOL.search(f"{inp.title}\n{text}"):
            # "Love Stories - Relationship advice from a community of AI agents": nothing in it is for builders
            s.audiences, s.audience_cues = [(GENERAL, 0.0)], {GENERAL: ["a listing with no builder's words"]}

    cands = candidates_of(inp)
    picked = sent.central(cands, encode, centroid, limit=3 if len(members) > 1 else 2)
    by_id = {m.id: m for m in members}
    if len(members) == 1:  # one story: keep its own order
        picked.sort(key=lambda p: p[0].index)
    what_happened = [{"text": p.written or p.text, "story_id": p.story_id, "source": by_id[p.story_id].source,
                      "date": by_id[p.story_id].date} for p, _ in picked]

    member_ids = {m.id for m in members}
    key_names = [n for n in (subject, org) if n]
    archive = [{"story_id": r.story_id, "title": r.title, "source": r.source, "date": r.date, "text": r.text}
               for r in [*inp.related, *inp.later] if r.story_id not in member_ids and r.relation == "thread"]
    archive += [dict(r, text=r.get("text", "")) for r in inp.other_news]
    counter = [] if s.contrary or kind in ("notice", "fiction") or not key_names else [
        {k: r[k] for k in ("story_id", "title", "source", "date")} for r in archive
        if sig.against(key_names, r["title"], r["text"])][:MAX_COUNTER]
    claim = ev.claim_of(facts, [c.text for c in cands], subject, org, title=inp.title)
    stance = ev.position(kind, facts, sources=s.sources, contrary=s.contrary, counter=counter, claim=claim)
    history = inp.history or {"count": 0, "first": None, "latest": []}
    specific = bool(subject) and (subject != subject.lower() or any(c.isdigit() for c in subject))
    usable = [a for a in facts.artifacts if a in ("weights", "code", "api")]
    level, score, reasons = rate(
        s, usable=usable, claim_by=claim.by if claim else "",
        # told again weeks after its first telling (a listing rerun): not the archive's first sight of it
        novel=specific and history["count"] == 0 and s.span_days <= REPEAT_DAYS,
        seen_before=history["count"], actor=org, actor_mentions=inp.actor_mentions, one_line=facts.one_line,
        promo=bool(_PROMO.search(f"{titles} {text[:400]}")))

    same = [r for r in inp.related if r.relation == "cluster" and r.story_id != lead.id]
    thread = heapq.nsmallest(MAX_THREAD_CITED, (r for r in inp.related if r.relation == "thread"),
                             key=lambda r: (abs(_lag(r.date, lead.date)), r.date, r.story_id))
    cited_by = [{"story_id": r.story_id, "title": r.title, "source": r.source, "date": r.date,
                 "issue_title": r.issue_title, "relation": r.relation, "lag_days": _lag(r.date, lead.date)}
                for r in sorted(same + thread, key=lambda r: (r.date, r.story_id))]
    # the main link: the headline story's first (a roundup clustered with it links other news first)
    links = [link for m in sorted(members, key=lambda m: m.title != inp.title) for link in m.links]
    primary = links[0] if links else None
    chosen = {w["text"] for w in what_happened}
    cover = ev.coverage(members)
    hardware = sig.hardware(titles + " " + text)
    # the key figure; for research and benchmarks not a sum of money (a prize is no result)
    figure = sig.key_figure([f for f in figures if kind not in ("research", "benchmark") or f[:1] not in "$€£"])
    weights_link = facts.artifact_links.get("weights", "")
    form = ev.form_of(titles, text) if kind == "opinion" else ""
    context = {
        "s": s, "kind": kind, "subject": subject, "org": org, "title": inp.title, "level": level,
        "sources": sorted({m.source for m in members}), "figure": figure,
        "hardware": hardware, "test_bed": _test_bed(titles + " " + text, hardware),
        "plan": s.plans[0] if s.plans else "",
        "change_sentence": _change_sentence(cands, chosen), "counter": counter, "horizon": horizon,
        "span_days": s.span_days, "facts": facts, "stance": stance, "claim": claim, "cover": cover,
        "framings_differ": ev.framings_differ(cover), "history": history, "specific": specific,
        "step": _step(inp, position, names, figures), "other_news": recent_related(inp.other_news, lead.date)[:2],
        "form": form,
        "guest": speaker_of(inp.title, text, subject, interview=form in ("interview", "podcast", "video"))
        if kind == "opinion" else ("", "", ""),
        "sample": ev.survey_sample(text) if kind == "opinion" else "",
        "minutes": _reading_minutes(text), "primary": primary,
        "usable": [a for a in facts.artifacts if a in ev.USABLE],
        "product_site": bool(primary) and fx.product_site(primary["url"], [subject, org]),
        "project_page": bool(primary) and fx.project_page(primary["url"]),
        "event": facts.event and kind in ("other", "release", "opinion", "business"),
        "links": {a: facts.artifact_links.get(a, "") for a in fx.ARTIFACTS},
        "model": bool(_MODEL_WORDS.search(f"{titles}\n{text[:1500]}")),
        # a headline followed by a passage quoted from the article ('Title - "While ..."')
        "quoted": bool(re.search(r"\s[-–—]\s+[\"“]\S", text[:300])),
        "when": horizon_cues[0] if horizon_cues else "", "ref": _ref(inp.title),
        "capability": "" if claim or kind == "funding" else ev.capability_of([c.text for c in cands], inp.title, subject),
        "headline": _ref(inp.title, words=20), "headline_kinds": fx.headline_kinds(inp.title),
        "headline_figure": bool(figures_of(inp.title)),  # "... raises $30M", "... surpassed 6,200 riders"
        # "seeks $400 million valuation": what it is worth, not what it raised
        "valuation": kind == "funding" and bool(figure) and _valuation(figure, f"{titles}\n{text}"),
        # the weights linked are another model's than the one the brief names ("Spide-verse" linking mo-di-diffusion)
        "weights_elsewhere": bool(subject and weights_link) and not _slug_in(subject, weights_link)
        and not _slug_in(org or "", weights_link),
        # "Let GPT-3 answer questions using Google": the code linked is the project's, not GPT-3's
        "built_on": bool(subject) and around(subject, inp.title) and not any(
            _slug_in(subject, facts.artifact_links.get(a, "")) for a in ("code", "weights")),
    }
    # a subject later headlines can be checked against: a name, and what this headline is about
    named = bool(subject) and (distinctive(subject) or (subject[:1].isupper() and not any(
        w.lower() in inp.common_words for w in subject.split()))) and (
        about(subject, inp.title, named=distinctive(subject))
        or bool(facts.deal and subject == facts.deal["target"]))  # what a headline's deal buys is its news
    context["watch"] = wt.items_for(kind, facts, subject, contrary=s.contrary, counter=bool(counter),
                                    hardware=bool(context["hardware"]), named=named, seen_before=history["count"])
    fields = fields_renderer(**context)
    watch = [dict(w, text=t) for w, t in zip(context["watch"], fields.get("watch_texts", [])) if t]
    when_reason = (f"the text says \u201c{horizon_cues[0]}\u201d" if horizon_cues else
                   "the sources name no date" if kind == "other" else
                   f"usual for {'an' if kind[0] in 'aeiou' else 'a'} {kind}")
    if kind in ("notice", "fiction"):
        horizon, when_reason = "n/a", f"a {kind}"
    signals = asdict(s)
    signals.update(position=stance.verdict, position_because=stance.because, subject=subject, actor=org,
                   licence=facts.licence, price=facts.price, access=facts.access,
                   claim=asdict(claim) if claim else None, seen_before=history["count"],
                   minutes=context["minutes"], decided=facts.decided, binding=facts.binding,
                   programme=facts.programme, one_line=facts.one_line, actor_mentions=inp.actor_mentions,
                   as_of=members[-1].date)
    return Brief(
        cluster_id=inp.cluster_id, slug=slug or slug_for(inp.title, inp.cluster_id), title=inp.title,
        date=lead.date, sources=context["sources"], kind=kind, impact=level, impact_score=score,
        impact_reasons=reasons, what_happened=what_happened,
        original={"title": lead.issue_title, "url": lead.issue_url, "source": lead.source, "issue_id": lead.issue_id,
                  "page": issue_slug(lead.issue_title, lead.issue_id), "newsletter_page": newsletter_slug(lead.source)},
        primary=primary,
        who=[name for name, _ in s.audiences], when=horizon, when_reason=when_reason,
        counter=counter, cited_by=cited_by, signals=signals, thread_id=inp.thread_id,
        cited_more=sum(r.relation == "thread" for r in inp.related) - len(thread), watch=watch,
        **{k: fields.get(k, "") for k in FREE_TEXT})
