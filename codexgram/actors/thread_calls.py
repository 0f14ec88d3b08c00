"""The thread actor's calls to Codex, each turning Codex's answer (or its failure) into the result the thread
core takes (:mod:`codexgram.chat.thread_effects`). They run as tasks of the actor; none raises a Codex error.

How a failure is classified matters for exactly-once: ``refused`` (Codex answered no), ``gone`` (Codex does
not know the thread), ``unavailable`` (not sent: no connection), ``uncertain`` (sent, no answer: it may have
landed, so the core asks ``thread/read`` before sending the prompt again).
"""

from __future__ import annotations

import logging

from codexgram.actors.codex_link import CodexLink
from codexgram.chat.thread_effects import (
    AnswerRequest,
    Failure,
    Interrupted,
    Resumed,
    StartTurn,
    Steered,
    SteerTurn,
    ThreadRead,
    TurnStarted,
    TurnStartFailed,
)
from codexgram.codex.items import TextInput
from codexgram.codex.requests import (
    EmptyResult,
    ThreadReadParams,
    ThreadReadResult,
    ThreadResumeParams,
    ThreadSessionResult,
    TurnInterruptParams,
    TurnStartParams,
    TurnStartResult,
    TurnSteerParams,
    TurnSteerResult,
)
from codexgram.errors import CodexError, CodexRefused, CodexUnavailable

log = logging.getLogger(__name__)

# Codex's words for a thread it does not know (0.169.0): thread/resume, thread/read and turn/start.
_GONE_PHRASES = ("no rollout found", "thread not found", "not found for thread")


def thread_is_gone(error: CodexRefused) -> bool:
    return any(phrase in error.rpc_message for phrase in _GONE_PHRASES)


async def resume(link: CodexLink, thread_id: str) -> Resumed:
    try:
        await link.call_typed(ThreadResumeParams(thread_id=thread_id), ThreadSessionResult)
    except CodexRefused as exc:
        log.warning("thread %s: resume refused: %s", thread_id, exc)
        return Resumed(ok=False, failure="gone" if thread_is_gone(exc) else "refused", error=exc.rpc_message)
    except CodexUnavailable as exc:
        return Resumed(ok=False, failure="unavailable", error=str(exc))
    return Resumed(ok=True)


async def read(link: CodexLink, thread_id: str) -> ThreadRead:
    try:
        result = await link.call_typed(
            ThreadReadParams(thread_id=thread_id, include_turns=True), ThreadReadResult
        )
    except CodexRefused as exc:
        return ThreadRead(thread=None, error=exc.rpc_message, gone=thread_is_gone(exc))
    except CodexError as exc:
        return ThreadRead(thread=None, error=str(exc))
    return ThreadRead(thread=result.thread)


async def start_turn(link: CodexLink, thread_id: str, effect: StartTurn) -> TurnStarted | TurnStartFailed:
    prompt = effect.prompt
    if not link.connected:
        return TurnStartFailed(update_id=prompt.update_id, failure="unavailable", error="not connected")
    params = TurnStartParams(
        thread_id=thread_id,
        input=(TextInput(text=prompt.text),),
        client_user_message_id=prompt.client_id,
    )
    try:
        result = await link.call_typed(params, TurnStartResult)
    except CodexRefused as exc:
        failure: Failure = "gone" if thread_is_gone(exc) else "refused"
        return TurnStartFailed(update_id=prompt.update_id, failure=failure, error=exc.rpc_message)
    except CodexError as exc:
        return TurnStartFailed(update_id=prompt.update_id, failure="uncertain", error=str(exc))
    return TurnStarted(update_id=prompt.update_id, turn_id=result.turn.id)


async def steer(link: CodexLink, thread_id: str, effect: SteerTurn) -> Steered:
    prompt = effect.prompt
    params = TurnSteerParams(
        thread_id=thread_id,
        input=(TextInput(text=prompt.text),),
        expected_turn_id=effect.turn_id,
        client_user_message_id=prompt.client_id,
    )
    try:
        await link.call_typed(params, TurnSteerResult)
    except CodexRefused as exc:
        return Steered(update_id=prompt.update_id, ok=False, error=exc.rpc_message)
    except CodexError as exc:
        return Steered(update_id=prompt.update_id, ok=False, error=str(exc))
    return Steered(update_id=prompt.update_id, ok=True)


async def interrupt(link: CodexLink, thread_id: str, turn_id: str) -> Interrupted:
    try:
        await link.call_typed(TurnInterruptParams(thread_id=thread_id, turn_id=turn_id), EmptyResult)
    except CodexError as exc:
        return Interrupted(turn_id=turn_id, ok=False, error=str(exc))
    return Interrupted(turn_id=turn_id, ok=True)


async def answer_request(link: CodexLink, thread_id: str, effect: AnswerRequest) -> None:
    try:
        await link.respond(effect.request_id, effect.result)
    except CodexError as exc:
        log.warning("thread %s: could not answer request %s: %s", thread_id, effect.request_id, exc)
