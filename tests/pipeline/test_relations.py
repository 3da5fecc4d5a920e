"""Same story, follow-up, related: the three relations kept apart, with the reasons recorded."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.cluster import ClusterConfig, ClusterInfo, Evidence, StoryRef, assign, attach_threads
from pipeline.cluster_stage import cluster_stories, rethread
from pipeline.embed_stage import embed_stories
from pipeline.ingest import ingest
from pipeline.store import Store
from pipeline.relate import figures_of
from pipeline.terms import TermStats, lead_of, story_terms, subject
from sources import SourceConfig
from sources.fetch import Fetcher
from tests.conftest import Reply
from tests.feeds import rss, story_html

# a small archive in the voice of AI newsletters: names recur in running text as names, common words do not
BACKGROUND = [
    ("Robots learn to fold laundry from video", "A lab trained an arm on videos of people folding towels."),
    ("Chip startup raises money for inference hardware", "The company says its accelerator halves serving costs."),
    ("Regulators ask for labels on generated images", "Three agencies want watermarks on synthetic pictures."),
    ("A survey of evaluation practice", "Most teams still evaluate on benchmarks that leaked into training data."),
    ("Cloud prices for GPUs fall again", "Rental prices dropped for the third month in a row."),
    ("Open tools for tracing LLM apps", "Tracing tools now record the cost of every call."),
] * 3
STORIES = {
    "launch": ("Mistral AI releases Mistral 7B under Apache 2.0",
               "Mistral AI released Mistral 7B, a 7-billion-parameter model, with open weights under Apache 2.0. "
               "Mistral says it beats larger models on reasoning benchmarks."),
    "launch2": ("Mistral 7B is out, and the weights are free",
                "The Paris startup Mistral AI published Mistral 7B with weights anyone can download, and "
                "claims it tops models twice its size."),
    "finetune": ("OpenOrca fine-tune of Mistral 7B tops the open leaderboard",
                 "The OpenOrca team fine-tuned Mistral 7B on its OpenOrca dataset; the result leads the open "
                 "leaderboard for its size. OpenOrca released the weights too."),
}


@pytest.fixture(scope="module")
def stats():
    st = TermStats()
    for title, text in BACKGROUND + list(STORIES.values()):
        st.add(story_terms(title, lead_of(text)), text)
    return st


def ref(key: str, issue: str, day: float, links=()) -> StoryRef:
    title, text = STORIES[key]
    return StoryRef(key, issue, issue.split("-")[0], day, tuple(links), title_terms=frozenset(story_terms(title)),
                    terms=frozenset(story_terms(title, lead_of(text))))


def test_a_fine_tune_is_related_to_the_launch_not_the_same_story(embedder, stats):
    keys = ["launch", "launch2", "finetune"]
    vecs = embedder.encode([f"{STORIES[k][0]}\n\n{STORIES[k][1]}" for k in keys])
    evidence = Evidence()
    post = "https://mistral.example/news/announcing-mistral-7b"  # both newsletters link the announcement
    labels = assign([ref("launch", "bb-1", 0, [post]), ref("launch2", "lw-1", 2, [post]), ref("finetune", "bb-2", 3)],
                    vecs, [], np.zeros((0, vecs.shape[1])), [], stats=stats, evidence=evidence)
    assert labels[0] == labels[1] != labels[2]  # two newsletters, one launch; the fine-tune is other news
    assert evidence.why["launch2"] == f"both cite {post}"  # the reason a reader can check
    related = {(a, b) for a, b, _ in evidence.related}
    assert ("finetune", "launch") in related or ("finetune", "launch2") in related
    assert subject(*STORIES["finetune"][:1], stats, lead_of(STORIES["finetune"][1])) == "openorca"


def test_an_item_repeated_over_three_days_by_one_newsletter_is_one_cluster(embedder, stats):
    title, text = STORIES["launch"]
    vecs = embedder.encode([f"{title}\n\n{text}"] * 3)
    refs = [StoryRef(f"day{d}", f"daily-{d}", "daily", float(d), ("https://mistral.example/news/7b",),
                     title_terms=frozenset(story_terms(title)), terms=frozenset(story_terms(title, lead_of(text))))
            for d in range(3)]
    labels = []
    for d in range(3):  # one night at a time, as the nightly run sees them
        labels += assign(refs[d:d + 1], vecs[d:d + 1], refs[:d], vecs[:d], labels, stats=stats)
    assert len(set(labels)) == 1


def test_one_newsletter_telling_it_again_two_weeks_on_is_a_development_unless_it_cites_the_same_post(embedder, stats):
    title, text = STORIES["launch"]
    vecs = embedder.encode([f"{title}\n\n{text}"] * 2)

    def night(days: tuple[float, float], links: tuple[str, ...] = (), source: str = "weekly") -> list[str]:
        refs = [StoryRef(f"w{d}", f"{source}-{d}", source, d, links, title_terms=frozenset(story_terms(title)),
                         terms=frozenset(story_terms(title, lead_of(text)))) for d in days]
        first = assign(refs[:1], vecs[:1], [], vecs[:0], [], stats=stats)
        return first + assign(refs[1:], vecs[1:], refs[:1], vecs[:1], first, stats=stats)
    assert len(set(night((0.0, 7.0)))) == 1  # a weekly's next issue repeating the item: the same story
    assert len(set(night((0.0, 12.0)))) == 2  # the issue after that: what came of it, not the same story
    assert len(set(night((0.0, 12.0), ("https://mistral.example/news/7b",)))) == 1  # the same post, told again
    # two newsletters 12 days apart (a weekly lagging a daily) can still tell the same story
    refs = [StoryRef("d0", "daily-0", "daily", 0.0, title_terms=frozenset(story_terms(title)),
                     terms=frozenset(story_terms(title, lead_of(text)))),
            StoryRef("w12", "weekly-12", "weekly", 12.0, title_terms=frozenset(story_terms(title)),
                     terms=frozenset(story_terms(title, lead_of(text))))]
    first = assign(refs[:1], vecs[:1], [], vecs[:0], [], stats=stats)
    assert assign(refs[1:], vecs[1:], refs[:1], vecs[:1], first, stats=stats) == first


def test_a_chain_of_drifting_stories_stays_several_threads():
    """Each cluster is close to the one before it, but the subject drifts: a thread is judged as a whole."""
    rng = np.random.default_rng(3)
    dim, steps = 64, 12
    a, b = rng.standard_normal(dim), rng.standard_normal(dim)
    clusters = []
    for i in range(steps):
        t = i / (steps - 1)
        v = (1 - t) * a + t * b + 0.05 * rng.standard_normal(dim)
        clusters.append(ClusterInfo(f"c{i:02d}", v / np.linalg.norm(v), float(i * 3), float(i * 3)))
    neighbours = [float(clusters[i].centroid @ clusters[i + 1].centroid) for i in range(steps - 1)]
    assert min(neighbours) > 0.9 and float(clusters[0].centroid @ clusters[-1].centroid) < 0.3
    config = ClusterConfig()
    threads = attach_threads(clusters, [], config)
    assert len(set(threads.values())) >= 2 and threads["c00"] != threads["c11"]
    for x in clusters:  # no thread holds two clusters further apart than thread_far
        for y in clusters:
            if threads[x.id] == threads[y.id]:
                assert float(x.centroid @ y.centroid) >= config.thread_far


@pytest.fixture
def sample_store(clustered_sample):
    return clustered_sample


def threads_of(store: Store) -> dict[str, str]:
    return {r["id"]: r["thread_id"] for r in store.all_clusters()}


def test_rethread_is_idempotent_and_keeps_ids(sample_store):
    before = threads_of(sample_store)
    first = rethread(sample_store)
    assert threads_of(sample_store) == before and first["changed"] == 0
    second = rethread(sample_store)
    assert threads_of(sample_store) == before and second == {**first, "ms": second["ms"]}
    assert sample_store.thread_subject(before[next(iter(before))]) is not None


def test_rethread_rebuilds_threads_with_new_rules_and_reports_moves(sample_store):
    before = threads_of(sample_store)
    loose = rethread(sample_store, ClusterConfig(thread_threshold=-1.0, thread_member_min=-1.0, thread_close=-1.0,
                                                 thread_far=-1.0,
                                                 subject_max_share=1.0))
    assert loose["threads"] < len(set(before.values())) and loose["changed"] > 0
    back = rethread(sample_store)
    assert threads_of(sample_store) == before and back["changed"] == loose["changed"]


def test_rethread_names_clusters_made_before_subjects_and_threads_them_the_same(sample_store):
    before = threads_of(sample_store)
    named = {r["id"]: r["subject"] for r in sample_store.all_clusters()}
    sample_store.db.execute("UPDATE clusters SET subject = NULL")  # as an archive from before m007 has them
    sample_store.db.execute("UPDATE threads SET subject = NULL")
    rethread(sample_store)
    assert {r["id"]: r["subject"] for r in sample_store.all_clusters()} == named
    assert threads_of(sample_store) == before


def test_an_item_told_again_months_later_joins_its_cluster_and_other_news_on_the_link_does_not(
        tmp_path, feed_server, embedder):
    """A weekly reruns an item in a later edition: same specific link, same text, three months on. The rerun
    joins the earlier telling's cluster on a later night (found by its link, outside the cluster window); a
    different story citing the same post months later does not."""
    post = "https://lab.example/blog/robot-blacksmiths"
    item = ("Robotic blacksmiths step up as metalworkers grow scarce",
            "A foundry in Ohio now runs a laser-scanned forging cell that shapes parts a human smith once made.")
    follow = ("Foundry robots: the union responds",
              "The metalworkers' union says the forging cell cost jobs; it asks for retraining money.")
    other = [(f"Background story number {n}", f"Filler text about topic {n} for the archive.", f"https://x.example/{n}")
             for n in range(3)]
    jan = {"title": "Weekly 1", "link": "https://weekly.example/1", "date": "Mon, 05 Jan 2026 08:00:00 +0000",
           "html": story_html((*item, post), *other)}
    apr = {"title": "Weekly 14", "link": "https://weekly.example/14", "date": "Mon, 06 Apr 2026 08:00:00 +0000",
           "html": story_html((item[0], "From the January 5th edition. " + item[1], post), *other[:1])}
    jul = {"title": "Weekly 27", "link": "https://weekly.example/27", "date": "Mon, 06 Jul 2026 08:00:00 +0000",
           "html": story_html((*follow, post), *other[1:])}
    url = feed_server.route("/weekly.xml", Reply(body=rss(jan)))
    source = SourceConfig("weekly", "rss", url, {})
    with Store(tmp_path / "pulse.db") as store:
        for night in ([jan], [jan, apr], [jan, apr, jul]):
            feed_server.route("/weekly.xml", Reply(body=rss(*night)))
            ingest(store, [source], Fetcher())
            embed_stories(store, embedder)
            cluster_stories(store)
        rows = store.db.query("SELECT s.title, s.issue_id, m.cluster_id, m.reason FROM stories s "
                              "JOIN cluster_members m ON m.story_id = s.id ORDER BY s.issue_id")
        rows = [dict(r) for r in rows]
    told = [r for r in rows if r["title"] == item[0]]
    assert len(told) == 2 and told[0]["issue_id"] != told[1]["issue_id"]
    assert told[0]["cluster_id"] == told[1]["cluster_id"]  # joined across 91 days
    assert any((r["reason"] or "").startswith("told again 91 days later, both cite " + post) for r in told)
    (reply,) = [r for r in rows if r["title"] == follow[0]]
    assert reply["cluster_id"] != told[0]["cluster_id"]  # other news on the same link stays apart


def test_related_news_shares_a_name_few_stories_use_not_a_household_name():
    from pipeline.relate import RELATED, RelateConfig, Side, relate

    st = TermStats()
    filler = [(f"Notes from week {i}", f"Teams shipped {i} small fixes to their evaluation scripts.") for i in range(500)]
    everywhere = [(f"Week {i} at the big firm", f"People at Globex talked about roadmaps on day {i}.")
                  for i in range(18)]  # 3% of the archive names Globex
    pairs = {"a": ("Globex hires a chief", "Globex hired a chief scientist."),
             "b": ("Globex sued over contracts", "Globex was sued by a supplier."),
             "c": ("Zephyr-7B fine-tune tops the open leaderboard",
                   "The Zephyr-7B team fine-tuned a base model and the result leads the leaderboard."),
             "d": ("Zephyr-7B now runs on phones", "A port runs Zephyr-7B on phones at five tokens a second.")}
    for title, text in filler + everywhere + list(pairs.values()):
        st.add(story_terms(title, lead_of(text)), text)

    def side(key: str, day: float) -> Side:
        title, text = pairs[key]
        return Side(key, day, frozenset(story_terms(title)), frozenset(story_terms(title, lead_of(text))))

    # sharing a name a twentieth of the archive's stories use is not evidence of related news; a rare one is
    assert relate(side("a", 0), side("b", 30), 0.45, st, RelateConfig(related_max_share=1.0)).kind == RELATED
    globex = relate(side("a", 0), side("b", 30), 0.45, st)
    zephyr = relate(side("c", 0), side("d", 30), 0.45, st)
    assert globex.kind is None, globex.reason
    assert zephyr.kind == RELATED and "zephyr-7b" in zephyr.reason


@pytest.mark.parametrize("extra, a, b, word", [
    # two tool listings naming APIs: the field's everyday noun
    ([(f"Vendor notes {i}", "The vendor's APIs and Prompts changed again.") for i in range(6)],
     ("Quillprompt - Turn prompts into structured APIs.", ""),
     ("Bramblebot - Structured prompts for GPT-based APIs.", ""), "apis"),
    # an abbreviation of one or two letters
    ([], ("Hackathon at HQ", "Teams met at HQ."), ("A new HQ", "The HQ opens."), "hq"),
    # "I've", capitalised wherever it is written
    ([], ("This may be one of the best generative tools I've seen.", "I've tried it twice."),
     ("Quillmagic have produced a very cool-looking app tool", "I've yet to give it a proper try; I've seen the demo."),
     "i've"),
])
def test_two_stories_are_not_related_for_a_word_that_names_nothing(extra, a, b, word):
    from pipeline.relate import RelateConfig, Side, relate

    st = TermStats()
    filler = [(f"Notes from week {i}", f"Teams shipped {i} small fixes to their evaluation scripts.") for i in range(300)]
    for title, text in filler + extra + [a, b]:
        st.add(story_terms(title, lead_of(text)), text)

    def side(key: str, story: tuple[str, str], day: float) -> Side:
        title, text = story
        return Side(key, day, frozenset(story_terms(title)), frozenset(story_terms(title, lead_of(text))))

    rel = relate(side("a", a, 0), side("b", b, 30), 0.45, st, RelateConfig(related_max_share=1.0))
    assert word in rel.shared and rel.kind is None, rel.reason  # "both about apis / hq" is no relation


def test_a_headline_that_names_nothing_is_told_apart_from_one_that_names_something():
    from pipeline.terms import names_something

    st = TermStats()
    for i in range(50):
        text = f"On Tuesday Quillsoft shipped Notebook {i}, and a whole team of people tried the other features."
        st.add(story_terms(f"Release {i}", lead_of(text)), text)
    assert names_something("Quillsoft launches a notes hub for developers", st)
    assert names_something("Notebook 7 is here", st)  # a name with digits
    assert not names_something("A whole bunch of other stuff", st)  # a roundup's label
    assert not names_something("And what if you just want AI to slip into your life?", st)  # the field is no name


@pytest.mark.parametrize("first, then, turn", [
    (("Quillstead caps its chatbot at five replies a session", "Users said Quillstead capped chats after odd answers."),
     ("Quillstead is already undoing some of the limits on its chatbot", "Users said Quillstead raised the cap again."),
     "a reversal"),
    (("Existential risk and the Quillstead turn in history", "An essay says Quillstead changes existential risk."),
     ("Response to the Quillstead essay on existential risk", "A reply argues the Quillstead essay is wrong."),
     "a reply"),
])
def test_a_reply_or_a_reversal_is_never_the_same_story_as_what_it_answers(first, then, turn):
    from pipeline.relate import RELATED, SAME, Side, relate, turn_of

    st = TermStats()
    filler = [(f"Notes from week {i}", f"Teams shipped {i} small fixes to their evaluation scripts.") for i in range(300)]
    for title, text in filler + [first, then]:
        st.add(story_terms(title, lead_of(text)), text)

    def side(key: str, story: tuple[str, str], day: float) -> Side:
        title, text = story
        return Side(key, day, frozenset(story_terms(title)), frozenset(story_terms(title, lead_of(text))),
                    frozenset({"https://quillstead.example/post"}), turn_of(title))
    # close in time, alike, citing the same post: the same story, unless one answers or undoes the other
    alike = relate(side("a", first, 0), side("b", first, 2), 0.9, st, shared_link="https://quillstead.example/post")
    assert alike.kind == SAME
    rel = relate(side("a", first, 0), side("b", then, 2), 0.9, st, shared_link="https://quillstead.example/post")
    assert rel.kind == RELATED and rel.reason.startswith(turn) and "quillstead" in rel.reason


def test_figures_are_read_in_one_unit_and_names_are_not_figures():
    assert figures_of("Quillco raises $145M") == figures_of("Quillco's $145 million fund") == {"$1.45e+08"}
    assert "55000" in figures_of("Orchard to cut 55,000 jobs by 2030") and "2030" not in figures_of("by 2030")
    assert figures_of("Quill-7B and Falcon 40B beat Microsoft 365 on 3 tasks") == frozenset()
    assert figures_of("90% cheaper") == {"90%"}


def test_the_same_sum_in_both_retellings_joins_them_a_different_sum_does_not(embedder, stats):
    from pipeline.relate import relate

    def side(sid, day, source, title, text):
        r = StoryRef(sid, f"{source}-{day}", source, day, title_terms=frozenset(story_terms(title)),
                     terms=frozenset(story_terms(title, lead_of(text))), figures=figures_of(f"{title}\n{text}"))
        return r.side()
    a = side("a", 0.0, "daily", "Quillchat releases $20/month subscription plan", "A paid tier with faster replies.")
    b = side("b", 4.0, "weekly", "Orchard to offer a new version of Quillchat for a $20 monthly fee",
             "Subscribers get priority access when demand is high.")
    c = side("c", 4.0, "weekly", "Orchard to offer a new version of Quillchat for a $42 monthly fee",
             "Subscribers get priority access when demand is high.")
    assert relate(a, b, 0.66, stats).kind == "same" and "$20" in relate(a, b, 0.66, stats).reason
    assert relate(a, c, 0.66, stats).kind != "same"
    assert relate(a, b, 0.55, stats).kind != "same"  # too unlike for a shared sum to decide it


def test_two_newsletters_headlines_alone_naming_a_rare_name_tell_the_same_story(embedder):
    told = {
        "a": ("daily", 0.0, "Quillbox open a VC fund and bring AI into their product",
              "Also new from Quillbox: search across your documents, rolling out to teams this month."),
        "b": ("weekly", 3.0, "Quillbox creates a $50 million fund to invest in AI startups",
              "The fund, which Quillbox runs itself, will write checks to early-stage companies."),
        "c": ("wire", 2.0, "Quillbox shares rise as investors cheer its AI plans",
              "Investors sent the stock of Quillbox up after the firm laid out its plans for the year."),
    }
    st = TermStats()
    for title, text in BACKGROUND + [(t, x) for _, _, t, x in told.values()]:
        st.add(story_terms(title, lead_of(text)), text)

    def refs(keys):
        return [StoryRef(k, f"{told[k][0]}-{told[k][1]}", told[k][0], told[k][1],
                         title_terms=frozenset(story_terms(told[k][2])),
                         terms=frozenset(story_terms(told[k][2], lead_of(told[k][3])))) for k in keys]
    vecs = embedder.encode([f"{t}\n\n{x}" for _, _, t, x in told.values()])
    evidence = Evidence()
    labels = assign(refs("ab"), vecs[:2], [], np.zeros((0, vecs.shape[1])), [], ClusterConfig(), stats=st,
                    evidence=evidence)
    assert labels[0] == labels[1] and "no other headline" in evidence.why["b"]
    apart = assign(refs("ab"), vecs[:2], [], np.zeros((0, vecs.shape[1])), [], ClusterConfig(sole_name_cos=9.0),
                   stats=st)
    assert apart[0] != apart[1]  # the rule, not the cosine, joined them
    # a third headline naming it in those days: the name no longer singles out one event
    three = assign(refs("abc"), vecs, [], np.zeros((0, vecs.shape[1])), [], ClusterConfig(), stats=st)
    assert three[0] != three[1]


def test_one_issue_telling_one_event_twice_is_one_cluster_two_of_its_items_are_not(embedder):
    told = {
        "a": ("Quillsoft launches Quillchat Plus, starting at $20 per month",
              "Quillsoft launched Quillchat Plus, a paid tier of its chatbot with faster answers, for $20 a month."),
        "b": ("Quillsoft to offer a new version of Quillchat for a $20 monthly fee",
              "Quillsoft will charge $20 a month for a version of Quillchat that answers when demand is high."),
        "c": ("Quillsoft adds plugins to Quillchat for $30 a year",
              "Quillsoft said Quillchat users can install plugins from other companies, for $30 a year."),
    }
    st = TermStats()
    for title, text in BACKGROUND + list(told.values()):
        st.add(story_terms(title, lead_of(text)), text)
    refs = [StoryRef(k, "weekly-1", "weekly", 0.0, title_terms=frozenset(story_terms(t)),
                     terms=frozenset(story_terms(t, lead_of(x))), figures=figures_of(f"{t}\n{x}"))
            for k, (t, x) in told.items()]
    vecs = embedder.encode([f"{t}\n\n{x}" for t, x in told.values()])
    evidence = Evidence()
    labels = assign(refs, vecs, [], np.zeros((0, vecs.shape[1])), [], ClusterConfig(), stats=st, evidence=evidence)
    assert labels[0] == labels[1] != labels[2] and evidence.why["b"].startswith("told twice in one issue")
    apart = assign(refs, vecs, [], np.zeros((0, vecs.shape[1])), [], ClusterConfig(issue_twice_cos=9.0), stats=st)
    assert len(set(apart)) == 3  # without the rule one issue's items stay apart
