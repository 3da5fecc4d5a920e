"""sources.toml: read, write, and import subscriptions from OPML."""
from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Iterable

import tomli_w
from bs4 import BeautifulSoup

from .base import SOURCE_KINDS, SourceConfig, SourceError

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


def default_sources_text() -> str:
    return resources.files("sources").joinpath("default_sources.toml").read_text("utf-8")


def parse_sources(text: str, origin: str = "sources.toml") -> list[SourceConfig]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{origin}: invalid TOML: {exc}") from None
    out: list[SourceConfig] = []
    for i, entry in enumerate(data.get("source", [])):
        entry = dict(entry)
        try:
            name, kind, url = entry.pop("name"), entry.pop("kind", "rss"), entry.pop("url")
        except KeyError as exc:
            raise SourceError(f"{origin}: source #{i + 1} lacks {exc.args[0]!r}") from None
        out.append(validate(SourceConfig(name=name, kind=kind, url=url, options=entry)))
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SourceError(f"{origin}: duplicate source names: {', '.join(dupes)}")
    return out


def validate(cfg: SourceConfig) -> SourceConfig:
    if not _NAME_RE.match(cfg.name):
        raise SourceError(f"source name {cfg.name!r}: use lowercase letters, digits, '-', '_' or '.'")
    if cfg.kind not in SOURCE_KINDS:
        raise SourceError(f"source {cfg.name!r}: unknown kind {cfg.kind!r} (known: {', '.join(sorted(SOURCE_KINDS))})")
    if not re.match(r"^(https?|file)://", cfg.url) and not cfg.url.startswith("/"):
        raise SourceError(f"source {cfg.name!r}: URL must be http(s)://, file:// or an absolute path")
    return cfg


def load_sources(path: Path) -> list[SourceConfig]:
    """The user's sources; the shipped defaults when the file does not exist yet."""
    if not path.exists():
        return parse_sources(default_sources_text(), "default sources")
    return parse_sources(path.read_text("utf-8"), str(path))


def save_sources(path: Path, sources: Iterable[SourceConfig]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(tomli_w.dumps({"source": [s.to_toml() for s in sources]}), "utf-8")
    tmp.replace(path)


def slug_name(title: str) -> str:
    name = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:64]
    return name or "feed"


def parse_opml(text: str | bytes) -> list[SourceConfig]:
    """Feed subscriptions from an OPML file (what feed readers export)."""
    soup = BeautifulSoup(text, "xml")
    if soup.find("opml") is None:
        raise SourceError("not an OPML file: no <opml> element")
    out: list[SourceConfig] = []
    for node in soup.find_all("outline"):
        url = node.get("xmlUrl") or node.get("xmlurl")
        if not url:
            continue
        title = node.get("title") or node.get("text") or url
        out.append(SourceConfig(name=slug_name(title), kind="rss", url=url.strip()))
    return out


def merge(existing: list[SourceConfig], new: Iterable[SourceConfig]) -> tuple[list[SourceConfig], list[str]]:
    """Add sources whose URL is not subscribed yet; names made unique. Returns (all, added names)."""
    urls = {s.url for s in existing}
    names = {s.name for s in existing}
    merged, added = list(existing), []
    for cfg in new:
        if cfg.url in urls:
            continue
        base, n = cfg.name, 2
        while cfg.name in names:
            cfg.name = f"{base}-{n}"
            n += 1
        merged.append(validate(cfg))
        urls.add(cfg.url)
        names.add(cfg.name)
        added.append(cfg.name)
    return merged, added
