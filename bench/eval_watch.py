"""Watch-for tracking on a real archive: items opened, resolved and expired per event, and the precision of
resolutions against hand checks.

    python bench/eval_watch.py ARCHIVE.db [--as-of 2023-12-31]   # an archive built from ../shared/data

Labels: bench/labels/watch/resolutions.json (ids only: the item, the story Pulse said resolved it, and
whether a reader checking both stories agreed). A label counts only where the archive still resolves that
item with that story; the others are listed as not comparable.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from outputs.watch import archive_day, status_on
from pipeline.store import Store

LABELS = Path(__file__).parent / "labels" / "watch" / "resolutions.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("db")
    ap.add_argument("--as-of", help="status at the end of this day (default: the archive's newest day)")
    args = ap.parse_args()
    with Store(args.db) as store:
        day = args.as_of or archive_day(store)
        items = store.watch_items()
    by_event: dict[str, Counter] = {}
    for w in items:
        by_event.setdefault(w["event"], Counter())[status_on(w, day)] += 1
    print(f"archive: {args.db} · as of {day} · {len(items)} items")
    print(f"{'event':<12} {'opened':>7} {'resolved':>9} {'expired':>8} {'open':>6}")
    total = Counter()
    for event, c in sorted(by_event.items(), key=lambda ec: -sum(ec[1].values())):
        total.update(c)
        print(f"{event:<12} {sum(c.values()):>7} {c['resolved']:>9} {c['expired']:>8} {c['open']:>6}")
    print(f"{'all':<12} {sum(total.values()):>7} {total['resolved']:>9} {total['expired']:>8} {total['open']:>6}")
    resolved = [w for w in items if w["resolved_story"]]
    if not LABELS.exists():
        return
    labels = json.loads(LABELS.read_text("utf-8"))["labels"]
    now = {w["id"]: w["resolved_story"] for w in resolved}
    same = [lab for lab in labels if now.get(lab["item"]) == lab["resolved_story"]]
    right = sum(lab["correct"] for lab in same)
    print(f"\nhand-checked resolutions: {len(labels)} labelled, {len(same)} still resolved the same way; "
          f"precision {right}/{len(same)} = {right / max(len(same), 1):.2f} (target 0.8)")
    wrong = Counter(lab.get("event", "?") for lab in same if not lab["correct"])
    if wrong:
        print("wrong by event: " + ", ".join(f"{e} {n}" for e, n in wrong.most_common()))


if __name__ == "__main__":
    main()
