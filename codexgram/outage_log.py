"""How loudly to report a failure that repeats while a service is away (pure; time is passed in).

A bot waiting for an app-server that is not running retries every few seconds, for hours. Logging each attempt
at WARNING buries everything else; logging none hides the outage. So: the first failure of an outage is a
WARNING, then at most one WARNING every ``every`` seconds saying how long and how many attempts, the rest
DEBUG; and when the service is back, one INFO line says so.
"""

from __future__ import annotations

import logging
import math

import attrs


@attrs.define
class OutageLog:
    every: float = 600.0
    attempts: int = 0  # failed attempts in this outage
    since: float | None = None  # when the outage began
    _last_said: float = -math.inf

    def failed(self, now: float) -> int:
        """One more failed attempt: the level to log it at."""
        self.attempts += 1
        if self.since is None:
            self.since = now
        if self.attempts == 1 or now - self._last_said >= self.every:
            self._last_said = now
            return logging.WARNING
        return logging.DEBUG

    def describe(self, now: float) -> str:
        """``attempt N, away for S s`` (for the log line of a failure)."""
        away = 0.0 if self.since is None else now - self.since
        return f"attempt {self.attempts}, away for {away:.0f} s"

    def recovered(self, now: float) -> str | None:
        """The service is back: what to say (None if there was no outage); the outage is over."""
        if self.attempts == 0:
            return None
        away = 0.0 if self.since is None else now - self.since
        said = f"back after {self.attempts} failed attempt{'s' if self.attempts != 1 else ''} in {away:.0f} s"
        self.attempts, self.since, self._last_said = 0, None, -math.inf
        return said
