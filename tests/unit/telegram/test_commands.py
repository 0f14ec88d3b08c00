"""Command parsing: names, arguments, addressed commands, entities."""

from __future__ import annotations

import pytest

from codexgram.telegram.commands import CommandCall, parse_command
from codexgram.telegram.html_entities import utf16_len
from codexgram.telegram.types import Chat, Message, MessageEntity


def message(text: str | None, *, command_entity: bool = True) -> Message:
    entities: tuple[MessageEntity, ...] = ()
    if text and text.startswith("/") and command_entity:
        length = utf16_len(text.split()[0])
        entities = (MessageEntity(type="bot_command", offset=0, length=length),)
    return Message(message_id=1, date=1, chat=Chat(id=1, type="private"), text=text, entities=entities)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/new", CommandCall(name="new", args="")),
        ("/New fix the tests", CommandCall(name="new", args="fix the tests")),
        ("/ws  /home/me/project  ", CommandCall(name="ws", args="/home/me/project")),
        ("/new@CodexgramBot hello", CommandCall(name="new", args="hello")),
        ("/run\nline one\nline two", CommandCall(name="run", args="line one\nline two")),
        ("/new@other_bot hello", None),
        ("hello /new", None),
        ("/", None),
        ("/ new", None),
        ("/new-thing", None),
        (None, None),
    ],
)
def test_parse_command(text: str | None, expected: CommandCall | None) -> None:
    assert parse_command(message(text), bot_username="codexgrambot") == expected


def test_addressed_command_needs_our_username() -> None:
    assert parse_command(message("/new@codexgrambot"), bot_username=None) is None


def test_text_starting_with_slash_but_no_command_entity_is_not_a_command() -> None:
    msg = Message(
        message_id=1,
        date=1,
        chat=Chat(id=1, type="private"),
        text="/tmp is full",
        entities=(MessageEntity(type="bold", offset=0, length=4),),
    )
    assert parse_command(msg, bot_username="codexgrambot") is None
    assert parse_command(message("/tmp is full", command_entity=False), bot_username=None) == CommandCall(
        name="tmp", args="is full"
    )
