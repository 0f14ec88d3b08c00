"""Telegram's flood control: token buckets per chat and for the whole bot, with a penalty on overflow.

Pure: every call takes ``now`` (seconds on any monotonic clock; the server passes ``trio.current_time()`` so
tests under ``autojump_clock`` run in virtual time).

Limits (the Bot API FAQ's figures): a private chat gets about one message a second with a short burst, a group
twenty a minute, the bot as a whole about thirty a second. A message over a limit is refused with a
``retry_after`` in whole seconds and the chat (or the bot) stays penalised until then: a bot that keeps
calling meanwhile is refused again, each time told the seconds that remain. Refused calls use no capacity.
"""

from __future__ import annotations

import math

import attrs


@attrs.frozen(kw_only=True)
class Rate:
    """A bucket of ``burst`` tokens refilled at ``per_second``."""

    burst: float
    per_second: float


PRIVATE_RATE = Rate(burst=3, per_second=1.0)
GROUP_RATE = Rate(burst=20, per_second=20 / 60)
GLOBAL_RATE = Rate(burst=30, per_second=30.0)
_EPSILON = 1e-9


@attrs.define
class _Bucket:
    rate: Rate
    tokens: float
    updated: float
    penalty_until: float = 0.0

    def refill(self, now: float) -> None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(self.rate.burst, self.tokens + elapsed * self.rate.per_second)
        self.updated = now

    def wait_needed(self, now: float) -> float:
        """Seconds until this bucket allows one more message (0 when it does now)."""
        if now < self.penalty_until:
            return self.penalty_until - now
        self.refill(now)
        if self.tokens >= 1 - _EPSILON:  # now + retry_after - now may fall a hair short of retry_after
            return 0.0
        return (1 - self.tokens) / self.rate.per_second


class FloodControl:
    """Decides whether a counted call (a send or an edit) to ``chat_id`` may go now.

    ``private_rate``, ``group_rate`` and ``global_rate`` may be overridden (a test can tighten them);
    ``enabled=False`` turns the limits off for tests that are about something else.
    """

    def __init__(
        self,
        *,
        private_rate: Rate = PRIVATE_RATE,
        group_rate: Rate = GROUP_RATE,
        global_rate: Rate = GLOBAL_RATE,
        enabled: bool = True,
    ) -> None:
        self.private_rate = private_rate
        self.group_rate = group_rate
        self.enabled = enabled
        self._global = _Bucket(rate=global_rate, tokens=global_rate.burst, updated=0.0)
        self._chats: dict[int, _Bucket] = {}
        self.refusals = 0

    def _chat_bucket(self, chat_id: int, *, is_group: bool, now: float) -> _Bucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            rate = self.group_rate if is_group else self.private_rate
            bucket = self._chats[chat_id] = _Bucket(rate=rate, tokens=rate.burst, updated=now)
        return bucket

    def admit(self, chat_id: int, *, is_group: bool, now: float) -> int | None:
        """None when the message may go (its capacity is taken); else ``retry_after`` in whole seconds."""
        if not self.enabled:
            return None
        chat = self._chat_bucket(chat_id, is_group=is_group, now=now)
        chat_wait = chat.wait_needed(now)
        global_wait = self._global.wait_needed(now)
        if chat_wait == 0 and global_wait == 0:
            chat.tokens -= 1
            self._global.tokens -= 1
            return None
        self.refusals += 1
        wait = max(chat_wait, global_wait)
        # Whole seconds, rounded up, like Telegram's answer: waiting exactly retry_after always works. A call
        # during the penalty is refused with the time that remains; it does not extend the penalty.
        blocked = chat if chat_wait >= global_wait else self._global
        blocked.penalty_until = max(blocked.penalty_until, now + wait)
        return max(1, math.ceil(wait - _EPSILON))
