"""`pulse`: the command line. Parses options, calls `pipeline.app` (or a library function), prints.

Errors a user can cause print one line on stderr and exit non-zero;
`--verbose` shows the traceback.
"""
from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import sys
import tomllib
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from sources import SourceConfig, SourceError
from sources.urls import is_local, local_path

from . import nightly, searching
from .config import ConfigError, Paths, Settings
from .embed import EmbedError
from .lazy import lazy
from .scaleout import ScaleOutError
from .search import IMPACTS, MAX_LIMIT, MODES, Filters, SearchError
from .store import ModelMismatch, SchemaError, Store

if TYPE_CHECKING:
    from sources.fetch import Fetcher

    from .ingest import IngestReport

# what a night, a source or a page needs loads on first use: a cold `pulse search` imports none of it
app = lazy("pipeline.app")
views = lazy("pipeline.views")
watch_items = lazy("outputs.watch")
sources_config = lazy("sources.config")

console = Console()
err = Console(stderr=True)
USER_ERRORS = (SourceError, ConfigError, SchemaError, ModelMismatch, EmbedError, SearchError, ScaleOutError,
               click.BadParameter, OSError, ValueError)


class PulseGroup(click.Group):
    """Turns user-facing exceptions into one line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except USER_ERRORS as exc:
            if ctx.obj and ctx.obj.get("verbose"):
                raise
            one_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            err.print(Text.assemble(("error:", "red"), " ", one_line), soft_wrap=True, highlight=False)
            sys.exit(2)


def _ctx(ctx: click.Context, sample: bool = False) -> tuple[Paths, Settings]:
    """Paths and settings; with `sample`, the sample archive's paths (kept apart from real subscriptions)."""
    paths = ctx.obj["paths"]
    return (paths.sample() if sample else paths), ctx.obj["settings"]


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@click.group(cls=PulseGroup)
@click.option("--config-dir", type=click.Path(file_okay=False), help="Config directory (sources.toml, pulse.toml).")
@click.option("--data-dir", type=click.Path(file_okay=False), help="Data directory (pulse.db, digests).")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks.")
@click.version_option(package_name="pulse-digest")
@click.pass_context
def main(ctx: click.Context, config_dir: str | None, data_dir: str | None, verbose: bool) -> None:
    """Pulse reads your newsletters every night and tells you what matters."""
    paths = Paths.resolve(config_dir, data_dir)
    ctx.obj = {"paths": paths, "settings": None, "verbose": verbose}
    ctx.obj["settings"] = Settings.load(paths.settings_file)  # typed and checked: a bad key fails every command here


# ---------------------------------------------------------------------- run
def _log_to_stderr() -> None:
    """A line per stage on stderr (cron mails it or the wrapper appends it to the log; journald keeps it)."""
    logger = logging.getLogger("pulse")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s pulse %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%S%z"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


@contextlib.contextmanager
def _progress(label: str, quiet: bool = False) -> Iterator[app.Advance]:
    """A rich progress bar on stderr, and the callback that drives it."""
    from rich.progress import Progress

    progress = Progress(console=err, transient=True, disable=quiet)
    task = progress.add_task(label, total=None)
    with progress:
        yield lambda done, total: progress.update(task, completed=done, total=total)


