"""The CodexLink against an in-process fake app-server over memory streams (no codex binary).

The fake speaks real WebSocket (trio-websocket's server side) over ``trio.testing.memory_stream_pair``, so the
link's transport code runs unchanged; each connection attempt of the link becomes one :class:`FakeConn` that
the test scripts frame by frame.
"""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import pytest
import trio
import trio.testing
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream

from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.backoff import exponential_backoff
from codexgram.codex.notifications import AgentMessageDelta, ThreadStatusChanged
from codexgram.codex.server_requests import CommandApprovalRequest
from codexgram.codex.transport import StreamConnector
from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.errors import CodexOverloaded, CodexRefused, CodexUnavailable
from codexgram.messages import (
    CodexDisconnected,
    CodexEvent,
    CodexEventsLost,
    CodexReconnected,
    CodexServerRequestEvent,
    ThreadEvent,
)

TIMEOUT = 5.0


class FakeConn:
    """The server side of one connection: receive and send JSON frames."""

    def __init__(self, ws: WebSocketConnection) -> None:
        self.ws = ws

    async def recv(self) -> dict[str, Any]:
        with trio.fail_after(TIMEOUT):
            message = await self.ws.get_message()
        decoded = json.loads(message)
        assert isinstance(decoded, dict)
        return decoded

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send_message(json.dumps(message))

    async def handshake(
        self, user_agent: str = f"codexgram/{TESTED_CODEX_VERSION} (Linux; test)"
    ) -> dict[str, Any]:
        init = await self.recv()
        assert init["method"] == "initialize"
        await self.send({"id": init["id"], "result": {"userAgent": user_agent}})
        initialized = await self.recv()
        assert initialized == {"method": "initialized"}
        return init

    async def answer_next(self, method: str, result: Any) -> dict[str, Any]:
        request = await self.recv()
        assert request["method"] == method, request
        await self.send({"id": request["id"], "result": result})
        return request

    async def close(self) -> None:
        await self.ws.aclose()


class PausableStream(trio.abc.Stream):
    """A stream either side can be paused in: ``pause_receiving`` on the fake server's end makes it stop
    reading, like a hung process; ``pause_sending`` on the link's end makes its writes block, like a server
    that stopped reading. Until paused it passes everything straight through."""

    def __init__(self, inner: trio.abc.Stream) -> None:
        self.inner = inner
        self.receiving = trio.Event()
        self.receiving.set()
        self.sending = trio.Event()
        self.sending.set()

    def pause_receiving(self) -> None:
        self.receiving = trio.Event()

    def pause_sending(self) -> None:
        self.sending = trio.Event()

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self.sending.wait()
        await self.inner.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self.sending.wait()
        await self.inner.wait_send_all_might_not_block()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        await self.receiving.wait()
        data = await self.inner.receive_some(max_bytes)
        await self.receiving.wait()  # bytes that arrive while paused are held back, not handled
        return data

    async def aclose(self) -> None:
        await self.inner.aclose()


class FakeCodex:
    """Hands the link a fresh memory stream per attempt and the test a :class:`FakeConn` per connection."""

    def __init__(self, nursery: trio.Nursery) -> None:
        self._nursery = nursery
        self._accepted_send, self.accepted = trio.open_memory_channel[FakeConn](8)
        self.refuse = False
        self.attempts: list[float] = []
        self.server_streams: list[PausableStream] = []

    async def connector(self) -> trio.abc.Stream:
        self.attempts.append(trio.current_time())
        if self.refuse:
            raise ConnectionRefusedError("nothing listens (fake)")
        client, server = trio.testing.memory_stream_pair()
        pausable = PausableStream(server)
        self.server_streams.append(pausable)
        self._nursery.start_soon(self._accept, pausable)
        return client

    async def _accept(self, stream: trio.abc.Stream) -> None:
        request = await wrap_server_stream(self._nursery, stream)
        ws = await request.accept()
        await self._accepted_send.send(FakeConn(ws))

    async def next_conn(self) -> FakeConn:
        with trio.fail_after(TIMEOUT):
            return await self.accepted.receive()


