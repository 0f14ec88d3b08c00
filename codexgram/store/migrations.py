"""The schema, as an ordered list of migrations (pure data; applied by :mod:`codexgram.store.db`).

Rules, because a deployed file must always upgrade:
- ``PRAGMA user_version`` is the number of migrations applied. Version *n* is ``MIGRATIONS[n - 1]``.
- A migration is never edited once released; change the schema by appending one.
- All pending migrations run in ONE transaction at start: a file is either at the old or at the new version.
- A file whose version is above ``SCHEMA_VERSION`` was written by a newer codexgram and is refused
  (:class:`~codexgram.errors.DatabaseTooNew`), never "downgraded".

Times are Unix seconds (REAL). JSON columns are TEXT holding one JSON document.
"""

from __future__ import annotations

from typing import Final

import attrs

from codexgram.errors import DatabaseTooNew, MigrationError


@attrs.frozen(kw_only=True)
class Migration:
    """One step of the schema: the SQL statements that take a file from ``version - 1`` to ``version``."""

    version: int
    description: str
    statements: tuple[str, ...]


_V1_CORE: Final = Migration(
    version=1,
    description="core tables: users, workspaces, sessions, threads, approvals, audit log",
    statements=(
        """
        CREATE TABLE allowed_users (
            user_id  INTEGER PRIMARY KEY,          -- Telegram user id
            name     TEXT,                         -- a note for the operator, not used for auth
            added_at REAL NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE workspaces (
            name     TEXT PRIMARY KEY,             -- short name the user picks in the chat
            path     TEXT NOT NULL,                -- absolute host path, used as the Codex cwd
            added_at REAL NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE threads (
            thread_id  TEXT PRIMARY KEY,           -- the Codex thread id
            chat_id    INTEGER NOT NULL,
            workspace  TEXT REFERENCES workspaces(name) ON DELETE SET NULL ON UPDATE CASCADE,
            cwd        TEXT NOT NULL,              -- kept even if the workspace is removed later
            title      TEXT,
            status     TEXT NOT NULL,              -- e.g. idle, running, closed
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        ) STRICT
        """,
        "CREATE INDEX threads_by_chat ON threads(chat_id, updated_at)",
        """
        CREATE TABLE sessions (
            chat_id    INTEGER PRIMARY KEY,        -- one session per Telegram chat
            workspace  TEXT REFERENCES workspaces(name) ON DELETE SET NULL ON UPDATE CASCADE,
            thread_id  TEXT REFERENCES threads(thread_id) ON DELETE SET NULL,
            model      TEXT,
            sandbox    TEXT,
            updated_at REAL NOT NULL
        ) STRICT
        """,
        """
        CREATE TABLE pending_approvals (
            token      TEXT PRIMARY KEY,           -- unguessable id carried in the callback data
            chat_id    INTEGER NOT NULL,
            thread_id  TEXT NOT NULL REFERENCES threads(thread_id) ON DELETE CASCADE,
            request_id TEXT NOT NULL,              -- JSON of the server request's JSON-RPC id
            kind       TEXT NOT NULL,              -- e.g. command, file_change
            payload    TEXT NOT NULL,              -- JSON of what was asked
            message_id INTEGER,                    -- the Telegram message with the buttons, once sent
            created_at REAL NOT NULL
        ) STRICT
        """,
        "CREATE INDEX pending_approvals_by_thread ON pending_approvals(thread_id)",
        """
        CREATE TABLE audit_log (
            id     INTEGER PRIMARY KEY AUTOINCREMENT,
            at     REAL NOT NULL,
            actor  TEXT NOT NULL,                  -- who: 'cli:<os user>' or 'telegram:<user id>'
            action TEXT NOT NULL,                  -- what: e.g. allow-user, add-workspace
            detail TEXT NOT NULL                   -- JSON with the arguments
        ) STRICT
        """,
    ),
)

