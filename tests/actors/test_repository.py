"""The repository actor: one transaction per request, never interleaved, rolled back on failure, drained."""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest
import trio

from codexgram.actors.repository import Repository, open_repository, repository_actor
from codexgram.actors.runtime import Reply
from codexgram.errors import ActorGone, DatabaseTooNew, NotFound, StoreError
from codexgram.messages import RepositoryRequest, Transaction
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.store.rows import ApprovalRow, SessionRow, ThreadRow


def scalar(conn: apsw.Connection, sql: str) -> object:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return row[0]


def _create_scratch_tables(conn: apsw.Connection) -> None:
    conn.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)")
    conn.execute("INSERT INTO counter VALUES (1, 0)")
    conn.execute("CREATE TABLE writes (writer INTEGER PRIMARY KEY, seen_counter INTEGER NOT NULL)")


async def test_200_concurrent_writers_lose_nothing_and_never_interleave(tmp_path: Path) -> None:
    events: list[tuple[str, int]] = []
    in_transaction = threading.Lock()  # only to *detect* overlap; the actor must make it uncontended

    def write(writer: int, conn: apsw.Connection) -> int:
        if not in_transaction.acquire(blocking=False):
            raise AssertionError("two transactions ran at the same time")
        try:
            events.append(("begin", writer))
            value = scalar(conn, "SELECT value FROM counter WHERE id = 1")  # read ...
            assert isinstance(value, int)
            time.sleep(0)  # ... give another thread every chance to get in between ...
            conn.execute("UPDATE counter SET value = ? WHERE id = 1", (value + 1,))  # ... modify, write
            conn.execute("INSERT INTO writes(writer, seen_counter) VALUES (?, ?)", (writer, value))
            queries.outbox_add(conn, chat_id=writer, kind="send", payload="{}", created_at=float(writer))
            events.append(("end", writer))
            return int(value)
        finally:
            in_transaction.release()

    async with open_repository(tmp_path / "bot.sqlite3") as repo:
        await repo.run(_create_scratch_tables)
        seen: dict[int, int] = {}

        async def writer(n: int) -> None:
            seen[n] = await repo.run(functools.partial(write, n), timeout=30)

        async with trio.open_nursery() as nursery:
            for n in range(200):
                nursery.start_soon(writer, n)

        assert sorted(seen) == list(range(200))
        # Every writer saw a different counter value: no two read-modify-writes overlapped.
        assert sorted(seen.values()) == list(range(200))
        assert await repo.run(lambda c: scalar(c, "SELECT value FROM counter")) == 200
        assert len(await repo.outbox_pending()) == 200

    # Transactions are strictly nested begin/end pairs of the same writer, one after the other.
    assert len(events) == 400
    for begin, end in zip(events[::2], events[1::2], strict=True):
        assert begin[0] == "begin"
        assert end == ("end", begin[1])

    # And it is all on disk after the actor closed the file.
    conn = open_database(tmp_path / "bot.sqlite3")
    try:
        assert scalar(conn, "SELECT count(*) FROM writes") == 200
    finally:
        conn.close()


async def test_a_failing_request_rolls_back_and_the_actor_keeps_serving(tmp_path: Path) -> None:
    async with open_repository(tmp_path / "bot.sqlite3") as repo:

        def half_done(conn: apsw.Connection) -> None:
            queries.allow_user(conn, user_id=1, name="first write of the transaction", at=1.0)
            raise ValueError("the second step failed")

        with pytest.raises(ValueError, match="second step"):
            await repo.run(half_done)
        assert not await repo.is_user_allowed(1)  # rolled back

        # A SQLite error is a StoreError naming the request; also rolled back.
        def bad_sql(conn: apsw.Connection) -> None:
            queries.set_update_offset(conn, 5)
            conn.execute("INSERT INTO no_such_table VALUES (1)")

        with pytest.raises(StoreError, match="bad_sql failed"):
            await repo.run(bad_sql, what="bad_sql")
        assert await repo.get_update_offset() is None

        # Our own errors pass through as they are.
        with pytest.raises(NotFound):
            await repo.outbox_bump_attempts(12345)

        # And the actor still serves.
        await repo.set_update_offset(42)
        assert await repo.get_update_offset() == 42


