"""BotApiClient against httpx.MockTransport: request shapes, every error mapping, deadlines, token secrecy.

The mock transport holds every request to the Bot API reference, with the fake server's own checks
(``reference_violations``): these requests do not reach the fake, but are validated all the same.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import pytest
import trio

from codexgram.config import Secret, token_fingerprint
from codexgram.errors import (
    ConfigError,
    InputError,
    TelegramBadRequest,
    TelegramCantParseEntities,
    TelegramConflict,
    TelegramError,
    TelegramForbidden,
    TelegramNetworkError,
    TelegramNotModified,
    TelegramQueryTooOld,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorized,
)
from codexgram.telegram.client import LONG_POLL_MARGIN, BotApiClient
from codexgram.telegram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup
from codexgram.testing.fake_telegram.server import shared_spec
from codexgram.testing.fake_telegram.wire import reference_violations

TOKEN = "123456789:AAF-sEcReT_tOkEn_value"
BASE = "http://bot.test"

Handler = Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]


# Violations of the reference seen by the mock transport in the running test; ``held_to_the_reference``
# fails the test at teardown unless the test expected (and cleared) them.
violations: list[str] = []


@pytest.fixture(autouse=True)
def held_to_the_reference() -> Iterator[None]:
    violations.clear()
    yield
    assert violations == [], "the client made requests Telegram would refuse"


def validating(handler: Handler) -> Handler:
    """``handler`` behind the fake server's reference checks (Bot API methods; file downloads pass)."""

    async def checked(request: httpx.Request) -> httpx.Response:
        prefix = f"/bot{TOKEN}/"
        if request.url.path.startswith(prefix):
            method = request.url.path.removeprefix(prefix)
            content_type = request.headers.get("content-type", "")
            violations.extend(
                reference_violations(
                    shared_spec(), method, content_type, request.content, dict(request.url.params)
                )
            )
        return await handler(request)

    return checked


def make_client(handler: Handler, *, timeout: float = 20.0) -> BotApiClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(validating(handler)))
    return BotApiClient(token=TOKEN, base_url=BASE, http=http, timeout=timeout)


def ok(result: Any) -> httpx.Response:
    return httpx.Response(200, json={"ok": True, "result": result})


MESSAGE = {"message_id": 42, "date": 1700000000, "chat": {"id": 7, "type": "private"}, "text": "hi"}


async def test_send_message_posts_json_to_the_method_url() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(MESSAGE)

    markup = InlineKeyboardMarkup(
        inline_keyboard=((InlineKeyboardButton(text="Go", callback_data="a:x:y"),),)
    )
    async with make_client(handler) as client:
        message = await client.send_message(7, "<b>hi</b>", reply_markup=markup)
    assert message.message_id == 42
    assert message.chat.id == 7
    (request,) = seen
    assert request.method == "POST"
    assert request.url.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body == {
        "chat_id": 7,
        "text": "<b>hi</b>",
        "parse_mode": "HTML",
        "reply_markup": {"inline_keyboard": [[{"text": "Go", "callback_data": "a:x:y"}]]},
        "link_preview_options": {"is_disabled": True},
    }


async def test_secret_object_is_accepted_and_repr_shows_only_a_fingerprint() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        assert TOKEN in request.url.path
        return ok({"id": 1, "is_bot": True, "first_name": "Bot", "username": "codexgram_bot"})

    client = BotApiClient(
        token=Secret(TOKEN),
        base_url=BASE + "/",
        http=httpx.AsyncClient(transport=httpx.MockTransport(validating(handler))),
    )
    me = await client.get_me()
    assert me.username == "codexgram_bot"
    assert TOKEN not in repr(client)
    assert token_fingerprint(TOKEN) in repr(client)
    assert client.token_fingerprint == Secret(TOKEN).fingerprint()
    assert BASE in repr(client)
    await client.aclose()


async def test_a_request_breaking_the_reference_is_caught() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return ok(MESSAGE)

    async with make_client(handler) as client:
        await client.call("sendMessage", {"chat_id": 7, "text": "hi", "colour": "red"})
        await client.call("sendMessage", {"chat_id": 7, "disable_notification": "yes"})
        await client.call("sendMesage", {"chat_id": 7, "text": "hi"})
    assert violations == [
        "sendMessage: unknown parameter 'colour' for sendMessage",
        "sendMessage: disable_notification must be Boolean, got String",
        "sendMessage: required parameter 'text' missing",
        "sendMesage: no such method 'sendMesage'",
    ]
    violations.clear()  # expected: do not fail the test at teardown


