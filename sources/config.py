"""sources.toml: read, write, and import subscriptions from OPML."""
from __future__ import annotations

import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Iterable

import tomli_w
from bs4 import BeautifulSoup

from .base import SourceConfig, SourceError, known_kinds
from .segment import SEGMENTERS
from .urls import UrlError, check_url

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")

# The options each kind reads from its entry (sources/archive.py, sources/feed.py) and their types;
# anything else in an entry is a typo, refused. A kind not listed here gets its options unchecked.
_ARCHIVE_OPTIONS: dict[str, type] = {"segmenter": str, "link_pattern": str, "max_pages": int,
                                     "content_selector": str, "title_selector": str}
_FEED_OPTIONS: dict[str, type] = {"segmenter": str, "archive_url": str,
                                  **{f"archive_{k}": t for k, t in _ARCHIVE_OPTIONS.items() if k != "segmenter"}}
KIND_OPTIONS: dict[str, dict[str, type]] = {"html": _ARCHIVE_OPTIONS, "rss": _FEED_OPTIONS, "importai": _FEED_OPTIONS}
_TYPE_WORDS = {str: "a string", int: "an integer"}


def default_sources_text() -> str:
    return resources.files("sources").joinpath("default_sources.toml").read_text("utf-8")


def parse_sources(text: str, origin: str = "sources.toml") -> list[SourceConfig]:
    """The entries of a sources.toml, each checked (types, options, then `validate`); SourceError naming it."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SourceError(f"{origin}: invalid TOML: {exc}") from None
    unknown = [k for k in data if k != "source"]
    if unknown:
        raise SourceError(f"{origin}: unknown key {unknown[0]!r} (known: source, as [[source]] entries)")
    entries = data.get("source", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SourceError(f"{origin}: source must be [[source]] tables, got {_show(entries)}")
    out = [_entry(dict(entry), _where(origin, i, entry), origin) for i, entry in enumerate(entries)]
    names = [s.name for s in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SourceError(f"{origin}: duplicate source names: {', '.join(dupes)}")
    return out


def _where(origin: str, i: int, entry: dict) -> str:
    """An entry named for messages: its file, its number, and its name when that is a string."""
    name = entry.get("name")
    return f"{origin}: source #{i + 1}" + (f" {name!r}" if isinstance(name, str) else "")


def _entry(entry: dict, where: str, origin: str) -> SourceConfig:
    """One [[source]] table as a SourceConfig: name, kind and url strings, known options of their types."""
    for key in ("name", "url"):
        if key not in entry:
            raise SourceError(f"{where} lacks {key!r}")
    for key in ("name", "kind", "url"):
        if key in entry and not isinstance(entry[key], str):
            raise SourceError(f"{where}: {key} must be a string, got {_show(entry[key])}")
    name, kind, url = entry.pop("name"), entry.pop("kind", "rss"), entry.pop("url")
    cfg = SourceConfig(name=name, kind=kind, url=url, options=entry)
    try:
        cfg = validate(cfg)
        check_options(cfg)
    except SourceError as exc:
        raise SourceError(f"{origin}: {exc}") from None
    return cfg


def check_options(cfg: SourceConfig) -> None:
    """The entry's options: keys its kind reads (KIND_OPTIONS), values of their types; SourceError otherwise."""
    known = KIND_OPTIONS.get(cfg.kind)
    if known is None:
        return
    unknown = [k for k in cfg.options if k not in known]
    if unknown:
        raise SourceError(f"source {cfg.name!r}: unknown option {unknown[0]!r} for kind {cfg.kind!r} "
                          f"(known: {', '.join(sorted(known))})")
    for key, value in cfg.options.items():
        problem = _option_problem(key, value, known[key])
        if problem:
            raise SourceError(f"source {cfg.name!r}: {key} must be {problem}, got {_show(value)}")


def _option_problem(key: str, value: object, kind: type) -> str | None:
    """What an option value should be, if it is not (None when it is fine)."""
    if not isinstance(value, kind) or isinstance(value, bool):
        return _TYPE_WORDS[kind]
    if key == "segmenter" and value not in SEGMENTERS:
        return "one of " + ", ".join(json.dumps(k) for k in sorted(SEGMENTERS))
    if key.endswith("max_pages") and value < 1:
        return "an integer >= 1"
    if key.endswith("link_pattern"):
        try:
            re.compile(value)
        except re.error as exc:
            return f"a regular expression ({exc})"
    if key == "archive_url":
        try:
            check_url(value, local_ok=True)  # written by hand, like the entry's own url
        except UrlError as exc:
            return f"a URL Pulse may follow ({exc})"
    return None


def _show(value: object) -> str:
    """A value much as TOML writes it, cut short, for messages."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:59] + "…"


def validate(cfg: SourceConfig, *, local_ok: bool = True) -> SourceConfig:
    """The entry checked: its name, its kind, and its URL under the URL policy (`sources.urls`).

    `local_ok` allows a local path: true for what the user writes by hand, false for an OPML file."""
    if not isinstance(cfg.name, str) or not _NAME_RE.match(cfg.name):
        raise SourceError(f"source name {cfg.name!r}: use lowercase letters, digits, '-', '_' or '.'")
    if cfg.kind not in known_kinds():
        raise SourceError(f"source {cfg.name!r}: unknown kind {cfg.kind!r} (known: {', '.join(sorted(known_kinds()))})")
    try:
        cfg.url = check_url(cfg.url, local_ok=local_ok)
    except UrlError as exc:
        raise SourceError(f"source {cfg.name!r}: {exc}") from None
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


def parse_opml(text: str | bytes) -> tuple[list[SourceConfig], list[str]]:
    """Feed subscriptions from an OPML file (what feed readers export): (sources, refused entries with why)."""
    soup = BeautifulSoup(text, "xml")
    if soup.find("opml") is None:
        raise SourceError("not an OPML file: no <opml> element")
    out: list[SourceConfig] = []
    refused: list[str] = []
    for node in soup.find_all("outline"):
        url = node.get("xmlUrl") or node.get("xmlurl")
        if not url:
            continue
        title = node.get("title") or node.get("text") or url
        cfg = SourceConfig(name=slug_name(title), kind="rss", url=url.strip())
        try:
            out.append(validate(cfg, local_ok=False))
        except SourceError as exc:
            refused.append(str(exc))
    return out, refused


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
        merged.append(cfg)
        urls.add(cfg.url)
        names.add(cfg.name)
        added.append(cfg.name)
    return merged, added
