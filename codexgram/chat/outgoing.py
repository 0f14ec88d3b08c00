"""A message the bot is about to send, before it becomes an outbox request (pure).

The views build :class:`Outgoing` values; the actors turn them into ``SendMessage`` / ``SendDocument`` for a
chat with :func:`to_request`. Keeping the two apart lets the golden tests show a view without a chat id, and
lets a view decide between a message and a document without knowing about the outbox.
"""

from __future__ import annotations

import attrs

from codexgram.messages import SendDocument, SendMessage
from codexgram.telegram.types import InlineKeyboardMarkup


@attrs.frozen(kw_only=True)
class Outgoing:
    """A text message (``text``, Telegram HTML) or a document (``document``: file name and bytes, with an
    optional HTML ``caption``). ``notify``: the user's phone rings (an answer they wait for); otherwise the
    message arrives silently."""

    text: str | None = None
    document: tuple[str, bytes] | None = None
    caption: str | None = None
    notify: bool = False
    reply_markup: InlineKeyboardMarkup | None = None

    def __attrs_post_init__(self) -> None:
        if (self.text is None) == (self.document is None):
            raise ValueError("an outgoing message is either a text or a document")


def to_request(message: Outgoing, chat_id: int, *, durable: bool) -> SendMessage | SendDocument:
    """The outbox request that sends ``message`` to ``chat_id`` (HTML parse mode)."""
    if message.document is not None:
        filename, data = message.document
        return SendDocument(
            chat_id=chat_id,
            filename=filename,
            data=data,
            caption=message.caption,
            parse_mode="HTML" if message.caption else None,
            durable=durable,
        )
    assert message.text is not None
    return SendMessage(
        chat_id=chat_id,
        text=message.text,
        reply_markup=message.reply_markup,
        disable_notification=not message.notify,
        durable=durable,
    )


def describe(message: Outgoing) -> str:
    """A plain one-line summary for golden files and logs: the text, or the document's name and caption."""
    if message.document is not None:
        return f"[document {message.document[0]}, {len(message.document[1])} bytes] {message.caption or ''}"
    return message.text or ""
