"""Migrations: the pure list, and applying it to real files from every earlier version."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import apsw
import pytest

from codexgram.errors import DatabaseTooNew, MigrationError, StoreError
from codexgram.store.db import configure_connection, migrate, open_database, schema_version
from codexgram.store.migrations import MIGRATIONS, SCHEMA_VERSION, Migration, pending_migrations

# --- the pure list -----------------------------------------------------------------------------------------


def test_migrations_are_numbered_one_to_n() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert SCHEMA_VERSION >= 2


def test_pending_migrations_from_each_version() -> None:
    for current in range(SCHEMA_VERSION + 1):
        assert pending_migrations(current) == MIGRATIONS[current:]


def test_a_newer_file_is_refused() -> None:
    with pytest.raises(DatabaseTooNew) as caught:
        pending_migrations(SCHEMA_VERSION + 1)
    assert caught.value.found == SCHEMA_VERSION + 1
    assert "upgrade codexgram" in str(caught.value)


def test_a_misnumbered_list_and_a_negative_version_are_errors() -> None:
    broken = (MIGRATIONS[0], Migration(version=3, description="gap", statements=()))
    with pytest.raises(MigrationError, match="numbered 3"):
        pending_migrations(0, broken)
    with pytest.raises(MigrationError, match="negative"):
        pending_migrations(-1)


# --- applied to files --------------------------------------------------------------------------------------


def schema_of(conn: apsw.Connection) -> list[tuple[str, str, str]]:
    """Every table/index and its SQL, normalised for whitespace, for comparing schemas."""
    return [
        (str(kind), str(name), " ".join(str(sql).split()))
        for kind, name, sql in conn.execute(
            "SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL ORDER BY type, name"
        )
    ]


def test_from_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "new.sqlite3"
    conn = open_database(path)
    try:
        assert schema_version(conn) == SCHEMA_VERSION
        tables = {name for kind, name, _ in schema_of(conn) if kind == "table"}
        assert {
            "allowed_users",
            "workspaces",
            "sessions",
            "threads",
            "pending_approvals",
            "audit_log",
            "telegram_state",
            "outbox",
        } <= tables
        columns = [row[1] for row in conn.execute("PRAGMA table_info(outbox)")]
        assert columns == ["id", "chat_id", "kind", "payload", "created_at", "attempts"]
        assert [row[1] for row in conn.execute("PRAGMA table_info(telegram_state)")] == ["key", "value"]
    finally:
        conn.close()


@pytest.mark.parametrize("start", range(SCHEMA_VERSION))
def test_from_every_earlier_version_keeps_data_and_matches_a_fresh_schema(tmp_path: Path, start: int) -> None:
    old = tmp_path / "old.sqlite3"
    conn = open_database(old, migrations=MIGRATIONS[:start])  # a file as an older codexgram left it
    if start >= 1:
        conn.execute("INSERT INTO allowed_users(user_id, name, added_at) VALUES (42, 'dev', 1.0)")
        conn.execute("INSERT INTO workspaces(name, path, added_at) VALUES ('demo', '/srv/demo', 1.0)")
    assert schema_version(conn) == start
    conn.close()

    conn = open_database(old)
    fresh = open_database(tmp_path / "fresh.sqlite3")
    try:
        assert schema_version(conn) == SCHEMA_VERSION
        assert schema_of(conn) == schema_of(fresh)
        if start >= 1:
            assert conn.execute("SELECT user_id, name FROM allowed_users").fetchall() == [(42, "dev")]
            assert conn.execute("SELECT name, path FROM workspaces").fetchall() == [("demo", "/srv/demo")]
    finally:
        conn.close()
        fresh.close()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "db.sqlite3")
    try:
        before = schema_of(conn)
        assert migrate(conn) == SCHEMA_VERSION
        assert schema_of(conn) == before
    finally:
        conn.close()


def test_a_failing_migration_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    open_database(path, migrations=MIGRATIONS[:1]).close()
    broken = (
        *MIGRATIONS,
        Migration(
            version=SCHEMA_VERSION + 1,
            description="half good, half broken",
            statements=("CREATE TABLE extra (x INTEGER)", "THIS IS NOT SQL"),
        ),
    )
    with pytest.raises(MigrationError, match=f"migration {SCHEMA_VERSION + 1}"):
        open_database(path, migrations=broken)
    conn = apsw.Connection(str(path))
    try:
        # All of v2..v3 were one transaction: still at v1, none of v2's or v3's tables exist.
        assert schema_version(conn) == 1
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema")}
        assert "outbox" not in names
        assert "extra" not in names
    finally:
        conn.close()


def test_a_too_new_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    conn = open_database(path)
    conn.pragma("user_version", SCHEMA_VERSION + 5)
    conn.close()
    with pytest.raises(DatabaseTooNew):
        open_database(path)
    conn = apsw.Connection(str(path))
    try:
        assert schema_version(conn) == SCHEMA_VERSION + 5
    finally:
        conn.close()


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not a database file, just some text that is long enough" * 20)
    with pytest.raises(StoreError, match=r"junk\.sqlite3"):
        open_database(path)


# --- connection settings and file mode ---------------------------------------------------------------------


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_file_and_its_wal_and_shm_are_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "db.sqlite3"
    conn = open_database(path)
    try:
        conn.execute("INSERT INTO telegram_state VALUES ('k', 'v')")  # makes SQLite write the WAL
        assert mode_of(path) == 0o600
        assert mode_of(Path(f"{path}-wal")) == 0o600
        assert mode_of(Path(f"{path}-shm")) == 0o600
        assert mode_of(path.parent) == 0o700
    finally:
        conn.close()


def test_connection_settings(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "db.sqlite3")
    try:
        assert conn.pragma("journal_mode") == "wal"
        assert conn.pragma("foreign_keys") == 1
        assert conn.pragma("busy_timeout") == 5000
        assert conn.pragma("synchronous") == 1  # NORMAL
        with pytest.raises(apsw.SQLError):  # double-quoted strings are identifiers only
            conn.execute('SELECT "no such column"')
    finally:
        conn.close()


def test_foreign_keys_are_enforced(tmp_path: Path) -> None:
    conn = open_database(tmp_path / "db.sqlite3")
    try:
        with pytest.raises(apsw.ConstraintError):
            conn.execute("INSERT INTO sessions(chat_id, workspace, updated_at) VALUES (1, 'missing', 0)")
    finally:
        conn.close()


def test_two_processes_opening_an_old_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    """The bot and the admin CLI may both start on an old file: BEGIN IMMEDIATE serialises the upgrade."""
    path = tmp_path / "db.sqlite3"
    open_database(path, migrations=MIGRATIONS[:1]).close()
    errors: list[BaseException] = []
    versions_before: list[int] = []
    barrier = threading.Barrier(4)

    def opener() -> None:
        try:
            conn = apsw.Connection(str(path))
            configure_connection(conn)
            barrier.wait()
            versions_before.append(migrate(conn))
            conn.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    # Exactly one connection found the file at v1 and upgraded it; the others found it done.
    assert sorted(versions_before) == [1, SCHEMA_VERSION, SCHEMA_VERSION, SCHEMA_VERSION]
