"""Specific terms and the subject of a story, weighed by the archive's own statistics.

A story's terms are the words and two-word phrases of its title and lead, normalised ("GPT-4", "Mistral 7B",
"$2.9M" survive as tokens). A term is specific when few stories of the archive use it: its weight is its
inverse document frequency, so "model" or "launches" weigh little and "openorca" or "devday" a lot. The
subject is the title's heaviest phrase: a run of title words without stop words, scored by its specific terms.
Two stories about the same thing share heavy terms; a fine-tune of a model adds one the launch lacks.
"""
from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

# the code that reads terms, as a version: terms stored with another are read again (`cluster_stage`)
TERMS_VERSION = hashlib.sha1(Path(__file__).read_bytes()).hexdigest()[:12]

# function words and newsletter verbs that never name a subject
STOP = frozenset("""
a an the and or but nor so yet for of to in on at by with from into onto over under about above after before
between through during without within against among across per via as than then that this these those there
here it its it's is are was were be been being am do does did done have has had having will would can could
should may might must shall not no yes all any each every some most more many much few other such own same
just only also very too really even still again now new first last next one two three i we you he she they
me us him her them my our your his their what which who whom whose when where why how while if because until
up down out off get gets got make makes made take takes took go goes going use uses used using let lets say
says said see sees show shows like way ways thing things lot lots today tomorrow yesterday week weeks year
years day days month months time times here's there's what's it’s here’s there’s what’s let's let’s don't
don’t can't can’t won't won’t isn't isn’t i'm i’m we're we’re you're you’re they're they’re via
""".split())
# newsletter vocabulary: frequent enough in any AI newsletter that it names no subject on its own
GENERIC = frozenset("""
ai artificial intelligence ml machine learning model models llm llms language large startup startups company
companies launch launches launched release releases released announces announced introduces introducing
new tool tools app apps data research researchers paper study report says raises raised funding round
""".split())
# the field itself, however a newsletter writes it, and its everyday nouns ("APIs", "GPUs", "prompts"): never
# what relates two stories ("both about apis" relates every second tool listing)
FIELD = frozenset({"a.i", "a.i.", "ais", "agi", "asi", "gpt", "gpts", "genai", "ai-generated", "ai-powered",
                   "ai-driven", "ai-based", "nlp", "sota", "api", "apis", "sdk", "sdks", "gpu", "gpus", "cpu", "cpus",
                   "tpu", "tpus", "chatbot", "chatbots", "prompt", "prompts", "plugin", "plugins", "open-source",
                   "saas", "no-code", "low-code"})
_TOKEN = re.compile(r"\$?\w[\w.+\-/']*\w%?|\$?\w")
_SPLIT = re.compile(r"[.,:!?](?=\s|$)|[;()\[\]{}\"“”‘’|–—…]|\s[-–—]\s|\s'|'\s")


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold().replace("’", "'")


def words(text: str) -> list[str]:
    """Tokens of a text, lower-cased, with "GPT-4", "7B", "$2.9M" and "Copy.ai" kept whole; a possessive
    loses its "'s"."""
    return _words(normalize(text))


def _words(normalized: str) -> list[str]:
    out = []
    for t in _TOKEN.findall(normalized):
        t = t.strip("'.-/")
        if t.endswith("'s"):
            t = t[:-2]
        if t:
            out.append(t)
    return out


def head(word: str) -> str:
    """A compound's head: the name it is built on ("hyperion" of "hyperion-7b"), or "" when its first part
    is short or a common word ("ai-art", "null-text" have none)."""
    first = re.split(r"[-/]", word)[0]
    if first == word or len(first) < 4 or first in STOP or first in GENERIC or first in _COMMON_HEADS:
        return ""
    return first


_PARTS = re.compile(r"[-/]")
_NUMBER = re.compile(r"[$£€]?[\d.,]+[%kmb]?")
_COMMON_HEADS = frozenset("text image video language multi open self real deep fine zero long high low human "
                          "state data model code cross end".split())


def parts(term: str) -> list[str]:
    """A hyphenated or dotted word's parts ("hyperion-7b" -> "hyperion", "7b"), for matching across forms."""
    if "-" not in term and "/" not in term:
        return []
    return [p for p in _PARTS.split(term) if p and p != term]


def runs(text: str) -> list[list[str]]:
    """Runs of content words: the text split at punctuation and stop words (candidate phrases)."""
    out: list[list[str]] = []
    for part in _SPLIT.split(normalize(text)):
        cur: list[str] = []
        for w in _words(part):
            if w in STOP:
                if cur:
                    out.append(cur)
                cur = []
            else:
                cur.append(w)
        if cur:
            out.append(cur)
    return out


def story_terms(title: str, lead: str = "", with_parts: bool = True) -> set[str]:
    """Unigrams and adjacent bigrams of content words in the title and lead (and compounds' parts)."""
    terms: set[str] = set()
    for run in runs(title) + runs(lead):
        terms.update(w for w in run if len(w) > 1 or w.isdigit())
        if with_parts:
            terms.update(p for w in run for p in parts(w) if len(p) > 1 and p not in STOP)
        terms.update(f"{a} {b}" for a, b in zip(run, run[1:]))
    return terms


_SENTENCE_END = re.compile(r"[.!?:]['\"”’)]*$")


