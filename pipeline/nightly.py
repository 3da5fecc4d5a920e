"""The nightly job: every stage in order, under a lock, timed, with a report stored in the database.

    ingest (+ segment) -> embed -> cluster/thread -> briefs -> digest -> e-mail (optional)

Each stage is incremental on its own (it reads what changed since its own last mark and commits its
own transactions), so a run killed at any point and run again ends with the same database and
digest as one clean run. The lock (a `flock` on `<data dir>/pulse.lock`, released by the kernel if
the process dies) keeps two runs from overlapping; a second run exits at once with EXIT_LOCKED.

Exit codes, for cron and systemd:
    0  all good
    3  finished, but some sources failed (the report says which)
    4  nothing could be done: every source failed, or a stage could not run (disk full, database
       locked by another program, model missing ...); what is already stored is kept
    75 another run holds the lock (EX_TEMPFAIL: try later)
    2  a usage or configuration error (from the CLI)
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from filelock import FileLock, Timeout

from .store import Store, now

EXIT_OK, EXIT_PARTIAL, EXIT_NOTHING, EXIT_LOCKED = 0, 3, 4, 75
log = logging.getLogger("pulse")


class RunLocked(Exception):
    """Another `pulse run` holds the lock."""


@dataclass
class RunReport:
    started: str
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # per source, and per stage that failed
    exit_code: int = EXIT_OK
    status: str = "running"
    finished: str | None = None
    model: str | None = None
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "started": self.started, "finished": self.finished, "status": self.status,
                "exit_code": self.exit_code, "model": self.model, "errors": self.errors, "stages": self.stages}


def pause_point(stage: str, when: str) -> None:
    """Test hook: with PULSE_PAUSE_AT=<when>:<stage>, say so on stderr and wait to be killed there."""
    if os.environ.get("PULSE_PAUSE_AT") == f"{when}:{stage}":
        print(f"PAUSED {when}:{stage}", file=sys.stderr, flush=True)
        time.sleep(3600)


def lock_path(data_dir: Path) -> Path:
    return data_dir / "pulse.lock"


def acquire(data_dir: Path) -> FileLock:
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(lock_path(data_dir)), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunLocked(f"another pulse run holds {lock_path(data_dir)}; not starting a second one") from None
    return lock


Stage = Callable[[Store], dict[str, Any]]

# the counts each stage's log line shows (a stage not named here logs its time only)
SUMMARY_KEYS = {"ingest": ("issues_new", "issues_updated", "stories", "furniture", "failed"),
                "resegment": ("issues", "updated", "stories", "furniture"), "embed": ("embedded", "total", "device"),
                "cluster": ("stories", "clusters_new", "clusters_grown", "threads_new"), "brief": ("briefed", "total"),
                "watch": ("items", "resolved"), "pages": ("issues", "changed"), "digest": ("date", "clusters", "path"), "email": ("sent", "to", "reason")}


def stage_summary(name: str, result: dict[str, Any]) -> str:
    """A stage's counts for its log line, e.g. `embedded=12 total=480 device=cpu`."""
    return " ".join(f"{k}={result[k]}" for k in SUMMARY_KEYS.get(name, ()) if k in result)


def run_stages(store: Store, stages: list[tuple[str, Stage]], *, summary: Callable[[str, dict], str] | None = None,
               optional: tuple[str, ...] = ("email",)) -> RunReport:
    """Run the stages in order, timing each and logging a line per stage; the report is stored in `runs`
    at the start (status 'running') and again at the end. A stage that raises ends the run with
    EXIT_NOTHING and its one-line error (an `optional` one, such as e-mail after the digest is written,
    with EXIT_PARTIAL); earlier stages' work stays committed."""
    report = RunReport(started=now())
    report.id = store.start_run(report.started)
    for name, fn in stages:
        pause_point(name, "before")
        t = time.perf_counter()
        try:
            result = fn(store)
        except Exception as exc:  # the stage failed: report it, keep what is stored
            ms = round((time.perf_counter() - t) * 1000)
            message = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            report.stages[name] = {"ms": ms, "error": message}
            report.errors[name] = message
            report.exit_code, report.status = (EXIT_PARTIAL, "partial") if name in optional else (EXIT_NOTHING, "failed")
            log.error("stage=%s failed after %d ms: %s", name, ms, message)
            log.debug("%s", traceback.format_exc())
            break
        result = dict(result or {})
        result["ms"] = round((time.perf_counter() - t) * 1000)
        report.stages[name] = result
        log.info("stage=%s ms=%d %s", name, result["ms"], summary(name, result) if summary else "")
        pause_point(name, "after")
    else:
        report.status = "ok"
    ingest = report.stages.get("ingest", {})
    for src in ingest.get("sources", []):
        if not src.get("ok", True):
            report.errors[f"source:{src['name']}"] = src.get("error") or "failed"
    failed, total = len(ingest.get("failed", [])), len(ingest.get("sources", []))
    if report.status in ("ok", "partial") and failed:
        report.exit_code = EXIT_NOTHING if failed == total else EXIT_PARTIAL
        report.status = "no sources" if failed == total else "partial"
    report.model = (report.stages.get("embed") or {}).get("model")
    report.finished = now()
    try:
        store.finish_run(report.id, report.finished, report.status, report.exit_code, report.model,
                         json.dumps(report.to_dict(), default=str))
    except Exception as exc:  # a full disk may refuse even the report: say so, the exit code still tells
        log.error("could not store the run report: %s", exc)
    log.info("run %s finished: status=%s exit=%d", report.id, report.status, report.exit_code)
    return report
