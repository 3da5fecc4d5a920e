"""The Source interface and its registry by kind name."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

from .models import Issue

if TYPE_CHECKING:  # the network's modules load with a source that fetches
    from .fetch import Fetcher, FetchResult


class SourceError(Exception):
    """A source could not deliver (bad feed, bad page); one line for the user."""


@dataclass
class SourceConfig:
    """One entry of sources.toml."""

    name: str
    kind: str
    url: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_toml(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "url": self.url, **self.options}


@dataclass
class FetchState:
    """What a source remembers between runs (stored per source by the pipeline)."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass
class Fetched:
    """What `fetch` yields: one document, or a 304 that says nothing changed."""

    result: FetchResult
    page_url: str
    role: str = "feed"  # "feed" | "index" | "page"


class Source:
    """Base class: subclasses set `kind` and implement fetch/parse.

    `fetch` yields raw documents (feeds or pages); `parse` turns one into issues.
    `known(url)` lets a crawling source skip pages already stored.
    """

    kind: ClassVar[str] = ""

    def __init__(self, config: SourceConfig):
        self.config = config
        self.name = config.name
        self.url = config.url
        self.options = config.options
        self.warnings: list[str] = []
        # (guid, entry hash) -> whether the archive holds that entry as it is: `parse` then skips it before
        # segmenting, counting it in `skipped` (the ingest sets this from the store)
        self.unchanged: Callable[[str, str], bool] = lambda guid, digest: False
        self.skipped = 0

    def seen_before(self, guid: str, digest: str) -> bool:
        """Whether to skip this entry (stored with the same entry hash); counts it."""
        if self.unchanged(guid, digest):
            self.skipped += 1
            return True
        return False

    def warn(self, message: str) -> None:
        """Something skipped or repaired that the run report should tell (one line)."""
        self.warnings.append(message.splitlines()[0] if message else message)

    @property
    def segmenter(self) -> str:
        return str(self.options.get("segmenter", "generic"))

    def fetch(self, fetcher: Fetcher, state: FetchState, *, since: datetime | None = None,
              known: Callable[[str], bool] = lambda url: False) -> Iterator[Fetched]:
        raise NotImplementedError

    def parse(self, doc: Fetched, since: datetime | None = None) -> list[Issue]:
        raise NotImplementedError


SOURCE_KINDS: dict[str, type[Source]] = {}


def register(cls: type[Source]) -> type[Source]:
    """Class decorator: make a source kind available by its `kind` name."""
    if not cls.kind:
        raise TypeError(f"{cls.__name__} has no kind name")
    SOURCE_KINDS[cls.kind] = cls
    return cls


def known_kinds() -> dict[str, type[Source]]:
    """The registry of source kinds, the built-in ones registered first (imported on first use)."""
    from . import archive, feed  # noqa: F401  (their classes register themselves)

    return SOURCE_KINDS


def make_source(config: SourceConfig) -> Source:
    try:
        cls = known_kinds()[config.kind]
    except KeyError:
        raise SourceError(f"source {config.name!r}: unknown kind {config.kind!r} "
                          f"(known: {', '.join(sorted(SOURCE_KINDS))})") from None
    return cls(config)
