"""The test-side API over HTTP, under ``/_test/`` (documented in ``docs/fake-telegram.md``): play the user,
read what chats see and what the bot called, schedule faults. For humans with curl and for other processes;
tests in the same trio loop call :class:`~.server.FakeTelegram`'s methods directly.

Bodies are JSON; binary data travels as base64 (``data_base64``). A request the control API cannot use gets
400 with ``{"ok": false, "description": ...}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

from codexgram.testing.http import Request, Response

from .faults import BadRequest, Drop, Fault, Hang, RetryAfter, ServerError
from .state import FakeMessage

if TYPE_CHECKING:
    from .server import FakeTelegram

_JSON = {"content-type": "application/json"}
_MESSAGES_RE = re.compile(r"/_test/chats/(-?\d+)/messages")


def _reply(payload: Any, status: int = 200) -> Response:
    return Response(
        status=status, headers=_JSON, body=json.dumps(payload, ensure_ascii=False).encode("utf-8")
    )


def message_to_json(message: FakeMessage) -> dict[str, Any]:
    return attrs.asdict(
        message, recurse=True, value_serializer=lambda _i, _a, v: list(v) if isinstance(v, tuple) else v
    )


def _fault(body: dict[str, Any]) -> Fault:
    kind = body.get("kind")
    if kind == "retry_after":
        return RetryAfter(seconds=int(body["seconds"]))
    if kind == "server_error":
        return ServerError(status=int(body.get("status", 500)))
    if kind == "bad_request":
        return BadRequest(description=str(body["description"]))
    if kind == "hang":
        return Hang(seconds=float(body["seconds"]), applied=bool(body.get("applied", False)))
    if kind == "drop":
        return Drop(applied=bool(body.get("applied", False)))
    raise ValueError("kind must be retry_after, server_error, bad_request, hang or drop")


def _data(body: dict[str, Any]) -> bytes:
    return base64.b64decode(body["data_base64"], validate=True)


_USER_ACTIONS: dict[str, Callable[[FakeTelegram, dict[str, Any]], Any]] = {
    "sendText": lambda fake, b: fake.user_sends_text(
        int(b["chat_id"]), str(b["text"]), user_id=b.get("user_id"), chat_type=b.get("chat_type", "private")
    ),
    "sendPhoto": lambda fake, b: fake.user_sends_photo(
        int(b["chat_id"]),
        _data(b),
        width=int(b.get("width", 640)),
        height=int(b.get("height", 480)),
        caption=b.get("caption"),
        user_id=b.get("user_id"),
        chat_type=b.get("chat_type", "private"),
    ),
    "sendDocument": lambda fake, b: fake.user_sends_document(
        int(b["chat_id"]),
        _data(b),
        file_name=str(b.get("file_name", "file.txt")),
        mime_type=str(b.get("mime_type", "text/plain")),
        caption=b.get("caption"),
        user_id=b.get("user_id"),
        chat_type=b.get("chat_type", "private"),
    ),
    "editText": lambda fake, b: fake.user_edits_text(int(b["chat_id"]), int(b["message_id"]), str(b["text"])),
    "addBotToGroup": lambda fake, b: fake.bot_added_to_group(
        int(b["chat_id"]),
        by_user_id=int(b.get("by_user_id", 4242001)),
        chat_type=str(b.get("chat_type", "group")),
    ),
    "blockBot": lambda fake, b: fake.user_blocks_bot(int(b["chat_id"]), blocked=bool(b.get("blocked", True))),
    "pressButton": lambda fake, b: fake.user_presses_button(
        int(b["chat_id"]),
        int(b["message_id"]),
        str(b["data"]),
        user_id=b.get("user_id"),
        strict=bool(b.get("strict", True)),
    ),
}


async def handle_control(fake: FakeTelegram, request: Request) -> Response:
    """Route one ``/_test/...`` request."""
    path = request.path
    try:
        body = json.loads(request.body) if request.body else {}
        if not isinstance(body, dict):
            return _reply({"ok": False, "description": "the body must be a JSON object"}, 400)
        if request.method == "POST" and path.startswith("/_test/user/"):
            action = _USER_ACTIONS.get(path.removeprefix("/_test/user/"))
            if action is None:
                return _reply({"ok": False, "description": "unknown user action"}, 404)
            return _reply({"ok": True, "update": action(fake, body)})
        if request.method == "POST" and path == "/_test/faults":
            fake.schedule_fault(body.get("method"), _fault(body), count=int(body.get("count", 1)))
            return _reply({"ok": True, "pending": fake.faults.pending})
        if request.method == "POST" and path == "/_test/flood":
            fake.flood.enabled = bool(body["enabled"])
            return _reply({"ok": True})
        if request.method == "GET" and (match := _MESSAGES_RE.fullmatch(path)):
            messages = [message_to_json(m) for m in fake.messages(int(match[1]))]
            return _reply({"ok": True, "messages": messages})
        if request.method == "GET" and path == "/_test/chats":
            return _reply({"ok": True, "chats": [c.to_json() for c in fake.state.chats.values()]})
        if request.method == "GET" and path == "/_test/calls":
            calls = [attrs.asdict(c) for c in fake.calls(request.query.get("method"))]
            return _reply({"ok": True, "calls": calls})
        if request.method == "GET" and path == "/_test/validation_errors":
            return _reply({"ok": True, "validation_errors": fake.validation_errors})
    except (KeyError, ValueError, TypeError, binascii.Error) as error:
        return _reply({"ok": False, "description": f"{type(error).__name__}: {error}"}, 400)
    return _reply({"ok": False, "description": "no such control route"}, 404)
