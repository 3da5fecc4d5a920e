"""Pulse as configured: pulse.toml turned into a fetcher, embedder, briefer and searcher, and the night's stages wired.

The one pipeline module (with `cli.py` above it) that reaches into `outputs/`: the brief, digest and
e-mail stages are built here, so any front end (the CLI, the web page, a scheduler) runs the same night.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, ContextManager, Iterator

from outputs import digest as digest_out
from outputs.brief import Brief
from outputs.brief_stage import Briefer, brief_clusters, default_audiences, inputs, load_brief, make_briefs
from outputs.brief_workers import prestart as prestart_workers
from outputs.email import EmailConfig, email_stage
from outputs.generate import LLMWriter, backend_from_config
from outputs.pages import pages_stage
from outputs.render import Templates
from outputs.watch import page_items
from outputs.watch_stage import watch_stage
from sources import SourceConfig, SourceError, make_source
from sources.config import load_sources
from sources.fetch import Fetcher, FetchPolicy

from . import nightly, onnx_model
from .cluster import ClusterConfig
from .cluster_stage import cluster_stories
from .cluster_stage import rethread as rethread_archive
from .config import ConfigError, Paths, Settings
from .embed import Embedder
from .embed_stage import embed_stories
from .furniture_stage import learn_furniture
from .ingest import IngestReport, SourceReport, ingest, ingest_source
from .resegment import resegment
from .samples import sample_sources
from .searching import make_embedder, make_searcher
from .store import Store, check_archive, integrity_of, now

Advance = Callable[[int, int], None]  # (done, total)
Progress = Callable[[str], ContextManager[Advance | None]]  # a progress display for a labelled step
Stage = tuple[str, Callable[[Store], Any]]


@contextlib.contextmanager
def no_progress(label: str) -> Iterator[None]:
    yield None


# ---------------------------------------------------------------------- configuration
def source_configs(paths: Paths, sample: bool = False) -> list[SourceConfig]:
    """The subscriptions: Pulse's bundled samples, or sources.toml."""
    return sample_sources() if sample else load_sources(paths.sources_file)


def fetcher_for(settings: Settings) -> Fetcher:
    return Fetcher(FetchPolicy(read_timeout=settings.fetch_timeout, retries=settings.fetch_retries,
                               max_bytes=settings.fetch_max_bytes, host_delay=settings.host_delay))


def _section(settings: Settings, name: str, defaults: dict[str, Any] | None = None) -> dict[str, Any]:
    """A [section] of pulse.toml as a dict of every key, checked at load (pipeline/config.py declares them).

    `defaults` is only a fallback for keys the section's schema lacks; the schema's own defaults win."""
    return {**(defaults or {}), **settings.section_dict(name)}


def cluster_config(settings: Settings) -> ClusterConfig:
    """[cluster] of pulse.toml (checked at load) over ClusterConfig's defaults."""
    try:
        return ClusterConfig.from_dict(settings.extra.get("cluster"))
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"pulse.toml: {exc}") from None


def digest_config(settings: Settings) -> dict[str, Any]:
    """[digest] of pulse.toml: max_items, base_url."""
    return _section(settings, "digest")


def email_config(settings: Settings) -> EmailConfig:
    """[email] of pulse.toml as an EmailConfig."""
    data = {k: v for k, v in (settings.extra.get("email") or {}).items() if k != "enabled"}
    try:
        return EmailConfig.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"pulse.toml: {exc}") from None


def brief_settings(settings: Settings) -> tuple[dict[str, Any], Any]:
    """[brief] of pulse.toml and the LLM backend it names (None: templates only); a bad one fails here."""
    # keys left unset (None) are dropped, so the backend's own fallbacks apply (openai: model "default")
    cfg = {k: v for k, v in _section(settings, "brief").items() if v is not None}
    try:
        return cfg, backend_from_config(cfg)
    except ValueError as exc:
        raise ConfigError(f"pulse.toml: {exc}") from None


MIN_CORES_FOR_WORKERS = 4  # on 2 cores, brief workers ran slower than one process (the model needs the cores)


