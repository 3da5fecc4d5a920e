"""What people type in a search box becomes a safe FTS5 query: it never reaches FTS5 raw."""
from __future__ import annotations

import time

import pytest

from pipeline.fts_query import MAX_QUERY_CHARS, MAX_TERMS, QueryError, parse
from pipeline.store import Store
from sources.models import Issue, Story


@pytest.fixture
def store(tmp_path):
    """Four stories whose words are chosen to tell the operators apart."""
    s = Store(tmp_path / "p.db")
    s.ensure_source("t", "rss", "https://t.example.org/feed")
    texts = [("Draft trees speed up decoding", "speculative decoding with a tree of drafts"),
             ("Hyperion-7B weights", "open weights for Hyperion-7B, a decoding-heavy model"),
             ("Quantisation notes", "int4 quantization of transformers keeps accuracy"),
             ("vLLM and SGLang compared", "two serving engines and their schedulers")]
    stories = [Story(position=i, title=t, text=x) for i, (t, x) in enumerate(texts)]
    s.save_issue(Issue(source="t", guid="1", url="https://t.example.org/1", title="Issue 1", published=None, html="",
                       text="", stories=stories))
    yield s
    s.close()


def titles(store: Store, expr: str) -> set[str]:
    ids = [sid for sid, _ in store.search_keyword(expr, 10)]
    return {store.story(i)["title"] for i in ids}


HOSTILE = ['"unbalanced', 'a AND', 'AND OR NOT', 'NEAR(draft trees, 2', '((draft', 'draft)', '*', 'draft* *',
           '^draft', 'title:', 'text:"', 'col:draft', "O'Reilly", 'draft"trees', '-', '--', 'c++', 'a:b:c',
           'SELECT * FROM stories; --', '"" "" ""', 'NOT', 'ünïcödé decoding', '🙂 decoding', '\x00draft',
           'draft\nOR\ntrees', '[draft]', '{draft}', 'draft + trees', 'draft & trees', 'draft | trees']


@pytest.mark.parametrize("raw", HOSTILE)
def test_odd_syntax_gives_results_or_a_clear_message_never_an_sql_error(store, raw):
    try:
        query = parse(raw)
    except QueryError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    for expr in (query.match_all(), query.match_any_with_not(), query.highlight()):
        store.search_keyword(expr, 10)  # raises sqlite3.OperationalError on a syntax error


@pytest.mark.parametrize("raw, expected", [
    ("decoding", {"Draft trees speed up decoding", "Hyperion-7B weights"}),
    ("speculative decoding", {"Draft trees speed up decoding"}),                # every word
    ('"tree of drafts"', {"Draft trees speed up decoding"}),                  # a phrase
    ('"drafts of tree"', set()),                                              # ... in that order
    ("quantiz*", {"Quantisation notes"}),                                     # a prefix
    ("decoding -hyperion", {"Draft trees speed up decoding"}),                # left out
    ("decoding NOT hyperion", {"Draft trees speed up decoding"}),
    ("vllm OR quantization", {"vLLM and SGLang compared", "Quantisation notes"}),
    ("title:decoding", {"Draft trees speed up decoding"}),                    # title only
    ("Hyperion-7B", {"Hyperion-7B weights"}),                                 # punctuation inside a word
    ("the decoding", {"Draft trees speed up decoding", "Hyperion-7B weights"}),  # common words dropped
])
def test_operators_mean_what_a_search_box_user_expects(store, raw, expected):
    assert titles(store, parse(raw).match_all()) == expected


@pytest.mark.parametrize("raw", ["", "   ", "(((", "AND OR", "NOT hyperion", "-hyperion", "* ^ :"])
def test_nothing_to_look_for_is_a_one_line_error(raw):
    with pytest.raises(QueryError):
        parse(raw)


def test_the_semantic_side_reads_the_question_without_operators():
    q = parse('what did they say about "draft trees" -hyperion OR spec*')
    assert q.text == "what did they say about draft trees spec"
    assert "hyperion" not in q.text


def test_only_common_words_are_still_searched():
    assert [t.text for g in parse("the who").groups for t in g] == ["the", "who"]


