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


def test_a_night_that_changed_nothing_renders_no_page(archive, tmp_path):
    """The pages stage skips when nothing pages are made from changed since the last run that wrote them;
    an edited issue or template brings them back."""
    from importlib import resources

    from outputs.pages import pages_stage
    from outputs.render import Templates
    from pipeline.nightly import run_stages
    from pipeline.store import Store

    src, briefer, _ = archive
    src.backup_to(tmp_path / "p.db")
    out = tmp_path / "out"

    def night(store, templates=briefer.templates):
        return run_stages(store, [("pages", lambda s: pages_stage(s, templates, out))]).stages["pages"]

    with Store(tmp_path / "p.db") as store:
        first = night(store)
        assert first["issues"] == store.count("issues") and "skipped" not in first
        assert night(store)["skipped"] == "nothing changed"
        issue = store.db.execute("SELECT id FROM issues ORDER BY id LIMIT 1").fetchone()[0]
        store.db.execute("UPDATE issues SET title = 'Renamed issue', updated = '2999-01-01T00:00:00' WHERE id = ?",
                         [issue])
        store.db.conn.commit()
        edited = night(store)
        assert "skipped" not in edited and edited["changed"] >= 1 and edited["removed"] == 1  # its old page went
        assert any("Renamed issue" in p.read_text("utf-8") for p in (out / "issues").glob("*.md"))
        assert night(store)["skipped"]
        mine = tmp_path / "templates"
        mine.mkdir()
        page = resources.files("outputs").joinpath("templates", "issue.md.j2").read_text("utf-8")
        (mine / "issue.md.j2").write_text(page + "\nMy own footer.\n", "utf-8")
        custom = night(store, Templates(mine))
        assert "skipped" not in custom
        pages = [p.read_text("utf-8") for p in (out / "issues").glob("*.md")]
        assert pages and all("My own footer." in p for p in pages), (custom, pages[0][-300:])


def test_every_list_item_of_every_page_is_a_line_of_its_own(archive):
    """A template line that ends in a block tag loses its newline (trim_blocks) unless the tag says `+%}`;
    then an issue's stories, a week's days or a brief's watch-for items run together on one line."""
    from outputs.digest import Week, build_week

    store, briefer, out = archive
    pages = {p: p.read_text("utf-8") for p in out.rglob("*.md")}
    days = sorted(m for p, t in pages.items() if "/issues/" in str(p) for m in re.findall(r" · (\d{4}-\d\d-\d\d)", t))
    weekly, _ = build_week(store, briefer, Week.of(days[0]))
    pages[out / "digest-week.md"] = weekly
    assert any("/issues/" in str(p) for p in pages) and "nothing published" in weekly
    joined = re.compile(r"\S(?:- \[|- \d{4}-\d\d-\d\d: |\d+\. \[)|\*\*\d+\. |[.)]  - ")
    for path, text in pages.items():
        for line in text.splitlines():
            assert not joined.search(line), f"{path.name}: {line[:160]}"
    kinds = [ln for p, t in pages.items() if "/issues/" in str(p) for ln in t.splitlines() if re.match(r"\d+ stor", ln)]
    assert kinds and all(not re.search(r",\d", ln) for ln in kinds)  # "3 release, 2 research", not "3 release,2"
