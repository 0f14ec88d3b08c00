"""A mock OpenAI Responses-API model, so the real ``codex`` binary runs offline and deterministically.

Codex POSTs ``{base_url}/responses`` with the whole conversation as ``input`` and reads a server-sent-event
stream back (the shapes codex's own tests use, ``codex-rs/core/tests/common/responses.rs``). What this mock
streams is chosen by a *marker* in the last user message, so tests read like what they exercise:

==========================  ==================================================================================
user text contains          the model ...
==========================  ==================================================================================
(no marker)                 streams ``You said: <text>`` in many small deltas (the default; deterministic);
                            `` (with N image(s))`` is appended when the message carries images
``[[shell:CMD]]``           calls ``exec_command`` with ``CMD`` asking for escalated permissions (with a
                            justification), so codex asks for a command approval under ``on-request`` or
                            ``untrusted``; once the ``function_call_output`` comes back it answers
                            ``Command output: <output>``
``[[run:CMD]]``             calls ``exec_command`` with ``CMD`` *without* asking for escalation: codex runs
                            it in its sandbox at once (no approval under ``on-request``), then the model
                            answers ``Command output: <output>``
``[[patch:NAME:CONTENT]]``  calls ``exec_command`` with an ``apply_patch`` heredoc that adds file ``NAME``
                            holding ``CONTENT`` (one line): a ``fileChange`` item, its approval and
                            ``turn/diff/updated``; then answers ``Patch result: <output>``
``[[slow:SECONDS]]``        streams ``SLOW_DELTAS`` deltas spread over ``SECONDS`` (for interrupt and steer)
``[[long:CHARS]]``          streams an answer of ``CHARS`` characters (less a trailing space) in numbered
                            paragraphs (a long answer to split across messages, or to send as a document)
``[[fail]]``                answers HTTP 500: the turn fails (``error`` notification, ``turn/completed``
                            with ``status: "failed"``)
==========================  ==================================================================================

A request whose newest input item is a ``function_call_output`` is the follow-up to a tool call: the mock
answers with a final message that quotes the output (whatever the scenario), so a declined command shows up
as codex's rejection text.

The scenario logic (:func:`plan_reply`, :func:`sse_events`) is pure; :class:`MockModel` is the trio shell
that serves it with :mod:`codexgram.testing.http` and keeps every request body it got in ``requests``.

Run on its own: ``python -m codexgram.testing.mock_model --port 0`` prints its base URL (ending in ``/v1``,
what a codex ``model_providers`` entry wants) and serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from functools import partial
from typing import Any

import attrs
import trio

from codexgram.testing.http import Request, Response, serve_http

DEFAULT_DELTA_SIZE = 4  # characters per delta: many deltas even for short answers
SLOW_DELTAS = 20
RESPONSES_PATH = "/v1/responses"

_IMAGE_TAG = re.compile(r"</?image\b[^>]*>")
_MARKER = re.compile(r"\[\[(shell|run|patch|slow|long|fail)(?::(.*?))?\]\]", re.DOTALL)


# --- the plan: what to answer (pure) -----------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TextReply:
    """Stream ``text`` as an assistant message, ``delta_size`` characters per delta, ``delay`` s apart."""

    text: str
    delta_size: int = DEFAULT_DELTA_SIZE
    delay: float = 0.0


@attrs.frozen(kw_only=True)
class ToolCallReply:
    """Ask codex to run ``exec_command`` with ``arguments`` (a JSON object, sent as a JSON string)."""

    call_id: str
    arguments: Mapping[str, Any]


@attrs.frozen(kw_only=True)
class FailReply:
    """Answer with an HTTP error instead of a stream."""

    status: int = 500


Reply = TextReply | ToolCallReply | FailReply


def last_user_text(body: Mapping[str, Any]) -> str:
    """The text of the newest user message in a Responses request body ("" if there is none)."""
    parts = _last_user_parts(body)
    if isinstance(parts, str):
        return parts
    texts = (str(p.get("text", "")) for p in parts if p.get("type") == "input_text")
    # codex wraps each image in text parts `<image name=[Image #1] path="...">` ... `</image>`: not user text
    return "".join(text for text in texts if not _IMAGE_TAG.fullmatch(text.strip()))


def last_user_image_count(body: Mapping[str, Any]) -> int:
    """How many images (``input_image`` parts) the newest user message carries."""
    parts = _last_user_parts(body)
    return 0 if isinstance(parts, str) else sum(1 for p in parts if p.get("type") == "input_image")


def _last_user_parts(body: Mapping[str, Any]) -> str | list[dict[str, Any]]:
    for item in reversed(_input_items(body)):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            parts = item.get("content") or []
            if isinstance(parts, str):
                return parts
            return [p for p in parts if isinstance(p, dict)]
    return []


def pending_tool_output(body: Mapping[str, Any]) -> str | None:
    """The output of a tool call when the newest input item is a ``function_call_output``, else None."""
    items = _input_items(body)
    if not items or items[-1].get("type") != "function_call_output":
        return None
    output = items[-1].get("output")
    if isinstance(output, dict):  # newer codex may send {"content": ..., "success": ...}
        output = output.get("content", json.dumps(output))
    if isinstance(output, list):
        output = "".join(str(p.get("text", "")) for p in output if isinstance(p, dict))
    return str(output)


def plan_reply(body: Mapping[str, Any], *, call_number: int) -> Reply:
    """Decide the answer to one request body. ``call_number`` (1-based) makes ids unique per mock."""
    output = pending_tool_output(body)
    text = last_user_text(body)
    match = _MARKER.search(text)
    if output is not None:
        kind = match.group(1) if match else ""
        prefix = "Patch result" if kind == "patch" else "Command output"
        return TextReply(text=f"{prefix}: {output.strip()}")
    if match is None:
        images = last_user_image_count(body)
        attached = f" (with {images} image{'s' if images > 1 else ''})" if images else ""
        return TextReply(text=f"You said: {text}{attached}")
    kind, arg = match.group(1), match.group(2) or ""
    if kind == "fail":
        return FailReply()
    if kind == "slow":
        seconds = float(arg or "2")
        # Words of equal length, one word (and its space) per delta: exactly SLOW_DELTAS deltas.
        words = " ".join(f"slow{i:02d}" for i in range(SLOW_DELTAS))
        return TextReply(text=words, delta_size=len("slow00 "), delay=seconds / SLOW_DELTAS)
    if kind == "shell":
        return ToolCallReply(
            call_id=f"call-{call_number}",
            arguments={
                "cmd": arg,
                "yield_time_ms": 2000,
                "sandbox_permissions": "require_escalated",
                "justification": f"The user asked me to run: {arg}",
            },
        )
    if kind == "long":
        return TextReply(text=long_text(int(arg or "10000")), delta_size=400)
    if kind == "run":
        return ToolCallReply(call_id=f"call-{call_number}", arguments={"cmd": arg, "yield_time_ms": 2000})
    name, _, content = arg.partition(":")
    patch = f"apply_patch <<'EOF'\n*** Begin Patch\n*** Add File: {name}\n+{content}\n*** End Patch\nEOF\n"
    # No escalation request here: codex applies patches inside the workspace without asking under on-request;
    # a file-change approval needs the thread (or turn) started with approvalPolicy "untrusted".
    return ToolCallReply(call_id=f"call-{call_number}", arguments={"cmd": patch, "yield_time_ms": 2000})


def long_text(chars: int) -> str:
    """A deterministic answer of ``chars`` characters (less a trailing space), in paragraphs
    "Paragraph N: word word ..."."""
    paragraphs: list[str] = []
    size = 0
    number = 0
    while size < chars:
        number += 1
        paragraph = f"Paragraph {number}: " + " ".join(f"word{number}-{i}" for i in range(40))
        paragraphs.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(paragraphs)[:chars].rstrip() or "x"


def _input_items(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    items = body.get("input")
    return [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []


# --- the stream (pure) -------------------------------------------------------------------------------------


def sse_frame(payload: Mapping[str, Any]) -> bytes:
    """One server-sent event: ``event: TYPE`` + ``data: JSON`` + blank line."""
    return f"event: {payload['type']}\ndata: {json.dumps(payload)}\n\n".encode()


def chunks(text: str, size: int) -> list[str]:
    """``text`` cut into pieces of ``size`` characters (at least one piece, even for "")."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def sse_events(reply: TextReply | ToolCallReply, *, call_number: int) -> Iterator[dict[str, Any]]:
    """The Responses-API events for one reply, in order (without timing)."""
    response_id = f"resp-{call_number}"
    yield {"type": "response.created", "response": {"id": response_id}}
    if isinstance(reply, ToolCallReply):
        item = {
            "type": "function_call",
            "id": f"fc-{call_number}",
            "call_id": reply.call_id,
            "name": "exec_command",
            "arguments": json.dumps(dict(reply.arguments)),
        }
        yield {"type": "response.output_item.added", "output_index": 0, "item": item}
        yield {"type": "response.output_item.done", "output_index": 0, "item": item}
    else:
        message_id = f"msg-{call_number}"
        yield {
            "type": "response.output_item.added",
            "output_index": 0,
            "item": {
                "type": "message",
                "role": "assistant",
                "id": message_id,
                "status": "in_progress",
                "content": [],
            },
        }
        for piece in chunks(reply.text, reply.delta_size):
            yield {
                "type": "response.output_text.delta",
                "item_id": message_id,
                "output_index": 0,
                "content_index": 0,
                "delta": piece,
            }
        yield {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                "type": "message",
                "role": "assistant",
                "id": message_id,
                "content": [{"type": "output_text", "text": reply.text}],
            },
        }
    yield {
        "type": "response.completed",
        "response": {
            "id": response_id,
            "usage": {
                "input_tokens": 10,
                "input_tokens_details": None,
                "output_tokens": 5,
                "output_tokens_details": None,
                "total_tokens": 15,
            },
        },
    }


