"""A sans-I/O JSON-RPC peer for the Codex app-server dialect.

The peer contains no networking code at all (compare h11): the caller feeds it every text frame it receives
(:meth:`JsonRpcPeer.receive_text`) and writes every frame the peer builds (``send_*``). The peer keeps the
table of our outstanding request ids, so a response comes back labelled with the method of the request it
answers.

The dialect (codex-cli 0.169.0):

- no ``"jsonrpc"`` member is sent (codex tolerates it, but does not need it);
- one message per frame; batches (JSON arrays) are not used by codex and are reported as violations;
- a server-to-client request carries ``id`` *and* ``method``; a response carries ``id`` and no ``method``.
  Codex numbers its own requests from 0, so its ids collide with ours: we route on the presence of ``method``,
  never on the id alone;
- notifications from codex carry an extra top-level ``emittedAtMs``; it is kept in :attr:`Notification.raw`.

Error handling: :meth:`JsonRpcPeer.receive_text` never raises on bad input. A frame that is not JSON, not an
object, has ids or members of the wrong type, or answers an id we are not waiting for becomes a
:class:`ProtocolViolation` event that the caller logs; the peer state is unchanged by it. The ``send_*``
methods raise :class:`~codexgram.errors.LocalProtocolError` only for our own mistakes (a value that cannot be
encoded as JSON).
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import attrs

from codexgram.errors import LocalProtocolError

RequestId = int | str

# How many ids of calls we gave up on (forget) are remembered, so a late answer is recognised as late rather
# than unknown. Bounded, because a server that never answers must not make the table grow forever.
FORGOTTEN_IDS_KEPT = 1024


@attrs.frozen(kw_only=True)
class Response:
    """A successful answer to one of our requests. ``method`` is the method of OUR request it answers."""

    id: RequestId
    method: str
    result: Any


@attrs.frozen(kw_only=True)
class ErrorResponse:
    """A JSON-RPC error answer to one of our requests. ``method`` is the method of OUR request it answers."""

    id: RequestId
    method: str
    code: int
    message: str
    data: Any = None


@attrs.frozen(kw_only=True)
class Notification:
    """A message from the server that expects no answer. ``raw`` is the whole frame (with ``emittedAtMs``)."""

    method: str
    params: Mapping[str, Any]
    raw: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class ServerRequest:
    """A request from the server (e.g. an approval): answer it with ``send_result`` or ``send_error``."""

    id: RequestId
    method: str
    params: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class ProtocolViolation:
    """A frame that broke the protocol. ``text`` is the frame as received, ``reason`` says what was wrong."""

    text: str
    reason: str


Event = Response | ErrorResponse | Notification | ServerRequest | ProtocolViolation

_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_decode = json.loads


def _is_request_id(value: object) -> bool:
    # bool is an int subclass, but true/false is not a valid JSON-RPC id.
    return (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str)


class JsonRpcPeer:
    """Our side of one JSON-RPC connection: builds outgoing frames, parses incoming ones.

    One peer per connection: ids restart from 1 with a new peer. Not thread-safe; one task owns it (the
    link's reader and writers run in one trio thread, so no lock is needed).
    """

    def __init__(self) -> None:
        self._next_id = 1
        self._pending: dict[int, str] = {}
        # id -> method of calls the caller gave up on; insertion ordered so the oldest is evicted first.
        self._forgotten: OrderedDict[int, str] = OrderedDict()

    def __repr__(self) -> str:
        return f"<JsonRpcPeer next_id={self._next_id} pending={len(self._pending)}>"

    # --- sending -----------------------------------------------------------------------------------------

    def send_request(self, method: str, params: Mapping[str, Any] | None = None) -> tuple[int, str]:
        """Build a request frame; return ``(id, text)``. ``params`` defaults to ``{}`` (codex requires it)."""
        request_id = self._next_id
        text = self._encode({"id": request_id, "method": method, "params": {} if params is None else params})
        self._next_id += 1
        self._pending[request_id] = method
        return request_id, text

    def send_notification(self, method: str, params: Mapping[str, Any] | None = None) -> str:
        """Build a notification frame. ``params=None`` omits the member (``initialized`` has none)."""
        message: dict[str, Any] = {"method": method}
        if params is not None:
            message["params"] = params
        return self._encode(message)

    def send_result(self, request_id: RequestId, result: Any) -> str:
        """Build the successful answer to a :class:`ServerRequest`."""
        return self._encode({"id": request_id, "result": result})

    def send_error(self, request_id: RequestId, code: int, message: str, data: Any = None) -> str:
        """Build an error answer to a :class:`ServerRequest`. ``data`` is omitted when ``None``."""
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        return self._encode({"id": request_id, "error": error})

    @staticmethod
    def _encode(message: Mapping[str, Any]) -> str:
        try:
            return _encoder.encode(message)
        except (TypeError, ValueError) as exc:
            raise LocalProtocolError(f"cannot encode JSON-RPC message: {exc}") from exc

    # --- pending table -----------------------------------------------------------------------------------

    def pending(self) -> Mapping[int, str]:
        """Our outstanding request ids mapped to their methods (a read-only snapshot)."""
        return dict(self._pending)

    def forget(self, request_id: int) -> None:
        """The caller gave up on a request (timeout, cancel). A late answer becomes a "late" violation."""
        method = self._pending.pop(request_id, None)
        if method is None:
            return
        self._forgotten[request_id] = method
        while len(self._forgotten) > FORGOTTEN_IDS_KEPT:
            self._forgotten.popitem(last=False)

    def fail_all(self) -> list[tuple[int, str]]:
        """The connection closed: clear the table and return every pending ``(id, method)`` to fail."""
        failed = list(self._pending.items())
        self._pending.clear()
        self._forgotten.clear()
        return failed

    # --- receiving ---------------------------------------------------------------------------------------

    def receive_text(self, text: str) -> list[Event]:
        """Parse one incoming text frame into events. Never raises on bad input."""
        try:
            message = _decode(text)
        except (ValueError, RecursionError) as exc:
            return [ProtocolViolation(text=text, reason=f"not JSON: {exc}")]
        if not isinstance(message, dict):
            if isinstance(message, list):
                return [ProtocolViolation(text=text, reason="JSON-RPC batches are not supported")]
            return [ProtocolViolation(text=text, reason=f"not a JSON object but {type(message).__name__}")]
        if "method" in message:
            return [self._receive_call(text, message)]
        if "id" in message:
            return [self._receive_answer(text, message)]
        return [ProtocolViolation(text=text, reason="neither a method nor an id")]

    @staticmethod
    def _receive_call(text: str, message: dict[str, Any]) -> Event:
        method = message["method"]
        if not isinstance(method, str):
            return ProtocolViolation(text=text, reason="method is not a string")
        params = message.get("params")
        if params is None:
            params = {}
        elif not isinstance(params, dict):
            # Positional params are legal JSON-RPC but codex never sends them, and nothing here reads them.
            return ProtocolViolation(text=text, reason=f"params of {method} is not an object")
        if "id" not in message:
            return Notification(method=method, params=params, raw=message)
        request_id = message["id"]
        if not _is_request_id(request_id):
            return ProtocolViolation(text=text, reason=f"request {method} has an invalid id")
        return ServerRequest(id=request_id, method=method, params=params)

    def _receive_answer(self, text: str, message: dict[str, Any]) -> Event:
        request_id = message["id"]
        if not (isinstance(request_id, int) and not isinstance(request_id, bool)):
            # We only ever send integer ids; anything else cannot be an answer to us.
            return ProtocolViolation(text=text, reason=f"response id {request_id!r} is not one of ours")
        has_result = "result" in message
        has_error = "error" in message
        if has_result == has_error:
            return ProtocolViolation(text=text, reason="a response needs exactly one of result and error")
        error: Any = message.get("error")
        if has_error and not (
            isinstance(error, dict)
            and isinstance(error.get("code"), int)
            and not isinstance(error.get("code"), bool)
            and isinstance(error.get("message"), str)
        ):
            return ProtocolViolation(text=text, reason="error member is not {code: int, message: str}")
        method = self._pending.pop(request_id, None)
        if method is None:
            late = self._forgotten.pop(request_id, None)
            if late is not None:
                return ProtocolViolation(
                    text=text, reason=f"late answer to {late} (id {request_id}) after forget"
                )
            return ProtocolViolation(text=text, reason=f"response to unknown id {request_id}")
        if has_error:
            return ErrorResponse(
                id=request_id,
                method=method,
                code=error["code"],
                message=error["message"],
                data=error.get("data"),
            )
        return Response(id=request_id, method=method, result=message["result"])
