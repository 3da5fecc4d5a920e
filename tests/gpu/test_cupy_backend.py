"""The CuPy kernels against the NumPy path on fresh random inputs. Skipped without a CUDA GPU."""
from __future__ import annotations

import numpy as np
import pytest

from gpu import components, cupy_available, prepare, topk

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA GPU")]


@pytest.fixture
def cp():
    import cupy
    return cupy


@pytest.fixture
def rng():
    return np.random.default_rng()  # fresh inputs every run


@pytest.fixture(params=["wgmma one-pass", "one-pass", "multi-pass", "exhaustive"])
def batch_path(request, cp, monkeypatch):
    """Every path a batch can take, each made to take every batch size: Hopper's wgmma one pass; the mma.sync
    one pass (64 queries at a time above 64, as on a GPU without wgmma); the multi-pass filter (Hopper's
    wgmma_filter, the wgmma one pass's fallback); and the exhaustive path, the fallback of them all."""
    from gpu import cupy_backend, sm90

    hopper_only = request.param in ("wgmma one-pass", "multi-pass")
    if hopper_only and cp.cuda.Device().compute_capability != "90":
        pytest.skip("wgmma needs a Hopper GPU")
    if request.param == "wgmma one-pass":
        monkeypatch.setattr(cupy_backend, "WGMMA_MIN_QUERIES", 3)
        monkeypatch.setattr(cupy_backend, "WGMMA_MIN_ROWS", 0)
    elif request.param == "one-pass":
        monkeypatch.setattr(sm90, "topk_kernel", lambda K: None)
    else:
        monkeypatch.setattr(cupy_backend, "_batch_path", lambda *a: "multi-pass")
    if request.param == "exhaustive":
        monkeypatch.setattr(sm90, "kernel", lambda: None)
    return request.param


def exact_up_to_ties(cp, q, c, idx, scores, tol):
    """Against float64 scores of the same (fp16) corpus: every returned neighbour is within tol of the
    true k-th best, every neighbour clearly above it is returned, and returned scores are right."""
    q64 = cp.asarray(q, dtype=cp.float64)
    c64 = cp.asarray(c, dtype=cp.float64)
    ref = (q64 / cp.linalg.norm(q64, axis=1, keepdims=True)) @ (c64 / cp.linalg.norm(c64, axis=1, keepdims=True)).T
    k = idx.shape[1]
    kth = cp.sort(ref, axis=1)[:, -k].get()
    ref = ref.get()
    got = np.take_along_axis(ref, idx, 1)
    assert (got >= kth[:, None] - tol).all(), "a returned neighbour is not among the true top k"
    for row in range(idx.shape[0]):
        must = set(np.nonzero(ref[row] > kth[row] + tol)[0].tolist())
        assert must <= set(idx[row].tolist()), f"row {row} misses {sorted(must - set(idx[row].tolist()))}"
    np.testing.assert_allclose(scores, got, atol=tol)


@pytest.mark.parametrize("nq,n,d,k", [(1, 1000, 384, 10), (64, 50_000, 384, 10), (1024, 200_000, 384, 10),
                                      (5, 3000, 64, 1), (9, 70_000, 128, 32), (3, 17, 16, 40), (2, 5, 8, 10)])
def test_topk_matches_numpy(cp, rng, nq, n, d, k):
    q = rng.standard_normal((nq, d)).astype(np.float32)
    c = rng.standard_normal((n, d)).astype(np.float16)
    gs, gi = topk(cp.asarray(q), cp.asarray(c), k)
    assert isinstance(gs, cp.ndarray) and gs.shape == (nq, min(k, n))
    gs, gi = gs.get(), gi.get()
    exact_up_to_ties(cp, q, c, gi, gs, 2e-3)
    assert (np.diff(gs, axis=1) <= 1e-6).all()  # best first
    if n <= 70_000:  # and the NumPy path agrees the same way
        ns, ni = topk(q, c.astype(np.float32), k)
        exact_up_to_ties(cp, q, c, ni, ns, 2e-3)


