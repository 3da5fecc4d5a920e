"""The nightly job as cron runs it: a real process, killed at several points, locked, starved of disk,
blocked by another program's lock, fed hanging and garbage sources, e-mailing through a real SMTP server."""
from __future__ import annotations

import json
import os
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path

import pytest
from filelock import FileLock

from tests.conftest import Reply
from tests.feeds import rss, story_html

ROOT = Path(__file__).resolve().parents[2]


def pulse(dirs, *args, env=None, preexec=None, timeout=300) -> subprocess.CompletedProcess:
    config, data = dirs
    environ = {**os.environ, "PULSE_CONFIG_DIR": str(config), "PULSE_DATA_DIR": str(data), **(env or {})}
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=ROOT, env=environ, capture_output=True,
                          text=True, timeout=timeout, preexec_fn=preexec)


def start_paused(dirs, point: str, *args) -> subprocess.Popen:
    """`pulse run` that stops at `point` (PULSE_PAUSE_AT) and waits there to be killed."""
    config, data = dirs
    environ = {**os.environ, "PULSE_CONFIG_DIR": str(config), "PULSE_DATA_DIR": str(data), "PULSE_PAUSE_AT": point}
    proc = subprocess.Popen([sys.executable, "-m", "pipeline.cli", "run", *args], cwd=ROOT, env=environ,
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    for line in proc.stderr:
        if line.startswith(f"PAUSED {point}"):
            return proc
    raise AssertionError(f"pulse run ended (rc {proc.wait()}) before reaching {point}")


def snapshot(db: Path, digests: Path) -> dict:
    """Everything a run decides, without its timestamps."""
    conn = sqlite3.connect(db)
    q = lambda sql: sorted(conn.execute(sql).fetchall())  # noqa: E731
    snap = {
        "issues": q("SELECT id, source, content_hash FROM issues"),
        "stories": q("SELECT id, content_hash, title FROM stories"),
        "links": q("SELECT story_id, position, url FROM links"),
        "fts": q("SELECT rowid FROM stories_fts WHERE stories_fts MATCH 'model OR the OR a'"),
        "embeddings": q("SELECT id, content_hash, embedding FROM embeddings"),
        "clusters": q("SELECT id, thread_id, title, size, sources FROM clusters"),
        "members": q("SELECT story_id, cluster_id FROM cluster_members"),
        "threads": q("SELECT id, title FROM threads"),
        "briefs": q("SELECT cluster_id, slug, input_hash, impact FROM briefs"),
        "digests": q("SELECT date, markdown FROM digests"),
        "files": sorted((p.relative_to(digests).as_posix(), p.read_text()) for p in digests.rglob("*.md")),
    }
    conn.close()
    return snap


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("clean")
    dirs = (root / "c", root / "d")
    r = pulse(dirs, "run", "--sample")
    assert r.returncode == 0, r.stderr
    data = dirs[1] / "sample"
    return snapshot(data / "pulse.db", data / "digests")


@pytest.mark.parametrize("point", ["after:issue", "after:ingest", "after:embed", "after:cluster", "after:brief"])
def test_killed_at_any_point_a_rerun_gives_what_one_clean_run_gives(tmp_path, clean_run, point):
    dirs = (tmp_path / "c", tmp_path / "d")
    proc = start_paused(dirs, point, "--sample")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    rerun = pulse(dirs, "run", "--sample", "--json")
    assert rerun.returncode == 0, rerun.stderr
    data = dirs[1] / "sample"
    assert snapshot(data / "pulse.db", data / "digests") == clean_run
    runs = sqlite3.connect(data / "pulse.db").execute("SELECT status FROM runs ORDER BY id").fetchall()
    assert runs == [("killed",), ("ok",)]


def test_the_run_report_is_stored_with_a_line_per_stage_in_the_log(tmp_path):
    dirs = (tmp_path / "c", tmp_path / "d")
    r = pulse(dirs, "run", "--sample", "--json")
    assert r.returncode == 0
    printed = json.loads(r.stdout)
    stored = json.loads(sqlite3.connect(dirs[1] / "sample" / "pulse.db").execute(
        "SELECT report FROM runs").fetchone()[0])
    assert stored["status"] == printed["status"] == "ok" and stored["exit_code"] == 0
    assert list(stored["stages"]) == ["ingest", "embed", "cluster", "brief", "watch", "pages", "digest"]
    assert all(isinstance(s["ms"], int) for s in stored["stages"].values())
    assert stored["model"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert stored["stages"]["ingest"]["issues_new"] == 6 and stored["stages"]["embed"]["embedded"] == 24
    for stage in ("ingest", "embed", "cluster", "brief", "watch", "pages", "digest"):
        assert f"stage={stage} ms=" in r.stderr
    listed = pulse(dirs, "runs", "--sample", "--json")
    assert json.loads(listed.stdout)[0]["report"]["stages"]["digest"]["clusters"] > 0


def test_a_second_run_exits_at_once_with_its_own_code(tmp_path):
    dirs = (tmp_path / "c", tmp_path / "d")
    held = FileLock(str(dirs[1] / "sample" / "pulse.lock"))
    (dirs[1] / "sample").mkdir(parents=True)
    with held:
        t = time.monotonic()
        r = pulse(dirs, "run", "--sample")
        assert r.returncode == 75 and "another pulse run" in r.stderr
        assert time.monotonic() - t < 20 and not (dirs[1] / "sample" / "pulse.db").exists()
    assert pulse(dirs, "run", "--sample").returncode == 0  # the lock is free again


# ---------------------------------------------------------------------- faults
def _subscribe(dirs, sources: dict[str, str], **settings) -> None:
    config = dirs[0]
    config.mkdir(parents=True, exist_ok=True)
    (config / "sources.toml").write_text("".join(f'[[source]]\nname = "{n}"\nkind = "rss"\nurl = "{u}"\n\n'
                                                 for n, u in sources.items()))
    (config / "pulse.toml").write_text("".join(f"{k} = {json.dumps(v)}\n" for k, v in settings.items()))


def _feed(n: int, prefix: str = "I") -> bytes:
    return rss(*[{"title": f"{prefix}{i}", "link": f"https://g.example.org/{prefix}{i}", "guid": f"{prefix}{i}",
                  "html": story_html((f"Story {prefix}{i} about inference chips", "Text. " * 40,
                                      f"https://l.example.org/{prefix}{i}"))} for i in range(n)])


def test_hanging_and_garbage_sources_fail_alone(tmp_path, feed_server):
    good = feed_server.route("/good", Reply(body=_feed(2)))
    hang = feed_server.route("/hang", Reply(body=_feed(1, "H"), delay=30))
    junk = feed_server.route("/junk", Reply(body=b"\x00\xff garbage <<<< not a feed", headers={"Content-Type": "text/xml"}))
    dirs = (tmp_path / "c", tmp_path / "d")
    _subscribe(dirs, {"good": good, "hang": hang, "junk": junk}, fetch_timeout=1, fetch_retries=0, host_delay=0)
    t = time.monotonic()
    r = pulse(dirs, "run", "--json")
    assert r.returncode == 3, r.stderr
    assert time.monotonic() - t < 60
    report = json.loads(r.stdout)
    assert set(report["ingest"]["failed"]) == {"hang", "junk"} and report["status"] == "partial"
    assert "timed out" in report["errors"]["source:hang"].lower() or "timeout" in report["errors"]["source:hang"].lower()
    assert report["errors"]["source:junk"]
    with sqlite3.connect(dirs[1] / "pulse.db") as conn:
        assert conn.execute("SELECT count(*) FROM issues WHERE source = 'good'").fetchone()[0] == 2
        states = dict(conn.execute("SELECT name, consecutive_errors FROM sources").fetchall())
    assert states == {"good": 0, "hang": 1, "junk": 1}


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_full_disk_fails_the_night_and_loses_nothing(tmp_path, feed_server):
    feed = feed_server.route("/f", Reply(body=_feed(2)), Reply(body=_feed(2) + b""), Reply(body=_feed(40, "N")))
    dirs = (tmp_path / "c", tmp_path / "d")
    _subscribe(dirs, {"f": feed}, host_delay=0)
    assert pulse(dirs, "run").returncode == 0
    db = dirs[1] / "pulse.db"
    before = snapshot(db, dirs[1] / "digests")
    feed_server.routes["/f"] = [Reply(body=_feed(40, "N"))]
    size = db.stat().st_size
    full = pulse(dirs, "run", preexec=_limit_file_size(size))  # the database may not grow
    assert full.returncode == 4, full.stderr
    last = [line for line in full.stderr.splitlines() if "error" in line.lower()]
    assert last and any(w in full.stderr.lower() for w in ("full", "disk i/o", "file too large"))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = snapshot(db, dirs[1] / "digests")  # whole issues that fitted may be in; nothing old is gone
    for table in ("issues", "stories", "embeddings", "clusters", "briefs"):
        assert set(before[table]) <= set(after[table]), table
    again = pulse(dirs, "run", "--json")  # space is back: the night completes
    assert again.returncode == 0
    with sqlite3.connect(db) as conn:  # every issue once: the 2 old, the 40 new (some saved before the disk filled)
        assert conn.execute("SELECT count(*), count(DISTINCT guid) FROM issues").fetchone() == (42, 42)


def test_a_database_locked_by_another_program_is_a_clear_failure(tmp_path, feed_server):
    dirs = (tmp_path / "c", tmp_path / "d")
    _subscribe(dirs, {"f": feed_server.route("/f", Reply(body=_feed(2)))}, host_delay=0, db_timeout=1)
    assert pulse(dirs, "run").returncode == 0
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
        "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)"), str(dirs[1] / "pulse.db")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        r = pulse(dirs, "run")
        assert r.returncode == 4 and "locked" in r.stderr
    finally:
        holder.kill()
        holder.wait()
    with sqlite3.connect(dirs[1] / "pulse.db") as conn:
        assert conn.execute("SELECT count(*) FROM issues").fetchone()[0] == 2
    assert pulse(dirs, "run").returncode == 0


def test_backup_is_consistent_while_someone_writes(tmp_path):
    dirs = (tmp_path / "c", tmp_path / "d")
    assert pulse(dirs, "run", "--sample").returncode == 0
    db = dirs[1] / "sample" / "pulse.db"
    stop = threading.Event()

    def writer() -> None:
        conn = sqlite3.connect(db, timeout=30)
        n = 0
        while not stop.is_set():
            with conn:
                conn.execute("INSERT INTO fetch_log (source, url, at) VALUES ('w', 'u', ?)", [str(n)])
            n += 1
        conn.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        r = pulse(dirs, "backup", "--sample", str(tmp_path / "copy.db"))
    finally:
        stop.set()
        thread.join()
    assert r.returncode == 0, r.stderr
    with sqlite3.connect(tmp_path / "copy.db") as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM stories").fetchone()[0] == 25
    assert pulse(dirs, "backup", "--sample", str(tmp_path / "copy.db")).returncode == 2  # no silent overwrite


def test_doctor_reports_each_check(tmp_path):
    dirs = (tmp_path / "c", tmp_path / "d")
    r = pulse(dirs, "doctor", "--sample", "--json")
    assert r.returncode == 0, r.stdout
    checks = {c["name"]: c for c in json.loads(r.stdout)}
    assert {"disk", "database", "lock", "model", "gpu"} <= set(checks)
    assert checks["database"]["status"] == "ok" and "writable" in checks["database"]["detail"]
    assert checks["model"]["status"] == "ok" and "dimension 384" in checks["model"]["detail"]
    assert all(c["status"] == "ok" for n, c in checks.items() if n.startswith("source "))


def test_doctor_fails_on_a_model_that_is_not_there(tmp_path):
    dirs = (tmp_path / "c", tmp_path / "d")
    dirs[0].mkdir(parents=True)
    (dirs[0] / "pulse.toml").write_text(f'model = "{tmp_path / "no-model"}"\n')
    r = pulse(dirs, "doctor", "--sample", "--offline", "--json")
    assert r.returncode == 1
    assert {c["name"]: c["status"] for c in json.loads(r.stdout)}["model"] == "fail"


# ---------------------------------------------------------------------- e-mail
@pytest.fixture
def smtp_server():
    """aiosmtpd on 127.0.0.1 with AUTH PLAIN/LOGIN (no TLS on loopback), collecting what it receives."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    received: list[tuple[list[str], bytes]] = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.login == b"pulse" and auth_data.password == b"s3cret")

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    import warnings

    warnings.filterwarnings("ignore", "Requiring AUTH while not requiring TLS")  # loopback only, in a test
    controller = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    controller.received = received
    yield controller
    controller.stop()


def _email_settings(tmp_path: Path, port: int, to: str, extra: str = "") -> tuple[Path, Path]:
    """Pulse directories whose pulse.toml sends through the test server, logging in as pulse."""
    dirs = (tmp_path / "c", tmp_path / "d")
    dirs[0].mkdir(parents=True)
    (dirs[0] / "pulse.toml").write_text(
        f'[email]\nto = {to}\n{extra}host = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f'username = "pulse"\npassword_env = "TEST_SMTP_PASSWORD"\n')
    return dirs


def _weekday(offset: int = 0) -> str:
    """Today's weekday name (UTC, as the digest reads it), or the one `offset` days on."""
    from datetime import datetime, timezone

    from outputs.digest import WEEKDAYS
    return WEEKDAYS[(datetime.now(timezone.utc).weekday() + offset) % 7]


def test_email_sends_the_digest_as_text_and_html_once(tmp_path, smtp_server):
    # not the weekly digest's day (on it, the week's digest goes too: the next test)
    dirs = _email_settings(tmp_path, smtp_server.port, '["reader@example.org"]', 'from = "pulse@example.org"\n')
    with (dirs[0] / "pulse.toml").open("a") as f:
        f.write(f'\n[digest]\nweekly_day = "{_weekday(3)}"\n')
    env = {"TEST_SMTP_PASSWORD": "s3cret"}
    r = pulse(dirs, "run", "--sample", "--email", "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["email"]["sent"] is True
    (rcpt, raw), = smtp_server.received
    msg = message_from_bytes(raw, policy=email_policy)
    assert rcpt == ["reader@example.org"] and msg["Subject"].startswith("Pulse digest ")
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert text.startswith("# ") and "<h1>" in html and "<script" not in html.lower()
    again = json.loads(pulse(dirs, "run", "--sample", "--email", "--json", env=env).stdout)["email"]
    assert {k: v for k, v in again.items() if k != "ms"} == {
        "sent": False, "to": ["reader@example.org"], "reason": "this digest was sent already"}
    assert len(smtp_server.received) == 1


def test_on_the_weekly_day_the_weeks_digest_is_mailed_too(tmp_path, smtp_server):
    dirs = _email_settings(tmp_path, smtp_server.port, '["reader@example.org"]')
    with (dirs[0] / "pulse.toml").open("a") as f:
        f.write(f'\n[digest]\nweekly_day = "{_weekday()}"\n')
    r = pulse(dirs, "run", "--sample", "--email", "--json", env={"TEST_SMTP_PASSWORD": "s3cret"})
    assert r.returncode == 0, r.stderr
    subjects = [message_from_bytes(raw, policy=email_policy)["Subject"] for _, raw in smtp_server.received]
    import re
    assert len(subjects) == 2 and re.fullmatch(r"Pulse digest \d{4}-\d\d-\d\d", subjects[0])
    assert re.fullmatch(r"Pulse digest \d{4}-W\d\d", subjects[1])  # the week just ended


def test_a_refused_login_keeps_the_digest_and_says_why(tmp_path, smtp_server):
    dirs = _email_settings(tmp_path, smtp_server.port, '"reader@example.org"')  # `to` as one address
    r = pulse(dirs, "run", "--sample", "--email", env={"TEST_SMTP_PASSWORD": "wrong"})
    assert r.returncode == 3 and "cannot send the digest" in r.stderr
    assert list((dirs[1] / "sample" / "digests").glob("digest-*.md")) and not smtp_server.received


# ---------------------------------------------------------------------- cron wrapper
def test_the_cron_wrapper_logs_rotates_and_passes_the_exit_code_on(tmp_path):
    home = tmp_path / "home"
    (home / ".venv" / "bin").mkdir(parents=True)
    (home / ".venv" / "bin" / "pulse").symlink_to(Path(sys.executable).with_name("pulse"))
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "pulse.log").write_bytes(b"x" * (5 * 1024 * 1024 + 1))
    env = {**os.environ, "PULSE_HOME": str(home), "PULSE_LOG_DIR": str(logs), "PULSE_ARGS": "--sample",
           "PULSE_CONFIG_DIR": str(tmp_path / "c"), "PULSE_DATA_DIR": str(tmp_path / "d")}
    env.pop("INVOCATION_ID", None)
    r = subprocess.run([str(ROOT / "cron" / "pulse-nightly")], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    log = (logs / "pulse.log").read_text()
    assert "stage=digest" in log and log.rstrip().endswith("=== exit 0")
    assert (logs / "pulse.log.1").stat().st_size > 5 * 1024 * 1024
    with FileLock(str(tmp_path / "d" / "sample" / "pulse.lock")):  # a run is going
        busy = subprocess.run([str(ROOT / "cron" / "pulse-nightly")], env=env, capture_output=True, text=True,
                              timeout=300)
    assert busy.returncode == 75 and "exited 75" in busy.stderr
