"""Fixtures for CLI tests: an isolated environment whose settings point at a temporary data directory."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point every setting at ``tmp_path`` (dropping CODEXGRAM_* from the real environment); return the DB.

    The working directory moves to ``tmp_path`` too, so a stray ``.env`` of the developer is not read.
    """
    import os

    for key in list(os.environ):
        if key.startswith("CODEXGRAM_"):
            monkeypatch.delenv(key)
    db = tmp_path / "data" / "codexgram.sqlite3"
    monkeypatch.setenv("CODEXGRAM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CODEXGRAM_DB", str(db))
    monkeypatch.chdir(tmp_path)
    return db
