"""Creating a thread: what the actor of a pending thread (key ``new:<update id>``) does first.

``thread/start`` with the workspace path as ``cwd`` and the session's model, approval policy and sandbox
(defaults ``on-request`` and ``workspace-write``), waiting for Codex while it is away (telling the chat once
when prompts wait); then the real thread replaces the pending one in the store (the session and the queued
prompts follow in the same transaction). Codex refusing is final: the waiting prompts are answered with why.
"""

from __future__ import annotations

import functools
import logging
import math

import trio

from codexgram.actors import conversation_store as store
from codexgram.actors.services import Services
from codexgram.chat import chat_views
from codexgram.chat.outgoing import Outgoing
from codexgram.codex.requests import (
    ApprovalPolicy,
    EmptyResult,
    SandboxMode,
    ThreadSessionResult,
    ThreadSetNameParams,
    ThreadStartParams,
)
from codexgram.errors import CodexError, CodexRefused, CodexUnavailable
from codexgram.messages import SendMessage
from codexgram.store.rows import ThreadRow
from codexgram.store.turn_queries import THREAD_CREATING, THREAD_IDLE

log = logging.getLogger(__name__)

# How long thread creation waits before trying again when Codex answered neither yes nor no (a timeout).
CREATE_RETRY = 2.0


async def create_thread(key: str, services: Services) -> ThreadRow | None:
    """``thread/start`` for the pending thread ``key``; the real thread row once recorded, or None."""
    state = await services.repository.run(
        functools.partial(store.load_thread, thread_key=key), what="load_thread"
    )
    pending = state.thread
    if pending is None or pending.status != THREAD_CREATING:
        return None
    session = state.session
    link = services.link
    told_away = False
    params = ThreadStartParams(
        cwd=pending.cwd,
        model=session.model if session else None,
        approval_policy=ApprovalPolicy(session.approval_policy or chat_views.DEFAULT_APPROVAL_POLICY)
        if session
        else ApprovalPolicy(chat_views.DEFAULT_APPROVAL_POLICY),
        sandbox=SandboxMode(session.sandbox or chat_views.DEFAULT_SANDBOX)
        if session
        else SandboxMode(chat_views.DEFAULT_SANDBOX),
    )
    while True:
        if not link.connected:
            if not told_away and state.prompts:
                told_away = True
                services.outbox.post_or_drop(
                    SendMessage(chat_id=pending.chat_id, text=chat_views.codex_away_kept())
                )
            await link.wait_connected(math.inf)
            continue
        try:
            result = await link.call_typed(params, ThreadSessionResult)
        except CodexRefused as exc:
            log.warning("thread %s: codex refused thread/start: %s", key, exc)
            message = Outgoing(text=chat_views.thread_create_failed(exc.rpc_message), notify=True)
            stored = await services.repository.run(
                functools.partial(
                    store.creation_failed,
                    pending=key,
                    chat_id=pending.chat_id,
                    message=message,
                    at=services.clock(),
                ),
                what="creation_failed",
            )
            await services.outbox.submit_all(stored)
            return None
        except CodexUnavailable:
            if link.connected:
                await trio.sleep(CREATE_RETRY)  # it timed out: try again
            continue
        break
    now = services.clock()
    thread = ThreadRow(
        thread_id=result.thread.id,
        chat_id=pending.chat_id,
        workspace=pending.workspace,
        cwd=result.cwd or pending.cwd,
        title=pending.title,
        status=THREAD_IDLE,
        created_at=now,
        updated_at=now,
    )
    await services.repository.run(
        functools.partial(store.thread_created, pending=key, thread=thread), what="thread_created"
    )
    log.info("thread %s created for chat %d (was %s)", thread.thread_id, thread.chat_id, key)
    if thread.title:
        try:
            await link.call_typed(
                ThreadSetNameParams(thread_id=thread.thread_id, name=thread.title), EmptyResult
            )
        except CodexError as exc:
            log.warning("thread %s: could not set its name: %s", thread.thread_id, exc)
    return thread
