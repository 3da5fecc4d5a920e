"""The grammar of a headline: what it names as its subject, and what it is about.

A listed tool ("Vidyo - what it does") is its name; "CoLT5 from Google" and "Meta's Looper" name a thing
and its owner; "Codeium announces ..." names the company that acts. A coined name ("GPT-4",
"AlphaGeometry") is told apart from a plain word. A headline is *about* a subject when it opens with it or
its grammar names it ("Larkspur-2 is now available"), not when it mentions it in passing ("a browser
extension for ChatGPT") or names something built on it ("ChatGPT Assistant", "a port of LLaMA").
"""
from __future__ import annotations

import re

from . import signals as sig

_CAP = r"[A-Z0-9][\w.+-]*"
_POSSESSIVE = re.compile(rf"\b({_CAP}(?: {_CAP}){{0,2}})['’]s ((?:new |latest )?{_CAP}(?: {_CAP}){{0,3}}"
                         r"(?: (?:plugin|app|bot|chatbot|extension|model|tool|assistant|api|sdk)s?\b)?)")
_LISTED = re.compile(r"^\s*([A-Z0-9][\w.+&'’-]*(?: [\w.+&'’-]+){0,3}?)\s+[-–—|:]\s+\S")


_FROM = re.compile(rf"^\s*([A-Z0-9][\w.+&'’-]*(?: [\w.+&'’-]+){{0,5}}?) (?:from|by) ({_CAP}(?: {_CAP}){{0,2}})\b")
_ANNOUNCES = re.compile(rf"^\s*({_CAP}(?: {_CAP}){{0,2}}) (?:announces|launches|releases|unveils|introduces|"
                        r"debuts|ships|open-sources|rolls out|adds|opens|raises|acquires|buys|partners|presents|"
                        r"reveals|previews|teases|demos|publishes|unveiled|released|launched|announced)\b"
                        r"(?: (?:its |a |an |the )?(?:(?:public |private |open )?(?:wait[- ]?list|beta|preview|early access|"
                        r"access) (?:for|to|of) )?(?:its |the )?(?:new )?"
                        rf"({_CAP}(?: {_CAP}){{0,2}}))?")


def title_name(title: str) -> tuple[str, str, bool]:
    """(subject, owner, listed) a headline's grammar gives away: a listed tool ("Vidyo - what it does") is
    its name; "CoLT5 from Google", "Meta's Looper": the thing, made by the owner; "Codeium announces ...":
    the company that acts."""
    listed = _LISTED.match(title)
    if listed and (_ANNOUNCES.match(listed.group(1)) or sig.function_word(listed.group(1))):
        listed = None  # "Meta AI presents CICERO — the first...", "You - yes, you - can...": not a name
    head = listed.group(1) if listed and len(listed.group(1)) <= 40 else title
    m = _FROM.match(head)
    if m and len(m.group(1).split()) <= 6:  # "PaLM-E and USM- Two new models from Google": the names before the dash
        return re.split(r"(?<=\w)-\s+|\s+[-–—:]\s*", m.group(1))[0], m.group(2), False
    if listed and head is not title:
        return head, "", True
    m = _POSSESSIVE.search(title)
    if m:
        return re.sub(r"^(?:new|latest) ", "", m.group(2)), m.group(1), False
    m = _ANNOUNCES.match(title)
    if m:  # "OpenAI releases Point-E": Point-E, by OpenAI; "Codeium announces free ...": Codeium
        return (m.group(2), m.group(1), False) if m.group(2) else (m.group(1), "", False)
    return "", "", False


def distinctive(name: str) -> bool:
    """A coined name: a digit or a capital inside a word ("AlphaGeometry", "Qwen2.5-Coder", "GPT-4")."""
    return len(name) >= 4 and name not in sig.COMMON_ACRONYMS and not name.isupper() and any(
        c.isdigit() or c.isupper() for w in name.split() for c in w[1:])


# a headline about something built on, for or around its subject, not the subject itself
_AROUND = re.compile(r"\b(?:extensions?|plug-?ins?|ports?|clones?|wrappers?|bindings?|integrations?|add-?ons?|"
                     r"templates?|tutorials?|guides?|courses?|primer|cheat ?sheets?|prompts?|hacks?|tips|"
                     r"built (?:on|with|using)|powered by|using|based on|on top of|implementation|fine-?tun\w*)\b", re.I)


def around(subject: str, title: str) -> bool:
    """Whether the headline is about something built on, for or around the subject ("Plugins for ChatGPT",
    "a port of LLaMA"): what it says of its code or its access is not the subject's."""
    words = [re.escape(w) for w in re.findall(r"\w+", subject)]
    return bool(words) and bool(_AROUND.search(
        sig.pattern(r"(?<![\w-])" + r"\W{1,3}".join(words) + r"(?![\w-])", re.I).sub(" ", title)))


def about(subject: str, title: str, *, named: bool = False) -> bool:
    """Whether a headline is about the subject, not only naming it: it opens with the subject (possessive
    allowed), not followed by another name in a sentence-case headline ("ChatGPT Assistant is..."), or
    its grammar names it as the thing ("Corvid AI releases Larkspur-2"); and it is not about something built
    on or around the subject (an extension, a port, a tutorial). With `named`, naming it anywhere is enough
    ("Independent replication finds Hyperion-7B's scores do not hold up")."""
    words = [re.escape(w) for w in re.findall(r"\w+", subject)]
    if not words or around(subject, title):
        return False
    if named and sig.pattern(r"(?<![\w-])" + r"\W{1,3}".join(words) + r"(?![\w-])", re.I).search(title):
        return True
    m = sig.pattern(r"\W*(?:the |an? )?" + r"\W{1,3}".join(words) + r"(?:['’]s)?(?![\w-])\s*(\S*)", re.I).match(title)
    if m:
        title_case = sum(w[:1].isupper() for w in title.split()) >= 0.7 * len(title.split())
        return title_case or not m.group(1)[:1].isupper()
    named, owner, _ = title_name(title)
    return any(_norm(n) == _norm(subject) for n in (named, owner) if n)


def _norm(name: str) -> str:
    return " ".join(re.findall(r"\w+", name.lower()))
