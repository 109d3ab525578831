"""Call scripts: Markdown rendered safely, then merge fields filled in, escaped."""

import functools
import html
import re

import nh3
from markdown_it import MarkdownIt

MERGE_FIELD = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_ ]{0,60}?)\s*\}\}")
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "ul",
    "ol",
    "li",
    "h1",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
    "pre",
    "hr",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def braced(name: str) -> str:
    """A merge field as it is written in a script: ``{{ name }}``."""
    return "{{ " + name + " }}"


def merge_field_names(script: str) -> list[str]:
    return sorted({m.group(1).strip() for m in MERGE_FIELD.finditer(script or "")})


def render_script(script: str, fields: dict, *, blank=None) -> str:
    """HTML for the script with ``{{ field }}`` replaced by the contact's values.

    The Markdown is sanitised before values go in, and values are escaped, so neither the
    script's author nor a contact's data can inject markup. ``blank(name)``, if given, is
    the HTML for a field with no value (the preview shows the organiser where they are)."""
    safe_html = _safe_html(script or "")

    def fill(match: re.Match) -> str:
        name = match.group(1).strip()
        value = fields.get(name)
        if value not in (None, ""):
            return html.escape(str(value))
        return blank(name) if blank is not None else ""

    return MERGE_FIELD.sub(fill, safe_html)


@functools.lru_cache(maxsize=128)
def _safe_html(script: str) -> str:
    """The script as sanitised HTML; remembered, since every contact card of a campaign
    renders the same script."""
    return nh3.clean(
        _markdown.render(script),
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"https", "http", "mailto", "tel"},
        link_rel="noopener noreferrer nofollow",
    )
