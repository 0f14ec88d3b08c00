"""The one cattrs converter for the Codex wire, and the functions the link and the threads call.

Rules of this wire (built once, at import):

- attributes are snake_case in Python and camelCase on the wire, unless a field names its wire form in
  ``metadata[WIRE_NAME]`` (``text_elements``, ``move_path`` are snake_case on the wire);
- unknown keys are ignored when decoding: codex adds fields between releases;
- ``None`` values are left out when encoding (codex treats an absent optional like ``null``), and a class
  with a ``TYPE`` class variable is encoded with its ``"type"`` tag;
- tagged unions (thread items and user input by ``type``; notifications and server requests by method) decode
  an unknown tag to an ``Unknown…`` value holding the raw dict instead of failing.

Error handling: a payload of a KNOWN method or type that does not fit its class raises
:class:`~codexgram.errors.RemoteProtocolError` whose message names the method and the offending fields by
their wire names (e.g. ``notification item/completed.item.exitCode``). Nothing else escapes these
functions, so the link's reader can log and go on.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from codexgram.codex.items import (
    KNOWN_INPUTS,
    KNOWN_ITEMS,
    WIRE_NAME,
    ThreadItem,
    UnknownInput,
    UnknownItem,
    UserInput,
)
from codexgram.codex.notifications import (
    NOTIFICATION_TYPES,
    CodexNotification,
    UnknownNotification,
)
from codexgram.codex.server_requests import SERVER_REQUEST_TYPES, CodexServerRequest, UnknownServerRequest
from codexgram.errors import RemoteProtocolError

T = TypeVar("T")


def camel_case(name: str) -> str:
    """``thread_id`` -> ``threadId``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def wire_name(field: attrs.Attribute[Any]) -> str:
    """The name of an attrs field on the wire."""
    explicit = field.metadata.get(WIRE_NAME)
    return explicit if isinstance(explicit, str) else camel_case(field.name)


def _renames(cls: type[Any]) -> dict[str, Any]:
    return {f.name: override(rename=wire_name(f)) for f in attrs.fields(cls) if wire_name(f) != f.name}


def _is_protocol_class(cls: Any) -> bool:
    return isinstance(cls, type) and attrs.has(cls) and cls.__module__.startswith("codexgram.codex.")


def _build_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=False)

    def structure_factory(cls: type[Any]) -> Callable[[Any, Any], Any]:
        return make_dict_structure_fn(cls, conv, **_renames(cls))

    def unstructure_factory(cls: type[Any]) -> Callable[[Any], Any]:
        base = make_dict_unstructure_fn(cls, conv, **_renames(cls))
        tag = getattr(cls, "TYPE", None)

        def unstructure(obj: Any) -> dict[str, Any]:
            wire = {
                key: value.value if isinstance(value, enum.Enum) else value
                for key, value in base(obj).items()
                if value is not None
            }
            return {"type": tag, **wire} if tag is not None else wire

        return unstructure

    # Enums go out as their string value, also behind an Optional annotation (where cattrs passes through).
    conv.register_unstructure_hook(enum.Enum, lambda member: member.value)
    conv.register_structure_hook_factory(_is_protocol_class, structure_factory)
    conv.register_unstructure_hook_factory(_is_protocol_class, unstructure_factory)

    items_by_tag: dict[str, type[Any]] = {cls.TYPE: cls for cls in KNOWN_ITEMS}
    inputs_by_tag: dict[str, type[Any]] = {cls.TYPE: cls for cls in KNOWN_INPUTS}

    def structure_item(value: Any, _: Any) -> ThreadItem:
        if not isinstance(value, Mapping):
            raise TypeError(f"a thread item must be an object, not {type(value).__name__}")
        tag = value.get("type")
        cls = items_by_tag.get(tag) if isinstance(tag, str) else None
        if cls is None:
            item_id = value.get("id")
            return UnknownItem(type=str(tag), id=item_id if isinstance(item_id, str) else None, raw=value)
        result: ThreadItem = conv.structure(value, cls)
        return result

    def structure_input(value: Any, _: Any) -> UserInput:
        if not isinstance(value, Mapping):
            raise TypeError(f"a user input must be an object, not {type(value).__name__}")
        tag = value.get("type")
        cls = inputs_by_tag.get(tag) if isinstance(tag, str) else None
        if cls is None:
            return UnknownInput(type=str(tag), raw=value)
        result: UserInput = conv.structure(value, cls)
        return result

    def structure_request_id(value: Any, _: Any) -> int | str:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(f"a request id must be an integer or a string, not {value!r}")
        return value

    # cattrs would coerce (str(5) == "5", int("7") == 7): a wrong JSON type from codex is an error instead.
    def strict(kind: type[Any]) -> Callable[[Any, Any], Any]:
        def structure_scalar(value: Any, _: Any) -> Any:
            if isinstance(value, kind) and (kind is bool or not isinstance(value, bool)):
                return value
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__} {value!r:.40}")

        return structure_scalar

    for scalar in (str, int, bool):
        conv.register_structure_hook(scalar, strict(scalar))
    conv.register_structure_hook_func(lambda t: t == ThreadItem, structure_item)
    conv.register_structure_hook_func(lambda t: t == UserInput, structure_input)
    conv.register_structure_hook_func(lambda t: t == (int | str), structure_request_id)
    return conv


