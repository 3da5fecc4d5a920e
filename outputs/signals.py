"""Signals measured from a story's text and the archive: the facts the brief's opinions stand on.

Each signal carries the evidence it was computed from (the cue words found, the counts), so the brief
can say why it rates a story the way it does. No wording for readers lives here; that is in templates.
"""
from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache
from importlib import resources
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

HORIZON_CUES: dict[str, str] = {
    "weeks": r"today|now available|available now|this week|next week|within days|out now|released|is out|"
             r"can download|downloadable|in beta",
    "months": r"next year|later this year|coming months|this quarter|q[1-4]|plans? to|proposal|propos\w+|draft|"
              r"consultation|preview|waitlist|roadmap|pilot",
    "years": r"by 20[3-9]\d|decade|years? away|long[- ]term|eventually|someday|in the long run",
}
_HORIZON_RE = {k: re.compile(rf"\b(?:{v})\b", re.IGNORECASE) for k, v in HORIZON_CUES.items()}
KIND_HORIZON = {"release": "weeks", "incident": "weeks", "funding": "months", "research": "months",
                "benchmark": "weeks", "policy": "months", "business": "months"}

_CONTRARY = re.compile(
    r"\b(question(?:s|ed|ing)? (?:the|its|their)(?: \w+)? (?:claims?|numbers|results|scores)|"
    r"fail(?:s|ed)? to (?:replicate|reproduce|match|hold)|do(?:es)? not hold up|did not hold up|falls? short|"
    r"fell short|could not (?:reproduce|replicate)|overstat\w+|lower than (?:claimed|reported)|"
    r"trails? the (?:launch )?claims|skeptic\w*|doubts? about|criticis\w+|criticiz\w+|debunk\w*|"
    # "tried to replicate ... with limited success", "code can't tell if you're straight", "has not been reproducible"
    r"with (?:limited|little|no) success|not (?:been )?reproducible|irreproducib\w+|(?:can'?t|cannot) (?:actually )?tell|"
    r"(?:do(?:es)?n'?t|does not|do not) (?:actually )?work(?! (?:the way|like|as|for|on|with|in|out|from|at|to)\b)|"
    r"poorly (?:conducted|designed|done))\b",
    re.IGNORECASE)
_PLAN = re.compile(r"\b(?:plans?|expects?|intends?|aims?) to ([^.;]{6,80})", re.IGNORECASE)
# capitalised names: "Lumen Labs", "Hyperion-7B", "EU"; not sentence-initial function words
_TOKEN = r"[A-Z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)*"
_NAME = re.compile(rf"\b({_TOKEN}(?:[^\S\n]+{_TOKEN})*)")  # a name never runs across a line break
# an article's byline opening a summary: "James Vincent, The Verge -- Adobe is ..."
_BYLINE = re.compile(r"^\s*(?:By )?[A-Z][\w.'’-]+(?: [A-Z][\w.'’-]+){1,3}, (?:[A-Z][\w.&'’-]*(?: [A-Z][\w.&'’-]*){0,4})"
                     r"\s*(?:--|—|–|\n)\s*")
_VERB_FORM = re.compile(r"[a-z]{2}(?:ed|ly)$")  # not "-ing": "Boeing", "Beijing"
_ROUND = re.compile(r"(?:Pre-)?(?:Series [A-H]\d?|Seed)(?: Round| Funding)?", re.IGNORECASE)  # a funding round
COMMON_ACRONYMS = {"AI", "ML", "GPU", "GPUs", "CPU", "CPUs", "TPU", "TPUs", "LLM", "LLMs", "KV", "API", "APIs",
                   "SOTA", "RL", "NLP", "FLOPs", "GB", "TB", "PDF", "CEO", "CTO", "FAQ", "TL;DR", "OK", "VR", "AR",
                   "XR", "ID", "UI", "UX", "IoT"}


def _places() -> frozenset[str]:
    text = resources.files("outputs").joinpath("places.txt").read_text("utf-8")
    return frozenset(_key(line) for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace(".", "").strip()).lower()


