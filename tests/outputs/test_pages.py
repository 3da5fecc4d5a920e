"""Newsletter and issue pages as markdown (the nightly run writes them next to the digests)."""
from __future__ import annotations

import re

from outputs.pages import write_pages


def test_each_newsletter_and_issue_has_a_markdown_page(archive):
    store, _, out = archive
    letters = {p.stem: p.read_text("utf-8") for p in (out / "newsletters").glob("*.md")}
    assert set(letters) == set(store.source_names())
    sample = letters["gradient-notes"]
    linked = re.findall(r"\(\.\./issues/([^)]+)\.md\)", sample)
    assert linked and all((out / "issues" / f"{stem}.md").exists() for stem in linked)
    page = (out / "issues" / f"{linked[0]}.md").read_text("utf-8")
    assert "[Read the full article](https://" in page and "## The issue in brief" in page
    briefs = re.findall(r"\(\.\./stories/([^)]+)\.md\)", page)
    assert briefs and all((out / "stories" / f"{stem}.md").exists() for stem in briefs)
    # every brief links back to its issue page and its newsletter's
    brief = (out / "stories" / f"{briefs[0]}.md").read_text("utf-8")
    assert f"(../issues/{linked[0]}.md)" in brief or "Issue page:" in brief
    assert re.search(r"\(\.\./newsletters/[\w-]+\.md\)", brief)


def test_pages_are_rewritten_only_when_they_change(archive):
    store, briefer, out = archive
    again = write_pages(store, briefer.templates, out)
    assert again["changed"] == 0 and again["issues"] == store.count("issues")
