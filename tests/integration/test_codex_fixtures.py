"""The fixtures drive the real codex app-server: handshake, a streamed turn, kill and restart.

A raw trio-websocket client on purpose: these tests prove the fixtures and the mock model, independent of the
link code built on top of them.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio_websocket

from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.testing.codex_server import AppServer, AppServerError, find_codex_binary, installed_version
from codexgram.testing.mock_model import MockModel

pytestmark = pytest.mark.integration


class RawClient:
    """JSON-RPC over the WebSocket, no cleverness: send requests, read frames in order."""

    def __init__(self, ws: trio_websocket.WebSocketConnection) -> None:
        self.ws = ws
        self.next_id = 0

    async def request(self, method: str, params: dict[str, Any]) -> int:
        self.next_id += 1
        await self.ws.send_message(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await self.ws.get_message())
        return message

    async def drain(self) -> None:
        """Read and drop frames until the connection closes (raises ConnectionClosed then)."""
        while True:
            await self.receive()

    async def call(self, method: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The result of a call, and the notifications that came before it."""
        request_id = await self.request(method, params)
        seen: list[dict[str, Any]] = []
        while True:
            message = await self.receive()
            if message.get("id") == request_id and "method" not in message:
                assert "error" not in message, message
                return message["result"], seen
            seen.append(message)

    async def until(self, method: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Read until notification ``method``; returns it and everything read before."""
        seen: list[dict[str, Any]] = []
        while True:
            message = await self.receive()
            if message.get("method") == method and "id" not in message:
                return message, seen
            seen.append(message)


@asynccontextmanager
async def connected(server: AppServer) -> AsyncIterator[RawClient]:
    async with trio.open_nursery() as nursery:
        stream = await trio.open_unix_socket(str(server.socket_path))
        ws = await trio_websocket.wrap_client_stream(
            nursery, stream, host="localhost", resource="/", max_message_size=16 * 2**20
        )
        try:
            yield RawClient(ws)
        finally:
            await ws.aclose()


async def handshake(client: RawClient) -> dict[str, Any]:
    client_info = {"name": "codexgram-test", "version": "0.1.0"}
    result, _ = await client.call("initialize", {"clientInfo": client_info})
    await client.ws.send_message(json.dumps({"method": "initialized"}))
    return result


async def test_handshake_reports_the_pinned_version(app_server: AppServer) -> None:
    with trio.fail_after(20):
        async with connected(app_server) as client:
            result = await handshake(client)
    assert f"/{TESTED_CODEX_VERSION} " in result["userAgent"]
    assert result["codexHome"] == str(app_server.codex_home)
    assert app_server.socket_path.is_symlink()


async def test_plain_turn_streams_deltas_that_equal_the_final_text(
    app_server: AppServer, mock_model: MockModel
) -> None:
    with trio.fail_after(30):
        async with connected(app_server) as client:
            await handshake(client)
            started, _ = await client.call("thread/start", {"cwd": str(app_server.workspace)})
            thread_id = started["thread"]["id"]
            assert started["cwd"] == str(app_server.workspace)
            text = "hello from the fixture test"
            user_input = [{"type": "text", "text": text, "text_elements": []}]
            turn, _ = await client.call("turn/start", {"threadId": thread_id, "input": user_input})
            completed, seen = await client.until("turn/completed")
    assert completed["params"]["turn"]["id"] == turn["turn"]["id"]
    assert completed["params"]["turn"]["status"] == "completed"
    deltas = [m["params"]["delta"] for m in seen if m.get("method") == "item/agentMessage/delta"]
    finals = [
        m["params"]["item"]["text"]
        for m in seen
        if m.get("method") == "item/completed" and m["params"]["item"]["type"] == "agentMessage"
    ]
    assert len(deltas) > 3
    assert finals == [f"You said: {text}"]
    assert "".join(deltas) == finals[0]
    assert mock_model.user_texts()[-1] == text


def tiny_png() -> bytes:
    """A valid 2x2 red PNG (codex decodes images before sending them to the model)."""
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


async def test_a_local_image_reaches_the_mock_model(app_server: AppServer, mock_model: MockModel) -> None:
    image = app_server.workspace / "red.png"
    image.write_bytes(tiny_png())
    with trio.fail_after(30):
        async with connected(app_server) as client:
            await handshake(client)
            started, _ = await client.call("thread/start", {"cwd": str(app_server.workspace)})
            user_input = [
                {"type": "text", "text": "look", "text_elements": []},
                {"type": "localImage", "path": str(image)},
            ]
            await client.call("turn/start", {"threadId": started["thread"]["id"], "input": user_input})
            completed, _ = await client.until("turn/completed")
    assert completed["params"]["turn"]["status"] == "completed"
    [message] = completed["params"]["turn"]["items"]
    assert message["text"] == "You said: look (with 1 image)"


async def test_kill_breaks_the_connection_and_start_serves_again(app_server: AppServer) -> None:
    with trio.fail_after(30):
        async with connected(app_server) as client:
            await handshake(client)
            await app_server.kill()
            assert not app_server.running
            with pytest.raises(trio_websocket.ConnectionClosed):
                await client.drain()
        with pytest.raises((ConnectionRefusedError, FileNotFoundError)):  # nothing listens there now
            await trio.open_unix_socket(str(app_server.socket_path))
        await app_server.start()
        async with connected(app_server) as client:
            result = await handshake(client)
    assert f"/{TESTED_CODEX_VERSION} " in result["userAgent"]


async def test_restart_is_a_clean_stop_and_start(app_server: AppServer) -> None:
    first_pid = app_server.pid
    with trio.fail_after(30):
        await app_server.restart()
        assert app_server.running
        assert app_server.pid != first_pid
        async with connected(app_server) as client:
            await handshake(client)


def test_missing_npm_fails_with_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CODEXGRAM_CODEX_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(AppServerError, match="npm is not on PATH") as caught:
        find_codex_binary(cache_dir=tmp_path / "cache")
    assert f"npm install --prefix {tmp_path / 'cache'} @openai/codex@{TESTED_CODEX_VERSION}" in str(
        caught.value
    )


def test_a_different_installed_version_is_reinstalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEXGRAM_CODEX_BIN", raising=False)
    cache = tmp_path / "cache"
    (cache / "node_modules" / ".bin").mkdir(parents=True)
    (cache / "node_modules" / ".bin" / "codex").write_text("#!/bin/sh\n")
    (cache / "node_modules" / "@openai" / "codex").mkdir(parents=True)
    (cache / "node_modules" / "@openai" / "codex" / "package.json").write_text('{"version": "0.1.0"}')
    assert installed_version(cache) == "0.1.0"
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(AppServerError, match="npm is not on PATH"):  # it tried to install the pinned one
        find_codex_binary(cache_dir=cache)


def test_a_configured_binary_must_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEXGRAM_CODEX_BIN", str(tmp_path / "nope"))
    with pytest.raises(AppServerError, match=r"CODEXGRAM_CODEX_BIN=.* is not a file"):
        find_codex_binary()


async def test_a_server_that_exits_at_start_reports_its_stderr(tmp_path: Path) -> None:
    fake_codex = tmp_path / "codex"
    fake_codex.write_text("#!/bin/sh\necho 'error: config.toml is broken' >&2\nexit 3\n")
    fake_codex.chmod(0o755)
    server = AppServer(
        codex_bin=fake_codex,
        codex_home=tmp_path,
        socket_path=tmp_path / "s.sock",
        workspace=tmp_path,
        stderr_path=tmp_path / "stderr",
    )
    try:
        with trio.fail_after(20), pytest.raises(AppServerError, match="exited with 3") as caught:
            await server.start()
        assert "config.toml is broken" in str(caught.value)
        assert not server.running
    finally:
        await server.stop()
