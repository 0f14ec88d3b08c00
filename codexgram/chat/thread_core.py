"""What one Codex thread does in a chat, as a state machine without I/O (pure; time is passed in).

:class:`ThreadCore` owns the turn lifecycle (``codexgram.codex.lifecycle.ThreadLifecycle``), the queue of
prompts waiting for their turn, and what the chat shows of the running turn. Every method takes one input
(a Codex notification, a command from the chat, the result of an earlier effect, a clock tick) and returns
the effects the actor must carry out, in order (:mod:`codexgram.chat.thread_effects`).

Rules it keeps:

- **One turn at a time, prompts in order.** A prompt arriving while a turn runs is queued and shown as queued
  (with Steer now / Cancel); when the turn ends the oldest queued prompt starts the next turn. Nothing is
  steered silently: only the Steer button sends a prompt into the running turn, and a refused steer puts it
  back at the head of the queue.
- **Exactly once.** A turn is recorded (and its prompt marked handled) before anything of it is delivered; a
  turn's finished steps go into the durable outbox with the note of which items were sent, and its end with
  the ``delivered`` mark, each in one transaction. After a restart or a reconnect the thread is read back
  (``thread/read``): a prompt that may have been sent is found by its client id, a turn that ended meanwhile
  is delivered from what Codex recorded, and a turn still running is adopted and streams on.
- **The chat stays readable.** A turn shorter than ``progress_delay`` shows no progress message at all: its
  answer just arrives. Longer ones get one silent progress message, edited at most every
  ``progress_interval`` (and only when it changed, or every ``clock_refresh`` for the clock), removed when
  the turn ends. Each finished step is its own message as soon as it is finished; an answer is held until
  the next step starts or the turn ends, so the turn's last message can carry the footer (time, tokens) and
  the notification.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import attrs

from codexgram.chat import chat_views
from codexgram.chat.outgoing import Outgoing
from codexgram.chat.thread_effects import (
    AnswerRequest,
    Deliver,
    EditCard,
    EditProgress,
    Effect,
    FinishTurn,
    Interrupt,
    LoadPrompts,
    MarkHandled,
    Prompt,
    ReadThread,
    RecordTurn,
    RemoveMessage,
    Requeue,
    Resume,
    Say,
    ShowCard,
    ShowProgress,
    StartTurn,
    SteerTurn,
    ThreadLost,
    Typing,
)
from codexgram.chat.turn_view import (
    PlanStep,
    ProgressView,
    ending_message,
    entry_messages,
    progress_message,
    turn_footer,
)
from codexgram.codex import notifications as n
from codexgram.codex.items import (
    ITEM_STATUS_IN_PROGRESS,
    UserMessageItem,
)
from codexgram.codex.lifecycle import (
    ACTIVE_STATES,
    ApprovalNeeded,
    Change,
    PendingApproval,
    StatusChanged,
    ThreadLifecycle,
    TurnBegan,
    TurnFinished,
)
from codexgram.codex.requests import (
    ACTIVE_FLAG_WAITING_ON_APPROVAL,
    TURN_STATUS_IN_PROGRESS,
    TURN_STATUS_INTERRUPTED,
    Thread,
    Turn,
)
from codexgram.codex.server_requests import CodexServerRequest
from codexgram.codex.turn_transcript import (
    AgentText,
    CommandRun,
    FileEdit,
    OtherStep,
    TurnEntry,
    TurnTranscript,
    transcript_from_turn,
)
from codexgram.store.turn_queries import TURN_LOST


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
class _Turn:
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
    dirty: bool = True
    sent: set[str] = attrs.field(factory=set)
    tokens: int = 0
    plan: tuple[PlanStep, ...] = ()
    stopping: bool = False
    interrupt_sent: bool = False
    waiting_on_approval: bool = False
    last_typing_at: float = -math.inf
    finished: TurnTranscript | None = None  # ended before it was recorded: delivered once it is


def _finished(entry: TurnEntry) -> bool:
    if isinstance(entry, AgentText):
        return entry.completed
    if isinstance(entry, CommandRun | FileEdit):
        return entry.status != ITEM_STATUS_IN_PROGRESS
    return entry.completed


class ThreadCore:
    """One thread's turns in one chat; see the module docstring. Not thread-safe; owned by one actor."""

    def __init__(
        self,
        *,
        thread_id: str,
        chat_id: int,
        cwd: str | None,
        config: ThreadConfig,
        new_token: Callable[[], str],
        approver: Approver = decline_every_approval,
    ) -> None:
        self.thread_id = thread_id
        self._approver = approver
        self.chat_id = chat_id
        self.cwd = cwd
        self.config = config
        self._new_token = new_token
        self.lifecycle = ThreadLifecycle(thread_id)
        self.queue: list[Prompt] = []
        self.turn: _Turn | None = None
        self.ready = False  # attached to the thread (created or resumed on this connection)
        self.connected = True
        self.lost = False
        self._reading = False
        self._read_again = False
        self._starting: Prompt | None = None
        self._steering: dict[int, Prompt] = {}
        self._unfinished: list[UnfinishedTurn] = []
        self._told_away = False
        self._progress_of_ended: set[str] = set()  # turns that ended while their progress message was sent

    def __repr__(self) -> str:
        return f"<ThreadCore {self.thread_id} {self.lifecycle.state.value} queued={len(self.queue)}>"

    # --- queries --------------------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing to do or wait for: the actor may stop."""
        return (
            self.turn is None
            and not self.queue
            and self._starting is None
            and not self._steering
            and not self._reading
            and not self._unfinished
        )

    @property
    def wants_ticks(self) -> bool:
        return self.turn is not None

    # --- start ----------------------------------------------------------------------------------------------

    def begin(
        self, *, prompts: Sequence[Prompt], unfinished: Sequence[UnfinishedTurn], attached: bool, now: float
    ) -> list[Effect]:
        """Start with what the store holds. ``attached``: the thread was just created on this connection,
        so no ``thread/resume`` is needed."""
        self.queue = sorted(prompts, key=lambda p: p.update_id)
        self._unfinished = list(unfinished)
        if not attached:
            return [Resume()]
        self.ready = True
        return self._after_attach(now)

    def _after_attach(self, now: float) -> list[Effect]:
        if self._unfinished or any(p.starting for p in self.queue):
            return self._read()
        return self._advance(now)

    def _read(self) -> list[Effect]:
        if self._reading:
            self._read_again = True
            return []
        self._reading = True
        return [ReadThread()]

    def on_resumed(self, *, ok: bool, gone: bool, now: float) -> list[Effect]:
        if ok:
            self.ready = True
            self.connected = True
            return self._after_attach(now)
        if gone:
            return self._lose(now)
        # Not reachable (or refused for another reason): the link resumes subscribed threads itself when it
        # reconnects and tells us (on_reconnected).
        self.connected = False
        return self._tell_away()

    # --- prompts --------------------------------------------------------------------------------------------

    def reload(self) -> list[Effect]:
        return [LoadPrompts()]

    def on_prompts(self, prompts: Sequence[Prompt], now: float) -> list[Effect]:
        """The queued prompts as the store has them now (new ones are appended in order)."""
        known = {p.update_id for p in self.queue} | set(self._steering)
        if self._starting is not None:
            known.add(self._starting.update_id)
        if self.turn is not None and self.turn.update_id is not None:
            known.add(self.turn.update_id)
        fresh = [p for p in prompts if p.update_id not in known]
        if not fresh:
            return []
        self.queue = sorted([*self.queue, *fresh], key=lambda p: p.update_id)
        return self._advance(now)

    def steer(self, update_id: int, now: float) -> list[Effect]:
        """The user pressed "Steer now" on a queued prompt."""
        prompt = self._queued(update_id)
        turn = self.turn
        if prompt is None or prompt.starting:
            return []
        if (
            turn is None
            or turn.turn_id is None
            or not turn.recorded
            or turn.stopping
            or not self.lifecycle.busy
            or not self.connected
        ):
            return self._advance(now)  # nothing to steer into: it starts as the next turn
        self.queue.remove(prompt)
        self._steering[update_id] = prompt
        effects: list[Effect] = [SteerTurn(prompt=prompt, turn_id=turn.turn_id)]
        if prompt.card_message_id is not None:
            effects.append(
                EditCard(message_id=prompt.card_message_id, text=chat_views.card_steering(prompt.text))
            )
        return effects

    def on_steered(self, update_id: int, *, ok: bool, error: str | None, now: float) -> list[Effect]:
        prompt = self._steering.pop(update_id, None)
        if prompt is None:
            return []
        if ok:
            self._dirty()
            effects: list[Effect] = [
                MarkHandled(update_id=update_id, outcome=f"steered into {self._turn_id()}")
            ]
            if prompt.card_message_id is not None:
                effects.append(
                    EditCard(message_id=prompt.card_message_id, text=chat_views.card_steered(prompt.text))
                )
            return effects
        self.queue = sorted([*self.queue, attrs.evolve(prompt, starting=False)], key=lambda p: p.update_id)
        effects = [Requeue(update_id=update_id)]
        if prompt.card_message_id is not None:
            effects.append(
                EditCard(
                    message_id=prompt.card_message_id, text=chat_views.card_steer_refused(prompt.text, error)
                )
            )
        return [*effects, *self._advance(now)]

    def drop(self, update_id: int) -> list[Effect]:
        """The user pressed "Cancel" on a queued prompt: it is not sent."""
        prompt = self._queued(update_id)
        if prompt is None or prompt.starting:
            return []
        self.queue.remove(prompt)
        effects: list[Effect] = [MarkHandled(update_id=update_id, outcome="cancelled by the user")]
        if prompt.card_message_id is not None:
            effects.append(
                EditCard(message_id=prompt.card_message_id, text=chat_views.card_dropped(prompt.text))
            )
        return effects

    def on_card_shown(self, update_id: int, message_id: int) -> list[Effect]:
        for index, prompt in enumerate(self.queue):
            if prompt.update_id == update_id:
                self.queue[index] = attrs.evolve(prompt, card_message_id=message_id)
                return []
        return []  # started or dropped meanwhile; its card was answered by its own edit when known

    def _queued(self, update_id: int) -> Prompt | None:
        return next((p for p in self.queue if p.update_id == update_id), None)

    # --- starting turns -------------------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Effect]:
        """Start the next queued prompt if the thread is free; show the others as queued."""
        if self.lost or not self.ready or self._reading:
            return []
        if not self.queue:
            return []
        if not self.connected:
            return self._tell_away()
        busy = self.turn is not None or self._starting is not None or self.lifecycle.busy
        effects: list[Effect] = []
        if not busy:
            prompt = self.queue[0]
            if prompt.starting:
                return self._read()  # Codex may have it already: ask before sending it again
            self.queue.pop(0)
            self._starting = prompt
            token = self._new_token()
            self.lifecycle.start_sent()
            self.turn = _Turn(
                turn_id=None,
                update_id=prompt.update_id,
                user_id=prompt.user_id,
                started_at=now,
                cancel_token=token,
            )
            effects.append(StartTurn(prompt=prompt, cancel_token=token))
            if prompt.card_message_id is not None:
                effects.append(
                    EditCard(message_id=prompt.card_message_id, text=chat_views.card_started(prompt.text))
                )
        for index, prompt in enumerate(self.queue):
            if prompt.card_token is None and not prompt.starting:
                token = self._new_token()
                self.queue[index] = attrs.evolve(prompt, card_token=token)
                effects.append(
                    ShowCard(
                        update_id=prompt.update_id,
                        token=token,
                        message=chat_views.queued_card(prompt.text, token),
                    )
                )
        return effects

    def on_turn_started(self, update_id: int, turn_id: str, now: float) -> list[Effect]:
        prompt = self._starting
        turn = self.turn
        if prompt is None or prompt.update_id != update_id or turn is None:
            return []
        self._starting = None
        changes = self.lifecycle.start_accepted(turn_id)
        turn.turn_id = turn_id
        turn.recorded = True
        effects: list[Effect] = [
            RecordTurn(
                turn_id=turn_id, cancel_token=turn.cancel_token, update_id=update_id, user_id=prompt.user_id
            )
        ]
        effects += self._apply(changes, now)
        if turn.finished is not None:
            effects += self._finish(turn.finished, now)
            return effects
        effects += self._deliver_ready()
        if turn.stopping and not turn.interrupt_sent:
            effects += self._interrupt(turn)
        return effects

    def on_turn_start_failed(self, update_id: int, *, failure: str, error: str, now: float) -> list[Effect]:
        prompt = self._starting
        if prompt is None or prompt.update_id != update_id:
            return []
        self._starting = None
        turn = self.turn
        if failure == "uncertain" and turn is not None and turn.turn_id is not None:
            # Codex sent notifications of the turn, so it did start: the answer alone was lost.
            self._starting = prompt
            return self.on_turn_started(update_id, turn.turn_id, now)
        self.turn = None
        self.lifecycle.start_refused()
        if failure == "gone":
            self.queue.insert(0, prompt)
            return self._lose(now)
        if failure in ("unavailable", "uncertain"):
            self.queue.insert(0, attrs.evolve(prompt, starting=failure == "uncertain"))
            if failure == "unavailable":
                self.connected = False
                return [Requeue(update_id=update_id), *self._tell_away()]
            return self._read()  # did it land? thread/read says (by its client id)
        return [
            MarkHandled(
                update_id=update_id,
                outcome=f"refused by Codex: {error}",
                message=Outgoing(text=chat_views.codex_refused(error), notify=True),
            ),
            *self._advance(now),
        ]

    # --- cancel ---------------------------------------------------------------------------------------------

    def cancel(self, turn_id: str | None, now: float) -> list[Effect]:
        """/cancel or the Cancel button: interrupt the running turn (``turn_id`` None: whichever runs)."""
        turn = self.turn
        if turn is None or turn.stopping or (turn_id is not None and turn.turn_id not in (None, turn_id)):
            return []
        turn.stopping = True
        self._dirty()
        if turn.turn_id is None or not turn.recorded:
            return []  # interrupted as soon as Codex tells us its id
        return self._interrupt(turn) + self._progress_now(now)

    def _interrupt(self, turn: _Turn) -> list[Effect]:
        if turn.turn_id is None or self.lifecycle.state not in ACTIVE_STATES:
            return []
        turn.interrupt_sent = True
        self.lifecycle.interrupt_sent()
        return [Interrupt(turn_id=turn.turn_id)]

    def on_interrupted(self, turn_id: str, *, ok: bool, error: str | None, now: float) -> list[Effect]:
        turn = self.turn
        if ok or turn is None or turn.turn_id != turn_id:
            return []
        turn.stopping = False
        turn.interrupt_sent = False
        self._dirty()
        return [Say(message=Outgoing(text=chat_views.cannot_stop(error)), durable=False)]

    # --- Codex ----------------------------------------------------------------------------------------------

    def on_notification(self, note: n.CodexNotification, now: float) -> list[Effect]:
        turn = self.turn
        if isinstance(note, n.ThreadTokenUsageUpdated):
            if turn is not None and turn.turn_id == note.turn_id:
                turn.tokens += note.token_usage.last.total_tokens
            return []
        if isinstance(note, n.TurnPlanUpdated):
            if turn is not None and turn.turn_id == note.turn_id:
                turn.plan = tuple(
                    PlanStep(text=str(step.get("step", "")), status=str(step.get("status", "pending")))
                    for step in note.plan
                )
                self._dirty()
            return []
        return self._apply(self.lifecycle.on_notification(note), now)

    def on_server_request(
        self, request_id: int | str, request: CodexServerRequest, now: float
    ) -> list[Effect]:
        return self._apply(self.lifecycle.on_server_request(request_id, request), now)

    def on_disconnected(self, now: float) -> list[Effect]:
        self.connected = False
        effects = self._apply(self.lifecycle.connection_lost(), now)
        turn = self.turn
        if turn is not None and turn.recorded:
            self._dirty()
            effects.append(Say(message=Outgoing(text=chat_views.codex_lost_mid_turn()), durable=False))
            effects += self._progress_now(now)
        return effects

    def on_reconnected(self, *, resumed: bool, now: float) -> list[Effect]:
        self.connected = True
        self._told_away = False
        self._dirty()
        if not resumed:
            # The link could not re-attach the thread: try ourselves; "gone" then means it is lost.
            self.ready = False
            return [Resume()]
        self.ready = True
        if self.turn is not None or self._unfinished or any(p.starting for p in self.queue):
            return self._read()  # a turn may have ended, or a prompt landed, while we were away
        return self._advance(now)

    def on_events_lost(self, now: float) -> list[Effect]:
        return self._read()

    def on_read(self, thread: Thread | None, error: str | None, now: float) -> list[Effect]:
        self._reading = False
        again, self._read_again = self._read_again, False
        if thread is None:
            if error is not None and "not loaded" not in error and "not supported" not in error:
                return []  # Codex is away: the reconnect reads again
            thread_turns: tuple[Turn, ...] = ()  # a thread with nothing saved yet has no turns to read
        else:
            thread_turns = thread.turns
        effects = self._reconcile(thread_turns, now)
        if again:
            effects += self._read()
        return effects

    # --- reconciling with what Codex recorded ---------------------------------------------------------------

    def _reconcile(self, turns: Sequence[Turn], now: float) -> list[Effect]:
        by_id = {turn.id: turn for turn in turns}
        effects: list[Effect] = []
        for prompt in [p for p in self.queue if p.starting]:
            landed = _turn_with_client_id(turns, prompt.client_id)
            self.queue.remove(prompt)
            if landed is None:
                self.queue.append(attrs.evolve(prompt, starting=False))
                effects.append(Requeue(update_id=prompt.update_id))
            elif (self.turn is not None and self.turn.turn_id == landed.id) or any(
                u.turn_id == landed.id for u in self._unfinished
            ):
                effects.append(MarkHandled(update_id=prompt.update_id, outcome=f"steered into {landed.id}"))
            else:
                token = self._new_token()
                effects.append(
                    RecordTurn(
                        turn_id=landed.id,
                        cancel_token=token,
                        update_id=prompt.update_id,
                        user_id=prompt.user_id,
                    )
                )
                self._unfinished.append(
                    UnfinishedTurn(
                        turn_id=landed.id,
                        update_id=prompt.update_id,
                        user_id=prompt.user_id,
                        cancel_token=token,
                        progress_message_id=None,
                        sent_items=(),
                        started_at=float(landed.started_at) if landed.started_at else now,
                    )
                )
        self.queue.sort(key=lambda p: p.update_id)
        unfinished, self._unfinished = self._unfinished, []
        for record in unfinished:
            turn = by_id.get(record.turn_id)
            if turn is not None and turn.status == TURN_STATUS_IN_PROGRESS and self.turn is None:
                self.turn = _Turn(
                    turn_id=record.turn_id,
                    update_id=record.update_id,
                    user_id=record.user_id,
                    started_at=record.started_at,
                    cancel_token=record.cancel_token,
                    recorded=True,
                    progress_message_id=record.progress_message_id,
                    sent=set(record.sent_items),
                )
                effects += self._apply(self.lifecycle.resume_turn(turn), now)
            else:
                effects += self._deliver_unwatched(record, turn, now)
        current = self.turn
        if current is not None and current.turn_id is not None and current.recorded:
            turn = by_id.get(current.turn_id)
            if turn is None:
                if self.lifecycle.state in ACTIVE_STATES and thread_has_no_trace(turns, current.turn_id):
                    effects += self._finish_lost(now)
            else:
                effects += self._apply(self.lifecycle.resume_turn(turn), now)
        return effects + self._advance(now)

    def _deliver_unwatched(self, record: UnfinishedTurn, turn: Turn | None, now: float) -> list[Effect]:
        """Deliver a turn nobody watched to its end (it ended while the bot was away)."""
        if turn is None:
            transcript = TurnTranscript(thread_id=self.thread_id, turn_id=record.turn_id, entries=())
            ending: str | None = chat_views.turn_lost()
            status = TURN_LOST
        else:
            transcript = transcript_from_turn(self.thread_id, turn)
            ending = None
            status = turn.status
            if turn.status == TURN_STATUS_IN_PROGRESS:  # a second running turn cannot be: treat it as lost
                ending, status = chat_views.turn_lost(), TURN_LOST
        duration = (
            (turn.duration_ms / 1000) if turn is not None and turn.duration_ms else now - record.started_at
        )
        reason = chat_views.stopped_by_codex() if status == TURN_STATUS_INTERRUPTED else None
        messages, ids = self._final_messages(
            transcript, set(record.sent_items), elapsed=duration, tokens=None, ending=ending, reason=reason
        )
        return [
            Deliver(
                turn_id=record.turn_id,
                messages=messages,
                item_ids=ids,
                finish=FinishTurn(status=status, tokens=None, progress_message_id=record.progress_message_id),
            )
        ]

    # --- applying lifecycle changes -------------------------------------------------------------------------

    def _apply(self, changes: Sequence[Change], now: float) -> list[Effect]:
        effects: list[Effect] = []
        for change in changes:
            if isinstance(change, TurnBegan):
                effects += self._turn_began(change.turn_id, now)
            elif isinstance(change, ApprovalNeeded):
                effects += self._decline(change, now)
            elif isinstance(change, StatusChanged):
                if self.turn is not None:
                    self.turn.waiting_on_approval = (
                        ACTIVE_FLAG_WAITING_ON_APPROVAL in change.status.active_flags
                    )
                    self._dirty()
            elif isinstance(change, TurnFinished):
                effects += self._finish(change.transcript, now)
        if any(not isinstance(c, TurnFinished) for c in changes):
            self._dirty()
            effects += self._deliver_ready()
        return effects

    def _turn_began(self, turn_id: str, now: float) -> list[Effect]:
        turn = self.turn
        if turn is not None:
            if turn.turn_id is None:
                turn.turn_id = turn_id  # ours: turn/started came before the answer to turn/start
            return []
        # A turn we did not start (after a resume, or another client's): watch it and deliver it too.
        token = self._new_token()
        self.turn = _Turn(
            turn_id=turn_id, update_id=None, user_id=None, started_at=now, cancel_token=token, recorded=True
        )
        return [RecordTurn(turn_id=turn_id, cancel_token=token)]

    def _decline(self, change: ApprovalNeeded, now: float) -> list[Effect]:
        approval = change.approval
        self.lifecycle.approval_answered(approval.request_id)
        answer = self._approver(approval, self.cwd)
        return [
            AnswerRequest(request_id=approval.request_id, result=answer.result),
            Say(message=Outgoing(text=answer.message)),
        ]

    def _deliver_ready(self) -> list[Effect]:
        """Send the finished steps that can go out now, in order (an answer waits for the next step)."""
        turn = self.turn
        if turn is None or not turn.recorded or turn.turn_id is None or turn.finished is not None:
            return []
        entries = self.lifecycle.transcript().entries
        messages: list[Outgoing] = []
        ids: list[str] = []
        for index, entry in enumerate(entries):
            if entry.item_id in turn.sent:
                continue
            last = index == len(entries) - 1
            if not _finished(entry) or (isinstance(entry, AgentText) and last):
                break
            messages += entry_messages(entry, cwd=self.cwd, max_chunks=self.config.max_chunks)
            ids.append(entry.item_id)
        if not ids:
            return []
        turn.sent.update(ids)
        return [Deliver(turn_id=turn.turn_id, messages=tuple(messages), item_ids=tuple(ids))]

    def _finish(self, transcript: TurnTranscript, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None:
            return []
        if not turn.recorded or turn.turn_id is None:
            turn.finished = transcript  # delivered once the turn is recorded
            return []
        self.turn = None
        if turn.progress_requested and turn.progress_message_id is None:
            self._progress_of_ended.add(turn.turn_id)
        reason = None
        if transcript.status == TURN_STATUS_INTERRUPTED and not turn.stopping:
            reason = chat_views.stopped_by_codex()
        messages, ids = self._final_messages(
            transcript,
            turn.sent,
            elapsed=now - turn.started_at,
            tokens=turn.tokens or None,
            ending=None,
            reason=reason,
        )
        status = transcript.status or TURN_LOST
        effects: list[Effect] = [
            Deliver(
                turn_id=turn.turn_id,
                messages=messages,
                item_ids=ids,
                finish=FinishTurn(
                    status=status, tokens=turn.tokens or None, progress_message_id=turn.progress_message_id
                ),
            )
        ]
        return effects + self._advance(now)

    def _finish_lost(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None or turn.turn_id is None:
            return []
        self.turn = None
        self.lifecycle = ThreadLifecycle(self.thread_id)
        messages, ids = self._final_messages(
            self.lifecycle.transcript(),
            turn.sent,
            elapsed=now - turn.started_at,
            tokens=None,
            ending=chat_views.turn_lost(),
        )
        return [
            Deliver(
                turn_id=turn.turn_id,
                messages=messages,
                item_ids=ids,
                finish=FinishTurn(
                    status=TURN_LOST, tokens=None, progress_message_id=turn.progress_message_id
                ),
            )
        ]

    def _final_messages(
        self,
        transcript: TurnTranscript,
        sent: set[str],
        *,
        elapsed: float,
        tokens: int | None,
        ending: str | None,
        reason: str | None = None,
    ) -> tuple[tuple[Outgoing, ...], tuple[str, ...]]:
        """Every step not sent yet, then the ending (stopped, failed, lost); the footer and the notification
        go on the last message."""
        footer = turn_footer(elapsed=elapsed, tokens=tokens)
        ending = ending or ending_message(transcript, reason=reason)
        pending = [entry for entry in transcript.entries if entry.item_id not in sent]
        ids = tuple(entry.item_id for entry in pending)
        parts = [entry_messages(entry, cwd=self.cwd, max_chunks=self.config.max_chunks) for entry in pending]
        if ending is not None:
            messages = [m for part in parts for m in part]
            messages.append(Outgoing(text=f"{ending}\n\n{footer}", notify=True))
            return tuple(messages), ids
        last = max((i for i, part in enumerate(parts) if part), default=None)
        if last is None:
            return (Outgoing(text=chat_views.turn_done(footer), notify=True),), ids
        parts[last] = entry_messages(
            pending[last], cwd=self.cwd, max_chunks=self.config.max_chunks, footer=footer, notify=True
        )
        return tuple(m for part in parts for m in part), ids

    # --- losing the thread ----------------------------------------------------------------------------------

    def _lose(self, now: float) -> list[Effect]:
        """Codex does not know this thread any more: deliver what is unfinished as lost, move the queued
        prompts to a new thread."""
        if self.lost:
            return []
        self.lost = True
        effects: list[Effect] = []
        for record in self._unfinished:
            effects += self._deliver_unwatched(record, None, now)
        self._unfinished = []
        if self.turn is not None and self.turn.recorded:
            effects += self._finish_lost(now)
        self.turn = None
        prompts = tuple(p.update_id for p in self.queue)
        self.queue = []
        return [*effects, ThreadLost(prompts=prompts)]

    # --- the progress message and "typing" ------------------------------------------------------------------

    def _dirty(self) -> None:
        if self.turn is not None:
            self.turn.dirty = True

    def on_progress_shown(self, turn_id: str, message_id: int) -> list[Effect]:
        turn = self.turn
        if turn is not None and turn.turn_id == turn_id:
            turn.progress_message_id = message_id
            return []
        if turn_id in self._progress_of_ended:
            self._progress_of_ended.discard(turn_id)
            return [RemoveMessage(message_id=message_id)]  # the turn ended while it was being sent
        return []

    def tick(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None:
            return []
        effects: list[Effect] = []
        if self.connected and now - turn.last_typing_at >= self.config.typing_interval:
            turn.last_typing_at = now
            effects.append(Typing())
        return effects + self._progress(now)

    def _progress_now(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is not None:
            turn.last_progress_at = -math.inf
        return self._progress(now)

    def _progress(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None or not turn.recorded or turn.turn_id is None:
            return []
        if turn.progress_message_id is None:
            if turn.progress_requested or now - turn.started_at < self.config.progress_delay:
                return []
            turn.progress_requested = True
            message = self._progress_message(turn, now)
            turn.last_progress, turn.last_progress_at, turn.dirty = message, now, False
            return [ShowProgress(turn_id=turn.turn_id, message=message)]
        since = now - turn.last_progress_at
        if since < self.config.progress_interval or (not turn.dirty and since < self.config.clock_refresh):
            return []
        message = self._progress_message(turn, now)
        turn.dirty = False
        turn.last_progress_at = now
        if message == turn.last_progress:
            return []
        turn.last_progress = message
        return [EditProgress(message_id=turn.progress_message_id, message=message)]

    def _progress_message(self, turn: _Turn, now: float) -> Outgoing:
        view = ProgressView(
            elapsed=now - turn.started_at,
            transcript=self.lifecycle.transcript(),
            plan=turn.plan,
            cwd=self.cwd,
            stopping=turn.stopping,
            codex_away=not self.connected,
            waiting_on_approval=turn.waiting_on_approval,
            shown_items=frozenset(turn.sent),
        )
        return progress_message(view, turn.cancel_token)

    # --- helpers --------------------------------------------------------------------------------------------

    def _turn_id(self) -> str:
        return self.turn.turn_id if self.turn is not None and self.turn.turn_id else "the running turn"

    def _tell_away(self) -> list[Effect]:
        if self._told_away or not self.queue:
            return []
        self._told_away = True
        return [Say(message=Outgoing(text=chat_views.codex_away_kept(), notify=True), durable=False)]


def _turn_with_client_id(turns: Sequence[Turn], client_id: str) -> Turn | None:
    for turn in turns:
        for item in turn.items:
            if isinstance(item, UserMessageItem) and item.client_id == client_id:
                return turn
    return None


def thread_has_no_trace(turns: Sequence[Turn], turn_id: str) -> bool:
    """Codex's record of the thread does not mention ``turn_id`` (it restarted before saving it)."""
    return all(turn.id != turn_id for turn in turns)


def reading_entry(entry: OtherStep) -> bool:  # pragma: no cover - kept small on purpose
    return entry.completed
