"""Rendering rules and chunking decisions, case by case (the properties are in test_render_properties.py)."""

from __future__ import annotations

import pytest

from codexgram.telegram.chunking import html_tail, split_html
from codexgram.telegram.html_entities import parse_html
from codexgram.telegram.render import (
    escape,
    html_to_plain,
    markdown_to_html,
    render_chunks,
    render_message,
    render_progress,
)


def test_inline_formatting() -> None:
    assert markdown_to_html("*a* **b** ~~c~~ `d<e>`") == "<i>a</i> <b>b</b> <s>c</s> <code>d&lt;e&gt;</code>"


def test_escaping_and_raw_html_is_text() -> None:
    assert markdown_to_html('a < b && c > "d"') == 'a &lt; b &amp;&amp; c &gt; "d"'
    rendered = markdown_to_html("<script>alert(1)</script>\n\nx <b>y</b>")
    assert "<script>" not in rendered
    assert "<b>y</b>" not in rendered
    assert parse_html(rendered)[0] == "<script>alert(1)</script>\n\nx <b>y</b>"


def test_markdown_entities_are_decoded_then_escaped() -> None:
    assert markdown_to_html("&copy; &amp; &lt;b&gt;") == "© &amp; &lt;b&gt;"


def test_fenced_code_keeps_language_and_text() -> None:
    rendered = markdown_to_html("```python\nif a < b:\n    print('&')\n```")
    assert rendered == "<pre><code class=\"language-python\">if a &lt; b:\n    print('&amp;')</code></pre>"
    text, entities = parse_html(rendered)
    assert text == "if a < b:\n    print('&')"
    assert entities[0].type == "pre"
    assert entities[0].language == "python"
    # An info string that is not a plain word gives no language, and nothing from it reaches the markup.
    assert markdown_to_html('```"><b>x\ncode\n```') == "<pre><code>code</code></pre>"


def test_code_inside_a_link_text_keeps_the_link() -> None:
    # Telegram keeps only one of overlapping link and code entities; the link is what must not be lost.
    for markdown, label in [("[`c`](https://e.org)", "c"), ("[see `c` here](https://e.org)", "see c here")]:
        html = markdown_to_html(markdown)
        plain, entities = parse_html(html)
        assert plain == label
        assert [(e.type, e.offset, e.length, e.url) for e in entities] == [
            ("text_link", 0, len(label), "https://e.org/")
        ]


def test_links_only_for_safe_schemes() -> None:
    assert (
        markdown_to_html('[a](https://e.org/?q=1&r="2")')
        == '<a href="https://e.org/?q=1&amp;r=%222%22">a</a>'
    )
    assert markdown_to_html("[a](tg://resolve?domain=x)") == '<a href="tg://resolve?domain=x">a</a>'
    # Telegram reads href="mailto:a@b.c" as http:// with user info "mailto:a": show the address instead.
    assert markdown_to_html("[mail](mailto:a@b.c)") == "mail (a@b.c)"
    assert markdown_to_html("<mailto:a@b.c>") == "a@b.c"
    assert markdown_to_html("[a](/relative) [b](ftp://x)") == "a b"
    assert markdown_to_html("![a cat](https://e.org/cat.png)") == '<a href="https://e.org/cat.png">a cat</a>'
    # Links do not nest in Telegram: an image inside a link gives its alt text.
    assert markdown_to_html("[![logo](https://e.org/l.png) home](https://e.org)") == (
        '<a href="https://e.org">logo home</a>'
    )


def test_headings_lists_quotes_rules() -> None:
    assert markdown_to_html("# Title *x*") == "<b>Title <i>x</i></b>"
    assert markdown_to_html("- a\n- b\n  - c") == "• a\n• b\n  • c"
    assert markdown_to_html("3. a\n4. b") == "3. a\n4. b"
    assert markdown_to_html("> q\n> > inner") == "<blockquote>q\n\ninner</blockquote>"
    assert markdown_to_html("a\n\n---\n\nb") == "a\n\n——————————\n\nb"


def test_code_in_a_list_item_is_not_indented() -> None:
    rendered = markdown_to_html("1. run:\n\n   ```sh\n   ls -la\n   ```")
    assert rendered == '1. run:\n\n<pre><code class="language-sh">ls -la</code></pre>'


def test_table_is_preformatted() -> None:
    rendered = markdown_to_html("| name | n |\n|---|---|\n| a<b | 10 |\n| `c` | 2 |")
    assert rendered == "<pre>name | n\n-----+---\na&lt;b  | 10\nc    | 2</pre>"


def test_long_code_block_is_closed_and_reopened_with_its_language() -> None:
    code = "\n".join(f"line {i:03d} <&>" for i in range(400))
    chunks = render_chunks(f"intro\n\n```rust\n{code}\n```\n\noutro", limit=1000)
    assert len(chunks) > 3
    pieces = []
    for chunk in chunks:
        text, _ = parse_html(chunk)
        assert len(text) <= 1000
        pieces.append(text)
    for chunk in chunks[1:-1]:
        assert chunk.startswith('<pre><code class="language-rust">')
        assert chunk.endswith("</code></pre>")
    # Split at line boundaries: every piece of code holds whole lines.
    code_lines = [line for piece in pieces for line in piece.split("\n") if line.startswith("line")]
    assert code_lines == [f"line {i:03d} <&>" for i in range(400)]


