"""Faults a test schedules on the fake server: what goes wrong, for which method, how many times. Pure.

The first field of each fault may be given positionally (``RetryAfter(5)``, ``ServerError(502)``,
``Hang(30)``), as the contract between the Telegram helpers spells them; the rest are keyword-only.
"""

from __future__ import annotations

import attrs


@attrs.frozen
class RetryAfter:
    """Answer 429 ``Too Many Requests: retry after N`` with ``parameters.retry_after = seconds``."""

    seconds: int


@attrs.frozen
class ServerError:
    """Answer a 5xx envelope (``status`` 500, 502...); the request has no effect."""

    status: int = 500
    description: str = attrs.field(default="Internal Server Error", kw_only=True)


@attrs.frozen
class BadRequest:
    """Answer 400 with ``description`` (e.g. ``Bad Request: can't parse entities: ...``) without judging the
    request: for testing how the bot handles an answer its own correct requests never get."""

    description: str


@attrs.frozen
class Hang:
    """Hold the request ``seconds`` (past the client's timeout), then answer. With ``applied`` the request
    takes effect after the wait (Telegram did it, the client never heard); without, it has no effect."""

    seconds: float
    applied: bool = attrs.field(default=False, kw_only=True)


@attrs.frozen
class Drop:
    """Close the connection without an answer. With ``applied`` the request took effect first."""

    applied: bool = attrs.field(default=False, kw_only=True)


Fault = RetryAfter | ServerError | BadRequest | Hang | Drop


@attrs.define
class _Scheduled:
    method: str | None  # lower-case method name, or None for any method
    fault: Fault
    remaining: int


class FaultSchedule:
    """Scheduled faults, consumed in the order they were scheduled."""

    def __init__(self) -> None:
        self._pending: list[_Scheduled] = []

    def schedule(self, method: str | None, fault: Fault, *, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` (any method when None) meet ``fault``."""
        if count < 1:
            raise ValueError("count must be at least 1")
        self._pending.append(
            _Scheduled(method=method.lower() if method else None, fault=fault, remaining=count)
        )

    def take(self, method: str) -> Fault | None:
        """The fault for this call of ``method``, if one is scheduled (it is used up)."""
        for entry in self._pending:
            if entry.method is None or entry.method == method.lower():
                entry.remaining -= 1
                if entry.remaining == 0:
                    self._pending.remove(entry)
                return entry.fault
        return None

    @property
    def pending(self) -> int:
        return sum(entry.remaining for entry in self._pending)