_V2_TELEGRAM: Final = Migration(
    version=2,
    description="Telegram delivery state: the update offset (and other keys) and the durable outbox",
    statements=(
        "CREATE TABLE telegram_state (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """
        CREATE TABLE outbox (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            chat_id    INTEGER NOT NULL,
            kind       TEXT NOT NULL,
            payload    TEXT NOT NULL,              -- JSON
            created_at REAL NOT NULL,
            attempts   INTEGER NOT NULL DEFAULT 0
        )
        """,
    ),
)

_V3_CONVERSATION: Final = Migration(
    version=3,
    description="the conversation: the durable inbox of updates, turns, refusal times, a session's approvals",
    statements=(
        # Every update the poller acknowledged, recorded before the acknowledgement (so a crash cannot lose
        # it) and kept until its handling took effect (so a restart resumes it, and a duplicate delivery is
        # recognised by its update id). A prompt moves new -> (waiting) -> queued -> starting -> handled.
        """
        CREATE TABLE inbox (
            update_id       INTEGER PRIMARY KEY,   -- Telegram's update id
            chat_id         INTEGER NOT NULL,
            user_id         INTEGER,               -- the sender (NULL for channel posts)
            kind            TEXT NOT NULL,         -- message, callback_query, edited_message, ...
            payload         TEXT NOT NULL,         -- the update as received (JSON)
            state           TEXT NOT NULL,         -- new, waiting, queued, starting, handled
            thread_key      TEXT,                  -- a Codex thread id, or new:<update id> while created
            card_message_id INTEGER,               -- the "queued" message shown for a prompt waiting its turn
            card_token      TEXT UNIQUE,           -- the callback token of that message's buttons
            outcome         TEXT,                  -- what handling did (e.g. 'turn <id>', 'refused')
            received_at     REAL NOT NULL,
            handled_at      REAL
        ) STRICT
        """,
        "CREATE INDEX inbox_by_chat ON inbox(chat_id, state, update_id)",
        "CREATE INDEX inbox_by_thread ON inbox(thread_key, state, update_id)",
        # One row per turn the bot started or adopted; a turn's final messages are delivered exactly once:
        # they go into the durable outbox in the same transaction that sets ``delivered``.
        """
        CREATE TABLE turns (
            turn_id             TEXT PRIMARY KEY,  -- the Codex turn id
            thread_id           TEXT NOT NULL REFERENCES threads(thread_id) ON DELETE CASCADE,
            chat_id             INTEGER NOT NULL,
            user_id             INTEGER,
            update_id           INTEGER,           -- the message that started it
            status              TEXT NOT NULL,     -- running, completed, interrupted, failed, lost
            cancel_token        TEXT NOT NULL UNIQUE,
            progress_message_id INTEGER,
            sent_items          TEXT NOT NULL DEFAULT '[]',  -- JSON: item ids already in the outbox
            tokens              INTEGER,           -- tokens the turn used, as Codex reported them
            delivered           INTEGER NOT NULL DEFAULT 0,  -- 1 once its final messages are in the outbox
            started_at          REAL NOT NULL,
            finished_at         REAL
        ) STRICT
        """,
        "CREATE INDEX turns_by_thread ON turns(thread_id, started_at)",
        "CREATE INDEX turns_undelivered ON turns(delivered, thread_id)",
        # When a user who is not allowed was last told so (the refusal is sent at most once an hour).
        "CREATE TABLE refusals (user_id INTEGER PRIMARY KEY, last_told_at REAL NOT NULL) STRICT",
        "ALTER TABLE sessions ADD COLUMN approval_policy TEXT",
    ),
)

MIGRATIONS: Final[tuple[Migration, ...]] = (_V1_CORE, _V2_TELEGRAM, _V3_CONVERSATION)
SCHEMA_VERSION: Final = len(MIGRATIONS)


def pending_migrations(current: int, migrations: tuple[Migration, ...] = MIGRATIONS) -> tuple[Migration, ...]:
    """The migrations a file at version ``current`` still needs, in order.

    Error handling: ``DatabaseTooNew`` if ``current`` is above what we know; ``MigrationError`` if the list is
    not numbered 1..n (a programming error caught by the tests) or ``current`` is negative.
    """
    for index, migration in enumerate(migrations, start=1):
        if migration.version != index:
            raise MigrationError(f"migration #{index} is numbered {migration.version}")
    if current < 0:
        raise MigrationError(f"the database has a negative schema version ({current})")
    if current > len(migrations):
        raise DatabaseTooNew(current, len(migrations))
    return migrations[current:]
