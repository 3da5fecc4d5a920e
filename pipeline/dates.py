"""Stored dates (ISO 8601 text, UTC when no zone is given) as days since the epoch, and back."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@lru_cache(maxsize=65536)  # a night's briefs read the same thread members' dates again and again
def to_day(date: str) -> float:
    """An ISO date or datetime as fractional days since 1970-01-01 UTC (a naive one is taken as UTC)."""
    d = datetime.fromisoformat(date)
    if d.tzinfo is None:
        d = d.replace(tzinfo=timezone.utc)
    return (d - EPOCH).total_seconds() / 86400


def from_day(day: float) -> str:
    """Fractional days since the epoch as an ISO datetime to the second (UTC)."""
    return (EPOCH + timedelta(days=day)).isoformat(timespec="seconds")
