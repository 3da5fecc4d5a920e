"""Fixtures the pipeline tests share."""
from __future__ import annotations

import pytest

from pipeline.cluster_stage import cluster_stories
from pipeline.embed_stage import embed_stories
from pipeline.ingest import ingest
from pipeline.samples import sample_sources
from pipeline.store import Store
from sources.fetch import Fetcher


@pytest.fixture
def clustered_sample(tmp_path, embedder):
    """The bundled sample newsletters in a real archive after one night: ingested, embedded and clustered."""
    with Store(tmp_path / "pulse.db") as s:
        ingest(s, sample_sources(), Fetcher())
        embed_stories(s, embedder)
        cluster_stories(s)
        yield s
