"""Fixtures for the foundation unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from codexgram.testing.logging_isolation import preserved_logging


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    """Some tests here call configure_logging, which changes process-wide logging: undo it afterwards."""
    with preserved_logging():
        yield
