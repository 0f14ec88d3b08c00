"""The bot replay: a transcript played through the real ThreadActor, and the chat's Telegram output recorded.

The link-level replay (:mod:`codexgram.replay.harness`) re-issues the recorded calls itself, so it tests the
decoder. This one tests the bot's decisions: nothing recorded is re-issued. :func:`replay_bot` starts, for
one transcript, the :class:`~codexgram.replay.fake_server.FakeAppServer` and the real ``codex_link_actor``
(memory connector; virtual time under ``autojump_clock``), and around that link the bot's side of one chat
(:func:`open_bot`): a real repository on a temp SQLite file, a :class:`RecordingOutbox` on the outbox
mailbox, and an ``ActorGroup`` of real thread actors (``thread_actor_factory(services)``). Then it plays the
*user* the recording implies (:func:`bot_script`), the way the chat actor hands work to a thread:

- the first ``thread/start``'s params are the chat's session (cwd, approval policy, sandbox, model);
- each recorded ``turn/start`` is a message the user sends (one per ``clientUserMessageId`` when the bot
  recorded it): an inbox row ``queued`` on the chat's thread (the first creates a pending thread
  ``new:<update id>``, as the chat actor's plan does), then a poke (``PromptsQueued``);
- each recorded ``turn/interrupt`` is a press on Cancel (``CancelTurn`` of the running turn);
- each action happens once the server frames recorded before its frame went out and the bot took them in;
- approvals are answered by ``Services.approver`` with the answer the recorded client gave, and a chat line
  saying so.

Everything the bot sends to Codex is its own decision (``thread/start``, ``turn/start``, ``thread/read``,
...): the fake server matches it by method and answers as recorded; a call the recording does not hold gets
a JSON-RPC error and is a mismatch, so the replay fails. A transcript the bot recorded itself
(``scripts/record-transcripts``, every scenario but one) also has each call's params compared with the
recording's. The one allowance: an answer to a server request that the recording left unanswered is let
through and noted in the golden file (see ``docs/testing.md``).

:meth:`BotReplayResult.render` lays out the user's actions and every outbox request, in order, for a golden
file; :meth:`BotReplayResult.check` asserts :data:`INVARIANTS`.

Resource handling: everything runs in nurseries of :func:`replay_bot` (or :func:`open_bot`) and is cancelled
when it returns; the SQLite file lives in a temp directory removed afterwards. Error handling:
:func:`replay_bot` never raises for a bad replay (the result says what went wrong);
:class:`BotReplayUnsupported` for a transcript it cannot turn into a user's actions.
"""

from __future__ import annotations

import functools
import json
import random
import re
import tempfile
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from html import escape
from pathlib import Path
from typing import Any, Literal

import apsw
import attrs
import trio
import trio.testing

from codexgram.actors.actor_group import ActorGroup, open_actor_group
from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.actors.outbox_handle import OutboxHandle
from codexgram.actors.repository import Repository
from codexgram.actors.runtime import open_mailbox
from codexgram.actors.services import ConversationSettings, Services
from codexgram.actors.thread_actor import ThreadHandle, thread_actor_factory
from codexgram.chat.thread_core import ApprovalAnswer, Approver, ThreadConfig, decline_every_approval
from codexgram.chat.turn_view import command_line
from codexgram.codex.lifecycle import PendingApproval
from codexgram.errors import CodexgramError, StoreError
from codexgram.messages import (
    AnswerCallback,
    CancelTurn,
    DeleteMessage,
    EditMessageMarkup,
    EditMessageText,
    OutboxRequest,
    PromptsQueued,
    RepositoryRequest,
    SendChatAction,
    SendDocument,
    SendMessage,
    StoredRequest,
    Transaction,
)
from codexgram.replay.fake_server import FakeAppServer, memory_connector
from codexgram.replay.playback import ReplayMismatch, id_key
from codexgram.replay.transcript import Frame, Transcript
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.store.inbox_queries import HANDLED, QUEUED
from codexgram.store.rows import SessionRow, ThreadRow, TurnRow
from codexgram.store.turn_queries import THREAD_CREATING, pending_key
from codexgram.telegram.converter import unstructure
from codexgram.telegram.html_entities import HtmlParseError, parse_html, telegram_trim
from codexgram.telegram.keyboards import CancelAction, decode
from codexgram.telegram.types import Chat, InlineKeyboardMarkup, Message, Update, User

