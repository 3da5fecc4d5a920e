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

    @property
    def content_hash(self) -> str:
        return content_hash(self.title, self.text, *[s.content_hash for s in self.stories])
