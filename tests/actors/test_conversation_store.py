"""Transactions of the thread actor (:mod:`codexgram.actors.conversation_store`) on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from codexgram.actors import conversation_store as store
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.store.inbox_queries import HANDLED, QUEUED, STARTING
from codexgram.store.rows import ThreadRow
from codexgram.store.turn_queries import THREAD_CREATING, THREAD_IDLE, THREAD_LOST, pending_key

NOW = 1_764_950_000.0
THREAD = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[apsw.Connection]:
    connection = open_database(tmp_path / "codexgram.sqlite3")
    with immediate_transaction(connection):
        queries.add_workspace(connection, name="demo", path="/home/ada/demo", at=NOW - 100)
        thread = ThreadRow(
            thread_id=THREAD,
            chat_id=1001,
            workspace="demo",
            cwd="/home/ada/demo",
            title=None,
            status=THREAD_IDLE,
            created_at=NOW,
            updated_at=NOW,
        )
        queries.save_thread(connection, thread)
        for update_id, state in ((10, QUEUED), (11, STARTING), (12, QUEUED), (13, HANDLED)):
            queries.inbox_add(
                connection,
                update_id=update_id,
                chat_id=1001,
                user_id=1001,
                kind="message",
                payload="{}",
                received_at=NOW,
            )
            if state == HANDLED:
                queries.inbox_set_state(connection, update_id, QUEUED, thread_key=THREAD)
                queries.inbox_handled(connection, update_id, outcome="answered", at=NOW)
            else:
                queries.inbox_set_state(connection, update_id, state, thread_key=THREAD)
    try:
        yield connection
    finally:
        connection.close()


def test_a_lost_thread_hands_every_waiting_prompt_to_a_new_thread(conn: apsw.Connection) -> None:
    # The actor decided with prompts 10 and 11; 12 was queued by the chat after that decision: it moves too,
    # or it would wait on a thread nobody serves.
    with immediate_transaction(conn):
        key, stored = store.thread_lost(conn, THREAD, prompts=(10, 11), message=None, at=NOW + 5)
    assert key == pending_key(10)
    assert stored == []
    lost = queries.get_thread(conn, THREAD)
    assert lost is not None
    assert lost.status == THREAD_LOST
    new = queries.get_thread(conn, key)
    assert new is not None
    assert (new.status, new.cwd) == (THREAD_CREATING, "/home/ada/demo")
    assert [(r.update_id, r.state) for r in queries.inbox_prompts_of(conn, key)] == [
        (10, QUEUED),
        (11, QUEUED),
        (12, QUEUED),
    ]
    assert queries.inbox_prompts_of(conn, THREAD) == []
    handled = queries.inbox_get(conn, 13)
    assert handled is not None
    assert (handled.state, handled.thread_key) == (HANDLED, THREAD)
