"""Queries for the durable inbox (every acknowledged update until its handling took effect) and for the
hourly limit on refusals.

Plain functions taking an ``apsw.Connection``; each runs inside the caller's transaction. Only bound
parameters. The inbox is the conversation's queue: a chat handles its ``new`` rows in ``update_id`` order, a
thread starts its ``queued`` prompts in that order, and a row is ``handled`` in the same transaction as the
effect it stands for, so after a crash every row is handled exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import apsw

from codexgram.errors import NotFound
from codexgram.store.rows import InboxRow
from codexgram.store.values import as_float, as_int, as_opt_int, as_opt_str, as_str

NEW: Final = "new"
WAITING: Final = "waiting"  # a prompt kept until the chat has a workspace
QUEUED: Final = "queued"  # a prompt assigned to a thread, waiting for its turn
STARTING: Final = "starting"  # turn/start may have been sent: a restart asks Codex whether it landed
HANDLED: Final = "handled"
STATES: Final = frozenset({NEW, WAITING, QUEUED, STARTING, HANDLED})
PROMPT_STATES: Final = (QUEUED, STARTING)


def _row(row: tuple[Any, ...]) -> InboxRow:
    return InboxRow(
        update_id=as_int(row[0]),
        chat_id=as_int(row[1]),
        user_id=as_opt_int(row[2]),
        kind=as_str(row[3]),
        payload=as_str(row[4]),
        state=as_str(row[5]),
        thread_key=as_opt_str(row[6]),
        card_message_id=as_opt_int(row[7]),
        card_token=as_opt_str(row[8]),
        outcome=as_opt_str(row[9]),
        received_at=as_float(row[10]),
        handled_at=None if row[11] is None else as_float(row[11]),
    )


def inbox_add(
    conn: apsw.Connection,
    *,
    update_id: int,
    chat_id: int,
    user_id: int | None,
    kind: str,
    payload: str,
    received_at: float,
) -> bool:
    """Record an update as ``new``; False (and nothing changes) if its id was recorded before."""
    conn.execute(
        "INSERT INTO inbox(update_id, chat_id, user_id, kind, payload, state, received_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(update_id) DO NOTHING",
        (update_id, chat_id, user_id, kind, payload, NEW, received_at),
    )
    return conn.changes() == 1


def inbox_get(conn: apsw.Connection, update_id: int) -> InboxRow | None:
    for row in conn.execute(
        "SELECT update_id, chat_id, user_id, kind, payload, state, thread_key, card_message_id, "
        "card_token, outcome, received_at, handled_at FROM inbox WHERE update_id = ?",
        (update_id,),
    ):
        return _row(row)
    return None


def inbox_of_chat(conn: apsw.Connection, chat_id: int, *, state: str, limit: int = 100) -> list[InboxRow]:
    """A chat's rows in one state, oldest first."""
    return [
        _row(row)
        for row in conn.execute(
            "SELECT update_id, chat_id, user_id, kind, payload, state, thread_key, card_message_id, "
            "card_token, outcome, received_at, handled_at FROM inbox "
            "WHERE chat_id = ? AND state = ? ORDER BY update_id LIMIT ?",
            (chat_id, state, limit),
        )
    ]


def inbox_prompts_of(conn: apsw.Connection, thread_key: str) -> list[InboxRow]:
    """The prompts assigned to a thread and not yet handled (``queued`` or ``starting``), oldest first."""
    return [
        _row(row)
        for row in conn.execute(
            "SELECT update_id, chat_id, user_id, kind, payload, state, thread_key, card_message_id, "
            "card_token, outcome, received_at, handled_at FROM inbox "
            "WHERE thread_key = ? AND state IN (?, ?) ORDER BY update_id",
            (thread_key, *PROMPT_STATES),
        )
    ]


def inbox_by_card_token(conn: apsw.Connection, token: str) -> InboxRow | None:
    for row in conn.execute(
        "SELECT update_id, chat_id, user_id, kind, payload, state, thread_key, card_message_id, "
        "card_token, outcome, received_at, handled_at FROM inbox WHERE card_token = ?",
        (token,),
    ):
        return _row(row)
    return None


