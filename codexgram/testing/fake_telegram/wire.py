"""Reading a Bot API request's parameters and writing Telegram's envelope. Pure.

Telegram takes parameters from the query string and from the body, whichever encoding the body has:
``application/json``, ``application/x-www-form-urlencoded`` or ``multipart/form-data`` (the only way to upload
a file). Form and query values are strings; :mod:`.spec` brings them to their types.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from .spec import ApiSpec, UploadedFile

_BOUNDARY_RE = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_DISPOSITION_PARAM_RE = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"|(\w+)=([^;\s]+)')


class MalformedRequest(ValueError):
    """The body cannot be read in the encoding it claims."""


def request_params(content_type: str, body: bytes, query: Mapping[str, str]) -> dict[str, object]:
    """All parameters of a request; body values win over query values of the same name."""
    params: dict[str, object] = dict(query)
    kind = content_type.split(";", 1)[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as error:
            raise MalformedRequest(f"the JSON body is not valid JSON: {error}") from None
        if not isinstance(decoded, dict):
            raise MalformedRequest("the JSON body must be an object")
        params.update(decoded)
    elif kind == "application/x-www-form-urlencoded":
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif kind == "multipart/form-data":
        params.update(parse_multipart(content_type, body))
    else:
        raise MalformedRequest(f"unsupported content type {kind!r}")
    return params


def reference_violations(
    spec: ApiSpec, method: str, content_type: str, body: bytes, query: Mapping[str, str]
) -> list[str]:
    """What in one request breaks the Bot API reference, worded as the fake's ``validation_errors``
    (``"sendMessage: unknown parameter ..."``); empty when the request is valid.

    The same checks as the fake server's first stage: the method exists, the body is readable, and every
    parameter is known, present when required, of its type and within its length limits. The checks that
    need the chat's state (HTML entities, 4096 characters after parsing, flood control) run in the server
    only. For tests whose transport is not the fake (``httpx.MockTransport``), so their requests are held
    to the reference too.
    """
    method_spec = spec.method(method)
    if method_spec is None:
        return [f"{method}: no such method {method!r}"]
    try:
        raw = request_params(content_type, body, query)
    except MalformedRequest as malformed:
        return [f"{method_spec.name}: {malformed}"]
    _, violations = spec.decode_call(method_spec, raw)
    return [f"{method_spec.name}: {violation.detail}" for violation in violations]


def parse_multipart(content_type: str, body: bytes) -> dict[str, object]:
    """Fields of a ``multipart/form-data`` body: strings, or :class:`UploadedFile` for file parts."""
    match = _BOUNDARY_RE.search(content_type)
    if match is None:
        raise MalformedRequest("multipart/form-data without a boundary")
    delimiter = b"--" + match[1].encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise MalformedRequest("multipart body is not closed by its boundary")
    fields: dict[str, object] = {}
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n"):
            raise MalformedRequest("multipart part does not start with CRLF")
        head, separator, content = piece[2:].partition(b"\r\n\r\n")
        if not separator or not content.endswith(b"\r\n"):
            raise MalformedRequest("multipart part without headers or final CRLF")
        content = content[:-2]
        headers = _part_headers(head.decode("utf-8", "replace"))
        disposition = _disposition(headers.get("content-disposition", ""))
        name = disposition.get("name")
        if name is None:
            raise MalformedRequest("multipart part without a name")
        if "filename" in disposition:
            fields[name] = UploadedFile(
                filename=disposition["filename"],
                content_type=headers.get("content-type", "application/octet-stream"),
                data=content,
            )
        else:
            fields[name] = content.decode("utf-8", "replace")
    return fields


def _part_headers(head: str) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return headers


def _disposition(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for quoted_name, quoted_value, bare_name, bare_value in _DISPOSITION_PARAM_RE.findall(value):
        if quoted_name:
            out[quoted_name.lower()] = quoted_value.replace('\\"', '"')
        else:
            out[bare_name.lower()] = bare_value
    return out


def ok_body(result: Any) -> bytes:
    return json.dumps({"ok": True, "result": result}, ensure_ascii=False).encode("utf-8")


def error_body(code: int, description: str, parameters: Mapping[str, Any] | None = None) -> bytes:
    envelope: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        envelope["parameters"] = dict(parameters)
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8")
