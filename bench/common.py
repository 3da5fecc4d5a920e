"""Timing helpers for the benchmarks: device events, warm-up, median of repeats."""
from __future__ import annotations

import statistics
from typing import Callable

H100_BW = 3.0e12  # bytes/s, device memory
H100_FP16 = 750e12  # FLOP/s, dense fp16 tensor cores


def time_gpu(fn: Callable[[], object], repeat: int = 10, warmup: int = 2) -> float:
    """Median milliseconds of fn on the GPU (CUDA events around each call). The events are recorded on the
    stream looked up once: `Event.record()` with no stream looks it up on every call, 10 of the 26 us of host
    time it took on the H100 host, which count in full after a call that waits for its own result (ours)
    and not after one that returns at once (torch's)."""
    import torch

    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    stream = torch.cuda.current_stream()
    times = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(stream)
        fn()
        b.record(stream)
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)



def table(headers: list[str], rows: list[list[object]]) -> str:
    cells = [headers] + [[f"{c:.3f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |"
    return "\n".join([line(cells[0]), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in cells[1:]])


# ---------------------------------------------------------------------- a synthetic archive (made-up words)
TOPICS = ("speculative decoding draft model inference kernel attention quantization distillation agents "
          "reasoning benchmark evaluation robotics humanoid chip accelerator datacenter power funding "
          "startup regulation policy safety alignment interpretability multimodal video speech diffusion "
          "retrieval embeddings compiler cuda triton scheduler batching cache memory bandwidth training "
          "pretraining finetuning reinforcement reward synthetic data open weights license replication "
          "leaderboard contamination hardware gpu tpu cluster network photonic edge phone latency").split()
SOURCES = [f"letter-{i:02d}" for i in range(20)]


def vocabulary(rng, size: int = 30_000):
    """Made-up words from syllables, then the topic words, with Zipf weights (topic words common)."""
    import numpy as np

    syll = np.array("ka lo mi ne ru ta po vi sa de ko li ma no re tu ba ze fi go hu ja we xo".split())
    words = {"".join(rng.choice(syll, rng.integers(2, 5))) for _ in range(size * 2)}
    vocab = np.array(sorted(words)[:size] + TOPICS)
    weights = 1.0 / np.arange(1, len(vocab) + 1) ** 1.05
    weights[-len(TOPICS):] = weights[200]  # topic words: common, not stopword-common
    return vocab, weights / weights.sum()


def story_rows(rng, vocab, weights, base: int, m: int, n: int) -> tuple[list[tuple], list[tuple]]:
    """Rows for stories base..base+m of n (issues and stories tables' column order): 20 sources over two
    years, six stories an issue, 30-70 words each."""
    import numpy as np

    start = np.datetime64("2025-01-01T06:00")
    words = rng.choice(len(vocab), size=(m, 76), p=weights)
    lengths = rng.integers(30, 76, m)
    issues, stories = [], []
    for k in range(m):
        i = base + k
        src = SOURCES[i % len(SOURCES)]
        when = str(start + np.timedelta64(int(i * 2 * 365 * 24 * 60 / n), "m")) + ":00+00:00"
        iid = f"i{i // 6:08d}"
        if i % 6 == 0:
            issues.append((iid, src, iid, f"https://{src}.example.org/{iid}", f"Issue {iid}", when, "", "",
                           "h", when, when))
        text = " ".join(vocab[words[k, 6:6 + lengths[k]]])
        stories.append((f"s{i:09d}", iid, src, when, i % 6, "main", " ".join(vocab[words[k, :6]]).title(),
                        "", text, text, "h", when))
    return issues, stories


def insert_rows(store, issues: list[tuple], stories: list[tuple]) -> None:
    """Bulk-insert rows from `story_rows` (no FTS triggers: `rebuild_fts` indexes them once at the end)."""
    store.db.conn.executemany("INSERT INTO issues (id, source, guid, url, title, published, html, text, "
                              "content_hash, first_seen, updated) VALUES (?,?,?,?,?,?,?,?,?,?,?)", issues)
    store.db.conn.executemany("INSERT INTO stories (id, issue_id, source, published, position, section, "
                              "title, dek, text, markdown, content_hash, updated) VALUES "
                              "(?,?,?,?,?,?,?,?,?,?,?,?)", stories)


def rebuild_fts(store, path):
    """Index the bulk-loaded stories once, then reopen with the FTS triggers back; returns the new Store."""
    from pipeline.store import Store

    store.db.execute("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')")
    store.db.conn.commit()
    store.close()
    store = Store(path)  # triggers back for anyone who writes to it later
    store.db["stories"].enable_fts(["title", "text"], create_triggers=True, tokenize="porter unicode61", replace=True)
    return store