def test_malformed_token_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        BotApiClient(token="123:abc/../x y")
    assert "abc" not in str(info.value)


async def test_get_updates_sets_http_deadline_from_long_poll_timeout() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok([{"update_id": 10, "message": MESSAGE}, {"update_id": 11, "poll": {"id": "p"}}])

    async with make_client(handler, timeout=5) as client:
        updates = await client.get_updates(
            offset=10, timeout=30, allowed_updates=["message", "callback_query"]
        )
    assert [u.update_id for u in updates] == [10, 11]
    assert updates[0].message is not None
    assert updates[1].kind == "poll"
    assert json.loads(seen[0].content) == {
        "offset": 10,
        "timeout": 30,
        "limit": 100,
        "allowed_updates": ["message", "callback_query"],
    }
    assert seen[0].extensions["timeout"]["read"] == 30 + LONG_POLL_MARGIN


async def test_get_updates_without_offset_omits_it() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        assert "offset" not in json.loads(request.content)
        return ok([])

    async with make_client(handler) as client:
        assert await client.get_updates(offset=None, timeout=0, allowed_updates=[]) == []


async def test_send_document_is_multipart_with_nested_values_as_json() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok({**MESSAGE, "document": {"file_id": "f", "file_unique_id": "u", "file_name": "answer.md"}})

    markup = InlineKeyboardMarkup(inline_keyboard=((InlineKeyboardButton(text="X", callback_data="c"),),))
    async with make_client(handler) as client:
        message = await client.send_document(
            7, "answer.md", b"# hello\n", caption="full answer", reply_markup=markup
        )
    assert message.document is not None
    assert message.document.file_name == "answer.md"
    request = seen[0]
    assert request.url.path.endswith("/sendDocument")
    assert request.headers["content-type"].startswith("multipart/form-data")
    body = request.content
    assert b'name="chat_id"\r\n\r\n7\r\n' in body
    assert b'name="caption"\r\n\r\nfull answer\r\n' in body
    assert b'{"inline_keyboard":[[{"text":"X","callback_data":"c"}]]}' in body
    assert b'filename="answer.md"' in body
    assert b"# hello\n" in body


async def test_small_methods_send_expected_params() -> None:
    bodies: dict[str, Any] = {}

    async def handler(request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[1]
        bodies[method] = json.loads(request.content)
        if method == "editMessageText":
            return ok({**MESSAGE, "text": "new"})
        if method == "getFile":
            return ok({"file_id": "f", "file_unique_id": "u", "file_path": "photos/file_1.jpg"})
        return ok(True)

    async with make_client(handler) as client:
        edited = await client.edit_message_text(7, 42, "new")
        assert not isinstance(edited, bool)
        assert edited.text == "new"
        assert await client.edit_message_reply_markup(7, 42) is True
        assert await client.delete_message(7, 42) is True
        assert await client.answer_callback_query("q1", text="Approved") is True
        assert await client.send_chat_action(7) is True
        assert (await client.get_file("f")).file_path == "photos/file_1.jpg"
        assert await client.set_my_commands([BotCommand(command="new", description="Start a thread")]) is True
        assert await client.leave_chat(-100) is True
    assert bodies["editMessageReplyMarkup"] == {"chat_id": 7, "message_id": 42}
    assert bodies["deleteMessage"] == {"chat_id": 7, "message_id": 42}
    assert bodies["answerCallbackQuery"] == {"callback_query_id": "q1", "text": "Approved"}
    assert bodies["sendChatAction"] == {"chat_id": 7, "action": "typing"}
    assert bodies["setMyCommands"] == {"commands": [{"command": "new", "description": "Start a thread"}]}
    assert bodies["leaveChat"] == {"chat_id": -100}


def error(code: int, description: str, **parameters: Any) -> httpx.Response:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return httpx.Response(code, json=body)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (
            error(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup "
                "are exactly the same",
            ),
            TelegramNotModified,
        ),
        (
            error(400, 'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 3'),
            TelegramCantParseEntities,
        ),
        (
            error(400, "Bad Request: query is too old and response timeout expired or query ID is invalid"),
            TelegramQueryTooOld,
        ),
        (error(400, "Bad Request: message is too long"), TelegramBadRequest),
        (error(401, "Unauthorized"), TelegramUnauthorized),
        (error(403, "Forbidden: bot was blocked by the user"), TelegramForbidden),
        (error(409, "Conflict: terminated by other getUpdates request"), TelegramConflict),
        (error(500, "Internal Server Error"), TelegramServerError),
        (httpx.Response(502, text="<html>Bad Gateway</html>"), TelegramServerError),
        (httpx.Response(404, text="not found"), TelegramError),
        (httpx.Response(200, text="not json"), TelegramError),
    ],
)
async def test_error_mapping(response: httpx.Response, expected: type[TelegramError]) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return response

    async with make_client(handler) as client:
        with pytest.raises(TelegramError) as info:
            await client.call("sendMessage", {"chat_id": 1, "text": "x"})
    assert type(info.value) is expected
    assert info.value.method == "sendMessage"
    assert TOKEN not in str(info.value)


