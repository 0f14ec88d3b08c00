"""Telegram's HTML parse mode, reimplemented (pure): text with tags -> plain text + entities.

This follows TDLib's ``parse_html`` (``td/telegram/MessageEntity.cpp``), which is what the Bot API runs for
``parse_mode=HTML``, closely enough that the fake Bot API server can reject what Telegram rejects, with the
same error wording, and the renderer can check its own output:

- tags: ``b strong i em u ins s strike del span class="tg-spoiler" tg-spoiler a href code pre blockquote
  [expandable] tg-emoji emoji-id tg-time``; tag names are case-insensitive, attribute names are not;
  unknown attributes, with or without a value, are ignored; any other tag is ``Unsupported start tag "x"``.
- entities: ``&lt; &gt; &amp; &quot;`` and numeric ``&#N;``/``&#xH;`` (the ``;`` is optional); any other
  ``&`` is kept literally, as Telegram does (the renderer still always escapes it); a numeric reference to a
  surrogate makes the whole text an error.
- ``<pre><code class="language-x">`` becomes one ``pre`` entity with ``language`` x; then the entities are
  tidied as Telegram does after parsing (:func:`codexgram.telegram.entity_fixing.fix_entities`: nothing
  inside code or pre, bold and the like split around links and code, no nested blockquotes).
- ``<a href>`` keeps the URL as Telegram rewrites it, and gives no entity (not an error) for a URL Telegram
  drops (:mod:`codexgram.telegram.telegram_links`).
- offsets and lengths are in UTF-16 code units (:func:`utf16_len`); byte offsets in errors are UTF-8 bytes.

Telegram also trims leading and trailing whitespace of a message after parsing (:func:`telegram_trim`);
parsing itself does not.
"""

from __future__ import annotations

import re

from codexgram.telegram.entity_fixing import fix_entities
from codexgram.telegram.telegram_links import checked_link
from codexgram.telegram.types import MessageEntity

__all__ = ["HtmlParseError", "parse_html", "plain_text_of", "telegram_trim", "utf16_len"]

_SIMPLE_TAGS = {
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
}
_SUPPORTED_TAGS = frozenset({*_SIMPLE_TAGS, "a", "span", "code", "pre", "blockquote", "tg-emoji", "tg-time"})
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_DECIMAL_DIGITS = frozenset("0123456789")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
_SPACES = frozenset(" \t\r\n\0\v")  # TDLib's is_space: no form feed
_ATTRIBUTE_NAME_STOPS = frozenset("=>/\"'")
_END = "\0"  # TDLib scans a NUL-terminated buffer; the sentinel makes "end of text" a space, like there
_CANONICAL_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_DATE_FORMAT_LETTERS = frozenset("tTdDwW")
_TELEGRAM_TRIM = " \t\r\n\v\f\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u200b"


