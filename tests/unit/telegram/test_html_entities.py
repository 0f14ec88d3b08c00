"""parse_html mimics Telegram's HTML parse mode: markup, UTF-16 entities, errors worded like Telegram."""

from __future__ import annotations

import pytest

from codexgram.telegram.html_entities import (
    HtmlParseError,
    parse_html,
    plain_text_of,
    telegram_trim,
    utf16_len,
)
from codexgram.telegram.types import MessageEntity


def entity(kind: str, offset: int, length: int, **extra: str) -> MessageEntity:
    return MessageEntity(type=kind, offset=offset, length=length, **extra)  # type: ignore[arg-type]


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("😀") == 2
    assert utf16_len("a😀b𝄞") == 6


def test_all_simple_tags_and_aliases() -> None:
    html = (
        "<b>b</b> <strong>B</strong> <i>i</i> <em>I</em> <u>u</u> <ins>U</ins> <s>s</s> <strike>S</strike> "
        '<del>d</del> <tg-spoiler>p</tg-spoiler> <span class="tg-spoiler">P</span>'
    )
    text, entities = parse_html(html)
    assert text == "b B i I u U s S d p P"
    assert [e.type for e in entities] == [
        "bold", "bold", "italic", "italic", "underline", "underline",
        "strikethrough", "strikethrough", "strikethrough", "spoiler", "spoiler",
    ]  # fmt: skip
    assert [e.offset for e in entities] == list(range(0, 22, 2))
    # Touching entities of one type are merged (TDLib fix_entities -> split_entities).
    assert parse_html("<b>b</b><strong>B</strong><i>i</i>")[1] == [
        entity("bold", 0, 2),
        entity("italic", 2, 1),
    ]


def test_nested_entities_have_utf16_offsets() -> None:
    text, entities = parse_html("😀 <b>x<i>😀y</i></b>")
    assert text == "😀 x😀y"
    # TDLib's split_entities cuts the bold where the italic starts.
    assert entities == [entity("bold", 3, 1), entity("bold", 4, 3), entity("italic", 4, 3)]


def test_entities_are_tidied_as_tdlib_fix_entities_does() -> None:
    # td/telegram/MessageEntity.cpp, fix_entities: splittable entities are cut around continuous ones and
    # dropped inside code/pre; continuous entities never nest (the one sorting first stays).
    link = "https://e.org/"
    assert parse_html(f'<b>a<a href="{link}">l</a>c</b>')[1] == [
        entity("bold", 0, 1),
        entity("text_link", 1, 1, url=link),
        entity("bold", 1, 1),
        entity("bold", 2, 1),
    ]
    assert parse_html("<b>a<code>c</code>d</b>")[1] == [
        entity("bold", 0, 1),
        entity("code", 1, 1),
        entity("bold", 2, 1),
    ]
    assert parse_html(f'<a href="{link}">a<code>c</code></a>')[1] == [entity("text_link", 0, 2, url=link)]
    assert parse_html(f'<code>a<a href="{link}">l</a></code>')[1] == [entity("code", 0, 2)]
    # A continuous entity reaching out of a blockquote goes; one inside stays.
    assert parse_html("<code>a<blockquote>q</blockquote></code>")[1] == [entity("blockquote", 1, 1)]
    assert parse_html("<blockquote>a<code>c</code></blockquote>")[1] == [
        entity("blockquote", 0, 2),
        entity("code", 1, 1),
    ]


def test_character_references() -> None:
    assert plain_text_of("&lt;&gt;&amp;&quot;") == '<>&"'
    assert plain_text_of("&#60;&#x3C;&#x1F600;") == "<<😀"
    assert plain_text_of("&amp &lt") == "& <"  # the semicolon is optional, as in Telegram
    # Not references: kept literally, as Telegram does.
    # td/telegram/MessageEntity.cpp, decode_html_entity: 0, >= 0x10FFFF, a capital X, no digits, or 10+
    # characters from "&" to the last digit make no reference; names are lt/gt/amp/quot, case-sensitive.
    kept = "&copy; &LT; & &#0; &#1114111; &#x10FFFF; &#X41; &#; &#x; &#0000000065; &#x0000041; AT&T"
    assert plain_text_of(kept) == kept
    assert plain_text_of("&#000065;&#x00041;&#x10FFFE") == "AA\U0010fffe"  # 9 characters are still fine


