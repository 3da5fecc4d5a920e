"""What Happened: the most central sentences of a story or cluster, by embedding centrality.

Sentences come from pysbd (rule-based, offline). Each candidate is scored by its mean cosine to the
other candidates (degree centrality, as in LexRank, on sentence embeddings) plus its cosine to the
cluster's centroid; a greedy MMR pass then skips near-repeats, so three newsletters telling the same
news give three different sentences, not one sentence three times.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import pysbd

MIN_WORDS, MAX_WORDS = 6, 70
# lines that are labels or calls to action, not reported sentences
_LABEL = re.compile(r"^(read more|details|paper|launch post|source|via|link|more|thread of|share|subscribe|"
                    r"sponsored|click|sign up|report|watch|listen|try it|check it out)\b[^.]{0,80}:", re.IGNORECASE)
_LEAD_IN = re.compile(r"^(what they did|what they found|why this matters[^:]*|results?|the gist|tl;dr)\s*:\s*",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Sentence:
    text: str  # what is weighed and quoted as a claim: without a headline repeated in front (`after_headline`)
    story_id: str
    index: int  # position within its story
    written: str = ""  # the sentence as the story writes it, where `text` dropped its headline


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


@lru_cache(maxsize=65536)
def split(text: str) -> tuple[str, ...]:
    """Sentences of a story's text, paragraph by paragraph (stories keep paragraphs as lines).
    Cached: a night's briefs look at each story's text more than once, and pysbd is the slow part."""
    out: list[str] = []
    for para in re.split(r"\n+", text or ""):
        para = para.strip()
        if para:
            out.extend(_joined(s.strip() for s in _segment(para) if s.strip()))
    return tuple(out)


# a title before a name, which pysbd splits after when a quote opens before it ('turn to "Dr. Google" for')
_TITLE_END = re.compile(r"(?:^|[\s\"“'‘(])(?:Dr|Mr|Mrs|Ms|Prof|Sen|Rep|Gov|Gen|St|Jr|Sr|vs)\.$")


def _joined(sentences) -> list[str]:
    """Sentences with a split after a title before a name ("Dr.") joined again."""
    out: list[str] = []
    for s in sentences:
        if out and _TITLE_END.search(out[-1]):
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return out


def _segment(para: str) -> list[str]:
    """pysbd's `segment` (clean=False): its sentences as they stand in `para`, each found after the one before
    (a sentence pysbd rewrote and `para` does not contain is dropped, as pysbd drops it). pysbd finds them with
    a regular expression compiled per sentence, a sixth of the brief stage's time; `str.find` gives the same."""
    out: list[str] = []
    prior = 0
    for sentence in _segmenter().processor(para).process():
        pos = 0
        while (start := para.find(sentence, pos)) >= 0:
            end = start + len(sentence)
            while end < len(para) and para[end].isspace():
                end += 1
            if end > prior:
                out.append(para[start:end])
                prior = end
                break
            pos = end if end > start else start + 1
    return out


# the newsletter talking to its reader, not reporting: "click the link above and check out his video demo"
_ASIDE = re.compile(r"\b(?:click (?:the|this|here|on)|(?:the )?link (?:above|below)|check (?:it|this|them) out|"
                    r"check out (?:his|her|their|the|this|our) (?:video|demo|thread|post|tweet)s?)\b", re.IGNORECASE)
# a sentence cut off at an abbreviation, as an excerpt that stops mid-sentence is ("... described in the Oct.")
_CUT_AT_ABBREVIATION = re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|Dr|Mr|Mrs|Ms|Prof|St|vs|"
                                  r"e\.g|i\.e|No|Fig|Vol|approx)\.[\"”’']?\s*$")


def usable(sentence: str) -> bool:
    words = sentence.split()
    if not MIN_WORDS <= len(words) <= MAX_WORDS:
        return False
    if _LABEL.match(sentence) or _CUT_AT_ABBREVIATION.search(sentence) or _ASIDE.search(sentence):
        return False
    return sentence.rstrip()[-1:] not in (":",)


_SEPARATOR = re.compile(r"\s*[-–—:|]\s+")
_QUOTES = "\"“”'‘’"


def after_headline(sentence: str, title: str) -> str:
    """A sentence that opens with its story's headline and a dash (a link digest's 'Headline - "excerpt..."')
    without the headline and the excerpt's quotation marks: the claim a skeptic quotes is the excerpt's (What
    Happened still shows the line as written: the headline often says what the excerpt only sets up). A
    sentence that is only the headline, or whose rest is too short to stand alone, stays as it is."""
    head = title.strip().rstrip(".!?")
    if not head or not sentence.lower().startswith(head.lower()):
        return sentence
    m = _SEPARATOR.match(sentence, len(head))
    if not m:
        return sentence
    rest = sentence[m.end():].strip()
    if rest[:1] in _QUOTES:
        rest = rest[1:]
        if rest.count("\"") % 2 or rest.count("“") != rest.count("”"):
            rest = rest.rstrip().rstrip(_QUOTES[:3]).rstrip()  # the excerpt's closing mark, with no opening left
    return rest if len(rest.split()) >= MIN_WORDS else sentence


def candidates(stories: Sequence[tuple[str, str]] | Sequence[tuple[str, str, str]]) -> list[Sentence]:
    """(story_id, text) or (story_id, text, title) to candidate sentences; a story with none usable offers its
    text whole. Given the title, a sentence repeating it before the news loses it (`after_headline`), and keeps
    it as `written`."""
    out: list[Sentence] = []
    for sid, text, *title in stories:
        found = []
        for i, written in enumerate(split(text)):
            cut = after_headline(written, title[0]) if title else written
            if usable(cut):
                s = _LEAD_IN.sub("", cut) if _LEAD_IN.match(cut) and len(cut.split()) > MIN_WORDS + 3 else cut
                found.append(Sentence(s, sid, i, written if cut != written else ""))
        if not found and (text or "").strip():
            found = [Sentence(" ".join(text.split()), sid, 0)]
        out.extend(found)
    return out


def needs_vectors(sentences: list[Sentence]) -> bool:
    """Whether `central` embeds these sentences (a lone sentence is central without a vector)."""
    return len(sentences) > 1


def central(sentences: list[Sentence], encode: Callable[[list[str]], np.ndarray], centroid: np.ndarray | None,
            limit: int = 3, redundancy: float = 0.82) -> list[tuple[Sentence, float]]:
    """The `limit` most central sentences, best first, skipping any too close to one already chosen."""
    if not needs_vectors(sentences):  # nothing to weigh
        return [(s, 1.0) for s in sentences]
    vecs = encode([s.text for s in sentences]).astype(np.float64)
    vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
    sims = vecs @ vecs.T
    n = len(sentences)
    degree = (sims.sum(axis=1) - 1.0) / max(n - 1, 1) if n > 1 else np.ones(1)
    score = degree
    if centroid is not None and centroid.size == vecs.shape[1]:
        c = centroid / max(np.linalg.norm(centroid), 1e-12)
        score = 0.5 * degree + 0.5 * (vecs @ c)
    # earlier sentences win ties: newsletters lead with the news
    order = sorted(range(n), key=lambda i: (-round(float(score[i]), 6), sentences[i].index, i))
    chosen: list[int] = []
    for i in order:
        if all(sims[i, j] < redundancy for j in chosen):
            chosen.append(i)
        if len(chosen) == limit:
            break
    return [(sentences[i], float(score[i])) for i in chosen]
