"""The chat actor's transaction (:func:`handle_in_transaction`) against a real SQLite file: the gate, the
plan and everything the plan changes, down to the replies' outbox rows, in ONE transaction.

Updates are recorded in the inbox exactly as the poller's consumer records them (:class:`Inbox`), from the
JSON Telegram sends.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import apsw
import pytest

from codexgram.actors import chat_actor
from codexgram.actors.chat_actor import AfterCommit, handle_in_transaction, handle_new_in_transaction
from codexgram.chat import chat_views
from codexgram.chat.chat_core import CodexInfo
from codexgram.chat.gate import REFUSAL_INTERVAL, sender_of
from codexgram.messages import CancelTurn, DropPrompt, SendMessage, SteerPrompt
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.store.inbox_queries import HANDLED, NEW, QUEUED, WAITING
from codexgram.store.rows import InboxRow, SessionRow, ThreadRow, TurnRow
from codexgram.store.turn_queries import THREAD_CREATING, THREAD_IDLE, TURN_RUNNING, pending_key
from codexgram.telegram.converter import unstructure
from codexgram.telegram.keyboards import CancelAction, QueuedAction, QueuedChoice, encode
from codexgram.telegram.outbox_requests import from_record
from codexgram.testing import bot_updates as tg

ADA = tg.user(1001, "Ada", username="ada")
EVE = tg.user(666, "Eve")
ADA_CHAT = tg.private_chat(ADA)
EVE_CHAT = tg.private_chat(EVE)
GROUP = tg.group_chat(-1_002_233_445_566, "Team", kind="supergroup")
NOW = 1_764_950_000.0
CONNECTED = CodexInfo(connected=True, version="0.169.0")
TOKEN = "Tk3n_0123456789A"
THREAD_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[apsw.Connection]:
    connection = open_database(tmp_path / "codexgram.sqlite3")
    with immediate_transaction(connection):
        queries.allow_user(connection, user_id=1001, name="Ada", at=NOW - 10_000)
        queries.add_workspace(connection, name="demo", path="/home/ada/demo", at=NOW - 10_000)
        queries.add_workspace(connection, name="web", path="/srv/web", at=NOW - 10_000)
    try:
        yield connection
    finally:
        connection.close()


def record(conn: apsw.Connection, raw: dict[str, Any], *, at: float = NOW) -> InboxRow:
    """What :meth:`codexgram.actors.inbox.Inbox.accept` does with an update."""
    update = tg.decode(raw)
    chat = update.chat
    assert chat is not None
    sender = sender_of(update)
    with immediate_transaction(conn):
        queries.inbox_add(
            conn,
            update_id=update.update_id,
            chat_id=chat.id,
            user_id=sender.id if sender is not None else None,
            kind=update.kind,
            payload=json.dumps(unstructure(update), ensure_ascii=False, separators=(",", ":")),
            received_at=at,
        )
    row = queries.inbox_get(conn, update.update_id)
    assert row is not None
    return row


def handle(
    conn: apsw.Connection, row: InboxRow, *, now: float = NOW, bot_username: str | None = tg.BOT_USERNAME
) -> AfterCommit:
    with immediate_transaction(conn):
        return handle_in_transaction(conn, row=row, now=now, codex=CONNECTED, bot_username=bot_username)


def send(conn: apsw.Connection, raw: dict[str, Any], *, now: float = NOW) -> AfterCommit:
    return handle(conn, record(conn, raw, at=now), now=now)


def text(
    conn: apsw.Connection, update_id: int, chat: dict[str, Any], sender: dict[str, Any], body: str
) -> AfterCommit:
    return send(conn, tg.message_update(update_id, chat, sender, body, message_id=update_id))


def outbox(conn: apsw.Connection) -> list[SendMessage]:
    messages = []
    for row in queries.outbox_pending(conn):
        request = from_record(row.kind, row.payload)
        assert isinstance(request, SendMessage)
        assert request.chat_id == row.chat_id
        messages.append(request)
    return messages


def audit(conn: apsw.Connection) -> list[tuple[str, str, dict[str, Any]]]:
    return [(row.actor, row.action, json.loads(row.detail)) for row in queries.list_audit(conn)]


def state(conn: apsw.Connection, update_id: int) -> tuple[str, str | None, str | None]:
    row = queries.inbox_get(conn, update_id)
    assert row is not None
    return row.state, row.thread_key, row.outcome


def count(conn: apsw.Connection, table: str) -> int:
    assert table in ("threads", "sessions", "turns", "outbox", "audit_log", "refusals")
    [(n,)] = conn.execute(f"SELECT count(*) FROM {table}").fetchall()
    assert isinstance(n, int)
    return n


def set_workspace(conn: apsw.Connection, name: str = "demo") -> None:
    text(conn, 1, ADA_CHAT, ADA, f"/workspace {name}")
    session = queries.get_session(conn, 1001)
    assert session is not None
    assert session.workspace == name


# --- refusals -----------------------------------------------------------------------------------------------


def test_a_refused_user_is_told_once_and_every_update_is_audited(conn: apsw.Connection) -> None:
    first = text(conn, 10, EVE_CHAT, EVE, "hello")
    [refusal] = outbox(conn)
    assert refusal.text == chat_views.refusal_text(666)
    assert "<code>666</code>" in refusal.text  # their numeric id, so the owner can allow them
    assert outbox(conn)[0].chat_id == 666
    assert [s.row_id for s in first.stored] == [r.id for r in queries.outbox_pending(conn)]
    assert first.answer_button is False
    assert (first.poke, first.command, first.leave_chat) == (None, None, None)
    assert queries.last_refusal(conn, 666) == NOW
    assert state(conn, 10) == (HANDLED, None, "refused: not allowlisted")

    second = text(conn, 11, EVE_CHAT, EVE, "/start")
    third = send(conn, tg.callback_update(12, EVE_CHAT, EVE, "w:demo"), now=NOW + 60)
    assert second.stored == ()
    assert third.stored == ()
    assert (third.answer_button, third.callback_answer) == (True, "Not allowed.")
    assert len(outbox(conn)) == 1  # told once
    assert queries.last_refusal(conn, 666) == NOW  # the time it was told, not the last attempt
    assert audit(conn)[-3:] == [
        ("telegram:666", "refused", {"chat_id": 666, "update_id": 10, "kind": "message"}),
        ("telegram:666", "refused", {"chat_id": 666, "update_id": 11, "kind": "message"}),
        ("telegram:666", "refused", {"chat_id": 666, "update_id": 12, "kind": "callback_query"}),
    ]
    for update_id in (11, 12):
        assert state(conn, update_id) == (HANDLED, None, "refused: not allowlisted")
    # Nothing of a refused update gets past the gate: no session, no thread, no prompt.
    assert (count(conn, "sessions"), count(conn, "threads")) == (0, 0)


def test_refusal_rate_limit_across_calls_exact_boundary(conn: apsw.Connection) -> None:
    send(conn, tg.message_update(20, EVE_CHAT, EVE, "a"), now=NOW)
    send(conn, tg.message_update(21, EVE_CHAT, EVE, "b"), now=NOW + REFUSAL_INTERVAL - 0.5)
    assert len(outbox(conn)) == 1
    again = send(conn, tg.message_update(22, EVE_CHAT, EVE, "c"), now=NOW + REFUSAL_INTERVAL)
    assert len(again.stored) == 1
    assert len(outbox(conn)) == 2
    assert queries.last_refusal(conn, 666) == NOW + REFUSAL_INTERVAL
    send(conn, tg.message_update(23, EVE_CHAT, EVE, "d"), now=NOW + REFUSAL_INTERVAL + 1)
    assert len(outbox(conn)) == 2
    assert [a[1] for a in audit(conn)].count("refused") == 4
    other = tg.user(777, "Mallory")  # the limit is per user
    send(conn, tg.message_update(24, tg.private_chat(other), other, "hi"), now=NOW + REFUSAL_INTERVAL + 2)
    assert [m.chat_id for m in outbox(conn)] == [666, 666, 777]


# --- groups -------------------------------------------------------------------------------------------------


def test_a_group_update_is_audited_and_the_bot_leaves(conn: apsw.Connection) -> None:
    after = send(conn, tg.message_update(30, GROUP, ADA, "/start@codexgram_test_bot"))
    assert after.leave_chat == GROUP["id"]
    assert after.stored == ()
    assert (after.poke, after.command) == (None, None)
    assert audit(conn)[-1] == (
        "telegram:1001",
        "leave-chat",
        {"chat_id": GROUP["id"], "chat_type": "supergroup", "update_id": 30},
    )
    assert state(conn, 30) == (HANDLED, None, "left the chat")
    assert outbox(conn) == []
    assert (count(conn, "sessions"), count(conn, "threads")) == (0, 0)


def test_a_button_in_a_group_is_answered_and_the_bot_leaves(conn: apsw.Connection) -> None:
    after = send(conn, tg.callback_update(31, GROUP, ADA, "w:demo"))
    assert after.leave_chat == GROUP["id"]
    assert after.answer_button
    assert after.callback_answer == "This bot works in private chats only."
    assert (count(conn, "sessions"), len(outbox(conn))) == (0, 0)


def test_being_added_or_removed_from_a_group(conn: apsw.Connection) -> None:
    added = send(conn, tg.my_chat_member_update(32, GROUP, EVE, old="left", new="member"))
    assert added.leave_chat == GROUP["id"]
    removed = send(conn, tg.my_chat_member_update(33, GROUP, EVE, old="member", new="kicked"))
    assert removed.leave_chat is None
    assert [(a[0], a[1]) for a in audit(conn)[-2:]] == [
        ("telegram:666", "leave-chat"),
        ("telegram:666", "left-chat"),
    ]
    assert state(conn, 33) == (HANDLED, None, "not a member")


def test_a_channel_post_is_audited_without_a_user(conn: apsw.Connection) -> None:
    channel = tg.group_chat(-1_009_988_776_655, "News", kind="channel")
    after = send(conn, tg.message_update(34, channel, None, "news", kind="channel_post"))
    assert after.leave_chat == channel["id"]
    assert audit(conn)[-1][:2] == ("telegram", "leave-chat")


def test_blocking_the_bot_in_private_is_only_marked(conn: apsw.Connection) -> None:
    before = len(audit(conn))
    after = send(conn, tg.my_chat_member_update(35, ADA_CHAT, ADA, old="member", new="kicked"))
    assert (after.stored, after.answer_button, after.leave_chat, after.poke, after.command) == (
        (),
        False,
        None,
        None,
        None,
    )
    assert len(audit(conn)) == before
    row_state, _, outcome = state(conn, 35)
    assert row_state == HANDLED
    assert outcome is not None
    assert outcome.startswith("ignored:")


# --- the allowlist counts at once ---------------------------------------------------------------------------


def test_an_allowlist_change_counts_for_the_very_next_update(conn: apsw.Connection) -> None:
    text(conn, 40, EVE_CHAT, EVE, "/start")
    assert len(outbox(conn)) == 1
    with immediate_transaction(conn):  # `codexgram admin allow-user 666`, from another process in real life
        queries.allow_user(conn, user_id=666, name="Eve", at=NOW + 1)
    text(conn, 41, EVE_CHAT, EVE, "/start")
    assert state(conn, 41) == (HANDLED, None, "command /start")
    greeting = outbox(conn)[-1].text or ""
    assert "<code>666</code>" in greeting
    assert greeting != chat_views.refusal_text(666)
    with immediate_transaction(conn):
        queries.remove_user(conn, 666)
    text(conn, 42, EVE_CHAT, EVE, "do something")
    assert state(conn, 42) == (HANDLED, None, "refused: not allowlisted")
    assert len(outbox(conn)) == 2  # told within the hour already: not again


# --- prompts and threads ------------------------------------------------------------------------------------


def test_a_prompt_is_queued_on_a_pending_thread_and_the_next_on_the_same(conn: apsw.Connection) -> None:
    set_workspace(conn)
    before = len(outbox(conn))
    first = text(conn, 50, ADA_CHAT, ADA, "fix the build")
    key = pending_key(50)
    assert state(conn, 50) == (QUEUED, key, None)
    assert queries.get_thread(conn, key) == ThreadRow(
        thread_id=key,
        chat_id=1001,
        workspace="demo",
        cwd="/home/ada/demo",
        title=None,
        status=THREAD_CREATING,
        created_at=NOW,
        updated_at=NOW,
    )
    session = queries.get_session(conn, 1001)
    assert session is not None
    assert (session.workspace, session.thread_id) == ("demo", key)
    assert first.poke == key
    assert first.stored == ()
    assert first.answer_button is False

    second = text(conn, 51, ADA_CHAT, ADA, "and the docs")
    assert state(conn, 51) == (QUEUED, key, None)
    assert second.poke == key
    assert count(conn, "threads") == 1
    assert [r.update_id for r in queries.inbox_prompts_of(conn, key)] == [50, 51]
    assert len(outbox(conn)) == before  # the thread's actor shows the queue, not the chat
    # The poke hands the thread its queue as this transaction left it: no read back before turn/start.
    assert [p.update_id for p in first.prompts] == [50]
    assert [(p.update_id, p.text, p.user_id) for p in second.prompts] == [
        (50, "fix the build", 1001),
        (51, "and the docs", 1001),
    ]


def record_only(conn: apsw.Connection, update_id: int, body: str) -> None:
    record(conn, tg.message_update(update_id, ADA_CHAT, ADA, body, message_id=update_id))


def handle_new(conn: apsw.Connection, *, limit: int = 50) -> list[tuple[InboxRow, AfterCommit]]:
    with immediate_transaction(conn):
        return handle_new_in_transaction(
            conn, chat_id=1001, now=NOW, codex=CONNECTED, bot_username=tg.BOT_USERNAME, limit=limit
        )


def test_new_rows_are_read_and_handled_in_one_transaction_in_update_order(conn: apsw.Connection) -> None:
    set_workspace(conn)
    for update_id, body in ((62, "second"), (61, "first"), (63, "/help")):
        record_only(conn, update_id, body)
    handled = handle_new(conn, limit=2)
    assert [row.update_id for row, _ in handled] == [61, 62]  # update order, at most `limit`
    assert state(conn, 63)[0] == NEW
    # The second row's handling saw the first one's writes (the same pending thread).
    key = pending_key(61)
    assert [after.poke for _, after in handled] == [key, key]
    assert [p.update_id for p in handled[1][1].prompts] == [61, 62]
    [(row, after)] = handle_new(conn)
    assert row.update_id == 63
    assert state(conn, 63)[0] == HANDLED
    assert after.poke is None
    assert len(after.stored) == 1
    assert handle_new(conn) == []


def test_a_row_that_fails_is_given_up_alone(conn: apsw.Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    set_workspace(conn)
    for update_id in (71, 72, 73):
        record_only(conn, update_id, f"message {update_id}")
    real = chat_actor.handle_in_transaction

    def failing(conn: apsw.Connection, *, row: InboxRow, **kwargs: Any) -> AfterCommit:
        after = real(conn, row=row, **kwargs)  # writes, then fails: the savepoint must undo them
        if row.update_id == 72:
            raise RuntimeError("a bug")
        return after

    monkeypatch.setattr(chat_actor, "handle_in_transaction", failing)
    before = len(outbox(conn))
    handled = handle_new(conn)
    assert [row.update_id for row, _ in handled] == [71, 72, 73]
    assert state(conn, 71)[0] == QUEUED
    assert state(conn, 73)[0] == QUEUED
    assert state(conn, 72) == (HANDLED, None, "failed: RuntimeError")
    assert [p.update_id for p in queries.inbox_prompts_of(conn, pending_key(71))] == [71, 73]
    assert [m.text for m in outbox(conn)[before:]] == [chat_views.failed_to_handle()]


def test_a_prompt_goes_to_the_sessions_real_thread(conn: apsw.Connection) -> None:
    set_workspace(conn)
    text(conn, 52, ADA_CHAT, ADA, "first")
    real = ThreadRow(
        thread_id=THREAD_ID,
        chat_id=1001,
        workspace="demo",
        cwd="/home/ada/demo",
        title=None,
        status=THREAD_IDLE,
        created_at=NOW,
        updated_at=NOW,
    )
    with immediate_transaction(conn):
        queries.replace_pending_thread(conn, pending_key(52), real)
    after = text(conn, 53, ADA_CHAT, ADA, "second")
    assert state(conn, 53) == (QUEUED, THREAD_ID, None)
    assert after.poke == THREAD_ID
    assert count(conn, "threads") == 1


def test_a_removed_workspace_does_not_stop_the_sessions_thread(conn: apsw.Connection) -> None:
    set_workspace(conn)
    text(conn, 54, ADA_CHAT, ADA, "first")
    with immediate_transaction(conn):  # `codexgram admin remove-workspace demo`
        queries.remove_workspace(conn, "demo")
    session = queries.get_session(conn, 1001)
    assert session is not None
    assert (session.workspace, session.thread_id) == (None, pending_key(54))
    after = text(conn, 55, ADA_CHAT, ADA, "second")
    assert state(conn, 55) == (QUEUED, pending_key(54), None)
    assert after.poke == pending_key(54)


def test_kept_prompts_go_in_order_to_one_new_thread_when_a_workspace_is_chosen(conn: apsw.Connection) -> None:
    text(conn, 60, ADA_CHAT, ADA, "one")
    text(conn, 61, ADA_CHAT, ADA, "/help")
    text(conn, 62, ADA_CHAT, ADA, "two")
    text(conn, 63, ADA_CHAT, ADA, "three")
    for update_id in (60, 62, 63):
        assert state(conn, update_id) == (WAITING, None, None)
    kept_picker = chat_views.workspace_picker(queries.list_workspaces(conn), None, kept=True)
    # The picker once, not for every message kept:
    assert [m.text for m in outbox(conn)].count(kept_picker.text or "?") == 1
    assert count(conn, "threads") == 0

    after = text(conn, 64, ADA_CHAT, ADA, "/workspace web")
    key = pending_key(60)
    assert after.poke == key
    assert state(conn, 64) == (HANDLED, None, "command /workspace")
    assert [(r.update_id, r.state) for r in queries.inbox_prompts_of(conn, key)] == [
        (60, QUEUED),
        (62, QUEUED),
        (63, QUEUED),
    ]
    assert state(conn, 61) == (HANDLED, None, "command /help")
    thread = queries.get_thread(conn, key)
    assert thread is not None
    assert (thread.workspace, thread.cwd, thread.status) == ("web", "/srv/web", THREAD_CREATING)
    assert count(conn, "threads") == 1
    session = queries.get_session(conn, 1001)
    assert session is not None
    assert (session.workspace, session.thread_id) == ("web", key)
    assert queries.inbox_of_chat(conn, 1001, state=WAITING) == []
    web = queries.get_workspace(conn, "web")
    assert web is not None
    assert outbox(conn)[-1].text == chat_views.workspace_chosen(web, sending=3)
    assert audit(conn)[-1] == ("telegram:1001", "choose-workspace", {"chat_id": 1001, "workspace": "web"})


def test_a_workspace_button_releases_the_kept_prompts_too(conn: apsw.Connection) -> None:
    text(conn, 65, ADA_CHAT, ADA, "one")
    after = send(conn, tg.callback_update(66, ADA_CHAT, ADA, "w:demo"))
    assert after.answer_button
    assert after.callback_answer == "Workspace: demo"
    assert state(conn, 65) == (QUEUED, pending_key(65), None)
    assert state(conn, 66)[0] == HANDLED


def test_new_creates_a_pending_thread_with_its_title(conn: apsw.Connection) -> None:
    set_workspace(conn)
    after = text(conn, 67, ADA_CHAT, ADA, "/new Refactor auth")
    key = pending_key(67)
    thread = queries.get_thread(conn, key)
    assert thread is not None
    assert (thread.title, thread.status) == ("Refactor auth", THREAD_CREATING)
    assert after.poke == key
    assert state(conn, 67) == (HANDLED, None, "command /new")
    text(conn, 68, ADA_CHAT, ADA, "go")
    assert state(conn, 68) == (QUEUED, key, None)


# --- exactly once -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["/start", "fix the build", "/workspace web"])
def test_a_duplicate_call_for_a_handled_row_does_nothing(conn: apsw.Connection, body: str) -> None:
    set_workspace(conn)
    row = record(conn, tg.message_update(70, ADA_CHAT, ADA, body))
    handle(conn, row)
    snapshot = (
        [(r.id, r.payload) for r in queries.outbox_pending(conn)],
        audit(conn),
        state(conn, 70),
        queries.get_session(conn, 1001),
        queries.list_threads(conn),
    )
    assert handle(conn, row, now=NOW + 5) == AfterCommit()
    assert handle(conn, row, now=NOW + 6) == AfterCommit()
    assert snapshot == (
        [(r.id, r.payload) for r in queries.outbox_pending(conn)],
        audit(conn),
        state(conn, 70),
        queries.get_session(conn, 1001),
        queries.list_threads(conn),
    )


def test_a_duplicate_refusal_is_not_audited_twice(conn: apsw.Connection) -> None:
    row = record(conn, tg.message_update(71, EVE_CHAT, EVE, "hi"))
    handle(conn, row)
    handle(conn, row, now=NOW + REFUSAL_INTERVAL * 2)
    assert len(outbox(conn)) == 1
    assert [a[1] for a in audit(conn)].count("refused") == 1


def test_replies_are_outbox_rows_of_the_same_transaction(conn: apsw.Connection) -> None:
    row = record(conn, tg.message_update(72, ADA_CHAT, ADA, "/start"))
    seen: list[int] = []

    def crash_before_commit() -> None:
        with immediate_transaction(conn):
            handle_in_transaction(conn, row=row, now=NOW, codex=CONNECTED, bot_username=tg.BOT_USERNAME)
            seen.append(len(queries.outbox_pending(conn)))
            raise RuntimeError("crash before the commit")

    with pytest.raises(RuntimeError, match="crash"):
        crash_before_commit()
    assert seen == [1]
    # Rolled back together: no reply, and the update is still new (handled on the next try, once).
    assert queries.outbox_pending(conn) == []
    assert state(conn, 72) == (NEW, None, None)
    after = handle(conn, row)
    [pending] = queries.outbox_pending(conn)
    assert [s.row_id for s in after.stored] == [pending.id]
    assert pending.chat_id == 1001
    stored = after.stored[0].request
    assert isinstance(stored, SendMessage)
    assert stored.durable
    assert stored == from_record(pending.kind, pending.payload)
    assert stored.text is not None
    assert "Ada" in stored.text
    assert "<code>1001</code>" in stored.text
    assert state(conn, 72) == (HANDLED, None, "command /start")


def test_a_picker_reply_keeps_its_buttons_in_the_outbox(conn: apsw.Connection) -> None:
    text(conn, 73, ADA_CHAT, ADA, "/workspace")
    [picker] = outbox(conn)
    assert picker.reply_markup is not None
    assert [b.callback_data for row in picker.reply_markup.inline_keyboard for b in row] == [
        "w:demo",
        "w:web",
    ]


# --- buttons and commands that read the store ---------------------------------------------------------------


def start_turn(conn: apsw.Connection, *, delivered: bool = False) -> None:
    set_workspace(conn)
    text(conn, 80, ADA_CHAT, ADA, "work")
    real = ThreadRow(
        thread_id=THREAD_ID,
        chat_id=1001,
        workspace="demo",
        cwd="/home/ada/demo",
        title=None,
        status=THREAD_IDLE,
        created_at=NOW,
        updated_at=NOW,
    )
    turn = TurnRow(
        turn_id="turn-1",
        thread_id=THREAD_ID,
        chat_id=1001,
        user_id=1001,
        update_id=80,
        status=TURN_RUNNING,
        cancel_token=TOKEN,
        progress_message_id=None,
        sent_items=(),
        tokens=None,
        delivered=False,
        started_at=NOW - 42,
        finished_at=None,
    )
    with immediate_transaction(conn):
        queries.replace_pending_thread(conn, pending_key(80), real)
        queries.add_turn(conn, turn)
        queries.inbox_handled(conn, 80, outcome="turn turn-1", at=NOW)
        if delivered:
            queries.finish_turn(conn, "turn-1", status="completed", tokens=10, at=NOW)


def test_status_and_cancel_see_the_running_turn(conn: apsw.Connection) -> None:
    start_turn(conn)
    text(conn, 81, ADA_CHAT, ADA, "/status")
    assert "42s" in (outbox(conn)[-1].text or "")  # how long the turn has been running
    after = text(conn, 82, ADA_CHAT, ADA, "/cancel")
    assert after.command == (THREAD_ID, CancelTurn(turn_id="turn-1"))
    assert audit(conn)[-1] == ("telegram:1001", "cancel-turn", {"chat_id": 1001, "turn_id": "turn-1"})


def test_the_cancel_button_finds_its_turn_by_token(conn: apsw.Connection) -> None:
    start_turn(conn)
    after = send(conn, tg.callback_update(83, ADA_CHAT, ADA, encode(CancelAction(token=TOKEN))))
    assert after.command == (THREAD_ID, CancelTurn(turn_id="turn-1"))
    assert (after.answer_button, after.callback_answer) == (True, "Stopping…")
    unknown = send(
        conn, tg.callback_update(84, ADA_CHAT, ADA, encode(CancelAction(token="Unknown_token_16")))
    )
    assert unknown.command is None
    assert unknown.callback_answer == "This button is no longer active."


def test_the_cancel_button_of_a_delivered_turn(conn: apsw.Connection) -> None:
    start_turn(conn, delivered=True)
    after = send(conn, tg.callback_update(85, ADA_CHAT, ADA, encode(CancelAction(token=TOKEN))))
    assert after.command is None
    assert after.callback_answer == "This turn has already ended."


@pytest.mark.parametrize(
    ("choice", "command"), [(QueuedChoice.STEER, SteerPrompt), (QueuedChoice.DROP, DropPrompt)]
)
def test_a_queued_messages_buttons_find_it_by_token(
    conn: apsw.Connection, choice: QueuedChoice, command: type[SteerPrompt | DropPrompt]
) -> None:
    start_turn(conn)
    text(conn, 86, ADA_CHAT, ADA, "next")
    with immediate_transaction(conn):
        queries.inbox_set_card(conn, 86, token=TOKEN[::-1], message_id=900)
    data = encode(QueuedAction(token=TOKEN[::-1], choice=choice))
    after = send(conn, tg.callback_update(87, ADA_CHAT, ADA, data))
    assert after.command == (THREAD_ID, command(update_id=86))
    assert state(conn, 86) == (QUEUED, THREAD_ID, None)  # the thread's actor decides, not the chat
    assert state(conn, 87)[0] == HANDLED


def test_a_garbage_button_is_answered(conn: apsw.Connection) -> None:
    after = send(conn, tg.callback_update(88, ADA_CHAT, ADA, "rm -rf"))
    assert (after.answer_button, after.callback_answer) == (True, "This button is not recognised.")
    assert state(conn, 88) == (HANDLED, None, "button: invalid")
    assert outbox(conn) == []


def test_the_session_survives_as_stored(conn: apsw.Connection) -> None:
    set_workspace(conn, "web")
    assert queries.get_session(conn, 1001) == SessionRow(
        chat_id=1001, workspace="web", thread_id=None, model=None, sandbox=None, updated_at=NOW
    )
