"""The pure outbox scheduler, driven by explicit clock values (no trio)."""

from __future__ import annotations

import pytest

from codexgram.backoff import exponential_backoff
from codexgram.telegram.outbox_queue import Lane, OutboxQueue, Pacing, QueuedItem

PRIVATE = 1001
OTHER = 1002
GROUP = -2001


def take_all(queue: OutboxQueue[str], now: float) -> list[QueuedItem[str]]:
    items = []
    while (item := queue.next_ready(now)) is not None:
        items.append(item)
    return items


def test_empty_queue_has_nothing_and_no_wakeup() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    assert queue.next_ready(0.0) is None
    assert queue.next_wakeup(0.0) is None
    assert len(queue) == 0


def test_sends_to_one_chat_are_paced_and_keep_their_order() -> None:
    queue: OutboxQueue[str] = OutboxQueue(Pacing(private_interval=1.0))
    for text in ("a", "b", "c"):
        queue.add(text, lane=Lane.SEND, chat_id=PRIVATE)
    first = queue.next_ready(0.0)
    assert first is not None
    assert first.payload == "a"
    # one in flight per chat: nothing else, and no wakeup until it settles
    assert queue.next_ready(5.0) is None
    assert queue.next_wakeup(0.0) is None
    queue.done(first)
    assert queue.next_wakeup(0.1) == pytest.approx(1.0)
    assert queue.next_ready(0.5) is None
    second = queue.next_ready(1.0)
    assert second is not None
    assert second.payload == "b"
    queue.done(second)
    third = queue.next_ready(2.0)
    assert third is not None
    assert third.payload == "c"
    queue.done(third)
    assert len(queue) == 0


def test_groups_are_paced_at_twenty_per_minute() -> None:
    queue: OutboxQueue[str] = OutboxQueue(Pacing(group_interval=3.0))
    queue.add("a", lane=Lane.SEND, chat_id=GROUP)
    queue.add("b", lane=Lane.SEND, chat_id=GROUP)
    first = queue.next_ready(10.0)
    assert first is not None
    queue.done(first)
    assert queue.next_ready(12.9) is None
    assert queue.next_wakeup(11.0) == pytest.approx(13.0)
    assert queue.next_ready(13.0) is not None


def test_different_chats_are_not_paced_against_each_other() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("a", lane=Lane.SEND, chat_id=PRIVATE)
    queue.add("b", lane=Lane.SEND, chat_id=OTHER)
    assert [item.payload for item in take_all(queue, 0.0)] == ["a", "b"]


def test_priority_sends_before_deletes_before_edits_and_callbacks_first() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("edit", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=("text", PRIVATE, 1))
    queue.add("delete", lane=Lane.DELETE, chat_id=PRIVATE)
    queue.add("send", lane=Lane.SEND, chat_id=PRIVATE)
    queue.add("callback", lane=Lane.CALLBACK, chat_id=None)
    order = []
    now = 0.0
    while len(queue):
        item = queue.next_ready(now)
        if item is None:
            wakeup = queue.next_wakeup(now)
            assert wakeup is not None
            now = wakeup
            continue
        order.append(item.payload)
        queue.done(item)
    assert order == ["callback", "send", "delete", "edit"]


def test_callback_answers_are_not_paced() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("send", lane=Lane.SEND, chat_id=PRIVATE)
    send = queue.next_ready(0.0)
    assert send is not None
    for index in range(5):
        queue.add(f"cb{index}", lane=Lane.CALLBACK, chat_id=None)
    answered = take_all(queue, 0.0)
    assert [item.payload for item in answered] == [f"cb{index}" for index in range(5)]


def test_pending_edits_of_one_message_coalesce_to_the_newest_text() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    key = ("text", PRIVATE, 7)
    queue.add("send", lane=Lane.SEND, chat_id=PRIVATE)
    send = queue.next_ready(0.0)
    assert send is not None
    for index in range(50):
        queue.add(f"v{index}", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key)
    assert queue.pending_count == 1
    queue.done(send)
    edit = queue.next_ready(1.0)
    assert edit is not None
    assert edit.payload == "v49"
    assert edit.all_payloads == [f"v{index}" for index in range(50)]


