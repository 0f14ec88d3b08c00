"""Golden files: the look of the bot's messages, committed under ``tests/golden/``, so it changes only on
purpose.

``assert_golden(name, text)`` compares ``text`` with ``tests/golden/<name>.txt``:

- the file matches: the test passes;
- it differs or is missing: the test fails, with a diff (or the path to create);
- with ``CODEXGRAM_UPDATE_GOLDEN=1`` in the environment, a file that differs or is missing is (re)written
  and the test still **fails**, saying so: an update run never passes, so a missing or stale golden cannot
  slip through CI. Run the tests again without the variable to see them pass, and review the change with
  ``git diff tests/golden`` before committing it.

``show(*messages)`` lays out outgoing messages the way a golden file holds them, as the user sees them *and*
as they are sent: for each message its HTML source, the text Telegram shows (parsed with
:func:`codexgram.telegram.html_entities.parse_html`, which also proves Telegram accepts the HTML, and trimmed
as Telegram trims), its buttons (text and callback data), whether it notifies; a document as its name, size
and caption. It checks Telegram's limits on the way (:func:`check_limits`) and raises ``AssertionError`` for
any breach, so every golden test is also a limits test.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

from codexgram.chat.outgoing import Outgoing
from codexgram.telegram.chunking import TELEGRAM_TEXT_LIMIT
from codexgram.telegram.html_entities import HtmlParseError, parse_html, telegram_trim, utf16_len
from codexgram.telegram.keyboards import MAX_CALLBACK_BYTES
from codexgram.telegram.types import InlineKeyboardMarkup

__all__ = [
    "CALLBACK_ANSWER_LIMIT",
    "CAPTION_LIMIT",
    "GOLDEN_DIR",
    "UPDATE_ENV",
    "GoldenMismatch",
    "assert_golden",
    "check_limits",
    "golden_path",
    "show",
    "show_callback_answer",
    "visible_text",
]

#: The environment variable that makes :func:`assert_golden` write the files instead of only comparing.
UPDATE_ENV = "CODEXGRAM_UPDATE_GOLDEN"
#: Where golden files live: ``tests/golden`` of the repository this package is in.
GOLDEN_DIR = Path(__file__).resolve().parents[2] / "tests" / "golden"
#: A document's caption, in UTF-16 units after parsing.
CAPTION_LIMIT = 1024
#: The text of answerCallbackQuery (the toast a button press shows), in characters.
CALLBACK_ANSWER_LIMIT = 200

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*)*$")


class GoldenMismatch(AssertionError):
    """A golden file is missing or differs (or was just written by an update run)."""


def _updating() -> bool:
    return os.environ.get(UPDATE_ENV, "") == "1"


def golden_path(name: str, *, directory: Path | None = None) -> Path:
    """The file of golden ``name``: lower-case words and dashes, ``/`` for a folder (``chat/start-new``)."""
    if not _NAME.match(name):
        raise ValueError(f"golden names are lower-case words with - or _, folders with /: {name!r}")
    return (directory or GOLDEN_DIR) / f"{name}.txt"


def assert_golden(name: str, text: str, *, directory: Path | None = None) -> None:
    """Compare ``text`` with the golden file ``name`` (see the module's docstring for the update workflow).
    The text is stored with exactly one final newline."""
    path = golden_path(name, directory=directory)
    expected = text.rstrip("\n") + "\n"
    try:
        current: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = None
    if current == expected:
        return
    if _updating():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(expected, encoding="utf-8")
        what = "created" if current is None else "updated"
        raise GoldenMismatch(
            f"golden {name} {what}: {path}\nReview it (git diff {path.parent}), then run the tests again "
            f"without {UPDATE_ENV}."
        )
    if current is None:
        raise GoldenMismatch(
            f"golden {name} is missing: {path}\nRun the test with {UPDATE_ENV}=1 to write it, then review it."
        )
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            expected.splitlines(keepends=True),
            fromfile=f"{path} (golden)",
            tofile=f"{name} (rendered now)",
        )
    )
    raise GoldenMismatch(
        f"golden {name} differs from what the code renders now:\n{diff}\n"
        f"If the change is on purpose, run the test with {UPDATE_ENV}=1 and review the diff."
    )


# --- laying out messages ------------------------------------------------------------------------------------


def visible_text(html: str) -> str:
    """What Telegram shows for ``html``: parsed and trimmed. Raises ``AssertionError`` when Telegram would
    refuse the markup."""
    try:
        text, _ = parse_html(html)
    except HtmlParseError as exc:
        raise AssertionError(f"Telegram would refuse this HTML ({exc.description}):\n{html}") from exc
    return telegram_trim(text)


def check_limits(message: Outgoing) -> None:
    """Raise ``AssertionError`` if Telegram would refuse ``message``: HTML it cannot parse, an empty text,
    a text over 4096 UTF-16 units or a caption over 1024 (after parsing), callback data over 64 bytes, a
    button without text."""
    if message.text is not None:
        shown = visible_text(message.text)
        assert shown, f"an empty message (Telegram refuses it): {message.text!r}"
        size = utf16_len(shown)
        assert size <= TELEGRAM_TEXT_LIMIT, f"{size} UTF-16 units > {TELEGRAM_TEXT_LIMIT}:\n{message.text}"
    if message.document is not None:
        filename, data = message.document
        assert filename, "a document needs a name"
        assert data, f"an empty document: {filename}"
        if message.caption is not None:
            size = utf16_len(visible_text(message.caption))
            assert size <= CAPTION_LIMIT, (
                f"caption of {size} UTF-16 units > {CAPTION_LIMIT}:\n{message.caption}"
            )
    if message.reply_markup is not None:
        for row in message.reply_markup.inline_keyboard:
            for button in row:
                assert button.text.strip(), "a button without text"
                callback = button.callback_data or ""
                size = len(callback.encode())
                assert 1 <= size <= MAX_CALLBACK_BYTES, f"callback data {callback!r} breaks 1-64 bytes"


def _buttons(markup: InlineKeyboardMarkup) -> list[str]:
    lines = ["-- buttons --"]
    for number, row in enumerate(markup.inline_keyboard, 1):
        cells = "  ".join(f"[{button.text}] → {button.callback_data or button.url}" for button in row)
        lines.append(f"row {number}: {cells}")
    return lines


def _show_one(message: Outgoing, heading: str) -> list[str]:
    check_limits(message)
    sound = "notifies" if message.notify else "silent"
    if message.document is not None:
        filename, data = message.document
        lines = [f"{heading} · document · {sound}", f"file: {filename}, {len(data)} bytes"]
        if message.caption is not None:
            caption = visible_text(message.caption)
            lines += [
                "-- caption html --",
                message.caption,
                f"-- caption as seen ({utf16_len(caption)}/{CAPTION_LIMIT}) --",
                caption,
            ]
    else:
        assert message.text is not None
        shown = visible_text(message.text)
        lines = [
            f"{heading} · message · {sound}",
            "-- html --",
            message.text,
            f"-- as seen ({utf16_len(shown)}/{TELEGRAM_TEXT_LIMIT}) --",
            shown,
        ]
    if message.reply_markup is not None:
        lines += _buttons(message.reply_markup)
    return lines


def show(*messages: Outgoing, edit: bool = False) -> str:
    """The golden layout of ``messages`` in the order they are sent (``edit``: they replace the text of a
    message already in the chat). Checks each against Telegram's limits."""
    assert messages, "nothing to show"
    kind = "edit" if edit else "send"
    blocks = []
    for number, message in enumerate(messages, 1):
        heading = f"=== {kind} {number}/{len(messages)}"
        blocks.append("\n".join([*_show_one(message, heading), "==="]))
    return "\n\n".join(blocks)


def show_callback_answer(text: str) -> str:
    """The golden layout of a button press's answer (answerCallbackQuery: plain text, a toast)."""
    assert text.strip(), "an empty callback answer shows nothing"
    assert len(text) <= CALLBACK_ANSWER_LIMIT, f"callback answer over {CALLBACK_ANSWER_LIMIT} characters"
    return f"=== callback answer (toast, plain text, {len(text)}/{CALLBACK_ANSWER_LIMIT})\n{text}\n==="
