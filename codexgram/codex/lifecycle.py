"""The turn lifecycle of one Codex thread, as a transition table (pure; compare h11's ``_state.py``).

Rules of this module:

1. Every state change goes through :data:`TRANSITIONS`, a table ``(state, event) -> state``. Nothing else
   assigns :attr:`ThreadLifecycle.state`.
2. A turn is finalised ONLY on ``turn/completed`` (its ``turn.status`` picks COMPLETED, INTERRUPTED or
   FAILED). Items that never complete (interrupted or steered replies) do not hold it up.
3. Events from codex never raise: one the table does not list (a late or duplicate message) leaves the state
   as it is and is reported as :class:`Ignored`. Events WE cause (sending turn/start, turn/interrupt) that the
   table does not list raise :class:`~codexgram.errors.LocalProtocolError`: that is a bug in the caller.
4. Notifications for other threads, and for turns other than the current one, are ignored.

Quirks of codex 0.169.0 handled here: ``thread/started`` and ``turn/started`` may arrive before or after the
answer to our request; a ``turn/start`` while a turn runs is a steer of that turn (same turn id);
``serverRequest/resolved`` may arrive after ``turn/completed`` (an interrupt during an approval): pending
approvals are expired on whichever comes first; after a resume, a running turn is adopted from its
notifications (``turn/started`` is not repeated, so any turn-scoped message of an unknown turn adopts it).
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from typing import Literal

import attrs

from codexgram.codex import notifications as n
from codexgram.codex.items import FileUpdateChange
from codexgram.codex.requests import (
    TURN_STATUS_FAILED,
    TURN_STATUS_IN_PROGRESS,
    TURN_STATUS_INTERRUPTED,
    ThreadStatus,
    Turn,
)
from codexgram.codex.server_requests import (
    CodexServerRequest,
    CommandApprovalRequest,
    FileChangeApprovalRequest,
)
from codexgram.codex.turn_transcript import TurnTranscript, TurnTranscriptBuilder
from codexgram.errors import LocalProtocolError


class TurnState(enum.Enum):
    IDLE = "idle"  # no turn yet on this thread
    STARTING = "starting"  # we sent turn/start; no turn id known yet
    RUNNING = "running"
    WAITING_ON_APPROVAL = "waiting_on_approval"  # at least one approval request is unanswered
    INTERRUPTING = "interrupting"  # we sent turn/interrupt; waiting for turn/completed
    COMPLETED = "completed"  # the last turn ended normally (like IDLE: a new turn may start)
    INTERRUPTED = "interrupted"
    FAILED = "failed"


class TurnEvent(enum.Enum):
    START_SENT = "start_sent"  # local: we sent turn/start
    START_ACCEPTED = "start_accepted"  # the answer to turn/start (carries the turn id)
    START_REFUSED = "start_refused"  # an error answer to turn/start
    TURN_STARTED = "turn_started"  # turn/started, or a message of a running turn we did not start
    APPROVAL_REQUESTED = "approval_requested"
    APPROVALS_SETTLED = "approvals_settled"  # the last pending approval was answered or resolved
    INTERRUPT_SENT = "interrupt_sent"  # local: we sent turn/interrupt
    TURN_COMPLETED = "turn_completed"
    TURN_INTERRUPTED = "turn_interrupted"
    TURN_FAILED = "turn_failed"


LOCAL_EVENTS = frozenset({TurnEvent.START_SENT, TurnEvent.INTERRUPT_SENT})
FINAL_STATES = frozenset({TurnState.COMPLETED, TurnState.INTERRUPTED, TurnState.FAILED})
ACTIVE_STATES = frozenset(
    {TurnState.STARTING, TurnState.RUNNING, TurnState.WAITING_ON_APPROVAL, TurnState.INTERRUPTING}
)

S, E = TurnState, TurnEvent
_ENDINGS = {E.TURN_COMPLETED: S.COMPLETED, E.TURN_INTERRUPTED: S.INTERRUPTED, E.TURN_FAILED: S.FAILED}


def _table() -> dict[tuple[TurnState, TurnEvent], TurnState]:
    table: dict[tuple[TurnState, TurnEvent], TurnState] = {}
    for rest in (S.IDLE, *FINAL_STATES):
        table[rest, E.START_SENT] = S.STARTING
        table[rest, E.TURN_STARTED] = S.RUNNING  # a turn we did not start (another client, or after resume)
        table[rest, E.APPROVAL_REQUESTED] = S.WAITING_ON_APPROVAL  # resumed into a turn awaiting approval
        table[rest, E.APPROVALS_SETTLED] = rest  # serverRequest/resolved after turn/completed
        table[rest, E.START_ACCEPTED] = rest  # a steer's answer arriving after the turn ended
        table[rest, E.START_REFUSED] = rest
    table[S.STARTING, E.START_SENT] = S.STARTING  # a second message before the answer: codex steers
    table[S.STARTING, E.START_ACCEPTED] = S.RUNNING
    table[S.STARTING, E.START_REFUSED] = S.IDLE
    table[S.STARTING, E.TURN_STARTED] = S.RUNNING  # turn/started before the answer
    table[S.STARTING, E.APPROVAL_REQUESTED] = S.WAITING_ON_APPROVAL
    for busy in (S.RUNNING, S.WAITING_ON_APPROVAL):
        table[busy, E.START_SENT] = busy  # steer: the running turn takes the input
    # Not while INTERRUPTING: the input would go to a dying turn. The caller queues it until the turn ends.
    for busy in (S.RUNNING, S.WAITING_ON_APPROVAL, S.INTERRUPTING):
        table[busy, E.START_ACCEPTED] = busy
        table[busy, E.START_REFUSED] = busy  # a refused steer; the turn goes on
        table[busy, E.TURN_STARTED] = busy
        table[busy, E.INTERRUPT_SENT] = S.INTERRUPTING
    table[S.RUNNING, E.APPROVAL_REQUESTED] = S.WAITING_ON_APPROVAL
    table[S.RUNNING, E.APPROVALS_SETTLED] = S.RUNNING
    table[S.WAITING_ON_APPROVAL, E.APPROVAL_REQUESTED] = S.WAITING_ON_APPROVAL
    table[S.WAITING_ON_APPROVAL, E.APPROVALS_SETTLED] = S.RUNNING
    table[S.INTERRUPTING, E.APPROVAL_REQUESTED] = S.INTERRUPTING
    table[S.INTERRUPTING, E.APPROVALS_SETTLED] = S.INTERRUPTING
    for active in ACTIVE_STATES:
        for ending, final in _ENDINGS.items():
            table[active, ending] = final
    return table


TRANSITIONS: Mapping[tuple[TurnState, TurnEvent], TurnState] = _table()


# --- what a lifecycle reports to its owner ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PendingApproval:
    """An approval request waiting for the user. ``changes`` are the diffs of the matching fileChange item
    (for a file-change approval); ``command``/``cwd`` those of a command approval."""

    request_id: int | str
    kind: Literal["command", "fileChange"]
    turn_id: str
    item_id: str
    reason: str | None
    command: str | None = None
    cwd: str | None = None
    changes: tuple[FileUpdateChange, ...] = ()


@attrs.frozen(kw_only=True)
class TurnBegan:
    turn_id: str


@attrs.frozen(kw_only=True)
class Progress:
    """The transcript changed (an item started or completed, text or output streamed, the diff changed)."""

    item_id: str | None


@attrs.frozen(kw_only=True)
class ApprovalNeeded:
    approval: PendingApproval


@attrs.frozen(kw_only=True)
class ApprovalClosed:
    """Answered, resolved by codex, or expired (turn ended, connection lost): remove its buttons."""

    request_id: int | str


@attrs.frozen(kw_only=True)
class StatusChanged:
    status: ThreadStatus


@attrs.frozen(kw_only=True)
class TurnFinished:
    transcript: TurnTranscript


@attrs.frozen(kw_only=True)
class Ignored:
    reason: str


Change = TurnBegan | Progress | ApprovalNeeded | ApprovalClosed | StatusChanged | TurnFinished | Ignored


ENDED_TURNS_KEPT = 64  # late news comes within seconds; a thread's last few dozen turns are plenty

# --- the lifecycle ------------------------------------------------------------------------------------------


class ThreadLifecycle:
    """The turn state and transcript of one thread, fed with what we send and what codex sends.

    Owned by one ThreadActor; every method returns the :data:`Change` values the owner should render.
    Error handling: methods taking codex messages never raise; ``start_sent`` and ``interrupt_sent`` raise
    :class:`LocalProtocolError` when the table forbids them (e.g. interrupting before the turn id is known).
    """

    def __init__(self, thread_id: str) -> None:
        self.thread_id = thread_id
        self.state = TurnState.IDLE
        self.turn_id: str | None = None
        self._builder = TurnTranscriptBuilder(thread_id, None)
        self._approvals: dict[int | str, PendingApproval] = {}
        # Turns known to be over (completed here, or settled by the owner from thread/read): a late message
        # of one (a read answer can overtake a turn's last notifications) must not adopt it again, nor be
        # taken for the turn a new turn/start is starting.
        self._ended: deque[str] = deque(maxlen=ENDED_TURNS_KEPT)

    def __repr__(self) -> str:
        return f"<ThreadLifecycle {self.thread_id} {self.state.value} turn={self.turn_id}>"

    # --- queries --------------------------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        """A turn is starting or running: a new message now is a steer (or must wait, while interrupting)."""
        return self.state in ACTIVE_STATES

    def transcript(self) -> TurnTranscript:
        """A snapshot of the current (or last) turn."""
        return self._builder.snapshot()

    def agent_text(self, item_id: str) -> str:
        return self._builder.agent_text(item_id)

    def pending_approvals(self) -> tuple[PendingApproval, ...]:
        return tuple(self._approvals.values())

    # --- what we send ---------------------------------------------------------------------------------------

    def start_sent(self) -> bool:
        """We are sending turn/start. Returns True when it steers the running turn instead of starting one."""
        steer = self.state in (S.STARTING, S.RUNNING, S.WAITING_ON_APPROVAL)
        if not steer:
            self._check_local(E.START_SENT)
            self._new_turn(None)
        self._fire(E.START_SENT)
        return steer

    def start_accepted(self, turn_id: str) -> list[Change]:
        """The answer to turn/start (for a steer: the id of the running turn)."""
        changes = self._adopt_started_turn(turn_id) if self.state is S.STARTING else []
        self._fire(E.START_ACCEPTED)
        return changes

    def start_refused(self) -> list[Change]:
        self._fire(E.START_REFUSED)
        return []

    def interrupt_sent(self) -> str:
        """We are sending turn/interrupt; returns the turn id to put in it."""
        self._check_local(E.INTERRUPT_SENT)
        assert self.turn_id is not None  # every state that allows an interrupt has adopted a turn
        self._fire(E.INTERRUPT_SENT)
        return self.turn_id

    def approval_answered(self, request_id: int | str) -> list[Change]:
        """We answered an approval request (whatever the decision)."""
        return self._close_approval(request_id)

    def turn_settled(self, turn_id: str) -> None:
        """The owner delivered ``turn_id`` as over (from ``thread/read``, or as lost): ignore its news."""
        if turn_id not in self._ended:
            self._ended.append(turn_id)

    def connection_lost(self) -> list[Change]:
        """The connection dropped: its approval requests can no longer be answered. The turn state stays:
        the turn goes on on the server and a resume attaches to it again."""
        changes: list[Change] = []
        for request_id in list(self._approvals):
            changes += self._close_approval(request_id)
        return changes

    # --- what codex sends -----------------------------------------------------------------------------------

    def on_notification(self, note: n.CodexNotification) -> list[Change]:
        """Apply a decoded notification of any thread (others are ignored)."""
        if isinstance(note, n.UnknownNotification | n.ThreadStarted):
            return []
        thread_id = getattr(note, "thread_id", None)
        if thread_id is None:
            return []  # global news (configWarning, deprecationNotice, ...): not about a turn
        if thread_id != self.thread_id:
            return [Ignored(reason=f"{note.METHOD} of another thread")]
        if isinstance(note, n.ThreadStatusChanged):
            return [StatusChanged(status=note.status)]
        if isinstance(note, n.ServerRequestResolved):
            if note.request_id not in self._approvals:
                return [
                    Ignored(reason=f"serverRequest/resolved for unknown or closed request {note.request_id}")
                ]
            return self._close_approval(note.request_id)
        if isinstance(note, n.TurnStarted):
            return self._turn_scoped(note.turn.id, note.METHOD) or []
        if isinstance(note, n.TurnCompleted):
            return self._turn_completed(note)
        turn_id = getattr(note, "turn_id", None)
        if not isinstance(turn_id, str):
            return []  # thread-level news (name, archived, closed): nothing to track
        changes = self._turn_scoped(turn_id, note.METHOD)
        if changes is None:
            return [Ignored(reason=f"{note.METHOD} of turn {turn_id}, not the current turn {self.turn_id}")]
        return changes + self._apply_item_news(note)

    def on_server_request(self, request_id: int | str, request: CodexServerRequest) -> list[Change]:
        """Apply a decoded server request. Only approvals are tracked; the link answers the others."""
        if not isinstance(request, CommandApprovalRequest | FileChangeApprovalRequest):
            return [Ignored(reason=f"{request.method} is not an approval")]
        if request.thread_id != self.thread_id:
            return [Ignored(reason=f"{request.METHOD} of another thread")]
        changes = self._turn_scoped(request.turn_id, request.METHOD)
        if changes is None:
            return [
                Ignored(reason=f"approval for turn {request.turn_id}, not the current turn {self.turn_id}")
            ]
        if isinstance(request, CommandApprovalRequest):
            approval = PendingApproval(
                request_id=request_id,
                kind="command",
                turn_id=request.turn_id,
                item_id=request.item_id,
                reason=request.reason,
                command=request.command,
                cwd=request.cwd,
            )
        else:
            approval = PendingApproval(
                request_id=request_id,
                kind="fileChange",
                turn_id=request.turn_id,
                item_id=request.item_id,
                reason=request.reason,
                changes=self._builder.file_changes(request.item_id),
            )
        self._approvals[request_id] = approval
        self._fire(E.APPROVAL_REQUESTED)
        return [*changes, ApprovalNeeded(approval=approval)]

    def resume_turn(self, turn: Turn) -> list[Change]:
        """Catch up with ``turn`` as ``thread/read`` returned it (after a reconnect or a restart): its
        completed items are authoritative; a turn that ended meanwhile is finalised here (``TurnFinished``),
        one still running is adopted (``TurnBegan`` if it is new to us) and streams on."""
        if turn.status != TURN_STATUS_IN_PROGRESS:
            return self._turn_completed(n.TurnCompleted(thread_id=self.thread_id, turn=turn))
        changes = self._turn_scoped(turn.id, "thread/read")
        if changes is None:
            return [Ignored(reason=f"read turn {turn.id}, not the current turn {self.turn_id}")]
        for item in turn.items:
            self._builder.item_completed(item)
        return [*changes, Progress(item_id=None)]

    # --- inside ---------------------------------------------------------------------------------------------

    def _fire(self, event: TurnEvent) -> bool:
        new = TRANSITIONS.get((self.state, event))
        if new is None:
            return False
        self.state = new
        return True

    def _check_local(self, event: TurnEvent) -> None:
        if (self.state, event) not in TRANSITIONS:
            raise LocalProtocolError(
                f"thread {self.thread_id}: cannot {event.value} while {self.state.value}"
            )

    def _new_turn(self, turn_id: str | None) -> None:
        self.turn_id = turn_id
        self._builder = TurnTranscriptBuilder(self.thread_id, turn_id)

    def _adopt_started_turn(self, turn_id: str) -> list[Change]:
        if self.turn_id == turn_id:
            return []
        self.turn_id = turn_id
        self._builder.turn_id = turn_id
        return [TurnBegan(turn_id=turn_id)]

    def _turn_scoped(self, turn_id: str, method: str) -> list[Change] | None:
        """Accept a message of ``turn_id``: [] (or [TurnBegan] if it adopts the turn), None to ignore it."""
        if turn_id in self._ended:
            return None  # a late message of a turn that is over
        if self.state is S.STARTING and self.turn_id is None:
            changes = self._adopt_started_turn(turn_id)  # turn/started (or more) before our answer
            self._fire(E.TURN_STARTED)
            return changes
        if self.turn_id == turn_id:
            return [] if self.state in ACTIVE_STATES else None  # a late message of a finished turn
        if self.state in ACTIVE_STATES:
            return None  # another turn while ours runs: not ours to render
        # A running turn we did not start: another client's, or ours after a resume.
        self._new_turn(turn_id)
        self._fire(E.TURN_STARTED)
        return [TurnBegan(turn_id=turn_id)]

    def _apply_item_news(self, note: n.CodexNotification) -> list[Change]:
        builder = self._builder
        if isinstance(note, n.ItemStarted):
            builder.item_started(note.item)
            return [Progress(item_id=note.item.id)]
        if isinstance(note, n.ItemCompleted):
            builder.item_completed(note.item)
            return [Progress(item_id=note.item.id)]
        if isinstance(note, n.AgentMessageDelta):
            builder.agent_delta(note.item_id, note.delta)
            return [Progress(item_id=note.item_id)]
        if isinstance(note, n.CommandExecutionOutputDelta):
            builder.output_delta(note.item_id, note.delta)
            return [Progress(item_id=note.item_id)]
        if isinstance(note, n.TurnDiffUpdated):
            builder.diff = note.diff
            return [Progress(item_id=None)]
        if isinstance(note, n.ErrorNotification) and not note.will_retry:
            builder.error = note.error
        return []

    def _turn_completed(self, note: n.TurnCompleted) -> list[Change]:
        changes = self._turn_scoped(note.turn.id, note.METHOD)
        if changes is None:
            return [Ignored(reason=f"turn/completed of turn {note.turn.id}, current is {self.turn_id}")]
        builder = self._builder
        for item in note.turn.items:  # the final agent message: authoritative, even if deltas were missed
            builder.item_completed(item)
        builder.status = note.turn.status
        if note.turn.error is not None:
            builder.error = note.turn.error
        for request_id in list(self._approvals):
            changes += self._close_approval(request_id)
        ending = {TURN_STATUS_INTERRUPTED: E.TURN_INTERRUPTED, TURN_STATUS_FAILED: E.TURN_FAILED}
        self._fire(ending.get(note.turn.status, E.TURN_COMPLETED))
        self.turn_settled(note.turn.id)
        return [*changes, TurnFinished(transcript=builder.snapshot())]

    def _close_approval(self, request_id: int | str) -> list[Change]:
        if self._approvals.pop(request_id, None) is None:
            return []
        if not self._approvals:
            self._fire(E.APPROVALS_SETTLED)
        return [ApprovalClosed(request_id=request_id)]
