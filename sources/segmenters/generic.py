"""The generic segmenter: stories from the common shapes of newsletters.

A heading opens a story when it scores as a headline (a linked title, prose
after it) and is a section label when it scores as one (short, all capitals, a
list or deeper headings after it); question sub-headings inside a story stay in
it. Numbered picks ("1/"), bold headline paragraphs, link-list entries
("Title - description (link)", "[Title](url) - summary") and one-paragraph
entries under a label open stories too. Sponsor blocks become stories with
section "sponsor", fiction sections stories with section "fiction"; furniture
sections (memes, polls, share prompts) are dropped.
"""
from __future__ import annotations

import re

from ..boilerplate import fiction_label, has_sponsor_cue, is_job_ad, is_note, section_kind, starts_sponsor_block
from ..clean import normalize_text
from .blocks import Block, Draft, first_sentence, lines_of, shorten
from .features import (
    BYLINE,
    bold_first_line,
    caps_label,
    dek_text,
    heading_score,
    is_dek,
    is_entry,
    item_title,
    label_like,
    question_label,
    short_label,
    skippable,
    strip_lead,
)
from .registry import register_segmenter

MAX_BOLD_TITLE_WORDS = 25
MAX_FICTION_TITLE_WORDS = 15
STORY_OPENERS = ("heading", "marker", "bold", "fiction")  # openers whose stories own the lists under them


