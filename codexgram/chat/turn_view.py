"""How a turn looks in Telegram (pure): the progress message while Codex works, one message per finished step
(an answer, a command with its exit code, a file change), and the footer of the turn's last message.

The progress message is one silent message, edited as the turn goes on. It shows what Codex is doing right
now: its plan (``turn/plan/updated``) with each step's status, the command that runs, the files being changed,
how long the turn has run, and the latest part of the answer as it streams in, so the user reads the answer
while it is written. Everything must fit one Telegram message (4096 UTF-16 units after parsing): the parts
above the answer are bounded, and the answer gets what is left (its tail, see ``render_progress``).

Every finished step is its own message, built by :func:`entry_messages`: an agent message as rendered
Markdown (split when too long; a document beyond ``max_chunks`` messages), a command as its command line,
exit code and the tail of its output, a file change as its files with their +/- counts.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence
from pathlib import PurePosixPath

import attrs

from codexgram.chat.outgoing import Outgoing
from codexgram.codex.items import (
    ITEM_STATUS_COMPLETED,
    ITEM_STATUS_DECLINED,
    ITEM_STATUS_FAILED,
    ITEM_STATUS_IN_PROGRESS,
    FileUpdateChange,
    McpToolCallItem,
    WebSearchItem,
)
from codexgram.codex.requests import TURN_STATUS_FAILED, TURN_STATUS_INTERRUPTED
from codexgram.codex.turn_transcript import (
    AgentText,
    CommandRun,
    FileEdit,
    OtherStep,
    TurnEntry,
    TurnTranscript,
)
from codexgram.telegram.chunking import TELEGRAM_TEXT_LIMIT, split_html
from codexgram.telegram.html_entities import plain_text_of, utf16_len
from codexgram.telegram.keyboards import cancel_keyboard
from codexgram.telegram.render import escape, markdown_to_html, render_message, render_progress

#: Lines and characters of a command's output shown in its message (the tail: where errors are).
OUTPUT_TAIL_LINES = 15
OUTPUT_TAIL_CHARS = 1500
#: Characters and lines of a command shown before it is cut (a heredoc can be a whole file).
COMMAND_CHARS = 300
COMMAND_LINES = 6
#: Characters of a path shown (its end, where the file name is).
PATH_CHARS = 120
#: Files listed in a file change's message, and the visible characters its list may take.
FILES_SHOWN = 20
FILES_CHARS = 3000
#: Plan steps shown in the progress message (the rest are counted).
PLAN_STEPS_SHOWN = 8
#: Caption limit of a document (UTF-16 units after parsing).
CAPTION_LIMIT = 1024

_STEP_ICONS = {"completed": "✅", "inProgress": "▶️", "pending": "◻️"}
_INLINE_CODE = re.compile(r"`([^`\n]+)`")


@attrs.frozen(kw_only=True)
class PlanStep:
    """One step of the agent's plan; ``status`` is ``pending``, ``inProgress`` or ``completed``."""

    text: str
    status: str


@attrs.frozen(kw_only=True)
class ProgressView:
    """What the progress message shows at one moment."""

    elapsed: float  # seconds since the turn started
    transcript: TurnTranscript
    plan: tuple[PlanStep, ...] = ()
    cwd: str | None = None
    stopping: bool = False  # the user asked to cancel; waiting for Codex to stop
    codex_away: bool = False  # the connection to Codex dropped; the turn may go on without us
    waiting_on_approval: bool = False
    shown_items: frozenset[str] = frozenset()  # answers already sent as messages: not repeated here


