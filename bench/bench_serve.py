"""Load on `pulse serve`: concurrent clients against a large archive, with and without a hostile query.

    python bench/bench_serve.py                                  # 100k stories, 50 clients, 30 s a scenario
    python bench/bench_serve.py --stories 20000 --clients 20 --seconds 10

The archive is real Pulse SQLite (schema, FTS5) filled with synthetic newsletter text made here (a Zipf
vocabulary of made-up words plus AI topic words), a year of digests, and one 10 MB story, as an old
archive from before the entry-size cap could hold. It is built once per size under --cache and reused.
The real `pulse serve` runs in a subprocess on 127.0.0.1; each client is a thread with its own
keep-alive connection, sending its next request as soon as the last one is answered, for --seconds,
over a mix of pages (/, /story/ID, /digests, /digest/DAY, /static/pulse.css) and searches
(/?q= and /api/search?q=). Searches are keyword mode: hybrid and semantic would load a torch model
and embed every query on the same two cores, so they are left out of the mix.

Two scenarios: plain, then the same load with one more client sending hostile queries back to back
(a word found only in the 10 MB story, every eighth word of it, so its snippet is made; a query at
the term cap of topic words; `gpu OR gpu OR ...` with 2,000 terms). Printed: requests/s, p50/p95/p99 latency and errors of the
ordinary clients, per scenario and per kind of request, and the hostile client's own numbers.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common import SOURCES, TOPICS, insert_rows, rebuild_fts, story_rows, vocabulary  # bench/ is sys.path[0] when a script here runs

HOSTILE_WORD = "zyzzyvaquux"  # only in the 10 MB story: a search for it makes that story's snippet
BIG_CHARS = 10_000_000
MIX = [("home", 10), ("story", 25), ("digests", 5), ("digest", 5), ("css", 10), ("search_page", 20),
       ("api_search", 25)]


# ---------------------------------------------------------------------- the archive
def big_story_text(vocab: np.ndarray, rng: np.random.Generator) -> str:
    """About 10 MB of words, the hostile word every eighth word (FTS5's snippet() over the whole story
    slows with every place its words match), topic words all through it."""
    words = list(rng.choice(vocab, 20_000)) + TOPICS
    words[::8] = [HOSTILE_WORD] * len(words[::8])
    block = " ".join(words)
    return (block * (BIG_CHARS // len(block) + 1))[:BIG_CHARS]


def build(path: Path, n: int, seed: int = 7) -> None:
    """n stories in 20 sources over two years (~50 words each, six to an issue), 365 digests, one 10 MB story.
    Bulk-loaded like bench_search.py: rows first, then one FTS5 rebuild."""
    from pipeline.store import Store

    rng = np.random.default_rng(seed)
    vocab, weights = vocabulary(rng)
    tmp = path.with_suffix(".partial")
    tmp.unlink(missing_ok=True)
    t0 = time.time()
    store = Store(tmp)
    for s in SOURCES:
        store.ensure_source(s, "rss", f"https://{s}.example.org/feed")
    store.db.execute("DROP TRIGGER IF EXISTS stories_ai")
    for base in range(0, n, 20_000):
        m = min(20_000, n - base)
        issues, stories = story_rows(rng, vocab, weights, base, m, n)
        if base + m == n:  # the last issue gets one more story: 10 MB
            text = big_story_text(vocab, rng)
            stories.append(("sbig", stories[-1][1], stories[-1][2], stories[-1][3], 99, "main",
                            "An enormous story", "", text, text, "h", stories[-1][3]))
        with store.db.atomic():
            insert_rows(store, issues, stories)
        print(f"  built {base + m:,}/{n:,} stories ({time.time() - t0:.0f} s)", file=sys.stderr)
    store = rebuild_fts(store, tmp)
    day = np.datetime64("2026-01-01")
    for d in range(365):
        body = "\n\n".join(f"## {' '.join(rng.choice(TOPICS, 4))}\n\n{' '.join(rng.choice(vocab, 120))}"
                           for _ in range(12))
        store.save_digest(str(day + np.timedelta64(d, "D")), f"# Pulse\n\n{body}", 12, "2026-12-05T06:00:00+00:00")
    store.db.execute("PRAGMA optimize")
    store.close()
    tmp.rename(path)
    print(f"  archive of {n:,} stories in {time.time() - t0:.0f} s: {path}", file=sys.stderr)


# ---------------------------------------------------------------------- the server
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pulse_command() -> list[str]:
    """The installed `pulse` next to this Python, else the same entry point through -c."""
    exe = Path(sys.executable).with_name("pulse")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from pipeline.cli import main; main()"]


def start_server(data_dir: Path, port: int, extra: list[str], log: Path) -> subprocess.Popen:
    """`pulse serve` on 127.0.0.1:port in its own process group; returns once it answers."""
    config = Path(tempfile.mkdtemp(prefix="pulse-bench-config-"))
    cmd = [*pulse_command(), "--config-dir", str(config), "--data-dir", str(data_dir), "serve", "--host",
           "127.0.0.1", "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"pulse serve exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/static/pulse.css")
            if conn.getresponse().status == 200:
                conn.close()
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("pulse serve did not answer within 60 s")


def stop_server(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


# ---------------------------------------------------------------------- the clients
@dataclass
class Tally:
    """Each finished request: (kind, milliseconds, ok)."""

    rows: list[tuple[str, float, bool]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, ms: float, ok: bool) -> None:
        with self.lock:
            self.rows.append((kind, ms, ok))


class Paths:
    """The URLs a client picks from: story ids, digest days and queries drawn from the archive's make-up."""

    def __init__(self, n: int, rng: random.Random):
        self.n = n
        self.rng = rng
        self.days = [f"2026-{m:02d}-{d:02d}" for m in range(1, 13) for d in (1, 9, 17, 25)]

    def query(self) -> str:
        words = self.rng.sample(TOPICS, self.rng.randint(1, 3))
        if self.rng.random() < 0.15 and len(words) > 1:
            return f'"{words[0]} {words[1]}"'
        if self.rng.random() < 0.1:
            return words[0][:5] + "*"
        return " ".join(words)

    def pick(self) -> tuple[str, str]:
        kind = self.rng.choices([k for k, _ in MIX], [w for _, w in MIX])[0]
        q = urllib.parse.quote(self.query())
        return kind, {
            "home": "/", "story": f"/story/s{self.rng.randrange(self.n):09d}", "digests": "/digests",
            "digest": f"/digest/{self.rng.choice(self.days)}", "css": "/static/pulse.css",
            "search_page": f"/?q={q}&mode=keyword", "api_search": f"/api/search?q={q}&mode=keyword",
        }[kind]