def test_adversarial_sorted_corpus_stays_exact(cp, rng, batch_path):
    """Sorted so that every tile beats the last threshold: the multi-pass filter overflows its candidate
    buffers and takes the exhaustive path; every path stays exact."""
    q = rng.standard_normal((4, 64)).astype(np.float32)
    c = rng.standard_normal((300_000, 64)).astype(np.float16)
    order = np.argsort((c.astype(np.float32) @ q[0]))  # ascending: every tile beats the last threshold
    c = c[order]
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 10)
    exact_up_to_ties(cp, q, c, gi.get(), gs.get(), 2e-3)


def test_prepared_corpus_gives_the_same_answer(cp, rng):
    c = cp.asarray(rng.standard_normal((20_000, 384)).astype(np.float16))
    q = cp.asarray(rng.standard_normal((16, 384)).astype(np.float32))
    a = topk(q, c, 10)
    b = topk(q, prepare(c), 10)
    assert (a[1] == b[1]).all()


def test_rows_of_a_prepared_corpus_match_numpy(cp, rng):
    from gpu import rows

    c = rng.standard_normal((3000, 384)).astype(np.float32)
    q = rng.standard_normal((1, 384)).astype(np.float32)
    prep = prepare(cp.asarray(c))
    for which in (np.arange(0, 3000, 7), slice(500, 2500)):
        s, i = topk(cp.asarray(q), rows(prep, which), 50)
        exact_up_to_ties(cp, q, c[which], i.get(), s.get(), 2e-3)


def test_bad_input_rejected_on_gpu(cp):
    with pytest.raises(ValueError, match="NaN"):
        topk(cp.asarray([[cp.nan, 1.0]]), cp.ones((3, 2)), 1)


@pytest.mark.parametrize("n,m", [(10, 0), (1000, 800), (200_000, 150_000), (1_000_000, 2_000_000)])
def test_components_match_numpy(cp, rng, n, m):
    i, j = rng.integers(0, n, m), rng.integers(0, n, m)
    got = components(cp.asarray(i), cp.asarray(j), n)
    np.testing.assert_array_equal(got.get(), components(i, j, n))


@pytest.mark.parametrize("nq,n,d", [(3, 40_000, 20), (40, 30_001, 100), (17, 7, 384), (64, 1_000_003, 384),
                                    (17, 20_000, 1000), (33, 3000, 1000), (300, 100_003, 384), (130, 5, 768)])
def test_every_kernel_shape_and_odd_sizes(cp, rng, batch_path, nq, n, d):
    """Small, medium and large query batches use different kernel shapes; odd n and d need padding."""
    q = rng.standard_normal((nq, d)).astype(np.float32)
    c = rng.standard_normal((n, d)).astype(np.float16)
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 10)
    exact_up_to_ties(cp, q, c, gi.get(), gs.get(), 2e-3)
    assert prepare(cp.asarray(c)).shape == (n, d)


def test_large_k_keeps_numpy_tie_order(cp, rng):
    """k above the register lists: ties (duplicated rows) come back lower index first, like NumPy."""
    base = rng.standard_normal((300, 48)).astype(np.float32)
    c = np.concatenate([base, base, base])  # every score appears three times
    q = rng.standard_normal((7, 48)).astype(np.float32)
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 48)
    gs, gi = gs.get(), gi.get()
    exact_up_to_ties(cp, q, c.astype(np.float16), gi, gs, 2e-3)
    for row in gi:
        for t in range(0, 48, 3):  # each score's three copies together, in index order
            b = row[t] % 300
            assert row[t:t + 3].tolist() == [b, b + 300, b + 600]


@pytest.mark.parametrize("nq,n,d,k", [(1, 5, 8, 10), (1, 17, 20, 3), (2, 1001, 384, 32), (1, 250_001, 384, 10),
                                      (2, 70_000, 768, 1)])