def inner_words(text: str, limit: int = 2000) -> list[tuple[str, bool]]:
    """(word, written capitalised) for the words of running text that do not open a sentence or line:
    how a newsletter writes a word mid-sentence tells a name ("Mistral") from a common word ("mistral")."""
    out = []
    for line in text[:limit].splitlines():
        prev = ""
        for raw in line.split():
            tok = raw.strip("\"“”‘’'()[]*_#>,;")
            if prev and not _SENTENCE_END.search(prev) and tok and tok[0].isalpha():
                out.append((normalize(tok).strip("'.-/!?:"), tok[0].isupper()))
            prev = raw
    return out


def terms_of(stories: Iterable[tuple[str, str]]) -> frozenset[str]:
    """The terms of several stories together, each given as (title, the start of its text)."""
    return frozenset().union(*(story_terms(title, lead_of(text)) for title, text in stories))


def lead_of(text: str, limit: int = 300) -> str:
    """The first sentence or so of a story's text: where its subject is named when the title is short."""
    head = text.strip()[:limit]
    m = re.search(r"[.!?](\s|$)", head[40:])
    return head[: 40 + m.start() + 1] if m else head


@dataclass
class TermStats:
    """Document frequencies of terms over the archive's stories."""

    docs: int = 0
    df: Counter = field(default_factory=Counter)
    upper: Counter = field(default_factory=Counter)  # word -> times written capitalised inside a sentence
    seen: Counter = field(default_factory=Counter)  # word -> times seen inside a sentence

    def add(self, terms: Iterable[str], text: str = "") -> None:
        """Count a story: its terms once each, and how its running text writes each word."""
        self.docs += 1
        self.df.update(set(terms))
        for word, capital in inner_words(text):
            self.seen[word] += 1
            if capital:
                self.upper[word] += 1

    def name_like(self, word: str) -> float:
        """How much a word is a name: the share of its in-sentence uses written capitalised (0.5 unseen)."""
        return (self.upper.get(word, 0) + 1) / (self.seen.get(word, 0) + 2)

    def idf(self, term: str) -> float:
        """log((N + 1) / (df + 1)): 0 for a term every story has; generic newsletter words count half."""
        w = math.log((self.docs + 1) / (self.df.get(term, 0) + 1))
        return w * 0.5 if term in GENERIC or all(p in GENERIC for p in term.split()) else w

    def weights(self, terms: Iterable[str]) -> dict[str, float]:
        return {t: self.idf(t) for t in terms}


# "ChatGPT-style", "GPT-4-powered": the name is the first part
_SUFFIXES = ("based", "style", "powered", "like", "driven", "generated", "made", "focused", "related", "enabled",
             "backed", "built", "native", "first", "led", "inspired", "specific", "friendly", "ready", "ish", "esque")


def base_name(word: str) -> str:
    """A compound's name: "chatgpt-style" -> "chatgpt"; other words as they are."""
    head, sep, tail = word.rpartition("-")
    return head if sep and head and tail in _SUFFIXES else word


def subject(title: str, stats: TermStats, lead: str = "") -> str:
    """The story's subject: the title's most specific name (a run of words the archive writes capitalised,
    or with digits: "mistral 7b", "openai whisper") or, failing one, its most specific word; the lead's
    when the title names nothing specific. Lower-case, as normalised."""
    best, best_w = "", 0.0
    for source in (title, lead):
        for n, run in enumerate(runs(source)):
            for span in _name_spans(run, stats) + [[w] for w in run]:
                if all(_NUMBER.fullmatch(x) for x in span):
                    continue  # a year or a count is not what a story is about
                w = sum(stats.idf(x) * (0.25 + stats.name_like(x)) for x in span) / (1 + 0.35 * (len(span) - 1))
                w *= 1.15 if n == 0 else 1.0  # a title opens with what it is about
                if w > best_w:
                    best, best_w = " ".join(base_name(x) for x in span), w
        if best_w >= 4.0:
            break
    return best


def names_something(title: str, stats: TermStats) -> bool:
    """Whether a headline names anything: a word the archive writes capitalised mid-sentence, or one with
    digits, other than the field's own ("AI") ("A whole bunch of other stuff", a roundup's label, names
    nothing)."""
    return any(stats.name_like(w) > 0.6 or any(c.isdigit() for c in w)
               for run in runs(title) for w in run if w not in GENERIC and w not in FIELD)


def shared_subject(titles: list[str], stats: TermStats) -> str:
    """The name most of these titles share (a cluster's subject): the heaviest term, name-like or with digits,
    in at least half of them (two at least); "" when they share none."""
    if len(titles) < 2:
        return ""
    counts: Counter = Counter()
    for t in titles:
        counts.update({base_name(x) for x in story_terms(t, with_parts=False)})
    need = max(2, (len(titles) + 1) // 2)
    best, best_w = "", 0.0
    for term, n in sorted(counts.items()):
        if n < need or term in GENERIC:
            continue
        words = term.split()
        if all(_NUMBER.fullmatch(x) for x in words):
            continue
        if not all(stats.name_like(w) >= 0.5 or any(c.isdigit() for c in w) for w in words):
            continue  # a word the archive writes in lower case; unseen words may be names (titles open with them)
        w = sum(stats.idf(x) for x in words) / (1 + 0.35 * (len(words) - 1))
        if w > best_w:
            best, best_w = term, w
    return best


def _name_spans(run: list[str], stats: TermStats, most: int = 4) -> list[list[str]]:
    """Maximal runs (up to `most` words) of name-like words or words with digits."""
    spans, cur = [], []
    for w in run + [""]:
        if w and (stats.name_like(w) > 0.5 or any(c.isdigit() for c in w)):
            cur.append(w)
            continue
        if len(cur) > 1:
            spans.append(cur[:most])
        cur = []
    return spans
