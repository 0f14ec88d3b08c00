"""All query functions in one namespace: ``from codexgram.store import queries``, ``queries.outbox_add()``.

The functions live in modules by topic (admin, telegram, session); this module only re-exports them.
"""

from __future__ import annotations

from codexgram.store.admin_queries import (
    add_workspace,
    allow_user,
    get_workspace,
    is_user_allowed,
    list_audit,
    list_users,
    list_workspaces,
    remove_user,
    remove_workspace,
    write_audit,
)
from codexgram.store.session_queries import (
    add_approval,
    get_approval,
    get_session,
    get_thread,
    list_approvals,
    list_sessions,
    list_threads,
    save_session,
    save_thread,
    set_approval_message,
    set_thread_status,
    take_approval,
)
from codexgram.store.telegram_queries import (
    UPDATE_OFFSET_KEY,
    get_state,
    get_update_offset,
    outbox_add,
    outbox_bump_attempts,
    outbox_pending,
    outbox_remove,
    set_state,
    set_update_offset,
)

__all__ = [
    "UPDATE_OFFSET_KEY",
    "add_approval",
    "add_workspace",
    "allow_user",
    "get_approval",
    "get_session",
    "get_state",
    "get_thread",
    "get_update_offset",
    "get_workspace",
    "is_user_allowed",
    "list_approvals",
    "list_audit",
    "list_sessions",
    "list_threads",
    "list_users",
    "list_workspaces",
    "outbox_add",
    "outbox_bump_attempts",
    "outbox_pending",
    "outbox_remove",
    "remove_user",
    "remove_workspace",
    "save_session",
    "save_thread",
    "set_approval_message",
    "set_state",
    "set_thread_status",
    "set_update_offset",
    "take_approval",
    "write_audit",
]
