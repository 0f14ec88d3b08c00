"""Helpers of the Codex link: per-thread delivery without blocking, declines.

The central rule is that the link's socket reader never awaits a thread's mailbox: one slow thread must not
stall every other thread, the answers to pending calls, and trio-websocket's ping handling.
:class:`ThreadRoute` is the one place that decides what happens when a thread's mailbox is full:

1. The mailbox has room and nothing is queued ahead: the event is delivered at once (``send_nowait``).
2. Otherwise *deltas* (``item/agentMessage/delta``, output and reasoning deltas) are dropped and counted: the
   ``item/completed`` that follows carries the full text, so a slow thread loses smoothness, not content.
3. Other notifications ("structural": items started and completed, turn and thread status) go to a small
   bounded overflow queue that a per-thread forwarding task drains with ``await mailbox.send``, in order.
4. If the overflow is full too, its notifications are discarded and the thread gets one
   :class:`CodexEventsLost` (with the count) as soon as its mailbox has room, so it can re-read the thread
   (``thread/read``).
   Notifications arriving until that marker is delivered are counted into it, not queued.

Server requests and the link's own ``CodexDisconnected`` / ``CodexReconnected`` are *essential*: they are
queued even beyond the overflow limit, because losing them would leave a turn waiting forever. They are few by
nature (codex blocks a turn on each request), so this does not make the queue unbounded in practice.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import trio

from codexgram.messages import (
    CodexDisconnected,
    CodexEvent,
    CodexEventsLost,
    CodexReconnected,
    ThreadEvent,
)

log = logging.getLogger(__name__)

# Notifications whose content is repeated in full by a later notification (the completed item), so they may be
# dropped for a thread whose mailbox is full.
DROPPABLE_NOTIFICATIONS = frozenset(
    {
        "item/agentMessage/delta",
        "item/plan/delta",
        "item/commandExecution/outputDelta",
        "item/fileChange/outputDelta",
        "item/reasoning/summaryTextDelta",
        "item/reasoning/textDelta",
        "command/exec/outputDelta",
        "process/outputDelta",
    }
)

# Server requests a ThreadActor answers; every other one is declined by the link at once.
HANDLED_SERVER_REQUESTS = frozenset(
    {"item/commandExecution/requestApproval", "item/fileChange/requestApproval"}
)

# The answer that says "no" in each request's own terms (codex-cli 0.169.0 schemas). Requests not listed get a
# JSON-RPC error, which codex reports as a failed tool call.
_DECLINE_RESULTS: Mapping[str, Mapping[str, Any]] = {
    "item/commandExecution/requestApproval": {"decision": "decline"},
    "item/fileChange/requestApproval": {"decision": "decline"},
    "item/permissions/requestApproval": {"permissions": {}, "scope": "turn"},  # grant nothing
    "mcpServer/elicitation/request": {"action": "decline"},
    "execCommandApproval": {"decision": "denied"},  # legacy v1 requests
    "applyPatchApproval": {"decision": "denied"},
}

UNSUPPORTED_REQUEST_CODE = -32601  # JSON-RPC "method not found": we do not implement it


def decline_for(method: str) -> tuple[Mapping[str, Any] | None, str]:
    """How to decline server request ``method``: ``(result, why)`` or, when there is no "no" result in the
    protocol, ``(None, message)`` to send as a JSON-RPC error."""
    result = _DECLINE_RESULTS.get(method)
    if result is not None:
        return result, f"declined {method}"
    return None, f"codexgram does not support the server request {method}"


class Delivery(enum.Enum):
    DELIVERED = "delivered"
    QUEUED = "queued"
    DROPPED = "dropped"
    GONE = "gone"  # the mailbox is closed: the thread actor stopped


class Urgency(enum.Enum):
    DROPPABLE = "droppable"
    STRUCTURAL = "structural"
    ESSENTIAL = "essential"


def urgency_of_notification(method: str) -> Urgency:
    return Urgency.DROPPABLE if method in DROPPABLE_NOTIFICATIONS else Urgency.STRUCTURAL


def default_urgency(event: ThreadEvent) -> Urgency:
    """Notifications are structural unless the caller knows better; the link's own messages are essential."""
    if isinstance(event, CodexEvent | CodexEventsLost):
        return Urgency.STRUCTURAL
    return Urgency.ESSENTIAL


GoneHandler = Callable[["ThreadRoute", list[ThreadEvent]], None]


