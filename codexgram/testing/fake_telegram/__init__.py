"""A fake Telegram Bot API server that behaves like Telegram, for tests, benchmarks and trying the bot
without a real token. See ``docs/fake-telegram.md``.

In a trio test::

    async with trio.open_nursery() as nursery:
        fake = await nursery.start(run_fake_telegram)
        client = BotApiClient(token=Secret(fake.token), base_url=fake.base_url)
        fake.user_sends_text(1001, "/start")
"""

from .faults import BadRequest, Drop, Fault, Hang, RetryAfter, ServerError
from .flood import FloodControl, Rate
from .server import FakeTelegram, RecordedCall, run_fake_telegram
from .spec import ApiSpec, Violation
from .state import FakeMessage, Revision

__all__ = [
    "ApiSpec",
    "BadRequest",
    "Drop",
    "FakeMessage",
    "FakeTelegram",
    "Fault",
    "FloodControl",
    "Hang",
    "Rate",
    "RecordedCall",
    "RetryAfter",
    "Revision",
    "ServerError",
    "Violation",
    "run_fake_telegram",
]
