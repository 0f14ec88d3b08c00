"""Which thread a notification or server request belongs to (pure).

Most codex messages carry ``threadId`` in their params; ``thread/started`` carries the id under
``thread.id``. Global messages (configWarning, account/rateLimits/updated, ...) belong to no thread.
Works on the peer's raw events (cheap: the link routes before decoding) and on decoded protocol objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from codexgram.codex.notifications import ThreadStarted, UnknownNotification
from codexgram.codex.server_requests import UnknownServerRequest
from codexgram.rpc.peer import Notification, ServerRequest

THREAD_STARTED = ThreadStarted.METHOD


def thread_id_in_params(method: str, params: Mapping[str, Any]) -> str | None:
    """The thread id in the raw params of ``method``, or ``None`` for a message of no thread."""
    thread_id = params.get("threadId")
    if isinstance(thread_id, str):
        return thread_id
    if method == THREAD_STARTED:
        thread = params.get("thread")
        if isinstance(thread, Mapping):
            nested = thread.get("id")
            if isinstance(nested, str):
                return nested
    return None


def thread_id_of(message: object) -> str | None:
    """The thread ``message`` belongs to, or ``None``.

    ``message`` may be a peer :class:`Notification` / :class:`ServerRequest`, an ``Unknown…`` value, or a
    decoded notification or server request (anything with ``thread_id`` or, for thread/started, ``thread``).
    """
    if isinstance(message, Notification | ServerRequest | UnknownNotification | UnknownServerRequest):
        return thread_id_in_params(message.method, message.params)
    if isinstance(message, ThreadStarted):
        return message.thread.id
    thread_id = getattr(message, "thread_id", None)
    return thread_id if isinstance(thread_id, str) else None
