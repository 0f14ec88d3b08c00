"""Acceptance: the poller and the outbox together against the fake, as the bot will use them.

A tiny consumer plays the chat actor: it answers a text with a message carrying a button, answers the button
press at once (the callback answer must not wait behind paced sends) and edits the message. Virtual time;
the offset lives in memory here (the SQLite path is covered by test_poller_restart.py).
"""

from __future__ import annotations

import functools

import trio
import trio.testing

from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.actors.outbox_handle import OutboxHandle
from codexgram.actors.poller import poller_actor
from codexgram.messages import EditMessageText, OutboxRequest, SendMessage
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.types import InlineKeyboardButton, InlineKeyboardMarkup, Update
from codexgram.testing.fake_telegram import FakeTelegram
from codexgram.testing.poller_stubs import MemoryOffsets

CHAT = 7401


async def test_a_conversation_through_poller_and_outbox(
    fake_telegram: FakeTelegram, eager_clock: trio.testing.MockClock
) -> None:
    fake_telegram.ensure_chat(CHAT)
    client = BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url, timeout=10)
    done = trio.Event()
    pressed_at: list[float] = []

    async with client, trio.open_nursery() as nursery:
        mailbox: trio.MemorySendChannel[OutboxRequest] = await nursery.start(
            functools.partial(outbox_actor, client=client, store=None, settings=OutboxSettings())
        )
        outbox = OutboxHandle(mailbox)

        async def consumer(update: Update) -> None:
            if update.message is not None and update.message.text is not None:
                keyboard = InlineKeyboardMarkup(
                    inline_keyboard=(
                        (InlineKeyboardButton(text="OK", callback_data=f"ok:{update.update_id}"),),
                    )
                )
                # the handler waits for nothing: it hands requests over and returns (the acknowledgement)
                outbox.post(
                    SendMessage(
                        chat_id=CHAT, text=f"echo: <b>{update.message.text}</b>", reply_markup=keyboard
                    )
                )
            elif update.callback_query is not None:
                query = update.callback_query
                pressed_at.append(trio.current_time())
                outbox.answer_callback(query.id, text="noted")
                assert query.message is not None
                outbox.post(
                    EditMessageText(chat_id=CHAT, message_id=query.message.message_id, text="pressed")
                )
                done.set()

        store = MemoryOffsets()
        await nursery.start(
            functools.partial(poller_actor, client=client, store=store, consumer=consumer, poll_timeout=25)
        )
        for text in ("one", "two", "three"):
            fake_telegram.user_sends_text(CHAT, text)
        with trio.fail_after(30):
            while len(fake_telegram.bot_messages(CHAT)) < 3:
                await trio.sleep(0.1)
        first = fake_telegram.bot_messages(CHAT)[0]
        fake_telegram.user_presses_button(CHAT, first.message_id, first.buttons[0]["callback_data"])
        with trio.fail_after(30):
            await done.wait()
            while fake_telegram.bot_messages(CHAT)[0].text != "pressed":
                await trio.sleep(0.1)
        nursery.cancel_scope.cancel()

    assert [m.text for m in fake_telegram.bot_messages(CHAT)] == ["pressed", "echo: two", "echo: three"]
    [answer] = [c for c in fake_telegram.calls("answerCallbackQuery") if c.ok]
    assert answer.at - pressed_at[0] < 0.1  # answered at once, not paced
    # four updates (three texts, one press) were acknowledged: the offset is one past the last
    batches = [c.result for c in fake_telegram.calls("getUpdates") if c.ok and c.result]
    update_ids = [update["update_id"] for batch in batches if isinstance(batch, list) for update in batch]
    assert len(set(update_ids)) == 4
    assert store.offset == max(update_ids) + 1