async def start_link(
    nursery: trio.Nursery, fake: FakeCodex, *, connector: StreamConnector | None = None, **settings: Any
) -> CodexLink:
    """Start a link that connects to ``fake`` (through ``connector`` if given, e.g. a StallingConnector)."""
    # A short close timeout: the fake's side is torn down together with the link, so no close reply comes.
    defaults: dict[str, Any] = {"rng": random.Random(7), "call_timeout": 3.0, "close_timeout": 0.1}
    defaults.update(settings)
    link: CodexLink = await nursery.start(
        lambda task_status: codex_link_actor(
            connector or fake.connector, settings=LinkSettings(**defaults), task_status=task_status
        )
    )
    return link


@pytest.fixture
async def fake(nursery: trio.Nursery) -> FakeCodex:
    return FakeCodex(nursery)


@pytest.fixture
async def connected(nursery: trio.Nursery, fake: FakeCodex) -> tuple[CodexLink, FakeConn]:
    link = await start_link(nursery, fake)
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)
    return link, conn


def delta(thread_id: str, text: str) -> dict[str, Any]:
    return {
        "method": "item/agentMessage/delta",
        "params": {"threadId": thread_id, "turnId": "t1", "itemId": "i1", "delta": text},
    }


def status_changed(thread_id: str, n: int) -> dict[str, Any]:
    return {
        "method": "thread/status/changed",
        "params": {"threadId": thread_id, "status": {"type": "active", "activeFlags": []}, "n": n},
    }


def approval(
    request_id: int, thread_id: str, method: str = "item/commandExecution/requestApproval"
) -> dict[str, Any]:
    params = {"threadId": thread_id, "turnId": "t1", "itemId": "i1", "command": "ls", "cwd": "/tmp"}
    return {"id": request_id, "method": method, "params": params}


async def receive(mailbox: trio.MemoryReceiveChannel[ThreadEvent]) -> ThreadEvent:
    with trio.fail_after(TIMEOUT):
        return await mailbox.receive()


# --- handshake and calls -----------------------------------------------------------------------------------


async def test_handshake_sends_client_info_and_reads_the_server_version(
    nursery: trio.Nursery, fake: FakeCodex
) -> None:
    link = await start_link(nursery, fake)
    assert "disconnected" in repr(link)
    conn = await fake.next_conn()
    init = await conn.handshake()
    await link.wait_connected(TIMEOUT)
    client_info = init["params"]["clientInfo"]
    assert client_info["name"] == "codexgram"
    assert client_info["title"] == "codexgram"
    assert client_info["version"]
    assert link.connected
    assert link.server_version == TESTED_CODEX_VERSION


async def test_an_untested_server_version_is_warned_about(
    nursery: trio.Nursery, fake: FakeCodex, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    link = await start_link(nursery, fake)
    conn = await fake.next_conn()
    await conn.handshake(user_agent="codexgram/99.0.1 (Linux)")
    await link.wait_connected(TIMEOUT)
    assert link.server_version == "99.0.1"
    assert any("99.0.1" in r.getMessage() and TESTED_CODEX_VERSION in r.getMessage() for r in caplog.records)


async def test_calls_are_correlated_by_id_even_when_answered_out_of_order(
    connected: tuple[CodexLink, FakeConn],
) -> None:
    link, conn = connected
    results: dict[str, Any] = {}

    async def call(name: str) -> None:
        results[name] = await link.call("thread/read", {"threadId": name})

    async with trio.open_nursery() as calls:
        calls.start_soon(call, "a")
        first = await conn.recv()
        calls.start_soon(call, "b")
        second = await conn.recv()
        # A server request with a colliding id must not be mistaken for an answer.
        await conn.send(
            {"id": first["id"], "method": "item/tool/requestUserInput", "params": {"threadId": "x"}}
        )
        await conn.send({"id": second["id"], "result": {"thread": "B"}})
        await conn.send({"id": first["id"], "result": {"thread": "A"}})
        decline = await conn.recv()
    assert results == {"a": {"thread": "A"}, "b": {"thread": "B"}}
    assert decline["id"] == first["id"]
    assert "error" in decline


async def test_error_answers_raise_refused_and_overloaded(connected: tuple[CodexLink, FakeConn]) -> None:
    link, conn = connected
    async with trio.open_nursery() as server:

        async def answer() -> None:
            request = await conn.recv()
            await conn.send(
                {"id": request["id"], "error": {"code": -32600, "message": "thread not found: x"}}
            )
            request = await conn.recv()
            await conn.send({"id": request["id"], "error": {"code": -32001, "message": "Server overloaded"}})

        server.start_soon(answer)
        with pytest.raises(CodexRefused) as refused:
            await link.call("thread/read", {"threadId": "x"})
        assert not isinstance(refused.value, CodexOverloaded)
        assert refused.value.code == -32600
        assert "thread not found" in str(refused.value)
        with pytest.raises(CodexOverloaded):
            await link.call("thread/read", {"threadId": "x"})


async def test_a_call_without_answer_times_out_and_a_late_answer_is_harmless(
    connected: tuple[CodexLink, FakeConn], autojump_clock: trio.abc.Clock
) -> None:
    link, conn = connected
    started = trio.current_time()
    with pytest.raises(CodexUnavailable, match=r"turn/start got no answer within 1\.5 s"):
        await link.call("turn/start", {"threadId": "x"}, timeout=1.5)
    assert trio.current_time() - started == pytest.approx(1.5)
    late = await conn.recv()
    await conn.send({"id": late["id"], "result": {}})
    # The link is still usable after the late answer.
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "model/list", {"data": []})
        assert await link.call("model/list", {}) == {"data": []}


