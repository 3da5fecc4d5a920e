"""The polite fetcher against a real HTTP server on 127.0.0.1."""
from __future__ import annotations

import time

import pytest

from sources.fetch import Fetcher, FetchError, FetchPolicy
from tests.conftest import Reply


@pytest.fixture
def fetcher():
    f = Fetcher(FetchPolicy(read_timeout=0.5, deadline=2.0, retries=2, backoff=0.01, host_delay=0.0,
                            max_bytes=100_000, max_retry_after=5))
    f.slept = []
    real_sleep = f.sleep

    def sleep(seconds: float) -> None:
        f.slept.append(round(seconds, 2))
        real_sleep(seconds)

    f.sleep = sleep
    return f


def test_ok_response_carries_body_validators_and_names_pulse(feed_server, fetcher):
    url = feed_server.route("/feed", Reply(body=b"<rss/>", etag='"v1"', headers={"Last-Modified": "Mon, 02 Nov 2026 10:00:00 GMT"}))
    res = fetcher.get(url)
    assert (res.status, res.body, res.etag, res.last_modified) == (200, b"<rss/>", '"v1"', "Mon, 02 Nov 2026 10:00:00 GMT")
    assert feed_server.requests[0][1]["User-Agent"].startswith("Pulse/")


def test_conditional_get_returns_304_without_body(feed_server, fetcher):
    url = feed_server.route("/feed", Reply(body=b"<rss>big</rss>", etag='"abc"'))
    first = fetcher.get(url)
    again = fetcher.get(url, etag=first.etag, last_modified="Mon, 02 Nov 2026 10:00:00 GMT")
    assert again.not_modified and again.body == b""
    sent = feed_server.requests[-1][1]
    assert sent["If-None-Match"] == '"abc"' and sent["If-Modified-Since"].startswith("Mon, 02 Nov")


def test_500_then_success_retries_with_backoff(feed_server, fetcher):
    url = feed_server.route("/flaky", Reply(status=500), Reply(status=503), Reply(body=b"ok"))
    res = fetcher.get(url)
    assert res.body == b"ok" and res.attempts == 3
    assert fetcher.slept == [0.01, 0.02]  # exponential


def test_persistent_500_fails_with_one_line(feed_server, fetcher):
    url = feed_server.route("/down", Reply(status=500))
    with pytest.raises(FetchError, match=r"^HTTP 500 from .* after 3 attempts$"):
        fetcher.get(url)
    assert feed_server.hits["/down"] == 3


def test_429_honours_retry_after(feed_server, fetcher):
    url = feed_server.route("/busy", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"fine"))
    started = time.monotonic()
    assert fetcher.get(url).body == b"fine"
    assert fetcher.slept == [1.0] and time.monotonic() - started >= 1.0


def test_retry_after_beyond_limit_gives_up_at_once(feed_server, fetcher):
    url = feed_server.route("/later", Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(FetchError, match="retry after 3600s, over the 5s limit"):
        fetcher.get(url)
    assert feed_server.hits["/later"] == 1


def test_404_is_not_retried(feed_server, fetcher):
    with pytest.raises(FetchError, match="HTTP 404"):
        fetcher.get(feed_server.url("/missing"))
    assert len(feed_server.requests) == 1


def test_slow_response_times_out(feed_server, fetcher):
    url = feed_server.route("/slow", Reply(body=b"late", delay=1.5))
    with pytest.raises(FetchError, match="timed out after 0.5s"):
        fetcher.get(url)


def test_dripping_body_hits_the_deadline(feed_server, fetcher):
    url = feed_server.route("/drip", Reply(body=b"y" * 90_000, drip=0.1))
    with pytest.raises(FetchError, match="took over 2s"):
        fetcher.get(url)


@pytest.mark.parametrize("reply", [Reply(body=b"z" * 200_000), Reply(chunked_size=1_000_000)],
                         ids=["content-length", "no-length"])
def test_body_over_the_cap_is_refused(feed_server, fetcher, reply):
    url = feed_server.route("/huge", reply)
    with pytest.raises(FetchError, match="100,000-byte cap"):
        fetcher.get(url)


def test_per_host_delay_spaces_requests(feed_server):
    f = Fetcher(FetchPolicy(host_delay=0.3, retries=0))
    url = feed_server.route("/a", Reply(body=b"1"))
    started = time.monotonic()
    f.get(url)
    f.get(url)
    assert time.monotonic() - started >= 0.3


def test_local_files_and_bad_schemes(tmp_path, fetcher):
    feed = tmp_path / "feed.xml"
    feed.write_bytes(b"<rss/>")
    assert fetcher.get(feed.as_uri(), local_ok=True).body == b"<rss/>"
    with pytest.raises(FetchError, match="not a regular file"):
        fetcher.get((tmp_path / "nope.xml").as_uri(), local_ok=True)
    with pytest.raises(FetchError, match="local file .* refused"):
        fetcher.get(feed.as_uri())
    with pytest.raises(FetchError, match="scheme 'ftp' refused"):
        fetcher.get("ftp://example.org/feed")