def test_an_edit_added_while_the_same_edit_is_in_flight_is_sent_after_it() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    key = ("text", PRIVATE, 7)
    queue.add("v1", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key)
    first = queue.next_ready(0.0)
    assert first is not None
    queue.add("v2", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key)
    queue.add("v3", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key)
    queue.done(first)
    second = queue.next_ready(1.0)
    assert second is not None
    assert second.payload == "v3"
    assert second.superseded == ["v2"]


def test_a_failed_edit_merges_with_a_newer_pending_edit() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    key = ("text", PRIVATE, 7)
    queue.add("old", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key)
    old = queue.next_ready(0.0)
    assert old is not None
    queue.add("new", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key)
    queue.retry_with_backoff(old, now=0.2)
    assert queue.pending_count == 1
    item = queue.next_ready(100.0)
    assert item is not None
    assert item.payload == "new"
    assert item.superseded == ["old"]


def test_remove_pending_takes_out_the_edits_of_a_deleted_message() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("edit", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=("text", PRIVATE, 7))
    queue.add("markup", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=("markup", PRIVATE, 7))
    removed = queue.remove_pending([("text", PRIVATE, 7), ("markup", PRIVATE, 7), ("text", PRIVATE, 8)])
    assert sorted(item.payload for item in removed) == ["edit", "markup"]
    assert len(queue) == 0


def test_chat_actions_coalesce_per_chat_and_skip_the_chat_pace() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("send", lane=Lane.SEND, chat_id=PRIVATE)
    send = queue.next_ready(0.0)
    assert send is not None
    queue.add("typing", lane=Lane.ACTION, chat_id=PRIVATE)
    queue.add("upload_document", lane=Lane.ACTION, chat_id=PRIVATE)
    action = queue.next_ready(0.0)
    assert action is not None
    assert action.payload == "upload_document"
    assert action.superseded == ["typing"]


def test_global_ceiling_limits_starts_per_window() -> None:
    queue: OutboxQueue[str] = OutboxQueue(Pacing(global_limit=3, global_window=1.0))
    for chat in range(1, 6):
        queue.add(f"m{chat}", lane=Lane.SEND, chat_id=chat)
    started = take_all(queue, 0.0)
    assert len(started) == 3
    for item in started:
        queue.done(item)
    assert queue.next_wakeup(0.5) == pytest.approx(1.0)
    assert queue.next_ready(0.99) is None
    assert len(take_all(queue, 1.0)) == 2


def test_edits_are_spread_out_and_leave_part_of_the_window_to_sends() -> None:
    queue: OutboxQueue[str] = OutboxQueue(Pacing(global_limit=5, global_window=1.0, edit_share=0.6))
    for chat in range(1, 11):  # ten chats streaming: more edits than the window allows
        queue.add(f"e{chat}", lane=Lane.EDIT, chat_id=chat, coalesce_key=("text", chat, 1))
    # one edit per global_window / global_limit, not all at the start of the window
    assert len(take_all(queue, 0.0)) == 1
    assert queue.next_wakeup(0.0) == pytest.approx(0.2)
    assert len(take_all(queue, 0.2)) == 1
    assert len(take_all(queue, 0.4)) == 1
    assert queue.next_wakeup(0.4) == pytest.approx(1.0)  # the edits' share (3 of 5) is used
    queue.add("answer", lane=Lane.SEND, chat_id=20)
    queue.add("delete", lane=Lane.DELETE, chat_id=21)
    # mid-window, a send and a delete start at once in the starts kept back from edits
    assert [item.payload for item in take_all(queue, 0.5)] == ["answer", "delete"]
    assert queue.next_ready(0.5) is None


def test_retry_after_pauses_only_that_chat_and_requeues_first() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("a", lane=Lane.SEND, chat_id=PRIVATE)
    queue.add("b", lane=Lane.SEND, chat_id=PRIVATE)
    first = queue.next_ready(0.0)
    assert first is not None
    queue.retry_after(first, now=0.1, seconds=7)
    queue.add("other", lane=Lane.SEND, chat_id=OTHER)
    other = queue.next_ready(0.2)
    assert other is not None
    assert other.payload == "other"
    assert queue.next_ready(7.0) is None
    assert queue.chat_paused_until(PRIVATE) == pytest.approx(7.1)
    retried = queue.next_ready(7.1)
    assert retried is not None
    assert retried.payload == "a"
    assert retried.attempts == 1


