"""What a chat does with one admitted update (pure): commands, button presses, and where a prompt goes.

:func:`plan_update` maps (update, what the store says about the chat) to a :class:`ChatPlan`, which the chat
actor applies in the SAME transaction that read the context: the session change, the pending thread to
create, the prompt's place in the inbox, the audit rows, the replies (as durable outbox rows) and the
update's ``handled`` mark. So a command answers exactly once, and a prompt is queued exactly once, even if
the process dies at any point. What the chat actor does after the commit (poke a thread, tell it to cancel
or steer, answer the button press) is in the plan too.

The chat never talks to Codex itself: a prompt is queued on a thread key and that thread's actor is poked;
``/cancel`` and the queue's buttons become commands for the thread's actor. So no chat waits on Codex.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import attrs

from codexgram.chat import chat_views as views
from codexgram.chat.outgoing import Outgoing
from codexgram.messages import CancelTurn, DropPrompt, SteerPrompt, ThreadCommand
from codexgram.store.inbox_queries import QUEUED, WAITING
from codexgram.store.rows import InboxRow, SessionRow, ThreadRow, TurnRow, WorkspaceRow
from codexgram.store.turn_queries import THREAD_CREATING, THREAD_LOST, pending_key
from codexgram.telegram.commands import parse_command
from codexgram.telegram.keyboards import (
    ApprovalAction,
    CancelAction,
    InvalidCallback,
    QueuedAction,
    QueuedChoice,
    WorkspacePick,
    decode,
)
from codexgram.telegram.types import CallbackQuery, Message, Update, User


@attrs.frozen(kw_only=True)
class CodexInfo:
    connected: bool
    version: str | None
    problem: str | None = None


@attrs.frozen(kw_only=True)
class ChatContext:
    """What the store (and the link) say about the chat, read in the transaction that applies the plan."""

    now: float
    chat_id: int
    user: User
    bot_username: str | None
    session: SessionRow | None
    workspaces: tuple[WorkspaceRow, ...]
    thread: ThreadRow | None  # the session's thread
    running_turn: TurnRow | None  # its turn that runs (not yet delivered)
    queued: int  # prompts waiting on the session's thread
    waiting: tuple[int, ...]  # this chat's prompts kept until a workspace is chosen
    codex: CodexInfo
    card: InboxRow | None = None  # for a queued message's button: the prompt of its token
    button_turn: TurnRow | None = None  # for a Cancel button: the turn of its token


@attrs.frozen(kw_only=True)
class Audit:
    action: str
    detail: dict[str, Any]


@attrs.frozen(kw_only=True)
class ChatPlan:
    """Everything handling one update does. ``prompt_state``/``thread_key``: the update is a prompt, kept in
    the inbox in that state (else it is marked handled with ``outcome``)."""

    outcome: str
    prompt_state: str | None = None
    thread_key: str | None = None
    session: SessionRow | None = None
    new_thread: ThreadRow | None = None  # a thread to create (under a pending key)
    release_waiting_to: str | None = None  # move the chat's kept prompts to this thread key
    replies: tuple[Outgoing, ...] = ()
    callback_answer: str | None = None  # answer the button press with this text
    audit: tuple[Audit, ...] = ()
    poke: str | None = None  # a thread key whose actor must look at its prompts
    command: tuple[str, ThreadCommand] | None = None  # (thread key, command) after the commit


def _reply(text: str, **fields: Any) -> tuple[Outgoing, ...]:
    return (Outgoing(text=text, **fields),)


def plan_update(update: Update, ctx: ChatContext) -> ChatPlan:
    """The plan for an admitted update (the gate let it through)."""
    if update.callback_query is not None:
        return _plan_button(update.callback_query, ctx)
    if update.edited_message is not None:
        return ChatPlan(outcome="edit ignored", replies=_reply(views.edited_message()))
    message = update.message
    if message is None:
        return ChatPlan(outcome=f"{update.kind} ignored")
    command = parse_command(message, bot_username=ctx.bot_username)
    if command is not None:
        return _plan_command(command.name, command.args, update.update_id, ctx)
    addressed = _addressed(message)
    if addressed is not None:
        # A private chat holds only this bot: a command for another one is a slip, never a prompt for Codex
        # (and one for a bot whose name we do not know is taken as ours).
        name, bot, args = addressed
        if ctx.bot_username is None:
            return _plan_command(name, args, update.update_id, ctx)
        return ChatPlan(outcome="command for another bot", replies=_reply(views.other_bot_command(name, bot)))
    if message.text is None or not message.text.strip():
        return ChatPlan(
            outcome="unsupported message", replies=_reply(views.unsupported_message(_kind_of(message)))
        )
    return _plan_prompt(update.update_id, ctx)


_ADDRESSED = re.compile(r"^/([A-Za-z0-9_]{1,32})@([A-Za-z0-9_]{3,64})(?=\s|$)")


def _addressed(message: Message) -> tuple[str, str, str] | None:
    """(command, bot, arguments) of a ``/command@bot`` that :func:`parse_command` did not take as ours."""
    text = message.text or ""
    if message.entities and not any(e.type == "bot_command" and e.offset == 0 for e in message.entities):
        return None
    match = _ADDRESSED.match(text)
    if match is None:
        return None
    return match.group(1).lower(), match.group(2), text[match.end() :].strip()


def _kind_of(message: Message) -> str:
    if message.photo:
        return "photos"
    if message.document is not None:
        return "files"
    return "this kind of message"


# --- sessions and threads -----------------------------------------------------------------------------------


def _session(ctx: ChatContext) -> SessionRow:
    if ctx.session is not None:
        return ctx.session
    return SessionRow(
        chat_id=ctx.chat_id, workspace=None, thread_id=None, model=None, sandbox=None, updated_at=ctx.now
    )


def _workspace(ctx: ChatContext, name: str | None) -> WorkspaceRow | None:
    return next((w for w in ctx.workspaces if w.name == name), None)


def _new_thread(ctx: ChatContext, update_id: int, workspace: WorkspaceRow, title: str | None) -> ThreadRow:
    return ThreadRow(
        thread_id=pending_key(update_id),
        chat_id=ctx.chat_id,
        workspace=workspace.name,
        cwd=workspace.path,
        title=title,
        status=THREAD_CREATING,
        created_at=ctx.now,
        updated_at=ctx.now,
    )


def _summary(ctx: ChatContext) -> views.ChatSummary:
    session = ctx.session
    thread = ctx.thread
    return views.ChatSummary(
        user_id=ctx.user.id,
        first_name=ctx.user.first_name,
        workspace=_workspace(ctx, session.workspace if session else None),
        thread_id=thread.thread_id if thread is not None and thread.status != THREAD_LOST else None,
        thread_title=thread.title if thread is not None else None,
        thread_creating=thread is not None and thread.status == THREAD_CREATING,
        workspaces=len(ctx.workspaces),
    )


# --- prompts ------------------------------------------------------------------------------------------------


def _plan_prompt(update_id: int, ctx: ChatContext) -> ChatPlan:
    session = _session(ctx)
    thread = ctx.thread
    if thread is not None and thread.status != THREAD_LOST and not ctx.waiting:
        # The session's thread goes on in its cwd, also when its workspace was removed since.
        return ChatPlan(
            outcome="queued", prompt_state=QUEUED, thread_key=thread.thread_id, poke=thread.thread_id
        )
    workspace = _workspace(ctx, session.workspace)
    if workspace is None:
        # Kept until a workspace is chosen; the picker once (not for every message sent meanwhile).
        replies = () if ctx.waiting else (views.workspace_picker(ctx.workspaces, None, kept=True),)
        return ChatPlan(outcome="kept: no workspace", prompt_state=WAITING, replies=replies)
    new = _new_thread(ctx, update_id, workspace, None)
    return ChatPlan(
        outcome="queued",
        prompt_state=QUEUED,
        thread_key=new.thread_id,
        new_thread=new,
        session=attrs.evolve(session, thread_id=new.thread_id, updated_at=ctx.now),
        poke=new.thread_id,
    )


# --- commands -----------------------------------------------------------------------------------------------


def _plan_command(name: str, args: str, update_id: int, ctx: ChatContext) -> ChatPlan:
    outcome = f"command /{name}"
    if name == "start":
        return ChatPlan(outcome=outcome, replies=_reply(views.start_text(_summary(ctx))))
    if name == "help":
        return ChatPlan(outcome=outcome, replies=_reply(views.help_text()))
    if name == "status":
        return ChatPlan(outcome=outcome, replies=_reply(views.status_text(_status(ctx))))
    if name == "workspaces":
        current = ctx.session.workspace if ctx.session else None
        return ChatPlan(outcome=outcome, replies=(views.workspaces_message(ctx.workspaces, current),))
    if name == "workspace":
        if not args:
            current = ctx.session.workspace if ctx.session else None
            return ChatPlan(outcome=outcome, replies=(views.workspace_picker(ctx.workspaces, current),))
        return _choose_workspace(args.split()[0], update_id, ctx, outcome=outcome)
    if name == "new":
        return _plan_new(args, update_id, ctx, outcome)
    if name == "cancel":
        return _plan_cancel(ctx, outcome)
    if name in views.LATER_COMMANDS:
        return ChatPlan(outcome=outcome, replies=_reply(views.not_yet(name)))
    return ChatPlan(outcome=f"unknown command /{name}", replies=_reply(views.unknown_command(name)))


def _status(ctx: ChatContext) -> views.StatusView:
    session = ctx.session
    turn = ctx.running_turn
    return views.StatusView(
        summary=_summary(ctx),
        model=session.model if session else None,
        sandbox=session.sandbox if session else None,
        approval_policy=session.approval_policy if session else None,
        turn_running_for=None if turn is None else max(0.0, ctx.now - turn.started_at),
        queued=ctx.queued,
        codex_connected=ctx.codex.connected,
        codex_version=ctx.codex.version,
        codex_problem=ctx.codex.problem,
    )


def _choose_workspace(
    name: str, update_id: int, ctx: ChatContext, *, outcome: str, button: bool = False
) -> ChatPlan:
    workspace = _workspace(ctx, name)
    answer = f"Workspace: {name}" if button else None
    if workspace is None:
        return ChatPlan(
            outcome=f"{outcome}: unknown workspace",
            replies=(views.unknown_workspace(name, ctx.workspaces),),
            callback_answer="No such workspace any more." if button else None,
        )
    session = _session(ctx)
    if session.workspace == workspace.name and not ctx.waiting:
        return ChatPlan(
            outcome=outcome,
            replies=_reply(views.workspace_chosen(workspace, unchanged=True)),
            callback_answer=answer,
        )
    audit = (Audit(action="choose-workspace", detail={"chat_id": ctx.chat_id, "workspace": workspace.name}),)
    if not ctx.waiting:
        return ChatPlan(
            outcome=outcome,
            session=attrs.evolve(session, workspace=workspace.name, thread_id=None, updated_at=ctx.now),
            replies=_reply(views.workspace_chosen(workspace)),
            callback_answer=answer,
            audit=audit,
        )
    # Messages were kept for want of a workspace: they start a thread there now, in order.
    new = _new_thread(ctx, ctx.waiting[0], workspace, None)
    return ChatPlan(
        outcome=outcome,
        session=attrs.evolve(session, workspace=workspace.name, thread_id=new.thread_id, updated_at=ctx.now),
        new_thread=new,
        release_waiting_to=new.thread_id,
        replies=_reply(views.workspace_chosen(workspace, sending=len(ctx.waiting))),
        callback_answer=answer,
        audit=audit,
        poke=new.thread_id,
    )


def _plan_new(title: str, update_id: int, ctx: ChatContext, outcome: str) -> ChatPlan:
    session = _session(ctx)
    workspace = _workspace(ctx, session.workspace)
    if workspace is None:
        return ChatPlan(
            outcome=f"{outcome}: no workspace",
            replies=(
                Outgoing(text=views.need_workspace_for_new()),
                views.workspace_picker(ctx.workspaces, None),
            ),
        )
    clean_title = " ".join(title.split())[:100] or None
    new = _new_thread(ctx, update_id, workspace, clean_title)
    return ChatPlan(
        outcome=outcome,
        session=attrs.evolve(session, thread_id=new.thread_id, updated_at=ctx.now),
        new_thread=new,
        replies=_reply(views.new_thread_text(workspace, clean_title)),
        audit=(Audit(action="new-thread", detail={"chat_id": ctx.chat_id, "workspace": workspace.name}),),
        poke=new.thread_id,
    )


def _plan_cancel(ctx: ChatContext, outcome: str) -> ChatPlan:
    turn = ctx.running_turn
    thread = ctx.thread
    if thread is None:
        return ChatPlan(outcome=f"{outcome}: nothing running", replies=_reply(views.nothing_running()))
    if turn is None:
        if ctx.queued and thread.status != THREAD_LOST:
            # A turn is being started right now (its record is not written yet), or will be once Codex has
            # created the thread: the thread's actor stops it as soon as it runs, or does not send it.
            return ChatPlan(
                outcome=outcome,
                replies=_reply(views.cancelling()),
                command=(thread.thread_id, CancelTurn(turn_id=None)),
            )
        return ChatPlan(outcome=f"{outcome}: nothing running", replies=_reply(views.nothing_running()))
    return ChatPlan(
        outcome=outcome,
        replies=_reply(views.cancelling()),
        audit=(Audit(action="cancel-turn", detail={"chat_id": ctx.chat_id, "turn_id": turn.turn_id}),),
        command=(turn.thread_id, CancelTurn(turn_id=turn.turn_id)),
    )


# --- buttons ------------------------------------------------------------------------------------------------


def _plan_button(query: CallbackQuery, ctx: ChatContext) -> ChatPlan:
    action = decode(query.data)
    if isinstance(action, InvalidCallback):
        return ChatPlan(outcome="button: invalid", callback_answer=action.reason)
    if isinstance(action, WorkspacePick):
        return _choose_workspace(action.name, 0, ctx, outcome="button: workspace", button=True)
    if isinstance(action, ApprovalAction):
        return ChatPlan(outcome="button: approval (none pending)", callback_answer=views.stale_button())
    if isinstance(action, CancelAction):
        return _cancel_button(ctx)
    return _queued_button(action, ctx)


def _cancel_button(ctx: ChatContext) -> ChatPlan:
    turn = ctx.button_turn
    if turn is None:
        return ChatPlan(outcome="button: cancel, stale", callback_answer=views.stale_button())
    if not _made_for(turn.chat_id, turn.user_id, ctx):
        return ChatPlan(outcome="button: cancel, not theirs", callback_answer=views.not_your_button())
    if turn.delivered:
        return ChatPlan(outcome="button: cancel, turn over", callback_answer="This turn has already ended.")
    return ChatPlan(
        outcome="button: cancel",
        callback_answer="Stopping…",
        audit=(Audit(action="cancel-turn", detail={"chat_id": ctx.chat_id, "turn_id": turn.turn_id}),),
        command=(turn.thread_id, CancelTurn(turn_id=turn.turn_id)),
    )


def _queued_button(action: QueuedAction, ctx: ChatContext) -> ChatPlan:
    row = ctx.card
    if row is None or row.thread_key is None:
        return ChatPlan(outcome="button: queued, stale", callback_answer=views.stale_button())
    if not _made_for(row.chat_id, row.user_id, ctx):
        return ChatPlan(outcome="button: queued, not theirs", callback_answer=views.not_your_button())
    if row.state != QUEUED:
        return ChatPlan(
            outcome="button: queued, already sent", callback_answer="This message was already sent."
        )
    if action.choice is QueuedChoice.STEER:
        return ChatPlan(
            outcome="button: steer",
            callback_answer="Steering into the running turn…",
            command=(row.thread_key, SteerPrompt(update_id=row.update_id)),
        )
    return ChatPlan(
        outcome="button: drop",
        callback_answer="Cancelled.",
        command=(row.thread_key, DropPrompt(update_id=row.update_id)),
    )


def _made_for(chat_id: int, user_id: int | None, ctx: ChatContext) -> bool:
    return chat_id == ctx.chat_id and (user_id is None or user_id == ctx.user.id)


def refusal_audit(update: Update, chat_type: str) -> dict[str, Any]:
    return {"update_id": update.update_id, "kind": update.kind, "chat_type": chat_type}


def waiting_ids(rows: Sequence[InboxRow]) -> tuple[int, ...]:
    return tuple(row.update_id for row in rows)