PLACES = _places()  # outputs/places.txt: countries, their peoples, regions, cities, US states
# names of the field itself: a story is never "about AI"
_FIELD_NAMES = frozenset({"ai", "ais", "agi", "asi", "ml", "llm", "llms", "nlp", "gpt", "gpts", "genai", "sota",
                          "artificial intelligence", "machine learning", "deep learning", "generative ai"})


def not_a_subject(name: str) -> bool:
    """A place, a people ("Israel", "Americans", "U.S."), the field itself ("AI", "A.I."), a day or month
    ("December executive order"), an institution's noun alone ("University") or former staff ("Ex-Googlers"):
    where or when news happens, what all of it is about, or part of a name, not what one story is about."""
    key = _key(name)
    return key in PLACES or key in _FIELD_NAMES or name in COMMON_ACRONYMS or name.lower() in _CALENDAR \
        or name.lower() in _INSTITUTION_NOUNS or name.lower().startswith(("ex-", "former ")) \
        or bool(re.fullmatch(r"(?:19|20)\d\d|[a-z]+/[a-z]+", name))  # "2022", "correct/relevant"


# the noun of an institution's name, standing alone ("University" of "a University of Toronto team" read as a
# name by itself): which university did it is not known from the word, so it is neither subject nor actor
_INSTITUTION_NOUNS = {"university", "universities", "institute", "college", "department", "laboratory", "lab",
                      "labs", "school", "centre", "center", "agency", "ministry", "council", "commission",
                      "committee", "foundation", "academy", "society", "association", "hospital", "government",
                      # ... or a place's ("The City of Toronto has suspended ...")
                      "city", "town", "county", "province", "region", "municipality", "district", "village"}


def function_word(name: str) -> bool:
    """A pronoun, article, weekday or the like ("You", "The", "Monday"): never a name by itself."""
    return name.lower() in _NOT_NAMES


def the_field(name: str) -> bool:
    """The field itself or a common acronym ("AI", "A.I.", "LLMs", "GPU"): never who did something."""
    return _key(name) in _FIELD_NAMES or name in COMMON_ACRONYMS


_CALENDAR = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february",
             "march", "april", "may", "june", "july", "august", "september", "october", "november", "december",
             # time zones: "18:00 CET" says when, not who
             "utc", "gmt", "cet", "cest", "bst", "pst", "pdt", "pt", "est", "edt", "et", "cst", "cdt", "mst", "mdt",
             "ist", "jst", "kst", "aest", "aedt", "sgt", "hkt"}
_NOT_NAMES = {
    "the", "a", "an", "this", "that", "these", "those", "it", "its", "they", "their", "we", "our", "you", "your",
    "he", "she", "on", "in", "at", "for", "if", "but", "and", "or", "so", "as", "to", "of", "by", "with", "from",
    "what", "why", "how", "when", "where", "who", "which", "read", "more", "details", "paper", "launch", "post",
    "several", "nobody", "some", "many", "most", "all", "one", "two", "three", "same", "also", "still", "after",
    "before", "over", "early", "independent", "quick", "note", "here", "there", "then", "thread", "hi", "welcome",
    "share", "click", "tools", "new", "first", "last", "next", "today", "yesterday", "week", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday", "sunday", "january", "february", "march", "april", "may",
    "june", "july", "august", "september", "october", "november", "december", "source", "via", "link", "results",
    "introducing", "announcing", "presenting", "meet",  # a headline's opener: "Introducing MPT-7B" is MPT-7B
    # words that open a sentence and never name anything ("While Clearview performed...", "Perhaps Google")
    "while", "whilst", "perhaps", "although", "though", "because", "since", "until", "unless", "whether", "once",
    "even", "just", "only", "now", "yet", "meanwhile", "however", "instead", "despite", "unlike", "every", "each",
    "both", "either", "neither", "such", "thus", "indeed", "sometimes", "often", "maybe", "my", "his", "her",
    "dr", "mr", "mrs", "ms", "prof", "sir", "dame", "gov", "sen",  # a title before a name is not one
    # a question's opening verb ("Would I be able to tell?"); not "will" or "do" ("Will Knight", "Do Kwon")
    "would", "could", "should", "can", "might", "must", "shall", "does", "did", "is", "are", "was", "were",
    "has", "have", "had",
}


