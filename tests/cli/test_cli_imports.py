"""What starting ``codexgram`` imports: not the test tooling (``trio.testing`` imports pytest: a third of a
second on every start, ``--help`` included). The replay command imports it when it runs."""

from __future__ import annotations

import subprocess
import sys


def test_the_cli_starts_without_test_tooling() -> None:
    probe = (
        "import sys, codexgram.cli.main; "
        "print(sorted(m for m in ('pytest', 'trio.testing', 'codexgram.replay.harness') if m in sys.modules))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    assert found == "[]"
