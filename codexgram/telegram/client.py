"""The Bot API client: one httpx AsyncClient, typed errors, a deadline on every call, the token kept secret.

Resource handling: ``BotApiClient`` owns its ``httpx.AsyncClient`` unless one was passed in (then the caller
closes it). Use ``async with BotApiClient(...) as client`` or call :meth:`BotApiClient.aclose`.

Error handling: every failure is a :class:`~codexgram.errors.TelegramError` subclass. ``ok:false`` answers map
by ``error_code`` and description (429 -> ``TelegramRetryAfter``, 400 -> ``TelegramNotModified`` /
``TelegramCantParseEntities`` / ``TelegramQueryTooOld`` / ``TelegramBadRequest``, 401 ->
``TelegramUnauthorized``, 403 -> ``TelegramForbidden``, 409 -> ``TelegramConflict``, 5xx ->
``TelegramServerError``); transport errors and timeouts map to ``TelegramNetworkError``. The client never
retries: the outbox and the poller decide.

The token is part of every URL (``/bot<token>/<method>``), so httpx's own exceptions and log lines contain it.
Exceptions are translated outside the ``except`` block (no ``__context__`` chain), messages name only the
method, and a logging filter on the ``httpx`` logger redacts the token from its request log lines.
"""

# The contract gives each call a ``timeout`` argument on purpose: the deadline depends on the call (getUpdates
# waits ``timeout`` + margin, uploads grow with their size) and is enforced inside with trio.move_on_after.
# ruff: noqa: ASYNC109

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol, Self, TypeVar

import httpx
import trio

from codexgram.config import token_fingerprint
from codexgram.errors import ConfigError, InputError, RemoteProtocolError, TelegramError, TelegramNetworkError
from codexgram.telegram.api_errors import http_status_error, result_of
from codexgram.telegram.converter import structure, structure_updates, unstructure
from codexgram.telegram.types import BotCommand, File, InlineKeyboardMarkup, Message, Update, User

_T = TypeVar("_T")

DEFAULT_BASE_URL = "https://api.telegram.org"
#: Extra seconds on top of getUpdates' long-poll ``timeout`` before the HTTP request is abandoned.
LONG_POLL_MARGIN = 10.0

_TOKEN_RE = re.compile(r"^[A-Za-z0-9:_-]+$")


class RevealsSecret(Protocol):
    """What :class:`codexgram.config.Secret` offers: the wrapped value, only on request."""

    def reveal(self) -> str: ...


class _RedactToken(logging.Filter):
    """Replaces the token in records of the logger it is attached to (httpx logs every request URL)."""

    def __init__(self, token: str) -> None:
        super().__init__()
        self._token = token

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._token in message:
            record.msg = message.replace(self._token, "<token>")
            record.args = ()
        return True


