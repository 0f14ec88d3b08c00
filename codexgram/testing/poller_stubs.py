"""An in-memory stand-in for the poller's offset store (the repository actor keeps it in SQLite)."""

from __future__ import annotations

import trio


class MemoryOffsets:
    """Holds the update offset in memory; ``writes`` records every offset stored, in order."""

    def __init__(self, offset: int | None = None) -> None:
        self.offset = offset
        self.writes: list[int] = []

    async def get_update_offset(self) -> int | None:
        await trio.lowlevel.checkpoint()
        return self.offset

    async def set_update_offset(self, offset: int) -> None:
        await trio.lowlevel.checkpoint()
        self.offset = offset
        self.writes.append(offset)