async def test_call_typed_encodes_params_and_decodes_the_result(
    connected: tuple[CodexLink, FakeConn],
) -> None:
    from codexgram.codex.requests import EmptyResult, TurnInterruptParams

    link, conn = connected
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "turn/interrupt", {})
        result = await link.call_typed(TurnInterruptParams(thread_id="th", turn_id="tu"), EmptyResult)
    assert isinstance(result, EmptyResult)


# --- routing and declines ----------------------------------------------------------------------------------


async def test_notifications_reach_only_the_subscribed_thread(connected: tuple[CodexLink, FakeConn]) -> None:
    link, conn = connected
    a_send, a_recv = trio.open_memory_channel[ThreadEvent](16)
    b_send, b_recv = trio.open_memory_channel[ThreadEvent](16)
    link.subscribe("A", a_send)
    link.subscribe("B", b_send)
    await conn.send(delta("B", "for b"))
    await conn.send(delta("nobody", "dropped"))
    await conn.send({"method": "account/rateLimits/updated", "params": {}})
    await conn.send(delta("A", "for a"))
    event_a = await receive(a_recv)
    event_b = await receive(b_recv)
    assert isinstance(event_a, CodexEvent)
    assert event_a.thread_id == "A"
    assert isinstance(event_a.notification, AgentMessageDelta)
    assert event_a.notification.delta == "for a"
    assert isinstance(event_b, CodexEvent)
    assert isinstance(event_b.notification, AgentMessageDelta)
    assert event_b.notification.delta == "for b"
    link.unsubscribe("A")
    await conn.send(delta("A", "after unsubscribe"))
    await conn.send(delta("B", "marker"))
    assert isinstance(await receive(b_recv), CodexEvent)
    with pytest.raises(trio.WouldBlock):
        a_recv.receive_nowait()


@pytest.mark.parametrize(
    ("method", "thread_id", "expected"),
    [
        ("item/commandExecution/requestApproval", "nobody", {"result": {"decision": "decline"}}),
        ("item/fileChange/requestApproval", "nobody", {"result": {"decision": "decline"}}),
        ("mcpServer/elicitation/request", "A", {"result": {"action": "decline"}}),
        ("item/permissions/requestApproval", "A", {"result": {"permissions": {}, "scope": "turn"}}),
        ("item/tool/requestUserInput", "A", "error"),
        ("some/future/request", "A", "error"),
    ],
)
async def test_server_requests_nobody_handles_are_declined_at_once(
    connected: tuple[CodexLink, FakeConn], method: str, thread_id: str, expected: Any
) -> None:
    link, conn = connected
    a_send, a_recv = trio.open_memory_channel[ThreadEvent](16)
    link.subscribe("A", a_send)
    await conn.send(approval(0, thread_id, method))
    answer = await conn.recv()
    assert answer["id"] == 0
    if expected == "error":
        assert answer["error"]["code"] == -32601
        assert "codexgram does not support" in answer["error"]["message"]
        assert method in answer["error"]["message"]
    else:
        assert {k: v for k, v in answer.items() if k != "id"} == expected
    with pytest.raises(trio.WouldBlock):
        a_recv.receive_nowait()


