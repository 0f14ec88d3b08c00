"""The outbox scheduler as plain data: what to send next, and when, under Telegram's flood limits.

Pure: no trio, no httpx, no clock of its own. Every method that depends on time takes ``now`` (seconds, any
monotonic origin), so the actor passes ``trio.current_time()`` and the tests pass numbers.

Rules it enforces (see docs/outbox-and-polling.md):

- **Lanes** give the priority: callback answers first, then sends, then deletes, then edits, then chat
  actions. Within a lane, first in first out (by a sequence number that survives a retry).
- **Per-chat pacing**: sends, deletes and edits of one chat start at least ``private_interval`` seconds apart
  (``group_interval`` for groups and channels, whose chat ids are negative), and at most one of them is in
  flight per chat at a time, so several sends to one chat keep their order.
- **Global ceiling**: at most ``global_limit`` paced calls start in any ``global_window`` seconds. Edits get
  ``edit_limit`` of them, one per ``global_window / global_limit`` at most: else many streaming chats take
  every start the moment the window frees and a send waits up to a window (bench/telegram_outbox.py).
- **Unpaced lanes**: callback answers are never paced (the user's spinner waits on them); chat actions skip
  the per-chat pace (Telegram does not count them as messages) and are coalesced to one pending per chat.
- **Coalescing**: an item added with the ``coalesce_key`` of a pending item replaces that item's payload and
  keeps its place in the queue; the replaced payloads are kept in ``superseded`` so nothing is lost silently.
- **Holds**: an item added with ``hold=True`` keeps its place but neither it nor anything after it in its
  chat starts until :meth:`OutboxQueue.release` (the actor holds a durable request while its row is written).
- **Pauses**: a 429 pauses the item's chat (or everything, for an item with no chat) until ``now +
  retry_after``; a retryable failure (5xx, network) pauses the chat for a capped exponential backoff. Either
  way the item goes back to the queue with its old sequence number, so it is still first in its chat.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Hashable, Iterable, Iterator
from typing import Generic, TypeVar

import attrs

from codexgram.backoff import exponential_backoff

P = TypeVar("P")


class Lane(enum.IntEnum):
    """Priority of an item: lower goes first."""

    CALLBACK = 0
    SEND = 1
    DELETE = 2
    EDIT = 3
    ACTION = 4


PACED_LANES = frozenset({Lane.SEND, Lane.DELETE, Lane.EDIT})


@attrs.frozen(kw_only=True)
class Pacing:
    """The limits the scheduler keeps; defaults stay under Telegram's (~1/s a chat, 20/min groups, 30/s)."""

    private_interval: float = 1.0
    group_interval: float = 3.0
    global_limit: int = 25
    global_window: float = 1.0
    edit_share: float = 0.8  # of global_limit; the rest of the window is kept for sends and deletes
    backoff_base: float = 0.5
    backoff_cap: float = 30.0

    def interval_for(self, chat_id: int) -> float:
        """Private chats have positive ids; groups, supergroups and channels negative ones."""
        return self.private_interval if chat_id > 0 else self.group_interval

    @property
    def edit_limit(self) -> int:
        """How many of the ``global_limit`` starts in a window edits may take (at least one)."""
        return max(1, int(self.global_limit * self.edit_share))


@attrs.define(eq=False, kw_only=True)
class QueuedItem(Generic[P]):
    """One call to make. ``superseded`` holds payloads that coalescing replaced by ``payload``."""

    seq: int
    lane: Lane
    chat_id: int | None
    coalesce_key: Hashable | None
    payload: P
    superseded: list[P] = attrs.field(factory=list)
    attempts: int = 0
    not_before: float = float("-inf")
    holds: int = 0  # while above 0 the item may not start, nor anything after it in its chat

    @property
    def all_payloads(self) -> list[P]:
        """Everything this item stands for: the payloads it replaced, then its own."""
        return [*self.superseded, self.payload]