@pytest.mark.parametrize("html", ["&#xD800;", "a&#55296;b", "&#xD83D;&#xDE00;", "<b>&#xDFFF;</b>"])
def test_surrogate_references_make_the_text_invalid(html: str) -> None:
    # parse_html decodes them, then its final check_utf8 (tdutils/td/utils/utf8.cpp) refuses any surrogate.
    with pytest.raises(HtmlParseError) as info:
        parse_html(html)
    assert info.value.message == (
        "Text contains invalid Unicode characters after decoding HTML entities, "
        "check for unmatched surrogate code units"
    )
    assert info.value.byte_offset is None


def test_links() -> None:
    text, entities = parse_html(
        "<a href=\"https://e.org/?a=1&amp;b=&quot;2&quot;\">here</a> <a href='tg://resolve'>t</a>"
    )
    assert text == "here t"
    assert entities == [
        entity("text_link", 0, 4, url='https://e.org/?a=1&b="2"'),
        entity("text_link", 5, 1, url="tg://resolve/"),  # TDLib's tg:// rewrite keeps the "/" path
    ]
    # An unusable URL gives no entity, and is not an error.
    assert parse_html('<a href="javascript:alert(1)">x</a>') == ("x", [])
    assert parse_html("<a>https://example.org</a>")[1] == [
        entity("text_link", 0, 19, url="https://example.org/")
    ]


@pytest.mark.parametrize(
    ("href", "url"),
    [
        # td/telegram/LinkManager.cpp check_link_impl + tdutils/td/utils/HttpUrl.cpp parse_url/get_url.
        ("HTTPS://Example.ORG", "https://example.org/"),
        ("example.org/a b", "http://example.org/a%20b"),
        ("http://e.org:0080/x?y#z", "http://e.org:80/x?y#z"),
        ("tg:resolve?domain=x", "tg://resolve?domain=x"),
        ("TG://resolve/?domain=x", "tg://resolve?domain=x"),
        ("ton://site", "ton://site/"),
        ("tonsite://a.ton", "tonsite://a.ton/"),
        ("mailto:a@b.org", "http://mailto:a@b.org/"),  # read as user info "mailto:a", as TDLib does
        ("http://[::1]/", "http://[::1]/"),
        ("https://пример.рф", "https://пример.рф/"),
        ("localhost", None),
        ("ftp://e.org", None),
        ("javascript:alert(1)", None),
        ("http://e.org:70000/", None),
        ("http://e.org:/", None),
        (" https://e.org", None),
        ("https://e.o%rg", None),
        ("https://e.org\\x", None),
        ("tg://user:1@resolve", None),
        ("tg://re.solve", None),
        ("tg:http://resolve", None),
        ("https://[zz]/", None),
    ],
)
def test_link_urls_as_telegram_keeps_them(href: str, url: str | None) -> None:
    expected = [entity("text_link", 0, 1, url=url)] if url is not None else []
    assert parse_html(f'<a href="{href}">x</a>') == ("x", expected)


def test_pre_code_language_and_code_contents_are_plain() -> None:
    text, entities = parse_html('<pre><code class="language-python">if a &lt; b:\n    <b>x</b></code></pre>')
    assert text == "if a < b:\n    x"
    assert entities == [entity("pre", 0, 15, language="python")]
    assert parse_html("<pre>x</pre>")[1] == [entity("pre", 0, 1)]
    assert parse_html('<code class="language-py">x</code>')[1] == [entity("code", 0, 1)]
    # Same range: code sorts outside bold (type priority 20 < 90), and nothing survives inside a code.
    assert parse_html("<b><code>c</code></b>")[1] == [entity("code", 0, 1)]
    # td/telegram/MessageEntity.cpp, parse_html: a language on either tag of a same-range pair makes a pre
    # with that language; without one both stay, and the pre sorts outside (type priority) so the code,
    # being inside a pre, is dropped.
    code_outside = parse_html('<code class="language-go"><pre>x</pre></code>')[1]
    assert code_outside == [entity("pre", 0, 1, language="go")]
    assert parse_html("<code><pre>x</pre></code>")[1] == [entity("pre", 0, 1)]
    assert parse_html("<pre><code>x</code></pre>")[1] == [entity("pre", 0, 1)]


