"""Queries for the conversation state: per-chat sessions, Codex threads, and pending approvals.

Plain functions taking an ``apsw.Connection``; each runs inside the caller's transaction. Only bound
parameters, never formatted SQL (so the column lists are spelled out in every statement).
"""

from __future__ import annotations

from typing import Any

import apsw

from codexgram.errors import NotFound
from codexgram.store.rows import ApprovalRow, SessionRow, ThreadRow
from codexgram.store.values import as_float, as_int, as_opt_int, as_opt_str, as_str

# --- sessions ----------------------------------------------------------------------------------------------


def _session(row: tuple[Any, ...]) -> SessionRow:
    return SessionRow(
        chat_id=as_int(row[0]),
        workspace=as_opt_str(row[1]),
        thread_id=as_opt_str(row[2]),
        model=as_opt_str(row[3]),
        sandbox=as_opt_str(row[4]),
        updated_at=as_float(row[5]),
        approval_policy=as_opt_str(row[6]),
    )


def get_session(conn: apsw.Connection, chat_id: int) -> SessionRow | None:
    for row in conn.execute(
        "SELECT chat_id, workspace, thread_id, model, sandbox, updated_at, approval_policy FROM sessions "
        "WHERE chat_id = ?",
        (chat_id,),
    ):
        return _session(row)
    return None


def save_session(conn: apsw.Connection, session: SessionRow) -> None:
    """Insert or replace the session of ``session.chat_id``.

    Error handling: ``apsw.ConstraintError`` if it names a workspace or thread that does not exist.
    """
    conn.execute(
        "INSERT INTO sessions(chat_id, workspace, thread_id, model, sandbox, updated_at, approval_policy) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(chat_id) DO UPDATE SET workspace = excluded.workspace, thread_id = excluded.thread_id, "
        "model = excluded.model, sandbox = excluded.sandbox, updated_at = excluded.updated_at, "
        "approval_policy = excluded.approval_policy",
        (
            session.chat_id,
            session.workspace,
            session.thread_id,
            session.model,
            session.sandbox,
            session.updated_at,
            session.approval_policy,
        ),
    )


def list_sessions(conn: apsw.Connection) -> list[SessionRow]:
    return [
        _session(row)
        for row in conn.execute(
            "SELECT chat_id, workspace, thread_id, model, sandbox, updated_at, approval_policy FROM sessions "
            "ORDER BY chat_id"
        )
    ]


# --- threads -----------------------------------------------------------------------------------------------


def _thread(row: tuple[Any, ...]) -> ThreadRow:
    return ThreadRow(
        thread_id=as_str(row[0]),
        chat_id=as_int(row[1]),
        workspace=as_opt_str(row[2]),
        cwd=as_str(row[3]),
        title=as_opt_str(row[4]),
        status=as_str(row[5]),
        created_at=as_float(row[6]),
        updated_at=as_float(row[7]),
    )


def save_thread(conn: apsw.Connection, thread: ThreadRow) -> None:
    """Insert a thread or update everything but its ``created_at``."""
    conn.execute(
        "INSERT INTO threads(thread_id, chat_id, workspace, cwd, title, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(thread_id) DO UPDATE SET chat_id = excluded.chat_id, workspace = excluded.workspace, "
        "cwd = excluded.cwd, title = excluded.title, status = excluded.status, "
        "updated_at = excluded.updated_at",
        (
            thread.thread_id,
            thread.chat_id,
            thread.workspace,
            thread.cwd,
            thread.title,
            thread.status,
            thread.created_at,
            thread.updated_at,
        ),
    )


def get_thread(conn: apsw.Connection, thread_id: str) -> ThreadRow | None:
    for row in conn.execute(
        "SELECT thread_id, chat_id, workspace, cwd, title, status, created_at, updated_at "
        "FROM threads WHERE thread_id = ?",
        (thread_id,),
    ):
        return _thread(row)
    return None


def set_thread_status(conn: apsw.Connection, thread_id: str, status: str, *, at: float) -> None:
    """``NotFound`` if the thread is unknown."""
    conn.execute("UPDATE threads SET status = ?, updated_at = ? WHERE thread_id = ?", (status, at, thread_id))
    if conn.changes() == 0:
        raise NotFound(f"thread {thread_id} is not known")


def list_threads(
    conn: apsw.Connection, *, chat_id: int | None = None, status: str | None = None, limit: int = 50
) -> list[ThreadRow]:
    """Threads, most recently updated first, optionally only one chat's and/or one status."""
    return [
        _thread(row)
        for row in conn.execute(
            "SELECT thread_id, chat_id, workspace, cwd, title, status, created_at, updated_at FROM threads "
            "WHERE (?1 IS NULL OR chat_id = ?1) AND (?2 IS NULL OR status = ?2) "
            "ORDER BY updated_at DESC, thread_id LIMIT ?3",
            (chat_id, status, limit),
        )
    ]


# --- pending approvals -------------------------------------------------------------------------------------


def _approval(row: tuple[Any, ...]) -> ApprovalRow:
    return ApprovalRow(
        token=as_str(row[0]),
        chat_id=as_int(row[1]),
        thread_id=as_str(row[2]),
        request_id=as_str(row[3]),
        kind=as_str(row[4]),
        payload=as_str(row[5]),
        message_id=as_opt_int(row[6]),
        created_at=as_float(row[7]),
    )


def add_approval(conn: apsw.Connection, approval: ApprovalRow) -> None:
    """Store a pending approval. ``apsw.ConstraintError`` if the token is taken or the thread unknown."""
    conn.execute(
        "INSERT INTO pending_approvals"
        "(token, chat_id, thread_id, request_id, kind, payload, message_id, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            approval.token,
            approval.chat_id,
            approval.thread_id,
            approval.request_id,
            approval.kind,
            approval.payload,
            approval.message_id,
            approval.created_at,
        ),
    )


def get_approval(conn: apsw.Connection, token: str) -> ApprovalRow | None:
    for row in conn.execute(
        "SELECT token, chat_id, thread_id, request_id, kind, payload, message_id, created_at "
        "FROM pending_approvals WHERE token = ?",
        (token,),
    ):
        return _approval(row)
    return None


def set_approval_message(conn: apsw.Connection, token: str, message_id: int) -> None:
    """Remember which Telegram message shows the approval's buttons. ``NotFound`` if it is not pending."""
    conn.execute("UPDATE pending_approvals SET message_id = ? WHERE token = ?", (message_id, token))
    if conn.changes() == 0:
        raise NotFound(f"approval {token} is not pending")


def take_approval(conn: apsw.Connection, token: str) -> ApprovalRow:
    """Remove a pending approval and return it: exactly one decision wins.

    ``NotFound`` if it is not pending (already decided, or expired).
    """
    approval = get_approval(conn, token)
    if approval is None:
        raise NotFound("this approval is no longer pending")
    conn.execute("DELETE FROM pending_approvals WHERE token = ?", (token,))
    return approval


def list_approvals(conn: apsw.Connection, *, thread_id: str | None = None) -> list[ApprovalRow]:
    """Pending approvals, oldest first, optionally only one thread's."""
    return [
        _approval(row)
        for row in conn.execute(
            "SELECT token, chat_id, thread_id, request_id, kind, payload, message_id, created_at "
            "FROM pending_approvals WHERE (?1 IS NULL OR thread_id = ?1) ORDER BY created_at, token",
            (thread_id,),
        )
    ]