def test_one_or_two_queries_are_exact(cp, rng, nq, n, d, k):
    """One or two queries take the one pass: exact, best first, at odd sizes and several k."""
    q = rng.standard_normal((nq, d)).astype(np.float32)
    c = rng.standard_normal((n, d)).astype(np.float16)
    for _ in range(3):  # scratch buffers and packed launches are reused: every call gives the same answer
        gs, gi = topk(cp.asarray(q), cp.asarray(c), k)
        gs, gi = gs.get(), gi.get()
        # fp32 scores, but of the prepared corpus: prepare stores each unit row rounded to fp16 again
        exact_up_to_ties(cp, q, c, gi, gs, 2e-3)
        assert (np.diff(gs, axis=1) <= 0).all()


@pytest.mark.parametrize("nq", [1, 2])
def test_one_pass_with_every_score_tied(cp, rng, nq):
    """A corpus of copies of one row: every score ties, so every block's buffer fills and is compacted again
    and again, and the merge sees every block's list tied; the lowest indices must come first."""
    row = rng.standard_normal((1, 384)).astype(np.float16)
    q = rng.standard_normal((nq, 384)).astype(np.float32)
    gs, gi = topk(cp.asarray(q), cp.asarray(np.repeat(row, 120_000, axis=0)), 10)
    r64 = row[0].astype(np.float64)
    cos = q.astype(np.float64) @ r64 / np.linalg.norm(q.astype(np.float64), axis=1) / np.linalg.norm(r64)
    assert (gi.get() == np.arange(10)).all()
    np.testing.assert_allclose(gs.get(), np.repeat(cos[:, None], 10, axis=1), atol=2e-3)


@pytest.mark.parametrize("nq", [1, 20, 100])  # the one pass, and the wgmma one pass on Hopper from 33
def test_a_call_keeps_no_corpus_alive(cp, rng, nq):
    """Each path keeps its launches, arguments packed, between calls: the corpus and queries of a call must
    not stay referenced there, or a process that moves on to another corpus keeps the old one on the GPU."""
    pool = cp.get_default_memory_pool()
    q = cp.asarray(rng.standard_normal((nq, 384)).astype(np.float32))
    for _ in range(2):  # the second call makes nothing new: its scratch exists
        corpus = prepare(cp.asarray(rng.standard_normal((50_000, 384)).astype(np.float16)))
        topk(q, corpus, 10)
        held = pool.used_bytes()
        del corpus
        assert pool.used_bytes() <= held - 50_000 * 384 * 2


def assert_ties_by_lower_index(cp, rng, nq: int, n: int, k: int) -> None:
    """n rows, 5 zero rows, the n rows twice more: every score three times. Each returned score's three
    copies must come together, lowest index (the first copy) first."""
    base = rng.standard_normal((n, 64)).astype(np.float32)
    c = np.concatenate([base, np.zeros((5, 64), np.float32), base, base])
    q = rng.standard_normal((nq, 64)).astype(np.float32)
    gs, gi = topk(cp.asarray(q), cp.asarray(c), k)
    for row in gi.get():
        assert row[0] < n
        for t in range(0, k - k % 3, 3):
            b = row[t]
            assert b < n and row[t:t + 3].tolist() == [b, b + n + 5, b + 2 * n + 5]


@pytest.mark.parametrize("nq", [1, 2])
def test_one_or_two_queries_break_ties_by_lower_index(cp, rng, nq):
    assert_ties_by_lower_index(cp, rng, nq=nq, n=100, k=30)


def test_one_query_rejects_nan_queries(cp):
    with pytest.raises(ValueError, match="NaN"):
        topk(cp.asarray([[1.0] * 383 + [cp.inf]]), cp.ones((1000, 384)), 5)
    s, i = topk(cp.ones((1, 384)), cp.ones((1000, 384)), 5)  # and the next call is unaffected
    assert i.get().tolist() == [[0, 1, 2, 3, 4]]


def test_hopper_builds_the_wgmma_kernel(cp):
    """On an H100 the batch paths must be the wgmma kernels, not a silent fallback to the one pass."""
    from gpu import sm90

    if cp.cuda.Device().compute_capability != "90":
        pytest.skip("wgmma needs a Hopper GPU")
    assert sm90.kernel() is not None
    assert all(sm90.topk_kernel(K) is not None and sm90.seed_kernel(K) is not None for K in (8, 16, 32))


