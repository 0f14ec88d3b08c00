"""Queries for turns (what the bot started in Codex and whether its final messages went out) and for the
threads being created.

Plain functions taking an ``apsw.Connection``; each runs inside the caller's transaction. Only bound
parameters. A thread being created has a row of its own under a *pending key* (``new:<update id>``, status
``creating``) so that a session and queued prompts can point at it before Codex gave it an id;
:func:`replace_pending_thread` swaps in the real id everywhere in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Final

import apsw

from codexgram.errors import NotFound
from codexgram.store.inbox_queries import inbox_rekey
from codexgram.store.rows import ThreadRow, TurnRow
from codexgram.store.session_queries import get_thread, save_thread
from codexgram.store.values import as_float, as_int, as_opt_int, as_str

PENDING_PREFIX: Final = "new:"
THREAD_CREATING: Final = "creating"
THREAD_IDLE: Final = "idle"
THREAD_LOST: Final = "lost"  # Codex no longer knows it (never saved before Codex restarted)

TURN_RUNNING: Final = "running"
TURN_LOST: Final = "lost"  # the turn could not be found again after a restart


def pending_key(update_id: int) -> str:
    """The key of a thread created for (and named after) the update that asked for it."""
    return f"{PENDING_PREFIX}{update_id}"


def is_pending_key(key: str) -> bool:
    return key.startswith(PENDING_PREFIX)


def _turn(row: tuple[Any, ...]) -> TurnRow:
    sent = json.loads(as_str(row[8]))
    return TurnRow(
        turn_id=as_str(row[0]),
        thread_id=as_str(row[1]),
        chat_id=as_int(row[2]),
        user_id=as_opt_int(row[3]),
        update_id=as_opt_int(row[4]),
        status=as_str(row[5]),
        cancel_token=as_str(row[6]),
        progress_message_id=as_opt_int(row[7]),
        sent_items=tuple(str(item) for item in sent),
        tokens=as_opt_int(row[9]),
        delivered=bool(as_int(row[10])),
        started_at=as_float(row[11]),
        finished_at=None if row[12] is None else as_float(row[12]),
    )


def add_turn(conn: apsw.Connection, turn: TurnRow) -> None:
    """Record a turn; a turn recorded before (adopted twice) is left as it is."""
    conn.execute(
        "INSERT INTO turns(turn_id, thread_id, chat_id, user_id, update_id, status, cancel_token, "
        "progress_message_id, sent_items, tokens, delivered, started_at, finished_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(turn_id) DO NOTHING",
        (
            turn.turn_id,
            turn.thread_id,
            turn.chat_id,
            turn.user_id,
            turn.update_id,
            turn.status,
            turn.cancel_token,
            turn.progress_message_id,
            json.dumps(list(turn.sent_items)),
            turn.tokens,
            int(turn.delivered),
            turn.started_at,
            turn.finished_at,
        ),
    )


def get_turn(conn: apsw.Connection, turn_id: str) -> TurnRow | None:
    for row in conn.execute(
        "SELECT turn_id, thread_id, chat_id, user_id, update_id, status, cancel_token, "
        "progress_message_id, sent_items, tokens, delivered, started_at, finished_at FROM turns "
        "WHERE turn_id = ?",
        (turn_id,),
    ):
        return _turn(row)
    return None


def turn_by_cancel_token(conn: apsw.Connection, token: str) -> TurnRow | None:
    for row in conn.execute(
        "SELECT turn_id, thread_id, chat_id, user_id, update_id, status, cancel_token, "
        "progress_message_id, sent_items, tokens, delivered, started_at, finished_at FROM turns "
        "WHERE cancel_token = ?",
        (token,),
    ):
        return _turn(row)
    return None


def undelivered_turns(conn: apsw.Connection, *, thread_id: str | None = None) -> list[TurnRow]:
    """Turns whose final messages are not in the outbox yet (running, or ended while nobody watched)."""
    return [
        _turn(row)
        for row in conn.execute(
            "SELECT turn_id, thread_id, chat_id, user_id, update_id, status, cancel_token, "
            "progress_message_id, sent_items, tokens, delivered, started_at, finished_at FROM turns "
            "WHERE delivered = 0 AND (?1 IS NULL OR thread_id = ?1) "
            "ORDER BY started_at",
            (thread_id,),
        )
    ]


def threads_with_undelivered_turns(conn: apsw.Connection) -> list[str]:
    return [
        as_str(thread_id)
        for (thread_id,) in conn.execute(
            "SELECT DISTINCT thread_id FROM turns WHERE delivered = 0 ORDER BY thread_id"
        )
    ]


def set_turn_progress_message(conn: apsw.Connection, turn_id: str, message_id: int | None) -> None:
    conn.execute("UPDATE turns SET progress_message_id = ? WHERE turn_id = ?", (message_id, turn_id))
    if conn.changes() == 0:
        raise NotFound(f"turn {turn_id} is not recorded")


def add_sent_items(conn: apsw.Connection, turn_id: str, item_ids: Iterable[str]) -> TurnRow:
    """Note that the messages of ``item_ids`` are in the outbox; returns the updated turn."""
    turn = get_turn(conn, turn_id)
    if turn is None:
        raise NotFound(f"turn {turn_id} is not recorded")
    sent = list(turn.sent_items)
    sent += [item for item in item_ids if item not in sent]
    conn.execute("UPDATE turns SET sent_items = ? WHERE turn_id = ?", (json.dumps(sent), turn_id))
    result = get_turn(conn, turn_id)
    assert result is not None
    return result


def finish_turn(conn: apsw.Connection, turn_id: str, *, status: str, tokens: int | None, at: float) -> None:
    """The turn ended and its final messages are in the outbox (same transaction): ``delivered``."""
    conn.execute(
        "UPDATE turns SET status = ?, tokens = ?, delivered = 1, finished_at = ? WHERE turn_id = ?",
        (status, tokens, at, turn_id),
    )
    if conn.changes() == 0:
        raise NotFound(f"turn {turn_id} is not recorded")


def running_turn_of(conn: apsw.Connection, thread_id: str) -> TurnRow | None:
    """The newest turn of a thread that has not been delivered (running, or ended unseen)."""
    turns = undelivered_turns(conn, thread_id=thread_id)
    return turns[-1] if turns else None


def replace_pending_thread(conn: apsw.Connection, pending: str, thread: ThreadRow) -> None:
    """Codex created the thread that ``pending`` stood for: record it under its real id, move the session
    and the queued prompts to it, and forget the pending row. ``NotFound`` if ``pending`` is gone."""
    old = get_thread(conn, pending)
    if old is None:
        raise NotFound(f"thread {pending} is not being created")
    save_thread(conn, thread)
    conn.execute("UPDATE sessions SET thread_id = ? WHERE thread_id = ?", (thread.thread_id, pending))
    inbox_rekey(conn, pending, thread.thread_id)
    conn.execute("DELETE FROM threads WHERE thread_id = ?", (pending,))
