"""After ingest: stories whose title recurs across a newsletter's issues become furniture, not news."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sources.furniture import furniture_among

from .cluster_stage import refresh_clusters
from .embed import COLLECTION
from .store import Store


def learn_furniture(store: Store, sources: Iterable[str]) -> int:
    """Mark each source's recurring blocks as furniture; returns how many stories moved out of news."""
    moved = 0
    for source in sources:
        by_issue: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
        for sid, issue_id, title, section in store.story_titles(source):
            by_issue[issue_id].append((sid, title, section))
        ids = furniture_among(by_issue.values())
        if not ids:
            continue
        left = store.mark_furniture(ids)
        cid = store.collection_id(COLLECTION)
        if left and cid is not None:
            refresh_clusters(store, cid, left)
        moved += len(ids)
    return moved
