"""How well the project's segmenters split real newsletters into stories (issue 24).

    python bench/eval_segment.py [DIR] [--segmenter NAME] [--json] [--show NEWSLETTER]

DIR holds the feeds (default: ../shared/data next to the repository root). Every labels file in
bench/labels/ names its feed file(s) in DIR and lists, per issue (keyed by the item's guid or link), the
expected stories in order: {"title", "kind": news|fiction|sponsor, optional "alt": [other accepted titles]}.
Furniture (section labels, promos, polls, sign-offs) is not listed. Each feed is parsed with the project's own
`sources.feed.parse_feed`, with the segmenter `pulse sources add/import` would pick
(`sources.detect.detect_segmenter`; `--segmenter` overrides it), then the furniture learned from the
feed's own repetition is moved out of news as the pipeline does after ingest (`sources.furniture`).

Measures, per newsletter, over its labelled issues:

- match: a found story matches an expected one when their normalised titles (NFKC, casefold, markdown links
  reduced to their text, then everything but letters and digits dropped: punctuation, markdown, emoji,
  whitespace) are equal or have a difflib ratio >= 0.85; an expected story's "alt" titles count as its title.
  Matching is one-to-one and keeps reading order (the largest order-preserving set of matching pairs).
- found stories: the issue's stories whose section is not "sponsor" (sponsor items are stored apart);
  expected stories: kind news or fiction.
- recall: expected stories matched by a found story / expected stories.
- precision: found stories matched to an expected story / found stories.
- furniture: found stories that match no expected item and look like furniture: the normalised title
  recurs in >= 3 issues of the newsletter (all issues of its feeds, labelled or not), or the title has
  <= 4 words and ends in "?" or ":", or its letters are all capitals. Share = furniture / found stories.
- sponsor in news: expected sponsor items matched by a found story whose section is not "sponsor" (target 0);
  "sponsor kept" says how many expected sponsor items were stored as sponsor items (k/n).
- fiction marked: expected fiction matched by a found story whose section is "fiction" (k/n).

`--show NEWSLETTER` lists per issue the missed expected titles (-), the extra found titles (+, F = counted as
furniture), sponsor items stored as news and fiction not marked. `--json` prints everything as JSON.
"""
from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sources.detect import detect_segmenter
from sources.feed import parse_feed
from sources.furniture import NOT_NEWS, furniture_among

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "bench" / "labels"
DEFAULT_DIR = ROOT.parent / "shared" / "data"
FUZZY = 0.85
RECUR_ISSUES = 3
TARGETS = "targets: recall >= 0.97, precision >= 0.97, furniture <= 1%, sponsor in news 0, fiction all marked"

_MD_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def norm(title: str) -> str:
    text = unicodedata.normalize("NFKC", _MD_LINK.sub(r"\1", title or "")).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def similar(a: str, b: str) -> float:
    if a == b:
        return 1.0
    if not a or not b:
        return 0.0
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    if sm.real_quick_ratio() < FUZZY or sm.quick_ratio() < FUZZY:
        return 0.0
    return sm.ratio()