def make_briefer(paths: Paths, settings: Settings, embedder: Embedder, brief: tuple | None = None) -> Briefer:
    """The brief stage's tools: templates (the user's copies win), the story model, audiences, the LLM if any."""
    cfg, backend = brief or brief_settings(settings)
    templates = Templates(paths.config_dir / "templates")
    audiences = default_audiences()
    if isinstance(cfg.get("audiences"), dict):
        audiences = {str(k): [v] if isinstance(v, str) else [str(d) for d in v] for k, v in cfg["audiences"].items()}
    writer = LLMWriter(backend, templates.house_words()) if backend else None
    return Briefer(templates, embedder.encode, audiences, writer, workers=brief_workers(cfg))


def brief_workers(cfg: dict[str, Any]) -> int:
    """How many processes build briefs: `[brief] workers`, else one per core where there are cores to spare
    (bench/RESULTS.md)."""
    cores = os.cpu_count() or 1
    return int(cfg.get("workers") or 0) or (cores if cores >= MIN_CORES_FOR_WORKERS else 1)


# ---------------------------------------------------------------------- the night
def ingest_first(configs: list[SourceConfig], settings: Settings) -> Stage:
    """The night's first stage when fetching: every source ingested."""
    return "ingest", lambda store: ingest(store, configs, fetcher_for(settings))


def resegment_first(configs: list[SourceConfig], names: tuple[str, ...] = ()) -> Stage:
    """The night's first stage without fetching: stored issues of `names` (default all) re-split."""
    unknown = sorted(set(names) - {c.name for c in configs})
    if unknown:
        raise SourceError(f"no source named {unknown[0]!r} (see `pulse sources list`)")
    chosen = [c for c in configs if not names or c.name in names]
    return "resegment", lambda store: resegment(store, chosen)


@dataclass
class NightResult:
    report: nightly.RunReport
    totals: dict[str, int]  # rows in the archive afterwards
    database: Path
    ingested: IngestReport | None = None  # the ingest stage's own report, when the night fetched

    def to_dict(self) -> dict[str, Any]:
        """The run report flat: run fields, then one key per stage, then the archive's totals."""
        return {"database": str(self.database), **{k: v for k, v in self.report.to_dict().items() if k != "stages"},
                **self.report.stages, "totals": self.totals}


