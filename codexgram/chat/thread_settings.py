"""How a thread's core behaves: its pacing and sizes (:class:`ThreadConfig`), and who answers Codex's approval
requests (:data:`Approver`). Kept apart from the core so the actors, the replay and the app can configure a
thread without importing its state machine."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from codexgram.chat import chat_views
from codexgram.codex.lifecycle import PendingApproval


@attrs.frozen(kw_only=True)
class ThreadConfig:
    max_chunks: int = 5  # an answer longer than this many messages goes as a .md document
    progress_delay: float = 0.6  # a turn shorter than this shows no progress message
    progress_interval: float = 1.0  # at most one progress edit this often (the outbox paces per chat too)
    clock_refresh: float = 5.0  # with nothing new, the progress message's clock is refreshed this often
    typing_interval: float = 4.0  # "typing" lasts about 5 s


@attrs.frozen(kw_only=True)
class ApprovalAnswer:
    """How an approval request is answered: ``result`` goes to Codex, ``message`` (HTML) to the chat."""

    result: dict[str, object]
    message: str


# Decides the answer to an approval request, given the thread's cwd. The default declines every request
# (approving from the chat is a later step); a replay answers as recorded.
Approver = Callable[[PendingApproval, str | None], ApprovalAnswer]


def decline_every_approval(approval: PendingApproval, cwd: str | None) -> ApprovalAnswer:
    """Until approvals are answered from the chat: say no, and say so in the chat."""
    return ApprovalAnswer(
        result={"decision": "decline"}, message=chat_views.approval_declined(approval, cwd=cwd)
    )
