"""The NumPy path against a float64 brute-force reference, on random and adversarial inputs."""
from __future__ import annotations

import numpy as np
import pytest

from gpu import components, topk


def unit64(x):
    x = np.asarray(x, np.float64)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, n, out=np.zeros_like(x), where=n > 0)


def ref_topk(q, c, k):
    s = unit64(q) @ unit64(c).T
    order = np.lexsort((np.broadcast_to(np.arange(c.shape[0]), s.shape), -s), axis=1)[:, :k]
    return np.take_along_axis(s, order, 1), order


@pytest.fixture
def rng(request):
    return np.random.default_rng(abs(hash(request.node.name)) % 2**32)


@pytest.mark.parametrize("nq,n,d,k", [(1, 50, 8, 5), (7, 1000, 32, 10), (3, 20, 4, 20), (2, 5, 3, 9), (64, 3000, 16, 1)])
def test_topk_matches_float64_reference(rng, nq, n, d, k):
    q, c = rng.standard_normal((nq, d)), rng.standard_normal((n, d)).astype(np.float32)
    s, i = topk(q, c, k)
    rs, ri = ref_topk(q, c, min(k, n))
    assert s.shape == i.shape == (nq, min(k, n))
    np.testing.assert_array_equal(i, ri)
    np.testing.assert_allclose(s, rs, atol=1e-5)


def test_topk_streams_tiles_and_merges(rng, monkeypatch):
    import gpu.numpy_backend as nb
    monkeypatch.setattr(nb, "TILE_ENTRIES", 64)  # force many tiles
    q, c = rng.standard_normal((4, 8)), rng.standard_normal((500, 8))
    np.testing.assert_array_equal(topk(q, c, 7)[1], ref_topk(q, c, 7)[1])


def test_ties_prefer_lower_index_even_across_tiles(monkeypatch):
    import gpu.numpy_backend as nb
    monkeypatch.setattr(nb, "TILE_ENTRIES", 3)
    c = np.array([[1, 0], [0, 1], [1, 0], [2, 0], [1, 0], [0, 1], [3, 0]], np.float32)
    s, i = topk(np.array([[1.0, 0.0]]), c, 3)
    assert i.tolist() == [[0, 2, 3]] and np.allclose(s, 1.0)


def test_zero_vectors_score_zero_and_empty_corpus():
    c = np.array([[0, 0, 0], [1, 0, 0]], np.float32)
    s, i = topk(np.array([[0.0, 0, 0], [0, 1.0, 0]]), c, 2)
    assert np.allclose(s, 0) and i.tolist() == [[0, 1], [0, 1]]
    s, i = topk(np.ones((3, 4)), np.zeros((0, 4)), 5)
    assert s.shape == (3, 0) and i.shape == (3, 0)


@pytest.mark.parametrize("bad,match", [
    (np.array([[np.nan, 1.0]]), "NaN or infinite"),
    (np.array([[np.inf, 1.0]]), "NaN or infinite"),
    (np.ones((2, 3)), "dimension 2, expected 3"),
])
def test_bad_input_is_a_clear_error(bad, match):
    with pytest.raises(ValueError, match=match):
        topk(bad, np.ones((4, 2)), 2)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_bad_k(k):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        topk(np.ones((1, 2)), np.ones((3, 2)), k)


def test_components_labels_are_smallest_members():
    labels = components(np.array([5, 1, 7, 3]), np.array([1, 2, 8, 7]), 10)
    assert labels.tolist() == [0, 1, 1, 3, 4, 1, 6, 3, 3, 9]
    assert components(np.array([], np.int64), np.array([], np.int64), 3).tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match=r"must lie in \[0, 3\)"):
        components(np.array([0]), np.array([3]), 3)


def test_components_on_random_graph_match_union_find(rng):
    n = 2000
    i, j = rng.integers(0, n, 1500), rng.integers(0, n, 1500)
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for a, b in zip(i, j):
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    assert components(i, j, n).tolist() == [find(x) for x in range(n)]


def test_a_prepared_corpus_and_its_rows_give_the_plain_answers(rng):
    from gpu import prepare, rows

    c = rng.standard_normal((500, 24)).astype(np.float32) * 3  # not unit: prepare normalises once
    q = rng.standard_normal((3, 24)).astype(np.float32)
    prep = prepare(c)
    assert np.array_equal(topk(q, prep, 7)[1], topk(q, c, 7)[1])
    picked = np.array([3, 40, 41, 200, 499])
    assert np.array_equal(topk(q, rows(prep, picked), 3)[1], topk(q, c[picked], 3)[1])
    assert np.array_equal(topk(q, rows(prep, slice(100, 300)), 5)[1], topk(q, c[100:300], 5)[1])
    with pytest.raises(ValueError, match="dimension"):
        topk(q[:, :10], prep, 3)
