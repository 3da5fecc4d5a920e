"""Shared fixtures: a real HTTP server on 127.0.0.1 and throwaway Pulse directories."""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
# the model's ONNX twin is exported once per test session, here, never into the user's cache
_CACHE = None if os.environ.get("PULSE_CACHE_DIR") else tempfile.mkdtemp(prefix="pulse-test-cache-")
if _CACHE:
    os.environ["PULSE_CACHE_DIR"] = _CACHE


def pytest_sessionfinish(session: pytest.Session) -> None:
    if _CACHE:
        shutil.rmtree(_CACHE, ignore_errors=True)


@dataclass
class Reply:
    """One canned HTTP response. `etag` makes the route answer 304 to a matching If-None-Match."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # before the status line
    drip: float = 0.0  # seconds between chunks of the body
    drip_bytes: int = 1024  # the size of a dripped chunk
    etag: str | None = None
    chunked_size: int = 0  # send this many bytes without Content-Length


class FeedServer:
    """Routes map a path to a list of replies, served in order (the last one repeats)."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.hits: dict[str, int] = defaultdict(int)
        self.requests: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                server.requests.append((path, dict(self.headers)))
                replies = server.routes.get(path)
                if not replies:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                n = server.hits[path]
                server.hits[path] += 1
                reply = replies[min(n, len(replies) - 1)]
                if reply.delay:
                    time.sleep(reply.delay)
                if reply.etag and self.headers.get("If-None-Match") == reply.etag:
                    self.send_response(304)
                    self.send_header("ETag", reply.etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(reply.status)
                for k, v in reply.headers.items():
                    self.send_header(k, v)
                if reply.etag:
                    self.send_header("ETag", reply.etag)
                try:
                    if reply.chunked_size:
                        self.send_header("Connection", "close")
                        self.end_headers()
                        chunk = b"x" * 65536
                        for _ in range(reply.chunked_size // len(chunk)):
                            self.wfile.write(chunk)
                        return
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.drip:
                        step = reply.drip_bytes
                        for i in range(0, len(reply.body), step):
                            self.wfile.write(reply.body[i:i + step])
                            self.wfile.flush()
                            time.sleep(reply.drip)
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def route(self, path: str, *replies: Reply) -> str:
        self.routes[path] = list(replies)
        self.hits[path] = 0
        return self.url(path)

    def url(self, path: str) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}{path}"

    def start(self) -> "FeedServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="session")
def embedder():
    """The real bundled model, on the CPU, loaded once for the whole run."""
    from pipeline.embed import Embedder

    return Embedder(device="cpu")


@pytest.fixture
def feed_server():
    server = FeedServer().start()
    yield server
    server.stop()


@pytest.fixture
def fixture_bytes():
    def read(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()
    return read


@pytest.fixture
def pulse_dirs(tmp_path, monkeypatch):
    """Fresh config and data directories, wired through the environment."""
    config, data = tmp_path / "config", tmp_path / "data"
    monkeypatch.setenv("PULSE_CONFIG_DIR", str(config))
    monkeypatch.setenv("PULSE_DATA_DIR", str(data))
    return config, data


@pytest.fixture(scope="session")
def archive(tmp_path_factory, embedder):
    """(store, briefer, output dir) shared by read-only tests; tests that change things build their own."""
    from tests.archive import build_archive

    root = tmp_path_factory.mktemp("archive")
    store, briefer = build_archive(root / "pulse.db", embedder, root / "out")
    yield store, briefer, root / "out"
    store.close()
