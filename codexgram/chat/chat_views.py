"""Every message of the conversation that is not an answer from Codex: commands, refusals, queued messages,
notices (pure; Telegram HTML).

Wording rules: short, plain, and always saying what to do next. Everything that comes from a user or from
Codex is escaped. The golden tests (``tests/golden/``) hold each of these as it looks in the chat, so a
change of wording is a change of a golden file.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from codexgram.chat.outgoing import Outgoing
from codexgram.chat.turn_view import format_duration, short_command, short_path
from codexgram.codex.lifecycle import PendingApproval
from codexgram.store.rows import WorkspaceRow
from codexgram.telegram.keyboards import queued_keyboard, workspace_keyboard
from codexgram.telegram.render import escape

DEFAULT_SANDBOX = "workspace-write"
DEFAULT_APPROVAL_POLICY = "on-request"
PREVIEW_CHARS = 80
#: Characters of an error from Codex, a title or a name typed by the user, shown before they are cut.
ERROR_CHARS = 500
NAME_CHARS = 60

#: The command menu (setMyCommands) and /help, in order. Later commands answer that they are not there yet.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Who I am, who you are, what to do next"),
    ("help", "What each command does"),
    ("new", "Start a fresh Codex thread (/new TITLE)"),
    ("workspaces", "The workspaces you can use"),
    ("workspace", "Choose the workspace Codex works in (/workspace NAME)"),
    ("status", "Workspace, thread, settings and the running turn"),
    ("cancel", "Stop the running turn"),
)
LATER_COMMANDS: tuple[str, ...] = ("threads", "resume", "fork", "archive", "model", "sandbox", "diff")


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The start of a user's message on one line, escaped."""
    line = " ".join(text.split())
    return escape(line if len(line) <= limit else line[: limit - 1] + "…")


def short_id(thread_id: str) -> str:
    return thread_id[:8]


