"""Segmentation of synthetic issues in the layouts of real newsletters: exact titles and sections."""
from __future__ import annotations

import pytest

from sources.segment import SEGMENTERS, register_segmenter, segment


def pairs(stories):
    return [(s.title, s.section) for s in stories]


def test_deep_dive_keeps_question_subheadings_inside_the_story(fixture_bytes):
    stories = segment(fixture_bytes("layout_deep_dive.html").decode(), issue_title="Robots learn to fold laundry",
                      base_url="https://daily.example.com/p/1")
    assert pairs(stories) == [
        ("Sorting support tickets by hand?", "sponsor"),  # a plain-paragraph ad ("cancel anytime")
        ("Foldbot’s robot arm folds a basket of laundry in four minutes", "main"),
        ("LensCorp ships a small vision model that runs on phones", "main"),
        ("Stop guessing your cloud bill.", "sponsor"),  # "(Sponsor)" in a bold lead
        ("Chip foundry adds a second packaging line to ease the accelerator shortage.", "QUICK BITES"),
        ("Parlance - Translate meetings live in 40 languages.", "QUICK BITES"),
        ("Benchly - an open leaderboard for speech models.", "QUICK BITES"),
    ]
    foldbot = stories[1]
    for label in ("What’s going on here?", "WHAT DOES THIS MEAN?", "Why should I care?", "Runs on one consumer GPU"):
        assert label in foldbot.text  # sub-headings and bullets stay in their story
    assert "View more" not in " ".join(s.text for s in stories)
    assert [link.url for link in stories[2].links] == ["https://lenscorp.example.com/small-vision"]
    everything = " ".join(s.title + s.text for s in stories)
    assert "Gridline" not in everything and "Refer 3 friends" not in everything  # hiring list and referral
    assert "Hi friends" not in everything  # the preamble


def test_beehiiv_picks_tools_and_unclassifieds(fixture_bytes):
    stories = segment(fixture_bytes("layout_beehiiv_picks.html").decode(), issue_title="Agents everywhere")
    assert pairs(stories) == [
        ("Quillmate drafts your release notes from merged pull requests.", "sponsor"),
        ("Tandem releases an open agent framework.", "Our Picks"),
        ("Coder v3 tops the open code benchmarks", "Our Picks"),
        ("Regulators in three countries asked chatbot makers to label generated images by next spring.",
         "Our Picks"),  # a pick without a headline: its first sentence
        ("Stickerly - Turn any photo into a sticker pack.", "Cool Tools"),
        ("DeckWiz – Slides from a one-line prompt.", "Cool Tools"),
        ("Shelf & Co", "Cool Tools"),
        ("A court rules on training data in a photo archive case.", "Everything else"),
        ("A podcast on evaluation with two benchmark authors.", "Everything else"),
        ("Brightpath is hiring a founding ML engineer.", "sponsor"),
        ("Learn prompt design in a weekend workshop.", "sponsor"),
    ]
    tandem = stories[1]
    assert "Works offline" in tandem.text  # bullets inside a numbered pick belong to it
    assert [link.url for link in tandem.links] == ["https://tandem.example.dev/hosted"]
    assert "cat running a standup" not in " ".join(s.title + s.text for s in stories)  # images of the day


def test_markdown_digest_headlines_categories_and_bare_links(fixture_bytes):
    stories = segment(fixture_bytes("layout_markdown_digest.html").decode(), issue_title="The Digest #5")
    assert pairs(stories) == [
        ("Warehouse robots get a union-negotiated safety code", "Top News"),
        ("A weather model beats the physics baseline at ten-day forecasts", "Top News"),
        ("City council pauses its face-recognition cameras", "Top News"),
        ("What a good camera audit looks like", "Top News"),  # a "[headline](url) - summary" entry
        ("Sparse experts, dense results", "Research"),
        ("Why small models forget & how to stop it", "Research"),
        ("Chipmaker raises $400M for inference chips", "Business"),
        ("Retailer pilots AI stock checks", "Business"),
    ]
    assert "It runs in a minute" in stories[1].text  # a quote under a headline is part of it
    assert stories[2].dek == "Dana Ortiz, Civic Wire"  # a byline set as a smaller heading is no story
    assert all(len(s.links) == 1 for s in stories)
    everything = " ".join(s.title + s.text for s in stories)
    assert "Another funding round" not in everything and "Deepfake robocalls" not in everything  # bare links
    assert "podcast" not in everything.lower() and "Copyright" not in everything


