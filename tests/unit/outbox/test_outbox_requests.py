"""Pure request helpers: lanes and keys, durable records, plain-text fallback."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexgram.actors.runtime import Reply
from codexgram.messages import (
    AnswerCallback,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    SendChatAction,
    SendDocument,
    SendMessage,
)
from codexgram.telegram import outbox_requests as requests
from codexgram.telegram.outbox_queue import Lane
from codexgram.telegram.types import InlineKeyboardButton, InlineKeyboardMarkup

KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=(
        (
            InlineKeyboardButton(text="Approve", callback_data="a:t:y"),
            InlineKeyboardButton(text="Deny", callback_data="a:t:n"),
        ),
        (InlineKeyboardButton(text="Docs", url="https://example.org/"),),
    )
)


def test_placement_gives_lanes_and_per_message_keys() -> None:
    assert requests.placement(AnswerCallback(callback_query_id="q")) == (Lane.CALLBACK, None, None)
    assert requests.placement(SendMessage(chat_id=1, text="x")) == (Lane.SEND, 1, None)
    assert requests.placement(SendDocument(chat_id=1, filename="f", data=b"")) == (Lane.SEND, 1, None)
    assert requests.placement(DeleteMessage(chat_id=1, message_id=5)) == (Lane.DELETE, 1, None)
    text_key, markup_key = requests.edit_keys(1, 5)
    assert text_key != markup_key
    assert requests.placement(EditMessageText(chat_id=1, message_id=5, text="x")) == (Lane.EDIT, 1, text_key)
    assert requests.placement(EditMessageMarkup(chat_id=1, message_id=5)) == (Lane.EDIT, 1, markup_key)
    assert requests.placement(SendChatAction(chat_id=1)) == (Lane.ACTION, 1, None)


@pytest.mark.parametrize(
    "request_",
    [
        SendMessage(
            chat_id=-100123, text="<b>é ✓ 🎉</b>", reply_markup=KEYBOARD, reply_to_message_id=9, durable=True
        ),
        SendMessage(chat_id=5, text="plain", parse_mode=None, disable_notification=True, durable=True),
        EditMessageText(chat_id=5, message_id=7, text="<i>x</i>", reply_markup=KEYBOARD, durable=True),
        EditMessageMarkup(chat_id=5, message_id=7, reply_markup=None, durable=True),
        DeleteMessage(chat_id=5, message_id=7, durable=True),
        SendDocument(
            chat_id=5,
            filename="a.md",
            data=bytes(range(256)),
            caption="<b>c</b>",
            parse_mode="HTML",
            durable=True,
        ),
    ],
)
def test_durable_records_round_trip(request_: requests.DurableRequest) -> None:
    kind, payload = requests.to_record(request_)
    assert "reply" not in json.loads(payload)
    assert requests.from_record(kind, payload) == request_


def test_the_reply_is_not_stored() -> None:
    original = SendMessage(chat_id=5, text="x", durable=True, reply=Reply())
    kind, payload = requests.to_record(original)
    restored = requests.from_record(kind, payload)
    assert restored.reply is None
    assert restored == SendMessage(chat_id=5, text="x", durable=True)


@given(st.text(), st.integers(min_value=-(2**52), max_value=2**52))
def test_any_text_round_trips(text: str, chat_id: int) -> None:
    request = SendMessage(chat_id=chat_id, text=text, durable=True)
    assert requests.from_record(*requests.to_record(request)) == request


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("teleport", "{}"),
        ("send_message", "not json"),
        ("send_message", "[1, 2]"),
        ("send_message", '{"chat_id": 1}'),
        ("send_message", '{"chat_id": 1, "text": "x", "from_the_future": true}'),
        ("send_document", '{"chat_id": 1, "filename": "f", "data": "***"}'),
    ],
)
def test_unreadable_records_are_refused_clearly(kind: str, payload: str) -> None:
    with pytest.raises(requests.UnknownRecord, match="outbox"):
        requests.from_record(kind, payload)


def test_plain_text_fallback() -> None:
    plain = requests.as_plain_text(SendMessage(chat_id=1, text="<b>a &amp; <i>b</b>"))
    assert plain == SendMessage(chat_id=1, text="a & b", parse_mode=None)
    edit = requests.as_plain_text(EditMessageText(chat_id=1, message_id=2, text="<b>ok</b> &lt;3"))
    assert edit == EditMessageText(chat_id=1, message_id=2, text="ok <3", parse_mode=None)
    empty = requests.as_plain_text(SendMessage(chat_id=1, text="<b></b>"))
    assert empty is not None
    assert empty.text == "(empty message)"  # type: ignore[union-attr]
    document = requests.as_plain_text(
        SendDocument(chat_id=1, filename="f", data=b"", caption="<b>c", parse_mode="HTML")
    )
    assert document == SendDocument(chat_id=1, filename="f", data=b"", caption="c", parse_mode=None)
    # nothing to fall back from: already plain
    assert requests.as_plain_text(SendMessage(chat_id=1, text="x", parse_mode=None)) is None
    assert requests.as_plain_text(DeleteMessage(chat_id=1, message_id=2)) is None


def test_describe_never_shows_the_text() -> None:
    described = requests.describe(SendMessage(chat_id=1, text="secret plans"))
    assert "secret" not in described
    assert (
        requests.describe(EditMessageText(chat_id=1, message_id=3, text="x"))
        == "edit_message_text chat=1 message=3"
    )
