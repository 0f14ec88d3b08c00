"""The inbox, turn and pending-thread queries on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from codexgram.errors import NotFound
from codexgram.store import queries
from codexgram.store.db import open_database
from codexgram.store.inbox_queries import HANDLED, NEW, QUEUED, STARTING, WAITING
from codexgram.store.rows import SessionRow, ThreadRow, TurnRow
from codexgram.store.turn_queries import THREAD_CREATING, pending_key


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[apsw.Connection]:
    connection = open_database(tmp_path / "db.sqlite3")
    try:
        yield connection
    finally:
        connection.close()


def add(conn: apsw.Connection, update_id: int, chat_id: int = 7) -> bool:
    return queries.inbox_add(
        conn, update_id=update_id, chat_id=chat_id, user_id=70, kind="message", payload="{}", received_at=1.0
    )


def test_an_update_is_recorded_once(conn: apsw.Connection) -> None:
    assert add(conn, 10) is True
    assert add(conn, 10) is False  # a duplicate delivery
    row = queries.inbox_get(conn, 10)
    assert row is not None
    assert (row.state, row.chat_id, row.user_id, row.thread_key) == (NEW, 7, 70, None)


def test_new_rows_of_a_chat_come_oldest_first(conn: apsw.Connection) -> None:
    for update_id in (12, 10, 11):
        add(conn, update_id)
    add(conn, 13, chat_id=8)
    assert [r.update_id for r in queries.inbox_of_chat(conn, 7, state=NEW)] == [10, 11, 12]
    assert queries.chats_with_new_updates(conn) == [7, 8]
    queries.inbox_handled(conn, 10, outcome="command /start", at=2.0)
    assert [r.update_id for r in queries.inbox_of_chat(conn, 7, state=NEW)] == [11, 12]
    handled = queries.inbox_get(conn, 10)
    assert handled is not None
    assert (handled.state, handled.outcome, handled.handled_at) == (HANDLED, "command /start", 2.0)


def test_prompts_of_a_thread_and_rekeying(conn: apsw.Connection) -> None:
    for update_id in (20, 21, 22):
        add(conn, update_id)
    key = pending_key(20)
    queries.inbox_set_state(conn, 20, QUEUED, thread_key=key)
    queries.inbox_set_state(conn, 21, QUEUED, thread_key=key)
    queries.inbox_set_state(conn, 22, WAITING)
    queries.inbox_set_state(conn, 20, STARTING)
    assert [(r.update_id, r.state) for r in queries.inbox_prompts_of(conn, key)] == [
        (20, STARTING),
        (21, QUEUED),
    ]
    assert queries.threads_with_prompts(conn) == [key]
    assert queries.inbox_rekey(conn, key, "thread-1") == 2
    assert [r.update_id for r in queries.inbox_prompts_of(conn, "thread-1")] == [20, 21]
    with pytest.raises(ValueError, match="not a state"):
        queries.inbox_set_state(conn, 21, HANDLED)
    with pytest.raises(NotFound):
        queries.inbox_handled(conn, 999, outcome="x", at=1.0)


def test_card_tokens_find_their_prompt(conn: apsw.Connection) -> None:
    add(conn, 30)
    queries.inbox_set_card(conn, 30, token="T" * 16, message_id=None)
    queries.inbox_set_card(conn, 30, token="T" * 16, message_id=555)
    row = queries.inbox_by_card_token(conn, "T" * 16)
    assert row is not None
    assert (row.update_id, row.card_message_id) == (30, 555)
    assert queries.inbox_by_card_token(conn, "U" * 16) is None


def test_prune_forgets_old_handled_rows_only(conn: apsw.Connection) -> None:
    add(conn, 40)
    add(conn, 41)
    queries.inbox_handled(conn, 40, outcome="x", at=5.0)
    assert queries.inbox_prune(conn, handled_before=6.0) == 1
    assert queries.inbox_get(conn, 40) is None
    assert queries.inbox_get(conn, 41) is not None


def test_refusal_times(conn: apsw.Connection) -> None:
    assert queries.last_refusal(conn, 5) is None
    queries.set_refusal(conn, 5, at=100.0)
    queries.set_refusal(conn, 5, at=200.0)
    assert queries.last_refusal(conn, 5) == 200.0


def thread(thread_id: str, status: str = "idle") -> ThreadRow:
    return ThreadRow(
        thread_id=thread_id,
        chat_id=7,
        workspace=None,
        cwd="/w",
        title=None,
        status=status,
        created_at=1.0,
        updated_at=1.0,
    )


def turn(turn_id: str, thread_id: str = "thread-1", **changes: object) -> TurnRow:
    fields: dict[str, object] = {
        "turn_id": turn_id,
        "thread_id": thread_id,
        "chat_id": 7,
        "user_id": 70,
        "update_id": 50,
        "status": "running",
        "cancel_token": f"tok-{turn_id}",
        "progress_message_id": None,
        "sent_items": (),
        "tokens": None,
        "delivered": False,
        "started_at": 1.0,
        "finished_at": None,
    }
    fields.update(changes)
    return TurnRow(**fields)  # type: ignore[arg-type]


def test_turns_from_start_to_delivery(conn: apsw.Connection) -> None:
    queries.save_thread(conn, thread("thread-1"))
    queries.add_turn(conn, turn("turn-1"))
    queries.add_turn(conn, turn("turn-1", status="completed"))  # adopted twice: the first record stays
    assert queries.threads_with_undelivered_turns(conn) == ["thread-1"]
    running = queries.running_turn_of(conn, "thread-1")
    assert running is not None
    assert running.status == "running"
    assert queries.turn_by_cancel_token(conn, "tok-turn-1") == running
    queries.set_turn_progress_message(conn, "turn-1", 99)
    assert queries.add_sent_items(conn, "turn-1", ["a", "b"]).sent_items == ("a", "b")
    assert queries.add_sent_items(conn, "turn-1", ["b", "c"]).sent_items == ("a", "b", "c")
    queries.finish_turn(conn, "turn-1", status="completed", tokens=30, at=9.0)
    done = queries.get_turn(conn, "turn-1")
    assert done is not None
    assert (done.delivered, done.status, done.tokens, done.progress_message_id) == (True, "completed", 30, 99)
    assert queries.undelivered_turns(conn) == []
    with pytest.raises(NotFound):
        queries.finish_turn(conn, "nope", status="completed", tokens=None, at=1.0)


def test_a_pending_thread_is_replaced_everywhere(conn: apsw.Connection) -> None:
    key = pending_key(60)
    queries.save_thread(conn, thread(key, status=THREAD_CREATING))
    queries.save_session(
        conn,
        SessionRow(chat_id=7, workspace=None, thread_id=key, model=None, sandbox=None, updated_at=1.0),
    )
    add(conn, 60)
    queries.inbox_set_state(conn, 60, QUEUED, thread_key=key)
    queries.replace_pending_thread(conn, key, thread("real-1"))
    session = queries.get_session(conn, 7)
    assert session is not None
    assert session.thread_id == "real-1"
    assert [r.update_id for r in queries.inbox_prompts_of(conn, "real-1")] == [60]
    assert queries.get_thread(conn, key) is None
    with pytest.raises(NotFound):
        queries.replace_pending_thread(conn, key, thread("real-2"))


def test_session_keeps_its_approval_policy(conn: apsw.Connection) -> None:
    session = SessionRow(
        chat_id=3,
        workspace=None,
        thread_id=None,
        model=None,
        sandbox="read-only",
        updated_at=1.0,
        approval_policy="untrusted",
    )
    queries.save_session(conn, session)
    assert queries.get_session(conn, 3) == session
