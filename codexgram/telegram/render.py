"""Markdown (what Codex answers in) -> Telegram HTML, split into messages (pure).

Rendering rules, all output built from escaped text and the tags Telegram allows:

- paragraphs are separated by a blank line; soft and hard line breaks become newlines;
- ``*em*`` -> ``<i>``, ``**strong**`` -> ``<b>``, ``~~strike~~`` -> ``<s>``, `` `code` `` -> ``<code>``;
- fenced and indented code -> ``<pre><code class="language-x">`` (the language only if it is a plain word);
- headings -> a bold line; horizontal rules -> a line of dashes;
- lists -> lines starting with ``• `` or ``1. ``, nested lists indented by the marker's width (code blocks
  inside list items are not indented, so code stays as written);
- blockquotes -> ``<blockquote>`` (a quote inside a quote keeps its text; Telegram cannot nest them);
- links -> ``<a href>`` only for http(s) and tg URLs, otherwise just their text (a ``mailto:`` link
  shows its address after the text: Telegram would read ``mailto:x@y`` as ``http://`` with user info);
  images -> a link to the image with its alt text;
- tables -> preformatted, column-aligned text;
- raw HTML in the Markdown is shown as text, escaped, never passed through.

:func:`render_message` then splits the HTML with :func:`codexgram.telegram.chunking.split_html`, or, beyond
``max_chunks`` messages, decides to send the Markdown as a document with a short preview instead.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from attrs import frozen
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from codexgram.telegram.chunking import TELEGRAM_TEXT_LIMIT, html_tail, split_html
from codexgram.telegram.html_entities import (
    HtmlParseError,
    parse_html,
    plain_text_of,
    telegram_trim,
    utf16_len,
)

__all__ = [
    "RenderedMessage",
    "escape",
    "html_to_plain",
    "markdown_to_html",
    "plain_text_of",
    "render_chunks",
    "render_message",
    "render_progress",
]

#: Messages a long answer may take before it is sent as a document instead.
DEFAULT_MAX_CHUNKS = 5
#: Visible characters of the preview sent with a document.
PREVIEW_LIMIT = 1000

_LINK_SCHEMES = ("http://", "https://", "tg://")
_MAILTO = "mailto:"
_LANGUAGE = re.compile(r"^[A-Za-z0-9_+#.-]{1,32}$")
_TAG = re.compile(r"<[^>]*>")

# markdown-it stops parsing (and drops the rest) past this many nested blocks; we render such input as plain
# text instead, so nothing is lost.
_MAX_NESTING = 40
_parser = MarkdownIt("commonmark", {"html": False, "maxNesting": _MAX_NESTING}).enable(
    ["table", "strikethrough"]
)


def escape(text: str) -> str:
    """Escape text for Telegram HTML (``&``, ``<``, ``>``; quotes are left alone outside attributes)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attribute(value: str) -> str:
    return escape(value).replace('"', "&quot;")


def html_to_plain(markup: str) -> str:
    """The plain text of Telegram HTML, for resending when Telegram refused the formatting. Tags are dropped
    and references decoded; markup that does not even parse is stripped of anything that looks like a tag."""
    try:
        return parse_html(markup)[0]
    except HtmlParseError:
        return html.unescape(_TAG.sub("", markup))


def markdown_to_html(markdown: str) -> str:
    """Render Markdown to one Telegram HTML string (not split).

    Pathological nesting (blocks nested deeper than markdown-it parses, or emphasis nested deeper than
    Python's recursion limit) is rendered as the escaped Markdown text instead: never an error, nothing
    dropped."""
    try:
        tokens = _parser.parse(markdown)
        if any(token.level >= _MAX_NESTING - 1 for token in tokens):
            return escape(markdown.strip())
        root = SyntaxTreeNode(tokens)
        return "\n\n".join(block for block in _blocks(root.children, quoted=False) if block)
    except RecursionError:
        return escape(markdown.strip())


