"""The facts a brief argues from (outputs/facts.py) and the position it takes (outputs/evidence.py)."""
from __future__ import annotations

import pytest

from outputs import evidence as ev
from outputs import facts as fx


@pytest.mark.parametrize("title, text, section, kind", [
    ("Quillfish - turns meeting notes into tickets.", "", "Tools", "release"),
    ("Sparse mixtures route tokens by difficulty", "A short summary of the method.", "Research", "research"),
    ("Authors sue Orchard AI over training data", "The lawsuit was filed in a federal court.", "", "policy"),
    ("Palisade raises $12M seed round led by Dunmore", "The startup will hire engineers.", "", "funding"),
    ("Chatbot leaked customer records", "A breach exposed conversations of thousands of users.", "", "incident"),
    ("Why I stopped fine-tuning", "An essay: I think most teams should prompt first.", "Opinion", "opinion"),
    ("Tech Tales: The Quiet Room", "A story.", "fiction", "fiction"),
    ("Join our meetup in Lisbon", "Reply to this email to get a ticket.", "", "notice"),
    # a model that predicts things is not a forecast: "predict" is what models do
    ("Q-Fold: protein shapes will be predicted as well as words", "The Quillfish lab has released Q-Fold, "
     "a model that predicts protein structure.", "", "release"),
    ("Orchard's chief predicts that AGI arrives this decade", "An interview.", "", "opinion"),
    # an introduction to something explains it; a platform named Replicate replicates nothing
    ("A gentle, illustrated introduction to how Quillfusion works.", "", "", "opinion"),
    ("Play with the Quillfusion 2.0 model on Replicate.", "", "", "other"),
    # a piece listed by its title is no product listing
    ("Quillnote manifesto- AI and its impact on the note-taking industry.", "", "Miscellaneous", "opinion"),
    ("Under the Hood - How Quillchain counts tokens.", "", "Miscellaneous", "opinion"),
])
def test_kind_from_cues_sections_and_listings(title, text, section, kind):
    assert fx.kind_of(title, text, section)[0] == kind


def test_a_closer_description_breaks_a_tie_of_cues():
    import numpy as np
    protos = {"release": np.array([[1.0, 0.0, 0.0]]), "research": np.array([[0.0, 1.0, 0.0]])}
    assert fx.kind_of("Orrery", "nothing to go on", vector=np.array([0.1, 0.9, 0.0]), prototypes=protos)[0] \
        == "research"
    # no cue and no description close: the closest is a guess, never sure enough to frame a brief
    facts = fx.extract("Orrery", "nothing to go on", [], vector=np.array([0.0, 0.1, 1.0]), prototypes=protos)
    assert (facts.kind, facts.kind_sure) == ("research", False)
    assert fx.kind_of("Orrery", "nothing to go on")[0] == "other"  # nothing to compare with: nothing is claimed


@pytest.mark.parametrize("text, urls, want", [
    ("Weights are on the hub.", ["https://huggingface.co/lumen/hyperion-7b"], ["weights"]),
    ("Code is out.", ["https://github.com/lumen/hyperion"], ["code"]),
    ("Read the preprint.", ["https://arxiv.org/abs/2401.00001"], ["paper"]),
    ("A new corpus.", ["https://huggingface.co/datasets/lumen/corpus"], ["dataset"]),
    ("Full-text search is now on the hub.", ["https://huggingface.co/search/full-text"], []),  # a page, no model
    ("Get the models and data here (Q-Fold, GitHub).", [], ["weights", "dataset"]),
    ("Get the code here. We need to get models that behave.", [], ["code"]),
    ("An open-source version of Quillnote, their note app.", [], ["code"]),
    ("A series of open-source alternatives to Quillnote.", [], []),
    ("Launched without releasing the weights or the code.", [], []),
    ("The lab will open-source the model next year.", [], []),
    ("Open-sourced the model weights under Apache 2.0 today.", [], ["weights"]),
    # an API the story offers, not one it mentions
    ("An official Quillnote API.", [], ["api"]),
    ("Quillbox - The API for building note apps.", [], ["api"]),
    ("API access opens to every developer on Monday.", [], ["api"]),
    ("Quill Dashboards - Connect your APIs and data sources.", [], []),
    ("Orchard's API-driven apps were free for researchers.", [], []),
    ("Example prompts for common tasks with the Quillchat API.", [], []),
    # what a story builds on is not what it releases; a headline's verb before a name releases it
    ("Quillcounsel - Ask any legal question, based on the open-source model Quillbloom.", [], []),
    ("Orchard Researchers Open-Source ‘Quilldialog’: A Pre-Trained Model For Dialog", [], ["code"]),
    ("Orchard open-sources Quilldialog", [], ["code"]),
    ("Orchard to open-source Quilldialog next year", [], []),
])
def test_artifacts_from_links_and_text_not_denied_or_promised(text, urls, want):
    assert fx.artifacts_of(text, urls)[0] == want


def test_a_listed_tool_linking_to_its_own_site_is_something_to_try():
    tool = "Quillfish - turns meeting notes into tickets"
    assert fx.artifacts_of(tool, ["https://quillfish.app/"], listing=True)[0] == ["demo"]
    assert fx.artifacts_of(tool, ["https://techcrunch.com/x"], listing=True)[0] == []
    # a listed podcast episode or article is not a product to try
    assert fx.artifacts_of("Commoditizing the Petaflop - with a chip founder", ["https://podcast.example/ep"],
                           listing=True)[0] == []


def test_an_item_of_a_tools_section_linking_to_its_own_site_is_something_to_try():
    item = "Quillfish for meeting notes."
    assert fx.extract(item, item, ["https://quillfish.app/"], section="Cool Tools").artifacts == ["demo"]
    assert fx.extract(item, item, ["https://techcrunch.com/x"], section="Cool Tools").artifacts == []
    assert fx.extract(item, item, ["https://quillfish.app/"], section="Research").artifacts == []