@main.command()
@click.option("--sample", is_flag=True, help="Run on Pulse's bundled sample newsletters (offline).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.option("--email", is_flag=True, help="E-mail the night's digest (configure [email] in pulse.toml).")
@click.pass_context
def run(ctx: click.Context, sample: bool, as_json: bool, email: bool) -> None:
    """The nightly job: ingest, segment, embed, cluster, brief, digest (and e-mail), under a lock.

    Exit codes: 0 all good; 3 some sources failed; 4 nothing could be done; 75 another run is going."""
    paths, settings = _ctx(ctx, sample)
    first = app.ingest_first(app.source_configs(paths, sample), settings)
    _night(paths, settings, first, as_json=as_json, email=email)


@main.command()
@click.option("--source", "names", multiple=True, help="Only this source (repeat for more); default all.")
@click.option("--sample", is_flag=True, help="The bundled sample archive.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@click.pass_context
def resegment(ctx: click.Context, names: tuple[str, ...], sample: bool, as_json: bool) -> None:
    """Re-split stored issues with the current segmenters (no fetching), then redo only what changed."""
    paths, settings = _ctx(ctx, sample)
    first = app.resegment_first(app.source_configs(paths, sample), names)
    _night(paths, settings, first, as_json=as_json)


def _night(paths: Paths, settings: Settings, first: app.Stage, *, as_json: bool, email: bool = False) -> None:
    """Run the night after `first`, print its report and exit with its code."""
    _log_to_stderr()
    try:
        result = app.run_night(paths, settings, first, email=email,
                               progress=lambda label: _progress(label, quiet=as_json))
    except nightly.RunLocked as exc:
        err.print(f"[yellow]busy:[/yellow] {exc}", highlight=False)
        sys.exit(nightly.EXIT_LOCKED)
    except sqlite3.Error as exc:  # cannot even open or record the run: locked by another program, disk full ...
        err.print(f"[red]error:[/red] database {paths.db_path}: {exc}", highlight=False)
        sys.exit(nightly.EXIT_NOTHING)
    if as_json:
        _emit_json(result.to_dict())
    else:
        _print_run(result.report, result.totals, paths.db_path, result.ingested)
    sys.exit(result.report.exit_code)


def _print_run(report: nightly.RunReport, totals: dict[str, int], db: Path, ingested: IngestReport | None) -> None:
    st = report.stages
    if ingested is not None:
        _print_ingest(ingested, totals, db)
    if "embed" in st and "error" not in st["embed"]:
        console.print(f"embedded {st['embed']['embedded']} stories with {st['embed']['model']} on "
                      f"{st['embed']['device']} ({st['embed']['total']} vectors stored)", highlight=False)
    if "cluster" in st and "error" not in st["cluster"]:
        c = st["cluster"]
        console.print(f"clustered {c['stories']} stories: {c['clusters_new']} new clusters, {c['clusters_grown']} "
                      f"grown; threads {c['threads_new']} new, {c['threads_extended']} extended", highlight=False)
    if "digest" in st and "error" not in st["digest"]:
        b, d = st["brief"], st["digest"]
        days = f" (and {d['days'] - 1} earlier publication days)" if d.get("days", 1) > 1 else ""
        console.print(f"briefed {b['briefed']} clusters ({b['total']} in all); digest of {d['date']}: "
                      f"{d['clusters']} stories, {d['top']} top -> {d['path']}{days}", highlight=False)
        if "llm" in b and b["llm"]["fell_back"]:
            err.print(f"[yellow]warning:[/yellow] {b['llm']['generator']} fell back to template text for "
                      f"{b['llm']['fell_back']} briefs: {b['llm']['reasons']}", highlight=False)
    if "email" in st and "error" not in st["email"]:
        e = st["email"]
        console.print(f"e-mailed the digest to {', '.join(e['to'])}" if e["sent"] else
                      f"digest not e-mailed: {e['reason']}", highlight=False)
    for name, message in report.errors.items():
        if not name.startswith("source:"):
            err.print(f"[red]error:[/red] stage {name}: {message}", highlight=False)
    console.print(f"run {report.id}: {report.status} (exit {report.exit_code})", highlight=False)


def _print_ingest(report: IngestReport, totals: dict[str, int], db: Path) -> None:
    table = Table(title="Ingest")
    for col in ("source", "status", "new", "updated", "stories", "ms"):
        table.add_column(col, justify="right" if col in ("new", "updated", "stories", "ms") else "left")
    for s in report.sources:
        status = "[red]" + (s.error or "failed") + "[/red]" if not s.ok else ("not modified" if s.not_modified else "ok")
        table.add_row(s.name, status, str(s.issues_new), str(s.issues_updated), str(s.stories), str(s.ms))
    console.print(table)
    console.print(f"sources {len(report.sources)} · issues {totals['issues']} · stories {totals['stories']} · "
                  f"errors {len(report.failed)} · database {db}", highlight=False)
    for line in report.as_dict()["warnings"]:
        err.print(Text.assemble(("warning:", "yellow"), " ", line), soft_wrap=True, highlight=False)


CLUSTER_HELP = ("Run on a Dask cluster: a scheduler's address (tcp://host:8786) or 'local' (workers on this "
                "machine; one per GPU with dask-cuda). Needs pip install 'pulse-digest[cluster]'.")


@main.command()
@click.option("--rebuild", is_flag=True, help="Re-embed everything (needed after changing the model).")
@click.option("--cluster", metavar="ADDRESS|local", help=CLUSTER_HELP)
@click.option("--sample", is_flag=True, help="Work on the sample archive.")
@click.pass_context
def embed(ctx: click.Context, rebuild: bool, cluster: str | None, sample: bool) -> None:
    """Embed new or changed stories (the model comes from pulse.toml; default: bundled all-MiniLM-L6-v2)."""
    paths, settings = _ctx(ctx, sample)
    result = app.embed_archive(paths, settings, rebuild=rebuild, cluster=cluster, progress=_progress)
    console.print(f"embedded {result['embedded']} stories with {result['model']} on {result['device']} "
                  f"({result['total']} vectors stored)", highlight=False)


# ---------------------------------------------------------------------- stories and threads
def _view(ctx: click.Context, sample: bool, make: Callable[[Store, str], dict | None], key: str, missing: str) -> dict:
    """A read-side view of one story or thread, or a usage error naming what was not found."""
    paths, _ = _ctx(ctx, sample)
    with Store(paths.db_path) as store:
        view = make(store, key)
    if not view or ("timeline" in view and not view["timeline"]):
        raise click.BadParameter(f"{missing} {key!r}")
    return view


@main.command()
@click.argument("story_id")
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON.")
@click.option("--sample", is_flag=True, help="Look in the sample archive.")
@click.pass_context
def story(ctx: click.Context, story_id: str, as_json: bool, sample: bool) -> None:
    """One story with its cluster, thread and Cited By (STORY_ID may be a unique prefix)."""
    view = _view(ctx, sample, views.story_view, story_id, "no single story matches")
    if as_json:
        _emit_json(view)
        return
    console.print(f"[bold]{view['title']}[/bold]\n{view['source']} · {view['date']} · {view['id']}")
    console.print(f"cluster {view['cluster_id']} ({view['cluster_size']} stories) · thread {view['thread_id']}"
                  f"{' on ' + view['thread_subject'] if view.get('thread_subject') else ''}", highlight=False)
    if view["joined_because"]:
        console.print(f"in its cluster because {view['joined_because']}", highlight=False)
    if view["first_mention"] and view["first_mention"]["story_id"] != view["id"]:
        console.print(f"first mentioned by {view['first_mention']['source']} on {view['first_mention']['date']} "
                      f"({view['lag_days']} days earlier)", highlight=False)
    table = Table(title="Cited By")
    for col in ("date", "source", "relation", "lag days", "title"):
        table.add_column(col)
    for c in view["cited_by"]:
        table.add_row(c["date"][:10], c["source"], c["relation"], f"{c['lag_days']:+g}", c["title"])
    console.print(table)
    if view["related"]:
        rel = Table(title="Related (other news on the same subject)")
        for col in ("date", "source", "why", "title"):
            rel.add_column(col)
        for r in view["related"]:
            rel.add_row(r["date"][:10], r["source"], r["reason"], r["title"])
        console.print(rel)


@main.command()
@click.argument("thread_id")
@click.option("--json", "as_json", is_flag=True, help="Print the thread as JSON.")
@click.option("--sample", is_flag=True, help="Look in the sample archive.")
@click.pass_context
def thread(ctx: click.Context, thread_id: str, as_json: bool, sample: bool) -> None:
    """One thread: its subject and timeline, with what changed at each step."""
    view = _view(ctx, sample, views.thread_view, thread_id, "no thread")
    if as_json:
        _emit_json(view)
        return
    steps = view["timeline"]
    console.print(f"[bold]{view['subject'] or steps[0]['title']}[/bold]: {len(steps)} step(s), "
                  f"{steps[0]['first_date'][:10]} to {steps[-1]['last_date'][:10]}", highlight=False)
    table = Table()
    for col in ("date", "sources", "what changed", "title"):
        table.add_column(col)
    for c in steps:
        change = ", ".join(c["new_names"] + c["new_numbers"]) + (f" ({c['claim']})" if c["claim"] else "")
        table.add_row(c["first_date"][:10], ", ".join(c["sources"]), change or "-", c["title"])
    console.print(table)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the counts as JSON.")
@click.option("--sample", is_flag=True, help="Work on the sample archive.")
@click.pass_context
def rethread(ctx: click.Context, as_json: bool, sample: bool) -> None:
    """Rebuild every thread of the archive with the current rules (clusters stay; ids stay where threads do)."""
    paths, settings = _ctx(ctx, sample)
    result = app.rethread(paths, settings)
    if as_json:
        _emit_json(result)
    else:
        console.print(f"rethreaded {result['clusters']} clusters into {result['threads']} threads "
                      f"({result['changed']} clusters moved)", highlight=False)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print threads (with timelines) as JSON.")
@click.option("--days", default=30, show_default=True, help="Active: moved within this many days of the newest story.")
@click.option("--sample", is_flag=True, help="Look in the sample archive.")
@click.pass_context
def threads(ctx: click.Context, as_json: bool, days: int, sample: bool) -> None:
    """Active threads: subjects followed across issues and weeks."""
    paths, _ = _ctx(ctx, sample)
    with Store(paths.db_path) as store:
        newest, rows = views.active_threads(store, days)
        if as_json:
            _emit_json([{**r, **views.thread_view(store, r["id"])} for r in rows])
            return
    table = Table(title=f"Threads active in the {days} days to {newest[:10] if newest else '-'} "
                        "(size: clusters/stories/sources)")
    table.add_column("thread", no_wrap=True, min_width=16)  # whole: `pulse thread ID` takes it
    table.add_column("subject", no_wrap=True, min_width=8, max_width=20, overflow="ellipsis")
    table.add_column("since", no_wrap=True, min_width=15)
    table.add_column("size", no_wrap=True, justify="right", min_width=6)  # clusters/stories/sources
    table.add_column("first story", overflow="ellipsis", no_wrap=True, max_width=max(10, console.width - 80))
    for r in rows:
        span = (datetime.fromisoformat(r["last_date"]) - datetime.fromisoformat(r["first_date"])).days
        table.add_row(r["id"], r["subject"] or "-", f"{r['first_date'][:10]} +{span}d",
                      f"{r['clusters']}/{r['stories']}/{r['sources']}", r["title"])
    console.print(table)


@main.command()
@click.option("--open", "state", flag_value="open", help="Only items still open.")
@click.option("--resolved", "state", flag_value="resolved", help="Only items a later story resolved.")
@click.option("--expired", "state", flag_value="expired", help="Only items whose horizon passed unresolved.")
@click.option("--as-of", "as_of", help="Status at the end of this day (YYYY-MM-DD); default: the archive's newest day.")
@click.option("--limit", default=50, show_default=True, help="Most items to print (counts cover all).")
@click.option("--json", "as_json", is_flag=True, help="Print counts and items as JSON.")
@click.option("--sample", is_flag=True, help="Look in the sample archive.")
@click.pass_context
def watch(ctx: click.Context, state: str | None, as_of: str | None, limit: int, as_json: bool, sample: bool) -> None:
    """Watch-for items of the briefs: what each said to watch for, and whether a later story resolved it."""
    paths, _ = _ctx(ctx, sample)
    if as_of:
        try:
            as_of = date.fromisoformat(as_of).isoformat()
        except ValueError:
            raise click.BadParameter(f"{as_of!r} is not a date like 2023-10-02", param_hint="--as-of") from None
    with Store(paths.db_path) as store:
        day = as_of or watch_items.archive_day(store)
        items = [w for w in watch_items.listed(store, store.watch_items(), day) if w["opened"][:10] <= day]
    counts = {"opened": len(items), **{k: sum(w["status"] == k for w in items) for k in ("open", "resolved", "expired")}}
    chosen = [w for w in items if state is None or w["status"] == state]
    chosen.sort(key=lambda w: (w.get("resolved_date") or w["opened"], w["id"]), reverse=True)
    if as_json:
        _emit_json({"as_of": day, "counts": counts, "items": chosen[:limit]})
        return
    table = Table(title=f"Watch-for items as of {day}: {counts['opened']} opened, {counts['open']} open, "
                        f"{counts['resolved']} resolved, {counts['expired']} expired")
    table.add_column("status", no_wrap=True)
    table.add_column("since", no_wrap=True)
    table.add_column("watch for", overflow="fold", max_width=max(20, console.width // 2 - 10))
    table.add_column("resolved by", overflow="fold")
    for w in chosen[:limit]:
        by = (f"{w['resolved_title']} ({w['resolved_source']}, after {w['days']} d: {w['evidence']})"
              if w["status"] == "resolved" else f"until {w['expires']}" if w["status"] == "open" else "-")
        table.add_row(w["status"], w["opened"][:10], w["text"], by)
    console.print(table)


@main.command()
@click.option("--date", "day", help="The publication day (YYYY-MM-DD, UTC); default: today.")
@click.option("--week", help="An ISO week (2023-W40): write its weekly digest instead.")
@click.option("--sample", is_flag=True, help="Work on the sample archive.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
@click.pass_context
def digest(ctx: click.Context, day: str | None, week: str | None, sample: bool, as_json: bool) -> None:
    """Write (or rebuild) one publication day's digest, as the archive knew it that day, or one week's
    (--week); refresh the Atom feed."""
    if day and week:
        raise click.UsageError("give --date or --week, not both")
    paths, settings = _ctx(ctx, sample)
    written = app.digest_of(paths, settings, day, week)
    if as_json:
        _emit_json(written)
    else:
        label = f"week {written['week']}" if week else written["date"]
        console.print(f"digest of {label}: {written['clusters']} stories, {written['top']} top, "
                      f"{written['threads_moved']} threads moved -> {written['path']}", highlight=False)


@main.command()
@click.argument("story_id")
@click.option("--json", "as_json", is_flag=True, help="Print the brief's fields as JSON.")
@click.option("--sample", is_flag=True, help="Look in the sample archive.")
@click.pass_context
def brief(ctx: click.Context, story_id: str, as_json: bool, sample: bool) -> None:
    """The brief of a story's cluster (STORY_ID may be a unique prefix), as markdown or JSON."""
    paths, settings = _ctx(ctx, sample)
    found = app.brief_of(paths, settings, story_id)
    if found is None:
        raise click.BadParameter(f"no single clustered story matches {story_id!r} (run `pulse run` first)")
    b, briefer, watch = found
    if as_json:
        _emit_json({**b.to_dict(), "watch_items": watch["watch"], "resolves": watch["resolves"]})
    else:
        click.echo(briefer.templates.page("brief.md.j2", b=b, **watch))


# ---------------------------------------------------------------------- operations
@main.command()
@click.option("--sample", is_flag=True, help="Check the sample archive's paths.")
@click.option("--offline", is_flag=True, help="Do not try to reach the sources.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def doctor(ctx: click.Context, sample: bool, offline: bool, as_json: bool) -> None:
    """Check the install: config, database writable, disk space, lock, model, GPU, sources reachable."""
    from . import doctor as checks

    paths, settings = _ctx(ctx, sample)
    results = checks.run_checks(paths, settings, sample=sample, offline=offline)
    if as_json:
        _emit_json([r.__dict__ for r in results])
    else:
        table = Table(title="pulse doctor")
        for col in ("check", "status", "detail"):
            table.add_column(col)
        colour = {"ok": "green", "warn": "yellow", "fail": "red"}
        for r in results:
            table.add_row(r.name, f"[{colour[r.status]}]{r.status}[/{colour[r.status]}]", r.detail)
        console.print(table)
    sys.exit(1 if any(r.status == "fail" for r in results) else 0)


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--sample", is_flag=True, help="Back up the sample archive.")
@click.option("--force", is_flag=True, help="Replace TARGET if it exists.")
@click.pass_context
def backup(ctx: click.Context, target: str, sample: bool, force: bool) -> None:
    """A consistent copy of the live database (SQLite's online backup API; safe while a run writes)."""
    paths, settings = _ctx(ctx, sample)
    dest = Path(target)
    if not paths.db_path.exists():
        raise click.BadParameter(f"no database at {paths.db_path}")
    if dest.exists() and not force:
        raise click.BadParameter(f"{dest} exists (use --force to replace it)")
    app.backup(paths, settings, dest)
    console.print(f"backed up {paths.db_path} -> {dest} ({dest.stat().st_size:,} bytes, integrity ok)",
                  highlight=False)


@main.command()
@click.option("--limit", default=10, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Whole reports as JSON.")
@click.option("--sample", is_flag=True)
@click.pass_context
def runs(ctx: click.Context, limit: int, as_json: bool, sample: bool) -> None:
    """The last nightly runs: status, exit code, per-stage times and errors."""
    paths, _ = _ctx(ctx, sample)
    with Store(paths.db_path) as store:
        rows = store.runs(limit)
    if as_json:
        _emit_json([{**r, "report": json.loads(r["report"]) if r["report"] else None} for r in rows])
        return
    table = Table(title="Runs")
    for col in ("id", "started", "status", "exit", "stages (ms)", "errors"):
        table.add_column(col)
    for r in rows:
        rep = json.loads(r["report"]) if r["report"] else {}
        stages = " ".join(f"{k}={v.get('ms')}" for k, v in rep.get("stages", {}).items())
        table.add_row(str(r["id"]), r["started"], r["status"], str(r["exit_code"]), stages,
                      "; ".join(f"{k}: {v}" for k, v in rep.get("errors", {}).items()))
    console.print(table)


# ---------------------------------------------------------------------- search and the web page
@main.command()
@click.argument("query")
@click.option("--mode", type=click.Choice(MODES), default="hybrid", show_default=True,
              help="keyword (FTS5 BM25), semantic (embeddings) or hybrid (both, rank-fused).")
@click.option("--limit", "-n", default=10, show_default=True, type=click.IntRange(1, MAX_LIMIT))
@click.option("--source", "sources", multiple=True, help="Only this source (repeatable).")
@click.option("--since", help="Only stories dated on or after (YYYY-MM-DD).")
@click.option("--until", help="Only stories dated on or before (YYYY-MM-DD).")
@click.option("--cluster", help="Only stories of this cluster.")
@click.option("--thread", help="Only stories of this thread.")
@click.option("--kind", "kinds", multiple=True,
              help="Only stories whose brief is of this kind: release, research, funding... (repeatable).")
@click.option("--impact", "impacts", multiple=True, type=click.Choice(IMPACTS),
              help="Only stories whose brief has this impact (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print results as JSON.")
@click.option("--sample", is_flag=True, help="Search the sample archive.")
@click.pass_context
def search(ctx: click.Context, query: str, mode: str, limit: int, sources: tuple[str, ...], since: str | None,
           until: str | None, cluster: str | None, thread: str | None, kinds: tuple[str, ...],
           impacts: tuple[str, ...], as_json: bool, sample: bool) -> None:
    """Search the archive: "exact phrase", word*, -word, a OR b, title:word."""
    paths, settings = _ctx(ctx, sample)
    searching.require_archive(paths, sample)
    results = searching.search(paths, settings, query, mode=mode, limit=limit,
                               filters=Filters(tuple(sources), since, until, cluster, thread, kinds, impacts))
    if as_json:
        _emit_json(results.to_dict())
        return
    if not results.hits:
        console.print(f"no stories match {query!r}", highlight=False)
        return
    for n, hit in enumerate(results.hits, 1):
        snippet = Text(hit.snippet, style="dim")
        for start, end in hit.highlights:
            snippet.stylize("bold yellow", start, end)
        size = f" · cluster of {hit.cluster_size}" if hit.cluster_size > 1 else ""
        brief = f" · {hit.kind}, {hit.impact}" if hit.kind and hit.impact else ""
        console.print(Text.assemble((f"{n:>2}. ", "bold"), (hit.title, "bold"),
                                    f"  {hit.source} · {hit.date[:10]}{size}{brief} · {hit.id}"))
        console.print(Text("    ").append(snippet))
        if hit.also:
            told = ", ".join(f"{a['source']} {a['date'][:10]} ({a['id']})" for a in hit.also[:4])
            more = f" and {len(hit.also) - 4} more" if len(hit.also) > 4 else ""
            console.print(Text(f"    also told by {told}{more}", style="dim"))
    extra = " (no story had every word; ranked stories with any of them)" if results.relaxed else ""
    load = f" (+{results.ms['load']:.0f} ms loading model and vectors)" if results.ms.get("load", 0) > 1 else ""
    console.print(f"{len(results.hits)} result{'' if len(results.hits) == 1 else 's'}, {results.mode}, {results.ms['total']:.0f} ms{load}{extra}",
                  style="dim", highlight=False)


def is_loopback(host: str) -> bool:
    """Whether `host` is reachable from this machine only (127.x, ::1, localhost)."""
    import ipaddress

    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (keep it local).")
@click.option("--port", default=8484, show_default=True, type=click.IntRange(0, 65535))
@click.option("--sample", is_flag=True, help="Serve the sample archive.")
@click.option("--workers", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads for searches and pages (first come, first served).")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.1, 600),
              help="Seconds a search or page may take before it answers 503.")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, sample: bool, workers: int, timeout: float) -> None:
    """The web page: search, story briefs, threads and digests (and a JSON API under /api/).

    Exit codes: 4 the archive cannot be read (truncated, not a database, no permission)."""
    import uvicorn

    paths, settings = _ctx(ctx, sample)
    searching.require_archive(paths, sample)
    try:
        app.check_servable(paths)
    except (sqlite3.Error, OSError) as exc:
        err.print(Text.assemble(("error:", "red"), f" cannot serve {paths.db_path}: ", str(exc).splitlines()[0]),
                  soft_wrap=True, highlight=False)
        sys.exit(4)
    if not is_loopback(host):
        err.print(Text.assemble(("warning:", "yellow"), f" listening on {host}, not only this machine: the web "
                                "page has no authentication, so anyone who can reach it can read the whole archive"),
                  soft_wrap=True, highlight=False)
    web = app.web_app(paths, settings, workers=workers, timeout=timeout)
    console.print(f"Pulse on http://{host}:{port}/ ({paths.db_path})", highlight=False)
    uvicorn.run(web, host=host, port=port, log_level="warning")


# ---------------------------------------------------------------------- backfill
@main.command()
@click.argument("source")
@click.option("--since", required=True, help="Earliest issue date to fetch (YYYY-MM-DD).")
@click.option("--cluster", metavar="ADDRESS|local", help=CLUSTER_HELP)
@click.pass_context
def backfill(ctx: click.Context, source: str, since: str, cluster: str | None) -> None:
    """Fetch a source's archive back to --since, not only its latest feed entries."""
    paths, settings = _ctx(ctx)
    try:
        when = datetime.fromisoformat(since).replace(tzinfo=timezone.utc)
    except ValueError:
        raise click.BadParameter(f"--since {since!r} is not a date like 2024-01-31") from None
    rep = app.backfill(paths, settings, source, when, cluster=cluster)
    console.print(f"{source}: {rep.issues_new} new issues, {rep.issues_updated} updated, "
                  f"{rep.stories} stories, {rep.fetched} documents fetched", highlight=False)


# ---------------------------------------------------------------------- sources
@main.group()
def sources() -> None:
    """Manage subscriptions (sources.toml)."""


@sources.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sources_list(ctx: click.Context, as_json: bool) -> None:
    """List sources with their fetch state."""
    paths, _ = _ctx(ctx.parent)
    rows = app.source_states(paths)
    if as_json:
        _emit_json(rows)
        return
    table = Table(title=f"Sources ({paths.sources_file}{'' if paths.sources_file.exists() else ', defaults'})")
    for col in ("name", "kind", "layout", "url", "last ok", "errors"):
        table.add_column(col)
    for r in rows:
        errors = f"{r['consecutive_errors']}: {r['last_error']}" if r["consecutive_errors"] else "0"
        table.add_row(r["name"], r["kind"], r["segmenter"], r["url"], r["last_ok"] or "never", errors)
    console.print(table)


@sources.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--kind", default="rss", show_default=True, help="Source kind (rss, importai, html).")
@click.option("--segmenter", help="The issue layout (default: detected from the feed).")
@click.option("--option", "-o", "options", multiple=True, help="key=value option, e.g. max_pages=5.")
@click.pass_context
def sources_add(ctx: click.Context, name: str, url: str, kind: str, segmenter: str | None,
                options: tuple[str, ...]) -> None:
    """Subscribe to a feed or archive page; the issue layout is detected from the feed unless given."""
    paths, settings = _ctx(ctx.parent)
    opts = _options(options)
    if segmenter:
        opts["segmenter"] = segmenter
    if "://" not in url and Path(url).expanduser().exists():
        url = str(Path(url).expanduser().resolve())  # a local feed the user names by hand
    existing = sources_config.load_sources(paths.sources_file)
    if any(s.name == name for s in existing):
        raise SourceError(f"a source named {name!r} exists already")
    cfg = sources_config.validate(SourceConfig(name=name, kind=kind, url=url, options=opts))
    sources_config.check_options(cfg)
    if is_local(cfg.url) and not local_path(cfg.url).is_file():
        raise SourceError(f"source {name!r}: {cfg.url} is not a regular file")
    _detect(cfg, app.fetcher_for(settings))
    sources_config.save_sources(paths.sources_file, [*existing, cfg])
    console.print(f"added {name} ({kind}) {url}", highlight=False)


@sources.command("set")
@click.argument("name")
@click.argument("options", nargs=-1, required=True)
@click.pass_context
def sources_set(ctx: click.Context, name: str, options: tuple[str, ...]) -> None:
    """Change a source's options, e.g. `pulse sources set importai segmenter=generic`."""
    paths, _ = _ctx(ctx.parent)
    existing = sources_config.load_sources(paths.sources_file)
    cfg = next((s for s in existing if s.name == name), None)
    if cfg is None:
        raise SourceError(f"no source named {name!r}")
    cfg.options.update(_options(options))
    sources_config.check_options(cfg)
    sources_config.save_sources(paths.sources_file, existing)
    console.print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in cfg.options.items()), highlight=False)


def _options(items: tuple[str, ...]) -> dict[str, Any]:
    opts = {}
    for item in items:
        if "=" not in item:
            raise click.BadParameter(f"option {item!r} must be key=value")
        key, value = item.split("=", 1)
        opts[key.strip()] = _option_value(value.strip())
    return opts


def _detect(cfg: SourceConfig, fetcher: Fetcher) -> None:
    """Pick the source's segmenter from its feed (unless chosen) and say which and why."""
    from sources.detect import detect_source

    found = detect_source(cfg, fetcher)
    if found is None:
        return
    cfg.options["segmenter"] = found.segmenter
    console.print(f"{cfg.name}: layout {found.segmenter} ({found.reason}); change it with "
                  f"`pulse sources set {cfg.name} segmenter=NAME`", highlight=False, soft_wrap=True)


def _option_value(text: str) -> Any:
    """A --option value as TOML reads it (5 is a number, true a boolean), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


@sources.command("remove")
@click.argument("name")
@click.pass_context
def sources_remove(ctx: click.Context, name: str) -> None:
    """Unsubscribe (stored issues stay in the archive)."""
    paths, _ = _ctx(ctx.parent)
    existing = sources_config.load_sources(paths.sources_file)
    kept = [s for s in existing if s.name != name]
    if len(kept) == len(existing):
        raise SourceError(f"no source named {name!r}")
    sources_config.save_sources(paths.sources_file, kept)
    console.print(f"removed {name}", highlight=False)


@sources.command("import")
@click.argument("opml", type=click.Path(exists=True, dir_okay=False))
@click.pass_context
def sources_import(ctx: click.Context, opml: str) -> None:
    """Import subscriptions from an OPML file exported by a feed reader."""
    paths, settings = _ctx(ctx.parent)
    existing = sources_config.load_sources(paths.sources_file)
    found, refused = sources_config.parse_opml(Path(opml).read_bytes())
    merged, added = sources_config.merge(existing, found)
    fetcher = app.fetcher_for(settings)
    for cfg in merged:
        if cfg.name in added:
            _detect(cfg, fetcher)
    sources_config.save_sources(paths.sources_file, merged)
    for reason in refused:
        err.print(Text.assemble(("refused:", "yellow"), " ", reason), soft_wrap=True, highlight=False)
    console.print(f"imported {len(added)} new source(s): {', '.join(added) or 'none'}", highlight=False)


if __name__ == "__main__":
    main()
