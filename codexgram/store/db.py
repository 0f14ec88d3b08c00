"""Opening the SQLite file: permissions, connection settings, and migrations.

Every connection (the bot's repository actor and each admin CLI command) is opened with
:func:`open_database`, so they all agree on: WAL journal (readers never block the writer; the bot and the CLI
can share the file), a busy timeout (a writer waits for the other process instead of failing at once), foreign
keys on, double-quoted string literals off, ``synchronous=NORMAL`` (safe with WAL: a power cut may lose the
last commits, never corrupt the file).

Why not ``apsw.bestpractice.apply``: it installs a *process-global* connection hook with a 100 ms busy
timeout, too short for two processes sharing a file, and it would also touch every other apsw connection in
the process (tests, tools). We call the same per-connection functions explicitly instead, with our timeout.

The file (and its ``-wal``/``-shm`` companions, which SQLite creates with the main file's mode) is created
with mode 0600: it holds the allowlist and the audit log.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import apsw
import apsw.bestpractice

from codexgram.errors import MigrationError, StoreError
from codexgram.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, pending_migrations

BUSY_TIMEOUT_MS: Final = 5_000


def create_private_file(path: Path) -> None:
    """Create ``path`` with mode 0600 if it does not exist (and its directory with 0700 if missing).

    Error handling: ``StoreError`` naming the path if the directory or file cannot be created.
    """
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create the database file {path}: {exc.strerror}") from None
    try:
        os.fchmod(fd, 0o600)  # the umask may have removed bits we want; it never adds any, but be explicit
    finally:
        os.close(fd)


def configure_connection(conn: apsw.Connection) -> None:
    """Apply the per-connection settings described in the module docstring."""
    conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    apsw.bestpractice.connection_wal(conn)
    apsw.bestpractice.connection_enable_foreign_keys(conn)
    apsw.bestpractice.connection_dqs(conn)
    conn.pragma("synchronous", "NORMAL")


@contextlib.contextmanager
def immediate_transaction(conn: apsw.Connection) -> Iterator[None]:
    """One write transaction that takes the write lock at its start (``BEGIN IMMEDIATE``).

    Why immediate: a deferred transaction that reads and then writes can fail with SQLITE_BUSY when another
    process (the admin CLI) committed in between, without the busy timeout helping. Taking the lock first
    makes the busy timeout apply. Commits on success, rolls back on any exception and re-raises it.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        # SQLite rolls back by itself after some errors (e.g. disk full, I/O error); a second ROLLBACK would
        # fail and hide the error that matters.
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def schema_version(conn: apsw.Connection) -> int:
    value = conn.pragma("user_version")
    assert isinstance(value, int)
    return value


def migrate(conn: apsw.Connection, migrations: tuple[Migration, ...] = MIGRATIONS) -> int:
    """Bring the schema up to date in one transaction; return the version the file had before.

    Error handling: ``DatabaseTooNew`` (file from a newer codexgram; nothing changed), ``MigrationError`` if a
    step fails (rolled back; nothing changed).
    """
    with immediate_transaction(conn):
        before = schema_version(conn)
        steps = pending_migrations(before, migrations)
        for migration in steps:
            try:
                for statement in migration.statements:
                    conn.execute(statement)
            except apsw.Error as exc:
                raise MigrationError(
                    f"migration {migration.version} ({migration.description}) failed: {exc}"
                ) from exc
        if steps:
            # PRAGMA takes no bound parameters; the value is an int we computed, never user input.
            conn.pragma("user_version", int(steps[-1].version))
    return before


def open_database(path: Path, *, migrations: tuple[Migration, ...] = MIGRATIONS) -> apsw.Connection:
    """Open (creating with mode 0600 if needed) and migrate the SQLite file; the caller closes it.

    Blocking: call it from a worker thread in async code. Error handling: ``StoreError`` (cannot create or
    open), ``DatabaseTooNew``/``MigrationError`` (schema); the connection is closed again on any error.
    """
    create_private_file(path)
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READWRITE)
    except apsw.Error as exc:
        raise StoreError(f"cannot open the database {path}: {exc}") from None
    try:
        configure_connection(conn)
        migrate(conn, migrations)
    except apsw.Error as exc:
        conn.close()
        raise StoreError(f"cannot use the database {path}: {exc}") from None
    except BaseException:
        conn.close()
        raise
    return conn


__all__ = [
    "BUSY_TIMEOUT_MS",
    "SCHEMA_VERSION",
    "configure_connection",
    "create_private_file",
    "immediate_transaction",
    "migrate",
    "open_database",
    "schema_version",
]
