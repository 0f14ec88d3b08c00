"""Bot API answers -> results or typed errors (pure: no I/O, no httpx).

``ok:false`` answers map by ``error_code`` and, for 400, by Telegram's description: 429 ->
``TelegramRetryAfter`` (seconds from ``parameters.retry_after``, else from "retry after N"), 400 ->
``TelegramNotModified`` / ``TelegramCantParseEntities`` / ``TelegramQueryTooOld`` / ``TelegramBadRequest``,
401 -> ``TelegramUnauthorized``, 403 -> ``TelegramForbidden``, 409 -> ``TelegramConflict``, 5xx ->
``TelegramServerError``, anything else -> ``TelegramError``. A body that is not an envelope maps by HTTP
status.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from codexgram.errors import (
    TelegramBadRequest,
    TelegramCantParseEntities,
    TelegramConflict,
    TelegramError,
    TelegramForbidden,
    TelegramNotModified,
    TelegramQueryTooOld,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)

__all__ = ["error_for", "http_status_error", "result_of"]

_RETRY_AFTER_RE = re.compile(r"retry after (\d+)", re.IGNORECASE)


def result_of(method: str, status_code: int, body: bytes) -> Any:
    """The ``result`` of a Bot API answer, or the typed error it stands for (raised)."""
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict) or "ok" not in envelope:
        if status_code == 200:
            raise TelegramError(method, "the response is not a Bot API envelope")
        raise http_status_error(method, status_code)
    if envelope["ok"] is True:
        return envelope.get("result")
    code = envelope.get("error_code")
    error_code = code if isinstance(code, int) else status_code
    description = str(envelope.get("description") or f"HTTP {status_code}")
    parameters = envelope.get("parameters")
    retry_after = parameters.get("retry_after") if isinstance(parameters, dict) else None
    raise error_for(method, error_code, description, retry_after)


def error_for(method: str, error_code: int, description: str, retry_after: Any) -> TelegramError:
    """The error class for an ``ok:false`` answer: by code, and for 400 by Telegram's description."""
    lowered = description.lower()
    if error_code == 429:
        if not isinstance(retry_after, int | float):
            found = _RETRY_AFTER_RE.search(description)
            retry_after = int(found.group(1)) if found else 1
        seconds = float(retry_after)
        return TelegramRetryAfter(
            method, description, seconds if math.isfinite(seconds) and seconds >= 0 else 1.0
        )
    if error_code == 400:
        if "message is not modified" in lowered:
            return TelegramNotModified(method, description, error_code)
        if "can't parse entities" in lowered or "can't find end" in lowered:
            return TelegramCantParseEntities(method, description, error_code)
        if "query is too old" in lowered or "query id is invalid" in lowered:
            return TelegramQueryTooOld(method, description, error_code)
        return TelegramBadRequest(method, description, error_code)
    if error_code == 401:
        return TelegramUnauthorized(method, description, error_code)
    if error_code == 403:
        return TelegramForbidden(method, description, error_code)
    if error_code == 409:
        return TelegramConflict(method, description, error_code)
    if error_code >= 500:
        return TelegramServerError(method, description, error_code)
    return TelegramError(method, description, error_code)


def http_status_error(method: str, status: int) -> TelegramError:
    """An HTTP error without a Bot API envelope (a proxy's 502 page, a 404 on the file route)."""
    return error_for(method, status, f"HTTP {status} without a Bot API answer", None)
