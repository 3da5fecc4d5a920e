"""Split a newsletter issue's HTML into ordered stories.

The HTML is sanitised first, then flattened into *blocks* (headings,
paragraphs, list items, separators). A segmenter walks the blocks and decides
where stories begin. Two are shipped: `importai` knows Import AI's layout and
`generic` handles the common shapes of other newsletters (heading sections,
horizontal rules, bold lead paragraphs, numbered picks, links lists).
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urljoin

from bs4 import BeautifulSoup, NavigableString, Tag

from .boilerplate import is_boilerplate, is_sponsor_section, starts_sponsor_block
from .clean import clean_url, element_text, html_to_markdown, normalize_text, sanitize_html
from .models import Link, Story

SEPARATOR_RE = re.compile(r"^[#*\-_=~•·\s]*[#*\-_=~•·][#*\-_=~•·\s]*$")
MARKER_RE = re.compile(r"^(#?\d{1,2}\s*[/.)]?|[ivx]{1,4}[.)])$", re.I)
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
CONTAINERS = {"div", "section", "article", "figure", "blockquote"}
MAX_TITLE = 200
MIN_UNTITLED_WORDS = 25


@dataclass
class Block:
    kind: str  # "heading" | "para" | "item" | "separator"
    node: Tag
    text: str
    level: int = 0

    @property
    def words(self) -> int:
        return len(self.text.split())


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


@dataclass
class Draft:
    """A story being assembled from blocks."""

    section: str = "main"
    title: str = ""
    dek: str = ""
    title_nodes: list[Tag] = field(default_factory=list)
    nodes: list[Tag] = field(default_factory=list)
    needs_title: bool = False
    intro: bool = False

    def finish(self, position: int, base_url: str) -> Story | None:
        text = normalize_text("\n\n".join(element_text(n) for n in self.nodes))
        links = extract_links(self.title_nodes + self.nodes, base_url)
        title = self.title or first_sentence(text)
        if not text and not links:
            return None
        if not self.title and len(text.split()) < MIN_UNTITLED_WORDS and not links:
            return None
        markdown = html_to_markdown("".join(str(n) for n in self.nodes))
        return Story(position=position, title=shorten(title), text=text, markdown=markdown,
                     dek=self.dek, section=self.section, links=links)


def shorten(title: str, limit: int = MAX_TITLE) -> str:
    title = " ".join(title.split()).strip(" :-—|")
    if len(title) <= limit:
        return title
    cut = title[:limit].rsplit(" ", 1)[0]
    return cut + "…"


def first_sentence(text: str) -> str:
    first = text.strip().split("\n", 1)[0]
    match = re.match(r"(.{12,}?[.!?])(\s|$)", first)
    return shorten(match.group(1) if match else first, 140)


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


def _finish_all(drafts: list[Draft], base_url: str) -> list[Story]:
    has_real = any(not d.intro for d in drafts)
    stories: list[Story] = []
    for d in drafts:
        if d.intro and has_real:
            continue  # an editor's preamble, not news, when the issue has stories
        story = d.finish(len(stories), base_url)
        if story is not None:
            stories.append(story)
    return stories


def _bold_only(block: Block) -> bool:
    """A paragraph whose whole text is bold (<strong>/<b>)."""
    strong = "".join(element_text(s) for s in block.node.find_all(["strong", "b"]))
    return bool(strong) and normalize_text(strong).replace(" ", "") == block.text.replace(" ", "").replace("\n", "")


def _lines(text: str) -> list[str]:
    return [line for line in (x.strip() for x in text.split("\n")) if line]


# --------------------------------------------------------------------------- Import AI


_DEK_START = ("…", "...", "—")
_FICTION_RE = re.compile(r"^tech tales\s*:?$", re.I)
_NOT_HEADLINE = re.compile(r"^(read more|tech tales|things that inspired|why this matters)", re.I)


def _importai_headline(block: Block) -> tuple[str, str, Tag | None] | None:
    """(title, dek, remaining body) when a paragraph opens a story, else None.

    A headline is a bold first line on its own (bold text, then a line break or
    the paragraph's end) followed by an italic dek that starts with an ellipsis.
    A bold lead-in ("Why this matters:", "What they did:") runs on into text on
    the same line, so it never matches.
    """
    if block.kind != "para":
        return None
    children = [c for c in block.node.children
                if not (isinstance(c, NavigableString) and not c.strip())]
    if not children or not isinstance(children[0], Tag) or children[0].name not in ("strong", "b"):
        return None
    lines = _lines(block.text)
    strong_lines = _lines(element_text(children[0]))
    if not strong_lines or lines[0] != strong_lines[0] or len(strong_lines) > 1:
        return None
    title = lines[0]
    if _NOT_HEADLINE.match(title) or len(title.split()) < 3:
        return None
    rest = copy.copy(block.node)
    rest_children = [c for c in rest.children if not (isinstance(c, NavigableString) and not c.strip())]
    rest_children[0].extract()
    dek = ""
    if len(lines) > 1 and lines[1].startswith(_DEK_START):
        dek = lines[1].strip("…. ")
        for c in rest_children[1:]:
            if isinstance(c, Tag) and c.name in ("em", "i"):
                c.extract()
                break
            if isinstance(c, Tag) and c.name == "br":
                continue
            break
    elif len(lines) == 1:
        if title.endswith(":"):
            return None  # "What they did:" alone on a line is a lead-in, not a headline
    else:
        return None  # bold text then ordinary text on the next line: treat as a lead-in
    body = rest if normalize_text(element_text(rest)) else None
    return title, dek, body


def segment_importai(blocks: list[Block], issue_title: str = "") -> list[Draft]:
    """Import AI: bold headline + italic dek per story, '#' rules between, Tech Tales last."""
    drafts: list[Draft] = []
    current: Draft | None = None
    in_fiction = False

    def close() -> None:
        nonlocal current
        if current is not None:
            drafts.append(current)
        current = None

    for i, block in enumerate(blocks):
        if block.kind == "separator":
            if not in_fiction:
                close()
            continue
        if is_boilerplate(block.text):
            continue
        if block.kind == "para" and _FICTION_RE.match(block.text):
            close()
            in_fiction = True
            current = Draft(section="fiction", needs_title=True)
            continue
        if in_fiction and current is not None and current.needs_title:
            current.needs_title = False
            if block.words <= 15 and block.node.find(["em", "i", "strong", "b"]):
                current.title = block.text
                continue
        head = None if in_fiction else _importai_headline(block)
        if head is not None:
            close()
            title, dek, body = head
            current = Draft(title=title, dek=dek)
            if body is not None:
                current.nodes.append(body)
            continue
        if current is None and i + 1 < len(blocks) and block.kind == "para" and _bold_only(block) \
                and not in_fiction and blocks[i + 1].text.startswith(_DEK_START):
            current = Draft(title=block.text)  # headline and dek in separate paragraphs
            continue
        if current is not None and not current.dek and not current.nodes \
                and block.text.startswith(_DEK_START) and block.words <= 40:
            current.dek = block.text.strip("…. ")
            continue
        if current is None:
            current = Draft(intro=not drafts)
        current.nodes.append(block.node)
    close()
    return drafts


# --------------------------------------------------------------------------- generic


def _item_title(block: Block) -> str:
    first = block.node.find(["strong", "b", "a"])
    if first is not None:
        lead = normalize_text(element_text(first))
        if block.text.startswith(lead) and len(lead.split()) >= 2:
            return lead
    text = re.sub(r"\(\s*link\s*\)", "", block.text).strip()
    return first_sentence(text)


def segment_generic(blocks: list[Block], issue_title: str = "") -> list[Draft]:
    """Headings, rules, bold titles, numbered picks and link lists mark stories."""
    drafts: list[Draft] = []
    current: Draft | None = None
    section, sponsor_section, in_sponsor = "main", False, False
    skip: set[int] = set()
    seen_story = False

    def close() -> None:
        nonlocal current
        if current is not None:
            drafts.append(current)
        current = None

    def next_content(i: int) -> Block | None:
        for b in blocks[i + 1:]:
            if b.kind == "separator" or not is_boilerplate(b.text):
                return b
        return None

    norm_title = normalize_text(issue_title).lower()
    for i, block in enumerate(blocks):
        if i in skip:
            continue
        if block.kind == "separator":
            close()
            in_sponsor = False
            continue
        if block.kind == "heading":
            close()
            in_sponsor = False
            nxt = next_content(i)
            if not seen_story and block.text.lower() == norm_title:
                if nxt is not None and nxt.kind == "heading":
                    skip.add(blocks.index(nxt, i + 1))  # the issue's subtitle ("PLUS: ...")
                continue
            if nxt is not None and (nxt.kind == "item" or (nxt.kind == "heading" and nxt.level > block.level)):
                section = re.sub(r"^[^\w]+", "", block.text).strip() or "main"
                label = block.text
                if nxt.kind == "heading":
                    skip.add(blocks.index(nxt, i + 1))
                    label += " " + nxt.text
                sponsor_section = is_sponsor_section(label)
                continue
            sponsor_section = is_sponsor_section(block.text)
            current = Draft(title=block.text, section=section, title_nodes=[block.node])
            seen_story = True
            continue
        if sponsor_section or is_boilerplate(block.text):
            continue
        if starts_sponsor_block(block.text):
            close()
            in_sponsor = True
            continue
        if in_sponsor:
            continue
        if block.kind == "item":
            if current is not None and current.title_nodes and current.title_nodes[0].name in HEADINGS:
                current.nodes.append(block.node)  # a list inside a story under a heading belongs to it
                continue
            close()
            if block.node.find("a", href=True) is not None or block.words >= 8:
                drafts.append(Draft(title=_item_title(block), section=section, nodes=[block.node]))
                seen_story = True
            continue
        # paragraphs
        if _bold_only(block) and MARKER_RE.match(block.text):
            close()
            current = Draft(section=section, needs_title=True)
            seen_story = True
            continue
        if _bold_only(block) and 2 <= block.words <= 25 and not block.text.endswith(":"):
            close()
            current = Draft(title=block.text, section=section, title_nodes=[block.node])
            seen_story = True
            continue
        if current is not None and current.needs_title:
            current.needs_title = False
            current.title = _lines(block.text)[0]
            current.title_nodes = [block.node]
            if len(_lines(block.text)) > 1:
                current.nodes.append(block.node)
            continue
        if current is None:
            current = Draft(section=section, intro=not seen_story)
        current.nodes.append(block.node)
    close()
    return drafts


Segmenter = Callable[[list[Block], str], list[Draft]]
SEGMENTERS: dict[str, Segmenter] = {"generic": segment_generic, "importai": segment_importai}


def segment(html: str, *, segmenter: str = "generic", base_url: str = "", issue_title: str = "") -> list[Story]:
    """Stories of one issue, in order. `segmenter` names an entry of SEGMENTERS."""
    try:
        fn = SEGMENTERS[segmenter]
    except KeyError:
        raise ValueError(f"unknown segmenter {segmenter!r}; known: {', '.join(sorted(SEGMENTERS))}") from None
    return _finish_all(fn(to_blocks(html), issue_title), base_url)
