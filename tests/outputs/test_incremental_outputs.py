"""The brief and pages stages on a night that adds one story: they rebuild what the store marked as due
(`Store.due`), which is what a look at the whole archive would rebuild, and a run killed mid-stage leaves
that work due for the next."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from outputs.brief_stage import brief_clusters, input_hashes
from outputs.pages import pages_stage, write_pages
from outputs.watch_stage import watch_stage
from pipeline.cluster_stage import cluster_stories
from pipeline.embed_stage import embed_stories
from pipeline.nightly import run_stages
from pipeline.store import Store
from sources.models import Issue, Link, Story


def pages_night(store: Store, templates, out: Path) -> dict:
    """The pages stage as the night runs it (its result recorded: the next run compares its templates)."""
    report = run_stages(store, [("pages", lambda s: pages_stage(s, templates, out))])
    if report.errors:
        raise RuntimeError(report.errors)
    return report.stages["pages"]


@pytest.fixture
def night(archive, tmp_path):
    """A copy of the test archive after a night whose pages stage wrote every page."""
    src, briefer, _ = archive
    src.backup_to(tmp_path / "p.db")
    out = tmp_path / "out"
    with Store(tmp_path / "p.db") as store:
        brief_clusters(store, briefer, out)
        watch_stage(store, briefer, out)
        assert "skipped" not in pages_night(store, briefer.templates, out)
        assert pages_night(store, briefer.templates, out)["skipped"]
        yield store, briefer, out


def tell_again(store: Store, embedder, doubt: str = "") -> str:
    """A new issue of another newsletter telling one of the archive's news stories again (its headline, text
    and link; `doubt`: a sentence added to the text): the story's cluster grows. Embedded and clustered;
    returns the issue's id."""
    row = next(store.db.query(
        "SELECT s.id, s.title, s.text, s.source FROM stories s JOIN cluster_members m ON m.story_id = s.id "
        "JOIN clusters c ON c.id = m.cluster_id WHERE c.sources = 1 AND s.section = 'main' ORDER BY s.id LIMIT 1"))
    other = next(n for n in store.source_names() if n != row["source"])
    url = store.story_links(row["id"])[0]["url"] if store.story_links(row["id"]) else "https://example.org/x"
    issue = Issue(source=other, guid="told-again", url="https://example.org/told-again", title="Told again",
                  published=datetime.now(timezone.utc), html="", text="",
                  stories=[Story(position=0, title=row["title"], text=f"{row['text']} {doubt}".strip(),
                                 links=[Link(url, "source")])])
    store.save_issue(issue)
    embed_stories(store, embedder)
    cluster_stories(store)
    return store.db.execute("SELECT id FROM issues WHERE guid = 'told-again'").fetchone()[0]


def pages_of(out: Path) -> dict[str, str]:
    return {p.relative_to(out).as_posix(): p.read_text("utf-8") for folder in ("issues", "newsletters")
            for p in (out / folder).glob("*.md")}


def to_rebuild(store: Store, briefer) -> list[str]:
    """The clusters whose brief a look at the whole archive finds out of date."""
    stored = store.brief_states()
    return sorted(c for c, h in input_hashes(store, briefer).items() if stored.get(c, (None,))[0] != h)


def test_briefs_rebuilt_are_those_the_whole_archive_says_are_out_of_date(night, embedder):
    store, briefer, out = night
    tell_again(store, embedder)
    expected = to_rebuild(store, briefer)
    assert expected
    before = store.brief_states()
    report = brief_clusters(store, briefer, out)
    rebuilt = sorted(c for c, (h, _) in store.brief_states().items() if before.get(c, (None,))[0] != h)
    assert report["briefed"] == len(expected) and rebuilt == expected
    assert report["scope"] < store.count("clusters")  # it looked at the clusters marked due and their threads
    assert to_rebuild(store, briefer) == [] and store.due("brief") == []


