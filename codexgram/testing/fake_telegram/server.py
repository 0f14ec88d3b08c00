"""The fake Bot API server: routes, long polling, faults, and the record of every call. The trio shell around
the pure parts (:mod:`.spec`, :mod:`.bot_methods`, :mod:`.state`, :mod:`.flood`, :mod:`.user_api`).
Playing the user is the mixin :class:`.user_side.UserSide`.

Routes: ``GET|POST /bot<token>/<method>`` (method names case-insensitive),
``GET /file/bot<token>/<file_path>``, and the test-side control API under ``/_test/`` (:mod:`.control`).

Resource handling: :func:`run_fake_telegram` serves on 127.0.0.1 until cancelled and reports a running
:class:`FakeTelegram` through ``task_status``; everything it starts lives in its own nursery.
Error handling: a request the reference forbids is answered as Telegram would (400, 404) *and* appended to
``validation_errors``; scheduled faults answer instead of the method (after validation, so faulty calls are
still checked).
"""

from __future__ import annotations

import functools
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import trio

from codexgram.testing.http import DropConnection, Request, Response, serve_http

from .answers import ApiError
from .bot_methods import BotMethods
from .control import handle_control
from .faults import BadRequest, Drop, Fault, FaultSchedule, Hang, RetryAfter, ServerError
from .flood import FloodControl
from .spec import ApiSpec, UploadedFile
from .state import FakeMessage, TelegramState
from .user_side import UserSide
from .wire import MalformedRequest, error_body, ok_body, request_params

log = logging.getLogger(__name__)

CONFLICT = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
_JSON = {"content-type": "application/json"}


@functools.cache
def shared_spec() -> ApiSpec:
    """The reference, parsed once per process (~1 MB of JSON)."""
    return ApiSpec.load()


@attrs.frozen(kw_only=True)
class RecordedCall:
    """One request the bot made and what it got. ``fault`` names a scheduled fault that answered instead."""

    method: str
    params: Mapping[str, object]
    at: float
    status: int
    result: object = None
    description: str | None = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200


@attrs.define
class _Poll:
    terminated: bool = False
    waiting: bool = False  # held open: nothing to return yet


