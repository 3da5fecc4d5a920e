"""Build small synthetic RSS documents for tests."""
from __future__ import annotations

from xml.sax.saxutils import escape


def rss(*items: dict, title: str = "Test Feed", encoding: str = "UTF-8") -> bytes:
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>',
             '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>',
             f"<title>{escape(title)}</title><link>https://feed.example.org</link><description>t</description>"]
    for it in items:
        parts.append(
            f"<item><title>{escape(it['title'])}</title><link>{escape(it['link'])}</link>"
            f"<guid>{escape(it.get('guid', it['link']))}</guid><pubDate>{it.get('date', 'Mon, 02 Nov 2026 12:00:00 +0000')}</pubDate>"
            f"<content:encoded><![CDATA[{it['html']}]]></content:encoded></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode(encoding.lower().replace("iso-8859-1", "latin-1"))


def story_html(*stories: tuple[str, str, str]) -> str:
    """Generic-layout issue: one <h2> story per (title, text, link)."""
    return "".join(f'<h2>{t}</h2><p>{x} <a href="{u}">source</a></p>' for t, x, u in stories)
