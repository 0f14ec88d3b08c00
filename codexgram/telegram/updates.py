"""getUpdates bookkeeping as plain data: which updates are new, and which offset to confirm.

Pure: no trio, no httpx, no apsw. The poller actor owns one :class:`UpdateLedger`.

The ledger's state is one number, the *offset*: the id of the first update not yet handed over. It is also
the persisted "seen" watermark: Telegram's update ids only grow (see the caveat below), so every id below the
offset has been handed over already and is a duplicate if it comes again. That happens when the bot stored
an offset but stopped before its next getUpdates told Telegram, or when a retried request returns a batch
again. One number persisted in the same place as the offset keeps the dedupe exact across restarts, with no
set of ids to prune.

Caveat (Telegram's documented behaviour): after a week without updates the next id may be chosen at random.
If it is below the stored offset, a plain watermark would drop it, so :meth:`UpdateLedger.fresh` treats a
batch whose ids are *all* far below the offset (more than ``RESET_GAP``) as a reset and starts over from it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

U = TypeVar("U")

# Telegram confirms at most 100 updates per call and keeps them for 24 h; a gap this large below the offset
# cannot be an unconfirmed leftover, only a restart of the id sequence.
RESET_GAP = 1_000_000


class UpdateLedger:
    """The offset to request and to persist, and the duplicate filter derived from it."""

    def __init__(self, offset: int | None) -> None:
        self._offset = offset

    def __repr__(self) -> str:
        return f"UpdateLedger(offset={self._offset!r})"

    @property
    def offset(self) -> int | None:
        """The offset for the next getUpdates call (None: Telegram's default, the oldest unconfirmed)."""
        return self._offset

    def fresh(self, updates: Iterable[U], update_id: Callable[[U], int]) -> list[U]:
        """The updates not handed over yet, in id order, each id once.

        Drops ids below the offset (handed over before) and repeats inside the batch.
        """
        batch = sorted(updates, key=update_id)
        if (
            batch
            and self._offset is not None
            and all(update_id(update) < self._offset - RESET_GAP for update in batch)
        ):
            # Telegram restarted its id sequence (see the module docstring): everything here is new.
            self._offset = None
        seen: set[int] = set()
        result: list[U] = []
        for update in batch:
            uid = update_id(update)
            if uid in seen or (self._offset is not None and uid < self._offset):
                continue
            seen.add(uid)
            result.append(update)
        return result

    def handed_over(self, update_id: int) -> int:
        """Record that ``update_id`` was handed over; returns the offset to persist (and to request next)."""
        if self._offset is None or update_id >= self._offset:
            self._offset = update_id + 1
        return self._offset
