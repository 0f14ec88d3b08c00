"""The fake's HTTP control API and ``python -m codexgram.testing.fake_telegram`` as a separate process."""

from __future__ import annotations

import base64
import subprocess
import sys

import httpx
import pytest
import trio

from codexgram.testing.fake_telegram import FakeTelegram

CHAT = 1001


async def test_control_api_plays_the_user_and_reads_the_chat(fake_telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        sent = await http.post("/_test/user/sendText", json={"chat_id": CHAT, "text": "/start"})
        assert sent.json()["update"]["message"]["text"] == "/start"
        document = await http.post(
            "/_test/user/sendDocument",
            json={"chat_id": CHAT, "data_base64": base64.b64encode(b"abc").decode(), "file_name": "a.txt"},
        )
        file_id = document.json()["update"]["message"]["document"]["file_id"]
        answer = await http.post(
            f"/bot{fake_telegram.token}/sendMessage",
            json={
                "chat_id": CHAT,
                "text": "ok?",
                "reply_markup": {"inline_keyboard": [[{"text": "Yes", "callback_data": "y"}]]},
            },
        )
        message_id = answer.json()["result"]["message_id"]
        press = await http.post(
            "/_test/user/pressButton", json={"chat_id": CHAT, "message_id": message_id, "data": "y"}
        )
        assert press.json()["update"]["callback_query"]["data"] == "y"
        bad_press = await http.post(
            "/_test/user/pressButton", json={"chat_id": CHAT, "message_id": 99, "data": "y"}
        )
        assert bad_press.status_code == 400
        messages = (await http.get(f"/_test/chats/{CHAT}/messages")).json()["messages"]
        assert [m["text"] for m in messages] == ["/start", None, "ok?"]
        assert messages[1]["document"]["file_id"] == file_id
        assert messages[2]["from_bot"] is True
        calls = (await http.get("/_test/calls", params={"method": "sendMessage"})).json()["calls"]
        assert [c["status"] for c in calls] == [200]
        chats = (await http.get("/_test/chats")).json()["chats"]
        assert chats == [{"id": CHAT, "type": "private", "first_name": f"User{CHAT}"}]
        assert (await http.get("/_test/validation_errors")).json() == {"ok": True, "validation_errors": []}


async def test_control_api_schedules_faults(fake_telegram: FakeTelegram) -> None:
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        scheduled = await http.post(
            "/_test/faults", json={"method": "getMe", "kind": "retry_after", "seconds": 4}
        )
        assert scheduled.json() == {"ok": True, "pending": 1}
        refused = await http.post(f"/bot{fake_telegram.token}/getMe")
        assert refused.json()["parameters"] == {"retry_after": 4}
        unknown = await http.post("/_test/faults", json={"kind": "meteor"})
        assert unknown.status_code == 400
        assert (await http.post("/_test/flood", json={"enabled": False})).json() == {"ok": True}
        await http.post("/_test/user/sendText", json={"chat_id": CHAT, "text": "hi"})
        assert (await http.post("/_test/user/blockBot", json={"chat_id": CHAT})).status_code == 200
        blocked = await http.post(
            f"/bot{fake_telegram.token}/sendMessage", json={"chat_id": CHAT, "text": "x"}
        )
        assert blocked.status_code == 403
        joined = await http.post("/_test/user/addBotToGroup", json={"chat_id": -100777})
        assert joined.json()["update"]["my_chat_member"]["chat"]["id"] == -100777
    assert fake_telegram.flood.enabled is False


async def test_runs_standalone_and_prints_how_to_reach_it() -> None:
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "codexgram.testing.fake_telegram", "--port", "0", "--token", "42:standalone"],
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        output = b""
        with trio.fail_after(30):
            while output.count(b"\n") < 3:
                chunk = await process.stdout.receive_some(4096)
                if not chunk:
                    pytest.fail(f"the server exited early: {output!r}")
                output += chunk
        lines = dict(line.split(" ", 1) for line in output.decode().splitlines())
        assert lines["token"] == "42:standalone"
        async with httpx.AsyncClient(base_url=lines["base_url"]) as http:
            me = await http.get("/bot42:standalone/getMe")
        assert me.json()["result"]["is_bot"] is True
    finally:
        process.terminate()
        with trio.move_on_after(10) as scope:
            scope.shield = True
            await process.wait()
