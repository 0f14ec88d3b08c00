"""The ``fake_telegram`` fixture fails a test whose bot made a request Telegram would refuse.

This is what makes "every request the bot makes in the test suite is validated against the reference"
hold: a test does not have to look at ``validation_errors`` itself. Proven by running a small test file in a
separate pytest process and reading its outcome.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CONFTEST = """
from codexgram.testing.fake_telegram.fixture import fake_telegram, register_marker

__all__ = ["fake_telegram"]


def pytest_configure(config):
    register_marker(config)
"""

TESTS = """
import pytest

from codexgram.telegram.client import BotApiClient
from codexgram.errors import TelegramBadRequest


async def send(fake, **params):
    fake.ensure_chat(1001)
    async with BotApiClient(token=fake.token, base_url=fake.base_url) as client:
        try:
            await client.call("sendMessage", {"chat_id": 1001, **params})
        except TelegramBadRequest:
            pass  # the bot "handled" the refusal: the fixture must still fail the test


async def test_malformed_request(fake_telegram):
    await send(fake_telegram, text="hi", colour="red")


async def test_text_too_long_after_parsing(fake_telegram):
    await send(fake_telegram, text="<b>" + "x" * 4097 + "</b>", parse_mode="HTML")


async def test_valid_request(fake_telegram):
    await send(fake_telegram, text="<b>hi</b>", parse_mode="HTML")


@pytest.mark.fake_telegram_bad_requests
async def test_malformed_request_on_purpose(fake_telegram):
    await send(fake_telegram, text="hi", colour="red")
"""


def test_a_malformed_request_fails_the_test_that_made_it(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\ntrio_mode = true\n")
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_bot.py").write_text(TESTS)
    # -rA: the summary names each test's outcome, so the two clean ones are seen passing
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rA",
            "-p",
            "no:cacheprovider",
            "-c",
            str(tmp_path / "pytest.ini"),  # this project's settings stay out
            str(tmp_path / "test_bot.py"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    output = result.stdout + result.stderr
    assert "FAILED test_bot.py::test_malformed_request -" in output, output
    assert "FAILED test_bot.py::test_text_too_long_after_parsing -" in output, output
    assert "sendMessage: unknown parameter 'colour' for sendMessage" in output
    assert "sendMessage: message is too long" in output
    assert "PASSED test_bot.py::test_valid_request" in output, output
    assert "PASSED test_bot.py::test_malformed_request_on_purpose" in output, output
    assert "2 failed, 2 passed" in output, output
