"""The vendored Bot API reference, and checking a method call or a returned object against it.

Pure: no I/O beyond reading the package's own ``telegram_spec/api.json`` once.

A call's parameters arrive in three encodings (a JSON body, form fields or the query string, multipart
parts), so :meth:`ApiSpec.decode_call` first brings each one to the reference's type (``"123"`` is an Integer
in a form, a JSON-serialised ``reply_markup`` string is an object) and then checks it: required and unknown
parameters, scalar types, ``Array of X``, object types field by field (recursively, unknown fields
refused), unions, and the length limits written in the field descriptions ("1-4096 characters", "1-64
bytes", "Values between 1-100"). Limits that Telegram applies *after entity parsing* are left to the
method's semantics (the raw HTML is longer than what the limit counts).

Every problem is a :class:`Violation`: ``detail`` says exactly what was wrong (for the test report) and
``description`` is what Telegram would answer (``Bad Request: BUTTON_DATA_INVALID`` for callback data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import attrs

SCALARS = frozenset({"Integer", "String", "Boolean", "Float"})
_LENGTH_RE = re.compile(r"(\d+)-(\d+) (characters|bytes)", re.IGNORECASE)
_RANGE_RE = re.compile(r"Values between (\d+)-(\d+)", re.IGNORECASE)
# The discriminator of a union's member: 'Scope type, must be chat', 'Type of the origin, always "user"'.
_CONSTANT_RE = re.compile(r', (?:always|must be) "?([a-z_]+)"?\.?$')
_AFTER_PARSING_RE = re.compile(r"after entit(?:y|ies) parsing", re.IGNORECASE)


@attrs.frozen(kw_only=True)
class UploadedFile:
    """One multipart file part (``InputFile``)."""

    filename: str
    content_type: str
    data: bytes = attrs.field(repr=lambda data: f"<{len(data)} bytes>")


@attrs.frozen(kw_only=True)
class Violation:
    """A request the reference forbids. ``path`` names the place (``reply_markup.inline_keyboard[0][1]``)."""

    path: str
    detail: str
    description: str


@attrs.frozen(kw_only=True)
class Limit:
    minimum: int
    maximum: int
    unit: str  # "characters", "bytes" or "value"


@attrs.frozen(kw_only=True)
class FieldSpec:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str
    limit: Limit | None
    after_parsing: bool
    constant: str | None  # the only value allowed (a union member's tag)


@attrs.frozen(kw_only=True)
class MethodSpec:
    name: str
    fields: Mapping[str, FieldSpec]
    returns: tuple[str, ...]


def _field(raw: Mapping[str, Any]) -> FieldSpec:
    description = str(raw.get("description", ""))
    limit: Limit | None = None
    if match := _LENGTH_RE.search(description):
        limit = Limit(minimum=int(match[1]), maximum=int(match[2]), unit=match[3].lower())
    elif match := _RANGE_RE.search(description):
        limit = Limit(minimum=int(match[1]), maximum=int(match[2]), unit="value")
    return FieldSpec(
        name=str(raw["name"]),
        types=tuple(raw["types"]),
        required=bool(raw.get("required", False)),
        description=description,
        limit=limit,
        after_parsing=bool(_AFTER_PARSING_RE.search(description)),
        constant=match[1]
        if "String" in raw["types"] and (match := _CONSTANT_RE.search(description))
        else None,
    )


def _bad_request(path: str, detail: str) -> Violation:
    return Violation(path=path, detail=detail, description=f"Bad Request: {detail}")


class ApiSpec:
    """The reference: methods and types by name. Load once with :meth:`load` (it parses ~1 MB of JSON)."""

    def __init__(self, raw: Mapping[str, Any]) -> None:
        self.version = str(raw.get("version", ""))
        self.methods: dict[str, MethodSpec] = {}
        for name, method in raw["methods"].items():
            fields = {f["name"]: _field(f) for f in method.get("fields", [])}
            self.methods[name.lower()] = MethodSpec(
                name=name, fields=fields, returns=tuple(method["returns"])
            )
        self.types: dict[str, dict[str, FieldSpec]] = {}
        self.subtypes: dict[str, tuple[str, ...]] = {}
        for name, type_ in raw["types"].items():
            self.types[name] = {f["name"]: _field(f) for f in type_.get("fields", [])}
            if "subtypes" in type_:
                self.subtypes[name] = tuple(type_["subtypes"])

    @classmethod
    def load(cls) -> ApiSpec:
        """Read the vendored copy shipped with the package (``codexgram/testing/telegram_spec/api.json``)."""
        text = resources.files("codexgram.testing").joinpath("telegram_spec", "api.json").read_text("utf-8")
        return cls(json.loads(text))

    def method(self, name: str) -> MethodSpec | None:
        """The method named ``name``, case-insensitively as Telegram matches it, or None."""
        return self.methods.get(name.lower())

    # --- calls -------------------------------------------------------------------------------------------

    def decode_call(
        self, method: MethodSpec, raw: Mapping[str, object]
    ) -> tuple[dict[str, object], list[Violation]]:
        """Bring ``raw`` parameters to their reference types and check them; returns (params, violations)."""
        params: dict[str, object] = {}
        violations: list[Violation] = []
        for name, value in raw.items():
            field = method.fields.get(name)
            if field is None:
                violations.append(_bad_request(name, f"unknown parameter {name!r} for {method.name}"))
                continue
            decoded, problems = self._decode_param(field, value)
            params[name] = decoded
            violations += problems
        for field in method.fields.values():
            if field.required and field.name not in raw:
                detail = "message text is empty" if field.name == "text" else f"{field.name} is empty"
                violations.append(
                    Violation(
                        path=field.name,
                        detail=f"required parameter {field.name!r} missing",
                        description=f"Bad Request: {detail}",
                    )
                )
        return params, violations

    def _decode_param(self, field: FieldSpec, value: object) -> tuple[object, list[Violation]]:
        """Form and query values are strings; JSON bodies may carry objects as JSON-serialised strings too."""
        candidates: list[tuple[object, list[Violation]]] = []
        for type_name in field.types:
            decoded = _coerce_wire(type_name, value)
            problems = self.check_value(type_name, decoded, field.name, field=field)
            if not problems:
                return decoded, []
            candidates.append((decoded, problems))
        return min(candidates, key=lambda c: len(c[1]))

    # --- values ------------------------------------------------------------------------------------------

    def check_value(
        self, type_name: str, value: object, path: str, *, field: FieldSpec | None = None
    ) -> list[Violation]:
        """Violations of ``value`` (already decoded JSON) against ``type_name``, e.g. ``Array of Message``."""
        if type_name.startswith("Array of "):
            if not isinstance(value, list):
                return [_bad_request(path, f"{path} must be an Array, got {_json_kind(value)}")]
            inner = type_name.removeprefix("Array of ")
            problems: list[Violation] = []
            for index, item in enumerate(value):
                problems += self.check_value(inner, item, f"{path}[{index}]")
            return problems
        if type_name in SCALARS:
            return self._check_scalar(type_name, value, path, field)
        if type_name == "InputFile":
            if isinstance(value, UploadedFile):
                return []
            return [_bad_request(path, f"{path} must be an uploaded file (multipart/form-data)")]
        if type_name in self.subtypes:
            return self._check_union(type_name, value, path)
        if type_name in self.types:
            return self._check_object(type_name, value, path)
        return [_bad_request(path, f"{path}: unknown type {type_name!r} in the reference")]

    def check_object(self, type_name: str, value: object) -> list[Violation]:
        """Violations of a returned object (a Message, an Update...) against the reference."""
        return self.check_value(type_name, value, type_name)

    def _check_scalar(
        self, type_name: str, value: object, path: str, field: FieldSpec | None
    ) -> list[Violation]:
        ok = {
            "Integer": isinstance(value, int) and not isinstance(value, bool),
            "Float": isinstance(value, int | float) and not isinstance(value, bool),
            "Boolean": isinstance(value, bool),
            "String": isinstance(value, str),
        }[type_name]
        if not ok:
            return [_bad_request(path, f"{path} must be {type_name}, got {_json_kind(value)}")]
        if field is not None and field.constant is not None and value != field.constant:
            return [_bad_request(path, f"{path} must be {field.constant!r}, got {value!r}")]
        limit = field.limit if field is not None else None
        if limit is None or (field is not None and field.after_parsing):
            return []
        return _check_limit(limit, value, path)

    def _check_union(self, type_name: str, value: object, path: str) -> list[Violation]:
        best: list[Violation] | None = None
        for subtype in self.subtypes[type_name]:
            problems = self.check_value(subtype, value, path)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        return best or [_bad_request(path, f"{path} matches no kind of {type_name}")]

    def _check_object(self, type_name: str, value: object, path: str) -> list[Violation]:
        if not isinstance(value, dict):
            return [_bad_request(path, f"{path} must be a {type_name} object, got {_json_kind(value)}")]
        fields = self.types[type_name]
        problems: list[Violation] = []
        for key, item in value.items():
            field = fields.get(key)
            if field is None:
                problems.append(
                    _bad_request(f"{path}.{key}", f"{path}: unknown field {key!r} in {type_name}")
                )
                continue
            problems += self._check_field(field, item, f"{path}.{key}")
        problems += [
            _bad_request(f"{path}.{name}", f"{path}: {type_name} requires field {name!r}")
            for name, field in fields.items()
            if field.required and name not in value
        ]
        return problems

    def _check_field(self, field: FieldSpec, value: object, path: str) -> list[Violation]:
        best: list[Violation] | None = None
        for type_name in field.types:
            problems = self.check_value(type_name, value, path, field=field)
            if not problems:
                return []
            if best is None or len(problems) < len(best):
                best = problems
        if field.name == "callback_data":  # Telegram's own word for any bad callback data
            return [attrs.evolve(v, description="Bad Request: BUTTON_DATA_INVALID") for v in best or []]
        return best or []


def _check_limit(limit: Limit, value: object, path: str) -> list[Violation]:
    if limit.unit == "value":
        if isinstance(value, int | float) and not limit.minimum <= value <= limit.maximum:
            return [_bad_request(path, f"{path}={value} is outside {limit.minimum}-{limit.maximum}")]
        return []
    if not isinstance(value, str):
        return []
    size = len(value.encode("utf-8")) if limit.unit == "bytes" else len(value)
    if limit.minimum <= size <= limit.maximum:
        return []
    name = path.rsplit(".", 1)[-1].split("[", 1)[0]
    description = "Bad Request: BUTTON_DATA_INVALID" if name == "callback_data" else None
    detail = f"{path} is {size} {limit.unit}, allowed {limit.minimum}-{limit.maximum}"
    return [Violation(path=path, detail=detail, description=description or f"Bad Request: {detail}")]


def _coerce_wire(type_name: str, value: object) -> object:
    """A string as Telegram reads it for ``type_name``; anything else unchanged (then checked strictly)."""
    if not isinstance(value, str):
        return value
    if type_name == "Integer" and re.fullmatch(r"-?\d+", value):
        return int(value)
    if type_name == "Float":
        try:
            return float(value)
        except ValueError:
            return value
    if type_name == "Boolean" and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if type_name not in SCALARS and type_name != "InputFile":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _json_kind(value: object) -> str:
    if isinstance(value, UploadedFile):
        return "an uploaded file"
    return {
        bool: "Boolean",
        int: "Integer",
        float: "Float",
        str: "String",
        list: "Array",
        dict: "object",
        type(None): "null",
    }.get(type(value), type(value).__name__)
