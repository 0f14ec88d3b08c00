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

from codexgram.chat import chat_views
from codexgram.chat.landed_prompts import settle_uncertain
from codexgram.chat.outgoing import Outgoing
from codexgram.chat.prompt_queue import PromptQueue
from codexgram.chat.thread_effects import (
    AnswerRequest,
    Deliver,
    Effect,
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
    StartTurn,
    SteerTurn,
    ThreadLost,
    Typing,
)
from codexgram.chat.thread_settings import Approver, ThreadConfig, decline_every_approval
from codexgram.chat.turn_delivery import (
    ended_delivery,
    ready_steps,
    thread_has_no_trace,
    unwatched_delivery,
)
from codexgram.chat.turn_view import PlanStep
from codexgram.chat.watched_turn import UnfinishedTurn, WatchedTurn
from codexgram.codex import notifications as n
from codexgram.codex.lifecycle import (
    ACTIVE_STATES,
    ApprovalNeeded,
    Change,
    StatusChanged,
    ThreadLifecycle,
    TurnBegan,
    TurnFinished,
)
from codexgram.codex.requests import (
    ACTIVE_FLAG_WAITING_ON_APPROVAL,
    TURN_STATUS_IN_PROGRESS,
    Thread,
    Turn,
)
from codexgram.codex.server_requests import CodexServerRequest
from codexgram.codex.turn_transcript import TurnTranscript

