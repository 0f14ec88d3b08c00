"""The keyed actor group: one actor per key, racing starts, idle retirement, crashes, parallel shutdown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import trio
import trio.testing

from codexgram.actors.actor_group import ActorGroup, actor_group_actor, open_actor_group
from codexgram.errors import ActorGone


class Echo:
    """A member's handle: ``tell`` queues a word; the actor appends ``(key, word)`` to ``seen``."""

    def __init__(self, key: str, send: trio.MemorySendChannel[str]) -> None:
        self.key = key
        self.send = send

    def tell(self, word: str) -> None:
        self.send.send_nowait(word)


def echo_actors(
    seen: list[tuple[str, str]],
    *,
    idle: float = 10.0,
    start_delay: float = 0.0,
    cleanup: float = 0.0,
    group_ref: list[ActorGroup[str, Echo]] | None = None,
) -> Callable[[str], Callable[..., Awaitable[None]]]:
    def make(key: str) -> Callable[..., Awaitable[None]]:
        async def actor(*, task_status: trio.TaskStatus[Echo]) -> None:
            if key == "broken":
                raise ValueError("cannot start")
            await trio.sleep(start_delay)
            send, receive = trio.open_memory_channel[str](10)
            handle = Echo(key, send)
            task_status.started(handle)
            try:
                while True:
                    with trio.move_on_after(idle):
                        word = await receive.receive()
                        if word == "crash":
                            raise RuntimeError("boom")
                        seen.append((key, word))
                        continue
                    # idle: retire unless a message slipped in
                    assert group_ref is not None
                    if receive.statistics().current_buffer_used == 0 and group_ref[0].retire(key, handle):
                        return
            finally:
                with trio.CancelScope(shield=True):
                    await trio.sleep(cleanup)
                seen.append((key, "stopped"))

        return actor

    return make


async def test_one_actor_per_key_even_when_two_start_it_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[tuple[str, str]] = []
    async with open_actor_group("echo", echo_actors(seen, start_delay=1.0)) as group:
        handles: list[Echo] = []

        async def get() -> None:
            handles.append(await group.get("a"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(get)
            nursery.start_soon(get)
        assert handles[0] is handles[1]
        assert group.started == 1
        handles[0].tell("hi")
        (await group.get("b")).tell("yo")
        await trio.testing.wait_all_tasks_blocked()
        assert sorted(seen) == [("a", "hi"), ("b", "yo")]
        assert sorted(group.keys()) == ["a", "b"]


async def test_an_idle_actor_retires_and_the_next_message_starts_a_new_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[tuple[str, str]] = []
    ref: list[ActorGroup[str, Echo]] = []
    async with open_actor_group("echo", echo_actors(seen, idle=5.0, group_ref=ref)) as group:
        ref.append(group)
        first = await group.get("a")
        first.tell("one")
        await trio.sleep(6)
        assert group.lookup("a") is None
        assert seen == [("a", "one"), ("a", "stopped")]
        second = await group.get("a")
        assert second is not first
        second.tell("two")
        await trio.testing.wait_all_tasks_blocked()
        assert seen[-1] == ("a", "two")
        assert group.started == 2


async def test_a_crash_is_contained_and_the_key_starts_afresh(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[tuple[str, str]] = []
    crashed: list[str] = []
    async with open_actor_group(
        "echo", echo_actors(seen), on_crash=lambda key, exc: crashed.append(f"{key}: {exc}")
    ) as group:
        (await group.get("a")).tell("crash")
        (await group.get("b")).tell("fine")
        await trio.testing.wait_all_tasks_blocked()
        assert crashed == ["a: boom"]
        assert group.lookup("a") is None
        assert ("b", "fine") in seen
        (await group.get("a")).tell("again")
        await trio.testing.wait_all_tasks_blocked()
        assert ("a", "again") in seen


async def test_a_start_failure_raises_from_get(autojump_clock: trio.testing.MockClock) -> None:
    async with open_actor_group("echo", echo_actors([])) as group:
        with pytest.raises(ValueError, match="cannot start"):
            await group.get("broken")
        assert group.lookup("broken") is None


async def test_shutdown_stops_every_member_in_parallel(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[tuple[str, str]] = []
    async with trio.open_nursery() as nursery:
        group: ActorGroup[str, Echo] = await nursery.start(
            actor_group_actor, "echo", echo_actors(seen, cleanup=2)
        )
        for key in ("a", "b", "c", "d"):
            await group.get(key)
        began = trio.current_time()
        nursery.cancel_scope.cancel()
    assert trio.current_time() - began == pytest.approx(2.0)  # one cleanup deadline, not four
    assert sorted(seen) == [(key, "stopped") for key in "abcd"]


async def test_get_after_shutdown_is_actor_gone(autojump_clock: trio.testing.MockClock) -> None:
    async with trio.open_nursery() as nursery:
        group: ActorGroup[str, Echo] = await nursery.start(actor_group_actor, "echo", echo_actors([]))
        nursery.cancel_scope.cancel()
    with pytest.raises(ActorGone):
        await group.get("a")


async def test_rename_moves_an_actor_to_its_new_key(autojump_clock: trio.testing.MockClock) -> None:
    seen: list[tuple[str, str]] = []
    async with open_actor_group("echo", echo_actors(seen)) as group:
        handle = await group.get("new:1")
        other = await group.get("b")
        assert group.rename("new:1", "real", handle)
        assert await group.get("real") is handle
        # A message addressed by the old key at the moment of the rename still reaches the actor.
        assert group.lookup("new:1") is handle
        assert await group.get("new:1") is handle
        assert sorted(group.keys()) == ["b", "real"]
        assert not group.rename("real", "b", handle)  # taken
        assert not group.rename("b", "c", handle)  # not that actor's key
        handle.tell("crash")
        await trio.testing.wait_all_tasks_blocked()
        assert group.lookup("real") is None  # forgotten under the key it had when it ended
        assert group.lookup("b") is other
        # Once the renamed actor has stopped, its old key is a key like any other (a new thread may take it).
        assert group.lookup("new:1") is None
        fresh = await group.get("new:1")
        assert fresh is not handle
        assert sorted(group.keys()) == ["b", "new:1"]
