"""The nightly brief stage: a brief for every cluster whose stories or thread changed, and its page.

Incremental: each stored brief keeps a hash of what it was built from (its stories' text hashes, its
thread's clusters up to its newest story, the templates and generator); only clusters whose hash changed
are rebuilt. A brief is written as of its cluster's newest story: it never cites a later step of its thread.
Sentences for every cluster of the night are embedded in one batch.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import os
import time
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np

from gpu.numpy_backend import normalize
from pipeline.dates import to_day
from pipeline.embed import from_blob
from pipeline.store import Store, now

from . import sentences as sent
from . import signals as sig
from .brief import (BRIEF_VERSION, MAX_COUNTER, Brief, BriefInput, Encode, Member, Related, build, candidates_of,
                    subject_for)
from .generate import LLMWriter
from .markdown import slug_for
from .render import Templates
from .watch import page_items


PARALLEL_FROM = 64  # fewer briefs than this are built in this process: starting workers costs more


def default_audiences() -> dict[str, list[str]]:
    return tomllib.loads(resources.files("outputs").joinpath("audiences.toml").read_text("utf-8"))


def default_kinds() -> dict[str, list[str]]:
    """Each kind of news described in a few sentences (outputs/kinds.toml), for `outputs.facts.kind_of`."""
    return tomllib.loads(resources.files("outputs").joinpath("kinds.toml").read_text("utf-8"))


@dataclass
class Briefer:
    """What the brief stage needs: templates, an encoder (the story model), audiences, an optional LLM."""

    templates: Templates
    encode: Encode
    audiences: dict[str, list[str]] = field(default_factory=default_audiences)
    writer: LLMWriter | None = None
    kind_descriptions: dict[str, list[str]] = field(default_factory=default_kinds)
    workers: int = 1  # processes that build briefs (brief_workers.py); 1: all in this one
    _roles: dict[str, np.ndarray] | None = field(default=None, init=False)
    _kinds: dict[str, np.ndarray] | None = field(default=None, init=False)
    _cues: dict[str, frozenset[str]] | None = field(default=None, init=False)
    _cache: dict[str, np.ndarray] = field(default_factory=dict, init=False)

    @property
    def roles(self) -> dict[str, np.ndarray]:
        if self._roles is None:
            self._roles = {}
            for name, descriptions in sorted(self.audiences.items()):
                self._roles[name] = normalize(self.encode(list(descriptions)))
        return self._roles

    @property
    def cues(self) -> dict[str, frozenset[str]]:
        """Each audience's evidence words (`outputs.signals.audience_cues`)."""
        if self._cues is None:
            self._cues = sig.audience_cues(self.audiences)
        return self._cues

    @property
    def kinds(self) -> dict[str, np.ndarray]:
        if self._kinds is None:
            self._kinds = {k: normalize(self.encode(list(v))) for k, v in sorted(self.kind_descriptions.items())}
        return self._kinds

    def fingerprint(self) -> str:
        """Changes when anything that shapes a brief's text changes (templates, audiences, generator)."""
        loader = self.templates.text.loader
        parts = [*(loader.get_source(self.templates.text, name)[0] for name in ("fields.j2", "fields_macros.j2", "brief.md.j2")),
                 json.dumps(self.audiences, sort_keys=True), json.dumps(self.kind_descriptions, sort_keys=True), self.writer.backend.name if self.writer else "template",
                 str(BRIEF_VERSION)]
        return hashlib.sha1("\x00".join(parts).encode()).hexdigest()

    def warm(self, texts: list[str]) -> None:
        """Embed every sentence the night will need, in one batch."""
        todo = sorted({t for t in texts if t not in self._cache})
        if todo:
            self._cache.update(zip(todo, self.encode(todo)))

    def cached_encode(self, texts: list[str]) -> np.ndarray:
        self.warm(texts)
        return np.vstack([self._cache[t] for t in texts])