# --- the trio shell ----------------------------------------------------------------------------------------


@attrs.define(kw_only=True)
class MockModel:
    """A running mock model. ``requests`` holds every ``/v1/responses`` body received, oldest first.

    Resource handling: created by :func:`run_mock_model`, which serves until its task is cancelled.
    Error handling: a body that is not JSON gets a 400; a ``[[fail]]`` prompt gets a 500; a client that goes
    away mid-stream (codex interrupting a turn) just ends that connection.
    """

    port: int = 0
    host: str = "127.0.0.1"
    requests: list[dict[str, Any]] = attrs.field(factory=list)

    @property
    def base_url(self) -> str:
        """The URL to give codex as ``base_url`` (it appends ``/responses``)."""
        return f"http://{self.host}:{self.port}/v1"

    def user_texts(self) -> list[str]:
        """The newest user text of each request, in order (handy in assertions)."""
        return [last_user_text(body) for body in self.requests]

    async def handle(self, request: Request) -> Response:
        if request.method != "POST" or request.path != RESPONSES_PATH:
            return Response(status=404, body=b"not found")
        try:
            body = json.loads(request.body)
        except ValueError:
            return Response(status=400, body=b"body is not JSON")
        if not isinstance(body, dict):
            return Response(status=400, body=b"body is not a JSON object")
        self.requests.append(body)
        call_number = len(self.requests)
        reply = plan_reply(body, call_number=call_number)
        if isinstance(reply, FailReply):
            error = {"error": {"message": "mock model: upstream failure requested", "type": "server_error"}}
            return Response(
                status=reply.status,
                headers={"content-type": "application/json"},
                body=json.dumps(error).encode(),
            )
        return Response(
            headers={"content-type": "text/event-stream", "cache-control": "no-cache"},
            stream=lambda: _stream(reply, call_number),
        )


async def _stream(reply: TextReply | ToolCallReply, call_number: int) -> AsyncIterator[bytes]:
    delay = reply.delay if isinstance(reply, TextReply) else 0.0
    for event in sse_events(reply, call_number=call_number):
        if delay and event["type"] == "response.output_text.delta":
            await trio.sleep(delay)
        yield sse_frame(event)


async def run_mock_model(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: trio.TaskStatus[MockModel] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve a :class:`MockModel` until cancelled; reports it (with its bound port) once listening."""
    model = MockModel(host=host)

    async def handler(request: Request) -> Response:
        return await model.handle(request)

    async with trio.open_nursery() as nursery:
        model.port = await nursery.start(partial(serve_http, handler, host=host, port=port))
        task_status.started(model)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m codexgram.testing.mock_model [--host H] [--port P]``: print the base URL, serve."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)

    async def serve() -> None:
        async with trio.open_nursery() as nursery:
            model = await nursery.start(partial(run_mock_model, host=args.host, port=args.port))
            print(model.base_url, flush=True)

    try:
        trio.run(serve)
    except* KeyboardInterrupt:  # Ctrl-C: trio may deliver it inside an exception group
        pass


if __name__ == "__main__":
    main()
