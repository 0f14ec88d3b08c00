"""run_bot: an essential actor's crash shuts the bot down (instead of leaving it half alive)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio

from codexgram import app
from codexgram.config import load_settings
from codexgram.errors import ActorError


async def test_a_repository_crash_shuts_the_bot_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, autojump_clock: trio.abc.Clock
) -> None:
    cleaned_up: list[str] = []

    async def crashing_repository(db_path: Path, *, task_status: trio.TaskStatus[Any]) -> None:
        send, _receive = trio.open_memory_channel[Any](1)
        task_status.started(send)
        await trio.sleep(5)
        raise OSError("disk gone")

    async def other_actor(*, task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED) -> None:
        task_status.started(None)
        try:
            await trio.sleep_forever()
        finally:
            cleaned_up.append("other")

    async def start_other(supervisor: Any, settings: Any, repository: Any, resources: Any) -> None:
        await supervisor.start("other", other_actor)

    monkeypatch.setattr(app, "repository_actor", crashing_repository)
    monkeypatch.setattr(app, "start_actors", start_other)
    settings = load_settings({"HOME": str(tmp_path), "CODEXGRAM_DATA_DIR": str(tmp_path / "data")})
    with pytest.raises(ActorError, match="repository actor crashed"):
        await app.run_bot(settings)
    assert cleaned_up == ["other"]  # the rest was stopped in order, not abandoned
    assert (tmp_path / "data" / "uploads").is_dir()
