"""A clustered, briefed archive for `bench_scale.py --fast-setup`, written in bulk rather than night by night.

`bench_scale.build_archive` stores every synthetic story with `Store.save_issue` and clusters them with the
real `cluster_stories`: about 15 minutes per 100,000 stories on the 2-core CPU, hours for a million. This
writes the same tables in bulk, in one transaction, with what a night reads computed by the pipeline's own
functions where they decide something a later night compares against:

- issues, stories and links: the rows `Store.save_issue` writes (ids from `issue_id` / `story_id`, content
  hashes from `sources.models`), first seen the day they were published;
- vectors: the normalised sum of the pair's real vectors, with `pipeline.embed.content_hash` of
  `story_text`, so the embed stage finds nothing stale;
- term statistics: exactly what `cluster_stage.count_terms` would add (a story's terms are its headline's
  and its lead's, `terms.story_terms`, so the counts are summed per pool story and corrected where a
  headline and a lead share a term), every story marked counted;
- `story_marks`: `signals.contrary` of every story (the brief stage's mark), in worker processes;
- clusters by construction, calibrated on the real `cluster_stories` (below); each cluster's row (title,
  subject, terms, centroid, dates, size, sources) made by the code of `cluster_stage.refresh_clusters`
  (`central_order`, `names_something`, `cluster_subject`, `terms_of`) in worker processes;
- threads by the real `cluster.attach_threads`, oldest cluster first as `cluster_stories` and `pulse rethread`
  take them, but within each subject: a cluster joins only threads of its own subject (in worker processes),
  named by `_new_subjects`;
- briefs marked current by `bench_scale.mark_briefed` (the brief stage's own input hashes), and the watch
  stage's record that it has read them (`watch_seen`: a copied brief has no watch-for items).
Not written: `related` (stories related to another but other news; a night writes its own stories').

Clusters by construction: stories are taken in date order; a story joins the cluster that holds the newest
story with its text, then the one with its headline, each begun at most `window_days` (14) before it and
with no story of its issue, where every member stays within 0.50 (by text) or 0.54 (by headline) cosine of
the merged centroid (the real `member_min` is 0.40 on cosine plus shared terms); one story in 22 joins
nothing. At the 1M archive's density (each real story a headline 0.4 times a day and a text 0.4 times a
day), on 15,000 stories from 1,250 real ones at 500 a day: the real `cluster_stories` made 1,752 clusters
(mean 8.6 stories, median 2, largest 92, 807 of one story; 5,564 stories share a headline with another
member, 7,957 only a text), this rule 1,735 (8.6, 2, 64, 829; 5,373 and 8,798).

Threads within a subject: one `attach_threads` over every cluster of this synthetic archive makes a thread of
a common name ("ai", "google") that never goes quiet (each real headline comes back every 2.5 days) and
takes in most clusters: about 740 of the 1,762 clusters of the 15,000-story archive below, 6,723 of 16,795
at 150,000 stories (where it took 153 s on one core, growing faster than the clusters). On those 15,000
stories (`--pool-size 1250 --archive 15000 --new 500`), `cluster_stories` made 1,764 clusters in 767 threads,
the largest of 76 clusters; this setup 1,762 clusters (largest 62 stories) in 1,148 threads, the largest of
11. The night on each (the same 500 new stories) was alike: cluster stage 4.3 s against 4.3 s (read 1.1 /
1.1, assign 1.1 / 1.1, write 1.4 / 1.7, thread 0.4 / 0.3), 61 / 72 new clusters, 270 / 211 grown, 45 / 46 new
threads, 15 / 25 extended, 331 / 286 briefs (brief stage 40.6 / 41.5 s); the night with nothing new before
it took 2.5 s against 3.2 s (`pulse run`'s process).

SQLite is loaded with its journal off and the secondary indexes and FTS triggers dropped, then the indexes
made again from their own SQL, the FTS index rebuilt once and WAL turned back on.
"""
from __future__ import annotations

