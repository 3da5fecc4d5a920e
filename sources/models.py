"""Plain records that sources yield. Sources know nothing of the database."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime


def content_hash(*parts: str) -> str:
    """A stable hash of text parts: what decides whether something changed."""
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


_CODE: str | None = None


def code_fingerprint() -> str:
    """A hash of the code that turns a document into issues and stories (this package's modules): an entry
    seen before is skipped only if the code that split it then is the code that would split it now."""
    global _CODE
    if _CODE is None:
        from pathlib import Path

        here = Path(__file__).parent
        _CODE = content_hash(*[p.read_text("utf-8") for p in sorted(here.rglob("*.py"))])
    return _CODE


def entry_hash(*parts: str) -> str:
    """What an entry (a feed item, an archive page) was before it was parsed, with the splitting code: the
    same hash means the same issue and stories would come out again."""
    return content_hash(code_fingerprint(), *parts)


@dataclass(frozen=True)
class Link:
    url: str
    text: str = ""


@dataclass
class Story:
    """One story of an issue, in reading order."""

    position: int
    title: str
    text: str
    markdown: str = ""
    dek: str = ""
    section: str = "main"
    links: list[Link] = field(default_factory=list)

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.dek, self.text, self.section,
                            *[link.url for link in self.links])


@dataclass
class Issue:
    """One newsletter issue: what a feed entry or an archive page holds."""

    source: str
    guid: str
    url: str
    title: str
    published: datetime | None
    html: str
    text: str
    stories: list[Story] = field(default_factory=list)
    entry_hash: str = ""  # the unparsed entry's `entry_hash` ("" where the source has none)

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.text, *[s.content_hash for s in self.stories])
