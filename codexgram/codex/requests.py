"""Requests the bot sends to the Codex app-server, and their results (codex-cli 0.169.0).

Every params class names its JSON-RPC method in ``METHOD`` and the class its result decodes to in ``RESULT``,
so a caller can write ``await link.call_typed(TurnStartParams(...), TurnStartParams.RESULT)``. Optional
params default to ``None`` and are then left out of the frame (codex treats absent and ``null`` alike).

Result classes model only the fields the bot reads; unknown fields are ignored when decoding, and fields
that the schema does not mark required have defaults.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from codexgram.codex.items import ThreadItem, UserInput

# --- shared records ----------------------------------------------------------------------------------------

THREAD_STATUS_IDLE = "idle"
THREAD_STATUS_ACTIVE = "active"
THREAD_STATUS_NOT_LOADED = "notLoaded"
THREAD_STATUS_SYSTEM_ERROR = "systemError"
ACTIVE_FLAG_WAITING_ON_APPROVAL = "waitingOnApproval"

TURN_STATUS_IN_PROGRESS = "inProgress"
TURN_STATUS_COMPLETED = "completed"
TURN_STATUS_INTERRUPTED = "interrupted"
TURN_STATUS_FAILED = "failed"


class ApprovalPolicy(enum.StrEnum):
    """When codex asks before running something (``approvalPolicy``)."""

    UNTRUSTED = "untrusted"
    ON_REQUEST = "on-request"
    NEVER = "never"


class SandboxMode(enum.StrEnum):
    """The sandbox of a thread (``sandbox`` in thread/start; kebab-case on the wire)."""

    READ_ONLY = "read-only"
    WORKSPACE_WRITE = "workspace-write"
    DANGER_FULL_ACCESS = "danger-full-access"


class SandboxPolicyType(enum.StrEnum):
    """The object form used by turn/start (``sandboxPolicy: {"type": ...}``; camelCase on the wire)."""

    READ_ONLY = "readOnly"
    WORKSPACE_WRITE = "workspaceWrite"
    DANGER_FULL_ACCESS = "dangerFullAccess"


@attrs.frozen(kw_only=True)
class SandboxPolicy:
    """A sandbox override for turn/start."""

    type: SandboxPolicyType


@attrs.frozen(kw_only=True)
class ThreadStatus:
    """``type`` is one of ``THREAD_STATUS_*``; ``active_flags`` (e.g. waitingOnApproval) only when active."""

    type: str
    active_flags: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class TurnError:
    """Why a turn failed (also the payload of the ``error`` notification)."""

    message: str
    codex_error_info: Any = None
    additional_details: str | None = None


@attrs.frozen(kw_only=True)
class Turn:
    """A turn. ``status`` is one of ``TURN_STATUS_*``. In turn/completed ``items`` holds only the final agent
    message: the transcript of a turn must be built from the ``item/*`` notifications."""

    id: str
    status: str
    items: tuple[ThreadItem, ...] = ()
    error: TurnError | None = None
    started_at: int | None = None
    completed_at: int | None = None
    duration_ms: int | None = None


@attrs.frozen(kw_only=True)
class Thread:
    """A conversation with codex, bound to a working directory."""

    id: str
    preview: str
    cwd: str
    status: ThreadStatus
    created_at: int
    updated_at: int
    name: str | None = None
    model: str | None = None
    model_provider: str | None = None
    forked_from_id: str | None = None
    cli_version: str | None = None
    turns: tuple[Turn, ...] = ()


# --- initialize ---------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ClientInfo:
    name: str
    version: str
    title: str | None = None


@attrs.frozen(kw_only=True)
class InitializeCapabilities:
    """``opt_out_notification_methods``: exact method names the server should not send us."""

    experimental_api: bool = False
    opt_out_notification_methods: tuple[str, ...] | None = None


@attrs.frozen(kw_only=True)
class InitializeResult:
    """``user_agent`` contains the server version, e.g. ``codexgram/0.169.0 (...)``."""

    user_agent: str
    codex_home: str
    platform_family: str | None = None
    platform_os: str | None = None


@attrs.frozen(kw_only=True)
class InitializeParams:
    METHOD: ClassVar[str] = "initialize"
    RESULT: ClassVar[type[InitializeResult]] = InitializeResult
    client_info: ClientInfo
    capabilities: InitializeCapabilities | None = None


@attrs.frozen(kw_only=True)
class EmptyResult:
    """The ``{}`` answer of archive, unarchive, name/set, interrupt."""


# --- threads ------------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class ThreadSessionResult:
    """The answer of thread/start, thread/resume and thread/fork: the thread and its effective settings.

    ``approval_policy`` and ``sandbox`` are kept as JSON values: codex may answer forms we never send (a
    granular policy object, an external sandbox).
    """

    thread: Thread
    model: str
    cwd: str
    approval_policy: Any
    sandbox: Any
    model_provider: str | None = None
    reasoning_effort: str | None = None


ThreadStartResult = ThreadSessionResult
ThreadResumeResult = ThreadSessionResult
ThreadForkResult = ThreadSessionResult


@attrs.frozen(kw_only=True)
class ThreadStartParams:
    """Start a thread. Always pass ``cwd``: codex defaults to its own working directory."""

    METHOD: ClassVar[str] = "thread/start"
    RESULT: ClassVar[type[ThreadSessionResult]] = ThreadSessionResult
    cwd: str
    model: str | None = None
    approval_policy: ApprovalPolicy | None = None
    sandbox: SandboxMode | None = None
    developer_instructions: str | None = None
    ephemeral: bool | None = None


@attrs.frozen(kw_only=True)
class ThreadResumeParams:
    """Attach to a thread (and to its running turn, if any). ``exclude_turns`` skips the history."""

    METHOD: ClassVar[str] = "thread/resume"
    RESULT: ClassVar[type[ThreadSessionResult]] = ThreadSessionResult
    thread_id: str
    exclude_turns: bool = True
    cwd: str | None = None
    model: str | None = None
    approval_policy: ApprovalPolicy | None = None
    sandbox: SandboxMode | None = None


@attrs.frozen(kw_only=True)
class ThreadForkParams:
    """A new thread with the history of ``thread_id`` (up to ``last_turn_id`` if given)."""

    METHOD: ClassVar[str] = "thread/fork"
    RESULT: ClassVar[type[ThreadSessionResult]] = ThreadSessionResult
    thread_id: str
    last_turn_id: str | None = None
    cwd: str | None = None
    exclude_turns: bool = True


@attrs.frozen(kw_only=True)
class ThreadListResult:
    data: tuple[Thread, ...]
    next_cursor: str | None = None


@attrs.frozen(kw_only=True)
class ThreadListParams:
    """A page of threads (a thread shows only after its first turn)."""

    METHOD: ClassVar[str] = "thread/list"
    RESULT: ClassVar[type[ThreadListResult]] = ThreadListResult
    cursor: str | None = None
    limit: int | None = None
    archived: bool | None = None
    cwd: str | None = None
    search_term: str | None = None


@attrs.frozen(kw_only=True)
class ThreadReadResult:
    thread: Thread


@attrs.frozen(kw_only=True)
class ThreadReadParams:
    METHOD: ClassVar[str] = "thread/read"
    RESULT: ClassVar[type[ThreadReadResult]] = ThreadReadResult
    thread_id: str
    include_turns: bool | None = None


@attrs.frozen(kw_only=True)
class ThreadArchiveParams:
    METHOD: ClassVar[str] = "thread/archive"
    RESULT: ClassVar[type[EmptyResult]] = EmptyResult
    thread_id: str


@attrs.frozen(kw_only=True)
class ThreadUnarchiveParams:
    METHOD: ClassVar[str] = "thread/unarchive"
    RESULT: ClassVar[type[EmptyResult]] = EmptyResult
    thread_id: str


@attrs.frozen(kw_only=True)
class ThreadSetNameParams:
    METHOD: ClassVar[str] = "thread/name/set"
    RESULT: ClassVar[type[EmptyResult]] = EmptyResult
    thread_id: str
    name: str


# --- turns --------------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TurnStartResult:
    turn: Turn


@attrs.frozen(kw_only=True)
class TurnStartParams:
    """Start a turn. While a turn runs, codex treats this as a steer of the running turn (same turn id)."""

    METHOD: ClassVar[str] = "turn/start"
    RESULT: ClassVar[type[TurnStartResult]] = TurnStartResult
    thread_id: str
    input: tuple[UserInput, ...]
    cwd: str | None = None
    model: str | None = None
    effort: str | None = None
    approval_policy: ApprovalPolicy | None = None
    sandbox_policy: SandboxPolicy | None = None
    # Our id for the message; codex records it as the userMessage item's ``clientId`` (see items.py).
    client_user_message_id: str | None = None


@attrs.frozen(kw_only=True)
class TurnSteerResult:
    turn_id: str


@attrs.frozen(kw_only=True)
class TurnSteerParams:
    """Add input to the running turn ``expected_turn_id`` (refused if another turn runs)."""

    METHOD: ClassVar[str] = "turn/steer"
    RESULT: ClassVar[type[TurnSteerResult]] = TurnSteerResult
    thread_id: str
    input: tuple[UserInput, ...]
    expected_turn_id: str
    client_user_message_id: str | None = None


@attrs.frozen(kw_only=True)
class TurnInterruptParams:
    """Stop a turn: answered ``{}`` at once, then ``turn/completed`` with status interrupted."""

    METHOD: ClassVar[str] = "turn/interrupt"
    RESULT: ClassVar[type[EmptyResult]] = EmptyResult
    thread_id: str
    turn_id: str


# --- models and git -----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Model:
    id: str
    model: str
    display_name: str
    description: str
    hidden: bool
    is_default: bool
    default_reasoning_effort: str
    supported_reasoning_efforts: tuple[Mapping[str, Any], ...] = ()


@attrs.frozen(kw_only=True)
class ModelListResult:
    data: tuple[Model, ...]
    next_cursor: str | None = None


@attrs.frozen(kw_only=True)
class ModelListParams:
    """The bundled model catalog (codex does not ask a custom provider)."""

    METHOD: ClassVar[str] = "model/list"
    RESULT: ClassVar[type[ModelListResult]] = ModelListResult
    include_hidden: bool | None = None
    cursor: str | None = None
    limit: int | None = None


@attrs.frozen(kw_only=True)
class GitDiffToRemoteResult:
    sha: str
    diff: str


@attrs.frozen(kw_only=True)
class GitDiffToRemoteParams:
    """Legacy v1 method (in codex's TypeScript output, not in its JSON schema); fails without a git remote."""

    METHOD: ClassVar[str] = "gitDiffToRemote"
    RESULT: ClassVar[type[GitDiffToRemoteResult]] = GitDiffToRemoteResult
    cwd: str


SENT_PARAMS: tuple[type[Any], ...] = (
    InitializeParams,
    ThreadStartParams,
    ThreadResumeParams,
    ThreadForkParams,
    ThreadListParams,
    ThreadReadParams,
    ThreadArchiveParams,
    ThreadUnarchiveParams,
    ThreadSetNameParams,
    TurnStartParams,
    TurnSteerParams,
    TurnInterruptParams,
    ModelListParams,
    GitDiffToRemoteParams,
)
