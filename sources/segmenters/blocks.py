"""Blocks, drafts and titles: what every segmenter shares.

An issue's HTML is sanitised, then flattened into *blocks* (headings,
paragraphs, list items, separators) in reading order. Each block carries cheap
layout features (bold, italic, leading link, numbered marker) that segmenters
score to decide where stories begin. A segmenter turns blocks into *drafts*;
`finish_all` turns drafts into `Story` records.
"""
from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag

from ..boilerplate import is_boilerplate, is_nav_bar
from ..clean import clean_url, element_text, html_to_markdown, normalize_text, sanitize_html
from ..models import Link, Story

SEPARATOR_RE = re.compile(r"^[#*\-_=~•·\s]*[#*\-_=~•·][#*\-_=~•·\s]*$")
MARKER_RE = re.compile(r"^(#?\d{1,2}\s*[/.)]|#\d{1,2}|[ivx]{1,4}[.)])$", re.I)
MARKER_LEAD_RE = re.compile(r"^\s*#?\d{1,2}\s*/\s*(\S.*)$", re.S)
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
CONTAINERS = {"div", "section", "article", "figure", "blockquote"}
BOLD = ("strong", "b")
ITALIC = ("em", "i")
MAX_TITLE = 200
MIN_UNTITLED_WORDS = 25
# "Name - description", "[Title](url) - summary", "Title: summary" after a lead
_LEAD_SEP = re.compile(r"^(?:\s*[:|]\s*|\s+[-–—]\s*|\s*[-–—]\s+)\S")  # a dash needs a space beside it
_LINK_MARK = re.compile(r"\(\s*(link|here|source)\s*\)", re.I)
_READ_TIME = re.compile(r"\(\s*\d+\s*min(ute)?s?( read)?\s*\)", re.I)  # "(3 minute read)"
_ENTITY = re.compile(r"&(amp|lt|gt|quot|apos|nbsp|#\d{1,6}|#x[0-9a-f]{1,6});", re.I)
# abbreviations whose period does not end a sentence
_ABBREV = re.compile(r"(\b[A-Za-z]\.|\b(vs|etc|e\.g|i\.e|mr|mrs|ms|dr|st|inc|ltd|co|corp|no|jr|sr|approx)\.)$", re.I)


@dataclass
class Block:
    """One reading-order unit of an issue, with layout features."""

    kind: str  # "heading" | "para" | "item" | "separator"
    node: Tag
    text: str
    level: int = 0

    @cached_property
    def words(self) -> int:
        """Words with a letter or digit in them (emoji and bullets do not count)."""
        return sum(1 for w in self.text.split() if re.search(r"\w", w))

    @cached_property
    def lines(self) -> list[str]:
        return lines_of(self.text)

    @cached_property
    def boilerplate(self) -> bool:
        """Navigation, prompts, calls to action (computed once: segmenters look ahead)."""
        nav = self.kind != "heading" and self.has_link and is_nav_bar(self.text)
        return nav or is_boilerplate(self.text)

    @cached_property
    def bold_only(self) -> bool:
        """The whole text is bold (<strong>/<b>)."""
        return _covered(self, self.node.find_all(BOLD))

    @cached_property
    def italic_only(self) -> bool:
        """The whole text is italic (<em>/<i>)."""
        return _covered(self, self.node.find_all(ITALIC))

    @cached_property
    def link_only(self) -> bool:
        """The whole text is the text of links."""
        return _covered(self, self.node.find_all("a", href=True))

    @cached_property
    def has_link(self) -> bool:
        return self.node.find("a", href=True) is not None

    @cached_property
    def lead(self) -> tuple[str, str]:
        """(leading link or bold text, what follows it) or ("", text)."""
        return leading_run(self)

    @cached_property
    def lead_is_link(self) -> bool:
        """The block opens with a link ("[Title](url) - summary"), not with bold text or words."""
        lead = self.lead[0]
        if not lead:
            return False
        a = self.node.find("a")
        return a is not None and _squash(element_text(a)) == _squash(lead)

    @cached_property
    def bold_link(self) -> bool:
        """A link set in bold (a highlighted headline link inside running text)."""
        for a in self.node.find_all("a", href=True):
            if len(a.get_text(" ").split()) >= 2 and (a.find(BOLD) or a.find_parent(BOLD)):
                return True
        return False

    @cached_property
    def marker_lead(self) -> str:
        """The text after a numbered marker that opens the block ("**1/** Title"), else ""."""
        m = MARKER_LEAD_RE.match(self.text)
        if not m or self.kind != "para":
            return ""
        return m.group(1).strip() if _squash(self.lead[0]) == _squash(self.text[: m.start(1)]) else ""

    @cached_property
    def marker(self) -> bool:
        """A numbered pick marker alone ("1/", "#2", "3.")."""
        return self.words <= 2 and bool(MARKER_RE.match(self.text.replace(" ", "")))


