"""One night at scale: M new stories against an archive of N, end to end, stage by stage.

    python bench/bench_scale.py (--real ARCHIVE.db | --pool POOL.npz) --archive 100000 --new 500 [--model PATH]
                                [--workers N] [--fast-setup [--jobs N]] [--keep DIR [--setup-only] | --reuse DIR
                                [--as-built]]

Issue 29's scale goals: 500 new stories against a 100,000-story archive on the 2-core CPU in <= 60 s, and
5,000 against 1,000,000 on the H100 machine in <= 10 s (fetching excluded). The archive is built from the
real stories and vectors of ARCHIVE.db (an archive of ../shared/data made by ../shared/tools/real-archive):
each synthetic story is one real story's headline over another's text, its vector the normalised sum of
theirs, so no two are copies; they arrive M a day from N/M days ago, 25 to an issue, from 40 newsletters,
as a steady stream of M a night would. The archive is stored and clustered the way the nightly stages do
it (`Store.save_issue`, the embed stage's vectors, `cluster_stories`); its briefs are marked current (the
brief stage's own input hashes, each brief a copy of one real brief) rather than written, which would take
hours here, and its issues were first seen the day they were published. Then one night, as cron runs it:
`pulse run` in a fresh process fetching tonight's issue from a feed served on 127.0.0.1, its M stories
made the same way from other pairs and embedded for real. Prints the night's stages (seconds, items/s,
share) from the run report, with each stage's peak memory (the process's resident set, its brief workers'
too, and the GPU's memory in use, sampled), the setup's times, and the goal.

`--fast-setup` writes the archive in bulk instead (`scale_archive.py`: the same stories, ids and vectors, the
term statistics and marks the stages would write, clusters by a rule calibrated on `cluster_stories`, threads
by the real `attach_threads` within each subject), meant to take minutes for a million stories on 16 cores. `--pool` reads the real stories
and vectors from a file `scale_pool.py` wrote (for a machine that cannot reach the real archive).
`--setup-only` (with `--keep`) stops once the archive is built; `--as-built` (with `--reuse`) takes the archive
as a `--keep` run of this code left it (its briefs are not marked again), then the night with nothing new and
tonight's, as after a build.
"""
from __future__ import annotations

import argparse
import http.server
import json
import random
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from html import escape
from pathlib import Path

import numpy as np

from bench_night import last_run, stage_parts
from common import table

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

PER_ISSUE = 25
LETTERS = 40


def real_pool(db: Path) -> tuple[list[dict], np.ndarray]:
    """The real archive's news stories with their vectors (unit rows)."""
    from pipeline.embed import from_blob
    from pipeline.store import Store

    with Store(db) as store:
        rows = [dict(r) for r in store.db.query(
            "SELECT s.id, s.title, s.text, s.section, e.embedding FROM stories s JOIN embeddings e ON e.id = s.id "
            "WHERE s.section NOT IN ('sponsor', 'furniture', 'notes', 'fiction') AND length(s.text) > 40")]
    vectors = np.vstack([from_blob(r.pop("embedding")) for r in rows]).astype(np.float32)
    return rows, vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def pairs(n: int, pool: int, rng: random.Random) -> list[tuple[int, int]]:
    """n (headline story, text story) pairs of distinct stories, no pair twice."""
    seen: set[tuple[int, int]] = set()
    while len(seen) < n:
        a, b = rng.randrange(pool), rng.randrange(pool)
        if a != b:
            seen.add((a, b))
    out = list(seen)
    rng.shuffle(out)
    return out


def story(rows: list[dict], a: int, b: int, k: int):
    from sources.models import Link, Story

    return Story(position=k, title=rows[a]["title"], text=rows[b]["text"], section=rows[b]["section"] or "main",
                 links=[Link(f"https://example.org/{rows[a]['id']}/{rows[b]['id']}", rows[a]["title"][:60])])