async def test_an_approval_reaches_its_thread_and_is_answered_once(
    connected: tuple[CodexLink, FakeConn],
) -> None:
    link, conn = connected
    a_send, a_recv = trio.open_memory_channel[ThreadEvent](16)
    link.subscribe("A", a_send)
    await conn.send(approval(0, "A"))
    event = await receive(a_recv)
    assert isinstance(event, CodexServerRequestEvent)
    assert event.thread_id == "A"
    assert event.request_id == 0
    assert isinstance(event.request, CommandApprovalRequest)
    assert event.request.command == "ls"
    await link.respond(0, {"decision": "accept"})
    assert await conn.recv() == {"id": 0, "result": {"decision": "accept"}}
    with pytest.raises(CodexUnavailable, match="not pending"):
        await link.respond(0, {"decision": "accept"})


async def test_a_thread_whose_mailbox_closed_is_unsubscribed_and_its_approvals_declined(
    connected: tuple[CodexLink, FakeConn],
) -> None:
    link, conn = connected
    a_send, a_recv = trio.open_memory_channel[ThreadEvent](16)
    link.subscribe("A", a_send)
    a_recv.close()
    await conn.send(approval(3, "A"))
    assert await conn.recv() == {"id": 3, "result": {"decision": "decline"}}
    assert "A" not in link.subscribed()


# --- backpressure -------------------------------------------------------------------------------------------


async def test_a_slow_thread_does_not_stall_the_reader(connected: tuple[CodexLink, FakeConn]) -> None:
    link, conn = connected
    slow_send, slow_recv = trio.open_memory_channel[ThreadEvent](2)
    fast_send, fast_recv = trio.open_memory_channel[ThreadEvent](2000)
    link.subscribe("slow", slow_send)
    link.subscribe("fast", fast_send)
    for i in range(500):
        await conn.send(delta("slow", f"d{i} "))
        await conn.send(delta("fast", f"d{i} "))
    await conn.send(status_changed("slow", 1))
    await conn.send(approval(9, "slow"))
    # The reader kept going: the fast thread got everything and a call is answered while "slow" reads nothing.
    for i in range(500):
        event = await receive(fast_recv)
        assert isinstance(event, CodexEvent)
        assert event.notification.delta == f"d{i} "
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "thread/read", {"ok": True})
        assert await link.call("thread/read", {"threadId": "fast"}) == {"ok": True}
    # Now the slow thread reads: the first deltas, then (the rest dropped) the structural event, the approval.
    got = [await receive(slow_recv) for _ in range(4)]
    assert [type(e) for e in got] == [CodexEvent, CodexEvent, CodexEvent, CodexServerRequestEvent]
    assert [e.notification.delta for e in got[:2] if isinstance(e, CodexEvent)] == ["d0 ", "d1 "]
    assert isinstance(got[2], CodexEvent)
    assert isinstance(got[2].notification, ThreadStatusChanged)
    assert isinstance(got[3], CodexServerRequestEvent)
    assert got[3].request_id == 9


async def test_overflow_beyond_the_limit_tells_the_thread_events_were_lost(
    nursery: trio.Nursery, fake: FakeCodex
) -> None:
    link = await start_link(nursery, fake, overflow_limit=5)
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)
    send, recv = trio.open_memory_channel[ThreadEvent](1)
    link.subscribe("A", send)
    for n in range(20):
        await conn.send(status_changed("A", n))
    await conn.send(approval(4, "A"))
    # A round trip proves the reader has handled everything sent before.
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "model/list", {})
        await link.call("model/list", {})
    # 0 was delivered, 1 was being forwarded when the overflow (1-5) ran over at 6: 2-5 and 6-19 are lost.
    first = await receive(recv)
    second = await receive(recv)
    lost = await receive(recv)
    request = await receive(recv)
    assert isinstance(first, CodexEvent)
    assert isinstance(second, CodexEvent)
    assert isinstance(lost, CodexEventsLost)
    assert lost.count == 18
    assert isinstance(request, CodexServerRequestEvent)
    assert request.request_id == 4
    await conn.send(status_changed("A", 99))
    after = await receive(recv)
    assert isinstance(after, CodexEvent)


