"""Every request is checked against the vendored Bot API reference; malformed ones are caught and recorded.

These tests send bad requests on purpose, through raw httpx, in every encoding Telegram accepts.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from codexgram.testing.fake_telegram import FakeTelegram

pytestmark = pytest.mark.fake_telegram_bad_requests

CHAT = 1001


async def post_json(fake: FakeTelegram, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        response = await http.post(f"/bot{fake.token}/{method}", json=params)
    return response.status_code, response.json()


async def post_form(fake: FakeTelegram, method: str, params: dict[str, str]) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        response = await http.post(f"/bot{fake.token}/{method}", data=params)
    return response.status_code, response.json()


@pytest.fixture
def fake(fake_telegram: FakeTelegram) -> FakeTelegram:
    fake_telegram.ensure_chat(CHAT)
    return fake_telegram


async def test_unknown_parameter_is_caught(fake: FakeTelegram) -> None:
    status, body = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "colour": "red"})
    assert status == 400
    assert body["ok"] is False
    assert fake.validation_errors == ["sendMessage: unknown parameter 'colour' for sendMessage"]
    assert fake.bot_messages(CHAT) == []


async def test_missing_required_parameter_is_caught(fake: FakeTelegram) -> None:
    status, body = await post_json(fake, "sendMessage", {"chat_id": CHAT})
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    assert fake.validation_errors == ["sendMessage: required parameter 'text' missing"]


async def test_wrong_scalar_type_is_caught(fake: FakeTelegram) -> None:
    status, _ = await post_json(
        fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "disable_notification": "yes"}
    )
    assert status == 400
    assert fake.validation_errors == ["sendMessage: disable_notification must be Boolean, got String"]


async def test_form_encoded_values_are_read_as_telegram_reads_them(fake: FakeTelegram) -> None:
    markup = json.dumps({"inline_keyboard": [[{"text": "ok", "callback_data": "x"}]]})
    status, body = await post_form(
        fake,
        "sendMessage",
        {"chat_id": str(CHAT), "text": "hi", "disable_notification": "true", "reply_markup": markup},
    )
    assert status == 200, body
    assert fake.validation_errors == []
    assert fake.bot_messages(CHAT)[0].reply_markup == json.loads(markup)


async def test_json_serialised_object_inside_a_json_body_is_accepted(fake: FakeTelegram) -> None:
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "x"}]]}
    status, _ = await post_json(
        fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": json.dumps(markup)}
    )
    assert status == 200
    assert fake.validation_errors == []


async def test_object_parameters_are_checked_recursively(fake: FakeTelegram) -> None:
    markup = {
        "inline_keyboard": [[{"text": "ok", "callback_data": "x", "colour": "red"}], [{"callback_data": "y"}]]
    }
    status, _ = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": markup})
    assert status == 400
    assert (
        "sendMessage: reply_markup.inline_keyboard[0][0]: unknown field 'colour' in InlineKeyboardButton"
        in fake.validation_errors
    )
    assert (
        "sendMessage: reply_markup.inline_keyboard[1][0]: InlineKeyboardButton requires field 'text'"
        in fake.validation_errors
    )


async def test_rows_must_be_arrays_of_buttons(fake: FakeTelegram) -> None:
    markup = {"inline_keyboard": [{"text": "ok", "callback_data": "x"}]}
    status, _ = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": markup})
    assert status == 400
    assert fake.validation_errors


async def test_callback_data_over_64_bytes_is_button_data_invalid(fake: FakeTelegram) -> None:
    data = "é" * 33  # 33 characters, 66 bytes: the limit is in bytes
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": data}]]}
    status, body = await post_json(
        fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": markup}
    )
    assert (status, body["description"]) == (400, "Bad Request: BUTTON_DATA_INVALID")
    assert "66 bytes, allowed 1-64" in fake.validation_errors[0]


async def test_callback_data_of_64_bytes_is_fine(fake: FakeTelegram) -> None:
    markup = {"inline_keyboard": [[{"text": "ok", "callback_data": "x" * 64}]]}
    status, _ = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": markup})
    assert status == 200
    assert fake.validation_errors == []


async def test_text_over_4096_characters_after_parsing_is_too_long(fake: FakeTelegram) -> None:
    status, body = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "a" * 4097})
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    assert fake.validation_errors == ["sendMessage: message is too long"]


async def test_the_limit_counts_text_after_entity_parsing(fake: FakeTelegram) -> None:
    text = "<b>" + "a" * 4096 + "</b>"  # 4103 characters of HTML, 4096 after parsing
    status, body = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": text, "parse_mode": "HTML"})
    assert status == 200, body
    assert len(fake.bot_messages(CHAT)[0].text or "") == 4096


async def test_empty_text_is_refused(fake: FakeTelegram) -> None:
    status, body = await post_json(
        fake, "sendMessage", {"chat_id": CHAT, "text": "<b> </b>", "parse_mode": "HTML"}
    )
    assert (status, body["description"]) == (400, "Bad Request: message text is empty")
    assert fake.validation_errors == ["sendMessage: message text is empty"]


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("é<span>x</span>", 'Tag "span" must have class "tg-spoiler" at byte offset 2'),
        ('<a href="x>y</a>', "Unclosed start tag at byte offset 0"),
        ("ab<a href=x/y>z</a>", "Unexpected end of name token at byte offset 10"),
    ],
)
async def test_bad_html_is_refused_as_telegram_refuses_it(fake: FakeTelegram, html: str, error: str) -> None:
    status, body = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": html, "parse_mode": "HTML"})
    assert status == 400
    assert body["description"] == f"Bad Request: can't parse entities: {error}"
    assert fake.validation_errors == [f"sendMessage: can't parse entities: {error}"]


async def test_caption_limit_is_1024_after_parsing(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        response = await http.post(
            f"/bot{fake.token}/sendDocument",
            data={"chat_id": str(CHAT), "caption": "c" * 1025},
            files={"document": ("a.txt", b"hello", "text/plain")},
        )
    assert response.json()["description"] == "Bad Request: message caption is too long"
    assert fake.validation_errors == ["sendDocument: message caption is too long"]


async def test_set_my_commands_checks_names_and_counts(fake: FakeTelegram) -> None:
    status, body = await post_json(
        fake, "setMyCommands", {"commands": [{"command": "Start", "description": "go"}]}
    )
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMAND_INVALID")
    too_many = [{"command": f"c{i}", "description": "d"} for i in range(101)]
    status, body = await post_json(fake, "setMyCommands", {"commands": too_many})
    assert (status, body["description"]) == (400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
    status, _ = await post_json(
        fake, "setMyCommands", {"commands": [{"command": "x" * 33, "description": "d"}]}
    )
    assert status == 400
    assert len(fake.validation_errors) == 3


async def test_valid_commands_are_kept(fake: FakeTelegram) -> None:
    commands = [
        {"command": "new", "description": "Start a new thread"},
        {"command": "stop", "description": "Stop"},
    ]
    assert await post_json(fake, "setMyCommands", {"commands": commands}) == (
        200,
        {"ok": True, "result": True},
    )
    assert fake.state.commands == commands
    assert fake.validation_errors == []


async def test_malformed_json_body_is_caught(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        response = await http.post(
            f"/bot{fake.token}/getMe", content=b"{not json", headers={"content-type": "application/json"}
        )
    assert response.status_code == 400
    assert len(fake.validation_errors) == 1


async def test_the_limit_counts_utf16_code_units(fake: FakeTelegram) -> None:
    status, body = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "🏟" * 2049})  # 4098 units
    assert (status, body["description"]) == (400, "Bad Request: message is too long")
    fake.validation_errors.clear()  # seen
    status, _ = await post_json(fake, "sendMessage", {"chat_id": CHAT, "text": "🏟" * 2048})
    assert status == 200


async def test_text_is_trimmed_after_parsing_and_entities_follow(fake: FakeTelegram) -> None:
    status, body = await post_json(
        fake, "sendMessage", {"chat_id": CHAT, "text": "\n <b> bold</b> tail \n", "parse_mode": "HTML"}
    )
    assert status == 200
    assert body["result"]["text"] == "bold tail"
    assert body["result"]["entities"] == [{"type": "bold", "offset": 0, "length": 4}]
    assert fake.validation_errors == []


@pytest.mark.parametrize(
    ("button", "error"),
    [
        ({"text": "just text"}, "Text buttons are unallowed in the inline keyboard"),
        ({"text": "two", "callback_data": "x", "url": "https://example.org"}, "more than one action"),
    ],
)
async def test_inline_buttons_need_exactly_one_action(
    fake: FakeTelegram, button: dict[str, Any], error: str
) -> None:
    markup = {"inline_keyboard": [[button]]}
    status, body = await post_json(
        fake, "sendMessage", {"chat_id": CHAT, "text": "hi", "reply_markup": markup}
    )
    assert status == 400
    assert error in body["description"]
    assert len(fake.validation_errors) == 1
    assert fake.bot_messages(CHAT) == []


async def test_uploads_over_50_mb_are_too_large(fake: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=60) as http:
        response = await http.post(
            f"/bot{fake.token}/sendDocument",
            data={"chat_id": str(CHAT)},
            files={"document": ("big.bin", b"\0" * (50 * 2**20 + 1), "application/octet-stream")},
        )
    assert response.status_code == 413
    assert response.json()["description"] == "Request Entity Too Large"
    assert fake.state.files == {}
