"""The repository actor: the bot's only SQLite connection, and the typed handle to talk to it.

Every read and write of the bot goes through one mailbox and runs as one transaction, strictly one after the
other, so transactions never interleave and no locks are needed. The admin CLI is a second process writing the
same file; WAL plus the busy timeout (see :mod:`codexgram.store.db`) make that safe, and ``BEGIN IMMEDIATE``
makes a transaction wait for the CLI's lock instead of failing.

Where SQL runs: on a worker thread (``trio.to_thread.run_sync`` with a ``CapacityLimiter(1)``), not inline on
the event loop. A transaction is usually tens of microseconds, but it can block for up to the busy timeout
(5 s) while the admin CLI holds the write lock, and a checkpoint's fsync on a slow disk takes milliseconds;
inline, that would freeze every chat. The thread hop costs more than a small transaction (about 0.1 ms vs
0.01-0.05 ms inline, see ``bench/repository_throughput.py`` and ``docs/benchmarks.md``), so under load the
actor takes what is already queued (up to ``MAX_BATCH``) into one hop, each request still its own
transaction in mailbox order: about 11k small writes/s through the actor vs 2.8k with one hop per request.
The worker call is not abandoned on cancellation, so a transaction that started always finishes (commits or
rolls back) before the actor moves on.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import apsw
import outcome
import trio

from codexgram.actors.runtime import (
    DEFAULT_MAILBOX_SIZE,
    Reply,
    ask,
    open_mailbox,
    unwrapping_single_errors,
)
from codexgram.errors import ActorGone, CodexgramError, StoreError
from codexgram.messages import RepositoryRequest, Transaction
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.store.rows import ApprovalRow, OutboxRow, SessionRow, ThreadRow, WorkspaceRow

log = logging.getLogger(__name__)

T = TypeVar("T")

DRAIN_TIMEOUT = 5.0
MAX_BATCH = 32


def _run_transaction(conn: apsw.Connection, work: Callable[[apsw.Connection], T], what: str) -> T:
    """Run ``work`` in one immediate transaction (on the worker thread). apsw errors become ``StoreError``."""
    try:
        with immediate_transaction(conn):
            return work(conn)
    except apsw.Error as exc:
        raise StoreError(f"{what} failed: {exc}") from exc


def _run_batch(conn: apsw.Connection, batch: list[RepositoryRequest]) -> list[outcome.Outcome[Any]]:
    """Run each request of ``batch`` as its own transaction, one after the other (on the worker thread)."""
    results: list[outcome.Outcome[Any]] = []
    for request in batch:
        try:
            results.append(outcome.Value(_run_transaction(conn, request.work, request.what)))
        except Exception as exc:
            results.append(outcome.Error(exc))
    return results


async def _serve(
    conn: apsw.Connection, limiter: trio.CapacityLimiter, batch: list[RepositoryRequest]
) -> None:
    """Run a batch of requests (each one transaction) and answer each; a failure goes to its asker."""
    # Shielded: once requests are taken from the mailbox they are run and answered, even during shutdown.
    # Each transaction is bounded by the busy timeout and the work's own (tiny) cost; batches are small.
    with trio.CancelScope(shield=True):
        results = await trio.to_thread.run_sync(_run_batch, conn, batch, limiter=limiter)
    for request, result in zip(batch, results, strict=True):
        if isinstance(result, outcome.Error):
            if not isinstance(result.error, CodexgramError):
                log.warning("repository %s raised %r", request.what, result.error)
            request.reply.fail(result.error)
        else:
            request.reply.send(result.unwrap())


def _take_batch(
    receive: trio.MemoryReceiveChannel[RepositoryRequest], first: RepositoryRequest
) -> list[RepositoryRequest]:
    """``first`` plus whatever else is waiting already (up to ``MAX_BATCH``), without waiting for more.

    Why batches: the hop to the worker thread costs more than a small transaction; under load one hop
    serves many requests (each still its own transaction, in mailbox order).
    """
    batch = [first]
    while len(batch) < MAX_BATCH:
        try:
            batch.append(receive.receive_nowait())
        except (trio.WouldBlock, trio.EndOfChannel):
            break
    return batch


async def repository_actor(
    db_path: Path,
    *,
    mailbox_size: int = DEFAULT_MAILBOX_SIZE,
    drain_timeout: float = DRAIN_TIMEOUT,
    task_status: trio.TaskStatus[trio.MemorySendChannel[RepositoryRequest]] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Open and migrate ``db_path``, report the mailbox, serve requests until cancelled or the mailbox ends.

    Resource handling: owns the connection and closes it on the way out. On cancellation it first serves what
    is already in the mailbox (shielded, for at most ``drain_timeout`` seconds), so writes sent before
    shutdown land; what is still queued after that is failed with ``ActorGone``; then it closes the mailbox,
    so later senders get ``ActorGone`` too.
    Error handling: a failure to open or migrate (``StoreError``, ``DatabaseTooNew``) raises before readiness,
    so the supervisor's ``start`` raises it. A failing request rolls back, its error goes to its asker, and
    the actor keeps serving.
    """
    limiter = trio.CapacityLimiter(1)
    conn = await trio.to_thread.run_sync(open_database, db_path, limiter=limiter)
    send, receive = open_mailbox(Transaction, mailbox_size)
    try:
        task_status.started(send)
        async for request in receive:
            await _serve(conn, limiter, _take_batch(receive, request))
    finally:
        # Cancelled or the mailbox ended: serve what is queued until the drain deadline, then fail the rest
        # with ActorGone so no asker waits for its own timeout. The only awaits are the shielded ones in
        # _serve, so the deadline is checked by hand between batches.
        deadline = trio.current_time() + drain_timeout
        served = refused = 0
        while True:
            try:
                request = receive.receive_nowait()
            except (trio.WouldBlock, trio.EndOfChannel, trio.ClosedResourceError):
                break
            if trio.current_time() < deadline:
                batch = _take_batch(receive, request)
                await _serve(conn, limiter, batch)
                served += len(batch)
            else:
                request.reply.fail(ActorGone(f"the repository stopped before serving {request.what}"))
                refused += 1
        if served:
            log.info("repository served %d queued requests while stopping", served)
        if refused:
            log.error(
                "repository refused %d queued requests: draining took over %.1fs", refused, drain_timeout
            )
        receive.close()  # no await since the last receive_nowait: nothing can slip in unanswered
        conn.close()