def align(expected: list[list[str]], found: list[str]) -> list[tuple[int, int]]:
    """The largest order-preserving one-to-one set of (expected, found) pairs whose titles match;
    among equally large sets, the one with the higher total similarity."""
    n, m = len(expected), len(found)
    sim = [[max((similar(e, f) for e in names), default=0.0) for f in found] for names in expected]
    best = [[(0, 0.0)] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            options = [best[i + 1][j], best[i][j + 1]]
            if sim[i][j] >= FUZZY:
                k, s = best[i + 1][j + 1]
                options.append((k + 1, s + sim[i][j]))
            best[i][j] = max(options)
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        if sim[i][j] >= FUZZY and best[i][j] == (best[i + 1][j + 1][0] + 1, best[i + 1][j + 1][1] + sim[i][j]):
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif best[i][j] == best[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


def looks_like_label(title: str) -> bool:
    words = title.split()
    if len(words) <= 4 and title.rstrip().endswith(("?", ":")):
        return True
    letters = [ch for ch in title if ch.isalpha()]
    return len(letters) >= 2 and all(ch.isupper() for ch in letters)


# --------------------------------------------------------------------------- segmenter choice


def picked_segmenter(body: bytes, path: Path) -> tuple[str, str]:
    """The segmenter `pulse sources add/import` would pick for this feed, and why."""
    found = detect_segmenter(body, path.as_uri())
    return found.segmenter, found.reason


# --------------------------------------------------------------------------- evaluation


@dataclass
class IssueResult:
    key: str
    title: str
    expected: int = 0
    found: int = 0
    matched: int = 0
    correct: int = 0
    furniture: int = 0
    sponsor_expected: int = 0
    sponsor_in_news: int = 0
    sponsor_kept: int = 0
    fiction_expected: int = 0
    fiction_marked: int = 0
    missing_issue: bool = False
    missed: list[str] = field(default_factory=list)
    extra: list[dict] = field(default_factory=list)
    sponsor_as_news: list[str] = field(default_factory=list)
    fiction_unmarked: list[str] = field(default_factory=list)


def evaluate_issue(key: str, label: dict, issue, recurring: Counter, not_stories: set[str]) -> IssueResult:
    exp = label["stories"]
    res = IssueResult(key=key, title=label.get("title", ""))
    res.expected = sum(1 for s in exp if s["kind"] in ("news", "fiction"))
    res.sponsor_expected = sum(1 for s in exp if s["kind"] == "sponsor")
    res.fiction_expected = sum(1 for s in exp if s["kind"] == "fiction")
    if issue is None:
        res.missing_issue = True
        res.missed = [s["title"] for s in exp if s["kind"] != "sponsor"]
        return res
    found = list(issue.stories)
    is_story = [(s.section or "").casefold() not in not_stories for s in found]
    res.found = sum(is_story)
    pairs = align([[norm(s["title"])] + [norm(a) for a in s.get("alt", [])] for s in exp],
                  [norm(s.title) for s in found])
    by_exp = dict(pairs)
    by_found = {j: i for i, j in pairs}
    for i, s in enumerate(exp):
        j = by_exp.get(i)
        hit = found[j] if j is not None else None
        if s["kind"] == "sponsor":
            if hit is not None and is_story[j]:
                res.sponsor_in_news += 1
                res.sponsor_as_news.append(s["title"])
            elif hit is not None:
                res.sponsor_kept += 1
            continue
        if hit is not None and is_story[j]:
            res.matched += 1
            if s["kind"] == "fiction":
                if (hit.section or "").casefold() == "fiction":
                    res.fiction_marked += 1
                else:
                    res.fiction_unmarked.append(f"{s['title']} (section {hit.section!r})")
        else:
            res.missed.append(s["title"] + ("" if hit is None else f" (stored with section {hit.section!r})"))
    for j, story in enumerate(found):
        if not is_story[j]:
            continue
        i = by_found.get(j)
        if i is not None and exp[i]["kind"] in ("news", "fiction"):
            res.correct += 1
            continue
        if i is not None:
            continue  # a sponsor item stored as news: counted under sponsor in news
        furniture = recurring[norm(story.title)] >= RECUR_ISSUES or looks_like_label(story.title)
        res.furniture += furniture
        res.extra.append({"title": story.title, "section": story.section, "furniture": furniture})
    return res


def load_feed(path: Path, name: str, override: str | None) -> tuple[list, str, str, list[str]]:
    body = path.read_bytes()
    warnings: list[str] = []
    seg, how = (override, "--segmenter") if override else picked_segmenter(body, path)
    issues = parse_feed(body, source=name, segmenter=seg, warn=warnings.append)
    mark_furniture(issues)
    return issues, seg, how, warnings


def mark_furniture(issues: list) -> None:
    """What the pipeline does after ingest: titles recurring across the feed's issues become furniture."""
    for story in furniture_among([(s, s.title, s.section) for s in i.stories] for i in issues):
        story.section = "furniture"


def evaluate(newsletter: str, labels: dict, data_dir: Path, override: str | None,
             not_stories: set[str]) -> dict:
    feeds = labels["feed"] if isinstance(labels["feed"], list) else [labels["feed"]]
    issues, segs, warnings, missing_feeds = [], {}, [], []
    for feed in feeds:
        path = data_dir / feed
        if not path.exists():
            missing_feeds.append(feed)
            continue
        got, seg, how, warn = load_feed(path, newsletter, override)
        issues += got
        segs[feed] = f"{seg} [{how}]"
        warnings += [f"{feed}: {w}" for w in warn]
    by_key = {}
    for issue in issues:
        for key in (issue.url, issue.guid):
            if key:
                by_key.setdefault(key, issue)
    recurring = Counter()
    for issue in issues:
        recurring.update({norm(s.title) for s in issue.stories})
    results = [evaluate_issue(key, lab, by_key.get(key), recurring, not_stories)
               for key, lab in labels["issues"].items()]
    total = lambda attr: sum(getattr(r, attr) for r in results)
    ratio = lambda a, b: a / b if b else None
    return {
        "newsletter": newsletter, "feeds": feeds, "segmenter": segs, "missing_feeds": missing_feeds,
        "issues": len(results), "issues_not_found": sum(r.missing_issue for r in results),
        "expected": total("expected"), "found": total("found"), "matched": total("matched"),
        "recall": ratio(total("matched"), total("expected")),
        "precision": ratio(total("correct"), total("found")),
        "furniture": total("furniture"), "furniture_share": ratio(total("furniture"), total("found")),
        "sponsor_expected": total("sponsor_expected"), "sponsor_in_news": total("sponsor_in_news"),
        "sponsor_kept": total("sponsor_kept"),
        "fiction_expected": total("fiction_expected"), "fiction_marked": total("fiction_marked"),
        "warnings": warnings, "per_issue": [r.__dict__ for r in results],
    }


# --------------------------------------------------------------------------- output


def fmt(x, pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.1f}%" if pct else f"{x:.3f}"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers] + rows) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) if k == 0 else c.rjust(w)
                                        for k, (c, w) in enumerate(zip(r, widths))) + " |"
    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def print_table(reports: list[dict]) -> None:
    headers = ["newsletter", "issues", "stories exp/found", "recall", "precision", "furniture",
               "sponsor in news", "sponsor kept", "fiction marked"]
    rows = []
    for r in reports:
        issues = str(r["issues"]) + (f" ({r['issues_not_found']} not in feed)" if r["issues_not_found"] else "")
        rows.append([r["newsletter"], issues, f"{r['expected']}/{r['found']}", fmt(r["recall"]),
                     fmt(r["precision"]), f"{fmt(r['furniture_share'], True)} ({r['furniture']})",
                     str(r["sponsor_in_news"]), f"{r['sponsor_kept']}/{r['sponsor_expected']}",
                     f"{r['fiction_marked']}/{r['fiction_expected']}"])
    print(table(headers, rows))
    print(TARGETS)
    for r in reports:
        print(f"{r['newsletter']}: segmenter " + "; ".join(f"{f}: {s}" for f, s in r["segmenter"].items())
              + (f"; MISSING feeds {r['missing_feeds']}" if r["missing_feeds"] else "")
              + (f"; {len(r['warnings'])} parse warnings" if r["warnings"] else ""))


def print_show(report: dict) -> None:
    print(f"== {report['newsletter']}")
    for r in report["per_issue"]:
        bad = r["missed"] or r["extra"] or r["sponsor_as_news"] or r["fiction_unmarked"] or r["missing_issue"]
        if not bad:
            continue
        print(f"\n-- {r['title']}  [{r['key']}]  expected {r['expected']}, found {r['found']}, matched {r['matched']}"
              + ("  ISSUE NOT IN FEED" if r["missing_issue"] else ""))
        for t in r["missed"]:
            print(f"   - {t}")
        for x in r["extra"]:
            print(f"   + {'F' if x['furniture'] else ' '} {x['title']}   <{x['section']}>")
        for t in r["sponsor_as_news"]:
            print(f"   $ sponsor stored as news: {t}")
        for t in r["fiction_unmarked"]:
            print(f"   ~ fiction not marked: {t}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", nargs="?", default=str(DEFAULT_DIR), help="folder holding the feeds (default %(default)s)")
    ap.add_argument("--segmenter", help="use this segmenter for every feed instead of the one the project picks")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--show", metavar="NEWSLETTER", help="list missed and extra titles per issue of this newsletter")
    ap.add_argument("--not-story-sections", default=",".join(NOT_NEWS),
                    help="comma-separated sections whose items are not stories (default %(default)s)")
    ap.add_argument("--labels", default=str(LABELS), help="folder of label files (bench/labels/heldout holds a held-out set)")
    args = ap.parse_args(argv)
    data_dir, labels_dir = Path(args.dir), Path(args.labels)
    not_stories = {s.strip().casefold() for s in args.not_story_sections.split(",") if s.strip()}
    files = sorted(labels_dir.glob("*.json"))
    if args.show:
        files = [f for f in files if f.stem == args.show]
        if not files:
            ap.error(f"no labels for {args.show!r}; known: {', '.join(p.stem for p in sorted(labels_dir.glob('*.json')))}")
    reports = [evaluate(f.stem, json.loads(f.read_text(encoding="utf-8")), data_dir, args.segmenter, not_stories)
               for f in files]
    if args.json:
        json.dump(reports if not args.show else reports[0], sys.stdout, indent=1, ensure_ascii=False)
        print()
    elif args.show:
        print_table(reports)
        print()
        print_show(reports[0])
    else:
        print_table(reports)
    return 0


if __name__ == "__main__":
    sys.exit(main())
