"""Property tests: for arbitrary Markdown, every chunk is valid Telegram HTML within the limit, and the chunks
together show exactly the text of the whole rendering.

"Exactly": let W be the plain text of the unsplit rendering and t_1..t_n what Telegram shows for each chunk
(parsed, then trimmed as Telegram trims). Then W == g_0 + t_1 + g_1 + ... + t_n + g_n where every gap g_i is
whitespace only. So no visible character is lost, duplicated or reordered; only whitespace at the split points
(which Telegram would trim anyway) may go.
"""

from __future__ import annotations

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from codexgram.telegram.chunking import html_tail, split_html
from codexgram.telegram.html_entities import parse_html, telegram_trim, utf16_len
from codexgram.telegram.render import markdown_to_html, render_chunks, render_message, render_progress

_ALPHABET = st.sampled_from(
    list("abcxyz XYZ019")
    + list("<>&\"'*_`~#-+|[]()!\\.\n\n\n\t")
    + ["😀", "𝄞", "é", "\u00a0", "\u200b", "你"]
)
_words = st.one_of(
    st.text(alphabet=_ALPHABET, max_size=80), st.sampled_from(["&amp;", "&#128512;", "&copy;", "<br>"])
)
_fragments = st.one_of(
    _words,
    st.builds(
        lambda lang, code: f"```{lang}\n{code}\n```", st.sampled_from(["", "py", "c++", "x y", "<b>"]), _words
    ),
    st.builds(lambda n, w: "\n".join(f"- {w}" for _ in range(n)), st.integers(1, 4), _words),
    st.builds(lambda n, w: "\n".join(f"{i}. {w}" for i in range(1, n + 1)), st.integers(1, 4), _words),
    st.builds(lambda w: f"> {w}\n> > {w}", _words),
    st.builds(lambda w: f"# {w}", _words),
    st.builds(lambda w: f"**{w}** *{w}* ~~{w}~~ `{w}`", _words),
    st.builds(
        lambda w, u: f"[{w}]({u}) ![{w}]({u})",
        _words,
        st.sampled_from(['https://e.org/a?b=1&c="', "javascript:x", "tg://x", "/rel"]),
    ),
    st.builds(lambda w: f"| a | {w} |\n|---|---|\n| 1 | {w} |", _words),
    st.builds(lambda n: "x" * n, st.integers(0, 300)),  # long lines with no spaces
    st.builds(lambda n: "😀" * n, st.integers(0, 120)),  # astral characters across boundaries
    st.builds(lambda w: f"<div>{w}</div><b>raw html</b>", _words),
    st.builds(lambda n, w: "> " * n + w, st.integers(1, 60), _words),  # nesting past markdown-it's limit
    st.builds(lambda n, w: "*" * n + w + "*" * n, st.sampled_from([3, 30, 1200]), _words),  # recursion limit
)
markdown_documents = st.lists(_fragments, max_size=12).map("\n\n".join)


def assert_chunks_show_whole_text(whole: str, chunks: list[str], limit: int) -> None:
    position = 0
    for chunk in chunks:
        text, _ = parse_html(chunk)  # raises if Telegram would refuse the chunk
        assert utf16_len(text) <= limit
        shown = telegram_trim(text)
        assert shown, f"empty message: {chunk!r}"
        found = whole.find(shown, position)
        assert found >= 0, f"chunk text not found in order: {shown!r}"
        assert telegram_trim(whole[position:found]) == "", f"lost text: {whole[position:found]!r}"
        position = found + len(shown)
    assert telegram_trim(whole[position:]) == "", f"lost tail: {whole[position:]!r}"


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markdown=markdown_documents, limit=st.integers(min_value=2, max_value=300))
@example(markdown="```py\n" + "line of code\n" * 40 + "```", limit=50)
@example(markdown="a" * 5000, limit=4096)
@example(markdown="😀" * 3000, limit=4096)
@example(markdown="&" * 3000 + "<" * 2000, limit=4096)
def test_chunks_are_valid_within_limit_and_lose_nothing(markdown: str, limit: int) -> None:
    whole_html = markdown_to_html(markdown)
    whole_text, _ = parse_html(whole_html)  # the unsplit rendering is valid Telegram HTML too
    chunks = render_chunks(markdown, limit=limit)
    assert_chunks_show_whole_text(whole_text, chunks, limit)
    if telegram_trim(whole_text):
        assert chunks


@settings(max_examples=200, deadline=None)
@given(markdown=markdown_documents)
def test_default_limit_keeps_short_answers_in_one_message(markdown: str) -> None:
    whole_text, _ = parse_html(markdown_to_html(markdown))
    chunks = render_chunks(markdown)
    assert_chunks_show_whole_text(whole_text, chunks, 4096)
    if telegram_trim(whole_text) and utf16_len(whole_text) <= 4096:
        assert len(chunks) == 1


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=400), limit=st.integers(min_value=2, max_value=120))
def test_escaped_arbitrary_text_splits_exactly(text: str, limit: int) -> None:
    from codexgram.telegram.render import escape

    chunks = split_html(escape(text), limit=limit)
    assert_chunks_show_whole_text(text, chunks, limit)


def _without_whitespace(text: str) -> str:
    return "".join(ch for ch in text if telegram_trim(ch))


@settings(max_examples=200, deadline=None)
@given(markdown=markdown_documents, limit=st.integers(min_value=4, max_value=300))
def test_progress_message_is_valid_and_shows_the_end(markdown: str, limit: int) -> None:
    whole_text, _ = parse_html(markdown_to_html(markdown))
    progress = render_progress(markdown, limit=limit)
    if progress is None:
        assert telegram_trim(whole_text) == ""
        return
    text, _ = parse_html(progress)
    assert utf16_len(text) <= limit
    shown = text.removeprefix("…\n")
    assert _without_whitespace(whole_text).endswith(_without_whitespace(shown))


@settings(max_examples=150, deadline=None)
@given(
    markdown=markdown_documents, limit=st.integers(min_value=300, max_value=600), max_chunks=st.integers(1, 4)
)
def test_render_message_sends_chunks_or_a_document_with_a_valid_preview(
    markdown: str, limit: int, max_chunks: int
) -> None:
    result = render_message(markdown, limit=limit, max_chunks=max_chunks)
    event("document" if result.document is not None else "chunks")
    if result.document is None:
        assert len(result.chunks) <= max_chunks
        assert result.chunks == tuple(render_chunks(markdown, limit=limit))
        return
    assert result.chunks == ()
    assert result.document == ("answer.md", markdown.encode("utf-8"))
    assert len(render_chunks(markdown, limit=limit)) > max_chunks
    assert result.preview is not None
    preview_text, _ = parse_html(result.preview)
    assert utf16_len(preview_text) <= limit
    assert "attached as answer.md" in preview_text


@settings(max_examples=200, deadline=None)
@given(markdown=markdown_documents, limit=st.integers(min_value=2, max_value=400))
def test_html_tail_is_valid_fits_and_fills_at_least_half(markdown: str, limit: int) -> None:
    rendered = markdown_to_html(markdown)
    whole, _ = parse_html(rendered)
    tail = html_tail(rendered, limit=limit)
    if not telegram_trim(whole):
        assert tail == ""
        return
    text, _ = parse_html(tail)  # raises if Telegram would refuse it
    assert utf16_len(text) <= limit
    assert whole.endswith(text)  # exactly the end: nothing left out, reordered or added
    if utf16_len(whole) > limit:
        assert utf16_len(text) * 2 >= limit - 1
    else:
        assert tail == rendered
