"""Requests the Codex app-server sends to us (approvals), and our answers (codex-cli 0.169.0).

Answer an approval with ``ApprovalResponse(decision=...)``. Server requests we do not model decode to
:class:`UnknownServerRequest`; the link must still answer them (a clear decline), never leave them hanging.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs


class ApprovalDecision(enum.StrEnum):
    """``accept_for_session``: the same command is not asked again in this session. ``decline``: the model is
    told and the turn goes on. ``cancel``: decline and interrupt the turn."""

    ACCEPT = "accept"
    ACCEPT_FOR_SESSION = "acceptForSession"
    DECLINE = "decline"
    CANCEL = "cancel"


@attrs.frozen(kw_only=True)
class ApprovalResponse:
    """The result member of our answer to an approval request."""

    decision: ApprovalDecision


@attrs.frozen(kw_only=True)
class CommandApprovalRequest:
    """Codex wants to run ``command`` in ``cwd``; ``reason`` is the model's justification, if it gave one."""

    METHOD: ClassVar[str] = "item/commandExecution/requestApproval"
    thread_id: str
    turn_id: str
    item_id: str
    command: str | None = None
    cwd: str | None = None
    reason: str | None = None
    command_actions: tuple[Mapping[str, Any], ...] | None = None


@attrs.frozen(kw_only=True)
class FileChangeApprovalRequest:
    """Codex wants to apply a patch. The diff is NOT here: it is in the fileChange item ``item_id``."""

    METHOD: ClassVar[str] = "item/fileChange/requestApproval"
    thread_id: str
    turn_id: str
    item_id: str
    reason: str | None = None
    grant_root: str | None = None


@attrs.frozen(kw_only=True)
class UnknownServerRequest:
    """A server request we do not handle (user input, permissions, elicitation...), kept raw."""

    method: str
    params: Mapping[str, Any]


KnownServerRequest = CommandApprovalRequest | FileChangeApprovalRequest
CodexServerRequest = KnownServerRequest | UnknownServerRequest

SERVER_REQUEST_TYPES: Mapping[str, type[KnownServerRequest]] = {
    cls.METHOD: cls for cls in (CommandApprovalRequest, FileChangeApprovalRequest)
}
