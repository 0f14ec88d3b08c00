"""One bot process per token per machine: a lock file named by a fingerprint of the token.

Two processes polling with one token steal each other's updates (Telegram answers the older poller with 409).
Before polling, the bot takes an exclusive ``fcntl.flock`` on ``<lock_dir>/codexgram-<fingerprint>.lock``;
a second process on the same token finds it taken and is refused with :class:`InstanceLocked`.

The fingerprint is the first 12 hex characters of ``sha256(token)``: enough to tell tokens apart, useless to
recover the token from. The lock lives as long as the open file: released by :meth:`InstanceLock.release`, by
leaving the ``with`` block, or by the kernel when the process dies (so a crash never leaves a stale lock).
The file is not deleted on release: deleting a lock file races with another process that just opened it.

Synchronous on purpose (no trio): it is taken once, at start, before any task runs; flock with ``LOCK_NB``
never blocks.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path
from types import TracebackType

from codexgram.config import Secret
from codexgram.errors import InstanceLocked


def lock_path_for(lock_dir: Path, token: Secret) -> Path:
    return lock_dir / f"codexgram-{token.fingerprint()}.lock"


class InstanceLock:
    """A held instance lock. Create it with :func:`acquire_instance_lock`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def __repr__(self) -> str:
        state = "held" if self._fd is not None else "released"
        return f"<InstanceLock {self.path.name} {state}>"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Give the lock up (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self) -> InstanceLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def acquire_instance_lock(lock_dir: Path, token: Secret) -> InstanceLock:
    """Take the lock for ``token`` in ``lock_dir`` (created, mode 0700, if missing).

    Only the token's fingerprint is used; the token itself is never written anywhere.

    Error handling: :class:`InstanceLocked` if another process (or another open lock in this process) holds
    it, with a message naming the fingerprint and the pid written by the holder; ``OSError`` if the directory
    or file cannot be created.
    """
    fingerprint = token.fingerprint()
    lock_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = lock_path_for(lock_dir, token)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = _read_holder(fd)
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            who = f" (pid {holder})" if holder else ""
            raise InstanceLocked(
                f"another codexgram instance{who} is already running with this bot token "
                f"(token fingerprint {fingerprint}, lock {path}); stop it first - two pollers on one token "
                "steal each other's updates"
            ) from None
        raise
    # We hold it: record our pid for the message the next contender will see.
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return InstanceLock(path, fd)


def _read_holder(fd: int) -> str:
    try:
        return os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return ""
