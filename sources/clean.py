"""Turn untrusted feed HTML into safe HTML, plain text and markdown.

Everything from a feed passes through `sanitize_html` before anything else
looks at it: scripts, styles, frames, images (tracking pixels among them),
event handlers and `javascript:` URLs never survive, and tracking parameters
are cut from links.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import nh3
from bs4 import BeautifulSoup, NavigableString, Tag
from markdownify import markdownify

ALLOWED_TAGS = {
    "a", "p", "br", "strong", "b", "em", "i", "u", "s", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "blockquote", "pre", "code", "hr", "div", "span", "table", "thead",
    "tbody", "tr", "td", "th", "sup", "sub", "figure", "figcaption", "section", "article",
}
DROPPED_WITH_CONTENT = {"script", "style", "noscript", "template", "iframe", "object", "svg",
                        "math", "head", "title", "button", "form", "select", "textarea"}
SAFE_SCHEMES = {"http", "https", "mailto"}
TRACKING_PARAMS = re.compile(r"^(utm_[a-z]+|mc_[a-z]+|fbclid|gclid|ref_src|_hsenc|_hsmi|mkt_tok|"
                             r"s_cid|trk|oly_[a-z_]+|vero_[a-z]+)$", re.I)
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def clean_url(url: str) -> str:
    """Cut tracking parameters; keep everything else of the URL as written."""
    url = url.strip().replace("\\&", "&")
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme and parts.scheme.lower() not in SAFE_SCHEMES:
        return ""  # javascript:, data:, vbscript: ... never survive
    query = [(k, v.rstrip("\\")) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if not TRACKING_PARAMS.match(k)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "a" and attribute == "href":
        return clean_url(value) or None
    return value


def sanitize_html(html: str) -> str:
    """Whitelist-sanitise HTML (nh3/ammonia): the only door feed HTML comes in by."""
    return nh3.clean(
        html or "",
        tags=ALLOWED_TAGS,
        clean_content_tags=DROPPED_WITH_CONTENT,
        attributes={"a": {"href", "title"}},
        url_schemes=SAFE_SCHEMES,
        link_rel=None,
        strip_comments=True,
        attribute_filter=_filter_attribute,
    )


MAX_ISSUE_CHARS = 2_000_000  # one issue's HTML; real issues are tens of kilobytes


def cap_html(html: str, limit: int = MAX_ISSUE_CHARS) -> tuple[str, bool]:
    """HTML cut to `limit` characters at a tag boundary, lone surrogates replaced; (html, was it cut)."""
    html = html.encode("utf-8", "replace").decode("utf-8")
    if len(html) <= limit:
        return html, False
    cut = html.rfind(">", 0, limit) + 1 or limit
    return html[:cut], True


def normalize_text(text: str) -> str:
    """NFC, no zero-width characters, single spaces, no blank-line runs."""
    text = unicodedata.normalize("NFC", text).translate(_ZERO_WIDTH).replace("\xa0", " ")
    lines = [re.sub(r"[ \t\r\f\v]+", " ", line).strip() for line in text.split("\n")]
    out = re.sub(r"\n{3,}", "\n\n", "\n".join(lines))
    return out.strip()


INLINE_TAGS = {"strong", "b", "em", "i", "a", "span", "code", "u", "s", "sup", "sub"}
_BOUNDARY = "\x01"
_LITERAL_BOLD = re.compile(r"\*\*(\S(?:[^*]*?\S)?)\*\*")


def _tidy(raw: str) -> str:
    # Some feeds lose the spaces around inline tags ("into<b>real</b>time"): where a tag
    # boundary joins two word characters, put the space back; and unconverted markdown
    # bold ("**word**") is plain text noise.
    raw = re.sub(rf"(?<=\w){_BOUNDARY}+(?=\w)", " ", raw).replace(_BOUNDARY, "")
    raw = _LITERAL_BOLD.sub(r" \1 ", raw)
    return normalize_text(raw)


BLOCK_TAGS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
              "tr", "section", "article", "figure", "figcaption", "ul", "ol", "table", "hr"}


def element_text(node: Tag | NavigableString) -> str:
    """Readable text of a fragment: blocks on their own lines, <br> as a line break."""
    if isinstance(node, NavigableString):
        return normalize_text(str(node))
    parts: list[str] = []

    def walk(n: Tag | NavigableString) -> None:
        if isinstance(n, NavigableString):
            parts.append(str(n))
            return
        if n.name == "br":
            parts.append("\n")
            return
        block = n.name in BLOCK_TAGS
        edge = "\n\n" if block else (_BOUNDARY if n.name in INLINE_TAGS else "")
        parts.append(edge)
        for child in n.children:
            walk(child)
        parts.append(edge)

    walk(node)
    return _tidy("".join(parts))


def html_to_text(html: str) -> str:
    return element_text(BeautifulSoup(sanitize_html(html), "lxml"))


def html_to_markdown(html: str) -> str:
    """Markdown of already-sanitised HTML; links kept, images dropped."""
    md = markdownify(html, heading_style="ATX", bullets="-", strip=["img"])
    return normalize_text(md)