def build_archive(db: Path, rows: list[dict], vectors: np.ndarray, picks: list[tuple[int, int]], per_day: int,
                  tonight: datetime, model: str) -> dict[str, float]:
    """The archive in `db`: `picks` stories, `per_day` a day before `tonight`, stored, embedded, clustered,
    with current briefs. Returns the seconds each step took."""
    from outputs.brief_stage import Briefer
    from outputs.render import Templates
    from pipeline.cluster_stage import cluster_stories
    from pipeline.embed import Embedder, to_blob
    from pipeline.embed_stage import open_collection, stale_of
    from pipeline.store import Store
    from sources.models import Issue

    times = {}
    t = time.perf_counter()
    vec_of: dict[tuple[str, int], np.ndarray] = {}
    with Store(db) as store:
        for j in range(LETTERS):
            store.ensure_source(f"letter-{j:02d}", "rss", f"http://127.0.0.1/letter-{j:02d}.xml")
        days = (len(picks) + per_day - 1) // per_day
        n = 0
        for day in range(days):
            date = tonight - timedelta(days=days - day)
            todays = picks[day * per_day:(day + 1) * per_day]
            for start in range(0, len(todays), PER_ISSUE):
                chunk = todays[start:start + PER_ISSUE]
                letter = f"letter-{n % LETTERS:02d}"
                guid = f"{letter}/{date:%Y-%m-%d}/{n}"
                stories = [story(rows, a, b, k) for k, (a, b) in enumerate(chunk)]
                issue = Issue(source=letter, guid=guid, url=f"https://example.org/{guid}", title=f"{letter} {n}",
                              published=date, html="", text="", stories=stories)
                store.save_issue(issue)
                for k, (a, b) in enumerate(chunk):
                    vec_of[(guid, k)] = vectors[a] + vectors[b]
                n += 1
        # first seen the day each issue was published, as a nightly reader would have
        store.db.execute("UPDATE issues SET first_seen = published")
        times["store"] = time.perf_counter() - t
        t = time.perf_counter()
        model_id = Embedder(model=model).model_id
        cid = open_collection(store, model_id)
        rowmap = {r[0]: (r[1], r[2]) for r in store.db.execute(
            "SELECT s.id, i.guid, s.position FROM stories s JOIN issues i ON i.id = s.issue_id")}
        stale = stale_of(store.stories_for_embedding(cid))
        for start in range(0, len(stale), 5000):
            chunk = stale[start:start + 5000]
            out = []
            for sid, _, digest in chunk:
                v = vec_of[rowmap[sid]]
                out.append((sid, to_blob((v / np.linalg.norm(v)).astype(np.float32)), digest))
            store.save_embeddings(cid, out)
        times["vectors"] = time.perf_counter() - t
        t = time.perf_counter()
        report = cluster_stories(store)
        times["cluster"] = time.perf_counter() - t
        times["clusters"] = report.get("clusters_new", 0)
        t = time.perf_counter()
        mark_briefed(store, Briefer(Templates(), Embedder(model=model).encode))
        times["briefs marked"] = time.perf_counter() - t
    return times


def remark(db: Path, model: str) -> dict[str, float]:
    """A kept archive's briefs marked current with this code (as `build_archive` leaves them)."""
    from outputs.brief_stage import Briefer
    from outputs.render import Templates
    from pipeline.embed import Embedder
    from pipeline.store import Store

    t = time.perf_counter()
    with Store(db) as store:
        mark_briefed(store, Briefer(Templates(), Embedder(model=model).encode))
    return {"briefs marked": time.perf_counter() - t}


def mark_briefed(store, briefer) -> None:
    """Every cluster's brief marked current (the brief stage's input hash), its data a copy of one real brief."""
    from outputs import signals
    from outputs.brief_stage import brief_rows, inputs, mark_stories, signatures
    from outputs.watch import page_items

    mark_stories(store)
    sigs = signatures(store, briefer)
    titles = store.cluster_titles(list(sigs.base))
    # each brief's subject and actor as its headline's first names (what later counter-evidence must name)
    names = {cid: signals.names([t], t)[:2] for cid, t in titles.items()}
    wanted = {cid: sigs.of(cid, names.get(cid, [])) for cid in sigs.base}
    sample = next(iter(wanted))
    row = brief_rows(briefer, inputs(store, [sample]), {}, page_items(store, [sample]))[0][0]
    data = {**json.loads(row["data"]), "watch": []}  # no watch-for items: the archive's are long resolved
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    out = []
    for cid, h in wanted.items():
        out.append({**row, "cluster_id": cid, "slug": f"s-{cid}", "input_hash": h, "updated": stamp,
                    "key_names": json.dumps(names.get(cid, [])),
                    "data": json.dumps({**data, "cluster_id": cid, "slug": f"s-{cid}", "title": titles.get(cid, "")})})
        if len(out) == 5000:
            store.save_briefs(out)
            out = []
    store.save_briefs(out)


