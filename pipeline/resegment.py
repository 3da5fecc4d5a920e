"""Re-split stored issues with the sources' current segmenters, without fetching anything.

After a better segmenter (or a user's `pulse sources set NAME segmenter=...`), the archive is rebuilt
from the issues it keeps. Stories whose text did not change keep their ids (`Store.save_issue`), so
the later stages redo only what changed: new stories are embedded and clustered, deleted ones leave
their clusters, and briefs are rebuilt only for clusters that changed.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

from sources import SourceConfig, make_source
from sources.segment import segment

from .furniture_stage import learn_furniture
from .store import Store


def resegment(store: Store, configs: Iterable[SourceConfig]) -> dict:
    """Re-split every stored issue of these sources; counts for the run report."""
    report = {"issues": 0, "updated": 0, "stories": 0, "sources": []}
    for cfg in configs:
        seg = make_source(cfg).segmenter
        for issue in list(store.stored_issues(cfg.name)):
            stories = segment(issue.html, segmenter=seg, base_url=issue.url, issue_title=issue.title)
            outcome = store.save_issue(replace(issue, stories=stories))
            report["issues"] += 1
            report["stories"] += len(stories)
            report["updated"] += outcome == "updated"
        report["sources"].append(cfg.name)
    report["furniture"] = learn_furniture(store, report["sources"])
    return report
