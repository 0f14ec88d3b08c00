"""What a bot replay found, and what must hold for every conversation (:data:`INVARIANTS`).

:meth:`BotReplayResult.violations` names every invariant the replay broke, in words;
:meth:`BotReplayResult.check` raises them with what the chat got, and :meth:`BotReplayResult.render` is the
golden text. Pure: the replay fills the result in, nothing here runs the bot.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from codexgram.messages import (
    AnswerCallback,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
)
from codexgram.replay.chat_log import LogEntry, OutboxEntry, render_log, visible_text
from codexgram.replay.chat_transactions import StoreFacts
from codexgram.replay.playback import ReplayMismatch
from codexgram.replay.transcript import Transcript
from codexgram.telegram.chunking import TELEGRAM_TEXT_LIMIT
from codexgram.telegram.html_entities import HtmlParseError, utf16_len
from codexgram.telegram.keyboards import MAX_CALLBACK_BYTES, CancelAction, decode
from codexgram.telegram.outbox_requests import OutboxCall
from codexgram.telegram.types import InlineKeyboardMarkup
from codexgram.testing.golden import CALLBACK_ANSWER_LIMIT, CAPTION_LIMIT

#: What :meth:`BotReplayResult.check` asserts for every transcript.
INVARIANTS = (
    "the fake server played every frame and the bot sent nothing the recording does not hold",
    "a transcript the bot recorded: every call's params equal the recorded ones",
    "no thread actor crashed, and the thread actor stopped on its own (idle: no turn, nothing in flight)",
    "every turn in the turns table is delivered",
    "every inbox row is handled",
    "the outbox table is empty (every row written was handed to the outbox)",
    "each turn's final message went out exactly once: one notifying message per turn",
    "no message is left with a Cancel button (a progress message is removed when its turn ends)",
    "every request is one Telegram accepts (HTML that parses, no empty text, texts, captions and callback "
    "data within Telegram's limits)",
)


class BotReplayFailed(AssertionError):
    """A bot replay strayed from the recording or broke an invariant; the message lists everything."""


@attrs.frozen(kw_only=True)
class BotReplayResult:
    transcript: Transcript
    log: tuple[LogEntry, ...]
    mismatches: tuple[ReplayMismatch, ...]
    notes: tuple[str, ...]  # what the allowance let through (shown in the golden file)
    problems: tuple[str, ...]  # harness-side: crashes, a stall, params that differ
    finished: bool
    store: StoreFacts

    @property
    def outbox(self) -> list[OutboxEntry]:
        return [entry for entry in self.log if isinstance(entry, OutboxEntry)]

    def violations(self) -> list[str]:
        """Every invariant (:data:`INVARIANTS`) this replay breaks, in words (empty: it kept them all)."""
        found = [f"mismatch: {m}" for m in self.mismatches] + list(self.problems)
        if not self.finished:
            found.append("the fake server did not play the whole transcript")
        found += [
            f"turn {t.turn_id} is not delivered (status {t.status})"
            for t in self.store.turns
            if not t.delivered
        ]
        found += [f"inbox row {update_id} is left {state}" for update_id, state in self.store.unhandled_inbox]
        if self.store.outbox_rows:
            found.append(f"{self.store.outbox_rows} outbox row(s) never handed to the outbox")
        notifying = [e for e in self.outbox if _notifies(e.request)]
        if len(notifying) != len(self.store.turns):
            found.append(
                f"{len(notifying)} notifying message(s) for {len(self.store.turns)} turn(s): "
                "each turn's final message must go out exactly once"
            )
        found += [f"message #{m} is left with a Cancel button" for m in _left_with_cancel(self.outbox)]
        found += [problem for e in self.outbox for problem in _refusals(e.request)]
        return found

    @property
    def ok(self) -> bool:
        return not self.violations()

    def check(self) -> None:
        """Raise :class:`BotReplayFailed` listing every broken invariant, with what the chat got."""
        found = self.violations()
        if found:
            lines = [f"bot replay of {self.transcript.name} failed:", *(f"  {v}" for v in found)]
            raise BotReplayFailed("\n".join([*lines, "what the chat got:", self.render()]))

    def render(self) -> str:
        """The golden text: the user's actions and every outbox request in order (see
        :func:`~codexgram.replay.chat_log.render_log`), then what the replay's allowance let through, if
        anything."""
        text = render_log(self.transcript.name, self.log)
        if self.notes:
            text += "\nreplay notes (allowed, see docs/testing.md):\n" + "".join(
                f"  {n}\n" for n in self.notes
            )
        return text


def _notifies(request: OutboxCall) -> bool:
    if isinstance(request, SendMessage):
        return not request.disable_notification
    return isinstance(request, SendDocument)  # a document is never sent silently


def _has_cancel(markup: InlineKeyboardMarkup | None) -> bool:
    return markup is not None and any(
        isinstance(decode(button.callback_data), CancelAction)
        for row in markup.inline_keyboard
        for button in row
    )


def _left_with_cancel(entries: Sequence[OutboxEntry]) -> list[int]:
    """Messages whose last state has a Cancel button (neither deleted nor edited without it)."""
    with_cancel: dict[int, bool] = {}
    for entry in entries:
        request = entry.request
        if isinstance(request, SendMessage) and entry.message_id is not None:
            with_cancel[entry.message_id] = _has_cancel(request.reply_markup)
        elif isinstance(request, EditMessageText | EditMessageMarkup) and request.message_id in with_cancel:
            with_cancel[request.message_id] = _has_cancel(request.reply_markup)
        elif isinstance(request, DeleteMessage):
            with_cancel.pop(request.message_id, None)
    return [message_id for message_id, cancel in with_cancel.items() if cancel]


def _refusals(request: OutboxCall) -> list[str]:
    """Why Telegram would refuse ``request``: HTML it cannot parse, an empty text, a text or caption over
    its limit, a button without text or with callback data outside 1-64 bytes, a toast too long."""
    found: list[str] = []
    if isinstance(request, SendMessage | EditMessageText):
        found += _html_refusals(request.text, limit=TELEGRAM_TEXT_LIMIT, what="message", empty_ok=False)
    if isinstance(request, SendDocument) and request.caption is not None:
        found += _html_refusals(request.caption, limit=CAPTION_LIMIT, what="caption", empty_ok=True)
    if isinstance(request, SendMessage | EditMessageText | EditMessageMarkup) and request.reply_markup:
        found += _button_refusals(request.reply_markup)
    if isinstance(request, AnswerCallback) and len(request.text or "") > CALLBACK_ANSWER_LIMIT:
        found.append(f"a toast over {CALLBACK_ANSWER_LIMIT} characters: {request.text!r}")
    return found


def _button_refusals(markup: InlineKeyboardMarkup) -> list[str]:
    found = []
    for button in (button for row in markup.inline_keyboard for button in row):
        if not button.text.strip():
            found.append("a button without text")
        data = button.callback_data
        if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_BYTES:
            found.append(f"callback data {data!r} is not 1-{MAX_CALLBACK_BYTES} bytes")
    return found


def _html_refusals(html: str, *, limit: int, what: str, empty_ok: bool) -> list[str]:
    try:
        shown = visible_text(html)
    except HtmlParseError as exc:
        return [f"Telegram would refuse this HTML ({exc.description}): {html!r}"]
    if not shown.strip() and not empty_ok:
        return [f"an empty {what}: {html!r}"]
    size = utf16_len(shown)
    return [f"a {what} of {size} UTF-16 units (over {limit}): {html!r}"] if size > limit else []
