"""The fake Bot API server fixture, for the client tests that run against it."""

from __future__ import annotations

import pytest

from codexgram.testing.fake_telegram.fixture import fake_telegram, register_marker

__all__ = ["fake_telegram"]


def pytest_configure(config: pytest.Config) -> None:
    register_marker(config)
