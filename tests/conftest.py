"""Shared test configuration."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codexgram.testing.logging_isolation import preserved_logging


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Every test gets the logging configuration the one before it had.

    ``configure_logging`` (called by ``codexgram run`` in-process, and by tests) silences ``httpx`` and adds a
    root handler on purpose; without this, a later test reading those loggers passes or fails by test order.
    """
    with preserved_logging():
        yield
