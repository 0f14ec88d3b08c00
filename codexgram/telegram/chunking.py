"""Split Telegram HTML into messages that each fit the limit after entity parsing (pure).

Telegram's 4096 limit applies to the text *after* parsing and counts UTF-16 code units (an emoji outside the
BMP counts 2), so lengths here are UTF-16 lengths of the visible text; tags cost nothing.

Where a chunk ends, in order of preference: before a paragraph break (two or more newlines), before a line
break (both preferring breaks after which the next chunk does not start with a space), after a space,
anywhere. A break is only taken if it fills at least half the chunk, so a far-off
paragraph break does not leave a tiny message. Units are never split: a character reference (``&amp;``) or
an astral character is one unit, and a tag is never cut. The newlines at a paragraph or line break are
dropped (Telegram would trim them from the ends of a message anyway). Tags open at a break are closed at the
end of the chunk and reopened, with their attributes, at the start of the next one (a code block continues
as ``<pre><code class="language-x">``). Chunks whose visible text would be only whitespace are left out:
Telegram refuses an empty message.

:func:`html_tail` cuts from the other end: the latest part of the text that fits, starting at the earliest
break that still leaves at least half the limit shown (for a streaming answer, whose end is what matters).

The input must be well-formed HTML as :mod:`codexgram.telegram.render` produces it (every tag closed, text
escaped); the chunker does not repair other markup.
"""

from __future__ import annotations

import html
import re
from typing import NamedTuple

from codexgram.telegram.html_entities import telegram_trim

__all__ = ["TELEGRAM_TEXT_LIMIT", "html_tail", "split_html"]

#: Characters (UTF-16 code units) Telegram accepts in one message after entity parsing.
TELEGRAM_TEXT_LIMIT = 4096

_SPECIAL = re.compile(r"(<[^>]*>|&(?:[a-zA-Z]+|#[0-9]+|#x[0-9a-fA-F]+);)")
_TAG_NAME = re.compile(r"</?\s*([a-zA-Z][a-zA-Z0-9-]*)")


class _Tag(NamedTuple):
    name: str
    source: str  # the start tag as written, attributes included, to reopen it
    closing: bool


class _Char(NamedTuple):
    source: str  # as written: "a", "&amp;", "😀"
    visible: str  # what Telegram shows: "a", "&", "😀"
    width: int  # UTF-16 code units


_Token = _Tag | _Char


def _tokenize(markup: str) -> list[_Token]:
    tokens: list[_Token] = []
    for index, part in enumerate(_SPECIAL.split(markup)):
        if index % 2 == 0:  # plain text between tags and references: one token per character
            tokens.extend(_Char(ch, ch, 2 if ord(ch) > 0xFFFF else 1) for ch in part)
        elif part.startswith("<"):
            name_match = _TAG_NAME.match(part)
            if name_match is None:
                raise ValueError(f"not a tag: {part!r}")
            tokens.append(_Tag(name_match.group(1).lower(), part, part[1] == "/"))
        else:
            visible = html.unescape(part)
            tokens.append(_Char(part, visible, 2 if ord(visible[0]) > 0xFFFF else 1))
    return tokens


_Candidate = tuple[int, int, list[_Tag]]


def _is_newline(token: _Token) -> bool:
    return isinstance(token, _Char) and token.visible == "\n"


def _is_blank(token: _Token) -> bool:
    return isinstance(token, _Char) and token.visible in " \t\u00a0"