import multiprocessing as mp
import os
import sqlite3
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

PER_ISSUE = 25
LETTERS = 40
# every member's cosine to the merged centroid, joining by a shared text and by a shared headline, and one
# story in LONER that joins nothing (calibrated on `cluster_stories`: see the module's docstring)
JOIN_TEXT, JOIN_HEADLINE, LONER = 0.50, 0.54, 22

_G: dict[str, Any] = {}  # what forked workers read (set before the pool is made)


def layout(n: int, per_day: int, tonight: datetime) -> tuple[np.ndarray, list[tuple[str, str, int, str]], np.ndarray]:
    """(day of each story, issues as (letter, guid, first story, published), issue of each story): `n` stories,
    `per_day` a day before `tonight`, 25 to an issue, the issues round the 40 letters, as `build_archive`
    lays them out."""
    from pipeline.store import iso

    days = (n + per_day - 1) // per_day
    day = np.arange(n) // per_day
    issues, issue_of = [], np.zeros(n, np.int64)
    for d in range(days):
        date = tonight - timedelta(days=days - d)
        end = min(n, (d + 1) * per_day)
        for start in range(d * per_day, end, PER_ISSUE):
            letter = f"letter-{len(issues) % LETTERS:02d}"
            issue_of[start:min(end, start + PER_ISSUE)] = len(issues)
            issues.append((letter, f"{letter}/{date:%Y-%m-%d}/{len(issues)}", start, iso(date)))
    return day, issues, issue_of


def construct_clusters(a: np.ndarray, b: np.ndarray, day: np.ndarray, issue_of: np.ndarray, vecs: np.ndarray,
                       pool: int, window: float = 14.0) -> np.ndarray:
    """A cluster number for each story (stories in date order): see the module's docstring."""
    n = len(a)
    parent = np.arange(n)

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = int(parent[x])
        return x

    members: dict[int, list[int]] = {}
    total: dict[int, np.ndarray] = {}
    first: dict[int, int] = {}
    issues: dict[int, set[int]] = {}
    last: dict[int, int] = {}  # key (text: pool + pool id; headline: pool id) -> newest cluster holding it
    for k in range(n):
        cur = k
        members[k], total[k], first[k], issues[k] = [k], vecs[k].astype(np.float64), int(day[k]), {int(issue_of[k])}
        if (k * 2654435761) % LONER == 0:
            continue
        keys = ((pool + int(b[k]), JOIN_TEXT), (int(a[k]), JOIN_HEADLINE))
        for key, floor in keys:
            c = last.get(key)
            if c is None:
                continue
            c = find(c)
            if c == cur or day[k] - first[c] > window or issues[c] & issues[cur]:
                continue
            s = total[c] + total[cur]
            both = members[c] + members[cur]
            if float((vecs[both] @ (s / np.linalg.norm(s))).min()) < floor:
                continue
            keep, drop = (c, cur) if first[c] <= first[cur] else (cur, c)
            parent[drop] = keep
            members[keep], total[keep] = both, s
            first[keep], issues[keep] = min(first[c], first[cur]), issues[c] | issues[cur]
            for d in (members, total, first, issues):
                del d[drop]
            cur = keep
        for key, _ in keys:
            last[key] = cur
    return np.array([find(k) for k in range(n)])


def term_counts(rows: list[dict], a: np.ndarray, b: np.ndarray) -> tuple[Counter, Counter, Counter]:
    """(df, upper, seen) as `count_terms` would add them for these stories (headline of rows[a], text of
    rows[b]): `terms_of([(title, text)])` is the union of the headline's terms and the lead's."""
    from pipeline.terms import inner_words, lead_of, story_terms

    heads = [frozenset(story_terms(r["title"])) for r in rows]
    leads = [frozenset(story_terms("", lead_of(r["text"]))) for r in rows]
    na, nb = np.bincount(a, minlength=len(rows)), np.bincount(b, minlength=len(rows))
    df: Counter = Counter()
    for i in np.nonzero(na)[0].tolist():
        for t in heads[i]:
            df[t] += int(na[i])
    for i in np.nonzero(nb)[0].tolist():
        for t in leads[i]:
            df[t] += int(nb[i])
    for x, y in zip(a.tolist(), b.tolist()):  # a term of both the headline and the lead counts once
        for t in heads[x] & leads[y]:
            df[t] -= 1
    upper, seen = Counter(), Counter()
    for i in np.nonzero(nb)[0].tolist():
        for word, capital in inner_words(rows[i]["text"]):
            seen[word] += int(nb[i])
            if capital:
                upper[word] += int(nb[i])
    return df, upper, seen