def _squash(text: str) -> str:
    return re.sub(r"[\W_]+", "", text)


def _covered(block: Block, nodes: list[Tag]) -> bool:
    inner = _squash("".join(element_text(n) for n in nodes))
    return bool(inner) and inner == _squash(block.text)


def leading_run(block: Block) -> tuple[str, str]:
    """The link or bold run a block opens with, and the text after it."""
    for child in block.node.descendants:
        if isinstance(child, NavigableString):
            if re.search(r"\w", str(child)):
                break  # plain text comes first: no lead
            continue
        if child.name == "a" or child.name in BOLD:  # an <a> whose unsafe href was cut still leads
            lead = normalize_text(element_text(child))
            if lead and _squash(block.text).startswith(_squash(lead)):
                return lead, _after(block.text, lead)
            break
    return "", block.text


def _after(text: str, lead: str) -> str:
    """Text after `lead` in `text`, tolerant of spacing differences."""
    target = _squash(lead)
    seen = ""
    for i, ch in enumerate(text):
        if re.match(r"[\W_]", ch):
            continue
        seen += ch
        if seen == target:
            rest, tail = text[i + 1:], re.search(r"[\W_]*$", lead).group()
            return rest[len(tail):] if tail and rest.startswith(tail) else rest
    return ""


def lines_of(text: str) -> list[str]:
    return [line for line in (x.strip() for x in text.split("\n")) if line]


def lead_with_separator(block: Block, min_words: int = 1) -> str:
    """The lead of "Title - description" / "[Title](url) - summary" (at least `min_words` long), else ""."""
    lead, rest = block.lead
    if lead and len(lead.split()) >= min_words and _LEAD_SEP.match(rest) and len(rest.split()) >= 2:
        return lead
    return ""


# --------------------------------------------------------------------------- flattening


def to_blocks(html: str) -> list[Block]:
    """Sanitise and flatten HTML into a reading-order list of blocks."""
    soup = BeautifulSoup(sanitize_html(html), "lxml")
    root = soup.body or soup
    blocks: list[Block] = []

    def visit(parent: Tag) -> None:
        for child in parent.children:
            if isinstance(child, NavigableString):
                text = normalize_text(str(child))
                if text:
                    p = soup.new_tag("p")
                    p.string = text
                    blocks.append(Block("para", p, text))
                continue
            name = child.name
            if name == "hr":
                blocks.append(Block("separator", child, ""))
            elif name in CONTAINERS and child.find(list(HEADINGS | {"p", "ul", "ol", "hr"})):
                visit(child)
            elif name in ("ul", "ol"):
                for li in child.find_all("li", recursive=False):
                    text = element_text(li)
                    if text:
                        blocks.append(Block("item", li, text))
            else:
                text = element_text(child)
                if name in HEADINGS:
                    if not text or SEPARATOR_RE.match(text):
                        blocks.append(Block("separator", child, ""))
                    else:
                        blocks.append(Block("heading", child, text, int(name[1])))
                elif text and SEPARATOR_RE.match(text) and len(text) >= 3:
                    blocks.append(Block("separator", child, ""))
                elif text:
                    blocks.append(Block("para", child, text))

    visit(root)
    return blocks


# --------------------------------------------------------------------------- titles


