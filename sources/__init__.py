"""Pulse's sources: fetch newsletter issues from the outside world.

A source is a small class with `fetch` (bytes from the network, politely) and
`parse` (bytes to `Issue` records with their stories), registered by kind name
like a Scrapy spider. Nothing here touches the database.
"""
__version__ = "0.1.0"

# the built-in kinds (feed, archive) register on first use of the registry (`base.known_kinds`), so that
# importing a light part of the package (a model, an error) does not load requests, feedparser and bs4
from .base import SOURCE_KINDS, Source, SourceConfig, SourceError, make_source, register  # noqa: E402

__all__ = ["SOURCE_KINDS", "Source", "SourceConfig", "SourceError", "make_source", "register"]
