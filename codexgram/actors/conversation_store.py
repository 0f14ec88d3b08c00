"""The transactions of the chat and thread actors (each function is ONE transaction's work).

They run on the repository's worker thread (``Repository.run``), so they only touch the connection. Where a
state change comes with messages for the chat, the messages' outbox rows are written in the same
transaction (:func:`store_messages`) and the caller hands them to the outbox as ``StoredRequest`` after the
commit: a message goes out exactly once with the change it belongs to.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence

import apsw
import attrs

from codexgram.chat.outgoing import Outgoing, to_request
from codexgram.chat.thread_effects import FinishTurn, Prompt
from codexgram.chat.watched_turn import UnfinishedTurn
from codexgram.errors import NotFound
from codexgram.messages import DeleteMessage, StoredRequest
from codexgram.store import queries
from codexgram.store.inbox_queries import HANDLED, QUEUED, STARTING
from codexgram.store.rows import InboxRow, SessionRow, ThreadRow, TurnRow
from codexgram.store.turn_queries import (
    THREAD_CREATING,
    THREAD_IDLE,
    THREAD_LOST,
    TURN_RUNNING,
    is_pending_key,
    pending_key,
)
from codexgram.telegram.converter import structure
from codexgram.telegram.outbox_requests import DurableRequest, to_record
from codexgram.telegram.types import Update


def store_requests(
    conn: apsw.Connection, chat_id: int, requests: Sequence[DurableRequest], at: float
) -> list[StoredRequest]:
    """Write outbox rows for ``requests`` (in the caller's transaction); the caller posts the result."""
    stored = []
    for request in requests:
        kind, payload = to_record(request)
        row_id = queries.outbox_add(conn, chat_id=chat_id, kind=kind, payload=payload, created_at=at)
        stored.append(StoredRequest(row_id=row_id, request=request))
    return stored


def store_messages(
    conn: apsw.Connection, chat_id: int, messages: Sequence[Outgoing], at: float
) -> list[StoredRequest]:
    return store_requests(conn, chat_id, [to_request(m, chat_id, durable=True) for m in messages], at)


# --- prompts ------------------------------------------------------------------------------------------------


def prompt_text(row: InboxRow) -> str:
    """The text a prompt row carries (the message's text, or its caption)."""
    update = structure(json.loads(row.payload), Update)
    message = update.message or update.edited_message
    if message is None:
        return ""
    return message.text or message.caption or ""


def prompt_of(row: InboxRow) -> Prompt:
    return Prompt(
        update_id=row.update_id,
        user_id=row.user_id,
        text=prompt_text(row),
        starting=row.state == STARTING,
        card_token=row.card_token,
        card_message_id=row.card_message_id,
    )


def load_prompts(conn: apsw.Connection, thread_key: str) -> list[Prompt]:
    return [prompt_of(row) for row in queries.inbox_prompts_of(conn, thread_key)]


@attrs.frozen(kw_only=True)
class ThreadState:
    """What the store holds for a thread when its actor starts."""

    thread: ThreadRow | None
    session: SessionRow | None
    prompts: tuple[Prompt, ...]
    unfinished: tuple[UnfinishedTurn, ...]


def load_thread(conn: apsw.Connection, thread_key: str) -> ThreadState:
    thread = queries.get_thread(conn, thread_key)
    session = queries.get_session(conn, thread.chat_id) if thread is not None else None
    unfinished = tuple(
        UnfinishedTurn(
            turn_id=turn.turn_id,
            update_id=turn.update_id,
            user_id=turn.user_id,
            cancel_token=turn.cancel_token,
            progress_message_id=turn.progress_message_id,
            sent_items=turn.sent_items,
            started_at=turn.started_at,
        )
        for turn in queries.undelivered_turns(conn, thread_id=thread_key)
    )
    return ThreadState(
        thread=thread, session=session, prompts=tuple(load_prompts(conn, thread_key)), unfinished=unfinished
    )


def mark_starting(conn: apsw.Connection, update_id: int) -> bool:
    """The prompt is about to be sent; False if it is no longer waiting (handled meanwhile)."""
    row = queries.inbox_get(conn, update_id)
    if row is None or row.state not in (QUEUED, STARTING):
        return False
    queries.inbox_set_state(conn, update_id, STARTING)
    return True


def requeue(conn: apsw.Connection, update_id: int) -> None:
    row = queries.inbox_get(conn, update_id)
    if row is not None and row.state == STARTING:
        queries.inbox_set_state(conn, update_id, QUEUED)


def mark_handled(
    conn: apsw.Connection, chat_id: int, update_id: int, outcome: str, message: Outgoing | None, at: float
) -> list[StoredRequest]:
    row = queries.inbox_get(conn, update_id)
    if row is None or row.state == HANDLED:
        return []
    queries.inbox_handled(conn, update_id, outcome=outcome, at=at)
    return store_messages(conn, chat_id, [message] if message is not None else [], at)


def set_card(conn: apsw.Connection, update_id: int, token: str, message_id: int | None) -> None:
    with contextlib.suppress(NotFound):  # handled and pruned meanwhile
        queries.inbox_set_card(conn, update_id, token=token, message_id=message_id)


# --- turns --------------------------------------------------------------------------------------------------


def record_turn(
    conn: apsw.Connection,
    *,
    thread_id: str,
    chat_id: int,
    turn_id: str,
    cancel_token: str,
    update_id: int | None,
    user_id: int | None,
    at: float,
) -> None:
    """Record a turn and mark the prompt that started it handled, in one transaction."""
    queries.add_turn(
        conn,
        TurnRow(
            turn_id=turn_id,
            thread_id=thread_id,
            chat_id=chat_id,
            user_id=user_id,
            update_id=update_id,
            status=TURN_RUNNING,
            cancel_token=cancel_token,
            progress_message_id=None,
            sent_items=(),
            tokens=None,
            delivered=False,
            started_at=at,
            finished_at=None,
        ),
    )
    if update_id is not None:
        row = queries.inbox_get(conn, update_id)
        if row is not None and row.state != HANDLED:
            queries.inbox_handled(conn, update_id, outcome=f"turn {turn_id}", at=at)
    queries.set_thread_status(conn, thread_id, TURN_RUNNING, at=at)


def deliver(
    conn: apsw.Connection,
    *,
    thread_id: str,
    chat_id: int,
    turn_id: str,
    messages: Sequence[Outgoing],
    item_ids: Sequence[str],
    finish: FinishTurn | None,
    at: float,
) -> list[StoredRequest]:
    """A turn's finished steps into the outbox, with the note that they are (and, at its end, the turn's
    ``delivered`` mark and the removal of its progress message): one transaction."""
    turn = queries.get_turn(conn, turn_id)
    if turn is None or turn.delivered:
        return []  # delivered before (a duplicate after a reconnect): never twice
    requests: list[DurableRequest] = [to_request(m, chat_id, durable=True) for m in messages]
    if item_ids:
        queries.add_sent_items(conn, turn_id, item_ids)
    if finish is not None:
        queries.finish_turn(conn, turn_id, status=finish.status, tokens=finish.tokens, at=at)
        progress = finish.progress_message_id or turn.progress_message_id
        if progress is not None:
            requests.append(DeleteMessage(chat_id=chat_id, message_id=progress, durable=True))
        if queries.get_thread(conn, thread_id) is not None:
            queries.set_thread_status(conn, thread_id, THREAD_IDLE, at=at)
    return store_requests(conn, chat_id, requests, at)


def set_progress_message(conn: apsw.Connection, turn_id: str, message_id: int) -> bool:
    """Remember the progress message; False if the turn was delivered meanwhile (then delete it)."""
    turn = queries.get_turn(conn, turn_id)
    if turn is None or turn.delivered:
        return False
    queries.set_turn_progress_message(conn, turn_id, message_id)
    return True


# --- threads ------------------------------------------------------------------------------------------------


def thread_created(conn: apsw.Connection, pending: str, thread: ThreadRow) -> None:
    queries.replace_pending_thread(conn, pending, thread)


def creation_failed(
    conn: apsw.Connection, pending: str, chat_id: int, message: Outgoing, at: float
) -> list[StoredRequest]:
    """Codex refused to create the thread: its prompts are answered with the error and the session forgets
    it (the next message tries again)."""
    stored: list[StoredRequest] = []
    for row in queries.inbox_prompts_of(conn, pending):
        queries.inbox_handled(conn, row.update_id, outcome="thread not created", at=at)
    conn.execute("UPDATE sessions SET thread_id = NULL WHERE thread_id = ?", (pending,))
    conn.execute("DELETE FROM threads WHERE thread_id = ?", (pending,))
    stored += store_messages(conn, chat_id, [message], at)
    return stored


def thread_lost(
    conn: apsw.Connection, thread_id: str, prompts: Sequence[int], message: Outgoing | None, at: float
) -> tuple[str | None, list[StoredRequest]]:
    """Codex forgot the thread: mark it lost; its queued prompts (and the session) move to a new thread to be
    created in the same place. Returns the new thread's key (None without prompts) and the stored message."""
    thread = queries.get_thread(conn, thread_id)
    if thread is None:
        return None, []
    # Also the prompts a chat queued on this thread after its actor decided (they are not in ``prompts``).
    prompts = sorted(set(prompts) | {row.update_id for row in queries.inbox_prompts_of(conn, thread_id)})
    queries.set_thread_status(conn, thread_id, THREAD_LOST, at=at)
    stored = store_messages(conn, thread.chat_id, [message] if message is not None else [], at)
    if not prompts:
        conn.execute("UPDATE sessions SET thread_id = NULL WHERE thread_id = ?", (thread_id,))
        return None, stored
    key = pending_key(min(prompts))
    queries.save_thread(
        conn, attrs.evolve(thread, thread_id=key, status=THREAD_CREATING, created_at=at, updated_at=at)
    )
    for update_id in prompts:
        row = queries.inbox_get(conn, update_id)
        if row is not None and row.state != HANDLED:
            queries.inbox_set_state(conn, update_id, QUEUED, thread_key=key)
    conn.execute("UPDATE sessions SET thread_id = ? WHERE thread_id = ?", (key, thread_id))
    return key, stored


def is_pending(key: str) -> bool:
    return is_pending_key(key)