class HtmlParseError(ValueError):
    """Telegram would answer 400 ``Bad Request: can't parse entities: <message>``.

    ``message`` is Telegram's wording (e.g. ``Unsupported start tag "x" at byte offset 3``);
    ``byte_offset`` is the UTF-8 byte offset it names, or ``None`` for errors without one."""

    def __init__(self, message: str, byte_offset: int | None) -> None:
        super().__init__(message)
        self.message = message
        self.byte_offset = byte_offset

    @property
    def description(self) -> str:
        """The Bot API error description for this error."""
        return f"Bad Request: can't parse entities: {self.message}"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units: what Telegram counts for the 4096 limit and for entity offsets."""
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def telegram_trim(text: str) -> str:
    """Leading and trailing whitespace that Telegram strips from a message after parsing."""
    return text.strip(_TELEGRAM_TRIM)


def plain_text_of(html: str) -> str:
    """The text Telegram shows for ``html`` (parsed, not trimmed). Raises :class:`HtmlParseError`."""
    return parse_html(html)[0]


class _Open:
    __slots__ = ("argument", "date", "name", "offset", "start_char")

    def __init__(self, name: str, argument: str, date: int, offset: int, start_char: int) -> None:
        self.name = name
        self.argument = argument
        self.date = date  # tg-time's unix attribute
        self.offset = offset  # UTF-16 offset in the output
        self.start_char = start_char  # index in the output list, for <a> without href


def parse_html(text: str) -> tuple[str, list[MessageEntity]]:
    """Parse ``text`` as Telegram's HTML parse mode. Returns the plain text and its entities (sorted by
    offset, outer first). Raises :class:`HtmlParseError` where Telegram would refuse the message."""
    return _Parser(text).run()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text + _END
        self.size = len(text)
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[MessageEntity] = []
        self.stack: list[_Open] = []
        self.decoded_surrogate = False

    def error(self, message: str, char_index: int | None) -> HtmlParseError:
        if char_index is None:
            return HtmlParseError(message, None)
        offset = len(self.text[:char_index].encode("utf-8", "surrogatepass"))
        return HtmlParseError(f"{message} at byte offset {offset}", offset)

    def emit(self, ch: str) -> None:
        self.out.append(ch)
        self.utf16 += 2 if ord(ch) > 0xFFFF else 1

    def run(self) -> tuple[str, list[MessageEntity]]:
        text = self.text
        i = 0
        while i < self.size:
            ch = text[i]
            if ch == "&":
                decoded, after = _decode_entity(text, i)
                if decoded is not None:
                    self.decoded_surrogate = self.decoded_surrogate or _is_surrogate(decoded)
                    self.emit(decoded)
                    i = after
                    continue
            if ch != "<":
                self.emit(ch)
                i += 1
                continue
            i = self.end_tag(i) if text[i + 1] == "/" else self.start_tag(i)
        if self.stack:
            raise self.error(f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"', None)
        if self.decoded_surrogate:
            # TDLib decodes &#xD800; into the text, then its UTF-8 check refuses it (even as half of a pair).
            raise self.error(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units",
                None,
            )
        return "".join(self.out), _finish(self.entities)

    def start_tag(self, begin: int) -> int:
        text = self.text
        i = begin + 1
        while text[i] not in _SPACES and text[i] != ">":
            i += 1
        if text[i] == _END:
            raise self.error("Unclosed start tag", begin)
        name = _ascii_lower(text[begin + 1 : i])
        if name not in _SUPPORTED_TAGS:
            raise self.error(f'Unsupported start tag "{name}"', begin)
        unclosed = f'Unclosed start tag "{name}"'
        argument = ""
        date = 0
        while text[i] != ">":
            i = self.skip_spaces(i)
            if text[i] == ">":
                break
            attr_begin = i
            while text[i] not in _SPACES and text[i] not in _ATTRIBUTE_NAME_STOPS:
                i += 1
            # Compared verbatim, as TDLib does: <a HREF="x"> has no href.
            attribute = text[attr_begin:i]
            if not attribute:
                raise self.error(f'Empty attribute name in the tag "{name}"', begin)
            i = self.skip_spaces(i)
            if text[i] != "=":
                # An attribute without a value: accepted (and ignored, except blockquote's expandable).
                if text[i] == _END:
                    raise self.error(unclosed, begin)
                if name == "blockquote" and attribute == "expandable":
                    argument = "1"
                continue
            i = self.skip_spaces(i + 1)
            if text[i] == _END:
                raise self.error(unclosed, begin)
            value, i = self.attribute_value(i)
            if text[i] == _END:
                # TDLib names no tag here, unlike the two cases above.
                raise self.error("Unclosed start tag", begin)
            if name == "tg-time" and attribute == "unix":
                date = _lenient_int32(value)
            else:
                argument = _argument_for(name, attribute, value, argument)
        if name == "span" and argument != "spoiler":
            raise self.error('Tag "span" must have class "tg-spoiler"', begin)
        # tg-emoji's id and tg-time's format are checked only when a non-empty entity closes, as TDLib does.
        self.stack.append(_Open(name, argument, date, self.utf16, len(self.out)))
        return i + 1

    def skip_spaces(self, i: int) -> int:
        text = self.text
        while text[i] != _END and text[i] in _SPACES:
            i += 1
        return i

    def attribute_value(self, i: int) -> tuple[str, int]:
        text = self.text
        if text[i] not in "'\"":
            # A name token: letters, digits, periods and hyphens; case-insensitive.
            token_begin = i
            while text[i].isascii() and (text[i].isalnum() or text[i] in ".-"):
                i += 1
            if text[i] not in _SPACES and text[i] != ">":
                raise self.error("Unexpected end of name token", token_begin)
            return text[token_begin:i].lower(), i
        quote = text[i]
        i += 1
        value: list[str] = []
        while text[i] != quote and text[i] != _END:
            if text[i] == "&":
                decoded, after = _decode_entity(text, i)
                if decoded is not None:
                    value.append(decoded)
                    i = after
                    continue
            value.append(text[i])
            i += 1
        if text[i] == quote:
            i += 1
        return "".join(value), i

    def end_tag(self, begin: int) -> int:
        text = self.text
        if not self.stack:
            raise self.error("Unexpected end tag", begin)
        i = begin + 2
        while text[i] not in _SPACES and text[i] != ">":
            i += 1
        end_name = _ascii_lower(text[begin + 2 : i])
        i = self.skip_spaces(i)
        if text[i] != ">":
            raise self.error("Unclosed end tag", begin)
        top = self.stack[-1]
        if end_name and end_name != top.name:
            offset = len(text[:begin].encode("utf-8", "surrogatepass"))
            raise HtmlParseError(
                f'Unmatched end tag at byte offset {offset}, expected "</{top.name}>", found "</{end_name}>"',
                offset,
            )
        self.stack.pop()
        if self.utf16 > top.offset:
            self.close_entity(top)
        return i + 1

    def close_entity(self, top: _Open) -> None:
        offset, length = top.offset, self.utf16 - top.offset
        name = top.name
        simple = _SIMPLE_TAGS.get(name)
        if simple is not None or name == "span":
            self.entities.append(MessageEntity(type=simple or "spoiler", offset=offset, length=length))
        elif name == "a":
            url = checked_link(top.argument or "".join(self.out[top.start_char :]))
            if url is not None:
                self.entities.append(MessageEntity(type="text_link", offset=offset, length=length, url=url))
        elif name in ("code", "pre"):
            # TDLib merges a code and a pre on the same range into one pre with a language only when the
            # code has one, whichever of them is the outer tag; otherwise both stay (and sorting puts the
            # pre outside, so the code is dropped by fix_entities).
            last = self.entities[-1] if self.entities else None
            if last is None or (last.offset, last.length) != (offset, length):
                last = None
            if name == "pre" and last is not None and last.type == "code" and last.language:
                merged_language: str | None = last.language
            elif name == "code" and last is not None and last.type == "pre" and not last.language:
                merged_language = top.argument or None
            else:
                merged_language = None
            if merged_language:
                self.entities[-1] = MessageEntity(
                    type="pre", offset=offset, length=length, language=merged_language
                )
            else:
                language = (top.argument or None) if name == "code" else None
                self.entities.append(
                    MessageEntity(type=name, offset=offset, length=length, language=language)
                )
        elif name == "blockquote":
            kind = "expandable_blockquote" if top.argument else "blockquote"
            self.entities.append(MessageEntity(type=kind, offset=offset, length=length))
        elif name == "tg-emoji":
            if not _is_custom_emoji_id(top.argument):
                raise self.error("Invalid custom emoji identifier specified", None)
            self.entities.append(
                MessageEntity(type="custom_emoji", offset=offset, length=length, custom_emoji_id=top.argument)
            )
        elif name == "tg-time":
            if top.argument not in ("r", "R") and not set(top.argument) <= _DATE_FORMAT_LETTERS:
                raise self.error("Invalid date format used", None)
            if top.date > 0:  # no entity (and no error) for a missing or non-positive unix time
                self.entities.append(MessageEntity(type="date_time", offset=offset, length=length))


def _argument_for(tag: str, attribute: str, value: str, current: str) -> str:
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value[len("language-") :]
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value[len("tg-") :]
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    if tag == "blockquote" and attribute == "expandable":
        return "1"  # whatever its value, even expandable="false"
    if tag == "tg-time" and attribute == "format":
        return value
    return current


def _decode_entity(text: str, pos: int) -> tuple[str | None, int]:
    """Decode the character reference at ``text[pos] == '&'``; ``(None, pos)`` when it is not one.

    As TDLib: a numeric reference is refused when it is 0, >= 0x10FFFF, or when ``&#``, the ``x`` and the
    digits together are 10 characters or more (so ``&#0000000065;`` stays text). Surrogates decode (to a
    lone surrogate); the caller refuses the whole text for them."""
    end = pos + 1
    if text[end] == "#":
        end += 1
        hexadecimal = text[end] == "x"  # only a lower-case x, as TDLib
        if hexadecimal:
            end += 1
        digits_begin = end
        digits = _HEX_DIGITS if hexadecimal else _DECIMAL_DIGITS
        while text[end] in digits:
            end += 1
        if end - pos >= 10 or end == digits_begin:
            return None, pos
        value = int(text[digits_begin:end], 16 if hexadecimal else 10)
        if value == 0 or value >= 0x10FFFF:
            return None, pos
        decoded = chr(value)
    else:
        while text[end].isascii() and text[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None, pos
        decoded = named
    if text[end] == ";":
        end += 1
    return decoded, end


def _ascii_lower(name: str) -> str:
    """TDLib lowers tag names byte by byte, so only A-Z change (``str.lower`` would turn "İ" into two)."""
    return name.translate(_ASCII_LOWER)


def _is_surrogate(ch: str) -> bool:
    return 0xD800 <= ord(ch) <= 0xDFFF


def _is_custom_emoji_id(value: str) -> bool:
    """TDLib's ``to_integer_safe<int64>``: a canonical decimal int64 (no "+", no leading zeros), not 0."""
    if not _CANONICAL_INTEGER.fullmatch(value):
        return False
    number = int(value)
    return number != 0 and -(2**63) <= number < 2**63


def _lenient_int32(value: str) -> int:
    """TDLib's ``to_integer<int32>``: an optional "-" and the leading digits, wrapping like C; junk after
    them is ignored and no digits give 0."""
    negative = value.startswith("-")
    digits = re.match(r"[0-9]*", value[1:] if negative else value)
    magnitude = int(digits.group(0) or "0") % 2**32 if digits else 0
    signed = -magnitude if negative else magnitude
    return (signed + 2**31) % 2**32 - 2**31


def _finish(entities: list[MessageEntity]) -> list[MessageEntity]:
    """TDLib drops the language of a lone code (only a pre carries one), then Telegram tidies the entities."""
    plain_code = [
        MessageEntity(type="code", offset=e.offset, length=e.length) if e.type == "code" else e
        for e in entities
    ]
    return fix_entities(plain_code)