def test_equal_ranges_sort_by_tdlib_type_priority() -> None:
    # MessageEntity::operator< (td/telegram/MessageEntity.h): offset, longer first, then get_type_priority,
    # whatever the tag nesting was.
    expected = [entity("bold", 0, 1), entity("italic", 0, 1), entity("spoiler", 0, 1)]
    assert parse_html("<tg-spoiler><i><b>x</b></i></tg-spoiler>")[1] == expected
    assert parse_html("<b><i><tg-spoiler>x</tg-spoiler></i></b>")[1] == expected
    quoted = [entity("blockquote", 0, 1), entity("bold", 0, 1)]
    assert parse_html("<b><blockquote>q</blockquote></b>")[1] == quoted


def test_blockquotes() -> None:
    assert parse_html("<blockquote>q</blockquote>")[1] == [entity("blockquote", 0, 1)]
    assert parse_html("<blockquote expandable>q</blockquote>")[1] == [entity("expandable_blockquote", 0, 1)]
    assert parse_html("<blockquote>a<blockquote>b</blockquote></blockquote>")[1] == [
        entity("blockquote", 0, 2)
    ]


def test_custom_emoji_and_case_insensitive_tags() -> None:
    text, entities = parse_html('<TG-EMOJI emoji-id="5368324170671202286">👍</tg-emoji><B>x</B>')
    assert text == "👍x"
    assert entities == [
        entity("custom_emoji", 0, 2, custom_emoji_id="5368324170671202286"),
        entity("bold", 2, 1),
    ]


def test_empty_entities_are_dropped_and_unknown_attributes_ignored() -> None:
    assert parse_html('<b data-x="1"></b>a<i class=q>b</i>') == ("ab", [entity("italic", 1, 1)])


