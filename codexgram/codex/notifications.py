"""Notifications the Codex app-server sends (codex-cli 0.169.0), one class per method.

Each class names its method in ``METHOD``; :data:`NOTIFICATION_TYPES` maps methods to classes for the
converter. A method not listed decodes to :class:`UnknownNotification` (codex sends many: rate limits,
remote control, MCP startup...): the bot ignores or logs them, it never fails on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from codexgram.codex.items import ThreadItem
from codexgram.codex.requests import Thread, ThreadStatus, Turn, TurnError


@attrs.frozen(kw_only=True)
class ThreadStarted:
    """A thread was created. Carries no ``threadId`` member: the id is ``thread.id``. May arrive after the
    thread/start response, even after our next request."""

    METHOD: ClassVar[str] = "thread/started"
    thread: Thread


@attrs.frozen(kw_only=True)
class ThreadStatusChanged:
    METHOD: ClassVar[str] = "thread/status/changed"
    thread_id: str
    status: ThreadStatus


@attrs.frozen(kw_only=True)
class TurnStarted:
    METHOD: ClassVar[str] = "turn/started"
    thread_id: str
    turn: Turn


@attrs.frozen(kw_only=True)
class TurnCompleted:
    """The end of a turn, whatever happened (``turn.status`` completed/interrupted/failed): finalise here."""

    METHOD: ClassVar[str] = "turn/completed"
    thread_id: str
    turn: Turn


@attrs.frozen(kw_only=True)
class ItemStarted:
    METHOD: ClassVar[str] = "item/started"
    thread_id: str
    turn_id: str
    item: ThreadItem


@attrs.frozen(kw_only=True)
class ItemCompleted:
    """Not sent for items cut short by an interrupt or a steer: never wait for it."""

    METHOD: ClassVar[str] = "item/completed"
    thread_id: str
    turn_id: str
    item: ThreadItem


@attrs.frozen(kw_only=True)
class AgentMessageDelta:
    METHOD: ClassVar[str] = "item/agentMessage/delta"
    thread_id: str
    turn_id: str
    item_id: str
    delta: str


@attrs.frozen(kw_only=True)
class CommandExecutionOutputDelta:
    METHOD: ClassVar[str] = "item/commandExecution/outputDelta"
    thread_id: str
    turn_id: str
    item_id: str
    delta: str


@attrs.frozen(kw_only=True)
class ReasoningSummaryTextDelta:
    METHOD: ClassVar[str] = "item/reasoning/summaryTextDelta"
    thread_id: str
    turn_id: str
    item_id: str
    delta: str
    summary_index: int = 0


@attrs.frozen(kw_only=True)
class PlanDelta:
    METHOD: ClassVar[str] = "item/plan/delta"
    thread_id: str
    turn_id: str
    item_id: str
    delta: str


@attrs.frozen(kw_only=True)
class TurnPlanUpdated:
    """The agent's step plan; each step is kept as its JSON value (``{"step", "status"}``)."""

    METHOD: ClassVar[str] = "turn/plan/updated"
    thread_id: str
    turn_id: str
    plan: tuple[Mapping[str, Any], ...]
    explanation: str | None = None


@attrs.frozen(kw_only=True)
class TurnDiffUpdated:
    """The unified diff of the whole turn so far; sent several times, the last one counts."""

    METHOD: ClassVar[str] = "turn/diff/updated"
    thread_id: str
    turn_id: str
    diff: str


@attrs.frozen(kw_only=True)
class ServerRequestResolved:
    """A server request was answered (or withdrawn). After an interrupt it may come after turn/completed."""

    METHOD: ClassVar[str] = "serverRequest/resolved"
    thread_id: str
    request_id: int | str


@attrs.frozen(kw_only=True)
class ErrorNotification:
    """An error in a turn. With ``will_retry`` codex tries again; else turn/completed(failed) follows."""

    METHOD: ClassVar[str] = "error"
    thread_id: str
    turn_id: str
    error: TurnError
    will_retry: bool


@attrs.frozen(kw_only=True)
class TokenUsageBreakdown:
    total_tokens: int
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_output_tokens: int


@attrs.frozen(kw_only=True)
class ThreadTokenUsage:
    total: TokenUsageBreakdown
    last: TokenUsageBreakdown
    model_context_window: int | None = None


@attrs.frozen(kw_only=True)
class ThreadTokenUsageUpdated:
    METHOD: ClassVar[str] = "thread/tokenUsage/updated"
    thread_id: str
    turn_id: str
    token_usage: ThreadTokenUsage


@attrs.frozen(kw_only=True)
class ThreadNameUpdated:
    METHOD: ClassVar[str] = "thread/name/updated"
    thread_id: str
    thread_name: str | None = None


@attrs.frozen(kw_only=True)
class ThreadClosed:
    """A thread was unloaded (sent to every connection, also for threads we never touched)."""

    METHOD: ClassVar[str] = "thread/closed"
    thread_id: str


@attrs.frozen(kw_only=True)
class ThreadArchived:
    METHOD: ClassVar[str] = "thread/archived"
    thread_id: str


@attrs.frozen(kw_only=True)
class ThreadUnarchived:
    METHOD: ClassVar[str] = "thread/unarchived"
    thread_id: str


@attrs.frozen(kw_only=True)
class WarningNotification:
    METHOD: ClassVar[str] = "warning"
    message: str
    thread_id: str | None = None


@attrs.frozen(kw_only=True)
class ConfigWarning:
    METHOD: ClassVar[str] = "configWarning"
    summary: str
    details: str | None = None


@attrs.frozen(kw_only=True)
class DeprecationNotice:
    METHOD: ClassVar[str] = "deprecationNotice"
    summary: str
    details: str | None = None


@attrs.frozen(kw_only=True)
class UnknownNotification:
    """A method we do not model, kept raw."""

    method: str
    params: Mapping[str, Any]


KnownNotification = (
    ThreadStarted
    | ThreadStatusChanged
    | TurnStarted
    | TurnCompleted
    | ItemStarted
    | ItemCompleted
    | AgentMessageDelta
    | CommandExecutionOutputDelta
    | ReasoningSummaryTextDelta
    | PlanDelta
    | TurnPlanUpdated
    | TurnDiffUpdated
    | ServerRequestResolved
    | ErrorNotification
    | ThreadTokenUsageUpdated
    | ThreadNameUpdated
    | ThreadClosed
    | ThreadArchived
    | ThreadUnarchived
    | WarningNotification
    | ConfigWarning
    | DeprecationNotice
)
CodexNotification = KnownNotification | UnknownNotification

NOTIFICATION_TYPES: Mapping[str, type[KnownNotification]] = {
    cls.METHOD: cls
    for cls in (
        ThreadStarted,
        ThreadStatusChanged,
        TurnStarted,
        TurnCompleted,
        ItemStarted,
        ItemCompleted,
        AgentMessageDelta,
        CommandExecutionOutputDelta,
        ReasoningSummaryTextDelta,
        PlanDelta,
        TurnPlanUpdated,
        TurnDiffUpdated,
        ServerRequestResolved,
        ErrorNotification,
        ThreadTokenUsageUpdated,
        ThreadNameUpdated,
        ThreadClosed,
        ThreadArchived,
        ThreadUnarchived,
        WarningNotification,
        ConfigWarning,
        DeprecationNotice,
    )
}