class FakeTelegram(UserSide):
    """A fake Telegram for one bot. Build it inside a trio loop (its clock is ``trio.current_time``)."""

    def __init__(
        self, *, token: str | None = None, flood: FloodControl | None = None, check_responses: bool = True
    ) -> None:
        self.token = token or f"{secrets.randbelow(9 * 10**9) + 10**9}:FAKE{secrets.token_urlsafe(24)}"
        self.base_url = ""
        self.spec = shared_spec()
        self.state = TelegramState(epoch=time.time() - trio.current_time())
        self._flood = flood or FloodControl()
        update_kinds = frozenset(self.spec.types["Update"]) - {"update_id"}
        self.methods = BotMethods(self.state, self._flood, update_kinds=update_kinds)
        self.faults = FaultSchedule()
        self.validation_errors: list[str] = []
        # The fake's own mistakes: results that do not match the method's return type in the reference.
        self.response_errors: list[str] = []
        self.check_responses = check_responses
        self._calls: list[RecordedCall] = []
        self._changed = trio.Event()  # set (and replaced) when an update is queued or a poll is ended
        self._activity = trio.Event()  # set (and replaced) after every request the bot made
        self._active_poll: _Poll | None = None

    @property
    def flood(self) -> FloodControl:
        return self._flood

    @flood.setter
    def flood(self, flood: FloodControl) -> None:
        """Replace flood control (e.g. ``FloodControl(enabled=False)`` for a test about something else)."""
        self._flood = flood
        self.methods.flood = flood

    def __repr__(self) -> str:  # never show the token
        return f"<FakeTelegram {self.base_url or 'not serving'}>"

    # --- the test's side (reading; playing the user is in UserSide) ----------------------------------

    def messages(self, chat_id: int) -> list[FakeMessage]:
        """Every message of the chat, both sides, oldest first, deleted ones included (``deleted=True``)."""
        return sorted(self.state.messages.get(chat_id, {}).values(), key=lambda m: m.message_id)

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        """The bot's messages in the chat that are still there."""
        return [m for m in self.messages(chat_id) if m.from_bot and not m.deleted]

    def calls(self, method: str | None = None) -> list[RecordedCall]:
        """Every request the bot made (of ``method``, case-insensitive, when given), in order."""
        return [c for c in self._calls if method is None or c.method.lower() == method.lower()]

    @property
    def poll_waiting(self) -> bool:
        """A getUpdates long poll is held open with nothing to return yet (the bot is idle).

        The fake does not notice a client that went away meanwhile: like Telegram, it answers that poll
        when an update comes, or ends it with 409 when a newer poll arrives. ``wait_until`` re-checks this
        when a poll starts waiting."""
        return self._active_poll is not None and self._active_poll.waiting

    def callback_answer(self, query_id: str) -> Mapping[str, Any] | None:
        record = self.state.callback_queries.get(query_id)
        return record.answer if record else None

    async def wait_until(self, condition: Callable[[], bool]) -> None:
        """Return once ``condition()`` holds, checking after every request the bot makes and when a long
        poll starts waiting. No deadline of its own: wrap it in ``trio.fail_after``
        (``with trio.fail_after(5): await fake.wait_until(...)``)."""
        while not condition():
            await self._activity.wait()

    def schedule_fault(self, method: str | None, fault: Fault, *, count: int = 1) -> None:
        """The next ``count`` calls of ``method`` (any when None) meet ``fault`` instead of an answer."""
        self.faults.schedule(method, fault, count=count)

    # --- HTTP ---------------------------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/_test/"):
            return await handle_control(self, request)
        if path.startswith("/file/bot"):
            return self._download(path.removeprefix("/file/bot"))
        if not path.startswith("/bot"):
            return Response(status=404, headers=_JSON, body=error_body(404, "Not Found"))
        token, _, method = path.removeprefix("/bot").partition("/")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            return Response(status=401, headers=_JSON, body=error_body(401, "Unauthorized"))
        try:
            return await self._api_call(method, request)
        except DropConnection:
            raise
        except Exception as error:
            # A bug in the fake. Caught here so that the HTTP layer never logs the path (it holds the token)
            # and so that the test fails at teardown (response_errors), not just the bot's call.
            log.exception("the fake Bot API failed in %s", method)
            self.response_errors.append(f"{method}: the fake failed: {type(error).__name__}: {error}")
            return Response(status=500, headers=_JSON, body=error_body(500, "Internal Server Error"))

    def _download(self, rest: str) -> Response:
        token, _, file_path = rest.partition("/")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            return Response(status=401, headers=_JSON, body=error_body(401, "Unauthorized"))
        stored = self.state.file_by_path(file_path)
        if stored is None:
            return Response(status=404, headers=_JSON, body=error_body(404, "Not Found"))
        return Response(
            headers={"content-type": stored.mime_type or "application/octet-stream"}, body=stored.data
        )

    def _record(self, method: str, params: Mapping[str, object], status: int, **extra: Any) -> None:
        shown = {k: (v if not isinstance(v, UploadedFile) else repr(v)) for k, v in params.items()}
        self._calls.append(
            RecordedCall(method=method, params=shown, at=trio.current_time(), status=status, **extra)
        )
        self._signal_activity()  # after the record, so a waiter sees it

    def _signal_activity(self) -> None:
        self._activity.set()
        self._activity = trio.Event()

    def _refuse(
        self, method: str, params: Mapping[str, object], error: ApiError, *, fault: str | None = None
    ) -> Response:
        if error.violation is not None:
            self.validation_errors.append(f"{method}: {error.violation}")
        self._record(method, params, error.code, description=error.description, fault=fault)
        return Response(
            status=error.code, headers=_JSON, body=error_body(error.code, error.description, error.parameters)
        )

    async def _api_call(self, method: str, request: Request) -> Response:
        spec = self.spec.method(method)
        if spec is None:
            return self._refuse(
                method, {}, ApiError(404, "Not Found", violation=f"no such method {method!r}")
            )
        try:
            raw = request_params(request.headers.get("content-type", ""), request.body, request.query)
        except MalformedRequest as malformed:
            return self._refuse(
                method, {}, ApiError(400, f"Bad Request: {malformed}", violation=str(malformed))
            )
        params, violations = self.spec.decode_call(spec, raw)
        if violations:
            self.validation_errors += [f"{spec.name}: {v.detail}" for v in violations[1:]]
            first = violations[0]
            return self._refuse(spec.name, params, ApiError(400, first.description, violation=first.detail))
        if not self.methods.implements(spec.name):
            unimplemented = f"{spec.name} is not implemented by the fake"
            return self._refuse(
                spec.name, params, ApiError(400, f"Bad Request: {unimplemented}", violation=unimplemented)
            )
        fault = self.faults.take(spec.name)
        if fault is not None:
            return await self._fault(spec.name, params, fault)
        return await self._answer(spec.name, params)

    async def _answer(self, method: str, params: dict[str, Any], *, fault: str | None = None) -> Response:
        try:
            if method == "getUpdates":
                result: Any = await self._get_updates(params)
            else:
                result = self.methods.call(method, params, trio.current_time())
        except ApiError as error:
            return self._refuse(method, params, error, fault=fault)
        if self.check_responses:
            self._check_result(method, result)
        self._record(method, params, 200, result=result, fault=fault)
        return Response(headers=_JSON, body=ok_body(result))

    def _check_result(self, method: str, result: Any) -> None:
        spec = self.spec.method(method)
        assert spec is not None
        outcomes = [self.spec.check_value(type_name, result, method) for type_name in spec.returns]
        if all(outcomes):
            best = min(outcomes, key=len)
            self.response_errors += [f"{method} result: {v.detail}" for v in best]

    async def _fault(self, method: str, params: dict[str, Any], fault: Fault) -> Response:
        name = repr(fault)
        if isinstance(fault, RetryAfter):
            error = ApiError(
                429,
                f"Too Many Requests: retry after {fault.seconds}",
                parameters={"retry_after": fault.seconds},
            )
        elif isinstance(fault, ServerError):
            error = ApiError(fault.status, fault.description)
        elif isinstance(fault, BadRequest):
            error = ApiError(400, fault.description)
        elif isinstance(fault, Hang):
            await trio.sleep(fault.seconds)
            if fault.applied:
                return await self._answer(method, params, fault=name)
            error = ApiError(502, "Bad Gateway")
        else:
            assert isinstance(fault, Drop)
            if fault.applied:
                await self._answer(method, params, fault=name)
            else:
                self._record(method, params, 0, fault=name, description="connection dropped")
            raise DropConnection
        self._record(method, params, error.code, description=error.description, fault=name)
        return Response(
            status=error.code, headers=_JSON, body=error_body(error.code, error.description, error.parameters)
        )

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Real long polling: wait up to ``timeout`` s for an update; a newer poll ends an older (409)."""
        if self._active_poll is not None:
            self._active_poll.terminated = True
            self._wake()
        poll = self._active_poll = _Poll()
        try:
            updates = self.methods.take_updates(params, trio.current_time())
            limit = int(params.get("limit", 100))
            with trio.move_on_after(max(0, int(params.get("timeout", 0)))):
                while not updates:
                    if not poll.waiting:
                        poll.waiting = True
                        self._signal_activity()
                    await self._changed.wait()
                    if poll.terminated:
                        raise ApiError(409, CONFLICT)
                    updates = [dict(u) for u in self.state.updates[:limit]]
            return updates
        finally:
            poll.waiting = False
            if self._active_poll is poll:
                self._active_poll = None

    # --- serving ------------------------------------------------------------------------------------------

    async def serve(
        self, *, host: str = "127.0.0.1", port: int = 0, task_status: trio.TaskStatus[None]
    ) -> None:
        """Serve until cancelled; ``base_url`` is set before ``task_status.started()``."""

        async def _serve(task_status: trio.TaskStatus[int]) -> None:
            await serve_http(self.handle, host=host, port=port, task_status=task_status)

        async with trio.open_nursery() as nursery:
            bound = await nursery.start(_serve)
            self.base_url = f"http://{host}:{bound}"
            task_status.started()


async def run_fake_telegram(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    flood: FloodControl | None = None,
    task_status: trio.TaskStatus[FakeTelegram] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Start a fake Telegram, report it (``base_url`` set) through ``task_status``, serve until cancelled."""
    fake = FakeTelegram(token=token, flood=flood)

    async def _serve(task_status: trio.TaskStatus[None]) -> None:
        await fake.serve(host=host, port=port, task_status=task_status)

    async with trio.open_nursery() as nursery:
        await nursery.start(_serve)
        task_status.started(fake)
