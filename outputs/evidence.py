"""What a brief's takes argue from: a position and the evidence for it, computed from facts and the archive.

No wording lives here (that is templates/fields.j2, the house voice); this module decides *which* things
are true of a story: whether it is worth a builder's time now, to watch, hype, or a reason to be wary; the
claim under doubt and what it is compared with; who covered it and how their headlines differ; what the
archive said about its subject before; what moved since its thread's last step.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Sequence

from pipeline.dates import to_day
from pipeline.terms import STOP

from . import facts as fx
from . import signals as sig

TRY, WATCH, HYPE, WARY, NOTE = "try", "watch", "hype", "wary", "note"
USABLE = ("weights", "code", "api", "demo")
_COMPARATIVE = re.compile(r"\b(?:outperform\w*|beats?|better than|faster than|cheaper than|rivals?|matches|"
                          r"on par with|surpass\w*|state[- ]of[- ]the[- ]art|sota|best|largest|the most(?! out of| of\b)|"
                          # a first of its kind, not "the first missile strike" nor "was first made available to"
                          rf"first(?:-ever| ever)?\s+(?!{fx.FIRST_AS_WHEN}\b)(?:[\w-]+\s+){{0,4}}?to|world['’]s first|"
                          r"first of its kind|"
                          r"for the first time)\b", re.I)
_VERSUS = re.compile(r"\b(?:than|beats?|outperform\w*|rivals?|matches|surpass\w*|on par with|versus|vs\.?)\s+"
                     r"((?:[A-Z][\w.-]*|\d[\w.-]*)(?:\s+(?:[A-Z0-9][\w.-]*))*)")
FORMS = (  # (form, cue) for opinion pieces: what sort of read it is
    ("interview", r"\binterview\w*|\bq&a\b|\bin conversation\b|\btalks? (?:to|with)\b|\bsat down\b"),
    ("podcast", r"\bpodcast\b|\bepisode\b"),
    ("video", r"\bvideo\b|\byoutube\b|\bwatch\b|\btalk\b|\blecture\b"),
    ("how-to", r"\bhow to\b|\bhow-to\b|\bguide to (?:\w+ing|(?:the |a |your )?(?:\w+ )?(?:api|sdk|library|"
               r"framework|model|stack))\b|\b(?:beginner'?s|practical|complete|ultimate|step[- ]by[- ]step) guide\b|"
               r"\btutorial\b|\bstep[- ]by[- ]step\b|\bcourse\b|\blearn (?:how|to)\b|\b101\b|"
               # a build log: "How I built a viral AI web app", "Lessons from building ..."
               r"\bhow (?:i|we) (?:built|build|made|make|trained|train|scaled|shipped|fine-tuned|deployed)\b|"
               r"\blessons (?:learned )?(?:from|in) (?:building|shipping|training|running|scaling)\b"),
    ("explainer", r"\bexplain\w*|\bwhat is\b|\bwhat are\b|\bintro(?:duction)? to\b|\boverview\b|\bprimer\b|"
                  rf"\bbehind the scenes\b|\b{fx.HOW_IT_WORKS}\b"),
    ("survey", r"\bsurvey\w*|\bpoll\w*|\bpercent of\b|\d+% of (?:people|respondents|americans|developers)"),
    ("forecast", r"\bpredict\w*|\bforecast\w*|\bby 20[3-9]\d\b|\bfuture of\b|\bwill (?:ai|we)\b"),
    ("essay", r"."),
)
_FORM_RE = [(f, re.compile(p, re.I)) for f, p in FORMS]
# in the body, only what says the piece *is* such a read: "learn more about their conditions", "a guide to",
# "watch" and "explains" are how any story is written
_BODY_FORMS = (
    ("interview", FORMS[0][1]),
    ("podcast", FORMS[1][1]),
    ("video", r"\byoutube\b|\bvideo (?:of|from) (?:the|a|his|her) talk\b|\blecture\b"),
    # "how to" addressed to the reader, not "teaching machines how to use every software tool"
    ("how-to", r"(?<!machines )(?<!models )(?<!robots )(?<!agents )(?<!them )(?<!it )\bhow to (?:build|make|use|"
               r"train|fine-tune|set up|write|deploy|run|create|get started)\b|"
               r"\bstep[- ]by[- ]step\b|\btutorial\b"),
    ("explainer", r"\bexplainer\b|\bprimer\b"),
    ("survey", FORMS[5][1]),
    ("forecast", r"\bforecast\w*|\bby 20[3-9]\d\b|\bwe predict\b"),
)
_BODY_FORM_RE = [(f, re.compile(p, re.I)) for f, p in _BODY_FORMS]


@dataclass
class Claim:
    sentence: str  # the sentence the claim is in, as written
    figure: str = ""  # its figure, if it has one
    measures: str = ""  # what the figure measures
    by: str = ""  # measured | asserted
    cue: str = ""  # the words that say so
    versus: str = ""  # what it is compared with, named in the claim ("Llama 2 13B")


@dataclass
class Position:
    verdict: str  # try | watch | hype | wary | note
    because: list[str] = field(default_factory=list)  # keys of the evidence that decided it, for the templates


# how many a survey asked or heard from: "received 51 responses", "a poll of 1,200 adults", "2,000 developers surveyed"
_SAMPLE = re.compile(r"[^.!?\n]*\b\d[\d,]*\s+(?:[\w-]+\s+){0,3}?(?:responses|respondents|participants|adults|"
                     r"people|experts|developers|executives|voters|consumers|workers|users|leaders|researchers)\b"
                     r"[^.!?\n]*", re.I)
_ASKED = re.compile(r"\b(?:surveyed|polled|asked|responses|respondents|interviewed|questioned|sent a survey|"
                    r"survey of|poll of)\b", re.I)


def survey_sample(text: str) -> str:
    """The sentence of a survey story that says how many it asked or heard from, as written, or ""."""
    for m in _SAMPLE.finditer(text):
        if _ASKED.search(m.group(0)):
            return m.group(0).strip(" \"'“”")
    return ""


def form_of(title: str, text: str = "") -> str:
    """What sort of read an opinion piece is: interview, podcast, video, how-to, explainer, survey, forecast,
    essay. The headline says it in so many words ("A step-by-step guide to evals"); the body only where it
    names the form ("in this tutorial"), not where it uses the words ("learn more about their conditions")."""
    form = next(f for f, r in _FORM_RE if r.search(title))
    if form != "essay":
        return form
    head = text[:600]
    return next((f for f, r in _BODY_FORM_RE if r.search(head)), "essay")


def claim_of(facts: fx.Facts, sentences: Sequence[str], subject: str, maker: str = "",
             title: str = "") -> Claim | None:
    """The claim a skeptic would doubt: the sentence with the most telling figure (a ratio or a percentage
    before money, a score before a size) or, failing one, with a comparison (with no subject to hold it to,
    one sharing a word with the headline: "The selective breeding of grain crops is one of the main reasons
    ..." is a lede's background, not the claim of "how deep learning can simplify agricultural tasks")."""
    def rank(f: fx.Figure) -> int:
        if re.search(r"x$|×|times|%|percent", f.value.lower()) or re.search(
                r"\bper\b|faster|cheaper|slower|better|accura|score|speed|fewer|less|more", f.measures, re.I):
            return 0
        if re.fullmatch(r"\d+\.\d+", f.value):
            return 1
        return 2 if "$" in f.value else 3  # money, then sizes and counts ("3B parameters")
    def the_raise(sentence: str) -> bool:  # "Percepto raises $45 million ...": the news itself, no claim to doubt
        return facts.kind == "funding" and fx.raised_money(sentence)
    for f in sorted(facts.figures, key=rank):
        if the_raise(f.sentence):
            continue
        if re.fullmatch(r"\d+(?:\.\d+)?\s?[BMKbmk]", f.value) or _SCALE.match(f.measures):
            continue  # "a LLaMa 2 70B model", "trained on 18 trillion tokens": a size, no result anyone claims
        if fx.AUDIENCE_COUNT.search(f.measures):
            continue  # "750 million monthly users": how many use it, not a result anyone measures
        if facts.kind in ("research", "benchmark", "release") and rank(f) == 2 and not re.search(
                r"\bper\b|/|cost|price|cheaper", f"{f.value} {f.measures}", re.I):
            continue  # "wins a prize worth $1M": a sum awarded is no result to doubt; a price per call may be
        if (_COMPARATIVE.search(f.sentence) or f.measures or f"by {f.value}" in f.sentence) \
                and _about(f.sentence, subject, maker) \
                and not _aside(f.sentence) and not cited(f.sentence, subject, maker):
            return Claim(_short(f.sentence), f.value, f.measures, facts.claim, facts.claim_cue,
                         _versus(f.sentence, subject))
    heads = _content_stems(title)
    for s in sentences:
        if not subject and heads and not heads & _content_stems(s):
            continue
        if _COMPARATIVE.search(s) and _about(s, subject, maker) and not _aside(s) and not cited(s, subject, maker) \
                and not the_raise(s) and not fx.AUDIENCE_MORE.search(s):
            return Claim(_short(s), by=facts.claim, cue=facts.claim_cue, versus=_versus(s, subject))
    return None


def _content_stems(text: str) -> set[str]:
    """A text's content words, cut to five letters ("agricultural" and "agriculture" meet)."""
    return {w.lower()[:5] for w in re.findall(r"[A-Za-z][A-Za-z-]{2,}", text) if w.lower() not in STOP}


# what a training run's or a model's size is counted in
_SCALE = re.compile(r"(?:tokens|parameters|params|gpus|gpu[- ]hours|tpus?|chips|images|examples|samples|hours of)\b",
                    re.I)


def _aside(sentence: str) -> bool:
    """A question or the writer's own aside ("I wonder if they got that bug fixed which meant I never got any
    matches?", "In case you haven't noticed, I don't tend to focus on tools ..."): nothing the news claims. A
    first person inside quotation marks is someone quoted, whose claim it may be."""
    unquoted = re.sub(r"[“\"][^”\"]*[”\"]", " ", sentence)
    return sentence.rstrip(" \"'”’)").endswith("?") or bool(
        re.search(r"(?<![\w'’-])I(?:'m|’m|'ve|’ve|'d|’d|'ll|’ll)?(?![\w'’-])|\b(?i:my|me)\b", unquoted))


_ACCORDING = re.compile(r"\baccording to (?:the |a |an )?(?P<who>[A-Z][\w&'’.-]*(?: (?:of |on |for |and |the )*"
                        r"[A-Z][\w&'’.-]*){0,6})")


def cited(sentence: str, subject: str, maker: str = "") -> bool:
    """A figure the story cites from someone else as background ("according to the Intergovernmental Panel on
    Climate Change, the world will warm by 1.5 degrees"): not the claim of the news's subject or maker."""
    m = _ACCORDING.search(sentence)
    if not m:
        return False
    who = m.group("who").lower()
    return not any(n and (n.lower() in who or who in n.lower()) for n in (subject, maker))


_TOKEN = re.compile(r"[A-Za-z][\w.]*(?:-[\w.]+)*")
_ON = re.compile(r"\b(?:on|in|at) (?:the )?$")


def _about(sentence: str, subject: str, maker: str = "") -> bool:
    """Whether a claim's sentence can be the subject's: it names the subject, or no other coined name than the
    one it is compared with and its maker's ("GPT-4 10x better than 3.5", a stray line of a digest's
    paragraph, is not Point-E's claim; "it beats GPT-4 by 10%" may be)."""
    if not subject or subject.lower() in sentence.lower():
        return True
    versus = _VERSUS.search(sentence)
    against = versus.group(1) if versus else ""
    allowed = f"{against} {maker}"

    def other(name: str) -> bool:  # a coined name ("ChatGPT", "GPT-4"), not an acronym ("MMLU") nor allowed
        name = name.rstrip(".")
        coined = any(c.isdigit() for c in name) or any(c.isupper() for c in name[1:])
        return coined and len(name) >= 3 and name not in allowed and not (name.isalpha() and name.isupper())
    # what a score is on ("71.2 on the GradeMath suite", "on HumanEval") is the test, not another product
    return not any(other(m.group(0)) and not _ON.search(sentence, 0, m.start()) for m in _TOKEN.finditer(sentence))


_CAPABILITY = re.compile(
    r"\b(?:can|could|lets?|allows?|enables?|helps?|able to|turns?|generates?|creates?|writes?|makes?|builds?|"
    r"automat\w+|detects?|predicts?|translates?|understands?|reads?|answers?|summari[sz]es?|converts?|"
    r"designs?|edits?|finds?|solves?|runs?|speeds? up|reduces?|improves?|replaces?|learns?|produces?|handles?)\b",
    re.I)
# a sentence that goes on about what the headline named: "OpenAI says that it produces higher-quality writing"
_GOES_ON = re.compile(r"^(?:\S+\s+){0,5}?(?:it|its)\b", re.I)


# a publisher's promotion that opens a story's text ("Join GamesBeat Summit 2021 ... Register for a free pass"):
# never the story's claim
_PROMO_LINE = re.compile(r"\b(?:register (?:now|today|for)|(?:free|VIP) pass|join (?:us|our)\b|summit 20\d\d|"
                         r"subscribe (?:now|today|to)|webinar)\b", re.IGNORECASE)


def capability_of(sentences: Sequence[str], title: str = "", subject: str = "") -> str:
    """What a story says its subject does, where it gives no figure for it: a listed tool's line after its
    name ("Vidyo - Make short videos from long ones"), else the first sentence naming the subject that says
    what it can do; without a subject to hold a sentence to, the headline if it says what something can do.
    The claim a skeptic doubts when there is nothing measured to doubt."""
    listed = re.split(r"\s+[-–—:]\s+", title, maxsplit=1)
    if len(listed) == 2 and len(listed[0].split()) <= 4 and len(listed[1].split()) >= 3:
        return _short(listed[1].strip().rstrip("."))  # a listing's line says what the tool is and does
    if not subject:  # nothing to hold a sentence to: the headline is the story's own claim, if it makes one
        head = title.strip().strip("\"“”'")
        return _short(head.rstrip(".")) if 4 <= len(head.split()) <= 30 and _CAPABILITY.search(head) else ""
    named = sig.pattern(rf"(?<![\w-]){re.escape(subject)}(?![\w-])", re.I)
    for s in [*sentences, title]:
        s = s.strip().strip("\"“”'")
        if 4 <= len(s.split()) <= 60 and named.search(s) and _CAPABILITY.search(s) and not _PROMO_LINE.search(s):
            return _short(s.rstrip("."))
    if named.search(title):  # the headline names it; the text's next sentences say "it"
        for s in sentences[:3]:
            s = s.strip().strip("\"“”'")
            if 4 <= len(s.split()) <= 60 and _GOES_ON.search(s) and _CAPABILITY.search(s) \
                    and not _PROMO_LINE.search(s):
                return _short(s.rstrip("."))
    return ""


def _versus(sentence: str, subject: str) -> str:
    m = _VERSUS.search(sentence)
    if not m:
        return ""
    name = m.group(1).strip(" .,")
    if sig.not_a_subject(name) or not re.search(r"[A-Za-z]", name):
        return ""  # "outperform rival Chinese models": a people; "3" (of "3 million"): no name at all
    return "" if not name or (subject and name.lower() in subject.lower()) else name


def _short(sentence: str, words: int = 32) -> str:
    """A sentence to quote inside a brief's own: at most `words` words, without its quotation marks and its
    full stop (the brief's sentence goes on after the closing quote); an abbreviation's point stays ("U.S.")."""
    parts = re.sub(r"(?<![A-Z])\.$", "", sentence.strip().strip("\"“”'").strip()).split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


def position(kind: str, facts: fx.Facts, *, sources: int, contrary: bool, counter: Sequence[Any],
             claim: Claim | None) -> Position:
    """Worth your time now (try), watch it, hype, be wary, or background (note) — and why."""
    usable = [a for a in facts.artifacts if a in USABLE]
    if kind in ("fiction", "notice"):
        return Position(NOTE, [kind])
    if contrary or counter:
        return Position(WARY, ["counter" if counter else "contrary"])
    if kind == "incident":
        return Position(WARY, ["incident"])
    if kind == "opinion":
        return Position(NOTE, ["opinion"])
    if kind in ("research", "benchmark") and "dataset" in facts.artifacts:
        usable = usable or ["dataset"]  # a released dataset is something to train or evaluate on
    if usable and facts.access not in ("waitlist", "coming") and kind in ("release", "research", "benchmark"):
        return Position(TRY, usable)
    if claim and claim.by == "asserted" and sources == 1 and kind in ("release", "research", "benchmark"):
        return Position(HYPE, ["asserted"])
    if facts.access in ("waitlist", "beta", "coming"):
        return Position(WATCH, [facts.access])
    if kind in ("policy", "funding", "research", "benchmark", "release"):
        return Position(WATCH, [kind])
    return Position(NOTE, [kind])


def coverage(members: Sequence[Any]) -> list[dict[str, Any]]:
    """The first telling of each newsletter, oldest first, with its headline and lag in days."""
    seen: dict[str, Any] = {}
    for m in members:
        seen.setdefault(m.source, m)
    first = min((to_day(m.date) for m in seen.values()), default=0.0)
    return [{"source": m.source, "title": m.title, "date": m.date[:10], "lag": round(to_day(m.date) - first)}
            for m in sorted(seen.values(), key=lambda m: (m.date, m.source))]


def framings_differ(cover: Sequence[dict[str, Any]]) -> bool:
    """Do the newsletters' headlines tell it differently (few words in common)?"""
    if len(cover) < 2:
        return False
    words = [set(re.findall(r"\w{4,}", c["title"].lower())) for c in cover[:2]]
    union = words[0] | words[1]
    return bool(union) and len(words[0] & words[1]) / len(union) < 0.5
