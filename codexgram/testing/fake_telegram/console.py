"""A chat with the bot in the terminal, through the fake: for trying the bot without a real token.

``python -m codexgram.testing.fake_telegram --chat 1001``: each line typed is a message from user 1001;
``!press <message_id> <button number>`` presses a button; the bot's messages are printed as they appear,
change and disappear.

The parsing of typed lines and the description of what changed are pure (:func:`parse_line`,
:func:`describe_changes`); :func:`run_console` is the trio shell.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import attrs
import trio

from .server import FakeTelegram
from .state import FakeMessage


@attrs.frozen(kw_only=True)
class SendText:
    text: str


@attrs.frozen(kw_only=True)
class PressButton:
    message_id: int
    button: int  # 1-based, row by row


@attrs.frozen(kw_only=True)
class BadLine:
    reason: str


Action = SendText | PressButton | BadLine


def parse_line(line: str) -> Action | None:
    """What a typed line means; None for an empty line."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if not line.startswith("!press"):
        return SendText(text=line)
    parts = line.split()
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit() or int(parts[2]) < 1:
        return BadLine(reason="usage: !press <message_id> <button number, from 1>")
    return PressButton(message_id=int(parts[1]), button=int(parts[2]))


def describe(message: FakeMessage, verb: str) -> list[str]:
    text = message.text if message.text is not None else f"[document] {message.caption or ''}".rstrip()
    lines = [f"[bot #{message.message_id}{verb}] {text}"]
    lines += [
        f"    ({number}) {button.get('text', '')}" for number, button in enumerate(message.buttons, start=1)
    ]
    return lines


def describe_changes(before: Mapping[int, FakeMessage], after: list[FakeMessage]) -> list[str]:
    """Lines for what the chat shows differently now: new, edited and deleted bot messages."""
    lines: list[str] = []
    for message in after:
        if not message.from_bot:
            continue
        old = before.get(message.message_id)
        if old is None:
            lines += describe(message, "") if not message.deleted else []
        elif message.deleted and not old.deleted:
            lines.append(f"[bot #{message.message_id} deleted]")
        elif message != old and not message.deleted:
            lines += describe(message, " edited")
    return lines


def press(fake: FakeTelegram, chat_id: int, action: PressButton) -> str | None:
    """Press the button; an error message for the console when there is no such button."""
    message = next((m for m in fake.messages(chat_id) if m.message_id == action.message_id), None)
    if message is None or message.deleted or not message.from_bot:
        return f"no bot message #{action.message_id}"
    if action.button > len(message.buttons):
        return f"message #{action.message_id} has {len(message.buttons)} button(s)"
    data = message.buttons[action.button - 1].get("callback_data")
    if data is None:
        return "that button opens a link; nothing to press"
    fake.user_presses_button(chat_id, action.message_id, data)
    return None


async def _watch(fake: FakeTelegram, chat_id: int, write: Callable[[str], None]) -> None:
    seen: dict[int, FakeMessage] = {}

    def changed() -> bool:
        return any(seen.get(m.message_id) != m for m in fake.messages(chat_id) if m.from_bot)

    while True:
        current = fake.messages(chat_id)
        for line in describe_changes(seen, current):
            write(line)
        seen = {m.message_id: m for m in current}
        await fake.wait_until(changed)


async def run_console(
    fake: FakeTelegram,
    chat_id: int,
    *,
    stdin: trio.abc.ReceiveStream | None = None,
    write: Callable[[str], None] = print,
) -> None:
    """Relay typed lines to the fake as user ``chat_id`` and print the bot's messages, until stdin ends.

    Resource handling: reads ``stdin`` (default: a duplicate of file descriptor 0, closed on return)."""
    stream = stdin if stdin is not None else trio.lowlevel.FdStream(os.dup(0))
    fake.ensure_chat(chat_id)
    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(_watch, fake, chat_id, write)
        buffer = b""
        while chunk := await stream.receive_some(4096):
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for raw in complete:
                action = parse_line(raw.decode("utf-8", "replace"))
                if isinstance(action, SendText):
                    fake.user_sends_text(chat_id, action.text)
                elif isinstance(action, PressButton):
                    if (problem := press(fake, chat_id, action)) is not None:
                        write(problem)
                elif isinstance(action, BadLine):
                    write(action.reason)
        nursery.cancel_scope.cancel()  # stdin ended: the chat is over
