"""Acceptance: a durable message survives a restart between enqueue and delivery (real SQLite, real HTTP).

Real time, not the mock clock: the repository runs SQL on a worker thread, and a mock clock would jump ahead
while the thread works.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.actors.repository import Repository, open_repository
from codexgram.actors.runtime import Reply
from codexgram.messages import OutboxRequest, SendMessage
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.types import InlineKeyboardButton, InlineKeyboardMarkup
from codexgram.testing.fake_telegram import FakeTelegram, Hang

CHAT = 7101
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=((InlineKeyboardButton(text="Approve", callback_data="a:t:y"),),)
)


Mailbox = trio.MemorySendChannel[OutboxRequest]


async def run_outbox_until(
    fake: FakeTelegram, repo: Repository, work: Callable[[Mailbox], Awaitable[None]]
) -> None:
    """Run one outbox actor ("one process") around ``work(mailbox)``; then stop it."""
    client = BotApiClient(token=fake.token, base_url=fake.base_url, timeout=5)
    async with client, trio.open_nursery() as nursery:
        actor = functools.partial(
            outbox_actor, client=client, store=repo, settings=OutboxSettings(call_timeout=2.0)
        )
        mailbox: Mailbox = await nursery.start(actor)
        await work(mailbox)
        nursery.cancel_scope.cancel()


async def wait_for(condition: Callable[[], bool]) -> None:
    with trio.fail_after(20):
        while not condition():
            await trio.sleep(0.01)


async def test_a_restart_between_enqueue_and_delivery_still_delivers(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    fake_telegram.ensure_chat(CHAT)
    # The first process's attempt hangs (Telegram never did it); the process stops while it hangs.
    fake_telegram.schedule_fault("sendMessage", Hang(seconds=600))
    db = tmp_path / "bot.sqlite3"
    lost_reply: Reply[int] = Reply()

    async with open_repository(db) as repo:

        async def first_process(mailbox: Mailbox) -> None:
            await mailbox.send(
                SendMessage(
                    chat_id=CHAT,
                    text="<b>Approve</b> running <code>make test</code>?",
                    reply_markup=KEYBOARD,
                    durable=True,
                    reply=lost_reply,
                )
            )
            await wait_for(lambda: fake_telegram.faults.pending == 0)  # the attempt is hanging now
            assert len(await repo.outbox_pending()) == 1

        await run_outbox_until(fake_telegram, repo, first_process)

    assert fake_telegram.bot_messages(CHAT) == []

    async with open_repository(db) as repo:
        [row] = await repo.outbox_pending()
        assert row.kind == "send_message"

        async def second_process(mailbox: Mailbox) -> None:
            await wait_for(lambda: len(fake_telegram.bot_messages(CHAT)) == 1)
            with trio.fail_after(10):
                while await repo.outbox_pending():
                    await trio.sleep(0.01)

        await run_outbox_until(fake_telegram, repo, second_process)
        assert await repo.outbox_pending() == []

    [shown] = fake_telegram.bot_messages(CHAT)
    assert shown.text == "Approve running make test?"
    assert shown.buttons[0]["callback_data"] == "a:t:y"
    ok_sends = [call for call in fake_telegram.calls("sendMessage") if call.ok]
    assert len(ok_sends) == 1