class BotApiClient:
    """Calls Bot API methods at ``{base_url}/bot<token>/<method>`` (JSON bodies; multipart for uploads)."""

    def __init__(
        self,
        *,
        token: RevealsSecret | str,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout: float = 20.0,
    ) -> None:
        secret = token if isinstance(token, str) else token.reveal()
        if not secret or not _TOKEN_RE.match(secret):
            # Never echo the value: a mistyped token is still mostly a real token.
            raise ConfigError(
                "CODEXGRAM_TELEGRAM_TOKEN", "the bot token is empty or has unexpected characters"
            )
        self._token = secret
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._owns_http = http is None
        self._http = http if http is not None else httpx.AsyncClient()
        self._log_filter = _RedactToken(secret)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(self._log_filter)

    def __repr__(self) -> str:
        return f"BotApiClient(base_url={self.base_url!r}, token=<sha256 {token_fingerprint(self._token)}>)"

    @property
    def token_fingerprint(self) -> str:
        return token_fingerprint(self._token)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it, and remove the log filter."""
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._log_filter)
        if self._owns_http:
            with trio.CancelScope(shield=True), trio.move_on_after(5):
                await self._http.aclose()

    # --- the generic call ----------------------------------------------------------------------------------

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        timeout: float | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
    ) -> Any:
        """Call ``method`` and return its ``result`` (raw JSON).

        ``params`` values may be attrs Bot API types; ``None`` values are left out. With ``files``, the
        request is multipart/form-data (nested values are sent as JSON strings). ``timeout`` (default: the
        client's) bounds the whole call."""
        limit = self.timeout if timeout is None else timeout
        body = {key: unstructure(value) for key, value in (params or {}).items() if value is not None}
        url = f"{self.base_url}/bot{self._token}/{method}"
        failure: TelegramError | None = None
        response: httpx.Response | None = None
        with trio.move_on_after(limit) as scope:
            try:
                if files:
                    form = {key: _form_value(value) for key, value in body.items()}
                    response = await self._http.post(url, data=form, files=dict(files), timeout=limit)
                else:
                    response = await self._http.post(url, json=body, timeout=limit)
            except httpx.HTTPError as exc:
                failure = self._transport_failure(method, exc, limit)
        # Raised here, outside the except blocks, so no exception carrying the URL is chained to ours.
        if scope.cancelled_caught:
            raise _timed_out(method, limit)
        if failure is not None:
            raise failure
        assert response is not None
        return result_of(method, response.status_code, response.content)

    def _transport_failure(self, method: str, exc: httpx.HTTPError, limit: float) -> TelegramNetworkError:
        """The error a transport failure becomes: a timeout names the limit, anything else its type and text
        with the token masked (httpx puts the URL, token included, into its messages)."""
        if isinstance(exc, httpx.TimeoutException):
            return _timed_out(method, limit)
        text = str(exc).replace(self._token, "<token>")
        return TelegramNetworkError(method, f"{type(exc).__name__}: {text}" if text else type(exc).__name__)

    # --- typed methods -------------------------------------------------------------------------------------

    async def get_updates(
        self, *, offset: int | None, timeout: int, limit: int = 100, allowed_updates: Sequence[str]
    ) -> list[Update]:
        """Long-poll for updates. The HTTP deadline is ``timeout`` + :data:`LONG_POLL_MARGIN` seconds."""
        params = {
            "offset": offset,
            "timeout": timeout,
            "limit": limit,
            "allowed_updates": list(allowed_updates),
        }
        raw = await self.call("getUpdates", params, timeout=timeout + LONG_POLL_MARGIN)
        try:
            return structure_updates(raw)
        except RemoteProtocolError as exc:
            raise TelegramError("getUpdates", str(exc)) from None

    async def get_me(self) -> User:
        return self._decode("getMe", await self.call("getMe"), User)

    async def send_message(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboardMarkup | None = None,
        reply_to_message_id: int | None = None,
        disable_notification: bool | None = None,
        disable_link_preview: bool = True,
        timeout: float | None = None,
    ) -> Message:
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "text": text,
            "parse_mode": parse_mode,
            "reply_markup": reply_markup,
            "disable_notification": disable_notification,
        }
        if reply_to_message_id is not None:
            params["reply_parameters"] = {
                "message_id": reply_to_message_id,
                "allow_sending_without_reply": True,
            }
        if disable_link_preview:
            params["link_preview_options"] = {"is_disabled": True}
        return self._decode("sendMessage", await self.call("sendMessage", params, timeout=timeout), Message)

    async def edit_message_text(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        parse_mode: str | None = "HTML",
        reply_markup: InlineKeyboardMarkup | None = None,
        disable_link_preview: bool = True,
        timeout: float | None = None,
    ) -> Message | bool:
        """Returns the edited Message (``True`` for inline messages). Unchanged text and markup raise
        :class:`TelegramNotModified`."""
        params: dict[str, Any] = {
            "chat_id": chat_id,
            "message_id": message_id,
            "text": text,
            "parse_mode": parse_mode,
            "reply_markup": reply_markup,
        }
        if disable_link_preview:
            params["link_preview_options"] = {"is_disabled": True}
        raw = await self.call("editMessageText", params, timeout=timeout)
        return raw if isinstance(raw, bool) else self._decode("editMessageText", raw, Message)

    async def edit_message_reply_markup(
        self,
        chat_id: int,
        message_id: int,
        reply_markup: InlineKeyboardMarkup | None = None,
        *,
        timeout: float | None = None,
    ) -> Message | bool:
        """Replace the buttons (``None`` removes them)."""
        params = {"chat_id": chat_id, "message_id": message_id, "reply_markup": reply_markup}
        raw = await self.call("editMessageReplyMarkup", params, timeout=timeout)
        return raw if isinstance(raw, bool) else self._decode("editMessageReplyMarkup", raw, Message)

    async def delete_message(self, chat_id: int, message_id: int, *, timeout: float | None = None) -> bool:
        params = {"chat_id": chat_id, "message_id": message_id}
        return bool(await self.call("deleteMessage", params, timeout=timeout))

    async def answer_callback_query(
        self,
        callback_query_id: str,
        *,
        text: str | None = None,
        show_alert: bool = False,
        timeout: float | None = None,
    ) -> bool:
        params: dict[str, Any] = {"callback_query_id": callback_query_id, "text": text}
        if show_alert:
            params["show_alert"] = True
        return bool(await self.call("answerCallbackQuery", params, timeout=timeout))

    async def send_chat_action(
        self, chat_id: int, action: str = "typing", *, timeout: float | None = None
    ) -> bool:
        params = {"chat_id": chat_id, "action": action}
        return bool(await self.call("sendChatAction", params, timeout=timeout))

    async def send_document(
        self,
        chat_id: int,
        filename: str,
        data: bytes,
        *,
        caption: str | None = None,
        parse_mode: str | None = None,
        reply_markup: InlineKeyboardMarkup | None = None,
        mime_type: str = "application/octet-stream",
        timeout: float | None = None,
    ) -> Message:
        """Upload ``data`` as a document (multipart/form-data). The default deadline grows with the size."""
        params = {
            "chat_id": chat_id,
            "caption": caption,
            "parse_mode": parse_mode,
            "reply_markup": reply_markup,
        }
        limit = timeout if timeout is not None else self.timeout + len(data) / 1_000_000
        raw = await self.call(
            "sendDocument", params, files={"document": (filename, data, mime_type)}, timeout=limit
        )
        return self._decode("sendDocument", raw, Message)

    async def get_file(self, file_id: str, *, timeout: float | None = None) -> File:
        return self._decode(
            "getFile", await self.call("getFile", {"file_id": file_id}, timeout=timeout), File
        )

    async def download_file(self, file_path: str, *, max_bytes: int, timeout: float | None = None) -> bytes:
        """Download ``{base_url}/file/bot<token>/<file_path>`` (``file_path`` from :meth:`get_file`).

        Raises :class:`InputError` when the file is larger than ``max_bytes`` (checked on the declared length
        and while streaming, so a large file is never held in memory), ``TelegramError`` for HTTP errors and
        ``TelegramNetworkError`` for transport errors and timeouts."""
        method = "downloadFile"
        if ".." in file_path.split("/") or file_path.startswith("/"):
            raise TelegramError(method, "refusing a file path that leaves the file root")
        limit = self.timeout if timeout is None else timeout
        url = f"{self.base_url}/file/bot{self._token}/{file_path}"
        failure: Exception | None = None
        chunks: list[bytes] = []
        with trio.move_on_after(limit) as scope:
            try:
                async with self._http.stream("GET", url, timeout=limit) as response:
                    if response.status_code != 200:
                        failure = http_status_error(method, response.status_code)
                    elif int(response.headers.get("content-length", "0") or 0) > max_bytes:
                        failure = InputError(f"the file is larger than {max_bytes} bytes")
                    else:
                        received = 0
                        async for chunk in response.aiter_bytes():
                            received += len(chunk)
                            if received > max_bytes:
                                failure = InputError(f"the file is larger than {max_bytes} bytes")
                                break
                            chunks.append(chunk)
            except httpx.HTTPError as exc:
                failure = self._transport_failure(method, exc, limit)
        if scope.cancelled_caught:
            raise _timed_out(method, limit)
        if failure is not None:
            raise failure
        return b"".join(chunks)

    async def set_my_commands(self, commands: Sequence[BotCommand], *, timeout: float | None = None) -> bool:
        return bool(await self.call("setMyCommands", {"commands": list(commands)}, timeout=timeout))

    async def leave_chat(self, chat_id: int, *, timeout: float | None = None) -> bool:
        return bool(await self.call("leaveChat", {"chat_id": chat_id}, timeout=timeout))

    @staticmethod
    def _decode(method: str, raw: Any, cls: type[_T]) -> _T:
        try:
            return structure(raw, cls)
        except Exception as exc:  # a result we cannot read is the server's fault, not a crash of ours
            raise TelegramError(method, f"unexpected result shape: {exc}") from None


def _form_value(value: Any) -> str:
    """Multipart fields are strings; nested values (reply_markup) travel as JSON, as the Bot API expects."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _timed_out(method: str, limit: float) -> TelegramNetworkError:
    return TelegramNetworkError(method, f"timed out after {limit:g}s")