@dataclass
class Signals:
    """Everything the brief's opinions and ratings are computed from, with the evidence."""

    kind: str
    kind_cues: list[str]
    horizon: str
    horizon_cues: list[str]
    sources: int
    stories: int
    thread_position: int  # 1 = first cluster of its thread (first mention)
    thread_clusters: int
    days_since_thread_start: float
    span_days: float  # first to last story of the cluster
    artifacts: list[str]  # weights, code, paper
    figures: list[str]
    names: list[str]  # most mentioned first
    plans: list[str]
    contrary: bool  # the story itself reports doubt or failure
    audiences: list[tuple[str, float]] = field(default_factory=list)
    audience_cues: dict[str, list[str]] = field(default_factory=dict)  # each audience named -> the words that back it

    @property
    def lead(self) -> str:
        return self.names[0] if self.names else ""

    @property
    def first_mention(self) -> bool:
        return self.thread_position <= 1


def horizon(kind: str, text: str) -> tuple[str, list[str]]:
    """weeks / months / years: the furthest horizon the text states, else the kind's usual one."""
    found = {h: sorted({m.group(0).lower() for m in r.finditer(text)}) for h, r in _HORIZON_RE.items()}
    for h in ("years", "months", "weeks"):
        if found[h] and not (h == "months" and found["weeks"] and kind in ("release", "incident")):
            return h, found[h]
    return KIND_HORIZON.get(kind, "months"), []


# patterns made of a name, compiled once each: a night's briefs use thousands, past the re module's own cache
pattern = lru_cache(maxsize=8192)(re.compile)


def _wordy(c: str) -> bool:
    return c.isalnum() or c == "_"


def standalone(part: str, text: str, left: str = "-", most: int = 1) -> int:
    """How many times (up to `most`) `part` stands alone in `text`: no word character or hyphen right after
    it, and none, nor any of `left`, right before it. `re.findall(rf"(?<![\\w{left}]){re.escape(part)}(?![\\w-])",
    text)` without a pattern compiled per name: a night checks thousands of names, past the re module's cache."""
    found = 0
    start = text.find(part) if part else -1
    while start >= 0 and found < most:
        end = start + len(part)
        before, after = text[start - 1:start], text[end:end + 1]
        if not (before and (_wordy(before) or before in left)) and not (after and (_wordy(after) or after == "-")):
            found += 1
            start = text.find(part, end)
        else:
            start = text.find(part, start + 1)
    return found


def whole_word(part: str, text: str) -> bool:
    """`re.search(rf"\\b{re.escape(part)}\\b", text)` without compiling a pattern: `part` at word boundaries."""
    if not part:
        return False
    start = text.find(part)
    while start >= 0:
        end = start + len(part)
        before, after = text[start - 1:start], text[end:end + 1]
        if (_wordy(before) if before else False) != _wordy(part[0]) and \
                (_wordy(after) if after else False) != _wordy(part[-1]):
            return True
        start = text.find(part, start + 1)
    return False


def title_case(line: str) -> bool:
    """A headline in Title Case ("Machine Learning Could Create the Perfect Game Bosses"): its capitals
    say nothing about which words are names."""
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", line) if len(w) >= 4]
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _coined(word: str) -> bool:
    return any(c.isdigit() or c.isupper() for c in word[1:])


def named_in_title_case(line: str, body: str) -> str:
    """A Title Case headline with only its names left capitalised: the longest parts of each capitalised
    run that the body also writes capitalised ("Microsoft's ZeRO-Infinity Library Claims" -> "ZeRO-Infinity"
    where the body names it), and coined words ("ID.Buzz"); every other word in lower case. A body that
    repeats the headline does not confirm it."""
    body = body.replace(line, " ")

    def rewrite(m: re.Match) -> str:
        words = m.group(1).split()
        keep = [False] * len(words)
        i = 0
        while i < len(words):
            for j in range(len(words), i, -1):  # the longest run from word i the body writes the same way
                run = " ".join(words[i:j])
                if standalone(run, body):
                    keep[i:j] = [True] * (j - i)
                    i = j
                    break
            else:
                keep[i] = _coined(words[i]) and words[i] not in COMMON_ACRONYMS
                i += 1
        return " ".join(w if k else w.lower() for w, k in zip(words, keep))
    return _NAME.sub(rewrite, line)