def feed(rows: list[dict], picks: list[tuple[int, int]], tonight: datetime) -> str:
    """Tonight's issues as one RSS feed, in the generic segmenter's shape (a headline, then its text)."""
    items = []
    for n, start in enumerate(range(0, len(picks), PER_ISSUE)):
        body = "".join(f"<h3>{escape(rows[a]['title'])}</h3><p>{escape(rows[b]['text'])} "
                       f"<a href=\"https://example.org/t/{rows[a]['id']}/{rows[b]['id']}\">Read more</a></p>"
                       for a, b in picks[start:start + PER_ISSUE])
        day = tonight.strftime("%Y%m%dT%H%M%S")  # each night's issues are new ones, never last night's updated
        items.append(f"<item><title>Tonight {n}</title><link>https://example.org/tonight/{day}/{n}</link>"
                     f"<guid>tonight-{day}-{n}</guid><pubDate>{format_datetime(tonight)}</pubDate>"
                     f"<description>{escape(body)}</description></item>")
    return ('<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Tonight</title>'
            f"<link>https://example.org/</link><description>tonight</description>{''.join(items)}</channel></rss>")


def pulse(config: Path, data: Path, *args: str, profile: Path | None = None
          ) -> tuple[float, dict[str, dict[str, float]]]:
    """Run pulse in a fresh process (as `bench_night.pulse`): its wall time, and each stage's peak memory in MB
    from its log lines ("stage=NAME ms=..." as each ends): `rss` the process's high-water mark over the stage
    (VmHWM, reset as each stage ends; the first stage's includes the start-up), `tree` the most its process
    tree (brief workers too) held at once, sampled every 50 ms, `gpu` the most GPU memory in use, sampled,
    less what was in use before the run. `profile`: run it under cProfile, its statistics written there."""
    import subprocess

    import psutil

    gpu = _gpu_used()
    base = gpu() if gpu else 0.0
    started = time.perf_counter()
    under = ["-m", "cProfile", "-o", str(profile)] if profile else []
    proc = subprocess.Popen([sys.executable, *under, "-m", "pipeline.cli", "--config-dir", str(config), "--data-dir",
                             str(data), *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    peak = {"tree": 0.0, "gpu": 0.0}
    peaks: dict[str, dict[str, float]] = {}
    lines: list[str] = []
    done = threading.Event()

    def sample() -> None:
        me = psutil.Process(proc.pid)
        while not done.is_set():
            try:
                tree = me.memory_info().rss + sum(c.memory_info().rss for c in me.children(recursive=True))
                peak["tree"] = max(peak["tree"], tree / 2**20)
            except psutil.Error:
                pass
            if gpu:
                peak["gpu"] = max(peak["gpu"], gpu() - base)
            time.sleep(0.05)

    def hwm() -> float:
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            Path(f"/proc/{proc.pid}/clear_refs").write_text("5")  # the high-water mark starts again
            return int(next(x for x in status.splitlines() if x.startswith("VmHWM")).split()[1]) / 1024
        except (OSError, StopIteration):
            return float("nan")

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for line in proc.stderr:
        lines.append(line)
        if " stage=" in line and " ms=" in line:
            name = line.split(" stage=")[1].split()[0]
            peaks[name] = {"rss": hwm(), "tree": peak["tree"], "gpu": peak["gpu"]}
            peak.update(tree=0.0, gpu=0.0)
    proc.wait()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.exit(f"pulse {' '.join(args)} failed ({proc.returncode}): {lines[-3:]}")
    return time.perf_counter() - started, peaks


def _gpu_used():
    """A function giving the GPU's memory in use (MB), or None where there is no NVIDIA GPU to ask."""
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(0)
        return lambda: pynvml.nvmlDeviceGetMemoryInfo(handle).used / 2**20
    except Exception:  # noqa: BLE001 (no NVML, no driver, no GPU: nothing to sample)
        return None


def night_line(report: dict) -> str:
    """A night's stages in one line: name and seconds."""
    return ", ".join(f"{name} {stage.get('ms', 0) / 1000:.1f}" for name, stage in report["stages"].items())


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines in the bench's output
        pass


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = lambda *a: _Quiet(*a, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    pool = ap.add_mutually_exclusive_group(required=True)
    pool.add_argument("--real", type=Path, help="an archive of ../shared/data (real-archive's pulse.db)")
    pool.add_argument("--pool", type=Path, help="the real stories and vectors as scale_pool.py wrote them")
    ap.add_argument("--archive", type=int, default=100_000)
    ap.add_argument("--new", type=int, default=500)
    ap.add_argument("--model", default="default")
    ap.add_argument("--workers", type=int, default=0, help="brief workers (default: pulse's own choice)")
    ap.add_argument("--keep", type=Path, help="build here and keep it (default: a temporary folder)")
    ap.add_argument("--reuse", type=Path, help="a folder --keep left: one more night on its archive, the day "
                    "after its last (its briefs marked current with this code first, then a night with nothing new)")
    ap.add_argument("--as-built", action="store_true", help="with --reuse: the archive as a --keep run of this code "
                    "left it (its briefs not marked again)")
    ap.add_argument("--setup-only", action="store_true", help="with --keep: build the archive, run no night")
    ap.add_argument("--weekly-day", help="the [digest] weekly_day (default pulse's, monday): a night on that day "
                    "also writes last week's weekly digest")
    ap.add_argument("--report", type=Path, help="also write the setup, both nights' run reports and the peaks here (JSON)")
    ap.add_argument("--fast-setup", action="store_true", help="write the archive in bulk (scale_archive.py)")
    ap.add_argument("--jobs", type=int, default=0, help="processes for --fast-setup (default: every core)")
    ap.add_argument("--profile", type=Path, help="run tonight's night (not the one with nothing new) under cProfile, "
                    "its statistics written here (the stages' own times then include the profiler's cost)")
    ap.add_argument("--profile-quiet", type=Path, help="the same for the night with nothing new")
    ap.add_argument("--pool-size", type=int, default=0, help="pair only this many of the real stories (a random "
                    "sample): a small archive as dense in each real story as a large one on the whole pool")
    args = ap.parse_args()
    rng = random.Random(29)
    if args.pool:
        from scale_pool import load_pool

        rows, vectors = load_pool(args.pool)
    else:
        rows, vectors = real_pool(args.real)
    if args.pool_size:
        sample = random.Random(7).sample(range(len(rows)), args.pool_size)
        rows, vectors = [rows[i] for i in sample], vectors[sample]
    if args.reuse:
        from pipeline.store import Store

        with Store(args.reuse / "data" / "pulse.db") as store:
            last = store.db.execute("SELECT max(published) FROM issues").fetchone()[0]
            args.archive = store.count("stories")
        # the day after its last, or now where that is still to come (a future date is stored as today's)
        tonight = min(datetime.fromisoformat(last) + timedelta(days=1), datetime.now(timezone.utc).replace(microsecond=0))
        archive, new = [], pairs(args.new, len(rows), random.Random(int(tonight.timestamp())))
    else:
        picks = pairs(args.archive + args.new, len(rows), rng)
        archive, new = picks[:args.archive], picks[args.archive:]
        tonight = datetime.now(timezone.utc).replace(hour=1, minute=0, second=0, microsecond=0)
    work = args.reuse or args.keep or Path(tempfile.mkdtemp(prefix="pulse-scale-"))
    config, data, feeds = work / "config", work / "data", work / "feeds"
    for d in (config, data, feeds):
        d.mkdir(parents=True, exist_ok=True)
    (feeds / "tonight.xml").write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Tonight</title>'
                                       "</channel></rss>", "utf-8")
    server, port = serve(feeds)
    brief = f"\n[brief]\nworkers = {args.workers}\n" if args.workers else ""
    weekly = f'\n[digest]\nweekly_day = "{args.weekly_day}"\n' if args.weekly_day else ""
    (config / "pulse.toml").write_text(f'model = "{args.model}"\n{brief}{weekly}', "utf-8")
    (config / "sources.toml").write_text(f'[[source]]\nname = "tonight"\nkind = "rss"\n'
                                         f'url = "http://127.0.0.1:{port}/tonight.xml"\n', "utf-8")
    t = time.perf_counter()
    if args.setup_only and not args.keep:
        sys.exit("--setup-only needs --keep")
    if args.reuse and args.as_built:
        setup = {}
    elif args.reuse:
        setup = remark(data / "pulse.db", args.model)
    elif args.fast_setup:
        from scale_archive import fast_build, settle_briefs

        setup = fast_build(data / "pulse.db", rows, vectors, archive, args.new, tonight, args.model, args.jobs)
        setup.update(settle_briefs(data / "pulse.db", args.model))
        print("setup: " + ", ".join(f"{k} {v:,.1f}" for k, v in setup.items()), flush=True)
    else:
        setup = build_archive(data / "pulse.db", rows, vectors, archive, args.new, tonight, args.model)
    if args.setup_only:
        server.shutdown()
        print(f"setup only: {time.perf_counter() - t:,.1f} s; kept: {work}")
        return
    # one night with nothing new first (as after last night's run: pages and the run report exist)
    setup["first night (nothing new)"], quiet_peaks = pulse(config, data, "run", profile=args.profile_quiet)
    quiet = last_run(data / "pulse.db")
    print(f"first night, nothing new, s: {night_line(quiet)}; peak RSS {max(p['rss'] for p in quiet_peaks.values()):,.0f} MB",
          flush=True)
    for name, stage in quiet["stages"].items():
        if stage_parts(stage):
            print(f"  {name}: {stage_parts(stage)}", flush=True)
    setup["all"] = time.perf_counter() - t
    (feeds / "tonight.xml").write_text(feed(rows, new, tonight), "utf-8")
    wall, peaks = pulse(config, data, "run", profile=args.profile)
    report = last_run(data / "pulse.db")
    server.shutdown()
    stories = report["stages"]["ingest"].get("stories", args.new)
    night = sum(s.get("ms", 0) for s in report["stages"].values()) / 1000
    counts = ("clusters", "threads", "largest cluster", "largest thread", "clusters in threads of 2+")
    print(f"archive {args.archive:,} stories ({len(rows):,} real stories paired), tonight {args.new:,} "
          f"({stories:,} segmented), model {args.model}; setup: " +
          ", ".join(f"{k} {v:,.1f}{'' if k in counts else ' s'}" for k, v in setup.items()))
    out = []
    for name, stage in report["stages"].items():
        seconds = stage.get("ms", 0) / 1000
        mem = peaks.get(name, {})
        out.append([name, seconds, f"{stories / seconds:,.0f}" if seconds and name in ("ingest", "embed", "cluster")
                    else "-", f"{100 * seconds / night:.0f}%" if night else "-",
                    f"{mem.get('rss', float('nan')):,.0f} / {mem.get('tree', float('nan')):,.0f}",
                    f"{mem.get('gpu', float('nan')):,.0f}", stage_parts(stage)])
    out.append(["all stages", night, f"{stories / night:,.0f}" if night else "-", "100%",
                (f"{max((p['rss'] for p in peaks.values()), default=0):,.0f} / "
                 f"{max((p['tree'] for p in peaks.values()), default=0):,.0f}"),
                f"{max((p['gpu'] for p in peaks.values()), default=0):,.0f}", ""])
    out.append(["process (wall)", wall, "-", "-", "", "", "includes start-up and the report"])
    print(table(["stage", "s", "stories/s", "share", "peak RSS / tree MB", "GPU MB", "parts"], out))
    cl = report["stages"].get("cluster", {})
    print("cluster stage: " + ", ".join(f"{k} {cl[k]}" for k in ("stories", "clusters_new", "clusters_grown",
                                                              "threads_new", "threads_extended", "related") if k in cl)
          + f"; brief stage: {report['stages'].get('brief', {}).get('briefed', '-')} briefs")
    if args.report:
        args.report.write_text(json.dumps({"setup": setup, "nothing new": quiet, "night": report, "peaks": peaks,
                                           "wall": wall}, indent=1, default=str), "utf-8")
    goal = 60 if args.new <= 500 else 10
    print(f"goal (issue 29): <= {goal} s for this night; stages sum to {night:.1f} s, the process took {wall:.1f} s")
    if not (args.keep or args.reuse):
        import shutil

        shutil.rmtree(work, ignore_errors=True)
    else:
        print(f"kept: {work} ({json.dumps({'config': str(config), 'data': str(data)})})")


if __name__ == "__main__":
    main()