def test_licence_price_access():
    assert fx.licence_of("released under the Apache 2.0 licence") == ("Apache-2.0", "commercial use allowed")
    assert fx.licence_of("weights for non-commercial use only")[0] == "CC-BY-NC"
    assert fx.price_of("It costs $20/month for teams.") == "$20/month"
    assert fx.access_of("Sign up for the waitlist to get access.") == "waitlist"
    assert fx.access_of("Now available to everyone.") == "open"


def test_figures_say_what_they_measure_and_claims_who_measured():
    figs = fx.figures_of(["Inference is 40% faster on one card.", "Palisade raised $12M.",
                          "Union AI raises $19.1M Series A to simplify data workflows."])
    assert [(f.value, f.measures) for f in figs] == [("40%", "faster on one card"), ("$12M", ""),
                                                     ("$19.1M", "Series A round")]
    assert fx.claim_standing(["Independent tests found it 30% slower than claimed."], fx.figures_of(
        ["Independent tests found it 30% slower than claimed."]))[0] == "measured"
    said = ["The company claims a 2x speedup."]
    assert fx.claim_standing(said, fx.figures_of(said)) == ("asserted", "claims")
    # a definition's threshold is no result ("they define transformative AI as ... 3-5x historical growth")
    said = ["For the paper, they define transformative AI as AI that lifts productivity growth at least 3 - 5x historical "
            "averages.", "Growth rose 12% in the pilot."]
    assert [f.value for f in fx.figures_of(said)] == ["12%"]
    # a sum ending its sentence is the sum; one a quoted excerpt cut short is none
    assert [f.value for f in fx.figures_of(["It costs $20.", "That is cheap."])] == ["$20"]
    assert fx.figures_of(['Quillcorp, acquired last year by Orchard for $19."']) == []
    text = 'Quillcorp uses Quill-4 for notes. Quillcorp, acquired last year by Orchard for $19."'
    assert fx.figures_of(["Quillcorp, acquired last year by Orchard for $19."], cut=fx.cut_sums(text)) == []
    # the maker's figure quoted whole, never cut at its decimal point ("up to 1")
    said = ["It gives up to 1.3x speedup at 16 thousand context length over tuned baselines."]
    assert fx.claim_standing(said, fx.figures_of(said)) == ("asserted", "up to 1.3x")


def _facts(**over) -> fx.Facts:
    return fx.Facts(**{"kind": "release", "kind_cues": [], "artifacts": [], "artifact_links": {}, **over})


@pytest.mark.parametrize("kind, facts, sources, counter, claim_by, verdict", [
    ("release", {"artifacts": ["weights"]}, 1, [], "", ev.TRY),
    ("release", {"artifacts": ["demo"], "access": "waitlist"}, 1, [], "", ev.WATCH),
    ("release", {}, 1, [], "asserted", ev.HYPE),
    ("release", {}, 2, [], "asserted", ev.WATCH),  # two newsletters: not one writer's enthusiasm
    ("release", {"artifacts": ["weights"]}, 3, [{"title": "Replication falls short"}], "", ev.WARY),
    ("incident", {}, 1, [], "", ev.WARY),
    ("opinion", {}, 1, [], "", ev.NOTE),
    ("policy", {}, 2, [], "", ev.WATCH),
])
def test_the_position_follows_the_evidence(kind, facts, sources, counter, claim_by, verdict):
    claim = ev.Claim("It is 2x faster.", "2x", by=claim_by) if claim_by else None
    got = ev.position(kind, _facts(kind=kind, **facts), sources=sources, contrary=False, counter=counter,
                      claim=claim)
    assert got.verdict == verdict


def test_the_claim_to_doubt_is_the_telling_figure_and_names_its_comparison():
    facts = fx.extract("Kestrel-3B launches", "Kestrel-3B was trained on 2 trillion tokens.\nThe company says it is "
                       "3x faster than Hyperion-7B on one card.", [])
    claim = ev.claim_of(facts, [], "Kestrel-3B")
    assert claim.figure == "3x" and claim.versus == "Hyperion-7B" and claim.by == "asserted"


def test_a_models_size_is_no_claim_to_doubt():
    said = "They take a Quill 2 70B model and finetune it to be competitive with much larger models."
    facts = fx.extract("Orchard bootstraps Quill 2", said, [])
    assert ev.claim_of(facts, [said], "Quill") is None or ev.claim_of(facts, [said], "Quill").figure != "70B"


def test_a_question_or_the_writers_aside_is_no_claim_to_doubt():
    facts = fx.extract("Quillmatch open-sources its detector", "Quillmatch open-sourced its detector.", [])
    for aside in ["I wonder if Quillmatch is any faster than it was?", "I never got more matches with Quillmatch."]:
        assert ev.claim_of(facts, [aside], "Quillmatch") is None
    assert ev.claim_of(facts, ["Quillmatch is 3x faster than before."], "Quillmatch") is not None


def test_a_claim_is_a_first_of_its_kind_or_a_change_by_a_figure_not_any_first_or_most():
    facts = fx.extract("Study: Quillbot lifted productivity", "A real-world study of 5,000 agents shows Quillbot "
                       "boosted worker productivity by 14%.", [])
    claim = ev.claim_of(facts, [], "Quillbot")
    assert claim is not None and claim.figure == "14%"
    background = "Submarines would likely survive the first missile strike and thus be able to respond."
    assert ev.claim_of(fx.extract("Will Quillsonar find submarines?", background, []), [background], "") is None
    idiom = "Getting the most out of Quillsonar isn't as easy as everyone says it is."  # "the most out of": no claim
    assert ev.claim_of(fx.extract("Quillsonar finds submarines", idiom, []), [idiom], "Quillsonar") is None
    novel = "Quillsonar is the first system to find quiet submarines."
    assert ev.claim_of(fx.extract("Quillsonar finds submarines", novel, []), [novel], "Quillsonar") is not None


