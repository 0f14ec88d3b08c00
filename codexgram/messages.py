"""The internal message spec: every message an actor receives, one union per mailbox.

Rules: every message is a frozen, keyword-only attrs class; its docstring says who sends it to whom; a request
that needs an answer carries a one-shot ``reply: Reply[...]`` (see ``codexgram.actors.runtime``). Messages
hold plain data (ids, strings, attrs values), never live resources other than reply channels.

Each section below belongs to one mailbox and ends with that mailbox's union type. Add messages only to the
section of the mailbox that receives them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from collections.abc import Callable

    import apsw

    from codexgram.actors.runtime import Reply
    from codexgram.chat.thread_effects import Prompt
    from codexgram.telegram.types import InlineKeyboardMarkup

T = TypeVar("T")

# --- Repository mailbox ------------------------------------------------------------------------------------
# (section owned by the foundation: store/ and actors/repository.py)


@attrs.frozen(kw_only=True)
class Transaction(Generic[T]):
    """Any actor -> Repository: run ``work(conn)`` as ONE transaction; its result or error goes to ``reply``.

    ``work`` runs on the repository's worker thread, one request at a time: it may only use the connection it
    is given (no trio, no other I/O, no keeping the connection). Its exception rolls the transaction back and
    is what the asker gets. Usually built by ``codexgram.actors.repository.Repository.run``.
    """

    work: Callable[[apsw.Connection], T]
    reply: Reply[T]
    what: str = "request"  # names the request in errors and logs


RepositoryRequest = Transaction[Any]

# --- end Repository mailbox --------------------------------------------------------------------------------

# --- Outbox mailbox ----------------------------------------------------------------------------------------
# (section owned by the Telegram side: actors/outbox.py)
# Every Bot API call that sends, edits, deletes or answers goes through the outbox actor, which paces them
# (codexgram.telegram.outbox_queue). ``durable=True`` writes the request to the ``outbox`` table before the
# first attempt and removes it after success, so a restart still delivers it (its ``reply`` is not carried
# over: the asker was in the old process). Replies are answered once the call succeeded, or failed with the
# TelegramError that ended it (a bad request, a blocked bot; for non-durable requests also a retryable error
# that outlasted the retries); ``ActorGone`` when the outbox stopped first.


@attrs.frozen(kw_only=True)
class SendMessage:
    """Any actor -> Outbox: send ``text`` to ``chat_id``; ``reply`` gets the new message's id.

    Sends to one chat are delivered in the order the outbox received them. If Telegram cannot parse the
    formatting, the same content is sent again as plain text."""

    chat_id: int
    text: str
    parse_mode: str | None = "HTML"
    reply_markup: InlineKeyboardMarkup | None = None
    reply_to_message_id: int | None = None
    disable_notification: bool = False
    durable: bool = False
    reply: Reply[int] | None = None


@attrs.frozen(kw_only=True)
class EditMessageText:
    """Any actor -> Outbox: replace the text (and buttons: ``None`` removes them) of a sent message.

    Pending edits of one message are coalesced: only the newest text is sent, and every coalesced request's
    ``reply`` is answered with that send's outcome. "message is not modified" counts as success."""

    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None = "HTML"
    reply_markup: InlineKeyboardMarkup | None = None
    durable: bool = False
    reply: Reply[None] | None = None


@attrs.frozen(kw_only=True)
class EditMessageMarkup:
    """Any actor -> Outbox: replace the buttons of a sent message (``None`` removes them). Coalesced like
    :class:`EditMessageText`, separately from it."""

    chat_id: int
    message_id: int
    reply_markup: InlineKeyboardMarkup | None = None
    durable: bool = False
    reply: Reply[None] | None = None


@attrs.frozen(kw_only=True)
class DeleteMessage:
    """Any actor -> Outbox: delete a message. Pending edits of that message are dropped (their replies are
    answered ``None``: there is nothing left to show them on)."""

    chat_id: int
    message_id: int
    durable: bool = False
    reply: Reply[None] | None = None


@attrs.frozen(kw_only=True)
class AnswerCallback:
    """ChatActor -> Outbox: answer a button press. Never paced (the user's client shows a spinner until it is
    answered); a "query is too old" answer counts as done."""

    callback_query_id: str
    text: str | None = None
    show_alert: bool = False
    reply: Reply[None] | None = None


@attrs.frozen(kw_only=True)
class SendDocument:
    """Any actor -> Outbox: upload ``data`` as the file ``filename``; ``reply`` gets the message id."""

    chat_id: int
    filename: str
    data: bytes
    caption: str | None = None
    parse_mode: str | None = None
    durable: bool = False
    reply: Reply[int] | None = None


@attrs.frozen(kw_only=True)
class SendChatAction:
    """Any actor -> Outbox: show "typing" (or another action) for about 5 s. Best effort: coalesced per chat,
    not paced, never retried, no reply."""

    chat_id: int
    action: str = "typing"


