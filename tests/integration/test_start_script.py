"""scripts/start-codex-app-server starts the real codex app-server on the socket codexgram's settings name."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from codexgram.testing.codex_server import write_codex_home

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "start-codex-app-server"


def test_start_script_listens_where_the_bot_looks(codex_bin: Path, tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="cxg-") as short:  # AF_UNIX paths must stay short
        socket_path = Path(short) / "run" / "codex.sock"
        env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
        env.update(
            CODEXGRAM_CODEX_SOCKET=str(socket_path),
            CODEXGRAM_CODEX_BIN=str(codex_bin),
            CODEXGRAM_DATA_DIR=str(tmp_path / "data"),
            CODEX_HOME=str(write_codex_home(tmp_path / "home", model_base_url="http://127.0.0.1:9/v1")),
            RUST_LOG="warn",
        )
        process = subprocess.Popen(
            [str(SCRIPT)], env=env, cwd=tmp_path, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            deadline = time.monotonic() + 60
            while not socket_path.exists():
                assert process.poll() is None, process.communicate()
                assert time.monotonic() < deadline, "no socket appeared"
                time.sleep(0.05)
            assert oct(socket_path.parent.stat().st_mode & 0o777) == oct(0o700)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
        assert f"listening on unix://{socket_path}" in stderr


def test_start_script_says_how_to_install_codex_when_missing(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("CODEXGRAM_")}
    env["CODEXGRAM_CODEX_BIN"] = str(tmp_path / "nowhere" / "codex")
    env["CODEXGRAM_DATA_DIR"] = str(tmp_path / "d")
    result = subprocess.run([str(SCRIPT)], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "npm install -g @openai/codex@0.169.0" in result.stderr