def test_split_prefers_paragraphs_then_lines_then_spaces() -> None:
    para = "word " * 30  # 150 chars
    chunks = split_html(f"{para}\n\n{para}\n\n{para}", limit=320)
    assert [parse_html(c)[0] for c in chunks] == [f"{para}\n\n{para}", para]
    lines = "\n".join(["x" * 90] * 4)
    assert [len(parse_html(c)[0]) for c in split_html(lines, limit=200)] == [181, 181]
    words = " ".join(["abcdefghi"] * 30)  # no newlines at all
    first = parse_html(split_html(words, limit=100)[0])[0]
    assert first.endswith("abcdefghi ")


def test_split_never_cuts_references_or_astral_characters() -> None:
    chunks = split_html("&amp;" * 10 + "😀" * 10, limit=5)
    texts = [parse_html(c)[0] for c in chunks]
    assert "".join(texts) == "&" * 10 + "😀" * 10
    assert all(len(t.encode("utf-16-le")) // 2 <= 5 for t in texts)


def test_empty_and_whitespace_only_give_no_chunks() -> None:
    assert render_chunks("") == []
    assert render_chunks("   \n\n  ") == []


def test_too_many_chunks_become_a_document_with_a_preview() -> None:
    markdown = "\n\n".join(f"Paragraph {i}: " + "text " * 150 for i in range(40))
    result = render_message(markdown, max_chunks=3)
    assert result.is_document
    assert result.chunks == ()
    assert result.document == ("answer.md", markdown.encode("utf-8"))
    assert result.preview is not None
    preview_text, _ = parse_html(result.preview)
    assert preview_text.startswith("Paragraph 0: text")
    assert "attached as answer.md" in preview_text
    assert len(preview_text) < 4096
    small = render_message("hello **world**", max_chunks=3)
    assert small.chunks == ("hello <b>world</b>",)
    assert small.document is None


def test_escape_and_plain_fallback() -> None:
    assert escape("<a & b>") == "&lt;a &amp; b&gt;"
    assert html_to_plain('<b>bold</b> &amp; <a href="https://x.y">link</a>') == "bold & link"
    assert html_to_plain("<b>broken <x>tag</b> &lt;") == "broken tag <"


@pytest.mark.parametrize("limit", [0, 1])
def test_limit_must_fit_an_astral_character(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        split_html("x", limit=limit)


def test_progress_shows_everything_or_the_latest_part() -> None:
    assert render_progress("") is None
    assert render_progress("working on **it**") == "working on <b>it</b>"
    markdown = "\n\n".join(f"step {i}: " + "done " * 20 for i in range(100))
    progress = render_progress(markdown, limit=500)
    assert progress is not None
    text, _ = parse_html(progress)
    assert len(text) <= 500
    assert text.startswith("…\n")
    assert text.rstrip().endswith("step 99: " + "done " * 19 + "done")
    assert len(text) > 250  # several trailing chunks, not just the last scrap


def test_progress_never_shrinks_to_a_scrap_when_a_new_chunk_begins() -> None:
    # 2,000 characters of paragraphs in 1,000-unit messages: the last chunk is a short scrap; the progress
    # message still shows nearly the limit, from a paragraph break.
    markdown = "\n\n".join(f"paragraph {i}: " + "word " * 30 for i in range(13)) + "\n\nthe end"
    progress = render_progress(markdown, limit=1000)
    assert progress is not None
    text, _ = parse_html(progress)
    assert 800 < len(text) <= 1000
    assert text.startswith("…\nparagraph ")
    assert text.endswith("the end")


def test_html_tail_starts_at_a_paragraph_break_and_reopens_tags() -> None:
    assert html_tail("short", limit=10) == "short"
    assert html_tail("  \n ", limit=2) == ""
    assert html_tail("first part\n\nsecond part", limit=15) == "second part"
    assert html_tail("one two three four", limit=12) == "three four"
    code = '<pre><code class="language-py">' + "\n".join(f"line {i}" for i in range(10)) + "</code></pre>"
    tail = html_tail(code, limit=20)
    assert tail == '<pre><code class="language-py">line 7\nline 8\nline 9</code></pre>'
    assert parse_html(tail)[0] == "line 7\nline 8\nline 9"


@pytest.mark.parametrize(
    "markdown",
    [
        "> " * 60 + "deep quote",
        "- " * 60 + "deep list",
        "*" * 3000 + "deep emphasis" + "*" * 3000,
        "[" * 3000 + "deep brackets" + "]" * 3000,
    ],
)
def test_pathological_nesting_never_fails_nor_drops_text(markdown: str) -> None:
    chunks = render_chunks(markdown)
    assert chunks
    text = "".join(parse_html(chunk)[0] for chunk in chunks)
    assert "deep" in text


def test_code_chunks_avoid_starting_with_an_indented_line() -> None:
    # Telegram trims a message's leading whitespace: continuation chunks should start at an unindented line.
    code = "\n".join(f"def f{i}():\n    return {i}\n    # done" for i in range(200))
    chunks = render_chunks(f"```py\n{code}\n```", limit=300)
    assert len(chunks) > 5
    texts = [parse_html(chunk)[0] for chunk in chunks]
    assert all(text.startswith("def f") for text in texts)
    assert "\n".join(texts) == code


def test_a_long_run_of_newlines_is_split_quickly() -> None:
    chunks = split_html("a" + "\n" * 50_000 + "b", limit=100)
    assert [parse_html(c)[0] for c in chunks] == ["a", "b"]
