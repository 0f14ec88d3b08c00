"""The gate: which updates may reach Codex at all (pure; audited by ``tests/unit/chat/test_gate.py``).

Rules, in order:

1. An update with no chat (a kind the bot does not handle) is ignored.
2. **Only private chats.** Anything from a group, supergroup or channel (a message, a button press, the bot
   being added) makes the bot leave that chat and write an audit row; nothing else happens. An update that
   says the bot already left or was removed is only audited.
3. The user blocking or unblocking the bot (``my_chat_member`` in a private chat) is ignored.
4. An update without a human sender is ignored.
5. **Only allowlisted users.** Anyone else is refused: an audit row for every refused update, and one short
   answer with their numeric id (so the owner can allow them) at most once per ``REFUSAL_INTERVAL``.
   A button press of theirs is answered with a short notice (the spinner must stop), never acted on.
6. Everything else is admitted. What an admitted update may do is the chat core's business; the gate only
   guarantees that nothing of a refused update gets past it.

The allowlist is read from the store for every update (the admin CLI may have changed it a moment ago); the
gate takes the answer as ``allowed``.
"""

from __future__ import annotations

from typing import Final

import attrs

from codexgram.telegram.types import Chat, Update, User

REFUSAL_INTERVAL: Final = 3600.0
PRIVATE: Final = "private"
_GONE_STATUSES = frozenset({"left", "kicked"})


@attrs.frozen(kw_only=True)
class Admit:
    user: User
    chat: Chat


@attrs.frozen(kw_only=True)
class LeaveChat:
    """Leave a group, supergroup or channel (``leave`` False: the bot is out already; only audit)."""

    chat: Chat
    user_id: int | None
    leave: bool = True


@attrs.frozen(kw_only=True)
class Refuse:
    """A user who is not allowed. ``tell``: send them the refusal (not told within the interval)."""

    user: User
    chat: Chat
    tell: bool


@attrs.frozen(kw_only=True)
class Ignore:
    reason: str


GateDecision = Admit | LeaveChat | Refuse | Ignore


def sender_of(update: Update) -> User | None:
    """Who caused the update (the user who wrote, pressed, or changed the bot's membership)."""
    if update.callback_query is not None:
        return update.callback_query.from_user
    if update.my_chat_member is not None:
        return update.my_chat_member.from_user
    message = update.message or update.edited_message or update.channel_post or update.edited_channel_post
    return message.from_user if message is not None else None


def gate(update: Update, *, allowed: bool, last_refusal: float | None, now: float) -> GateDecision:
    """Decide what may happen with ``update``; ``allowed``: its sender is on the allowlist;
    ``last_refusal``: when the sender was last told they are not (None: never)."""
    chat = update.chat
    if chat is None:
        return Ignore(reason=f"a {update.kind} update without a chat")
    sender = sender_of(update)
    if chat.type != PRIVATE:
        membership = update.my_chat_member
        left = membership is not None and membership.new_chat_member.status in _GONE_STATUSES
        return LeaveChat(chat=chat, user_id=sender.id if sender is not None else None, leave=not left)
    if update.my_chat_member is not None:
        return Ignore(reason="the user changed the bot's membership of their private chat")
    if sender is None or sender.is_bot:
        return Ignore(reason="no human sender")
    if not allowed:
        tell = last_refusal is None or now - last_refusal >= REFUSAL_INTERVAL
        return Refuse(user=sender, chat=chat, tell=tell)
    return Admit(user=sender, chat=chat)
