"""OutageLog: the first failure of an outage is a warning, then one every ``every`` seconds, then the
recovery once."""

from __future__ import annotations

import logging

from codexgram.outage_log import OutageLog


def test_an_outage_is_said_once_then_rarely_and_its_end_once() -> None:
    outage = OutageLog(every=600.0)
    assert outage.recovered(0.0) is None  # nothing to say without an outage
    levels = [outage.failed(float(t)) for t in range(100, 1300, 10)]  # an attempt every 10 s for 20 min
    assert levels.count(logging.WARNING) == 2  # at 100 s and at 700 s: every 600 s
    assert levels[0] == logging.WARNING
    assert levels[1:60] == [logging.DEBUG] * 59
    assert levels[60] == logging.WARNING  # 600 s after the first
    assert outage.describe(1295.0) == "attempt 120, away for 1195 s"
    assert outage.recovered(1300.0) == "back after 120 failed attempts in 1200 s"
    assert outage.recovered(1301.0) is None
    assert outage.failed(2000.0) == logging.WARNING  # a new outage is said again
    assert outage.recovered(2001.0) == "back after 1 failed attempt in 1 s"
