"""Newsletter and issue pages: what a newsletter published (its issues, latest first, and the stories it told
before anyone else), and each issue with a link to the original and an issue-level brief (its main news,
every story with its impact and brief, the fiction apart). The web app renders the same contexts as HTML;
the nightly run writes them as markdown next to the digests.
"""
from __future__ import annotations

import hashlib
import os
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.store import Store

from .brief_stage import write_text
from .markdown import issue_slug as _issue_stem
from .markdown import newsletter_slug
from .render import Templates

MAIN_NEWS = 3


def issue_slug(issue: dict[str, Any]) -> str:
    return _issue_stem(issue["title"], issue["id"])


def newsletter_context(store: Store, name: str, recent_firsts: int = 15,
                       firsts_of: dict[str, tuple[int, list[dict[str, Any]]]] | None = None) -> dict[str, Any] | None:
    """A newsletter: its counts, its issues (latest first) and the stories it told first (`firsts_of`: every
    newsletter's, from `Store.all_first_tellings`, when many pages are made at once)."""
    info = store.newsletter(name)
    if info is None:
        return None
    issues = [dict(i, slug=issue_slug(i)) for i in store.newsletter_issues(name)]
    count, firsts = (firsts_of.get(name, (0, [])) if firsts_of is not None
                     else store.first_tellings(name, recent_firsts))
    return {"newsletter": info, "issues": issues, "firsts": firsts, "firsts_count": count,
            "slug": newsletter_slug(name)}


def issue_context(store: Store, issue_id: str, read: tuple[dict[str, Any] | None, list[dict[str, Any]]] | None = None
                  ) -> dict[str, Any] | None:
    """An issue with its brief: the main news (highest impact first), the count by kind, how many stories
    other newsletters told too, every news story with its impact, and the fiction apart. `read`: the issue
    and its stories, already read (many pages at once)."""
    issue, stories = read if read is not None else (store.issue(issue_id), None)
    if issue is None:
        return None
    stories = stories if stories is not None else store.issue_stories(issue_id)
    news = [s for s in stories if s["section"] not in ("furniture", "notice") and s["kind"] not in ("fiction", "notice")]
    fiction = [s for s in stories if s["kind"] == "fiction" or s["section"] == "fiction"]
    news = [s for s in news if s not in fiction]
    ranked = sorted((s for s in news if s["slug"]), key=lambda s: (-(s["impact_score"] or 0), -(s["sources"] or 1),
                                                                   s["position"]))
    kinds = Counter(s["kind"] or "other" for s in news)
    return {"issue": dict(issue, slug=issue_slug(issue)), "newsletter_slug": newsletter_slug(issue["source"]),
            "main": ranked[:MAIN_NEWS], "stories": news, "fiction": fiction,
            "kinds": [(k, n) for k, n in sorted(kinds.items(), key=lambda kn: (-kn[1], kn[0]))],
            "told_elsewhere": [s for s in news if (s["sources"] or 1) >= 2],
            "high": sum(s["impact"] == "high" for s in news)}


def pages_stage(store: Store, templates: Templates, out_dir: Path) -> dict[str, Any]:
    """The nightly pages stage: the pages whose inputs changed since it last ran (`Store.due`: issues whose
    row, stories, clusters or briefs changed, and newsletters whose issues or first tellings did), or every
    page (`write_pages`) where the templates changed, the pages are not there, or the archive's markers are
    not known yet. A night with nothing new renders nothing. The markers go in the transaction after the
    pages are written: a run killed before writes them again."""
    loader = templates.markdown.loader
    sources = "\n".join(loader.get_source(templates.markdown, name)[0] for name in sorted(loader.list_templates()))
    signature = hashlib.sha1(sources.encode()).hexdigest()
    last = store.last_stage_result("pages") or {}
    full = (store.needs_full("page") or store.needs_full("letter") or last.get("templates") != signature
            or not (out_dir / "issues").is_dir())
    issues, letters = ([], []) if full else (store.due("page"), store.due("letter"))
    if not full and not issues and not letters:
        return {"issues": 0, "newsletters": 0, "changed": 0, "skipped": "nothing changed", "templates": signature}
    written = write_pages(store, templates, out_dir) if full else write_pages(store, templates, out_dir,
                                                                              (issues, letters))
    with store.transaction():
        store.clear_due("page", None if full else issues)
        store.clear_due("letter", None if full else letters)
    return {**written, "templates": signature}


