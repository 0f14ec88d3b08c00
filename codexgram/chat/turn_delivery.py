"""Which messages a turn's steps and end become, and when (pure).

A finished step (a command, a file change, an answer) is its own message as soon as it is finished, except
an answer, which waits until the next step starts or the turn ends, so that the turn's last message can carry
the footer (time, tokens) and the notification. At the end, every step not sent yet goes out, then the
ending (stopped, failed, lost) if there is one.
"""

from __future__ import annotations

from collections.abc import Sequence, Set

from codexgram.chat import chat_views
from codexgram.chat.outgoing import Outgoing
from codexgram.chat.thread_effects import Deliver, FinishTurn
from codexgram.chat.turn_view import ending_message, entry_messages, turn_footer, with_footer
from codexgram.chat.watched_turn import UnfinishedTurn, WatchedTurn
from codexgram.codex.items import ITEM_STATUS_IN_PROGRESS, UserMessageItem
from codexgram.codex.requests import TURN_STATUS_IN_PROGRESS, TURN_STATUS_INTERRUPTED, Turn
from codexgram.codex.turn_transcript import (
    AgentText,
    CommandRun,
    FileEdit,
    TurnEntry,
    TurnTranscript,
    transcript_from_turn,
)
from codexgram.store.turn_queries import TURN_LOST


def step_finished(entry: TurnEntry) -> bool:
    if isinstance(entry, AgentText):
        return entry.completed
    if isinstance(entry, CommandRun | FileEdit):
        return entry.status != ITEM_STATUS_IN_PROGRESS
    return entry.completed


def ready_steps(
    entries: Sequence[TurnEntry], sent: Set[str], *, cwd: str | None, max_chunks: int
) -> tuple[tuple[Outgoing, ...], tuple[str, ...]]:
    """The finished steps of a running turn that can go out now, in order, and their item ids."""
    messages: list[Outgoing] = []
    ids: list[str] = []
    for index, entry in enumerate(entries):
        if entry.item_id in sent:
            continue
        last = index == len(entries) - 1
        if not step_finished(entry) or (isinstance(entry, AgentText) and last):
            break  # in order: nothing goes out before an unfinished step
        messages += entry_messages(entry, cwd=cwd, max_chunks=max_chunks)
        ids.append(entry.item_id)
    return tuple(messages), tuple(ids)


def final_messages(
    transcript: TurnTranscript,
    sent: Set[str],
    *,
    cwd: str | None,
    max_chunks: int,
    elapsed: float,
    tokens: int | None,
    ending: str | None = None,
    reason: str | None = None,
) -> tuple[tuple[Outgoing, ...], tuple[str, ...]]:
    """Every step not sent yet, then the ending (``ending``, or the one the transcript calls for: stopped,
    failed); the footer and the notification go on the last message. Returns the messages and the ids."""
    footer = turn_footer(elapsed=elapsed, tokens=tokens)
    ending = ending or ending_message(transcript, reason=reason)
    pending = [entry for entry in transcript.entries if entry.item_id not in sent]
    ids = tuple(entry.item_id for entry in pending)
    parts = [entry_messages(entry, cwd=cwd, max_chunks=max_chunks) for entry in pending]
    if ending is not None:
        messages = [m for part in parts for m in part]
        messages.append(Outgoing(text=with_footer(ending, footer), notify=True))
        return tuple(messages), ids
    last = max((i for i, part in enumerate(parts) if part), default=None)
    if last is None:
        return (Outgoing(text=chat_views.turn_done(footer), notify=True),), ids
    parts[last] = entry_messages(pending[last], cwd=cwd, max_chunks=max_chunks, footer=footer, notify=True)
    return tuple(m for part in parts for m in part), ids


def unwatched_delivery(
    thread_id: str,
    record: UnfinishedTurn,
    turn: Turn | None,
    *,
    now: float,
    cwd: str | None,
    max_chunks: int,
) -> Deliver:
    """Deliver a turn nobody watched to its end (it ended while the bot was away): from what Codex recorded
    (``turn`` from ``thread/read``), or as lost when Codex has no trace of it."""
    if turn is None:
        transcript = TurnTranscript(thread_id=thread_id, turn_id=record.turn_id, entries=())
        ending: str | None = chat_views.turn_lost()
        status = TURN_LOST
    else:
        transcript = transcript_from_turn(thread_id, turn)
        ending = None
        status = turn.status
        if turn.status == TURN_STATUS_IN_PROGRESS:  # a second running turn cannot be: treat it as lost
            ending, status = chat_views.turn_lost(), TURN_LOST
    duration = (turn.duration_ms / 1000) if turn is not None and turn.duration_ms else now - record.started_at
    reason = chat_views.stopped_by_codex() if status == TURN_STATUS_INTERRUPTED else None
    messages, ids = final_messages(
        transcript,
        set(record.sent_items),
        cwd=cwd,
        max_chunks=max_chunks,
        elapsed=duration,
        tokens=None,
        ending=ending,
        reason=reason,
    )
    return Deliver(
        turn_id=record.turn_id,
        messages=messages,
        item_ids=ids,
        finish=FinishTurn(status=status, tokens=None, progress_message_id=record.progress_message_id),
    )


def turn_with_client_id(turns: Sequence[Turn], client_id: str) -> Turn | None:
    """The turn whose user message carries our ``clientUserMessageId`` (did a prompt land?)."""
    for turn in turns:
        for item in turn.items:
            if isinstance(item, UserMessageItem) and item.client_id == client_id:
                return turn
    return None


def thread_has_no_trace(turns: Sequence[Turn], turn_id: str) -> bool:
    """Codex's record of the thread does not mention ``turn_id`` (it restarted before saving it)."""
    return all(turn.id != turn_id for turn in turns)


def ended_delivery(
    turn: WatchedTurn,
    transcript: TurnTranscript,
    *,
    now: float,
    cwd: str | None,
    max_chunks: int,
    lost: bool = False,
) -> Deliver:
    """The end of a watched turn: its steps not sent yet and its last message, and the turn's final state.
    ``lost``: Codex has no trace of it (it restarted before saving the turn)."""
    assert turn.turn_id is not None  # only a recorded turn is delivered
    reason = None
    if transcript.status == TURN_STATUS_INTERRUPTED and not turn.stopping:
        reason = chat_views.stopped_by_codex()
    tokens = None if lost else turn.tokens or None
    messages, ids = final_messages(
        transcript,
        turn.sent,
        cwd=cwd,
        max_chunks=max_chunks,
        elapsed=now - turn.started_at,
        tokens=tokens,
        ending=chat_views.turn_lost() if lost else None,
        reason=reason,
    )
    status = TURN_LOST if lost else transcript.status or TURN_LOST
    return Deliver(
        turn_id=turn.turn_id,
        messages=messages,
        item_ids=ids,
        finish=FinishTurn(status=status, tokens=tokens, progress_message_id=turn.progress_message_id),
    )
