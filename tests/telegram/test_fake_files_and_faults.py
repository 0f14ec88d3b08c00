"""Files up and down through the fake, and every kind of scheduled fault."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import trio
import trio.testing

from codexgram.testing.fake_telegram import BadRequest, Drop, FakeTelegram, Hang, RetryAfter, ServerError

CHAT = 1001


async def call(
    fake: FakeTelegram, method: str, http_timeout: float = 10, **params: Any
) -> tuple[int, dict[str, Any]]:
    async with httpx.AsyncClient(base_url=fake.base_url, timeout=http_timeout) as http:
        response = await http.post(f"/bot{fake.token}/{method}", json=params)
    return response.status_code, response.json()


async def test_a_document_from_the_user_can_be_downloaded(fake_telegram: FakeTelegram) -> None:
    data = bytes(range(256)) * 10
    update = fake_telegram.user_sends_document(
        CHAT, data, file_name="notes.bin", mime_type="application/x-thing"
    )
    assert update is not None
    assert fake_telegram.spec.check_object("Update", update) == []
    document = update["message"]["document"]
    status, body = await call(fake_telegram, "getFile", file_id=document["file_id"])
    assert status == 200
    file = body["result"]
    assert fake_telegram.spec.check_object("File", file) == []
    assert file["file_size"] == len(data)
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        download = await http.get(f"/file/bot{fake_telegram.token}/{file['file_path']}")
        wrong_token = await http.get(f"/file/bot1:NOPE/{file['file_path']}")
    assert download.content == data
    assert wrong_token.status_code == 401


async def test_a_photo_comes_in_sizes_and_the_largest_is_the_original(fake_telegram: FakeTelegram) -> None:
    data = b"\xff\xd8" + b"p" * 5000
    update = fake_telegram.user_sends_photo(CHAT, data, width=800, height=600, caption="look")
    assert update is not None
    assert fake_telegram.spec.check_object("Update", update) == []
    sizes = update["message"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes] == [(200, 150), (800, 600)]
    _, body = await call(fake_telegram, "getFile", file_id=sizes[-1]["file_id"])
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        download = await http.get(f"/file/bot{fake_telegram.token}/{body['result']['file_path']}")
    assert download.content == data


async def test_files_over_20_mb_cannot_be_fetched(fake_telegram: FakeTelegram) -> None:
    update = fake_telegram.user_sends_document(CHAT, b"x" * (20 * 2**20 + 1), file_name="big.log")
    assert update is not None
    status, body = await call(fake_telegram, "getFile", file_id=update["message"]["document"]["file_id"])
    assert (status, body["description"]) == (400, "Bad Request: file is too big")


async def test_send_document_uploads_multipart_and_keeps_the_bytes(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(CHAT)
    data = b"the whole answer\n" * 1000
    async with httpx.AsyncClient(base_url=fake_telegram.base_url) as http:
        response = await http.post(
            f"/bot{fake_telegram.token}/sendDocument",
            data={"chat_id": str(CHAT), "caption": "<b>full</b> answer", "parse_mode": "HTML"},
            files={"document": ("answer.md", data, "text/markdown")},
        )
    assert response.status_code == 200, response.text
    message = response.json()["result"]
    assert fake_telegram.spec.check_object("Message", message) == []
    assert message["caption"] == "full answer"
    assert message["caption_entities"] == [{"offset": 0, "length": 4, "type": "bold"}]
    assert message["document"]["file_name"] == "answer.md"
    stored = fake_telegram.state.files[message["document"]["file_id"]]
    assert stored.data == data
    assert fake_telegram.bot_messages(CHAT)[0].document == message["document"]


@pytest.mark.fake_telegram_bad_requests
async def test_send_document_with_a_string_where_a_file_belongs_is_caught(
    fake_telegram: FakeTelegram,
) -> None:
    fake_telegram.ensure_chat(CHAT)
    status, body = await call(fake_telegram, "sendDocument", chat_id=CHAT, document="no-such-file-id")
    assert (status, body["description"]) == (400, "Bad Request: wrong file identifier/HTTP URL specified")


async def test_retry_after_fault(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(CHAT)
    fake_telegram.schedule_fault("sendMessage", RetryAfter(seconds=7))
    status, body = await call(fake_telegram, "sendMessage", chat_id=CHAT, text="hi")
    assert (status, body["parameters"]) == (429, {"retry_after": 7})
    assert body["description"] == "Too Many Requests: retry after 7"
    assert (await call(fake_telegram, "sendMessage", chat_id=CHAT, text="hi"))[0] == 200
    assert [m.text for m in fake_telegram.bot_messages(CHAT)] == ["hi"]


async def test_server_error_fault_for_any_method_counts_down(fake_telegram: FakeTelegram) -> None:
    fake_telegram.schedule_fault(None, ServerError(status=502, description="Bad Gateway"), count=2)
    assert (await call(fake_telegram, "getMe"))[0] == 502
    assert (await call(fake_telegram, "getMyCommands"))[0] == 502
    assert (await call(fake_telegram, "getMe"))[0] == 200
    assert [c.fault is not None for c in fake_telegram.calls()] == [True, True, False]


async def test_bad_request_fault_answers_without_judging(fake_telegram: FakeTelegram) -> None:
    fake_telegram.ensure_chat(CHAT)
    description = 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 0'
    fake_telegram.schedule_fault("sendMessage", BadRequest(description=description))
    status, body = await call(
        fake_telegram, "sendMessage", chat_id=CHAT, text="<b>fine</b>", parse_mode="HTML"
    )
    assert (status, body["description"]) == (400, description)
    assert fake_telegram.bot_messages(CHAT) == []
    assert fake_telegram.validation_errors == []


async def test_a_faulty_call_is_still_validated(fake_telegram: FakeTelegram) -> None:
    fake_telegram.schedule_fault("sendMessage", ServerError())
    status, _ = await call(fake_telegram, "sendMessage", chat_id=CHAT)  # no text: a bug, not a fault
    assert status == 400
    assert fake_telegram.validation_errors == ["sendMessage: required parameter 'text' missing"]
    fake_telegram.validation_errors.clear()  # seen; the fixture checks the rest


@pytest.mark.parametrize("applied", [False, True])
async def test_hang_past_the_client_timeout(
    fake_telegram: FakeTelegram, clock: trio.testing.MockClock, applied: bool
) -> None:
    fake_telegram.ensure_chat(CHAT)
    fake_telegram.schedule_fault("sendMessage", Hang(seconds=60, applied=applied))
    start = trio.current_time()
    with pytest.raises(httpx.ReadTimeout):
        await call(fake_telegram, "sendMessage", http_timeout=5, chat_id=CHAT, text="slow")
    assert trio.current_time() - start == pytest.approx(5, abs=0.5)
    await trio.sleep(60)
    assert [m.text for m in fake_telegram.bot_messages(CHAT)] == (["slow"] if applied else [])


@pytest.mark.parametrize("applied", [False, True])
async def test_dropped_connection(fake_telegram: FakeTelegram, applied: bool) -> None:
    fake_telegram.ensure_chat(CHAT)
    fake_telegram.schedule_fault("sendMessage", Drop(applied=applied))
    with pytest.raises(httpx.RemoteProtocolError):
        await call(fake_telegram, "sendMessage", chat_id=CHAT, text="lost?")
    assert [m.text for m in fake_telegram.bot_messages(CHAT)] == (["lost?"] if applied else [])
    assert fake_telegram.calls("sendMessage")[0].fault == repr(Drop(applied=applied))


def test_faults_read_as_the_contract_spells_them() -> None:
    assert RetryAfter(5) == RetryAfter(seconds=5)
    assert ServerError(502) == ServerError(status=502)
    assert Hang(30) == Hang(seconds=30, applied=False)
    assert Drop() == Drop(applied=False)
