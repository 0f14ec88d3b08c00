"""Acceptance: killing the poller between updates and restarting neither loses nor repeats an update.

Four bot "processes" in turn: killed while an update is being handed over, right after one was handled,
and idle in a long poll that Telegram goes on holding after the process is gone. Each kill point is
reached by waiting for it (an event, or the fake holding the poll), never by sleeping, so no request of a
dead process can reach the fake after the next process started.

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


def polling(fake: FakeTelegram) -> bool:
    """Whether the fake holds a long poll open (a function: mypy would narrow the property for good)."""
    return fake.poll_waiting


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
    # killed while persisting the offset (shielded), so its next getUpdates was never sent
    assert not polling(fake_telegram)
    polls_before_third = len(fake_telegram.calls("getUpdates"))

    # process 3 resumes from the stored offset, which is what keeps "six" and "seven" from coming back; it
    # is killed idle in a long poll, where a bot spends its time
    fake_telegram.user_sends_text(CHAT, "eight")

    async def third_until() -> None:
        await wait_for(lambda: len(received) >= 8)
        with trio.fail_after(20):
            await fake_telegram.wait_until(lambda: polling(fake_telegram))

    await run_poller(fake_telegram, db, healthy, third_until)
    third_polls = fake_telegram.calls("getUpdates")[polls_before_third:]
    polls_before_fourth = len(fake_telegram.calls("getUpdates"))

    # Telegram still holds process 3's poll (it has not noticed the closed connection) when the user writes
    # again: "nine" goes out on that poll and is lost on the way, or the next process's poll ends the orphan
    # with 409 first. Either way Telegram never heard "nine" confirmed, so process 4 gets it, once.
    assert polling(fake_telegram)
    fake_telegram.user_sends_text(CHAT, "nine")

    async def fourth_until() -> None:
        await wait_for(lambda: len(received) >= 9)
        await trio.sleep(0.3)

    await run_poller(fake_telegram, db, healthy, fourth_until)

    texts = [text for _, text in received]
    assert texts == ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    ids = [update_id for update_id, _ in received]
    assert ids == sorted(set(ids))
    # process 3 met no leftover poll of process 2: its first poll succeeded, from the stored offset
    assert third_polls[0].ok
    assert third_polls[0].params["offset"] == ids[texts.index("seven")] + 1
    # the orphaned poll (answered with "nine", or ended with 409) and process 4's polls all asked from
    # "nine": its offset was confirmed only by process 4, after handing it over
    fourth_polls = fake_telegram.calls("getUpdates")[polls_before_fourth:]
    assert fourth_polls
    assert {call.params["offset"] for call in fourth_polls} == {ids[-1]}
    async with open_repository(db) as repo:
        assert await repo.get_update_offset() == ids[-1] + 1
    # every getUpdates named the update kinds explicitly
    polls = fake_telegram.calls("getUpdates")
    assert polls
    assert all(list(call.params["allowed_updates"]) == list(ALLOWED_UPDATES) for call in polls)  # type: ignore[call-overload]
