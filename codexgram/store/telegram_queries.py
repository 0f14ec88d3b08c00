"""Queries for the Telegram side: the update offset (and other small state) and the durable outbox.

Plain functions taking an ``apsw.Connection``; each runs inside the caller's transaction (the repository actor
wraps every request in one). Only bound parameters, never formatted SQL.
"""

from __future__ import annotations

from typing import Final

import apsw

from codexgram.errors import NotFound, StoreError
from codexgram.store.rows import OutboxRow
from codexgram.store.values import as_float, as_int, as_str

UPDATE_OFFSET_KEY: Final = "update_offset"


def get_state(conn: apsw.Connection, key: str) -> str | None:
    """The value stored under ``key`` in ``telegram_state``, or None."""
    for (value,) in conn.execute("SELECT value FROM telegram_state WHERE key = ?", (key,)):
        return as_str(value)
    return None


def set_state(conn: apsw.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO telegram_state(key, value) VALUES (?, ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def get_update_offset(conn: apsw.Connection) -> int | None:
    """The next ``getUpdates`` offset (last confirmed update id + 1), or None before the first update."""
    raw = get_state(conn, UPDATE_OFFSET_KEY)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise StoreError(f"telegram_state.{UPDATE_OFFSET_KEY} is not an integer") from None


def set_update_offset(conn: apsw.Connection, offset: int) -> None:
    set_state(conn, UPDATE_OFFSET_KEY, str(int(offset)))


def outbox_add(conn: apsw.Connection, *, chat_id: int, kind: str, payload: str, created_at: float) -> int:
    """Store a message to deliver; returns its id (increasing: ids never get reused)."""
    conn.execute(
        "INSERT INTO outbox(chat_id, kind, payload, created_at) VALUES (?, ?, ?, ?)",
        (chat_id, kind, payload, created_at),
    )
    return conn.last_insert_rowid()


def outbox_remove(conn: apsw.Connection, outbox_id: int) -> None:
    """Forget a delivered message. Removing one that is gone already is fine (delivery is idempotent)."""
    conn.execute("DELETE FROM outbox WHERE id = ?", (outbox_id,))


def outbox_pending(conn: apsw.Connection) -> list[OutboxRow]:
    """Every message still to deliver, oldest first."""
    return [
        OutboxRow(
            id=as_int(row[0]),
            chat_id=as_int(row[1]),
            kind=as_str(row[2]),
            payload=as_str(row[3]),
            created_at=as_float(row[4]),
            attempts=as_int(row[5]),
        )
        for row in conn.execute(
            "SELECT id, chat_id, kind, payload, created_at, attempts FROM outbox ORDER BY id"
        )
    ]


def outbox_bump_attempts(conn: apsw.Connection, outbox_id: int) -> None:
    """Count one more failed delivery attempt. ``NotFound`` if the message is not in the outbox."""
    conn.execute("UPDATE outbox SET attempts = attempts + 1 WHERE id = ?", (outbox_id,))
    if conn.changes() == 0:
        raise NotFound(f"outbox message {outbox_id} does not exist")