def inputs(store: Store, cluster_ids: list[str], as_of: str | None = None,
           mentions: "Mentions | None" = None) -> list[BriefInput]:
    """Everything the briefs of these clusters draw on, as Pulse knew it at `as_of` (None: now). `mentions`:
    the archive's earlier mentions already read this night (a stage's, or a worker's, for all its chunks)."""
    rows = store.brief_members(cluster_ids, as_of)
    by_cluster: dict[str, list[dict]] = {}
    for r in rows:
        by_cluster.setdefault(r["cluster_id"], []).append(r)
    titles = store.cluster_titles(cluster_ids)
    subjects = store.cluster_subjects(cluster_ids)
    threads = sorted({r["thread_id"] for r in rows if r["thread_id"]})
    thread_rows: dict[str, list[dict]] = {}
    for r in store.thread_members(threads, as_of):  # each thread's oldest first
        thread_rows.setdefault(r["thread_id"], []).append(r)
    thread_dates = {t: [r["date"] for r in rows] for t, rows in thread_rows.items()}
    # what cuts against a claim: the stored mark of the story's current text, else read from the text
    against = {r["id"] for rows in thread_rows.values() for r in rows
               if r["contrary"] or (r["contrary"] is None and sig.contrary(f"{r['title']} {r['text']}"))}
    mentions = mentions if mentions is not None and mentions.store is store else Mentions(store)
    out = []
    for cid in cluster_ids:
        members = by_cluster.get(cid)
        if not members:
            continue
        tid = members[0]["thread_id"]
        # the thread as it stood at the cluster's newest story: later steps are the thread page's, and a
        # brief that never sees them is not rebuilt when they come (`Store.brief_signatures`)
        as_of_cluster = members[-1]["date"]
        cut = bisect.bisect_right(thread_dates.get(tid, []), as_of_cluster) if tid else 0
        trows = thread_rows[tid][:cut] if cut else []
        later = [r for r in thread_rows.get(tid, [])[cut:] if r["id"] in against] if tid else []
        firsts: dict[str, str] = {}
        for r in trows:
            firsts[r["cluster_id"]] = min(firsts.get(r["cluster_id"], r["date"]), r["date"])
        title = titles.get(cid) or members[0]["title"]
        if all(m["title"] != title for m in members):
            title = members[0]["title"]
        related = trows or members
        out.append(BriefInput(
            cluster_id=cid, title=title, thread_id=tid,
            members=[Member(m["id"], m["title"], m["text"], m["source"], m["date"], m["issue_id"], m["issue_title"],
                            m["issue_url"], m["section"], m["links"],
                            from_blob(m["embedding"]) if m["embedding"] else None) for m in members],
            related=[Related(r["id"], r["title"], r["text"], r["source"], r["date"], r["issue_id"], r["issue_title"],
                             "cluster" if r["cluster_id"] == cid else "thread", r["cluster_id"]) for r in related],
            later=[Related(r["id"], r["title"], r["text"], r["source"], r["date"], r["issue_id"], r["issue_title"],
                           "thread", r["cluster_id"]) for r in later],
            thread_clusters=sorted(((c, d) for c, d in firsts.items()), key=lambda cd: (cd[1], cd[0])),
            subject=subjects.get(cid, "")))
        archive_context(store, out[-1], mentions)
    return out


def searchable(subject: str, common_words: frozenset[str]) -> bool:
    """Whether the archive's earlier headlines can be searched for this subject: a name in plain words
    ("Sweep", a listed tool) would match other news that uses the word ("ChatGPT frenzy sweeps China")."""
    return bool(subject) and not all(w.lower() in common_words for w in subject.split())


KEEP_ROWS = 2_000_000  # mentions a Mentions keeps across batches (about 200 bytes each)
_CHECK_ALL = 500  # a phrase in at most this many headlines has every one checked for the phrase as written


