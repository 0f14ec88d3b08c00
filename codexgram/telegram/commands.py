"""Bot commands in incoming messages: ``/name@bot args`` -> name and arguments (pure).

Telegram marks a command with a ``bot_command`` entity; a command addressed to another bot
(``/new@other_bot``, in a group) is not ours. Command names are matched in lower case; the arguments are the
rest of the text, stripped, exactly as typed (newlines kept).
"""

from __future__ import annotations

import re

from attrs import frozen

from codexgram.telegram.types import Message

__all__ = ["CommandCall", "parse_command"]

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?=\s|$)")


@frozen(kw_only=True)
class CommandCall:
    """``/name args``: ``name`` lower case without the slash, ``args`` the rest of the text."""

    name: str
    args: str


def parse_command(message: Message, *, bot_username: str | None) -> CommandCall | None:
    """The command at the start of ``message.text``, or ``None`` if there is none or it names another bot.

    The text must start with a ``bot_command`` entity when the message has entities (Telegram sends them);
    a message without entities (e.g. built by hand in a test) is parsed from the text alone."""
    text = message.text
    if not text:
        return None
    if message.entities and not any(e.type == "bot_command" and e.offset == 0 for e in message.entities):
        return None
    match = _COMMAND.match(text)
    if match is None:
        return None
    addressee = match.group(2)
    if addressee is not None and (bot_username is None or addressee.lower() != bot_username.lower()):
        return None
    return CommandCall(name=match.group(1).lower(), args=text[match.end() :].strip())
