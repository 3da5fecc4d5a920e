"""Newsletter and issue pages: what a newsletter published (its issues, latest first, and the stories it told
before anyone else), and each issue with a link to the original and an issue-level brief (its main news,
every story with its impact and brief, the fiction apart). The web app renders the same contexts as HTML;
the nightly run writes them as markdown next to the digests.
"""
from __future__ import annotations

import hashlib
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
    """The nightly pages stage: every page written again (`write_pages`) unless nothing they are made from
    changed since the last run that wrote them (the archive's `pages_signature` and every template): a night
    with nothing new renders nothing."""
    loader = templates.markdown.loader
    sources = "\n".join(loader.get_source(templates.markdown, name)[0] for name in sorted(loader.list_templates()))
    signature = hashlib.sha1(f"{store.pages_signature()}\x00{sources}".encode()).hexdigest()
    last = store.last_stage_result("pages") or {}
    if last.get("signature") == signature and (out_dir / "issues").is_dir():
        return {"issues": 0, "newsletters": 0, "changed": 0, "skipped": "nothing changed", "signature": signature}
    return {**write_pages(store, templates, out_dir), "signature": signature}


def write_pages(store: Store, templates: Templates, out_dir: Path) -> dict[str, int]:
    """Every newsletter's and issue's markdown page (issues/<slug>.md, newsletters/<slug>.md), rewritten
    only where it changed; a page no issue or newsletter has any more (its title changed, it was removed)
    goes."""
    written = {"issues": 0, "newsletters": 0, "changed": 0, "removed": 0}
    kept: set[Path] = set()
    firsts = store.all_first_tellings(15)
    for name in store.source_names():
        ctx = newsletter_context(store, name, 15, firsts)
        if ctx is None:
            continue
        path = out_dir / "newsletters" / f"{ctx['slug']}.md"
        written["changed"] += _write(path, templates.page("newsletter.md.j2", **ctx))
        written["newsletters"] += 1
        kept.add(path)
        ids = [issue["id"] for issue in ctx["issues"]]
        issues, stories = store.issues_by_id(ids), store.stories_of_issues(ids)
        for issue in ctx["issues"]:
            ictx = issue_context(store, issue["id"], (issues.get(issue["id"]), stories.get(issue["id"], [])))
            if ictx:
                path = out_dir / "issues" / f"{issue['slug']}.md"
                written["changed"] += _write(path, templates.page("issue.md.j2", **ictx))
                written["issues"] += 1
                kept.add(path)
    for folder in ("newsletters", "issues"):
        for page in (out_dir / folder).glob("*.md"):
            if page not in kept:
                page.unlink()
                written["removed"] += 1
    return written


def _write(path: Path, text: str) -> int:
    if path.exists() and path.read_text("utf-8") == text:
        return 0
    write_text(path, text)
    return 1
