"""Keep a test that changes process-wide logging from leaking that change into later tests.

``configure_logging`` (directly, or through ``codexgram run``) changes process-wide state on purpose: a root
handler, the root level, the levels of the ``httpx``/``httpcore`` loggers. Other code may set a level,
``logging.basicConfig`` or ``logging.disable``. A later test that reads those loggers (e.g. with ``caplog``)
then sees silenced loggers or handlers writing to closed streams, depending on test order.
``tests/conftest.py`` wraps EVERY test in :func:`preserved_logging`, so no order can leak it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import attrs


@attrs.frozen(kw_only=True)
class _LoggerState:
    level: int
    disabled: bool
    propagate: bool
    handlers: tuple[logging.Handler, ...]
    filters: tuple[logging.Filter | logging.Filterer, ...]

    @classmethod
    def of(cls, logger: logging.Logger) -> _LoggerState:
        return cls(
            level=logger.level,
            disabled=logger.disabled,
            propagate=logger.propagate,
            handlers=tuple(logger.handlers),
            filters=tuple(logger.filters),  # type: ignore[arg-type]  # typeshed: list of filter callables too
        )


def _is_pytest_handler(handler: logging.Handler) -> bool:
    # pytest's capture handlers come and go per test phase (setup/call/teardown): not ours to restore.
    return type(handler).__module__.startswith("_pytest")


def _all_loggers() -> dict[str, logging.Logger]:
    loggers = {
        name: logger
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger)  # skip PlaceHolder entries
    }
    loggers[""] = logging.getLogger()
    return loggers


def _restore(logger: logging.Logger, state: _LoggerState) -> None:
    logger.setLevel(state.level)
    logger.disabled = state.disabled
    logger.propagate = state.propagate
    for handler in list(logger.handlers):
        if handler not in state.handlers and not _is_pytest_handler(handler):
            logger.removeHandler(handler)
    for handler in state.handlers:
        if handler not in logger.handlers and not _is_pytest_handler(handler):
            logger.addHandler(handler)
    logger.filters[:] = list(state.filters)


@contextmanager
def preserved_logging() -> Iterator[None]:
    """Restore every logger's level, ``disabled`` and ``propagate`` flags, handlers and filters afterwards.

    Loggers first created inside get the default level, enabled and propagating (their handlers stay: a
    library may add a ``NullHandler`` when it is first imported). ``logging.disable`` is undone too.
    """
    before = {name: _LoggerState.of(logger) for name, logger in _all_loggers().items()}
    disabled_below = logging.root.manager.disable
    try:
        yield
    finally:
        logging.disable(disabled_below)
        for name, logger in _all_loggers().items():
            state = before.get(name)
            if state is not None:
                _restore(logger, state)
            else:
                logger.setLevel(logging.NOTSET)
                logger.disabled = False
                logger.propagate = True
