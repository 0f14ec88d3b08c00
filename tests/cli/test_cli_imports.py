"""What starting ``codexgram`` imports: neither the test tooling (``trio.testing`` imports pytest: a third of
a second on every start, ``--help`` included) nor the bot itself (another half second): ``run``, ``replay``
and ``playground`` import their work when they run."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_starts_without_test_tooling() -> None:
    probe = (
        "import sys, codexgram.cli.main; "
        "print(sorted(m for m in ('pytest', 'trio.testing', 'codexgram.replay.harness', 'codexgram.app', "
        "'codexgram.testing.mock_model') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    assert found == "[]"
