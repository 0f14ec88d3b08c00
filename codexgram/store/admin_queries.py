"""Queries for administration: the allowlist, the workspaces, and the audit log.

Plain functions taking an ``apsw.Connection``; each runs inside the caller's transaction. Nothing here is
cached: the bot asks the file every time, so a change made by the admin CLI (another process) counts at once.
Only bound parameters, never formatted SQL.
"""

from __future__ import annotations

import json
from typing import Any

import apsw

from codexgram.errors import AlreadyExists, NotFound
from codexgram.store.rows import AuditRow, UserRow, WorkspaceRow
from codexgram.store.values import as_float, as_int, as_opt_str, as_str

# --- allowlist ---------------------------------------------------------------------------------------------


def is_user_allowed(conn: apsw.Connection, user_id: int) -> bool:
    for _ in conn.execute("SELECT 1 FROM allowed_users WHERE user_id = ?", (user_id,)):
        return True
    return False


def allow_user(conn: apsw.Connection, *, user_id: int, name: str | None, at: float) -> UserRow:
    """Add a user to the allowlist. ``AlreadyExists`` if they are on it."""
    if is_user_allowed(conn, user_id):
        raise AlreadyExists(f"user {user_id} is already allowed")
    conn.execute("INSERT INTO allowed_users(user_id, name, added_at) VALUES (?, ?, ?)", (user_id, name, at))
    return UserRow(user_id=user_id, name=name, added_at=at)


def remove_user(conn: apsw.Connection, user_id: int) -> None:
    """Take a user off the allowlist. ``NotFound`` if they are not on it."""
    conn.execute("DELETE FROM allowed_users WHERE user_id = ?", (user_id,))
    if conn.changes() == 0:
        raise NotFound(f"user {user_id} is not on the allowlist")


def list_users(conn: apsw.Connection) -> list[UserRow]:
    return [
        UserRow(user_id=as_int(row[0]), name=as_opt_str(row[1]), added_at=as_float(row[2]))
        for row in conn.execute("SELECT user_id, name, added_at FROM allowed_users ORDER BY user_id")
    ]


# --- workspaces --------------------------------------------------------------------------------------------


def _workspace(row: tuple[Any, ...]) -> WorkspaceRow:
    return WorkspaceRow(name=as_str(row[0]), path=as_str(row[1]), added_at=as_float(row[2]))


def get_workspace(conn: apsw.Connection, name: str) -> WorkspaceRow | None:
    for row in conn.execute("SELECT name, path, added_at FROM workspaces WHERE name = ?", (name,)):
        return _workspace(row)
    return None


def add_workspace(conn: apsw.Connection, *, name: str, path: str, at: float) -> WorkspaceRow:
    """Add a workspace. The caller validated ``name`` and ``path``. ``AlreadyExists`` if the name is taken."""
    if get_workspace(conn, name) is not None:
        raise AlreadyExists(f"a workspace named {name!r} exists already")
    conn.execute("INSERT INTO workspaces(name, path, added_at) VALUES (?, ?, ?)", (name, path, at))
    return WorkspaceRow(name=name, path=path, added_at=at)


def remove_workspace(conn: apsw.Connection, name: str) -> None:
    """Remove a workspace; chats and threads that used it keep working on their thread's cwd.

    ``NotFound`` if there is no such workspace.
    """
    conn.execute("DELETE FROM workspaces WHERE name = ?", (name,))
    if conn.changes() == 0:
        raise NotFound(f"there is no workspace named {name!r}")


def list_workspaces(conn: apsw.Connection) -> list[WorkspaceRow]:
    return [
        _workspace(row) for row in conn.execute("SELECT name, path, added_at FROM workspaces ORDER BY name")
    ]


# --- audit log ---------------------------------------------------------------------------------------------


def write_audit(conn: apsw.Connection, *, actor: str, action: str, detail: dict[str, Any], at: float) -> int:
    """Record an administrative action (in the same transaction as the action, so both or neither land)."""
    conn.execute(
        "INSERT INTO audit_log(at, actor, action, detail) VALUES (?, ?, ?, ?)",
        (at, actor, action, json.dumps(detail, sort_keys=True, ensure_ascii=False)),
    )
    return conn.last_insert_rowid()


def list_audit(conn: apsw.Connection, *, limit: int = 100) -> list[AuditRow]:
    """The newest ``limit`` audit rows, oldest first."""
    rows = conn.execute(
        "SELECT id, at, actor, action, detail FROM audit_log ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [
        AuditRow(
            id=as_int(r[0]), at=as_float(r[1]), actor=as_str(r[2]), action=as_str(r[3]), detail=as_str(r[4])
        )
        for r in reversed(rows)
    ]
