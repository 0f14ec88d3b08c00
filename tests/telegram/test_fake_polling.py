"""getUpdates against the fake: real long polling, offset, limit, allowed_updates, 409 for a second poller.

Time is virtual (a MockClock that jumps once everything has waited 100 ms of real time, so real localhost
sockets get to answer before the clock moves).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import trio.testing

from codexgram.testing.fake_telegram import FakeTelegram

CHAT = 1001


async def get_updates(fake: FakeTelegram, **params: Any) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=120) as http:
        response = await http.post(f"/bot{fake.token}/getUpdates", json=params)
    return response.status_code, response.json()


def texts(body: dict[str, Any]) -> list[str]:
    return [u["message"]["text"] for u in body["result"]]


async def test_long_poll_waits_the_timeout_when_nothing_comes(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    status, body = await get_updates(fake_telegram, timeout=30)
    assert (status, body) == (200, {"ok": True, "result": []})
    assert trio.current_time() - start == pytest.approx(30, abs=0.5)


async def test_long_poll_answers_as_soon_as_an_update_arrives(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    start = trio.current_time()
    async with trio.open_nursery() as nursery:
        result: list[dict[str, Any]] = []

        async def poll() -> None:
            result.append((await get_updates(fake_telegram, timeout=30))[1])

        nursery.start_soon(poll)
        await trio.sleep(5)
        fake_telegram.user_sends_text(CHAT, "hello")
    assert texts(result[0]) == ["hello"]
    assert trio.current_time() - start == pytest.approx(5, abs=0.5)
    update = result[0]["result"][0]
    assert fake_telegram.spec.check_object("Update", update) == []


async def test_offset_confirms_and_limit_caps(fake_telegram: FakeTelegram) -> None:
    for text in ("one", "two", "three"):
        fake_telegram.user_sends_text(CHAT, text)
    _, body = await get_updates(fake_telegram, limit=2)
    assert texts(body) == ["one", "two"]
    _, again = await get_updates(fake_telegram)  # not confirmed yet: delivered again
    assert texts(again) == ["one", "two", "three"]
    next_offset = body["result"][1]["update_id"] + 1
    _, rest = await get_updates(fake_telegram, offset=next_offset)
    assert texts(rest) == ["three"]
    _, rest_again = await get_updates(fake_telegram)
    assert texts(rest_again) == ["three"]  # "one" and "two" are gone for good


async def test_negative_offset_keeps_only_the_last_updates(fake_telegram: FakeTelegram) -> None:
    for text in ("one", "two", "three"):
        fake_telegram.user_sends_text(CHAT, text)
    _, body = await get_updates(fake_telegram, offset=-1)
    assert texts(body) == ["three"]
    _, again = await get_updates(fake_telegram)
    assert texts(again) == ["three"]


@pytest.mark.fake_telegram_bad_requests
async def test_limit_outside_1_to_100_is_refused(fake_telegram: FakeTelegram) -> None:
    status, _ = await get_updates(fake_telegram, limit=101)
    assert status == 400
    assert fake_telegram.validation_errors == ["getUpdates: limit=101 is outside 1-100"]


async def test_allowed_updates_filters_and_persists(fake_telegram: FakeTelegram) -> None:
    fake_telegram.user_sends_text(CHAT, "before")
    _, body = await get_updates(fake_telegram, allowed_updates=["message"])
    message = body["result"][0]
    fake_telegram.ensure_chat(CHAT)
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        sent = await http.post(
            f"/bot{fake_telegram.token}/sendMessage",
            json={
                "chat_id": CHAT,
                "text": "pick",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
            },
        )
    bot_message_id = sent.json()["result"]["message_id"]
    # allowed_updates is omitted from now on: the earlier setting persists, so the press is not queued.
    assert fake_telegram.user_presses_button(CHAT, bot_message_id, "a") is None
    fake_telegram.user_sends_text(CHAT, "after")
    _, body = await get_updates(fake_telegram, offset=message["update_id"] + 1)
    assert texts(body) == ["after"]
    # An empty list means "everything but the default-off kinds" again.
    _, body = await get_updates(fake_telegram, offset=body["result"][0]["update_id"] + 1, allowed_updates=[])
    assert body["result"] == []
    update = fake_telegram.user_presses_button(CHAT, bot_message_id, "a")
    assert update is not None
    _, body = await get_updates(fake_telegram)
    assert [u["callback_query"]["data"] for u in body["result"]] == ["a"]
    assert fake_telegram.spec.check_object("Update", body["result"][0]) == []


async def test_a_second_poller_terminates_the_first_with_409(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    results: dict[str, tuple[int, dict[str, Any]]] = {}

    async def poll(name: str) -> None:
        results[name] = await get_updates(fake_telegram, timeout=30)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(poll, "first")
        await trio.sleep(1)
        nursery.start_soon(poll, "second")
        await trio.sleep(1)
        assert "first" in results
        assert "second" not in results
        fake_telegram.user_sends_text(CHAT, "hi")
    status, body = results["first"]
    assert status == 409
    assert body == {
        "ok": False,
        "error_code": 409,
        "description": "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running",
    }
    assert texts(results["second"][1]) == ["hi"]


async def test_group_channel_and_stranger_messages_arrive_as_telegram_sends_them(
    fake_telegram: FakeTelegram,
) -> None:
    fake_telegram.user_sends_text(-100123, "in a group", chat_type="supergroup", user_id=77)
    fake_telegram.user_sends_text(-100999, "a post", chat_type="channel")
    fake_telegram.user_sends_text(31337, "/start@codexgram_fake_bot now", user_id=31337)
    _, body = await get_updates(fake_telegram)
    group, channel, stranger = body["result"]
    assert group["message"]["chat"]["type"] == "supergroup"
    assert group["message"]["from"]["id"] == 77
    assert channel["channel_post"]["sender_chat"]["id"] == -100999
    assert "from" not in channel["channel_post"]
    assert stranger["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 25}]
    for update in body["result"]:
        assert fake_telegram.spec.check_object("Update", update) == []


async def test_user_edits_and_the_bot_joining_a_group_arrive_as_updates(fake_telegram: FakeTelegram) -> None:
    sent = fake_telegram.user_sends_text(CHAT, "/new fix it")
    assert sent is not None
    sent["message"]["text"] = "changed by the test"  # the test's copy; the bot still gets the original
    fake_telegram.user_edits_text(CHAT, sent["message"]["message_id"], "/new fix it properly")
    fake_telegram.bot_added_to_group(-100321, by_user_id=55, chat_type="supergroup")
    _, body = await get_updates(fake_telegram)
    original, edited, joined = body["result"]
    assert original["message"]["text"] == "/new fix it"
    assert edited["edited_message"]["text"] == "/new fix it properly"
    assert edited["edited_message"]["edit_date"] >= edited["edited_message"]["date"]
    assert joined["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert joined["my_chat_member"]["from"]["id"] == 55
    for update in body["result"]:
        assert fake_telegram.spec.check_object("Update", update) == []
    with pytest.raises(ValueError, match="no text message"):
        fake_telegram.user_edits_text(CHAT, 999, "x")


async def test_an_active_webhook_blocks_polling_until_deleted(fake_telegram: FakeTelegram) -> None:
    fake_telegram.set_webhook("https://example.org/hook")
    fake_telegram.user_sends_text(CHAT, "hi")
    status, body = await get_updates(fake_telegram)
    assert status == 409
    assert body["description"].startswith("Conflict: can't use getUpdates method while webhook is active")
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        info = await http.post(f"/bot{fake_telegram.token}/getWebhookInfo")
        assert info.json()["result"]["pending_update_count"] == 1
        deleted = await http.post(
            f"/bot{fake_telegram.token}/deleteWebhook", json={"drop_pending_updates": False}
        )
        assert deleted.json() == {"ok": True, "result": True}
    _, body = await get_updates(fake_telegram)
    assert texts(body) == ["hi"]


async def test_unconfirmed_updates_expire_after_a_day(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock
) -> None:
    fake_telegram.user_sends_text(CHAT, "old")
    await trio.sleep(23 * 3600)
    fake_telegram.user_sends_text(CHAT, "recent")
    await trio.sleep(3600 + 1)
    _, body = await get_updates(fake_telegram)
    assert texts(body) == ["recent"]


@pytest.mark.fake_telegram_bad_requests
async def test_a_misspelt_update_kind_is_caught(fake_telegram: FakeTelegram) -> None:
    status, _ = await get_updates(fake_telegram, allowed_updates=["message", "callback_querry"])
    assert status == 400
    assert fake_telegram.validation_errors == [
        "getUpdates: allowed_updates names unknown update types ['callback_querry']"
    ]
