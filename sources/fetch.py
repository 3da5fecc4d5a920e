"""One polite HTTP fetcher for every source.

Timeouts (connect, read and a whole-response deadline), a byte cap, retries
with exponential backoff on 429/5xx that honour Retry-After (capped), conditional
GET (a 304 returns no body), a User-Agent naming Pulse, and a delay between
requests to the same host. The whole-response deadline is kept by the clock:
each socket read may wait only for what is left of it, so a server that drips
one byte at a time fails at the deadline. Retries of one source share a time
budget (`retry_budget`), so a server asking to come back later cannot stall the
night. `file://` URLs and plain paths are read from disk in capped chunks, and
only where the caller says the URL came from the user (`local_ok`), never from
fetched content (see `sources.urls`).
"""
from __future__ import annotations

import contextlib
import email.utils
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from . import __version__
from .urls import UrlError, check_url, is_local, local_path

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
    retry_budget: float = 180.0  # seconds of retry waits one source may spend in a run
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
        self._retry_left = self.policy.retry_budget
        self.sleep = time.sleep

    @contextlib.contextmanager
    def source_budget(self):
        """One source's run: its retry waits together stay within `policy.retry_budget`."""
        saved, self._retry_left = self._retry_left, self.policy.retry_budget
        try:
            yield
        finally:
            self._retry_left = saved

    def get(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
            local_ok: bool = False) -> FetchResult:
        """GET with the whole policy; raises FetchError with a one-line reason.

        `local_ok` allows a local path or file:// URL: only for a URL the user wrote, never one
        found in fetched content."""
        try:
            check_url(url, local_ok=local_ok)
        except UrlError as exc:
            raise FetchError(str(exc)) from None
        if is_local(url):
            return self._read_file(url)
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
                if wait > self._retry_left:
                    raise FetchError(f"{last_error} from {url}: retrying would pass the source's "
                                     f"{p.retry_budget:g}s retry budget")
                self._retry_left -= wait
                self.sleep(wait)
        raise FetchError(f"{last_error} from {url} after {p.retries + 1} attempts")

    def _once(self, url: str, headers: dict[str, str]) -> FetchResult:
        p = self.policy
        deadline = time.monotonic() + p.deadline
        with self.session.get(url, headers=headers, stream=True, allow_redirects=True,
                              timeout=(p.connect_timeout, p.read_timeout)) as resp:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit() and int(length) > p.max_bytes:
                raise FetchError(f"response from {url} is {int(length):,} bytes, over the "
                                 f"{p.max_bytes:,}-byte cap")
            chunks, total = [], 0
            while True:
                chunk = self._read_some(resp, url, deadline)
                if not chunk:
                    break
                total += len(chunk)
                if total > p.max_bytes:
                    raise FetchError(f"response from {url} passed the {p.max_bytes:,}-byte cap")
                chunks.append(chunk)
            return FetchResult(url=resp.url, status=resp.status_code, body=b"".join(chunks),
                               headers={k.lower(): v for k, v in resp.headers.items()})

    def _read_some(self, resp: requests.Response, url: str, deadline: float) -> bytes:
        """What the server has sent so far (b"" at the end), waiting no later than the deadline."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise FetchError(f"response from {url} took over {self.policy.deadline:g}s")
        sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
        if sock is not None:
            sock.settimeout(min(left, self.policy.read_timeout))
        try:
            return resp.raw.read1(64 * 1024, decode_content=True)
        except (ReadTimeoutError, socket.timeout) as exc:
            if time.monotonic() >= deadline - 0.05:
                raise FetchError(f"response from {url} took over {self.policy.deadline:g}s") from None
            raise requests.Timeout(str(exc)) from None
        except ProtocolError as exc:
            raise requests.ConnectionError(str(exc)) from None
        except DecodeError as exc:
            raise FetchError(f"response from {url} could not be decoded: {_one_line(exc)}") from None

    def _read_file(self, url: str) -> FetchResult:
        """A local file read in chunks up to the byte cap, whatever `stat` says (devices report 0)."""
        path = local_path(url)
        cap = self.policy.max_bytes
        try:
            if not path.is_file():
                raise FetchError(f"{path} is not a regular file")
            chunks, total = [], 0
            with path.open("rb") as fh:
                while chunk := fh.read(min(1024 * 1024, cap + 1 - total)):
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > cap:
                        raise FetchError(f"{path} is over the {cap:,}-byte cap")
            return FetchResult(url=url, status=200, body=b"".join(chunks))
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
