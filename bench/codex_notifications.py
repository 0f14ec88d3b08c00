"""Notifications per second through peer + converter + routing, with a delta storm shaped like a recording.

Two pipelines are timed on the same frames:

- **pure**: ``JsonRpcPeer.receive_text`` -> ``thread_id_of`` -> ``decode_notification`` (no trio);
- **link routing**: the CodexLink's own reader path for a text frame (``CodexLink._handle_text``: peer,
  ``thread_id_of``, ``decode_notification``, ``ThreadRoute.offer`` with ``send_nowait``) into one bounded
  mailbox per subscribed thread, drained between batches like thread actors that keep up. Every frame must be
  delivered (no delta dropped for a full mailbox), or the run fails, so the figure is for lossless routing.
  Only the WebSocket is left out (``bench/codex_link_throughput.py`` measures the whole socket path).

A delta storm: by default 100,000 ``item/agentMessage/delta`` frames spread over 10 threads, with an
``item/started``/``item/completed`` pair per 200-delta reply, each a copy of the frame codex 0.169.0 sent in
the recorded transcript ``tests/replay/transcripts/plain-turn.jsonl`` (ids and text replaced). With
``--transcript FILE`` the frames are instead the received (``"dir": "recv"``) notifications of a recorded
JSONL transcript, repeated until ``--frames`` is reached.
``--lifecycle`` also feeds every decoded notification to the owning thread's ThreadLifecycle (what a
ThreadActor does), to show the cost of transcript assembly.

Run: ``uv run python bench/codex_notifications.py [--frames N] [--threads N] [--transcript F] [--lifecycle]``
Prints frames/s for the best of ``--repeat`` runs (one core: this is a single-threaded loop).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any, cast

import trio
from trio_websocket import WebSocketConnection

from codexgram.actors.codex_connection import Connection
from codexgram.actors.codex_link import CodexLink, LinkSettings
from codexgram.codex.converter import decode_notification
from codexgram.codex.lifecycle import ThreadLifecycle
from codexgram.codex.thread_ids import thread_id_of
from codexgram.messages import CodexEvent, ThreadEvent
from codexgram.rpc.peer import JsonRpcPeer, Notification

MAILBOX_SIZE = 256  # a thread actor's mailbox
DRAIN_EVERY = 64  # frames between the (synchronous) drains of the mailboxes: never lets one fill up

WORDS = [
    "Sure",
    ",",
    " here",
    " is",
    " the",
    " answer",
    ":",
    " `x = 1`",
    "\n",
    " done",
    " ✓",
    " and",
    " more",
]


TEMPLATE_TRANSCRIPT = (
    Path(__file__).resolve().parents[1] / "tests" / "replay" / "transcripts" / "plain-turn.jsonl"
)


def recorded_templates(path: Path) -> dict[str, dict[str, Any]]:
    """The first item/started, item/agentMessage/delta and item/completed frames of an agent message, exactly
    as codex 0.169.0 sent them in a recorded transcript."""
    templates: dict[str, dict[str, Any]] = {}
    for line in path.read_text().splitlines():
        msg = json.loads(line)["msg"]
        method = msg.get("method")
        item = msg.get("params", {}).get("item", {})
        if method == "item/agentMessage/delta" or (item.get("type") == "agentMessage"):
            templates.setdefault(method, msg)
    return templates


def built_in_templates() -> dict[str, dict[str, Any]]:
    base = {"threadId": "t", "turnId": "u"}
    item = {"type": "agentMessage", "id": "m", "text": "", "phase": None, "memoryCitation": None}
    return {
        "item/started": {"method": "item/started", "params": {**base, "item": item, "startedAtMs": 1}},
        "item/agentMessage/delta": {
            "method": "item/agentMessage/delta",
            "params": {**base, "itemId": "m", "delta": "x"},
            "emittedAtMs": 1,
        },
        "item/completed": {"method": "item/completed", "params": {**base, "item": item, "completedAtMs": 1}},
    }


def synthetic_frames(count: int, threads: int, templates: dict[str, dict[str, Any]]) -> list[str]:
    """Frames of a reply storm: per thread a turn whose agent message streams in 200 deltas, each frame a
    copy of a template with the ids and text replaced."""

    def frame(method: str, thread_id: str, turn_id: str, item_id: str, **changes: Any) -> str:
        msg = json.loads(json.dumps(templates[method]))
        params = msg["params"]
        params.update(threadId=thread_id, turnId=turn_id)
        if "item" in params:
            params["item"].update(id=item_id, **changes)
        else:
            params.update(itemId=item_id, **changes)
        return json.dumps(msg)

    frames: list[str] = []
    per_reply = 200
    reply = 0
    while len(frames) < count:
        thread_id = f"019a{reply % threads:04x}-7c1e-7f30-9d7a-5b8e6c1d2f3a"
        turn_id, item_id = f"turn-{reply}", f"msg_{reply:08x}"
        frames.append(frame("item/started", thread_id, turn_id, item_id, text=""))
        text = [WORDS[i % len(WORDS)] for i in range(per_reply)]
        frames += [frame("item/agentMessage/delta", thread_id, turn_id, item_id, delta=d) for d in text]
        frames.append(frame("item/completed", thread_id, turn_id, item_id, text="".join(text)))
        reply += 1
    return frames[:count]


def transcript_frames(path: Path, count: int) -> list[str]:
    received = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("dir") == "recv" and "method" in record.get("msg", {}) and "id" not in record["msg"]:
            received.append(json.dumps(record["msg"]))
    if not received:
        raise SystemExit(f"{path}: no received notifications")
    return (received * (count // len(received) + 1))[:count]


def run(frames: list[str], with_lifecycle: bool) -> tuple[float, dict[str | None, int]]:
    peer = JsonRpcPeer()
    routed: dict[str | None, int] = {}
    lifecycles: dict[str, ThreadLifecycle] = {}
    started = time.perf_counter()
    for text in frames:
        for event in peer.receive_text(text):
            if not isinstance(event, Notification):
                continue
            thread_id = thread_id_of(event)
            notification: Any = decode_notification(event.method, event.params)
            routed[thread_id] = routed.get(thread_id, 0) + 1
            if with_lifecycle and thread_id is not None:
                lifecycle = lifecycles.get(thread_id)
                if lifecycle is None:
                    lifecycle = lifecycles[thread_id] = ThreadLifecycle(thread_id)
                lifecycle.on_notification(notification)
    return time.perf_counter() - started, routed


def run_link_routing(frames: list[str]) -> tuple[float, int]:
    """Feed ``frames`` to the link's reader path; return (seconds, events delivered to mailboxes)."""
    thread_ids = sorted({t for t in map(_thread_of_frame, frames) if t is not None})

    async def measure() -> tuple[float, int]:
        async with trio.open_nursery() as nursery:
            link = CodexLink(nursery, LinkSettings(ping_interval=None), recorder=None)
            # No socket: the reader path only parses, decodes and routes (answers would need the socket).
            connection = Connection(cast(WebSocketConnection, None), recorder=None)
            receivers: list[trio.MemoryReceiveChannel[ThreadEvent]] = []
            for thread_id in thread_ids:
                send, receive = trio.open_memory_channel[ThreadEvent](MAILBOX_SIZE)
                link.subscribe(thread_id, send)
                receivers.append(receive)
            delivered = 0
            started = time.perf_counter()
            for index, text in enumerate(frames, 1):
                link._handle_text(connection, text)  # the reader task's per-frame work: what is measured
                if index % DRAIN_EVERY == 0 or index == len(frames):
                    for receive in receivers:
                        while True:
                            try:
                                event = receive.receive_nowait()
                            except trio.WouldBlock:
                                break
                            assert isinstance(event, CodexEvent)
                            delivered += 1
            elapsed = time.perf_counter() - started
            nursery.cancel_scope.cancel()
        if delivered != sum(1 for f in frames if _thread_of_frame(f) is not None):
            raise SystemExit(f"routing lost events: {delivered} of {len(frames)} delivered")
        return elapsed, delivered

    return trio.run(measure)