class Repository:
    """A typed handle on the repository actor's mailbox. Cheap to copy; share one per process.

    Every method is one transaction, bounded by ``default_timeout`` seconds (waiting for room in the mailbox
    included); wrap a call in ``trio.fail_after`` for a tighter bound. Error handling: ``ActorGone`` if the
    actor has stopped, ``trio.TooSlowError`` on timeout (the transaction may still run later), the query's
    own errors (``NotFound``, ``AlreadyExists``, ``StoreError`` for SQLite failures).
    """

    def __init__(
        self, mailbox: trio.MemorySendChannel[RepositoryRequest], *, default_timeout: float = 10.0
    ) -> None:
        self._mailbox = mailbox
        self._default_timeout = default_timeout

    def __repr__(self) -> str:
        return "<Repository>"

    async def run(
        self,
        work: Callable[[apsw.Connection], T],
        *,
        timeout: float | None = None,  # noqa: ASYNC109 - the bound of the ask() round trip, default applied here
        what: str = "request",
    ) -> T:
        """Run ``work(conn)`` as one transaction on the repository's thread and return its result.

        ``work`` must only use the connection (it runs on a worker thread) and must not keep it.
        """

        def make(reply: Reply[T]) -> Transaction[T]:
            return Transaction(work=work, reply=reply, what=what)

        bound = self._default_timeout if timeout is None else timeout
        result: T = await ask(self._mailbox, make, timeout=bound, what=f"repository {what}")
        return result

    # --- Telegram side -------------------------------------------------------------------------------------

    async def get_update_offset(self) -> int | None:
        return await self.run(queries.get_update_offset, what="get_update_offset")

    async def set_update_offset(self, offset: int) -> None:
        work = functools.partial(queries.set_update_offset, offset=offset)
        await self.run(work, what="set_update_offset")

    async def get_state(self, key: str) -> str | None:
        return await self.run(functools.partial(queries.get_state, key=key), what="get_state")

    async def set_state(self, key: str, value: str) -> None:
        work = functools.partial(queries.set_state, key=key, value=value)
        await self.run(work, what="set_state")

    async def outbox_add(
        self, *, chat_id: int, kind: str, payload: str, created_at: float | None = None
    ) -> int:
        work = functools.partial(
            queries.outbox_add,
            chat_id=chat_id,
            kind=kind,
            payload=payload,
            created_at=time.time() if created_at is None else created_at,
        )
        return await self.run(work, what="outbox_add")

    async def outbox_remove(self, outbox_id: int) -> None:
        work = functools.partial(queries.outbox_remove, outbox_id=outbox_id)
        await self.run(work, what="outbox_remove")

    async def outbox_pending(self) -> list[OutboxRow]:
        return await self.run(queries.outbox_pending, what="outbox_pending")

    async def outbox_bump_attempts(self, outbox_id: int) -> None:
        work = functools.partial(queries.outbox_bump_attempts, outbox_id=outbox_id)
        await self.run(work, what="outbox_bump_attempts")

    # --- allowlist and workspaces (read from the file every time: the admin CLI may have changed them) -----

    async def is_user_allowed(self, user_id: int) -> bool:
        work = functools.partial(queries.is_user_allowed, user_id=user_id)
        return await self.run(work, what="is_user_allowed")

    async def get_workspace(self, name: str) -> WorkspaceRow | None:
        work = functools.partial(queries.get_workspace, name=name)
        return await self.run(work, what="get_workspace")

    async def list_workspaces(self) -> list[WorkspaceRow]:
        return await self.run(queries.list_workspaces, what="list_workspaces")

    # --- sessions ---------------------------------------------------------------------------------------

    async def get_session(self, chat_id: int) -> SessionRow | None:
        work = functools.partial(queries.get_session, chat_id=chat_id)
        return await self.run(work, what="get_session")

    async def save_session(self, session: SessionRow) -> None:
        work = functools.partial(queries.save_session, session=session)
        await self.run(work, what="save_session")

    async def list_sessions(self) -> list[SessionRow]:
        return await self.run(queries.list_sessions, what="list_sessions")

    # --- threads and pending approvals -------------------------------------------------------------------

    async def save_thread(self, thread: ThreadRow) -> None:
        await self.run(functools.partial(queries.save_thread, thread=thread), what="save_thread")

    async def get_thread(self, thread_id: str) -> ThreadRow | None:
        return await self.run(functools.partial(queries.get_thread, thread_id=thread_id), what="get_thread")

    async def set_thread_status(self, thread_id: str, status: str) -> None:
        work = functools.partial(
            queries.set_thread_status, thread_id=thread_id, status=status, at=time.time()
        )
        await self.run(work, what="set_thread_status")

    async def list_threads(
        self, *, chat_id: int | None = None, status: str | None = None, limit: int = 50
    ) -> list[ThreadRow]:
        work = functools.partial(queries.list_threads, chat_id=chat_id, status=status, limit=limit)
        return await self.run(work, what="list_threads")

    async def add_approval(self, approval: ApprovalRow) -> None:
        await self.run(functools.partial(queries.add_approval, approval=approval), what="add_approval")

    async def set_approval_message(self, token: str, message_id: int) -> None:
        work = functools.partial(queries.set_approval_message, token=token, message_id=message_id)
        await self.run(work, what="set_approval_message")

    async def take_approval(self, token: str) -> ApprovalRow:
        """Remove and return a pending approval (``NotFound`` if decided already): one decision wins."""
        return await self.run(functools.partial(queries.take_approval, token=token), what="take_approval")

    async def list_approvals(self, *, thread_id: str | None = None) -> list[ApprovalRow]:
        work = functools.partial(queries.list_approvals, thread_id=thread_id)
        return await self.run(work, what="list_approvals")

    # --- audit ---------------------------------------------------------------------------------------------

    async def audit(self, *, actor: str, action: str, detail: dict[str, Any]) -> None:
        """Record an action taken from the chat (e.g. ``actor="telegram:<user id>"``)."""
        work = functools.partial(
            queries.write_audit, actor=actor, action=action, detail=detail, at=time.time()
        )
        await self.run(work, what="audit")


@asynccontextmanager
async def open_repository(
    db_path: Path, *, mailbox_size: int = DEFAULT_MAILBOX_SIZE
) -> AsyncIterator[Repository]:
    """Run a repository actor for the duration of the ``async with`` (for tests and tools).

    Resource handling: the actor runs in a nursery owned by this context manager; leaving it cancels the
    actor, which serves what is queued and closes the file.
    Error handling: open/migrate errors raise on entry.
    """
    # A start failure (or the body's own error) escapes the nursery wrapped in a group: unwrap it, so
    # callers can catch DatabaseTooNew etc. as they are.
    with unwrapping_single_errors():
        async with trio.open_nursery() as nursery:
            mailbox: trio.MemorySendChannel[RepositoryRequest] = await nursery.start(
                functools.partial(repository_actor, db_path, mailbox_size=mailbox_size)
            )
            try:
                yield Repository(mailbox)
            finally:
                nursery.cancel_scope.cancel()


__all__ = ["Repository", "open_repository", "repository_actor"]