# --- disconnects, reconnects, backoff -----------------------------------------------------------------------


async def test_pending_calls_fail_at_once_when_the_connection_drops_then_threads_are_resumed(
    connected: tuple[CodexLink, FakeConn], fake: FakeCodex
) -> None:
    link, conn = connected
    send, recv = trio.open_memory_channel[ThreadEvent](16)
    link.subscribe("A", send)
    failures: list[str] = []

    async def pending_call() -> None:
        try:
            await link.call("thread/read", {"threadId": "A"}, timeout=60)
        except CodexUnavailable as exc:
            failures.append(str(exc))

    async with trio.open_nursery() as calls:
        calls.start_soon(pending_call)
        calls.start_soon(pending_call)
        await conn.recv()
        await conn.recv()
        closed_at = trio.current_time()
        await conn.close()
    assert trio.current_time() - closed_at < 1.0
    assert len(failures) == 2
    assert all(f.startswith("Codex unavailable: the connection closed") for f in failures)
    disconnected = await receive(recv)
    assert isinstance(disconnected, CodexDisconnected)
    assert disconnected.reason.startswith("Codex unavailable")
    with pytest.raises(CodexUnavailable, match="not connected"):
        await link.call("model/list", {})

    second = await fake.next_conn()
    await second.handshake()
    resume = await second.answer_next("thread/resume", {"thread": {"id": "A"}})
    assert resume["params"] == {"threadId": "A", "excludeTurns": True}
    reconnected = await receive(recv)
    assert reconnected == CodexReconnected(resumed=True)
    assert link.connected
    assert link.connections_made == 2


async def test_a_failed_resume_is_reported_to_the_thread(
    connected: tuple[CodexLink, FakeConn], fake: FakeCodex
) -> None:
    link, conn = connected
    send, recv = trio.open_memory_channel[ThreadEvent](16)
    link.subscribe("A", send)
    await conn.close()
    assert isinstance(await receive(recv), CodexDisconnected)
    second = await fake.next_conn()
    await second.handshake()
    request = await second.recv()
    await second.send({"id": request["id"], "error": {"code": -32600, "message": "thread not found: A"}})
    assert await receive(recv) == CodexReconnected(resumed=False)


async def test_a_long_outage_is_logged_once_not_per_attempt_and_its_end_is_logged(
    nursery: trio.Nursery, fake: FakeCodex, caplog: pytest.LogCaptureFixture, autojump_clock: trio.abc.Clock
) -> None:
    caplog.set_level(logging.DEBUG, logger="codexgram.actors.codex_link")
    fake.refuse = True
    link = await start_link(nursery, fake, backoff_initial=0.2, backoff_max=2.0)
    with pytest.raises(CodexUnavailable):
        await link.wait_connected(60.0)
    assert len(fake.attempts) > 20
    loud = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    failures = [m for m in loud if m.startswith("codex link: cannot connect")]
    assert len(failures) == 1  # said once, with the attempt count
    assert failures[0].endswith("(attempt 1, away for 0 s)")
    assert len([m for m in loud if "reconnecting in" in m]) == 1
    quiet = [
        r
        for r in caplog.records
        if r.levelno == logging.DEBUG and r.getMessage().startswith("codex link: cannot connect")
    ]
    assert len(quiet) == len(fake.attempts) - 1  # the others are still there for whoever wants them
    fake.refuse = False
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)
    [back] = [r.getMessage() for r in caplog.records if "failed attempts in" in r.getMessage()]
    assert back.startswith("codex link: connected to codex")


async def test_reconnect_backoff_is_capped_exponential_with_jitter(
    nursery: trio.Nursery, fake: FakeCodex, autojump_clock: trio.abc.Clock
) -> None:
    fake.refuse = True
    link = await start_link(nursery, fake, backoff_initial=0.2, backoff_max=2.0, rng=random.Random(42))
    with pytest.raises(CodexUnavailable, match="not connected within"):
        await link.wait_connected(30.0)
    gaps = [b - a for a, b in zip(fake.attempts, fake.attempts[1:], strict=False)]
    expected_rng = random.Random(42)
    # The first reconnect follows one failed connection attempt, so the schedule starts at failure 1.
    expected = [
        exponential_backoff(n, base=0.2, cap=2.0, jitter=expected_rng) for n in range(1, len(gaps) + 1)
    ]
    assert gaps == pytest.approx(expected)
    assert gaps[0] < gaps[1] < gaps[2] or gaps[2] >= 0.8  # doubling, before the cap
    assert max(gaps) <= 2.0
    assert len(gaps) > 10  # it kept trying at the cap
    assert "cannot connect" in link.last_disconnect_reason
    # When codex comes back, the link connects.
    fake.refuse = False
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)