@pytest.mark.parametrize("k", [1, 12, 20])  # lists of K = 8, 24, 32: each leaves room for the fp16 margin
def test_batch_path_breaks_ties_by_lower_index(cp, rng, batch_path, k):
    assert_ties_by_lower_index(cp, rng, nq=37, n=700, k=k)


def test_batch_path_rejects_nan_queries(cp, rng, batch_path):
    q = rng.standard_normal((40, 384)).astype(np.float32)
    c = cp.asarray(rng.standard_normal((5000, 384)).astype(np.float16))
    bad = q.copy()
    bad[17, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        topk(cp.asarray(bad), c, 10)
    gs, gi = topk(cp.asarray(q), c, 10)  # and the next call is unaffected
    exact_up_to_ties(cp, q, c.get(), gi.get(), gs.get(), 2e-3)


ONE, WG, ROWS = "_onepass_topk", "_wgmma_topk", "_topk_rows"


@pytest.mark.parametrize("nq,n,d,hopper,other", [
    (1, 600_000, 16, [ONE], [ONE]), (1, 50_000, 1000, [ONE], [ONE]), (2, 400_000, 16, [ONE], [ONE]),
    (2, 600_000, 384, [ONE], [ONE]), (3, 50_000, 96, [ONE], [ONE]), (17, 50_000, 96, [ONE], [ONE]),
    (32, 50_000, 96, [ONE], [ONE]), (33, 50_000, 96, [WG], [ONE]), (64, 50_000, 96, [WG], [ONE]),
    (65, 50_000, 96, [WG], [ONE, ONE]), (16, 600_000, 16, [ONE], [ONE]), (17, 300_000, 16, [WG], [ONE]),
    (64, 2_100_000, 16, [WG], [ONE]), (17, 600_000, 1000, [ONE], [ONE]), (65, 1_100_000, 16, [WG], [ONE, ONE]),
    (1024, 300_000, 16, [WG], [ONE] * 16), (200, 400_000, 400, [ONE] * 4, [ONE] * 4),
    (3, 5000, 2000, [ROWS], [ROWS])])
def test_each_batch_takes_its_kernel(cp, rng, monkeypatch, nq, n, d, hopper, other):
    """Up to 64 queries: one pass over the corpus and one merge launch; on Hopper (d up to 384) the wgmma one
    pass for more than 32 queries and for 17-32 against 300k rows or more. Larger batches elsewhere (other
    GPUs, d > 384): the one pass, 64 queries at a time. d over 1024: the multi-pass path (exhaustive there).
    The answer stays exact."""
    from gpu import cupy_backend, sm90

    calls = []
    for name in (ONE, WG, ROWS):
        real = getattr(cupy_backend, name)
        monkeypatch.setattr(cupy_backend, name, lambda *a, name=name, real=real: (calls.append(name), real(*a))[1])
    q = rng.standard_normal((nq, d)).astype(np.float32)
    c = rng.standard_normal((n, d)).astype(np.float16)
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 10)
    assert calls == (hopper if sm90.kernel() is not None else other)
    exact_up_to_ties(cp, q, c, gi.get(), gs.get(), 2e-3)


def test_wgmma_one_pass_overflow_takes_the_multi_pass_path(cp, rng, monkeypatch):
    """5,000 copies of the first query's own direction in a row (one story stored again and again): they tie
    at its best score, pass every gate, seeded or not, and overflow the buffers of the blocks they fall in;
    the call must notice and answer exactly anyway."""
    from gpu import cupy_backend, sm90

    if sm90.topk_kernel(16) is None:
        pytest.skip("the wgmma one pass needs a Hopper GPU")
    monkeypatch.setattr(cupy_backend, "WGMMA_MIN_ROWS", 0)
    calls = []
    real = cupy_backend._topk_rows
    monkeypatch.setattr(cupy_backend, "_topk_rows", lambda *a: (calls.append(a[0].shape[0]), real(*a))[1])
    q = rng.standard_normal((20, 16)).astype(np.float32)
    c = rng.standard_normal((300_000, 16)).astype(np.float16)  # about 2,300 rows per block
    c[100_000:105_000] = q[0]
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 10)
    assert calls == [20]
    exact_up_to_ties(cp, q, c, gi.get(), gs.get(), 2e-3)


