"""Run the outbox actor for the length of an ``async with`` block, for tests and benchmarks."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio

from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.messages import OutboxRequest
from codexgram.telegram.outbox_ports import OutboxBotApi, OutboxStore


@asynccontextmanager
async def running_outbox(
    client: OutboxBotApi, store: OutboxStore | None = None, **settings: Any
) -> AsyncIterator[trio.MemorySendChannel[OutboxRequest]]:
    """Start the outbox actor on ``client`` (``settings``: :class:`OutboxSettings` fields) in a nursery of
    its own and yield its mailbox. Leaving the block cancels the actor. The caller owns ``client`` and
    ``store`` and closes them after the block."""
    async with trio.open_nursery() as nursery:
        actor = functools.partial(
            outbox_actor, client=client, store=store, settings=OutboxSettings(**settings)
        )
        mailbox: trio.MemorySendChannel[OutboxRequest] = await nursery.start(actor)
        try:
            yield mailbox
        finally:
            nursery.cancel_scope.cancel()
