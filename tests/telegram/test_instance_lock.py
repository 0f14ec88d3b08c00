"""The token-fingerprint instance lock: one bot per token per machine."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from codexgram.config import Secret
from codexgram.errors import InstanceLocked
from codexgram.telegram.instance_lock import acquire_instance_lock, lock_path_for

TOKEN = Secret("123456:SECRET-token-value")

HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from codexgram.config import Secret
    from codexgram.telegram.instance_lock import acquire_instance_lock
    lock = acquire_instance_lock(Path(sys.argv[1]), Secret(sys.argv[2]))
    print("held", flush=True)
    time.sleep(60)
    """
)

CONTENDER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from codexgram.config import Secret
    from codexgram.errors import InstanceLocked
    from codexgram.telegram.instance_lock import acquire_instance_lock
    try:
        acquire_instance_lock(Path(sys.argv[1]), Secret(sys.argv[2]))
    except InstanceLocked as exc:
        print(exc)
        sys.exit(3)
    print("acquired")
    """
)


def test_fingerprint_names_the_token_without_revealing_it(tmp_path: Path) -> None:
    fingerprint = TOKEN.fingerprint()
    assert fingerprint == hashlib.sha256(TOKEN.reveal().encode()).hexdigest()[:12]
    assert fingerprint == TOKEN.fingerprint()
    path = lock_path_for(tmp_path, TOKEN)
    assert path.name == f"codexgram-{fingerprint}.lock"
    assert "SECRET" not in str(path)


def test_a_second_lock_on_the_same_token_is_refused_until_released(tmp_path: Path) -> None:
    first = acquire_instance_lock(tmp_path, TOKEN)
    with pytest.raises(InstanceLocked) as refused:
        acquire_instance_lock(tmp_path, TOKEN)
    message = str(refused.value)
    assert "already running with this bot token" in message
    assert TOKEN.fingerprint() in message
    assert f"pid {os.getpid()}" in message
    assert TOKEN.reveal() not in message
    assert "SECRET" not in repr(first)
    first.release()
    first.release()  # idempotent
    with acquire_instance_lock(tmp_path, TOKEN) as again:
        assert again.held
    assert not again.held


def test_different_tokens_do_not_conflict(tmp_path: Path) -> None:
    with acquire_instance_lock(tmp_path, TOKEN), acquire_instance_lock(tmp_path, Secret("999:other")):
        pass


def test_lock_file_is_private(tmp_path: Path) -> None:
    with acquire_instance_lock(tmp_path / "data", TOKEN) as lock:
        assert (lock.path.stat().st_mode & 0o777) == 0o600


def _start_holder(tmp_path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path), TOKEN.reveal()],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def test_another_process_holding_the_lock_refuses_this_one(tmp_path: Path) -> None:
    holder = _start_holder(tmp_path)
    try:
        with pytest.raises(InstanceLocked, match=f"pid {holder.pid}"):
            acquire_instance_lock(tmp_path, TOKEN)
        contender = subprocess.run(
            [sys.executable, "-c", CONTENDER, str(tmp_path), TOKEN.reveal()],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert contender.returncode == 3
        assert "another codexgram instance" in contender.stdout
        assert TOKEN.reveal() not in contender.stdout + contender.stderr
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # the kernel released the dead holder's lock: no stale lock after a crash
    with acquire_instance_lock(tmp_path, TOKEN) as lock:
        assert lock.held
