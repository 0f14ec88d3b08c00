"""The mock model over real HTTP (httpx against the trio server), plus its pure scenario planning."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from typing import Any

import httpx
import trio

from codexgram.testing.mock_model import (
    FailReply,
    MockModel,
    TextReply,
    ToolCallReply,
    plan_reply,
    run_mock_model,
)


def user_body(text: str, *extra: dict[str, Any]) -> dict[str, Any]:
    message = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]}
    return {"model": "mock-model", "input": [message, *extra], "stream": True}


def parse_sse(raw: str) -> list[dict[str, Any]]:
    events = []
    for block in raw.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if "data" in lines:
            payload = json.loads(lines["data"])
            assert lines["event"] == payload["type"]
            events.append(payload)
    return events


async def post(model: MockModel, body: object) -> httpx.Response:
    async with httpx.AsyncClient(timeout=10) as client:
        return await client.post(f"{model.base_url}/responses", json=body)


async def test_plain_reply_streams_many_deltas_that_add_up(nursery: trio.Nursery) -> None:
    model = await nursery.start(run_mock_model)
    response = await post(model, user_body("hello mock model"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/event-stream"
    events = parse_sse(response.text)
    kinds = [e["type"] for e in events]
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert len(deltas) > 3
    assert "".join(deltas) == "You said: hello mock model"
    done = next(e for e in events if e["type"] == "response.output_item.done")
    assert done["item"]["content"][0]["text"] == "You said: hello mock model"
    assert model.user_texts() == ["hello mock model"]


async def test_shell_marker_asks_for_an_escalated_exec_command(nursery: trio.Nursery) -> None:
    model = await nursery.start(run_mock_model)
    events = parse_sse((await post(model, user_body("run [[shell:echo hi]] please"))).text)
    call = next(e["item"] for e in events if e["type"] == "response.output_item.done")
    assert call["type"] == "function_call"
    assert call["name"] == "exec_command"
    arguments = json.loads(call["arguments"])
    assert arguments["cmd"] == "echo hi"
    assert arguments["sandbox_permissions"] == "require_escalated"
    assert arguments["justification"]


async def test_tool_output_gets_a_final_message_quoting_it(nursery: trio.Nursery) -> None:
    model = await nursery.start(run_mock_model)
    output = {"type": "function_call_output", "call_id": "call-1", "output": "hi\n"}
    events = parse_sse((await post(model, user_body("[[shell:echo hi]]", output))).text)
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == "Command output: hi"


async def test_fail_marker_is_an_http_500(nursery: trio.Nursery) -> None:
    model = await nursery.start(run_mock_model)
    response = await post(model, user_body("[[fail]]"))
    assert response.status_code == 500
    assert len(model.requests) == 1


async def test_slow_marker_spreads_the_deltas_over_the_time_asked(nursery: trio.Nursery) -> None:
    model = await nursery.start(run_mock_model)
    start = trio.current_time()
    events = parse_sse((await post(model, user_body("[[slow:0.4]]"))).text)
    assert trio.current_time() - start >= 0.4
    assert len([e for e in events if e["type"] == "response.output_text.delta"]) == 20


async def test_wrong_path_and_bad_body_are_refused(nursery: trio.Nursery) -> None:
    model = await nursery.start(run_mock_model)
    async with httpx.AsyncClient(timeout=10) as client:
        assert (await client.post(f"{model.base_url}/chat/completions", json={})).status_code == 404
        assert (await client.post(f"{model.base_url}/responses", content=b"{not json")).status_code == 400
    assert model.requests == []


def test_plan_patch_builds_an_apply_patch_heredoc() -> None:
    reply = plan_reply(user_body("[[patch:notes.txt:first line]]"), call_number=3)
    assert isinstance(reply, ToolCallReply)
    assert reply.call_id == "call-3"
    cmd = reply.arguments["cmd"]
    assert cmd.startswith("apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: notes.txt\n+first line\n")
    assert cmd.endswith("*** End Patch\nEOF\n")


def test_plan_run_calls_exec_command_without_escalation() -> None:
    reply = plan_reply(user_body("please [[run:echo hi; exit 3]] now"), call_number=2)
    assert isinstance(reply, ToolCallReply)
    assert reply.arguments == {"cmd": "echo hi; exit 3", "yield_time_ms": 2000}
    assert "sandbox_permissions" not in reply.arguments


def test_plan_uses_the_newest_user_message() -> None:
    old = {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "[[fail]]"}]}
    body = user_body("second")
    body["input"].insert(0, old)
    assert plan_reply(body, call_number=1) == TextReply(text="You said: second")
    assert isinstance(plan_reply(user_body("[[fail]]"), call_number=1), FailReply)


def test_images_are_counted_and_their_wrappers_are_not_user_text() -> None:
    parts = [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_text", "text": '<image name=[Image #1] path="/w/a.png">'},
        {"type": "input_image", "image_url": "data:image/png;base64,AAAA"},
        {"type": "input_text", "text": "</image>"},
        {"type": "input_image", "image_url": "data:image/png;base64,BBBB"},
    ]
    body = {"input": [{"type": "message", "role": "user", "content": parts}]}
    assert plan_reply(body, call_number=1) == TextReply(text="You said: what is this? (with 2 images)")


def test_runs_on_its_own_prints_its_url_and_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "codexgram.testing.mock_model", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a test runner may start us with SIGINT ignored; Ctrl-C must reach the server as it would a user's
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert base_url.endswith("/v1")
        response = httpx.post(f"{base_url}/responses", json=user_body("standalone"), timeout=10)
        deltas = [e["delta"] for e in parse_sse(response.text) if e["type"] == "response.output_text.delta"]
        assert "".join(deltas) == "You said: standalone"
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_plan_long_answers_with_the_characters_asked() -> None:
    reply = plan_reply(user_body("[[long:10000]]"), call_number=1)
    assert isinstance(reply, TextReply)
    assert 9990 <= len(reply.text) <= 10000
    assert reply.text.startswith("Paragraph 1: word1-0 word1-1")
    assert "\n\nParagraph 2: " in reply.text
