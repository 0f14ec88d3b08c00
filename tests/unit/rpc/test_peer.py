"""Unit tests of the sans-I/O JSON-RPC peer: frames built, frames parsed, the pending table."""

from __future__ import annotations

import json

import pytest

from codexgram.errors import LocalProtocolError
from codexgram.rpc.peer import (
    FORGOTTEN_IDS_KEPT,
    ErrorResponse,
    JsonRpcPeer,
    Notification,
    ProtocolViolation,
    Response,
    ServerRequest,
)


def test_request_frame_has_no_jsonrpc_member_and_empty_params_by_default() -> None:
    peer = JsonRpcPeer()
    request_id, text = peer.send_request("thread/list")
    assert request_id == 1
    assert json.loads(text) == {"id": 1, "method": "thread/list", "params": {}}
    assert peer.pending() == {1: "thread/list"}


def test_ids_increase_and_pending_tracks_methods() -> None:
    peer = JsonRpcPeer()
    first, _ = peer.send_request("initialize", {"clientInfo": {"name": "x", "version": "1"}})
    second, _ = peer.send_request("thread/start", {"cwd": "/tmp"})
    assert (first, second) == (1, 2)
    assert peer.pending() == {1: "initialize", 2: "thread/start"}


def test_notification_without_params_omits_the_member() -> None:
    peer = JsonRpcPeer()
    assert json.loads(peer.send_notification("initialized")) == {"method": "initialized"}
    assert json.loads(peer.send_notification("x", {"a": 1})) == {"method": "x", "params": {"a": 1}}


def test_result_and_error_frames() -> None:
    peer = JsonRpcPeer()
    assert json.loads(peer.send_result(0, {"decision": "accept"})) == {
        "id": 0,
        "result": {"decision": "accept"},
    }
    assert json.loads(peer.send_error("s1", -32601, "no")) == {
        "id": "s1",
        "error": {"code": -32601, "message": "no"},
    }
    assert json.loads(peer.send_error(3, -1, "m", {"k": 1}))["error"]["data"] == {"k": 1}


def test_unencodable_params_raise_local_protocol_error() -> None:
    peer = JsonRpcPeer()
    with pytest.raises(LocalProtocolError, match="cannot encode"):
        peer.send_request("x", {"bad": object()})
    with pytest.raises(LocalProtocolError):
        peer.send_result(1, float("nan"))
    assert peer.pending() == {}


def test_non_ascii_is_sent_verbatim() -> None:
    peer = JsonRpcPeer()
    _, text = peer.send_request("turn/start", {"text": "héllo ✓"})
    assert "héllo ✓" in text


def test_response_carries_method_of_our_request_and_clears_pending() -> None:
    peer = JsonRpcPeer()
    request_id, _ = peer.send_request("thread/start", {})
    events = peer.receive_text(json.dumps({"id": request_id, "result": {"thread": {"id": "t"}}}))
    assert events == [Response(id=request_id, method="thread/start", result={"thread": {"id": "t"}})]
    assert peer.pending() == {}


def test_error_response() -> None:
    peer = JsonRpcPeer()
    request_id, _ = peer.send_request("thread/resume", {"threadId": "nope"})
    text = json.dumps({"id": request_id, "error": {"code": -32600, "message": "thread not found: nope"}})
    assert peer.receive_text(text) == [
        ErrorResponse(
            id=request_id, method="thread/resume", code=-32600, message="thread not found: nope", data=None
        )
    ]


def test_server_request_with_colliding_id_is_not_a_response() -> None:
    peer = JsonRpcPeer()
    request_id, _ = peer.send_request("turn/start", {})
    frame = {"id": request_id, "method": "item/commandExecution/requestApproval", "params": {"threadId": "t"}}
    events = peer.receive_text(json.dumps(frame))
    assert events == [
        ServerRequest(id=request_id, method="item/commandExecution/requestApproval", params={"threadId": "t"})
    ]
    # Our request is still pending: the server request did not answer it.
    assert peer.pending() == {request_id: "turn/start"}


