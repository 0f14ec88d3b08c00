"""Settings: read once at start from the environment, an optional ``.env`` file and an optional TOML file.

Precedence is environment > ``.env`` > TOML > defaults. Parsing is strict: an unknown ``CODEXGRAM_*``
variable (in the environment or the ``.env`` file), an unknown TOML key, or a value that does not parse is a
:class:`~codexgram.errors.ConfigError` naming the key. Variables without the ``CODEXGRAM_`` prefix are
ignored.

This module is pure (no trio, no I/O apart from reading the two files it is given). The bot token is wrapped
in :class:`Secret` as soon as it is read, so it never shows in a ``repr``, a log line or an error message.

Defaults need nothing set: everything lives under the data directory (``CODEXGRAM_DATA_DIR``, by default
``$XDG_DATA_HOME/codexgram``, i.e. ``~/.local/share/codexgram``); the Codex socket defaults to
``$XDG_RUNTIME_DIR/codexgram/codex.sock`` when ``XDG_RUNTIME_DIR`` is set (a per-user tmpfs, mode 0700), else
``<data dir>/codex.sock``.
"""

from __future__ import annotations

import hashlib
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit

import attrs

from codexgram.errors import ConfigError

ENV_PREFIX: Final = "CODEXGRAM_"
LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")

# Telegram tokens look like "123456789:AAH...": a numeric bot id, a colon, then URL-safe characters.
_TOKEN_SHAPE = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
_N = TypeVar("_N", int, float)


