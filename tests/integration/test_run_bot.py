"""`codexgram run` as a user runs it: the real console script in its own process, wired to the fake Bot API
server (which validates every request it makes) and to the real codex app-server.

It proves the wiring of ``codexgram/app.py``: the token is checked with getMe, the outbox delivers at start
what an earlier run left in the durable outbox table, the Codex link connects, and SIGTERM stops it all with
exit status 0 and the table empty.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import trio

from codexgram.messages import SendMessage
from codexgram.store.db import open_database
from codexgram.store.queries import outbox_add, outbox_pending
from codexgram.telegram.outbox_requests import to_record
from codexgram.testing.bot_process import bot_env
from codexgram.testing.codex_server import AppServer
from codexgram.testing.fake_telegram.fixture import fake_telegram  # noqa: F401  (the fixture)
from codexgram.testing.fake_telegram.server import FakeTelegram

CHAT = 1001
LEFT_OVER = "left over from the last run"


def leave_a_durable_message(db: Path) -> None:
    """What a bot killed between enqueue and delivery leaves behind."""
    kind, payload = to_record(SendMessage(chat_id=CHAT, text=LEFT_OVER, durable=True))
    conn = open_database(db)
    try:
        with conn:
            outbox_add(conn, chat_id=CHAT, kind=kind, payload=payload, created_at=time.time())
    finally:
        conn.close()


async def test_run_wires_telegram_and_codex_and_stops_cleanly(
    fake_telegram: FakeTelegram,  # noqa: F811  (the fixture)
    app_server: AppServer,
    tmp_path: Path,
) -> None:
    fake = fake_telegram
    fake.ensure_chat(CHAT)
    db = tmp_path / "data" / "bot.sqlite3"
    leave_a_durable_message(db)
    stderr = bytearray()

    async def collect(stream: trio.abc.ReceiveStream) -> None:
        async for chunk in stream:
            stderr.extend(chunk)

    script = Path(sys.executable).parent / "codexgram"
    process = await trio.lowlevel.open_process(
        [str(script), "run"],
        env=bot_env(tmp_path / "data", fake, app_server.socket_path),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        async with trio.open_nursery() as nursery:
            assert process.stderr is not None
            nursery.start_soon(collect, process.stderr)
            with trio.fail_after(30):
                await fake.wait_until(lambda: any(m.text == LEFT_OVER for m in fake.bot_messages(CHAT)))
                while b"codexgram is running" not in stderr:
                    await trio.sleep(0.05)
            process.send_signal(signal.SIGTERM)
            with trio.fail_after(30):
                await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    log = stderr.decode("utf-8", "replace")
    assert process.returncode == 0, log
    assert "logged in to Telegram as @" in log
    assert "connected to codex app-server 0.169.0" in log
    assert "Traceback" not in log
    assert fake.token not in log
    assert [m.text for m in fake.bot_messages(CHAT)] == [LEFT_OVER]  # delivered once
    assert [c.method for c in fake.calls()][:1] == ["getMe"]
    conn = open_database(db)
    try:
        assert outbox_pending(conn) == []  # removed after delivery
    finally:
        conn.close()


async def test_run_refuses_a_token_telegram_rejects(
    fake_telegram: FakeTelegram,  # noqa: F811  (the fixture)
    tmp_path: Path,
) -> None:
    env = bot_env(tmp_path / "data", fake_telegram, tmp_path / "no-codex.sock")
    env["CODEXGRAM_TELEGRAM_TOKEN"] = "123456:" + "A" * 35  # well-formed, but not the fake's
    script = Path(sys.executable).parent / "codexgram"
    with trio.fail_after(60):
        result = await trio.run_process(
            [str(script), "run"], env=env, cwd=tmp_path, capture_stdout=True, capture_stderr=True, check=False
        )
    err = result.stderr.decode()
    assert result.returncode == 2, err
    assert "CODEXGRAM_TELEGRAM_TOKEN" in err
    assert "401" in err
    assert "Traceback" not in err
    assert "A" * 35 not in err
