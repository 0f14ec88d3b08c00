"""Inline keyboards and the callback data codec (pure).

Callback data format (at most 64 UTF-8 bytes, Telegram's limit; ours are 20 at most):

- ``a:<token>:<choice>`` - an approval button. ``<token>`` is :func:`new_callback_token`: 16 characters of
  ``secrets.token_urlsafe`` (96 random bits), made once per approval request and stored with it, so a button
  cannot be guessed or replayed for another request. ``<choice>``: ``y`` approve, ``s`` approve for the
  session, ``n`` deny, ``d`` show details.
- ``c:<token>`` - the cancel button of a running turn (its own token, made per turn).
- ``q:<token>:<choice>`` - a button of a queued message (its own token, made per message): ``s`` steer it into
  the running turn now, ``x`` cancel it.
- ``w:<name>`` - pick the workspace ``name`` (1-32 of ``A-Z a-z 0-9 _ . -``, the admin CLI's rule). No token:
  it names a workspace the bot shows to any allowed user, and is checked against the store when pressed.

:func:`decode` checks the shape strictly and, given the tokens that are still pending, also that the token is
known. Anything else decodes to :class:`InvalidCallback` with a reason fit to show in answerCallbackQuery;
never an exception, because callback data comes from the network.
"""

from __future__ import annotations

import enum
import re
import secrets
from collections.abc import Container

from attrs import frozen

from codexgram.telegram.types import InlineKeyboardButton, InlineKeyboardMarkup

__all__ = [
    "ApprovalAction",
    "ApprovalChoice",
    "CallbackAction",
    "CancelAction",
    "InvalidCallback",
    "QueuedAction",
    "QueuedChoice",
    "WorkspacePick",
    "approval_keyboard",
    "cancel_keyboard",
    "decode",
    "encode",
    "new_callback_token",
    "queued_keyboard",
    "workspace_keyboard",
]

#: Telegram's limit for callback_data, in UTF-8 bytes.
MAX_CALLBACK_BYTES = 64
_TOKEN_LENGTH = 16
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{16}$")
_WORKSPACE = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")


class ApprovalChoice(enum.Enum):
    """Which approval button was pressed; the value is its code in callback data. Not the answer sent to
    Codex (that is :class:`codexgram.codex.server_requests.ApprovalDecision`): ``DETAILS`` answers nothing."""

    APPROVE = "y"
    APPROVE_FOR_SESSION = "s"
    DENY = "n"
    DETAILS = "d"


@frozen(kw_only=True)
class ApprovalAction:
    """A press on an approval button of the request identified by ``token``."""

    token: str
    choice: ApprovalChoice


@frozen(kw_only=True)
class CancelAction:
    """A press on the cancel button of the turn identified by ``token``."""

    token: str


class QueuedChoice(enum.Enum):
    """What a button of a queued message asks for; the value is its code in callback data."""

    STEER = "s"
    DROP = "x"


@frozen(kw_only=True)
class QueuedAction:
    """A press on a button of the queued message identified by ``token``."""

    token: str
    choice: QueuedChoice


@frozen(kw_only=True)
class WorkspacePick:
    """A press on a workspace in the picker."""

    name: str


CallbackAction = ApprovalAction | CancelAction | QueuedAction | WorkspacePick


@frozen(kw_only=True)
class InvalidCallback:
    """Callback data we refuse; ``reason`` is short and fit to show the user (answerCallbackQuery text)."""

    reason: str


def new_callback_token() -> str:
    """A fresh unguessable token (16 URL-safe characters, 96 random bits) for one approval or one turn."""
    token = secrets.token_urlsafe(12)
    assert len(token) == _TOKEN_LENGTH
    return token


def encode(action: CallbackAction) -> str:
    """Callback data for ``action``. Raises ``ValueError`` for a malformed token or workspace name (a bug on
    our side)."""
    if isinstance(action, WorkspacePick):
        if not _WORKSPACE.match(action.name):
            raise ValueError("workspace names are 1-32 of A-Z a-z 0-9 _ . -")
        return f"w:{action.name}"
    if not _TOKEN.match(action.token):
        raise ValueError("callback token must be 16 URL-safe characters (use new_callback_token)")
    if isinstance(action, ApprovalAction):
        data = f"a:{action.token}:{action.choice.value}"
    elif isinstance(action, QueuedAction):
        data = f"q:{action.token}:{action.choice.value}"
    else:
        data = f"c:{action.token}"
    assert len(data.encode()) <= MAX_CALLBACK_BYTES
    return data


