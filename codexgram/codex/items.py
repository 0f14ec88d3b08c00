"""Thread items and user input of the Codex app-server protocol (codex-cli 0.169.0, v2).

Python attributes are snake_case; the converter (:mod:`codexgram.codex.converter`) maps them to camelCase on
the wire, except where a field is snake_case on the wire too (``text_elements``, ``move_path``): those carry
``metadata={WIRE_NAME: ...}``. A class with a ``TYPE`` class variable is one member of a union tagged by the
wire member ``type``; a ``type`` codex adds later decodes to :class:`UnknownItem` / :class:`UnknownInput`
holding the raw dict, so a new item kind never breaks the reader.

Statuses arrive as plain strings (``ITEM_STATUS_*`` below names the ones 0.169.0 sends): a status codex adds
later must not turn a whole turn into a decoding error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

# Metadata key naming a field's wire name when it is not the camelCase form of the attribute.
WIRE_NAME = "codexgram_wire_name"

ITEM_STATUS_IN_PROGRESS = "inProgress"
ITEM_STATUS_COMPLETED = "completed"
ITEM_STATUS_FAILED = "failed"
ITEM_STATUS_DECLINED = "declined"


# --- user input --------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class TextInput:
    """Text typed by the user. ``text_elements`` is snake_case on the wire (sic) and always sent."""

    TYPE: ClassVar[str] = "text"
    text: str
    text_elements: tuple[Mapping[str, Any], ...] = attrs.field(
        default=(), metadata={WIRE_NAME: "text_elements"}
    )


@attrs.frozen(kw_only=True)
class ImageInput:
    """An image by URL (a ``data:`` URL works: that is how a Telegram photo can be sent inline), or by the
    ``file_id`` of an uploaded file (seen in history). Exactly one of the two is set."""

    TYPE: ClassVar[str] = "image"
    url: str | None = None
    file_id: str | None = None

    def __attrs_post_init__(self) -> None:
        if (self.url is None) == (self.file_id is None):
            raise ValueError("an image input needs exactly one of url and file_id")


@attrs.frozen(kw_only=True)
class LocalImageInput:
    """An image file on the machine codex runs on (absolute path)."""

    TYPE: ClassVar[str] = "localImage"
    path: str


@attrs.frozen(kw_only=True)
class UnknownInput:
    """A user input kind we do not model (audio, skill, mention, ...), kept raw. Decoding only."""

    type: str
    raw: Mapping[str, Any]


UserInput = TextInput | ImageInput | LocalImageInput | UnknownInput
KNOWN_INPUTS: tuple[type[Any], ...] = (TextInput, ImageInput, LocalImageInput)


# --- thread items -------------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class UserMessageItem:
    """The user's input as codex recorded it. ``client_id`` is the ``clientUserMessageId`` the client gave
    with ``turn/start`` or ``turn/steer`` (how the bot finds out, after a crash, whether a message landed)."""

    TYPE: ClassVar[str] = "userMessage"
    id: str
    content: tuple[UserInput, ...] = ()
    client_id: str | None = None


@attrs.frozen(kw_only=True)
class AgentMessageItem:
    """A reply of the agent. ``text`` is empty in ``item/started``; the deltas carry it while it streams."""

    TYPE: ClassVar[str] = "agentMessage"
    id: str
    text: str
    phase: str | None = None


@attrs.frozen(kw_only=True)
class ReasoningItem:
    """The model's reasoning: ``summary`` parts (shown to users) and raw ``content`` (often empty)."""

    TYPE: ClassVar[str] = "reasoning"
    id: str
    summary: tuple[str, ...] = ()
    content: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class CommandExecutionItem:
    """A shell command. Output and exit code are set when it completes (completed/failed/declined)."""

    TYPE: ClassVar[str] = "commandExecution"
    id: str
    command: str
    cwd: str
    status: str
    aggregated_output: str | None = None
    exit_code: int | None = None
    duration_ms: int | None = None


@attrs.frozen(kw_only=True)
class PatchChangeKind:
    """``add``, ``delete`` or ``update`` (an update may move the file to ``move_path``, snake_case)."""

    type: str
    move_path: str | None = attrs.field(default=None, metadata={WIRE_NAME: "move_path"})


@attrs.frozen(kw_only=True)
class FileUpdateChange:
    """One file of a patch, with its unified diff."""

    path: str
    kind: PatchChangeKind
    diff: str


@attrs.frozen(kw_only=True)
class FileChangeItem:
    """A patch. Its diffs are what a file-change approval shows: the approval request does not carry them."""

    TYPE: ClassVar[str] = "fileChange"
    id: str
    changes: tuple[FileUpdateChange, ...]
    status: str


@attrs.frozen(kw_only=True)
class PlanItem:
    """The agent's plan, as text."""

    TYPE: ClassVar[str] = "plan"
    id: str
    text: str


@attrs.frozen(kw_only=True)
class McpToolCallItem:
    """A call of an MCP server's tool. ``arguments``/``result``/``error`` are kept as JSON values."""

    TYPE: ClassVar[str] = "mcpToolCall"
    id: str
    server: str
    tool: str
    status: str
    arguments: Any = None
    result: Any = None
    error: Any = None
    duration_ms: int | None = None


@attrs.frozen(kw_only=True)
class WebSearchItem:
    """A web search by the agent."""

    TYPE: ClassVar[str] = "webSearch"
    id: str
    query: str
    action: Any = None


@attrs.frozen(kw_only=True)
class UnknownItem:
    """An item type we do not model (hookPrompt, imageView, contextCompaction, ...), kept raw."""

    type: str
    id: str | None
    raw: Mapping[str, Any]


ThreadItem = (
    UserMessageItem
    | AgentMessageItem
    | ReasoningItem
    | CommandExecutionItem
    | FileChangeItem
    | PlanItem
    | McpToolCallItem
    | WebSearchItem
    | UnknownItem
)
KNOWN_ITEMS: tuple[type[Any], ...] = (
    UserMessageItem,
    AgentMessageItem,
    ReasoningItem,
    CommandExecutionItem,
    FileChangeItem,
    PlanItem,
    McpToolCallItem,
    WebSearchItem,
)
