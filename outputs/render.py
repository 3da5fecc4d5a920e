"""Jinja2 templates: the package's own in outputs/templates, each overridable by a file of the same name
in the user's `<config dir>/templates/` (no need to edit the package).

Page templates write markdown; every `{{ value }}` is escaped for markdown by default (the
environment's finalize step), so feed text cannot become markup. Trusted fragments (links built by
`md_link`) are `Markup` and pass through unchanged.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined
from markupsafe import Markup

from .markdown import escape_md, md_link

FIELD_BLOCKS = ("our_take", "what_to_do", "what_changes", "watch_for", "skeptics")


def _md_finalize(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, Markup):
        return str(value)
    return escape_md(value)


def _capitalize_first(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _mid_sentence(name: str) -> str:
    """An audience's name inside a sentence: "Researchers" -> "researchers", "ML engineers" stays."""
    return name[:1].lower() + name[1:] if name[1:2].islower() else name


def _possessive(name: str) -> str:
    """ "Zapier" -> "Zapier's", "Natural Language Actions" -> "Natural Language Actions'", "its makers" ->
    "its makers'" (a plural or a name ending in a plural takes the apostrophe alone)."""
    return f"{name}'" if re.search(r"(?:[a-z]|[A-Z]{2})s$", name) and not re.search(r"(?:ss|us|is)$", name) else f"{name}'s"


# a path that names no page by itself: the query says which ("youtube.com/watch?v=...", "item?id=...")
_DISPATCH = re.compile(r"^[^/]+(?:/(?:watch|item|view|show|read|article|story|post|p|index\.\w+))?/?$", re.I)
_TRACKING = re.compile(r"^(?:utm_\w+|ref|source|via|s|si|mc_\w+|fbclid|gclid)=", re.I)


def _short_url(url: str, most: int = 60) -> str:
    """A link as a reader would type it: no scheme, no "www.", no fragment, and no query unless the path
    names no page without it (then its first parameter stays: "youtube.com/watch?v=dQw4w9WgXcQ")."""
    bare = re.sub(r"^https?://(?:www\.)?", "", url or "").split("#")[0]
    path, _, query = bare.partition("?")
    first = query.split("&")[0]
    keep = "=" in first and not _TRACKING.match(first) and _DISPATCH.match(path)
    short = f"{path.rstrip('/')}?{first}" if keep else path.rstrip("/")
    return short if len(short) <= most else short[:most - 1] + "…"


def _day(value: str | None) -> str:
    return (value or "")[:10]


class Templates:
    def __init__(self, user_dir: Path | None = None) -> None:
        self.user_dir = user_dir  # (a worker process builds its own Templates from it)
        loaders = [FileSystemLoader(str(user_dir))] if user_dir and user_dir.is_dir() else []
        loader = ChoiceLoader([*loaders, PackageLoader("outputs", "templates")])
        self.text = Environment(loader=loader, undefined=StrictUndefined, keep_trailing_newline=False,
                                autoescape=False)
        self.text.filters["capitalize_first"] = _capitalize_first
        self.text.filters["short_url"] = _short_url
        self.text.filters["mid_sentence"] = _mid_sentence
        self.text.filters["possessive"] = _possessive
        self.markdown = Environment(loader=loader, undefined=StrictUndefined, autoescape=False,
                                    finalize=_md_finalize, trim_blocks=True, lstrip_blocks=True)
        self.markdown.filters.update(link=md_link, day=_day, raw=Markup)
        self.markdown.globals["link"] = md_link

    def fields(self, **context: Any) -> dict[str, Any]:
        """The free-text fields, one template block each, whitespace collapsed. The watch_for block is worded
        once per watch-for item (`watch` in the context): `watch_texts` has each item's sentence."""
        template = self.text.get_template("fields.j2")

        def block(name: str, **extra: Any) -> str:
            ctx = template.new_context({"w": None, "watch": [], **context, **extra})
            return re.sub(r"\s+", " ", "".join(template.blocks[name](ctx))).strip()
        out: dict[str, Any] = {name: block(name) for name in FIELD_BLOCKS if name != "watch_for"}
        out["watch_texts"] = [block("watch_for", w=w) for w in context.get("watch", [])]
        out["watch_for"] = " ".join(t for t in out["watch_texts"] if t) or block("watch_for")
        return out

    def house_words(self) -> set[str]:
        """Words the templates themselves write (allowed in a brief without appearing in the sources)."""
        source = "\n".join(self.text.loader.get_source(self.text, name)[0] for name in ("fields.j2", "fields_macros.j2"))
        return {w.lower() for w in re.findall(r"[A-Za-z][\w'-]*", re.sub(r"\{[{%#].*?[}%#]\}", " ", source, flags=re.S))}

    def page(self, name: str, **context: Any) -> str:
        text = self.markdown.get_template(name).render(**context)
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