async def test_a_server_that_never_answers_the_upgrade_is_retried(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock
) -> None:
    attempts: list[float] = []
    silent_ends: list[trio.abc.Stream] = []

    async def silent_connector() -> trio.abc.Stream:
        attempts.append(trio.current_time())
        client, server = trio.testing.memory_stream_pair()
        silent_ends.append(server)  # keep it open, never answer
        return client

    link: CodexLink = await nursery.start(
        lambda task_status: codex_link_actor(
            silent_connector,
            settings=LinkSettings(connect_timeout=1.0, rng=random.Random(3)),
            task_status=task_status,
        )
    )
    with pytest.raises(CodexUnavailable):
        await link.wait_connected(5.0)
    assert len(attempts) >= 3
    assert "TooSlowError" in link.last_disconnect_reason


async def test_cancelling_the_link_fails_pending_calls(nursery: trio.Nursery, fake: FakeCodex) -> None:
    link_scope = trio.CancelScope()
    failures: list[BaseException] = []

    async def run_link(task_status: trio.TaskStatus[CodexLink]) -> None:
        with link_scope:
            await codex_link_actor(fake.connector, settings=LinkSettings(), task_status=task_status)

    link: CodexLink = await nursery.start(run_link)
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)

    async def pending_call() -> None:
        try:
            await link.call("thread/read", {})
        except CodexUnavailable as exc:
            failures.append(exc)

    async with trio.open_nursery() as calls:
        calls.start_soon(pending_call)
        await conn.recv()
        link_scope.cancel()
    assert len(failures) == 1
    with pytest.raises(ConnectionClosed):
        await conn.ws.get_message()


async def test_unsubscribing_declines_the_threads_pending_approvals_and_drops_its_backlog(
    connected: tuple[CodexLink, FakeConn],
) -> None:
    link, conn = connected
    send, recv = trio.open_memory_channel[ThreadEvent](1)
    link.subscribe("A", send)
    await conn.send(status_changed("A", 0))  # fills the mailbox
    await conn.send(status_changed("A", 1))  # queued in the overflow, the forwarder waits for room
    await conn.send(approval(5, "A"))
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "model/list", {})
        await link.call("model/list", {})  # the reader has routed everything above
    link.unsubscribe("A")
    assert await conn.recv() == {"id": 5, "result": {"decision": "decline"}}
    assert isinstance(await receive(recv), CodexEvent)
    await trio.testing.wait_all_tasks_blocked()
    with pytest.raises(trio.WouldBlock):
        recv.receive_nowait()  # the backlog was dropped and the forwarder ended


async def test_a_thread_that_closes_its_mailbox_while_backlogged_gets_its_approvals_declined(
    connected: tuple[CodexLink, FakeConn],
) -> None:
    link, conn = connected
    send, recv = trio.open_memory_channel[ThreadEvent](1)
    link.subscribe("A", send)
    await conn.send(status_changed("A", 0))
    await conn.send(approval(6, "A"))  # waits in the overflow behind the full mailbox
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "model/list", {})
        await link.call("model/list", {})
    recv.close()  # the thread actor stops
    assert await conn.recv() == {"id": 6, "result": {"decision": "decline"}}
    assert "A" not in link.subscribed()


async def test_malformed_and_binary_frames_are_skipped_and_recorded(
    nursery: trio.Nursery, fake: FakeCodex
) -> None:
    frames: list[tuple[str, dict[str, Any]]] = []

    class ListRecorder:
        def record(self, direction: str, msg: Any) -> None:
            frames.append((direction, dict(msg)))

    link: CodexLink = await nursery.start(
        lambda task_status: codex_link_actor(
            fake.connector,
            settings=LinkSettings(close_timeout=0.1),
            recorder=ListRecorder(),
            task_status=task_status,
        )
    )
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)
    await conn.ws.send_message("this is not json")
    await conn.ws.send_message(b"\x00\x01binary")
    async with trio.open_nursery() as server:
        server.start_soon(conn.answer_next, "model/list", {"data": []})
        assert await link.call("model/list", {}) == {"data": []}
    assert ("recv", {"_raw": "this is not json"}) in frames
    sent = [m.get("method") for d, m in frames if d == "send"]
    assert sent == ["initialize", "initialized", "model/list"]
    assert frames[-1] == ("recv", {"id": 2, "result": {"data": []}})


