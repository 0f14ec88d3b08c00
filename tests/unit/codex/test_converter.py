"""The Codex converter: camelCase, None left out, tagged unions with Unknown defaults, readable errors."""

from __future__ import annotations

from typing import Any

import pytest

from codexgram.codex.converter import (
    camel_case,
    decode_notification,
    decode_result,
    decode_server_request,
    encode_params,
)
from codexgram.codex.items import (
    AgentMessageItem,
    CommandExecutionItem,
    FileChangeItem,
    ImageInput,
    LocalImageInput,
    TextInput,
    UnknownInput,
    UnknownItem,
    UserMessageItem,
)
from codexgram.codex.notifications import (
    AgentMessageDelta,
    ItemCompleted,
    ItemStarted,
    ServerRequestResolved,
    ThreadStarted,
    TurnCompleted,
    UnknownNotification,
)
from codexgram.codex.requests import (
    ApprovalPolicy,
    ClientInfo,
    InitializeParams,
    SandboxMode,
    SandboxPolicy,
    SandboxPolicyType,
    ThreadResumeParams,
    ThreadSessionResult,
    ThreadStartParams,
    TurnStartParams,
    TurnStartResult,
)
from codexgram.codex.server_requests import (
    ApprovalDecision,
    ApprovalResponse,
    CommandApprovalRequest,
    FileChangeApprovalRequest,
    UnknownServerRequest,
)
from codexgram.errors import RemoteProtocolError

THREAD: dict[str, Any] = {
    "id": "thr_1",
    "sessionId": "s",
    "preview": "",
    "cwd": "/work",
    "status": {"type": "idle"},
    "createdAt": 1,
    "updatedAt": 2,
    "modelProvider": "mock",
    "cliVersion": "0.169.0",
    "ephemeral": False,
    "turns": [],
    "someFutureField": {"x": 1},
}


def test_camel_case() -> None:
    assert camel_case("thread_id") == "threadId"
    assert camel_case("opt_out_notification_methods") == "optOutNotificationMethods"
    assert camel_case("cwd") == "cwd"


def test_encode_initialize_leaves_out_none() -> None:
    params = InitializeParams(client_info=ClientInfo(name="codexgram", version="0.1.0"))
    assert encode_params(params) == {"clientInfo": {"name": "codexgram", "version": "0.1.0"}}


def test_encode_thread_start_uses_enum_values() -> None:
    params = ThreadStartParams(
        cwd="/w", approval_policy=ApprovalPolicy.UNTRUSTED, sandbox=SandboxMode.WORKSPACE_WRITE
    )
    wire = encode_params(params)
    assert wire == {"cwd": "/w", "approvalPolicy": "untrusted", "sandbox": "workspace-write"}
    assert type(wire["approvalPolicy"]) is str


def test_encode_turn_start_with_every_input_kind() -> None:
    params = TurnStartParams(
        thread_id="t",
        input=(
            TextInput(text="hi"),
            ImageInput(url="data:image/png;base64,AA"),
            LocalImageInput(path="/a.png"),
        ),
        sandbox_policy=SandboxPolicy(type=SandboxPolicyType.DANGER_FULL_ACCESS),
    )
    assert encode_params(params) == {
        "threadId": "t",
        "input": [
            {"type": "text", "text": "hi", "text_elements": []},
            {"type": "image", "url": "data:image/png;base64,AA"},
            {"type": "localImage", "path": "/a.png"},
        ],
        "sandboxPolicy": {"type": "dangerFullAccess"},
    }


def test_resume_excludes_turns_by_default() -> None:
    assert encode_params(ThreadResumeParams(thread_id="t")) == {"threadId": "t", "excludeTurns": True}


def test_approval_answer() -> None:
    wire = encode_params(ApprovalResponse(decision=ApprovalDecision.ACCEPT_FOR_SESSION))
    assert wire == {"decision": "acceptForSession"}


def test_decode_thread_start_result_ignores_unknown_fields() -> None:
    raw = {
        "thread": THREAD,
        "model": "mock-model",
        "modelProvider": "mock",
        "cwd": "/work",
        "approvalPolicy": "on-request",
        "approvalsReviewer": "user",
        "sandbox": {"type": "workspaceWrite", "writableRoots": []},
        "reasoningEffort": None,
    }
    result = decode_result(ThreadSessionResult, raw)
    assert result.thread.id == "thr_1"
    assert result.thread.status.type == "idle"
    assert result.sandbox == {"type": "workspaceWrite", "writableRoots": []}


def test_decode_turn_start_result() -> None:
    result = decode_result(TurnStartResult, {"turn": {"id": "u1", "items": [], "status": "inProgress"}})
    assert result.turn.id == "u1"
    assert result.turn.status == "inProgress"


def test_decode_result_error_names_the_field() -> None:
    with pytest.raises(RemoteProtocolError, match=r"turn\.id"):
        decode_result(TurnStartResult, {"turn": {"status": "inProgress"}})


