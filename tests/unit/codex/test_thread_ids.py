"""thread_id_of on raw peer events and on decoded values."""

from __future__ import annotations

from codexgram.codex.converter import decode_notification, decode_server_request
from codexgram.codex.thread_ids import thread_id_of
from codexgram.rpc.peer import Notification, ServerRequest

THREAD = {
    "id": "thr_9",
    "preview": "",
    "cwd": "/w",
    "status": {"type": "idle"},
    "createdAt": 1,
    "updatedAt": 1,
}


def test_raw_notification_with_thread_id() -> None:
    n = Notification(method="turn/started", params={"threadId": "a", "turn": {}}, raw={})
    assert thread_id_of(n) == "a"


def test_thread_started_uses_nested_thread_id() -> None:
    params = {"thread": THREAD}
    assert thread_id_of(Notification(method="thread/started", params=params, raw={})) == "thr_9"
    assert thread_id_of(decode_notification("thread/started", params)) == "thr_9"


def test_nested_thread_id_only_counts_for_thread_started() -> None:
    n = Notification(method="thread/list/whatever", params={"thread": {"id": "x"}}, raw={})
    assert thread_id_of(n) is None


def test_global_notifications_have_no_thread() -> None:
    assert thread_id_of(Notification(method="configWarning", params={"summary": "s"}, raw={})) is None
    assert thread_id_of(decode_notification("configWarning", {"summary": "s"})) is None
    assert thread_id_of(decode_notification("account/rateLimits/updated", {})) is None
    assert thread_id_of(decode_notification("warning", {"message": "m", "threadId": None})) is None


def test_non_string_thread_id_is_ignored() -> None:
    assert thread_id_of(Notification(method="x", params={"threadId": 5}, raw={})) is None


def test_server_requests_and_decoded_values() -> None:
    params = {"threadId": "b", "turnId": "u", "itemId": "i"}
    assert thread_id_of(ServerRequest(id=0, method="item/fileChange/requestApproval", params=params)) == "b"
    assert thread_id_of(decode_server_request("item/fileChange/requestApproval", params)) == "b"
    assert thread_id_of(decode_server_request("mcpServer/elicitation/request", {"threadId": "c"})) == "c"
    delta = decode_notification("item/agentMessage/delta", {**params, "delta": "x"})
    assert thread_id_of(delta) == "b"
    assert thread_id_of(object()) is None