@dataclass
class Mentions:
    """Earlier news stories naming a phrase, read from the archive once per phrase for a batch of briefs
    (many of a night's briefs name "OpenAI"; each reads its own count, first date and newest two)."""

    store: Store
    _found: dict[tuple[str, bool], tuple[list[tuple[str, str, str]], list[str], dict[str, list[int]]]] = \
        field(default_factory=dict)
    _rows: int = 0  # rows kept in `_found`: the oldest phrases are dropped past KEEP_ROWS

    def earlier(self, phrase: str, before: str, cluster_id: str, *, titles_only: bool = True,
                latest: int = 2) -> dict[str, Any]:
        """Stories published before `before`, outside this cluster, naming `phrase` (in their title, or
        anywhere): {count, first (date), latest: [{story_id, title, source, date, cluster_id}], newest first}."""
        key = (phrase, titles_only)
        if key not in self._found:
            rows = self.store.mention_rows(phrase, titles_only=titles_only)
            if titles_only and 0 < len(rows) <= _CHECK_ALL:  # the search stems ("banners" for "Banner",
                # "coherent" for "Cohere"): a headline names the phrase only where it writes it as whole words, in
                # any case (a phrase in thousands of headlines keeps its count; the headlines quoted are checked)
                heads = self.store.story_heads([r[1] for r in rows])
                rows = [r for r in rows if _writes(heads[r[1]]["title"], phrase)]
            by_cluster: dict[str, list[int]] = {}
            for i, (_, _, cid) in enumerate(rows):
                by_cluster.setdefault(cid, []).append(i)
            self._found[key] = rows, [r[0] for r in rows], by_cluster
            self._rows += len(rows)
            while self._rows > KEEP_ROWS and len(self._found) > 1:  # a worker's memory stays bounded
                self._rows -= len(self._found.pop(next(iter(self._found)))[0])
        rows, dates, by_cluster = self._found[key]
        cut = bisect.bisect_left(dates, before)  # published before it
        count = cut - bisect.bisect_left(by_cluster.get(cluster_id, []), cut)
        first = next((r[0] for r in rows[:cut] if r[2] != cluster_id), None)
        newest: list[tuple[str, str, str]] = []
        heads: dict[str, dict[str, str]] = {}
        i = cut - 1
        while i >= 0 and len(newest) < latest:
            batch = [r for r in rows[max(0, i - 15):i + 1][::-1] if r[2] != cluster_id]
            heads.update(self.store.story_heads([r[1] for r in batch]) if batch else {})
            newest += [r for r in batch if not titles_only or _writes(heads[r[1]]["title"], phrase)]
            i -= 16
        return {"count": count, "first": first, "latest": [
            {"story_id": sid, **heads[sid], "date": date, "cluster_id": cid or None}
            for date, sid, cid in newest[:latest]]}


def _writes(title: str, phrase: str) -> bool:
    """The headline writes the phrase as whole words, in any case (not a form the search's stemmer matched);
    a plain word as a name ("Character", "Whisper") with its capital ("physics-based character animation" is
    no mention of Character), and an acronym in capitals ("Google Brain alum to helm ..." is no mention of HELM)."""
    if " " not in phrase and (phrase[:1].isupper() and phrase[1:].islower() or phrase.isalpha() and phrase.isupper()):
        return sig.whole_word(phrase, title)
    return sig.whole_word(phrase.lower(), title.lower())


def archive_context(store: Store, inp: BriefInput, mentions: Mentions | None = None) -> None:
    """What the archive said before this cluster: earlier headlines naming its subject, how many stories name
    its actor, and stories related to its own but other news (with why)."""
    titles = "\n".join(m.title for m in inp.members)
    # the names the stories write and the cluster's subject (a word of a Title Case headline, "Happens")
    found = [*sig.names([titles, "\n".join(m.text for m in inp.members)], titles), inp.subject or ""]
    # a plain capitalised word, hyphenated ones too ("Open-Sourcing"), not a coined one ("OpenAI", "GPT-4")
    # ... and a shouted word ("OpenAssistant RELEASED!"), which the archive writes in lower case as often
    words = sorted({w.lower() for n in found for w in n.split() if all(p[1:].islower() for p in w.split("-"))
                    or (w.isalpha() and w.isupper() and len(w) >= 4)})
    words = sorted({*words, *(p for w in words if "-" in w for p in w.split("-") if p)})  # "Full-text": full, text
    counts = store.term_rows(words)
    # (upper + 1) / (seen + 2), as pipeline.terms.TermStats.name_like: under 0.3 is a word, not a name
    inp.common_words = frozenset(w for w, (_, upper, seen) in counts.items() if (upper + 1) / (seen + 2) < 0.3)
    # ... and over 0.7, seen three times at least: a name the archive knows ("Mobileye" opening every sentence
    # of tonight's story is still one)
    inp.known_names = frozenset(w for w, (_, upper, seen) in counts.items()
                                if seen >= 3 and (upper + 1) / (seen + 2) > 0.7)
    subject, actor = inp.named = subject_for(inp)
    before = inp.members[0].date
    mentions = mentions or Mentions(store)
    inp.history = mentions.earlier(subject, before, inp.cluster_id) if searchable(subject, inp.common_words) else None
    if inp.history:  # (none where no headline quoted writes the phrase as such, though thousands match it)
        inp.history["days_since_last"] = round(to_day(before) - to_day(inp.history["latest"][0]["date"])) \
            if inp.history["latest"] else None
    # the actor's reach (`outputs.brief.rate`), which a place, a people or the field itself never has
    inp.actor_mentions = (mentions.earlier(actor, before, inp.cluster_id, titles_only=False, latest=0)["count"]
                          if actor and not sig.not_a_subject(actor) else 0)
    seen = {m.id for m in inp.members}
    for m in inp.members:
        for r in store.related_to(m.id):  # earlier news only: a brief never cites what came after it
            if r["story_id"] not in seen and r["date"] < before:
                seen.add(r["story_id"])
                inp.other_news.append(r)
    inp.other_news.sort(key=lambda r: (r["date"], r["story_id"]))


