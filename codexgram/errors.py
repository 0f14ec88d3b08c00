"""One exception hierarchy for the whole bot.

Every error codexgram raises on purpose is a :class:`CodexgramError`. The tree is grouped by *who* failed and
*whether trying again can help*, because that is what the edges (actors, CLI) decide on:

- ``ConfigError`` / ``InputError``: the operator or the user gave something we cannot use. Say so, in one
  line.
- ``StoreError``: the SQLite file. ``DatabaseTooNew`` is the one a user meets (old code, new file).
- ``ProtocolError``: a wire broke its rules. ``LocalProtocolError`` means *we* did (a bug),
  ``RemoteProtocolError`` means the peer did (log it, carry on).
- ``CodexError``: ``CodexRefused`` is a JSON-RPC error answer (Codex is there and said no);
  ``CodexUnavailable`` means Codex is gone (connection closed, not yet connected, call timed out).
- ``TelegramError``: mapped from Bot API ``ok:false`` answers and transport failures, each kind its own
  class so the outbox can decide: wait (``TelegramRetryAfter``), treat as done (``TelegramNotModified``),
  fall back to plain text (``TelegramCantParseEntities``), retry (``TelegramServerError``,
  ``TelegramNetworkError``), give up.
- ``ActorError``: the actor runtime (a mailbox that is full or gone).

Error messages never contain the bot token: Telegram errors carry the method name and Telegram's description,
never the URL.
"""

from __future__ import annotations


class CodexgramError(Exception):
    """Base of every error codexgram raises on purpose."""


# --- configuration and input ---------------------------------------------------------------------------


class ConfigError(CodexgramError):
    """A setting is missing or invalid. ``key`` names it (e.g. ``CODEXGRAM_DB``)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


class InputError(CodexgramError):
    """Input from an operator or a user that we refuse, with a message fit to show them as it is."""


class WorkspacePathError(InputError):
    """A workspace path that fails validation."""


# --- storage ---------------------------------------------------------------------------------------------


class StoreError(CodexgramError):
    """The SQLite store failed."""


class MigrationError(StoreError):
    """The schema could not be brought up to date."""


class DatabaseTooNew(MigrationError):
    """The file was written by a newer codexgram than this one."""

    def __init__(self, found: int, supported: int) -> None:
        super().__init__(
            f"the database has schema version {found}, but this codexgram supports up to {supported}: "
            "upgrade codexgram (or point CODEXGRAM_DB at another file)"
        )
        self.found = found
        self.supported = supported


class NotFound(StoreError):
    """A row that the request named does not exist."""


class AlreadyExists(StoreError):
    """A row with that key exists already."""


# --- wire protocols ----------------------------------------------------------------------------------------


class ProtocolError(CodexgramError):
    """A wire protocol was broken."""


class LocalProtocolError(ProtocolError):
    """We broke the protocol (a bug on our side)."""


class RemoteProtocolError(ProtocolError):
    """The peer broke the protocol."""


# --- Codex -------------------------------------------------------------------------------------------------


class CodexError(CodexgramError):
    """Talking to the Codex app-server failed."""


class CodexRefused(CodexError):
    """Codex answered a call with a JSON-RPC error: it is there, and it said no."""

    def __init__(self, method: str, code: int, message: str, data: object = None) -> None:
        super().__init__(f"codex refused {method}: {message} (code {code})")
        self.method = method
        self.code = code
        self.rpc_message = message
        self.data = data


class CodexOverloaded(CodexRefused):
    """JSON-RPC error -32001: the server is overloaded; the call may be retried later."""


class CodexUnavailable(CodexError):
    """Codex is not reachable: not connected, the connection closed, or the call timed out."""


# --- Telegram ----------------------------------------------------------------------------------------------


class TelegramError(CodexgramError):
    """A Bot API call failed. Never carries the token: only the method and Telegram's description."""

    def __init__(self, method: str, description: str, error_code: int | None = None) -> None:
        code = f" {error_code}" if error_code is not None else ""
        super().__init__(f"telegram {method} failed{code}: {description}")
        self.method = method
        self.description = description
        self.error_code = error_code


class TelegramRetryAfter(TelegramError):
    """429 Too Many Requests: wait ``retry_after`` seconds before the next call of this kind."""

    def __init__(self, method: str, description: str, retry_after: float) -> None:
        super().__init__(method, description, 429)
        self.retry_after = retry_after


class TelegramBadRequest(TelegramError):
    """400: the request was wrong. Retrying the same request will not help."""


class TelegramNotModified(TelegramBadRequest):
    """400 message is not modified: the message already shows this. Treat as success."""


class TelegramCantParseEntities(TelegramBadRequest):
    """400 can't parse entities: the formatting was rejected. Resend as plain text."""


class TelegramQueryTooOld(TelegramBadRequest):
    """400 query is too old: a callback query answered too late. Nothing to do."""


class TelegramUnauthorized(TelegramError):
    """401: the bot token is wrong or revoked. Retrying will not help."""


class TelegramForbidden(TelegramError):
    """403: the bot was blocked, or is not allowed in that chat."""


class TelegramConflict(TelegramError):
    """409: another getUpdates poller or a webhook is active on the same token."""


class TelegramServerError(TelegramError):
    """5xx from the Bot API: retry with backoff."""


class TelegramNetworkError(TelegramError):
    """The request did not complete (connection refused or dropped, timeout): retry with backoff."""


class InstanceLocked(CodexgramError):
    """Another codexgram process on this machine already holds the lock for this bot token."""


# --- actor runtime -----------------------------------------------------------------------------------------


class ActorError(CodexgramError):
    """The actor runtime failed to deliver a message or a reply."""


class MailboxFull(ActorError):
    """A bounded mailbox refused a message that must not wait (the edge decides what to tell the user)."""


class ActorGone(ActorError):
    """The actor that should answer has stopped."""
