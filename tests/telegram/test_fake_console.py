"""The terminal chat with the bot through the fake (``--chat``): typed lines, presses, printed changes."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest
import trio
import trio.testing

from codexgram.testing.fake_telegram import FakeTelegram
from codexgram.testing.fake_telegram.console import (
    BadLine,
    PressButton,
    SendText,
    describe_changes,
    parse_line,
    run_console,
)
from codexgram.testing.fake_telegram.state import FakeMessage

CHAT = 1001
KEYBOARD = {
    "inline_keyboard": [
        [{"text": "Approve", "callback_data": "a:x:y"}, {"text": "Deny", "callback_data": "a:x:n"}]
    ]
}


def test_typed_lines() -> None:
    assert parse_line("hello\n") == SendText(text="hello")
    assert parse_line("/new fix it") == SendText(text="/new fix it")
    assert parse_line("   \n") is None
    assert parse_line("!press 4 2") == PressButton(message_id=4, button=2)
    assert isinstance(parse_line("!press four"), BadLine)
    assert isinstance(parse_line("!press 4 0"), BadLine)


def test_changes_are_described_once() -> None:
    sent = FakeMessage(
        chat_id=CHAT, message_id=2, from_bot=True, sender_id=None, date=0, sent_at=0, text="Working"
    )
    edited = FakeMessage(
        chat_id=CHAT,
        message_id=2,
        from_bot=True,
        sender_id=None,
        date=0,
        sent_at=0,
        text="Done",
        reply_markup=KEYBOARD,
    )
    user = FakeMessage(
        chat_id=CHAT, message_id=1, from_bot=False, sender_id=CHAT, date=0, sent_at=0, text="hi"
    )
    assert describe_changes({}, [user, sent]) == ["[bot #2] Working"]
    assert describe_changes({2: sent}, [user, sent]) == []
    assert describe_changes({2: sent}, [user, edited]) == [
        "[bot #2 edited] Done",
        "    (1) Approve",
        "    (2) Deny",
    ]
    gone = FakeMessage(
        chat_id=CHAT, message_id=2, from_bot=True, sender_id=None, date=0, sent_at=0, deleted=True
    )
    assert describe_changes({2: edited}, [user, gone]) == ["[bot #2 deleted]"]


async def bot_send(fake: FakeTelegram, http: httpx.AsyncClient, text: str, **extra: Any) -> dict[str, Any]:
    response = await http.post(f"/bot{fake.token}/sendMessage", json={"chat_id": CHAT, "text": text, **extra})
    result: dict[str, Any] = response.json()["result"]
    return result


async def test_console_relays_lines_and_prints_the_bot(fake_telegram: FakeTelegram) -> None:
    typed, stdin = trio.testing.memory_stream_one_way_pair()
    printed: list[str] = []
    async with trio.open_nursery() as nursery, httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        nursery.start_soon(lambda: run_console(fake_telegram, CHAT, stdin=stdin, write=printed.append))
        await typed.send_all(b"hello bot\n")
        with trio.fail_after(5):
            while not fake_telegram.messages(CHAT):
                await trio.sleep(0.01)
        assert fake_telegram.messages(CHAT)[0].text == "hello bot"
        sent = await bot_send(fake_telegram, http, "Approve?", reply_markup=KEYBOARD)
        with trio.fail_after(5):
            while len(printed) < 3:
                await trio.sleep(0.01)
        assert printed == ["[bot #2] Approve?", "    (1) Approve", "    (2) Deny"]
        await typed.send_all(f"!press {sent['message_id']} 2\n!press 99 1\n".encode())
        with trio.fail_after(5):
            while len(printed) < 4:
                await trio.sleep(0.01)
        assert printed[3] == "no bot message #99"
        [query] = fake_telegram.state.callback_queries.values()
        assert query.data == "a:x:n"
        await typed.aclose()  # end of input ends the console


async def test_the_command_line_chat() -> None:
    process = await trio.lowlevel.open_process(
        [
            sys.executable,
            "-m",
            "codexgram.testing.fake_telegram",
            "--token",
            "42:console",
            "--chat",
            str(CHAT),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    output = b""

    async def read_until(marker: bytes) -> None:
        nonlocal output
        assert process.stdout is not None
        with trio.fail_after(30):
            while marker not in output:
                chunk = await process.stdout.receive_some(4096)
                if not chunk:
                    pytest.fail(f"the fake exited early: {output!r}")
                output += chunk

    try:
        await read_until(b"chat 1001")
        base_url = next(
            line.split()[1] for line in output.decode().splitlines() if line.startswith("base_url")
        )
        await process.stdin.send_all(b"/start\n")
        async with httpx.AsyncClient(base_url=base_url) as http:
            with trio.fail_after(10):
                while True:
                    messages = (await http.get(f"/_test/chats/{CHAT}/messages")).json()["messages"]
                    if messages:
                        break
                    await trio.sleep(0.05)
            assert messages[0]["text"] == "/start"
            await http.post("/bot42:console/sendMessage", json={"chat_id": CHAT, "text": "Welcome"})
        await read_until(b"[bot #2] Welcome")
        await process.stdin.aclose()  # end of input: the fake stops
        with trio.fail_after(10):
            assert await process.wait() == 0
    finally:
        if process.returncode is None:
            process.terminate()
            with trio.move_on_after(10) as scope:
                scope.shield = True
                await process.wait()
