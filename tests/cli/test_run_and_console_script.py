"""`codexgram run` (without and with a token) and the real console script in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from codexgram.cli.main import app
from codexgram.store.db import open_database
from codexgram.store.migrations import SCHEMA_VERSION

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
REPO_ROOT = Path(__file__).resolve().parents[2]


def isolated_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
    env["CODEXGRAM_DATA_DIR"] = str(tmp_path / "data")
    env["CODEXGRAM_DB"] = str(tmp_path / "data" / "bot.sqlite3")
    env.update(extra)
    return env


def console_script() -> list[str]:
    """The installed `codexgram` entry point of this environment (what `uv run codexgram` runs)."""
    script = Path(sys.executable).parent / "codexgram"
    assert script.exists(), "the console script is not installed; run `uv sync`"
    return [str(script)]


def run_to_end(command: list[str], *, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run a command to its end, output captured as text; 2 minutes at most (`uv run` may build first)."""
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120)


def test_run_without_a_token_says_what_to_do(cli_env: Path) -> None:
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert "@BotFather" in result.stderr
    assert "/newbot" in result.stderr
    assert "CODEXGRAM_TELEGRAM_TOKEN" in result.stderr
    assert "Traceback" not in result.output
    assert not cli_env.exists()  # nothing was started


def test_run_with_a_bad_token_names_the_key_without_echoing_it(
    cli_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODEXGRAM_TELEGRAM_TOKEN", TOKEN + "!")
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CODEXGRAM_TELEGRAM_TOKEN: ")
    assert TOKEN not in result.output


def test_run_refuses_a_too_new_database_in_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    conn = open_database(cli_env)
    conn.pragma("user_version", 99)
    conn.close()
    monkeypatch.setenv("CODEXGRAM_TELEGRAM_TOKEN", TOKEN)
    result = CliRunner().invoke(app, ["run"])
    assert result.exit_code == 1
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1
    assert "schema version 99" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_starts_and_stops_cleanly_on_a_signal(tmp_path: Path, stop_signal: signal.Signals) -> None:
    # Telegram unreachable on purpose (a closed local port: refused at once, never the real service): the bot
    # still starts (the outbox retries later) and stops cleanly. tests/integration/test_run_bot.py runs it
    # against the fake Bot API and the real codex app-server.
    env = isolated_env(
        tmp_path,
        CODEXGRAM_TELEGRAM_TOKEN=TOKEN,
        CODEXGRAM_LOG_LEVEL="DEBUG",
        CODEXGRAM_TELEGRAM_API_URL="http://127.0.0.1:9",
    )
    process = subprocess.Popen(
        [*console_script(), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    assert process.stderr is not None
    assert process.stdout is not None
    stderr_stream, stdout_stream = process.stderr, process.stdout

    def pump_stderr() -> None:  # read as it comes, to see when the bot is running
        for line in stderr_stream:
            lines.append(line)

    reader = threading.Thread(target=pump_stderr, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 30
        while not any("codexgram is running" in line for line in list(lines)):
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "the bot did not start:\n" + "".join(lines)
            time.sleep(0.05)
        process.send_signal(stop_signal)
        process.wait(timeout=30)
        reader.join(timeout=10)
        stdout = stdout_stream.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    stderr = "".join(lines)
    db = tmp_path / "data" / "bot.sqlite3"
    assert process.returncode == 0, stderr
    assert "codexgram is running" in stderr
    assert "could not reach Telegram to check the token" in stderr
    assert "codex app-server is not reachable" in stderr  # no codex here: a warning, not a failed start
    assert f"received {stop_signal.name}" in stderr
    assert "stopped" in stderr
    assert "Traceback" not in stderr
    assert TOKEN not in stdout + stderr
    assert TOKEN.split(":")[1] not in stdout + stderr
    conn = open_database(db)
    try:
        assert conn.pragma("user_version") >= 2
    finally:
        conn.close()


def test_add_workspace_then_list_json_via_uv_run(tmp_path: Path) -> None:
    """The issue's acceptance line, through `uv run codexgram` exactly as a user types it."""
    uv = shutil.which("uv")
    command = [uv, "run", "--project", str(REPO_ROOT), "codexgram"] if uv else console_script()
    env = isolated_env(tmp_path)
    add = run_to_end([*command, "admin", "add-workspace", "demo", "/tmp/x"], env=env, cwd=tmp_path)
    assert add.returncode == 0, add.stderr
    listed = run_to_end([*command, "admin", "list-workspaces", "--json"], env=env, cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    workspaces = json.loads(listed.stdout)
    assert [(w["name"], w["path"]) for w in workspaces] == [("demo", "/tmp/x")]


def test_doctor_shows_settings_without_the_token(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEXGRAM_TELEGRAM_TOKEN", TOKEN)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "CODEXGRAM_TELEGRAM_TOKEN" in result.stdout
    assert "(set)" in result.stdout
    assert str(cli_env) in result.stdout
    assert f"database schema version {SCHEMA_VERSION} (this codexgram: {SCHEMA_VERSION})" in result.stdout
    assert "codex socket" in result.stdout
    assert TOKEN not in result.output


@pytest.mark.skipif(shutil.which("uv") is None, reason="the wrappers run `uv run`")
def test_the_admin_wrapper_scripts(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)

    def script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
        return run_to_end([str(REPO_ROOT / "scripts" / name), *args], env=env, cwd=tmp_path)

    assert script("allow-user", "42", "--name", "Ada").returncode == 0
    assert script("add-workspace", "w", str(tmp_path)).returncode == 0
    users = json.loads(script("list-users", "--json").stdout)
    assert [(u["user_id"], u["name"]) for u in users] == [(42, "Ada")]
    assert [w["name"] for w in json.loads(script("list-workspaces", "--json").stdout)] == ["w"]
    assert script("remove-workspace", "w").returncode == 0
    assert script("remove-user", "42").returncode == 0
    refused = script("remove-user", "42")
    assert refused.returncode == 1
    assert refused.stderr.strip() == "error: user 42 is not on the allowlist"
    # A usage error through the real console script (a terminal-less run, as in CI): one line, no panel.
    usage = script("allow-user")
    assert usage.returncode == 2
    assert usage.stderr.splitlines() == [
        "error: Missing argument 'user_id'. (see 'codexgram admin allow-user --help')"
    ]


def test_doctor_warns_about_a_database_others_can_read(cli_env: Path) -> None:
    open_database(cli_env).close()
    cli_env.chmod(0o644)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 0
    assert "mode 644, readable by others" in result.stdout
    cli_env.chmod(0o600)
    assert "readable by others" not in CliRunner().invoke(app, ["doctor"]).stdout
