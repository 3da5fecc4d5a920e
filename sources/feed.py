"""RSS/Atom sources through feedparser, and Import AI as a first-class source."""
from __future__ import annotations

import calendar
from datetime import datetime, timezone
from typing import Any, Callable, Iterator

import feedparser

from .base import Fetched, FetchState, Source, SourceError, register
from .clean import html_to_text, normalize_text, sanitize_html
from .fetch import Fetcher
from .models import Issue, content_hash
from .segment import segment

# Encoding overrides are harmless (feedparser re-decodes); anything else with no
# entries means we could not read the feed at all.
_BENIGN_BOZO = (feedparser.CharacterEncodingOverride,)


def entry_datetime(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            return datetime.fromtimestamp(calendar.timegm(value), tz=timezone.utc)
    return None


def parse_feed(body: bytes, *, source: str, segmenter: str, content_type: str | None = None,
               since: datetime | None = None) -> list[Issue]:
    """Feed bytes to issues. Raises SourceError for a feed that cannot be read."""
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
    issues = []
    for entry in entries:
        issue = entry_to_issue(entry, source=source, segmenter=segmenter)
        if since and issue.published and issue.published < since:
            continue
        issues.append(issue)
    return issues


def entry_to_issue(entry: Any, *, source: str, segmenter: str) -> Issue:
    if entry.get("content"):
        html = max((c.get("value", "") for c in entry.content), key=len)
    else:
        html = entry.get("summary", "")
    title = normalize_text(html_to_text(entry.get("title", ""))) or "(untitled)"
    url = entry.get("link", "")
    published = entry_datetime(entry)
    guid = entry.get("id") or url or content_hash(title, str(published))
    stories = segment(html, segmenter=segmenter, base_url=url, issue_title=title)
    return Issue(source=source, guid=guid, url=url, title=title, published=published,
                 html=sanitize_html(html), text=html_to_text(html), stories=stories)


@register
class FeedSource(Source):
    """Any RSS 0.9x/1.0/2.0 or Atom feed. Options: segmenter, archive (for backfill)."""

    kind = "rss"

    def fetch(self, fetcher: Fetcher, state: FetchState, *, since: datetime | None = None,
              known: Callable[[str], bool] = lambda url: False) -> Iterator[Fetched]:
        if since is not None and self.options.get("archive_url"):
            yield from self.archive().fetch(fetcher, FetchState(), since=since, known=known)
        result = fetcher.get(self.url, etag=state.etag, last_modified=state.last_modified)
        yield Fetched(result=result, page_url=self.url, role="feed")

    def parse(self, doc: Fetched, since: datetime | None = None) -> list[Issue]:
        if doc.role != "feed":
            return self.archive().parse(doc)
        if doc.result.not_modified:
            return []
        return parse_feed(doc.result.body, source=self.name, segmenter=self.segmenter,
                          content_type=doc.result.headers.get("content-type"), since=since)

    def archive(self) -> Source:
        from .archive import ArchiveSource
        from .base import SourceConfig

        opts = {k[len("archive_"):]: v for k, v in self.options.items() if k.startswith("archive_")}
        opts["segmenter"] = self.segmenter
        return ArchiveSource(SourceConfig(self.name, "html", self.options["archive_url"], opts))


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