@pytest.mark.parametrize("text, form", [
    ("In an interview, the founder explains her plans.", "interview"),
    ("How I built a viral AI web app", "how-to"),  # a build log
    ("Behind the Scenes - How Quillchain calculates token pricing.", "explainer"),
    ("How to write evals: a step-by-step guide.", "how-to"),
    ("We predict that by 2035 most code will be written by models.", "forecast"),
    ("The case against scaling, argued at length.", "essay"),
])
def test_what_sort_of_read_an_opinion_is(text, form):
    assert ev.form_of(text) == form


@pytest.mark.parametrize("title, text, form", [
    # a roundup's "guide", and a body that uses the words, are no how-to
    ("Your guide to AI in April 2023.", "", "essay"),
    ("Quillchat is poised to upend medical information.", "Patients could learn more about their conditions.",
     "essay"),
    ("A beginner's guide to fine-tuning", "", "how-to"),
    ("Why small models win", "In this tutorial we fine-tune one on a laptop.", "how-to"),
])
def test_the_headline_says_what_sort_of_read_the_body_only_where_it_names_it(title, text, form):
    assert ev.form_of(title, text) == form


@pytest.mark.parametrize("title, text, decided", [
    ("German court bans Tesla's Autopilot ads", "A judge ruled the claims misleading.", True),
    ("The EU proposes a registry for large training runs", "A draft rule would require reporting.", False),
    ("Quill State Governor Signs Bill Banning Facial Recognition by Police", "The bill takes effect in January.",
     True),
    ("Top court declines to hear lawsuit over AI inventions", "The court declined to hear the appeal.", True),
])
def test_a_decided_rule_is_told_apart_from_a_proposal(title, text, decided):
    facts = fx.extract(title, text, [], "Policy")
    assert facts.kind == "policy" and facts.binding and facts.decided == decided


def test_a_blurb_gives_no_reading_time_and_seconds_are_a_figure():
    from outputs.brief import _reading_minutes
    assert _reading_minutes("word " * 120) == 0 and _reading_minutes("word " * 920) == 4
    assert [f.value for f in fx.figures_of(["It makes an image in under 2 seconds on a phone."])] == ["2 seconds"]


def test_a_title_case_headline_names_only_what_its_body_confirms():
    from outputs import signals as sig

    title = "Orbital Labs’ Hyperion-7B Model Claims To Beat Rivals On Every Coding Benchmark"
    body = (f"{title} - Orbital Labs released Hyperion-7B on Tuesday and says the model beats larger rivals "
            "on coding benchmarks.")
    assert sig.title_case(title) and not sig.title_case("Orbital Labs releases Hyperion-7B for coding")
    found = sig.names([title, body], title)
    assert "Orbital Labs" in found and "Hyperion-7B" in found
    assert not any(w in n for n in found for w in ("Claims", "Rivals", "Coding", "Model"))
    # nothing in the body confirms the capitals: only a coined word is left
    bare = "Research Task Force Votes To Send Final Report On Hyperion-7B"
    assert sig.names([bare, "The group voted on Monday."], bare) == ["Hyperion-7B"]


def test_a_name_never_runs_across_lines_nor_is_a_funding_round():
    from outputs import signals as sig

    told = ["Quillfish is the latest bet on open-source AI", "Quillfish Labs raised $9M Series A for it.\n"
            "Its Series B is next, says Quillfish Labs."]
    found = sig.names(["\n".join(told)])
    assert found == ["Quillfish Labs"]  # not "AI Quillfish Labs", "Series A", "Series B"


def test_a_byline_a_verb_opening_a_sentence_and_a_month_are_not_names():
    from outputs import signals as sig

    assert sig.names(["Jane Roe, The Ledger -- Orchard is using a model to spot edited photos."]) == ["Orchard"]
    assert sig.names(["Tucked away in the 400-page bill is a rule on Quillchat. Boeing says it will comply."]) \
        == ["Quillchat", "Boeing"]
    assert sig.not_a_subject("December") and not sig.not_a_subject("Quillchat")
    assert sig.names(["Introducing Quill-9: a new model for notes"]) == ["Quill-9"]


def test_a_kind_that_only_just_won_is_not_sure():
    title = "Quillfish partners with a university"  # one business cue, one research cue: a tie
    tie = fx.extract(title, f"{title}.", [])
    assert tie.kind in ("business", "research") and not tie.kind_sure
    filed = fx.extract(title, f"{title}.", [], section="Research")
    assert filed.kind == "research" and filed.kind_sure  # the newsletter's own section settles it
    clear = fx.extract("Quillfish raises $20M in a Series A led by Lumen Ventures",
                       "The startup raised a $20 million Series A round; investors value it at $200M.", [])
    assert clear.kind == "funding" and clear.kind_sure


def test_a_headline_that_speculates_and_names_no_release_is_not_framed_as_one():
    text = "Editors are looking at how AI is being used as a tool to help people cut video faster; lets you trim."
    maybe = fx.extract("AI might help edit the next generation of films", text, [])
    assert not (maybe.kind == "release" and maybe.kind_sure)
    tool = fx.extract("This Quillmap tool lets you see how floods could reach your home", text, [])
    assert tool.kind == "release" and tool.kind_sure  # the headline itself presents a tool


AUDIENCES = {
    "Policy teams": ["government regulation, laws and bans", "lawsuits, courts and copyright"],
    "Applied ML engineers": ["chatbots, agents and APIs for apps"],
    "Everyone": ["what artificial intelligence is used for in the world"],  # only general words: needs no evidence
}


