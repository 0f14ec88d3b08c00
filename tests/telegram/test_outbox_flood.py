"""Acceptance: when Telegram's own flood control is stricter than our pacing, the outbox obeys its 429s.

The fake's per-chat limit is tightened to one message every 4 s (no burst) while the outbox paces at 1 s, so
the fake's flood control, not a scheduled fault, answers 429 with ``retry_after``. The outbox must wait that
long before calling that chat again (Telegram refuses, and extends the penalty of, bots that keep calling),
keep the order, lose nothing, and keep serving other chats meanwhile.
"""

from __future__ import annotations

import functools
import itertools

import trio
import trio.testing

from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.actors.runtime import Reply
from codexgram.messages import OutboxRequest, SendMessage
from codexgram.telegram.client import BotApiClient
from codexgram.testing.fake_telegram import FakeTelegram, FloodControl, Rate

SLOW_CHAT = 7301
OTHER_CHAT = 7302


async def test_the_fakes_own_429s_are_obeyed_and_nothing_is_lost(
    fake_telegram: FakeTelegram, eager_clock: trio.testing.MockClock
) -> None:
    fake_telegram.flood = FloodControl(private_rate=Rate(burst=1, per_second=0.25))
    fake_telegram.ensure_chat(SLOW_CHAT)
    fake_telegram.ensure_chat(OTHER_CHAT)
    client = BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url, timeout=10)
    replies: list[Reply[int]] = []
    async with client, trio.open_nursery() as nursery:
        actor = functools.partial(outbox_actor, client=client, store=None, settings=OutboxSettings())
        mailbox: trio.MemorySendChannel[OutboxRequest] = await nursery.start(actor)
        for index in range(6):
            for chat in (SLOW_CHAT, OTHER_CHAT):
                reply: Reply[int] = Reply()
                replies.append(reply)
                await mailbox.send(SendMessage(chat_id=chat, text=f"{chat} #{index}", reply=reply))
        with trio.fail_after(300):
            for reply in replies:
                await reply.wait()
        nursery.cancel_scope.cancel()

    for chat in (SLOW_CHAT, OTHER_CHAT):
        assert [m.text for m in fake_telegram.bot_messages(chat)] == [f"{chat} #{i}" for i in range(6)]
        calls = [c for c in fake_telegram.calls("sendMessage") if c.params["chat_id"] == chat]
        refusals = [c for c in calls if c.status == 429]
        assert refusals, "the tightened limit should have answered 429 at least once"
        for refused in refusals:
            retry_after = int((refused.description or "").rsplit(" ", 1)[-1])
            following = [c for c in calls if c.at > refused.at]
            assert following[0].at - refused.at >= retry_after - 1e-6
        # obeying retry_after means Telegram never had to refuse the same chat twice in a row
        statuses = [c.status for c in calls]
        assert all(not (a == b == 429) for a, b in itertools.pairwise(statuses))
