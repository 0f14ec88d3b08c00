"""The one backoff formula, and the schedules of the three retry loops built on it."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexgram.actors.codex_connection import LinkSettings
from codexgram.actors.poller import POLL_BACKOFF_BASE, POLL_BACKOFF_CAP, UNEXPECTED_FAILURE_BACKOFF_BASE
from codexgram.backoff import exponential_backoff
from codexgram.telegram.outbox_queue import Pacing


def test_no_failure_means_no_wait_and_the_first_failure_waits_base() -> None:
    assert exponential_backoff(0, base=0.5, cap=4.0) == 0.0
    assert exponential_backoff(-1, base=0.5, cap=4.0) == 0.0
    schedule = [exponential_backoff(n, base=0.5, cap=4.0) for n in range(0, 7)]
    assert schedule == [0.0, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_huge_failure_counts_stay_at_the_cap() -> None:
    assert exponential_backoff(10_000, base=1.0, cap=60.0) == 60.0
    assert exponential_backoff(10_000, base=0.2, cap=10.0, jitter=random.Random(3)) < 10.0


def test_no_failure_draws_no_jitter() -> None:
    rng = random.Random(7)
    assert exponential_backoff(0, base=0.2, cap=10.0, jitter=rng) == 0.0
    assert rng.random() == random.Random(7).random()


def test_jitter_scales_by_a_factor_in_half_to_one() -> None:
    rng = random.Random(1)
    for failures in range(1, 101):
        delay = exponential_backoff(failures, base=0.2, cap=10.0, jitter=rng)
        base = min(10.0, 0.2 * 2 ** (failures - 1))
        assert base * 0.5 <= delay < base


def test_jitter_is_one_draw_of_the_given_random() -> None:
    rng, same = random.Random(42), random.Random(42)
    for failures in range(1, 10):
        expected = min(2.0, 0.2 * 2 ** (failures - 1)) * (0.5 + 0.5 * same.random())
        assert exponential_backoff(failures, base=0.2, cap=2.0, jitter=rng) == expected


@given(st.integers(min_value=0, max_value=200), st.floats(0.01, 10.0), st.floats(0.01, 100.0))
def test_never_negative_never_above_the_cap(failures: int, base: float, cap: float) -> None:
    assert 0.0 <= exponential_backoff(failures, base=base, cap=cap) <= cap
    assert 0.0 <= exponential_backoff(failures, base=base, cap=cap, jitter=random.Random(failures)) <= cap


# --- the callers' schedules -------------------------------------------------------------------------------


def test_the_outbox_retries_after_half_a_second_doubling_to_thirty() -> None:
    pacing = Pacing()
    # QueuedItem.attempts counts the failed calls, the one just failed included (1 after the first failure).
    delays = [exponential_backoff(n, base=pacing.backoff_base, cap=pacing.backoff_cap) for n in range(1, 9)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_the_poller_retries_after_one_second_doubling_to_sixty() -> None:
    schedule = [exponential_backoff(n, base=POLL_BACKOFF_BASE, cap=POLL_BACKOFF_CAP) for n in range(8)]
    assert schedule == [0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0]
    assert exponential_backoff(10_000, base=POLL_BACKOFF_BASE, cap=POLL_BACKOFF_CAP) == 60.0
    slow = UNEXPECTED_FAILURE_BACKOFF_BASE
    unexpected = [exponential_backoff(n, base=slow, cap=POLL_BACKOFF_CAP) for n in range(1, 6)]
    assert unexpected == [5.0, 10.0, 20.0, 40.0, 60.0]


def test_the_codex_link_reconnects_after_a_fifth_of_a_second_doubling_to_ten_with_jitter() -> None:
    settings = LinkSettings()
    # The link's first reconnect after a connection ends is failure 1: 0.2 s (times the jitter factor).
    bounds = [min(settings.backoff_max, settings.backoff_initial * 2 ** (n - 1)) for n in range(1, 9)]
    assert bounds == pytest.approx([0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 10.0, 10.0])
    rng = random.Random(5)
    for failures, bound in enumerate(bounds, start=1):
        delay = exponential_backoff(
            failures, base=settings.backoff_initial, cap=settings.backoff_max, jitter=rng
        )
        assert bound * 0.5 <= delay < bound
