"""Acceptance: 409 Conflict from the fake (a webhook, or a second poller on the token) is reported clearly,
backed off, and polling resumes once the other side is gone. Virtual time, offset in memory."""

from __future__ import annotations

import functools
import logging

import pytest
import trio
import trio.testing

from codexgram.actors.poller import poller_actor
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.types import Update
from codexgram.testing.fake_telegram import FakeTelegram
from codexgram.testing.poller_stubs import MemoryOffsets

CHAT = 7501


async def test_a_webhook_conflict_is_reported_and_outlasted(
    fake_telegram: FakeTelegram, eager_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_telegram.ensure_chat(CHAT)
    fake_telegram.set_webhook("https://example.org/hook")
    fake_telegram.user_sends_text(CHAT, "hello")
    received: list[str] = []

    async def consumer(update: Update) -> None:
        assert update.message is not None
        received.append(update.message.text or "")

    client = BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url, timeout=10)
    async with client, trio.open_nursery() as nursery:
        await nursery.start(
            functools.partial(
                poller_actor, client=client, store=MemoryOffsets(), consumer=consumer, poll_timeout=5
            )
        )
        await trio.sleep(20)
        assert received == []
        conflicts = [call for call in fake_telegram.calls("getUpdates") if call.status == 409]
        # backed off 1, 2, 4, 8 s: a handful of attempts in 20 s, not a hot loop
        assert 3 <= len(conflicts) <= 6
        fake_telegram.state.webhook_url = ""  # the other deployment removed its webhook
        with trio.fail_after(120):
            while not received:
                await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    assert received == ["hello"]
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert errors
    assert all("another instance is polling with this token" in record.getMessage() for record in errors)
    assert fake_telegram.token not in caplog.text


async def test_two_pollers_on_one_token_conflict_and_the_error_says_so(
    fake_telegram: FakeTelegram, eager_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_telegram.ensure_chat(CHAT)

    async def ignore(update: Update) -> None:
        pass

    first = BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url, timeout=10)
    second = BotApiClient(token=fake_telegram.token, base_url=fake_telegram.base_url, timeout=10)
    async with first, second, trio.open_nursery() as nursery:
        for client in (first, second):
            await nursery.start(
                functools.partial(
                    poller_actor, client=client, store=MemoryOffsets(), consumer=ignore, poll_timeout=5
                )
            )
        await trio.sleep(30)
        nursery.cancel_scope.cancel()
    assert any(call.status == 409 for call in fake_telegram.calls("getUpdates"))
    assert "another instance is polling with this token" in caplog.text
