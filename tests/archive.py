"""An archive with briefs: Pulse's sample newsletters plus a hostile test newsletter, run through every stage
(search, web and brief tests share it)."""
from __future__ import annotations

from pathlib import Path

from outputs.brief_stage import Briefer, brief_clusters
from outputs.pages import write_pages
from outputs.render import Templates
from outputs.watch_stage import watch_stage
from pipeline.cluster_stage import cluster_stories
from pipeline.embed_stage import embed_stories
from pipeline.ingest import ingest
from pipeline.samples import sample_sources
from pipeline.store import Store
from sources import SourceConfig
from sources.fetch import Fetcher

FIXTURES = Path(__file__).parent / "fixtures"


def archive_sources() -> list[SourceConfig]:
    return [*sample_sources(), SourceConfig("sentinel", "rss", (FIXTURES / "sentinel_hostile.xml").as_uri(), {})]


def build_archive(path: Path, embedder, out_dir: Path, templates: Templates | None = None) -> tuple[Store, Briefer]:
    store = Store(path)
    ingest(store, archive_sources(), Fetcher())
    embed_stories(store, embedder)
    cluster_stories(store)
    briefer = Briefer(templates or Templates(), embedder.encode)
    brief_clusters(store, briefer, out_dir)
    watch_stage(store, briefer, out_dir)
    write_pages(store, briefer.templates, out_dir)
    return store, briefer
