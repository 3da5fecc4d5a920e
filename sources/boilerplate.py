"""What is never a story: welcome lines, subscribe/share prompts, sponsor blocks, polls.

Also the names of non-news sections (sponsor, furniture, fiction, editor's notes)
and the cues that mark a block as sponsored.

Patterns are matched against a block's plain text, case-insensitively. They are
deliberately anchored or specific, so a story that merely *mentions* a sponsor
or a subscription is not thrown away.
"""
from __future__ import annotations

import re

_BOILERPLATE = [
    r"^welcome to\b.{0,80}\b(newsletter|issue|edition)",
    r"^welcome to import ai\b",
    r"\bif you('| woul)d like to support this\b",
    r"^(thanks|thank you) for reading\b",
    r"^(subscribe|subscribe now|share|share this|forward(ed)? (this|to a friend))\b.{0,60}$",
    r"^(view|read) (this|it)? ?(email|issue|post)? ?(online|in (your|a|the) browser)",
    r"\bunsubscribe\b",
    r"^(follow|find) us on\b",
    r"\b(refer|send this to) (a|1|one|\d+) (ai-curious )?friends?\b",
    r"^how (was|did you like) today'?s (email|issue|newsletter)",
    r"\blogin\b.{0,10}\bor\b.{0,10}\bsubscribe\b",
    r"\bon our website\b",
    r"^check out .{1,40} for more\b",
    r"^check out\b.{0,60}\bmore\W*$",
    r"^(view|see|read|check|explore|browse|get|click|learn|discover|find|watch|listen|join|sign up)\b"
    r".{0,50}(→|»|>>)\s*$",
    r"^[^.!?]{0,30}\b(sign up|subscribe|register|apply|join) (to|for|now|here)\b[^.!?]{0,30}(→|»|>>)\s*$",  # "Via X, sign up to post →"
    r"^too many links\b",
    r"^(newsfeed|advertise)\s*\|",
    r"^have a product, service,.*(share|advertise)",
    r"^let'?s (get to it|dive in)\.?$",
    r"^(loved it|meh)\b",
    r"^you('re| are) receiving this\b",
    r"^(view|see|show|load|read) (more|all)\b[^:]{0,25}$",
    r"^(click|tap) here\b.{0,40}$",
    r"^(was this|did you enjoy this) (email|issue|newsletter)",
    r"^(login|log in|sign in) or (subscribe|sign up)\b",
    r"^(advertise|sponsor) (with|in) us\b",
    r"^(want|interested) (to|in) (advertis|sponsor|reach)",
]
_SPONSOR_START = [
    r"^(from )?our sponsors?\b",
    r"^(this (issue|newsletter|email) is )?(sponsored|presented|brought to you) by\b",
    r"^together with\b[^.!?]{0,60}$",  # a header line; "Together with Google, researchers..." is news
    r"^(a )?(word|message) from our (sponsor|partner)s?\b",
    r"^sponsor(ed)?\s*[:\-—]",
    r"^today'?s (email|issue|newsletter) is (sponsored|brought to you|presented) by\b",
    r"^in partnership with\b[^.!?]{0,60}$",
]
_SPONSOR_SECTION = re.compile(r"sponsor|unclassified|partner(ed)? content|advertis|brought to you by|presented by"
                              r"|classified ads?\b", re.I)
# a block that is an ad on its own: "(Sponsor)", promo codes, "cancel anytime", affiliate disclosures
_SPONSOR_CUE = re.compile(
    r"\((sponsor(ed)?|advertisement|paid partner(ship)?|affiliate)\)|(?-i:\((Ad|ad)\))"  # "(AD)" is a disease
    r"|\b(promo|discount|coupon) code\b|\buse (the )?code (?-i:[A-Z0-9]{3,})\b|\bcancel any ?time\b"
    r"|\b(contains|uses|includes) affiliate links?\b|#(ad|sponsored)\b", re.I)