async def test_retry_after_from_parameters() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return error(429, "Too Many Requests: retry after 7", retry_after=7)

    async with make_client(handler) as client:
        with pytest.raises(TelegramRetryAfter) as info:
            await client.send_message(7, "x")
    assert info.value.retry_after == 7
    assert info.value.error_code == 429


async def test_retry_after_from_description_when_parameters_missing() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return error(429, "Too Many Requests: retry after 3")

    async with make_client(handler) as client:
        with pytest.raises(TelegramRetryAfter) as info:
            await client.send_message(7, "x")
    assert info.value.retry_after == 3


async def test_hanging_server_times_out_as_network_error(autojump_clock: trio.testing.MockClock) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        await trio.sleep(3600)
        return ok(True)

    async with make_client(handler, timeout=2) as client:
        start = trio.current_time()
        with pytest.raises(TelegramNetworkError, match="timed out after 2s"):
            await client.send_chat_action(7)
        assert trio.current_time() - start == pytest.approx(2)
        with pytest.raises(TelegramNetworkError, match=r"timed out after 0\.5s"):
            await client.delete_message(7, 1, timeout=0.5)


async def test_transport_error_never_reveals_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def handler(request: httpx.Request) -> httpx.Response:
        # httpx's own errors carry the URL, token included: the client must not pass that on.
        raise httpx.ConnectError(f"connection refused while calling {request.url}", request=request)

    async with make_client(handler) as client:
        with pytest.raises(TelegramNetworkError) as info:
            await client.send_message(7, "x")
        exc = info.value
        logging.getLogger("codexgram.test").exception("send failed", exc_info=exc)
    assert "sendMessage" in str(exc)
    assert "ConnectError" in str(exc)
    texts = [str(exc), repr(exc), "".join(traceback.format_exception(exc)), caplog.text]
    for text in texts:
        assert TOKEN not in text
        assert TOKEN.split(":")[1] not in text
    assert exc.__cause__ is None
    assert exc.__context__ is None


async def test_httpx_request_log_lines_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    async def handler(request: httpx.Request) -> httpx.Response:
        return ok(True)

    async with make_client(handler) as client:
        await client.send_chat_action(7)
    assert "HTTP Request: POST" in caplog.text  # httpx did log the request...
    assert "<token>" in caplog.text
    assert TOKEN not in caplog.text  # ...but not the token


async def test_download_file_reads_bytes_and_enforces_max_bytes() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        assert request.method == "GET"
        assert request.url.path.startswith(f"/file/bot{TOKEN}/")
        if request.url.path.endswith("small.jpg"):
            return httpx.Response(200, content=b"x" * 100)
        return httpx.Response(200, content=b"y" * 5000)

    async with make_client(handler) as client:
        assert await client.download_file("photos/small.jpg", max_bytes=100) == b"x" * 100
        with pytest.raises(InputError, match="larger than 1000 bytes"):
            await client.download_file("photos/big.jpg", max_bytes=1000)
        with pytest.raises(TelegramError, match="leaves the file root"):
            await client.download_file("../etc/passwd", max_bytes=1000)


async def test_download_file_http_error_is_typed() -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"ok": False, "error_code": 404, "description": "Not Found"})

    async with make_client(handler) as client:
        with pytest.raises(TelegramError) as info:
            await client.download_file("documents/gone.txt", max_bytes=1000)
    assert info.value.error_code == 404
    assert TOKEN not in str(info.value)