def token_fingerprint(token: str) -> str:
    """The first 12 hex characters of sha256(token): enough to tell tokens apart (lock files, reprs, logs),
    useless to recover the token from."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


class Secret:
    """A string that must not leak: ``repr``/``str`` show ``Secret('***')``, :meth:`reveal` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself. Call it only where the value is sent (e.g. building the Bot API URL)."""
        return self._value

    def fingerprint(self) -> str:
        """A short, stable, non-reversible name for the secret: see :func:`token_fingerprint`."""
        return token_fingerprint(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))


@attrs.frozen(kw_only=True)
class Settings:
    """Everything the bot and the admin CLI are configured with. Build it with :func:`load_settings`."""

    telegram_token: Secret | None = None
    telegram_api_url: str = "https://api.telegram.org"
    data_dir: Path
    db_path: Path
    upload_dir: Path
    codex_socket: Path
    codex_bin: Path | None = None
    log_level: str = "INFO"
    max_message_chunks: int = 5
    poll_timeout: int = 30
    codex_call_timeout: float = 60.0


# --- value parsers: each takes the raw text and returns the value, or raises ValueError with a message that
# --- never repeats the raw text (the caller decides whether echoing it is safe) -------------------------


def _parse_token(raw: str) -> Secret | None:
    raw = raw.strip()
    if not raw:
        return None
    if not _TOKEN_SHAPE.fullmatch(raw):
        # Deliberately does not quote the value: it is (almost) a token.
        raise ValueError(
            "does not look like a bot token (expected digits, ':', then letters, digits, '_' or '-')"
        )
    return Secret(raw)


def _parse_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", url):
        raise ValueError(f"expected an http:// or https:// URL without query or fragment, got {raw!r}")
    try:  # the host and port must parse too (e.g. "http://[zz]" or "http://host:99999" do not)
        parts = urlsplit(url)
        parts.port  # noqa: B018 - property access validates the port
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc}): {raw!r}") from None
    if not parts.hostname:
        raise ValueError(f"the URL has no host: {raw!r}")
    return url


def _number_in(convert: Callable[[str], _N], expected: str, low: _N, high: _N) -> Callable[[str], _N]:
    def parse(raw: str) -> _N:
        try:
            value = convert(raw.strip())
        except ValueError:
            raise ValueError(f"expected {expected}, got {raw!r}") from None
        if not low <= value <= high:
            raise ValueError(f"must be between {low} and {high}, got {value}")
        return value

    return parse


def _int_in(low: int, high: int) -> Callable[[str], int]:
    return _number_in(int, "a whole number", low, high)


def _float_in(low: float, high: float) -> Callable[[str], float]:
    return _number_in(float, "a number", low, high)


def _parse_log_level(raw: str) -> str:
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ValueError(f"expected one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


def _path_parser(home: str | None) -> Callable[[str], Path]:
    def parse(raw: str) -> Path:
        text = raw.strip()
        if not text:
            raise ValueError("must not be empty")
        if "\x00" in text:
            raise ValueError("must not contain a NUL character")
        if text == "~" or text.startswith("~/"):
            if not home:
                raise ValueError("starts with ~ but HOME is not set")
            text = home + text[1:]
        # Relative paths are taken relative to the working directory, and stored absolute so that a later
        # chdir (or a log line) cannot change what they mean.
        return Path(os.path.abspath(text))

    return parse


# The settings fields, in display order. In the environment a field is CODEXGRAM_<FIELD> (see
# _ENV_NAME_OVERRIDES), in TOML it is the field name itself.
_FIELD_NAMES: Final = (
    "telegram_token",
    "telegram_api_url",
    "data_dir",
    "db_path",
    "upload_dir",
    "codex_socket",
    "codex_bin",
    "log_level",
    "max_message_chunks",
    "poll_timeout",
    "codex_call_timeout",
)
# A few variables have shorter names than their field (the issue names them so).
_ENV_NAME_OVERRIDES: Final = {"db_path": "CODEXGRAM_DB"}


def env_name(field: str) -> str:
    """The environment variable of a settings field, e.g. ``db_path`` -> ``CODEXGRAM_DB``."""
    return _ENV_NAME_OVERRIDES.get(field, ENV_PREFIX + field.upper())


ENV_NAMES: Final = {env_name(field): field for field in _FIELD_NAMES}


def _parsers(home: str | None) -> dict[str, Callable[[str], Any]]:
    path = _path_parser(home)
    return {
        "telegram_token": _parse_token,
        "telegram_api_url": _parse_url,
        "data_dir": path,
        "db_path": path,
        "upload_dir": path,
        "codex_socket": path,
        "codex_bin": path,
        "log_level": _parse_log_level,
        "max_message_chunks": _int_in(1, 50),
        "poll_timeout": _int_in(1, 50),
        "codex_call_timeout": _float_in(1.0, 3600.0),
    }


def parse_dotenv(text: str, *, source: str = ".env") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines: ``#`` comments, blank lines, an optional ``export``, optional quotes.

    Error handling: a line that is not an assignment is a ``ConfigError`` naming the file and line (never the
    line's text, which could hold the token).
    """
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.startswith("export "):
            stripped = stripped[len("export ") :].lstrip()
        key, sep, value = stripped.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise ConfigError(f"{source}:{number}", "expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def _read_toml(path: Path) -> dict[str, str]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read the config file: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    values: dict[str, str] = {}
    for key, value in data.items():
        if key not in _FIELD_NAMES:
            raise ConfigError(f"{path}: {key}", f"unknown setting (known: {', '.join(_FIELD_NAMES)})")
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{path}: {key}", "expected a string or a number")
        values[key] = str(value)
    return values


def _from_prefixed(values: Mapping[str, str], *, source: str) -> dict[str, str]:
    """Keep the ``CODEXGRAM_*`` entries, mapped to field names; an unknown one is an error."""
    fields: dict[str, str] = {}
    for key, value in values.items():
        if not key.startswith(ENV_PREFIX):
            continue
        field = ENV_NAMES.get(key)
        if field is None:
            known = ", ".join(sorted(ENV_NAMES))
            raise ConfigError(key, f"unknown setting in {source} (known: {known})")
        fields[field] = value
    return fields


def load_settings(
    environ: Mapping[str, str], *, config_file: Path | None = None, dotenv: Path | None = None
) -> Settings:
    """Build the settings from ``environ`` over ``dotenv`` over ``config_file`` over the defaults.

    Error handling: every problem is a ``ConfigError`` whose ``key`` names the variable (or file and key).
    A missing ``dotenv`` file is not an error (it is optional by nature); a missing ``config_file`` is.
    """
    layered: dict[str, tuple[str, str]] = {}  # field -> (key to name in errors, raw value)
    if config_file is not None:
        for field, raw in _read_toml(config_file).items():
            layered[field] = (f"{config_file}: {field}", raw)
    if dotenv is not None and dotenv.is_file():
        try:
            dotenv_text = dotenv.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(str(dotenv), f"cannot read: {exc.strerror}") from None
        for field, raw in _from_prefixed(
            parse_dotenv(dotenv_text, source=str(dotenv)), source=str(dotenv)
        ).items():
            layered[field] = (env_name(field), raw)
    for field, raw in _from_prefixed(environ, source="the environment").items():
        layered[field] = (env_name(field), raw)

    home = environ.get("HOME")
    parsers = _parsers(home)
    parsed: dict[str, Any] = {}
    for field, (key, raw) in layered.items():
        try:
            parsed[field] = parsers[field](raw)
        except ValueError as exc:
            raise ConfigError(key, str(exc)) from None

    if "data_dir" not in parsed:
        xdg_data = environ.get("XDG_DATA_HOME") or (f"{home}/.local/share" if home else None)
        if xdg_data is None:
            raise ConfigError("CODEXGRAM_DATA_DIR", "HOME is not set, so there is no default: set it")
        parsed["data_dir"] = Path(os.path.abspath(xdg_data)) / "codexgram"
    data_dir: Path = parsed["data_dir"]
    parsed.setdefault("db_path", data_dir / "codexgram.sqlite3")
    parsed.setdefault("upload_dir", data_dir / "uploads")
    if "codex_socket" not in parsed:
        runtime_dir = environ.get("XDG_RUNTIME_DIR")
        parsed["codex_socket"] = (
            Path(runtime_dir) / "codexgram" / "codex.sock" if runtime_dir else data_dir / "codex.sock"
        )
    return Settings(**parsed)


def describe_settings(settings: Settings) -> list[tuple[str, str]]:
    """(variable, value) pairs for display, e.g. by ``codexgram doctor``; the token shows as set or not."""
    rows: list[tuple[str, str]] = []
    for field in _FIELD_NAMES:
        value = getattr(settings, field)
        if field == "telegram_token":
            shown = "(set)" if value is not None else "(not set)"
        else:
            shown = "(not set)" if value is None else str(value)
        rows.append((env_name(field), shown))
    return rows