def hostile_paths() -> list[tuple[str, str]]:
    """A word only the 10 MB story has; the term cap's worth of topic words; 2,000 terms of one topic word."""
    from pipeline.fts_query import MAX_TERMS

    q = urllib.parse.quote
    return [("hostile_10mb", f"/api/search?q={HOSTILE_WORD}&mode=keyword"),
            ("hostile_max_terms", f"/api/search?q={q(' OR '.join(TOPICS[:MAX_TERMS]))}&mode=keyword"),
            ("hostile_2000_terms", f"/api/search?q={q(' OR '.join(['gpu'] * 2000))}&mode=keyword")]


def client(port: int, until: float, next_path, tally: Tally, ok_status: dict[str, int]) -> None:
    """Requests back to back on one keep-alive connection until `until`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    while time.perf_counter() < until:
        kind, path = next_path()
        started = time.perf_counter()
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            ok = resp.status == ok_status.get(kind, 200)
        except (OSError, http.client.HTTPException):
            ok = False
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        tally.add(kind, (time.perf_counter() - started) * 1000, ok)
    conn.close()


def run_scenario(port: int, n: int, clients: int, seconds: float, hostile: bool, seed: int) -> tuple[Tally, Tally]:
    """Ordinary clients (and one hostile one) for `seconds`: (ordinary tally, hostile tally)."""
    tally, bad = Tally(), Tally()
    until = time.perf_counter() + seconds
    threads = []
    for c in range(clients):
        paths = Paths(n, random.Random(seed * 1000 + c))
        threads.append(threading.Thread(target=client, args=(port, until, paths.pick, tally, {})))
    if hostile:
        cycle = iter(hostile_paths() * 10**6)
        threads.append(threading.Thread(target=client, args=(
            port, until, lambda: next(cycle), bad, {"hostile_2000_terms": 400})))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, bad


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------------- the report
def summary(rows: list[tuple[str, float, bool]], seconds: float) -> list[object]:
    ms = np.array([r[1] for r in rows]) if rows else np.zeros(1)
    return [len(rows), f"{len(rows) / seconds:.1f}", f"{np.percentile(ms, 50):.0f}", f"{np.percentile(ms, 95):.0f}",
            f"{np.percentile(ms, 99):.0f}", sum(1 for r in rows if not r[2])]


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A markdown table (right-aligned numbers)."""
    cells = [headers] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"]
                     + [line(r) for r in cells[1:]])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stories", type=int, default=100_000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30.0, help="per scenario")
    ap.add_argument("--cache", default=os.environ.get("PULSE_BENCH_CACHE", "/tmp/pulse-bench"))
    ap.add_argument("--serve-args", default="", help="more arguments for `pulse serve`, e.g. '--workers 8'")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()

    data_dir = Path(args.cache) / f"serve-{args.stories}"
    db = data_dir / "pulse.db"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not db.exists():
        build(db, args.stories)
    port = free_port()
    log = data_dir / "serve.log"
    load_before = os.getloadavg()
    proc = start_server(data_dir, port, args.serve_args.split(), log)
    try:
        run_scenario(port, args.stories, min(args.clients, 10), 2.0, False, args.seed + 99)  # warm the caches
        results, cpu = {}, {}
        for name, hostile in (("plain", False), ("hostile query in flight", True)):
            server, own = cpu_seconds(proc.pid), own_cpu_seconds()
            results[name] = run_scenario(port, args.stories, args.clients, args.seconds, hostile, args.seed)
            cpu[name] = (cpu_seconds(proc.pid) - server, own_cpu_seconds() - own)
            print(f"  {name}: {len(results[name][0].rows):,} requests", file=sys.stderr)
    finally:
        stop_server(proc)
    load_after = os.getloadavg()

    print(f"\n{args.stories:,} stories (+ one of 10 MB) · {args.clients} clients · {args.seconds:g} s a scenario · "
          f"{os.cpu_count()} CPUs · `pulse serve {args.serve_args}`".rstrip() + " · keyword searches "
          "(no torch model in the mix)")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (other work on the machine "
          "shows here)\n")
    head = ["scenario", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "server CPU ms/request",
            "cores used: server, clients"]
    print(table(head, [[name, *summary(t.rows, args.seconds),
                        f"{cpu[name][0] * 1000 / max(1, len(t.rows) + len(bad.rows)):.1f}",
                        f"{cpu[name][0] / args.seconds:.2f}, {cpu[name][1] / args.seconds:.2f}"]
                       for name, (t, bad) in results.items()]))
    print()
    kinds = [k for k, _ in MIX]
    rows = []
    for kind in kinds:
        for name, (t, _) in results.items():
            rows.append([kind, name, *summary([r for r in t.rows if r[0] == kind], args.seconds)])
    print(table(["kind", "scenario", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows))
    bad = results["hostile query in flight"][1].rows
    print()
    print(table(["hostile request (one client, back to back)", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms",
                 "errors"],
                [[kind, *summary([r for r in bad if r[0] == kind], args.seconds)] for kind, _ in hostile_paths()]))


if __name__ == "__main__":
    main()
