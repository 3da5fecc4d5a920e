"""Feed text made safe for markdown (and the HTML it becomes): escaping, link vetting, slugs, rendering.

Everything a feed wrote is untrusted. Text is escaped so it can never become markup (no raw tags, no
links it did not come with), URLs are kept only when they are http(s), and file names come from
python-slugify so a title can never name a path outside the output folder.
"""
from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import quote, urlsplit, urlunsplit

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup
from slugify import slugify

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~#])")
_ENTITY_LIKE = re.compile(r"&(?=#?[0-9A-Za-z]+;)")
_LINE_START = re.compile(r"^([-+=]|\d+(?=[.)]))")
_SCHEME = re.compile(r"\b(javascript|vbscript|data|file)\s*:", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def escape_md(value: object) -> str:
    """Inline markdown text that renders as the same characters: one line, no markup, no live schemes."""
    return _escaped(str(value))


@lru_cache(maxsize=65536)  # pages repeat their labels, names and numbers thousands of times a night
def _escaped(value: str) -> str:
    text = _SPACE.sub(" ", value).strip()
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _ENTITY_LIKE.sub(r"\\&", text)  # "AT&T" stays as written; a literal "&amp;" stays literal
    text = text.replace("<", "&lt;").replace(">", "&gt;")  # never a raw tag, whatever renders the file
    text = _LINE_START.sub(lambda m: m.group(1) + "\\" if m.group(1)[0].isdigit() else "\\" + m.group(1), text)
    return _SCHEME.sub(lambda m: m.group(1) + "&#58;", text)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL quoted so it cannot break out of `(...)` or `<...>`; anything else is None."""
    if not url:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    safe = "/:@!$&'*+,;=%-._~?#"
    return urlunsplit((parts.scheme.lower(), quote(parts.netloc, safe=":@[]%-._~"), quote(parts.path, safe=safe),
                       quote(parts.query, safe=safe), quote(parts.fragment, safe=safe)))


def md_link(text: object, url: str | None) -> Markup:
    """`[text](url)` when the URL is safe, else the escaped text alone."""
    label = escape_md(text) or "link"
    href = safe_url(url)
    return Markup(f"[{label}]({href})" if href else label)


def newsletter_slug(name: str) -> str:
    """A newsletter's page stem (newsletters/<stem>.md)."""
    return slugify(name, lowercase=True) or "newsletter"


def issue_slug(title: str, issue_id: str) -> str:
    """An issue's page stem (issues/<stem>.md)."""
    return slug_for(title, issue_id)


def slug_for(title: str, key: str, max_length: int = 60) -> str:
    """A safe, readable, unique file stem: ascii words of the title plus a short stable key."""
    stem = slugify(title or "", max_length=max_length, word_boundary=True, lowercase=True) or "story"
    if stem in _RESERVED:
        stem = f"story-{stem}"
    return f"{stem}-{re.sub(r'[^a-z0-9]', '', key.lower())[:8]}"


_MD = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def to_html(markdown: str) -> str:
    """Markdown to HTML for e-mail, Atom and the web: raw HTML is not passed through, then nh3 cleans. A
    scheme written as text ("javascript&#58;" in the markdown) keeps its colon as an entity in the HTML too,
    so no later step (a feed reader's linkifier) can make it live; the attributes nh3 left hold only http(s)
    and mailto."""
    html = nh3.clean(_MD.render(markdown), url_schemes={"http", "https", "mailto"})
    return _SCHEME.sub(lambda m: m.group(1) + "&#58;", html)
