"""Logging changed by one test does not leak into the next (the autouse fixture in tests/conftest.py)."""

from __future__ import annotations

import io
import logging

from codexgram.logging_setup import configure_logging
from codexgram.testing.logging_isolation import preserved_logging


def logging_state() -> tuple[object, ...]:
    root = logging.getLogger()
    return (
        root.level,
        tuple(h for h in root.handlers if not type(h).__module__.startswith("_pytest")),
        logging.getLogger("httpx").level,
        logging.getLogger("httpcore").level,
        logging.getLogger("codexgram.some.module").disabled,
        logging.root.manager.disable,
    )


def mess_up_logging() -> None:
    configure_logging("DEBUG", stream=io.StringIO())  # a root handler, httpx/httpcore at WARNING
    logging.getLogger("codexgram.some.module").disabled = True  # as dictConfig's disable_existing_loggers
    logging.getLogger("a.logger.made.here").setLevel(logging.CRITICAL)
    logging.disable(logging.INFO)


def test_preserved_logging_restores_everything() -> None:
    before = logging_state()
    with preserved_logging():
        mess_up_logging()
        assert logging_state() != before
    assert logging_state() == before
    assert logging.getLogger("a.logger.made.here").level == logging.NOTSET


_STATE_BEFORE_THE_LEAKY_TEST: list[tuple[object, ...]] = []


def test_a_test_that_changes_logging_and_does_not_undo_it() -> None:
    _STATE_BEFORE_THE_LEAKY_TEST.append(logging_state())
    mess_up_logging()


def test_the_next_test_sees_logging_as_it_was() -> None:
    # Runs after the one above (pytest keeps file order): the autouse fixture undid its changes.
    assert _STATE_BEFORE_THE_LEAKY_TEST, "run with the test above"
    assert logging_state() == _STATE_BEFORE_THE_LEAKY_TEST[0]
    assert logging.getLogger("httpx").isEnabledFor(logging.INFO) == logging.getLogger().isEnabledFor(
        logging.INFO
    )
