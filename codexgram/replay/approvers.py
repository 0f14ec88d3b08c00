"""Who answers Codex's approval requests when the bot runs without a user to ask.

The bot itself declines every approval (approving from the chat comes later); a scenario recorded through
the bot answers each one as the scenario says (:func:`decision_approver`), and the bot replay answers each
as the recording did (:func:`recorded_approver`), so the replay's answers match the recorded ones. Either
way the chat gets a line saying what was answered (:func:`approval_line`), as a user would see it.
"""

from __future__ import annotations

from html import escape

from codexgram.chat.thread_settings import ApprovalAnswer, Approver, decline_every_approval
from codexgram.chat.turn_view import command_line
from codexgram.codex.lifecycle import PendingApproval
from codexgram.replay.fake_server import FakeAppServer
from codexgram.replay.playback import recorded_result

FILES_SHOWN = 5


def approval_line(approval: PendingApproval, decision: str) -> str:
    """The chat line of an approval answered without the user (HTML)."""
    if approval.kind == "command":
        what = f"to run <code>{escape(command_line(approval.command or '?'))}</code>"
    else:
        shown = approval.changes[:FILES_SHOWN]
        files = ", ".join(f"<code>{escape(change.path)}</code>" for change in shown) or "files"
        more = len(approval.changes) - len(shown)
        what = f"to change {files}" + (f" and {more} more" if more else "")
    return f"🧪 Codex asked {what}. Answered <b>{escape(decision)}</b>, as recorded."


def decision_approver(decision: str) -> Approver:
    """An approver that gives every approval ``decision`` (for recording a scenario through the bot)."""

    def approve(approval: PendingApproval, cwd: str | None) -> ApprovalAnswer:
        return ApprovalAnswer(result={"decision": decision}, message=approval_line(approval, decision))

    return approve


def recorded_approver(server: FakeAppServer) -> Approver:
    """An approver that gives each approval the answer the recorded client gave to that server request.

    A request the recording left unanswered (the client interrupted the turn instead) gets the bot's own
    default, a decline, which the fake server lets through as a note (its one allowance)."""

    def approve(approval: PendingApproval, cwd: str | None) -> ApprovalAnswer:
        result = recorded_result(server.recorded_answer_to(approval.request_id))
        if result is None:
            return decline_every_approval(approval, cwd)
        decision = str(result.get("decision"))
        return ApprovalAnswer(result=dict(result), message=approval_line(approval, decision))

    return approve
