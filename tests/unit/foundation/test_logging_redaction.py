"""The token never reaches a log line: not via settings, errors, tracebacks, or httpx URLs."""

from __future__ import annotations

import io
import logging

import pytest

from codexgram.config import load_settings
from codexgram.errors import ConfigError, TelegramNetworkError
from codexgram.logging_setup import RedactingFilter, configure_logging

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0"
log = logging.getLogger("codexgram.test")


def test_settings_and_errors_logged_do_not_show_the_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    settings = load_settings({"HOME": "/home/dev", "CODEXGRAM_TELEGRAM_TOKEN": TOKEN})
    log.info("settings: %r", settings)
    log.info("settings: %s", settings)
    log.debug("token object: %r / %s", settings.telegram_token, settings.telegram_token)
    try:
        load_settings({"HOME": "/home/dev", "CODEXGRAM_TELEGRAM_TOKEN": TOKEN + " junk"})
    except ConfigError:
        log.exception("bad configuration")
    try:
        raise TelegramNetworkError("getUpdates", "connection refused")
    except TelegramNetworkError:
        log.exception("telegram failed")
    assert "Secret('***')" in caplog.text
    assert "bad configuration" in caplog.text
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text


def test_the_filter_redacts_messages_args_and_tracebacks() -> None:
    stream = io.StringIO()
    handler = configure_logging("DEBUG", secrets=[TOKEN], stream=stream)
    try:
        log.info("raw token %s", TOKEN)
        log.info("url https://api.telegram.org/bot%s/getMe", TOKEN)
        log.warning("some other bot's token: bot987654:ABCdef_-xyz in a URL")
        try:
            raise RuntimeError(f"request to /bot{TOKEN}/sendMessage failed")
        except RuntimeError:
            log.exception("failed")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot%s/getUpdates", TOKEN)
    finally:
        logging.getLogger().removeHandler(handler)
    text = stream.getvalue()
    assert TOKEN not in text
    assert "bot987654:ABCdef_-xyz" not in text
    assert text.count("***") >= 4
    assert "RuntimeError" in text  # the traceback is still there, only redacted
    assert "HTTP Request" not in text  # httpx INFO lines are silenced


def test_configure_logging_twice_does_not_duplicate_lines() -> None:
    stream = io.StringIO()
    first = configure_logging("INFO", stream=stream)
    second = configure_logging("INFO", stream=stream)
    try:
        assert first not in logging.getLogger().handlers
        log.info("once")
    finally:
        logging.getLogger().removeHandler(second)
    assert stream.getvalue().count("once") == 1


def test_redact_plain_text() -> None:
    f = RedactingFilter([TOKEN, ""])
    assert f.redact(f"a {TOKEN} b") == "a *** b"
    assert f.redact("nothing secret") == "nothing secret"
