"""The pure answer -> result/error mapping, synchronously (the client tests cover it over HTTP too)."""

from __future__ import annotations

import json

import pytest

from codexgram.errors import TelegramError, TelegramRetryAfter, TelegramServerError
from codexgram.telegram.api_errors import error_for, result_of


def test_ok_envelope_returns_the_result() -> None:
    assert result_of("getMe", 200, json.dumps({"ok": True, "result": {"id": 1}}).encode()) == {"id": 1}


@pytest.mark.parametrize(
    ("retry_after", "expected"), [(5, 5.0), (2.5, 2.5), (-3, 1.0), ("x", 1.0), (None, 1.0)]
)
def test_retry_after_is_always_a_sane_number(retry_after: object, expected: float) -> None:
    error = error_for("sendMessage", 429, "Too Many Requests", retry_after)
    assert isinstance(error, TelegramRetryAfter)
    assert error.retry_after == expected


def test_error_code_missing_falls_back_to_http_status() -> None:
    with pytest.raises(TelegramServerError) as info:
        result_of(
            "sendMessage", 503, json.dumps({"ok": False, "description": "Service Unavailable"}).encode()
        )
    assert info.value.error_code == 503


@pytest.mark.parametrize("body", [b"", b"null", b"[1]", b'{"result": 1}', b"<html>"])
def test_a_200_without_an_envelope_is_an_error(body: bytes) -> None:
    with pytest.raises(TelegramError, match="not a Bot API envelope"):
        result_of("getMe", 200, body)
