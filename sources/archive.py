"""HTML archive sources: an index page of issue links, then each issue page.

This is how an archive is backfilled beyond a feed's latest entries. Options:
`link_pattern` (regex an issue URL must match), `content_selector`,
`title_selector`, `max_pages` (index pages to follow through rel=next /
"older" links), `segmenter`.
"""
from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from typing import Callable, Iterator
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from .base import Fetched, FetchState, Source, SourceError, register
from .clean import MAX_ISSUE_CHARS, cap_html, html_to_text, normalize_text, sanitize_html
from .feed import MAX_FUTURE
from .fetch import Fetcher, FetchError
from .models import Issue, entry_hash
from .segment import segment
from .urls import same_site

_DEFAULT_LINK = r"/(p|post|posts|issues?|archive|\d{4}/\d{2})/[^/?#]+"
_NEXT_TEXT = re.compile(r"^\s*(older|next|more|previous posts|older posts|»|→)", re.I)


def _soup(body: bytes, content_type: str | None) -> BeautifulSoup:
    encoding = None
    if content_type and "charset=" in content_type:
        encoding = content_type.split("charset=", 1)[1].split(";")[0].strip()
    return BeautifulSoup(body, "lxml", from_encoding=encoding)


def page_date(soup: BeautifulSoup) -> datetime | None:
    """The publication date a page states (meta tags, <time datetime>)."""
    candidates = []
    for attrs in ({"property": "article:published_time"}, {"name": "date"}, {"itemprop": "datePublished"}):
        tag = soup.find("meta", attrs=attrs)
        if tag and tag.get("content"):
            candidates.append(tag["content"])
    time_tag = soup.find("time", attrs={"datetime": True})
    if time_tag:
        candidates.append(time_tag["datetime"])
    for value in candidates:
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            continue
        return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    return None


def _join(base: str, href: str) -> str | None:
    """An absolute URL for a link (fragment cut), or None for one that cannot be parsed."""
    try:
        return urljoin(base, href.strip()).split("#")[0]
    except ValueError:
        return None


@register
class ArchiveSource(Source):
    kind = "html"

    def _link_re(self) -> re.Pattern[str]:
        return re.compile(self.options.get("link_pattern", _DEFAULT_LINK))

    def issue_links(self, soup: BeautifulSoup, base: str) -> list[str]:
        """Issue pages an index links to: http(s) on the index's own host, matching `link_pattern`."""
        pattern = self._link_re()
        seen: list[str] = []
        for a in soup.find_all("a", href=True):
            url = _join(base, a["href"])
            if url and same_site(url, base) and pattern.search(url) and url not in seen and url != base:
                seen.append(url)
        return seen

    def next_page(self, soup: BeautifulSoup, base: str) -> str | None:
        """The next index page (rel=next or an "older" link), only on the index's own host."""
        tags = soup.find_all(["a", "link"], rel="next", href=True)
        tags += [a for a in soup.find_all("a", href=True) if _NEXT_TEXT.match(a.get_text())]
        for tag in tags:
            url = _join(base, tag["href"])
            if url and same_site(url, base):
                return url
        return None

    def fetch(self, fetcher: Fetcher, state: FetchState, *, since: datetime | None = None,
              known: Callable[[str], bool] = lambda url: False) -> Iterator[Fetched]:
        index_url: str | None = self.url
        visited: set[str] = set()
        for page_no in range(int(self.options.get("max_pages", 20))):
            if index_url is None or index_url in visited:
                return
            visited.add(index_url)
            cond = state if page_no == 0 else FetchState()
            result = fetcher.get(index_url, etag=cond.etag, last_modified=cond.last_modified,
                                 local_ok=page_no == 0 and index_url == self.url)
            yield Fetched(result=result, page_url=index_url, role="index")
            if result.not_modified:
                return
            soup = _soup(result.body, result.headers.get("content-type"))
            links = self.issue_links(soup, result.url or index_url)
            if not links:
                return
            reached_since = False
            for link in links:
                if known(link):
                    continue
                try:
                    page = fetcher.get(link)
                except FetchError as exc:
                    raise SourceError(f"issue page {link}: {exc}") from None
                if since is not None:
                    dt = page_date(_soup(page.body, page.headers.get("content-type")))
                    if dt is not None and dt < since:
                        reached_since = True
                        continue
                yield Fetched(result=page, page_url=link, role="page")
            if reached_since:
                return
            index_url = self.next_page(soup, result.url or index_url)

    def parse(self, doc: Fetched, since: datetime | None = None) -> list[Issue]:
        if doc.role != "page" or doc.result.not_modified:
            return []
        digest = entry_hash(self.name, self.segmenter, doc.page_url, json.dumps(self.options, sort_keys=True,
                                                                                  default=str),
                            doc.result.body.decode("latin-1"))  # every byte, as it came
        if self.seen_before(doc.page_url, digest):
            return []
        soup = _soup(doc.result.body, doc.result.headers.get("content-type"))
        selector = self.options.get("content_selector", "article, main, .post, .entry-content")
        content = None
        for sel in [s.strip() for s in selector.split(",")]:
            content = soup.select_one(sel)
            if content is not None:
                break
        if content is None:
            content = soup.body
        if content is None:
            raise SourceError(f"issue page {doc.page_url}: no content found")
        title_tag = soup.select_one(self.options.get("title_selector", "h1")) or soup.title
        title = normalize_text(title_tag.get_text(" ")) if title_tag else doc.page_url
        html = content.decode_contents() if hasattr(content, "decode_contents") else str(content)
        html, cut = cap_html(html)
        if cut:
            self.warn(f"issue page {doc.page_url}: over {MAX_ISSUE_CHARS:,} characters, stored truncated")
        published = page_date(soup)
        if published is not None and published > datetime.now(timezone.utc) + MAX_FUTURE:
            self.warn(f"issue page {doc.page_url}: date {published:%Y-%m-%d} is in the future, stored without one")
            published = None
        stories = segment(html, segmenter=self.segmenter, base_url=doc.page_url, issue_title=title)
        return [Issue(source=self.name, guid=doc.page_url, url=doc.page_url, title=title,
                      published=published, html=sanitize_html(html), text=html_to_text(html), stories=stories,
                      entry_hash=digest)]