def test_wgmma_call_returns_on_its_pass_signal(cp, rng):
    """A wgmma one-pass call waits for its pass's last block to signal (host memory), not for its merge: the
    signal must come on every call (the count of ended blocks starts afresh), else each call would wait for
    the stream to run dry; and what the caller does next on the stream sees the merge's outputs."""
    from gpu import cupy_backend as cb
    from gpu import sm90

    if sm90.topk_kernel(16) is None:
        pytest.skip("the wgmma one pass needs a Hopper GPU")
    c = rng.standard_normal((50_000, 384)).astype(np.float16)
    prepared = prepare(cp.asarray(c))
    for _ in range(3):
        q = rng.standard_normal((64, 384)).astype(np.float32)
        gs, gi = topk(cp.asarray(q), prepared, 10)
        assert cb._host_flags(3, "wgmma")[1][2] == 1, "the pass did not signal its end"
        after = gi + 0  # queued behind the merge
        exact_up_to_ties(cp, q, c, after.get(), gs.get(), 2e-3)


@pytest.mark.parametrize("nq,n", [(1024, 100_000), (64, 100_000), (1024, 1_000_000), (40, 5_000), (200, 700)])
def test_seed_sample_is_whole_tiles_for_every_run(cp, nq, n):
    """wgmma_seed's time is its longest run's: the sample is the nearest whole number of tiles for every run
    (about a quarter of the corpus, at most SEED_ROWS) and never more rows than the strided map has."""
    from gpu import cupy_backend as cb
    from gpu import sm90

    sample, splits = cb._seed_sample(nq, n)
    run = splits * sm90.BN
    assert sample % run == 0 and sample * (n // sample) <= n
    assert abs(sample - min(cb.SEED_ROWS, n // cb.SEED_SHARE)) <= run / 2 or sample == run


@pytest.mark.parametrize("nq,n,d,k", [(64, 100_000, 384, 10), (1000, 300_000, 64, 32), (5, 2000, 96, 3),
                                      (3, 40, 16, 10)])
def test_seed_is_a_floor_that_k_rows_reach(cp, rng, nq, n, d, k):
    """The wgmma one pass keeps only scores at or above a query's seed: at least K rows of the corpus (K: the
    lists it keeps for k) must reach it, or a true neighbour could be dropped; and it should be near the K-th
    best of its sample, or it filters nothing. A zero query's scores all tie at 0; a NaN query and a sample
    too small give -inf."""
    from gpu import cupy_backend as cb
    from gpu import sm90

    if sm90.seed_kernel(16) is None:
        pytest.skip("the wgmma one pass needs a Hopper GPU")
    q = rng.standard_normal((nq, d)).astype(np.float32)
    q[1], q[2] = 0, np.nan
    c = rng.standard_normal((n, d)).astype(np.float16)
    c16 = prepare(cp.asarray(c)).vectors
    p = cb._wgmma_plan(cp.cuda.runtime.getDevice(), nq, n, c16.shape[1], k, "float")
    q16, tau, bad = cp.empty((nq, c16.shape[1]), cp.float16), cp.empty(nq, cp.float32), cp.zeros(1, cp.int32)
    p.unit((nq,), (128,), (cp.asarray(q), np.int32(d), p.dp, q16))  # as the one pass makes them
    launches = cb._seed_launches(p, sm90.tensor_map(q16, sm90.BM), tau, bad, cp.empty(1, cp.uint32))
    cb._seed(c16, p, *launches, cp.asarray(q))
    tau, K = tau.get(), p.K
    assert bad.get()[0] == 1, "seed_floor let the NaN query through"
    ref = q16.astype(cp.float64).get() @ c16.astype(cp.float64).get().T
    if p.sample < K:
        assert np.isneginf(tau).all()
        return
    assert np.isneginf(tau[2]) and -2e-3 < tau[1] < 0
    live = np.r_[0, 3:nq]
    assert ((ref[live] >= tau[live, None]).sum(axis=1) >= K).all(), "fewer than K rows reach a seed"
    picked = ref[live][:, : p.sample * p.stride : p.stride]
    assert picked.shape[1] == p.sample
    assert ((picked >= tau[live, None]).sum(axis=1) <= 3 * K).all(), "a seed far below its sample's K-th best"


def test_one_pass_kernel_with_many_merges_per_block(cp, rng):
    """A corpus sorted by the first query's score, ascending: for that query every row beats every block's
    threshold, so the candidate buffers fill and merge on every tile; the answer must stay exact."""
    q = rng.standard_normal((6, 128)).astype(np.float32)
    c = rng.standard_normal((200_000, 128)).astype(np.float16)
    c = c[np.argsort(c.astype(np.float32) @ q[0])]
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 25)
    exact_up_to_ties(cp, q, c, gi.get(), gs.get(), 2e-3)
    assert (np.diff(gs.get(), axis=1) <= 0).all()


@pytest.mark.parametrize("nq", [1, 2, 5, 64])
def test_fp16_queries_are_read_as_they_are(cp, rng, nq):
    """fp16 queries go to the one-query and one-pass kernels unconverted: the same answer as the same
    values in fp32, and a NaN among them is still rejected."""
    q = cp.asarray(rng.standard_normal((nq, 384)).astype(np.float16))
    c = prepare(cp.asarray(rng.standard_normal((30_000, 384)).astype(np.float16)))
    s16, i16 = topk(q, c, 10)
    s32, i32 = topk(q.astype(cp.float32), c, 10)
    assert (i16 == i32).all() and (s16 == s32).all()
    q[nq - 1, 7] = cp.nan
    with pytest.raises(ValueError, match="NaN"):
        topk(q, c, 10)


@pytest.mark.parametrize("scale", [1e-2, 1.0, 300.0])
def test_wgmma_reads_fp16_queries_in_place_at_any_scale(cp, rng, scale):
    """fp16 queries as wide as the prepared corpus are the wgmma one pass's operand as they are, not made
    unit first: their scores are scaled by the query's norm, so the seeds' margin must scale with them. The
    answer is the one the same values give in fp32 (converted and made unit first)."""
    q = cp.asarray((rng.standard_normal((200, 384)) * scale).astype(np.float16))
    c = prepare(cp.asarray(rng.standard_normal((60_000, 384)).astype(np.float16)))
    s16, i16 = topk(q, c, 10)
    s32, i32 = topk(q.astype(cp.float32), c, 10)
    assert (i16 == i32).all() and (s16 == s32).all()


def test_wgmma_merge_ranks_more_tied_candidates_than_it_collects(cp, rng):
    """300 copies of query 0 spread through the corpus all tie at the top, so all reach the merge's floor:
    more than it collects and ranks at once (merge::CANDS, 256). Its sorted-list path takes them, lowest
    index first; the other queries are answered as usual."""
    from gpu import sm90

    if sm90.topk_kernel(16) is None:
        pytest.skip("the wgmma one pass needs a Hopper GPU")
    q = rng.standard_normal((64, 384)).astype(np.float32)
    c = rng.standard_normal((100_000, 384)).astype(np.float16)
    copies = np.arange(300) * 333 + 7
    c[copies] = q[0]
    gs, gi = topk(cp.asarray(q), cp.asarray(c), 10)
    np.testing.assert_array_equal(gi.get()[0], copies[:10])
    assert (gs.get()[0] == gs.get()[0, 0]).all() and gs.get()[0, 0] > 0.999
    exact_up_to_ties(cp, q[1:], c, gi.get()[1:], gs.get()[1:], 2e-3)
