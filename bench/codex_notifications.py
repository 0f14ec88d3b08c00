"""Notifications per second through the pure Codex pipeline: peer.receive_text -> thread_id_of -> decode.

A delta storm: by default 100,000 ``item/agentMessage/delta`` frames of the exact shape codex 0.169.0 sends
(``{"method", "params": {threadId, turnId, itemId, delta}, "emittedAtMs"}``) spread over 10 threads, with an
``item/started``/``item/completed`` pair per reply. With ``--transcript FILE`` the frames are instead the
received (``"dir": "recv"``) frames of a recorded JSONL transcript, repeated until ``--frames`` is reached.
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
from typing import Any

from codexgram.codex.converter import decode_notification
from codexgram.codex.lifecycle import ThreadLifecycle
from codexgram.codex.routing import thread_id_of
from codexgram.rpc.peer import JsonRpcPeer, Notification

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


def synthetic_frames(count: int, threads: int) -> list[str]:
    """Frames of a reply storm: per thread a turn whose agent message streams in many deltas."""
    frames: list[str] = []
    emitted = 1_763_700_000_000
    per_reply = 200
    reply = 0
    while len(frames) < count:
        thread_id = f"019a{reply % threads:04x}-7c1e-7f30-9d7a-5b8e6c1d2f3a"
        turn_id, item_id = f"turn-{reply}", f"msg_{reply:08x}"
        base = {"threadId": thread_id, "turnId": turn_id}
        item = {"type": "agentMessage", "id": item_id, "text": "", "phase": None, "memoryCitation": None}
        frames.append(
            json.dumps({"method": "item/started", "params": {**base, "item": item, "startedAtMs": emitted}})
        )
        text = []
        for i in range(per_reply):
            delta = WORDS[i % len(WORDS)]
            text.append(delta)
            params = {**base, "itemId": item_id, "delta": delta}
            frames.append(
                json.dumps(
                    {"method": "item/agentMessage/delta", "params": params, "emittedAtMs": emitted + i}
                )
            )
        done = {**item, "text": "".join(text)}
        frames.append(
            json.dumps(
                {"method": "item/completed", "params": {**base, "item": done, "completedAtMs": emitted}}
            )
        )
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
        frames = synthetic_frames(args.frames, args.threads)
        source = f"synthetic delta storm over {args.threads} threads"
    best = min(run(frames, args.lifecycle)[0] for _ in range(args.repeat))
    _, routed = run(frames, args.lifecycle)
    stages = "peer + routing + decode" + (" + lifecycle" if args.lifecycle else "")
    print(f"{len(frames):,} frames ({source}); {stages}")
    threads = len([t for t in routed if t is not None])
    print(f"routed to {threads} threads, {routed.get(None, 0)} without a thread")
    print(f"best of {args.repeat}: {best:.3f} s = {len(frames) / best:,.0f} notifications/s on one core")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
