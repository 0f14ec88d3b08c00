"""The project's BotApiClient against the fake server: every call the client can make passes the reference
(the fixture asserts ``validation_errors == []`` at teardown), and Telegram's answers map to the typed errors.
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from codexgram.errors import (
    TelegramBadRequest,
    TelegramConflict,
    TelegramForbidden,
    TelegramNetworkError,
    TelegramNotModified,
    TelegramQueryTooOld,
    TelegramRetryAfter,
    TelegramServerError,
)
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from codexgram.testing.fake_telegram import Drop, FakeTelegram, Hang, RetryAfter, ServerError

CHAT = 1001
GROUP = -100777
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=((InlineKeyboardButton(text="Approve", callback_data="a:tok:y"),),)
)


@pytest.fixture
async def client(fake_telegram: FakeTelegram) -> BotApiClient:
    return BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url, timeout=10)


async def test_a_conversation_through_the_client(
    fake_telegram: FakeTelegram, client: BotApiClient, clock: trio.testing.MockClock
) -> None:
    async with client:
        me = await client.get_me()
        assert me.is_bot
        assert await client.set_my_commands([BotCommand(command="new", description="Start a new thread")])
        fake_telegram.user_sends_text(CHAT, "/new fix the tests")
        [update] = await client.get_updates(
            offset=None, timeout=0, allowed_updates=["message", "callback_query"]
        )
        assert update.message is not None
        assert update.message.text == "/new fix the tests"
        sent = await client.send_message(CHAT, "<b>Working</b>…", reply_markup=KEYBOARD)
        assert sent.text == "Working…"
        edited = await client.edit_message_text(CHAT, sent.message_id, "<b>Done</b>", reply_markup=KEYBOARD)
        assert not isinstance(edited, bool)
        assert edited.text == "Done"
        with pytest.raises(TelegramNotModified):
            await client.edit_message_text(CHAT, sent.message_id, "<b>Done</b>", reply_markup=KEYBOARD)
        await client.edit_message_reply_markup(CHAT, sent.message_id, None)
        assert await client.send_chat_action(CHAT)
        await trio.sleep(
            1
        )  # three messages in a burst are the private chat's allowance; pace like the outbox
        document = await client.send_document(
            CHAT, "answer.md", b"# long answer\n", caption="the full answer"
        )
        assert document.document is not None
        file = await client.get_file(document.document.file_id)
        assert file.file_path is not None
        assert await client.download_file(file.file_path, max_bytes=1000) == b"# long answer\n"
        assert await client.delete_message(CHAT, sent.message_id)
        fake_telegram.bot_added_to_group(GROUP)
        assert await client.leave_chat(GROUP)
        with pytest.raises(TelegramForbidden, match="not a member"):
            await client.send_message(GROUP, "still here?")
    [_, bot_text, bot_document] = fake_telegram.messages(CHAT)
    assert bot_text.deleted
    assert [r.text for r in bot_text.history] == ["Working…", "Done"]
    assert bot_text.reply_markup is None
    assert bot_document.caption == "the full answer"


async def test_a_button_press_is_answered_through_the_client(
    fake_telegram: FakeTelegram, client: BotApiClient, clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(CHAT)
    async with client:
        sent = await client.send_message(CHAT, "Run <code>rm</code>?", reply_markup=KEYBOARD)
        fake_telegram.user_presses_button(CHAT, sent.message_id, "a:tok:y")
        [update] = await client.get_updates(offset=None, timeout=5, allowed_updates=["callback_query"])
        assert update.callback_query is not None
        assert update.callback_query.data == "a:tok:y"
        assert await client.answer_callback_query(update.callback_query.id, text="Approved")
        with pytest.raises(TelegramQueryTooOld):
            await client.answer_callback_query(update.callback_query.id, text="again")


async def test_errors_map_to_the_typed_exceptions(
    fake_telegram: FakeTelegram, client: BotApiClient, clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(CHAT)
    async with client:
        fake_telegram.schedule_fault("sendMessage", RetryAfter(seconds=3))
        with pytest.raises(TelegramRetryAfter) as retry:
            await client.send_message(CHAT, "hi")
        assert retry.value.retry_after == 3
        fake_telegram.schedule_fault("sendMessage", ServerError())
        with pytest.raises(TelegramServerError):
            await client.send_message(CHAT, "hi")
        fake_telegram.schedule_fault("sendMessage", Drop())
        with pytest.raises(TelegramNetworkError):
            await client.send_message(CHAT, "hi")
        fake_telegram.schedule_fault("sendMessage", Hang(seconds=60))
        with pytest.raises(TelegramNetworkError):
            await client.send_message(CHAT, "hi", timeout=5)
        with pytest.raises(TelegramBadRequest, match="chat not found"):
            await client.send_message(4040, "hi")
        assert fake_telegram.bot_messages(CHAT) == []


async def test_flood_control_reaches_the_client_as_retry_after(
    fake_telegram: FakeTelegram, client: BotApiClient, clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(CHAT)
    async with client:
        for i in range(3):
            await client.send_message(CHAT, f"m{i}")
        with pytest.raises(TelegramRetryAfter) as retry:
            await client.send_message(CHAT, "one too many")
        await trio.sleep(retry.value.retry_after)
        await client.send_message(CHAT, "after the wait")
    assert [m.text for m in fake_telegram.bot_messages(CHAT)] == ["m0", "m1", "m2", "after the wait"]


async def test_a_second_poller_gets_conflict(
    fake_telegram: FakeTelegram, client: BotApiClient, clock: trio.testing.MockClock
) -> None:
    other = BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url)
    errors: list[Exception] = []

    async def first_poller() -> None:
        try:
            await client.get_updates(offset=None, timeout=30, allowed_updates=["message"])
        except TelegramConflict as error:
            errors.append(error)

    async with client, other, trio.open_nursery() as nursery:
        nursery.start_soon(first_poller)
        await trio.sleep(1)
        assert await other.get_updates(offset=None, timeout=2, allowed_updates=["message"]) == []
    assert len(errors) == 1
