"""The golden-file helper: compare, update runs that write and still fail, and the limits it checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from codexgram.chat.outgoing import Outgoing
from codexgram.telegram.keyboards import cancel_keyboard
from codexgram.telegram.types import InlineKeyboardButton, InlineKeyboardMarkup
from codexgram.testing.golden import UPDATE_ENV, GoldenMismatch, assert_golden, golden_path, show


def test_a_missing_golden_fails_and_an_update_run_writes_it_and_still_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    with pytest.raises(GoldenMismatch, match="is missing"):
        assert_golden("chat/hello", "hi", directory=tmp_path)
    assert not (tmp_path / "chat" / "hello.txt").exists()

    monkeypatch.setenv(UPDATE_ENV, "1")
    with pytest.raises(GoldenMismatch, match="created"):
        assert_golden("chat/hello", "hi", directory=tmp_path)
    assert (tmp_path / "chat" / "hello.txt").read_text() == "hi\n"
    assert_golden("chat/hello", "hi", directory=tmp_path)  # unchanged: passes, even while updating

    monkeypatch.delenv(UPDATE_ENV)
    assert_golden(
        "chat/hello", "hi\n\n", directory=tmp_path
    )  # one final newline, whatever the text ends with


def test_a_changed_golden_fails_with_a_diff_and_an_update_run_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(UPDATE_ENV, raising=False)
    (tmp_path / "card.txt").write_text("line one\nline two\n")
    with pytest.raises(GoldenMismatch) as failure:
        assert_golden("card", "line one\nline 2", directory=tmp_path)
    assert "-line two\n+line 2" in str(failure.value)
    assert (tmp_path / "card.txt").read_text() == "line one\nline two\n"

    monkeypatch.setenv(UPDATE_ENV, "1")
    with pytest.raises(GoldenMismatch, match="updated"):
        assert_golden("card", "line one\nline 2", directory=tmp_path)
    assert (tmp_path / "card.txt").read_text() == "line one\nline 2\n"


@pytest.mark.parametrize("name", ["", "../escape", "Upper", "a//b", "a/", "with space", "x.txt"])
def test_golden_names_stay_inside_the_directory(name: str) -> None:
    with pytest.raises(ValueError, match="golden names"):
        golden_path(name)


def test_show_lays_out_html_visible_text_buttons_and_documents() -> None:
    text = show(
        Outgoing(text="<b>Hi</b> &amp; bye", reply_markup=cancel_keyboard("AAAAAAAAAAAAAAAA"), notify=True),
        Outgoing(document=("answer.md", b"# long"), caption="<i>the start</i>"),
    )
    assert text == (
        "=== send 1/2 · message · notifies\n-- html --\n<b>Hi</b> &amp; bye\n"
        "-- as seen (8/4096) --\nHi & bye\n"
        "-- buttons --\nrow 1: [⏹ Cancel] → c:AAAAAAAAAAAAAAAA\n===\n\n"
        "=== send 2/2 · document · silent\nfile: answer.md, 6 bytes\n-- caption html --\n<i>the start</i>\n"
        "-- caption as seen (9/1024) --\nthe start\n==="
    )


@pytest.mark.parametrize(
    ("message", "complaint"),
    [
        (Outgoing(text="<b>open"), "Telegram would refuse"),
        (Outgoing(text="<p>x</p>"), "Telegram would refuse"),
        (Outgoing(text=" \n "), "empty message"),
        (Outgoing(text="😀" * 2049), "4098 UTF-16 units"),
        (Outgoing(document=("a.md", b"x"), caption="c" * 1025), "caption of 1025"),
        (
            Outgoing(
                text="x",
                reply_markup=InlineKeyboardMarkup(
                    inline_keyboard=((InlineKeyboardButton(text="b", callback_data="w:" + "x" * 63),),)
                ),
            ),
            "breaks 1-64 bytes",
        ),
    ],
)
def test_show_refuses_what_telegram_would_refuse(message: Outgoing, complaint: str) -> None:
    with pytest.raises(AssertionError, match=complaint):
        show(message)
