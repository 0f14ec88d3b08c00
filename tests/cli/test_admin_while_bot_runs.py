"""The admin CLI as a separate process writing the same file while the bot's repository actor is busy.

WAL, the busy timeout and BEGIN IMMEDIATE must make this safe: no "database is locked", nothing lost, and
the bot sees the CLI's changes at once, without a restart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import trio

from codexgram.actors.repository import open_repository
from codexgram.store import queries


async def test_cli_processes_and_the_bot_write_at_the_same_time(tmp_path: Path) -> None:
    db = tmp_path / "bot.sqlite3"
    env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
    env |= {"CODEXGRAM_DB": str(db), "CODEXGRAM_DATA_DIR": str(tmp_path)}
    script = str(Path(sys.executable).parent / "codexgram")
    users = [1001, 1002, 1003, 1004]

    async with open_repository(db) as repo:
        results: dict[int, subprocess.CompletedProcess[bytes]] = {}

        async def bot_writes() -> None:
            for n in range(300):
                await repo.outbox_add(chat_id=n, kind="send", payload="{}", created_at=float(n))

        async def cli(user: int) -> None:
            results[user] = await trio.run_process(
                [script, "admin", "allow-user", str(user)],
                env=env,
                cwd=tmp_path,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )

        with trio.fail_after(120):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(bot_writes)
                for user in users:
                    nursery.start_soon(cli, user)

        for user in users:
            assert results[user].returncode == 0, results[user].stderr.decode()
            assert await repo.is_user_allowed(user)  # seen by the running bot, no restart
        assert len(await repo.outbox_pending()) == 300
        audit = await repo.run(queries.list_audit)
        assert sorted(row.action for row in audit) == ["allow-user"] * len(users)