CHAT_ID = 4242
USER_ID = 4242
FIRST_UPDATE_ID = 1000
FIRST_MESSAGE_ID = 1
WORKSPACE = "replay"
DEFAULT_TIMEOUT = 300.0  # virtual seconds
# Short, so a replay ends soon after its last frame; the thread actor stopping on its own is the proof that
# it had nothing left to do or wait for.
THREAD_IDLE = 30.0
MAILBOX_SIZE = 4096
# The bot names its messages to Codex ``codexgram-<update id>`` (``clientUserMessageId``).
_CLIENT_ID = re.compile(r"^codexgram-(\d+)$")

#: What :meth:`BotReplayResult.check` asserts for every transcript.
INVARIANTS = (
    "the fake server played every frame and the bot sent nothing the recording does not hold",
    "a transcript the bot recorded: every call's params equal the recorded ones",
    "no thread actor crashed, and the thread actor stopped on its own (idle: no turn, nothing in flight)",
    "every turn in the turns table is delivered",
    "every inbox row is handled",
    "the outbox table is empty (every row written was handed to the outbox)",
    "each turn's final message went out exactly once: one notifying message per turn",
    "no message is left with a Cancel button (a progress message is removed when its turn ends)",
    "every text is one Telegram accepts (its HTML parses, it is not empty)",
)


class BotReplayUnsupported(CodexgramError):
    """The transcript holds a client action the bot replay cannot play as a user's."""


class BotReplayFailed(AssertionError):
    """A bot replay strayed from the recording or broke an invariant; the message lists everything."""


# --- what the user does, read from the transcript ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class BotSession:
    """The chat's session: where and how its thread runs (from the recorded ``thread/start``)."""

    cwd: str
    approval_policy: str | None = None
    sandbox: str | None = None
    model: str | None = None


@attrs.frozen(kw_only=True)
class UserAction:
    """Something the user does. ``frame``: the recorded client frame it stands for; the action is taken once
    the server frames recorded before it went out. ``update_id``: a message's update (None: the next one)."""

    kind: Literal["message", "cancel"]
    frame: int
    text: str = ""
    update_id: int | None = None


@attrs.frozen(kw_only=True)
class BotScript:
    session: BotSession
    actions: tuple[UserAction, ...]
    bot_recorded: bool  # the bot made the recording: its calls must match the recorded ones exactly


def bot_recorded(transcript: Transcript) -> bool:
    """Whether the bot itself made the recording: every ``turn/start`` carries the ``clientUserMessageId``
    the bot gives each message (a scripted client never does)."""
    starts = [f for f in transcript.sent() if f.method == "turn/start"]
    return bool(starts) and all(
        isinstance(c := (f.msg.get("params") or {}).get("clientUserMessageId"), str) and _CLIENT_ID.match(c)
        for f in starts
    )


def bot_script(transcript: Transcript) -> BotScript:
    """The session and the user's actions a transcript implies (see the module docstring)."""
    by_bot = bot_recorded(transcript)
    start: tuple[int, Mapping[str, Any]] | None = None
    actions: list[UserAction] = []
    seen_messages: set[str] = set()
    for index, frame in enumerate(transcript.frames):
        if frame.dir != "send" or frame.kind != "request":
            continue
        params = frame.msg.get("params") or {}
        if frame.method == "thread/start" and start is None:
            start = (index, params)
        elif frame.method == "turn/start":
            if start is None:
                raise BotReplayUnsupported(
                    f"{transcript.name}: turn/start (frame {index}) before thread/start"
                )
            client_id = str(params.get("clientUserMessageId", "")) if by_bot else f"frame-{index}"
            if client_id in seen_messages:
                continue  # the bot sent the same message again (it may, once Codex said it never got it)
            seen_messages.add(client_id)
            match = _CLIENT_ID.match(client_id)
            first = not any(a.kind == "message" for a in actions)
            actions.append(
                UserAction(
                    kind="message",
                    # The message that makes the thread is sent before the thread exists: at its thread/start.
                    frame=start[0] if first else index,
                    text=_input_text(params),
                    update_id=int(match.group(1)) if match else None,
                )
            )
        elif frame.method == "turn/interrupt":
            actions.append(UserAction(kind="cancel", frame=index))
        elif frame.method == "turn/steer":
            raise BotReplayUnsupported(f"{transcript.name}: turn/steer (frame {index}) is not replayed yet")
    if start is None:
        raise BotReplayUnsupported(f"{transcript.name}: no thread/start")
    params = start[1]
    session = BotSession(
        cwd=str(params.get("cwd") or "/"),
        approval_policy=_opt_str(params.get("approvalPolicy")),
        sandbox=_opt_str(params.get("sandbox")),
        model=_opt_str(params.get("model")),
    )
    return BotScript(session=session, actions=tuple(actions), bot_recorded=by_bot)