def _cut(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- /start, /help ------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ChatSummary:
    """What /start and /status say about a chat's session."""

    user_id: int
    first_name: str | None = None
    workspace: WorkspaceRow | None = None
    thread_id: str | None = None  # a Codex thread id, or a pending key while it is created
    thread_title: str | None = None
    thread_creating: bool = False
    workspaces: int = 0


def _thread_line(summary: ChatSummary) -> str:
    if summary.thread_id is None:
        return "none yet (your next message starts one)" if summary.workspace is not None else "none yet"
    if summary.thread_creating:
        return "being started…"
    title = f" “{escape(_cut(summary.thread_title, NAME_CHARS))}”" if summary.thread_title else ""
    return f"<code>{escape(short_id(summary.thread_id))}</code>{title}"


def _workspace_line(workspace: WorkspaceRow | None) -> str:
    if workspace is None:
        return "none chosen"
    return f"<b>{escape(workspace.name)}</b> (<code>{escape(workspace.path)}</code>)"


def start_text(summary: ChatSummary) -> str:
    name = f" {escape(summary.first_name)}" if summary.first_name else ""
    hello = f"👋 Hi{name}! I pass your messages to Codex"
    lines = [
        f"{hello} running on your machine, and show you what it does.",
        "",
        f"Your Telegram user id: <code>{summary.user_id}</code>",
        f"Workspace: {_workspace_line(summary.workspace)}",
        f"Thread: {_thread_line(summary)}",
        "",
    ]
    if summary.workspace is None and summary.workspaces == 0:
        lines.append(no_workspaces_hint())
    elif summary.workspace is None:
        lines.append("Next: choose a workspace with /workspace, then just write what you want done.")
    else:
        lines.append(
            "Next: just write what you want done. /new starts a fresh thread, /help lists the commands."
        )
    return "\n".join(lines)


def help_text() -> str:
    lines = ["<b>Commands</b>"]
    lines += [f"/{name} — {escape(description)}" for name, description in COMMANDS]
    lines += [
        "",
        "Any other message goes to Codex in the current thread. While Codex works, a message you send is "
        "queued: it starts the next turn, or press <b>Steer now</b> to send it into the running turn.",
        "",
        f"Coming later: {', '.join('/' + name for name in LATER_COMMANDS)}.",
    ]
    return "\n".join(lines)


# --- /status ------------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StatusView:
    summary: ChatSummary
    model: str | None
    sandbox: str | None
    approval_policy: str | None
    turn_running_for: float | None  # seconds, when a turn runs in the current thread
    queued: int
    codex_connected: bool
    codex_version: str | None
    codex_problem: str | None = None  # why it is not connected


def status_text(view: StatusView) -> str:
    if view.turn_running_for is not None:
        turn = f"running for {format_duration(view.turn_running_for)} (/cancel stops it)"
    else:
        turn = "none running"
    if view.codex_connected:
        codex = f"connected, version {escape(view.codex_version or 'unknown')}"
    else:
        problem = f" ({escape(_cut(view.codex_problem, ERROR_CHARS))})" if view.codex_problem else ""
        codex = f"⚠️ not connected{problem}; messages are kept until it is back"
    lines = [
        "📊 <b>Status</b>",
        f"Workspace: {_workspace_line(view.summary.workspace)}",
        f"Thread: {_thread_line(view.summary)}",
        f"Turn: {turn}",
    ]
    if view.queued:
        lines.append(f"Queued messages: {view.queued}")
    lines += [
        f"Model: {escape(view.model) if view.model else 'Codex default'}",
        f"Sandbox: {escape(view.sandbox or DEFAULT_SANDBOX)}",
        f"Approvals: {escape(view.approval_policy or DEFAULT_APPROVAL_POLICY)}",
        f"Codex: {codex}",
    ]
    return "\n".join(lines)


# --- workspaces ---------------------------------------------------------------------------------------------


def no_workspaces_hint() -> str:
    return (
        "No workspace is set up yet. On the machine that runs the bot, add one with\n"
        "<code>codexgram admin add-workspace NAME /path/to/project</code>"
    )


def workspaces_message(workspaces: Sequence[WorkspaceRow], current: str | None) -> Outgoing:
    if not workspaces:
        return Outgoing(text=no_workspaces_hint())
    lines = ["📁 <b>Workspaces</b>"]
    for workspace in workspaces:
        mark = " (current)" if workspace.name == current else ""
        lines.append(f"• <b>{escape(workspace.name)}</b> — <code>{escape(workspace.path)}</code>{mark}")
    lines += ["", "Tap one to work in it (or /workspace NAME)."]
    markup = workspace_keyboard([w.name for w in workspaces], current=current)
    return Outgoing(text="\n".join(lines), reply_markup=markup)


def workspace_picker(
    workspaces: Sequence[WorkspaceRow], current: str | None, *, kept: bool = False
) -> Outgoing:
    """The picker (/workspace without a name, or a message sent before any workspace was chosen)."""
    if not workspaces:
        if not kept:
            return Outgoing(text=no_workspaces_hint())
        text = (
            f"📁 Codex needs a workspace to work in. {no_workspaces_hint()}\n\n"
            "Your message is kept: once the workspace exists, choose it with /workspace and the message goes "
            "to Codex."
        )
        return Outgoing(text=text)
    chosen = _named(workspaces, current)
    if kept:
        text = (
            "📁 Which workspace should Codex work in? Your message is kept and goes to Codex once you choose."
        )
    elif chosen is None:
        text = "📁 Choose the workspace Codex works in:"
    else:
        text = f"📁 Working in {_workspace_line(chosen)}. Tap a workspace to switch:"
    return Outgoing(text=text, reply_markup=workspace_keyboard([w.name for w in workspaces], current=current))


def _named(workspaces: Sequence[WorkspaceRow], name: str | None) -> WorkspaceRow | None:
    return next((w for w in workspaces if w.name == name), None)


def unknown_workspace(name: str, workspaces: Sequence[WorkspaceRow]) -> Outgoing:
    text = f"There is no workspace called <b>{escape(_cut(name, NAME_CHARS))}</b>."
    text += " Choose one of these:" if workspaces else "\n" + no_workspaces_hint()
    return Outgoing(
        text=text, reply_markup=workspace_keyboard([w.name for w in workspaces]) if workspaces else None
    )


def workspace_chosen(workspace: WorkspaceRow, *, sending: int = 0, unchanged: bool = False) -> str:
    if unchanged:
        return f"📁 Already working in {_workspace_line(workspace)}."
    text = f"📁 Now working in {_workspace_line(workspace)}. Your next message starts a new thread there."
    if sending:
        text = (
            f"📁 Now working in {_workspace_line(workspace)}. Sending your kept "
            f"message{'s' if sending > 1 else ''} to Codex."
        )
    return text


def new_thread_text(workspace: WorkspaceRow, title: str | None) -> str:
    named = f" “{escape(_cut(title, NAME_CHARS))}”" if title else ""
    return f"🆕 New thread{named} in {_workspace_line(workspace)}. Send your first message."


def need_workspace_for_new() -> str:
    return "🆕 A new thread needs a workspace: choose one, and your next message starts the thread there."


# --- cancel -------------------------------------------------------------------------------------------------


def nothing_running() -> str:
    return "Nothing is running in this thread."


def cancelling() -> str:
    return "⏹ Stopping the turn…"


def cancelled_before_start() -> str:
    """/cancel came while the next message waited to be sent (Codex away, or just being started)."""
    return "⏹ Stopped before Codex started on it: that message was not sent."


# --- refusals and odd input ---------------------------------------------------------------------------------


def refusal_text(user_id: int) -> str:
    return (
        "🔒 Sorry, this is a private bot.\n"
        f"Your Telegram user id is <code>{user_id}</code>. If the bot is yours, allow yourself on the "
        f"machine that runs it with\n<code>codexgram admin allow-user {user_id}</code>"
    )


def unknown_command(name: str) -> str:
    return (
        f"❓ I don't know /{escape(name)}. /help lists the commands; a message that is not a command goes "
        "to Codex."
    )


def other_bot_command(name: str, bot: str) -> str:
    """``/name@bot`` for another bot, sent in our private chat: answered, never passed to Codex."""
    return (
        f"❓ /{escape(name)}@{escape(bot)} is a command for @{escape(bot)}, not for me, so it did not go to "
        "Codex. /help lists my commands."
    )


def not_yet(name: str) -> str:
    return (
        f"🚧 /{escape(name)} is not there yet: it comes in a later version of codexgram. "
        "/help lists what works now."
    )


def edited_message() -> str:
    return "✏️ Edits don't reach Codex (it already has the first version). Send the change as a new message."


def unsupported_message(kind: str) -> str:
    return (
        f"🚧 I can't pass {escape(kind)} to Codex yet, only text (photos and files come in a later version "
        "of codexgram)."
    )


def busy() -> str:
    return "⏳ I'm busy with a backlog in this chat; your message is kept and handled shortly."


def stale_button() -> str:
    return "This button is no longer active."


def not_your_button() -> str:
    return "This button was not made for you."


def failed_to_handle() -> str:
    return "⚠️ Something went wrong handling that message (it is in the bot's log). Please send it again."


# --- the queue ----------------------------------------------------------------------------------------------


def queued_card(text: str, token: str) -> Outgoing:
    body = (
        f"🕓 <b>Queued</b>: “{preview(text)}”\n"
        "It goes to Codex when the running turn ends; <b>Steer now</b> sends it into the running turn "
        "instead."
    )
    return Outgoing(text=body, reply_markup=queued_keyboard(token))


def card_started(text: str) -> str:
    return f"▶️ Sent to Codex: “{preview(text)}”"


def card_steering(text: str) -> str:
    return f"↪️ Steering into the running turn: “{preview(text)}”…"


def card_steered(text: str) -> str:
    return f"↪️ Sent into the running turn: “{preview(text)}”"


def card_steer_refused(text: str, error: str | None) -> str:
    why = f" ({escape(_cut(error, ERROR_CHARS))})" if error else ""
    return (
        f"🕓 Codex did not take “{preview(text)}” into the running turn{why}. "
        "It starts the next turn instead."
    )


def card_dropped(text: str) -> str:
    return f"✖️ Cancelled, not sent to Codex: “{preview(text)}”"


# --- Codex --------------------------------------------------------------------------------------------------


def codex_away_kept() -> str:
    return "⚠️ Codex is not reachable right now. Your message is kept and goes to Codex as soon as it is back."


def codex_lost_mid_turn() -> str:
    return (
        "⚠️ Lost the connection to Codex. The turn may go on there; I'll show what it did once Codex is back."
    )


def codex_refused(error: str) -> str:
    return f"❌ Codex refused this message: {escape(_cut(error, ERROR_CHARS))}"


def cannot_stop(error: str | None) -> str:
    why = f": {escape(_cut(error, ERROR_CHARS))}" if error else ""
    return f"⚠️ Could not stop the turn{why}. Try /cancel again."


def thread_create_failed(error: str) -> str:
    return f"❌ Codex could not start a thread: {escape(_cut(error, ERROR_CHARS))}"


def thread_lost() -> str:
    return (
        "⚠️ Codex no longer knows the current thread (it restarted before saving it). "
        "Continuing in a new thread."
    )


def turn_lost() -> str:
    return (
        "⚠️ <b>This turn was lost</b>: Codex has no record of it (it probably restarted). "
        "Send your message again if it still matters."
    )


def stopped_by_codex() -> str:
    return "Codex ended the turn itself (it may have been restarted)."


def turn_done(footer: str) -> str:
    return f"✅ Done.\n\n{footer}"


def approval_declined(approval: PendingApproval, *, cwd: str | None = None) -> str:
    if approval.kind == "command":
        where = (
            f" in <code>{escape(short_path(approval.cwd))}</code>"
            if approval.cwd and approval.cwd != cwd
            else ""
        )
        what = f"to run <code>{escape(short_command(approval.command or '?'))}</code>{where}"
    else:
        shown = approval.changes[:5]
        files = (
            ", ".join(f"<code>{escape(short_path(change.path, cwd))}</code>" for change in shown) or "files"
        )
        more = f" and {len(approval.changes) - len(shown)} more" if len(approval.changes) > len(shown) else ""
        what = f"to change {files}{more}"
    reason = f"\nIts reason: {escape(_cut(approval.reason, ERROR_CHARS))}" if approval.reason else ""
    return (
        f"🚫 Codex asked {what}.{reason}\n"
        "Declined: approving from Telegram comes in a later version of codexgram, "
        "so Codex goes on without it."
    )
