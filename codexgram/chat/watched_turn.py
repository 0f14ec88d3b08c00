"""The turn a thread's chat is watching, and how its progress message and "typing" are paced (pure).

:class:`WatchedTurn` is the chat's side of one running turn: which of its steps were sent, its progress
message, whether the user asked to stop it. :class:`UnfinishedTurn` is the store's record of a turn not
delivered yet, as an earlier process (or the time before a reconnect) left it.

Pacing, so the chat stays readable and within Telegram's limits: a turn shorter than ``progress_delay`` shows
no progress message at all (its answer just arrives); a longer one gets one silent progress message, edited
at most every ``progress_interval`` and only when it changed (or every ``clock_refresh`` for the clock).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs

from codexgram.chat.outgoing import Outgoing
from codexgram.chat.thread_effects import EditProgress, ShowProgress
from codexgram.chat.thread_settings import ThreadConfig
from codexgram.chat.turn_view import PlanStep, ProgressView, progress_message
from codexgram.codex.turn_transcript import TurnTranscript


@attrs.frozen(kw_only=True)
class UnfinishedTurn:
    """A turn the store says is not delivered yet (from an earlier process, or before a reconnect)."""

    turn_id: str
    update_id: int | None
    user_id: int | None
    cancel_token: str
    progress_message_id: int | None
    sent_items: tuple[str, ...]
    started_at: float


@attrs.define
class WatchedTurn:
    """The turn this chat is watching."""

    turn_id: str | None  # None until Codex answered turn/start (or told us by a notification)
    update_id: int | None
    user_id: int | None
    started_at: float
    cancel_token: str
    recorded: bool = False  # the turns row exists: its steps may be delivered
    progress_message_id: int | None = None
    progress_requested: bool = False
    last_progress_at: float = -math.inf
    last_progress: Outgoing | None = None
    dirty: bool = True  # something the progress message shows changed since it was last made
    sent: set[str] = attrs.field(factory=set)
    tokens: int = 0
    plan: tuple[PlanStep, ...] = ()
    stopping: bool = False
    interrupt_sent: bool = False
    waiting_on_approval: bool = False
    last_typing_at: float = -math.inf
    finished: TurnTranscript | None = None  # ended before it was recorded: delivered once it is

    @classmethod
    def resumed(cls, record: UnfinishedTurn) -> WatchedTurn:
        """Watch again a turn an earlier process (or the time before a reconnect) left running."""
        return cls(
            turn_id=record.turn_id,
            update_id=record.update_id,
            user_id=record.user_id,
            started_at=record.started_at,
            cancel_token=record.cancel_token,
            recorded=True,
            progress_message_id=record.progress_message_id,
            sent=set(record.sent_items),
        )

    def typing_due(self, now: float, config: ThreadConfig) -> bool:
        """Whether to send "typing" now (it lasts about 5 s, so it is renewed every ``typing_interval``)."""
        if now - self.last_typing_at < config.typing_interval:
            return False
        self.last_typing_at = now
        return True

    def progress_message(
        self, now: float, transcript: TurnTranscript, *, cwd: str | None, codex_away: bool
    ) -> Outgoing:
        """The progress message as it should read now (with the turn's Cancel button)."""
        view = ProgressView(
            elapsed=now - self.started_at,
            transcript=transcript,
            plan=self.plan,
            cwd=cwd,
            stopping=self.stopping,
            codex_away=codex_away,
            waiting_on_approval=self.waiting_on_approval,
            shown_items=frozenset(self.sent),
        )
        return progress_message(view, self.cancel_token)

    def progress(
        self, now: float, config: ThreadConfig, render: Callable[[], Outgoing]
    ) -> ShowProgress | EditProgress | None:
        """The progress message to send or edit now, if the pacing allows and it changed."""
        if not self.recorded or self.turn_id is None:
            return None  # its steps cannot be shown before the turn is recorded
        if self.progress_message_id is None:
            if self.progress_requested or now - self.started_at < config.progress_delay:
                return None
            self.progress_requested = True
            message = render()
            self.last_progress, self.last_progress_at, self.dirty = message, now, False
            return ShowProgress(turn_id=self.turn_id, message=message)
        since = now - self.last_progress_at
        if since < config.progress_interval or (not self.dirty and since < config.clock_refresh):
            return None
        message = render()
        self.dirty = False
        self.last_progress_at = now
        if message == self.last_progress:
            return None
        self.last_progress = message
        return EditProgress(message_id=self.progress_message_id, message=message)
