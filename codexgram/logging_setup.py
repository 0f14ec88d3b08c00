"""Logging for the bot and the CLI: one stderr handler, and a filter that keeps secrets out of every line.

The token is kept out of messages by construction (:class:`codexgram.config.Secret`), and httpx's own INFO
lines (which print request URLs, i.e. ``/bot<token>/...``) are silenced. The :class:`RedactingFilter` is the
last line of defence: it rewrites a record before any handler formats it, replacing each registered secret
and anything shaped like a Bot API token path with ``***``, in the message, its arguments and the traceback.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from typing import Final, TextIO

REDACTED: Final = "***"
# "bot123456:AA..." as it appears in Bot API URLs, and bare tokens "123456:AA..." (35+ chars after the colon).
_TOKEN_PATTERNS: Final = (
    re.compile(r"bot[0-9]+:[A-Za-z0-9_-]+"),
    re.compile(r"\b[0-9]{5,}:[A-Za-z0-9_-]{30,}"),
)
LOG_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFilter(logging.Filter):
    """Replace secrets in a log record (message, args, exception text) before it is formatted."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(REDACTED, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        # Render the message once, redact it, and drop the args so no handler re-renders the raw values.
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> logging.Handler:
    """Send records at ``level`` and above to ``stream`` (stderr), redacted. Returns the installed handler.

    Replaces handlers this function installed before (so calling it twice does not duplicate lines).
    """
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_codexgram", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    handler._codexgram = True  # type: ignore[attr-defined]  # marks our handler for the loop above
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and the Bot API URL contains the token.
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return handler
