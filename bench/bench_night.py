"""The whole night, stage by stage, on real newsletters: what each stage costs and against what.

    python bench/bench_night.py [--data ../shared/data] [--cut 2023-05-01] [--workers N] [--model PATH] [--nights N]

The feeds in --data (RSS files) are split at --cut: night 1 ingests every issue published before it (the
archive), night 2 the rest (tonight's new stories), night 3 nothing new. Each night is `pulse run` in a
fresh process, as cron runs it; its stage times come from the run report. Per stage: seconds, items/s and
share of the night, with the peer measured in this same process where one exists:
- embed: `Embedder.encode` on the same texts with the model already loaded (the engine's throughput; the
  stage's own time includes loading the model, reported apart);
- cluster: `gpu.topk` of the night's vectors against the archive's (the floor the stage's Python sits on);
- brief: the same briefs rebuilt with one worker and with --workers (the speed-up over cores).
`--nights 1` stops after the archive night (the peers then take its newest 1,000 stories as the night's).
Night 3 shows what a night with nothing new costs (unchanged entries skipped before parsing). Between
nights, what was first seen is moved a day back, so each night is a new day's as under cron (otherwise
tonight's digest would list again everything that arrived earlier the same day).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from email.utils import parsedate_to_datetime
from pathlib import Path

from common import table

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))


def split_feed(xml: str, cut: str) -> tuple[str, int, int]:
    """The feed without the items published on or after `cut`, and how many items each side has."""
    items = list(re.finditer(r"<item>.*?</item>\s*", xml, re.S))
    kept, late = [], 0
    for m in items:
        date = re.search(r"<pubDate>(.*?)</pubDate>", m.group(0), re.S)
        day = parsedate_to_datetime(date.group(1).strip()).date().isoformat() if date else "0000"
        if day >= cut:
            late += 1
        else:
            kept.append(m.group(0))
    if not items:
        return xml, 0, 0
    head, tail = xml[:items[0].start()], xml[items[-1].end():]
    return head + "".join(kept) + tail, len(kept), late


def pulse(config: Path, data: Path, *args: str) -> float:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "pipeline.cli", "--config-dir", str(config), "--data-dir",
                          str(data), *args], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"pulse {' '.join(args)} failed ({out.returncode}): {out.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - started


def last_run(db: Path) -> dict:
    from pipeline.store import Store

    with Store(db) as store:
        return json.loads(store.runs(1)[0]["report"])


def stage_rows(report: dict, wall: float, counts: dict[str, float]) -> list[list[object]]:
    total = sum(v.get("ms", 0) for v in report["stages"].values()) / 1000
    rows = []
    for name, stage in report["stages"].items():
        seconds = stage.get("ms", 0) / 1000
        n = counts.get(name)
        rows.append([name, seconds, f"{n / seconds:,.0f}" if n and seconds else "-",
                     f"{100 * seconds / total:.0f}%" if total else "-"])
    rows.append(["all stages", total, "-", "100%"])
    rows.append(["process (wall)", wall, "-", "-"])
    return rows


def stage_parts(report: dict) -> str:
    """A stage's parts in seconds, as its report gives them (the brief stage: the main process's write,
    embed, waiting and starting the workers, and the workers' summed read and build time; the embed stage:
    model load and encoding)."""
    return ", ".join(f"{k[:-3].replace('_', ' ')} {report[k] / 1000:.1f}" for k in report
                     if k.endswith("_ms") and k != "ms")


def peers(db: Path, cut: str, model: str, workers: int, out: Path) -> list[list[object]]:
    """Each peer timed on this night's archive, in this process."""
    import dataclasses


    import gpu
    from outputs.brief_stage import Briefer, brief_clusters
    from outputs.render import Templates
    from pipeline.embed import Embedder, story_text
    from pipeline.embed_stage import load_vectors
    from pipeline.store import Store

    rows = []
    with Store(db) as store:
        new = [dict(r) for r in store.db.query(
            "SELECT s.id, s.title, s.text FROM stories s JOIN issues i ON i.id = s.issue_id "
            "WHERE COALESCE(s.published, i.published) >= ?", [cut])] or [dict(r) for r in store.db.query(
            "SELECT s.id, s.title, s.text FROM stories s JOIN issues i ON i.id = s.issue_id "
            "ORDER BY COALESCE(s.published, i.published) DESC LIMIT 1000")]  # --nights 1: the newest
        ids, vectors = load_vectors(store)
    t = time.perf_counter()
    embedder = Embedder(model=model).load()
    load = time.perf_counter() - t
    texts = [story_text(r["title"], r["text"]) for r in new]
    embedder.encode(texts[:64])
    t = time.perf_counter()
    embedder.encode(texts)
    encode = time.perf_counter() - t
    rows.append(["embed: model load", load, "-"])
    rows.append(["embed: Embedder.encode, loaded", encode, f"{len(texts) / encode:,.0f} texts/s"])
    row_of = {sid: i for i, sid in enumerate(ids)}
    night = [row_of[r["id"]] for r in new if r["id"] in row_of]
    backend = "cupy" if gpu.cupy_available() else "numpy"
    corpus = gpu.prepare(vectors, backend=backend)
    queries = vectors[night]
    if backend == "cupy":
        import cupy as cp

        queries = cp.asarray(queries)
    gpu.topk(queries, corpus, 20, backend=backend)
    t = time.perf_counter()
    gpu.topk(queries, corpus, 20, backend=backend)
    if backend == "cupy":
        cp.cuda.Device().synchronize()
    topk = time.perf_counter() - t
    rows.append([f"cluster: gpu.topk {len(night)} x {len(ids)} ({backend})", topk, "-"])
    briefer = Briefer(Templates(), embedder.encode)
    timings = {}
    for n in sorted({1, workers}):
        copy = out / f"briefs-{n}.db"
        shutil.copy(db, copy)
        with Store(copy) as store:
            store.db.execute("DELETE FROM briefs WHERE cluster_id IN (SELECT cluster_id FROM briefs ORDER BY "
                             "cluster_id LIMIT 2000)")
            t = time.perf_counter()
            report = brief_clusters(store, dataclasses.replace(briefer, workers=n), out / f"pages-{n}")
            timings[n] = (time.perf_counter() - t, report["briefed"], report["workers"], report)
    for n, (seconds, briefed, used, report) in timings.items():
        speedup = timings[1][0] / seconds
        main = stage_parts(report)
        rows.append([f"brief: {briefed} briefs, {used} worker(s) (main process s: {main})", seconds,
                     f"{briefed / seconds:,.1f} briefs/s, {speedup:.2f}x ({speedup / used:.2f} per worker)"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--cut", default="2023-05-01", help="issues published on or after this day are tonight's")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--model", default="default")
    ap.add_argument("--nights", type=int, default=3, choices=(1, 2, 3), help="archive, tonight, nothing new")
    ap.add_argument("--keep", type=Path, help="keep the archive here (default: a temporary folder, removed)")
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="pulse-night-"))
    work.mkdir(parents=True, exist_ok=True)
    config, data = work / "config", work / "data"
    for d in (config, data, work / "archive", work / "full"):
        d.mkdir(exist_ok=True)
    os.environ.setdefault("PULSE_CACHE_DIR", str(work / "cache"))
    sources, split = [], []
    for feed in sorted(args.data.glob("*.xml")):
        xml = feed.read_text("utf-8")
        trimmed, before, after = split_feed(xml, args.cut)
        (work / "archive" / feed.name).write_text(trimmed, "utf-8")
        (work / "full" / feed.name).write_text(xml, "utf-8")
        name = re.sub(r"[^a-z0-9-]", "-", feed.stem.lower())
        sources.append(f'[[source]]\nname = "{name}"\nkind = "rss"\nurl = "{work / "archive" / feed.name}"\n')
        split.append([feed.name, before, after])
    (config / "sources.toml").write_text("\n".join(sources), "utf-8")
    model_line = f'model = "{args.model}"\n' if args.model != "default" else ""
    (config / "pulse.toml").write_text(f"{model_line}[brief]\nworkers = {args.workers}\n", "utf-8")
    print(f"feeds split at {args.cut} (items before / on or after):")
    print(table(["feed", "archive", "tonight"], split), flush=True)
    for night in ("archive", "tonight", "nothing new")[:args.nights]:  # each night's table as soon as it is done
        if night == "tonight":
            (config / "sources.toml").write_text("\n".join(sources).replace(f"{work / 'archive'}", f"{work / 'full'}"),
                                                 "utf-8")
        wall = pulse(config, data, "run")
        report = last_run(data / "pulse.db")
        st = report["stages"]
        counts = {"ingest": st.get("ingest", {}).get("stories", 0), "embed": st.get("embed", {}).get("embedded", 0),
                  "brief": st.get("brief", {}).get("briefed", 0)}
        counts["cluster"] = counts["embed"]
        skipped = sum(s.get("issues_skipped", 0) for s in st.get("ingest", {}).get("sources", []))
        load = st.get("embed", {}).get("load_ms")
        print(f"\nnight: {night} ({counts['ingest']} new stories, {counts['embed']} embedded"
              f"{f' after a {load / 1000:.1f} s model load' if load else ''}, {counts['brief']} briefs with "
              f"{st.get('brief', {}).get('workers', 1)} worker(s), {skipped} unchanged issues skipped before "
              f"parsing; {os.cpu_count()} cores)")
        print(table(["stage", "seconds", "items/s", "share"], stage_rows(report, wall, counts)), flush=True)
        for name, result in st.items():  # where each stage's time went, where it says
            if isinstance(result, dict) and any(k.endswith("_ms") and k != "ms" for k in result):
                print(f"{name} stage, s: {stage_parts(result)}", flush=True)
        age(data / "pulse.db")
    print("\npeers, same machine, this archive:")
    print(table(["peer", "seconds", "rate"], peers(data / "pulse.db", args.cut, args.model, args.workers, work)))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def age(db: Path) -> None:
    """Make what Pulse saw tonight a day older, so that the next night (run minutes later) is a new day's, as
    under cron: first sight of issues and the night's digest times move back by a day."""
    import sqlite3

    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE issues SET first_seen = strftime('%Y-%m-%dT%H:%M:%S+00:00', first_seen, '-1 day')")
    conn.close()


if __name__ == "__main__":
    main()
