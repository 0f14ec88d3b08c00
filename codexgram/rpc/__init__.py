"""JSON-RPC for the Codex app-server: a sans-I/O peer (no trio, no sockets)."""

from codexgram.rpc.peer import (
    ErrorResponse,
    Event,
    JsonRpcPeer,
    Notification,
    ProtocolViolation,
    RequestId,
    Response,
    ServerRequest,
)

__all__ = [
    "ErrorResponse",
    "Event",
    "JsonRpcPeer",
    "Notification",
    "ProtocolViolation",
    "RequestId",
    "Response",
    "ServerRequest",
]