def test_retry_after_on_a_chatless_item_pauses_everything() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("cb", lane=Lane.CALLBACK, chat_id=None)
    callback = queue.next_ready(0.0)
    assert callback is not None
    queue.retry_after(callback, now=0.0, seconds=3)
    queue.add("send", lane=Lane.SEND, chat_id=PRIVATE)
    assert queue.next_ready(2.9) is None
    assert queue.next_wakeup(1.0) == pytest.approx(3.0)
    assert [item.payload for item in take_all(queue, 3.0)] == ["cb", "send"]


def test_retry_with_backoff_grows_and_is_capped() -> None:
    pacing = Pacing(backoff_base=0.5, backoff_cap=4.0)
    schedule = [exponential_backoff(n, base=0.5, cap=4.0) for n in range(0, 7)]
    assert schedule == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    queue: OutboxQueue[str] = OutboxQueue(pacing)
    queue.add("a", lane=Lane.SEND, chat_id=PRIVATE)
    now = 0.0
    delays = []
    for _ in range(5):
        wakeup = queue.next_wakeup(now)
        assert wakeup is not None
        now = max(now, wakeup)
        item = queue.next_ready(now)
        assert item is not None
        delays.append(queue.retry_with_backoff(item, now=now))
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_backoff_keeps_the_chat_order() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("a", lane=Lane.SEND, chat_id=PRIVATE)
    queue.add("b", lane=Lane.SEND, chat_id=PRIVATE)
    first = queue.next_ready(0.0)
    assert first is not None
    queue.retry_with_backoff(first, now=0.0)
    wakeup = queue.next_wakeup(0.0)
    assert wakeup is not None
    again = queue.next_ready(max(wakeup, 1.0))
    assert again is not None
    assert again.payload == "a"


def test_settling_an_item_twice_is_refused() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    queue.add("a", lane=Lane.SEND, chat_id=PRIVATE)
    item = queue.next_ready(0.0)
    assert item is not None
    queue.done(item)
    with pytest.raises(ValueError, match="not in flight"):
        queue.done(item)


def test_a_paced_item_needs_a_chat() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    with pytest.raises(ValueError, match="needs a chat id"):
        queue.add("a", lane=Lane.SEND, chat_id=None)


def test_idle_chats_are_forgotten_only_after_their_pace_is_over() -> None:
    queue: OutboxQueue[str] = OutboxQueue(Pacing(global_limit=1000))
    for chat in range(1, 101):
        queue.add("x", lane=Lane.SEND, chat_id=chat)
    for item in take_all(queue, 0.0):
        queue.done(item)
    # still within the pace: a new send to chat 1 must wait
    queue.add("y", lane=Lane.SEND, chat_id=1)
    assert queue.next_ready(0.5) is None
    again = queue.next_ready(1.0)
    assert again is not None
    queue.done(again)
    assert queue.next_ready(50.0) is None
    assert len(queue._chats) <= 1


def test_a_held_item_blocks_its_chat_only_until_released() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    held = queue.add("durable", lane=Lane.SEND, chat_id=PRIVATE, hold=True)
    queue.add("after it", lane=Lane.SEND, chat_id=PRIVATE)
    queue.add("other chat", lane=Lane.SEND, chat_id=OTHER)
    queue.add("callback", lane=Lane.CALLBACK, chat_id=None)
    assert [item.payload for item in take_all(queue, 0.0)] == ["callback", "other chat"]
    assert queue.next_wakeup(0.0) is None  # a hold ends by release, not by time
    queue.release(held)
    item = queue.next_ready(0.0)
    assert item is not None
    assert item.payload == "durable"
    queue.release(item)  # harmless once it is no longer held


def test_holds_add_up_when_held_edits_coalesce() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    key = ("text", PRIVATE, 1)
    first = queue.add("v1", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key, hold=True)
    second = queue.add("v2", lane=Lane.EDIT, chat_id=PRIVATE, coalesce_key=key, hold=True)
    assert first is second
    queue.release(first)
    assert queue.next_ready(0.0) is None
    queue.release(first)
    item = queue.next_ready(0.0)
    assert item is not None
    assert item.payload == "v2"


def test_only_paced_items_can_be_held() -> None:
    queue: OutboxQueue[str] = OutboxQueue()
    with pytest.raises(ValueError, match="never held"):
        queue.add("cb", lane=Lane.CALLBACK, chat_id=None, hold=True)
