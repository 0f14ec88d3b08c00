"""The conversation as a user has it: the real ``codexgram run`` process, the real codex 0.169.0 (mock model)
and the fake Bot API server (which checks every request against the Bot API reference).

Each test is one user's chat: what they type, what the chat shows, and what reached the model.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import pytest
import trio

from codexgram.store import queries
from codexgram.store.db import open_database
from codexgram.store.inbox_queries import HANDLED
from codexgram.testing.bot_process import BotProcess, UserChat, bot_env, prepare_database
from codexgram.testing.codex_server import AppServer
from codexgram.testing.fake_telegram.fixture import fake_telegram  # noqa: F401  (the fixture)
from codexgram.testing.fake_telegram.server import FakeTelegram
from codexgram.testing.fake_telegram.state import FakeMessage
from codexgram.testing.mock_model import MockModel

USER = 1001
WORKSPACE = "demo"


@attrs.define
class Bot:
    fake: FakeTelegram
    model: MockModel
    codex: AppServer
    process: BotProcess
    chat: UserChat
    db: Path
    nursery: trio.Nursery

    async def restart(self) -> None:
        await self.process.start(self.nursery)

    def inbox_states(self) -> dict[str, int]:
        conn = open_database(self.db)
        try:
            counts: dict[str, int] = {}
            for (state,) in conn.execute("SELECT state FROM inbox"):
                counts[str(state)] = counts.get(str(state), 0) + 1
            return counts
        finally:
            conn.close()

    def audit_actions(self) -> list[tuple[str, str]]:
        conn = open_database(self.db)
        try:
            return [(row.actor, row.action) for row in queries.list_audit(conn)]
        finally:
            conn.close()


@pytest.fixture
async def bot(
    fake_telegram: FakeTelegram,  # noqa: F811  (the fixture)
    app_server: AppServer,
    mock_model: MockModel,
    tmp_path: Path,
    nursery: trio.Nursery,
) -> AsyncIterator[Bot]:
    db = tmp_path / "data" / "bot.sqlite3"
    prepare_database(db, users={USER: "tester"}, workspaces={WORKSPACE: app_server.workspace})
    process = BotProcess(
        env=bot_env(
            tmp_path / "data",
            fake_telegram,
            app_server.socket_path,
            log_level=os.environ.get("TEST_BOT_LOG_LEVEL", "INFO"),
            CODEXGRAM_POLL_TIMEOUT="2",
        ),
        cwd=tmp_path,
    )
    async with process:
        await process.start(nursery)
        chat = UserChat(fake_telegram, USER)
        yield Bot(
            fake=fake_telegram,
            model=mock_model,
            codex=app_server,
            process=process,
            chat=chat,
            db=db,
            nursery=nursery,
        )
        status = await process.stop()
        log = process.log
        print(f"--- codexgram run log ---\n{log}")
        calls = [(c.method, c.status, str(c.params.get("text", ""))[:60]) for c in fake_telegram.calls()]
        print("--- Bot API calls ---\n" + "\n".join(map(str, calls)))
        assert status == 0, log
        assert "Traceback" not in log
        assert fake_telegram.token not in log


async def choose_workspace(bot: Bot) -> None:
    bot.chat.say(f"/workspace {WORKSPACE}")
    await bot.chat.wait_for("Now working in")


async def test_start_workspace_and_a_first_answer(bot: Bot) -> None:
    chat = bot.chat
    chat.say("/start")
    start = await chat.wait_for("Your Telegram user id")
    assert str(USER) in (start.text or "")
    assert "none chosen" in (start.text or "")
    await choose_workspace(bot)
    chat.say("Hello, Codex!")
    answer = await chat.wait_for("You said: Hello, Codex!")
    assert "tokens" in (answer.text or "")  # the footer of the turn's last message
    assert bot.model.user_texts() == ["Hello, Codex!"]
    commands = bot.fake.calls("setMyCommands")
    assert commands
    menu = commands[-1].params["commands"]
    assert isinstance(menu, list)
    assert [entry["command"] for entry in menu][:3] == ["start", "help", "new"]


async def test_two_messages_share_one_thread(bot: Bot) -> None:
    await choose_workspace(bot)
    bot.chat.say("first message")
    await bot.chat.wait_for("You said: first message")
    bot.chat.say("second message")
    await bot.chat.wait_for("You said: second message")
    last = bot.model.requests[-1]
    assert "You said: first message" in str(last["input"])  # the second request carries the first exchange
    conn = open_database(bot.db)
    try:
        assert len([t for t in queries.list_threads(conn, chat_id=USER)]) == 1
    finally:
        conn.close()


async def test_a_message_before_a_workspace_is_kept_and_sent_once_one_is_chosen(bot: Bot) -> None:
    bot.chat.say("do this when you can")
    picker = await bot.chat.wait_for("Your message is kept")
    bot.chat.press(picker, WORKSPACE)
    await bot.chat.wait_for("You said: do this when you can")
    assert bot.model.user_texts() == ["do this when you can"]
    assert bot.inbox_states() == {HANDLED: 2}  # the message and the button press, nothing left over


async def test_a_long_answer_arrives_whole_in_chunks_and_a_longer_one_as_a_document(bot: Bot) -> None:
    await choose_workspace(bot)
    bot.chat.say("write a lot [[long:10000]]")
    await bot.chat.wait_for("tokens", timeout=60)  # the footer ends the last chunk
    texts = [t for t in bot.chat.texts() if "Paragraph" in t]
    assert 3 <= len(texts) <= 5
    assert all(len(t) <= 4096 for t in texts)
    shown = "\n".join(texts)
    for number in range(1, 25):  # nothing lost at the chunk boundaries
        assert f"Paragraph {number}: word{number}-0 " in shown
    assert len(bot.fake.calls("sendDocument")) == 0
    bot.chat.say("write even more [[long:40000]]")
    await bot.chat.wait_until(lambda: any(m.document for m in bot.chat.bot_messages()), timeout=60)
    [sent] = bot.fake.calls("sendDocument")
    assert sent.ok
    assert "filename='answer.md'" in str(sent.params["document"])
    [document] = [m for m in bot.chat.bot_messages() if m.document]
    assert (document.document or {}).get("file_size", 0) >= 39_000  # the whole answer, as Markdown
    assert "tokens" in (document.caption or "")


async def test_a_slow_answer_streams_into_one_progress_message_edited_about_once_a_second(bot: Bot) -> None:
    await choose_workspace(bot)
    bot.chat.say("take your time [[slow:5]]")
    progress = await bot.chat.wait_for("Working", timeout=30)
    answer = await bot.chat.wait_for("slow19", timeout=30)
    assert answer.message_id != progress.message_id  # the answer is a message of its own

    def progress_now() -> FakeMessage:
        return next(m for m in bot.fake.messages(USER) if m.message_id == progress.message_id)

    await bot.chat.wait_until(lambda: progress_now().deleted)  # removed when the turn ended
    shown = progress_now()
    versions = [r.replaced_at for r in shown.history]
    assert len(versions) >= 3  # it was edited while the answer streamed in
    gaps = [b - a for a, b in itertools.pairwise(versions)]
    assert min(gaps) >= 0.9, gaps  # at most about one edit a second
    streamed = [r.text or "" for r in shown.history]
    assert any("slow0" in text for text in streamed)  # the user read the answer while it was written


async def test_a_command_shows_as_a_tool_block_with_its_exit_code(bot: Bot) -> None:
    await choose_workspace(bot)
    bot.chat.say("run it [[run:echo tool-output-here; exit 3]]")
    block = await bot.chat.wait_for("exit 3", timeout=30)
    assert "echo tool-output-here; exit 3" in (block.text or "")
    assert "tool-output-here" in (block.text or "")
    await bot.chat.wait_for("Command output:", timeout=30)


async def test_cancel_stops_a_streaming_turn(bot: Bot) -> None:
    await choose_workspace(bot)
    bot.chat.say("a long story [[slow:20]]")
    await bot.chat.wait_for("slow01", timeout=30)
    bot.chat.say("/cancel")
    stopped = await bot.chat.wait_for("Stopped.", timeout=30)
    assert "slow19" not in "\n".join(bot.chat.texts())
    assert stopped.message_id > 0
    bot.chat.say("still there?")
    await bot.chat.wait_for("You said: still there?", timeout=30)


async def test_a_message_sent_during_a_turn_is_queued_steered_with_its_button_and_another_waits(
    bot: Bot,
) -> None:
    await choose_workspace(bot)
    chat = bot.chat
    chat.say("first [[slow:6]]")
    await chat.wait_for("Working", timeout=30)
    chat.say("steer me in")
    card = await chat.wait_for("Queued", timeout=30)
    chat.say("after the turn")
    await chat.wait_until(lambda: len([m for m in chat.bot_messages() if "Queued" in (m.text or "")]) == 2)
    chat.press(card, "Steer now")
    await chat.wait_for("Sent into the running turn", timeout=30)
    await chat.wait_for("You said: after the turn", timeout=60)
    texts = bot.model.user_texts()
    assert "steer me in" in str(bot.model.requests)  # the steer reached the running turn
    assert texts.count("after the turn") == 1  # and the other one started a turn of its own
    assert texts[0] == "first [[slow:6]]"


async def test_strangers_and_groups_are_refused_audited_and_never_reach_codex(bot: Bot) -> None:
    stranger = 2002
    bot.fake.user_sends_text(stranger, "let me in")
    bot.fake.user_sends_text(stranger, "please")
    await bot.chat.wait_until(lambda: bool(bot.fake.bot_messages(stranger)))
    bot.fake.user_sends_text(-5001, "hello group", chat_type="group", user_id=USER)
    await bot.chat.wait_until(lambda: -5001 in bot.fake.state.left_chats)
    bot.chat.say("/start")  # and the owner still gets answers
    await bot.chat.wait_for("Your Telegram user id")
    [refusal] = bot.fake.bot_messages(stranger)  # once, not per message
    assert str(stranger) in (refusal.text or "")
    assert bot.fake.bot_messages(-5001) == []
    actions = bot.audit_actions()
    assert actions.count((f"telegram:{stranger}", "refused")) == 2
    assert (f"telegram:{USER}", "leave-chat") in actions
    assert bot.model.requests == []


@pytest.mark.parametrize("finished_while_down", [False, True], ids=["still-running", "finished-meanwhile"])
async def test_the_bot_killed_mid_turn_delivers_the_answer_once_after_restart(
    bot: Bot, finished_while_down: bool
) -> None:
    await choose_workspace(bot)
    chat = bot.chat
    chat.say("survive this [[slow:4]]")
    await chat.wait_for("Working", timeout=30)
    # Mid-turn, not in the millisecond between Telegram's answer and the bot storing the progress message's
    # id: a kill there leaves that message behind (docs/conversation.md, known limits).
    await trio.sleep(0.5)
    await bot.process.kill()
    if finished_while_down:
        await trio.sleep(5)  # the turn ends while nobody watches
    await bot.restart()
    await chat.wait_for("slow19", timeout=60)
    await chat.wait_until(lambda: not any("Working" in t for t in chat.texts()), timeout=30)
    await trio.sleep(1.5)  # every chance for a duplicate to show up
    assert len([t for t in chat.texts() if "slow19" in t]) == 1
    assert bot.model.user_texts() == ["survive this [[slow:4]]"]  # the prompt started one turn, not two
    assert bot.inbox_states() == {HANDLED: 2}


async def test_killed_right_after_a_message_arrives_it_is_answered_exactly_once(bot: Bot) -> None:
    await choose_workspace(bot)
    # Not in the millisecond after Telegram took the reply and before the outbox forgot it: a kill there
    # sends that reply again (Telegram has no idempotency key; docs/outbox-and-polling.md).
    await trio.sleep(0.5)
    for delay in (0.0, 0.05, 0.15):
        text = f"quick {delay}"
        bot.chat.say(text)
        await trio.sleep(delay)
        await bot.process.kill()
        await bot.restart()
        await bot.chat.wait_for(f"You said: {text}", timeout=60)
        await trio.sleep(0.5)  # (out of the outbox's window, as above)
    await trio.sleep(1)
    answers = [t.split("\n")[0] for t in bot.chat.texts() if t.startswith("You said:")]
    assert answers == [f"You said: quick {delay}" for delay in (0.0, 0.05, 0.15)]
    assert bot.model.user_texts() == [f"quick {delay}" for delay in (0.0, 0.05, 0.15)]


async def test_messages_sent_while_the_bot_is_down_are_handled_once_each_in_order(bot: Bot) -> None:
    await choose_workspace(bot)
    bot.chat.say("warm up")
    await bot.chat.wait_for("You said: warm up")
    assert await bot.process.stop() == 0
    for text in ("one", "two", "three"):
        bot.chat.say(text)
    await bot.restart()
    await bot.chat.wait_for("You said: three", timeout=60)
    answers = [t.split("\n")[0] for t in bot.chat.texts() if t.startswith("You said:")]
    assert answers == ["You said: warm up", "You said: one", "You said: two", "You said: three"]
    assert bot.model.user_texts() == ["warm up", "one", "two", "three"]


async def test_codex_killed_mid_turn_the_user_is_told_and_the_next_message_works(bot: Bot) -> None:
    await choose_workspace(bot)
    chat = bot.chat
    chat.say("a long one [[slow:8]]")
    await chat.wait_for("Working", timeout=30)
    await bot.codex.kill()
    await chat.wait_for("Lost the connection to Codex", timeout=30)
    await bot.codex.start()
    await chat.wait_for("Stopped.", timeout=60)  # the app-server's death ended the turn; the user sees how
    chat.say("are you back?")
    await chat.wait_for("You said: are you back?", timeout=60)
    assert "Traceback" not in bot.process.log