def names(texts: Sequence[str], titles: str = "") -> list[str]:
    """Proper names in the texts, most frequent first (ties: first seen).

    A capitalised word that only ever opens a sentence ("Chip startup Orbital ...") counts as a name
    only if the texts never use it in lower case. In a Title Case headline (one of `titles`' lines), only
    what the other texts also write capitalised, or a coined word, counts (`named_in_title_case`)."""
    for line in titles.splitlines() if titles else ():
        if title_case(line):  # here and where the body repeats the headline
            named = named_in_title_case(line, "\n".join(t for t in texts if t != titles))
            texts = [t.replace(line, named) for t in texts]
    texts = [_BYLINE.sub("", t, count=1) for t in texts]  # who wrote the linked article is not in the news
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    mid_sentence: set[str] = set()
    lower = {w for text in texts for w in re.findall(r"\b[a-z][a-z-]+\b", text)}
    for text in texts:
        for m in _NAME.finditer(text):
            if re.match(r"['’](?![sS]\b)\w", text[m.end():]) or text[max(m.start() - 1, 0):m.start()] in ("'", "’"):
                continue  # a contraction ("Isn't") or the tail of a possessive ("BEN'S"), not a name
            words = re.sub(r"['’][sS]$", "", m.group(1).strip(" .-")).split()
            initial = not text[:m.start()].rstrip(" \"'“(") or text[:m.start()].rstrip(" \"'“(")[-1] in ".!?:\n-"
            # "The EU" -> "EU"; "Distributed AI builder" -> a common word opening a sentence is not a name
            # ... unless the whole run is a place or the field ("New York", "Deep Learning"): not "York", "Deep"
            whole = _key(" ".join(words)) in PLACES or _key(" ".join(words)) in _FIELD_NAMES
            while words and not whole and (words[0].lower() in _NOT_NAMES or (initial and len(words) > 1
                                                                              and words[0].lower() in lower)):
                words, initial = words[1:], False
            if not words:
                continue
            name = " ".join(words)
            if len(name) < 2 or name.lower() in _NOT_NAMES or name in COMMON_ACRONYMS or _ROUND.fullmatch(name):
                continue
            counts[name] += 1
            first.setdefault(name, len(first))
            if not initial:
                mid_sentence.add(name)

    def is_name(name: str) -> bool:
        if " " not in name and name not in mid_sentence and _VERB_FORM.search(name) and not _coined(name):
            return False  # "Tucked away in the bill...": a verb opening a sentence
        distinctive = " " in name or _coined(name)
        return distinctive or name in mid_sentence or name.lower() not in lower

    counts = Counter({n: c for n, c in counts.items() if is_name(n)})
    # prefer the longer form when one name is part of another ("Lumen" inside "Lumen Labs")
    for name in list(counts):
        if titles and standalone(name, titles, left=".-"):
            continue  # the form the headlines use is kept as it is
        for other in counts:
            if other != name and whole_word(name, other) and counts[other] >= counts[name] // 2:
                counts[other] += counts[name]
                counts[name] = 0
                break
    return [n for n, c in sorted(counts.items(), key=lambda kv: (-kv[1], first[kv[0]])) if c > 0]


def key_figure(found: Sequence[str]) -> str:
    """The figure a reader should remember: a ratio or percentage, else money, else a decimal score."""
    def rank(f: str) -> int:
        low = f.lower()
        if re.search(r"x$|times|%|percent|double|triple|twice|half", low):
            return 0
        if re.search(r"[$€£¥]", f):  # money, in any currency
            return 1
        if re.fullmatch(r"\d+\.\d+", f):
            return 2
        return 3
    best = min(found, key=lambda f: (rank(f), found.index(f))) if found else ""
    return best if best and rank(best) < 3 else ""  # a model or memory size is not the result


def plans(text: str) -> list[str]:
    return [re.split(r",| and (?:says|said|claims|expects)\b| but ", m.group(1))[0].strip() for m in _PLAN.finditer(text)]