def test_an_audience_needs_its_own_words_in_the_story():
    from outputs import signals as sig
    cues = sig.audience_cues(AUDIENCES)
    assert {"regulat", "law", "ban", "lawsuit", "court"} <= cues["Policy teams"]
    assert "intelli" not in cues["Everyone"] and not cues["Everyone"]
    backed = sig.supported(cues, "Regulators said the new laws ban the practice.")
    assert backed["Policy teams"] == ["ban", "laws", "Regulators"]
    assert "Applied ML engineers" not in backed and "Everyone" in backed
    assert "Policy teams" not in sig.supported(cues, "A chatbot that writes commit messages for your app.")


def test_a_story_near_an_audience_but_without_its_words_is_not_for_it():
    import numpy as np
    from outputs import signals as sig
    roles = {"Policy teams": np.array([[1.0, 0.0]]), "Applied ML engineers": np.array([[0.0, 1.0]])}
    cues = sig.audience_cues({k: v for k, v in AUDIENCES.items() if k in roles})
    story = "Autocommit writes commit messages for you."
    backed = sig.supported(cues, story)
    assert sig.audiences(np.array([0.9, 0.1]), {n: r for n, r in roles.items() if n in backed}) == []
    backed = sig.supported(cues, story + " A chatbot plugs into your app.")
    assert [n for n, _ in sig.audiences(np.array([0.9, 0.1]), {n: r for n, r in roles.items() if n in backed})] \
        == ["Applied ML engineers"]


@pytest.mark.parametrize("name, verdict", [
    ("Israel", True), ("U.S.", True), ("Americans", True), ("San Francisco", True), ("A.I", True),
    ("AGI", True), ("Larkspur-2", False), ("Corvid AI", False), ("EU AI Act", False), ("Georgia Tech", False),
    ("University", True), ("Institute", True), ("Wexford University", False),
    ("Black", True), ("Muslims", True), ("Black Forest Labs", False), ("White House", False),
])
def test_places_peoples_and_the_field_are_not_subjects(name, verdict):
    from outputs import signals as sig
    assert sig.not_a_subject(name) is verdict


def test_a_headline_led_by_a_country_takes_its_other_name_or_none():
    from outputs.brief import Member, subject_and_org
    from outputs import signals as sig

    def subject(title: str, text: str) -> str:
        m = Member("s1", title, text, "letter", "2026-11-02", "i1", "Issue 1", None)
        return subject_and_org([m], sig.names([title, text], title))[0]
    assert subject("Israel deploys Larkspur-2 drones on its border",
                   "The army said Larkspur-2 flies itself. Israel did not say how many.") == "Larkspur-2"
    # nothing but a place to name: no subject (the brief then quotes the headline), never "Americans"
    assert subject("Americans are wary of chatbots, a poll finds",
                   "Most respondents said they would not trust one with money.") == ""


def test_a_name_only_the_text_gives_is_the_subject_only_when_coined_and_repeated():
    from outputs.brief import Member, subject_and_org
    from outputs import signals as sig

    def subject(title: str, text: str) -> str:
        m = Member("s1", title, text, "letter", "2026-11-02", "i1", "Issue 1", None)
        return subject_and_org([m], sig.names([title, text], title))[0]
    # a lab the story mentions is not what it is about: no subject, and the brief quotes the headline
    assert subject("A robot learns to walk on sand in an afternoon",
                   "Engineers at Wexford University trained the legs in simulation first. The gait "
                   "transferred to real sand with little loss.") == ""
    # a coined name the text repeats is the thing the headline talks around
    assert subject("A new way to make language models smaller",
                   "QuillPrune removes half of a model's weights in one pass. QuillPrune needs no "
                   "retraining, its authors say.") == "QuillPrune"


def test_a_concerns_section_alone_does_not_frame_a_story_as_an_incident():
    essay = fx.extract("Is machine art taking from artists?", "Painters and critics weigh in on where it goes.", [],
                       "Concerns")
    assert (essay.kind, essay.kind_sure) == ("incident", False)  # the section's guess, not the brief's frame
    breach = fx.extract("Chatbot maker's breach exposed user chats", "Logs were left open for a week.", [],
                        "Concerns")
    assert (breach.kind, breach.kind_sure) == ("incident", True)


@pytest.mark.parametrize("title, text, binding, programme", [
    ("Senators grill chatbot makers at a hearing", "Lawmakers asked pointed questions about elections.", False, False),
    ("Government launches a $2B programme for AI research centres", "Grants go to universities.", False, True),
    ("Parliament passes a law banning emotion recognition at work", "The ban starts next year.", True, False),
])
def test_policy_news_is_a_rule_a_programme_or_talk(title, text, binding, programme):
    facts = fx.extract(title, text, [], "Policy")
    assert facts.kind == "policy"
    assert (facts.binding, facts.programme) == (binding, programme)


def test_a_story_without_a_subject_still_gives_skeptics_its_headline_claim():
    assert ev.capability_of([], "Field robots to help breeders scout vineyards", "") == \
        "Field robots to help breeders scout vineyards"
    assert ev.capability_of([], "The inequality problem nobody budgets for", "") == ""  # claims no ability


def test_a_sum_after_a_space_is_a_funding_cue():
    kind, cues, _ = fx.kind_decision("Parcel giant Orvex to take over robot maker Tindal for $230M in cash", "", "")
    assert kind == "funding" and "$230m" in cues


