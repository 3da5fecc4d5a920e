"""The bundled sample newsletters: Pulse's own synthetic issues, for `--sample` runs and demos."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

from sources import SourceConfig

SAMPLES = [
    ("gradient-notes", "importai", "gradient-notes.xml"),
    ("inference-letter", "rss", "inference-letter.xml"),
    ("model-drop", "rss", "model-drop.xml"),
]


def sample_sources() -> list[SourceConfig]:
    folder = Path(str(resources.files("sources").joinpath("samples")))
    return [SourceConfig(name, kind, (folder / file).as_uri(), {"archive_url": ""} if kind == "importai" else {})
            for name, kind, file in SAMPLES]
