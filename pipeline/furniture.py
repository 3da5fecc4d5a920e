"""After ingest: stories whose title recurs across a newsletter's issues become furniture, not news."""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable

from sources.furniture import recurring_titles, title_key

from .cluster_stage import refresh_clusters
from .embed import COLLECTION
from .store import Store


def learn_furniture(store: Store, sources: Iterable[str]) -> int:
    """Mark each source's recurring blocks as furniture; returns how many stories moved out of news."""
    moved = 0
    for source in sources:
        rows = store.story_titles(source)
        by_issue: dict[str, list[str]] = defaultdict(list)
        for _, issue_id, title, section in rows:
            if section != "sponsor":
                by_issue[issue_id].append(title)
        recurring = recurring_titles(by_issue.values())
        ids = [sid for sid, _, title, section in rows
               if section not in ("furniture", "sponsor", "fiction") and title_key(title) in recurring]
        if not ids:
            continue
        left = store.mark_furniture(ids)
        cid = store.collection_id(COLLECTION)
        if left and cid is not None:
            refresh_clusters(store, cid, left)
        moved += len(ids)
    return moved
