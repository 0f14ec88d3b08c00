"""Keep tests that configure logging (``configure_logging``, ``codexgram run``) from leaking into others.

``configure_logging`` changes process-wide state on purpose: a root handler, the root level, and the levels of
the ``httpx``/``httpcore`` loggers. A test that calls it (directly or through the CLI) must put all of that
back, or later tests see silenced loggers and handlers writing to closed streams.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

_TOUCHED_LOGGERS = ("", "httpx", "httpcore")


@contextmanager
def preserved_logging() -> Iterator[None]:
    """Restore the root handlers and the levels of the loggers ``configure_logging`` touches."""
    root = logging.getLogger()
    handlers = list(root.handlers)
    levels = {name: logging.getLogger(name).level for name in _TOUCHED_LOGGERS}
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers:
                root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
