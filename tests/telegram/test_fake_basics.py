"""The fake Bot API server over real HTTP: routing, envelope, sending and editing, what chats see."""

from __future__ import annotations

import functools
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from codexgram.testing.fake_telegram import FakeTelegram, FloodControl


async def call(fake: FakeTelegram, method: str, **params: Any) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=10) as http:
        response = await http.post(f"/bot{fake.token}/{method}", json=params)
    return response.status_code, response.json()


async def test_get_me_answers_with_the_bot_user(fake_telegram: FakeTelegram) -> None:
    status, body = await call(fake_telegram, "getMe")
    assert status == 200
    assert body["ok"] is True
    assert body["result"]["is_bot"] is True
    assert fake_telegram.spec.check_object("User", body["result"]) == []


async def test_method_names_are_case_insensitive_and_query_params_work(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(1001)
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        response = await http.get(
            f"/bot{fake_telegram.token}/SENDMESSAGE", params={"chat_id": "1001", "text": "hi"}
        )
    assert response.json()["ok"] is True
    assert [m.text for m in fake_telegram.bot_messages(1001)] == ["hi"]


async def test_wrong_token_is_unauthorized(fake_telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        response = await http.post("/bot123:WRONG/getMe")
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}


@pytest.mark.fake_telegram_bad_requests
async def test_unknown_method_is_not_found_and_recorded(fake_telegram: FakeTelegram) -> None:
    status, body = await call(fake_telegram, "sendTelepathy", chat_id=1)
    assert (status, body) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert fake_telegram.validation_errors == ["sendTelepathy: no such method 'sendTelepathy'"]


async def test_send_then_edit_keeps_history_and_returns_real_messages(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_sends_text(1001, "/start")
    markup = {"inline_keyboard": [[{"text": "Yes", "callback_data": "a:tok:y"}]]}
    status, sent = await call(
        fake_telegram,
        "sendMessage",
        chat_id=1001,
        text="<b>Hello</b> 👋 world",
        parse_mode="HTML",
        reply_markup=markup,
    )
    assert status == 200
    message = sent["result"]
    assert fake_telegram.spec.check_object("Message", message) == []
    assert message["text"] == "Hello 👋 world"
    assert message["entities"] == [{"offset": 0, "length": 5, "type": "bold"}]
    assert message["from"]["is_bot"] is True
    assert message["reply_markup"] == markup
    status, edited = await call(
        fake_telegram,
        "editMessageText",
        chat_id=1001,
        message_id=message["message_id"],
        text="<i>Bye</i>",
        parse_mode="HTML",
    )
    assert status == 200
    assert fake_telegram.spec.check_object("Message", edited["result"]) == []
    assert "reply_markup" not in edited["result"]  # an edit without reply_markup removes the keyboard
    [user_message, bot_message] = fake_telegram.messages(1001)
    assert user_message.text == "/start"
    assert not user_message.from_bot
    assert user_message.entities == ({"type": "bot_command", "offset": 0, "length": 6},)
    assert bot_message.text == "Bye"
    assert [r.text for r in bot_message.history] == ["Hello 👋 world"]
    assert bot_message.history[0].reply_markup == markup


async def test_not_modified_is_an_ordinary_answer(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(1001)
    _, sent = await call(fake_telegram, "sendMessage", chat_id=1001, text="same")
    message_id = sent["result"]["message_id"]
    status, body = await call(
        fake_telegram, "editMessageText", chat_id=1001, message_id=message_id, text="same"
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: message is not modified")
    assert fake_telegram.calls("editMessageText")[-1].status == 400
    assert fake_telegram.validation_errors == []


async def test_unknown_chat_is_not_found(fake_telegram: FakeTelegram) -> None:
    status, body = await call(fake_telegram, "sendMessage", chat_id=555, text="hello?")
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_delete_marks_the_message_deleted(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(1001)
    _, sent = await call(fake_telegram, "sendMessage", chat_id=1001, text="bye")
    message_id = sent["result"]["message_id"]
    assert await call(fake_telegram, "deleteMessage", chat_id=1001, message_id=message_id) == (
        200,
        {"ok": True, "result": True},
    )
    assert fake_telegram.messages(1001)[0].deleted
    status, body = await call(fake_telegram, "deleteMessage", chat_id=1001, message_id=message_id)
    assert (status, body["description"]) == (400, "Bad Request: message to delete not found")


async def test_messages_older_than_48_hours_cannot_be_deleted(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(1001)
    _, old = await call(fake_telegram, "sendMessage", chat_id=1001, text="old")
    await trio.sleep(48 * 3600 + 1)
    _, fresh = await call(fake_telegram, "sendMessage", chat_id=1001, text="fresh")
    status, body = await call(
        fake_telegram, "deleteMessage", chat_id=1001, message_id=old["result"]["message_id"]
    )
    assert (status, body["description"]) == (400, "Bad Request: message can't be deleted for everyone")
    status, _ = await call(
        fake_telegram, "deleteMessage", chat_id=1001, message_id=fresh["result"]["message_id"]
    )
    assert status == 200
    assert fresh["result"]["date"] - old["result"]["date"] == 48 * 3600 + 1  # dates follow the clock


async def test_a_user_who_blocked_the_bot_is_forbidden(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_sends_text(1001, "hi")
    fake_telegram.user_blocks_bot(1001)
    status, body = await call(fake_telegram, "sendMessage", chat_id=1001, text="hello?")
    assert (status, body["description"]) == (403, "Forbidden: bot was blocked by the user")
    fake_telegram.user_sends_text(1001, "I'm back")
    assert (await call(fake_telegram, "sendMessage", chat_id=1001, text="welcome back"))[0] == 200


async def test_leaving_a_group(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_sends_text(-100777, "hi bot", chat_type="supergroup")
    status, body = await call(fake_telegram, "leaveChat", chat_id=1001)
    assert (status, body["description"]) == (400, "Bad Request: chat not found")
    assert await call(fake_telegram, "leaveChat", chat_id=-100777) == (200, {"ok": True, "result": True})
    status, body = await call(fake_telegram, "sendMessage", chat_id=-100777, text="still here?")
    assert (status, body["description"]) == (403, "Forbidden: bot is not a member of the supergroup chat")


async def test_chat_actions_are_recorded(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(1001)
    assert await call(fake_telegram, "sendChatAction", chat_id=1001, action="typing") == (
        200,
        {"ok": True, "result": True},
    )
    assert [(chat, action) for chat, action, _ in fake_telegram.methods.chat_actions] == [(1001, "typing")]


async def test_replies_quote_the_message_or_fail_when_it_is_gone(fake_telegram: FakeTelegram) -> None:
    question = fake_telegram.user_sends_text(1001, "what is 2+2?")
    assert question is not None
    question_id = question["message"]["message_id"]
    status, body = await call(
        fake_telegram, "sendMessage", chat_id=1001, text="4", reply_parameters={"message_id": question_id}
    )
    assert status == 200
    assert body["result"]["reply_to_message"]["text"] == "what is 2+2?"
    assert fake_telegram.spec.check_object("Message", body["result"]) == []
    status, body = await call(
        fake_telegram, "sendMessage", chat_id=1001, text="5", reply_parameters={"message_id": 999}
    )
    assert (status, body["description"]) == (400, "Bad Request: message to be replied not found")
    status, body = await call(
        fake_telegram,
        "sendMessage",
        chat_id=1001,
        text="6",
        reply_parameters={"message_id": 999, "allow_sending_without_reply": True},
    )
    assert status == 200
    assert "reply_to_message" not in body["result"]


async def test_wait_until_wakes_when_the_bot_has_done_it(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(1001)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(functools.partial(call, fake_telegram, "sendMessage", chat_id=1001, text="late"))
        with trio.fail_after(5):
            await fake_telegram.wait_until(lambda: len(fake_telegram.bot_messages(1001)) == 1)
    assert fake_telegram.bot_messages(1001)[0].text == "late"


async def test_flood_control_can_be_replaced(fake_telegram: FakeTelegram) -> None:
    fake_telegram.flood = FloodControl(enabled=False)
    fake_telegram.ensure_chat(1001)
    statuses = [(await call(fake_telegram, "sendMessage", chat_id=1001, text=f"m{i}"))[0] for i in range(10)]
    assert statuses == [200] * 10


async def test_bot_profile_methods(fake_telegram: FakeTelegram) -> None:
    commands = [{"command": "new", "description": "New thread"}]
    assert (await call(fake_telegram, "setMyCommands", commands=commands))[0] == 200
    assert (await call(fake_telegram, "getMyCommands"))[1]["result"] == commands
    assert (await call(fake_telegram, "deleteMyCommands"))[1]["result"] is True
    assert (await call(fake_telegram, "getMyCommands"))[1]["result"] == []
    assert (await call(fake_telegram, "setMyDescription", description="Drives Codex"))[0] == 200
    assert (await call(fake_telegram, "setMyShortDescription", short_description="Codex bot"))[0] == 200