async def test_respond_accepts_a_protocol_object(connected: tuple[CodexLink, FakeConn]) -> None:
    from codexgram.codex.server_requests import ApprovalDecision, ApprovalResponse

    link, conn = connected
    send, recv = trio.open_memory_channel[ThreadEvent](4)
    link.subscribe("A", send)
    await conn.send(approval(7, "A", "item/fileChange/requestApproval"))
    event = await receive(recv)
    assert isinstance(event, CodexServerRequestEvent)
    await link.respond(event.request_id, ApprovalResponse(decision=ApprovalDecision.ACCEPT_FOR_SESSION))
    assert await conn.recv() == {"id": 7, "result": {"decision": "acceptForSession"}}


class StallingConnector:
    """Connects to the fake and hands the link a :class:`PausableStream`; ``streams`` keeps them in order."""

    def __init__(self, fake: FakeCodex) -> None:
        self._fake = fake
        self.streams: list[PausableStream] = []

    async def __call__(self) -> trio.abc.Stream:
        self.streams.append(PausableStream(await self._fake.connector()))
        return self.streams[-1]


async def test_respond_gives_up_when_the_answer_cannot_be_written(
    nursery: trio.Nursery, fake: FakeCodex, autojump_clock: trio.abc.Clock
) -> None:
    connector = StallingConnector(fake)
    streams = connector.streams
    link = await start_link(nursery, fake, connector=connector, ping_interval=None)
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)
    send, recv = trio.open_memory_channel[ThreadEvent](4)
    link.subscribe("A", send)
    await conn.send(approval(5, "A"))
    event = await receive(recv)
    assert isinstance(event, CodexServerRequestEvent)
    streams[-1].pause_sending()
    started = trio.current_time()
    with (
        trio.fail_after(30),
        pytest.raises(
            CodexUnavailable,
            match="could not send answer to item/commandExecution/requestApproval within 3 s",
        ),
    ):
        await link.respond(event.request_id, {"decision": "accept"})
    assert trio.current_time() - started == pytest.approx(3.0)


async def test_a_handshake_whose_initialized_cannot_be_written_is_retried(
    nursery: trio.Nursery, fake: FakeCodex, autojump_clock: trio.abc.Clock
) -> None:
    connector = StallingConnector(fake)
    streams = connector.streams
    link = await start_link(
        nursery,
        fake,
        connector=connector,
        connect_timeout=4.0,
        ping_interval=None,
        call_timeout=LinkSettings().call_timeout,  # the default: only connect_timeout matters here
    )
    conn = await fake.next_conn()
    init = await conn.recv()
    streams[-1].pause_sending()  # the answer gets through; the link's "initialized" does not
    await conn.send({"id": init["id"], "result": {"userAgent": f"codexgram/{TESTED_CODEX_VERSION}"}})
    second = await fake.next_conn()  # the stuck attempt was given up and a new one made
    assert "could not send initialized within 4 s" in link.last_disconnect_reason
    await second.handshake()
    await link.wait_connected(TIMEOUT)