def _thread_of_frame(text: str) -> str | None:
    params = json.loads(text).get("params", {})
    thread_id = params.get("threadId")
    return thread_id if isinstance(thread_id, str) else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--frames", type=int, default=100_000)
    parser.add_argument("--threads", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--transcript", type=Path)
    parser.add_argument("--lifecycle", action="store_true")
    args = parser.parse_args()
    if args.transcript:
        frames = transcript_frames(args.transcript, args.frames)
        source = f"transcript {args.transcript}"
    else:
        recorded = TEMPLATE_TRANSCRIPT.exists()
        templates = recorded_templates(TEMPLATE_TRANSCRIPT) if recorded else built_in_templates()
        frames = synthetic_frames(args.frames, args.threads, templates)
        shape = f"frame shapes from {TEMPLATE_TRANSCRIPT.name}" if recorded else "built-in frame shapes"
        source = f"delta storm over {args.threads} threads, {shape}"
    best = min(run(frames, args.lifecycle)[0] for _ in range(args.repeat))
    _, routed = run(frames, args.lifecycle)
    stages = "peer + thread_id_of + decode" + (" + lifecycle" if args.lifecycle else "")
    print(f"{len(frames):,} frames ({source})")
    threads = len([t for t in routed if t is not None])
    print(f"routed to {threads} threads, {routed.get(None, 0)} without a thread")
    print(f"pure ({stages}), best of {args.repeat}: {best:.3f} s = {len(frames) / best:,.0f} notifications/s")
    link_runs = [run_link_routing(frames) for _ in range(args.repeat)]
    link_best = min(seconds for seconds, _ in link_runs)
    delivered = link_runs[0][1]
    print(
        f"link routing (peer + decode + ThreadRoute into {threads} mailboxes of {MAILBOX_SIZE}), best of"
        f" {args.repeat}: {link_best:.3f} s = {len(frames) / link_best:,.0f} notifications/s"
        f" ({delivered:,} delivered, none dropped)"
    )
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
