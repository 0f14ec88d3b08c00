"""Acceptance: killing the poller between updates and restarting neither loses nor repeats an update.

Real SQLite (the offset is persisted through the repository actor), the real client, the fake Bot API with
real long polling. Real time: the repository's worker thread and a mock clock do not mix.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from codexgram.actors.poller import ALLOWED_UPDATES, poller_actor
from codexgram.actors.repository import open_repository
from codexgram.telegram.client import BotApiClient
from codexgram.telegram.types import Update
from codexgram.testing.fake_telegram import FakeTelegram

CHAT = 7201


async def wait_for(condition: Callable[[], bool]) -> None:
    with trio.fail_after(20):
        while not condition():
            await trio.sleep(0.01)


async def run_poller(
    fake: FakeTelegram,
    db: Path,
    consumer: Callable[[Update], Awaitable[None]],
    until: Callable[[], Awaitable[None]],
) -> None:
    """One bot "process": its own repository and client; the poller is killed once ``until()`` returns."""
    client = BotApiClient(token=fake.token, base_url=fake.base_url, timeout=10)
    async with open_repository(db) as repo, client, trio.open_nursery() as nursery:
        actor = functools.partial(poller_actor, client=client, store=repo, consumer=consumer, poll_timeout=2)
        await nursery.start(actor)
        await until()
        nursery.cancel_scope.cancel()


async def test_killing_the_poller_between_updates_neither_loses_nor_repeats(
    fake_telegram: FakeTelegram, tmp_path: Path
) -> None:
    db = tmp_path / "bot.sqlite3"
    fake_telegram.ensure_chat(CHAT)
    received: list[tuple[int, str]] = []
    blocked = trio.Event()

    def text_of(update: Update) -> str:
        assert update.message is not None
        assert update.message.text is not None
        return update.message.text

    async def stuck_on_five(update: Update) -> None:
        """A consumer that has not acknowledged "five" when its process dies."""
        if text_of(update) == "five":
            blocked.set()
            await trio.sleep_forever()
        received.append((update.update_id, text_of(update)))

    async def healthy(update: Update) -> None:
        received.append((update.update_id, text_of(update)))

    for text in ("one", "two", "three"):
        fake_telegram.user_sends_text(CHAT, text)

    async def first_until() -> None:
        await wait_for(lambda: len(received) == 3)
        fake_telegram.user_sends_text(CHAT, "four")
        fake_telegram.user_sends_text(CHAT, "five")
        with trio.fail_after(20):
            await blocked.wait()

    # process 1: handles one..four, dies while "five" is being handed over
    await run_poller(fake_telegram, db, stuck_on_five, first_until)
    assert [text for _, text in received] == ["one", "two", "three", "four"]

    # while no bot runs, the user goes on writing
    fake_telegram.user_sends_text(CHAT, "six")
    fake_telegram.user_sends_text(CHAT, "seven")

    seven_handled = trio.Event()

    async def until_seven(update: Update) -> None:
        await healthy(update)
        if text_of(update) == "seven":
            seven_handled.set()

    async def second_until() -> None:
        # killed right after handling "seven": before (or while) its next getUpdates tells Telegram so
        with trio.fail_after(20):
            await seven_handled.wait()

    await run_poller(fake_telegram, db, until_seven, second_until)
    polls_before_third = len(fake_telegram.calls("getUpdates"))

    # process 3 resumes from the stored offset, which is what keeps "six" and "seven" from coming back
    fake_telegram.user_sends_text(CHAT, "eight")

    async def third_until() -> None:
        await wait_for(lambda: len(received) >= 8)
        await trio.sleep(0.3)

    await run_poller(fake_telegram, db, healthy, third_until)

    texts = [text for _, text in received]
    assert texts == ["one", "two", "three", "four", "five", "six", "seven", "eight"]
    ids = [update_id for update_id, _ in received]
    assert ids == sorted(set(ids))
    # (process 2's own last poll, if it got out, ends with 409 when process 3 polls: skip it)
    third_first_poll = next(c for c in fake_telegram.calls("getUpdates")[polls_before_third:] if c.ok)
    assert third_first_poll.params["offset"] == ids[texts.index("seven")] + 1
    async with open_repository(db) as repo:
        assert await repo.get_update_offset() == ids[-1] + 1
    # every getUpdates named the update kinds explicitly
    polls = fake_telegram.calls("getUpdates")
    assert polls
    assert all(list(call.params["allowed_updates"]) == list(ALLOWED_UPDATES) for call in polls)  # type: ignore[call-overload]
