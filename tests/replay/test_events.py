"""One-line event descriptions (what `codexgram replay` prints): pure, no I/O."""

from __future__ import annotations

from codexgram.codex.notifications import (
    AgentMessageDelta,
    TurnCompleted,
    UnknownNotification,
    WarningNotification,
)
from codexgram.codex.requests import Turn, TurnError
from codexgram.codex.server_requests import CommandApprovalRequest
from codexgram.messages import (
    CodexDisconnected,
    CodexEvent,
    CodexEventsLost,
    CodexReconnected,
    CodexServerRequestEvent,
)
from codexgram.replay.events import describe_event, shorten


def event(notification: object) -> CodexEvent:
    return CodexEvent(thread_id="T", notification=notification)


def test_notifications_are_named_by_their_wire_method() -> None:
    delta = AgentMessageDelta(thread_id="T", turn_id="U", item_id="I", delta="Hel\n")
    assert describe_event(event(delta)) == ("item/agentMessage/delta", "'Hel\\n'")
    failed = Turn(id="U", status="failed", error=TurnError(message="upstream said 500"))
    assert describe_event(event(TurnCompleted(thread_id="T", turn=failed))) == (
        "turn/completed",
        "turn U failed: upstream said 500",
    )
    assert describe_event(event(WarningNotification(message="careful"))) == ("warning", "careful")
    unknown = UnknownNotification(method="account/rateLimits/updated", params={})
    assert describe_event(event(unknown)) == ("account/rateLimits/updated", "(not modelled)")


def test_server_requests_and_link_events() -> None:
    request = CommandApprovalRequest(thread_id="T", turn_id="U", item_id="I", command="ls -l", cwd="/w")
    assert describe_event(CodexServerRequestEvent(thread_id="T", request_id=0, request=request)) == (
        "item/commandExecution/requestApproval",
        "id=0 run 'ls -l' in /w",
    )
    assert describe_event(CodexDisconnected(reason="Codex unavailable: gone")) == (
        "disconnected",
        "Codex unavailable: gone",
    )
    assert describe_event(CodexReconnected(resumed=False)) == ("reconnected", "thread NOT resumed")
    assert describe_event(CodexEventsLost(count=3)) == ("events-lost", "3 events dropped")


def test_shorten_keeps_one_line_within_the_width() -> None:
    assert shorten("a\nb\tc") == "a b c"
    assert shorten("x" * 100, 10) == "x" * 9 + "…"
    assert shorten("short") == "short"
