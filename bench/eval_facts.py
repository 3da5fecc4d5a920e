"""How right are the facts a brief stands on? Subject, actor, kind and artifacts against hand labels.

    python bench/eval_facts.py --real ARCHIVE.db   # an archive built from ../shared/data (real-archive)
    python bench/eval_facts.py --real ARCHIVE.db --labels bench/labels/facts/train_a.json

Labels: bench/labels/facts/stories.json (166 real stories of ../shared/data; ids and labels only, the rule
the labellers followed is in the file); train_a.json (130 more, Last Week in AI and Import AI) and
train_b.json (130 more, Ben's Bites), labelled later by the same rule and used to try changes before
they are scored on stories.json. Each labelled story is found in the archive by its newsletter, issue
and title; its facts are computed the way its brief computes them (`outputs.brief.facts_for`).

Prints: subject accuracy (exact, after normalising case and punctuation, against the label or an accepted
variant; and lenient: one contains the other), actor accuracy, kind accuracy with the confusion of the
mistakes (and how often the kind is sure, so that a brief frames the story by it, and how often right then), artifact precision/recall/F1 (micro, over story x artifact), licence and price found.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from difflib import SequenceMatcher
from pathlib import Path

from outputs.brief import facts_for
from outputs.brief_stage import Briefer, inputs
from outputs.render import Templates
from pipeline.embed import Embedder
from pipeline.store import Store

LABELS = Path(__file__).parent / "labels" / "facts" / "stories.json"


def norm(text: str) -> str:
    text = re.sub(r"['’]s\b", "", text.lower())
    text = re.sub(r"[^\w\s.+-]", " ", text)
    words = [w.strip(".") for w in text.split() if w not in ("the", "a", "an")]
    return " ".join(w for w in words if w)


def subject_ok(pred: str, label: dict, lenient: bool = False) -> bool:
    want = [norm(label["subject"]), *(norm(a) for a in label.get("also", []))]
    got = norm(pred)
    if not got:
        return not want[0]
    if got in want:
        return True
    return lenient and any(w and (f" {w} " in f" {got} " or f" {got} " in f" {w} ") for w in want)


def find(store: Store, label: dict) -> str | None:
    rows = store.db.execute("SELECT s.id, s.title FROM stories s JOIN issues i ON i.id = s.issue_id "
                            "WHERE s.source = ? AND i.guid = ?", [label["source"], label["issue"]]).fetchall()
    best = max(rows, key=lambda r: SequenceMatcher(None, r[1].lower(), label["title"].lower()).ratio(), default=None)
    if best and SequenceMatcher(None, best[1].lower(), label["title"].lower()).ratio() >= 0.85:
        return best[0]
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--real", required=True, type=Path, help="archive (pulse.db) built from ../shared/data")
    ap.add_argument("--labels", type=Path, default=LABELS, help="labels file (default: %(default)s)")
    ap.add_argument("-v", action="store_true", help="print every mistake")
    args = ap.parse_args()
    labels = json.loads(args.labels.read_text("utf-8"))["stories"]
    n = found = subj = subj_len = wrong = actor = kind = sure = sure_right = 0
    confusion: Counter = Counter()
    tp = fp = fn = 0
    per_art: Counter = Counter()
    kinds = Briefer(Templates(), Embedder(device="cpu").encode).kinds
    with Store(args.real) as store:
        for label in labels:
            sid = find(store, label)
            if sid is None:
                continue
            found += 1
            row = store.db.execute("SELECT cluster_id FROM cluster_members WHERE story_id = ?", [sid]).fetchone()
            inp = inputs(store, [row[0]])[0] if row else None
            facts, subject, org = facts_for(inp, only=sid, kinds=kinds) if inp else (None, "", "")
            if facts is None:  # not clustered (a sponsor, fiction...): its own facts
                continue
            n += 1
            subj += subject_ok(subject, label)
            subj_len += subject_ok(subject, label, lenient=True)
            wrong += bool(norm(subject)) and not subject_ok(subject, label, lenient=True)
            actor += norm(org) == norm(label["actor"]) or (bool(label["actor"]) and bool(org) and (
                norm(label["actor"]) in norm(org) or norm(org) in norm(label["actor"])))
            kind += facts.kind == label["kind"]
            sure += facts.kind_sure
            sure_right += facts.kind_sure and facts.kind == label["kind"]
            if facts.kind != label["kind"]:
                confusion[(label["kind"], facts.kind)] += 1
            want, got = set(label["artifacts"]), set(facts.artifacts)
            tp, fp, fn = tp + len(want & got), fp + len(got - want), fn + len(want - got)
            for a in want | got:
                per_art[(a, "tp" if a in want & got else "fp" if a in got else "fn")] += 1
            if args.v and (facts.kind != label["kind"] or want != got or not subject_ok(subject, label)):
                print(f"- {label['title'][:70]!r}\n  subject {subject!r} vs {label['subject']!r}; kind {facts.kind} vs "
                      f"{label['kind']} {facts.kind_cues[:3]}; artifacts {sorted(got)} vs {sorted(want)}")
    if not n:
        sys.exit("no labelled story found in this archive: build it with ../shared/tools/real-archive")
    p = tp / max(tp + fp, 1)
    r = tp / max(tp + fn, 1)
    f1 = 2 * p * r / max(p + r, 1e-9)
    print(f"archive: {args.real} · {args.labels.name}: {len(labels)} labelled stories, {found} found, {n} briefed")
    print(f"{'measure':<28} {'value':>7}  target")
    print(f"{'subject accuracy (exact)':<28} {subj / n:>7.3f}  0.90")
    print(f"{'subject accuracy (lenient)':<28} {subj_len / n:>7.3f}")
    print(f"{'subject named but wrong':<28} {wrong / n:>7.3f}")
    print(f"{'actor accuracy':<28} {actor / n:>7.3f}")
    print(f"{'kind accuracy':<28} {kind / n:>7.3f}  0.90")
    print(f"{'kind sure (brief frames it)':<28} {sure / n:>7.3f}")
    print(f"{'kind accuracy where sure':<28} {sure_right / max(sure, 1):>7.3f}")
    print(f"{'artifact precision':<28} {p:>7.3f}")
    print(f"{'artifact recall':<28} {r:>7.3f}")
    print(f"{'artifact F1':<28} {f1:>7.3f}  0.90")
    arts = sorted({a for a, _ in per_art})
    print("artifacts (tp/fp/fn): " + ", ".join(f"{a} {per_art[(a, 'tp')]}/{per_art[(a, 'fp')]}/{per_art[(a, 'fn')]}"
                                               for a in arts))
    print("kind mistakes (label->said): " + ", ".join(f"{a}->{b} {c}" for (a, b), c in confusion.most_common(8)))


if __name__ == "__main__":
    main()
