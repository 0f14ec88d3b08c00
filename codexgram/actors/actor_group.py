"""A keyed group of actors: one per chat, or one per Codex thread, in a nursery of their own.

The supervisor starts a handful of process-wide actors by name; chats and threads come and go by the thousand.
:class:`ActorGroup` is the keyed, typed child group for them (compare trio's ``serve_listeners`` and its
``handler_nursery``):

- :meth:`ActorGroup.get` returns the running actor's handle for a key, starting the actor first if there is
  none. Two tasks asking for the same key at once get the same actor: the first starts it, the second waits
  on a placeholder until it reported ready (or failed to).
- An actor stops when it wants to (idle for a while): it calls :meth:`ActorGroup.retire` *synchronously*,
  after checking that its mailbox is empty, and then returns. Because nothing can run between that check and
  the removal, a message is never handed to an actor that is about to go: a sender that comes later starts a
  new one. Senders use ``(await group.get(key)).method()`` with no ``await`` in between for the same reason.
- A crash after readiness is contained: logged, reported to ``on_crash``, the key forgotten (the next
  :meth:`get` starts a fresh actor). A failure before readiness raises from :meth:`get`.
- Shutdown cancels the group's nursery: every actor is cancelled at once and does its shielded cleanup in
  parallel, so stopping a thousand chats takes one cleanup deadline, not a thousand.

An actor is ``async def actor(key, *, task_status)``; it reports its handle with ``task_status.started(h)``.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any, Generic, TypeVar

import attrs
import trio

from codexgram.errors import ActorGone

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
H = TypeVar("H")

RENAMES_KEPT = 256  # old keys remembered after a rename (see ActorGroup._renamed)

KeyedActor = Callable[..., Awaitable[None]]  # (key, *, task_status) -> None


@attrs.define(eq=False)
class _Entry(Generic[H]):
    ready: trio.Event = attrs.field(factory=trio.Event)
    handle: H | None = None
    failure: BaseException | None = None
    started_at: float = 0.0
    key: Any = None  # the key it is registered under now (it may be renamed)


class ActorGroup(Generic[K, H]):
    """Actors by key in one nursery (see the module docstring). Create it with :func:`open_actor_group` or
    run it as a supervised actor with :func:`actor_group_actor`."""

    def __init__(
        self,
        name: str,
        nursery: trio.Nursery,
        actor: Callable[[K], KeyedActor],
        *,
        on_crash: Callable[[K, BaseException], None] | None = None,
    ) -> None:
        self.name = name
        self._nursery = nursery
        self._actor = actor
        self._on_crash = on_crash
        self._entries: dict[K, _Entry[H]] = {}
        # Old key -> the entry of a renamed actor (the newest RENAMES_KEPT), so that a message addressed by
        # the old key in the instant of the rename (a chat's /cancel for a thread being created) still
        # arrives. Only while that actor runs: once it stopped, the old key is a key like any other.
        self._renamed: dict[K, _Entry[H]] = {}
        self.started = 0  # actors started so far (for tests and benchmarks)
        self.crashes: list[tuple[K, BaseException]] = []

    def __repr__(self) -> str:
        return f"<ActorGroup {self.name} running={len(self._entries)}>"

    def __len__(self) -> int:
        return len(self._entries)

    def keys(self) -> list[K]:
        return list(self._entries)

    def lookup(self, key: K) -> H | None:
        """The handle of the actor running for ``key`` (or renamed from it), or None (never starts one)."""
        entry = self._entries.get(key) or self._renamed_entry(key)
        return entry.handle if entry is not None else None

    def _renamed_entry(self, old: K) -> _Entry[H] | None:
        entry = self._renamed.get(old)
        if entry is None:
            return None
        if self._entries.get(entry.key) is not entry:
            del self._renamed[old]  # that actor has stopped
            return None
        return entry

    async def get(self, key: K) -> H:
        """The handle of ``key``'s actor, starting it if needed.

        Error handling: the actor's own start failure (raised before it reported ready), or ``ActorGone`` if
        the group is shutting down.
        """
        entry = self._entries.get(key) or self._renamed_entry(key)
        if entry is not None:
            if entry.handle is None:
                await entry.ready.wait()  # someone else is starting it
            return self._started_handle(key, entry)
        entry = _Entry(started_at=trio.current_time(), key=key)
        self._entries[key] = entry
        try:
            handle: H = await self._nursery.start(self._run, key, entry)
        except BaseException as exc:
            if self._entries.get(key) is entry:
                del self._entries[key]
            entry.failure = exc
            entry.ready.set()
            if isinstance(exc, RuntimeError) and "nursery" in str(exc).lower():
                raise ActorGone(f"the {self.name} group has stopped") from None
            raise
        return handle

    def _started_handle(self, key: K, entry: _Entry[H]) -> H:
        if entry.handle is None:
            raise ActorGone(f"{self.name} actor for {key!r} failed to start: {entry.failure!r}")
        return entry.handle

    def retire(self, key: K, handle: H) -> bool:
        """Forget ``key``'s actor if ``handle`` is still the one registered; the actor then returns.

        Synchronous on purpose: the caller checked that its mailbox is empty, and nothing can hand it a
        message between that check and this removal."""
        entry = self._entries.get(key)
        if entry is None or entry.handle is not handle:
            return False
        del self._entries[key]
        return True

    def rename(self, old: K, new: K, handle: H) -> bool:
        """Register ``handle``'s actor under ``new`` instead of ``old`` (a thread that was being created got
        its real id). False if ``old`` is not that actor's or ``new`` is taken."""
        entry = self._entries.get(old)
        if entry is None or entry.handle is not handle or new in self._entries:
            return False
        del self._entries[old]
        self._entries[new] = entry
        entry.key = new
        self._renamed[old] = entry
        if len(self._renamed) > RENAMES_KEPT:
            del self._renamed[next(iter(self._renamed))]  # the oldest: its moment is long past
        return True

    async def _run(self, key: K, entry: _Entry[H], task_status: trio.TaskStatus[H]) -> None:
        started = False

        class _Status:
            def started(self, value: Any = None) -> None:
                nonlocal started
                started = True
                entry.handle = value
                entry.ready.set()
                task_status.started(value)

        self.started += 1
        try:
            await self._actor(key)(task_status=_Status())
        except Exception as exc:
            if not started:
                raise  # nursery.start re-raises it in get()
            self.crashes.append((key, exc))
            log.exception("%s actor for %r crashed", self.name, key)
            if self._on_crash is not None:
                self._on_crash(key, exc)
        finally:
            if self._entries.get(entry.key) is entry:
                del self._entries[entry.key]
            entry.ready.set()


async def actor_group_actor(
    name: str,
    actor: Callable[[Any], KeyedActor],
    *,
    on_crash: Callable[[Any, BaseException], None] | None = None,
    task_status: trio.TaskStatus[ActorGroup[Any, Any]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Run an :class:`ActorGroup` as a supervised actor: reports the group, runs until cancelled; then every
    member is cancelled at once (each does its own shielded cleanup)."""
    async with trio.open_nursery() as nursery:
        group: ActorGroup[Any, Any] = ActorGroup(name, nursery, actor, on_crash=on_crash)
        task_status.started(group)
        await trio.sleep_forever()


@asynccontextmanager
async def open_actor_group(
    name: str,
    actor: Callable[[K], KeyedActor],
    *,
    on_crash: Callable[[K, BaseException], None] | None = None,
) -> AsyncIterator[ActorGroup[K, Any]]:
    """An :class:`ActorGroup` for the duration of the block (for tests and tools); leaving it cancels every
    member at once."""
    async with trio.open_nursery() as nursery:
        group: ActorGroup[K, Any] = ActorGroup(name, nursery, actor, on_crash=on_crash)
        try:
            yield group
        finally:
            nursery.cancel_scope.cancel()