def texts_of(inp: BriefInput) -> tuple[list[str], list[str]]:
    """(sources, archive): the texts a brief may draw names and numbers from."""
    sources = [t for m in inp.members for t in (m.title, m.text, m.issue_title, m.source, m.date[:10],
                                                  *(link["text"] for link in m.links),
                                                  *(link["url"] for link in m.links))]
    archive = [t for r in [*inp.related, *inp.later] for t in (r.title, r.text, r.issue_title, r.date[:10])]
    history = inp.history or {}
    archive += [t for r in [*history.get("latest", []), *inp.other_news] for t in (r["title"], r["source"],
                                                                                     r["date"][:10])]
    archive += [(history.get("first") or "")[:10]]
    return sources, archive


def sentences_of(inps: list[BriefInput]) -> list[str]:
    """Every candidate sentence the briefs of these inputs will weigh (what is embedded for them)."""
    out = []
    for inp in inps:
        cands = candidates_of(inp)
        if sent.needs_vectors(cands):
            out += [s.text for s in cands]
    return out


def make_briefs(briefer: Briefer, inps: list[BriefInput], slugs: dict[str, str] | None = None) -> list[Brief]:
    """Build (and, with an LLM writer, rewrite) the briefs for these inputs."""
    briefer.warm(sentences_of(inps))
    cues = briefer.cues
    out = []
    for inp in inps:
        brief = build(inp, briefer.cached_encode, briefer.roles, briefer.templates.fields,
                      slug=(slugs or {}).get(inp.cluster_id), kinds=briefer.kinds, cues=cues)
        if briefer.writer:
            brief = briefer.writer.rewrite(brief, *texts_of(inp))
        out.append(brief)
    return out