def run_night(paths: Paths, settings: Settings, first: Stage, *, email: bool = False,
              progress: Progress = no_progress) -> NightResult:
    """`first` (ingest or resegment), then embed, cluster, brief, digest (and e-mail), under the lock.

    Raises ConfigError on a bad pulse.toml before any work, nightly.RunLocked when another run holds
    the lock, sqlite3.Error when the database cannot be opened or the run recorded; a stage's own
    failure is in the report (`nightly.run_stages`)."""
    digest_cfg = digest_config(settings)  # bad config fails before any work
    brief_cfg = brief_settings(settings)
    email_cfg = email_config(settings) if (email or settings.extra.get("email", {}).get("enabled")) else None
    lock = nightly.acquire(paths.data_dir)
    run_started = now()  # what this run brings is tonight's, if it reaches its digest after midnight too
    held: dict[str, Any] = {}
    if brief_workers(brief_cfg[0]) > 1 and brief_cfg[1] is None:
        prestart_workers()  # while this process is small: the model is not loaded yet

    def stage_first(store: Store) -> dict:
        result = first[1](store)
        held[first[0]] = result
        return result.as_dict() if hasattr(result, "as_dict") else result

    def stage_embed(store: Store) -> dict:
        held["embedder"] = make_embedder(settings)
        with progress("embedding") as advance:
            report = embed_stories(store, held["embedder"], progress=advance)
        t = time.perf_counter()
        twin = onnx_model.ensure(held["embedder"])  # the search's query encoder, exported once per model
        return {**report, **twin, "twin_ms": int((time.perf_counter() - t) * 1000)}

    def stage_brief(store: Store) -> dict:
        held["briefer"] = make_briefer(paths, settings, held["embedder"], brief_cfg)
        with progress("briefing") as advance:
            return brief_clusters(store, held["briefer"], paths.output_dir, progress=advance)

    def stage_watch(store: Store) -> dict:  # watch-for items of new briefs; what tonight's stories resolve
        return watch_stage(store, held["briefer"], paths.output_dir)

    def stage_digest(store: Store) -> dict:  # every publication day that arrived tonight; the newest is the night's
        started, mark = now(), store.issue_mark()
        # what arrived since the last run that wrote its digests (or since midnight): each day is written once
        last = store.last_stage_result("digest") or {}
        since = (last["started"], last.get("issue_mark", 2**62)) if last.get("started") else None
        held["digest"] = digest_out.write_night(store, held["briefer"], paths.output_dir, digest_out.Night.parse(None),
                                                max_items=int(digest_cfg["max_items"]), base_url=digest_cfg["base_url"],
                                                weekly_day=digest_cfg["weekly_day"], since=since,
                                                run_started=run_started)
        return {**held["digest"], "started": started, "issue_mark": mark}

    stages = [(first[0], stage_first), ("embed", stage_embed),
              ("cluster", lambda store: cluster_stories(store, cluster_config(settings))),
              ("brief", stage_brief), ("watch", stage_watch),
              ("pages", lambda store: pages_stage(store, held["briefer"].templates, paths.output_dir)),
              ("digest", stage_digest)]
    if email_cfg is not None:
        def stage_email(store: Store) -> dict:  # the night's digest; on the weekly day, the week's too
            sent = email_stage(store, email_cfg, held.get("digest", {}).get("date") or digest_out.Night.parse(None).date)
            today = digest_out.Night.parse(None)
            week = digest_out.weeks_to_write([], today, digest_cfg["weekly_day"])
            if week:
                sent = {**sent, "weekly": email_stage(store, email_cfg, week[-1].label)}
            return sent

        stages.append(("email", stage_email))
    try:
        with Store(paths.db_path, timeout=settings.db_timeout) as store:
            report = nightly.run_stages(store, stages, summary=nightly.stage_summary)
            totals = store.counts()
    finally:
        lock.release()
    return NightResult(report, totals, paths.db_path, held.get("ingest"))


# ---------------------------------------------------------------------- one task each
def embed_archive(paths: Paths, settings: Settings, *, rebuild: bool = False, cluster: str | None = None,
                  progress: Progress = no_progress) -> dict[str, Any]:
    """Embed new or changed stories (all of them with `rebuild`); with `cluster` (a Dask scheduler's address,
    or "local"), on that cluster's workers."""
    with Store(paths.db_path) as store:
        if cluster:
            from . import scaleout

            with scaleout.connect(cluster) as client, progress("embedding on the cluster") as advance:
                report = scaleout.embed_on(client, store, settings.model or "default", device=settings.device,
                                           rebuild=rebuild, progress=advance)
            return {**report, "device": f"{report['workers']} Dask workers"}
        embedder = make_embedder(settings)
        with progress("embedding") as advance:
            report = embed_stories(store, embedder, rebuild=rebuild, progress=advance)
        return {**report, **onnx_model.ensure(embedder)}


def write_digest(store: Store, briefer: Briefer, paths: Paths, cfg: dict[str, Any], night: digest_out.Night) -> dict:
    return digest_out.write(store, briefer, paths.output_dir, night, max_items=int(cfg["max_items"]),
                            base_url=cfg["base_url"])


def digest_of(paths: Paths, settings: Settings, day: str | None, week: str | None = None) -> dict[str, Any]:
    """Write (or rebuild) the digest of the publication day `day` (YYYY-MM-DD; None: today), or the weekly
    digest of the ISO week `week` (2023-W40), and refresh its Atom feed."""
    cfg = digest_config(settings)
    period = digest_out.Week.parse(week) if week else digest_out.Night.parse(day)
    with Store(paths.db_path) as store:
        briefer = make_briefer(paths, settings, make_embedder(settings))
        if week:
            return digest_out.write_week(store, briefer, paths.output_dir, period, max_items=int(cfg["max_items"]),
                                         base_url=cfg["base_url"])
        return write_digest(store, briefer, paths, cfg, period)