_UNKNOWN_BUTTON = InvalidCallback(reason="This button is not recognised.")
_NO_LONGER_PENDING = InvalidCallback(reason="This request is no longer pending.")


def decode(
    data: str | None, *, known_tokens: Container[str] | None = None
) -> CallbackAction | InvalidCallback:
    """Parse callback data from a button press. With ``known_tokens`` (the pending approvals' or running
    turns' tokens), a well-formed press for a token not among them is refused as no longer pending."""
    if not data or len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_BYTES:
        return _UNKNOWN_BUTTON
    parts = data.split(":")
    action: CallbackAction
    if parts[0] == "a" and len(parts) == 3 and _TOKEN.match(parts[1]):
        try:
            choice = ApprovalChoice(parts[2])
        except ValueError:
            return _UNKNOWN_BUTTON
        action = ApprovalAction(token=parts[1], choice=choice)
    elif parts[0] == "c" and len(parts) == 2 and _TOKEN.match(parts[1]):
        action = CancelAction(token=parts[1])
    elif parts[0] == "q" and len(parts) == 3 and _TOKEN.match(parts[1]):
        try:
            queued = QueuedChoice(parts[2])
        except ValueError:
            return _UNKNOWN_BUTTON
        action = QueuedAction(token=parts[1], choice=queued)
    elif parts[0] == "w" and len(parts) == 2 and _WORKSPACE.match(parts[1]):
        return WorkspacePick(name=parts[1])
    else:
        return _UNKNOWN_BUTTON
    if known_tokens is not None and action.token not in known_tokens:
        return _NO_LONGER_PENDING
    return action


def approval_keyboard(token: str, *, allow_session: bool = True) -> InlineKeyboardMarkup:
    """Approve / Approve for session (optional) on the first row, Deny / Details on the second."""

    def button(text: str, choice: ApprovalChoice) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=encode(ApprovalAction(token=token, choice=choice))
        )

    first = [button("✅ Approve", ApprovalChoice.APPROVE)]
    if allow_session:
        first.append(button("✅ For this session", ApprovalChoice.APPROVE_FOR_SESSION))
    second = [button("❌ Deny", ApprovalChoice.DENY), button("🔎 Details", ApprovalChoice.DETAILS)]
    return InlineKeyboardMarkup(inline_keyboard=(tuple(first), tuple(second)))


def cancel_keyboard(token: str) -> InlineKeyboardMarkup:
    """One "Cancel" button for a running turn."""
    button = InlineKeyboardButton(text="⏹ Cancel", callback_data=encode(CancelAction(token=token)))
    return InlineKeyboardMarkup(inline_keyboard=((button,),))


def queued_keyboard(token: str) -> InlineKeyboardMarkup:
    """ "Steer now" and "Cancel" for a message waiting for the running turn to end."""
    steer = InlineKeyboardButton(
        text="↪️ Steer now", callback_data=encode(QueuedAction(token=token, choice=QueuedChoice.STEER))
    )
    drop = InlineKeyboardButton(
        text="✖️ Cancel", callback_data=encode(QueuedAction(token=token, choice=QueuedChoice.DROP))
    )
    return InlineKeyboardMarkup(inline_keyboard=((steer, drop),))


def workspace_keyboard(
    names: list[str], *, current: str | None = None, per_row: int = 2
) -> InlineKeyboardMarkup:
    """One button per workspace (the current one marked), ``per_row`` to a row."""
    buttons = [
        InlineKeyboardButton(
            text=f"{'• ' if name == current else ''}{name}", callback_data=encode(WorkspacePick(name=name))
        )
        for name in names
    ]
    rows = tuple(tuple(buttons[i : i + per_row]) for i in range(0, len(buttons), per_row))
    return InlineKeyboardMarkup(inline_keyboard=rows)