def format_duration(seconds: float) -> str:
    """``4s``, ``1m 05s``, ``2h 03m``: short and exact enough for a chat."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def format_tokens(tokens: int) -> str:
    return f"{tokens:,} token{'s' if tokens != 1 else ''}"


def command_line(command: str) -> str:
    """The command as the agent wrote it: codex runs ``/bin/bash -lc '<command>'``; show the inner part."""
    try:
        words = shlex.split(command)
    except ValueError:
        return command
    if (
        len(words) == 3
        and PurePosixPath(words[0]).name in ("bash", "sh", "zsh")
        and words[1] in ("-lc", "-c")
    ):
        return words[2]
    return command


def short_command(command: str, *, chars: int = COMMAND_CHARS, lines: int = COMMAND_LINES) -> str:
    """The command as the agent wrote it (:func:`command_line`), cut to ``lines`` lines and ``chars``
    characters, with a note of the lines left out."""
    text = command_line(command).strip("\n")
    all_lines = text.splitlines() or [""]
    shown = "\n".join(all_lines[:lines])
    hidden = len(all_lines) - lines
    if len(shown) > chars:
        shown = shown[: chars - 1] + "…"
    elif hidden > 0:
        shown += "\n…"
    if hidden > 0:
        shown += f" ({hidden} more line{'s' if hidden != 1 else ''})"
    return shown


def short_path(path: str, cwd: str | None = None, *, chars: int = PATH_CHARS) -> str:
    """``path`` relative to ``cwd`` when it is inside it, and cut at the front to ``chars`` characters (the
    end, with the file name, is what tells files apart)."""
    if cwd and PurePosixPath(path).is_relative_to(cwd):
        path = str(PurePosixPath(path).relative_to(cwd))
    return path if len(path) <= chars else "…" + path[-(chars - 1) :]


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _plan_step_html(text: str) -> str:
    """A plan step: escaped, cut, its `code` spans as code (plans are written in Markdown)."""
    return _INLINE_CODE.sub(r"<code>\1</code>", escape(_cut(" ".join(text.split()), 120)))


# --- the progress message -----------------------------------------------------------------------------------


def _header(view: ProgressView) -> str:
    elapsed = format_duration(view.elapsed)
    if view.codex_away:
        return f"⚠️ <b>Waiting for Codex to come back</b> · {elapsed}"
    if view.stopping:
        return f"⏹ <b>Stopping…</b> · {elapsed}"
    if view.waiting_on_approval:
        return f"✋ <b>Waiting for an approval</b> · {elapsed}"
    return f"⏳ <b>Working</b> · {elapsed}"


def _plan_lines(plan: Sequence[PlanStep]) -> list[str]:
    if not plan:
        return []
    lines = [f"{_STEP_ICONS.get(step.status, '◻️')} {_plan_step_html(step.text)}" for step in plan]
    if len(lines) > PLAN_STEPS_SHOWN:
        current = next((i for i, step in enumerate(plan) if step.status != "completed"), len(plan) - 1)
        start = max(0, min(current - 2, len(lines) - PLAN_STEPS_SHOWN))
        hidden_before, hidden_after = start, len(lines) - start - PLAN_STEPS_SHOWN
        lines = lines[start : start + PLAN_STEPS_SHOWN]
        if hidden_before:
            lines.insert(0, f"<i>… {hidden_before} done</i>")
        if hidden_after:
            lines.append(f"<i>… {hidden_after} more</i>")
    return ["<b>Plan</b>", *lines]


def _activity_lines(view: ProgressView) -> list[str]:
    lines: list[str] = []
    for entry in view.transcript.entries:
        if isinstance(entry, CommandRun) and entry.status == ITEM_STATUS_IN_PROGRESS:
            command = short_command(entry.command, chars=200, lines=1)
            lines.append(f"💻 Running <code>{escape(command)}</code>")
        elif isinstance(entry, FileEdit) and entry.status == ITEM_STATUS_IN_PROGRESS:
            paths = ", ".join(
                f"<code>{escape(short_path(change.path, view.cwd, chars=80))}</code>"
                for change in entry.changes[:3]
            )
            more = f" and {len(entry.changes) - 3} more" if len(entry.changes) > 3 else ""
            lines.append(f"📝 Editing {paths}{more}")
    return lines[-4:]


def _streaming_text(view: ProgressView) -> str:
    """The newest answer that has not been sent as its own message yet."""
    for entry in reversed(view.transcript.entries):
        if isinstance(entry, AgentText):
            return "" if entry.item_id in view.shown_items else entry.text
    return ""


def progress_text(view: ProgressView, *, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """The progress message's HTML: header, plan, current activity, then as much of the answer's tail as
    fits; a blank line between the parts."""
    sections = [[_header(view)], _plan_lines(view.plan), _activity_lines(view)]
    head = "\n\n".join("\n".join(lines) for lines in sections if lines)
    used = utf16_len(plain_text_of(head))
    answer = _streaming_text(view).strip()
    room = limit - used - 2  # the blank line between
    if answer and room >= 40:
        tail = render_progress(answer, limit=room)
        if tail:
            return f"{head}\n\n{tail}"
    return head


def progress_message(view: ProgressView, cancel_token: str | None) -> Outgoing:
    """The progress message with its Cancel button (none once stopping or when there is no token)."""
    markup = cancel_keyboard(cancel_token) if cancel_token and not view.stopping else None
    return Outgoing(text=progress_text(view), reply_markup=markup)


# --- one message per finished step --------------------------------------------------------------------------


def diff_counts(change: FileUpdateChange) -> tuple[int, int]:
    """Lines added and removed by one file's change (an added file's diff is its content, a deleted
    file's diff the content it had)."""
    lines = change.diff.splitlines()
    if change.kind.type == "add":
        return len(lines), 0
    if change.kind.type == "delete":
        return 0, len(lines)
    added = sum(1 for line in lines if line.startswith("+") and not line.startswith("+++"))
    removed = sum(1 for line in lines if line.startswith("-") and not line.startswith("---"))
    return added, removed


