"""Rows of the store as frozen attrs classes (what query functions return). Pure data."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class UserRow:
    """An allowlisted Telegram user."""

    user_id: int
    name: str | None
    added_at: float


@attrs.frozen(kw_only=True)
class WorkspaceRow:
    """A named workspace: an absolute host path that Codex uses as its working directory."""

    name: str
    path: str
    added_at: float


@attrs.frozen(kw_only=True)
class SessionRow:
    """The state of one chat: what its next message works on."""

    chat_id: int
    workspace: str | None
    thread_id: str | None
    model: str | None
    sandbox: str | None
    updated_at: float
    approval_policy: str | None = None


@attrs.frozen(kw_only=True)
class ThreadRow:
    """A Codex thread started from a chat."""

    thread_id: str
    chat_id: int
    workspace: str | None
    cwd: str
    title: str | None
    status: str
    created_at: float
    updated_at: float


@attrs.frozen(kw_only=True)
class ApprovalRow:
    """A Codex server request waiting for the user's decision (approve / deny). ``kind`` is that of
    :class:`codexgram.codex.lifecycle.PendingApproval`: ``command`` or ``fileChange`` (the wire spelling)."""

    token: str
    chat_id: int
    thread_id: str
    request_id: str
    kind: str
    payload: str
    message_id: int | None
    created_at: float


@attrs.frozen(kw_only=True)
class AuditRow:
    """One administrative action."""

    id: int
    at: float
    actor: str
    action: str
    detail: str


@attrs.frozen(kw_only=True)
class OutboxRow:
    """A message that must reach Telegram even across a restart (written before the first attempt)."""

    id: int
    chat_id: int
    kind: str
    payload: str
    created_at: float
    attempts: int


@attrs.frozen(kw_only=True)
class InboxRow:
    """An update the poller acknowledged, recorded until its handling took effect (``state`` ``handled``).

    States: ``new`` (not looked at yet), ``waiting`` (a prompt kept until a workspace is chosen), ``queued``
    (a prompt assigned to ``thread_key``, waiting for its turn), ``starting`` (``turn/start`` may have been
    sent), ``handled``."""

    update_id: int
    chat_id: int
    user_id: int | None
    kind: str
    payload: str
    state: str
    thread_key: str | None
    card_message_id: int | None
    card_token: str | None
    outcome: str | None
    received_at: float
    handled_at: float | None


@attrs.frozen(kw_only=True)
class TurnRow:
    """A turn the bot started (or adopted after a restart). ``delivered``: its final messages are in the
    durable outbox; ``sent_items``: the ids of the items whose messages are."""

    turn_id: str
    thread_id: str
    chat_id: int
    user_id: int | None
    update_id: int | None
    status: str
    cancel_token: str
    progress_message_id: int | None
    sent_items: tuple[str, ...]
    tokens: int | None
    delivered: bool
    started_at: float
    finished_at: float | None