@pytest.mark.parametrize("segmenter", ["importai", "generic"])
def test_importai_2026_lead_ins_never_open_stories(fixture_bytes, segmenter):
    stories = segment(fixture_bytes("layout_importai_2026.html").decode(), segmenter=segmenter)
    assert pairs(stories) == [
        ("Tidewater: a benchmark for agents that run a small business", "main"),
        ("Sensors & signals: a robot hand learns touch from sound", "main"),
        (("Will compute get cheaper forever? What the last decade of chip prices tells us, and what it does not, "
          "about the next one"), "main"),
        ("Tech Tales: The Quiet Archive", "fiction"),
    ]
    tidewater = stories[0]
    assert tidewater.dek == "Inventory, pricing and customer e-mail, all in one simulation"
    for lead_in in ("It works well (on some simple tasks)", "What kind of tasks are in Tidewater?", "Get the data"):
        assert lead_in in tidewater.text
    assert "travelling" not in " ".join(s.text for s in stories)  # the italic editor's note before it
    assert "**" not in stories[-1].title and "savouring" in stories[-1].text


@pytest.mark.parametrize("fiction_html, title", [
    ("<p><strong>Tech Tales:</strong></p><p><em>The Long Shift</em></p><p>She logged in at dawn.</p>",
     "The Long Shift"),
    ("<p><strong>Tech Tales: The Long Shift</strong></p><p>She logged in at dawn.</p>", "Tech Tales: The Long Shift"),
    ("<p>Tech Tales</p><p><em><strong>The Long Shift</strong></em></p><p>She logged in at dawn.</p>",
     "The Long Shift"),
    ("<p>**Tech Tales:  </p><p>The Long Shift<br />** _[A call centre, 2031]</p><p>_ She logged in at dawn.</p>",
     "Tech Tales: The Long Shift"),
])
@pytest.mark.parametrize("segmenter", ["importai", "generic"])
def test_tech_tales_in_every_markup_is_fiction(fiction_html, title, segmenter):
    html = ("<p><strong>A lab trains a very large model on very little data:<br /></strong>"
            "<em>…Less is more, sometimes…<br /></em>The lab reports strong results.</p><hr />" + fiction_html)
    stories = segment(html, segmenter=segmenter)
    assert pairs(stories)[-1] == (title, "fiction")
    assert "logged in at dawn" in stories[-1].text


@pytest.mark.parametrize("segmenter", ["generic", "importai"])
def test_a_headline_about_fiction_is_news(segmenter):
    html = ("<p><strong>Fiction writers sue an AI company over training data:<br /></strong>"
            "<em>…A class action…<br /></em>Authors filed suit this week.</p>")
    expected = [("Fiction writers sue an AI company over training data", "main")]
    assert pairs(segment(html, segmenter=segmenter)) == expected


@pytest.mark.parametrize("segmenter", ["importai", "generic"])
def test_importai_headlines_set_as_headings(segmenter):
    html = ("<p>Welcome to Import AI, a newsletter about AI research.</p>"
            "<h3>Robots learn chores from one video</h3><p><em>…One demo is enough…</em></p>"
            "<p>A lab trained a robot from a single video.</p><p><strong>Get the data</strong></p><p>It is public.</p>"
            "<hr /><h3>A benchmark for spreadsheets</h3><p><em>…Formulas all the way down…</em></p>"
            "<p>Models struggle.</p>")
    stories = segment(html, segmenter=segmenter)
    assert pairs(stories) == [("Robots learn chores from one video", "main"), ("A benchmark for spreadsheets", "main")]
    assert stories[0].dek == "One demo is enough" and "Get the data" in stories[0].text