def render_chunks(markdown: str, *, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Render and split into messages of at most ``limit`` UTF-16 units after parsing (``[]`` if empty)."""
    return split_html(markdown_to_html(markdown), limit=limit)


@frozen(kw_only=True)
class RenderedMessage:
    """Either ``chunks`` to send as messages, or a ``document`` (filename, bytes) sent with ``preview``."""

    chunks: tuple[str, ...] = ()
    document: tuple[str, bytes] | None = None
    preview: str | None = None

    @property
    def is_document(self) -> bool:
        return self.document is not None


def render_message(
    markdown: str,
    *,
    limit: int = TELEGRAM_TEXT_LIMIT,
    max_chunks: int = DEFAULT_MAX_CHUNKS,
    filename: str = "answer.md",
) -> RenderedMessage:
    """Render an answer. Up to ``max_chunks`` messages: ``chunks``. More: ``document`` with the full
    Markdown (UTF-8) and a ``preview`` (the start of the answer, HTML, within ``limit``)."""
    rendered = markdown_to_html(markdown)
    chunks = split_html(rendered, limit=limit)
    if len(chunks) <= max_chunks:
        return RenderedMessage(chunks=tuple(chunks))
    note = f"\n\n<i>The full answer ({len(chunks)} messages long) is attached as {escape(filename)}.</i>"
    head = split_html(rendered, limit=min(PREVIEW_LIMIT, max(2, limit - 200)))[0]
    return RenderedMessage(document=(filename, markdown.encode("utf-8")), preview=head + "\n…" + note)


def render_progress(markdown: str, *, limit: int = TELEGRAM_TEXT_LIMIT) -> str | None:
    """One message for a streaming answer: the whole rendering if it fits, else "…" and the latest part,
    from a paragraph, line or word break, filling at least half of ``limit`` (:func:`html_tail`). ``None``
    when there is nothing to show yet."""
    rendered = markdown_to_html(markdown)
    shown = plain_text_of(rendered)
    if not telegram_trim(shown):
        return None
    if utf16_len(shown) <= limit:
        return rendered
    return "…\n" + html_tail(rendered, limit=limit - 2)  # the "…\n" prefix is 2 units


# --- blocks ------------------------------------------------------------------------------------------------


def _blocks(nodes: Sequence[SyntaxTreeNode], *, quoted: bool) -> list[str]:
    return [_block(node, quoted=quoted) for node in nodes]


def _block(node: SyntaxTreeNode, *, quoted: bool) -> str:
    kind = node.type
    if kind == "paragraph":
        return "".join(_inline(child) for child in node.children)
    if kind == "heading":
        return f"<b>{''.join(_inline(child) for child in node.children)}</b>"
    if kind in ("fence", "code_block"):
        return _code_block(node.content, node.info if kind == "fence" else "")
    if kind in ("bullet_list", "ordered_list"):
        return _list(node, quoted=quoted)
    if kind == "blockquote":
        inner = "\n\n".join(b for b in _blocks(node.children, quoted=True) if b)
        return inner if quoted else f"<blockquote>{inner}</blockquote>"
    if kind == "hr":
        return "——————————"
    if kind == "table":
        return _table(node)
    if kind == "html_block":  # only reachable if HTML parsing is ever enabled: still shown as text
        return escape(node.content.rstrip("\n"))
    if kind == "inline":
        return "".join(_inline(child) for child in node.children)
    return "\n\n".join(b for b in _blocks(node.children, quoted=quoted) if b)


def _code_block(code: str, info: str) -> str:
    body = escape(code[:-1] if code.endswith("\n") else code)
    language = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    if _LANGUAGE.match(language):
        return f'<pre><code class="language-{_escape_attribute(language)}">{body}</code></pre>'
    return f"<pre><code>{body}</code></pre>"


def _list(node: SyntaxTreeNode, *, quoted: bool) -> str:
    ordered = node.type == "ordered_list"
    number = int(node.attrs.get("start", 1) or 1) if ordered else 0
    tight = all(p.hidden for item in node.children for p in item.children if p.type == "paragraph")
    lines: list[str] = []
    for item in node.children:
        marker = f"{number}. " if ordered else "• "
        number += 1
        parts = [b for b in _blocks(item.children, quoted=quoted) if b]
        body = ("\n" if tight else "\n\n").join(_indent(part, " " * len(marker)) for part in parts)
        lines.append(marker + body.lstrip(" "))
    return ("\n" if tight else "\n\n").join(lines)


def _indent(block: str, prefix: str) -> str:
    """Indent every line of ``block``; code blocks keep their lines as written."""
    if block.startswith("<pre>"):
        return block
    return "\n".join(prefix + line if line else line for line in block.split("\n"))


def _table(node: SyntaxTreeNode) -> str:
    rows: list[list[str]] = []
    for section in node.children:
        for row in section.children:
            rows.append([_plain_inline(cell) for cell in row.children])
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    sizes = [max(len(row[col]) for row in rows) for col in range(width)]
    lines = [" | ".join(cell.ljust(sizes[col]) for col, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * size for size in sizes))
    return f"<pre>{escape(chr(10).join(lines))}</pre>"


# --- inline ------------------------------------------------------------------------------------------------


def _inline(node: SyntaxTreeNode, *, in_link: bool = False) -> str:
    """``in_link``: inside a link's text, where links and images give only their text (Telegram links do not
    nest)."""
    kind = node.type
    if kind == "text":
        return escape(node.content)
    if kind in ("softbreak", "hardbreak"):
        return "\n"
    if kind == "code_inline":
        # Telegram keeps only one of a link and code that overlap (TDLib's fix_entities): inside a link's text
        # the code is shown as plain text, so the link survives.
        return escape(node.content) if in_link else f"<code>{escape(node.content)}</code>"
    if kind == "html_inline":
        return escape(node.content)
    nested = in_link or kind in ("link", "image")
    inner = "".join(_inline(child, in_link=nested) for child in node.children)
    if kind == "em":
        return f"<i>{inner}</i>"
    if kind == "strong":
        return f"<b>{inner}</b>"
    if kind == "s":
        return f"<s>{inner}</s>"
    if kind == "link":
        return inner if in_link else _link(str(node.attrs.get("href", "")), inner)
    if kind == "image":
        alt = inner or "image"
        return alt if in_link else _link(str(node.attrs.get("src", "")), alt)
    return inner


def _link(url: str, inner: str) -> str:
    if url.lower().startswith(_MAILTO):
        address = escape(url[len(_MAILTO) :])
        return address if inner in ("", address, escape(url)) else f"{inner} ({address})"
    if not url.lower().startswith(_LINK_SCHEMES) or not inner:
        return inner or escape(url)
    return f'<a href="{_escape_attribute(url)}">{inner}</a>'


def _plain_inline(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline"):
        return node.content
    if node.type in ("softbreak", "hardbreak"):
        return " "
    return "".join(_plain_inline(child) for child in node.children)
