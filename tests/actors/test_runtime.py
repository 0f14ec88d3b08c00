"""The actor runtime: Reply, ask, tell_nowait, open_mailbox, and the Supervisor's containment and shutdown."""

from __future__ import annotations

import functools
from typing import Any

import pytest
import trio
import trio.testing

from codexgram.actors.runtime import (
    Reply,
    Supervisor,
    ask,
    open_mailbox,
    tell_nowait,
    unwrapping_single_errors,
)
from codexgram.errors import ActorGone, MailboxFull

# --- actors used by the tests ------------------------------------------------------------------------------


async def echo_actor(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    """Answers every (text, reply) with text upper-cased; a request 'crash' makes it raise."""
    send, receive = open_mailbox(tuple, 8)
    task_status.started(send)
    async for text, reply in receive:
        if text == "crash":
            raise ValueError("asked to crash")
        reply.send(text.upper())


async def failing_before_start(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
    raise OSError("cannot open the thing this actor needs")


async def recording_actor(
    name: str, log: list[str], *, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED
) -> None:
    """Sleeps forever; on the way out does cleanup that needs a checkpoint (so it must be shielded)."""
    task_status.started(name)
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await trio.sleep(0.5)  # cleanup that takes time, e.g. flushing writes
            log.append(f"{name} cleaned up")


async def ask_echo(mailbox: Any, text: str) -> str:
    result: str = await ask(mailbox, lambda reply: (text, reply), timeout=5.0)
    return result


# --- Reply -------------------------------------------------------------------------------------------------


async def test_reply_delivers_a_value() -> None:
    reply: Reply[int] = Reply()
    reply.send(7)
    assert reply.answered
    assert await reply.wait() == 7


async def test_reply_delivers_an_error_as_a_raise() -> None:
    reply: Reply[int] = Reply()
    reply.fail(KeyError("nope"))
    with pytest.raises(KeyError, match="nope"):
        await reply.wait()


def test_reply_answered_twice_raises() -> None:
    reply: Reply[int] = Reply()
    reply.send(1)
    with pytest.raises(RuntimeError, match="answered twice"):
        reply.send(2)
    with pytest.raises(RuntimeError, match="answered twice"):
        reply.fail(ValueError("late"))


async def test_answering_after_the_asker_gave_up_is_harmless(autojump_clock: trio.abc.Clock) -> None:
    send, receive = open_mailbox(tuple, 4)
    with pytest.raises(trio.TooSlowError):
        await ask(send, lambda reply: ("late", reply), timeout=1.0)
    _, reply = receive.receive_nowait()
    reply.send("too late")  # must not raise: the asker is gone
    assert reply.answered


# --- ask / tell_nowait / open_mailbox ----------------------------------------------------------------------


async def test_ask_times_out_when_nobody_answers(autojump_clock: trio.abc.Clock) -> None:
    send, _receive = open_mailbox(tuple, 4)
    start = trio.current_time()
    with pytest.raises(trio.TooSlowError):
        await ask(send, lambda reply: ("hello", reply), timeout=3.0)
    assert trio.current_time() - start == pytest.approx(3.0)


async def test_ask_times_out_when_the_mailbox_stays_full(autojump_clock: trio.abc.Clock) -> None:
    send, _receive = open_mailbox(tuple, 1)
    send.send_nowait(("filler", Reply()))
    with pytest.raises(trio.TooSlowError):
        await ask(send, lambda reply: ("hello", reply), timeout=2.0)


async def test_ask_to_a_closed_mailbox_is_actor_gone() -> None:
    send, receive = open_mailbox(tuple, 4)
    receive.close()
    with pytest.raises(ActorGone):
        await ask(send, lambda reply: ("hello", reply), timeout=1.0)


async def test_ask_gets_actor_gone_when_the_reply_is_dropped_unanswered() -> None:
    send, receive = open_mailbox(tuple, 4)
    async with trio.open_nursery() as nursery:

        async def drop_it() -> None:
            _, reply = await receive.receive()
            reply._send.close()  # what happens when an actor dies holding the reply

        nursery.start_soon(drop_it)
        with pytest.raises(ActorGone):
            await ask(send, lambda reply: ("hello", reply), timeout=1.0)


def test_tell_nowait_full_and_closed() -> None:
    send, receive = open_mailbox(str, 1)
    tell_nowait(send, "one")
    with pytest.raises(MailboxFull):
        tell_nowait(send, "two")
    receive.close()
    with pytest.raises(ActorGone):
        tell_nowait(send, "three")


@pytest.mark.parametrize("size", [0, -1, float("inf")])
def test_mailboxes_are_bounded(size: float) -> None:
    with pytest.raises(ValueError, match="bounded"):
        open_mailbox(str, size)  # type: ignore[arg-type]


# --- Supervisor --------------------------------------------------------------------------------------------


async def test_start_returns_the_mailbox_and_registers_it() -> None:
    async with trio.open_nursery() as nursery:
        supervisor = Supervisor(nursery)
        mailbox = await supervisor.start("echo", echo_actor)
        assert supervisor.mailbox("echo") is mailbox
        assert supervisor.is_running("echo")
        assert await ask_echo(mailbox, "hi") == "HI"
        with pytest.raises(ValueError, match="already running"):
            await supervisor.start("echo", echo_actor)
        await supervisor.shutdown()
        assert not supervisor.is_running("echo")
        with pytest.raises(ActorGone):
            supervisor.mailbox("echo")


async def test_a_failure_before_start_raises_from_start() -> None:
    async with trio.open_nursery() as nursery:
        crashes: list[str] = []
        supervisor = Supervisor(nursery, on_crash=lambda name, _exc: crashes.append(name))
        with pytest.raises(OSError, match="cannot open"):
            await supervisor.start("broken", failing_before_start)
        assert not supervisor.is_running("broken")
        assert crashes == []  # not a crash: the caller got the error
        assert supervisor.crashes == []


async def test_a_crash_after_start_is_contained_and_reported() -> None:
    reported: list[tuple[str, BaseException]] = []
    async with trio.open_nursery() as nursery:
        supervisor = Supervisor(nursery, on_crash=lambda name, exc: reported.append((name, exc)))
        doomed = await supervisor.start("doomed", echo_actor)
        survivor = await supervisor.start("survivor", echo_actor)

        await doomed.send(("crash", Reply()))
        await trio.testing.wait_all_tasks_blocked()

        assert [name for name, _ in reported] == ["doomed"]
        assert isinstance(reported[0][1], ValueError)
        assert [name for name, _ in supervisor.crashes] == ["doomed"]
        assert not supervisor.is_running("doomed")
        # The other actor keeps serving, and the nursery (the bot) is still alive.
        assert supervisor.is_running("survivor")
        assert await ask_echo(survivor, "still here") == "STILL HERE"
        # The crashed one is gone for its senders.
        with pytest.raises(ActorGone):
            await ask_echo(doomed, "anyone?")
        # And it can be started again under the same name.
        again = await supervisor.start("doomed", echo_actor)
        assert await ask_echo(again, "back") == "BACK"
        await supervisor.shutdown()


async def test_shutdown_stops_newest_first_and_lets_cleanup_run(autojump_clock: trio.abc.Clock) -> None:
    log: list[str] = []
    async with trio.open_nursery() as nursery:
        supervisor = Supervisor(nursery)
        for name in ("repository", "outbox", "chat"):
            await supervisor.start(name, functools.partial(recording_actor, name, log))
        await supervisor.shutdown(timeout=5.0)
        assert log == ["chat cleaned up", "outbox cleaned up", "repository cleaned up"]
        assert not any(supervisor.is_running(name) for name in ("repository", "outbox", "chat"))


async def test_stop_gives_up_waiting_after_its_timeout(autojump_clock: trio.abc.Clock) -> None:
    async def stubborn(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(None)
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(100)

    async with trio.open_nursery() as nursery:
        supervisor = Supervisor(nursery)
        await supervisor.start("stubborn", stubborn)
        start = trio.current_time()
        await supervisor.stop("stubborn", timeout=2.0)
        assert trio.current_time() - start == pytest.approx(2.0)
        nursery.cancel_scope.cancel()


# --- unwrapping_single_errors ------------------------------------------------------------------------------


async def test_a_single_error_escaping_a_nursery_is_unwrapped() -> None:
    async def fail() -> None:
        raise KeyError("only one")

    async def run_a_failing_child() -> None:
        with unwrapping_single_errors():
            async with trio.open_nursery() as nursery:
                nursery.start_soon(fail)

    with pytest.raises(KeyError, match="only one"):
        await run_a_failing_child()


def test_nested_single_groups_are_unwrapped_and_the_cause_is_kept() -> None:
    cause = OSError("disk")
    error = ValueError("inner")
    error.__cause__ = cause
    with pytest.raises(ValueError, match="inner") as caught, unwrapping_single_errors():
        raise ExceptionGroup("outer", [ExceptionGroup("middle", [error])])
    assert caught.value.__cause__ is cause


def test_several_errors_stay_a_group() -> None:
    with pytest.raises(ExceptionGroup) as caught, unwrapping_single_errors():
        raise ExceptionGroup("two", [ValueError("a"), KeyError("b")])
    assert len(caught.value.exceptions) == 2
