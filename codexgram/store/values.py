"""Narrowing SQLite values to the Python types a column holds (the schema guarantees them; this checks)."""

from __future__ import annotations

from codexgram.errors import StoreError

SQLiteValue = int | float | bytes | str | None


def as_int(value: SQLiteValue) -> int:
    if isinstance(value, int):
        return value
    raise StoreError(f"expected an integer column value, found {type(value).__name__}")


def as_float(value: SQLiteValue) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise StoreError(f"expected a numeric column value, found {type(value).__name__}")


def as_str(value: SQLiteValue) -> str:
    if isinstance(value, str):
        return value
    raise StoreError(f"expected a text column value, found {type(value).__name__}")


def as_opt_str(value: SQLiteValue) -> str | None:
    return None if value is None else as_str(value)


def as_opt_int(value: SQLiteValue) -> int | None:
    return None if value is None else as_int(value)
