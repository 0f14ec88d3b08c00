"""The message spec's own rules (codexgram/messages.py), checked for every message class.

Every message is a frozen, keyword-only attrs class whose docstring says who sends it to whom
("Sender -> Receiver: ..."), and belongs to exactly one mailbox union.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from typing import Any

import attrs
import pytest

from codexgram import messages

MESSAGE_CLASSES = [
    value
    for name, value in vars(messages).items()
    if inspect.isclass(value) and value.__module__ == messages.__name__ and value.__name__ == name
]
_SENDER_TO_RECEIVER = re.compile(r"^[A-Z][A-Za-z ]* -> [A-Z][A-Za-z]*: \S")


def union_members(union: Any) -> set[type]:
    if typing.get_origin(union) in (typing.Union, types.UnionType):
        return {typing.get_origin(arg) or arg for arg in typing.get_args(union)}
    return {typing.get_origin(union) or union}  # a union of one (a generic alias such as Transaction[Any])


def is_mailbox_union(name: str, value: Any) -> bool:
    """A module-level union of message classes, or a one-class "union": a generic alias of one, or a message
    class under another name (``ChatMessage = UpdatesRecorded``)."""
    if typing.get_origin(value) in (typing.Union, types.UnionType):
        return True
    if inspect.isclass(value) and value in MESSAGE_CLASSES and value.__name__ != name:
        return True
    return typing.get_origin(value) in MESSAGE_CLASSES


# Every mailbox's union, found in the module (a section added later is checked without editing this test).
UNIONS: dict[str, Any] = {
    name: value for name, value in vars(messages).items() if is_mailbox_union(name, value)
}


def test_the_known_mailboxes_have_their_unions() -> None:
    assert {"RepositoryRequest", "OutboxRequest", "ThreadEvent"} <= set(UNIONS)


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.__name__)
def test_each_message_is_frozen_keyword_only_and_names_sender_and_receiver(cls: type) -> None:
    assert attrs.has(cls)
    assert all(field.kw_only for field in attrs.fields(cls)), "keyword-only"
    message = cls(**{field.name: None for field in attrs.fields(cls)})
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        message.any_attribute = 1  # type: ignore[attr-defined]  # frozen: no attribute may be set
    assert cls.__doc__ is not None
    assert _SENDER_TO_RECEIVER.match(cls.__doc__), (
        f"docstring must start 'Sender -> Receiver: ': {cls.__doc__}"
    )


@pytest.mark.parametrize("cls", MESSAGE_CLASSES, ids=lambda cls: cls.__name__)
def test_each_message_belongs_to_exactly_one_mailbox(cls: type) -> None:
    owners = [name for name, union in UNIONS.items() if cls in union_members(union)]
    assert len(owners) == 1, f"{cls.__name__} is in {owners}"
