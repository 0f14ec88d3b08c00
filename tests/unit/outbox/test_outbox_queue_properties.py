"""Invariants of the outbox scheduler under arbitrary traffic, clock steps and failures (hypothesis)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from codexgram.telegram.outbox_queue import PACED_LANES, Lane, OutboxQueue, Pacing, QueuedItem

CHATS = [11, 12, 13, -21]
PACING = Pacing(private_interval=1.0, group_interval=3.0, global_limit=3, global_window=1.0, backoff_cap=8.0)


@attrs.frozen
class Payload:
    number: int
    lane: Lane
    chat_id: int | None
    key: tuple[str, int, int] | None


add_op = st.tuples(
    st.just("add"),
    st.sampled_from(list(Lane)),
    st.sampled_from(CHATS),
    st.integers(min_value=1, max_value=2),  # message id, for edit coalescing
    st.booleans(),  # held (a durable request whose row is being written), for paced lanes
)
tick_op = st.tuples(st.just("tick"), st.floats(min_value=0.0, max_value=2.5, allow_nan=False))
settle_op = st.tuples(st.just("settle"), st.sampled_from(["done", "done", "done", "retry_after", "backoff"]))
release_op = st.tuples(st.just("release"))
operations = st.lists(st.one_of(add_op, tick_op, settle_op, release_op), max_size=120)


@settings(max_examples=300, deadline=None)
@given(operations)
def test_pacing_order_coalescing_and_nothing_lost(ops: list[tuple[object, ...]]) -> None:
    queue: OutboxQueue[Payload] = OutboxQueue(PACING)
    now = 0.0
    counter = 0
    added: list[Payload] = []
    in_flight: list[QueuedItem[Payload]] = []
    paced_starts: dict[int, list[float]] = defaultdict(list)
    all_starts: list[float] = []
    edit_starts: list[float] = []
    delivered: list[QueuedItem[Payload]] = []
    last_added_for_key: dict[tuple[str, int, int], Payload] = {}
    holds: list[QueuedItem[Payload]] = []  # one entry per hold not yet released

    def start_ready() -> None:
        while (item := queue.next_ready(now)) is not None:
            assert item.holds == 0, "a held item was started"
            if item.lane in PACED_LANES:
                assert item.chat_id is not None
                # at most one paced call in flight per chat
                assert all(
                    other.chat_id != item.chat_id or other.lane not in PACED_LANES for other in in_flight
                )
                paced_starts[item.chat_id].append(now)
                all_starts.append(now)
                if item.lane is Lane.EDIT:
                    edit_starts.append(now)
            in_flight.append(item)

    def settle(item: QueuedItem[Payload], how: str) -> None:
        if how == "done":
            queue.done(item)
            delivered.append(item)
        elif how == "retry_after":
            queue.retry_after(item, now=now, seconds=2)
        else:
            queue.retry_with_backoff(item, now=now)

    for op in ops:
        if op[0] == "add":
            _, lane, chat, message_id, held = op
            assert isinstance(lane, Lane)
            assert isinstance(chat, int)
            assert isinstance(message_id, int)
            chat_id = None if lane is Lane.CALLBACK else chat
            key = ("text", chat, message_id) if lane is Lane.EDIT else None
            counter += 1
            payload = Payload(counter, lane, chat_id, key)
            added.append(payload)
            if key is not None:
                last_added_for_key[key] = payload
            hold = bool(held) and lane in PACED_LANES
            item = queue.add(payload, lane=lane, chat_id=chat_id, coalesce_key=key, hold=hold)
            if hold:
                holds.append(item)
        elif op[0] == "release":
            if holds:
                queue.release(holds.pop(0))
        elif op[0] == "tick":
            step = op[1]
            assert isinstance(step, float)
            now += step
        elif in_flight:
            how = op[1]
            assert isinstance(how, str)
            settle(in_flight.pop(0), how)
        start_ready()

    # drain: everything in flight succeeds, time advances to each wakeup
    for item in holds:
        queue.release(item)
    for _ in range(10_000):
        while in_flight:
            settle(in_flight.pop(0), "done")
        start_ready()
        if not in_flight:
            wakeup = queue.next_wakeup(now)
            if wakeup is None:
                break
            assert wakeup > now
            now = wakeup
            start_ready()
    assert len(queue) == 0

    # nothing lost, nothing delivered twice
    delivered_payloads = [payload for item in delivered for payload in item.all_payloads]
    assert sorted(p.number for p in delivered_payloads) == [p.number for p in added]

    # coalescing: a delivered edit carries the newest of the texts it stands for, and each message's last
    # text is delivered as a payload
    for item in delivered:
        assert item.payload.number == max(p.number for p in item.all_payloads)
    sent_payloads = {item.payload.number for item in delivered}
    for payload in last_added_for_key.values():
        assert payload.number in sent_payloads

    # pacing: per chat, paced starts are at least the chat's interval apart
    for chat_id, starts in paced_starts.items():
        interval = PACING.interval_for(chat_id)
        for earlier, later in itertools.pairwise(starts):
            assert later - earlier >= interval - 1e-9

    # global ceiling: never more than global_limit paced starts inside one window
    for index, start in enumerate(all_starts):
        inside = [s for s in all_starts[index:] if s < start + PACING.global_window]
        assert len(inside) <= PACING.global_limit
    # edits are spread out, and leave part of every window to sends and deletes
    for earlier, later in itertools.pairwise(edit_starts):
        assert later - earlier >= PACING.global_window / PACING.global_limit - 1e-9
    for index, start in enumerate(edit_starts):
        inside = [s for s in edit_starts[index:] if s < start + PACING.global_window]
        assert len(inside) <= PACING.edit_limit

    # order: sends of one chat are delivered in the order they were added
    sends_by_chat: dict[int | None, list[int]] = defaultdict(list)
    for item in delivered:
        if item.lane is Lane.SEND:
            sends_by_chat[item.chat_id].append(item.payload.number)
    for numbers in sends_by_chat.values():
        assert numbers == sorted(numbers)