def chats_with_new_updates(conn: apsw.Connection) -> list[int]:
    """Chats that have rows nobody looked at yet (for the start-up after a crash)."""
    return [
        as_int(chat_id)
        for (chat_id,) in conn.execute(
            "SELECT DISTINCT chat_id FROM inbox WHERE state = ? ORDER BY chat_id", (NEW,)
        )
    ]


def threads_with_prompts(conn: apsw.Connection) -> list[str]:
    """Thread keys that have prompts waiting to start or being started (for the start-up after a crash)."""
    return [
        as_str(key)
        for (key,) in conn.execute(
            "SELECT DISTINCT thread_key FROM inbox WHERE state IN (?, ?) AND thread_key IS NOT NULL "
            "ORDER BY thread_key",
            PROMPT_STATES,
        )
    ]


def _update(conn: apsw.Connection, update_id: int, sql: str, params: tuple[Any, ...]) -> None:
    conn.execute(sql, (*params, update_id))
    if conn.changes() == 0:
        raise NotFound(f"inbox update {update_id} is not recorded")


def inbox_handled(conn: apsw.Connection, update_id: int, *, outcome: str, at: float) -> None:
    """Mark a row handled (its effect is recorded in the same transaction). ``NotFound`` if unknown."""
    _update(
        conn,
        update_id,
        "UPDATE inbox SET state = ?, outcome = ?, handled_at = ? WHERE update_id = ?",
        (HANDLED, outcome, at),
    )


def inbox_set_state(
    conn: apsw.Connection, update_id: int, state: str, *, thread_key: str | None = None
) -> None:
    """Move a row to ``state`` (not ``handled``: use :func:`inbox_handled`); ``thread_key`` when given."""
    if state not in STATES or state == HANDLED:
        raise ValueError(f"not a state to set directly: {state!r}")
    if thread_key is None:
        _update(conn, update_id, "UPDATE inbox SET state = ? WHERE update_id = ?", (state,))
    else:
        _update(
            conn,
            update_id,
            "UPDATE inbox SET state = ?, thread_key = ? WHERE update_id = ?",
            (state, thread_key),
        )


def inbox_set_card(conn: apsw.Connection, update_id: int, *, token: str, message_id: int | None) -> None:
    """Remember the "queued" message shown for a prompt (its token first, its message id once sent)."""
    _update(
        conn,
        update_id,
        "UPDATE inbox SET card_token = ?, card_message_id = ? WHERE update_id = ?",
        (token, message_id),
    )


def inbox_rekey(conn: apsw.Connection, old_key: str, new_key: str) -> int:
    """Move every unhandled prompt of thread ``old_key`` to ``new_key``; returns how many moved."""
    conn.execute(
        "UPDATE inbox SET thread_key = ? WHERE thread_key = ? AND state != ?", (new_key, old_key, HANDLED)
    )
    return conn.changes()


def inbox_prune(conn: apsw.Connection, *, handled_before: float) -> int:
    """Forget handled rows older than ``handled_before`` (the poller's offset has long passed them)."""
    conn.execute("DELETE FROM inbox WHERE state = ? AND handled_at < ?", (HANDLED, handled_before))
    return conn.changes()


def inbox_counts(conn: apsw.Connection, update_ids: Iterable[int]) -> dict[str, int]:
    """How many of ``update_ids`` are in each state (for tests and the soak's invariants)."""
    counts: dict[str, int] = {}
    for update_id in update_ids:
        row = inbox_get(conn, update_id)
        state = row.state if row is not None else "missing"
        counts[state] = counts.get(state, 0) + 1
    return counts


# --- refusals ----------------------------------------------------------------------------------------------


def last_refusal(conn: apsw.Connection, user_id: int) -> float | None:
    """When ``user_id`` was last told they are not allowed, or None."""
    for (at,) in conn.execute("SELECT last_told_at FROM refusals WHERE user_id = ?", (user_id,)):
        return as_float(at)
    return None


def set_refusal(conn: apsw.Connection, user_id: int, *, at: float) -> None:
    conn.execute(
        "INSERT INTO refusals(user_id, last_told_at) VALUES (?, ?) "
        "ON CONFLICT(user_id) DO UPDATE SET last_told_at = excluded.last_told_at",
        (user_id, at),
    )
