"""The transcript of one turn, assembled from ``item/*`` notifications (pure).

``turn/completed`` carries only the final agent message, so the bot builds what it shows from the item
stream: agent text from deltas (replaced by the completed item's text when that arrives), commands with their
output and exit code, file changes with their diffs, the turn's last ``turn/diff/updated``. Items that never
complete (an interrupted or steered reply) keep what their deltas said and ``completed=False``.

:class:`TurnTranscriptBuilder` is the mutable accumulator owned by a
:class:`~codexgram.codex.lifecycle.ThreadLifecycle`; :class:`TurnTranscript` is the frozen snapshot handed to
renderers.
"""

from __future__ import annotations

import attrs

from codexgram.codex.items import (
    AgentMessageItem,
    CommandExecutionItem,
    FileChangeItem,
    FileUpdateChange,
    ThreadItem,
    UserMessageItem,
)
from codexgram.codex.requests import TURN_STATUS_IN_PROGRESS, Turn, TurnError


@attrs.frozen(kw_only=True)
class AgentText:
    """A reply of the agent; ``completed`` is False when it was cut short (interrupt, steer)."""

    item_id: str
    text: str
    completed: bool


@attrs.frozen(kw_only=True)
class CommandRun:
    """A command. ``status`` is the item status (inProgress, completed, failed, declined)."""

    item_id: str
    command: str
    cwd: str
    status: str
    output: str
    exit_code: int | None


@attrs.frozen(kw_only=True)
class FileEdit:
    """A patch with the diff of every file."""

    item_id: str
    changes: tuple[FileUpdateChange, ...]
    status: str


@attrs.frozen(kw_only=True)
class OtherStep:
    """Any other item (reasoning, plan, MCP tool call, web search, unknown), kept as decoded."""

    item_id: str
    item: ThreadItem
    completed: bool


TurnEntry = AgentText | CommandRun | FileEdit | OtherStep


@attrs.frozen(kw_only=True)
class TurnTranscript:
    """What happened in a turn so far. ``status`` is set once turn/completed arrived (completed, interrupted,
    failed); ``diff`` is the last turn/diff/updated; ``error`` the failure reported by codex, if any."""

    thread_id: str
    turn_id: str | None
    entries: tuple[TurnEntry, ...]
    status: str | None = None
    diff: str | None = None
    error: TurnError | None = None

    @property
    def final_text(self) -> str:
        """The text of the last agent message ('' if the agent said nothing)."""
        for entry in reversed(self.entries):
            if isinstance(entry, AgentText):
                return entry.text
        return ""

    def entry(self, item_id: str) -> TurnEntry | None:
        return next((e for e in self.entries if e.item_id == item_id), None)


def _item_id(item: ThreadItem) -> str | None:
    return item.id


class TurnTranscriptBuilder:
    """Accumulates one turn. Not thread-safe; owned by one lifecycle."""

    def __init__(self, thread_id: str, turn_id: str | None) -> None:
        self.thread_id = thread_id
        self.turn_id = turn_id
        # item id -> latest decoded item; insertion order is the order items started in.
        self._items: dict[str, ThreadItem] = {}
        self._completed: set[str] = set()
        self._text_parts: dict[str, list[str]] = {}
        self._output_parts: dict[str, list[str]] = {}
        self.status: str | None = None
        self.diff: str | None = None
        self.error: TurnError | None = None

    def item_started(self, item: ThreadItem) -> None:
        item_id = _item_id(item)
        if item_id is None or isinstance(item, UserMessageItem):
            return  # the user's own input is not part of what the bot renders back
        self._items.setdefault(item_id, item)

    def item_completed(self, item: ThreadItem) -> None:
        item_id = _item_id(item)
        if item_id is None or isinstance(item, UserMessageItem):
            return
        self._items[item_id] = item  # the completed form is authoritative (text, output, exit code)
        self._completed.add(item_id)

    def agent_delta(self, item_id: str, delta: str) -> None:
        self._text_parts.setdefault(item_id, []).append(delta)
        if item_id not in self._items:
            # A delta before (or without) item/started: keep it, as an agent message.
            self._items[item_id] = AgentMessageItem(id=item_id, text="")

    def output_delta(self, item_id: str, delta: str) -> None:
        self._output_parts.setdefault(item_id, []).append(delta)

    def agent_text(self, item_id: str) -> str:
        """The text of an agent message so far (the completed text once it completed)."""
        item = self._items.get(item_id)
        if item_id in self._completed and isinstance(item, AgentMessageItem):
            return item.text
        return "".join(self._text_parts.get(item_id, ()))

    def file_changes(self, item_id: str) -> tuple[FileUpdateChange, ...]:
        """The changes of a fileChange item (what a file-change approval must show)."""
        item = self._items.get(item_id)
        return item.changes if isinstance(item, FileChangeItem) else ()

    def item(self, item_id: str) -> ThreadItem | None:
        return self._items.get(item_id)

    def snapshot(self) -> TurnTranscript:
        entries = [self._entry(item_id, item) for item_id, item in self._items.items()]
        return TurnTranscript(
            thread_id=self.thread_id,
            turn_id=self.turn_id,
            entries=tuple(entries),
            status=self.status,
            diff=self.diff,
            error=self.error,
        )

    def _entry(self, item_id: str, item: ThreadItem) -> TurnEntry:
        completed = item_id in self._completed
        if isinstance(item, AgentMessageItem):
            return AgentText(item_id=item_id, text=self.agent_text(item_id), completed=completed)
        if isinstance(item, CommandExecutionItem):
            output = item.aggregated_output if completed else None
            if output is None:
                output = "".join(self._output_parts.get(item_id, ()))
            return CommandRun(
                item_id=item_id,
                command=item.command,
                cwd=item.cwd,
                status=item.status,
                output=output,
                exit_code=item.exit_code,
            )
        if isinstance(item, FileChangeItem):
            return FileEdit(item_id=item_id, changes=item.changes, status=item.status)
        return OtherStep(item_id=item_id, item=item, completed=completed)


def transcript_from_turn(thread_id: str, turn: Turn) -> TurnTranscript:
    """The transcript of a turn as ``thread/read`` returns it (its completed items, its status and error):
    how a turn that ended while nobody watched is delivered."""
    builder = TurnTranscriptBuilder(thread_id, turn.id)
    for item in turn.items:
        builder.item_completed(item)
    if turn.status != TURN_STATUS_IN_PROGRESS:
        builder.status = turn.status
    builder.error = turn.error
    return builder.snapshot()