def test_a_story_that_doubts_or_an_edit_rebuilds_what_the_whole_archive_says(night, embedder):
    """A joining story that cuts against a claim may be counter-evidence for any brief of its thread, and an
    edited story may change any of them: the stage then looks at the whole thread."""
    store, briefer, out = night
    tell_again(store, embedder, doubt="Critics question the results, and skeptics say it falls short.")
    assert store.due("joined")
    expected = to_rebuild(store, briefer)
    assert brief_clusters(store, briefer, out)["briefed"] == len(expected) > 0
    assert to_rebuild(store, briefer) == [] and store.due("joined") == store.due("thread") == []
    sid = store.db.execute("SELECT m.story_id FROM cluster_members m JOIN clusters c ON c.id = m.cluster_id WHERE "
                           "c.thread_id IS NOT NULL ORDER BY m.story_id LIMIT 1").fetchone()[0]
    store.db.execute("UPDATE stories SET text = text || ' It did not hold up.', content_hash = 'edited' WHERE id = ?",
                     [sid])
    store.db.conn.commit()
    assert store.due("thread")
    embed_stories(store, embedder)
    cluster_stories(store)
    expected = to_rebuild(store, briefer)
    assert brief_clusters(store, briefer, out)["briefed"] == len(expected) > 0
    assert to_rebuild(store, briefer) == []


def test_a_crash_mid_brief_stage_leaves_the_briefs_due(night, embedder, monkeypatch):
    import outputs.brief_stage as stage

    store, briefer, out = night
    tell_again(store, embedder)
    due, expected = store.due("brief"), to_rebuild(store, briefer)
    real = stage._write

    def write_one_then_die(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("killed")

    monkeypatch.setattr(stage, "_write", write_one_then_die)
    with pytest.raises(RuntimeError):
        brief_clusters(store, briefer, out, batch=1)
    assert store.due("brief") == due  # its markers stay until every brief is written
    assert len(to_rebuild(store, briefer)) == len(expected) - 1
    monkeypatch.undo()
    assert brief_clusters(store, briefer, out)["briefed"] == len(expected) - 1
    assert to_rebuild(store, briefer) == [] and store.due("brief") == []


def test_a_night_with_one_new_story_renders_its_pages_only_and_they_equal_a_full_rebuild(night, embedder, tmp_path):
    store, briefer, out = night
    tell_again(store, embedder)
    brief_clusters(store, briefer, out)
    assert store.due("watch")  # the briefs written tonight
    watch_stage(store, briefer, out)
    assert store.due("watch") == []
    store.mark_full("watch")
    assert store.watch_pending() == []  # a look at every brief finds none the watch stage has not read
    report = pages_night(store, briefer.templates, out)
    assert 1 <= report["issues"] < store.count("issues") and report["newsletters"] < len(store.source_names())
    assert report["changed"] >= 2  # the new issue's page and that of the issue it told again, at least
    write_pages(store, briefer.templates, tmp_path / "full")
    assert pages_of(out) == pages_of(tmp_path / "full")
    assert store.due("page") == store.due("letter") == []


def test_a_renamed_issue_loses_its_old_page(night, tmp_path):
    store, briefer, out = night
    issue = store.db.execute("SELECT id FROM issues ORDER BY id LIMIT 1").fetchone()[0]
    store.db.execute("UPDATE issues SET title = 'Renamed issue' WHERE id = ?", [issue])
    store.db.conn.commit()
    report = pages_night(store, briefer.templates, out)
    assert report["issues"] == 1 and report["removed"] == 1
    write_pages(store, briefer.templates, tmp_path / "full")
    assert pages_of(out) == pages_of(tmp_path / "full")


def test_a_crash_mid_pages_stage_leaves_the_pages_due(night, embedder, monkeypatch, tmp_path):
    import outputs.pages as pages

    store, briefer, out = night
    tell_again(store, embedder)
    brief_clusters(store, briefer, out)
    watch_stage(store, briefer, out)
    due = (store.due("page"), store.due("letter"))
    assert due[0] and due[1]
    real, calls = pages._write, []

    def write_one_then_die(path, text):
        calls.append(path)
        if len(calls) > 1:
            raise RuntimeError("killed")
        return real(path, text)

    monkeypatch.setattr(pages, "_write", write_one_then_die)
    with pytest.raises(RuntimeError, match="killed"):
        pages_night(store, briefer.templates, out)
    assert (store.due("page"), store.due("letter")) == due
    monkeypatch.undo()
    assert "skipped" not in pages_night(store, briefer.templates, out)
    write_pages(store, briefer.templates, tmp_path / "full")
    assert pages_of(out) == pages_of(tmp_path / "full")