def write_text(path: Path, text: str) -> None:
    """Write a file whole or not at all (a crash never leaves half a page)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, "utf-8")
    os.replace(tmp, path)


def mark_stories(store: Store, batch: int = 2000) -> int:
    """Mark every story whose current text has no mark yet: whether it cuts against a claim (what decides
    whether a later step of a thread rebuilds its earlier briefs). Returns how many were marked. Only the
    stories added or edited since it last ran are looked at (`Store.due`), unless the archive's markers are
    not known yet."""
    full = store.needs_full("marks")
    done = 0
    while rows := (store.unmarked_stories(batch) if full else store.marks_due(batch)):
        store.save_marks([(r["id"], r["content_hash"], sig.contrary(f"{r['title']} {r['text']}")) for r in rows])
        done += len(rows)
    if full:
        with store.transaction():
            store.clear_due("marks")
    return done


@dataclass
class Signatures:
    """Each cluster's brief input hash: its stories and its thread up to its newest story
    (`Store.brief_signatures`), the later stories of its thread that cut against the brief's subject or
    actor by `signals.against`, the test its counter-evidence passes (the only later news a brief cites: the
    first `cited` of them in time order, `MAX_COUNTER`; all of them for a language-model writer, which reads
    them all), and what shapes a brief's text (`Briefer.fingerprint`). A stored brief with another hash is
    rebuilt."""

    base: dict[str, tuple[str, str | None, str]]
    against: dict[str, list[tuple[str, str, str, str]]]
    fingerprint: str
    cited: int | None = MAX_COUNTER
    _naming: dict[tuple[str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def of(self, cid: str, names: list[str]) -> str:
        own, tid, last = self.base[cid]
        later: set[tuple[str, str]] = set()
        for name in names if tid in self.against else []:
            if (tid, name) not in self._naming:
                self._naming[tid, name] = [(d, sid) for d, sid, title, text in self.against[tid]
                                           if sig.against([name], title, text)]
            rows = self._naming[tid, name]  # oldest first, as the brief reads its thread
            start = bisect.bisect_right(rows, (last, "\uffff"))  # after its newest story
            later.update(rows[start:][:self.cited])  # cited None: all of them
        ids = ",".join(sorted(sid for _, sid in sorted(later)[:self.cited]))
        return hashlib.sha1(f"{own}|{ids}|{self.fingerprint}".encode()).hexdigest()


def signatures(store: Store, briefer: Briefer, cluster_ids: list[str] | None = None) -> Signatures:
    """`Signatures` of every cluster, or of these (each with its whole thread)."""
    base = store.brief_signatures(cluster_ids)
    threads = None if cluster_ids is None else sorted({tid for _, tid, _ in base.values() if tid})
    return Signatures(base, store.contrary_later(threads), briefer.fingerprint(),
                      cited=None if briefer.writer else MAX_COUNTER)


def input_hashes(store: Store, briefer: Briefer, sigs: Signatures | None = None) -> dict[str, str]:
    """Each cluster's brief input hash as its stored brief's names make it (`Signatures`)."""
    sigs = sigs or signatures(store, briefer)
    names = store.brief_key_names(list(sigs.base))
    return {cid: sigs.of(cid, names.get(cid, [])) for cid in sigs.base}


@dataclass
class Scope:
    """What a night's brief stage looks at: every cluster (the first run, or after what shapes a brief
    changed), or the clusters whose briefs' inputs may have changed (`Store.due`, with their threads), and
    the due clusters that are gone."""

    full: bool
    due: list[str]
    clusters: list[str] | None
    gone: list[str]
    joined: list[str] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, store: Store, stamp: str, marks_full: bool = False) -> "Scope":
        """`marks_full`: the stories were all marked tonight (the first run): every brief is looked at."""
        if marks_full or store.needs_full("brief") or store.state_value("brief_fingerprint") != stamp:
            return cls(True, [], None, [])
        due, joined, threads = store.due("brief"), store.due("joined"), store.due("thread")
        clusters, gone = store.brief_scope(due)
        return cls(False, due, clusters, gone, joined, threads)

    def stored(self, store: Store) -> dict[str, tuple[str, str]]:
        if self.full:
            return store.brief_states()
        return {**store.brief_states_of(self.clusters), **store.brief_states_of(self.gone)}

    def done(self, store: Store, stamp: str) -> None:
        """Every brief of the scope is current: its markers go (and the gone clusters' briefs)."""
        with store.transaction():
            if not self.full:
                store.drop_briefs(self.gone)
            store.clear_due("brief", None if self.full else self.due)
            store.clear_due("joined", None if self.full else self.joined)
            store.clear_due("thread", None if self.full else self.threads)
            store.set_state("brief_fingerprint", stamp)


def key_names(b: Brief) -> list[str]:
    """What later counter-evidence must name to be cited in this brief (as `outputs.brief.build` picks it):
    none where the brief cites no counter-evidence at all (its own stories doubt the claim, or a notice)."""
    if b.signals.get("contrary") or b.kind in ("notice", "fiction"):
        return []
    return [n for n in (b.signals.get("subject"), b.signals.get("actor")) if n]


def brief_clusters(store: Store, briefer: Briefer, out_dir: Path, *, progress: Callable[[int, int], None] | None = None,
                batch: int = 256) -> dict[str, Any]:
    """Rebuild the briefs (and pages) of clusters that changed since their brief was written."""
    started = time.perf_counter()
    marks_full = store.needs_full("marks")
    marked = mark_stories(store)
    stamp = f"{briefer.fingerprint()}|{None if briefer.writer else MAX_COUNTER}"
    scope = Scope.of(store, stamp, marks_full)
    sigs = signatures(store, briefer, scope.clusters)
    wanted = input_hashes(store, briefer, sigs)
    stored = scope.stored(store)
    todo = [cid for cid, h in wanted.items() if stored.get(cid, (None,))[0] != h]
    # a thread's clusters side by side: a chunk of briefs reads each of its threads whole, once
    threads = store.thread_of(todo)
    todo.sort(key=lambda cid: (threads.get(cid, ""), cid))
    slugs = {cid: slug for cid, (_, slug) in stored.items()}
    titles = store.cluster_titles([cid for cid in todo if cid not in slugs])
    slugs.update({cid: slug_for(title, cid) for cid, title in titles.items()})  # made once, then kept
    for cid, (_, slug) in stored.items():  # clusters that are gone: their pages go too
        if cid not in wanted:
            (out_dir / "stories" / f"{slug}.md").unlink(missing_ok=True)
    pages = 0
    # the main process's own share (with workers: also embedding and waiting); prepare: what to rebuild
    parts = {"prepare_ms": (time.perf_counter() - started) * 1000, "write_ms": 0.0}
    workers = briefer.workers if briefer.writer is None and len(todo) > PARALLEL_FROM else 1
    if workers > 1:
        from .brief_workers import build_in_workers

        built = build_in_workers(store, briefer, todo, slugs, parts)
    else:
        built = _build_here(store, briefer, todo, slugs, batch, parts)
    for done, rows, texts in built:
        t = time.perf_counter()
        pages += _write(store, out_dir, sigs, rows, texts, orphans=scope.full)
        parts["write_ms"] += (time.perf_counter() - t) * 1000
        if progress:
            progress(done, len(todo))
    scope.done(store, stamp)
    report = {"briefed": len(todo), "pages": pages, "total": store.count("briefs"), "workers": workers,
              "marked": marked, "scope": len(wanted),
              "ms": int((time.perf_counter() - started) * 1000), **{k: int(v) for k, v in parts.items()}}
    if briefer.writer:
        report["llm"] = briefer.writer.report()
    return report


def _build_here(store: Store, briefer: Briefer, todo: list[str], slugs: dict[str, str], batch: int,
                parts: dict[str, float]) -> Iterator[tuple[int, list[dict[str, Any]], list[str]]]:
    """(briefs done, rows, page texts) chunk by chunk, all in this process (`parts`: milliseconds reading
    inputs and building)."""
    parts.setdefault("read_ms", 0.0)
    parts.setdefault("build_ms", 0.0)
    mentions = Mentions(store)  # the stage writes briefs only: what the archive mentions holds all night
    for start in range(0, len(todo), batch):
        chunk = todo[start:start + batch]
        t = time.perf_counter()
        inps, watch = inputs(store, chunk, mentions=mentions), page_items(store, chunk)
        parts["read_ms"] += (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        rows, texts = brief_rows(briefer, inps, slugs, watch)
        parts["build_ms"] += (time.perf_counter() - t) * 1000
        yield min(start + batch, len(todo)), rows, texts


def brief_rows(briefer: Briefer, inps: list[BriefInput], slugs: dict[str, str], watch: dict[str, dict]
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """The briefs of these inputs as rows for the store (without input_hash and updated), with their pages'
    text (`watch`: each cluster's watch-for items, as the watch stage left them)."""
    rows, texts = [], []
    for b in make_briefs(briefer, inps, slugs):
        rows.append({"cluster_id": b.cluster_id, "slug": b.slug, "generator": b.generator, "kind": b.kind,
                     "impact": b.impact, "impact_score": b.impact_score, "key_names": json.dumps(key_names(b)),
                     "data": json.dumps(b.to_dict(), ensure_ascii=False, default=_json_default)})
        texts.append(briefer.templates.page("brief.md.j2", b=b, **watch[b.cluster_id]))
    return rows, texts


def _write(store: Store, out_dir: Path, sigs: Signatures, rows: list[dict[str, Any]], texts: list[str], *,
           orphans: bool = True) -> int:
    """Store these briefs and write their pages; returns how many pages (`orphans`: `Store.save_briefs`')."""
    stamp = now()
    for row, text in zip(rows, texts):
        row.update(input_hash=sigs.of(row["cluster_id"], json.loads(row["key_names"])), updated=stamp)
        write_text(out_dir / "stories" / f"{row['slug']}.md", text)
    store.save_briefs(rows, orphans=orphans)
    return len(rows)


def write_pages(store: Store, briefer: Briefer, out_dir: Path, cluster_ids: list[str]) -> int:
    """Rewrite the pages of these clusters' stored briefs (after their watch-for items changed)."""
    pages = 0
    for start in range(0, len(cluster_ids), 500):
        chunk = cluster_ids[start:start + 500]
        watch = page_items(store, chunk)
        for cid, row in sorted(store.briefs(chunk).items()):
            write_text(out_dir / "stories" / f"{row['slug']}.md",
                       briefer.templates.page("brief.md.j2", b=load_brief(row), **watch[cid]))
            pages += 1
    return pages


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def load_brief(row: dict[str, Any]) -> Brief:
    return Brief.from_dict(json.loads(row["data"]))
