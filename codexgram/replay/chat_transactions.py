"""The store work of a bot replay's one chat: each function is one transaction on the real schema.

The replay plays the user without the chat actor, so what the chat actor would write for the user (the chat
set up, a plain message queued on the chat's thread) is written here the same way, and what the replay
checks at the end (:class:`StoreFacts`) is read here. Sync and apsw only: the rig runs them through the
repository.
"""

from __future__ import annotations

import json

import apsw
import attrs

from codexgram.replay.user_script import BotSession
from codexgram.store import queries
from codexgram.store.inbox_queries import HANDLED, QUEUED
from codexgram.store.rows import SessionRow, ThreadRow, TurnRow
from codexgram.store.turn_queries import THREAD_CREATING, pending_key
from codexgram.telegram.converter import unstructure
from codexgram.telegram.types import Chat, Message, Update, User

CHAT_ID = 4242
USER_ID = 4242
WORKSPACE = "replay"


@attrs.frozen(kw_only=True)
class StoreFacts:
    """What the store holds at the end."""

    turns: tuple[TurnRow, ...]
    unhandled_inbox: tuple[tuple[int, str], ...]  # (update id, state)
    outbox_rows: int


def set_up_chat(conn: apsw.Connection, *, session: BotSession, now: float) -> None:
    """The chat's user allowed, a workspace at the session's cwd, the chat's session on it (no thread)."""
    queries.add_workspace(conn, name=WORKSPACE, path=session.cwd, at=now)
    queries.allow_user(conn, user_id=USER_ID, name="Replay", at=now)
    queries.save_session(
        conn,
        SessionRow(
            chat_id=CHAT_ID,
            workspace=WORKSPACE,
            thread_id=None,
            model=session.model,
            sandbox=session.sandbox,
            approval_policy=session.approval_policy,
            updated_at=now,
        ),
    )


def queue_message(
    conn: apsw.Connection, *, session: BotSession, update_id: int, text: str, now: float
) -> str:
    """What the chat actor's plan does with a plain message (one transaction); returns the thread key.

    The plan's simple case only: the message is queued on the session's thread, or on a new pending thread
    (``new:<update id>``) when the session has none. A lost thread or messages kept waiting for a workspace
    do not happen in a replay (the session always has its workspace)."""
    row = queries.get_session(conn, CHAT_ID)
    assert row is not None
    queries.inbox_add(
        conn,
        update_id=update_id,
        chat_id=CHAT_ID,
        user_id=USER_ID,
        kind="message",
        payload=_update_json(update_id, text, now),
        received_at=now,
    )
    key = row.thread_id
    if key is None:
        key = pending_key(update_id)
        queries.save_thread(
            conn,
            ThreadRow(
                thread_id=key,
                chat_id=CHAT_ID,
                workspace=WORKSPACE,
                cwd=session.cwd,
                title=None,
                status=THREAD_CREATING,
                created_at=now,
                updated_at=now,
            ),
        )
        queries.save_session(conn, attrs.evolve(row, thread_id=key, updated_at=now))
    queries.inbox_set_state(conn, update_id, QUEUED, thread_key=key)
    return key


def _update_json(update_id: int, text: str, at: float) -> str:
    # The inbox row holds the update as Telegram sent it; the thread actor reads the prompt from it.
    user = User(id=USER_ID, is_bot=False, first_name="Replay")
    chat = Chat(id=CHAT_ID, type="private")
    message = Message(message_id=update_id, date=int(at), chat=chat, text=text, from_user=user)
    update = Update(update_id=update_id, message=message)
    return json.dumps(unstructure(update), ensure_ascii=False, separators=(",", ":"))


def running_turn(conn: apsw.Connection) -> tuple[str | None, str | None]:
    """The chat's thread key and its running turn's id (None, None: no thread; key, None: no turn)."""
    session = queries.get_session(conn, CHAT_ID)
    key = session.thread_id if session is not None else None
    if key is None:
        return None, None
    turn = queries.running_turn_of(conn, key)
    return key, turn.turn_id if turn is not None else None


def store_facts(conn: apsw.Connection) -> StoreFacts:
    """Every turn (oldest first), the inbox rows not handled, and how many outbox rows are left."""
    turn_ids = [str(t) for (t,) in conn.execute("SELECT turn_id FROM turns ORDER BY started_at, turn_id")]
    turns = [queries.get_turn(conn, turn_id) for turn_id in turn_ids]
    unhandled = tuple(
        (int(update_id), str(state))
        for update_id, state in conn.execute(
            "SELECT update_id, state FROM inbox WHERE state != ? ORDER BY update_id", (HANDLED,)
        )
    )
    ((outbox_rows,),) = conn.execute("SELECT count(*) FROM outbox")
    return StoreFacts(
        turns=tuple(t for t in turns if t is not None),
        unhandled_inbox=unhandled,
        outbox_rows=int(outbox_rows),
    )
