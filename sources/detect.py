"""Pick a feed's segmenter from the feed itself: its host, its title, the structure of its issues.

`sources add` and `sources import` call `detect_segmenter` on the fetched feed, print the pick and the
reason, and store it as the source's `segmenter` option; the user can override it. A layout is claimed
by structure first (what most issues look like), then by host or feed title; nothing claimed means
`generic`, which is built for layouts never seen.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import feedparser
from bs4 import BeautifulSoup

from .base import SourceConfig
from .fetch import Fetcher, FetchError
from .urls import is_local

SAMPLE_ENTRIES = 8

# Import AI: a story opens with a bold headline alone on its line, then an italic dek opening with an
# ellipsis ("<strong>Title</strong><br><em>…dek…</em>"); the issue ends with "Tech Tales" fiction.
_IMPORTAI_HOSTS = ("importai.substack.com", "jack-clark.net", "importai.net")
_IMPORTAI_TITLE = re.compile(r"^\s*import ai\b", re.I)
_DEK_START = ("…", "...")


@dataclass(frozen=True)
class Detection:
    segmenter: str
    reason: str


def detect_segmenter(body: bytes, url: str = "") -> Detection:
    """The segmenter for a feed's bytes (and its URL), with the reason in a few words."""
    parsed = feedparser.parse(body)
    entries = parsed.entries[:SAMPLE_ENTRIES]
    htmls = [_entry_html(e) for e in entries]
    with_deks = sum(_importai_headlines(h) >= 2 for h in htmls)
    if htmls and with_deks * 2 > len(htmls):
        return Detection("importai", f"{with_deks} of {len(htmls)} issues have bold headlines with '…' deks")
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(_IMPORTAI_HOSTS):
        return Detection("importai", f"host {host}")
    title = parsed.feed.get("title", "")
    if _IMPORTAI_TITLE.match(title) or sum(bool(_IMPORTAI_TITLE.match(e.get("title", ""))) for e in entries) > len(entries) / 2:
        return Detection("importai", f"feed of Import AI ({title or 'issue titles'})")
    if not entries:
        return Detection("generic", "no issues in the feed to look at")
    return Detection("generic", f"no known layout in {len(entries)} issues")


def _entry_html(entry) -> str:
    if entry.get("content"):
        return max((c.get("value", "") for c in entry.content), key=len)
    return entry.get("summary", "")


def _importai_headlines(html: str) -> int:
    """Paragraphs that open with a bold line followed by an italic '…' dek."""
    count = 0
    for p in BeautifulSoup(html, "lxml").find_all("p"):
        first = next((c for c in p.children if getattr(c, "name", None) or str(c).strip()), None)
        if getattr(first, "name", None) not in ("strong", "b"):
            continue
        em = p.find(["em", "i"])
        if em is not None and em.get_text().strip().startswith(_DEK_START):
            count += 1
    return count


def detect_source(cfg: SourceConfig, fetcher: Fetcher) -> Detection | None:
    """Detection for a feed the user did not give a segmenter; None when one is chosen or its kind has one."""
    if cfg.kind != "rss" or "segmenter" in cfg.options:
        return None
    try:
        result = fetcher.get(cfg.url, local_ok=is_local(cfg.url))
    except FetchError as exc:
        return Detection("generic", f"could not read the feed to look ({exc})")
    return detect_segmenter(result.body, cfg.url)