def _input_text(params: Mapping[str, Any]) -> str:
    items = params.get("input") or ()
    return "\n".join(str(item.get("text", "")) for item in items if isinstance(item, Mapping))


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- the log: what the user did and what the outbox got -----------------------------------------------------

OutboxCall = (
    SendMessage
    | EditMessageText
    | EditMessageMarkup
    | DeleteMessage
    | AnswerCallback
    | SendDocument
    | SendChatAction
)


@attrs.frozen(kw_only=True)
class OutboxEntry:
    """One request the outbox got, at ``at`` (seconds since the start). ``message_id``: the id a send got;
    ``stored``: it came as a ``StoredRequest`` (its row written in the sender's own transaction)."""

    at: float
    request: OutboxCall
    message_id: int | None = None
    stored: bool = False


@attrs.frozen(kw_only=True)
class UserEntry:
    at: float
    action: UserAction


LogEntry = OutboxEntry | UserEntry


class RecordingOutbox:
    """Reads the outbox mailbox and records every request in the order it arrives.

    It answers at once, as a Telegram that never fails would: a send gets the next message id, anything
    else ``None``; a ``StoredRequest``'s row is removed from the ``outbox`` table, as the real outbox does
    after delivery. It neither paces nor coalesces, so the log is the bot's decisions one for one (an edit
    the real outbox would fold into a newer one still shows): a golden file shows what the bot asked for, not
    what the outbox's scheduling made of it; that layer has tests of its own (``tests/unit/outbox``). It also
    keeps the replay exact: the real outbox paces by the clock, which would tie the log to its pacing rules.
    """

    def __init__(
        self, repository: Repository, log: list[LogEntry], *, start: float, first_id: int = FIRST_MESSAGE_ID
    ) -> None:
        self._repository = repository
        self._log = log
        self._next_id = first_id
        self._start = start

    async def serve(
        self,
        *,
        task_status: trio.TaskStatus[trio.MemorySendChannel[OutboxRequest]] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        send, receive = trio.open_memory_channel[OutboxRequest](MAILBOX_SIZE)
        task_status.started(send)
        async with receive:
            async for request in receive:
                await self._take(request)

    async def _take(self, request: OutboxRequest) -> None:
        call: OutboxCall
        if isinstance(request, StoredRequest):
            call = request.request
            await self._repository.run(
                functools.partial(queries.outbox_remove, outbox_id=request.row_id), what="outbox_remove"
            )
        else:
            call = request
        message_id = None
        if isinstance(call, SendMessage | SendDocument):
            message_id = self._next_id
            self._next_id += 1
        at = trio.current_time() - self._start
        stored = isinstance(request, StoredRequest)
        self._log.append(OutboxEntry(at=at, request=call, message_id=message_id, stored=stored))
        reply = getattr(call, "reply", None)
        if reply is not None and not reply.answered:
            reply.send(message_id)


# --- the repository, inline ---------------------------------------------------------------------------------


@asynccontextmanager
async def open_inline_repository(db_path: Path) -> AsyncIterator[Repository]:
    """A :class:`Repository` whose transactions run on the event loop instead of a worker thread.

    The same file, migrations, transactions (each ``BEGIN IMMEDIATE``) and handle as ``open_repository``;
    only the thread hop is gone. Under ``autojump_clock`` a task waiting for a worker thread counts as
    blocked, so the virtual clock would jump to the next deadline while SQLite works, and the bot's timing
    (progress edits, footers) would depend on the disk. Inline, virtual time moves only when the bot waits.
    """
    conn = open_database(db_path)
    send, receive = open_mailbox(Transaction, MAILBOX_SIZE)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_serve_inline, conn, receive)
            try:
                yield Repository(send)
            finally:
                nursery.cancel_scope.cancel()
    finally:
        conn.close()


