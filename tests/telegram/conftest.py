"""Fixtures for the Telegram tests: ``fake_telegram``, a running fake Bot API server that fails the test at
teardown if any request broke the Bot API reference (opt out: ``@pytest.mark.fake_telegram_bad_requests``),
and two virtual clocks (pytest-trio runs a test on the clock fixture it asks for).
"""

from __future__ import annotations

import pytest
import trio
import trio.testing

from codexgram.testing.fake_telegram.fixture import fake_telegram, register_marker

__all__ = ["fake_telegram"]


def pytest_configure(config: pytest.Config) -> None:
    register_marker(config)


@pytest.fixture
def clock() -> trio.testing.MockClock:
    """Virtual time that waits 100 ms of real idleness before jumping, so localhost sockets answer first."""
    return trio.testing.MockClock(autojump_threshold=0.1)


@pytest.fixture
def eager_clock() -> trio.testing.MockClock:
    """Virtual time that jumps after 5 ms of real idleness: enough for loopback I/O to the fake, and fast
    for the outbox tests that wait through many seconds of pacing and retry_after."""
    return trio.testing.MockClock(autojump_threshold=0.005)
