"""One URL policy for everything Pulse follows or accepts.

- A URL the user subscribes to (`sources add`, `sources.toml`, an OPML file) is http(s) with a real
  host, at most `MAX_URL_LENGTH` characters, no spaces or control characters. A local path or
  `file://` URL is accepted only where the user writes it by hand (`sources add`, `sources.toml`),
  never from a third-party OPML file.
- A URL found in fetched content (a `rel=next` link, an issue link on an index page) is followed only
  when it is http(s) on the source's own host: remote content never makes Pulse read a local file
  or crawl another site.
"""
from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

MAX_URL_LENGTH = 2048
REMOTE_SCHEMES = ("http", "https")
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$", re.I)
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


class UrlError(ValueError):
    """A URL refused by the policy; the message says why, in one line."""


def is_local(url: str) -> bool:
    """A local path or file:// URL (as opposed to a web address)."""
    return url.startswith("/") or url[:5].lower() == "file:"


def local_path(url: str) -> Path:
    """The file a local path or file:// URL names."""
    return Path(url2pathname(urlsplit(url).path)) if url[:5].lower() == "file:" else Path(url)


def check_url(url: object, *, local_ok: bool = False) -> str:
    """The URL, stripped, if it may be subscribed to; UrlError saying why not otherwise."""
    if not isinstance(url, str):
        raise UrlError(f"URL must be a string, got {type(url).__name__}")
    url = url.strip()
    if not url:
        raise UrlError("URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise UrlError(f"URL is {len(url):,} characters long, over the {MAX_URL_LENGTH:,} limit")
    if _BAD_CHARS.search(url):
        raise UrlError(f"URL contains a space or control character: {_short(url)!r}")
    if is_local(url):
        if not local_ok:
            raise UrlError(f"local file {_short(url)!r} refused: only http(s) URLs are accepted here "
                           "(add a local feed by hand with `pulse sources add NAME /path/to/feed.xml`)")
        return _check_local(url)
    return _check_remote(url)


def _check_local(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme and parts.netloc not in ("", "localhost"):
        raise UrlError(f"file URL {_short(url)!r} names a host; use file:///absolute/path")
    path = parts.path if parts.scheme else url
    if not path.startswith("/"):
        raise UrlError(f"local path {_short(url)!r} must be absolute")
    return url


def _check_remote(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise UrlError(f"malformed URL {_short(url)!r}: {exc}") from None
    if parts.scheme.lower() not in REMOTE_SCHEMES:
        shown = parts.scheme or "none"
        raise UrlError(f"URL scheme {shown!r} refused in {_short(url)!r}: use http:// or https://")
    host = parts.hostname or ""
    if not host:
        raise UrlError(f"URL {_short(url)!r} has no host")
    if not _valid_host(host):
        raise UrlError(f"URL {_short(url)!r} has an invalid host {host!r}")
    if port == 0:
        raise UrlError(f"URL {_short(url)!r} has port 0")
    return url


def _valid_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def same_site(url: str, base: str) -> bool:
    """Whether `url`, found in content fetched from `base`, may be followed: http(s), base's own host."""
    try:
        target, origin = urlsplit(url), urlsplit(base)
    except ValueError:
        return False
    if target.scheme.lower() not in REMOTE_SCHEMES or not target.hostname:
        return False
    return _site(target.hostname) == _site(origin.hostname or "")


def _site(host: str) -> str:
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _short(url: str, n: int = 80) -> str:
    return url if len(url) <= n else url[:n] + "…"
