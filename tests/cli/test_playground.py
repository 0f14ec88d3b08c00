"""`codexgram playground`: the mock model, the real codex app-server, the fake Telegram and the bot in one
trio run, the terminal as an allowlisted user's chat, and everything cleaned up at the end.

Most tests call :func:`run_playground` in-process with a memory stream as stdin and a list as the terminal;
the last ones run the console script as a user does. They use the real, pinned codex binary
(``CODEXGRAM_CODEX_BIN`` or the npm install in ``.cache/codex``; they fail, never skip, without npm).
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path

import pytest
import trio
import trio.testing

from codexgram.cli import playground as playground_module
from codexgram.cli.playground import (
    AUDIT_ACTOR,
    PLAYGROUND_USER_ID,
    WORKSPACE_NAME,
    Playground,
    PlaygroundError,
    run_playground,
)
from codexgram.store import queries
from codexgram.store.db import open_database
from codexgram.testing import codex_server
from codexgram.testing.codex_server import BIN_ENV, AppServerError, find_codex_binary

pytestmark = pytest.mark.integration

START_WITHIN = 60.0  # codex may take a while to open its socket on a loaded machine
STOP_WITHIN = 30.0
ANSWER_WITHIN = 30.0  # a bot answer, or the mock model's through codex and the bot
# End of input stops the bot in order (its stop event), well within its per-actor SHUTDOWN_TIMEOUT (15 s).
STOP_PROMPTLY = 10.0


@pytest.fixture(scope="module")
def codex_bin() -> Path:
    try:
        return find_codex_binary()
    except AppServerError as exc:
        pytest.fail(str(exc), pytrace=False)


def allowlist_of(db: Path) -> tuple[list[int], list[tuple[str, str]]]:
    """The allowed user ids and the (name, path) of each workspace."""
    conn = open_database(db)
    try:
        with conn:
            users, workspaces = queries.list_users(conn), queries.list_workspaces(conn)
    finally:
        conn.close()
    return [u.user_id for u in users], [(w.name, w.path) for w in workspaces]


def audit_of(db: Path) -> list[tuple[str, str, dict[str, object]]]:
    conn = open_database(db)
    try:
        with conn:
            rows = queries.list_audit(conn)
    finally:
        conn.close()
    return [(row.actor, row.action, json.loads(row.detail)) for row in rows]


async def wait_for_log(playground: Playground, text: str, *, count: int = 1) -> None:
    """Until the playground's log holds ``text`` ``count`` times (the log of a reused directory grows)."""
    with trio.fail_after(STOP_WITHIN):
        while playground.log_path.read_text().count(text) < count:
            await trio.sleep(0.05)


def group_is_gone(pid: int) -> bool:
    """No process is left in the app-server's process group (npm's node wrapper and the native codex)."""
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def wait_group_gone(pid: int | None) -> None:
    """The app-server's group empties soon after its stop: the native codex, a child of npm's wrapper, is
    SIGKILLed with the group but reaped by init, not by us (until then it is a zombie, which still counts)."""
    assert pid is not None
    with trio.fail_after(10):
        while not group_is_gone(pid):
            await trio.sleep(0.05)


