"""The user a recording implies: the chat's session and what the user did, read from a transcript (pure).

The bot replay re-issues nothing recorded; it plays the *user* and lets the bot decide the rest. What the user
did is read off the client's recorded calls, the way the chat actor hands work to a thread:

- the first ``thread/start``'s params are the chat's session (cwd, approval policy, sandbox, model);
- each recorded ``turn/start`` is a message the user sent (one per ``clientUserMessageId`` when the bot
  recorded it: the bot may send a message again once Codex said it never got it);
- each recorded ``turn/interrupt`` is a press on Cancel;
- each action is taken once the server frames recorded before its frame went out (:attr:`UserAction.frame`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from codexgram.errors import CodexgramError
from codexgram.replay.transcript import Transcript

# The bot names its messages to Codex ``codexgram-<update id>`` (``clientUserMessageId``).
_CLIENT_ID = re.compile(r"^codexgram-(\d+)$")


class BotReplayUnsupported(CodexgramError):
    """The transcript holds a client action the bot replay cannot play as a user's."""


@attrs.frozen(kw_only=True)
class BotSession:
    """The chat's session: where and how its thread runs (from the recorded ``thread/start``)."""

    cwd: str
    approval_policy: str | None = None
    sandbox: str | None = None
    model: str | None = None


@attrs.frozen(kw_only=True)
class UserAction:
    """Something the user does. ``frame``: the recorded client frame it stands for; the action is taken once
    the server frames recorded before it went out. ``update_id``: a message's update (None: the next one)."""

    kind: Literal["message", "cancel"]
    frame: int
    text: str = ""
    update_id: int | None = None


@attrs.frozen(kw_only=True)
class BotScript:
    session: BotSession
    actions: tuple[UserAction, ...]
    bot_recorded: bool  # the bot made the recording: its calls must match the recorded ones exactly


def bot_recorded(transcript: Transcript) -> bool:
    """Whether the bot itself made the recording: every ``turn/start`` carries the ``clientUserMessageId``
    the bot gives each message (a scripted client never does)."""
    starts = [f for f in transcript.sent() if f.method == "turn/start"]
    return bool(starts) and all(
        isinstance(c := (f.msg.get("params") or {}).get("clientUserMessageId"), str) and _CLIENT_ID.match(c)
        for f in starts
    )


def bot_script(transcript: Transcript) -> BotScript:
    """The session and the user's actions a transcript implies (see the module docstring). Raises
    :class:`BotReplayUnsupported` for a transcript with no ``thread/start`` or with a call no user action
    stands for (yet)."""
    by_bot = bot_recorded(transcript)
    start: tuple[int, Mapping[str, Any]] | None = None
    actions: list[UserAction] = []
    seen_messages: set[str] = set()
    for index, frame in enumerate(transcript.frames):
        if frame.dir != "send" or frame.kind != "request":
            continue
        params = frame.msg.get("params") or {}
        if frame.method == "thread/start" and start is None:
            start = (index, params)
        elif frame.method == "turn/start":
            if start is None:
                raise BotReplayUnsupported(
                    f"{transcript.name}: turn/start (frame {index}) before thread/start"
                )
            client_id = str(params.get("clientUserMessageId", "")) if by_bot else f"frame-{index}"
            if client_id in seen_messages:
                continue  # the bot sent the same message again (it may, once Codex said it never got it)
            seen_messages.add(client_id)
            match = _CLIENT_ID.match(client_id)
            first = not any(a.kind == "message" for a in actions)
            actions.append(
                UserAction(
                    kind="message",
                    # The message that makes the thread is sent before the thread exists: at its thread/start.
                    frame=start[0] if first else index,
                    text=_input_text(params),
                    update_id=int(match.group(1)) if match else None,
                )
            )
        elif frame.method == "turn/interrupt":
            actions.append(UserAction(kind="cancel", frame=index))
        elif frame.method == "turn/steer":
            raise BotReplayUnsupported(f"{transcript.name}: turn/steer (frame {index}) is not replayed yet")
    if start is None:
        raise BotReplayUnsupported(f"{transcript.name}: no thread/start")
    params = start[1]
    session = BotSession(
        cwd=str(params.get("cwd") or "/"),
        approval_policy=_opt_str(params.get("approvalPolicy")),
        sandbox=_opt_str(params.get("sandbox")),
        model=_opt_str(params.get("model")),
    )
    return BotScript(session=session, actions=tuple(actions), bot_recorded=by_bot)


def _input_text(params: Mapping[str, Any]) -> str:
    items = params.get("input") or ()
    return "\n".join(str(item.get("text", "")) for item in items if isinstance(item, Mapping))


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) else None
