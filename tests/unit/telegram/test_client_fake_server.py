"""BotApiClient against the in-repo fake Bot API server (real HTTP on 127.0.0.1, every request validated
against the Bot API reference by the fixture, HTML judged by the fake's own, independent parser)."""

from __future__ import annotations

import pytest
import trio

from codexgram.errors import (
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramNotModified,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.html_entities import parse_html
from codexgram.telegram.keyboards import (
    ApprovalAction,
    ApprovalChoice,
    approval_keyboard,
    decode,
    new_callback_token,
)
from codexgram.telegram.render import render_chunks
from codexgram.telegram.types import KNOWN_UPDATE_KINDS, BotCommand
from codexgram.testing.fake_telegram import Drop, FakeTelegram, Hang, RetryAfter, ServerError

pytestmark = pytest.mark.integration

CHAT = 1001


def client_for(fake: FakeTelegram, *, timeout: float = 10.0) -> BotApiClient:
    return BotApiClient(token=fake.token, base_url=fake.base_url, timeout=timeout)


async def test_messages_edits_buttons_and_updates(fake_telegram: FakeTelegram) -> None:
    async with client_for(fake_telegram) as client:
        me = await client.get_me()
        assert me.is_bot
        fake_telegram.user_sends_text(CHAT, "/start")
        updates = await client.get_updates(offset=None, timeout=0, allowed_updates=KNOWN_UPDATE_KINDS)
        (update,) = updates
        assert update.message is not None
        assert update.message.text == "/start"
        assert update.message.entities[0].type == "bot_command"

        token = new_callback_token()
        sent = await client.send_message(CHAT, "Run <code>ls</code>?", reply_markup=approval_keyboard(token))
        assert sent.text == "Run ls?"
        assert sent.reply_markup is not None
        # Like Telegram, an edit without reply_markup would drop the buttons: keep passing them.
        keyboard = approval_keyboard(token)
        edited = await client.edit_message_text(
            CHAT, sent.message_id, "Run <code>ls -la</code>?", reply_markup=keyboard
        )
        assert not isinstance(edited, bool)
        assert edited.text == "Run ls -la?"
        with pytest.raises(TelegramNotModified):
            await client.edit_message_text(
                CHAT, sent.message_id, "Run <code>ls -la</code>?", reply_markup=keyboard
            )

        button = fake_telegram.messages(CHAT)[-1].buttons[0]
        fake_telegram.user_presses_button(CHAT, sent.message_id, button["callback_data"])
        (press,) = await client.get_updates(
            offset=update.update_id + 1, timeout=0, allowed_updates=KNOWN_UPDATE_KINDS
        )
        query = press.callback_query
        assert query is not None
        assert decode(query.data, known_tokens={token}) == ApprovalAction(
            token=token, choice=ApprovalChoice.APPROVE
        )
        assert await client.answer_callback_query(query.id, text="Approved")
        assert fake_telegram.callback_answer(query.id) is not None
        await client.edit_message_reply_markup(CHAT, sent.message_id)
        assert fake_telegram.messages(CHAT)[-1].reply_markup in (None, {}, {"inline_keyboard": []})
        assert await client.send_chat_action(CHAT)
        assert await client.delete_message(CHAT, sent.message_id)
        assert await client.set_my_commands([BotCommand(command="new", description="Start a new thread")])


async def test_rendered_chunks_are_accepted_by_the_fake(fake_telegram: FakeTelegram) -> None:
    code = "\n".join(f"    value_{i} = compute({i}) < limit && ok  # 😀" for i in range(200))
    markdown = f"# Report\n\nSome **bold** & <raw> text.\n\n```python\n{code}\n```\n\n- one\n- two"
    chunks = render_chunks(markdown)
    assert len(chunks) == 3, [len(parse_html(c)[0]) for c in chunks]
    fake_telegram.ensure_chat(CHAT)
    async with client_for(fake_telegram) as client:
        for chunk in chunks:
            message = await client.send_message(CHAT, chunk)
            assert message.text == parse_html(chunk)[0].strip()
    assert len(fake_telegram.bot_messages(CHAT)) == 3


async def test_documents_round_trip(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(CHAT)
    async with client_for(fake_telegram) as client:
        sent = await client.send_document(CHAT, "answer.md", b"# Long answer\n" * 100, caption="Full answer")
        assert sent.document is not None
        assert sent.document.file_name == "answer.md"
        fake_telegram.user_sends_document(CHAT, b"hello file", file_name="notes.txt")
        (update,) = await client.get_updates(offset=None, timeout=0, allowed_updates=KNOWN_UPDATE_KINDS)
        assert update.message is not None
        assert update.message.document is not None
        file = await client.get_file(update.message.document.file_id)
        assert file.file_path is not None
        assert await client.download_file(file.file_path, max_bytes=1000) == b"hello file"


async def test_long_poll_waits_for_an_update(fake_telegram: FakeTelegram) -> None:
    async with client_for(fake_telegram) as client, trio.open_nursery() as nursery:

        async def user_writes_later() -> None:
            await trio.sleep(0.2)
            fake_telegram.user_sends_text(CHAT, "late hello")

        nursery.start_soon(user_writes_later)
        start = trio.current_time()
        (update,) = await client.get_updates(offset=None, timeout=5, allowed_updates=KNOWN_UPDATE_KINDS)
        assert update.message is not None
        assert update.message.text == "late hello"
        assert trio.current_time() - start < 4


async def test_faults_map_to_typed_errors(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(CHAT)
    async with client_for(fake_telegram, timeout=1.0) as client:
        fake_telegram.schedule_fault("sendMessage", RetryAfter(seconds=7))
        with pytest.raises(TelegramRetryAfter) as info:
            await client.send_message(CHAT, "x")
        assert info.value.retry_after == 7
        fake_telegram.schedule_fault("sendMessage", ServerError(status=502, description="Bad Gateway"))
        with pytest.raises(TelegramServerError):
            await client.send_message(CHAT, "x")
        fake_telegram.schedule_fault("sendMessage", Drop())
        with pytest.raises(TelegramNetworkError) as dropped:
            await client.send_message(CHAT, "x")
        assert fake_telegram.token not in str(dropped.value)
        fake_telegram.schedule_fault("sendChatAction", Hang(seconds=3))
        with pytest.raises(TelegramNetworkError, match="timed out"):
            await client.send_chat_action(CHAT)


@pytest.mark.fake_telegram_bad_requests
async def test_too_long_message_is_a_bad_request(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(CHAT)
    async with client_for(fake_telegram) as client:
        with pytest.raises(TelegramBadRequest, match="too long"):
            await client.send_message(CHAT, "x" * 4097)
    assert fake_telegram.validation_errors


@pytest.mark.fake_telegram_bad_requests
async def test_wrong_token_is_unauthorized(fake_telegram: FakeTelegram) -> None:
    async with BotApiClient(token="1:wrong", base_url=fake_telegram.base_url) as client:
        with pytest.raises(TelegramUnauthorized):
            await client.get_me()
