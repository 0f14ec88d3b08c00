"""Query functions against a real (temporary) SQLite file, synchronously, each in its own transaction."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import apsw
import attrs
import pytest

from codexgram.errors import AlreadyExists, NotFound
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.store.rows import ApprovalRow, SessionRow, ThreadRow


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[apsw.Connection]:
    connection = open_database(tmp_path / "db.sqlite3")
    yield connection
    connection.close()


def test_update_offset_and_state(conn: apsw.Connection) -> None:
    assert queries.get_update_offset(conn) is None
    queries.set_update_offset(conn, 100)
    queries.set_update_offset(conn, 101)
    assert queries.get_update_offset(conn) == 101
    assert queries.get_state(conn, "update_offset") == "101"
    queries.set_state(conn, "seen", "[1, 2]")
    assert queries.get_state(conn, "seen") == "[1, 2]"
    assert queries.get_state(conn, "absent") is None


def test_outbox_order_attempts_and_removal(conn: apsw.Connection) -> None:
    ids = [
        queries.outbox_add(
            conn, chat_id=chat, kind="send", payload=json.dumps({"n": chat}), created_at=float(chat)
        )
        for chat in (3, 1, 2)
    ]
    assert ids == sorted(ids)
    queries.outbox_bump_attempts(conn, ids[1])
    queries.outbox_bump_attempts(conn, ids[1])
    pending = queries.outbox_pending(conn)
    assert [(row.chat_id, row.attempts) for row in pending] == [(3, 0), (1, 2), (2, 0)]  # oldest first
    assert json.loads(pending[0].payload) == {"n": 3}
    queries.outbox_remove(conn, ids[0])
    queries.outbox_remove(conn, ids[0])
    assert [row.id for row in queries.outbox_pending(conn)] == ids[1:]
    with pytest.raises(NotFound):
        queries.outbox_bump_attempts(conn, ids[0])
    # Ids are never reused, even after the newest row is removed (AUTOINCREMENT).
    queries.outbox_remove(conn, ids[2])
    assert queries.outbox_add(conn, chat_id=9, kind="send", payload="{}", created_at=9.0) > ids[2]


def test_allowlist(conn: apsw.Connection) -> None:
    assert not queries.is_user_allowed(conn, 5)
    row = queries.allow_user(conn, user_id=5, name="me", at=1.0)
    assert row.user_id == 5
    assert queries.is_user_allowed(conn, 5)
    with pytest.raises(AlreadyExists):
        queries.allow_user(conn, user_id=5, name=None, at=2.0)
    queries.allow_user(conn, user_id=3, name=None, at=2.0)
    assert [(u.user_id, u.name) for u in queries.list_users(conn)] == [(3, None), (5, "me")]
    queries.remove_user(conn, 5)
    assert not queries.is_user_allowed(conn, 5)
    with pytest.raises(NotFound):
        queries.remove_user(conn, 5)


def test_workspaces(conn: apsw.Connection) -> None:
    queries.add_workspace(conn, name="b", path="/srv/b", at=1.0)
    queries.add_workspace(conn, name="a", path="/srv/a", at=2.0)
    with pytest.raises(AlreadyExists):
        queries.add_workspace(conn, name="a", path="/elsewhere", at=3.0)
    assert [(w.name, w.path) for w in queries.list_workspaces(conn)] == [("a", "/srv/a"), ("b", "/srv/b")]
    got = queries.get_workspace(conn, "a")
    assert got is not None
    assert got.path == "/srv/a"
    queries.remove_workspace(conn, "a")
    assert queries.get_workspace(conn, "a") is None
    with pytest.raises(NotFound):
        queries.remove_workspace(conn, "a")


def test_audit_log_keeps_the_newest_in_order(conn: apsw.Connection) -> None:
    for n in range(5):
        queries.write_audit(conn, actor="cli:dev", action=f"act{n}", detail={"n": n}, at=float(n))
    rows = queries.list_audit(conn, limit=3)
    assert [r.action for r in rows] == ["act2", "act3", "act4"]
    assert json.loads(rows[0].detail) == {"n": 2}


def thread(
    thread_id: str = "thr_1", *, chat_id: int = 10, status: str = "idle", at: float = 1.0
) -> ThreadRow:
    return ThreadRow(
        thread_id=thread_id,
        chat_id=chat_id,
        workspace="demo",
        cwd="/srv/demo",
        title=None,
        status=status,
        created_at=at,
        updated_at=at,
    )


def test_sessions_threads_and_what_removing_a_workspace_does(conn: apsw.Connection) -> None:
    queries.add_workspace(conn, name="demo", path="/srv/demo", at=0.0)
    queries.save_thread(conn, thread())
    session = SessionRow(
        chat_id=10,
        workspace="demo",
        thread_id="thr_1",
        model="gpt-5",
        sandbox="workspace-write",
        updated_at=1.0,
    )
    queries.save_session(conn, session)
    assert queries.get_session(conn, 10) == session
    queries.save_session(conn, attrs.evolve(session, model=None, updated_at=2.0))
    saved = queries.get_session(conn, 10)
    assert saved is not None
    assert saved.model is None
    assert queries.list_sessions(conn) == [saved]

    # A session cannot point at a workspace or a thread that does not exist.
    with pytest.raises(apsw.ConstraintError):
        queries.save_session(conn, attrs.evolve(session, chat_id=11, workspace="nope"))

    # Removing the workspace detaches it, and the thread keeps its directory.
    queries.remove_workspace(conn, "demo")
    after = queries.get_session(conn, 10)
    assert after is not None
    assert after.workspace is None
    kept = queries.get_thread(conn, "thr_1")
    assert kept is not None
    assert kept.workspace is None
    assert kept.cwd == "/srv/demo"


def test_thread_listing_and_status(conn: apsw.Connection) -> None:
    queries.add_workspace(conn, name="demo", path="/srv/demo", at=0.0)
    queries.save_thread(conn, thread("t1", chat_id=1, at=1.0))
    queries.save_thread(conn, thread("t2", chat_id=1, at=2.0, status="running"))
    queries.save_thread(conn, thread("t3", chat_id=2, at=3.0))
    assert [t.thread_id for t in queries.list_threads(conn)] == ["t3", "t2", "t1"]
    assert [t.thread_id for t in queries.list_threads(conn, chat_id=1)] == ["t2", "t1"]
    assert [t.thread_id for t in queries.list_threads(conn, status="running")] == ["t2"]
    queries.set_thread_status(conn, "t1", "running", at=5.0)
    assert [t.thread_id for t in queries.list_threads(conn, chat_id=1, status="running")] == ["t1", "t2"]
    with pytest.raises(NotFound):
        queries.set_thread_status(conn, "nope", "idle", at=6.0)


def test_an_approval_is_taken_exactly_once(conn: apsw.Connection) -> None:
    queries.add_workspace(conn, name="demo", path="/srv/demo", at=0.0)
    queries.save_thread(conn, thread("t1"))
    approval = ApprovalRow(
        token="tok",
        chat_id=10,
        thread_id="t1",
        request_id="7",
        kind="command",
        payload='{"command": "ls"}',
        message_id=None,
        created_at=1.0,
    )
    queries.add_approval(conn, approval)
    with pytest.raises(apsw.ConstraintError):
        queries.add_approval(conn, approval)
    queries.set_approval_message(conn, "tok", 555)
    assert [a.message_id for a in queries.list_approvals(conn, thread_id="t1")] == [555]
    taken = queries.take_approval(conn, "tok")
    assert taken.token == "tok"
    assert taken.message_id == 555
    with pytest.raises(NotFound):
        queries.take_approval(conn, "tok")
    with pytest.raises(NotFound):
        queries.set_approval_message(conn, "tok", 1)
    assert queries.list_approvals(conn) == []


def test_a_transaction_sqlite_already_rolled_back_still_raises_the_real_error(conn: apsw.Connection) -> None:
    # After e.g. SQLITE_FULL, SQLite ends the transaction itself; our rollback must not replace the error.
    def work() -> None:
        with immediate_transaction(conn):
            queries.set_update_offset(conn, 7)
            conn.execute("ROLLBACK")  # what SQLite's automatic rollback leaves behind
            raise ValueError("the real error")

    with pytest.raises(ValueError, match="the real error"):
        work()
    assert not conn.in_transaction
    assert queries.get_update_offset(conn) is None