def _command_html(entry: CommandRun) -> str:
    line = f"💻 <code>{escape(short_command(entry.command))}</code>"
    if entry.status == ITEM_STATUS_DECLINED:
        return f"{line}\n🚫 declined, not run"
    if entry.exit_code is not None:
        mark = "✅" if entry.exit_code == 0 else "❌"
        result = f"{mark} exit {entry.exit_code}"
    elif entry.status == ITEM_STATUS_FAILED:
        result = "❌ failed"
    elif entry.status == ITEM_STATUS_IN_PROGRESS:
        result = "⏹ stopped before it finished"
    else:
        result = "✅ done"
    output = entry.output.strip("\n")
    if not output.strip():
        return f"{line}\n{result}"
    lines = output.splitlines()
    tail = "\n".join(lines[-OUTPUT_TAIL_LINES:])
    if len(tail) > OUTPUT_TAIL_CHARS:
        tail = "…" + tail[-OUTPUT_TAIL_CHARS:]
    elif len(lines) > OUTPUT_TAIL_LINES:
        hidden = len(lines) - OUTPUT_TAIL_LINES
        tail = f"… ({hidden} line{'s' if hidden != 1 else ''} above)\n{tail}"
    return f"{line}\n{result}\n<pre>{escape(tail)}</pre>"


_FILE_EDIT_HEADERS = {
    ITEM_STATUS_COMPLETED: "📝 Changed {files}",
    ITEM_STATUS_DECLINED: "🚫 Not changed (declined): {files}",
    ITEM_STATUS_FAILED: "❌ Could not change {files}",
    ITEM_STATUS_IN_PROGRESS: "⏹ Stopped while changing {files}",
}


def _file_line(change: FileUpdateChange, cwd: str | None) -> tuple[str, int]:
    """One file of a change (HTML) and its visible length."""
    added, removed = diff_counts(change)
    path = short_path(change.path, cwd)
    html = f"• <code>{escape(path)}</code>"
    visible = 2 + len(path)
    if change.kind.move_path:
        target = short_path(change.kind.move_path, cwd)
        html += f" → <code>{escape(target)}</code>"
        visible += 3 + len(target)
    if change.kind.type == "add":
        counts = f" (new) +{added}"
    elif change.kind.type == "delete":
        counts = f" (deleted) \u2212{removed}"
    else:
        counts = f" +{added} \u2212{removed}"
    return html + counts, visible + len(counts)


def _file_edit_html(entry: FileEdit, cwd: str | None) -> str:
    """The files of a change with their +/- counts: at most ``FILES_SHOWN`` of them and ``FILES_CHARS``
    visible characters, so that any change fits one message."""
    count = len(entry.changes)
    files = f"{count} file{'s' if count != 1 else ''}"
    lines = [
        _FILE_EDIT_HEADERS.get(entry.status, _FILE_EDIT_HEADERS[ITEM_STATUS_COMPLETED]).format(files=files)
    ]
    used = 0
    for change in entry.changes[:FILES_SHOWN]:
        html, visible = _file_line(change, cwd)
        if used + visible > FILES_CHARS:
            break
        lines.append(html)
        used += visible + 1
    if len(lines) - 1 < count:
        lines.append(f"… and {count - (len(lines) - 1)} more")
    return "\n".join(lines)


def _mcp_error(error: object) -> str | None:
    if isinstance(error, dict):
        error = error.get("message")
    return error.strip() if isinstance(error, str) and error.strip() else None


