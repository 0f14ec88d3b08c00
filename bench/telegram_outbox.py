"""Outbox figures: Telegram calls per streamed turn, and enqueue-to-send latency with 100 busy chats.

Part 1, calls per turn: the real outbox actor and the real BotApiClient against the fake Bot API server on
loopback (flood control on), under trio's MockClock, so a 10 s turn takes a fraction of a second and the
count is exactly what the pacing allows. A turn = one progress message, ``rate`` progress edits a second for
``seconds`` seconds, the final edit, and the final answer as its own message. Printed per method, plus the
429s the fake answered (must be 0).

Part 2, latency: the real outbox actor with an in-process client stub (``RecordingBotApi``) in real time, so
the figure is the outbox's own cost (mailbox hop, scheduling, starting the call task), not loopback HTTP.
100 chats each send a message and answer a button press every ``--interval`` (10) seconds at a random phase
(latency = the stub's call start minus the moment the request was put in the mailbox), twice:

- idle otherwise: 10 sends/s overall, so no send waits for the per-chat pace or, in practice, for the global
  ceiling of 25 starts in any second (at 20/s random phases overflow that window about one second in ten,
  and the held messages then measure the ceiling, not the outbox);
- busy: every chat also streams ``--stream-rate`` (20) progress edits a second to its own message, as during
  a turn. The queue then always holds a coalesced edit per chat and the global ceiling is full: callback
  answers (never paced) measure the outbox's own cost under that load; sends find a start kept free from
  edits, unless their own chat had a call start less than a second before (the per-chat pace).

Part 3 repeats the idle run's sends against the fake server on loopback (the figure then includes the HTTP
request up to the fake's answer) for context.

Part 4, the scheduler alone (pure, no trio): the cost of one ``next_ready`` + ``done`` with 100 and 1,000
chats holding queued sends, since ``next_ready`` scans the chats (fine for a personal bot; the figure says
where that stops being true).

Run: ``uv run python bench/telegram_outbox.py [--seconds 30] [--interval 10] [--chats 100]
[--stream-rate 20]``
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import trio
import trio.testing

from codexgram.actors.outbox import OutboxSettings, outbox_actor
from codexgram.actors.runtime import Reply
from codexgram.messages import AnswerCallback, EditMessageText, OutboxRequest, SendMessage
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.outbox_ports import OutboxBotApi
from codexgram.telegram.outbox_queue import Lane, OutboxQueue, Pacing
from codexgram.testing.fake_telegram import FakeTelegram, run_fake_telegram
from codexgram.testing.outbox_stubs import RecordingBotApi

Mailbox = trio.MemorySendChannel[OutboxRequest]


@asynccontextmanager
async def running_outbox(client: OutboxBotApi) -> AsyncIterator[Mailbox]:
    async with trio.open_nursery() as nursery:
        actor = functools.partial(outbox_actor, client=client, store=None, settings=OutboxSettings())
        mailbox: Mailbox = await nursery.start(actor)
        try:
            yield mailbox
        finally:
            nursery.cancel_scope.cancel()


async def streamed_turn(mailbox: Mailbox, chat_id: int, *, seconds: float, rate: float) -> None:
    reply: Reply[int] = Reply()
    await mailbox.send(SendMessage(chat_id=chat_id, text="<i>working…</i>", reply=reply))
    message_id = await reply.wait()
    steps = int(seconds * rate)
    text = ""
    for step in range(steps):
        text = f"<b>Progress</b>\n{'.' * (step % 40)} step {step + 1}/{steps}"
        await mailbox.send(EditMessageText(chat_id=chat_id, message_id=message_id, text=text))
        await trio.sleep(1 / rate)
    done: Reply[None] = Reply()
    await mailbox.send(
        EditMessageText(chat_id=chat_id, message_id=message_id, text=text + "\ndone", reply=done)
    )
    answer: Reply[int] = Reply()
    await mailbox.send(SendMessage(chat_id=chat_id, text="<b>Final answer</b> …", reply=answer))
    await done.wait()
    await answer.wait()


async def calls_per_turn(seconds: float, rate: float) -> tuple[Counter[str], int, float]:
    async with trio.open_nursery() as nursery:
        fake: FakeTelegram = await nursery.start(run_fake_telegram)
        fake.ensure_chat(1)
        client = BotApiClient(token=fake.token, base_url=fake.base_url, timeout=10)
        async with client, running_outbox(client) as mailbox:
            started = trio.current_time()
            await streamed_turn(mailbox, 1, seconds=seconds, rate=rate)
            elapsed = trio.current_time() - started
        counts = Counter(call.method for call in fake.calls() if call.status == 200)
        refused = sum(1 for call in fake.calls() if call.status == 429)
        nursery.cancel_scope.cancel()
    return counts, refused, elapsed


Measured = dict[str, list[float]]  # kind of request -> enqueue-to-call latencies (seconds)


async def latency_run(
    client_factory: Callable[[], Awaitable[tuple[OutboxBotApi, Callable[[], dict[str, float]]]]],
    *,
    chats: int,
    seconds: float,
    interval: float,
    stream_rate: float = 0.0,
    press_buttons: bool = True,
) -> Measured:
    """Enqueue-to-call latencies for ``chats`` chats each sending a message, and answering a button press,
    every ``interval`` seconds (random phase).

    With ``stream_rate`` > 0 every chat is busy as during a turn: it streams progress edits of its own
    message at that rate for the whole run, so the queue always holds a coalesced edit per chat and the
    global ceiling is taken by edits. Callback answers are never paced, so their latency is the outbox's own
    cost under that load; sends then also wait for a free slot under the global ceiling.
    """
    client, call_starts = await client_factory()
    enqueued: dict[str, tuple[str, float]] = {}
    async with running_outbox(client) as mailbox:
        progress_ids: dict[int, int] = {}
        if stream_rate:

            async def open_progress(chat_id: int) -> None:
                reply: Reply[int] = Reply()
                await mailbox.send(
                    SendMessage(chat_id=chat_id, text="working…", parse_mode=None, reply=reply)
                )
                progress_ids[chat_id] = await reply.wait()

            async with trio.open_nursery() as nursery:  # 100 sends at 25/s: a few seconds
                for chat_id in range(1, chats + 1):
                    nursery.start_soon(open_progress, chat_id)

        async def stream(chat_id: int) -> None:
            step = 0
            while trio.current_time() < end:
                step += 1
                text = f"progress {step}"
                await mailbox.send(
                    EditMessageText(
                        chat_id=chat_id, message_id=progress_ids[chat_id], text=text, parse_mode=None
                    )
                )
                await trio.sleep(1 / stream_rate)

        async def chat(chat_id: int) -> None:
            await trio.sleep(random.uniform(0, interval))
            count = 0
            while trio.current_time() < end:
                text = f"chat {chat_id} message {count}"
                enqueued[text] = ("send", trio.current_time())
                await mailbox.send(SendMessage(chat_id=chat_id, text=text, parse_mode=None))
                if press_buttons:
                    query = f"chat {chat_id} press {count}"
                    enqueued[query] = ("callback answer", trio.current_time())
                    await mailbox.send(AnswerCallback(callback_query_id=query))
                count += 1
                await trio.sleep(interval)

        end = trio.current_time() + seconds
        async with trio.open_nursery() as nursery:
            for chat_id in range(1, chats + 1):
                nursery.start_soon(chat, chat_id)
                if stream_rate:
                    nursery.start_soon(stream, chat_id)
        await trio.sleep(1.0)  # let the last calls start
    starts = call_starts()
    measured: Measured = {}
    for key, (kind, at) in enqueued.items():
        if key in starts:
            measured.setdefault(kind, []).append(starts[key] - at)
    return measured


async def stub_factory() -> tuple[OutboxBotApi, Callable[[], dict[str, float]]]:
    stub = RecordingBotApi()

    def call_starts() -> dict[str, float]:
        keys = ("text", "callback_query_id")
        return {str(call.params[key]): call.at for call in stub.calls for key in keys if key in call.params}

    return stub, call_starts


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, latencies: list[float]) -> None:
    ms = [value * 1000 for value in latencies]
    print(
        f"{name}: n={len(ms)} p50={percentile(ms, 0.50):.3f} ms p90={percentile(ms, 0.90):.3f} ms "
        f"p99={percentile(ms, 0.99):.3f} ms max={max(ms):.3f} ms mean={statistics.fmean(ms):.3f} ms"
    )


async def loopback_latency(chats: int, seconds: float, interval: float) -> Measured:
    async with trio.open_nursery() as nursery:
        fake: FakeTelegram = await nursery.start(run_fake_telegram)
        for chat_id in range(1, chats + 1):
            fake.ensure_chat(chat_id)
        async with BotApiClient(token=fake.token, base_url=fake.base_url, timeout=10) as client:

            async def factory() -> tuple[OutboxBotApi, Callable[[], dict[str, float]]]:
                # the fake records a call when it answers it: the figure includes the whole HTTP request
                return client, lambda: {
                    str(call.params["text"]): call.at
                    for call in fake.calls("sendMessage")
                    if call.status == 200
                }

            # sends only: the fake answers callback queries it did not create with "query is too old"
            latencies = await latency_run(
                factory, chats=chats, seconds=seconds, interval=interval, press_buttons=False
            )
        nursery.cancel_scope.cancel()
    return latencies


def scheduler_cost(chats: int, per_chat: int = 5) -> float:
    """Microseconds per next_ready + done, draining ``chats`` x ``per_chat`` sends in virtual time."""
    queue: OutboxQueue[int] = OutboxQueue(Pacing(global_limit=10**9))
    for index in range(chats * per_chat):
        queue.add(index, lane=Lane.SEND, chat_id=1 + index % chats)
    now = 0.0
    taken = 0
    started = time.perf_counter()
    while len(queue):
        item = queue.next_ready(now)
        if item is None:
            wakeup = queue.next_wakeup(now)
            assert wakeup is not None
            now = wakeup
            continue
        queue.done(item)
        taken += 1
    return (time.perf_counter() - started) / taken * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of each latency run")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between sends of one chat")
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument(
        "--stream-rate", type=float, default=20.0, help="progress edits a second per chat in the busy run"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()} {os.cpu_count()} cpu, "
        f"Python {sys.version.split()[0]}, {platform.system()}"
    )

    print("\n-- Telegram calls per streamed turn (fake Bot API on loopback, virtual time) --")
    for seconds, rate in ((10.0, 50.0), (2.0, 10.0)):
        clock = trio.testing.MockClock(autojump_threshold=0.005)
        counts, refused, elapsed = trio.run(calls_per_turn, seconds, rate, clock=clock)
        total = sum(counts.values())
        detail = ", ".join(f"{method} {count}" for method, count in sorted(counts.items()))
        print(
            f"{seconds:g} s turn, {int(seconds * rate)} progress updates: {total} calls ({detail}); "
            f"429s: {refused}; turn done after {elapsed:.1f} s"
        )

    print(
        f"\n-- enqueue -> call start, {args.chats} chats, one send and one button answer each "
        f"per {args.interval:g} s (real time) --"
    )
    for stream_rate, setting in ((0.0, "idle otherwise"), (args.stream_rate, "busy")):
        if stream_rate:
            setting = f"busy: each also streams {stream_rate:g} progress edits/s"
        measured = trio.run(
            functools.partial(
                latency_run,
                stub_factory,
                chats=args.chats,
                seconds=args.seconds,
                interval=args.interval,
                stream_rate=stream_rate,
            )
        )
        for kind, latencies in sorted(measured.items()):
            report(f"in-process client stub, {setting}, {kind}", latencies)
    loopback = trio.run(loopback_latency, args.chats, args.seconds, args.interval)
    report("fake Bot API on loopback, idle otherwise, send (to the fake's answer)", loopback["send"])

    print("\n-- the scheduler alone: next_ready + done --")
    for chats in (100, 1000):
        print(f"{chats} chats x 5 queued sends: {scheduler_cost(chats):.1f} us per item")


if __name__ == "__main__":
    main()