async def test_playground_runs_the_bot_and_cleans_up_at_end_of_input(codex_bin: Path) -> None:
    typing, stdin = trio.testing.memory_stream_one_way_pair()
    terminal: list[str] = []
    with trio.fail_after(START_WITHIN + STOP_WITHIN):
        async with trio.open_nursery() as nursery:
            playground: Playground = await nursery.start(
                partial(run_playground, stdin=stdin, write=terminal.append, codex_bin=codex_bin)
            )
            fake = playground.fake
            # The bot logged in to the fake with the playground's token, and got as far as running.
            assert [call.ok for call in fake.calls("getMe")] == [True]
            await wait_for_log(playground, "codexgram is running")
            log = playground.log_path.read_text()
            assert "connected to codex app-server" in log
            assert fake.token not in log

            # The user and the scratch workspace are allowlisted, as `codexgram admin` does it (audited).
            assert allowlist_of(playground.db_path) == (
                [PLAYGROUND_USER_ID],
                [(WORKSPACE_NAME, str(playground.workspace))],
            )
            assert audit_of(playground.db_path) == [
                (AUDIT_ACTOR, "allow-user", {"user_id": PLAYGROUND_USER_ID, "name": "playground"}),
                (AUDIT_ACTOR, "add-workspace", {"name": WORKSPACE_NAME, "path": str(playground.workspace)}),
            ]
            assert playground.workspace.is_dir()
            assert playground.workspace.is_relative_to(playground.directory)
            assert playground.settings.telegram_api_url == fake.base_url
            assert playground.settings.codex_socket == playground.socket_path

            # The banner says what runs, where things are and how to chat and stop.
            shown = "\n".join(terminal)
            for expected in (
                str(PLAYGROUND_USER_ID),
                str(playground.log_path),
                str(playground.workspace),
                "!press <message id> <button number>",
                "Ctrl-C or Ctrl-D",
                "no Telegram token",
                f"removes {playground.directory}",
            ):
                assert expected in shown

            # A typed line is a message from the user in their private chat.
            await typing.send_all(b"hello from the test\n")
            with trio.fail_after(STOP_WITHIN):
                while not any(
                    not m.from_bot and m.text == "hello from the test"
                    for m in fake.messages(PLAYGROUND_USER_ID)
                ):
                    await trio.sleep(0.02)
            pid = playground.app_server.pid
            assert pid is not None
            assert not group_is_gone(pid)
            assert playground.socket_path.exists()

            await typing.aclose()  # Ctrl-D
        # run_playground returned (the nursery closed) ...

    # ... and left nothing behind: no directory, no app-server, no socket.
    assert not playground.directory.exists()
    assert not playground.app_server.running
    await wait_group_gone(pid)
    assert not playground.socket_path.exists()
    assert not playground.socket_path.parent.exists()
    assert terminal[-2:] == [
        "end of input: stopping the playground...",
        f"playground stopped; removed {playground.directory}",
    ]


async def wait_for_bot_line(terminal: list[str], *texts: str) -> str:
    """The first message of the bot shown in the terminal (``[bot #<id>] ...``) holding every one of
    ``texts``; fails after ANSWER_WITHIN seconds."""
    with trio.fail_after(ANSWER_WITHIN):
        while True:
            for line in terminal:
                if line.startswith("[bot #") and all(text in line for text in texts):
                    return line
            await trio.sleep(0.02)


def message_id(line: str) -> int:
    found = re.match(r"\[bot #(\d+)", line)
    assert found is not None, line
    return int(found.group(1))


