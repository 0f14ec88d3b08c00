"""Notifications per second through the whole CodexLink: unix socket -> WebSocket -> peer -> route -> mailbox.

A fake app-server runs in a child process (so its WebSocket encoding does not share the link's core) on a unix
socket. It answers the handshake, then on ``bench/storm`` sends ``--frames`` ``item/agentMessage/delta``
notifications spread over ``--threads`` threads (the exact shape codex 0.169.0 sends) and then the call's
result. The link side subscribes one mailbox per thread, each drained by its own task (a ThreadActor
stand-in), and measures from the call to the moment every delta has reached its mailbox.

Run: ``uv run python bench/codex_link_throughput.py [--frames N] [--threads N] [--repeat N]``
Prints notifications/s for each run and the best.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream
from wsproto.events import TextMessage

from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.codex.transport import unix_socket_connector
from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.messages import CodexEvent, ThreadEvent


def delta_frame(thread: int, n: int) -> str:
    return json.dumps(
        {
            "method": "item/agentMessage/delta",
            "params": {
                "threadId": f"thread-{thread}",
                "turnId": "turn-1",
                "itemId": "msg-1",
                "delta": f" w{n}",
            },
            "emittedAtMs": 1763700000000 + n,
        },
        separators=(",", ":"),
    )


# --- the fake app-server (child process) -------------------------------------------------------------------


async def serve(socket_path: str) -> None:
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    await sock.bind(socket_path)
    sock.listen(16)
    listener = trio.SocketListener(sock)
    print("ready", flush=True)
    await trio.serve_listeners(handle_connection, [listener])


async def handle_connection(stream: trio.SocketStream) -> None:
    async with trio.open_nursery() as nursery:
        request = await wrap_server_stream(nursery, stream)
        ws = await request.accept()
        try:
            while True:
                message = json.loads(await ws.get_message())
                if "id" not in message:
                    continue  # initialized
                if message["method"] == "initialize":
                    await ws.send_message(
                        json.dumps(
                            {"id": message["id"], "result": {"userAgent": f"bench/{TESTED_CODEX_VERSION}"}}
                        )
                    )
                elif message["method"] == "bench/storm":
                    frames, threads = message["params"]["frames"], message["params"]["threads"]
                    await send_storm(ws, [delta_frame(n % threads, n) for n in range(frames)])
                    await ws.send_message(json.dumps({"id": message["id"], "result": {"sent": frames}}))
        except ConnectionClosed:
            nursery.cancel_scope.cancel()


async def send_storm(ws: WebSocketConnection, texts: list[str]) -> None:
    """Encode every frame first and write them in large chunks, so the fake server is not what is measured.

    (trio-websocket sends one ``send_all`` per message; its private wsproto engine is used here to batch.)
    """
    engine = ws._wsproto
    chunk: list[bytes] = []
    for text in texts:
        chunk.append(engine.send(TextMessage(data=text)))
        if len(chunk) == 512:
            await ws._stream.send_all(b"".join(chunk))
            chunk.clear()
    if chunk:
        await ws._stream.send_all(b"".join(chunk))


# --- the link side (measured) ------------------------------------------------------------------------------


async def drain(mailbox: trio.MemoryReceiveChannel[ThreadEvent], expected: int, done: trio.Event) -> None:
    seen = 0
    async for event in mailbox:
        if isinstance(event, CodexEvent):
            seen += 1
            if seen == expected:
                done.set()
                return


async def run_storm(link: CodexLink, frames: int, threads: int) -> float:
    per_thread = [frames // threads + (1 if t < frames % threads else 0) for t in range(threads)]
    async with trio.open_nursery() as nursery:
        done_events = []
        for t in range(threads):
            # Room for every delta: this measures throughput, not the drop policy (a drop would hang).
            send, receive = trio.open_memory_channel[ThreadEvent](per_thread[t] + 1)
            link.subscribe(f"thread-{t}", send)
            done = trio.Event()
            done_events.append(done)
            nursery.start_soon(drain, receive, per_thread[t], done)
        started = time.perf_counter()
        await link.call("bench/storm", {"frames": frames, "threads": threads}, timeout=600)
        for done in done_events:
            await done.wait()
        elapsed = time.perf_counter() - started
        for t in range(threads):
            link.unsubscribe(f"thread-{t}")
    return elapsed


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cxg-bench-") as tmp:
        socket_path = str(Path(tmp) / "fake.sock")
        command = [sys.executable, __file__, "--serve", socket_path]
        async with trio.open_nursery() as nursery:
            server = await nursery.start(partial(trio.run_process, command, stdout=None, check=False))
            for _ in range(200):  # the child binds the socket within a second or so
                if await trio.Path(socket_path).exists():
                    break
                await trio.sleep(0.05)
            link: CodexLink = await nursery.start(
                partial(codex_link_actor, unix_socket_connector(socket_path), settings=LinkSettings())
            )
            await link.wait_connected(10)
            best = 0.0
            for run in range(args.repeat):
                elapsed = await run_storm(link, args.frames, args.threads)
                rate = args.frames / elapsed
                best = max(best, rate)
                print(f"run {run + 1}: {args.frames} notifications in {elapsed:.3f} s = {rate:,.0f}/s")
            print(
                f"best: {best:,.0f} notifications/s through the link "
                f"({args.threads} threads; {platform.python_implementation()} {platform.python_version()}, "
                f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f})"
            )
            server.terminate()
            nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=50_000)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--serve", metavar="SOCKET", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        trio.run(serve, args.serve)
    else:
        trio.run(bench, args)


if __name__ == "__main__":
    main()