def _other_html(entry: OtherStep) -> str | None:
    item = entry.item
    if isinstance(item, McpToolCallItem):
        line = f"🔧 <code>{escape(_cut(item.server, 60))}.{escape(_cut(item.tool, 60))}</code>"
        if item.status == ITEM_STATUS_COMPLETED:
            return f"{line}\n✅ done"
        if item.status == ITEM_STATUS_FAILED:
            error = _mcp_error(item.error)
            return f"{line}\n❌ failed{': ' + escape(_cut(error, 500)) if error else ''}"
        return f"{line}\n⏹ stopped before it finished"
    if isinstance(item, WebSearchItem):
        return f"🔎 Searched the web: {escape(_cut(item.query, 300))}"
    return None  # reasoning and plans show in the progress message; unknown items are not shown


def entry_messages(
    entry: TurnEntry,
    *,
    cwd: str | None = None,
    max_chunks: int = 5,
    footer: str | None = None,
    notify: bool = False,
) -> list[Outgoing]:
    """The message(s) for one finished step; ``footer`` (HTML) ends the last one. ``[]`` for steps that are
    not shown on their own (reasoning, plans) unless a footer must go out."""
    if isinstance(entry, AgentText):
        text = entry.text if entry.completed else entry.text.rstrip() + " …\n\n*(cut short)*"
        return answer_messages(text, max_chunks=max_chunks, footer=footer, notify=notify)
    if isinstance(entry, CommandRun):
        body: str | None = _command_html(entry)
    elif isinstance(entry, FileEdit):
        body = _file_edit_html(entry, cwd)
    else:
        body = _other_html(entry)
    if body is None:
        return [] if footer is None else [Outgoing(text=footer, notify=notify)]
    return [Outgoing(text=with_footer(body, footer), notify=notify)]


def with_footer(html: str, footer: str | None) -> str:
    """``html`` with the turn's footer (time, tokens) below it, if there is one."""
    return html if footer is None else f"{html}\n\n{footer}"


def answer_messages(
    markdown: str, *, max_chunks: int = 5, footer: str | None = None, notify: bool = False
) -> list[Outgoing]:
    """An answer as messages (the footer on the last), or as a ``.md`` document when it needs more than
    ``max_chunks`` messages; only the last message notifies when ``notify``."""
    if not markdown.strip():
        return [] if footer is None else [Outgoing(text=footer, notify=notify)]
    room = TELEGRAM_TEXT_LIMIT - (utf16_len(plain_text_of(footer)) + 2 if footer else 0)
    rendered = render_message(markdown, limit=room, max_chunks=max_chunks)
    if rendered.document is not None:
        return [
            Outgoing(
                document=rendered.document,
                caption=_caption(markdown, rendered.document[0], footer),
                notify=notify,
            )
        ]
    chunks = list(rendered.chunks)
    messages = [Outgoing(text=chunk) for chunk in chunks[:-1]]
    messages.append(Outgoing(text=with_footer(chunks[-1], footer), notify=notify))
    return messages


def _caption(markdown: str, filename: str, footer: str | None) -> str:
    """A document's caption: the start of the answer, a note that the whole of it is in the file, the
    footer; within Telegram's caption limit."""
    note = f"📎 <i>Too long for the chat: the whole answer is in {escape(filename)}.</i>"
    tail = with_footer(f"\n…\n\n{note}", footer)
    room = CAPTION_LIMIT - utf16_len(plain_text_of(tail))
    head = split_html(markdown_to_html(markdown), limit=room)
    return (head[0] if head else "") + tail


# --- the end of a turn --------------------------------------------------------------------------------------


def turn_footer(*, elapsed: float, tokens: int | None) -> str:
    """``⏱ 12s · 1,234 tokens``: how long the turn took and what it used, in italics."""
    parts = [format_duration(elapsed)]
    if tokens:
        parts.append(format_tokens(tokens))
    return f"<i>⏱ {' · '.join(parts)}</i>"


def ending_message(transcript: TurnTranscript, *, reason: str | None = None) -> str | None:
    """The status line of a turn that did not simply complete (HTML), or None."""
    if transcript.status == TURN_STATUS_INTERRUPTED:
        return f"⏹ <b>Stopped.</b>{' ' + escape(reason) if reason else ''}"
    if transcript.status == TURN_STATUS_FAILED or (transcript.status is None and reason):
        detail = transcript.error.message.strip() if transcript.error is not None else (reason or "")
        if not detail:
            return "❌ <b>The turn failed</b> (Codex gave no reason)."
        return f"❌ <b>The turn failed:</b> {escape(_cut(detail, 1500))}"
    return None