def test_generic_fiction_section_by_heading():
    html = ("<h2><a href='https://n.example/a'>A real headline about chips</a></h2><p>Chips got faster this week.</p>"
            "<h2>Short fiction</h2><p><em>Night Shift</em></p><p>The robot waited for the lights to go out.</p>")
    assert pairs(segment(html)) == [("A real headline about chips", "main"), ("Night Shift", "fiction")]


def test_titles_are_unescaped_once_and_clean():
    html = ("<p>Intro.</p><h2>Tools &amp;amp; tricks</h2><p>One paragraph of text about tools and tricks.</p>"
            "<h3>Links</h3><ul>"
            "<li><p><strong>**Bold &amp; brash**</strong> - a product that ships."
            " (<a href='https://p.example/'>link</a>)</p></li>"
            "<li><p>R&amp;D spend &lt;grows&gt; again. (<a href='https://r.example/'>link</a>) -</p></li></ul>")
    titles = [s.title for s in segment(html)]
    assert titles == ["Tools & tricks", "Bold & brash", "R&D spend <grows> again."]


def test_registry_names_and_duplicate_registration():
    assert {"generic", "importai"} <= set(SEGMENTERS)
    with pytest.raises(ValueError, match="registered twice"):
        register_segmenter("generic")(lambda blocks, title="": [])


def test_plain_link_list_without_any_label():
    html = ("<p>Hi all, three links this week.</p><ul>"
            "<li><a href='https://a.example/1'>Quantized serving at scale</a> - a guide to 4-bit serving.</li>"
            "<li>Toolname - does a thing for agents. (<a href='https://b.example/'>link</a>)</li>"
            "<li><a href='https://c.example/'>A bare link</a></li>"
            "<li><a href='https://d.example/'>See all links →</a></li></ul>"
            "<p>See you next week, and thanks for reading.</p>")
    assert pairs(segment(html)) == [("Quantized serving at scale", "main"),
                                     ("Toolname - does a thing for agents.", "main")]


def test_unfamiliar_bold_headline_layout_degrades_gracefully():
    html = ("<p>Morning! Here is the week.</p>"
            "<p><strong>A startup prints batteries on paper</strong></p>"
            "<p>The cells bend and cost cents. <a href='https://cells.example/'>Report</a></p>"
            "<p><strong>Why it matters:</strong> cheap sensors everywhere.</p>"
            "<p><strong>Open model tops the leaderboard</strong></p>"
            "<p>An open model beat closed ones on a reasoning benchmark.</p>"
            "<p><strong>The fine print:</strong></p><p>Only on one benchmark.</p>"
            "<p><strong>Links</strong></p>"
            "<ul><li><a href='https://x.example/more'>View more →</a></li></ul>")
    stories = segment(html)
    assert pairs(stories) == [("A startup prints batteries on paper", "main"),
                              ("Open model tops the leaderboard", "main")]
    assert "Why it matters" in stories[0].text and "Only on one benchmark" in stories[1].text


def test_category_digest_with_bold_link_headlines(fixture_bytes):
    stories = segment(fixture_bytes("layout_category_digest.html").decode())
    assert pairs(stories) == [
        ("Reusable upper stage lands for the first time", "Headlines & Launches"),
        ("Foldable phone prices drop below $700", "Headlines & Launches"),
        ("What latency budgets teach about product design", "Deep Dives & Analysis"),
        ("Query a billion rows in a second with BrightDB", "sponsor"),
        ("A diff viewer for notebooks (GitHub Repo)", "Miscellaneous"),
    ]
    assert "second stage intact" in stories[0].text and "second stage" not in stories[1].text