@attrs.define(kw_only=True)
class _ChatState(Generic[P]):
    pending: list[QueuedItem[P]] = attrs.field(factory=list)  # paced lanes only
    action: QueuedItem[P] | None = None
    busy: bool = False  # a paced item of this chat is in flight
    action_busy: bool = False
    last_start: float = float("-inf")
    paused_until: float = float("-inf")

    def head(self) -> QueuedItem[P] | None:
        if not self.pending:
            return None
        return min(self.pending, key=lambda item: (item.lane, item.seq))

    def idle(self) -> bool:
        return not self.pending and self.action is None and not self.busy and not self.action_busy


class OutboxQueue(Generic[P]):
    """The scheduler's state. Single-threaded; the caller serialises access (one trio task at a time)."""

    def __init__(self, pacing: Pacing | None = None) -> None:
        self.pacing = pacing or Pacing()
        self._seq = 0
        self._chats: dict[int, _ChatState[P]] = {}
        self._callbacks: deque[QueuedItem[P]] = deque()
        self._by_key: dict[Hashable, QueuedItem[P]] = {}
        self._starts: deque[float] = deque()  # start times of paced calls inside the global window
        self._last_edit_start = float("-inf")
        self._global_paused_until = float("-inf")
        self._in_flight: set[int] = set()  # id() of items handed out and not yet settled

    def __repr__(self) -> str:
        return f"<OutboxQueue pending={self.pending_count} in_flight={len(self._in_flight)}>"

    # --- adding ------------------------------------------------------------------------------------------

    def add(
        self,
        payload: P,
        *,
        lane: Lane,
        chat_id: int | None,
        coalesce_key: Hashable | None = None,
        hold: bool = False,
    ) -> QueuedItem[P]:
        """Queue ``payload``; if a pending item has the same ``coalesce_key``, replace its payload instead.

        Chat actions are always coalesced per chat. Returns the item that now carries the payload.
        With ``hold`` the item keeps its place but does not start (nor does anything after it in its chat)
        until :meth:`release`: the actor holds a durable request while its row is being written.
        """
        if lane is not Lane.CALLBACK and chat_id is None:
            raise ValueError(f"a {lane.name} item needs a chat id")
        if hold and lane not in PACED_LANES:
            raise ValueError(f"{lane.name} items are never held")
        if lane is Lane.ACTION:
            assert chat_id is not None
            coalesce_key = ("action", chat_id)
        if coalesce_key is not None:
            existing = self._by_key.get(coalesce_key)
            if existing is not None:
                existing.superseded.append(existing.payload)
                existing.payload = payload
                existing.holds += hold
                return existing
        self._seq += 1
        item = QueuedItem(
            seq=self._seq,
            lane=lane,
            chat_id=chat_id,
            coalesce_key=coalesce_key,
            payload=payload,
            holds=int(hold),
        )
        self._enqueue(item)
        return item

    def _enqueue(self, item: QueuedItem[P]) -> None:
        if item.coalesce_key is not None:
            existing = self._by_key.get(item.coalesce_key)
            if existing is not None:
                # A newer item for the same key arrived while this one was in flight: the newer payload wins,
                # the older position (sequence number) is kept.
                existing.superseded[:0] = item.all_payloads
                existing.seq = min(existing.seq, item.seq)
                existing.attempts = max(existing.attempts, item.attempts)
                existing.holds += item.holds
                return
            self._by_key[item.coalesce_key] = item
        if item.lane is Lane.CALLBACK:
            self._callbacks.append(item)
            return
        assert item.chat_id is not None
        chat = self._chats.setdefault(item.chat_id, _ChatState())
        if item.lane is Lane.ACTION:
            chat.action = item
        else:
            chat.pending.append(item)

    def release(self, item: QueuedItem[P]) -> None:
        """Lift one hold (see :meth:`add`). Harmless for an item no longer queued."""
        item.holds = max(0, item.holds - 1)

    def remove_pending(self, keys: Iterable[Hashable]) -> list[QueuedItem[P]]:
        """Take the pending items with these coalesce keys out (e.g. the edits of a message being deleted)."""
        removed: list[QueuedItem[P]] = []
        for key in keys:
            item = self._by_key.pop(key, None)
            if item is None:
                continue
            removed.append(item)
            self._unlink(item)
        return removed

    # --- choosing ------------------------------------------------------------------------------------------

    def _prune_window(self, now: float) -> None:
        horizon = now - self.pacing.global_window
        while self._starts and self._starts[0] <= horizon:
            self._starts.popleft()

    def _window_free_at(self, now: float, lane: Lane) -> float:
        """When the global ceiling next lets a call of ``lane`` start (-inf: now). Edits are spread out and
        kept to their share, so that a send finds a start free at any time."""
        self._prune_window(now)
        limit = self.pacing.edit_limit if lane is Lane.EDIT else self.pacing.global_limit
        free = self._starts[-limit] + self.pacing.global_window if len(self._starts) >= limit else -math.inf
        if lane is Lane.EDIT:
            free = max(free, self._last_edit_start + self.pacing.global_window / self.pacing.global_limit)
        return free

    def _paced_ready_at(self, chat_id: int, chat: _ChatState[P]) -> float:
        return max(
            chat.paused_until,
            chat.last_start + self.pacing.interval_for(chat_id),
            self._global_paused_until,
        )

    def next_ready(self, now: float) -> QueuedItem[P] | None:
        """The item to start now, or None. The item is marked in flight: settle it with exactly one of
        :meth:`done`, :meth:`retry_after` or :meth:`retry_with_backoff`."""
        if len(self._chats) > 64:
            self._prune_idle_chats(now)
        best: QueuedItem[P] | None = None
        global_open = now >= self._global_paused_until
        if global_open:
            for callback in self._callbacks:
                if callback.not_before <= now:
                    best = callback
                    break
        if best is None and global_open:
            window_open = self._window_free_at(now, Lane.SEND) <= now
            edits_open = self._window_free_at(now, Lane.EDIT) <= now
            for chat_id, chat in self._chats.items():
                if (
                    window_open
                    and not chat.busy
                    and chat.pending
                    and self._paced_ready_at(chat_id, chat) <= now
                ):
                    head = chat.head()
                    assert head is not None
                    if head.holds:
                        pass  # its row is being written; the chat waits for it (order)
                    elif head.lane is Lane.EDIT and not edits_open:
                        pass  # the rest of the window is kept for sends and deletes
                    elif best is None or (head.lane, head.seq) < (best.lane, best.seq):
                        best = head
                if (
                    best is None
                    and chat.action is not None
                    and not chat.action_busy
                    and chat.paused_until <= now
                ):
                    best = chat.action
        if best is None:
            return None
        self._take(best, now)
        return best

    def _take(self, item: QueuedItem[P], now: float) -> None:
        if item.coalesce_key is not None:
            del self._by_key[item.coalesce_key]
        self._in_flight.add(id(item))
        chat = self._unlink(item)
        if chat is None:
            return
        if item.lane is Lane.ACTION:
            chat.action_busy = True
            return
        chat.busy = True
        chat.last_start = now
        self._starts.append(now)
        if item.lane is Lane.EDIT:
            self._last_edit_start = now

    def _unlink(self, item: QueuedItem[P]) -> _ChatState[P] | None:
        """Take a pending item out of its lane: the callback list, or its chat's action slot or pending
        list. Returns that chat (``None`` for a callback)."""
        if item.lane is Lane.CALLBACK:
            self._callbacks.remove(item)
            return None
        assert item.chat_id is not None
        chat = self._chats[item.chat_id]
        if item.lane is Lane.ACTION:
            chat.action = None
        else:
            chat.pending.remove(item)
        return chat

    def next_wakeup(self, now: float) -> float | None:
        """When :meth:`next_ready` may next return an item, if nothing else changes; None if nothing is
        waiting on time (the queue is empty, or only items blocked behind calls in flight remain)."""
        times: list[float] = []
        if self._callbacks:
            times.append(max(self._global_paused_until, min(c.not_before for c in self._callbacks)))
        window_free = self._window_free_at(now, Lane.SEND)
        edits_free = self._window_free_at(now, Lane.EDIT)
        for chat_id, chat in self._chats.items():
            head = chat.head()
            if head is not None and not head.holds and not chat.busy:
                free = edits_free if head.lane is Lane.EDIT else window_free
                times.append(max(self._paced_ready_at(chat_id, chat), free))
            if chat.action is not None and not chat.action_busy:
                times.append(max(chat.paused_until, self._global_paused_until))
        return min(times) if times else None

    # --- settling ------------------------------------------------------------------------------------------

    def _release(self, item: QueuedItem[P]) -> None:
        if id(item) not in self._in_flight:
            raise ValueError("this item is not in flight")
        self._in_flight.discard(id(item))
        if item.chat_id is not None and item.lane is not Lane.CALLBACK:
            chat = self._chats[item.chat_id]
            if item.lane is Lane.ACTION:
                chat.action_busy = False
            else:
                chat.busy = False

    def done(self, item: QueuedItem[P]) -> None:
        """The call finished (success, or a failure that retrying cannot fix)."""
        self._release(item)

    def retry_after(self, item: QueuedItem[P], *, now: float, seconds: float) -> None:
        """A 429: pause the item's chat (everything, if it has none) for ``seconds`` and queue it again."""
        self._release(item)
        until = now + max(0.0, seconds)
        if item.chat_id is None or item.lane is Lane.CALLBACK:
            self._global_paused_until = max(self._global_paused_until, until)
        else:
            chat = self._chats[item.chat_id]
            chat.paused_until = max(chat.paused_until, until)
        item.attempts += 1
        self._enqueue(item)

    def retry_with_backoff(self, item: QueuedItem[P], *, now: float) -> float:
        """A retryable failure (5xx, network): queue it again after a capped backoff; returns the delay."""
        self._release(item)
        item.attempts += 1
        delay = exponential_backoff(item.attempts, base=self.pacing.backoff_base, cap=self.pacing.backoff_cap)
        if item.chat_id is None or item.lane is Lane.CALLBACK:
            item.not_before = now + delay
        else:
            # Pausing the whole chat (not only the item) keeps the chat's order: nothing overtakes it.
            chat = self._chats[item.chat_id]
            chat.paused_until = max(chat.paused_until, now + delay)
        self._enqueue(item)
        return delay

    def _prune_idle_chats(self, now: float) -> None:
        """Forget chats with nothing queued whose pace and pause are over (their state no longer matters)."""
        stale = [
            chat_id
            for chat_id, chat in self._chats.items()
            if chat.idle() and chat.paused_until <= now and self._paced_ready_at(chat_id, chat) <= now
        ]
        for chat_id in stale:
            del self._chats[chat_id]

    # --- inspection ----------------------------------------------------------------------------------------

    @property
    def pending_count(self) -> int:
        paced = sum(len(chat.pending) + (chat.action is not None) for chat in self._chats.values())
        return paced + len(self._callbacks)

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    def __len__(self) -> int:
        return self.pending_count + self.in_flight_count

    def pending_items(self) -> Iterator[QueuedItem[P]]:
        """Every pending item (not those in flight), in no particular order."""
        yield from self._callbacks
        for chat in self._chats.values():
            yield from chat.pending
            if chat.action is not None:
                yield chat.action

    def chat_paused_until(self, chat_id: int) -> float:
        chat = self._chats.get(chat_id)
        return max(self._global_paused_until, chat.paused_until if chat else float("-inf"))