converter = _build_converter()


def describe_error(exc: BaseException, path: str) -> list[str]:
    """Like ``cattrs.transform_error``, but the path names fields as they are on the wire (``itemId``)."""
    if isinstance(exc, cattrs.ClassValidationError):
        names = {f.name: wire_name(f) for f in attrs.fields(exc.cl)} if attrs.has(exc.cl) else {}
        with_notes, others = exc.group_exceptions()
        found = [
            e
            for sub, note in with_notes
            for e in describe_error(sub, f"{path}.{names.get(note.name, note.name)}")
        ]
        return found + [e for sub in others for e in describe_error(sub, path)]
    if isinstance(exc, cattrs.IterableValidationError):
        with_index, others = exc.group_exceptions()
        found = [e for sub, note in with_index for e in describe_error(sub, f"{path}[{note.index}]")]
        return found + [e for sub in others for e in describe_error(sub, path)]
    if isinstance(exc, KeyError):
        return [f"required field missing @ {path}"]
    return [f"{exc} @ {path}"]


def _structure(raw: Any, cls: type[T], what: str) -> T:
    try:
        return converter.structure(raw, cls)
    except (cattrs.ClassValidationError, cattrs.IterableValidationError) as exc:
        details = "; ".join(describe_error(exc, what))
        raise RemoteProtocolError(f"codex sent a malformed {what}: {details}") from None
    except Exception as exc:  # a hook's TypeError/ValueError/KeyError: still the peer's fault
        raise RemoteProtocolError(f"codex sent a malformed {what}: {exc!r}") from None


def decode_notification(method: str, params: Mapping[str, Any]) -> CodexNotification:
    """Decode the params of a notification; an unknown method gives :class:`UnknownNotification`.

    Raises :class:`RemoteProtocolError` when a known method's params do not fit its class.
    """
    cls = NOTIFICATION_TYPES.get(method)
    if cls is None:
        return UnknownNotification(method=method, params=params)
    return _structure(params, cls, f"notification {method}")


def decode_server_request(method: str, params: Mapping[str, Any]) -> CodexServerRequest:
    """Decode the params of a server request; an unknown method gives :class:`UnknownServerRequest`.

    Raises :class:`RemoteProtocolError` when a known method's params do not fit its class.
    """
    cls = SERVER_REQUEST_TYPES.get(method)
    if cls is None:
        return UnknownServerRequest(method=method, params=params)
    return _structure(params, cls, f"server request {method}")


def decode_result(result_type: type[T], raw: Any) -> T:
    """Decode the result of one of our requests. Raises :class:`RemoteProtocolError` if it does not fit."""
    return _structure(raw, result_type, f"result {result_type.__name__}")


def encode_params(obj: Any) -> dict[str, Any]:
    """Encode a params (or answer) object for the wire: camelCase keys, ``None`` members left out."""
    wire = converter.unstructure(obj)
    if not isinstance(wire, dict):
        raise TypeError(f"{type(obj).__name__} does not encode to a JSON object")
    return wire
