"""``python -m codexgram.testing.fake_telegram --port 0``: serve a fake Telegram until interrupted.

Prints the base URL and the token to give the bot (``CODEXGRAM_TELEGRAM_API_URL`` and the bot token), then
serves; the test-side API is under ``<base URL>/_test/`` (see ``docs/fake-telegram.md``). With
``--chat ID`` the terminal becomes that user's chat with the bot (lines typed are messages; ``!press
<message_id> <n>`` presses a button) until end of input.
"""

from __future__ import annotations

import argparse
import contextlib

import trio

from .console import run_console
from .flood import FloodControl
from .server import run_fake_telegram


async def _main(host: str, port: int, token: str | None, flood: bool, chat: int | None) -> None:
    async with trio.open_nursery() as nursery:
        fake = await nursery.start(
            lambda task_status: run_fake_telegram(
                host=host, port=port, token=token, flood=FloodControl(enabled=flood), task_status=task_status
            )
        )
        print(f"base_url {fake.base_url}", flush=True)
        print(f"token {fake.token}", flush=True)
        print(f"control {fake.base_url}/_test/", flush=True)
        if chat is not None:
            print(f"chat {chat}: type messages; !press <message_id> <n> presses a button", flush=True)
            await run_console(fake, chat, write=lambda line: print(line, flush=True))
            nursery.cancel_scope.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m codexgram.testing.fake_telegram", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--token", default=None, help="the token to accept (default: a random one)")
    parser.add_argument("--no-flood-control", action="store_true", help="never answer 429 on its own")
    parser.add_argument(
        "--chat", type=int, default=None, help="chat with the bot as this user, in the terminal"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how one stops it
        trio.run(_main, args.host, args.port, args.token, not args.no_flood_control, args.chat)


if __name__ == "__main__":
    main()