def split_html(markup: str, *, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split ``markup`` into chunks whose visible text is at most ``limit`` UTF-16 units each.

    Returns ``[]`` when the visible text is only whitespace. Raises ``ValueError`` for ``limit < 2`` or
    markup with a stray ``<``."""
    if limit < 2:
        raise ValueError("limit must be at least 2 (an astral character is 2 UTF-16 units)")
    tokens = _tokenize(markup)
    chunks: list[str] = []
    stack: list[_Tag] = []  # open tags at the start of the current chunk
    start = 0
    while start < len(tokens):
        end, resume, stack_at_end = _find_break(tokens, start, list(stack), limit)
        chunk = _emit(tokens[start:end], stack, stack_at_end)
        if telegram_trim(_visible(tokens[start:end])):
            chunks.append(chunk)
        stack = _apply(stack_at_end, tokens[end:resume])
        start = resume
    return chunks


def _find_break(
    tokens: list[_Token], start: int, stack: list[_Tag], limit: int
) -> tuple[int, int, list[_Tag]]:
    """Where the chunk starting at ``start`` ends: ``(end, resume, stack at end)``; tokens in
    ``[end, resume)`` are separator newlines that no chunk shows."""
    used = 0
    # Candidate breaks, latest of each kind: (end index, used width there, stack copy). A break is "clean"
    # when the next chunk does not start with a space or tab: Telegram trims a message's leading whitespace,
    # which would cost an indented code line its indentation.
    paragraph_clean: _Candidate | None = None
    line_clean: _Candidate | None = None
    paragraph: _Candidate | None = None
    line: _Candidate | None = None
    word: _Candidate | None = None
    i = start
    while i < len(tokens):
        token = tokens[i]
        if isinstance(token, _Tag):
            _push_or_pop(stack, token)
            i += 1
            continue
        if _is_newline(token):
            if i > start and not _is_newline(tokens[i - 1]):  # only at the start of a run of newlines
                run = i
                while run < len(tokens) and _is_newline(tokens[run]):
                    run += 1
                candidate = (i, used, list(stack))
                clean = run >= len(tokens) or not _is_blank(tokens[run])
                if run - i >= 2:
                    paragraph = candidate
                    paragraph_clean = candidate if clean else paragraph_clean
                else:
                    line = candidate
                    line_clean = candidate if clean else line_clean
        elif i > start and isinstance(prev := tokens[i - 1], _Char) and prev.visible == " ":
            word = (i, used, list(stack))
        if used + token.width > limit:
            candidates = (paragraph_clean, line_clean, paragraph, line, word)
            return _choose(tokens, start, i, stack, limit, candidates)
        used += token.width
        i += 1
    return len(tokens), len(tokens), stack


def _choose(
    tokens: list[_Token],
    start: int,
    overflow_at: int,
    stack_at_overflow: list[_Tag],
    limit: int,
    candidates: tuple[_Candidate | None, ...],
) -> tuple[int, int, list[_Tag]]:
    found = [c for c in candidates if c is not None]
    good = [c for c in found if c[1] * 2 >= limit]
    best = good[0] if good else (max(found, key=lambda c: c[1]) if found else None)
    if best is None or best[1] == 0:
        # No usable boundary: cut before the character that does not fit. Never an empty chunk: when even one
        # unit does not fit after the reopened tags (impossible for limit >= 2), still take one.
        end = overflow_at if overflow_at > start else start + 1
        return end, end, stack_at_overflow
    end, _, stack = best
    resume = end
    while resume < len(tokens) and _is_newline(tokens[resume]):
        resume += 1
    return end, resume, stack


def _push_or_pop(stack: list[_Tag], tag: _Tag) -> None:
    if not tag.closing:
        stack.append(tag)
    elif stack and stack[-1].name == tag.name:
        stack.pop()
    else:
        raise ValueError(f"unbalanced end tag {tag.source!r}")


def _apply(stack: list[_Tag], tokens: list[_Token]) -> list[_Tag]:
    result = list(stack)
    for token in tokens:
        if isinstance(token, _Tag):
            _push_or_pop(result, token)
    return result


def _emit(tokens: list[_Token], opened: list[_Tag], open_at_end: list[_Tag]) -> str:
    reopen = "".join(tag.source for tag in opened)
    body = "".join(token.source for token in tokens)
    close = "".join(f"</{tag.name}>" for tag in reversed(open_at_end))
    return reopen + body + close


def _visible(tokens: list[_Token]) -> str:
    return "".join(token.visible for token in tokens if isinstance(token, _Char))


def html_tail(markup: str, *, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """The end of ``markup`` whose visible text is at most ``limit`` UTF-16 units: all of it when it fits,
    else the tail from a break, in the same order of preference as :func:`split_html` (paragraph, line, word,
    else anywhere), taking the earliest break of a kind that still shows at least half the limit. Tags open
    where the tail starts are reopened with their attributes. ``""`` when the visible text is only whitespace.
    Raises ``ValueError`` for ``limit < 2`` or malformed markup."""
    if limit < 2:
        raise ValueError("limit must be at least 2 (an astral character is 2 UTF-16 units)")
    tokens = _tokenize(markup)
    if not telegram_trim(_visible(tokens)):
        return ""
    # suffix[i]: visible width of tokens[i:]
    suffix = [0] * (len(tokens) + 1)
    for i in range(len(tokens) - 1, -1, -1):
        token = tokens[i]
        suffix[i] = suffix[i + 1] + (token.width if isinstance(token, _Char) else 0)
    if suffix[0] <= limit:
        return markup
    first = next(i for i in range(len(tokens)) if suffix[i] <= limit)
    start = _tail_start(tokens, first, suffix, limit)
    stack = _apply([], tokens[:start])
    return "".join(tag.source for tag in stack) + "".join(token.source for token in tokens[start:])


def _tail_start(tokens: list[_Token], first: int, suffix: list[int], limit: int) -> int:
    """Where the tail starts: the earliest break at or after ``first`` (the earliest token from which the rest
    fits) of the best kind that leaves at least half the limit shown; else ``first``."""
    paragraph_clean = line_clean = paragraph = line = word = None
    i = first
    while i < len(tokens) and suffix[i] * 2 >= limit:
        if i > 0 and _is_newline(tokens[i - 1]) and not _is_newline(tokens[i]):
            run = 1
            while i - run > 0 and _is_newline(tokens[i - run - 1]):
                run += 1
            clean = not _is_blank(tokens[i])
            if run >= 2:
                paragraph = i if paragraph is None else paragraph
                paragraph_clean = i if clean and paragraph_clean is None else paragraph_clean
            else:
                line = i if line is None else line
                line_clean = i if clean and line_clean is None else line_clean
        elif i > 0 and word is None and isinstance(prev := tokens[i - 1], _Char) and prev.visible == " ":
            word = i
        i += 1
    for candidate in (paragraph_clean, line_clean, paragraph, line, word):
        if candidate is not None:
            return candidate
    return first