class GenericWalker:
    """Walks an issue's blocks once, opening and closing drafts."""

    def __init__(self, blocks: list[Block], issue_title: str = ""):
        self.blocks = blocks
        self.issue_title = normalize_text(issue_title).casefold()
        self.drafts: list[Draft] = []
        self.current: Draft | None = None
        self.section, self.kind, self.section_level = "main", "main", 0
        self.last_label = -2  # index of the last section label, to merge stacked labels
        self.structured = False  # a section label or story has been seen: later prose is not intro
        self.sponsor_pending = False
        self.fiction_prefix = ""
        self.after_rule = False  # the block being read follows a separator
        self.skip: set[int] = set()
        self.prev: Block | None = None  # the last paragraph or item read
        self.entry_sizes: list[int] = []  # paragraphs per closed entry of this section: its peers' shape

    # ----------------------------------------------------------------- helpers

    def next_content(self, i: int) -> Block | None:
        """The next block after i that is not navigation or a prompt."""
        for b in self.blocks[i + 1:]:
            if b.kind == "separator" or not skippable(b):
                return b
        return None

    def close(self) -> None:
        if self.current is not None:
            self.drafts.append(self.current)
            if self.current.opener in ("entry", "implicit") and not self.current.intro:
                self.entry_sizes.append(len(self.current.nodes))
        self.current = None

    def open(self, opener: str, title: str = "", nodes=(), title_nodes=(), level: int = 0,
             section: str | None = None) -> Draft:
        self.close()
        self.current = Draft(title=title, section=section or self.story_section(), opener=opener, level=level,
                             nodes=list(nodes), title_nodes=list(title_nodes))
        self.structured = True
        return self.current

    def story_section(self) -> str:
        if self.sponsor_pending or self.kind == "sponsor":
            return "sponsor"
        if self.kind in ("fiction", "notes"):
            return self.kind
        return self.section

    def set_label(self, i: int, text: str, level: int) -> None:
        """A section label: name the section and what kind of content it holds."""
        self.close()
        self.sponsor_pending = False
        name = re.sub(r"^[\W_]+", "", text).strip(" :") or "main"
        kind = section_kind(text)
        if self.last_label == i - 1 or self.last_label == i - 2 and self.blocks[i - 1].kind == "separator":
            # stacked labels ("Other News" / "Research", "Cool Tools" / "Product launches"): one section
            if kind == "main" or self.kind == "sponsor":
                kind = self.kind if self.kind != "main" else kind
            if len(name.split()) > 3 or "," in name:
                name = self.section  # a description under the label, not a category
        self.section, self.kind, self.section_level = name, kind, level or 7
        self.entry_sizes = []
        self.last_label = i
        self.structured = True

    def is_issue_title(self, i: int, block: Block) -> bool:
        """The issue's own title heading: equal to the feed title, or a heading that opens the issue."""
        if self.drafts or self.current is not None or self.structured:
            return False
        if block.text.casefold() == self.issue_title:
            return True
        nxt = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
        return i == 0 and (block.level == 1 or nxt is not None and nxt.kind == "heading" and nxt.level > block.level
                           and nxt.text.upper().startswith("PLUS"))

    # ----------------------------------------------------------------- blocks

    def run(self) -> list[Draft]:
        for i, block in enumerate(self.blocks):
            if i in self.skip:
                continue
            if block.kind == "separator":
                self.on_separator()
                self.after_rule = True
                continue
            if block.kind == "heading":
                self.on_heading(i, block)
            elif skippable(block) or self.kind == "furniture":
                continue  # navigation and prompts do not end what a rule started
            elif block.kind == "item":
                self.on_item(i, block)
            else:
                self.on_para(i, block)
            self.after_rule = False
            self.prev = block
        self.close()
        return self.drafts

    def on_separator(self) -> None:
        self.close()
        self.sponsor_pending = False
        if self.kind in ("sponsor", "fiction", "notes") and self.section_level >= 7:
            self.kind, self.section = "main", "main"  # a paragraph label's reach ends at a rule

    def on_heading(self, i: int, block: Block) -> None:
        if block.marker:
            self.sponsor_pending = False
            self.open("marker").needs_title = True  # "1/" set as a heading
            return
        if self.is_issue_title(i, block):
            nxt = self.next_content(i)
            if nxt is not None and nxt.kind == "heading":
                self.skip.add(self.blocks.index(nxt, i + 1))  # the subtitle ("PLUS: ...")
            return
        if skippable(block) or section_kind(block.text) == "furniture" and not block.link_only:
            self.set_label(i, block.text, block.level)
            self.kind = "furniture"
            return
        if self.is_subheading(block, self.next_content(i)):
            self.current.nodes.append(block.node)
            return
        cur = self.current
        if cur is not None and cur.opener == "heading" and not cur.nodes and not cur.dek and block.level > cur.level \
                and not block.has_link and block.words <= 12:
            cur.dek = block.text  # a byline or standfirst set as a smaller heading under the title
            return
        if self.kind == "furniture" and block.level > self.section_level and not block.link_only:
            return  # a sub-heading of a furniture section ("Funny pictures from around the web")
        if self.last_label == i - 1 and block.level > self.blocks[i - 1].level and not block.has_link:
            self.set_label(i, block.text, block.level)  # a sub-label under a section label
            return
        if self.fiction_start(i, block):
            return
        nxt = self.next_content(i)
        if heading_score(block, nxt) <= 0:
            self.set_label(i, block.text, block.level)
            return
        if block.level <= self.section_level < 7 and self.kind in ("furniture", "fiction", "notes"):
            self.section, self.kind = "main", "main"  # a headline as high as the label ends its section
        self.sponsor_pending = False
        self.open("heading", title=block.text, title_nodes=[block.node], level=block.level)

    def is_subheading(self, block: Block, nxt: Block | None) -> bool:
        """A question/label heading, or a deeper unlinked one over prose, inside a headed story."""
        cur = self.current
        if cur is None or cur.opener not in STORY_OPENERS or block.has_link:
            return False
        if question_label(block):  # "Why should I care?", "WHAT DOES THIS MEAN?"
            return cur.level == 0 or block.level >= cur.level
        if caps_label(block):
            return False  # "QUICK BITES": a section label
        return cur.level > 0 and block.level > cur.level and bool(cur.nodes) and nxt is not None \
            and nxt.kind == "para" and not nxt.marker and not is_entry(nxt)

    def fiction_start(self, i: int, block: Block) -> bool:
        """A fiction label ("Tech Tales", "**Tech Tales: Title"): the story after it is fiction."""
        m = fiction_label(block.text)
        if not m or block.words > 12:
            return False
        self.close()
        self.sponsor_pending = False
        rest = shorten(m.group("rest").split("\n")[0]) if m.group("rest") else ""
        label = shorten(block.text[: m.start("rest")])
        # "**Tech Tales:" leaves a literal bold run open: the title line after it is inside the run
        self.fiction_prefix = label if block.text.lstrip().startswith("**") and block.text.count("**") % 2 else ""
        self.section, self.kind, self.section_level = "fiction", "fiction", block.level or 7
        draft = self.open("fiction", title=f"{label}: {rest}" if rest else label, section="fiction",
                          level=block.level)
        draft.needs_title = not rest
        return True

    def on_item(self, i: int, block: Block) -> None:
        cur = self.current
        if self.kind == "sponsor" or self.sponsor_pending and cur is None:
            self.drafts.append(self._entry(block, section="sponsor"))
            return
        if cur is not None and cur.opener == "entry" and self.introduces_list(cur):
            cur.nodes.append(block.node)  # "Here are my notes:" - the list is the entry's own
            return
        linked_entry = is_entry(block) and block.lead_is_link and len(block.lead[0].split()) >= 3
        if cur is not None and not cur.needs_title and (cur.opener in STORY_OPENERS or cur.opener == "sponsor") \
                and not (linked_entry and cur.nodes and cur.section != "sponsor"):
            cur.nodes.append(block.node)  # bullets inside a pick, a headed story or an ad belong to it
            return
        if block.link_only or block.words < 3 or label_like(block):
            if cur is not None:
                cur.nodes.append(block.node)
            return  # a bare link or a label is not a story
        if not self.structured:
            self._body(block)  # a list in the preamble (house news, contents)
            return
        if is_job_ad(block.text):
            self.close()
            return  # a hiring line outside the ads
        self.close()
        self.drafts.append(self._entry(block))
        self.structured = True

    def introduces_list(self, cur: Draft) -> bool:
        """The story's last paragraph ends in a colon, or the list under it has already begun."""
        prev = self.prev
        if prev is None or prev.node not in cur.nodes:
            return False
        return prev.kind == "item" and len(cur.nodes) > 1 or prev.kind == "para" and prev.text.rstrip(" *_").endswith(":")

    def _entry(self, block: Block, section: str | None = None) -> Draft:
        section = section or ("sponsor" if has_sponsor_cue(block.text) else self.story_section())
        return Draft(title=item_title(block), section=section, nodes=[block.node], opener="entry")

    def on_para(self, i: int, block: Block) -> None:
        cur = self.current
        if cur is not None and cur.needs_title:
            self.take_title(block)
            return
        if block.marker or block.marker_lead:
            self.sponsor_pending = False  # a numbered pick ends an ad
        if block.marker:
            self.open("marker").needs_title = True
            return
        if block.marker_lead:
            self.open("marker", title=first_sentence(block.marker_lead, 200), title_nodes=[block.node])
            return
        if self.fiction_start(i, block):
            return
        if starts_sponsor_block(block.text):
            self.sponsor_start(block)
            return
        if is_note(block.text):
            self.open("note", section="notes", nodes=[block.node])
            self.close()
            return
        nxt = self.next_content(i)
        if short_label(block) and nxt is not None and (nxt.kind in ("heading", "item") or nxt.marker):
            in_story = cur is not None and cur.opener in STORY_OPENERS and cur.section != "sponsor"
            if nxt.kind == "item" and in_story and not caps_label(block):
                cur.nodes.append(block.node)  # "Key findings:" over a list inside a story
                return
            self.set_label(i, block.text, 0)
            return
        if has_sponsor_cue(lines_of(block.text)[0][:200]) and (block.lead[0] or block.words <= 40):
            self.open("sponsor", section="sponsor", nodes=[block.node])
            return
        if self.opens_entry(block):
            if is_job_ad(block.text):
                self.close()
                return  # a hiring line outside the ads
            self.open("entry", title=item_title(block), nodes=[block.node])
            self.current.section = "sponsor" if has_sponsor_cue(block.text) else self.current.section
            return
        if self.takes_dek(block):
            return
        head = self.opens_headline(block, nxt)
        if head is not None:
            title, dek = head
            body = strip_lead(block.node, dek)
            self.open("bold", title=title, nodes=[body] if body is not None else [])
            self.current.dek, self.current.after_rule = dek, self.after_rule
            return
        if self.opens_bold(block, nxt):
            self.open("bold", title=block.text, title_nodes=[block.node])
            self.current.after_rule = self.after_rule
            return
        self._body(block)

    def takes_dek(self, block: Block) -> bool:
        """A "…dek…" paragraph right after a headline is its dek."""
        cur = self.current
        if cur is None or cur.opener not in ("bold", "heading") or cur.dek or cur.nodes or not is_dek(block.text) \
                or block.words > 40:
            return False
        cur.dek = dek_text(block.lines[0])
        if len(block.lines) > 1:
            cur.nodes.append(block.node)
        return True

    def opens_headline(self, block: Block, nxt: Block | None) -> tuple[str, str] | None:
        """A bold first line with a dek under it, or one right after a rule with text under it."""
        head = bold_first_line(block)
        if head is None or self.current is not None and self.current.opener == "fiction":
            return None
        title, dek = head
        if dek or self.after_rule and len(block.lines) > 1 and len(title.split()) >= 4:
            return head
        return None

    def opens_entry(self, block: Block) -> bool:
        """A one-paragraph link entry under a label ("[Title](url) - summary")."""
        cur = self.current
        if not self.structured or block.words > 80:
            return False
        if cur is not None and (cur.opener not in ("entry", "implicit") or not cur.nodes):
            return False
        if is_entry(block) or cur is not None and block.bold_link:
            return True  # one link entry after another: each paragraph is a story
        if cur is not None and cur.opener == "entry" and self.prev is not None and self.prev.kind == "item" \
                and (block.has_link or block.lead[0]) and self.prev.node in cur.nodes:
            return True  # the entry's list has ended: the next led paragraph is the next entry
        if cur is not None and cur.opener == "entry" and block.has_link and self.one_paragraph_entries():
            return block.words >= (8 if block.text.rstrip(" *_").endswith(":") else 5)
        return cur is None and self.last_label >= 0 and block.has_link and (block.link_only or bool(block.lead[0]))

    def one_paragraph_entries(self) -> bool:
        """The section's stories so far are one paragraph each: a paragraph with a link is the next one."""
        sizes = self.entry_sizes + [len(self.current.nodes)] if self.current is not None else self.entry_sizes
        return len(sizes) >= 2 and sum(n == 1 for n in sizes) * 3 >= len(sizes) * 2

    def opens_bold(self, block: Block, nxt: Block | None) -> bool:
        """A bold headline paragraph: short, not a lead-in, peer of the stories around it."""
        if not block.bold_only or not 2 <= block.words <= MAX_BOLD_TITLE_WORDS or len(block.lines) > 2:
            return False
        if block.text.rstrip(" *_").endswith(":") or label_like(block) or BYLINE.match(block.text):
            return False
        cur = self.current
        if cur is not None and (cur.opener in ("heading", "marker", "fiction") or not cur.nodes):
            return False  # a sub-heading inside a headed story, or a byline right after a title
        next_is_dek = nxt is not None and is_dek(nxt.text)
        if cur is not None and (cur.dek or cur.after_rule) and not next_is_dek and not self.after_rule:
            return False  # its peers had a dek or followed a rule: this is a lead-in inside a story
        return nxt is not None and nxt.kind != "heading"

    def take_title(self, block: Block) -> None:
        """The headline line after a numbered marker or a fiction label."""
        cur = self.current
        cur.needs_title = False
        first = block.lines[0]
        limit = MAX_FICTION_TITLE_WORDS if cur.opener == "fiction" else MAX_BOLD_TITLE_WORDS
        short = len(first.split()) <= limit and first_sentence(first, 1000) == shorten(first)  # one short sentence
        if cur.opener == "fiction":
            if short and (block.italic_only or block.bold_only or len(block.lines) > 1):
                first = first.strip(" *_")
                cur.title = f"{self.fiction_prefix}: {first}" if self.fiction_prefix else first
                rest = "\n".join(block.lines[1:]).strip(" *_")
                if rest:
                    cur.nodes.append(block.node)
                return
            cur.nodes.append(block.node)  # no title line: the label stays the title
            return
        headline = short and len(block.lines) == 1
        if block.bold_only or block.link_only or headline:
            cur.title = first
            cur.title_nodes.append(block.node)
            return
        cur.title = first_sentence(block.text, 200)
        cur.nodes.append(block.node)

    def sponsor_start(self, block: Block) -> None:
        """ "From our sponsor:" opens a sponsor block; "Brought to you by X - ..." is one itself."""
        self.close()
        rest = re.sub(r"^[^:]{0,60}:", "", block.text, count=1) if ":" in block.text[:60] else ""
        if len(rest.split()) >= 4 or (not rest and block.words >= 8):
            self.open("sponsor", section="sponsor", nodes=[block.node])
            if rest:
                self.current.title = first_sentence(rest, 200)
            return
        self.sponsor_pending = True
        self.structured = True

    def _body(self, block: Block) -> None:
        """Running text: it joins the open story, or starts an untitled one (the preamble, before any)."""
        if self.current is None and self.sponsor_pending:
            self.open("sponsor", section="sponsor")  # the ad after "From our sponsor:"
        elif self.current is None:
            self.current = Draft(section=self.story_section(), intro=not self.structured)
        cur = self.current
        if not cur.intro and cur.section not in ("fiction", "notes") and has_sponsor_cue(block.text):
            cur.section = "sponsor"  # "cancel anytime", a promo code: the whole story is an ad
        self.current.nodes.append(block.node)


@register_segmenter("generic")
def segment_generic(blocks: list[Block], issue_title: str = "") -> list[Draft]:
    """Headings, numbered picks, bold headlines and link lists mark stories."""
    drafts = GenericWalker(blocks, issue_title).run()
    if drafts and all(d.intro for d in drafts) and any(b.kind == "item" for b in blocks):
        walker = GenericWalker(blocks, issue_title)  # no labels or headlines at all: read lists as entries
        walker.structured = True
        drafts = walker.run()
    return drafts
