"""Capped exponential backoff, the one formula every retry loop uses (pure).

Callers count *failures in a row*: ``failures`` is how many attempts have failed since the last success (or
since a reset), counting the one that just failed. No failure means no wait; the first failure waits
``base``; each further failure doubles the wait, never beyond ``cap``:

=========  ==========================
failures   delay
=========  ==========================
0          ``0.0``
1          ``base``
2          ``2 * base``
n >= 1     ``min(cap, base * 2**(n - 1))``
=========  ==========================

With ``jitter`` (a :class:`random.Random`) the delay of a failure (n >= 1) is scaled by a factor in
[0.5, 1.0), drawn with one ``jitter.random()`` call, so many clients restarted together do not retry in
lockstep; ``failures == 0`` draws nothing.

Users: the Codex link's reconnects (with jitter), the Telegram outbox's retries of 5xx and network errors,
and the poller's retries of getUpdates.
"""

from __future__ import annotations

import random

__all__ = ["exponential_backoff"]

# Beyond this the doubling is far past any cap; bounding the exponent keeps 2.0**n from overflowing.
_MAX_EXPONENT = 64


def exponential_backoff(
    failures: int, *, base: float, cap: float, jitter: random.Random | None = None
) -> float:
    """Seconds to wait after ``failures`` failed attempts in a row (see the module docstring): ``0.0`` for
    none, else ``min(cap, base * 2**(failures - 1))``, times a factor in [0.5, 1.0) from ``jitter`` if
    given."""
    if failures < 1:
        return 0.0
    delay = min(cap, base * 2.0 ** min(failures - 1, _MAX_EXPONENT))
    if jitter is not None:
        delay *= 0.5 + 0.5 * jitter.random()
    return delay
