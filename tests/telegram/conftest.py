"""Fixtures for the Telegram tests: ``fake_telegram``, a running fake Bot API server that fails the test at
teardown if any request broke the Bot API reference (opt out: ``@pytest.mark.fake_telegram_bad_requests``).
"""

from __future__ import annotations

import pytest

from codexgram.testing.fake_telegram.fixture import fake_telegram, register_marker

__all__ = ["fake_telegram"]


def pytest_configure(config: pytest.Config) -> None:
    register_marker(config)