async def test_a_hung_server_is_detected_by_keepalive_pings(
    nursery: trio.Nursery, fake: FakeCodex, autojump_clock: trio.abc.Clock
) -> None:
    link = await start_link(nursery, fake, ping_interval=2.0, ping_timeout=3.0, call_timeout=60.0)
    conn = await fake.next_conn()
    await conn.handshake()
    await link.wait_connected(TIMEOUT)
    send, recv = trio.open_memory_channel[ThreadEvent](4)
    link.subscribe("A", send)
    await trio.sleep(10)  # pings are answered: the connection stays up
    assert link.connections_made == 1
    assert "disconnected" not in repr(link)

    failures: list[tuple[float, str]] = []

    async def pending_call() -> None:
        try:
            await link.call("thread/read", {"threadId": "A"})
        except CodexUnavailable as exc:
            failures.append((trio.current_time(), str(exc)))

    async with trio.open_nursery() as calls:
        calls.start_soon(pending_call)
        await conn.recv()
        frozen_at = trio.current_time()
        fake.server_streams[-1].pause_receiving()
    assert len(failures) == 1
    failed_at, message = failures[0]
    assert failed_at - frozen_at <= 2.0 + 3.0 + 0.01  # one interval plus the pong deadline, not 60 s
    assert "no pong from codex within 3 s" in message
    disconnected = await receive(recv)
    assert isinstance(disconnected, CodexDisconnected)
    second = await fake.next_conn()
    await second.handshake()
    await second.answer_next("thread/resume", {})
    assert await receive(recv) == CodexReconnected(resumed=True)


async def test_thread_route_counts_losses_into_one_marker_and_keeps_essentials() -> None:
    from codexgram.actors.codex_routing import Delivery, ThreadRoute, Urgency

    gone: list[str] = []
    send, recv = trio.open_memory_channel[ThreadEvent](1)
    route = ThreadRoute("A", send, overflow_limit=2, on_gone=lambda r, _: gone.append(r.thread_id))

    def note(n: int) -> CodexEvent:
        return CodexEvent(thread_id="A", notification=n)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(route.forward)
        assert route.offer(note(0)) is Delivery.DELIVERED
        assert route.offer(note(99), Urgency.DROPPABLE) is Delivery.DROPPED
        assert route.offer(note(1)) is Delivery.QUEUED
        await trio.testing.wait_all_tasks_blocked()  # the forwarder now waits to send 1
        assert route.offer(note(2)) is Delivery.QUEUED
        assert route.offer(CodexDisconnected(reason="x")) is Delivery.QUEUED  # essential, beyond the limit
        assert route.offer(note(3)) is Delivery.DROPPED  # overflow full: 2 and 3 are lost
        assert route.offer(note(4)) is Delivery.DROPPED  # counted into the same marker
        got = [await receive(recv) for _ in range(4)]
        assert got == [note(0), note(1), CodexEventsLost(count=3), CodexDisconnected(reason="x")]
        assert route.dropped_deltas == 1
        assert route.offer(note(5)) is Delivery.DELIVERED  # back to normal once caught up
        assert await receive(recv) == note(5)
        recv.close()
        assert route.offer(note(6)) is Delivery.GONE
        route.close()
    assert gone == []  # gone was noticed by offer (the link unsubscribes then), not by the forwarder


async def test_subscribing_after_the_link_stopped_says_codex_is_unavailable(
    autojump_clock: trio.abc.Clock,
) -> None:
    async def never_connects() -> trio.abc.Stream:
        raise OSError("no codex here")

    async with trio.open_nursery() as nursery:
        link: CodexLink = await nursery.start(codex_link_actor, never_connects)
        nursery.cancel_scope.cancel()
    send, _receive = trio.open_memory_channel[ThreadEvent](4)
    with pytest.raises(CodexUnavailable, match="link has stopped"):
        link.subscribe("thread-1", send)
    assert link.subscribed() == []


async def test_stopping_the_link_is_not_logged_as_a_warning_but_losing_codex_is(
    fake: FakeCodex, caplog: pytest.LogCaptureFixture, autojump_clock: trio.abc.Clock
) -> None:
    caplog.set_level(logging.INFO, logger="codexgram.actors.codex_link")
    async with trio.open_nursery() as nursery:
        link = await start_link(nursery, fake)
        conn = await fake.next_conn()
        await conn.handshake()
        await link.wait_connected(TIMEOUT)
        await conn.ws.aclose()  # Codex goes away: an operator wants to know
        while link.connected:
            await trio.sleep(0.01)
        conn = await fake.next_conn()
        await conn.handshake()
        await link.wait_connected(TIMEOUT)
        nursery.cancel_scope.cancel()  # the bot stops the link: expected, not a warning
    disconnects = [r for r in caplog.records if "codex link: disconnected" in r.getMessage()]
    assert [r.levelno for r in disconnects] == [logging.WARNING, logging.INFO]
    assert "the link closed the connection" in disconnects[-1].getMessage()