def test_notification_keeps_emitted_at_in_raw() -> None:
    peer = JsonRpcPeer()
    frame = {"method": "turn/started", "params": {"threadId": "t"}, "emittedAtMs": 1700000000000}
    [event] = peer.receive_text(json.dumps(frame))
    assert isinstance(event, Notification)
    assert event.method == "turn/started"
    assert event.params == {"threadId": "t"}
    assert event.raw["emittedAtMs"] == 1700000000000


def test_notification_without_params_gets_empty_mapping() -> None:
    [event] = JsonRpcPeer().receive_text('{"method":"initialized"}')
    assert event == Notification(method="initialized", params={}, raw={"method": "initialized"})


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("", "not JSON"),
        ("[1,2]", "batches"),
        ('"str"', "not a JSON object"),
        ("{}", "neither a method nor an id"),
        ('{"method": 5}', "method is not a string"),
        ('{"method": "x", "params": [1]}', "is not an object"),
        ('{"id": true, "method": "x"}', "invalid id"),
        ('{"id": 1.5, "method": "x"}', "invalid id"),
        ('{"id": "1", "result": {}}', "not one of ours"),
        ('{"id": 7, "result": {}}', "unknown id 7"),
        ('{"id": 1}', "exactly one of result and error"),
        ('{"id": 1, "result": {}, "error": {"code": 1, "message": "m"}}', "exactly one"),
        ('{"id": 1, "error": "boom"}', "error member"),
        ('{"id": 1, "error": {"code": "x", "message": "m"}}', "error member"),
        ("[" * 100000, "not JSON"),
    ],
)
def test_malformed_frames_become_violations(text: str, reason: str) -> None:
    peer = JsonRpcPeer()
    peer.send_request("a")  # id 1 is pending
    [event] = peer.receive_text(text)
    assert isinstance(event, ProtocolViolation)
    assert reason in event.reason
    assert event.text == text


def test_malformed_answer_leaves_the_call_pending() -> None:
    peer = JsonRpcPeer()
    request_id, _ = peer.send_request("a")
    peer.receive_text(json.dumps({"id": request_id, "error": "boom"}))
    assert peer.pending() == {request_id: "a"}


def test_forget_turns_a_late_answer_into_a_late_violation() -> None:
    peer = JsonRpcPeer()
    request_id, _ = peer.send_request("model/list")
    peer.forget(request_id)
    assert peer.pending() == {}
    [event] = peer.receive_text(json.dumps({"id": request_id, "result": {}}))
    assert isinstance(event, ProtocolViolation)
    assert "late answer to model/list" in event.reason
    # A second copy is simply unknown.
    [again] = peer.receive_text(json.dumps({"id": request_id, "result": {}}))
    assert isinstance(again, ProtocolViolation)
    assert "unknown id" in again.reason


def test_forget_of_unknown_id_is_harmless_and_forgotten_ids_are_bounded() -> None:
    peer = JsonRpcPeer()
    peer.forget(42)
    ids = [peer.send_request("m")[0] for _ in range(FORGOTTEN_IDS_KEPT + 5)]
    for request_id in ids:
        peer.forget(request_id)
    [oldest] = peer.receive_text(json.dumps({"id": ids[0], "result": {}}))
    [newest] = peer.receive_text(json.dumps({"id": ids[-1], "result": {}}))
    assert isinstance(oldest, ProtocolViolation)
    assert "unknown id" in oldest.reason
    assert isinstance(newest, ProtocolViolation)
    assert "late answer" in newest.reason


def test_fail_all_returns_every_pending_call_and_clears() -> None:
    peer = JsonRpcPeer()
    a, _ = peer.send_request("thread/start")
    b, _ = peer.send_request("turn/start")
    peer.receive_text(json.dumps({"id": a, "result": {}}))
    c, _ = peer.send_request("turn/interrupt")
    assert sorted(peer.fail_all()) == [(b, "turn/start"), (c, "turn/interrupt")]
    assert peer.pending() == {}
    [event] = peer.receive_text(json.dumps({"id": b, "result": {}}))
    assert isinstance(event, ProtocolViolation)


def test_pending_is_a_snapshot() -> None:
    peer = JsonRpcPeer()
    peer.send_request("a")
    snapshot = peer.pending()
    peer.send_request("b")
    assert dict(snapshot) == {1: "a"}
