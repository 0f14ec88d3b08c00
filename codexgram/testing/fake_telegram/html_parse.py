"""Telegram's ``parse_mode=HTML``, as the server parses it: the fake's own copy of the rules.

Pure. Follows the algorithm of TDLib's ``parse_html`` (what the Bot API server runs), including its error
wording, so that a bot that passes here passes on Telegram. Deliberately independent of the renderer's parser
(``codexgram.telegram.html_entities``): a fake that judged the renderer with the renderer's own code could not
catch its mistakes.

``parse_html(text) -> (plain_text, entities)``; entities are Bot API ``MessageEntity`` dicts with offsets and
lengths in UTF-16 code units. Raises :class:`HtmlParseError` with Telegram's message (the server prefixes
``Bad Request: can't parse entities: ``).
"""

from __future__ import annotations

from typing import Any

import attrs

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_ENTITY_TYPE = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
}
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\r\n\f\v"


class HtmlParseError(Exception):
    """The text is not HTML Telegram accepts. ``message`` is Telegram's wording."""

    def __init__(self, message: str, byte_offset: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.byte_offset = byte_offset


@attrs.define
class _Open:
    tag: str
    argument: str
    offset: int  # UTF-16 offset in the output where the entity starts


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units (what Telegram's entity offsets count)."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Plain text and entities of ``text`` under Telegram's HTML rules; raises HtmlParseError."""
    return _Parser(text).run()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out: list[str] = []
        self.out_utf16 = 0
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_Open] = []
        self.i = 0

    def byte_offset(self, index: int) -> int:
        return len(self.text[:index].encode("utf-8"))

    def emit(self, chars: str) -> None:
        self.out.append(chars)
        self.out_utf16 += utf16_len(chars)

    def run(self) -> tuple[str, list[dict[str, Any]]]:
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char == "&":
                decoded, end = _decode_entity(text, self.i)
                if decoded is not None:
                    self.emit(decoded)
                    self.i = end
                    continue
            if char != "<":
                self.emit(char)
                self.i += 1
                continue
            if self.i + 1 < len(text) and text[self.i + 1] == "/":
                self.end_tag()
            else:
                self.start_tag()
        if self.stack:
            raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].tag}"')
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def _unclosed(self, begin: int) -> HtmlParseError:
        return HtmlParseError(
            f"Unclosed start tag at byte offset {self.byte_offset(begin)}", self.byte_offset(begin)
        )

    def start_tag(self) -> None:
        text, begin = self.text, self.i
        self.i += 1
        name_begin = self.i
        while self.i < len(text) and text[self.i] not in _SPACES and text[self.i] != ">":
            self.i += 1
        if self.i == len(text):
            raise self._unclosed(begin)
        tag = text[name_begin : self.i].lower()
        if tag not in SUPPORTED_TAGS:
            offset = self.byte_offset(begin)
            raise HtmlParseError(f'Unsupported start tag "{tag}" at byte offset {offset}', offset)
        argument = ""
        while text[self.i] != ">":
            while self.i < len(text) and text[self.i] in _SPACES:
                self.i += 1
            if self.i == len(text):
                raise self._unclosed(begin)
            if text[self.i] == ">":
                break
            attr_begin = self.i
            while self.i < len(text) and text[self.i] not in _SPACES and text[self.i] not in "=>":
                self.i += 1
            name = text[attr_begin : self.i].lower()
            if not name:
                offset = self.byte_offset(self.i)
                raise HtmlParseError(
                    f'Empty attribute name in the tag "{tag}" at byte offset {offset}', offset
                )
            while self.i < len(text) and text[self.i] in _SPACES:
                self.i += 1
            if self.i == len(text):
                raise self._unclosed(begin)
            if text[self.i] != "=":
                if tag == "blockquote" and name == "expandable":
                    argument = "1"
                    continue
                offset = self.byte_offset(self.i)
                raise HtmlParseError(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}" '
                    f"at byte offset {offset}",
                    offset,
                )
            self.i += 1
            while self.i < len(text) and text[self.i] in _SPACES:
                self.i += 1
            if self.i == len(text):
                raise self._unclosed(begin)
            value = self.attribute_value(begin)
            argument = _argument(tag, name, value, argument)
        if tag == "span" and argument != "tg-spoiler":
            offset = self.byte_offset(begin)
            raise HtmlParseError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}', offset)
        self.stack.append(_Open(tag=tag, argument=argument, offset=self.out_utf16))
        self.i += 1  # past ">"

    def attribute_value(self, begin: int) -> str:
        text = self.text
        if text[self.i] not in "'\"":
            start = self.i
            while self.i < len(text) and (text[self.i].isalnum() or text[self.i] in ".-"):
                self.i += 1
            if self.i == len(text):
                raise self._unclosed(begin)
            if text[self.i] not in _SPACES and text[self.i] != ">":
                offset = self.byte_offset(start)
                raise HtmlParseError(f"Unexpected end of name token at byte offset {offset}", offset)
            return text[start : self.i].lower()  # an unquoted value is a name token: case-insensitive
        quote = text[self.i]
        self.i += 1
        parts: list[str] = []
        while self.i < len(text) and text[self.i] != quote:
            if text[self.i] == "&":
                decoded, end = _decode_entity(text, self.i)
                if decoded is not None:
                    parts.append(decoded)
                    self.i = end
                    continue
            parts.append(text[self.i])
            self.i += 1
        if self.i == len(text):
            raise self._unclosed(begin)
        self.i += 1
        return "".join(parts)

    def end_tag(self) -> None:
        text, begin = self.text, self.i
        offset = self.byte_offset(begin)
        if not self.stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {offset}", offset)
        self.i += 2
        name_begin = self.i
        while self.i < len(text) and text[self.i] not in _SPACES and text[self.i] != ">":
            self.i += 1
        name = text[name_begin : self.i].lower()
        expected = self.stack[-1].tag
        if name != expected:
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{expected}>", found "</{name}>"',
                offset,
            )
        while self.i < len(text) and text[self.i] in _SPACES:
            self.i += 1
        if self.i == len(text) or text[self.i] != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {offset}", offset)
        self.i += 1
        self.close(self.stack.pop())

    def close(self, opened: _Open) -> None:
        length = self.out_utf16 - opened.offset
        if length <= 0:
            return  # empty entities vanish, as on Telegram
        entity: dict[str, Any] = {"offset": opened.offset, "length": length}
        if opened.tag == "a":
            if not opened.argument:
                return
            entity.update(type="text_link", url=opened.argument)
        elif opened.tag == "tg-emoji":
            entity.update(type="custom_emoji", custom_emoji_id=opened.argument)
        elif opened.tag == "blockquote":
            entity["type"] = "expandable_blockquote" if opened.argument else "blockquote"
        elif opened.tag == "pre":
            entity["type"] = "pre"
            # <pre><code class="language-x">...</code></pre> is one pre entity with a language.
            last = self.entities[-1] if self.entities else None
            if (
                last
                and last["type"] == "code"
                and last["offset"] == opened.offset
                and last["length"] == length
            ):
                self.entities.pop()
                if "language" in last:
                    entity["language"] = last["language"]
        else:
            entity["type"] = _ENTITY_TYPE[opened.tag]
            if opened.tag == "code" and opened.argument:
                entity["language"] = opened.argument
        self.entities.append(entity)


def _argument(tag: str, name: str, value: str, current: str) -> str:
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value == "tg-spoiler":
        return value
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return current


def _decode_entity(text: str, start: int) -> tuple[str | None, int]:
    """``&lt;``, ``&#60;``, ``&#x3c;``... at ``start``: (character, index after ``;``), or (None, start)."""
    end = text.find(";", start + 1, start + 12)
    if end == -1:
        return None, start
    body = text[start + 1 : end]
    if body in _NAMED:
        return _NAMED[body], end + 1
    if body.startswith(("#x", "#X")):
        digits, base = body[2:], 16
    elif body.startswith("#"):
        digits, base = body[1:], 10
    else:
        return None, start  # only four named entities exist; others stay literal text, as on Telegram
    try:
        code = int(digits, base)
    except ValueError:
        return None, start
    if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None, start
    return chr(code), end + 1
