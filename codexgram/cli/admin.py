"""``codexgram admin ...``: the allowlist, the workspaces and the audit log, edited in the SQLite file.

The bot may be running: this is a second process on the same file (WAL and a busy timeout make that safe),
and the bot reads these tables on every use, so changes count without a restart. Every command is ONE
transaction: the change and its audit row land together or not at all. Input is validated before the file
is opened, so bad input exits non-zero with one line and leaves the database unchanged.
"""

from __future__ import annotations

import functools
import getpass
import json
import re
import time
import unicodedata
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import apsw
import attrs
import typer

from codexgram.cli.common import one_line_errors, settings_from
from codexgram.errors import InputError
from codexgram.store import queries
from codexgram.store.db import immediate_transaction, open_database
from codexgram.workspace_paths import (
    check_workspace_on_disk,
    validate_workspace_name,
    validate_workspace_path,
)

app = typer.Typer(
    name="admin",
    help="Manage who may use the bot and which workspaces Codex may work in.",
    no_args_is_help=True,
)

MAX_NAME_LENGTH = 64
# Telegram user ids are positive and fit in 52 bits; a generous upper bound keeps typos out.
_USER_ID = re.compile(r"[1-9][0-9]{0,15}")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (e.g. an arbitrary uid in a container)
        return "cli"


def parse_user_id(raw: str) -> int:
    """A Telegram user id: a positive whole number. ``InputError`` otherwise."""
    if not _USER_ID.fullmatch(raw.strip()):
        raise InputError(f"invalid user id {raw!r}: expected a positive whole number (the Telegram user id)")
    return int(raw)


def parse_user_name(raw: str | None) -> str | None:
    """An optional note naming the user: at most 64 printable characters."""
    if raw is None:
        return None
    name = raw.strip()
    if not name:
        raise InputError("the --name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InputError(f"the --name is longer than {MAX_NAME_LENGTH} characters")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InputError("the --name contains a control character")
    return name


T = TypeVar("T")


def _read(ctx: typer.Context, query: Callable[[apsw.Connection], T]) -> T:
    """Run ``query`` in one read transaction (deferred: it does not block the bot's writes)."""
    conn = open_database(settings_from(ctx).db_path)
    try:
        with conn:
            result = query(conn)
    finally:
        conn.close()
    return result


def _change(
    ctx: typer.Context, *, action: str, detail: dict[str, Any], change: Callable[..., object]
) -> None:
    """Run ``change(conn, at=now)`` and write its audit row in ONE transaction: both land or neither."""
    conn = open_database(settings_from(ctx).db_path)
    try:
        with immediate_transaction(conn):
            now = time.time()
            change(conn, at=now)
            queries.write_audit(conn, actor=_who(), action=action, detail=detail, at=now)
    finally:
        conn.close()


def _print_json(rows: list[Any]) -> None:
    typer.echo(json.dumps([attrs.asdict(row) for row in rows], indent=2, ensure_ascii=False))


@app.command("allow-user")
def allow_user(
    ctx: typer.Context,
    user_id: Annotated[str, typer.Argument(help="The Telegram user id (a number; ask @userinfobot).")],
    name: Annotated[str | None, typer.Option("--name", help="A note saying who this is.")] = None,
) -> None:
    """Allow a Telegram user to talk to the bot."""
    with one_line_errors():
        uid = parse_user_id(user_id)
        note = parse_user_name(name)
        _change(
            ctx,
            action="allow-user",
            detail={"user_id": uid, "name": note},
            change=functools.partial(queries.allow_user, user_id=uid, name=note),
        )
    typer.echo(f"allowed user {uid}" + (f" ({note})" if note else ""))


@app.command("remove-user")
def remove_user(
    ctx: typer.Context, user_id: Annotated[str, typer.Argument(help="The Telegram user id.")]
) -> None:
    """Take a user off the allowlist (their chats are ignored from the next message on)."""
    with one_line_errors():
        uid = parse_user_id(user_id)
        _change(
            ctx,
            action="remove-user",
            detail={"user_id": uid},
            change=lambda conn, at: queries.remove_user(conn, uid),
        )
    typer.echo(f"removed user {uid}")


@app.command("list-users")
def list_users(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the allowed users."""
    with one_line_errors():
        users = _read(ctx, queries.list_users)
    if as_json:
        _print_json(users)
    elif not users:
        typer.echo("no users allowed yet: codexgram admin allow-user USER_ID")
    else:
        for user in users:
            typer.echo(f"{user.user_id}\t{user.name or ''}")


@app.command("add-workspace")
def add_workspace(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A short name to pick it by in the chat.")],
    path: Annotated[str, typer.Argument(help="The absolute path on the machine where Codex runs.")],
) -> None:
    """Add a workspace: a directory Codex may work in."""
    with one_line_errors():
        valid_name = validate_workspace_name(name)
        valid = validate_workspace_path(path)
        warning = check_workspace_on_disk(valid.path)
        _change(
            ctx,
            action="add-workspace",
            detail={"name": valid_name, "path": valid.path},
            change=functools.partial(queries.add_workspace, name=valid_name, path=valid.path),
        )
    if valid.normalised:
        typer.echo(f"note: the path was normalised to {valid.path}", err=True)
    if warning:
        typer.echo(warning, err=True)
    typer.echo(f"added workspace {valid_name}: {valid.path}")


@app.command("remove-workspace")
def remove_workspace(
    ctx: typer.Context, name: Annotated[str, typer.Argument(help="The workspace's name.")]
) -> None:
    """Remove a workspace (threads started in it keep their directory)."""
    with one_line_errors():
        valid_name = validate_workspace_name(name)
        _change(
            ctx,
            action="remove-workspace",
            detail={"name": valid_name},
            change=lambda conn, at: queries.remove_workspace(conn, valid_name),
        )
    typer.echo(f"removed workspace {valid_name}")


@app.command("list-workspaces")
def list_workspaces(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the workspaces."""
    with one_line_errors():
        workspaces = _read(ctx, queries.list_workspaces)
    if as_json:
        _print_json(workspaces)
    elif not workspaces:
        typer.echo("no workspaces yet: codexgram admin add-workspace NAME /absolute/path")
    else:
        for workspace in workspaces:
            typer.echo(f"{workspace.name}\t{workspace.path}")


@app.command("audit")
def audit(
    ctx: typer.Context,
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10_000, help="How many rows.")] = 50,
) -> None:
    """Show the newest administrative actions."""
    with one_line_errors():
        rows = _read(ctx, functools.partial(queries.list_audit, limit=limit))
    if as_json:
        typer.echo(
            json.dumps(
                [attrs.asdict(row) | {"detail": json.loads(row.detail)} for row in rows],
                indent=2,
                ensure_ascii=False,
            )
        )
    else:
        for row in rows:
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.at))
            typer.echo(f"{stamp}\t{row.actor}\t{row.action}\t{row.detail}")
