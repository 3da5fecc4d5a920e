"""RSS/Atom sources through feedparser, and Import AI as a first-class source."""
from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator

import feedparser

from .base import Fetched, FetchState, Source, SourceError, register
from .clean import MAX_ISSUE_CHARS, cap_html, html_to_text, normalize_text, sanitize_html
from .fetch import Fetcher
from .models import Issue, content_hash, entry_hash
from .segment import segment

# Encoding overrides are harmless (feedparser re-decodes); anything else with no
# entries means we could not read the feed at all.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride,)


MAX_FUTURE = timedelta(days=2)  # a feed's clock may run ahead a little; years ahead is a bad date


def entry_datetime(entry: Any, warn: Callable[[str], None] = lambda msg: None) -> datetime | None:
    """The entry's date; None (with a warning) for one that is unreadable; the present for a far-future one."""
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if not value:
            continue
        raw = entry.get(key.removesuffix("_parsed"), "")
        try:
            dt = datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
            if dt.year < 1990:
                raise ValueError("before 1990")
        except (ValueError, OverflowError, OSError):
            warn(f"{_entry_name(entry)}: unreadable date {raw!r}, stored without one")
            return None
        now = datetime.now(timezone.utc)
        if dt > now + MAX_FUTURE:
            warn(f"{_entry_name(entry)}: date {raw!r} is in the future, stored as {now:%Y-%m-%d}")
            return now
        return dt
    return None


def _entry_name(entry: Any) -> str:
    name = entry.get("link") or entry.get("id") or entry.get("title") or "an entry"
    return f"entry {str(name)[:120]!r}"


def parse_feed(body: bytes, *, source: str, segmenter: str, content_type: str | None = None,
               since: datetime | None = None, warn: Callable[[str], None] = lambda msg: None,
               seen_before: Callable[[str, str], bool] = lambda guid, digest: False) -> list[Issue]:
    """Feed bytes to issues. Raises SourceError for a feed that cannot be read.

    Each entry stands alone: one that cannot be read is skipped with a warning naming it, and the
    rest of the feed is stored; entries that share a GUID but differ are kept apart. An entry for which
    `seen_before(guid, entry hash)` is true is left out before it is segmented (nothing in it changed)."""
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False,
                              resolve_relative_uris=True)
    entries = [e for e in parsed.entries if e.get("link") or e.get("id") or e.get("title")]
    problem = parsed.get("bozo_exception")
    if parsed.bozo and not entries and not isinstance(problem, _BENIGN_BOZO):
        reason = str(problem).splitlines()[0] if problem and str(problem) else "unreadable"
        raise SourceError(f"malformed feed: {reason}")
    if not parsed.version and not entries:
        raise SourceError("not a feed: no RSS or Atom document found")
    if isinstance(problem, _BENIGN_BOZO):
        warn(f"feed is not valid in the encoding it declares; read as {parsed.get('encoding') or 'a guess'}")
    issues: list[Issue] = []
    seen: dict[str, str] = {}  # guid -> entry hash of the entry first seen with it
    for entry in entries:
        try:
            item = read_entry(entry, source=source, segmenter=segmenter, warn=warn)
            if since and item.published and item.published < since:
                continue
            if item.guid in seen:
                if seen[item.guid] == item.digest:
                    warn(f"{_entry_name(entry)}: repeats an earlier entry, skipped")
                    continue
                item.guid = f"{item.guid}#{content_hash(item.url, item.title)[:12]}"
                warn(f"{_entry_name(entry)}: shares its GUID with another entry, kept apart as {item.guid!r}")
                if item.guid in seen:
                    continue
            seen[item.guid] = item.digest
            if seen_before(item.guid, item.digest):
                continue
            issues.append(item.issue(source, segmenter))
        except Exception as exc:  # one bad entry must not cost the feed's others
            reason = str(exc).splitlines()[0][:200] if str(exc) else ""
            warn(f"{_entry_name(entry)} skipped: {type(exc).__name__}: {reason}")
    return issues


@dataclass
class Entry:
    """A feed entry read but not yet segmented: what decides whether it changed."""

    guid: str
    url: str
    title: str
    published: datetime | None
    html: str
    digest: str  # entry_hash of all of the above

    def issue(self, source: str, segmenter: str) -> Issue:
        stories = segment(self.html, segmenter=segmenter, base_url=self.url, issue_title=self.title)
        return Issue(source=source, guid=self.guid, url=self.url, title=self.title, published=self.published,
                     html=sanitize_html(self.html), text=html_to_text(self.html), stories=stories,
                     entry_hash=self.digest)


def read_entry(entry: Any, *, source: str, segmenter: str, warn: Callable[[str], None] = lambda msg: None) -> Entry:
    if entry.get("content"):
        html = max((c.get("value", "") for c in entry.content), key=len)
    else:
        html = entry.get("summary", "")
    html, cut = cap_html(html)
    if cut:
        warn(f"{_entry_name(entry)}: over {MAX_ISSUE_CHARS:,} characters, stored truncated")
    title = normalize_text(html_to_text(cap_html(entry.get("title", ""), 2000)[0])) or "(untitled)"
    url = entry.get("link", "")
    published = entry_datetime(entry, warn)
    guid = entry.get("id") or url or content_hash(title, str(published))
    return Entry(guid, url, title, published, html,
                 entry_hash(source, segmenter, guid, url, title, str(published), html))


def entry_to_issue(entry: Any, *, source: str, segmenter: str,
                   warn: Callable[[str], None] = lambda msg: None) -> Issue:
    return read_entry(entry, source=source, segmenter=segmenter, warn=warn).issue(source, segmenter)


@register
class FeedSource(Source):
    """Any RSS 0.9x/1.0/2.0 or Atom feed. Options: segmenter, archive (for backfill)."""

    kind = "rss"

    def fetch(self, fetcher: Fetcher, state: FetchState, *, since: datetime | None = None,
              known: Callable[[str], bool] = lambda url: False) -> Iterator[Fetched]:
        if since is not None and self.options.get("archive_url"):
            yield from self.archive().fetch(fetcher, FetchState(), since=since, known=known)
        result = fetcher.get(self.url, etag=state.etag, last_modified=state.last_modified, local_ok=True)
        yield Fetched(result=result, page_url=self.url, role="feed")

    def parse(self, doc: Fetched, since: datetime | None = None) -> list[Issue]:
        if doc.role != "feed":
            return self.archive().parse(doc)
        if doc.result.not_modified:
            return []
        return parse_feed(doc.result.body, source=self.name, segmenter=self.segmenter,
                          content_type=doc.result.headers.get("content-type"), since=since, warn=self.warn,
                          seen_before=self.seen_before)

    def archive(self) -> Source:
        from .archive import ArchiveSource
        from .base import SourceConfig

        opts = {k[len("archive_"):]: v for k, v in self.options.items() if k.startswith("archive_")}
        opts["segmenter"] = self.segmenter
        pages = ArchiveSource(SourceConfig(self.name, "html", self.options["archive_url"], opts))
        pages.seen_before = self.seen_before  # type: ignore[method-assign]  # (skips count here)
        return pages


@register
class ImportAISource(FeedSource):
    """Jack Clark's Import AI: its feed, its story layout, its long archive for backfill."""

    kind = "importai"
    DEFAULTS = {
        "segmenter": "importai",
        "archive_url": "https://jack-clark.net/",
        "archive_link_pattern": r"/\d{4}/\d{2}/\d{2}/import-ai-",
        "archive_content_selector": ".entry-content, article",
    }

    def __init__(self, config):
        config.options = {**self.DEFAULTS, **config.options}
        super().__init__(config)