def write_pages(store: Store, templates: Templates, out_dir: Path,
                due: tuple[list[str], list[str]] | None = None) -> dict[str, int]:
    """Every newsletter's and issue's markdown page (issues/<slug>.md, newsletters/<slug>.md), rewritten
    only where it changed; a page no issue or newsletter has any more (its title changed, it was removed)
    goes. `due`: (issue ids, newsletter names): only those pages."""
    written = {"issues": 0, "newsletters": 0, "changed": 0, "removed": 0}
    if due is not None:
        return _write_due(store, templates, out_dir, *due, written)
    kept: set[Path] = set()
    firsts = store.all_first_tellings(15)
    for name in store.source_names():
        ctx = newsletter_context(store, name, 15, firsts)
        if ctx is None:
            continue
        kept.add(_write_letter(templates, out_dir, ctx, written))
        kept.update(_write_issues(store, templates, out_dir, [issue["id"] for issue in ctx["issues"]], written))
    for folder in ("newsletters", "issues"):
        for page in (out_dir / folder).glob("*.md"):
            if page not in kept:
                page.unlink()
                written["removed"] += 1
    return written


def _write_due(store: Store, templates: Templates, out_dir: Path, issue_ids: list[str], letters: list[str],
               written: dict[str, int]) -> dict[str, int]:
    """The pages of these issues and newsletters, and none other; the old page of each that was renamed or
    removed goes (an issue's pages are found by the id its stem ends with)."""
    names = store.source_names()
    for name in letters:
        ctx = newsletter_context(store, name, 15) if name in names else None
        if ctx is not None:
            _write_letter(templates, out_dir, ctx, written)
        elif newsletter_slug(name) not in {newsletter_slug(n) for n in names}:
            written["removed"] += _remove([out_dir / "newsletters" / f"{newsletter_slug(name)}.md"])
    kept = _write_issues(store, templates, out_dir, issue_ids, written)
    pages: dict[str, list[str]] = {}  # the issue pages there are, by the id their stem ends with
    for name in os.listdir(out_dir / "issues") if (out_dir / "issues").is_dir() else []:
        if name.endswith(".md"):
            pages.setdefault(name[:-3].rsplit("-", 1)[-1], []).append(name)
    for iid in issue_ids:
        key = issue_slug({"id": iid, "title": ""}).rsplit("-", 1)[1]
        if len(pages.get(key, [])) > 1 or not any(out_dir / "issues" / n in kept for n in pages.get(key, [])):
            mine = {out_dir / "issues" / f"{_issue_stem(title, other)}.md" for other, title in store.issues_with_prefix(key)}
            written["removed"] += _remove([out_dir / "issues" / n for n in pages.get(key, [])
                                           if out_dir / "issues" / n not in mine | kept])
    return written


def _write_letter(templates: Templates, out_dir: Path, ctx: dict[str, Any], written: dict[str, int]) -> Path:
    path = out_dir / "newsletters" / f"{ctx['slug']}.md"
    written["changed"] += _write(path, templates.page("newsletter.md.j2", **ctx))
    written["newsletters"] += 1
    return path


def _write_issues(store: Store, templates: Templates, out_dir: Path, ids: list[str], written: dict[str, int]
                  ) -> set[Path]:
    """The pages of these issues (those that exist), read a few hundred at a time; returns their paths."""
    paths = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        issues, stories = store.issues_by_id(chunk), store.stories_of_issues(chunk)
        for iid in chunk:
            ictx = issue_context(store, iid, (issues.get(iid), stories.get(iid, [])))
            if ictx:
                path = out_dir / "issues" / f"{ictx['issue']['slug']}.md"
                written["changed"] += _write(path, templates.page("issue.md.j2", **ictx))
                written["issues"] += 1
                paths.add(path)
    return paths


def _remove(paths: list[Path]) -> int:
    gone = 0
    for path in paths:
        if path.exists():
            path.unlink()
            gone += 1
    return gone


def _write(path: Path, text: str) -> int:
    if path.exists() and path.read_text("utf-8") == text:
        return 0
    write_text(path, text)
    return 1