@pytest.mark.parametrize("title, want", [
    ("Orvex buys speech startup Tindal Labs for $230M", ("Orvex", "Tindal Labs", "$230M")),
    ("Why Pelican wants to acquire Quorra", ("Pelican", "Quorra", "")),
    ("Tindal Labs, a speech startup, is acquired by Orvex for $230 million", ("Orvex", "Tindal Labs", "$230 million")),
    ("Orvex's $2 billion Tindal acquisition is about call centres", ("Orvex", "Tindal", "$2 billion")),
    ("Orvex acquires controlling stake in U.K. robot maker Tindal Robotics", ("Orvex", "Tindal Robotics", "")),
    ("Germany's Orvex buys AI chipmaker Tindal", ("Orvex", "Tindal", "")),
    ("Orvex quietly acquired the model studio Tindal to boost its assistant", ("Orvex", "Tindal", "")),
    ("Orvex completes acquisition of Tindal", ("Orvex", "Tindal", "")),
    # no deal: a sale of time or of products, a buyer that is no name, a count of purchases
    ("Orvex buys time with a new model", None),
    ("Teams want to buy more GPUs from Tindal", None),
    ("How to buy a GPU in 2026", None),
    ("Pelican has acquired more AI startups than anyone", None),
])
def test_an_acquisition_names_its_buyer_target_and_price(title, want):
    deal = fx.deal_of(title)
    assert (deal and (deal["buyer"], deal["target"], deal["price"])) == want


@pytest.mark.parametrize("title, done", [
    ("Orvex buys speech startup Tindal Labs for $230M", True), ("Tindal Labs is acquired by Orvex", True),
    ("Orvex completes acquisition of Tindal", True), ("Orvex to acquire Tindal for $2 billion", False),
    ("Orvex in talks to buy Tindal", False), ("Orvex agrees to buy Tindal", False),
])
def test_a_deal_is_done_unless_the_headline_says_it_is_coming(title, done):
    assert bool(fx.deal_of(title)["done"]) == done


def test_an_acquisition_is_a_deal_unless_surely_told_as_something_else():
    from outputs.brief import Member, subject_and_org
    from outputs import signals as sig
    title = "Orvex Acquires Tindal, Maker of Speech Tools For Call Centres"
    text = "Short item: the link goes to the announcement."  # confirms no name: the headline is read as written
    facts = fx.extract(title, text, [], deal=fx.deal_of(title.lower(), title))
    assert facts.kind == "funding" and facts.kind_sure and facts.deal["target"] == "Tindal"
    m = Member("s1", title, text, "letter", "2026-11-02", "i1", "Issue 1", None)
    assert subject_and_org([m], sig.names([title, text], title)) == ("Tindal", "Orvex")
    # a Title Case run of headline words is no side of a deal
    assert fx.deal_of("apple buys startup that makes music", "Apple Buys Startup That Makes Music") is None
    essay = fx.extract("Why I think Orvex buying Tindal is a mistake", "An essay: I think it is. I argue it. "
                       "My opinion, in short.", [], "Opinion", deal={"buyer": "Orvex", "target": "Tindal", "price": ""})
    assert essay.kind == "opinion" and essay.deal is None


def test_a_span_of_time_is_not_a_score_to_remember():
    from outputs.signals import key_figure
    # when or how often, not a result to check (nor to ask anyone to replicate): no figure, no "3.4"
    assert fx.figures_of(["Compute for the largest runs doubled every 3.4 months, over 12 years."]) == []
    assert key_figure([f.value for f in fx.figures_of(["It scored 3.4 on the test."])]) == "3.4"


def test_a_rare_word_capitalised_only_by_a_title_case_headline_is_no_subject():
    from outputs.brief import Member, subject_and_org
    from outputs import signals as sig
    title = "The Newest Chatbot Trick Is Flattering Us With Attention"
    text = "Assistants now praise their users more than before, a study of Orrery and Quillchat finds."
    m = Member("s1", title, text, "letter", "2026-11-02", "i1", "Issue 1", None)
    # the archive's rarest word of the headline ("flattering") is what the cluster is about, but its capital
    # comes from the headline's style: no name, so the brief quotes the headline
    assert subject_and_org([m], sig.names([title, text], title), named="flattering")[0] == ""
    # a headline in sentence case that capitalises it mid-line names it
    named = "A chatbot called Flattering tops the charts"
    m2 = Member("s2", named, "Users love Flattering, its makers say.", "letter", "2026-11-02", "i2", "Issue 2", None)
    assert subject_and_org([m2], sig.names([named, m2.text], named), named="flattering")[0] == "Flattering"


def test_money_nobody_raised_is_not_framed_as_a_raise():
    spent = fx.extract("Quillco Has Gobbled Up $1 Billion of GPUs This Year",
                    "Quillco has bought GPUs worth more than $1B, according to people familiar.", [])
    raised = fx.extract("Quillco raises $1 billion in funding", "Quillco raised $1B led by Orchard Capital.", [])
    assert spent.kind == "funding" and not spent.kind_sure
    assert raised.kind == "funding" and raised.kind_sure


def test_an_audit_in_a_list_of_services_measures_nothing():
    figures = fx.figures_of(["Quillco plans to invest $1 billion to automate its tax, audit and consulting services."])
    assert fx.claim_standing(["x"], figures)[0] == "asserted"
    figures = fx.figures_of(["An independent audit by Orchard found the model 40% faster."])
    assert fx.claim_standing(["x"], figures)[0] == "measured"


def test_an_incident_says_whether_something_broke():
    outage = fx.extract("Quillchat went down for six hours after a database outage",
                        "Users could not log in; the company blamed a failed migration.", [])
    backlash = fx.extract("Backlash forces Orchard University to drop facial recognition plans",
                          "Students protested the controversial surveillance plan, which critics called harmful.", [])
    attack = fx.extract("Deepfakes in cyberattacks are already here", "Attackers cloned a CEO's voice to "
                        "trick staff into a fraudulent transfer; the incident harmed the firm.", [])
    assert outage.kind == "incident" and outage.failure
    assert backlash.kind == "incident" and not backlash.failure
    assert attack.kind == "incident" and attack.failure


