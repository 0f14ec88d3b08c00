"""The CodexLink survives losing the real app-server (killed, restarted) and losing its own connection
mid-turn: pending calls fail at once, threads are told, the link reconnects and re-resumes them."""

from __future__ import annotations

import os
import signal

import pytest
import trio

from codexgram.actors.codex_link import LinkSettings
from codexgram.codex.notifications import AgentMessageDelta
from codexgram.codex.requests import ApprovalPolicy
from codexgram.codex.server_requests import CommandApprovalRequest
from codexgram.codex.transport import unix_socket_connector
from codexgram.errors import CodexUnavailable
from codexgram.messages import (
    CodexDisconnected,
    CodexEvent,
    CodexReconnected,
    CodexServerRequestEvent,
    ThreadEvent,
)
from codexgram.testing.codex_link_probe import SeverableConnector, ThreadProbe, open_link
from codexgram.testing.codex_server import AppServer
from codexgram.testing.mock_model import SLOW_DELTAS

pytestmark = pytest.mark.integration

FAST_RECONNECT = LinkSettings(backoff_initial=0.05, backoff_max=0.5, call_timeout=30.0)


def is_delta(event: ThreadEvent) -> bool:
    return isinstance(event, CodexEvent) and isinstance(event.notification, AgentMessageDelta)


async def test_server_killed_and_restarted(app_server: AppServer) -> None:
    async with open_link(unix_socket_connector(app_server.socket_path), settings=FAST_RECONNECT) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        await thread.start_turn("before the crash")
        first = await thread.until_turn_completed()
        assert first.final_text == "You said: before the crash"

        # Freeze the server so a call is surely in flight, then kill it: the call must fail at once, not
        # after its 30 s timeout.
        pid = app_server.pid
        assert pid is not None
        os.killpg(pid, signal.SIGSTOP)
        failures: list[tuple[float, CodexUnavailable]] = []

        async def pending_call() -> None:
            try:
                await link.call("thread/read", {"threadId": thread.thread_id})
            except CodexUnavailable as exc:
                failures.append((trio.current_time(), exc))

        async with trio.open_nursery() as calls:
            calls.start_soon(pending_call)
            await trio.sleep(0.3)
            assert not failures  # still waiting on the frozen server
            killed_at = trio.current_time()
            await app_server.kill()
        assert len(failures) == 1
        failed_at, error = failures[0]
        assert failed_at - killed_at < 2.0
        assert str(error).startswith("Codex unavailable")
        assert "thread/read" in str(error)

        await thread.until(lambda e: isinstance(e, CodexDisconnected), within=5)
        assert "disconnected" in repr(link)
        with pytest.raises(CodexUnavailable, match="not connected"):
            await link.call("model/list", {})

        await app_server.start()
        record = await thread.until(lambda e: isinstance(e, CodexReconnected), within=15)
        assert record.events[-1] == CodexReconnected(resumed=True)
        assert link.connected
        assert link.connections_made == 2

        await thread.start_turn("after the restart")
        after = await thread.until_turn_completed()
        assert after.final_text == "You said: after the restart"
        completed = after.completed
        assert completed is not None
        assert completed.turn.status == "completed"


async def test_client_cut_off_mid_turn_gets_the_rest_after_reconnecting(app_server: AppServer) -> None:
    connector = SeverableConnector(app_server.socket_path)
    async with open_link(connector, settings=FAST_RECONNECT) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        turn_id = await thread.start_turn("stream slowly [[slow:4]]")
        deltas_before = 0
        while deltas_before < 3:
            if is_delta(await thread.next_event()):
                deltas_before += 1
        await connector.sever()
        record = await thread.until_turn_completed(within=30)

    kinds = [type(e) for e in record.events]
    assert CodexDisconnected in kinds
    assert CodexReconnected in kinds
    assert kinds.index(CodexDisconnected) < kinds.index(CodexReconnected)
    reconnected_at = kinds.index(CodexReconnected)
    assert record.events[reconnected_at] == CodexReconnected(resumed=True)
    deltas_after = [e for e in record.events[reconnected_at:] if is_delta(e)]
    assert deltas_after, "the rest of the turn must stream after the reconnect"
    assert deltas_before + len(deltas_after) <= SLOW_DELTAS
    completed = record.completed
    assert completed is not None
    assert completed.turn.id == turn_id
    assert completed.turn.status == "completed"
    assert record.final_text == " ".join(f"slow{i:02d}" for i in range(SLOW_DELTAS))
    assert len(connector.streams) == 2


async def test_an_approval_pending_across_a_reconnect_is_asked_again_and_can_be_answered(
    app_server: AppServer,
) -> None:
    connector = SeverableConnector(app_server.socket_path)
    async with open_link(connector, settings=FAST_RECONNECT) as link:
        thread = await ThreadProbe.start(
            link, cwd=str(app_server.workspace), approval_policy=ApprovalPolicy.UNTRUSTED
        )
        await thread.start_turn("[[shell:echo hi > across.txt]]")
        first = await thread.until(lambda e: isinstance(e, CodexServerRequestEvent))
        asked = first.events[-1]
        assert isinstance(asked, CodexServerRequestEvent)
        await connector.sever()
        await thread.until(lambda e: isinstance(e, CodexDisconnected), within=5)
        # The old connection's request died with it; codex 0.169.0 asks again on the resumed connection.
        again = await thread.until(lambda e: isinstance(e, CodexServerRequestEvent), within=15)
        kinds = [type(e) for e in again.events]
        assert CodexReconnected in kinds
        request = again.events[-1]
        assert isinstance(request, CodexServerRequestEvent)
        assert isinstance(request.request, CommandApprovalRequest)
        assert request.request.item_id == getattr(asked.request, "item_id", None)
        await link.respond(request.request_id, {"decision": "accept"})
        record = await thread.until_turn_completed()
    completed = record.completed
    assert completed is not None
    assert completed.turn.status == "completed"
    assert (app_server.workspace / "across.txt").read_text().strip() == "hi"


async def test_a_frozen_server_is_detected_by_pings_and_rejoined_when_it_thaws(app_server: AppServer) -> None:
    settings = LinkSettings(backoff_initial=0.05, backoff_max=0.5, ping_interval=0.3, ping_timeout=1.0)
    async with open_link(unix_socket_connector(app_server.socket_path), settings=settings) as link:
        thread = await ThreadProbe.start(link, cwd=str(app_server.workspace))
        await thread.start_turn("warm up")
        await thread.until_turn_completed()
        await trio.sleep(1.5)  # several pings: codex answers them, the connection stays
        assert link.connections_made == 1

        pid = app_server.pid
        assert pid is not None
        os.killpg(pid, signal.SIGSTOP)
        try:
            stopped_at = trio.current_time()
            record = await thread.until(lambda e: isinstance(e, CodexDisconnected), within=5)
            assert trio.current_time() - stopped_at < 4.0  # ping interval 0.3 s + pong deadline 1 s + slack
            disconnected = record.events[-1]
            assert isinstance(disconnected, CodexDisconnected)
            assert "no pong" in disconnected.reason
        finally:
            os.killpg(pid, signal.SIGCONT)
        await thread.until(lambda e: e == CodexReconnected(resumed=True), within=15)
        await thread.start_turn("after the thaw")
        after = await thread.until_turn_completed()
        assert after.final_text == "You said: after the thaw"
