"""The one cattrs converter for Bot API JSON, built once (pure: no I/O).

Tolerant on the way in, because Telegram keeps adding fields and update kinds:

- unknown fields are ignored (cattrs' default; we never forbid extra keys on protocol data);
- ``from`` on the wire is ``from_user`` in Python (a keyword), in both directions;
- ``CallbackQuery.message`` is a :class:`Message`, or an :class:`InaccessibleMessage` when ``date`` is 0;
- an update of an unknown kind, or a known kind that fails to decode, becomes ``Update(unknown=...)`` instead
  of raising: one odd update must never stop the poller. Only an update without a usable ``update_id`` raises
  (:class:`~codexgram.errors.RemoteProtocolError`), because the poller cannot confirm it.

On the way out, ``None`` fields and empty defaults are omitted, which is what the Bot API expects for optional
parameters (e.g. ``reply_markup``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from codexgram.errors import RemoteProtocolError
from codexgram.telegram.types import (
    KNOWN_UPDATE_KINDS,
    CallbackQuery,
    ChatMemberUpdated,
    InaccessibleMessage,
    Message,
    UnknownUpdate,
    Update,
)

T = TypeVar("T")

_RENAMES = {"from_user": "from"}


def _field_overrides(cls: type[Any], *, omit_defaults: bool) -> dict[str, Any]:
    overrides: dict[str, Any] = {}
    for attribute in attrs.fields(cls):
        rename = _RENAMES.get(attribute.name)
        if rename is not None:
            overrides[attribute.name] = override(rename=rename, omit_if_default=omit_defaults or None)
    return overrides


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)

    def structure_factory(cls: type[Any]) -> Callable[[Any, type[Any]], Any]:
        return make_dict_structure_fn(cls, conv, **_field_overrides(cls, omit_defaults=False))

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        return make_dict_unstructure_fn(
            cls, conv, _cattrs_omit_if_default=True, **_field_overrides(cls, omit_defaults=True)
        )

    conv.register_structure_hook_factory(attrs.has, structure_factory)
    conv.register_unstructure_hook_factory(attrs.has, unstructure_factory)

    def structure_maybe_message(value: Any, _: Any) -> Message | InaccessibleMessage | None:
        if value is None:
            return None
        if isinstance(value, Mapping) and value.get("date", 1) == 0:
            return conv.structure(value, InaccessibleMessage)
        return conv.structure(value, Message)

    conv.register_structure_hook(Message | InaccessibleMessage | None, structure_maybe_message)
    conv.register_structure_hook(Update, lambda value, _: _structure_update(conv, value))
    conv.register_unstructure_hook(Update, lambda update: _unstructure_update(conv, update))
    return conv


_UPDATE_PAYLOAD_TYPES: dict[str, type[Any]] = {
    "message": Message,
    "edited_message": Message,
    "channel_post": Message,
    "edited_channel_post": Message,
    "callback_query": CallbackQuery,
    "my_chat_member": ChatMemberUpdated,
}
assert tuple(_UPDATE_PAYLOAD_TYPES) == KNOWN_UPDATE_KINDS


def _structure_update(conv: cattrs.Converter, raw: Any) -> Update:
    if not isinstance(raw, Mapping):
        raise RemoteProtocolError(f"telegram update is not an object: {type(raw).__name__}")
    update_id = raw.get("update_id")
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise RemoteProtocolError(f"telegram update without an integer update_id: {update_id!r}")
    kinds = [key for key in raw if key != "update_id"]
    if not kinds:
        return Update(update_id=update_id, unknown=UnknownUpdate(kind="empty", payload={}))
    kind = kinds[0]
    payload = raw[kind]
    payload_type = _UPDATE_PAYLOAD_TYPES.get(kind)
    if payload_type is None:
        return Update(update_id=update_id, unknown=UnknownUpdate(kind=kind, payload=_as_mapping(payload)))
    try:
        decoded = conv.structure(payload, payload_type)
    except Exception as exc:  # any decoding failure: keep the update, say why, never crash the poller
        reason = (
            "; ".join(cattrs.transform_error(exc))
            if isinstance(exc, cattrs.BaseValidationError)
            else repr(exc)
        )
        return Update(
            update_id=update_id, unknown=UnknownUpdate(kind=kind, payload=_as_mapping(payload), error=reason)
        )
    return Update(update_id=update_id, **{kind: decoded})


def _as_mapping(payload: Any) -> Mapping[str, Any]:
    return payload if isinstance(payload, Mapping) else {"value": payload}


def _unstructure_update(conv: cattrs.Converter, update: Update) -> dict[str, Any]:
    out: dict[str, Any] = {"update_id": update.update_id}
    for kind in KNOWN_UPDATE_KINDS:
        payload = getattr(update, kind)
        if payload is not None:
            out[kind] = conv.unstructure(payload)
            return out
    if update.unknown is not None:
        out[update.unknown.kind] = dict(update.unknown.payload)
    return out


#: The converter. Use :func:`structure` / :func:`unstructure` rather than touching it directly.
converter = _make_converter()


def structure(raw: Any, cls: type[T]) -> T:
    """Decode Bot API JSON into ``cls``. Raises ``cattrs.BaseValidationError`` (or ``ValueError``/
    ``TypeError``) when a required field is missing or has the wrong type."""
    return converter.structure(raw, cls)


def unstructure(value: Any) -> Any:
    """Encode an attrs value as Bot API JSON (``None`` and empty optional fields omitted)."""
    return converter.unstructure(value)


def structure_updates(raw: Any) -> list[Update]:
    """Decode a getUpdates ``result``. Raises :class:`RemoteProtocolError` only when the result is not a list
    or an update has no integer ``update_id``; any other problem is kept as ``Update.unknown``."""
    if not isinstance(raw, list):
        raise RemoteProtocolError(f"getUpdates result is not a list: {type(raw).__name__}")
    return [_structure_update(converter, item) for item in raw]
