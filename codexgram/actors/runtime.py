"""The actor runtime: one-shot replies, bounded mailboxes, and a supervisor that contains failures.

An *actor* is an async function ``actor(*, task_status)`` that opens its own bounded mailbox, reports it with
``task_status.started(send_channel)``, and then serves messages until its mailbox ends or it is cancelled.
A request that needs an answer carries a :class:`Reply`; the caller awaits :func:`ask`.

The :class:`Supervisor` owns the root nursery. It starts actors with ``nursery.start`` (so a caller knows the
actor is ready), keeps a registry of their mailboxes by name, and *contains* a failure: an actor that crashes
after it started is logged and reported through ``on_crash``, and the rest of the bot keeps running. An actor
that fails before it reports readiness makes ``start`` raise, because then the caller cannot go on.

Shutdown (:meth:`Supervisor.shutdown`) stops actors in the reverse order of their start: each actor's
cancel scope is cancelled and its ``finally`` blocks do their shielded cleanup (the repository drains its
mailbox, the outbox persists what is unsent). So the repository, started first, is stopped last and every
write sent to it lands.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

import attrs
import outcome
import trio

from codexgram.errors import ActorGone, MailboxFull

log = logging.getLogger(__name__)

T = TypeVar("T")
M = TypeVar("M")

DEFAULT_MAILBOX_SIZE = 256


class Reply(Generic[T]):
    """A one-shot reply channel: the receiver of a request answers once with a value or an error.

    Answering twice is a bug and raises; answering after the asker gave up (timed out) is harmless.
    """

    __slots__ = ("_answered", "_receive", "_send")

    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[outcome.Outcome[T]](1)
        self._answered = False

    def __repr__(self) -> str:
        return f"Reply(answered={self._answered})"

    def send(self, value: T) -> None:
        self._put(outcome.Value(value))

    def fail(self, error: BaseException) -> None:
        self._put(outcome.Error(error))

    def _put(self, result: outcome.Outcome[T]) -> None:
        # Checked with our own flag: after the first answer the channel is closed, and trio would report a
        # second answer as ClosedResourceError, which reads like "the asker is gone" instead of "a bug here".
        if self._answered:
            raise RuntimeError("a Reply was answered twice")
        self._answered = True
        try:
            self._send.send_nowait(result)
        except trio.BrokenResourceError:
            pass  # the asker is gone (timed out or cancelled); nobody wants the answer any more
        finally:
            self._send.close()

    @property
    def answered(self) -> bool:
        return self._answered

    async def wait(self) -> T:
        """Wait for the answer; unwraps an error answer into a raise."""
        try:
            result = await self._receive.receive()
        except trio.EndOfChannel:
            raise ActorGone("the actor closed the reply without answering") from None
        finally:
            self._receive.close()
        return result.unwrap()


async def ask(
    mailbox: trio.MemorySendChannel[M],
    make_message: Callable[[Reply[T]], M],
    *,
    timeout: float,  # noqa: ASYNC109 - the whole round trip's bound is part of what ask() means
    what: str = "request",
) -> T:
    """Send a request built by ``make_message(reply)`` and wait for its answer, at most ``timeout`` seconds.

    Error handling: ``ActorGone`` if the mailbox is closed, ``trio.TooSlowError`` on timeout, and whatever the
    receiver failed the reply with.
    """
    reply: Reply[T] = Reply()
    with trio.fail_after(timeout):
        try:
            await mailbox.send(make_message(reply))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise ActorGone(f"cannot send {what}: the actor has stopped") from None
        return await reply.wait()


@contextmanager
def unwrapping_single_errors() -> Iterator[None]:
    """Re-raise an escaping exception group that holds exactly one error (at any depth) as that error.

    A nursery wraps whatever escapes it in a group, even a single start failure; callers (the CLI, tests)
    want to catch ``DatabaseTooNew`` as itself. The error keeps its own cause; only the wrapper is hidden.
    Groups of several errors are left alone.
    """
    try:
        yield
    except BaseExceptionGroup as group:
        inner: BaseException = group
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if inner is group or isinstance(inner, BaseExceptionGroup):
            raise
        raise inner from inner.__cause__


def tell_nowait(mailbox: trio.MemorySendChannel[M], message: M, *, what: str = "message") -> None:
    """Deliver without waiting; the edge that calls this decides what a full mailbox means."""
    try:
        mailbox.send_nowait(message)
    except trio.WouldBlock:
        raise MailboxFull(f"mailbox full, {what} refused") from None
    except (trio.BrokenResourceError, trio.ClosedResourceError):
        raise ActorGone(f"cannot send {what}: the actor has stopped") from None


def open_mailbox(
    message_type: type[M], size: int = DEFAULT_MAILBOX_SIZE
) -> tuple[trio.MemorySendChannel[M], trio.MemoryReceiveChannel[M]]:
    """A bounded mailbox. Unbounded mailboxes are not offered: overflow is decided at the edges."""
    del message_type  # only for the type checker, which infers M from it
    if size < 1 or math.isinf(size):
        raise ValueError("mailboxes are bounded: size must be a positive integer")
    return trio.open_memory_channel[M](size)


class Actor(Protocol):
    """What the supervisor can start: ``await actor(task_status=...)``."""

    def __call__(self, *, task_status: trio.TaskStatus[Any] = ...) -> Awaitable[None]: ...


CrashHandler = Callable[[str, BaseException], None]


@attrs.define
class _Running:
    name: str
    scope: trio.CancelScope
    done: trio.Event
    mailbox: Any


class _StartedRecorder:
    """Passes readiness through, and remembers whether it happened (to tell start failures from crashes)."""

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self._inner = inner
        self.started = False
        self.value: Any = None

    def started_with(self, value: Any = None) -> None:
        self.started = True
        self.value = value
        self._inner.started(value)


class Supervisor:
    """The root of the actor tree: starts actors, registers their mailboxes, contains their crashes."""

    def __init__(self, nursery: trio.Nursery, *, on_crash: CrashHandler | None = None) -> None:
        self._nursery = nursery
        self._on_crash = on_crash
        self._running: dict[str, _Running] = {}
        self._order: list[str] = []
        self.crashes: list[tuple[str, BaseException]] = []

    def __repr__(self) -> str:
        return f"<Supervisor actors={self._order!r}>"

    def mailbox(self, name: str) -> Any:
        """The mailbox (send channel) of a running actor; ``ActorGone`` if there is none."""
        running = self._running.get(name)
        if running is None or running.done.is_set():
            raise ActorGone(f"no running actor named {name!r}")
        return running.mailbox

    def is_running(self, name: str) -> bool:
        running = self._running.get(name)
        return running is not None and not running.done.is_set()

    async def start(self, name: str, actor: Callable[..., Awaitable[None]]) -> Any:
        """Start ``actor`` under the root nursery and return what it reported ready (its mailbox)."""
        if self.is_running(name):
            raise ValueError(f"an actor named {name!r} is already running")
        scope = trio.CancelScope()
        done = trio.Event()
        mailbox = await self._nursery.start(self._guarded, name, actor, scope, done)
        if done.is_set():
            # It started and already ended (a crash right after readiness, reported by _guarded): do not
            # register a dead actor.
            return mailbox
        self._running[name] = _Running(name=name, scope=scope, done=done, mailbox=mailbox)
        if name in self._order:
            self._order.remove(name)
        self._order.append(name)
        return mailbox

    async def _guarded(
        self,
        name: str,
        actor: Callable[..., Awaitable[None]],
        scope: trio.CancelScope,
        done: trio.Event,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        recorder = _StartedRecorder(task_status)

        class _Status:
            def started(self, value: Any = None) -> None:
                recorder.started_with(value)

        try:
            with scope:
                await actor(task_status=_Status())
        except Exception as exc:
            if not recorder.started:
                raise  # nursery.start re-raises it to whoever tried to start the actor
            self.crashes.append((name, exc))
            log.exception("actor %s crashed", name)
            if self._on_crash is not None:
                self._on_crash(name, exc)
        finally:
            done.set()
            if isinstance(recorder.value, trio.MemorySendChannel):
                # The actor is gone, however it ended: close its mailbox so senders get ActorGone at once
                # instead of queueing requests nobody will read.
                recorder.value.close()
            if self._running.get(name) is not None and self._running[name].done is done:
                del self._running[name]
                self._order.remove(name)

    async def stop(self, name: str, *, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - per-actor cleanup bound
        """Cancel one actor and wait (at most ``timeout``) for its cleanup to finish."""
        running = self._running.get(name)
        if running is None:
            return
        running.scope.cancel()
        with trio.move_on_after(timeout) as waited:
            await running.done.wait()
        if waited.cancelled_caught:
            log.warning("actor %s did not stop within %.1fs", name, timeout)

    async def shutdown(self, *, timeout: float = 10.0) -> None:  # noqa: ASYNC109 - per-actor cleanup bound
        """Stop every actor, newest first, so the ones started first (the repository) outlive their users."""
        for name in reversed(list(self._order)):
            await self.stop(name, timeout=timeout)