def _marks(span: tuple[int, int]) -> list[int]:
    from outputs.signals import contrary

    rows, a, b = _G["rows"], _G["a"], _G["b"]
    return [int(contrary(f"{rows[a[k]]['title']} {rows[b[k]]['text']}")) for k in range(*span)]


def _refs_rows(span: tuple[int, int]) -> list[tuple[int, str]]:
    """What the cluster stage keeps of each story's words (`cluster_stage.refs_of`), for these stories."""
    from pipeline.cluster_stage import encode_refs, refs_of

    rows, a, b = _G["rows"], _G["a"], _G["b"]
    return [(k, encode_refs(refs_of(rows[a[k]]["title"], rows[b[k]]["text"][:600]))) for k in range(*span)]


def _cluster_rows(groups: list[list[int]]) -> list[tuple]:
    """Each cluster's row as `refresh_clusters` makes it, and what thread attachment needs."""
    from pipeline.cluster import central_order
    from pipeline.cluster_stage import cluster_subject, encode_terms
    from pipeline.dates import to_day
    from pipeline.embed import to_blob
    from pipeline.terms import lead_of, names_something, story_terms

    rows, a, b, vecs, sid, date, source, stats = (_G[k] for k in ("rows", "a", "b", "vecs", "sid", "date", "source",
                                                                  "stats"))
    out = []
    for group in groups:
        group = sorted(group, key=lambda k: (date[k], sid[k]))  # as `Store.cluster_stories` reads them
        mine = [{"id": sid[k], "title": rows[a[k]]["title"], "lead": rows[b[k]]["text"][:600], "date": date[k],
                 "source": source[k]} for k in group]
        terms = frozenset().union(*(story_terms(m["title"], lead_of(m["lead"])) for m in mine))
        v = vecs[group]
        v = v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
        centroid = v.sum(axis=0)
        order = central_order(v, [m["title"] for m in mine], [m["lead"] or "" for m in mine],
                              [(m["date"], m["id"]) for m in mine])
        central = next((mine[i] for i in order if names_something(mine[i]["title"], stats)), mine[order[0]])
        subject = cluster_subject(mine, central, stats)
        dates = sorted(m["date"] for m in mine)
        out.append((group, central["title"], dates[0], dates[-1], len(mine), len({m["source"] for m in mine}),
                    to_blob(centroid), subject, encode_terms(terms), centroid.astype(np.float32), to_day(dates[0]),
                    to_day(dates[-1]), terms))
    return out


def _attach(groups: list[list[int]]) -> list[dict[int, str]]:
    """Threads of each group of clusters (of one subject) by the real `attach_threads`."""
    from pipeline.cluster import ClusterConfig, attach_threads
    from pipeline.cluster_stage import specificity

    fresh, terms = _G["fresh"], _G["terms"]
    config = ClusterConfig()
    out = []
    for group in groups:
        mine = [fresh[i] for i in group]
        named = {c.subject for c in mine} - {""}
        threads = attach_threads(mine, [], config, {}, {}, specificity(terms, named, config))
        out.append({i: threads[fresh[i].id] for i in group})
    return out


