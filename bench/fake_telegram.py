"""Benchmark: the fake Bot API server's cost per request, so the outbox benchmarks know what share of a
measured latency is the fake's own. Prints figures; not a test.

uv run python bench/fake_telegram.py [--requests 2000] [--chats 100] [--in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import ssl
import statistics
import time

import httpx
import trio

from codexgram.testing.fake_telegram import FakeTelegram, FloodControl, run_fake_telegram
from codexgram.testing.http import Request

KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Approve", "callback_data": "a:tok:y"}, {"text": "Deny", "callback_data": "a:tok:n"}]
    ]
}
TEXT = "<b>Working</b> on <code>codexgram/actors/outbox.py</code>: " + "step &amp; check. " * 40


async def measure(fake: FakeTelegram, requests: int, chats: int, *, check_responses: bool) -> list[float]:
    fake.check_responses = check_responses
    latencies: list[float] = []
    url = f"/bot{fake.token}/sendMessage"
    # One client per chat, made before the clock starts: httpcore's pool scans every connection per request
    # (one shared pool of 100 connections measures httpcore), and each new client loads the CA bundle.
    tls = ssl.create_default_context()
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(httpx.AsyncClient(base_url=fake.base_url, verify=tls))
            for _ in range(chats)
        ]

        async def one_chat(chat_id: int, http: httpx.AsyncClient, count: int) -> None:
            for _ in range(count):
                params = {"chat_id": chat_id, "text": TEXT, "parse_mode": "HTML", "reply_markup": KEYBOARD}
                started = time.perf_counter()
                response = await http.post(url, json=params)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

        async with trio.open_nursery() as nursery:
            for index, http in enumerate(clients):
                nursery.start_soon(one_chat, 1000 + index, http, requests // chats)
    return latencies


async def in_process(requests: int) -> None:
    """The server's own cost: ``FakeTelegram.handle`` called directly, no sockets, no client."""
    fake = FakeTelegram(flood=FloodControl(enabled=False))
    fake.ensure_chat(1)
    body = json.dumps({"chat_id": 1, "text": TEXT, "parse_mode": "HTML", "reply_markup": KEYBOARD}).encode()
    request = Request(
        method="POST",
        target=f"/bot{fake.token}/sendMessage",
        headers={"content-type": "application/json"},
        body=body,
    )
    for check in (True, False):
        fake.check_responses = check
        started = time.perf_counter()
        for _ in range(requests):
            response = await fake.handle(request)
            assert response.status == 200
        per_request = (time.perf_counter() - started) / requests
        checks = "on" if check else "off"
        print(
            f"in-process sendMessage x{requests}, response checks {checks}: "
            f"{per_request * 1e6:.0f} us per request"
        )


async def main(requests: int, chats: int) -> None:
    async with trio.open_nursery() as nursery:
        fake: FakeTelegram = await nursery.start(
            lambda task_status: run_fake_telegram(flood=FloodControl(enabled=False), task_status=task_status)
        )
        for chat in range(chats):
            fake.ensure_chat(1000 + chat)
        for check in (True, False):
            started = time.perf_counter()
            latencies = await measure(fake, requests, chats, check_responses=check)
            elapsed = time.perf_counter() - started
            quantiles = statistics.quantiles(latencies, n=100)
            checks = "on" if check else "off"
            print(
                f"sendMessage x{len(latencies)}, {chats} concurrent chats, response checks {checks}: "
                f"{len(latencies) / elapsed:,.0f} requests/s, latency p50 {quantiles[49] * 1000:.2f} ms, "
                f"p99 {quantiles[98] * 1000:.2f} ms"
            )
        assert fake.validation_errors == [], fake.validation_errors[:3]
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--chats", type=int, default=100)
    parser.add_argument("--in-process", action="store_true", help="time the handler alone, without HTTP")
    args = parser.parse_args()
    if args.in_process:
        trio.run(in_process, args.requests)
    else:
        trio.run(main, args.requests, args.chats)
