"""The ``fake_telegram`` pytest fixture, importable by any test folder's conftest::

    from codexgram.testing.fake_telegram.fixture import fake_telegram  # noqa: F401

It yields a running :class:`FakeTelegram` (in the test's trio loop, so ``autojump_clock`` drives its clock)
and, at teardown, asserts that no request the test made broke the Bot API reference
(``validation_errors == []``), and that every result the fake returned matched the reference
(``response_errors == []``). A test that sends bad requests on purpose opts out with
``@pytest.mark.fake_telegram_bad_requests``. Needs pytest and pytest-trio (dev dependencies).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from .server import FakeTelegram, run_fake_telegram

BAD_REQUESTS_MARKER = "fake_telegram_bad_requests"


def register_marker(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{BAD_REQUESTS_MARKER}: the test sends requests the Bot API forbids, on purpose"
    )


@pytest.fixture
async def fake_telegram(nursery: trio.Nursery, request: pytest.FixtureRequest) -> AsyncIterator[FakeTelegram]:
    """A running fake Telegram; teardown fails the test if any request broke the reference."""
    fake: FakeTelegram = await nursery.start(run_fake_telegram)
    yield fake
    if request.node.get_closest_marker(BAD_REQUESTS_MARKER) is None:
        assert fake.validation_errors == [], (
            f"the bot made requests Telegram would refuse: {fake.validation_errors}"
        )
    assert fake.response_errors == [], (
        f"the fake answered with objects the Bot API reference does not allow: {fake.response_errors}"
    )
