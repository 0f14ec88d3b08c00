"""File names that come from Telegram users, made safe to use on disk (pure).

A user controls ``Document.file_name`` completely: it may hold path separators, ``..``, control characters,
a leading dot, a Windows device name, or thousands of bytes. :func:`safe_filename` keeps what is useful to a
human (letters of any script, digits, ``. _ -`` and spaces inside the name, the extension) and replaces or
drops the rest, so the result is always one plain path component of a bounded length.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["MAX_FILENAME_BYTES", "safe_filename"]

#: Longest result in UTF-8 bytes (most file systems allow 255; leave room for a unique prefix).
MAX_FILENAME_BYTES = 120
_UNSAFE = re.compile(r"[^\w.\- ]+")
_RUNS = re.compile(r"[ _]*_[ _]*|\.{2,}")
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)


def safe_filename(name: str | None, *, fallback: str = "file") -> str:
    """A safe single path component for ``name``; ``fallback`` when nothing usable is left.

    Never contains ``/``, ``\\``, NUL or other control characters, never starts with ``.`` or ``-``, is never
    ``.``/``..`` or a Windows device name, and is at most :data:`MAX_FILENAME_BYTES` UTF-8 bytes, keeping the
    extension when it has to shorten the name."""
    text = unicodedata.normalize("NFKC", name or "")
    text = text.replace("/", "_").replace("\\", "_")
    text = "".join(ch if unicodedata.category(ch)[0] != "C" else "_" for ch in text)
    text = _UNSAFE.sub("_", text)
    text = _RUNS.sub(lambda m: "." if m.group().startswith(".") else "_", text)
    text = text.strip(" ._-")
    # Windows ignores spaces before the extension, so "nul .txt" names the device NUL as well.
    if not text or text.split(".", 1)[0].rstrip(" ").lower() in _RESERVED:
        text = f"{fallback}_{text}" if text else fallback
    return _shorten(text)


def _shorten(text: str) -> str:
    if len(text.encode()) <= MAX_FILENAME_BYTES:
        return text
    stem, dot, extension = text.rpartition(".")
    if not dot or not stem or len(extension.encode()) > 16:
        stem, extension = text, ""
    suffix = f".{extension}" if extension else ""
    budget = MAX_FILENAME_BYTES - len(suffix.encode())
    cut = stem.encode()[:budget].decode("utf-8", "ignore").rstrip(" ._-")
    return (cut or "file") + suffix