_HARDWARE = re.compile(r"\b(chips?|accelerators?|silicon|boards?|hardware|devices?|wafers?)\b", re.IGNORECASE)


def hardware(text: str) -> bool:
    """A chip or device rather than a model or software (what there is to watch differs)."""
    return len(set(m.group(0).lower() for m in _HARDWARE.finditer(text))) >= 2


def contrary(text: str) -> bool:
    return bool(_CONTRARY.search(text))


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def against(names: Sequence[str], title: str, text: str) -> bool:
    """Whether a story cuts against something these names did: its headline or one of its sentences names
    one of them and doubts, criticises or fails to reproduce (a story that mentions "criticism" somewhere
    is not counter-evidence to everything it names)."""
    if not any(n in title or n in text for n in names) or not (contrary(title) or contrary(text)):
        return False  # most stories name none of them, or doubt nothing: no sentence to look at
    return any(any(n in s for n in names) and contrary(s) for s in [title, *_SENTENCE_END.split(text)])


# words that say nothing about who a story is for, however an audience's description uses them
_GENERAL_WORDS = frozenset("""
a an and the of for to in on with by from at or as is are be it its this that their your our into via not no
new fast faster ai artificial intelligence model models machine learning use used user users open data make made
people way world time year company companies business system systems technology tech work help right rights
public require required added try yourself run running control controls cost costs product products when what
recognition through must keep firm firms share per second duty duties
""".split())


def stem(word: str) -> str:
    """A word's stem for matching forms: lower case, possessive and plural endings dropped, and words of eight
    letters or more cut to seven ("regulators", "regulation" -> "regulat"; "laws" -> "law")."""
    w = re.sub(r"['’]s$", "", word.lower().strip("-'’"))
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return w[:7] if len(w) >= 8 else w


_GENERAL_STEMS = frozenset(stem(w) for w in _GENERAL_WORDS)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")
_COMPOUND = re.compile(r"\b(fine|pre|self|open|on)\s+(tun\w*|train\w*|host\w*|sourc\w*|device)\b", re.I)


def word_stems(text: str) -> dict[str, str]:
    """Each stem of the text's words -> the first word written with it ("fine tuning" read as "fine-tuning")."""
    out: dict[str, str] = {}
    text = _COMPOUND.sub(r"\1-\2", text)
    for word in _WORD.findall(text):
        out.setdefault(stem(word), word)
    return out


def audience_cues(described: dict[str, Sequence[str]]) -> dict[str, frozenset[str]]:
    """Each audience's evidence: the stems of its descriptions' words that no other audience's descriptions
    use and that are not general words. A story is for an audience only if its text uses one of them."""
    own = {name: {stem(w) for d in descriptions for w in _WORD.findall(d)} - _GENERAL_STEMS
           for name, descriptions in described.items()}
    shared = Counter(s for stems in own.values() for s in stems)
    return {name: frozenset(s for s in stems if shared[s] == 1) for name, stems in own.items()}


def supported(cues: dict[str, frozenset[str]], text: str) -> dict[str, list[str]]:
    """Audiences the text gives evidence for -> the words of the text that are that evidence. An audience
    whose descriptions hold no evidence words (all general) needs none."""
    found = word_stems(text)
    return {name: sorted({found[s] for s in stems if s in found}, key=str.lower)
            for name, stems in cues.items() if not stems or stems & found.keys()}


def audiences(centroid: np.ndarray, roles: dict[str, np.ndarray], *, margin: float = 0.06, floor: float = 0.12,
              most: int = 3) -> list[tuple[str, float]]:
    """Audiences whose descriptions are closest to the story (each scores its best description, given as unit
    rows): the best audience, and any within `margin` of it."""
    if not roles or centroid is None or not centroid.size:
        return []
    c = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    scored = sorted(((name, float(np.max(vecs @ c))) for name, vecs in roles.items()), key=lambda kv: -kv[1])
    top = scored[0][1]
    return [(n, round(s, 3)) for n, s in scored[:most] if s >= max(floor, top - margin)] or scored[:1]