async def test_the_bot_answers_start_in_the_playground(codex_bin: Path, tmp_path: Path) -> None:
    directory = tmp_path / "pg"  # given, so the log is still there after the end
    typing, stdin = trio.testing.memory_stream_one_way_pair()
    terminal: list[str] = []
    with trio.fail_after(START_WITHIN + 3 * ANSWER_WITHIN + STOP_WITHIN):
        async with trio.open_nursery() as nursery:
            playground: Playground = await nursery.start(
                partial(
                    run_playground,
                    directory=directory,
                    stdin=stdin,
                    write=terminal.append,
                    codex_bin=codex_bin,
                )
            )
            # /start: the bot answers in the terminal, with the playground user's id.
            await typing.send_all(b"/start\n")
            start = await wait_for_bot_line(terminal, "Your Telegram user id", str(PLAYGROUND_USER_ID))
            assert "Workspace: none chosen" in start

            # A plain prompt: the bot asks for the workspace (keeping the message), shown with its button...
            await typing.send_all(b"hello\n")
            picker = await wait_for_bot_line(terminal, "Your message is kept")
            assert terminal[terminal.index(picker) + 1 :][:1] == [f"    (1) {WORKSPACE_NAME}"]
            # ... pressed from the terminal; then the mock model's answer streams in through codex.
            await typing.send_all(f"!press {message_id(picker)} 1\n".encode())
            await wait_for_bot_line(terminal, "You said: hello")
            assert playground.model.user_texts() == ["hello"]
            assert not any(line.startswith(("no bot message", "message #")) for line in terminal)  # pressed

            # Ctrl-D: the bot's own orderly shutdown (its stop event), promptly; then everything else.
            await typing.aclose()
            ctrl_d = trio.current_time()
        stopped_after = trio.current_time() - ctrl_d

    assert stopped_after < STOP_PROMPTLY
    assert terminal[-2:] == [
        "end of input: stopping the playground...",
        f"playground stopped; its files are in {directory} (the log: {playground.log_path})",
    ]
    assert "the bot stopped: stopping the playground..." not in terminal  # it was asked to
    log = playground.log_path.read_text()
    after_end = log[log.index("playground: end of input") :]
    assert "shutting down" in after_end  # run_bot's orderly path, not a cancellation from outside
    assert "playground: the bot stopped" in after_end
    assert "did not stop" not in log
    assert "Traceback" not in log
    assert " ERROR " not in log
    assert " CRITICAL " not in log
    assert playground.fake.token not in log
    await wait_group_gone(playground.app_server.pid)
    assert not playground.socket_path.exists()


async def test_a_given_directory_is_reused_and_ctrl_c_stops_the_bot_in_order(
    codex_bin: Path, tmp_path: Path
) -> None:
    directory = tmp_path / "pg"

    # First run, ended by end of input.
    typing, stdin = trio.testing.memory_stream_one_way_pair()
    terminal: list[str] = []
    with trio.fail_after(START_WITHIN + STOP_WITHIN):
        async with trio.open_nursery() as nursery:
            first: Playground = await nursery.start(
                partial(
                    run_playground,
                    directory=directory,
                    stdin=stdin,
                    write=terminal.append,
                    codex_bin=codex_bin,
                )
            )
            assert f"leaves {directory} in place" in "\n".join(terminal)
            await wait_for_log(first, "codexgram is running")
            await typing.aclose()
    assert first.db_path.exists()  # a given directory stays
    await wait_group_gone(first.app_server.pid)

    # Second run in the same directory: nothing is allowlisted twice; Ctrl-C (SIGINT) ends it.
    _typing, stdin = trio.testing.memory_stream_one_way_pair()
    terminal = []
    with trio.fail_after(START_WITHIN + STOP_WITHIN):
        async with trio.open_nursery() as nursery:
            second: Playground = await nursery.start(
                partial(
                    run_playground,
                    directory=directory,
                    stdin=stdin,
                    write=terminal.append,
                    codex_bin=codex_bin,
                )
            )
            await wait_for_log(second, "codexgram is running", count=2)  # this run's line
            # The bot's own signal receiver is open now (it logged that it runs): it stops in order.
            signal.raise_signal(signal.SIGINT)

    assert [action for _, action, _ in audit_of(second.db_path)] == ["allow-user", "add-workspace"]
    assert allowlist_of(second.db_path) == (
        [PLAYGROUND_USER_ID],
        [(WORKSPACE_NAME, str(directory / "workspace"))],
    )
    assert "the bot stopped: stopping the playground..." in terminal
    assert terminal[-1] == f"playground stopped; its files are in {directory} (the log: {second.log_path})"
    await wait_group_gone(second.app_server.pid)
    assert not second.socket_path.exists()
    log = second.log_path.read_text()
    assert log.count("codexgram is running") == 2
    assert "received SIGINT" in log
    assert "shutting down" in log
    assert "Traceback" not in log
    assert " ERROR " not in log
    assert " CRITICAL " not in log
    assert second.fake.token not in log