def brief_of(paths: Paths, settings: Settings, story_id: str) -> tuple[Brief, Briefer, dict[str, list]] | None:
    """The brief of a story's cluster (stored, else built now), the briefer that renders it and its watch-for
    items (its own, and those it resolved); None when no single clustered story matches `story_id`."""
    with Store(paths.db_path) as store:
        card = store.story_card(story_id)
        if card is None or not card["cluster_id"]:
            return None
        cid = card["cluster_id"]
        row = store.briefs([cid]).get(cid)
        briefer = make_briefer(paths, settings, make_embedder(settings))
        watch = page_items(store, [cid])[cid]
        if row is not None:
            return load_brief(row), briefer, watch
        return make_briefs(briefer, inputs(store, [cid]))[0], briefer, watch


def rethread(paths: Paths, settings: Settings) -> dict:
    """`pulse rethread`: threads rebuilt from the stored clusters with the configured rules."""
    if not paths.db_path.exists():
        raise ConfigError(f"no archive at {paths.db_path} yet: run `pulse run` first")
    with Store(paths.db_path) as store:
        return rethread_archive(store, cluster_config(settings))


def check_servable(paths: Paths) -> None:
    """Raise sqlite3.Error or OSError if the archive cannot be served (truncated, not a database, no
    permission); opens it (and migrates it) as the web app will."""
    check_archive(paths.db_path)
    Store(paths.db_path).close()


def web_app(paths: Paths, settings: Settings, *, workers: int, timeout: float):
    """The web page's ASGI app over the archive, searching as `pulse search` does."""
    from outputs.web import Limits, create_app  # Starlette loads only for `pulse serve`

    limits = Limits(workers=workers, search_timeout=timeout, page_timeout=timeout)
    return create_app(paths.db_path, lambda store: make_searcher(store, settings), limits)


def backfill(paths: Paths, settings: Settings, name: str, since: datetime, cluster: str | None = None) -> SourceReport:
    """Fetch source `name`'s archive back to `since`, then relearn its furniture. With `cluster` (a Dask
    scheduler's address, or "local"), its pages are segmented on that cluster's workers while this process
    fetches them, politely, one at a time, and writes."""
    configs = {s.name: s for s in load_sources(paths.sources_file)}
    if name not in configs:
        raise SourceError(f"no source named {name!r} (see `pulse sources list`)")
    with Store(paths.db_path) as store:
        if cluster:
            from . import scaleout

            with scaleout.connect(cluster) as client:
                rep = ingest_source(store, configs[name], fetcher_for(settings), since=since,
                                    parse=scaleout.parse_on(client, store.entry_hashes(name)))
        else:
            rep = ingest_source(store, configs[name], fetcher_for(settings), since=since)
        learn_furniture(store, [name])
    if not rep.ok:
        raise SourceError(f"{name}: {rep.error}")
    return rep


def backup(paths: Paths, settings: Settings, dest: Path) -> None:
    """A consistent copy of the live database at `dest`: written beside it, integrity-checked, then moved
    into place (a failed copy never replaces anything)."""
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    with Store(paths.db_path, timeout=settings.db_timeout) as store:
        store.backup_to(partial)
    ok = integrity_of(partial)
    if ok != "ok":
        raise OSError(f"the copy failed its integrity check: {ok}")
    partial.replace(dest)


def source_states(paths: Paths) -> list[dict[str, Any]]:
    """Each subscription with its layout and fetch state (from the archive, if there is one)."""
    state: dict[str, dict] = {}
    configs = load_sources(paths.sources_file)
    if paths.db_path.exists():
        with Store(paths.db_path) as store:
            state = {r["name"]: r for r in store.source_rows()}
    rows = []
    for cfg in configs:
        st = state.get(cfg.name, {})
        rows.append({"name": cfg.name, "kind": cfg.kind, "segmenter": make_source(cfg).segmenter, "url": cfg.url,
                     "options": cfg.options,
                     "last_ok": st.get("last_ok"), "consecutive_errors": st.get("consecutive_errors", 0),
                     "last_error": st.get("last_error")})
    return rows