@pytest.mark.parametrize("title, text, weights", [
    ("Quill-Video - New open-source text-to-video model.", "", True),
    ("Introducing Quill-JT, a 6B parameter open source model that beats larger ones.", "", True),
    ("Orchard open-sourced its Quill models", "The weights are on the hub.", True),
    # open-source models as a class, not a release
    ("Imitation Models and the Open-Source LLM Revolution", "Imitation models fine-tune smaller open-source "
     "language models on synthetic dialogue.", False),
    ("How your team can use open-source models to parse documents", "", False),
])
def test_weights_are_a_release_of_an_open_source_model_not_a_mention_of_them(title, text, weights):
    assert ("weights" in fx.extract(title, text, []).artifacts) == weights


def test_a_version_is_part_of_a_name_not_a_figure():
    values = [f.value for f in fx.figures_of(["They see in robotics what they saw in Internet 2.0.",
                                              "Quill Diffusion 2.1 is out and 2.5 times faster.",
                                              "It scores MMLU 69.6 against 87.5 for the rival."])]
    assert values == ["2.5 times", "69.6", "87.5"]


@pytest.mark.parametrize("sentence, measured", [
    ("Quillset starts by reproducing the Orchard training dataset of 1.2 trillion tokens.", False),
    ("It supports 51 languages, encouraging developers to build third-party apps.", False),
    ("A third-party benchmark shows it 40% faster.", True),
    ("Researchers reproduced the results on other hardware.", True),
    ("Two labs could not reproduce the scores.", True),
])
def test_measured_by_others_means_someone_else_measured_it(sentence, measured):
    assert bool(fx.MEASURED_BY_OTHERS.search(sentence)) == measured


def test_a_claim_naming_another_product_is_not_the_subjects():
    facts = fx.extract("Orchard releases Quill-3D, an AI that makes 3D models",
                       "Quill-3D makes a model in 2 minutes on one GPU.\nGPT-5 is 10x better than GPT-4, clearing "
                       "every standard test.", [])
    claim = ev.claim_of(facts, [], "Quill-3D", "Orchard")
    assert claim is None or "GPT-5" not in claim.sentence
    beats = fx.extract("Quill-3D launches", "It beats GPT-4 by 10% on MMLU.", [])
    assert ev.claim_of(beats, [], "Quill-3D", "Orchard").versus == "GPT-4"


def test_making_it_a_crime_is_policy():
    facts = fx.extract("Orchardia makes it a criminal offense to publish deepfakes without disclosure",
                       "Failure to disclose that deepfakes were posted is punished under the new regulation.", [])
    assert facts.kind == "policy"


def test_a_raise_is_no_announced_product():
    facts = fx.extract("Quillstack raises $20M to build open generative models",
                       "Quillstack has raised $20m in seed funding. In the coming months we plan to open up access "
                       "to our platform.", [])
    assert facts.kind == "funding" and facts.access == ""


def test_money_allocated_makes_a_policy_story_a_programme():
    facts = fx.extract("Quillshire Commission allocates over €25.5 million to AI projects",
                       "The Commission selected four AI defence projects under the Quillshire Defence Fund, the "
                       "government said; lawmakers in parliament approved the calls.", [])
    assert facts.kind == "policy" and facts.programme


@pytest.mark.parametrize("text, access", [
    ("Orchard will give ten startups $1M each and early access to its systems", ""),  # given away, no waitlist
    ("Quillchat is in early access now", "waitlist"),
    ("Sign up for early access to Quillchat", "waitlist"),
    # a product in preview is in beta; a reporter given a preview of a lab's demos says nothing of access
    ("Quillchat launches in public preview", "beta"),
    ("Quillchat is in preview for Pro users", "beta"),
    ("Orchard shows off its lab demos; we were given a preview ahead of the conference", ""),
])
def test_early_access_is_a_waitlist_only_where_something_is_in_it_or_one_signs_up(text, access):
    assert fx.access_of(text, text) == access


def test_a_rival_product_is_no_benchmark_but_rivalling_a_name_is():
    rival = fx.extract("Orchard shows off new search features, but a Quillchat rival is still weeks away",
                       "Orchard showed new search features at an event.", [])
    assert rival.kind != "benchmark"
    rivals = fx.extract("Quill-3D rivals GPT-4 on coding", "Quill-3D rivals GPT-4 on every coding test.", [])
    assert rivals.kind == "benchmark"


def test_a_figure_cited_from_someone_else_is_not_the_storys_claim():
    text = ("Orchard researchers use a model to cut emissions. Without action by 2100, according to the Quillmark "
            "Panel on Climate, the world will warm by about 1.5 degrees, 20% faster than thought.")
    facts = fx.extract("Research finds machine learning combats warming", text, [])
    assert any(f.value.startswith(("1.5", "20")) for f in facts.figures)  # the figures are there
    assert ev.claim_of(facts, [], "", "Orchard") is None
    own = fx.extract("Quill-3D is faster", "According to Orchard, Quill-3D runs 20% faster than Quill-2.", [])
    assert ev.claim_of(own, [], "Quill-3D", "Orchard").figure.startswith("20")


def test_a_headline_that_says_who_raised_how_much_is_surely_a_raise():
    facts = fx.extract("Nurse-assisting robotics firm Quillcare raises $30M",
                       "Its customers are hospitals, whose workers hand tasks to its robots: a market that "
                       "needs a million more nurses.", [])
    assert facts.kind == "funding" and facts.kind_sure


@pytest.mark.parametrize("title, text", [
    ("How do people want to regulate powerful AI? A survey sheds some light",
     "Labs should run audits, according to a survey by the Quillton Centre; 98% of those surveyed agreed."),
    ("Amid Orchard's Autopilot probe, half the public thinks robotaxis are less safe",
     "As regulators investigate Orchard for crashes, a new poll indicates the public has safety concerns."),
])
def test_a_poll_is_what_people_think_not_the_rule_or_the_crash_they_were_asked_about(title, text):
    facts = fx.extract(title, text, [])
    assert facts.kind == "opinion" and facts.kind_sure, facts.kind_cues


