"""Check attrs protocol classes against the JSON schemas codex generates (pure; used by the schema tests).

``check_sent(cls, schema, root, where)`` and ``check_decoded(...)`` return a list of readable problems, each
naming the schema file, the class and the field; an empty list means the class fits. ``schema`` may be any
(sub)schema of the file ``root``; ``$ref``s are resolved inside ``root``. Tagged unions are matched by the
class's ``TYPE`` tag; a class that models a whole union with a ``type`` field is checked against all variants.
"""

from __future__ import annotations

import collections.abc
import enum
import types
import typing
from typing import Any

import attrs

from codexgram.codex.converter import wire_name

Schema = dict[str, Any]


# --- reading schemas ----------------------------------------------------------------------------------------


def deref(schema: Any, root: Schema) -> Any:
    while isinstance(schema, dict) and "$ref" in schema:
        name = schema["$ref"].removeprefix("#/definitions/")
        schema = root["definitions"][name]
    return schema


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string"}.get(type(value), "object")


def schema_types(schema: Any, root: Schema) -> set[str]:
    """The JSON types a schema admits; ``{"any"}`` when it does not constrain the type."""
    schema = deref(schema, root)
    if not isinstance(schema, dict):
        return {"any"}
    found: set[str] = set()
    declared = schema.get("type")
    if isinstance(declared, str):
        found.add(declared)
    elif isinstance(declared, list):
        found.update(declared)
    if "enum" in schema:
        found.update(_json_type(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            found |= schema_types(sub, root)
    return found or {"any"}


def enum_values(schema: Any, root: Schema) -> set[Any]:
    schema = deref(schema, root)
    if not isinstance(schema, dict):
        return set()
    values = set(schema.get("enum", []))
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            values |= enum_values(sub, root)
    return values


def object_variants(schema: Any, root: Schema) -> list[Schema]:
    """The object schemas a (possibly union) schema admits; a variant inherits its parent's own properties."""
    schema = deref(schema, root)
    if not isinstance(schema, dict):
        return []
    own_props = dict(schema.get("properties", {}))
    own_required = list(schema.get("required", []))
    for sub in schema.get("allOf", []):
        for variant in object_variants(sub, root):
            own_props.update(variant["properties"])
            own_required += variant["required"]
    subs = schema.get("oneOf", []) + schema.get("anyOf", [])
    found = [
        {"properties": own_props | v["properties"], "required": own_required + v["required"]}
        for sub in subs
        for v in object_variants(sub, root)
    ]
    if found:
        return found
    if own_props or "object" in schema_types(schema, root):
        return [{"properties": own_props, "required": own_required}]
    return []


def array_items(schema: Any, root: Schema) -> Any:
    schema = deref(schema, root)
    if isinstance(schema, dict) and "items" in schema:
        return schema["items"]
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key, []) if isinstance(schema, dict) else []:
            items = array_items(sub, root)
            if items is not None:
                return items
    return None


def variant_for(cls: type[Any], schema: Any, root: Schema, where: str) -> Schema:
    """The object schema of ``cls``. A class with a ``TYPE`` tag picks its variant; a class that models a
    whole tagged union with a ``type`` field (ThreadStatus, SandboxPolicy) gets all variants merged: any
    variant's property may appear, only properties every variant requires are required."""
    variants = object_variants(schema, root)
    tag = getattr(cls, "TYPE", None)
    if tag is not None:
        variants = [v for v in variants if tag in enum_values(v["properties"].get("type", {}), root)]
    assert variants, f"{where}: no object schema for {cls.__name__} (type tag {tag!r})"
    properties: dict[str, Any] = {}
    for variant in variants:
        for name, prop in variant["properties"].items():
            properties[name] = {"anyOf": [properties[name], prop]} if name in properties else prop
    required = set.intersection(*(set(v["required"]) for v in variants))
    return {"properties": properties, "required": sorted(required)}


# --- reading Python annotations -----------------------------------------------------------------------------


def python_types(tp: Any) -> set[str]:
    origin = typing.get_origin(tp)
    if tp is Any:
        return {"any"}
    if tp is type(None):
        return {"null"}
    if origin in (typing.Union, types.UnionType):
        return set().union(*(python_types(arg) for arg in typing.get_args(tp)))
    if origin in (tuple, list, collections.abc.Sequence):
        return {"array"}
    if origin in (dict, collections.abc.Mapping) or attrs.has(tp):
        return {"object"}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return {"string"}
    scalar = {str: "string", bool: "boolean", int: "integer", float: "number"}.get(tp)
    assert scalar is not None, f"no JSON type for {tp!r}"
    return {scalar}


def nested_classes(tp: Any) -> list[type[Any]]:
    """attrs classes reachable in an annotation (inside unions), with Unknown… fallbacks left out."""
    if attrs.has(tp) and not tp.__name__.startswith("Unknown"):
        return [tp]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return [c for arg in typing.get_args(tp) for c in nested_classes(arg)]
    return []


def element_type(tp: Any) -> Any:
    for arg in typing.get_args(tp) if typing.get_origin(tp) in (typing.Union, types.UnionType) else (tp,):
        if typing.get_origin(arg) in (tuple, list):
            return typing.get_args(arg)[0]
    return None


def has_default(field: attrs.Attribute[Any]) -> bool:
    return field.default is not attrs.NOTHING


# --- the checks ---------------------------------------------------------------------------------------------


Check = collections.abc.Callable[[type[Any], Any, Schema, str], list[str]]


def check_nested(check: Check, annotation: Any, schema: Any, root: Schema, where: str) -> list[str]:
    """Run ``check`` on the attrs classes inside a field's ``annotation`` (held directly, or as the elements
    of a tuple/list, whose schema is then the array's ``items``)."""
    problems: list[str] = []
    for nested in nested_classes(annotation):
        problems += check(nested, schema, root, where)
    element = element_type(annotation)
    if element is not None:
        for nested in nested_classes(element):
            problems += check(nested, array_items(schema, root), root, where)
    return problems


def check_sent(cls: type[Any], schema: Any, root: Schema, where: str) -> list[str]:
    problems: list[str] = []
    obj = variant_for(cls, schema, root, where)
    props, hints = obj["properties"], typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        name, here = wire_name(field), f"{where}: {cls.__name__}.{field.name}"
        if name not in props:
            problems.append(f"{here} is sent as {name!r}, which the schema does not have")
            continue
        sent = python_types(hints[field.name]) - ({"null"} if field.default is None else set())
        allowed = schema_types(props[name], root)
        if "number" in allowed:
            allowed.add("integer")
        if "any" not in allowed and not sent <= allowed:
            problems.append(f"{here}: we send {sorted(sent)}, the schema allows {sorted(allowed)}")
        annotation = hints[field.name]
        enums: list[type[enum.Enum]] = [
            a
            for a in typing.get_args(annotation) or (annotation,)
            if isinstance(a, type) and issubclass(a, enum.Enum)
        ]
        for enum_cls in enums:
            unknown = {member.value for member in enum_cls} - enum_values(props[name], root)
            if unknown:
                problems.append(f"{here}: the schema does not accept {sorted(unknown)}")
        problems += check_nested(check_sent, annotation, props[name], root, where)
    sent_always = {wire_name(f) for f in attrs.fields(cls) if not has_default(f) or f.default is not None}
    sent_always.add("type")  # the union tag, added by the converter
    for required in obj.get("required", []):
        if required not in sent_always:
            problems.append(f"{where}: the schema requires {required!r}, which {cls.__name__} may leave out")
    return problems


def check_decoded(cls: type[Any], schema: Any, root: Schema, where: str) -> list[str]:
    problems: list[str] = []
    obj = variant_for(cls, schema, root, where)
    props, required, hints = obj["properties"], set(obj.get("required", [])), typing.get_type_hints(cls)
    for field in attrs.fields(cls):
        name, here = wire_name(field), f"{where}: {cls.__name__}.{field.name}"
        if name not in props:
            problems.append(f"{here} reads {name!r}, which the schema does not have")
            continue
        if not has_default(field) and name not in required:
            problems.append(f"{here} has no default but the schema does not require {name!r}")
        accepted = python_types(hints[field.name])
        if "number" in accepted:
            accepted.add("integer")
        sent = schema_types(props[name], root)
        if "any" not in accepted and not sent <= accepted:
            problems.append(f"{here} accepts {sorted(accepted)}, codex may send {sorted(sent)}")
        annotation = hints[field.name]
        problems += check_nested(check_decoded, annotation, props[name], root, where)
    return problems
