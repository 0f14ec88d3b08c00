"""The poller actor against a scripted stub client and an in-memory offset store, in virtual time."""

# ruff: noqa: ASYNC109  (the stub mirrors the client's signature)

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Sequence

import pytest
import trio

from codexgram.actors.poller import ALLOWED_UPDATES, poller_actor
from codexgram.errors import (
    TelegramConflict,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from codexgram.telegram.types import Update
from codexgram.testing.poller_stubs import MemoryOffsets


class ScriptedApi:
    """Returns the scripted batches/errors in order, then long-polls forever."""

    def __init__(self, script: list[list[int] | Exception]) -> None:
        self.script = list(script)
        self.requests: list[tuple[int | None, float, tuple[str, ...]]] = []

    async def get_updates(
        self, *, offset: int | None, timeout: int, limit: int = 100, allowed_updates: Sequence[str]
    ) -> list[Update]:
        self.requests.append((offset, trio.current_time(), tuple(allowed_updates)))
        await trio.lowlevel.checkpoint()
        if not self.script:
            await trio.sleep_forever()
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        return [Update(update_id=update_id) for update_id in step]


async def run_for(seconds: float, api: ScriptedApi, store: MemoryOffsets, handled: list[int]) -> None:
    async def consumer(update: Update) -> None:
        handled.append(update.update_id)

    with trio.move_on_after(seconds):
        await poller_actor(client=api, store=store, consumer=consumer)


async def test_updates_are_handed_over_once_in_order_and_the_offset_follows(autojump_clock: object) -> None:
    api = ScriptedApi([[5, 6], [6, 7], [4, 8, 8]])
    store = MemoryOffsets(5)
    handled: list[int] = []
    await run_for(10, api, store, handled)
    assert handled == [5, 6, 7, 8]
    assert store.writes == [6, 7, 8, 9]
    assert [offset for offset, _, _ in api.requests] == [5, 7, 8, 9]
    assert all(kinds == ALLOWED_UPDATES for _, _, kinds in api.requests)


async def test_409_conflict_is_reported_clearly_and_backed_off(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    conflict = TelegramConflict("getUpdates", "Conflict: terminated by other getUpdates request", 409)
    api = ScriptedApi([conflict, conflict, conflict, [1]])
    handled: list[int] = []
    with caplog.at_level(logging.ERROR):
        await run_for(60, api, MemoryOffsets(), handled)
    assert handled == [1]
    times = [at for _, at, _ in api.requests]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)][:3] == [1.0, 2.0, 4.0]
    assert caplog.text.count("another instance is polling with this token") == 3


async def test_transient_failures_back_off_and_429_waits_retry_after(autojump_clock: object) -> None:
    api = ScriptedApi(
        [
            TelegramServerError("getUpdates", "Bad Gateway", 502),
            TelegramNetworkError("getUpdates", "timed out"),
            TelegramRetryAfter("getUpdates", "Too Many Requests: retry after 17", 17),
            [3],
        ]
    )
    handled: list[int] = []
    await run_for(60, api, MemoryOffsets(), handled)
    times = [at for _, at, _ in api.requests]
    assert [round(b - a, 3) for a, b in itertools.pairwise(times)][:3] == [1.0, 2.0, 17.0]
    assert handled == [3]


async def test_unauthorized_ends_the_poller(autojump_clock: object) -> None:
    api = ScriptedApi([TelegramUnauthorized("getUpdates", "Unauthorized", 401)])
    with pytest.raises(TelegramUnauthorized):
        await run_for(60, api, MemoryOffsets(), [])


async def test_a_failing_consumer_skips_its_update_and_polling_goes_on(
    autojump_clock: object, caplog: pytest.LogCaptureFixture
) -> None:
    api = ScriptedApi([[1, 2, 3]])
    store = MemoryOffsets()
    handled: list[int] = []

    async def consumer(update: Update) -> None:
        if update.update_id == 2:
            raise ValueError("poison")
        handled.append(update.update_id)

    with trio.move_on_after(5):
        await poller_actor(client=api, store=store, consumer=consumer)
    assert handled == [1, 3]
    assert store.offset == 4
    assert "the consumer failed on update 2" in caplog.text


async def test_cancelled_before_acknowledging_leaves_the_offset(autojump_clock: object) -> None:
    api = ScriptedApi([[1, 2]])
    store = MemoryOffsets()

    async def consumer(update: Update) -> None:
        if update.update_id == 2:
            await trio.sleep_forever()

    with trio.move_on_after(5):
        await poller_actor(client=api, store=store, consumer=consumer)
    assert store.offset == 2  # update 2 is asked for again by the next process


async def test_the_offset_write_after_an_acknowledgement_survives_cancellation(
    autojump_clock: object,
) -> None:
    """The poller is cancelled right after the consumer acknowledged: the offset is still written."""
    api = ScriptedApi([[1]])

    class CancellingStore(MemoryOffsets):
        scope: trio.CancelScope | None = None

        async def set_update_offset(self, offset: int) -> None:
            assert self.scope is not None
            self.scope.cancel()
            await trio.sleep(0.1)  # would raise Cancelled without the shield
            await super().set_update_offset(offset)

    store = CancellingStore()

    async def consumer(update: Update) -> None:
        pass

    with trio.CancelScope() as scope:
        store.scope = scope
        await poller_actor(client=api, store=store, consumer=consumer)
    assert store.offset == 2


async def test_readiness_comes_after_reading_the_offset(autojump_clock: object) -> None:
    api = ScriptedApi([])
    store = MemoryOffsets(42)

    async def consumer(update: Update) -> None:
        pass

    async with trio.open_nursery() as nursery:
        await nursery.start(functools.partial(poller_actor, client=api, store=store, consumer=consumer))
        await trio.sleep(1)
        nursery.cancel_scope.cancel()
    assert api.requests[0][0] == 42


async def test_a_request_that_never_answers_is_abandoned_and_retried(autojump_clock: object) -> None:
    api = ScriptedApi([])  # every request hangs forever
    handled: list[int] = []
    await run_for(200, api, MemoryOffsets(), handled)
    times = [at for _, at, _ in api.requests]
    assert len(times) >= 2
    assert times[1] - times[0] == pytest.approx(30 + 60 + 1)  # poll_timeout + backstop, then 1 s backoff