async def test_queued_requests_are_served_when_the_actor_is_cancelled(tmp_path: Path) -> None:
    replies: list[Reply[int]] = []
    async with trio.open_nursery() as nursery:
        mailbox: trio.MemorySendChannel[RepositoryRequest] = await nursery.start(
            functools.partial(repository_actor, tmp_path / "bot.sqlite3", mailbox_size=64)
        )
        for n in range(50):
            reply: Reply[int] = Reply()
            replies.append(reply)
            work = functools.partial(queries.outbox_add, chat_id=n, kind="send", payload="{}", created_at=0.0)
            mailbox.send_nowait(Transaction(work=work, reply=reply, what="outbox_add"))
        # Cancel before the actor had a chance to take anything: everything is still queued.
        nursery.cancel_scope.cancel()

    assert all(reply.answered for reply in replies)
    assert [await reply.wait() for reply in replies] == list(range(1, 51))
    conn = open_database(tmp_path / "bot.sqlite3")
    try:
        assert len(queries.outbox_pending(conn)) == 50
    finally:
        conn.close()
    # After the stop, the mailbox is closed: late senders learn it at once.
    with pytest.raises(ActorGone):
        await Repository(mailbox).get_update_offset()


async def test_a_too_new_database_fails_the_start(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    conn = open_database(path)
    conn.pragma("user_version", 99)
    conn.close()
    with pytest.raises(DatabaseTooNew, match="schema version 99"):
        async with open_repository(path):
            pytest.fail("must not start")


async def test_the_bot_sees_changes_made_by_another_connection_without_restart(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    async with open_repository(path) as repo:
        assert not await repo.is_user_allowed(7)
        assert await repo.get_workspace("demo") is None

        def admin_cli_writes() -> None:  # what `codexgram admin ...` does, from another connection
            conn = open_database(path)
            try:
                with immediate_transaction(conn):
                    queries.allow_user(conn, user_id=7, name=None, at=1.0)
                    queries.add_workspace(conn, name="demo", path="/srv/demo", at=1.0)
            finally:
                conn.close()

        await trio.to_thread.run_sync(admin_cli_writes)
        assert await repo.is_user_allowed(7)
        workspace = await repo.get_workspace("demo")
        assert workspace is not None
        assert workspace.path == "/srv/demo"
        assert [w.name for w in await repo.list_workspaces()] == ["demo"]


async def test_a_request_slower_than_its_timeout_raises_too_slow(tmp_path: Path) -> None:
    async with open_repository(tmp_path / "bot.sqlite3") as repo:
        with pytest.raises(trio.TooSlowError):
            await repo.run(lambda conn: time.sleep(0.5), timeout=0.05)
        # The slow one still finished; the next request is served after it.
        await repo.set_state("k", "v")
        assert await repo.get_state("k") == "v"


async def test_convenience_methods_round_trip(tmp_path: Path) -> None:
    async with open_repository(tmp_path / "bot.sqlite3") as repo:
        first = await repo.outbox_add(chat_id=10, kind="send", payload='{"text": "a"}', created_at=1.0)
        second = await repo.outbox_add(chat_id=11, kind="edit", payload='{"text": "b"}')
        await repo.outbox_bump_attempts(second)
        pending = await repo.outbox_pending()
        assert [(row.id, row.chat_id, row.attempts) for row in pending] == [(first, 10, 0), (second, 11, 1)]
        await repo.outbox_remove(first)
        await repo.outbox_remove(first)  # idempotent
        assert [row.id for row in await repo.outbox_pending()] == [second]
        assert await repo.get_session(10) is None


async def test_a_failure_inside_a_batch_touches_only_its_own_request(tmp_path: Path) -> None:
    async with trio.open_nursery() as nursery:
        mailbox: trio.MemorySendChannel[RepositoryRequest] = await nursery.start(
            functools.partial(repository_actor, tmp_path / "bot.sqlite3")
        )

        def fails(conn: apsw.Connection) -> None:
            queries.set_state(conn, "middle", "written then rolled back")
            raise KeyError("boom")

        works = [functools.partial(queries.set_state, key=f"k{n}", value=str(n)) for n in range(3)]
        plan: list[Callable[[apsw.Connection], None]] = [works[0], works[1], fails, works[2]]
        replies: list[Reply[None]] = [Reply() for _ in plan]
        for work, reply in zip(plan, replies, strict=True):  # all queued before the actor runs: one batch
            mailbox.send_nowait(Transaction(work=work, reply=reply))
        with pytest.raises(KeyError):
            await replies[2].wait()
        for n in (0, 1, 3):
            await replies[n].wait()  # answered with a value, not an error
        repo = Repository(mailbox)
        assert [await repo.get_state(key) for key in ("k0", "k1", "middle", "k2")] == ["0", "1", None, "2"]
        nursery.cancel_scope.cancel()


async def test_thread_session_approval_and_audit_methods(tmp_path: Path) -> None:
    async with open_repository(tmp_path / "bot.sqlite3") as repo:
        await repo.run(functools.partial(queries.add_workspace, name="demo", path="/srv/demo", at=0.0))
        thread = ThreadRow(
            thread_id="thr_1",
            chat_id=5,
            workspace="demo",
            cwd="/srv/demo",
            title="fix the build",
            status="idle",
            created_at=1.0,
            updated_at=1.0,
        )
        await repo.save_thread(thread)
        await repo.set_thread_status("thr_1", "running")
        saved = await repo.get_thread("thr_1")
        assert saved is not None
        assert saved.status == "running"
        assert [t.thread_id for t in await repo.list_threads(chat_id=5, status="running")] == ["thr_1"]

        session = SessionRow(
            chat_id=5, workspace="demo", thread_id="thr_1", model=None, sandbox=None, updated_at=2.0
        )
        await repo.save_session(session)
        assert await repo.get_session(5) == session
        assert await repo.list_sessions() == [session]

        approval = ApprovalRow(
            token="t0k",
            chat_id=5,
            thread_id="thr_1",
            request_id="3",
            kind="command",
            payload="{}",
            message_id=None,
            created_at=3.0,
        )
        await repo.add_approval(approval)
        await repo.set_approval_message("t0k", 77)
        assert [a.message_id for a in await repo.list_approvals(thread_id="thr_1")] == [77]

        async def press() -> None:
            try:
                await repo.take_approval("t0k")
                winners.append(1)
            except NotFound:
                losers.append(1)

        winners: list[int] = []
        losers: list[int] = []
        async with trio.open_nursery() as nursery:  # two presses of the same button: exactly one decision
            nursery.start_soon(press)
            nursery.start_soon(press)
        assert (len(winners), len(losers)) == (1, 1)

        await repo.audit(actor="telegram:5", action="approve", detail={"token": "t0k"})
        assert [(row.actor, row.action) for row in await repo.run(queries.list_audit)] == [
            ("telegram:5", "approve")
        ]


async def test_what_is_still_queued_after_the_drain_deadline_fails_with_actor_gone(tmp_path: Path) -> None:
    replies: list[Reply[None]] = []
    async with trio.open_nursery() as nursery:
        mailbox: trio.MemorySendChannel[RepositoryRequest] = await nursery.start(
            functools.partial(repository_actor, tmp_path / "bot.sqlite3", mailbox_size=128, drain_timeout=0.2)
        )
        for _ in range(80):
            reply: Reply[None] = Reply()
            replies.append(reply)
            mailbox.send_nowait(Transaction(work=lambda conn: time.sleep(0.01), reply=reply, what="slow"))
        nursery.cancel_scope.cancel()

    # The drain serves whole batches (32) while before its deadline; a batch takes 0.32 s > 0.2 s, so at most
    # one batch runs in the drain (plus one the actor may have taken before it saw the cancel); the rest is
    # refused, and nobody is left waiting.
    assert all(reply.answered for reply in replies)
    served = refused = 0
    for reply in replies:
        try:
            await reply.wait()
            served += 1
        except ActorGone:
            refused += 1
    assert served + refused == 80
    assert served in (32, 64)
    assert refused == 80 - served
