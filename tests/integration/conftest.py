"""Fixtures for tests that drive the real codex binary against the in-repo mock model.

- ``codex_bin`` (session): the pinned codex (``CODEXGRAM_CODEX_BIN`` or an npm install in ``.cache/codex``);
  fails, never skips, with how to install it when npm is missing.
- ``mock_model``: a running :class:`~codexgram.testing.mock_model.MockModel` (``.base_url``, ``.requests``).
- ``codex_home``: a temp CODEX_HOME whose only provider is ``mock_model``.
- ``app_server``: a running ``codex app-server --listen unix://...``
  (:class:`~codexgram.testing.codex_server.AppServer`: ``.socket_path``, ``.workspace``, ``.kill()``,
  ``.start()``, ``.restart()``); stopped at the end of the test; its stderr tail is printed at teardown,
  which pytest shows for failing tests only.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import trio

from codexgram.testing.codex_server import (
    AppServer,
    AppServerError,
    find_codex_binary,
    open_app_server,
    write_codex_home,
)
from codexgram.testing.mock_model import MockModel, run_mock_model


@pytest.fixture(scope="session")
def codex_bin() -> Path:
    try:
        return find_codex_binary()
    except AppServerError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture
async def mock_model(nursery: trio.Nursery) -> MockModel:
    model: MockModel = await nursery.start(run_mock_model)
    return model


@pytest.fixture
def codex_home(tmp_path: Path, mock_model: MockModel) -> Path:
    return write_codex_home(tmp_path / "codex-home", model_base_url=mock_model.base_url)


@pytest.fixture
async def app_server(codex_bin: Path, codex_home: Path, tmp_path: Path) -> AsyncIterator[AppServer]:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    stderr_path = tmp_path / "app-server.stderr"
    # A short socket directory of its own: AF_UNIX paths must stay under ~107 bytes.
    with tempfile.TemporaryDirectory(prefix="cxg-") as socket_dir:
        async with open_app_server(
            codex_bin,
            codex_home=codex_home,
            socket_path=Path(socket_dir) / "app.sock",
            workspace=workspace,
            stderr_path=stderr_path,
        ) as server:
            yield server
            # pytest shows captured output only for failing tests: there, this is the server's side of it.
            print(f"--- codex app-server stderr ({stderr_path}), tail ---\n{server.stderr_tail()}")