# A thread/read that failed while Codex stayed connected is tried again after READ_RETRY seconds, doubling
# after each failure in a row up to READ_RETRY_MAX.
READ_RETRY = 2.0
READ_RETRY_MAX = 60.0


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
        self.prompts = PromptQueue()
        self.turn: WatchedTurn | None = None
        self.ready = False  # attached to the thread (created or resumed on this connection)
        self.connected = True
        self.lost = False
        self._reading = False
        self._read_again = False
        self._unfinished: list[UnfinishedTurn] = []
        self._told_away = False
        # /cancel came while no turn ran but this prompt was the next to start (Codex away, or its start
        # failed or is uncertain): it is not sent, or, if it turns out to have started, its turn is stopped.
        self._cancelled_prompt: int | None = None
        # A thread/read failed while Codex stayed connected (a timeout): read again (on the next tick after
        # READ_RETRY, or before starting anything) rather than act on what we do not know.
        self._read_retry_at: float | None = None
        self._read_failures = 0
        # turn/start failed "uncertain" and no notification named its turn yet: the turn may be running, so
        # the prompt stays the one being started (thread busy, lifecycle STARTING) until Codex or a read says.
        self._start_unknown = False
        self._progress_of_ended: set[str] = set()  # turns that ended while their progress message was sent

    def __repr__(self) -> str:
        return f"<ThreadCore {self.thread_id} {self.lifecycle.state.value} {self.prompts!r}>"

    # --- queries --------------------------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        """Nothing to do or wait for: the actor may stop."""
        return (
            self.turn is None
            and self.prompts.empty
            and not self._reading
            and self._read_retry_at is None
            and not self._unfinished
        )

    @property
    def wants_ticks(self) -> bool:
        return self.turn is not None or self._read_retry_at is not None

    # --- start ----------------------------------------------------------------------------------------------

    def begin(
        self, *, prompts: Sequence[Prompt], unfinished: Sequence[UnfinishedTurn], attached: bool, now: float
    ) -> list[Effect]:
        """Start with what the store holds. ``attached``: the thread was just created on this connection,
        so no ``thread/resume`` is needed."""
        self.prompts.add(prompts)
        self._unfinished = list(unfinished)
        if not attached:
            return [Resume()]
        self.ready = True
        return self._after_attach(now)

    def _after_attach(self, now: float) -> list[Effect]:
        if self.turn is not None or self._unfinished or self.prompts.uncertain:
            return self._read()
        return self._advance(now)

    def _read(self) -> list[Effect]:
        self._read_retry_at = None
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
        """Prompts queued on this thread (read from the store, or handed over by the chat); those already
        known are ignored, new ones wait in update order."""
        if not self.prompts.add(prompts):
            return []
        return self._advance(now)

    def steer(self, update_id: int, now: float) -> list[Effect]:
        """The user pressed "Steer now" on a queued prompt."""
        prompt = self.prompts.find(update_id)
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
        self.prompts.steer(prompt)
        return [
            SteerTurn(prompt=prompt, turn_id=turn.turn_id),
            *self.prompts.card_edit(prompt, chat_views.card_steering),
        ]

    def on_steered(self, update_id: int, *, ok: bool, error: str | None, now: float) -> list[Effect]:
        prompt = self.prompts.steered(update_id)
        if prompt is None:
            return []
        if ok:
            self._dirty()
            outcome = f"steered into {self._turn_id()}"
            return [
                MarkHandled(update_id=update_id, outcome=outcome),
                *self.prompts.card_edit(prompt, chat_views.card_steered),
            ]
        self.prompts.put_back(prompt)
        return [
            Requeue(update_id=update_id),
            *self.prompts.card_edit(prompt, lambda text: chat_views.card_steer_refused(text, error)),
            *self._advance(now),
        ]

    def drop(self, update_id: int, now: float) -> list[Effect]:
        """The user pressed "Cancel" on a queued prompt: it is not sent (or, if it is being sent this very
        moment, the turn it starts is stopped)."""
        prompt = self.prompts.find(update_id)
        if prompt is None:
            starting = self.prompts.starting
            if starting is not None and starting.update_id == update_id and not self._start_unknown:
                return self.cancel(None, now)
            return []  # steered or started meanwhile: its card says so
        if prompt.starting:
            return []  # it may have reached Codex: a read decides, and its card then says what happened
        self.prompts.remove(prompt)
        if self._cancelled_prompt == update_id:
            self._cancelled_prompt = None
        return [
            MarkHandled(update_id=update_id, outcome="cancelled by the user"),
            *self.prompts.card_edit(prompt, chat_views.card_dropped),
        ]

    def on_card_shown(self, update_id: int, message_id: int) -> list[Effect]:
        return self.prompts.card_shown(update_id, message_id)

    # --- starting turns -------------------------------------------------------------------------------------

    def _advance(self, now: float) -> list[Effect]:
        """Start the next queued prompt if the thread is free; show the others as queued."""
        if self.lost or not self.ready or self._reading or not self.prompts.waiting:
            return []
        if not self.connected:
            return self._tell_away()
        if self._read_retry_at is not None:
            return self._read()  # what the failed read was to tell comes first
        busy = self.turn is not None or self.prompts.starting is not None or self.lifecycle.busy
        effects: list[Effect] = []
        if not busy:
            if self.prompts.waiting[0].starting:
                return self._read()  # Codex may have it already: ask before sending it again
            prompt = self.prompts.start_next()
            if prompt.update_id == self._cancelled_prompt:
                self._cancelled_prompt = None
                self.prompts.started(prompt.update_id)
                effects += [
                    MarkHandled(
                        update_id=prompt.update_id,
                        outcome="cancelled by the user before it started",
                        message=Outgoing(text=chat_views.cancelled_before_start()),
                    ),
                    *self.prompts.card_edit(prompt, chat_views.card_dropped),
                ]
                return effects + self._advance(now)
            token = self._new_token()
            self.lifecycle.start_sent()
            self.turn = WatchedTurn(
                turn_id=None,
                update_id=prompt.update_id,
                user_id=prompt.user_id,
                started_at=now,
                cancel_token=token,
            )
            effects += [
                StartTurn(prompt=prompt, cancel_token=token),
                *self.prompts.card_edit(prompt, chat_views.card_started),
            ]
        return effects + self.prompts.cards_to_show(self._new_token)

    def on_turn_started(self, update_id: int, turn_id: str, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None or turn.update_id != update_id:
            return []
        prompt = self.prompts.started(update_id)
        if prompt is None:
            return []
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
            return effects + self._finish(turn.finished, now)
        effects += self._deliver_ready()
        if turn.stopping and not turn.interrupt_sent:
            effects += self._interrupt(turn)
        return effects

    def on_turn_start_failed(self, update_id: int, *, failure: str, error: str, now: float) -> list[Effect]:
        turn = self.turn
        if failure == "uncertain" and turn is not None and turn.update_id == update_id:
            if turn.turn_id is not None:
                # Codex sent notifications of the turn, so it did start: the answer alone was lost.
                return self.on_turn_started(update_id, turn.turn_id, now)
            # It may have started. Its notifications may still be on their way: the first one adopts it as
            # this prompt's turn (_turn_began); thread/read decides if none comes first.
            self._start_unknown = True
            return self._read()
        prompt = self.prompts.started(update_id)
        if prompt is None:
            return []
        if turn is not None and turn.stopping:
            self._cancelled_prompt = update_id  # the stop the user asked for holds when it is tried again
        self.turn = None
        self.lifecycle.start_refused()
        if failure == "gone":
            self.prompts.put_back(prompt)
            return self._lose(now)
        if failure in ("unavailable", "uncertain"):
            self.prompts.put_back(prompt, uncertain=failure == "uncertain")
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
        """/cancel or the Cancel button: interrupt the running turn (``turn_id`` None: whichever runs, or,
        with none running, the one about to start)."""
        turn = self.turn
        if turn is None:
            if turn_id is None and self.prompts.waiting:
                self._cancelled_prompt = self.prompts.waiting[0].update_id
            return []
        if turn.stopping or (turn_id is not None and turn.turn_id not in (None, turn_id)):
            return []
        turn.stopping = True
        self._dirty()
        if turn.turn_id is None or not turn.recorded:
            return []  # interrupted as soon as Codex tells us its id
        return self._interrupt(turn) + self._progress_now(now)

    def _interrupt(self, turn: WatchedTurn) -> list[Effect]:
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
        # A delta never finishes a step: no need to look for steps to send (a transcript snapshot joins the
        # whole answer so far, which per delta would be quadratic in the answer's length).
        delta = isinstance(note, n.AgentMessageDelta | n.CommandExecutionOutputDelta)
        return self._apply(self.lifecycle.on_notification(note), now, steps_may_finish=not delta)

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
        if self.turn is not None or self._unfinished or self.prompts.uncertain:
            return self._read()  # a turn may have ended, or a prompt landed, while we were away
        return self._advance(now)

    def on_events_lost(self, now: float) -> list[Effect]:
        return self._read()

    def on_read(
        self, thread: Thread | None, error: str | None, now: float, *, gone: bool = False
    ) -> list[Effect]:
        self._reading = False
        again, self._read_again = self._read_again, False
        if gone:
            return self._lose(now)
        if thread is None:
            if error is not None and "not loaded" not in error and "not supported" not in error:
                if self.connected:  # a timeout: read again soon; while Codex is away the reconnect does
                    delay = min(READ_RETRY * 2**self._read_failures, READ_RETRY_MAX)
                    self._read_failures += 1
                    self._read_retry_at = now + delay
                return []
            thread_turns: tuple[Turn, ...] = ()  # a thread with nothing saved yet has no turns to read
        else:
            thread_turns = thread.turns
        self._read_failures = 0
        effects = self._reconcile(thread_turns, now)
        if again:
            effects += self._read()
        return effects

    # --- reconciling with what Codex recorded ---------------------------------------------------------------

    def _reconcile(self, turns: Sequence[Turn], now: float) -> list[Effect]:
        by_id = {turn.id: turn for turn in turns}
        self._forget_unknown_start()
        effects = self._settle_uncertain(turns, now)
        unfinished, self._unfinished = self._unfinished, []
        for record in unfinished:
            turn = by_id.get(record.turn_id)
            if turn is not None and turn.status == TURN_STATUS_IN_PROGRESS and self.turn is None:
                self.turn = WatchedTurn.resumed(record)
                effects += self._apply(self.lifecycle.resume_turn(turn), now)
                if record.update_id is not None and record.update_id == self._cancelled_prompt:
                    self._cancelled_prompt = None  # /cancel while we were finding out that it runs
                    effects += self.cancel(record.turn_id, now)
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

    def _forget_unknown_start(self) -> None:
        """No notification named the turn of the "uncertain" start: back to a waiting prompt that may have
        landed, for the read (``_settle_uncertain``) or the next thread to decide."""
        prompt = self.prompts.starting
        if not self._start_unknown or prompt is None:
            return
        self._start_unknown = False
        self.prompts.started(prompt.update_id)
        if self.turn is not None and self.turn.stopping:
            self._cancelled_prompt = prompt.update_id
        self.turn = None
        self.lifecycle.start_refused()
        self.prompts.put_back(prompt, uncertain=True)

    def _settle_uncertain(self, turns: Sequence[Turn], now: float) -> list[Effect]:
        """Prompts whose ``turn/start`` may have reached Codex (see :func:`settle_uncertain`)."""
        uncertain = self.prompts.uncertain
        known = {u.turn_id for u in self._unfinished}
        if self.turn is not None and self.turn.turn_id is not None:
            known.add(self.turn.turn_id)
        settled = settle_uncertain(uncertain, turns, known_turn_ids=known, new_token=self._new_token, now=now)
        for prompt in uncertain:
            self.prompts.remove(prompt)
        for prompt in settled.not_landed:
            self.prompts.put_back(prompt)
        self._unfinished += settled.landed
        return list(settled.effects)

    def _deliver_unwatched(self, record: UnfinishedTurn, turn: Turn | None, now: float) -> list[Effect]:
        self.lifecycle.turn_settled(record.turn_id)  # its late notifications, if any, are not a new turn
        return [
            unwatched_delivery(
                self.thread_id, record, turn, now=now, cwd=self.cwd, max_chunks=self.config.max_chunks
            )
        ]

    # --- applying lifecycle changes -------------------------------------------------------------------------

    def _apply(self, changes: Sequence[Change], now: float, *, steps_may_finish: bool = True) -> list[Effect]:
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
            if steps_may_finish:
                effects += self._deliver_ready()
        return effects

    def _turn_began(self, turn_id: str, now: float) -> list[Effect]:
        turn = self.turn
        if turn is not None:
            if turn.turn_id is None:
                turn.turn_id = turn_id  # ours: turn/started came before the answer to turn/start
                if self._start_unknown and turn.update_id is not None:
                    self._start_unknown = False  # ... or after it failed "uncertain": it did start
                    return self.on_turn_started(turn.update_id, turn_id, now)
            return []
        record = next((u for u in self._unfinished if u.turn_id == turn_id), None)
        if record is not None:  # news of a turn an earlier run left, before the read: watch it again
            self._unfinished.remove(record)
            self.turn = WatchedTurn.resumed(record)
            return []
        # A turn we did not start (after a resume, or another client's): watch it and deliver it too.
        token = self._new_token()
        self.turn = WatchedTurn(
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
        """Send the finished steps that can go out now (see :func:`ready_steps`)."""
        turn = self.turn
        if turn is None or not turn.recorded or turn.turn_id is None or turn.finished is not None:
            return []
        messages, ids = ready_steps(
            self.lifecycle.transcript().entries, turn.sent, cwd=self.cwd, max_chunks=self.config.max_chunks
        )
        if not ids:
            return []
        turn.sent.update(ids)
        return [Deliver(turn_id=turn.turn_id, messages=messages, item_ids=ids)]

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
        return [self._ended(turn, transcript, now), *self._advance(now)]

    def _finish_lost(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None or turn.turn_id is None:
            return []
        self.turn = None
        self.lifecycle = ThreadLifecycle(self.thread_id)
        self.lifecycle.turn_settled(turn.turn_id)
        return [self._ended(turn, self.lifecycle.transcript(), now, lost=True)]

    def _ended(
        self, turn: WatchedTurn, transcript: TurnTranscript, now: float, *, lost: bool = False
    ) -> Deliver:
        return ended_delivery(
            turn, transcript, now=now, cwd=self.cwd, max_chunks=self.config.max_chunks, lost=lost
        )

    # --- losing the thread ----------------------------------------------------------------------------------

    def _lose(self, now: float) -> list[Effect]:
        """Codex does not know this thread any more: deliver what is unfinished as lost, move the queued
        prompts to a new thread."""
        if self.lost:
            return []
        self.lost = True
        self._forget_unknown_start()
        effects: list[Effect] = []
        for record in self._unfinished:
            effects += self._deliver_unwatched(record, None, now)
        self._unfinished = []
        if self.turn is not None and self.turn.recorded:
            effects += self._finish_lost(now)
        self.turn = None
        prompts = tuple(p.update_id for p in self.prompts.take_all())
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
        if self._read_retry_at is not None and now >= self._read_retry_at and self.connected:
            return self._read()
        turn = self.turn
        if turn is None:
            return []
        effects: list[Effect] = []
        if self.connected and turn.typing_due(now, self.config):
            effects.append(Typing())
        return effects + self._progress(now)

    def _progress_now(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is not None:
            turn.last_progress_at = -math.inf
        return self._progress(now)

    def _progress(self, now: float) -> list[Effect]:
        turn = self.turn
        if turn is None:
            return []

        def render() -> Outgoing:
            transcript = self.lifecycle.transcript()
            return turn.progress_message(now, transcript, cwd=self.cwd, codex_away=not self.connected)

        effect = turn.progress(now, self.config, render)
        return [] if effect is None else [effect]

    # --- helpers --------------------------------------------------------------------------------------------

    def _turn_id(self) -> str:
        return self.turn.turn_id if self.turn is not None and self.turn.turn_id else "the running turn"

    def _tell_away(self) -> list[Effect]:
        if self._told_away or not self.prompts.waiting:
            return []
        self._told_away = True
        return [Say(message=Outgoing(text=chat_views.codex_away_kept(), notify=True), durable=False)]
