"""The chat core: what an admitted update does (commands, prompts, buttons), as a plan, with no store.

Updates are decoded from the JSON Telegram sends. Every plan's replies are checked to be HTML Telegram
accepts, and every answer to a button press to fit answerCallbackQuery's 200 characters.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from codexgram.chat import chat_views as views
from codexgram.chat.chat_core import Audit, ChatContext, ChatPlan, CodexInfo, plan_update
from codexgram.chat.turn_view import format_duration
from codexgram.messages import CancelTurn, DropPrompt, SteerPrompt
from codexgram.store.inbox_queries import HANDLED, QUEUED, STARTING, WAITING
from codexgram.store.rows import InboxRow, SessionRow, ThreadRow, TurnRow, WorkspaceRow
from codexgram.store.turn_queries import THREAD_CREATING, THREAD_IDLE, THREAD_LOST, TURN_RUNNING, pending_key
from codexgram.telegram.html_entities import plain_text_of
from codexgram.telegram.keyboards import (
    ApprovalAction,
    ApprovalChoice,
    CancelAction,
    QueuedAction,
    QueuedChoice,
    WorkspacePick,
    encode,
)
from codexgram.telegram.types import InlineKeyboardMarkup, User
from codexgram.testing import bot_updates as tg

ADA = tg.user(1001, "Ada", username="ada")
CHAT = tg.private_chat(ADA)
ADA_USER = User(id=1001, is_bot=False, first_name="Ada", last_name="Lovelace", username="ada")
NOW = 1_764_950_000.0
DEMO = WorkspaceRow(name="demo", path="/home/ada/demo", added_at=1.0)
WEB = WorkspaceRow(name="web", path="/srv/web & co", added_at=2.0)
THREAD_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
TOKEN = "Tk3n_0123456789A"
OTHER_TOKEN = "Zz9-876543210abc"
UPDATE_ID = 500


def session(workspace: str | None = "demo", thread_id: str | None = None, **fields: Any) -> SessionRow:
    return SessionRow(
        chat_id=1001,
        workspace=workspace,
        thread_id=thread_id,
        model=fields.pop("model", None),
        sandbox=fields.pop("sandbox", None),
        updated_at=NOW - 100,
        **fields,
    )


def thread(thread_id: str = THREAD_ID, status: str = THREAD_IDLE, title: str | None = None) -> ThreadRow:
    return ThreadRow(
        thread_id=thread_id,
        chat_id=1001,
        workspace="demo",
        cwd=DEMO.path,
        title=title,
        status=status,
        created_at=NOW - 1000,
        updated_at=NOW - 100,
    )


def turn(
    *, chat_id: int = 1001, user_id: int | None = 1001, delivered: bool = False, started: float = 65
) -> TurnRow:
    return TurnRow(
        turn_id="turn-7",
        thread_id=THREAD_ID,
        chat_id=chat_id,
        user_id=user_id,
        update_id=480,
        status=TURN_RUNNING,
        cancel_token=TOKEN,
        progress_message_id=None,
        sent_items=(),
        tokens=None,
        delivered=delivered,
        started_at=NOW - started,
        finished_at=None,
    )


def card(
    *, chat_id: int = 1001, user_id: int | None = 1001, state: str = QUEUED, key: str | None = THREAD_ID
) -> InboxRow:
    return InboxRow(
        update_id=490,
        chat_id=chat_id,
        user_id=user_id,
        kind="message",
        payload="{}",
        state=state,
        thread_key=key,
        card_message_id=91,
        card_token=TOKEN,
        outcome=None,
        received_at=NOW - 20,
        handled_at=None,
    )


def context(**fields: Any) -> ChatContext:
    values: dict[str, Any] = {
        "now": NOW,
        "chat_id": 1001,
        "user": ADA_USER,
        "bot_username": tg.BOT_USERNAME,
        "session": None,
        "workspaces": (DEMO, WEB),
        "thread": None,
        "running_turn": None,
        "queued": 0,
        "waiting": (),
        "codex": CodexInfo(connected=True, version="0.169.0"),
    }
    values.update(fields)
    return ChatContext(**values)


def check(plan: ChatPlan) -> ChatPlan:
    for reply in plan.replies:
        assert reply.text is not None
        plain_text_of(reply.text)  # raises where Telegram would refuse the HTML
        assert len(reply.text) < 4096
    if plan.callback_answer is not None:
        assert len(plan.callback_answer) <= 200
    if plan.prompt_state is not None:
        assert plan.prompt_state in (WAITING, QUEUED)
        assert (plan.thread_key is None) == (plan.prompt_state == WAITING)
    if plan.new_thread is not None:
        assert plan.new_thread.status == THREAD_CREATING
        assert plan.session is not None
        assert plan.session.thread_id == plan.new_thread.thread_id
    return plan


def plan_text(text: str | None, ctx: ChatContext | None = None, **fields: Any) -> ChatPlan:
    raw = tg.message_update(UPDATE_ID, CHAT, ADA, text, **fields)
    return check(plan_update(tg.decode(raw), ctx or context()))


def press(data: str | None, ctx: ChatContext | None = None) -> ChatPlan:
    raw = tg.callback_update(UPDATE_ID, CHAT, ADA, data)
    plan = check(plan_update(tg.decode(raw), ctx or context()))
    assert plan.prompt_state is None  # a button press is never a prompt
    assert plan.callback_answer is not None  # the spinner always stops
    return plan


def texts(plan: ChatPlan) -> list[str]:
    return [plain_text_of(reply.text) for reply in plan.replies if reply.text is not None]


def only_text(plan: ChatPlan) -> str:
    [text] = texts(plan)
    return text


def shown(html: str) -> str:
    """What the user reads of a view's HTML (the tests name the view; its wording is the golden files')."""
    return plain_text_of(html)


def buttons(markup: InlineKeyboardMarkup | None) -> list[tuple[str, str | None]]:
    assert markup is not None
    return [(b.text, b.callback_data) for row in markup.inline_keyboard for b in row]


def assert_answer_only(plan: ChatPlan) -> None:
    """A plan that answers and changes nothing."""
    assert plan.prompt_state is None
    assert plan.thread_key is None
    assert plan.session is None
    assert plan.new_thread is None
    assert plan.release_waiting_to is None
    assert plan.poke is None
    assert plan.command is None
    assert plan.audit == ()


READY = {"session": session("demo", THREAD_ID), "thread": thread()}


# --- /start, /help ------------------------------------------------------------------------------------------


def test_start_without_a_workspace_says_who_and_what_next() -> None:
    plan = plan_text("/start")
    assert plan.outcome == "command /start"
    assert_answer_only(plan)
    text = only_text(plan)
    assert text == shown(views.start_text(views.ChatSummary(user_id=1001, first_name="Ada", workspaces=2)))
    assert "Ada" in text
    assert "1001" in text  # the numeric id, for the owner's allowlist
    assert "/workspace" in text  # what to do next


def test_start_when_no_workspace_exists_tells_how_to_add_one() -> None:
    text = only_text(plan_text("/start", context(workspaces=())))
    assert text == shown(views.start_text(views.ChatSummary(user_id=1001, first_name="Ada", workspaces=0)))
    assert "codexgram admin add-workspace" in text


def test_start_with_a_workspace_and_a_thread() -> None:
    ctx = context(session=session("demo", THREAD_ID), thread=thread(title="Fix <the> tests"))
    text = only_text(plan_text("/start", ctx))
    summary = views.ChatSummary(
        user_id=1001,
        first_name="Ada",
        workspace=DEMO,
        thread_id=THREAD_ID,
        thread_title="Fix <the> tests",
        workspaces=2,
    )
    assert text == shown(views.start_text(summary))
    assert "/home/ada/demo" in text
    assert THREAD_ID[:8] in text
    assert "Fix <the> tests" in text


def test_start_while_the_thread_is_created_and_after_it_was_lost() -> None:
    base = views.ChatSummary(user_id=1001, first_name="Ada", workspace=DEMO, workspaces=2)
    creating = context(session=session("demo", "new:9"), thread=thread("new:9", THREAD_CREATING))
    expected = attrs.evolve(base, thread_id="new:9", thread_creating=True)
    assert only_text(plan_text("/start", creating)) == shown(views.start_text(expected))
    assert "new:9" not in only_text(plan_text("/start", creating))  # a pending key is not shown
    lost = context(session=session("demo", THREAD_ID), thread=thread(status=THREAD_LOST))
    assert only_text(plan_text("/start", lost)) == shown(views.start_text(base))


def test_start_escapes_the_users_name() -> None:
    ctx = context(user=attrs.evolve(ADA_USER, first_name="<b>Bob</b> & co"))
    plan = plan_text("/start", ctx)
    assert plan.replies[0].text is not None
    assert "&lt;b&gt;Bob&lt;/b&gt; &amp; co" in plan.replies[0].text
    assert "<b>Bob</b> & co" in only_text(plan)


def test_help_lists_the_commands_and_the_later_ones() -> None:
    plan = plan_text("/help")
    assert plan.outcome == "command /help"
    assert_answer_only(plan)
    text = only_text(plan)
    assert text == shown(views.help_text())
    for name, _ in views.COMMANDS:
        assert f"/{name}" in text
    for name in views.LATER_COMMANDS:
        assert f"/{name}" in text


# --- addressed commands -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text", ["/help@codexgram_test_bot", "/HELP@Codexgram_Test_Bot", "/help@codexgram_test_bot please"]
)
def test_a_command_addressed_to_this_bot_is_a_command(text: str) -> None:
    plan = plan_text(text)
    assert plan.outcome == "command /help"
    assert only_text(plan) == shown(views.help_text())


@pytest.mark.parametrize("ready", [False, True])
def test_a_command_addressed_to_another_bot_never_reaches_codex(ready: bool) -> None:
    ctx = context(**READY) if ready else context()
    plan = plan_text("/new@other_bot fix it", ctx)
    assert plan.outcome == "command for another bot"
    assert_answer_only(plan)
    assert only_text(plan) == shown(views.other_bot_command("new", "other_bot"))
    assert "@other_bot" in only_text(plan)


def test_an_addressed_command_is_ours_when_our_name_is_unknown() -> None:
    plan = plan_text("/new@codexgram_test_bot the title", context(**READY, bot_username=None))
    assert plan.outcome == "command /new"
    assert plan.new_thread is not None
    assert plan.new_thread.title == "the title"


def test_a_path_is_not_a_command() -> None:
    raw = tg.message_update(UPDATE_ID, CHAT, ADA, "/tmp/build is full, clean it")
    del raw["message"]["entities"]  # Telegram marks no command here
    plan = check(plan_update(tg.decode(raw), context(**READY)))
    assert (plan.prompt_state, plan.thread_key) == (QUEUED, THREAD_ID)


# --- later and unknown commands -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["threads", "resume", "fork", "archive", "model", "sandbox", "diff"])
def test_later_commands_are_not_there_yet(name: str) -> None:
    plan = plan_text(f"/{name} some argument", context(**READY))
    assert plan.outcome == f"command /{name}"
    assert_answer_only(plan)
    assert only_text(plan) == shown(views.not_yet(name))
    assert f"/{name}" in only_text(plan)
    assert name in views.LATER_COMMANDS


@pytest.mark.parametrize("name", ["frobnicate", "settings", "stop", "x_1"])
def test_an_unknown_command_gets_a_helpful_answer(name: str) -> None:
    plan = plan_text(f"/{name}", context(**READY))
    assert plan.outcome == f"unknown command /{name}"
    assert_answer_only(plan)
    text = only_text(plan)
    assert text == shown(views.unknown_command(name))
    assert f"/{name}" in text
    assert "/help" in text


# --- /new ---------------------------------------------------------------------------------------------------


def test_new_with_a_title_creates_a_pending_thread_in_the_workspace() -> None:
    plan = plan_text("/new   Fix   the\n flaky <tests>  ", context(**READY))
    assert plan.outcome == "command /new"
    key = pending_key(UPDATE_ID)
    assert plan.new_thread == ThreadRow(
        thread_id=key,
        chat_id=1001,
        workspace="demo",
        cwd="/home/ada/demo",
        title="Fix the flaky <tests>",
        status=THREAD_CREATING,
        created_at=NOW,
        updated_at=NOW,
    )
    assert plan.session == attrs.evolve(session("demo", THREAD_ID), thread_id=key, updated_at=NOW)
    assert plan.poke == key
    assert plan.prompt_state is None
    assert plan.command is None
    assert plan.audit == (Audit(action="new-thread", detail={"chat_id": 1001, "workspace": "demo"}),)
    assert only_text(plan) == shown(views.new_thread_text(DEMO, "Fix the flaky <tests>"))


def test_new_without_a_title_and_without_a_session_yet() -> None:
    ctx = context(session=session("web"))
    plan = plan_text("/new", ctx)
    assert plan.new_thread is not None
    assert plan.new_thread.title is None
    assert plan.new_thread.cwd == WEB.path
    assert only_text(plan) == shown(views.new_thread_text(WEB, None))


def test_new_title_is_cut_to_100_characters() -> None:
    plan = plan_text("/new " + "x" * 300, context(session=session("demo")))
    assert plan.new_thread is not None
    assert plan.new_thread.title == "x" * 100


def test_new_without_a_workspace_asks_for_one() -> None:
    plan = plan_text("/new my title")
    assert plan.outcome == "command /new: no workspace"
    assert_answer_only(plan)
    first, picker = plan.replies
    assert first.text == views.need_workspace_for_new()
    assert picker == views.workspace_picker((DEMO, WEB), None)
    assert buttons(picker.reply_markup) == [("demo", "w:demo"), ("web", "w:web")]


def test_new_without_any_workspace_says_how_to_add_one() -> None:
    plan = plan_text("/new", context(workspaces=()))
    assert plan.new_thread is None
    assert "codexgram admin add-workspace" in texts(plan)[1]
    assert plan.replies[1].reply_markup is None


def test_new_while_a_turn_runs_leaves_it_running() -> None:
    plan = plan_text("/new", context(**READY, running_turn=turn()))
    assert plan.command is None
    assert plan.new_thread is not None
    assert plan.session is not None
    assert plan.session.thread_id == pending_key(UPDATE_ID)


# --- /workspaces and /workspace -----------------------------------------------------------------------------


def test_workspaces_lists_them_with_a_picker_marking_the_current_one() -> None:
    plan = plan_text("/workspaces", context(session=session("web")))
    assert plan.outcome == "command /workspaces"
    assert_answer_only(plan)
    assert plan.replies == (views.workspaces_message((DEMO, WEB), "web"),)
    text = only_text(plan)
    assert "/home/ada/demo" in text
    assert "/srv/web & co" in text
    assert buttons(plan.replies[0].reply_markup) == [("demo", "w:demo"), ("• web", "w:web")]


def test_workspaces_when_there_are_none() -> None:
    plan = plan_text("/workspaces", context(workspaces=()))
    assert only_text(plan) == shown(views.no_workspaces_hint())
    assert plan.replies[0].reply_markup is None


def test_workspace_without_a_name_shows_the_picker() -> None:
    plan = plan_text("/workspace", context(session=session("demo")))
    assert plan.outcome == "command /workspace"
    assert_answer_only(plan)
    assert plan.replies == (views.workspace_picker((DEMO, WEB), "demo"),)
    assert buttons(plan.replies[0].reply_markup) == [("• demo", "w:demo"), ("web", "w:web")]
    fresh = plan_text("/workspace")
    assert fresh.replies == (views.workspace_picker((DEMO, WEB), None),)
    assert buttons(fresh.replies[0].reply_markup) == [("demo", "w:demo"), ("web", "w:web")]


def test_workspace_with_a_name_chooses_it_and_forgets_the_thread() -> None:
    plan = plan_text("/workspace web", context(**READY))
    assert plan.outcome == "command /workspace"
    assert plan.session == attrs.evolve(
        session("demo", THREAD_ID), workspace="web", thread_id=None, updated_at=NOW
    )
    assert plan.new_thread is None
    assert plan.release_waiting_to is None
    assert plan.poke is None
    assert plan.callback_answer is None
    assert plan.audit == (Audit(action="choose-workspace", detail={"chat_id": 1001, "workspace": "web"}),)
    assert only_text(plan) == shown(views.workspace_chosen(WEB))


def test_workspace_for_a_chat_without_a_session() -> None:
    plan = plan_text("/workspace demo   and more words")
    assert plan.session == SessionRow(
        chat_id=1001, workspace="demo", thread_id=None, model=None, sandbox=None, updated_at=NOW
    )


def test_an_unknown_workspace_is_named_and_nothing_changes() -> None:
    plan = plan_text("/workspace <nope>", context(**READY))
    assert plan.outcome == "command /workspace: unknown workspace"
    assert_answer_only(plan)
    assert plan.replies == (views.unknown_workspace("<nope>", (DEMO, WEB)),)
    assert "<nope>" in only_text(plan)
    assert buttons(plan.replies[0].reply_markup) == [("demo", "w:demo"), ("web", "w:web")]
    assert plan.callback_answer is None
    none = plan_text("/workspace demo", context(workspaces=()))
    assert none.replies == (views.unknown_workspace("demo", ()),)
    assert none.replies[0].reply_markup is None


def test_the_same_workspace_again_changes_nothing() -> None:
    plan = plan_text("/workspace demo", context(**READY))
    assert plan.outcome == "command /workspace"
    assert_answer_only(plan)
    assert only_text(plan) == shown(views.workspace_chosen(DEMO, unchanged=True))


def test_choosing_a_workspace_sends_the_kept_prompts_to_one_new_thread() -> None:
    plan = plan_text("/workspace web", context(waiting=(401, 402, 405)))
    key = pending_key(401)
    assert plan.release_waiting_to == key
    assert plan.new_thread is not None
    assert (plan.new_thread.thread_id, plan.new_thread.workspace, plan.new_thread.cwd) == (
        key,
        "web",
        WEB.path,
    )
    assert plan.session is not None
    assert (plan.session.workspace, plan.session.thread_id) == ("web", key)
    assert plan.poke == key
    assert plan.prompt_state is None  # the command itself is handled
    assert only_text(plan) == shown(views.workspace_chosen(WEB, sending=3))
    one = plan_text("/workspace web", context(waiting=(401,)))
    assert only_text(one) == shown(views.workspace_chosen(WEB, sending=1))


# --- /status ------------------------------------------------------------------------------------------------


def status_view(**fields: Any) -> views.StatusView:
    values: dict[str, Any] = {
        "summary": views.ChatSummary(
            user_id=1001, first_name="Ada", workspace=DEMO, thread_id=THREAD_ID, workspaces=2
        ),
        "model": None,
        "sandbox": None,
        "approval_policy": None,
        "turn_running_for": None,
        "queued": 0,
        "codex_connected": True,
        "codex_version": "0.169.0",
    }
    values.update(fields)
    return views.StatusView(**values)


def test_status_with_nothing_running() -> None:
    plan = plan_text("/status", context(**READY))
    assert plan.outcome == "command /status"
    assert_answer_only(plan)
    text = only_text(plan)
    assert text == shown(views.status_text(status_view()))
    for fact in ("demo", "/home/ada/demo", THREAD_ID[:8], "workspace-write", "on-request", "0.169.0"):
        assert fact in text  # the issue: workspace, thread, sandbox, approval policy, Codex version


def test_status_with_a_running_turn_and_queued_messages() -> None:
    ctx = context(
        session=session("demo", THREAD_ID, model="gpt-5", sandbox="read-only", approval_policy="never"),
        thread=thread(),
        running_turn=turn(started=125),
        queued=2,
    )
    text = only_text(plan_text("/status", ctx))
    expected = status_view(
        model="gpt-5", sandbox="read-only", approval_policy="never", turn_running_for=125.0, queued=2
    )
    assert text == shown(views.status_text(expected))
    for fact in (format_duration(125), "2m 05s", "2", "gpt-5", "read-only", "never"):
        assert fact in text


def test_status_with_a_turn_started_after_now_says_zero() -> None:
    # A turn recorded a moment "later" than the chat's clock never shows a negative duration.
    ctx = context(**READY, running_turn=turn(started=-3))
    expected = status_view(turn_running_for=0.0)
    assert only_text(plan_text("/status", ctx)) == shown(views.status_text(expected))


def test_status_with_codex_disconnected() -> None:
    problem = "connection <refused>"
    ctx = context(**READY, codex=CodexInfo(connected=False, version=None, problem=problem))
    text = only_text(plan_text("/status", ctx))
    expected = status_view(codex_connected=False, codex_version=None, codex_problem=problem)
    assert text == shown(views.status_text(expected))
    assert problem in text
    assert "0.169.0" not in text
    bare = context(**READY, codex=CodexInfo(connected=False, version=None))
    expected = status_view(codex_connected=False, codex_version=None)
    assert only_text(plan_text("/status", bare)) == shown(views.status_text(expected))


def test_status_without_a_session() -> None:
    text = only_text(plan_text("/status"))
    expected = status_view(summary=views.ChatSummary(user_id=1001, first_name="Ada", workspaces=2))
    assert text == shown(views.status_text(expected))


# --- /cancel ------------------------------------------------------------------------------------------------


def test_cancel_stops_the_running_turn() -> None:
    plan = plan_text("/cancel", context(**READY, running_turn=turn()))
    assert plan.outcome == "command /cancel"
    assert plan.command == (THREAD_ID, CancelTurn(turn_id="turn-7"))
    assert plan.audit == (Audit(action="cancel-turn", detail={"chat_id": 1001, "turn_id": "turn-7"}),)
    assert only_text(plan) == shown(views.cancelling())
    assert plan.session is None
    assert plan.prompt_state is None


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"session": session("demo")},
        {"session": session("demo", THREAD_ID), "thread": thread()},
        {"session": session("demo", THREAD_ID), "thread": thread(status=THREAD_LOST), "queued": 1},
    ],
    ids=["no session", "no thread", "idle thread", "lost thread"],
)
def test_cancel_with_nothing_running(fields: dict[str, Any]) -> None:
    plan = plan_text("/cancel", context(**fields))
    assert plan.outcome == "command /cancel: nothing running"
    assert_answer_only(plan)
    assert only_text(plan) == shown(views.nothing_running())


def test_cancel_while_a_turn_is_being_started_stops_whichever_starts() -> None:
    plan = plan_text("/cancel", context(**READY, queued=1))
    assert plan.command == (THREAD_ID, CancelTurn(turn_id=None))
    assert only_text(plan) == shown(views.cancelling())


def test_cancel_while_the_thread_is_being_created_stops_the_turn_it_will_start() -> None:
    # The thread's actor reads its commands once Codex has created the thread: the cancel then stops the turn
    # of the waiting message (or keeps it from being sent).
    key = pending_key(480)
    ctx = context(session=session("demo", key), thread=thread(key, THREAD_CREATING), queued=1)
    plan = plan_text("/cancel", ctx)
    assert plan.command == (key, CancelTurn(turn_id=None))
    assert only_text(plan) == shown(views.cancelling())


# --- prompts ------------------------------------------------------------------------------------------------


def test_text_without_a_workspace_is_kept_and_the_picker_shown() -> None:
    plan = plan_text("fix the build")
    assert plan.outcome == "kept: no workspace"
    assert (plan.prompt_state, plan.thread_key) == (WAITING, None)
    assert plan.session is None
    assert plan.new_thread is None
    assert plan.poke is None
    assert plan.replies == (views.workspace_picker((DEMO, WEB), None, kept=True),)
    assert buttons(plan.replies[0].reply_markup) == [("demo", "w:demo"), ("web", "w:web")]


def test_the_picker_is_shown_once_for_kept_messages() -> None:
    plan = plan_text("and also the docs", context(waiting=(499,)))
    assert (plan.prompt_state, plan.thread_key) == (WAITING, None)
    assert plan.replies == ()


def test_text_when_no_workspace_exists_is_kept_with_the_hint() -> None:
    plan = plan_text("hello", context(workspaces=()))
    assert plan.prompt_state == WAITING
    assert plan.replies == (views.workspace_picker((), None, kept=True),)
    assert "codexgram admin add-workspace" in only_text(plan)


def test_text_with_a_workspace_and_no_thread_creates_one() -> None:
    plan = plan_text("fix the build", context(session=session("demo")))
    key = pending_key(UPDATE_ID)
    assert plan.outcome == "queued"
    assert (plan.prompt_state, plan.thread_key) == (QUEUED, key)
    assert plan.new_thread is not None
    assert (plan.new_thread.thread_id, plan.new_thread.workspace, plan.new_thread.title) == (
        key,
        "demo",
        None,
    )
    assert plan.session == attrs.evolve(session("demo"), thread_id=key, updated_at=NOW)
    assert plan.poke == key
    assert plan.replies == ()  # the thread's actor shows what happens to it


@pytest.mark.parametrize("status", [THREAD_IDLE, TURN_RUNNING, THREAD_CREATING])
def test_text_continues_the_sessions_thread(status: str) -> None:
    ctx = context(session=session("demo", THREAD_ID), thread=thread(status=status))
    plan = plan_text("and now the docs", ctx)
    assert (plan.prompt_state, plan.thread_key, plan.poke) == (QUEUED, THREAD_ID, THREAD_ID)
    assert plan.new_thread is None
    assert plan.session is None
    assert plan.replies == ()


@pytest.mark.parametrize("status", [THREAD_IDLE, THREAD_CREATING])
def test_text_continues_the_thread_after_its_workspace_was_removed(status: str) -> None:
    # `codexgram admin remove-workspace`: "threads started in it keep their directory" (the session's
    # workspace became NULL; its thread is still there and goes on in its cwd).
    ctx = context(session=session(None, THREAD_ID), thread=thread(status=status), workspaces=(WEB,))
    plan = plan_text("go on", ctx)
    assert (plan.prompt_state, plan.thread_key, plan.poke) == (QUEUED, THREAD_ID, THREAD_ID)
    assert plan.replies == ()
    lost = plan_text("go on", attrs.evolve(ctx, thread=thread(status=THREAD_LOST)))
    assert (lost.prompt_state, lost.thread_key) == (WAITING, None)  # a new thread needs a workspace
    assert len(lost.replies) == 1


def test_text_while_a_turn_runs_is_queued_on_its_thread() -> None:
    plan = plan_text("also this", context(**READY, running_turn=turn(), queued=1))
    assert (plan.prompt_state, plan.thread_key, plan.poke) == (QUEUED, THREAD_ID, THREAD_ID)
    assert plan.command is None  # never steered silently


def test_text_after_the_thread_was_lost_starts_a_new_one() -> None:
    ctx = context(session=session("demo", THREAD_ID), thread=thread(status=THREAD_LOST))
    plan = plan_text("still there?", ctx)
    key = pending_key(UPDATE_ID)
    assert (plan.prompt_state, plan.thread_key, plan.poke) == (QUEUED, key, key)
    assert plan.new_thread is not None
    assert plan.session is not None
    assert plan.session.thread_id == key


def test_edits_never_reach_codex() -> None:
    for text in ("fixed typo", "/new edited"):
        plan = plan_text(text, context(**READY), kind="edited_message")
        assert plan.outcome == "edit ignored"
        assert_answer_only(plan)
        assert only_text(plan) == views.edited_message()


@pytest.mark.parametrize(
    ("fields", "kind"),
    [
        ({"photo": True}, "photos"),
        ({"photo": True, "caption": "what is this?"}, "photos"),
        ({"document": True, "caption": "/new"}, "files"),
        ({}, "this kind of message"),  # a sticker, a voice note, a location...
    ],
)
def test_photos_and_files_are_not_passed_on_yet(fields: dict[str, Any], kind: str) -> None:
    plan = plan_text(None, context(**READY), **fields)
    assert plan.outcome == "unsupported message"
    assert_answer_only(plan)
    assert only_text(plan) == shown(views.unsupported_message(kind))


# --- buttons: cancel ----------------------------------------------------------------------------------------

CANCEL = encode(CancelAction(token=TOKEN))


def test_cancel_button_of_a_turn_that_is_gone_is_stale() -> None:
    plan = press(CANCEL, context(**READY, button_turn=None))
    assert plan.outcome == "button: cancel, stale"
    assert plan.callback_answer == "This button is no longer active."
    assert_answer_only(plan)
    assert plan.replies == ()


@pytest.mark.parametrize("foreign", [turn(chat_id=2002), turn(user_id=2002)], ids=["chat", "user"])
def test_cancel_button_made_for_someone_else(foreign: TurnRow) -> None:
    plan = press(CANCEL, context(**READY, running_turn=foreign, button_turn=foreign))
    assert plan.outcome == "button: cancel, not theirs"
    assert plan.callback_answer == "This button was not made for you."
    assert_answer_only(plan)


def test_cancel_button_of_a_turn_without_a_user_is_the_chats() -> None:
    plan = press(CANCEL, context(**READY, button_turn=turn(user_id=None)))
    assert plan.command == (THREAD_ID, CancelTurn(turn_id="turn-7"))


def test_cancel_button_of_a_delivered_turn() -> None:
    plan = press(CANCEL, context(**READY, button_turn=turn(delivered=True)))
    assert plan.outcome == "button: cancel, turn over"
    assert plan.callback_answer == "This turn has already ended."
    assert_answer_only(plan)


def test_cancel_button_of_a_live_turn_stops_it() -> None:
    plan = press(CANCEL, context(**READY, running_turn=turn(), button_turn=turn()))
    assert plan.outcome == "button: cancel"
    assert plan.callback_answer == "Stopping…"
    assert plan.command == (THREAD_ID, CancelTurn(turn_id="turn-7"))
    assert plan.audit == (Audit(action="cancel-turn", detail={"chat_id": 1001, "turn_id": "turn-7"}),)
    assert plan.replies == ()
    assert plan.session is None


# --- buttons: a queued message ------------------------------------------------------------------------------

STEER = encode(QueuedAction(token=TOKEN, choice=QueuedChoice.STEER))
DROP = encode(QueuedAction(token=TOKEN, choice=QueuedChoice.DROP))


@pytest.mark.parametrize("data", [STEER, DROP])
@pytest.mark.parametrize("row", [None, card(key=None, state=WAITING)], ids=["unknown", "no thread"])
def test_queued_button_that_is_stale(data: str, row: InboxRow | None) -> None:
    plan = press(data, context(**READY, card=row))
    assert plan.outcome == "button: queued, stale"
    assert plan.callback_answer == "This button is no longer active."
    assert_answer_only(plan)


@pytest.mark.parametrize("data", [STEER, DROP])
@pytest.mark.parametrize("row", [card(chat_id=2002), card(user_id=2002)], ids=["chat", "user"])
def test_queued_button_made_for_someone_else(data: str, row: InboxRow) -> None:
    plan = press(data, context(**READY, card=row))
    assert plan.outcome == "button: queued, not theirs"
    assert plan.callback_answer == "This button was not made for you."
    assert_answer_only(plan)


@pytest.mark.parametrize("data", [STEER, DROP])
@pytest.mark.parametrize("state", [STARTING, HANDLED])
def test_queued_button_of_a_message_already_sent(data: str, state: str) -> None:
    plan = press(data, context(**READY, card=card(state=state)))
    assert plan.outcome == "button: queued, already sent"
    assert plan.callback_answer == "This message was already sent."
    assert_answer_only(plan)


def test_steer_now_tells_the_thread() -> None:
    plan = press(STEER, context(**READY, running_turn=turn(), card=card()))
    assert plan.outcome == "button: steer"
    assert plan.command == (THREAD_ID, SteerPrompt(update_id=490))
    assert plan.callback_answer == "Steering into the running turn…"
    assert plan.replies == ()
    assert plan.poke is None


def test_cancel_of_a_queued_message_tells_the_thread() -> None:
    key = pending_key(480)
    plan = press(DROP, context(**READY, card=card(key=key)))
    assert plan.outcome == "button: drop"
    assert plan.command == (key, DropPrompt(update_id=490))  # the card's thread, not the session's
    assert plan.callback_answer == "Cancelled."


# --- buttons: workspaces, approvals, garbage ----------------------------------------------------------------


def test_workspace_button_chooses_it() -> None:
    plan = press(encode(WorkspacePick(name="web")), context(**READY))
    assert plan.outcome == "button: workspace"
    assert plan.callback_answer == "Workspace: web"
    assert plan.session is not None
    assert (plan.session.workspace, plan.session.thread_id) == ("web", None)
    assert only_text(plan) == shown(views.workspace_chosen(WEB))


def test_workspace_button_for_the_current_one() -> None:
    plan = press("w:demo", context(**READY))
    assert plan.callback_answer == "Workspace: demo"
    assert_answer_only(plan)
    assert only_text(plan) == shown(views.workspace_chosen(DEMO, unchanged=True))


def test_workspace_button_of_a_removed_workspace() -> None:
    plan = press("w:gone", context(**READY))
    assert plan.outcome == "button: workspace: unknown workspace"
    assert plan.callback_answer == "No such workspace any more."
    assert_answer_only(plan)
    assert plan.replies == (views.unknown_workspace("gone", (DEMO, WEB)),)


def test_workspace_button_releases_the_kept_prompts() -> None:
    plan = press("w:demo", context(waiting=(401, 402)))
    key = pending_key(401)
    assert plan.release_waiting_to == key
    assert plan.new_thread is not None
    assert plan.new_thread.thread_id == key
    assert plan.poke == key
    assert plan.callback_answer == "Workspace: demo"
    assert only_text(plan) == shown(views.workspace_chosen(DEMO, sending=2))


@pytest.mark.parametrize("choice", list(ApprovalChoice))
def test_approval_buttons_have_nothing_pending_yet(choice: ApprovalChoice) -> None:
    plan = press(encode(ApprovalAction(token=TOKEN, choice=choice)), context(**READY, running_turn=turn()))
    assert plan.outcome == "button: approval (none pending)"
    assert plan.callback_answer == "This button is no longer active."
    assert_answer_only(plan)
    assert plan.replies == ()


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "junk",
        "w:",
        "w:bad name",
        "c:short",
        f"c:{TOKEN}:x",
        f"q:{TOKEN}:z",
        f"a:{TOKEN}:q",
        "x" * 65,
    ],
)
def test_garbage_callback_data_is_refused(data: str | None) -> None:
    plan = press(data, context(**READY, running_turn=turn(), card=card(), button_turn=turn()))
    assert plan.outcome == "button: invalid"
    assert plan.callback_answer == "This button is not recognised."
    assert_answer_only(plan)
    assert plan.replies == ()


def test_other_tokens_do_not_matter_to_the_core() -> None:
    # The chat actor looks the token up; the core only judges the row it found (None: unknown token).
    plan = press(encode(CancelAction(token=OTHER_TOKEN)), context(**READY, running_turn=turn()))
    assert plan.outcome == "button: cancel, stale"