# standing sections that carry no news: memes, tweets of the week, share/referral, polls, reviews, jobs
_FURNITURE_SECTION = re.compile(
    r"\b(images?|memes?|pics?|gifs?) of the (day|week)\b|\bmemes?\b"
    r"|\bfavou?rite (tweet|meme|goof|gif|joke|pic|image)s?\b|\btweets? of the (day|week)\b"
    r"|^\W*share\b|\brefer(ral)?s?\b|\bhow did we do\b|\bhow was today\b"
    r"|\b(real|reader|our) reviews\b|^\W*(reviews|testimonials)\W*$|\bpolls?\b|\bsee ya\b|\bsign[- ]?off\b"
    r"|\b(who['’]?s|we['’]?re) hiring\b|\bjob (board|listings?)\b"
    r"|^\W*(jobs|hiring|podcast|housekeeping|feedback|community|events?)\W*$", re.I)
_FICTION_SECTION = re.compile(r"^[\W_]*(tech tales|fiction|short (story|fiction)|flash fiction|story time)\b", re.I)
# "Tech Tales ..." always; "Fiction", "Short story" only alone or before a colon ("Fiction writers sue" is news)
_FICTION_LABEL = re.compile(
    r"^[\W_]*(tech tales\b|(fiction|short (story|fiction)|flash fiction)(?=\s*[:*_.\-–—]|\s*$))"
    r"[\s*_:.\-–—]*(?P<rest>.*)$", re.I | re.S)
_NOTES_SECTION = re.compile(r"^[\W_]*(editor['’]?s notes?|a note from|corrections?|errata|clarifications?)\b", re.I)
_BOILERPLATE_RE = re.compile("|".join(f"(?:{p})" for p in _BOILERPLATE), re.I)
_SPONSOR_RE = re.compile("|".join(f"(?:{p})" for p in _SPONSOR_START), re.I)


def _head(text: str) -> str:
    return re.sub(r"^[^\w$]+", "", text.strip())[:400]


def is_nav_bar(text: str) -> bool:
    """A short row of links split by bars or bullets ("Newsfeed | Advertise | Community")."""
    parts = [p for p in re.split(r"\s*[|•·]\s*", text.strip()) if p.strip()]
    return len(parts) >= 3 and len(text.split()) <= 4 * len(parts) and all(len(p.split()) <= 5 for p in parts)


def is_boilerplate(text: str) -> bool:
    """A block that no reader wants as news (nav, prompts, polls, greetings)."""
    return bool(_BOILERPLATE_RE.search(_head(text)))


def starts_sponsor_block(text: str) -> bool:
    """A block that opens a sponsor message: drop it and what follows up to the next boundary."""
    return bool(_SPONSOR_RE.search(_head(text)))


def is_sponsor_section(heading: str) -> bool:
    """A section label whose entries are ads ("Unclassifieds", "From our partners")."""
    return bool(_SPONSOR_SECTION.search(heading))


def has_sponsor_cue(text: str) -> bool:
    """A block that marks itself as an ad: "(Sponsor)", promo codes, "cancel anytime"."""
    return bool(_SPONSOR_CUE.search(text[:600]))


_JOB_AD = re.compile(r"^[^.!?]{0,80}\b(is|are) (now |also )?hiring\b|^(we'?re|we are) hiring\b|^hiring:", re.I)


def is_job_ad(text: str) -> bool:
    """A hiring line ("Acme is hiring a data scientist"): furniture, or an ad in a sponsor section."""
    return bool(_JOB_AD.search(text.strip()[:200]))


_NOTE = re.compile(r"^[\W_]*(editor['’]?s note|a note from the editor|corrections?|clarifications?|erratum|errata"
                   r"|programming note|housekeeping)\s*[:\-—]", re.I)


def is_note(text: str) -> bool:
    """An editor's note or correction ("Correction: last week we..."): kept, but not news."""
    return bool(_NOTE.match(text.strip()[:80]))


def section_kind(label: str) -> str:
    """What a section label announces: sponsor, furniture, fiction, notes or main."""
    if is_sponsor_section(label):
        return "sponsor"
    if _FICTION_SECTION.search(label):
        return "fiction"
    if _NOTES_SECTION.search(label):
        return "notes"
    if _FURNITURE_SECTION.search(label):
        return "furniture"
    return "main"


def fiction_label(text: str) -> re.Match | None:
    """ "Tech Tales", "**Tech Tales: <title>", "Fiction:" ...: the fiction title after it is group 'rest'."""
    return _FICTION_LABEL.match(text.strip())
