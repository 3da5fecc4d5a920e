"""Stage 1: fetch every source, segment issues into stories, store them.

Each source is isolated: whatever one source does (hang, 500, garbage), the
others run. Each issue is written in one transaction, and a source's ETag /
Last-Modified are stored only after all its issues are saved, so a crash
mid-source means the next run fetches it again in full and finishes the job.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Callable, Iterable, Iterator

from sources import Source, SourceConfig, SourceError, make_source
from sources.base import Fetched, FetchState
from sources.models import Issue
from sources.fetch import Fetcher, FetchError

from .furniture_stage import learn_furniture
from .nightly import pause_point
from .store import Store


@dataclass
class SourceReport:
    name: str
    ok: bool = True
    not_modified: bool = False
    issues_new: int = 0
    issues_updated: int = 0
    issues_unchanged: int = 0
    issues_skipped: int = 0  # of the unchanged: recognised by their entry hash before being parsed
    stories: int = 0
    fetched: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # entries skipped or repaired, one line each
    ms: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class IngestReport:
    sources: list[SourceReport] = field(default_factory=list)
    furniture: int = 0  # stories moved out of news because their title recurs across issues

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if not s.ok]

    def total(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.sources)

    def as_dict(self) -> dict:
        return {"sources": [s.as_dict() for s in self.sources],
                "issues_new": self.total("issues_new"), "issues_updated": self.total("issues_updated"),
                "stories": self.total("stories"), "furniture": self.furniture, "failed": [s.name for s in self.failed],
                "warnings": [f"{s.name}: {w}" for s in self.sources for w in s.warnings]}


# (source, its fetched documents, since) -> each document's issues, in the documents' order
Parse = Callable[[Source, Iterable[Fetched], datetime | None], Iterator[list[Issue]]]


def parse_here(source: Source, docs: Iterable[Fetched], since: datetime | None) -> Iterator[list[Issue]]:
    """Parse each document in this process as it is fetched."""
    for doc in docs:
        yield source.parse(doc, since=since)


def ingest_source(store: Store, cfg: SourceConfig, fetcher: Fetcher, *,
                  since: datetime | None = None, parse: Parse = parse_here) -> SourceReport:
    """Fetch, parse and store one source; `parse` may spread the parsing (pipeline/scaleout.py) while this
    process fetches (one fetcher: its politeness per host holds) and writes."""
    report = SourceReport(cfg.name)
    started = time.monotonic()
    store.ensure_source(cfg.name, cfg.kind, cfg.url)
    row = store.source_row(cfg.name) or {}
    state = FetchState(etag=row.get("etag"), last_modified=row.get("last_modified"))
    validators = (state.etag, state.last_modified)
    source = None
    try:
        source = make_source(cfg)
        stored = store.entry_hashes(cfg.name)
        source.unchanged = lambda guid, digest: stored.get(guid) == digest
        with fetcher.source_budget():
            _ingest_docs(store, cfg, source, fetcher, state, report, validators, since, parse)
    except (FetchError, SourceError) as exc:
        _fail(store, cfg, report, str(exc))
    except Exception as exc:  # a parser bug in one source must not stop the others
        _fail(store, cfg, report, f"unexpected {type(exc).__name__}: {exc}")
    if source is not None:
        report.warnings.extend(source.warnings)
        report.issues_skipped = source.skipped
        report.issues_unchanged += source.skipped
    report.ms = int((time.monotonic() - started) * 1000)
    return report


def _ingest_docs(store: Store, cfg: SourceConfig, source: Source, fetcher: Fetcher, state: FetchState,
                 report: SourceReport, validators: tuple, since: datetime | None, parse: Parse) -> None:
    """Fetch, parse and save one source's documents; its validators are stored only at the end."""
    fetched = list(validators)

    def logged(docs: Iterable[Fetched]) -> Iterator[Fetched]:
        for doc in docs:
            res = doc.result
            report.fetched += 1
            store.log_fetch(cfg.name, doc.page_url, status=res.status, attempts=res.attempts,
                            ms=res.elapsed_ms, nbytes=len(res.body))
            if doc.page_url == cfg.url:
                if res.not_modified:
                    report.not_modified = True
                else:
                    fetched[:] = [res.etag, res.last_modified]
            yield doc

    docs = source.fetch(fetcher, state, since=since, known=lambda url: store.has_issue_url(cfg.name, url))
    for issues in parse(source, logged(docs), since):
        for issue in issues:
            outcome = store.save_issue(issue)
            setattr(report, f"issues_{outcome}", getattr(report, f"issues_{outcome}") + 1)
            if outcome != "unchanged":
                report.stories += len(issue.stories)
            pause_point("issue", "after")  # tests kill the process here: between two issues of a source
    store.source_ok(cfg.name, etag=fetched[0], last_modified=fetched[1])


def _fail(store: Store, cfg: SourceConfig, report: SourceReport, message: str) -> None:
    report.ok = False
    report.error = message.splitlines()[0] if message else "failed"
    store.source_failed(cfg.name, report.error)
    store.log_fetch(cfg.name, cfg.url, error=report.error)


def ingest(store: Store, configs: Iterable[SourceConfig], fetcher: Fetcher, *, since: datetime | None = None,
           on_source: Callable[[SourceReport], None] | None = None) -> IngestReport:
    report = IngestReport()
    for cfg in configs:
        rep = ingest_source(store, cfg, fetcher, since=since)
        report.sources.append(rep)
        if on_source:
            on_source(rep)
    report.furniture = learn_furniture(store, [s.name for s in report.sources if s.issues_new or s.issues_updated])
    return report
