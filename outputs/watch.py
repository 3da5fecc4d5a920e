"""Watch-for items: the checkable events a brief tells its reader to watch for, and the later news that
settles them.

A news brief names one or two events about its subject ("weights released for X", "an independent
measurement of X", "a vote or ruling on X"), chosen here from the story's facts; the templates word them.
The watch stage (`watch_stage.py`) stores them and looks for a later story that *is* the event:
a story published after the item, within its horizon, whose headline names the subject and whose own
facts show the event (its brief links weights, states a price, reports an independent measurement...).
The first such story resolves the item; an item nobody resolves within its horizon has expired. Status
is a function of a day (`status_on`), so a past day's digest shows the items as they stood that day.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date as Date, timedelta
from typing import Any, Iterable

from pipeline.dates import to_day
from pipeline.store import Store, stable_id

from . import facts as fx


@dataclass(frozen=True)
class Event:
    horizon: int  # days after the story within which the event counts as the one watched for
    label: str  # what happens, for lists: "weights released"


EVENTS = {
    "weights": Event(120, "weights released"),
    "code": Event(120, "code released"),
    "replication": Event(180, "measured by someone else"),
    "open": Event(180, "open to everyone"),
    "ships": Event(180, "shipped"),
    "price": Event(120, "a price"),
    "usable": Event(120, "weights, code, an API or a price"),
    "version": Event(180, "a new version"),
    "release": Event(365, "a release"),
    "closing": Event(365, "the deal closed or called off"),
    "ruling": Event(365, "a vote, ruling or final text"),
    "postmortem": Event(60, "a post-mortem or fix"),
    "coverage": Event(14, "a second newsletter"),
}
NOT_NEWS = ("fiction", "notice", "opinion")


NEW_THING = 5  # a subject named in more earlier headlines than this is not news's new thing to watch


def items_for(kind: str, facts: fx.Facts, subject: str, *, contrary: bool = False, counter: bool = False,
              hardware: bool = False, named: bool = True, seen_before: int = 0) -> list[dict[str, str]]:
    """The events a news brief watches for ({event, subject}), most telling first; none for what is not
    news. Only a subject that is a name (`named`: a coined name or a proper noun of several words) and new
    to the archive (in at most NEW_THING earlier headlines) can be looked for in later headlines; for any
    other story, only a second newsletter telling the same story (its cluster) can be checked."""
    if kind in NOT_NEWS:
        return []
    arts = set(facts.artifacts)
    events: list[str]
    if counter or contrary:
        events = ["replication"]
    elif facts.access in ("waitlist", "beta"):
        events = ["open"] + ([] if facts.price else ["price"])
    elif facts.access == "coming":
        events = ["ships"]
    elif kind == "release" and "weights" in arts:
        events = ["replication"]
    elif kind == "release" and "code" in arts:
        events = ["version"]
    elif kind == "release" and arts & {"api", "demo"}:
        events = ["coverage"] if facts.one_line else (["version"] if facts.price else ["price"])
    elif kind == "release" and hardware:
        events = ["replication"]
    elif kind == "release" and facts.access == "open":
        events = ["coverage"]  # open to everyone, with nothing to link: what others make of it
    elif kind == "release":
        events = ["usable"]
    elif kind == "benchmark":
        events = ["replication"]
    elif kind == "research":
        events = ["replication"] if "code" in arts else ["code", "replication"]
    elif kind == "funding" and facts.deal:
        events = ["closing"] if not facts.deal.get("done") else ["release"]  # a done deal: what comes of it
    elif kind == "funding":
        events = ["release"]
    elif kind == "policy" and facts.binding and not facts.decided and not facts.house_rule:
        events = ["ruling"]
    elif kind == "incident" and facts.failure:
        events = ["postmortem"]
    else:  # a decided policy, a programme, business news: what comes next is no single checkable event
        events = ["coverage"]
    if not (subject and named and seen_before <= NEW_THING):
        events = ["coverage"]
    return [{"event": e, "subject": subject if e != "coverage" or (named and seen_before <= NEW_THING) else ""}
            for e in events]


# ---------------------------------------------------------------------------------- what settles one
_AVAILABLE = re.compile(r"\b(?:now (?:available|open|live)|generally available|general availability|available to "
                        r"(?:all|everyone|anyone)|open to (?:all|everyone|the public)|rolls? out|rolling out|"
                        r"launch(?:es|ed)?|releas(?:es|ed)|ships|shipped|out now|opens? (?:up )?(?:to|access))\b", re.I)
_VERSION = re.compile(r"\b(?:v\d[\w.]*|version \d[\w.]*|\d+\.\d+|new version|update[sd]?|upgrade[sd]?|"
                      r"new release)\b", re.I)
_CLOSED = re.compile(r"\b(?:complet(?:es|ed) (?:its |the )?(?:acquisition|purchase|deal|takeover)|clos(?:es|ed) (?:its |the )?"
                     r"(?:acquisition|purchase|deal|takeover)|(?:deal|acquisition|takeover|merger) (?:is )?"
                     r"(?:approved|cleared|blocked|collapses|collapsed|called off|abandoned|terminated|falls through)|"
                     r"(?:approves|clears|blocks|abandons|calls off|scraps|terminates)\b[^.\n]{0,40}\b(?:acquisition|"
                     r"deal|takeover|purchase|merger)|(?:acquisition|takeover) of \S+ (?:approved|blocked))", re.I)
_POSTMORTEM = re.compile(r"\b(?:post-?mortem|root cause|incident report|(?:fixed|patched|resolved|restored) "
                         r"(?:the|a|its|an)\b|apologi[sz]e[sd]?)", re.I)


@dataclass
class Later:
    """A later cluster, as its brief states it: what a watch-for item is checked against."""

    cluster_id: str
    kind: str
    subject: str
    actor: str
    artifacts: list[str]
    price: str
    access: str
    claim_by: str
    decided: bool
    binding: bool
    text: str  # its headline and the sentences its brief quotes


def later_of(brief: dict[str, Any]) -> Later:
    s = brief["signals"]
    claim = s.get("claim") or {}
    return Later(brief["cluster_id"], brief["kind"], s.get("subject", ""), s.get("actor", ""), list(s.get("artifacts", [])),
                 s.get("price", ""), s.get("access", ""), claim.get("by", ""), bool(s.get("decided")),
                 bool(s.get("binding")),
                 "\n".join([brief["title"], *(w["text"] for w in brief["what_happened"])]))


def settles(event: str, item: dict[str, Any], later: Later) -> str:
    """Why `later` is the event watched for (a phrase a reader can check), or "" if it is not."""
    arts = set(later.artifacts)
    if event == "weights":
        return "links the weights" if "weights" in arts else ""
    if event == "code":
        return "links the code" if "code" in arts else ""
    if event == "replication":
        if later.claim_by == "measured":
            return "reports a measurement by someone other than the makers"
        if later.kind == "benchmark" and later.actor and later.actor.lower() not in (
                item.get("actor", "").lower(), item["subject"].lower()) and item["subject"].lower() not in later.actor.lower():
            return f"a benchmark by {later.actor}"
        return ""
    if event in ("open", "ships"):
        if later.kind == "release" and later.access not in ("waitlist", "beta", "coming") and (
                later.access == "open" or _AVAILABLE.search(later.text)):
            return "reports it available" if event == "open" else "reports it released"
        return ""
    if event == "price":
        return f"states a price ({later.price})" if later.price else ""
    if event == "usable":
        usable = [a for a in fx.ARTIFACTS if a in arts and a in ("weights", "code", "api")]
        if usable or later.price:
            return "links " + " and ".join(usable) if usable else f"states a price ({later.price})"
        return ""
    if event == "version":
        m = _VERSION.search(later.text.split("\n")[0])
        return f"a new release (“{m.group(0)}”)" if later.kind == "release" and m else ""
    if event == "release":
        return "a release" if later.kind == "release" else ""
    if event == "closing":
        m = _CLOSED.search(later.text.split("\n")[0])
        return f"“{m.group(0)}”" if m and later.kind in ("funding", "business", "policy", "other") else ""
    if event == "ruling":
        return "reports a decision" if later.kind == "policy" and later.decided else ""
    if event == "postmortem":
        m = _POSTMORTEM.search(later.text)
        return f"“{m.group(0)}”" if later.kind in ("incident", "release", "business", "other") and m else ""
    return ""


def names_subject(subject: str, titles: Iterable[str]) -> bool:
    """Whether a headline names the subject as a word of its own ("Mistral 7B", not "Mistral 7B-based")."""
    words = [re.escape(w) for w in re.findall(r"\w+", subject)]
    if not words:
        return False
    pattern = re.compile(r"(?<![\w-])" + r"\W{1,3}".join(words) + r"(?![\w-])", re.I)
    return any(pattern.search(t) for t in titles)


def derivative(subject: str, later: Later) -> bool:
    """The later story is about something built on the subject ("Mistral 7B OpenOrca" for "Mistral 7B"):
    its own subject is a longer name that contains this one."""
    a, b = subject.lower(), later.subject.lower()
    return bool(b) and a != b and a in b and len(b) > len(a)


# ---------------------------------------------------------------------------------- the stage
def item_rows(brief: dict[str, Any]) -> list[dict[str, Any]]:
    """A stored brief's watch-for items as rows of the watch table."""
    opened = brief["date"]
    day = Date.fromisoformat(opened[:10])
    # a reply or measurement that settles a doubt comes after the doubt was first raised (the archive story
    # against it)
    doubts = [c["date"] for c in brief.get("counter", []) if c["date"] > opened]
    doubted = min(doubts) if doubts else opened
    out = []
    for w in brief.get("watch", []):
        horizon = EVENTS[w["event"]].horizon
        out.append({"id": stable_id(brief["cluster_id"], w["event"]), "cluster_id": brief["cluster_id"],
                    "event": w["event"], "subject": w["subject"], "text": w["text"], "opened": opened,
                    "since": doubted if w["event"] == "replication" else opened,
                    "expires": (day + timedelta(days=horizon)).isoformat(),
                    "actor": brief["signals"].get("actor", ""),
                    # who had told it when the item opened: the first telling's newsletter
                    "sources": json.dumps([brief["original"]["source"]])})
    return out


