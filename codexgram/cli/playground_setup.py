"""What ``codexgram playground`` prepares before anything runs: its directory, its log file, the bot's
settings and the allowlist in the bot's database.

Everything here is about files (no trio, no servers): :func:`make_directory` makes or checks the playground
directory, :func:`logging_to` sends the log there, :func:`playground_settings` points the bot at the fake
Telegram, the app-server's socket and a data directory of its own, and :func:`allowlist` allows the
playground's user and workspace the way ``codexgram admin`` does (blocking: run it in a worker thread).
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Final

from codexgram.config import Secret, Settings
from codexgram.errors import CodexgramError
from codexgram.logging_setup import configure_logging
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.testing.fake_telegram import FakeTelegram
from codexgram.workspace_paths import validate_workspace_name, validate_workspace_path

PLAYGROUND_USER_ID: Final = 1001
PLAYGROUND_USER_NAME: Final = "playground"
WORKSPACE_NAME: Final = "playground"
AUDIT_ACTOR: Final = "playground"
LOG_FILE: Final = "playground.log"
LOG_LEVEL: Final = "INFO"
TEMP_PREFIX: Final = "codexgram-playground-"


class PlaygroundError(CodexgramError):
    """The playground could not be set up (a port, the directory, the app-server); the message is one line."""


def make_directory(directory: Path | None) -> tuple[Path, bool]:
    """The playground directory and whether it is a temporary one (ours to remove)."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix=TEMP_PREFIX)), True
    root = Path(os.path.abspath(directory))
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise PlaygroundError(f"cannot create the playground directory {root}: {exc.strerror}") from None
    if not os.access(root, os.W_OK):
        raise PlaygroundError(f"cannot write in the playground directory {root}")
    return root, False


def fake_token() -> str:
    """A token for the fake, made here so the log's redacting filter knows it before anything logs."""
    return f"{secrets.randbelow(9 * 10**9) + 10**9}:FAKE{secrets.token_urlsafe(24)}"


@contextlib.contextmanager
def logging_to(path: Path, *, redact: list[str]) -> Iterator[None]:
    """Send every log record (redacted) to ``path`` instead of the terminal, for as long as this lasts.

    Uses :func:`codexgram.logging_setup.configure_logging` with the file as its stream; afterwards the root
    logger gets back its level and any codexgram handler that function replaced.
    """
    root_logger = logging.getLogger()
    previous_level = root_logger.level
    replaced = [h for h in root_logger.handlers if getattr(h, "_codexgram", False)]
    with path.open("a", encoding="utf-8") as stream:
        handler = configure_logging(LOG_LEVEL, secrets=redact, stream=stream)
        try:
            yield
        finally:
            root_logger.removeHandler(handler)
            handler.close()
            root_logger.setLevel(previous_level)
            for old in replaced:
                root_logger.addHandler(old)


def playground_settings(root: Path, *, fake: FakeTelegram, socket_path: Path, codex_bin: Path) -> Settings:
    """The bot's settings: the fake Telegram, the app-server's socket, a data directory under ``root``."""
    data = root / "data"
    return Settings(
        telegram_token=Secret(fake.token),
        telegram_api_url=fake.base_url,
        data_dir=data,
        db_path=data / "codexgram.sqlite3",
        upload_dir=data / "uploads",
        codex_socket=socket_path,
        codex_bin=codex_bin,
        log_level=LOG_LEVEL,
    )


def allowlist(db_path: Path, *, user_id: int, workspace_name: str, workspace: Path) -> None:
    """Allow ``user_id`` and add the workspace, as ``codexgram admin allow-user`` / ``add-workspace`` do:
    validated the same way, each change and its audit row in ONE transaction. What is there already (a
    reused ``--dir``) is left alone; a workspace of that name elsewhere is an error.

    Blocking (SQLite): call it from a worker thread in async code.
    """
    name = validate_workspace_name(workspace_name)
    path = validate_workspace_path(str(workspace)).path
    conn = open_database(db_path)
    try:
        with immediate_transaction(conn):
            if not queries.is_user_allowed(conn, user_id):
                now = time.time()
                queries.allow_user(conn, user_id=user_id, name=PLAYGROUND_USER_NAME, at=now)
                detail = {"user_id": user_id, "name": PLAYGROUND_USER_NAME}
                queries.write_audit(conn, actor=AUDIT_ACTOR, action="allow-user", detail=detail, at=now)
        with immediate_transaction(conn):
            existing = queries.get_workspace(conn, name)
            if existing is None:
                now = time.time()
                queries.add_workspace(conn, name=name, path=path, at=now)
                detail = {"name": name, "path": path}
                queries.write_audit(conn, actor=AUDIT_ACTOR, action="add-workspace", detail=detail, at=now)
            elif existing.path != path:
                raise PlaygroundError(
                    f"the database {db_path} has a workspace {name!r} at {existing.path}, not {path}: "
                    "use another --dir"
                )
    finally:
        conn.close()