def test_items_decode_by_type_and_unknown_types_are_kept() -> None:
    user_content = [
        {"type": "text", "text": "x", "text_elements": []},
        {"type": "skill", "name": "n", "path": "p"},
    ]
    items: list[dict[str, Any]] = [
        {"type": "userMessage", "id": "a", "content": user_content},
        {"type": "agentMessage", "id": "b", "text": "hello", "phase": None, "moderation": None},
        {
            "type": "commandExecution",
            "id": "c",
            "command": "echo hi",
            "cwd": "/w",
            "status": "completed",
            "aggregatedOutput": "hi\n",
            "exitCode": 0,
            "durationMs": 5,
            "commandActions": [],
            "source": "agent",
        },
        {
            "type": "fileChange",
            "id": "d",
            "status": "inProgress",
            "changes": [{"path": "x.txt", "kind": {"type": "add"}, "diff": "+hi\n"}],
        },
        {"type": "contextCompaction", "id": "e"},
    ]
    decoded = [
        decode_notification("item/started", {"threadId": "t", "turnId": "u", "item": i}) for i in items
    ]
    kinds = [n.item for n in decoded if isinstance(n, ItemStarted)]
    assert len(kinds) == len(items)
    assert isinstance(kinds[0], UserMessageItem)
    assert kinds[0].content[0] == TextInput(text="x")
    assert isinstance(kinds[0].content[1], UnknownInput)
    assert kinds[1] == AgentMessageItem(id="b", text="hello")
    assert isinstance(kinds[2], CommandExecutionItem)
    assert (kinds[2].aggregated_output, kinds[2].exit_code) == ("hi\n", 0)
    assert isinstance(kinds[3], FileChangeItem)
    assert kinds[3].changes[0].kind.type == "add"
    assert kinds[4] == UnknownItem(type="contextCompaction", id="e", raw=items[4])


def test_notifications() -> None:
    delta = decode_notification(
        "item/agentMessage/delta", {"threadId": "t", "turnId": "u", "itemId": "i", "delta": "He"}
    )
    assert delta == AgentMessageDelta(thread_id="t", turn_id="u", item_id="i", delta="He")
    started = decode_notification("thread/started", {"thread": THREAD})
    assert isinstance(started, ThreadStarted)
    assert started.thread.cwd == "/work"
    failed_turn = {
        "id": "u",
        "items": [],
        "status": "failed",
        "error": {"message": "boom", "codexErrorInfo": None},
    }
    completed = decode_notification("turn/completed", {"threadId": "t", "turn": failed_turn})
    assert isinstance(completed, TurnCompleted)
    assert completed.turn.error is not None
    assert completed.turn.error.message == "boom"
    resolved = decode_notification("serverRequest/resolved", {"threadId": "t", "requestId": 0})
    assert resolved == ServerRequestResolved(thread_id="t", request_id=0)
    unknown = decode_notification("account/rateLimits/updated", {"x": 1})
    assert unknown == UnknownNotification(method="account/rateLimits/updated", params={"x": 1})


@pytest.mark.parametrize(
    ("method", "params", "fragment"),
    [
        ("item/agentMessage/delta", {"threadId": "t", "turnId": "u", "itemId": "i"}, "delta"),
        ("item/agentMessage/delta", {"threadId": "t", "turnId": "u", "itemId": "i", "delta": 5}, "delta"),
        ("item/completed", {"threadId": "t", "turnId": "u", "item": "nope"}, "item"),
        ("serverRequest/resolved", {"threadId": "t", "requestId": True}, "requestId"),
        ("thread/status/changed", {"threadId": "t"}, "status"),
    ],
)
def test_malformed_known_notification_is_a_remote_protocol_error(
    method: str, params: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(RemoteProtocolError, match=method) as info:
        decode_notification(method, params)
    assert fragment in str(info.value)


def test_item_completed_agent_message() -> None:
    item = {"type": "agentMessage", "id": "i", "text": "ok"}
    n = decode_notification(
        "item/completed", {"threadId": "t", "turnId": "u", "completedAtMs": 1, "item": item}
    )
    assert n == ItemCompleted(thread_id="t", turn_id="u", item=AgentMessageItem(id="i", text="ok"))


def test_server_requests() -> None:
    params = {
        "threadId": "t",
        "turnId": "u",
        "itemId": "i",
        "command": "rm -rf x",
        "cwd": "/w",
        "reason": "needs it",
        "startedAtMs": 1,
        "environmentId": None,
    }
    command = decode_server_request("item/commandExecution/requestApproval", params)
    assert command == CommandApprovalRequest(
        thread_id="t", turn_id="u", item_id="i", command="rm -rf x", cwd="/w", reason="needs it"
    )
    patch_params = {"threadId": "t", "turnId": "u", "itemId": "i", "startedAtMs": 1}
    patch = decode_server_request("item/fileChange/requestApproval", patch_params)
    assert patch == FileChangeApprovalRequest(thread_id="t", turn_id="u", item_id="i")
    other = decode_server_request("item/tool/requestUserInput", {"threadId": "t"})
    assert other == UnknownServerRequest(method="item/tool/requestUserInput", params={"threadId": "t"})
    with pytest.raises(RemoteProtocolError, match="itemId"):
        decode_server_request("item/fileChange/requestApproval", {"threadId": "t", "turnId": "u"})