class ThreadRoute:
    """Delivery to one subscribed thread's mailbox; :meth:`offer` never blocks.

    Resource handling: :meth:`forward` is the route's forwarding task (run it in the link's nursery); it
    ends when :meth:`close` is called or the mailbox is closed. The route never closes the mailbox (it is the
    thread actor's). Error handling: a closed mailbox makes the route *gone*; ``on_gone`` receives the route
    and the events it could not deliver (so the link can decline the server requests among them).
    """

    def __init__(
        self,
        thread_id: str,
        mailbox: trio.MemorySendChannel[ThreadEvent],
        *,
        overflow_limit: int,
        on_gone: GoneHandler,
    ) -> None:
        self.thread_id = thread_id
        self.mailbox = mailbox
        self.overflow_limit = overflow_limit
        self._on_gone = on_gone
        self._queue: deque[tuple[ThreadEvent, Urgency]] = deque()
        self._in_flight: tuple[ThreadEvent, Urgency] | None = None  # the head the forwarder is sending
        self._queued_structural = 0
        self._lost = 0
        self._wake = trio.Event()
        self._closed = False
        self._forwarder_scope = trio.CancelScope()
        self.gone = False
        self.dropped_deltas = 0
        self.lost_total = 0
        self.disconnected = False  # told CodexDisconnected and not yet CodexReconnected

    def __repr__(self) -> str:
        return (
            f"<ThreadRoute {self.thread_id} queued={len(self._queue)} lost={self._lost} "
            f"dropped_deltas={self.dropped_deltas} gone={self.gone}>"
        )

    @property
    def backlog(self) -> int:
        """Events waiting for the forwarder (not counting a pending ``CodexEventsLost``)."""
        return len(self._queue)

    def offer(self, event: ThreadEvent, urgency: Urgency | None = None) -> Delivery:
        """Deliver ``event`` now, queue it, or drop it (see the module docstring). Never blocks.

        ``urgency`` defaults to :func:`default_urgency`; the link passes ``DROPPABLE`` for deltas.
        """
        if self.gone or self._closed:
            return Delivery.GONE
        if isinstance(event, CodexDisconnected):
            self.disconnected = True
        elif isinstance(event, CodexReconnected):
            self.disconnected = False
        if urgency is None:
            urgency = default_urgency(event)
        if not self._queue and not self._lost:
            try:
                self.mailbox.send_nowait(event)
            except trio.WouldBlock:
                pass
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.gone = True
                return Delivery.GONE
            else:
                return Delivery.DELIVERED
        return self._enqueue(event, urgency)

    def _enqueue(self, event: ThreadEvent, urgency: Urgency) -> Delivery:
        if urgency is Urgency.DROPPABLE:
            self.dropped_deltas += 1
            if self.dropped_deltas == 1 or self.dropped_deltas % 1000 == 0:
                log.info("thread %s is slow: %d delta(s) dropped so far", self.thread_id, self.dropped_deltas)
            return Delivery.DROPPED
        if urgency is Urgency.STRUCTURAL:
            if self._lost:
                self._lost += 1
                self.lost_total += 1
                return Delivery.DROPPED
            if self._queued_structural >= self.overflow_limit:
                self._discard_structural()
                self._lost += 1
                self.lost_total += 1
                self._wake.set()
                return Delivery.DROPPED
            self._queued_structural += 1
        self._queue.append((event, urgency))
        self._wake.set()
        return Delivery.QUEUED

    def _discard_structural(self) -> None:
        # The head the forwarder is already sending will arrive: it is not lost, so keep it.
        kept = deque(item for item in self._queue if item[1] is Urgency.ESSENTIAL or item is self._in_flight)
        discarded = len(self._queue) - len(kept)
        self._queue = kept
        self._queued_structural = sum(1 for item in kept if item[1] is Urgency.STRUCTURAL)
        self._lost += discarded
        self.lost_total += discarded
        log.warning(
            "thread %s: mailbox full and overflow of %d exceeded; events lost, the thread will re-read",
            self.thread_id,
            self.overflow_limit,
        )

    def close(self) -> None:
        """Stop forwarding (unsubscribe). Queued events are dropped; the forwarder ends at once, even when
        it was waiting for room in the mailbox."""
        self._closed = True
        self._queue.clear()
        self._forwarder_scope.cancel()

    async def forward(self) -> None:
        """Drain the overflow into the mailbox, in order, waiting for room. Runs until closed or gone."""
        with self._forwarder_scope:
            await self._forward()

    async def _forward(self) -> None:
        while not self._closed:
            await self._wake.wait()
            self._wake = trio.Event()
            try:
                while not self._closed and (self._lost or self._queue):
                    if self._lost:
                        count = self._lost
                        await self.mailbox.send(CodexEventsLost(count=count))
                        self._lost -= count  # notifications counted while we waited stay for the next marker
                        continue
                    head = self._in_flight = self._queue[0]
                    try:
                        await self.mailbox.send(head[0])
                    finally:
                        self._in_flight = None
                    if self._queue and self._queue[0] is head:  # close() may have cleared the queue
                        self._queue.popleft()
                        if head[1] is Urgency.STRUCTURAL:
                            self._queued_structural -= 1
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self.gone = True
                leftover = [event for event, _ in self._queue]
                self._queue.clear()
                self._on_gone(self, leftover)
                return
