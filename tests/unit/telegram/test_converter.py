"""The tolerant Bot API converter: unknown fields and kinds never crash; renames and unions both ways."""

from __future__ import annotations

import pytest

from codexgram.errors import RemoteProtocolError
from codexgram.telegram.converter import structure, structure_updates, unstructure
from codexgram.telegram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

USER = {"id": 7, "is_bot": False, "first_name": "Ada", "is_premium": True, "brand_new_field": {"x": 1}}
CHAT = {"id": 7, "type": "private", "first_name": "Ada", "accent_color_id": 3}


def test_message_with_unknown_fields_decodes_and_renames_from() -> None:
    raw = {
        "message_id": 5,
        "date": 1700000000,
        "chat": CHAT,
        "from": USER,
        "text": "/new hello",
        "entities": [{"type": "bot_command", "offset": 0, "length": 4, "future": True}],
        "link_preview_options": {"is_disabled": True},
        "photo": [{"file_id": "a", "file_unique_id": "b", "width": 90, "height": 90}],
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "x", "style": "primary"}]]},
    }
    message = structure(raw, Message)
    assert message.from_user is not None
    assert message.from_user.first_name == "Ada"
    assert message.entities[0].type == "bot_command"
    assert message.photo[0].width == 90
    assert message.reply_markup is not None
    assert message.reply_markup.inline_keyboard[0][0].callback_data == "x"
    out = unstructure(message)
    assert out["from"] == {"id": 7, "is_bot": False, "first_name": "Ada"}
    assert "from_user" not in out
    assert "caption" not in out  # None fields are omitted on the way out
    assert structure(out, Message) == message


def test_update_kinds_known_unknown_and_broken() -> None:
    updates = structure_updates(
        [
            {
                "update_id": 1,
                "message": {"message_id": 1, "date": 1, "chat": CHAT, "from": USER, "text": "x"},
            },
            {"update_id": 2, "message_reaction": {"chat": CHAT, "message_id": 1}},
            {"update_id": 3, "message": {"message_id": "not a number", "chat": {}}},
            {
                "update_id": 4,
                "callback_query": {
                    "id": "q",
                    "from": USER,
                    "chat_instance": "ci",
                    "data": "a:b:c",
                    "message": {"message_id": 9, "date": 0, "chat": CHAT},
                },
            },
            {
                "update_id": 5,
                "my_chat_member": {
                    "chat": {"id": -100, "type": "group", "title": "G"},
                    "from": USER,
                    "date": 3,
                    "old_chat_member": {"status": "left", "user": USER},
                    "new_chat_member": {"status": "member", "user": USER, "until_date": 0},
                },
            },
        ]
    )
    assert [u.kind for u in updates] == [
        "message",
        "message_reaction",
        "message",
        "callback_query",
        "my_chat_member",
    ]
    assert updates[0].message is not None
    assert updates[0].chat is not None
    assert updates[0].chat.id == 7
    assert updates[1].unknown is not None
    assert updates[1].unknown.payload["message_id"] == 1
    broken = updates[2]
    assert broken.message is None
    assert broken.unknown is not None
    assert broken.unknown.error is not None
    assert "message_id" in broken.unknown.error
    query = updates[3].callback_query
    assert query is not None
    assert isinstance(query.message, InaccessibleMessage)
    assert updates[3].chat is not None
    assert updates[3].chat.id == 7
    assert updates[4].my_chat_member is not None
    assert updates[4].my_chat_member.new_chat_member.status == "member"
    assert updates[4].chat is not None
    assert updates[4].chat.type == "group"


def test_accessible_callback_message_is_a_message() -> None:
    raw = {
        "id": "q",
        "from": USER,
        "chat_instance": "ci",
        "message": {"message_id": 9, "date": 5, "chat": CHAT, "text": "Approve?"},
    }
    query = structure(raw, CallbackQuery)
    assert isinstance(query.message, Message)
    assert query.message.text == "Approve?"
    assert query.data is None


@pytest.mark.parametrize("raw", [{"message": {}}, {"update_id": "1"}, {"update_id": True}, "junk"])
def test_update_without_usable_id_is_a_protocol_error(raw: object) -> None:
    with pytest.raises(RemoteProtocolError):
        structure_updates([raw])


def test_updates_result_must_be_a_list() -> None:
    with pytest.raises(RemoteProtocolError):
        structure_updates({"update_id": 1})


def test_update_round_trip_keeps_the_wire_shape() -> None:
    raw = {
        "update_id": 9,
        "callback_query": {
            "id": "q",
            "from": {"id": 1, "is_bot": False, "first_name": "A"},
            "chat_instance": "c",
            "data": "d",
        },
    }
    update = structure(raw, Update)
    assert unstructure(update) == raw
    unknown = {"update_id": 10, "poll": {"id": "p", "question": "?"}}
    assert unstructure(structure(unknown, Update)) == unknown


def test_keyboard_unstructures_without_empty_fields() -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=(
            (
                InlineKeyboardButton(text="a", callback_data="x"),
                InlineKeyboardButton(text="b", url="https://e"),
            ),
        )
    )
    assert unstructure(markup) == {
        "inline_keyboard": [[{"text": "a", "callback_data": "x"}, {"text": "b", "url": "https://e"}]]
    }
