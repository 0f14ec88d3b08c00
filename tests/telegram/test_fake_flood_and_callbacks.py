"""Flood control (pure, then over HTTP in virtual time) and callback-query answers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import trio.testing

from codexgram.testing.fake_telegram import FakeTelegram, FloodControl

CHAT = 1001
GROUP = -100555


def test_private_chat_allows_a_burst_then_one_per_second() -> None:
    flood = FloodControl()
    assert [flood.admit(CHAT, is_group=False, now=0.0) for _ in range(3)] == [None, None, None]
    assert flood.admit(CHAT, is_group=False, now=0.0) == 1
    assert flood.admit(CHAT, is_group=False, now=0.5) == 1  # still penalised: told again
    assert flood.admit(CHAT, is_group=False, now=1.0) is None
    assert flood.admit(CHAT, is_group=False, now=1.0) == 1
    assert flood.admit(CHAT, is_group=False, now=2.0) is None
    assert flood.admit(2002, is_group=False, now=2.0) is None  # other chats have their own bucket


def test_groups_get_twenty_a_minute() -> None:
    flood = FloodControl()
    assert all(flood.admit(GROUP, is_group=True, now=0.0) is None for _ in range(20))
    assert flood.admit(GROUP, is_group=True, now=0.0) == 3
    assert flood.admit(GROUP, is_group=True, now=3.0) is None


def test_thirty_a_second_across_all_chats() -> None:
    flood = FloodControl()
    assert all(flood.admit(chat, is_group=False, now=0.0) is None for chat in range(1, 31))
    assert flood.admit(31, is_group=False, now=0.0) == 1
    assert flood.admit(32, is_group=False, now=1.0) is None


def test_disabled_flood_control_admits_everything() -> None:
    flood = FloodControl(enabled=False)
    assert all(flood.admit(CHAT, is_group=False, now=0.0) is None for _ in range(100))


async def send(fake: FakeTelegram, text: str, chat_id: int = CHAT) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        response = await http.post(f"/bot{fake.token}/sendMessage", json={"chat_id": chat_id, "text": text})
    return response.status_code, response.json()


async def test_flooding_a_chat_gets_429_with_retry_after_then_clears(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(CHAT)
    statuses = [(await send(fake_telegram, f"m{i}"))[0] for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    _, body = await send(fake_telegram, "again")
    assert body == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 1",
        "parameters": {"retry_after": 1},
    }
    await trio.sleep(body["parameters"]["retry_after"])
    assert (await send(fake_telegram, "later"))[0] == 200
    assert [m.text for m in fake_telegram.bot_messages(CHAT)] == ["m0", "m1", "m2", "later"]
    assert [c.status for c in fake_telegram.calls("sendMessage")] == [200, 200, 200, 429, 429, 200]
    assert fake_telegram.validation_errors == []


async def test_edits_count_against_the_chat_too(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(CHAT)
    _, sent = await send(fake_telegram, "v0")
    message_id = sent["result"]["message_id"]
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        statuses = []
        for version in range(1, 5):
            response = await http.post(
                f"/bot{fake_telegram.token}/editMessageText",
                json={"chat_id": CHAT, "message_id": message_id, "text": f"v{version}"},
            )
            statuses.append(response.status_code)
    assert statuses == [200, 200, 429, 429]
    assert fake_telegram.bot_messages(CHAT)[0].text == "v2"


async def press_and_answer(fake: FakeTelegram, wait: float) -> list[tuple[int, dict[str, Any]]]:
    fake.ensure_chat(CHAT)
    markup = {"inline_keyboard": [[{"text": "Approve", "callback_data": "a:x:y"}]]}
    async with httpx.AsyncClient(base_url=fake.base_url) as http:
        sent = await http.post(
            f"/bot{fake.token}/sendMessage", json={"chat_id": CHAT, "text": "ok?", "reply_markup": markup}
        )
        update = fake.user_presses_button(CHAT, sent.json()["result"]["message_id"], "a:x:y")
        assert update is not None
        assert fake.spec.check_object("Update", update) == []
        await trio.sleep(wait)
        answers = []
        for _ in range(2):
            response = await http.post(
                f"/bot{fake.token}/answerCallbackQuery",
                json={"callback_query_id": update["callback_query"]["id"], "text": "Approved"},
            )
            answers.append((response.status_code, response.json()))
    return answers


async def test_a_callback_query_is_answered_once(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    first, second = await press_and_answer(fake_telegram, wait=1)
    assert first == (200, {"ok": True, "result": True})
    assert second[0] == 400
    assert second[1]["description"] == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    query_id = next(iter(fake_telegram.state.callback_queries))
    assert fake_telegram.callback_answer(query_id) == {"text": "Approved"}


async def test_a_late_answer_is_too_old(fake_telegram: FakeTelegram, clock: trio.testing.MockClock) -> None:
    first, _ = await press_and_answer(fake_telegram, wait=16)
    assert first[0] == 400
    assert "query is too old" in first[1]["description"]
    assert fake_telegram.validation_errors == []


async def test_pressing_a_button_that_is_not_there_is_a_test_bug(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_sends_text(CHAT, "hi")
    with pytest.raises(ValueError, match="no button"):
        fake_telegram.user_presses_button(CHAT, 1, "forged")
    update = fake_telegram.user_presses_button(CHAT, 1, "forged", strict=False)
    assert update is not None
    assert update["callback_query"]["data"] == "forged"


async def test_a_bot_that_ignores_retry_after_gets_little_through(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    """A naive streamer editing 20 times a second for 5 s: Telegram lets about burst + 1/s through."""
    fake_telegram.ensure_chat(CHAT)
    _, sent = await send(fake_telegram, "v0")
    message_id = sent["result"]["message_id"]
    statuses: list[int] = []
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        for version in range(1, 101):
            response = await http.post(
                f"/bot{fake_telegram.token}/editMessageText",
                json={"chat_id": CHAT, "message_id": message_id, "text": f"v{version}"},
            )
            statuses.append(response.status_code)
            clock.jump(0.05)  # 20 edits a virtual second, without waiting for the clock to autojump
    assert set(statuses) == {200, 429}
    # 5 s at 1/s after the first send used one of the 3 burst tokens: 2 + 5, give or take the edges.
    assert 6 <= statuses.count(200) <= 8
    assert len(fake_telegram.bot_messages(CHAT)[0].history) == statuses.count(200)
