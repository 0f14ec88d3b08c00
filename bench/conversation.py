"""The conversation's figures (issue 7): latency added by the bridge, first visible answer, memory.

Three parts, each printing figures (no pass/fail):

``--part latency``: what the bridge adds, with ``--chats`` (100) chats streaming at once. The real
``Inbox.accept`` -> chat actor -> thread actor -> ``CodexLink`` -> unix socket, the real repository (SQLite in
a temp dir), the real outbox actor. Codex is a fast fake app-server in a child process (it answers at once and
streams ``--delta-rate`` deltas a second for ``--turn-seconds``, frames copied from the recorded
``tests/replay/transcripts/plain-turn.jsonl``); Telegram is an instant in-process Bot API stub
(``RecordingBotApi``). Every chat loops: a message, its turn streams, a pause of ``--gap`` (0.5x-1.5x), the
next message. Timestamps (trio clock, one process):

- update -> ``turn/start``: when the update is handed to ``Inbox.accept`` / when the link writes the
  ``turn/start`` frame (the link's frame recorder, called just before the WebSocket write), matched by
  ``clientUserMessageId``. A chat's first message (``thread/start`` first) is reported apart.
- delta -> outbox: when the link reads a delta frame (frame recorder, before parsing) / when the outbox handle
  is given a request (``post``/``submit``/``deliver``). Progress edits are made on the thread actor's tick
  (every ``ConversationSettings.tick``, 0.2 s) at most every ``ThreadConfig.progress_interval`` (1 s), the
  first after ``progress_delay`` (0.6 s), then paced by the outbox (about 1 call/s a chat, 25/s in all, 20
  of them edits). So the figure is cut in two: the bridge's own cost (delta read -> applied to the thread's
  core, plus tick -> edit request, from a ``ThreadCore`` subclass swapped in for the run) and what the
  throttles add (delta read -> first outbox request that shows it; -> first Bot API call that shows it).
  And ``turn/completed`` read -> final answer request (not throttled).

``--part e2e``: user message -> first visible answer text, end to end: the real ``codexgram run`` process, the
real codex app-server (``codexgram.testing.codex_server``, the pinned binary) with the mock model, and the
fake Bot API server, all on loopback. From the moment the fake queues the user's update to the moment the fake
records a bot message (send or edit) that shows the answer's first words; ``--runs`` runs of an instant answer
and of a ``[[slow:N]]`` one (``--slow``, 20 deltas spread over N s).

``--part memory``: a child process makes 1,000 chats with 1,000 threads through the real path (sessions,
threads, two turns each, inbox history), then a FRESH child process opens that store and prints its RSS
(VmRSS from /proc/self/status): after start with all of it known, with 1,000 chat and 1,000 thread actors
live after a message each, after they went idle, plus the Python memory of one more live actor
(tracemalloc).

Run: ``uv run python bench/conversation.py [--part latency|e2e|memory|all] [options]`` (see ``--help``);
``BENCH_TRACE=1`` also prints the fake Bot API's calls of each end-to-end run. Figures in
``docs/benchmarks.md``.
"""

from __future__ import annotations

import argparse
import functools
import gc
import json
import logging
import math
import os
import platform
import random
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream

from codexgram.actors import thread_actor
from codexgram.actors.actor_group import actor_group_actor
from codexgram.actors.chat_actor import chat_actor_factory
from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.actors.inbox import Inbox, recover
from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.actors.outbox_handle import OutboxHandle
from codexgram.actors.repository import Repository, repository_actor
from codexgram.actors.services import ConversationSettings, Services
from codexgram.actors.thread_actor import thread_actor_factory
from codexgram.app import freeze_startup_objects
from codexgram.chat.thread_core import ThreadCore
from codexgram.chat.thread_effects import EditProgress, Effect, Prompt, ShowProgress
from codexgram.codex import notifications as n
from codexgram.codex.transport import unix_socket_connector
from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.messages import EditMessageText, OutboxRequest, SendDocument, SendMessage, StoredRequest
from codexgram.store import queries
from codexgram.store.db import open_database
from codexgram.store.rows import SessionRow
from codexgram.telegram.converter import structure
from codexgram.telegram.outbox_queue import Pacing
from codexgram.telegram.types import BotCommand, Update
from codexgram.testing.codex_server import find_codex_binary, open_codex_sandbox
from codexgram.testing.fake_telegram import FakeTelegram, run_fake_telegram
from codexgram.testing.http import Request, Response, serve_http
from codexgram.testing.mock_model import RESPONSES_PATH, MockModel
from codexgram.testing.outbox_stubs import RecordingBotApi

log = logging.getLogger("bench.conversation")

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_TRANSCRIPT = ROOT / "tests" / "replay" / "transcripts" / "plain-turn.jsonl"
WORKSPACE = "bench"
MARKER = re.compile(r"t(\d+)x(\d+)")  # a delta's text is "t<turn>x<seq> ": unique in the whole run

# ====================================================================================================
# The fake app-server (a child process): answers at once, streams deltas at a set rate
# ====================================================================================================