class _Terms:
    """What `cluster_stage.specificity` reads from a store, from the counts in memory."""

    def __init__(self, docs: int, df: Counter, upper: Counter, seen: Counter):
        self.docs, self.df, self.upper, self.seen = docs, df, upper, seen

    def term_counts(self, terms: list[str]) -> tuple[int, dict[str, tuple[int, int, int]]]:
        return self.docs, {t: (self.df[t], self.upper[t], self.seen[t]) for t in terms
                           if t in self.df or t in self.seen}


def _chunks(n: int, size: int) -> list[tuple[int, int]]:
    return [(s, min(n, s + size)) for s in range(0, n, size)]


def fast_build(db: Path, rows: list[dict], vectors: np.ndarray, picks: list[tuple[int, int]], per_day: int,
               tonight: datetime, model: str, jobs: int = 0) -> dict[str, float]:
    """The archive of `bench_scale.build_archive` (same stories, ids and vectors), written in bulk; clusters by
    construction. Returns the seconds each step took and the counts made."""
    from pipeline.cluster import ClusterInfo, stable_label
    from pipeline.cluster_stage import _new_subjects
    from pipeline.embed import COLLECTION, Embedder, content_hash, story_text
    from pipeline.store import Store, issue_id, now, story_id
    from pipeline.terms import TermStats
    from sources import models

    jobs = jobs or os.cpu_count() or 1
    times: dict[str, float] = {}
    t = time.perf_counter()
    n = len(picks)
    a = np.fromiter((p[0] for p in picks), np.int64, n)
    b = np.fromiter((p[1] for p in picks), np.int64, n)
    day, issues, issue_of = layout(n, per_day, tonight)
    iids = [issue_id(letter, guid) for letter, guid, _, _ in issues]
    sid = [story_id(iids[issue_of[k]], k - issues[issue_of[k]][2]) for k in range(n)]
    date = [issues[i][3] for i in issue_of.tolist()]
    source = [issues[i][0] for i in issue_of.tolist()]
    vecs = vectors[a] + vectors[b]
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    vecs = vecs.astype(np.float32)
    df, upper, seen = term_counts(rows, a, b)
    stats = TermStats(docs=n, df=df, upper=upper, seen=seen)
    times["layout and terms"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = construct_clusters(a, b, day, issue_of, vecs, len(rows))
    groups: dict[int, list[int]] = {}
    for k, lab in enumerate(labels.tolist()):
        groups.setdefault(lab, []).append(k)
    times["clusters constructed"] = time.perf_counter() - t
    _G.update(rows=rows, a=a, b=b, vecs=vecs, sid=sid, date=date, source=source, stats=stats)
    ctx = mp.get_context("fork")
    pool = ctx.Pool(jobs)
    try:
        marks = pool.map_async(_marks, _chunks(n, 20_000))
        # the words of the stories a night's cluster window reads, as the nights that clustered them kept them
        from pipeline.cluster import ClusterConfig
        recent = int(np.searchsorted(day, int(day.max()) - int(ClusterConfig().window_days) - 1))
        refs = pool.map_async(_refs_rows, [(lo + recent, hi + recent) for lo, hi in _chunks(n - recent, 5_000)])
        todo = list(groups.values())
        per = max(1, len(todo) // (jobs * 8))
        infos = pool.map_async(_cluster_rows, [todo[s:s + per] for s in range(0, len(todo), per)])
        t = time.perf_counter()
        model_id = Embedder(model=model).model_id
        with Store(db) as store:  # the schema, the letters, the vector collection
            for j in range(LETTERS):
                store.ensure_source(f"letter-{j:02d}", "rss", f"http://127.0.0.1/letter-{j:02d}.xml")
            cid = store.embedding_collection(COLLECTION, model_id)
        conn = sqlite3.connect(db, isolation_level=None)
        conn.execute("PRAGMA journal_mode = DELETE")
        for pragma in ("synchronous = OFF", "cache_size = -4000000", "temp_store = MEMORY", "foreign_keys = OFF"):
            conn.execute(f"PRAGMA {pragma}")
        keep = conn.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND sql "
                            "IS NOT NULL AND (tbl_name IN ('issues', 'stories', 'links', 'embeddings', "
                            "'cluster_members', 'clusters') )").fetchall()
        for kind, name, _ in keep:
            conn.execute(f'DROP {kind.upper()} "{name}"')
        conn.execute("BEGIN")
        stamp = now()
        story_hash = [""] * n
        for k in range(n):
            x, y = a[k], b[k]
            story_hash[k] = models.content_hash(rows[x]["title"], "", rows[y]["text"], rows[y]["section"] or "main",
                                                f"https://example.org/{rows[x]['id']}/{rows[y]['id']}")
        ends = [i[2] for i in issues[1:]] + [n]
        conn.executemany(
            "INSERT INTO issues (id, source, guid, url, title, published, html, text, content_hash, entry_hash, "
            "first_seen, updated) VALUES (?,?,?,?,?,?,?,?,?,NULL,?,?)",
            [(iids[i], letter, guid, f"https://example.org/{guid}", f"{letter} {i}", published, "", "",
              models.content_hash(f"{letter} {i}", "", *story_hash[start:ends[i]]), published, stamp)
             for i, (letter, guid, start, published) in enumerate(issues)])
        for lo, hi in _chunks(n, 50_000):
            conn.executemany(
                "INSERT INTO stories (id, issue_id, source, published, position, section, title, dek, text, markdown, "
                "content_hash, updated, terms_counted) VALUES (?,?,?,?,?,?,?,'',?,'',?,?,1)",
                [(sid[k], iids[issue_of[k]], source[k], date[k], k - issues[issue_of[k]][2],
                  rows[b[k]]["section"] or "main", rows[a[k]]["title"], rows[b[k]]["text"], story_hash[k], stamp)
                 for k in range(lo, hi)])
            conn.executemany("INSERT INTO links (story_id, position, url, text) VALUES (?,0,?,?)",
                             [(sid[k], f"https://example.org/{rows[a[k]]['id']}/{rows[b[k]]['id']}",
                               rows[a[k]]["title"][:60]) for k in range(lo, hi)])
        times["stories stored"] = time.perf_counter() - t
        t = time.perf_counter()
        stamp_s = int(datetime.now().timestamp())
        embedded = [b""] * n
        for lo, hi in _chunks(n, 50_000):
            part = []
            for k in range(lo, hi):
                embedded[k] = content_hash(story_text(rows[a[k]]["title"], rows[b[k]]["text"]))
                part.append((cid, sid[k], vecs[k].tobytes(), embedded[k], stamp_s))
            conn.executemany("INSERT INTO embeddings (collection_id, id, embedding, content_hash, updated) "
                             "VALUES (?,?,?,?,?)", part)
        conn.executemany("INSERT INTO terms (term, df, upper, seen) VALUES (?,?,?,?)",
                         [(term, df.get(term, 0), upper.get(term, 0), seen.get(term, 0))
                          for term in sorted(set(df) | set(seen))])
        times["vectors and terms stored"] = time.perf_counter() - t
        t = time.perf_counter()
        flags = [f for part in marks.get() for f in part]
        conn.executemany("INSERT INTO story_marks (story_id, content_hash, contrary) VALUES (?,?,?)",
                         zip(sid, story_hash, flags))
        made = [c for part in infos.get() for c in part]
        times["marks and cluster rows (workers)"] = time.perf_counter() - t
    finally:
        pool.close()
        pool.join()
    t = time.perf_counter()
    fresh, label_of = [], {}
    for c in made:
        group = c[0]
        earliest = min(group, key=lambda k: (day[k], sid[k]))
        label = stable_label("cluster", sid[earliest] + embedded[earliest].hex()[:16])
        label_of[id(c)] = label
        fresh.append(ClusterInfo(label, c[9], c[10], c[11], subject=c[7], terms=c[12]))
    by_subject: dict[str, list[int]] = {}
    for i, c in enumerate(fresh):
        by_subject.setdefault(c.subject or f"\x00{i}", []).append(i)
    todo = sorted(by_subject.values(), key=len, reverse=True)  # the largest first: they take longest
    _G.update(fresh=fresh, terms=_Terms(n, df, upper, seen))
    threads: dict[str, str] = {}
    with ctx.Pool(jobs) as pool:
        for part in pool.imap_unordered(_attach, [todo[s::jobs * 4] for s in range(jobs * 4)]):
            for found in part:
                threads.update({fresh[i].id: tid for i, tid in found.items()})
    subjects = _new_subjects(fresh, threads, {})
    times["threads attached"] = time.perf_counter() - t
    t = time.perf_counter()
    conn.executemany(
        "INSERT INTO clusters (id, thread_id, title, first_date, last_date, size, sources, centroid, subject, terms) "
        "VALUES (?,?,?,?,?,?,?,?,?,?)",
        [(label_of[id(c)], threads[label_of[id(c)]], *c[1:9]) for c in made])
    kept = dict(r for part in refs.get() for r in part)
    conn.executemany("INSERT INTO cluster_members (story_id, cluster_id, embedded_hash, reason, refs) "
                     "VALUES (?,?,?,?,?)",
                     [(sid[k], label_of[id(c)], embedded[k], None if len(c[0]) == 1 or k == min(c[0]) else
                       "fast setup: shares its headline or text with a member", kept.get(k))
                      for c in made for k in c[0]])
    span: dict[str, list] = {}
    for c in sorted(made, key=lambda c: (c[2], label_of[id(c)])):
        tid = threads[label_of[id(c)]]
        if tid not in span:
            span[tid] = [c[1], c[2], c[3]]
        else:
            span[tid][1], span[tid][2] = min(span[tid][1], c[2]), max(span[tid][2], c[3])
    conn.executemany("INSERT INTO threads (id, title, first_date, last_date, subject) VALUES (?,?,?,?,?)",
                     [(tid, title, first, last, subjects.get(tid)) for tid, (title, first, last) in span.items()])
    conn.execute("COMMIT")
    times["clusters stored"] = time.perf_counter() - t
    t = time.perf_counter()
    for kind, name, sql in keep:
        if kind == "index":
            conn.execute(sql)
    times["indexes"] = time.perf_counter() - t
    t = time.perf_counter()
    conn.execute("INSERT INTO stories_fts(stories_fts) VALUES ('rebuild')")
    for kind, name, sql in keep:
        if kind == "trigger":
            conn.execute(sql)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()
    times["fts"] = time.perf_counter() - t
    t = time.perf_counter()
    with Store(db) as store:  # what the triggers would have kept: the counts, first tellers, every stage's work
        store.recount()
    times["recounted"] = time.perf_counter() - t
    times["clusters"] = len(made)
    times["largest cluster"] = max(len(c[0]) for c in made)
    times["threads"] = len(span)
    sizes = Counter(threads.values())
    times["largest thread"] = max(sizes.values())
    times["clusters in threads of 2+"] = sum(v for v in sizes.values() if v > 1)
    return times


def settle_briefs(db: Path, model: str) -> dict[str, float]:
    """Every cluster's brief marked current (`bench_scale.mark_briefed`), and read by the watch stage."""
    from bench_scale import mark_briefed

    from outputs.brief_stage import Briefer
    from outputs.render import Templates
    from pipeline.embed import Embedder
    from pipeline.store import Store

    t = time.perf_counter()
    with Store(db) as store:
        mark_briefed(store, Briefer(Templates(), Embedder(model=model).encode))
        with store.transaction():  # a copied brief has no watch-for items: what the watch stage would record
            store.db.execute("INSERT INTO watch_seen (cluster_id, input_hash) SELECT cluster_id, input_hash FROM briefs "
                             "WHERE true ON CONFLICT(cluster_id) DO UPDATE SET input_hash = excluded.input_hash")
    return {"briefs marked": time.perf_counter() - t}