def test_a_paper_surveying_a_field_is_no_poll():
    facts = fx.extract("A Survey of Large Language Models", "We review the research on LLMs, the paper says.", [])
    assert not any(c.startswith("a poll") for c in facts.kind_cues)


@pytest.mark.parametrize("text, want", [
    ("The paper is at a conference next week, with the code and checkpoints open-sourced today.", {"code", "weights"}),
    ("The new algorithm is part of the open-source Quill-Net initiative.", {"code"}),
    ("Orchard said the code will not be open-sourced.", set()),
    ("Quillndria - an open-source initiative to embed the web: embeddings of every paper.", set()),
])
def test_code_and_weights_said_to_be_open_sourced_are_artifacts(text, want):
    assert set(fx.extract("Orchard's model reads scans", text, []).artifacts) - {"paper"} == want


def test_how_much_a_model_was_trained_on_is_a_size_not_the_claim_to_doubt():
    text = ("Orchard has released Quill-Coder, which rivals the performance of the best models in the West. "
            "Quill-Coder was trained on 18 trillion tokens across many languages.")
    facts = fx.extract("Orchard releases an open weight code model", text, [])
    claim = ev.claim_of(facts, text.split(". "), "Quill-Coder", "Orchard")
    assert claim is not None and "18 trillion" not in claim.sentence and "rivals" in claim.sentence


@pytest.mark.parametrize("title, text, section", [
    # a judgement of something already out is an analysis, whatever section or launch words surround it
    ("The new Quillchat demo made more mistakes than Orchard's bot", "Orchard releases its bot widely.",
     "Ben's Picks"),
    ("Quillvid's Gen-2 shows the limitations of today's text-to-video tech", "Quillvid 2 is now available; released today.",
     "Cool Tools"),
    ("The rise and fall of Quillchat", "Quillchat was unveiled with fanfare, announcing a new era.", ""),
])
def test_a_verdict_on_something_already_out_is_an_analysis_not_a_release(title, text, section):
    kind, cues, margin = fx.kind_decision(title, text, section)
    assert kind == "opinion" and margin >= fx.SURE_MARGIN, (kind, cues, margin)
    # ... while a launch that names its limits in passing is still a launch
    assert fx.kind_of("Quillvid launches its second model, with limitations", text, section)[0] == "release"


def test_a_headline_raising_money_is_surely_funding_whatever_its_section():
    for title in ("Quillway, the lidar-free delivery startup, raises $13.6M from Orchard",
                  "Quillgate secures new cash to scan warehouse shelves with drones",
                  "Quillcoach raises $12.5M to coach salespeople with AI avatars"):
        facts = fx.extract(title, "The company sells to retailers and its sales team is growing.", [],
                           section="Business")
        assert facts.kind == "funding" and facts.kind_sure, (title, facts.kind, facts.kind_cues)
    from outputs.headline import raiser
    assert raiser("Quillway, the lidar-free delivery startup, raises $13.6M from Orchard") == "Quillway"
    assert raiser("AI Search Startup Raises $26 Million to Offer Rival to Orchard") == ""  # a description


@pytest.mark.parametrize("text, demo", [
    ("Anyway, click the link above and check out his video demo.", False),
    ("This might be the weirdest choice of demo ever.", False),
    ("It got answers wrong during their demo, and nobody noticed.", False),
    ("Watch the demo here.", True),
    ("You can use the demo on Hugging Face.", True),
])
def test_a_demo_someone_gave_is_not_a_demo_to_try(text, demo):
    assert ("demo" in fx.artifacts_of(text, [])[0]) is demo


def test_a_listing_that_links_a_paper_is_research():
    facts = fx.extract("Quill agents - Interactive simulacra of office life.", "", ["https://arxiv.org/abs/2304.00001"])
    assert facts.kind == "research" and facts.kind_sure and facts.artifacts == ["paper"]
    tool = fx.extract("Quillnote - Turn your notes into tickets.", "", ["https://quillnote.app"])
    assert tool.kind == "release"


def test_an_incident_of_harm_done_with_ai_and_policy_on_the_states_own_use():
    abuse = fx.extract("A new AI app swaps women into porn videos with a click",
                       "The backlash grew as the non-consensual deepfakes spread.", [])
    assert abuse.kind == "incident" and abuse.abuse and not abuse.failure
    police = fx.extract("Quillshire police to begin using live facial recognition, under a proposed law",
                        "The regulation was proposed by lawmakers this week.", [])
    assert police.kind == "policy" and police.state_user == "the police"
    rule = fx.extract("Lawmakers propose a law on chatbot disclosures", "The bill was proposed this week.", [])
    assert rule.kind == "policy" and rule.state_user == ""


def test_a_headline_about_something_put_to_use_is_no_sure_release():
    kind, _, margin = fx.kind_decision("Quill Art Generator Used to Make a Bullet Hell Video Game",
                                       "It generates images from prompts; the game was released on Steam.")
    assert kind == "release" and margin < fx.SURE_MARGIN
    assert fx.kind_decision("Quill Art Generator launches, used by 10,000 artists",
                            "It generates images; released today.")[2] >= fx.SURE_MARGIN


def test_a_skeptic_without_a_subject_doubts_a_sentence_about_the_headline_not_the_ledes_background():
    title = "Counting heads: how deep learning can simplify tedious agricultural tasks"
    facts = fx.extract(title, "", [])
    background = "The selective breeding of grain crops is one of the main reasons plants produce such excellent yields."
    assert ev.claim_of(facts, [background], "", title=title) is None
    news = "Deep learning counts wheat heads in field photos far faster than agricultural workers can."
    assert ev.claim_of(facts, [background, news], "", title=title).sentence.startswith("Deep learning counts")