class Templates:
    """Frames exactly as codex 0.169.0 sent them in a recorded turn; ids and texts are replaced per use."""

    def __init__(self, path: Path) -> None:
        methods: dict[Any, str] = {}
        self.results: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, dict[str, Any]] = {}
        for line in path.read_text().splitlines():
            if not line.strip():
                continue
            frame = json.loads(line)
            msg = frame["msg"]
            if frame["dir"] == "send":
                if "id" in msg:
                    methods[msg["id"]] = msg["method"]
                continue
            if "method" in msg:
                item = msg.get("params", {}).get("item")
                key = msg["method"] + (f":{item['type']}" if isinstance(item, dict) else "")
                self.notes.setdefault(key, msg)
            elif "result" in msg:
                self.results.setdefault(methods[msg["id"]], msg["result"])
        self.thread_id: str = self.results["thread/start"]["thread"]["id"]
        self.turn_id: str = self.results["turn/start"]["turn"]["id"]
        self.cwd: str = self.results["thread/start"]["cwd"]

    def _swap(self, value: Any, thread_id: str, turn_id: str = "") -> Any:
        text = json.dumps(value).replace(self.thread_id, thread_id)
        if turn_id:
            text = text.replace(self.turn_id, turn_id)
        return json.loads(text)

    def thread_result(self, thread_id: str, cwd: str | None) -> dict[str, Any]:
        result: dict[str, Any] = self._swap(self.results["thread/start"], thread_id)
        if cwd:
            result = json.loads(json.dumps(result).replace(json.dumps(self.cwd)[1:-1], cwd))
        return result

    def read_result(self, thread_id: str) -> dict[str, Any]:
        thread = self.thread_result(thread_id, None)["thread"]
        thread["turns"] = []
        return {"thread": thread}

    def turn_result(self, thread_id: str, turn_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._swap(self.results["turn/start"], thread_id, turn_id)
        return result

    def note(self, key: str, thread_id: str, turn_id: str) -> dict[str, Any]:
        msg: dict[str, Any] = self._swap(self.notes[key], thread_id, turn_id)
        return msg


@attrs.frozen(kw_only=True)
class Stream:
    """What the fake streams per turn."""

    rate: float  # deltas a second
    seconds: float  # how long the answer streams

    @property
    def deltas(self) -> int:
        return max(1, round(self.rate * self.seconds))


class FakeCodex:
    """Serves one WebSocket connection per client; every turn streams on its own task."""

    def __init__(self, templates: Templates, stream: Stream) -> None:
        self.templates = templates
        self.stream = stream
        self.turns = 0

    async def handle(self, stream: trio.SocketStream) -> None:
        async with trio.open_nursery() as nursery:
            request = await wrap_server_stream(nursery, stream, max_message_size=16 * 2**20)
            ws = await request.accept()
            try:
                while True:
                    msg = json.loads(await ws.get_message())
                    if "id" not in msg:
                        continue  # "initialized"
                    await self._answer(ws, msg, nursery)
            except ConnectionClosed:
                nursery.cancel_scope.cancel()

    async def _answer(self, ws: WebSocketConnection, msg: dict[str, Any], nursery: trio.Nursery) -> None:
        method, params = msg["method"], msg.get("params") or {}
        tpl = self.templates
        after: Callable[[], Awaitable[None]] | None = None
        if method == "initialize":
            result: Any = {"userAgent": f"codexgram/{TESTED_CODEX_VERSION} (bench fake)"}
        elif method in ("thread/start", "thread/resume"):
            thread_id = params.get("threadId") or str(uuid.uuid4())
            result = tpl.thread_result(thread_id, params.get("cwd"))
        elif method == "thread/read":
            result = tpl.read_result(params["threadId"])
        elif method == "turn/start":
            self.turns += 1
            thread_id, turn_id = params["threadId"], str(uuid.uuid4())
            result = tpl.turn_result(thread_id, turn_id)
            text = "".join(part.get("text", "") for part in params.get("input", []))
            after = functools.partial(
                self._turn, ws, thread_id, turn_id, self.turns, text, params.get("clientUserMessageId")
            )
        else:
            result = {}
        await ws.send_message(json.dumps({"id": msg["id"], "result": result}))
        if after is not None:
            nursery.start_soon(after)

    async def _turn(
        self,
        ws: WebSocketConnection,
        thread_id: str,
        turn_id: str,
        number: int,
        prompt: str,
        client_id: str | None,
    ) -> None:
        tpl = self.templates
        head = [
            tpl.note("thread/status/changed", thread_id, turn_id),
            tpl.note("turn/started", thread_id, turn_id),
        ]
        for key in ("item/started:userMessage", "item/completed:userMessage"):
            note = tpl.note(key, thread_id, turn_id)
            note["params"]["item"].update(clientId=client_id, content=[{"type": "text", "text": prompt}])
            head.append(note)
        agent = tpl.note("item/started:agentMessage", thread_id, turn_id)
        item_id = agent["params"]["item"]["id"] = f"msg-{number}"
        head.append(agent)
        try:
            for note in head:
                await ws.send_message(json.dumps(note))
            delta = tpl.note("item/agentMessage/delta", thread_id, turn_id)
            delta["params"].update(itemId=item_id, delta="\x00")
            before, _, after = json.dumps(delta).partition("\\u0000")
            words: list[str] = []
            start = trio.current_time()
            for seq in range(self.stream.deltas):
                await trio.sleep_until(start + seq / self.stream.rate)
                word = f"t{number}x{seq} "
                words.append(word)
                await ws.send_message(f"{before}{word}{after}")
            text = "".join(words)
            done = tpl.note("item/completed:agentMessage", thread_id, turn_id)
            done["params"]["item"].update(id=item_id, text=text)
            usage = tpl.note("thread/tokenUsage/updated", thread_id, turn_id)
            idle = tpl.note("thread/status/changed", thread_id, turn_id)
            idle["params"]["status"] = {"type": "idle"}
            completed = tpl.note("turn/completed", thread_id, turn_id)
            items = completed["params"]["turn"]["items"]
            items[:] = [dict(items[0], id=item_id, text=text)] if items else []
            for note in (done, usage, idle, completed):
                await ws.send_message(json.dumps(note))
        except (ConnectionClosed, trio.BrokenResourceError, trio.ClosedResourceError):
            return


async def serve_fake_codex(socket_path: str, stream: Stream) -> None:
    fake = FakeCodex(Templates(TEMPLATE_TRANSCRIPT), stream)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(socket_path)
    sock.listen(16)
    print("ready", flush=True)
    await trio.serve_listeners(fake.handle, [trio.SocketListener(sock)])


@asynccontextmanager
async def fake_codex_process(stream: Stream) -> AsyncIterator[str]:
    """The fake app-server in a child process (so it does not share the bridge's core); yields its socket."""
    with tempfile.TemporaryDirectory(prefix="cxg-bench-") as tmp:
        socket_path = str(Path(tmp) / "codex.sock")
        command = [
            sys.executable,
            __file__,
            "--serve-codex",
            socket_path,
            "--delta-rate",
            str(stream.rate),
            "--turn-seconds",
            str(stream.seconds),
        ]
        async with trio.open_nursery() as nursery:
            process: trio.Process = await nursery.start(
                functools.partial(trio.run_process, command, check=False)
            )
            with trio.fail_after(20):
                while not await trio.Path(socket_path).exists():  # noqa: ASYNC110 (a file, not an event)
                    await trio.sleep(0.05)
            try:
                yield socket_path
            finally:
                process.terminate()
                nursery.cancel_scope.cancel()


# ====================================================================================================
# The bridge, composed like app.start_actors, with Telegram replaced by an instant stub
# ====================================================================================================


class QuietBotApi(RecordingBotApi):
    """The instant Bot API stub; ``keep`` False forgets its calls (the memory runs)."""

    def __init__(self, *, keep: bool = True) -> None:
        super().__init__()
        self.keep = keep
        self.count = 0

    async def _record(self, method: str, chat_id: int | None, **params: Any) -> None:
        self.count += 1
        await super()._record(method, chat_id, **params)
        if not self.keep:
            self.calls.clear()

    async def leave_chat(self, chat_id: int, *, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        return True

    async def set_my_commands(
        self,
        commands: Sequence[BotCommand],
        *,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> bool:
        return True


@attrs.define
class Bridge:
    services: Services
    inbox: Inbox
    bot: QuietBotApi
    link: CodexLink


async def run_bridge(
    db_path: Path,
    socket_path: str,
    *,
    settings: ConversationSettings,
    outbox: Callable[[trio.MemorySendChannel[OutboxRequest]], OutboxHandle] = OutboxHandle,
    recorder: Any = None,
    keep_calls: bool = True,
    outbox_settings: OutboxSettings | None = None,
    task_status: trio.TaskStatus[Bridge] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Start the actors in ``app.start_actors``' order (no poller: the bench calls ``Inbox.accept``)."""
    bot = QuietBotApi(keep=keep_calls)
    async with trio.open_nursery() as nursery:
        repository = Repository(await nursery.start(functools.partial(repository_actor, db_path)))
        outbox_mailbox = await nursery.start(
            functools.partial(
                outbox_actor, client=bot, store=repository, settings=outbox_settings or OutboxSettings()
            )
        )
        link: CodexLink = await nursery.start(
            functools.partial(
                codex_link_actor,
                unix_socket_connector(socket_path),
                settings=LinkSettings(),
                recorder=recorder,
            )
        )
        await link.wait_connected(10)
        services = Services(
            repository=repository, outbox=outbox(outbox_mailbox), link=link, bot=bot, settings=settings
        )
        services.threads = await nursery.start(
            functools.partial(actor_group_actor, "threads", thread_actor_factory(services))
        )
        services.chats = await nursery.start(
            functools.partial(actor_group_actor, "chats", chat_actor_factory(services))
        )
        await recover(services)
        task_status.started(Bridge(services=services, inbox=Inbox(services), bot=bot, link=link))
        await trio.sleep_forever()


def prepare_store(db_path: Path, chats: Sequence[int], workspace: Path) -> None:
    """Allowlist one user per chat (user id = chat id) and give every chat the workspace, like an owner
    would with ``codexgram admin`` and each user with ``/workspace``."""
    conn = open_database(db_path)
    try:
        with conn:
            now = time.time()
            queries.add_workspace(conn, name=WORKSPACE, path=str(workspace), at=now)
            for chat_id in chats:
                queries.allow_user(conn, user_id=chat_id, name=f"user {chat_id}", at=now)
                queries.save_session(
                    conn,
                    SessionRow(
                        chat_id=chat_id,
                        workspace=WORKSPACE,
                        thread_id=None,
                        model=None,
                        sandbox=None,
                        updated_at=now,
                    ),
                )
    finally:
        conn.close()


def text_update(update_id: int, chat_id: int, text: str) -> Update:
    raw = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Bench"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Bench"},
            "text": text,
        },
    }
    return structure(raw, Update)


def last_update_id(db_path: Path) -> int:
    """The newest update id in the store (a restarted bot gets ids after it: Telegram's keep growing)."""
    conn = open_database(db_path)
    try:
        newest = conn.execute("SELECT max(update_id) FROM inbox").fetchall()[0][0]
    finally:
        conn.close()
    return int(newest) if isinstance(newest, int) else 1000


class Poller:
    """The poller's part: updates are handed to ``Inbox.accept`` one at a time, in arrival order."""

    def __init__(
        self,
        inbox: Inbox,
        on_accept: Callable[[Update], None] | None = None,
        on_recorded: Callable[[Update], None] | None = None,
        *,
        first_id: int = 1000,
    ) -> None:
        self.inbox = inbox
        self._on_accept = on_accept
        self._on_recorded = on_recorded
        self.send, self._receive = trio.open_memory_channel[Update](10_000)
        self._next_id = first_id

    def new_update(self, chat_id: int, text: str) -> Update:
        self._next_id += 1
        return text_update(self._next_id, chat_id, text)

    async def run(self) -> None:
        async for update in self._receive:
            if self._on_accept is not None:
                self._on_accept(update)
            await self.inbox.accept(update)
            if self._on_recorded is not None:
                self._on_recorded(update)


def rss_kib() -> tuple[int, int]:
    """(VmRSS, VmHWM) of this process in KiB."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields["VmRSS"], fields["VmHWM"]


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# ====================================================================================================
# Part 1: latency added by the bridge
# ====================================================================================================


@attrs.define
class Probe:
    """Every timestamp of the latency run (trio clock)."""

    accepted: dict[int, float] = attrs.field(factory=dict)  # update id -> handed to Inbox.accept
    recorded: dict[int, float] = attrs.field(factory=dict)  # update id -> Inbox.accept returned
    poked: dict[int, float] = attrs.field(factory=dict)  # -> the thread's core told of new prompts
    pending: dict[int, int] = attrs.field(factory=dict)  # chat -> its update waiting for a turn
    loop_lag: list[float] = attrs.field(factory=list)  # a 10 ms timer's overshoot
    repository_trip: list[float] = attrs.field(factory=list)  # an empty transaction's round trip
    first_messages: set[int] = attrs.field(factory=set)
    turn_start_sent: dict[int, float] = attrs.field(factory=dict)  # update id -> turn/start written
    delta_read: dict[tuple[int, int], float] = attrs.field(factory=dict)  # (turn no, seq) -> read by link
    delta_applied: dict[tuple[int, int], float] = attrs.field(factory=dict)  # -> applied to the core
    turn_number: dict[str, int] = attrs.field(factory=dict)  # codex turn id -> turn no (from its deltas)
    completed_read: dict[int, float] = attrs.field(factory=dict)  # turn no -> turn/completed read
    turns: list[tuple[float, float]] = attrs.field(factory=list)  # turn/started read, turn/completed read
    started_read: dict[str, float] = attrs.field(factory=dict)
    chat_of_thread: dict[str, int] = attrs.field(factory=dict)
    turn_done: dict[int, trio.Event] = attrs.field(factory=dict)  # chat -> its turn completed
    ticks: dict[tuple[int, str], float] = attrs.field(factory=dict)  # (chat, progress text) -> tick start
    tick_to_post: list[float] = attrs.field(factory=list)
    # progress requests handed to the outbox: (at, chat, text, tick start or None)
    progress_posts: list[tuple[float, int, str, float | None]] = attrs.field(factory=list)
    final_posted: dict[int, float] = attrs.field(factory=dict)  # turn no -> final answer to the outbox


def markers(text: str) -> list[tuple[int, int]]:
    return [(int(turn), int(seq)) for turn, seq in MARKER.findall(text)]


class ProbeRecorder:
    """The link's frame recorder: sees every frame (already parsed) just before it is written / handled."""

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    def record(self, direction: Literal["send", "recv"], msg: Mapping[str, Any]) -> None:
        now = trio.current_time()
        probe = self.probe
        method = msg.get("method")
        if direction == "send":
            if method == "turn/start":
                client_id = msg["params"].get("clientUserMessageId") or ""
                if client_id.startswith("codexgram-"):
                    probe.turn_start_sent[int(client_id.removeprefix("codexgram-"))] = now
            return
        if method == "item/agentMessage/delta":
            params = msg["params"]
            found = MARKER.match(params["delta"])
            if found:
                key = (int(found.group(1)), int(found.group(2)))
                probe.delta_read[key] = now
                probe.turn_number.setdefault(params["turnId"], key[0])
        elif method == "turn/started":
            probe.started_read[msg["params"]["turn"]["id"]] = now
        elif method == "turn/completed":
            params = msg["params"]
            turn_id = params["turn"]["id"]
            number = probe.turn_number.get(turn_id)
            if number is not None:
                probe.completed_read[number] = now
            if turn_id in probe.started_read:
                probe.turns.append((probe.started_read.pop(turn_id), now))
            chat = probe.chat_of_thread.get(params["threadId"])
            if chat is not None and chat in probe.turn_done:
                probe.turn_done[chat].set()


def instrumented_core(probe: Probe) -> type[ThreadCore]:
    """A ThreadCore that notes when a delta was applied and when a tick made a progress message."""

    class ProbedCore(ThreadCore):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            probe.chat_of_thread[self.thread_id] = self.chat_id

        def on_notification(self, note: n.CodexNotification, now: float) -> list[Effect]:
            effects = super().on_notification(note, now)
            if isinstance(note, n.AgentMessageDelta):
                found = MARKER.match(note.delta)
                if found:
                    probe.delta_applied[(int(found.group(1)), int(found.group(2)))] = trio.current_time()
            return effects

        def on_prompts(self, prompts: Sequence[Prompt], now: float) -> list[Effect]:
            # The chat hands its prompts over with the poke (or, at start, they are read from the store).
            update_id = probe.pending.get(self.chat_id)
            if update_id is not None and any(p.update_id == update_id for p in prompts):
                probe.poked.setdefault(update_id, trio.current_time())
            return super().on_prompts(prompts, now)

        def tick(self, now: float) -> list[Effect]:
            started = trio.current_time()
            effects = super().tick(now)
            for effect in effects:
                if isinstance(effect, EditProgress | ShowProgress) and effect.message.text:
                    probe.ticks[(self.chat_id, effect.message.text)] = started
            return effects

    return ProbedCore


class ProbedOutbox(OutboxHandle):
    """The outbox handle, noting the moment each request is handed over."""

    def __init__(self, mailbox: trio.MemorySendChannel[OutboxRequest], probe: Probe) -> None:
        super().__init__(mailbox)
        self.probe = probe

    def _seen(self, request: OutboxRequest) -> None:
        now = trio.current_time()
        probe = self.probe
        durable = isinstance(request, StoredRequest)
        call = request.request if isinstance(request, StoredRequest) else request
        if not isinstance(call, SendMessage | EditMessageText | SendDocument):
            return
        text = call.text if not isinstance(call, SendDocument) else (call.caption or "")
        if durable:  # a final answer
            for number in {turn for turn, _ in markers(text)}:
                probe.final_posted.setdefault(number, now)
            return
        tick = probe.ticks.pop((call.chat_id, text), None)
        if tick is not None:
            probe.tick_to_post.append(now - tick)
        probe.progress_posts.append((now, call.chat_id, text, tick))

    def post(self, request: OutboxRequest) -> None:
        self._seen(request)
        super().post(request)

    async def submit(self, request: OutboxRequest) -> None:
        self._seen(request)
        await super().submit(request)

    async def deliver(self, request: SendMessage | SendDocument, *, wait: float | None = None) -> int:
        self._seen(request)
        return await super().deliver(request, wait=wait)


def first_shown(
    shows: Sequence[tuple[float, str]], known: Mapping[tuple[int, int], float]
) -> dict[tuple[int, int], float]:
    """For every delta in ``known``: the time of the first of ``shows`` (time, text), in time order, whose
    text shows it (a text shows a delta when it shows a later delta of the same turn, or the delta itself)."""
    newest: dict[int, int] = {}
    for _, text in shows:
        for turn, seq in markers(text):
            newest[turn] = max(newest.get(turn, -1), seq)
    shown: dict[tuple[int, int], float] = {}
    upto: dict[int, int] = {}
    for at, text in sorted(shows):
        latest: dict[int, int] = {}
        for turn, seq in markers(text):
            latest[turn] = max(latest.get(turn, -1), seq)
        for turn, seq in latest.items():
            for earlier in range(upto.get(turn, -1) + 1, seq + 1):
                if (turn, earlier) in known:
                    shown[(turn, earlier)] = at
            upto[turn] = max(upto.get(turn, -1), seq)
    return shown


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(name: str, seconds: Sequence[float], *, unit: str = "ms") -> str:
    if not seconds:
        return f"{name}: no samples"
    scale = 1000.0 if unit == "ms" else 1.0
    values = [v * scale for v in seconds]
    return (
        f"{name}: n={len(values)} p50={percentile(values, 0.5):.2f} p90={percentile(values, 0.9):.2f} "
        f"p99={percentile(values, 0.99):.2f} max={max(values):.2f} {unit}"
    )


class SlowSteps(trio.abc.Instrument):
    """``--diagnose``: every task step that held the event loop for longer than ``limit`` seconds, by task,
    and every garbage collection pass that took longer."""

    def __init__(self, limit: float = 0.005) -> None:
        self.limit = limit
        self.slow: list[tuple[float, str]] = []
        self.gc_pauses: list[tuple[float, int]] = []
        self.gc_total: dict[int, float] = {}
        self._started = 0.0
        self._gc_started = 0.0
        gc.callbacks.append(self._gc)

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            took = time.perf_counter() - self._gc_started
            self.gc_total[info["generation"]] = self.gc_total.get(info["generation"], 0.0) + took
            if took > self.limit:
                self.gc_pauses.append((took, info["generation"]))

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        self._started = time.perf_counter()

    def after_task_step(self, task: trio.lowlevel.Task) -> None:
        took = time.perf_counter() - self._started
        if took > self.limit:
            self.slow.append((took, task.name))

    def report(self) -> None:
        by_task: dict[str, list[float]] = {}
        for took, name in self.slow:
            by_task.setdefault(re.sub(r"0x[0-9a-f]+|\d+", "N", name), []).append(took)
        print(f"\n-- --diagnose: task steps over {self.limit * 1000:g} ms, by task --")
        by_task.pop("__main__.latency", None)  # the run itself (it started before the instrument)
        for name, steps in sorted(by_task.items(), key=lambda kv: -sum(kv[1])):
            worst, total = max(steps) * 1000, sum(steps) * 1000
            print(f"{len(steps):5d} steps, max {worst:6.1f} ms, total {total:7.1f} ms: {name}")
        pauses = [took for took, _ in self.gc_pauses]
        if pauses:
            generations = sorted({generation for _, generation in self.gc_pauses})
            print(
                f"gc passes over {self.limit * 1000:g} ms: {len(pauses)} (generations {generations}), "
                f"max {max(pauses) * 1000:.1f} ms"
            )
        in_gc = ", ".join(f"gen {g} {t:.2f} s" for g, t in sorted(self.gc_total.items()))
        print(f"time in gc passes: {in_gc}; collections per generation {gc.get_stats()}")


async def watch_loop(probe: Probe) -> None:
    """How late a 10 ms timer fires: the time the event loop was busy with something else."""
    while True:
        before = trio.current_time()
        await trio.sleep(0.01)
        probe.loop_lag.append(trio.current_time() - before - 0.01)


async def watch_repository(probe: Probe, repository: Repository) -> None:
    """The round trip of an empty transaction through the repository actor, every 50 ms."""

    def nothing(conn: Any) -> None:
        return None

    while True:
        await trio.sleep(0.05)
        before = trio.current_time()
        await repository.run(nothing, what="bench probe")
        probe.repository_trip.append(trio.current_time() - before)


async def chat_loop(
    chat_id: int, poller: Poller, probe: Probe, *, end: float, gap: float, stagger: float
) -> None:
    done = probe.turn_done.setdefault(chat_id, trio.Event())
    await trio.sleep(random.uniform(0, stagger))
    first = True
    count = 0
    while trio.current_time() < end:
        count += 1
        update = poller.new_update(chat_id, f"question {count} from chat {chat_id}")
        if first:
            probe.first_messages.add(update.update_id)
            first = False
        done = probe.turn_done[chat_id] = trio.Event()
        poller.send.send_nowait(update)
        with trio.move_on_after(60):
            await done.wait()
        await trio.sleep(random.uniform(0.5 * gap, 1.5 * gap))


async def latency(args: argparse.Namespace) -> None:
    stream = Stream(rate=args.delta_rate, seconds=args.turn_seconds)
    probe = Probe()
    slow = SlowSteps() if args.diagnose else None
    if slow is not None:
        trio.lowlevel.add_instrument(slow)
    vars(thread_actor)["ThreadCore"] = instrumented_core(probe)  # the bench's probe; nothing else changes
    chats = list(range(1, args.chats + 1))
    print(
        f"\n== Part 1: latency added by the bridge: {args.chats} chats, turns streaming "
        f"{stream.rate:g} deltas/s for {stream.seconds:g} s, then a pause of "
        f"{0.5 * args.gap:g}-{1.5 * args.gap:g} s; "
        f"{args.seconds:g} s of messages =="
    )
    with tempfile.TemporaryDirectory(prefix="cxg-bench-") as tmp:
        db_path = Path(tmp) / "bot.sqlite3"
        prepare_store(db_path, chats, Path(tmp))
        async with fake_codex_process(stream) as socket_path, trio.open_nursery() as nursery:
            bridge: Bridge = await nursery.start(
                functools.partial(
                    run_bridge,
                    db_path,
                    socket_path,
                    settings=ConversationSettings(),
                    outbox=functools.partial(ProbedOutbox, probe=probe),
                    recorder=ProbeRecorder(probe),
                )
            )

            def on_accept(update: Update) -> None:
                probe.accepted[update.update_id] = trio.current_time()
                assert update.chat is not None
                probe.pending[update.chat.id] = update.update_id

            def on_recorded(update: Update) -> None:
                probe.recorded[update.update_id] = trio.current_time()

            if not args.no_gc_freeze:
                freeze_startup_objects()  # as codexgram run does once it runs
            if args.switch_interval:
                sys.setswitchinterval(args.switch_interval)
            objects = len(gc.get_objects())
            poller = Poller(bridge.inbox, on_accept, on_recorded)
            nursery.start_soon(poller.run)
            nursery.start_soon(watch_loop, probe)
            nursery.start_soon(watch_repository, probe, bridge.services.repository)
            started = trio.current_time()
            cpu_before = cpu_seconds()
            end = started + args.seconds
            async with trio.open_nursery() as chats_nursery:
                for chat_id in chats:
                    chats_nursery.start_soon(
                        functools.partial(
                            chat_loop,
                            chat_id,
                            poller,
                            probe,
                            end=end,
                            gap=args.gap,
                            stagger=stream.seconds + args.gap,
                        )
                    )
            await trio.sleep(3.0)  # the last answers and edits reach the outbox and the stub
            elapsed = trio.current_time() - started
            cpu = cpu_seconds() - cpu_before
            steady = (started + stream.seconds + args.gap, end)
            print(
                f"objects tracked by the garbage collector: {objects:,} when the bridge was up, "
                f"{len(gc.get_objects()):,} at the end ({gc.get_freeze_count():,} frozen)"
            )
            nursery.cancel_scope.cancel()
    report_latency(probe, bridge.bot, elapsed=elapsed, cpu=cpu, steady=steady)
    if slow is not None:
        slow.report()


def report_latency(
    probe: Probe, bot: QuietBotApi, *, elapsed: float, cpu: float, steady: tuple[float, float]
) -> None:
    later = [u for u in probe.turn_start_sent if u not in probe.first_messages and u in probe.accepted]
    first = [u for u in probe.turn_start_sent if u in probe.first_messages and u in probe.accepted]
    missing = len(probe.accepted) - len(probe.turn_start_sent)
    low, high = steady
    busy = sum(max(0.0, min(b, high) - max(a, low)) for a, b in probe.turns) / (high - low)
    deltas = len(probe.delta_read)
    print(
        f"load: {deltas:,} deltas read in {elapsed:.0f} s ({deltas / elapsed:,.0f}/s), "
        f"{len(probe.turns)} turns, "
        f"on average {busy:.0f} turns streaming at once once all chats had started; "
        f"bridge process CPU {cpu / elapsed:.0%} of one core (both threads); "
        f"{len(bot.calls)} Bot API calls"
    )
    if missing:
        print(f"({missing} updates without a turn/start: the run ended first)")
    print("\n-- update handed to Inbox.accept -> turn/start frame written --")
    print(
        summary(
            "next message in a chat (thread actor running)",
            [probe.turn_start_sent[u] - probe.accepted[u] for u in later],
        )
    )
    print(
        summary(
            "a chat's first message (thread/start first)",
            [probe.turn_start_sent[u] - probe.accepted[u] for u in first],
        )
    )
    stages = [u for u in later if u in probe.recorded and u in probe.poked]
    print(f"the next-message path in stages (n={len(stages)}):")
    print(
        summary(
            "  accept -> inbox row committed (Inbox.accept returned)",
            [probe.recorded[u] - probe.accepted[u] for u in stages],
        )
    )
    print(
        summary(
            "  -> thread core has the prompt (chat actor: rows read and handled in one tx, poke with them)",
            [probe.poked[u] - probe.recorded[u] for u in stages],
        )
    )
    print(
        summary(
            "  -> turn/start written (mark_starting tx, call task, frame)",
            [probe.turn_start_sent[u] - probe.poked[u] for u in stages],
        )
    )
    print("\n-- the event loop and the repository under this load --")
    print(summary("loop lag (a 10 ms timer's overshoot)", probe.loop_lag))
    print(summary("repository round trip of an empty transaction", probe.repository_trip))

    print("\n-- Codex delta -> outbox: the bridge's own part --")
    applied = [t - probe.delta_read[k] for k, t in probe.delta_applied.items() if k in probe.delta_read]
    print(summary("delta frame read by the link -> applied to the thread's core", applied))
    print(
        summary("tick -> progress request handed to the outbox (render + effect runner)", probe.tick_to_post)
    )
    own = []
    for at, _chat, text, tick in probe.progress_posts:
        shown = markers(text)
        if tick is None or not shown:
            continue
        key = max(shown)
        if key in probe.delta_applied and key in probe.delta_read:
            own.append((probe.delta_applied[key] - probe.delta_read[key]) + (at - tick))
    print(summary("sum of both for each progress request (its newest delta): the bridge's own latency", own))
    finals = [
        probe.final_posted[t] - probe.completed_read[t]
        for t in probe.final_posted
        if t in probe.completed_read
    ]
    print(summary("turn/completed read -> final answer handed to the outbox (not throttled)", finals))

    print(
        "\n-- Codex delta -> outbox: with the throttles "
        "(tick, progress_delay, progress_interval; outbox pacing) --"
    )
    shows = [(at, text) for at, _chat, text, _tick in probe.progress_posts]
    to_outbox = first_shown(shows, probe.delta_read)
    print(
        summary(
            "delta read -> first progress request that shows it",
            [to_outbox[k] - probe.delta_read[k] for k in to_outbox],
            unit="s",
        )
    )
    calls = [
        (call.at, str(call.params.get("text", "")))
        for call in bot.calls
        if call.method in ("sendMessage", "editMessageText")
    ]
    to_call = first_shown(calls, probe.delta_read)
    print(
        summary(
            "delta read -> first Bot API call that shows it (progress edit or final answer)",
            [to_call[k] - probe.delta_read[k] for k in to_call],
            unit="s",
        )
    )
    unshown = len(probe.delta_read) - len(to_call)
    print(f"({unshown:,} of {len(probe.delta_read):,} deltas not shown by any call: the run's last turns)")


# ====================================================================================================
# Part 2: user message -> first visible answer text, end to end with the real codex
# ====================================================================================================

E2E_USER = 1001
E2E_WORKSPACE = "demo"


class TimedModel:
    """The mock model, noting when each request arrives and when its first delta is written."""

    def __init__(self) -> None:
        self.model = MockModel()
        self.requests: list[float] = []
        self.first_deltas: list[float] = []

    async def handle(self, request: Request) -> Response:
        response = await self.model.handle(request)
        if request.path != RESPONSES_PATH or response.stream is None:
            return response
        self.requests.append(trio.current_time())
        inner = response.stream

        async def stream() -> AsyncIterator[bytes]:
            first = True
            async for chunk in inner():
                if first and b"output_text.delta" in chunk:
                    first = False
                    self.first_deltas.append(trio.current_time())
                yield chunk

        return attrs.evolve(response, stream=stream)


def first_after(times: Sequence[float], start: float) -> float | None:
    return next((t for t in times if t >= start), None)


def e2e_store(db: Path, workspace: Path) -> None:
    """Allowlist the user and add the workspace, as an owner does with ``codexgram admin``."""
    db.parent.mkdir(parents=True, exist_ok=True)
    conn = open_database(db)
    try:
        with conn:
            queries.allow_user(conn, user_id=E2E_USER, name="bench", at=time.time())
            queries.add_workspace(conn, name=E2E_WORKSPACE, path=str(workspace), at=time.time())
    finally:
        conn.close()


@asynccontextmanager
async def codexgram_run(env: Mapping[str, str], cwd: Path) -> AsyncIterator[trio.Process]:
    """The ``codexgram run`` console script of this environment, until it logs that it runs; SIGTERM after."""
    log_path = cwd / "codexgram-run.log"
    with log_path.open("wb") as log:
        process = await trio.lowlevel.open_process(
            [str(Path(sys.executable).parent / "codexgram"), "run"],
            env=dict(env),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        with trio.fail_after(30):
            while b"codexgram is running" not in log_path.read_bytes():
                if process.poll() is not None:
                    raise RuntimeError(f"codexgram run exited: {log_path.read_text()[-2000:]}")
                await trio.sleep(0.05)
        yield process
    finally:
        with trio.CancelScope(shield=True):
            process.terminate()
            with trio.move_on_after(20):
                await process.wait()
            if process.poll() is None:
                process.kill()
                await process.wait()


async def quiet(fake: FakeTelegram, seconds: float = 1.5) -> None:
    """Wait until the bot made no call but getUpdates for ``seconds``: the last turn's progress message is
    deleted, and the next message is not held by the per-chat pace (about 1 call/s) of the one before."""
    while True:
        last = max((c.at for c in fake.calls() if c.method != "getUpdates"), default=-math.inf)
        if trio.current_time() - last >= seconds:
            return
        await trio.sleep(0.1)


async def e2e_run(
    fake: FakeTelegram, model: TimedModel, text: str, needle: str, done: str, seconds: float
) -> tuple[float, float | None, float | None]:
    """Say ``text``; return (first visible, model asked, model's first delta), each relative to the moment
    the fake queued the update. Returns once ``done`` shows in a message with the turn's footer."""

    def shows(words: str, footer: bool = False) -> float | None:
        for call in fake.calls():
            if call.at < start or not call.ok or call.method not in ("sendMessage", "editMessageText"):
                continue
            shown = str(call.params.get("text", ""))
            if words in shown and (not footer or "tokens" in shown):
                return call.at
        return None

    await quiet(fake)
    start = trio.current_time()
    fake.user_sends_text(E2E_USER, text)
    with trio.fail_after(seconds):
        await fake.wait_until(lambda: shows(needle) is not None)
        visible = shows(needle)
        await fake.wait_until(lambda: shows(done, footer=True) is not None)
    assert visible is not None
    if os.environ.get("BENCH_TRACE"):
        for call in fake.calls():
            if call.at >= start:
                print(
                    f"    {(call.at - start) * 1000:7.1f} ms {call.method} "
                    f"{str(call.params.get('text', ''))[:60]!r}"
                )
    asked = first_after(model.requests, start)
    delta = first_after(model.first_deltas, start)
    return visible - start, None if asked is None else asked - start, None if delta is None else delta - start


async def e2e(args: argparse.Namespace) -> None:
    print(
        "\n== Part 2: user message -> first visible answer text: codexgram run + "
        f"codex {TESTED_CODEX_VERSION} "
        f"(mock model) + the fake Bot API; {args.runs} runs each =="
    )
    codex_bin = await trio.to_thread.run_sync(find_codex_binary)
    with tempfile.TemporaryDirectory(prefix="cxg-e2e-") as tmp:
        root = Path(tmp)
        async with trio.open_nursery() as nursery:
            model = TimedModel()
            model.model.port = await nursery.start(functools.partial(serve_http, model.handle))
            fake: FakeTelegram = await nursery.start(run_fake_telegram)
            async with open_codex_sandbox(
                codex_bin, model_base_url=model.model.base_url, root=root
            ) as server:
                db = root / "data" / "bot.sqlite3"
                e2e_store(db, server.workspace)
                env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
                env.update(
                    CODEXGRAM_TELEGRAM_TOKEN=fake.token,
                    CODEXGRAM_TELEGRAM_API_URL=fake.base_url,
                    CODEXGRAM_CODEX_SOCKET=str(server.socket_path),
                    CODEXGRAM_DATA_DIR=str(root / "data"),
                    CODEXGRAM_DB=str(db),
                    CODEXGRAM_LOG_LEVEL="INFO",  # the bench waits for the "running" line
                )
                async with codexgram_run(env, root):
                    fake.ensure_chat(E2E_USER)
                    fake.user_sends_text(E2E_USER, f"/workspace {E2E_WORKSPACE}")
                    with trio.fail_after(30):
                        await fake.wait_until(
                            lambda: any(
                                "Now working in" in (m.text or "") for m in fake.bot_messages(E2E_USER)
                            )
                        )
                    first = await e2e_run(
                        fake, model, "first hello", "You said: first", "You said: first", 60
                    )
                    results: dict[str, list[tuple[float, float | None, float | None]]] = {}
                    for run in range(args.runs):
                        for kind in ("instant", "slow"):
                            if kind == "instant":
                                text, needle = f"e2e-{run} hello", f"You said: e2e-{run}"
                                done = needle
                            else:
                                text, needle, done = (
                                    f"[[slow:{args.slow:g}]] e2e-slow-{run}",
                                    "slow00",
                                    "slow19",
                                )
                            measured = await e2e_run(fake, model, text, needle, done, 60 + args.slow)
                            results.setdefault(kind, []).append(measured)
            nursery.cancel_scope.cancel()
    print(
        f"a chat's first message (thread/start first): first words visible after {first[0] * 1000:.0f} ms "
        f"(model asked after {(first[1] or 0) * 1000:.0f} ms)"
    )
    for kind, runs in results.items():
        label = "instant answer" if kind == "instant" else f"slow answer ([[slow:{args.slow:g}]], 20 deltas)"
        visible = [r[0] for r in runs]
        asked = [r[1] for r in runs if r[1] is not None]
        after_delta = [r[0] - r[2] for r in runs if r[2] is not None]
        print(f"{label}:")
        print("  " + summary("user message -> first words visible in the fake", visible))
        print("  " + summary("user message -> the model is asked (bot + codex starting the turn)", asked))
        print(
            "  "
            + summary("model writes its first delta -> first words visible (codex + bot + HTTP)", after_delta)
        )


# ====================================================================================================
# Part 3: memory with 1,000 chats and 1,000 threads
# ====================================================================================================

MEMORY_STREAM = Stream(rate=50.0, seconds=0.2)  # short turns: 10 deltas
MEMORY_IDLE = 45.0  # chat_idle and thread_idle here (600 s in the bot): longer than the 1,000 chats take


class TurnWatcher:
    """A frame recorder that only tells a chat its turn completed (no timestamps kept)."""

    def __init__(self) -> None:
        self.chat_of_update: dict[int, int] = {}
        self.chat_of_thread: dict[str, int] = {}
        self.done: dict[int, trio.Event] = {}

    def record(self, direction: Literal["send", "recv"], msg: Mapping[str, Any]) -> None:
        method = msg.get("method")
        if direction == "send" and method == "turn/start":
            client_id = str(msg["params"].get("clientUserMessageId") or "")
            chat = self.chat_of_update.pop(int(client_id.removeprefix("codexgram-") or 0), None)
            if chat is not None:
                self.chat_of_thread[msg["params"]["threadId"]] = chat
        elif direction == "recv" and method == "turn/completed":
            chat = self.chat_of_thread.get(msg["params"]["threadId"])
            if chat is not None and chat in self.done:
                self.done[chat].set()


async def converse(poller: Poller, watcher: TurnWatcher, chats: Sequence[int], text: str) -> None:
    """Every chat in ``chats`` sends ``text`` (at most 250 turns at once) and waits for its turn to end."""
    limiter = trio.CapacityLimiter(250)

    async def one(chat_id: int) -> None:
        async with limiter:
            update = poller.new_update(chat_id, f"{text} ({chat_id})")
            watcher.chat_of_update[update.update_id] = chat_id
            done = watcher.done[chat_id] = trio.Event()
            poller.send.send_nowait(update)
            with trio.move_on_after(120):
                await done.wait()
            if not done.is_set():
                log.warning("chat %d: no turn/completed within 120 s (update %d)", chat_id, update.update_id)

    async with trio.open_nursery() as nursery:
        for chat_id in chats:
            nursery.start_soon(one, chat_id)
    await trio.sleep(1.0)  # final answers delivered, outbox rows removed


async def wait_idle(bridge: Bridge) -> None:
    """Until every chat and thread actor stopped (the groups have no event for it: poll)."""
    with trio.fail_after(MEMORY_IDLE + 60):
        while len(bridge.services.chats) or len(bridge.services.threads):  # noqa: ASYNC110
            await trio.sleep(0.25)
    await trio.sleep(0.5)


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MB"


async def memory_child(args: argparse.Namespace, rss_at_import: tuple[int, int]) -> None:
    """One fresh process: ``populate`` makes the chats' history; ``measure`` measures a bot on it."""
    db_path, socket_path, count = Path(args.db), args.socket, args.memory_chats
    chats = list(range(1, count + 1))
    watcher = TurnWatcher()
    settings = ConversationSettings(chat_idle=MEMORY_IDLE, thread_idle=MEMORY_IDLE)
    first_id = last_update_id(db_path)
    async with trio.open_nursery() as nursery:
        bridge: Bridge = await nursery.start(
            functools.partial(
                run_bridge,
                db_path,
                socket_path,
                settings=settings,
                recorder=watcher,
                keep_calls=False,
                # The stub is not Telegram: no pacing, so the queue does not hold thousands of messages.
                outbox_settings=OutboxSettings(pacing=Pacing(private_interval=0.0, global_limit=10**6)),
            )
        )
        poller = Poller(bridge.inbox, first_id=first_id)
        nursery.start_soon(poller.run)
        if args.memory_child == "populate":
            await converse(poller, watcher, chats, "first question")  # thread/start + a turn
            await converse(poller, watcher, chats, "second question")
            print(f"populate: {mib(rss_kib()[0])} RSS with {count:,} chats just active (not the figure)")
            nursery.cancel_scope.cancel()
            return
        gc.collect()
        started = rss_kib()[0]
        await converse(poller, watcher, chats, "a question after the restart")  # thread/resume + a turn
        live_chats, live_threads = len(bridge.services.chats), len(bridge.services.threads)
        gc.collect()
        live = rss_kib()[0]
        await wait_idle(bridge)
        gc.collect()
        idle, peak = rss_kib()
        print(f"RSS after imports (the bot's code loaded, nothing started): {mib(rss_at_import[0])}")
        print(f"RSS, bot started, {count:,} chats and {count:,} threads known, no actor live: {mib(started)}")
        print(
            f"RSS after a message in every chat ({live_chats:,} chat and {live_threads:,} thread actors "
            "live): "
            f"{mib(live)} (+{(live - started) / count:.1f} KB per chat with its thread)"
        )
        print(
            f"RSS once every actor stopped after {MEMORY_IDLE:g} s idle: {mib(idle)}, "
            f"peak (VmHWM) {mib(peak)}"
        )

        sample = chats[: args.memory_sample]
        tracemalloc.start()
        gc.collect()
        base = tracemalloc.get_traced_memory()[0]
        before = tracemalloc.take_snapshot() if args.diagnose else None
        for chat_id in sample:
            poller.send.send_nowait(poller.new_update(chat_id, "/help"))
        with trio.fail_after(60):
            while len(bridge.services.chats) < len(sample):  # noqa: ASYNC110 (the group has no event)
                await trio.sleep(0.1)
        await trio.sleep(1.0)
        gc.collect()
        with_chats = tracemalloc.get_traced_memory()[0]
        chats_only = tracemalloc.take_snapshot() if args.diagnose else None
        await converse(poller, watcher, sample, "one more")
        gc.collect()
        with_threads = tracemalloc.get_traced_memory()[0]
        if chats_only is not None:
            print("--diagnose: what the live thread actors hold (tracemalloc, by file, top 10)")
            for stat in tracemalloc.take_snapshot().compare_to(chats_only, "filename")[:10]:
                print(f"  {stat}")
        await wait_idle(bridge)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        if before is not None:
            print("--diagnose: what is left after the actors stopped (tracemalloc, top 8 lines)")
            for stat in tracemalloc.take_snapshot().compare_to(before, "lineno")[:8]:
                print(f"  {stat}")
        tracemalloc.stop()
        k = len(sample)
        print(
            f"Python memory (tracemalloc) of one more live actor, mean of {k}: chat actor "
            f"{(with_chats - base) / k / 1024:.1f} KB (after /help); its thread actor "
            f"{(with_threads - with_chats) / k / 1024:.1f} KB (after thread/resume and a 10-delta turn); "
            f"left after both stopped: {(after - base) / k / 1024:.2f} KB per chat"
        )
        nursery.cancel_scope.cancel()


def store_counts(db_path: Path) -> str:
    conn = open_database(db_path)
    try:
        counts = [
            f"{table} {conn.execute(f'SELECT count(*) FROM {table}').fetchall()[0][0]:,}"
            for table in ("sessions", "threads", "turns", "inbox", "outbox", "audit_log")
        ]
    finally:
        conn.close()
    size = sum(p.stat().st_size for p in db_path.parent.glob(db_path.name + "*"))
    return ", ".join(counts) + f"; {size / 2**20:.1f} MB on disk"


async def memory(args: argparse.Namespace) -> None:
    count = args.memory_chats
    print(f"\n== Part 3: memory with {count:,} chats and {count:,} threads (figures from a fresh process) ==")
    with tempfile.TemporaryDirectory(prefix="cxg-bench-") as tmp:
        db_path = Path(tmp) / "bot.sqlite3"
        prepare_store(db_path, range(1, count + 1), Path(tmp))
        async with fake_codex_process(MEMORY_STREAM) as socket_path:
            for step in ("populate", "measure"):
                command = [
                    sys.executable,
                    __file__,
                    "--memory-child",
                    step,
                    "--db",
                    str(db_path),
                    "--socket",
                    socket_path,
                    "--memory-chats",
                    str(count),
                    "--memory-sample",
                    str(args.memory_sample),
                    *(["--diagnose"] if args.diagnose else []),
                ]
                await trio.run_process(command)
                if step == "populate":
                    print(f"store: {store_counts(db_path)}")
        print(f"store after the measured run: {store_counts(db_path)}")


# ====================================================================================================
# main
# ====================================================================================================


def main() -> None:
    rss_at_import = rss_kib()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--part", choices=("latency", "e2e", "memory", "all"), default="all")
    parser.add_argument("--chats", type=int, default=100, help="latency: chats streaming at once")
    parser.add_argument("--seconds", type=float, default=90.0, help="latency: how long chats send messages")
    parser.add_argument("--delta-rate", type=float, default=20.0, help="latency: deltas a second per turn")
    parser.add_argument("--turn-seconds", type=float, default=6.0, help="latency: how long a turn streams")
    parser.add_argument("--gap", type=float, default=1.0, help="latency: mean pause between a chat's turns")
    parser.add_argument("--runs", type=int, default=8, help="e2e: runs of each kind of answer")
    parser.add_argument("--slow", type=float, default=10.0, help="e2e: seconds the slow answer streams")
    parser.add_argument("--memory-chats", type=int, default=1000, help="memory: chats (each with a thread)")
    parser.add_argument(
        "--memory-sample", type=int, default=200, help="memory: chats woken again for the per-actor figure"
    )
    parser.add_argument("--memory-child", choices=("populate", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    parser.add_argument(
        "--diagnose", action="store_true", help="latency: list the task steps that held the event loop"
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="latency, experiment: skip the gc.freeze() that codexgram run does once it runs",
    )
    parser.add_argument(
        "--switch-interval",
        type=float,
        help="latency, experiment: sys.setswitchinterval (seconds; CPython's default is 0.005)",
    )
    parser.add_argument("--serve-codex", metavar="SOCKET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.memory_child:
        trio.run(memory_child, args, rss_at_import)
        return
    if args.serve_codex:
        trio.run(serve_fake_codex, args.serve_codex, Stream(rate=args.delta_rate, seconds=args.turn_seconds))
        return
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
        f"load average {os.getloadavg()[0]:.1f}; {time.strftime('%Y-%m-%d %H:%M')}"
    )
    if args.part in ("latency", "all"):
        trio.run(latency, args)
    if args.part in ("e2e", "all"):
        trio.run(e2e, args)
    if args.part in ("memory", "all"):
        trio.run(memory, args)


if __name__ == "__main__":
    main()