@pytest.mark.parametrize(
    ("html", "message", "offset"),
    [
        ("<x>", 'Unsupported start tag "x" at byte offset 0', 0),
        ("é<br/>", 'Unsupported start tag "br/" at byte offset 2', 2),
        ("a < b", 'Unsupported start tag "" at byte offset 2', 2),
        ("x<", "Unclosed start tag at byte offset 1", 1),
        ('<a href="x', "Unclosed start tag at byte offset 0", 0),
        ("a</b>", "Unexpected end tag at byte offset 1", 1),
        # TDLib's is_space has no form feed, and to_lower only changes A-Z (tdutils/td/utils/misc.h).
        ("<b\f>x</b>", 'Unsupported start tag "b\f" at byte offset 0', 0),
        ("<Bİ>x", 'Unsupported start tag "bİ" at byte offset 0', 0),
        ("<b>x</b\f>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</b\f>"', 4),
        ("<b>x</i>", 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"', 4),
        ("<b>x</b", "Unclosed end tag at byte offset 4", 4),
        ("<b>x", 'Can\'t find end tag corresponding to start tag "b"', None),
        ("<span>s</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 0', 0),
        # Cut off inside a tag: TDLib names the tag only when the cut is before an attribute's value.
        ("<i a", 'Unclosed start tag "i" at byte offset 0', 0),
        ("é<i a =  ", 'Unclosed start tag "i" at byte offset 2', 2),
        ('<i a="b', "Unclosed start tag at byte offset 0", 0),
        ("<i a=b", "Unclosed start tag at byte offset 0", 0),
        ("<i ", 'Empty attribute name in the tag "i" at byte offset 0', 0),
        ('<a href="x"/>y</a>', 'Empty attribute name in the tag "a" at byte offset 0', 0),
        ('<i a"b">x</i>', 'Empty attribute name in the tag "i" at byte offset 0', 0),
        ("<a href=x;y>z</a>", "Unexpected end of name token at byte offset 8", 8),
        ('<tg-emoji emoji-id="x">y</tg-emoji>', "Invalid custom emoji identifier specified", None),
    ],
)
def test_errors_use_telegram_wording(html: str, message: str, offset: int | None) -> None:
    with pytest.raises(HtmlParseError) as info:
        parse_html(html)
    assert info.value.message == message
    assert info.value.byte_offset == offset
    assert info.value.description == f"Bad Request: can't parse entities: {message}"


def test_attributes_follow_tdlib() -> None:
    # td/telegram/MessageEntity.cpp, parse_html: an attribute not followed by "=" is skipped (no "Expected
    # equal sign" error any more); only blockquote's "expandable" means something, with or without a value.
    assert parse_html("<i aba>text</i>") == ("text", [entity("italic", 0, 4)])
    assert parse_html("<i a b c=d>t</i>") == ("t", [entity("italic", 0, 1)])
    assert parse_html('<blockquote expandable="false">q</blockquote>')[1] == [
        entity("expandable_blockquote", 0, 1)
    ]
    # Attribute names are compared verbatim (only the tag name is lowered): HREF is an unknown attribute,
    # so the link falls back to its text, which is no usable URL here.
    assert parse_html('<a HREF="https://e.org">x</a>') == ("x", [])
    assert parse_html("<a href>x</a>") == ("x", [])
    with pytest.raises(HtmlParseError, match="Invalid custom emoji identifier"):
        parse_html('<tg-emoji EMOJI-ID="5368324170671202286">👍</tg-emoji>')


def test_custom_emoji_id_is_checked_as_tdlib_does() -> None:
    # td/telegram/MessageEntity.cpp, parse_html: the id is checked when a non-empty tg-emoji closes, with
    # to_integer_safe<int64> (tdutils/td/utils/misc.h): canonical decimal int64, not 0; negative ids pass.
    assert parse_html('<tg-emoji emoji-id="x"></tg-emoji>a') == ("a", [])
    assert parse_html('<tg-emoji emoji-id="-5">e</tg-emoji>')[1] == [
        entity("custom_emoji", 0, 1, custom_emoji_id="-5")
    ]
    for bad in ["007", "+5", "0", "-0", "", "9223372036854775808"]:
        with pytest.raises(HtmlParseError, match=r"^Invalid custom emoji identifier specified$"):
            parse_html(f'<tg-emoji emoji-id="{bad}">e</tg-emoji>')
    # Checked at the end tag, so an earlier-closing error wins over the start tag's bad id.
    with pytest.raises(HtmlParseError, match=r"^Unsupported start tag"):
        parse_html('<tg-emoji emoji-id="x">e<x></tg-emoji>')
    assert parse_html('<tg-emoji emoji-id="9223372036854775807">e</tg-emoji>')[1][0].custom_emoji_id == (
        "9223372036854775807"
    )


def test_tg_time_as_tdlib() -> None:
    # parse_html + FormattedDate::get_date_flags: an entity only for unix > 0; format must be r, R or
    # letters of tTdDwW, else "Invalid date format used" (checked only for a non-empty tag).
    assert parse_html('<tg-time unix="1700000000" format="wDT">t</tg-time>')[1] == [entity("date_time", 0, 1)]
    assert parse_html("<tg-time unix=1700000000>t</tg-time>")[1] == [entity("date_time", 0, 1)]
    assert parse_html("<tg-time>t</tg-time>") == ("t", [])
    assert parse_html('<tg-time unix="-5">t</tg-time>') == ("t", [])
    assert parse_html('<tg-time unix="4294967295">t</tg-time>') == ("t", [])  # wraps to -1, as in C
    assert parse_html('<tg-time unix="17x">t</tg-time>')[1] == [entity("date_time", 0, 1)]  # leading digits
    assert parse_html('<tg-time unix="1" format="x"></tg-time>') == ("", [])
    with pytest.raises(HtmlParseError, match=r"^Invalid date format used$"):
        parse_html('<tg-time unix="1" format="tx">t</tg-time>')


def test_telegram_trim() -> None:
    assert telegram_trim("\n  hello \n\n") == "hello"
    assert telegram_trim("\u00a0x\u200b") == "x"
