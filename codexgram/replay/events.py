"""One-line descriptions of the events a thread sees (for ``codexgram replay`` and test diagnostics).

Pure: takes the ThreadActor mailbox messages (``codexgram.messages``) with their decoded Codex payloads and
returns ``(kind, summary)``: the kind is the notification or server-request method (or ``disconnected``,
``reconnected``, ``events-lost``), the summary a short, single-line text.
"""

from __future__ import annotations

from typing import Any

from codexgram.codex.items import (
    AgentMessageItem,
    CommandExecutionItem,
    FileChangeItem,
    UnknownItem,
    UserMessageItem,
)
from codexgram.codex.notifications import (
    AgentMessageDelta,
    CommandExecutionOutputDelta,
    ErrorNotification,
    ItemCompleted,
    ItemStarted,
    ServerRequestResolved,
    ThreadStatusChanged,
    TurnCompleted,
    TurnDiffUpdated,
    TurnStarted,
    UnknownNotification,
)
from codexgram.codex.server_requests import (
    CommandApprovalRequest,
    FileChangeApprovalRequest,
    UnknownServerRequest,
)
from codexgram.messages import (
    CodexDisconnected,
    CodexEvent,
    CodexEventsLost,
    CodexReconnected,
    CodexServerRequestEvent,
    ThreadEvent,
)

SUMMARY_WIDTH = 80


def notification_method(notification: Any) -> str:
    """The wire method of a decoded notification (``UnknownNotification`` keeps its own)."""
    if isinstance(notification, UnknownNotification):
        return notification.method
    return str(getattr(type(notification), "METHOD", type(notification).__name__))


def server_request_method(request: Any) -> str:
    if isinstance(request, UnknownServerRequest):
        return request.method
    return str(getattr(type(request), "METHOD", type(request).__name__))


def describe_event(event: ThreadEvent) -> tuple[str, str]:
    """``(kind, summary)`` of one mailbox event."""
    if isinstance(event, CodexEvent):
        return notification_method(event.notification), _summarise_notification(event.notification)
    if isinstance(event, CodexServerRequestEvent):
        summary = f"id={event.request_id} {_summarise_request(event.request)}"
        return server_request_method(event.request), summary
    if isinstance(event, CodexDisconnected):
        return "disconnected", shorten(event.reason)
    if isinstance(event, CodexReconnected):
        return "reconnected", "thread resumed" if event.resumed else "thread NOT resumed"
    assert isinstance(event, CodexEventsLost)
    return "events-lost", f"{event.count} events dropped"


def shorten(text: str, width: int = SUMMARY_WIDTH) -> str:
    """One line, at most ``width`` characters (an ellipsis marks a cut)."""
    flat = " ".join(text.split()) if "\n" in text or "\t" in text else text
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _summarise_notification(n: Any) -> str:
    if isinstance(n, AgentMessageDelta):
        return repr(n.delta)
    if isinstance(n, CommandExecutionOutputDelta):
        return shorten(repr(n.delta))
    if isinstance(n, ItemStarted | ItemCompleted):
        return _summarise_item(n.item)
    if isinstance(n, TurnStarted):
        return f"turn {n.turn.id}"
    if isinstance(n, TurnCompleted):
        error = f": {n.turn.error.message}" if n.turn.error is not None else ""
        return shorten(f"turn {n.turn.id} {n.turn.status}{error}")
    if isinstance(n, ThreadStatusChanged):
        flags = f" [{', '.join(n.status.active_flags)}]" if n.status.active_flags else ""
        return f"{n.status.type}{flags}"
    if isinstance(n, TurnDiffUpdated):
        lines = n.diff.splitlines()
        files = [line[len("diff --git ") :] for line in lines if line.startswith("diff --git ")]
        return shorten(f"{len(lines)} lines: {', '.join(files)}")
    if isinstance(n, ErrorNotification):
        return shorten(f"{n.error.message} (will retry: {n.will_retry})")
    if isinstance(n, ServerRequestResolved):
        return f"request {n.request_id}"
    if isinstance(n, UnknownNotification):
        return "(not modelled)"
    message = getattr(n, "message", None) or getattr(n, "summary", None)  # warning, configWarning, ...
    return shorten(str(message)) if message else ""


def _summarise_item(item: Any) -> str:
    if isinstance(item, AgentMessageItem):
        return shorten(f"agentMessage {item.text!r}")
    if isinstance(item, UserMessageItem):
        texts = " ".join(str(getattr(part, "text", "")) for part in item.content)
        return shorten(f"userMessage {texts!r}")
    if isinstance(item, CommandExecutionItem):
        exit_code = f" exit {item.exit_code}" if item.exit_code is not None else ""
        return shorten(f"commandExecution {item.status}{exit_code}: {item.command}")
    if isinstance(item, FileChangeItem):
        paths = ", ".join(change.path for change in item.changes)
        return shorten(f"fileChange {item.status}: {paths}")
    if isinstance(item, UnknownItem):
        return f"{item.type} (not modelled)"
    return type(item).__name__


def _summarise_request(request: Any) -> str:
    if isinstance(request, CommandApprovalRequest):
        return shorten(f"run {request.command!r} in {request.cwd}")
    if isinstance(request, FileChangeApprovalRequest):
        return f"apply the patch of item {request.item_id}"
    return "(not modelled)"