@attrs.frozen(kw_only=True)
class StoredRequest:
    """Any actor -> Outbox: deliver ``request``, whose ``outbox`` table row ``row_id`` the sender wrote
    itself, in the same transaction as the state change it belongs to (a turn's final answer and its
    ``delivered`` mark; a command's reply and its update's ``handled`` mark), so that the message goes out
    exactly once even if the process dies right after that transaction. The row is removed after delivery
    like any durable request's; ``request.reply`` (if any) is answered as usual."""

    row_id: int
    request: SendMessage | EditMessageText | EditMessageMarkup | DeleteMessage | SendDocument


OutboxRequest = (
    SendMessage
    | EditMessageText
    | EditMessageMarkup
    | DeleteMessage
    | AnswerCallback
    | SendDocument
    | SendChatAction
    | StoredRequest
)


# --- end Outbox mailbox ------------------------------------------------------------------------------------

# --- ThreadActor mailbox -----------------------------------------------------------------------------------
# (events the CodexLink routes to the actor that owns a Codex thread: actors/codex_link.py, codex_routing.py)
# The CodexLink itself has no mailbox: callers use the ``CodexLink`` handle (``call``, ``respond``,
# ``subscribe``), whose methods are safe to call from any task. These are the messages it sends.


@attrs.frozen(kw_only=True)
class CodexEvent:
    """CodexLink -> ThreadActor: a notification about this thread (``notification`` as the converter decoded
    it; an unknown method arrives as the converter's ``Unknown*`` value)."""

    thread_id: str
    notification: Any


@attrs.frozen(kw_only=True)
class CodexServerRequestEvent:
    """CodexLink -> ThreadActor: Codex asks this thread something (an approval). Answer exactly once with
    ``CodexLink.respond(request_id, result)``; the link already declined every request nobody can handle."""

    thread_id: str
    request_id: int | str
    request: Any


@attrs.frozen(kw_only=True)
class CodexDisconnected:
    """CodexLink -> ThreadActor: the connection to Codex dropped; calls fail until ``CodexReconnected``.
    A turn may keep running on the server. Approvals asked on the old connection can no longer be answered;
    after the re-resume codex 0.169.0 asks them again (a new ``CodexServerRequestEvent``, same item id)."""

    reason: str


@attrs.frozen(kw_only=True)
class CodexReconnected:
    """CodexLink -> ThreadActor: the link is connected again; ``resumed`` says whether ``thread/resume`` of
    this thread succeeded (so a running turn streams on). When false, the thread should resume it itself."""

    resumed: bool


@attrs.frozen(kw_only=True)
class CodexEventsLost:
    """CodexLink -> ThreadActor: the thread's mailbox stayed full and ``count`` events were dropped (besides
    droppable deltas); re-read the thread (``thread/read``) to catch up."""

    count: int


ThreadEvent = CodexEvent | CodexServerRequestEvent | CodexDisconnected | CodexReconnected | CodexEventsLost

# --- end ThreadActor mailbox -------------------------------------------------------------------------------

# --- ThreadActor command mailbox ---------------------------------------------------------------------------
# (what a chat asks of a thread: actors/chat_actor.py -> actors/thread_actor.py). A mailbox of its own, apart
# from the Codex events above, so that a button press never waits behind a turn's deltas.


@attrs.frozen(kw_only=True)
class PromptsQueued:
    """ChatActor -> ThreadActor: prompts were queued on this thread in the inbox. ``prompts``: the thread's
    queued prompts as the chat's transaction left them (committed before this is sent), so the thread starts
    the next one without reading them back; empty: read them from the store."""

    prompts: tuple[Prompt, ...] = ()


@attrs.frozen(kw_only=True)
class CancelTurn:
    """ChatActor -> ThreadActor: interrupt the running turn ``turn_id`` (None: whichever turn is starting
    or running now)."""

    turn_id: str | None


@attrs.frozen(kw_only=True)
class SteerPrompt:
    """ChatActor -> ThreadActor: send the queued prompt ``update_id`` into the running turn now."""

    update_id: int


@attrs.frozen(kw_only=True)
class DropPrompt:
    """ChatActor -> ThreadActor: the user cancelled the queued prompt ``update_id``: do not send it."""

    update_id: int


ThreadCommand = PromptsQueued | CancelTurn | SteerPrompt | DropPrompt

# --- end ThreadActor command mailbox -----------------------------------------------------------------------

# --- ChatActor mailbox -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class UpdatesRecorded:
    """Inbox -> ChatActor: new updates of this chat are in the inbox: handle them.
    Several of these coalesce into one (the inbox is the queue; this only wakes the chat)."""


ChatMessage = UpdatesRecorded  # a mailbox of one kind of message


# --- end ChatActor mailbox ---------------------------------------------------------------------------------