@pytest.mark.parametrize("segmenter", ["generic", "importai"])
def test_editors_notes_and_corrections_are_notes(segmenter):
    html = ("<p><strong>Chips get cheaper again this quarter:<br /></strong><em>…A price war…<br /></em>"
            "Prices fell for the third quarter in a row.</p><hr />"
            "<p><strong>Correction:</strong> last week we gave the wrong year for the chip launch.</p>")
    assert pairs(segment(html, segmenter=segmenter)) == [
        ("Chips get cheaper again this quarter", "main"),
        ("Correction: last week we gave the wrong year for the chip launch.", "notes"),
    ]


def test_news_that_mentions_ads_is_not_sponsored():
    html = ("<h3>Research</h3><ul>"
            "<li><p><a href='https://a.example/ad'>Model finds genes tied to Alzheimer's disease (AD) risk</a>"
            " - a study of 40,000 genomes.</p></li>"
            "<li><p><a href='https://a.example/bard'>Staff told not to use code generated by chatbots</a>"
            " - an internal memo leaks.</p></li>"
            "<li><p>Try Gridly free for a month, cancel anytime. (<a href='https://gridly.example/'>link</a>)</p></li>"
            "</ul>")
    assert [s.section for s in segment(html)] == ["Research", "Research", "sponsor"]


def test_emoji_label_over_one_paragraph_picks_and_nav_bars():
    html = ("<p><a href='https://n.example/'>Newsfeed</a> | <a href='https://n.example/jobs'>Jobs</a> | "
            "<a href='https://n.example/chat'>Join the chat</a></p>"
            "<h3>🤌 Our Picks</h3>"
            "<p><strong><a href='https://a.example/'>Solar drones stay aloft for a week</a></strong>. A test flight"
            " over the desert ended after seven days.</p>"
            "<p>The makers want to sell them as cell towers.</p>"
            "<p>A lab shows <strong><a href='https://b.example/'>robots that sort recycling by touch</a></strong>,"
            " with fewer errors than cameras.</p>")
    stories = segment(html)
    assert pairs(stories) == [("Solar drones stay aloft for a week.", "Our Picks"),
                              ("A lab shows robots that sort recycling by touch, with fewer errors than cameras.",
                               "Our Picks")]
    assert "cell towers" in stories[0].text


def test_early_roundup_one_paragraph_stories_own_the_lists_they_introduce(fixture_bytes):
    """An early daily roundup: every paragraph with a link is a story, bold lead or not, and a list
    introduced by "My notes:" or "here are a few:" is the body of the story that introduces it."""
    stories = segment(fixture_bytes("layout_early_roundup.html").decode(), issue_title="Robots on the night shift")
    titles = [s.title for s in stories if s.section == "THE NEWS"]
    assert titles == [
        "Mira Okafor spoke with the Lumen founders on a livestream.",
        "Harbor Labs ships a lip-sync model on its studio app via https://harbor.example.com/.",
        "Pagewise the note-taking startup has reached $4M ARR in a year of launching.",
        "A moderation fight splits the Pixelforge community.",
        "Ava Lind asked her followers for their favourite AI demos and here are a few from the list",
        "Prompt libraries - a fad or a craft?",
        "Storyloom has passed 5k stories written by its users this month.",
        "Google outlines its next cloud AI services.",
    ]
    notes = stories[[s.title for s in stories].index(titles[0])]
    assert "Evaluation is still the bottleneck" in notes.text and "Harbor" not in notes.text
    demos = stories[[s.title for s in stories].index(titles[4])]
    assert "Roomify" in demos.text and "Prompt libraries" not in demos.text
    assert "sign up to post" not in " ".join(s.title + s.text for s in stories)  # a call to action
    money = [s.title for s in stories if s.section == "MONEY MOVES"]
    assert len(money) == 3 and money[2].startswith("Northstar AI raises $9M")