async def _serve_inline(conn: apsw.Connection, receive: trio.MemoryReceiveChannel[RepositoryRequest]) -> None:
    async for request in receive:
        try:
            with immediate_transaction(conn):
                result = request.work(conn)
        except apsw.Error as exc:
            request.reply.fail(StoreError(f"{request.what} failed: {exc}"))
        except Exception as exc:
            request.reply.fail(exc)
        else:
            request.reply.send(result)


# --- the bot's side of one chat -----------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StoreFacts:
    """What the store holds at the end."""

    turns: tuple[TurnRow, ...]
    unhandled_inbox: tuple[tuple[int, str], ...]  # (update id, state)
    outbox_rows: int


class _NoBot:
    """The chat's direct Bot API calls: a thread actor makes none."""

    async def leave_chat(self, chat_id: int, *, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        raise AssertionError("a thread actor does not leave chats")

    async def set_my_commands(
        self,
        commands: Sequence[Any],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> bool:
        raise AssertionError("a thread actor does not set commands")


def counting_tokens() -> Callable[[], str]:
    """Callback tokens ``replaytoken00001``, ``...02``: the same in every run (the real ones are random)."""
    count = 0

    def new_token() -> str:
        nonlocal count
        count += 1
        return f"replaytoken{count:05d}"

    return new_token


class BotRig:
    """The bot's side of one chat around a link (see :func:`open_bot`): the user's actions go in,
    :attr:`log` records them and everything the outbox got."""

    def __init__(
        self,
        *,
        repository: Repository,
        group: ActorGroup[str, Any],
        session: BotSession,
        log: list[LogEntry],
        start: float,
    ) -> None:
        self.repository = repository
        self.group = group
        self.session = session
        self.log = log
        self.start = start
        self._next_update = FIRST_UPDATE_ID

    async def send_message(self, text: str, *, update_id: int | None = None, frame: int = -1) -> None:
        """The user sends ``text``: what the chat actor does with a plain message (the inbox row queued on
        the chat's thread, a pending one if there is none, in one transaction), then the thread is poked."""
        if update_id is None:
            update_id = self._next_update
        self._next_update = max(self._next_update, update_id + 1)
        now = trio.current_time()
        self.log.append(
            UserEntry(
                at=now - self.start,
                action=UserAction(kind="message", frame=frame, text=text, update_id=update_id),
            )
        )
        work = functools.partial(queue_message, session=self.session, update_id=update_id, text=text, now=now)
        key = await self.repository.run(work, what="queue message")
        handle: ThreadHandle = await self.group.get(key)
        handle.tell(PromptsQueued())

    async def press_cancel(self, *, frame: int = -1) -> bool:
        """The user presses Cancel on the running turn (False: the chat has no thread to tell)."""
        self.log.append(
            UserEntry(at=trio.current_time() - self.start, action=UserAction(kind="cancel", frame=frame))
        )
        key, turn_id = await self.repository.run(_running_turn, what="running turn")
        if key is None:
            return False
        handle: ThreadHandle = await self.group.get(key)
        handle.tell(CancelTurn(turn_id=turn_id))
        return True

    async def facts(self) -> StoreFacts:
        return await self.repository.run(_facts, what="facts")


@asynccontextmanager
async def open_bot(
    link: CodexLink,
    session: BotSession,
    *,
    approver: Approver,
    db_path: Path,
    clock: Callable[[], float] = trio.current_time,
    thread_idle: float = THREAD_IDLE,
    start: float | None = None,
) -> AsyncIterator[BotRig]:
    """The bot's side of one chat around ``link``, for the length of the block: a repository on
    ``db_path`` (the chat's user allowed, ``session`` saved), a :class:`RecordingOutbox`, and the thread
    actors' group. Leaving the block stops the thread actors, then the outbox, then the repository."""
    log: list[LogEntry] = []
    start = trio.current_time() if start is None else start
    async with open_inline_repository(db_path) as repository:
        await repository.run(functools.partial(set_up_chat, session=session, now=clock()), what="set up")
        async with trio.open_nursery() as nursery:
            outbox = RecordingOutbox(repository, log, start=start)
            mailbox = await nursery.start(outbox.serve)
            services = Services(
                repository=repository,
                outbox=OutboxHandle(mailbox),
                link=link,
                bot=_NoBot(),
                settings=ConversationSettings(thread=ThreadConfig(), thread_idle=thread_idle),
                clock=clock,
                new_token=counting_tokens(),
                approver=approver,
            )
            async with open_actor_group("threads", thread_actor_factory(services)) as group:
                services.threads = group
                yield BotRig(repository=repository, group=group, session=session, log=log, start=start)
            nursery.cancel_scope.cancel()


def set_up_chat(conn: apsw.Connection, *, session: BotSession, now: float) -> None:
    """The chat's user allowed, a workspace at the session's cwd, the chat's session on it (no thread)."""
    queries.add_workspace(conn, name=WORKSPACE, path=session.cwd, at=now)
    queries.allow_user(conn, user_id=USER_ID, name="Replay", at=now)
    queries.save_session(
        conn,
        SessionRow(
            chat_id=CHAT_ID,
            workspace=WORKSPACE,
            thread_id=None,
            model=session.model,
            sandbox=session.sandbox,
            approval_policy=session.approval_policy,
            updated_at=now,
        ),
    )


def _update_json(update_id: int, text: str, at: float) -> str:
    user = User(id=USER_ID, is_bot=False, first_name="Replay")
    chat = Chat(id=CHAT_ID, type="private")
    message = Message(message_id=update_id, date=int(at), chat=chat, text=text, from_user=user)
    update = Update(update_id=update_id, message=message)
    return json.dumps(unstructure(update), ensure_ascii=False, separators=(",", ":"))


def queue_message(
    conn: apsw.Connection, *, session: BotSession, update_id: int, text: str, now: float
) -> str:
    """What the chat actor's plan does with a plain message (one transaction); returns the thread key."""
    row = queries.get_session(conn, CHAT_ID)
    assert row is not None
    queries.inbox_add(
        conn,
        update_id=update_id,
        chat_id=CHAT_ID,
        user_id=USER_ID,
        kind="message",
        payload=_update_json(update_id, text, now),
        received_at=now,
    )
    key = row.thread_id
    if key is None:
        key = pending_key(update_id)
        queries.save_thread(
            conn,
            ThreadRow(
                thread_id=key,
                chat_id=CHAT_ID,
                workspace=WORKSPACE,
                cwd=session.cwd,
                title=None,
                status=THREAD_CREATING,
                created_at=now,
                updated_at=now,
            ),
        )
        queries.save_session(conn, attrs.evolve(row, thread_id=key, updated_at=now))
    queries.inbox_set_state(conn, update_id, QUEUED, thread_key=key)
    return key


def _running_turn(conn: apsw.Connection) -> tuple[str | None, str | None]:
    session = queries.get_session(conn, CHAT_ID)
    key = session.thread_id if session is not None else None
    if key is None:
        return None, None
    turn = queries.running_turn_of(conn, key)
    return key, turn.turn_id if turn is not None else None


def _facts(conn: apsw.Connection) -> StoreFacts:
    turn_ids = [str(t) for (t,) in conn.execute("SELECT turn_id FROM turns ORDER BY started_at, turn_id")]
    turns = [queries.get_turn(conn, turn_id) for turn_id in turn_ids]
    unhandled = tuple(
        (int(update_id), str(state))
        for update_id, state in conn.execute(
            "SELECT update_id, state FROM inbox WHERE state != ? ORDER BY update_id", (HANDLED,)
        )
    )
    ((outbox_rows,),) = conn.execute("SELECT count(*) FROM outbox")
    return StoreFacts(
        turns=tuple(t for t in turns if t is not None),
        unhandled_inbox=unhandled,
        outbox_rows=int(outbox_rows),
    )


# --- the result ---------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class BotReplayResult:
    transcript: Transcript
    log: tuple[LogEntry, ...]
    mismatches: tuple[ReplayMismatch, ...]
    notes: tuple[str, ...]  # what the allowance let through (shown in the golden file)
    problems: tuple[str, ...]  # harness-side: crashes, a stall, params that differ
    finished: bool
    store: StoreFacts

    @property
    def outbox(self) -> list[OutboxEntry]:
        return [entry for entry in self.log if isinstance(entry, OutboxEntry)]

    def violations(self) -> list[str]:
        """Every invariant (:data:`INVARIANTS`) this replay breaks, in words (empty: it kept them all)."""
        found = [f"mismatch: {m}" for m in self.mismatches] + list(self.problems)
        if not self.finished:
            found.append("the fake server did not play the whole transcript")
        found += [
            f"turn {t.turn_id} is not delivered (status {t.status})"
            for t in self.store.turns
            if not t.delivered
        ]
        found += [f"inbox row {update_id} is left {state}" for update_id, state in self.store.unhandled_inbox]
        if self.store.outbox_rows:
            found.append(f"{self.store.outbox_rows} outbox row(s) never handed to the outbox")
        notifying = [e for e in self.outbox if _notifies(e.request)]
        if len(notifying) != len(self.store.turns):
            found.append(
                f"{len(notifying)} notifying message(s) for {len(self.store.turns)} turn(s): "
                "each turn's final message must go out exactly once"
            )
        found += [f"message #{m} is left with a Cancel button" for m in _left_with_cancel(self.outbox)]
        found += [problem for e in self.outbox if (problem := _unsendable(e.request)) is not None]
        return found

    @property
    def ok(self) -> bool:
        return not self.violations()

    def check(self) -> None:
        """Raise :class:`BotReplayFailed` listing every broken invariant, with what the chat got."""
        found = self.violations()
        if found:
            lines = [f"bot replay of {self.transcript.name} failed:", *(f"  {v}" for v in found)]
            raise BotReplayFailed("\n".join([*lines, "what the chat got:", self.render()]))

    def render(self) -> str:
        """The golden text: the user's actions and every outbox request in order (see :func:`render_log`),
        then what the replay's allowance let through, if anything."""
        text = render_log(self.transcript.name, self.log)
        if self.notes:
            text += "\nreplay notes (allowed, see docs/testing.md):\n" + "".join(
                f"  {n}\n" for n in self.notes
            )
        return text


def _notifies(request: OutboxCall) -> bool:
    if isinstance(request, SendMessage):
        return not request.disable_notification
    return isinstance(request, SendDocument)  # a document is never sent silently


def _has_cancel(markup: InlineKeyboardMarkup | None) -> bool:
    return markup is not None and any(
        isinstance(decode(button.callback_data), CancelAction)
        for row in markup.inline_keyboard
        for button in row
    )


def _left_with_cancel(entries: Sequence[OutboxEntry]) -> list[int]:
    """Messages whose last state has a Cancel button (neither deleted nor edited without it)."""
    with_cancel: dict[int, bool] = {}
    for entry in entries:
        request = entry.request
        if isinstance(request, SendMessage) and entry.message_id is not None:
            with_cancel[entry.message_id] = _has_cancel(request.reply_markup)
        elif isinstance(request, EditMessageText | EditMessageMarkup) and request.message_id in with_cancel:
            with_cancel[request.message_id] = _has_cancel(request.reply_markup)
        elif isinstance(request, DeleteMessage):
            with_cancel.pop(request.message_id, None)
    return [message_id for message_id, cancel in with_cancel.items() if cancel]


def _unsendable(request: OutboxCall) -> str | None:
    text = request.text if isinstance(request, SendMessage | EditMessageText) else None
    if text is None:
        return None
    try:
        shown = _visible(text)
    except HtmlParseError as exc:
        return f"Telegram would refuse this HTML ({exc.description}): {text!r}"
    return None if shown.strip() else f"an empty message: {text!r}"


def _visible(html: str) -> str:
    text, _ = parse_html(html)
    return telegram_trim(text)


# --- rendering ----------------------------------------------------------------------------------------------

_PAD = " " * 11


def render_log(name: str, log: Sequence[LogEntry]) -> str:
    """One block per entry: ``[seconds] who: what``, then the text as Telegram shows it and the buttons,
    indented. Consecutive "typing" actions are one line (their count and first time)."""
    lines = [
        f"# {name} played through the ThreadActor: the user's actions and every outbox request, in order.",
        "# [virtual seconds] who: what; texts as Telegram shows them; #N is a message id.",
        "",
    ]
    typing: list[float] = []

    def flush_typing() -> None:
        if typing:
            count = f" x{len(typing)}" if len(typing) > 1 else ""
            lines.append(f"{_stamp(typing[0])} bot: typing{count}")
            typing.clear()

    for entry in log:
        if isinstance(entry, OutboxEntry) and isinstance(entry.request, SendChatAction):
            typing.append(entry.at)
            continue
        flush_typing()
        lines += _render_entry(entry)
    flush_typing()
    return "\n".join(lines) + "\n"


def _stamp(at: float) -> str:
    return f"[{at:6.2f}]"


def _indent(text: str) -> list[str]:
    return [f"{_PAD}{line}".rstrip() for line in text.splitlines()] or [f"{_PAD}(empty)"]


def _render_entry(entry: LogEntry) -> list[str]:
    if isinstance(entry, UserEntry):
        action = entry.action
        if action.kind == "message":
            return [f"{_stamp(entry.at)} user: sends a message", *_indent(action.text)]
        return [f"{_stamp(entry.at)} user: cancels the turn (the Cancel button or /cancel)"]
    request = entry.request
    how = "durable" if entry.stored or getattr(request, "durable", False) else "best effort"
    head = f"{_stamp(entry.at)} bot:"
    if isinstance(request, SendMessage):
        sound = "silent" if request.disable_notification else "notifies"
        return [
            f"{head} send #{entry.message_id} ({sound}, {how})",
            *_indent(_shown(request.text)),
            *_buttons(request.reply_markup),
        ]
    if isinstance(request, EditMessageText):
        return [
            f"{head} edit #{request.message_id} ({how})",
            *_indent(_shown(request.text)),
            *_buttons(request.reply_markup),
        ]
    if isinstance(request, EditMessageMarkup):
        return [
            f"{head} edit the buttons of #{request.message_id} ({how})",
            *(_buttons(request.reply_markup) or [f"{_PAD}(none)"]),
        ]
    if isinstance(request, DeleteMessage):
        return [f"{head} delete #{request.message_id} ({how})"]
    if isinstance(request, SendDocument):
        return [
            f"{head} send #{entry.message_id} document {request.filename}, {len(request.data)} bytes ({how})",
            *_indent(_shown(request.caption or "")),
        ]
    if isinstance(request, AnswerCallback):
        return [f"{head} answer a button press: {request.text or '(no text)'}"]
    return [f"{head} {type(request).__name__}"]


def _shown(html: str) -> str:
    try:
        return _visible(html)
    except HtmlParseError:
        return f"(HTML Telegram refuses) {html}"


def _buttons(markup: InlineKeyboardMarkup | None) -> list[str]:
    if markup is None:
        return []
    return [_PAD + "  ".join(f"[{button.text}]" for button in row) for row in markup.inline_keyboard]


# --- the replay ---------------------------------------------------------------------------------------------


def recorded_answers(transcript: Transcript) -> dict[tuple[int, Any], Frame]:
    """The client's recorded answer to each (connection, server request id)."""
    answers: dict[tuple[int, Any], Frame] = {}
    for connection, frames in enumerate(transcript.connections()):
        asked: set[Any] = set()
        for index in frames:
            frame = transcript.frames[index]
            key = id_key(frame.id)
            if frame.dir == "recv" and frame.kind == "request":
                asked.add(key)
            elif frame.dir == "send" and frame.kind in ("response", "error") and key in asked:
                answers.setdefault((connection, key), frame)
    return answers


def approval_line(approval: PendingApproval, decision: str) -> str:
    """The chat line of an approval answered as recorded (HTML)."""
    if approval.kind == "command":
        what = f"to run <code>{escape(command_line(approval.command or '?'))}</code>"
    else:
        files = ", ".join(f"<code>{escape(change.path)}</code>" for change in approval.changes[:5]) or "files"
        what = f"to change {files}"
    return f"🧪 Codex asked {what}. Answered <b>{escape(decision)}</b>, as recorded."


def decision_approver(decision: str) -> Approver:
    """An approver that gives every approval ``decision`` (for recording a scenario through the bot)."""

    def approve(approval: PendingApproval, cwd: str | None) -> ApprovalAnswer:
        return ApprovalAnswer(result={"decision": decision}, message=approval_line(approval, decision))

    return approve


class _Replay:
    def __init__(self, transcript: Transcript, script: BotScript) -> None:
        self.transcript = transcript
        self.script = script
        self.server = FakeAppServer(transcript, allow_unrecorded_answers=True)
        self.problems: list[str] = []
        self._answers = recorded_answers(transcript)

    def approve(self, approval: PendingApproval, cwd: str | None) -> ApprovalAnswer:
        """The recorded answer; a request the recording left unanswered gets the bot's default (decline),
        which the playback lets through as a note."""
        connection = max(self.server.connections - 1, 0)
        frame = self._answers.get((connection, id_key(approval.request_id)))
        if frame is None or not isinstance(frame.msg.get("result"), Mapping):
            return decline_every_approval(approval, cwd)
        result = dict(frame.msg["result"])
        return ApprovalAnswer(result=result, message=approval_line(approval, str(result.get("decision"))))

    async def run(self, *, timeout: float) -> BotReplayResult:  # noqa: ASYNC109 - virtual seconds
        start = trio.current_time()
        with tempfile.TemporaryDirectory(prefix="cxg-bot-replay-") as tmp:
            async with trio.open_nursery() as nursery:
                connector = memory_connector(self.server, nursery)
                settings = LinkSettings(rng=random.Random(0))  # noqa: S311 - the reconnect jitter, fixed
                link: CodexLink = await nursery.start(
                    functools.partial(codex_link_actor, connector, settings=settings)
                )
                await link.wait_connected(10)
                bot = open_bot(
                    link, self.script.session, approver=self.approve, db_path=Path(tmp) / "db", start=start
                )
                async with bot as rig:
                    with trio.move_on_after(timeout) as scope:
                        await self._play(rig)
                        await self.server.finished.wait()
                        # The thread actor stops on its own once idle (the group has no event for that).
                        while len(rig.group):  # noqa: ASYNC110
                            await trio.sleep(1.0)
                    if scope.cancelled_caught:
                        self._stalled(rig.group, timeout)
                    self.problems += [
                        f"thread actor {key} crashed: {exc!r}" for key, exc in rig.group.crashes
                    ]
                    await trio.testing.wait_all_tasks_blocked()
                    store = await rig.facts()
                    log = tuple(rig.log)
                nursery.cancel_scope.cancel()
        if self.script.bot_recorded:
            self.problems += self._params_that_differ()
        return BotReplayResult(
            transcript=self.transcript,
            log=log,
            mismatches=tuple(self.server.mismatches),
            notes=tuple(self.server.notes),
            problems=tuple(self.problems),
            finished=self.server.finished.is_set(),
            store=store,
        )

    async def _play(self, rig: BotRig) -> None:
        for action in self.script.actions:
            await self.server.wait_sent_before(action.frame)
            await trio.testing.wait_all_tasks_blocked()  # the bot took in what the user would see by now
            if action.kind == "message":
                await rig.send_message(action.text, update_id=action.update_id, frame=action.frame)
            elif not await rig.press_cancel(frame=action.frame):
                self.problems.append(f"Cancel (frame {action.frame}): the chat has no thread")

    def _stalled(self, group: ActorGroup[str, Any], timeout: float) -> None:
        if not self.server.finished.is_set():
            waiting = "; ".join(self.server.waiting_for()) or "nothing from the client"
            self.problems.append(
                f"stalled after {timeout:g} s at server frame {self.server.server_frames_sent} "
                f"of {len(self.transcript.received())}, waiting for: {waiting}"
            )
        if len(group):
            self.problems.append(f"thread actor(s) {group.keys()} never went idle")

    def _params_that_differ(self) -> list[str]:
        """The bot recorded this transcript, so every call it makes now must carry the recorded params
        (the link's own handshake aside: its clientInfo names the package version)."""
        found = []
        for index, msg in sorted(self.server.received_requests.items()):
            frame = self.transcript.frames[index]
            if frame.method == "initialize":
                continue
            recorded, sent = frame.msg.get("params"), msg.get("params")
            if recorded != sent:
                found.append(
                    f"{frame.method} (frame {index}): params differ: recorded {recorded!r}, sent {sent!r}"
                )
        return found


async def replay_bot(transcript: Transcript, *, timeout: float = DEFAULT_TIMEOUT) -> BotReplayResult:  # noqa: ASYNC109
    """Play ``transcript`` through the ThreadActor (see the module docstring). ``.check()`` the result to
    assert it went as recorded and kept every invariant; ``.render()`` is its golden text."""
    return await _Replay(transcript, bot_script(transcript)).run(timeout=timeout)


__all__ = [
    "INVARIANTS",
    "BotReplayFailed",
    "BotReplayResult",
    "BotReplayUnsupported",
    "BotRig",
    "BotScript",
    "BotSession",
    "OutboxEntry",
    "RecordingOutbox",
    "UserAction",
    "UserEntry",
    "bot_recorded",
    "bot_script",
    "decision_approver",
    "open_bot",
    "open_inline_repository",
    "render_log",
    "replay_bot",
]
