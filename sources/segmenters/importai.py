"""Import AI's layout: a bold headline and an italic dek ("…dek…") open each story.

Stories are separated by rules; bold lead-ins inside a story ("Why this
matters:", "Read more:", "It works well (on some simple tasks)") never open a
story, because a headline needs a dek, or must be the first thing after a rule.
The closing "Tech Tales" (in any of its markups) is fiction.
"""
from __future__ import annotations

from bs4 import Tag

from ..boilerplate import fiction_label, is_note, starts_sponsor_block
from .blocks import Block, Draft, shorten
from .features import bold_first_line, dek_text, is_dek, strip_lead
from .registry import register_segmenter

MIN_RULE_HEADLINE_WORDS = 4  # a bold first line right after a rule, with no dek (an essay section)
MAX_FICTION_TITLE_WORDS = 15


def headline(block: Block, after_rule: bool, next_is_dek: bool) -> tuple[str, str, Tag | None] | None:
    """(title, dek, remaining body) when a paragraph opens a story, else None.

    A headline needs a dek (in the paragraph or the next one) or must follow a rule: bold
    lead-ins alone on a line ("It works well (on some simple tasks)") have neither."""
    head = bold_first_line(block)
    if head is None:
        return None
    title, dek = head
    if not dek:
        alone = len(block.lines) == 1
        if not ((alone and next_is_dek) or (after_rule and len(title.split()) >= MIN_RULE_HEADLINE_WORDS)):
            return None
    return title, dek, strip_lead(block.node, dek)


class ImportAIWalker:
    """Walks Import AI's blocks: rules close stories, headlines open them, fiction runs to the end."""

    def __init__(self, blocks: list[Block]):
        self.blocks = blocks
        self.drafts: list[Draft] = []
        self.current: Draft | None = None
        self.in_fiction = False
        self.after_rule = False
        self.label = "Tech Tales"  # the fiction label as written
        self.open_run = False  # "**Tech Tales:" left a literal bold run open over the title

    def close(self) -> None:
        if self.current is not None:
            self.drafts.append(self.current)
        self.current = None

    def run(self) -> list[Draft]:
        for i, block in enumerate(self.blocks):
            after_rule, self.after_rule = self.after_rule, False
            if block.kind == "separator":
                if not self.in_fiction:
                    self.close()
                self.after_rule = True
                continue
            if block.boilerplate:
                self.after_rule = after_rule
                continue
            self.on_block(i, block, after_rule)
        self.close()
        return self.drafts

    def on_block(self, i: int, block: Block, after_rule: bool) -> None:
        if self.fiction_start(block):
            return
        cur = self.current
        if self.in_fiction and cur is not None and cur.needs_title:
            self.take_fiction_title(block)
            return
        if not self.in_fiction and block.kind == "para" and is_note(block.text):
            self.close()
            self.drafts.append(Draft(section="notes", opener="note", nodes=[block.node]))
            return
        if not self.in_fiction and block.kind == "para" and starts_sponsor_block(block.text):
            self.close()
            self.current = Draft(section="sponsor", opener="sponsor", nodes=[block.node])
            return
        if block.kind == "heading" and not self.in_fiction and block.words >= 3:
            self.close()  # a headline set as a heading (a layout change): its dek may follow
            self.current = Draft(title=block.text, opener="bold", title_nodes=[block.node])
            return
        nxt = self.blocks[i + 1] if i + 1 < len(self.blocks) else None
        head = None if self.in_fiction else headline(block, after_rule or not self.drafts and cur is None,
                                                     nxt is not None and is_dek(nxt.text))
        if head is not None:
            self.close()
            title, dek, body = head
            self.current = Draft(title=title, dek=dek, opener="bold")
            if body is not None:
                self.current.nodes.append(body)
            return
        if cur is not None and cur.opener == "bold" and not cur.dek and not cur.nodes \
                and is_dek(block.text) and block.words <= 40:
            cur.dek = dek_text(block.lines[0])  # the dek in a paragraph of its own
            if len(block.lines) > 1:
                cur.nodes.append(block.node)
            return
        if self.current is None:
            self.current = Draft(intro=not self.drafts)
        self.current.nodes.append(block.node)

    def fiction_start(self, block: Block) -> bool:
        """ "Tech Tales" as a paragraph, in bold, as "**Tech Tales:", or with its title in the run."""
        if block.kind not in ("para", "heading") or block.words > 12:
            return False
        m = fiction_label(block.lines[0] if block.lines else "")
        if not m:
            return False
        self.close()
        self.in_fiction = True
        label = shorten(block.lines[0][: m.start("rest")])
        rest = shorten(m.group("rest"))
        self.current = Draft(section="fiction", opener="fiction", title=f"{label}: {rest}" if rest else label)
        self.current.needs_title = not rest
        self.open_run = block.text.lstrip().startswith("**") and block.text.count("**") % 2 == 1
        self.label = label
        return True

    def take_fiction_title(self, block: Block) -> None:
        cur = self.current
        cur.needs_title = False
        first = block.lines[0].strip(" *_") if block.lines else ""
        titled = block.italic_only or block.bold_only or len(block.lines) > 1
        if first and len(first.split()) <= MAX_FICTION_TITLE_WORDS and titled:
            cur.title = f"{self.label}: {shorten(first)}" if self.open_run else shorten(first)
            if len(block.lines) > 1:
                cur.nodes.append(block.node)
            return
        cur.nodes.append(block.node)


@register_segmenter("importai")
def segment_importai(blocks: list[Block], issue_title: str = "") -> list[Draft]:
    """Import AI: bold headline + italic dek per story, rules between, Tech Tales last."""
    return ImportAIWalker(blocks).run()