def test_who_was_invested_in_and_what_a_study_introduces():
    from outputs.headline import proposed, raiser
    assert raiser("Exclusive: Quill VC and Orchard just led a $4.5 million seed investment in Quillby, the AI that "
                  "wants to make workers more efficient") == "Quillby"
    assert proposed("A New Study by Orchard and Quillmind Introduces Geometric Quillity (GQ) for Neural Network "
                    "Analysis") == ("Geometric Quillity", "Orchard")
    assert proposed("Researchers Propose A Novel Method for Quill Analysis") == ("", "")


def test_a_raise_is_the_news_not_a_claim_to_doubt():
    title = "Quillpto raises $45 million for robots that inspect power lines"
    said = "Inspection company Quillpto today announced a $45 million round, and says its robots are 3x faster."
    facts = fx.extract(title, said, [])
    assert facts.kind == "funding"
    assert ev.claim_of(facts, ["Inspection company Quillpto today announced a $45 million round."], "Quillpto",
                       title=title) is None


def test_a_listed_ide_is_a_tool_to_try():
    assert "demo" in fx.artifacts_of("Quillsor - A brand new IDE with LLMs, built from the ground up.",
                                     ["https://quillsor.so"], listing=True)[0]


def test_an_investment_headline_names_the_company_invested_in_and_a_ban_whose_rule_it_is():
    from outputs.headline import raiser
    assert raiser("Quillvest Ventures invests in Orchardly, fueling better AI trust.") == "Orchardly"
    assert raiser("Orchard to Invest $10 Billion in Quillmind, the Creator of QuillChat") == "Quillmind"
    assert raiser("Orchard to invest up to $4 billion in Quill AI") == "Quill AI"
    assert raiser("Why I invest in AI") == "" and raiser("Orchard invests in Chinese AI chip startups") == ""
    assert fx.house_rule("Quillimages bans AI-generated content over fears of legal challenges") == "Quillimages"
    assert fx.house_rule("AI-generated answers temporarily banned on coding Q&A site Quill Overflow") == "Quill Overflow"
    assert fx.house_rule("AI image generator Quilljourney blocks porn by banning words") == "Quilljourney"
    assert fx.house_rule("Top AI conference bans use of ChatGPT to write papers") == "the top AI conference"
    for state in ("Italy bans Quillbot from using personal data", "German court bans Quill ad statements",
                  "California Law Bans Bots From Pretending to Be Human", "Political deepfakes banned in California"):
        assert fx.house_rule(state) == "", state


def test_a_trend_piece_that_speculates_is_not_framed_as_harm_done():
    facts = fx.extract("Deepfake porn could be a growing problem amid AI race",
                       "Artificial intelligence imaging can be used to create art or try on clothes.", [],
                       section="Concerns")
    assert not (facts.kind == "incident" and facts.kind_sure), (facts.kind, facts.kind_cues)


def test_a_post_or_a_news_site_is_no_products_site_and_a_model_readied_is_not_out():
    assert not fx.product_site("https://www.quillml.com/blog/qpt-7b")  # a post on the maker's site
    assert not fx.product_site("https://blog.quillpost.io/posts/chat-vs-bard", ["QuillChat"])
    assert not fx.product_site("https://www.tomshardware.com/news/quill-a3")
    assert fx.product_site("https://printnanny.example", ["Print Nanny"])
    assert not fx.product_site("https://quillsafety.org/statement", ["Statement on AI risk"])  # not its name
    for later in ("Quillmind readies new open-source AI model",
                  "Quillmind is preparing to release a new open-source language model to the public"):
        assert "weights" not in fx.artifacts_of(later, [])[0], later
    assert fx.artifacts_of("Introducing QPT-7B: A New Standard for Open-Source, Commercially Usable LLMs", [])[0] \
        == ["weights"]
    assert "code" in fx.artifacts_of("Their teams are publishing and open-sourcing results for QuillBind.", [])[0]
    assert fx.kind_of("Comparing Quillmind's QuillChat with Orchard's Bard", "")[0] == "benchmark"


def test_what_a_headline_introduces_and_what_is_no_subject():
    from outputs import signals as sig
    from outputs.headline import alternative, proposed
    assert proposed("Orchard Researchers Introduce Video Prediction Quills (VIQUIL): An Algorithm That Uses "
                    "Video Models") == ("VIQUIL", "Orchard")
    assert alternative("QPT-3's free alternative QPT-Neo is something to be excited about") == "QPT-Neo"
    assert alternative("Orchard's ChatGPT rival bans users") == ""
    for word in ("2022", "correct/relevant", "VR", "ID"):
        assert sig.not_a_subject(word), word


def test_a_sum_with_a_hyphen_and_a_model_size_by_open_source():
    assert [f.value for f in fx.figures_of(["Quillco lands Tiger-led $125-million venture funding"])] == \
        ["$125-million"]
    assert fx.artifacts_of("QL2 20B: An Open Source Unified Language Learner", [])[0] == ["weights"]


def test_how_many_use_it_and_when_it_first_came_are_no_claim():
    facts = fx.extract("Quillchat is releasing its AI chatbot to everyone for free",
                       "Quillchat is releasing its My Quill chatbot to all of its 750 million monthly users for free, "
                       "a move that comes less than two months after the bot was first made available to the app's "
                       "more than 3 million paid subscribers.", [])
    assert facts.claim == "" and facts.access == "open", (facts.claim, facts.claim_cue, facts.access)


def test_a_release_free_to_anyone_is_open():
    assert fx.extract("Quillium - ChatGPT in your IDE for free.", "Quillium - ChatGPT in your IDE for free.",
                      ["https://quillium.example"]).access == "open"


def test_a_recall_that_may_cause_crashes_is_an_incident_with_no_beta_to_try():
    title = "Quillcar recalls 362,758 vehicles, says full self-driving beta software may cause crashes"
    facts = fx.extract(title, title, [])
    assert facts.kind == "incident" and facts.kind_sure and facts.access == "", (facts.kind, facts.access)
