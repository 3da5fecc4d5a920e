"""One polite HTTP fetcher for every source.

Timeouts (connect, read and a whole-response deadline), a byte cap, retries
with exponential backoff on 429/5xx that honour Retry-After (capped), conditional
GET (a 304 returns no body), a User-Agent naming Pulse, and a delay between
requests to the same host. `file://` URLs and plain paths are read from disk
under the same cap, so bundled samples and local feeds go through one door.
"""
from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests

from . import __version__

USER_AGENT = f"Pulse/{__version__} (newsletter digest; +https://github.com/pulse-digest/pulse)"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class FetchError(Exception):
    """A fetch that failed for good; the message is one line for the user."""


@dataclass
class FetchResult:
    url: str
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    attempts: int = 1
    elapsed_ms: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("etag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("last-modified")


@dataclass
class FetchPolicy:
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0  # whole response, however slowly it drips in
    max_bytes: int = 20 * 1024 * 1024
    retries: int = 3
    backoff: float = 1.0  # seconds; doubles each retry
    max_retry_after: float = 120.0
    host_delay: float = 1.0


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class Fetcher:
    """Shared by all sources of a run, so per-host delays hold across sources."""

    def __init__(self, policy: FetchPolicy | None = None, session: requests.Session | None = None):
        self.policy = policy or FetchPolicy()
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, "
                                          "text/html;q=0.8, */*;q=0.5")
        self._last_hit: dict[str, float] = {}
        self.sleep = time.sleep

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None) -> FetchResult:
        """GET with the whole policy; raises FetchError with a one-line reason."""
        scheme = urlsplit(url).scheme.lower()
        if scheme in ("", "file"):
            return self._read_file(url)
        if scheme not in ("http", "https"):
            raise FetchError(f"unsupported URL scheme {scheme!r} in {url}")
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        p = self.policy
        started = time.monotonic()
        last_error = ""
        for attempt in range(1, p.retries + 2):
            self._wait_for_host(url)
            wait = p.backoff * (2 ** (attempt - 1))
            try:
                result = self._once(url, headers)
            except requests.Timeout:
                last_error = f"timed out after {p.read_timeout:g}s"
            except requests.ConnectionError as exc:
                last_error = f"connection failed: {_one_line(exc)}"
            except FetchError:
                raise
            else:
                result.attempts = attempt
                result.elapsed_ms = int((time.monotonic() - started) * 1000)
                if result.status not in RETRY_STATUSES:
                    if result.status >= 400:
                        raise FetchError(f"HTTP {result.status} from {url}")
                    return result
                last_error = f"HTTP {result.status}"
                hinted = _retry_after(result.headers.get("retry-after"))
                if hinted is not None:
                    if hinted > p.max_retry_after:
                        raise FetchError(f"HTTP {result.status} from {url}: server asks to retry after "
                                         f"{hinted:.0f}s, over the {p.max_retry_after:.0f}s limit")
                    wait = hinted
            if attempt <= p.retries:
                self.sleep(wait)
        raise FetchError(f"{last_error} from {url} after {p.retries + 1} attempts")

    def _once(self, url: str, headers: dict[str, str]) -> FetchResult:
        p = self.policy
        start = time.monotonic()
        with self.session.get(url, headers=headers, stream=True, allow_redirects=True,
                              timeout=(p.connect_timeout, p.read_timeout)) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > p.max_bytes:
                raise FetchError(f"response from {url} is {int(length):,} bytes, over the "
                                 f"{p.max_bytes:,}-byte cap")
            chunks, total = [], 0
            for chunk in resp.iter_content(64 * 1024):
                total += len(chunk)
                if total > p.max_bytes:
                    raise FetchError(f"response from {url} passed the {p.max_bytes:,}-byte cap")
                if time.monotonic() - start > p.deadline:
                    raise FetchError(f"response from {url} took over {p.deadline:g}s")
                chunks.append(chunk)
            return FetchResult(url=resp.url, status=resp.status_code, body=b"".join(chunks),
                               headers={k.lower(): v for k, v in resp.headers.items()})

    def _read_file(self, url: str) -> FetchResult:
        parts = urlsplit(url)
        path = Path(url2pathname(parts.path)) if parts.scheme else Path(url)
        try:
            size = path.stat().st_size
            if size > self.policy.max_bytes:
                raise FetchError(f"{path} is {size:,} bytes, over the {self.policy.max_bytes:,}-byte cap")
            return FetchResult(url=url, status=200, body=path.read_bytes())
        except OSError as exc:
            raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None

    def _wait_for_host(self, url: str) -> None:
        host = urlsplit(url).netloc
        last = self._last_hit.get(host)
        now = time.monotonic()
        if last is not None and now - last < self.policy.host_delay:
            self.sleep(self.policy.host_delay - (now - last))
        self._last_hit[host] = time.monotonic()


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:200]
