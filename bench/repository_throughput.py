"""Repository throughput and latency: SQL on a worker thread (what the actor does) vs inline on the loop.

Prints figures; not a test. Run: ``uv run python bench/repository_throughput.py [--requests N]``.

What it measures, on a fresh file in a temporary directory (WAL, synchronous=NORMAL, as the bot runs):
- ``actor``: N concurrent tasks each sending one small write (an ``outbox_add``) through the real
  repository actor (``trio.to_thread.run_sync`` + ``CapacityLimiter(1)``), then N reads; throughput and the
  p50/p99 of the ask round trip.
- ``inline``: the same transactions run directly on the event loop thread, one after the other: the cost
  floor without the thread hop, and what every other task would be blocked for per transaction.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import tempfile
import time
from pathlib import Path

import trio

from codexgram.actors.repository import open_repository
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def report(name: str, latencies: list[float], elapsed: float) -> None:
    print(
        f"{name:28} {len(latencies) / elapsed:9.0f} tx/s   "
        f"p50 {percentile(latencies, 0.5) * 1e3:7.3f} ms   p99 {percentile(latencies, 0.99) * 1e3:7.3f} ms   "
        f"mean {statistics.fmean(latencies) * 1e3:7.3f} ms"
    )


async def bench_actor(path: Path, requests: int) -> None:
    async with open_repository(path) as repo:
        latencies: list[float] = []

        async def one_write(n: int) -> None:
            start = time.perf_counter()
            await repo.outbox_add(chat_id=n, kind="send", payload='{"text": "hello"}', created_at=0.0)
            latencies.append(time.perf_counter() - start)

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for n in range(requests):
                nursery.start_soon(one_write, n)
        report(f"actor, {requests} concurrent writes", latencies, time.perf_counter() - start)

        latencies.clear()
        start = time.perf_counter()
        for n in range(requests):
            t0 = time.perf_counter()
            await repo.is_user_allowed(n)
            latencies.append(time.perf_counter() - t0)
        report("actor, sequential reads", latencies, time.perf_counter() - start)


def bench_inline(path: Path, requests: int) -> None:
    conn = open_database(path)
    try:
        latencies: list[float] = []
        start = time.perf_counter()
        for n in range(requests):
            t0 = time.perf_counter()
            with immediate_transaction(conn):
                queries.outbox_add(conn, chat_id=n, kind="send", payload='{"text": "hello"}', created_at=0.0)
            latencies.append(time.perf_counter() - t0)
        report("inline, sequential writes", latencies, time.perf_counter() - start)
        latencies.clear()
        start = time.perf_counter()
        for n in range(requests):
            t0 = time.perf_counter()
            with immediate_transaction(conn):
                queries.is_user_allowed(conn, n)
            latencies.append(time.perf_counter() - t0)
        report("inline, sequential reads", latencies, time.perf_counter() - start)
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        trio.run(functools.partial(bench_actor, Path(tmp) / "actor.sqlite3", args.requests))
        bench_inline(Path(tmp) / "inline.sqlite3", args.requests)


if __name__ == "__main__":
    main()