# ---------------------------------------------------------------------- bounded work per query
def test_two_thousand_or_terms_are_refused_at_once_with_one_line():
    started = time.perf_counter()
    with pytest.raises(QueryError, match=f"at most {MAX_QUERY_CHARS} characters") as caught:
        parse(" OR ".join(["a"] * 2000))
    assert time.perf_counter() - started < 0.5 and "\n" not in str(caught.value)


def test_more_words_than_the_cap_are_refused_and_the_cap_itself_is_searched(store):
    words = [f"word{i}" for i in range(MAX_TERMS + 1)]
    with pytest.raises(QueryError, match=f"at most {MAX_TERMS} words"):
        parse(" OR ".join(words))
    with pytest.raises(QueryError, match=f"at most {MAX_TERMS} words"):
        parse('"' + " ".join(words) + '"')  # a phrase counts its words
    query = parse(" OR ".join(words[:MAX_TERMS]))
    assert store.search_keyword(query.match_all(), 10) == []


def test_common_words_do_not_count_against_the_cap():
    query = parse("the " * 100 + "decoding")
    assert [t.text for g in query.groups for t in g] == ["decoding"]


def test_relaxing_tries_all_words_but_one_before_any_word():
    q = parse("scheduler kernel cache -java")
    every, most, anyword = q.steps()
    assert every == '"scheduler" AND "kernel" AND "cache"'
    assert most.count(" OR ") == 2 and most.count(" AND ") == 3
    assert q.with_not(anyword) == q.match_any_with_not() and q.with_not(every).endswith('NOT "java"')
    assert q.in_titles(every) == 'title : ("scheduler" AND "kernel" AND "cache") NOT "java"'
    assert parse("title:kernel cache").in_titles("x") is None  # the query's own columns stand
    assert len(parse("scheduler kernel").steps()) == 2  # two words: every word, then any
    assert len(parse("a1 b1 c1 d1 e1 f1 g1").steps()) == 2  # seven words: straight to any word


def test_stories_with_all_words_but_one_rank_before_stories_with_one(tmp_path):
    with Store(tmp_path / "p.db") as s:
        s.ensure_source("t", "rss", "https://t.example.org/feed")
        texts = [("Kernel notes", "a scheduler for the kernel"),  # two of three words
                 *[(f"Cache note {n}", f"cache cache cache cache item {n}") for n in range(12)]]  # one word, often
        s.save_issue(Issue(source="t", guid="1", url="https://t.example.org/1", title="I", published=None, html="",
                           text="", stories=[Story(position=i, title=t, text=x) for i, (t, x) in enumerate(texts)]))
        from pipeline.search import Searcher
        results = Searcher(s, lambda: None).search("scheduler kernel cache", mode="keyword", limit=5)
    assert results.relaxed and results.hits[0].title == "Kernel notes"


def test_a_query_most_stories_match_ranks_the_headlines_that_have_it(tmp_path, monkeypatch):
    import pipeline.search as search_module
    from pipeline.search import Searcher

    monkeypatch.setattr(search_module, "BROAD", 3)  # "most of the archive", at the scale of a test
    with Store(tmp_path / "p.db") as s:
        s.ensure_source("t", "rss", "https://t.example.org/feed")
        texts = [(f"Body note {n}", "photonic " * 12 + f"filler {n}") for n in range(4)]  # the word, often
        texts += [(f"Photonic headline {n}", f"one mention of links {n}") for n in range(3)]
        s.save_issue(Issue(source="t", guid="1", url="https://t.example.org/1", title="I", published=None, html="",
                           text="", stories=[Story(position=i, title=t, text=x) for i, (t, x) in enumerate(texts)]))
        searcher = Searcher(s, lambda: None)
        few = searcher.search("photonic", mode="keyword", limit=2, by_story=False).hits
        every = searcher.search("photonic", mode="keyword", limit=7, by_story=False).hits
    assert {h.title for h in few} <= {f"Photonic headline {n}" for n in range(3)}
    assert len(every) == 7  # more asked for than headlines have it: every story that matches, by BM25
