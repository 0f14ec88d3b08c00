"""Property tests of the peer: it never confuses a server request with a response (ids collide on purpose),
keeps its pending table exact under any interleaving, and never raises on arbitrary text frames."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from codexgram.rpc.peer import (
    ErrorResponse,
    JsonRpcPeer,
    Notification,
    ProtocolViolation,
    Response,
    ServerRequest,
)

METHODS = st.sampled_from(["thread/start", "turn/start", "turn/interrupt", "model/list", "x/y"])
SERVER_METHODS = st.sampled_from(
    ["item/commandExecution/requestApproval", "item/fileChange/requestApproval", "item/tool/requestUserInput"]
)
SMALL_IDS = st.integers(min_value=0, max_value=6)  # codex counts its own ids from 0: collisions are the point
JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)

Op = tuple[str, Any]
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("call"), METHODS),
        st.tuples(st.just("server_request"), st.tuples(SMALL_IDS | st.text(max_size=4), SERVER_METHODS)),
        st.tuples(st.just("answer"), st.tuples(SMALL_IDS, st.booleans())),
        st.tuples(st.just("notify"), METHODS),
        st.tuples(st.just("forget"), SMALL_IDS),
        st.tuples(st.just("close"), st.none()),
    ),
    max_size=40,
)


@settings(max_examples=300)
@given(OPS)
def test_interleavings_never_confuse_requests_and_responses(ops: list[Op]) -> None:
    peer = JsonRpcPeer()
    model: dict[int, str] = {}
    for kind, arg in ops:
        if kind == "call":
            request_id, text = peer.send_request(arg, {"n": 1})
            assert request_id not in model
            assert json.loads(text) == {"id": request_id, "method": arg, "params": {"n": 1}}
            model[request_id] = arg
        elif kind == "server_request":
            server_id, method = arg
            frame = json.dumps({"id": server_id, "method": method, "params": {"threadId": "t"}})
            assert peer.receive_text(frame) == [
                ServerRequest(id=server_id, method=method, params={"threadId": "t"})
            ]
        elif kind == "answer":
            answer_id, ok = arg
            body = {"result": {"ok": True}} if ok else {"error": {"code": -32600, "message": "no"}}
            [event] = peer.receive_text(json.dumps({"id": answer_id, **body, "emittedAtMs": 5}))
            if answer_id in model:
                method = model.pop(answer_id)
                expected: Any = (
                    Response(id=answer_id, method=method, result={"ok": True})
                    if ok
                    else ErrorResponse(id=answer_id, method=method, code=-32600, message="no", data=None)
                )
                assert event == expected
            else:
                assert isinstance(event, ProtocolViolation)
        elif kind == "notify":
            frame = json.dumps({"method": arg, "params": {"threadId": "t"}, "emittedAtMs": 1})
            [event] = peer.receive_text(frame)
            assert isinstance(event, Notification)
            assert event.method == arg
        elif kind == "forget":
            peer.forget(arg)
            model.pop(arg, None)
        else:
            assert sorted(peer.fail_all()) == sorted(model.items())
            model.clear()
        assert dict(peer.pending()) == model


@settings(max_examples=500)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    peer = JsonRpcPeer()
    peer.send_request("a")
    events = peer.receive_text(text)
    assert len(events) == 1
    assert isinstance(events[0], Response | ErrorResponse | Notification | ServerRequest | ProtocolViolation)


FRAME_KEYS = st.sampled_from(["id", "method", "params", "result", "error", "emittedAtMs", "jsonrpc"])
FRAMEISH = st.dictionaries(
    FRAME_KEYS,
    JSON_VALUES | SMALL_IDS | METHODS | st.fixed_dictionaries({"code": st.integers(), "message": st.text()}),
    max_size=5,
)


@settings(max_examples=500)
@given(st.one_of(FRAMEISH, JSON_VALUES))
def test_json_frames_of_any_shape_never_raise_and_are_classified_by_method(frame: Any) -> None:
    peer = JsonRpcPeer()
    for _ in range(3):
        peer.send_request("a")  # ids 1..3 pending: some generated answers hit them
    before = dict(peer.pending())
    [event] = peer.receive_text(json.dumps(frame))
    is_object = isinstance(frame, dict)
    if isinstance(event, Response | ErrorResponse):
        assert is_object
        assert "method" not in frame
        assert event.id in before
        assert event.id not in peer.pending()
    elif isinstance(event, ServerRequest):
        assert is_object
        assert "id" in frame
        assert frame["method"] == event.method
        assert dict(peer.pending()) == before
    elif isinstance(event, Notification):
        assert is_object
        assert "id" not in frame
        assert dict(peer.pending()) == before
    else:
        assert dict(peer.pending()) == before
