"""What the thread core asks its actor to do, and the results the actor reports back (pure data).

The core (:mod:`codexgram.chat.thread_core`) never awaits: it returns a list of effects, and the actor
(``codexgram.actors.thread_actor``) carries them out in order. Effects that take time (a Codex call, a
message whose id is needed) run as tasks and come back to the core as one of the *results* below. Effects
that change the store run as ONE transaction each, with the outbox rows they need (exactly-once delivery).
"""

from __future__ import annotations

from typing import Literal

import attrs

from codexgram.chat.outgoing import Outgoing
from codexgram.codex.requests import Thread

# --- a prompt waiting in the inbox --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Prompt:
    """A message for Codex, queued on this thread (an inbox row in state ``queued`` or ``starting``)."""

    update_id: int
    user_id: int | None
    text: str
    starting: bool = False  # turn/start may have been sent already (a restart asks Codex whether it landed)
    card_token: str | None = None
    card_message_id: int | None = None

    @property
    def client_id(self) -> str:
        """Our id for the message in Codex (``clientUserMessageId``): after a crash, ``thread/read`` shows
        whether Codex got it."""
        return client_message_id(self.update_id)


def client_message_id(update_id: int) -> str:
    return f"codexgram-{update_id}"


# --- effects ------------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Resume:
    """Call ``thread/resume`` (attach to the thread and to its running turn); reports :class:`Resumed`."""


@attrs.frozen(kw_only=True)
class ReadThread:
    """Call ``thread/read`` with its turns; reports :class:`ThreadRead`."""


@attrs.frozen(kw_only=True)
class StartTurn:
    """Mark the prompt ``starting``, then call ``turn/start`` with it; reports :class:`TurnStarted` (the core
    then asks to :class:`RecordTurn`) or :class:`TurnStartFailed`."""

    prompt: Prompt
    cancel_token: str


@attrs.frozen(kw_only=True)
class SteerTurn:
    """Mark the prompt ``starting``, then call ``turn/steer`` into ``turn_id`` with it; reports
    :class:`Steered`."""

    prompt: Prompt
    turn_id: str


@attrs.frozen(kw_only=True)
class Interrupt:
    """Call ``turn/interrupt``; reports :class:`Interrupted`."""

    turn_id: str


@attrs.frozen(kw_only=True)
class AnswerRequest:
    """Answer Codex's server request ``request_id`` with ``result`` (an approval decision)."""

    request_id: int | str
    result: dict[str, object]


@attrs.frozen(kw_only=True)
class FinishTurn:
    """Part of a :class:`Deliver`: the turn ended; record how, and remove its progress message."""

    status: str
    tokens: int | None
    progress_message_id: int | None


@attrs.frozen(kw_only=True)
class Deliver:
    """One transaction: put ``messages`` in the durable outbox, note ``item_ids`` as sent for ``turn_id``,
    and (with ``finish``) mark the turn delivered; then hand the stored rows to the outbox."""

    turn_id: str
    messages: tuple[Outgoing, ...]
    item_ids: tuple[str, ...] = ()
    finish: FinishTurn | None = None


@attrs.frozen(kw_only=True)
class RecordTurn:
    """One transaction: record a turn (started by us, found running after a restart or reconnect, or
    started by another client) and, with ``update_id``, mark the prompt that started it handled. Nothing of
    a turn is delivered before it is recorded."""

    turn_id: str
    cancel_token: str
    update_id: int | None = None
    user_id: int | None = None


@attrs.frozen(kw_only=True)
class MarkHandled:
    """One transaction: mark the prompt handled with ``outcome``, and send ``message`` (durably) if given."""

    update_id: int
    outcome: str
    message: Outgoing | None = None


@attrs.frozen(kw_only=True)
class Requeue:
    """Put a prompt that was ``starting`` back to ``queued`` (Codex never got it)."""

    update_id: int


@attrs.frozen(kw_only=True)
class Say:
    """Send ``message`` to the chat; ``durable``: through the store, so it survives a restart."""

    message: Outgoing
    durable: bool = True


@attrs.frozen(kw_only=True)
class ShowCard:
    """Show the "queued" message of a prompt (token stored first); reports :class:`CardShown`."""

    update_id: int
    token: str
    message: Outgoing


@attrs.frozen(kw_only=True)
class EditCard:
    """Replace the text of a prompt's "queued" message (and remove its buttons)."""

    message_id: int
    text: str


@attrs.frozen(kw_only=True)
class ShowProgress:
    """Send the progress message (silently); reports :class:`ProgressShown` with its id."""

    turn_id: str
    message: Outgoing


@attrs.frozen(kw_only=True)
class EditProgress:
    """Edit the progress message (best effort: the outbox keeps only the newest pending edit)."""

    message_id: int
    message: Outgoing


@attrs.frozen(kw_only=True)
class RemoveMessage:
    """Delete a message of the bot's (a progress message whose turn ended while it was being sent)."""

    message_id: int


@attrs.frozen(kw_only=True)
class Typing:
    """Show "typing" in the chat for about 5 s."""


@attrs.frozen(kw_only=True)
class LoadPrompts:
    """Read this thread's queued prompts from the inbox and give them to the core (``on_prompts``)."""


@attrs.frozen(kw_only=True)
class ThreadLost:
    """Codex no longer knows this thread: mark it lost, move ``prompts`` (if any) to a new thread to be
    created in the same workspace (the session follows), and stop this actor."""

    prompts: tuple[int, ...]


Effect = (
    Resume
    | ReadThread
    | StartTurn
    | SteerTurn
    | Interrupt
    | AnswerRequest
    | Deliver
    | RecordTurn
    | RemoveMessage
    | MarkHandled
    | Requeue
    | Say
    | ShowCard
    | EditCard
    | ShowProgress
    | EditProgress
    | Typing
    | LoadPrompts
    | ThreadLost
)

# --- results of effects, back to the core -------------------------------------------------------------------

Failure = Literal["refused", "unavailable", "uncertain", "gone"]


@attrs.frozen(kw_only=True)
class Resumed:
    ok: bool
    failure: Failure | None = None  # "gone": Codex does not know the thread any more
    error: str | None = None


@attrs.frozen(kw_only=True)
class ThreadRead:
    thread: Thread | None
    error: str | None = None
    gone: bool = False  # Codex said it does not know the thread


@attrs.frozen(kw_only=True)
class TurnStarted:
    update_id: int
    turn_id: str


@attrs.frozen(kw_only=True)
class TurnStartFailed:
    """``unavailable``: Codex never got it (not connected); ``uncertain``: the connection dropped or the
    call timed out after it was sent; ``refused``: Codex said no (``error``); ``gone``: the thread is gone."""

    update_id: int
    failure: Failure
    error: str


@attrs.frozen(kw_only=True)
class Steered:
    update_id: int
    ok: bool
    error: str | None = None


@attrs.frozen(kw_only=True)
class Interrupted:
    turn_id: str
    ok: bool
    error: str | None = None


@attrs.frozen(kw_only=True)
class CardShown:
    update_id: int
    message_id: int


@attrs.frozen(kw_only=True)
class ProgressShown:
    turn_id: str
    message_id: int


Result = (
    Resumed | ThreadRead | TurnStarted | TurnStartFailed | Steered | Interrupted | CardShown | ProgressShown
)
