"""Segmentation: issues in three common layouts become the right stories."""
from __future__ import annotations

import pytest

from sources.segment import segment


def titles(stories):
    return [s.title for s in stories]


def news(stories):
    """Stories that are not sponsor items (those are kept apart, with section "sponsor")."""
    return [s for s in stories if s.section != "sponsor"]


def test_importai_layout_with_hash_rules(fixture_bytes):
    stories = segment(fixture_bytes("importai_hashes.html").decode(), segmenter="importai",
                      base_url="https://importai.example.org/p/1")
    assert titles(stories) == [
        "Sparrow-2 learns to play forty board games from their rulebooks",
        "Chip export rules tighten again",
        "A dataset of one million hand-drawn diagrams",
        "The Last Rulebook",
    ]
    sparrow, chips, diagrams, tale = stories
    assert sparrow.dek == "One agent, forty games, no game-specific code"
    # bold lead-ins, even alone on a line, stay inside their story
    assert "paired a language model" in sparrow.text and "generality is creeping up" in sparrow.text
    assert [l.url for l in sparrow.links] == ["https://fieldstone.example.org/sparrow-2?id=7"]
    assert [l.url for l in chips.links] == ["https://trade.example.gov/controls-2026", "https://analysis.example.com/controls"]
    assert chips.text.startswith("The trade ministry")
    assert [s.section for s in stories] == ["main", "main", "main", "fiction"]
    assert [s.position for s in stories] == [0, 1, 2, 3]
    assert "Welcome to Import AI" not in " ".join(s.text for s in stories)


def test_importai_real_layout_sample():
    from pathlib import Path
    from sources.feed import parse_feed
    body = (Path(__file__).parents[2] / "sources/samples/gradient-notes.xml").read_bytes()
    first, second = parse_feed(body, source="gn", segmenter="importai")
    assert len(first.stories) == 4 and first.stories[-1].section == "fiction"
    assert first.stories[0].title == "Lumen Labs releases the weights of Hyperion-7B"
    assert "What they did" in first.stories[0].text  # lead-in did not split the story
    assert titles(second.stories)[-1] == "Registry"


def test_substack_h2_sections_drop_sponsor_and_footer(fixture_bytes):
    everything_stored = segment(fixture_bytes("substack_h2.html").decode(), base_url="https://compute.example.org/p/9")
    stories = news(everything_stored)
    assert titles(stories) == [
        "Cinder ships a serverless GPU tier",
        "Why your eval numbers do not match the paper",
        "Open-source tokenizer trainer hits 1.0",
    ]
    evals = stories[1]
    assert "Answer parsing silently drops" in evals.text  # a list under a heading belongs to that story
    assert [l.url for l in evals.links] == ["https://evals.example.net/mismatch"]
    everything = " ".join(s.text for s in stories)
    assert "Quiver" not in everything and "Share this post" not in everything
    assert "Good morning" not in everything  # the preamble is not a story
    sponsor = [s for s in everything_stored if s.section == "sponsor"]
    assert len(sponsor) == 1 and "Quiver" in sponsor[0].text  # the ad is kept as a sponsor item, not news


def test_links_list_newsletter_one_story_per_item(fixture_bytes):
    stored = segment(fixture_bytes("links_list.html").decode(), issue_title="Five Links Friday #88",
                     base_url="https://links.example.org/88")
    stories = news(stored)
    assert [(s.title, s.section) for s in stored if s.section == "sponsor"] == [("BuyCloud: the cheapest GPUs in town.", "sponsor")]
    assert titles(stories) == [
        "Quantization without tears",
        "Mistral-style sliding windows explained",
        "A benchmark of ten vector databases at one billion vectors, with recall and cost per query.",
        "Distilling reasoning into 1B models",
        "Agents in production: a postmortem",
    ]
    assert all(len(s.links) == 1 for s in stories)
    assert stories[1].links[0].url == "https://b.example.com/windows"  # tracking parameter cut
    assert {s.section for s in stories} == {"What we read this week"} or {s.section for s in stories} == {"Links"}


@pytest.mark.parametrize("html", [
    '<p>Hello <a href="javascript:alert(1)">x</a><script>alert(2)</script></p>',
    '<h2 onclick="evil()">Title</h2><p>Body text <img src="https://t.example/p.gif" width="1"> '
    '<a href="JaVaScRiPt:alert(3)">y</a> <iframe src="https://evil.example"></iframe></p>',
])
def test_hostile_html_never_reaches_text_or_markdown(html):
    for story in segment(html):
        for field in (story.title, story.text, story.markdown):
            assert "<script" not in field and "javascript:" not in field.lower() and "alert(2)" not in field
        assert all(link.url.startswith("https://") for link in story.links)


def test_unknown_segmenter_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown segmenter 'nope'"):
        segment("<p>x</p>", segmenter="nope")