def status_on(item: dict[str, Any], day: str) -> str:
    """open, resolved or expired at the end of `day` (YYYY-MM-DD): resolved only by a story published by
    then, expired once the horizon has passed with none."""
    if item.get("resolved_date") and item["resolved_date"][:10] <= day:
        return "resolved"
    return "expired" if item["expires"] < day else "open"


def days_to(item: dict[str, Any]) -> int:
    """Days from the item's story to the story that resolved it."""
    return round(to_day(item["resolved_date"]) - to_day(item["opened"]))


def page_items(store: Store, cluster_ids: list[str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """For each cluster's page: its own items ("watch", with the story that resolved each) and the items of
    earlier briefs its stories resolved ("resolves"). An item a later story of the same cluster resolved (a
    second newsletter telling the same news) is shown with its own items only, without a link to itself."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {c: {"watch": [], "resolves": []} for c in cluster_ids}
    for item in store.watch_items(clusters=cluster_ids):
        if item["resolved_cluster"] == item["cluster_id"]:
            item = {**item, "resolved_slug": None}
        out[item["cluster_id"]]["watch"].append(shown(item))
    for item in store.watch_items(resolved_by=cluster_ids):
        if item["resolved_cluster"] != item["cluster_id"]:
            out[item["resolved_cluster"]]["resolves"].append(shown(item))
    return out


def shown(item: dict[str, Any]) -> dict[str, Any]:
    """An item as pages show it: what to watch for, and resolved after N days by what, or open until when."""
    event = EVENTS[item["event"]]
    return {**item, "label": event.label, "horizon": event.horizon,
            "days": days_to(item) if item.get("resolved_date") else None}


def archive_day(store: Store) -> str:
    """The day the archive's news reaches (its newest publication day): the day statuses are told as of."""
    return (store.newest_story_date() or "")[:10] or Date.today().isoformat()


def listed(store: Store, rows: list[dict[str, Any]], day: str | None = None) -> list[dict[str, Any]]:
    """Items as lists show them, each with its status on `day` (default: the archive's newest day)."""
    day = day or archive_day(store)
    return [dict(shown(r), status=status_on(r, day)) for r in rows]
