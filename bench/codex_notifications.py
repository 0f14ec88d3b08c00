"""Notifications per second through the pure Codex pipeline: peer.receive_text -> thread_id_of -> decode.

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
    stages = "peer + routing + decode" + (" + lifecycle" if args.lifecycle else "")
    print(f"{len(frames):,} frames ({source}); {stages}")
    threads = len([t for t in routed if t is not None])
    print(f"routed to {threads} threads, {routed.get(None, 0)} without a thread")
    print(f"best of {args.repeat}: {best:.3f} s = {len(frames) / best:,.0f} notifications/s on one core")
    print(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
