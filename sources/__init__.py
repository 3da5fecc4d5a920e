"""Pulse's sources: fetch newsletter issues from the outside world.

A source is a small class with `fetch` (bytes from the network, politely) and
`parse` (bytes to `Issue` records with their stories), registered by kind name
like a Scrapy spider. Nothing here touches the database.
"""
__version__ = "0.1.0"

from .base import SOURCE_KINDS, Source, SourceConfig, SourceError, make_source, register  # noqa: E402
from . import feed, archive  # noqa: E402,F401  (register the built-in kinds)

__all__ = ["SOURCE_KINDS", "Source", "SourceConfig", "SourceError", "make_source", "register"]