def failing_codex(tmp_path: Path) -> Path:
    script = tmp_path / "codex"
    script.write_text("#!/bin/sh\necho 'boom: this codex cannot serve' >&2\nexit 3\n")
    script.chmod(0o755)
    return script


async def test_a_codex_that_cannot_start_is_one_error_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    codex = failing_codex(tmp_path)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))  # where the playground and socket dirs go
    terminal: list[str] = []
    with trio.fail_after(STOP_WITHIN), pytest.raises(PlaygroundError) as caught:
        await run_playground(
            stdin=trio.testing.memory_stream_one_way_pair()[1], write=terminal.append, codex_bin=codex
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"codex app-server ({codex}) did not start: codex app-server exited with 3")
    assert message.endswith("(codex said: boom: this codex cannot serve)")
    assert list(scratch.iterdir()) == []  # the playground directory and the socket directory are gone
    assert terminal[-1].startswith("playground stopped; removed ")


async def test_without_codex_or_npm_it_says_how_to_install_codex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(BIN_ENV, raising=False)
    monkeypatch.setattr(codex_server, "default_cache_dir", lambda: tmp_path / "cache")  # nothing installed
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no npm
    terminal: list[str] = []
    with trio.fail_after(STOP_WITHIN), pytest.raises(AppServerError) as caught:
        await run_playground(
            directory=tmp_path / "pg",
            stdin=trio.testing.memory_stream_one_way_pair()[1],
            write=terminal.append,
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("npm is not on PATH")
    assert f"npm install --prefix {tmp_path / 'cache'} @openai/codex@" in message
    assert not (tmp_path / "cache").exists()
    assert not any("installing" in line for line in terminal)


async def test_a_port_that_cannot_be_bound_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def cannot_listen(**_: object) -> None:
        raise OSError(errno.EADDRNOTAVAIL, "Cannot assign requested address")

    monkeypatch.setattr(playground_module, "run_mock_model", cannot_listen)
    terminal: list[str] = []
    with trio.fail_after(STOP_WITHIN), pytest.raises(PlaygroundError) as caught:
        await run_playground(
            directory=tmp_path / "pg",
            stdin=trio.testing.memory_stream_one_way_pair()[1],
            write=terminal.append,
            codex_bin=tmp_path / "never-run",
        )
    assert str(caught.value) == (
        "cannot start the mock model on 127.0.0.1: Cannot assign requested address "
        "(is the loopback interface up?)"
    )
    assert terminal[-1].startswith("playground stopped;")


def console_script() -> str:
    script = Path(sys.executable).parent / "codexgram"
    assert script.exists(), "the console script is not installed; run `uv sync`"
    return str(script)


def script_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
    env.update(extra)
    return env


def test_help_says_no_token_is_needed(tmp_path: Path) -> None:
    result = subprocess.run(
        [console_script(), "playground", "--help"],
        env=script_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "no Telegram token and no OpenAI account needed" in text
    assert "--dir" in text
    assert "--keep" in text


def test_the_console_script_runs_until_end_of_input(codex_bin: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        [console_script(), "playground"],
        env=script_env(CODEXGRAM_CODEX_BIN=str(codex_bin)),
        cwd=tmp_path,
        input="hello\n",  # then end of input
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == ""  # the logs go to the file, not the terminal
    lines = result.stdout.splitlines()
    assert any(line.startswith("You are Telegram user 1001") for line in lines)
    assert lines[-2] == "end of input: stopping the playground..."
    removed = lines[-1].removeprefix("playground stopped; removed ")
    assert removed != lines[-1]
    assert not Path(removed).exists()


def test_the_console_script_says_in_one_line_when_codex_cannot_start(tmp_path: Path) -> None:
    result = subprocess.run(
        [console_script(), "playground"],
        env=script_env(CODEXGRAM_CODEX_BIN=str(failing_codex(tmp_path))),
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = result.stderr.splitlines()
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error: codex app-server (")
    assert "boom: this codex cannot serve" in errors[0]