def clean_title(title: str) -> str:
    """A title as readers see it: entities decoded once, no markdown, no "(link)", no trailing separators."""
    if _ENTITY.search(title):
        title = htmllib.unescape(title)  # double-escaped in the feed ("&amp;amp;")
    title = _READ_TIME.sub("", _LINK_MARK.sub("", title))
    title = re.sub(r"\((sponsor(ed)?|ad|advertisement)\)|\\+", " ", title, flags=re.I)
    title = re.sub(r"\*\*|__|(?<!\w)[*_]+|[*_]+(?!\w)", "", title)
    title = " ".join(title.split())
    title = re.sub(r"[\s:;,|\-–—→»>/]+$", "", title)
    return re.sub(r"^[\s:;,|\-–—•·>]+", "", title).strip()


def shorten(title: str, limit: int = MAX_TITLE) -> str:
    title = clean_title(title)
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def first_sentence(text: str, limit: int = 140) -> str:
    """The first sentence of a text's first line (abbreviations like "A.I." do not end it)."""
    first = _LINK_MARK.sub("", lines_of(text)[0] if text.strip() else "")
    quoted = re.match(r"^([\"“‘'])(.{8,200}?)([\"”’'])(?=\s|$)", first)
    if quoted and re.search(r"[.!?]", quoted.group(2)):
        return shorten(quoted.group(2), limit)  # a quoted headline: the quote, whatever its full stops
    # a sentence ends at . ! ? before a space, or before a capital when the space was lost ("alone.Didn't")
    for m in re.finditer(r"[.!?]+(?=\s|$)|(?<=[a-z0-9])[.!?]+(?=[A-Z][a-z])", first):
        head = first[:m.end()]
        if len(head) < 8 or _ABBREV.search(head) or ".." in m.group():  # "How to... use AI": an ellipsis
            continue
        return shorten(head, limit)
    return shorten(first, limit)


# --------------------------------------------------------------------------- drafts


@dataclass
class Draft:
    """A story being assembled from blocks."""

    section: str = "main"
    title: str = ""
    dek: str = ""
    title_nodes: list[Tag] = field(default_factory=list)
    nodes: list[Tag] = field(default_factory=list)
    opener: str = "implicit"  # what opened it: heading, marker, bold, entry, implicit, fiction, sponsor
    level: int = 0
    needs_title: bool = False
    intro: bool = False
    after_rule: bool = False  # opened right after a separator

    def finish(self, position: int, base_url: str) -> Story | None:
        text = normalize_text("\n\n".join(element_text(n) for n in self.nodes))
        links = extract_links(self.title_nodes + self.nodes, base_url)
        if not text and not links:
            return None
        kept_anyway = self.section in ("sponsor", "notes")  # short ads and notes are still stored as such
        if not self.title and len(text.split()) < MIN_UNTITLED_WORDS and not links and not kept_anyway:
            return None
        title = shorten(self.title) if self.title else first_sentence(text)
        if not title:
            return None
        markdown = html_to_markdown("".join(str(n) for n in self.nodes))
        return Story(position=position, title=title, text=text, markdown=markdown,
                     dek=clean_title(self.dek), section=self.section, links=links)


def extract_links(nodes: list[Tag], base_url: str) -> list[Link]:
    """Outbound links in order, absolute, tracking-free, de-duplicated."""
    seen: set[str] = set()
    out: list[Link] = []
    for node in nodes:
        anchors = [node] if node.name == "a" else node.find_all("a", href=True)
        for a in anchors:
            href = a.get("href")
            if not href:
                continue
            url = clean_url(urljoin(base_url, href)) if base_url else clean_url(href)
            if not url or not url.startswith(("http://", "https://")) or url in seen:
                continue
            seen.add(url)
            out.append(Link(url=url, text=normalize_text(a.get_text(" "))[:300]))
    return out


def finish_all(drafts: list[Draft], base_url: str) -> list[Story]:
    """Stories from drafts; an editor's preamble is dropped when the issue has stories."""
    has_real = any(not d.intro for d in drafts)
    stories: list[Story] = []
    for d in drafts:
        if d.intro and has_real:
            continue
        story = d.finish(len(stories), base_url)
        if story is not None:
            stories.append(story)
    return stories
