"""safe_filename: whatever a user names a file, the result is one harmless path component."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexgram.telegram.files import MAX_FILENAME_BYTES, safe_filename


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.pdf", "report.pdf"),
        ("Отчёт 2024.docx", "Отчёт 2024.docx"),
        ("../../etc/passwd", "etc_passwd"),
        ("..\\..\\windows\\system32", "windows_system32"),
        (".bashrc", "bashrc"),
        ("-rf", "rf"),
        ("a\x00b\nc.txt", "a_b_c.txt"),
        ("screen shot <1>.png", "screen shot_1_.png"),
        ("CON.txt", "file_CON.txt"),
        ("nul .txt", "file_nul .txt"),
        ("Com1  .tar.gz", "file_Com1  .tar.gz"),
        ("", "file"),
        (None, "file"),
        ("...", "file"),
        ("\uff46\uff55\uff4c\uff4c\uff0f\uff57\uff49\uff44\uff54\uff48", "full_width"),  # full-width,
    ],
)
def test_examples(name: str | None, expected: str) -> None:
    assert safe_filename(name) == expected


def test_long_names_keep_their_extension() -> None:
    result = safe_filename("x" * 500 + ".tar.gz")
    assert result.endswith(".gz")
    assert len(result.encode()) <= MAX_FILENAME_BYTES
    assert safe_filename("é" * 300).encode().__len__() <= MAX_FILENAME_BYTES


@given(st.one_of(st.none(), st.text(max_size=400)))
def test_result_is_always_one_safe_component(name: str | None) -> None:
    result = safe_filename(name)
    assert result
    assert result not in (".", "..")
    assert "/" not in result
    assert "\\" not in result
    assert ".." not in result
    assert not result.startswith((".", "-", " "))
    assert all(ch.isprintable() for ch in result)
    assert len(result.encode()) <= MAX_FILENAME_BYTES
    assert safe_filename(result) == result  # stable: a safe name stays as it is
