"""The admin CLI round trip through typer's CliRunner, including every bad-input case.

Each refused command must exit non-zero with ONE line on stderr and leave the database exactly as it was.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from codexgram.cli.main import app
from codexgram.store.db import open_database

runner = CliRunner()


def invoke(*args: str) -> Any:
    return runner.invoke(app, list(args), catch_exceptions=False)


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, plus the schema version: equal snapshots mean an unchanged database."""
    conn = open_database(db)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")]
        state = {table: conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall() for table in tables}
        state["user_version"] = [(conn.pragma("user_version"),)]
        return state
    finally:
        conn.close()


def audit_actions(db: Path) -> list[tuple[str, dict[str, Any]]]:
    conn = open_database(db)
    try:
        return [
            (action, json.loads(detail))
            for action, detail in conn.execute("SELECT action, detail FROM audit_log ORDER BY id")
        ]
    finally:
        conn.close()


def test_round_trip(cli_env: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "project"
    workdir.mkdir()

    result = invoke("admin", "allow-user", "12345", "--name", "Ada")
    assert result.exit_code == 0, result.output
    assert "allowed user 12345" in result.stdout
    assert invoke("admin", "allow-user", "678").exit_code == 0

    listed = invoke("admin", "list-users", "--json")
    assert listed.exit_code == 0
    users = json.loads(listed.stdout)
    assert [(u["user_id"], u["name"]) for u in users] == [(678, None), (12345, "Ada")]
    assert "12345\tAda" in invoke("admin", "list-users").stdout

    result = invoke("admin", "add-workspace", "proj", str(workdir))
    assert result.exit_code == 0, result.output
    assert result.stderr == ""  # an existing directory: no warning
    result = invoke("admin", "add-workspace", "demo", "/tmp/x/not-there//sub/")
    assert result.exit_code == 0, result.output
    assert "does not exist here" in result.stderr
    assert "normalised to /tmp/x/not-there/sub" in result.stderr

    workspaces = json.loads(invoke("admin", "list-workspaces", "--json").stdout)
    assert [(w["name"], w["path"]) for w in workspaces] == [
        ("demo", "/tmp/x/not-there/sub"),
        ("proj", str(workdir)),
    ]
    assert isinstance(workspaces[0]["added_at"], float)
    assert f"proj\t{workdir}" in invoke("admin", "list-workspaces").stdout

    assert invoke("admin", "remove-workspace", "demo").exit_code == 0
    assert invoke("admin", "remove-user", "678").exit_code == 0
    assert [w["name"] for w in json.loads(invoke("admin", "list-workspaces", "--json").stdout)] == ["proj"]
    assert [u["user_id"] for u in json.loads(invoke("admin", "list-users", "--json").stdout)] == [12345]

    # Every change wrote its audit row (and the reads did not).
    assert audit_actions(cli_env) == [
        ("allow-user", {"user_id": 12345, "name": "Ada"}),
        ("allow-user", {"user_id": 678, "name": None}),
        ("add-workspace", {"name": "proj", "path": str(workdir)}),
        ("add-workspace", {"name": "demo", "path": "/tmp/x/not-there/sub"}),
        ("remove-workspace", {"name": "demo"}),
        ("remove-user", {"user_id": 678}),
    ]
    audit = json.loads(invoke("admin", "audit", "--json").stdout)
    assert [row["action"] for row in audit][-1] == "remove-user"
    assert audit[0]["actor"].startswith("cli")


def test_empty_lists_say_what_to_do(cli_env: Path) -> None:
    assert "allow-user" in invoke("admin", "list-users").stdout
    assert "add-workspace" in invoke("admin", "list-workspaces").stdout
    assert json.loads(invoke("admin", "list-users", "--json").stdout) == []


@pytest.fixture
def populated(cli_env: Path, tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a directory")
    assert invoke("admin", "allow-user", "1").exit_code == 0
    assert invoke("admin", "add-workspace", "demo", str(tmp_path)).exit_code == 0
    return cli_env


BAD_INPUTS = [
    # (arguments, a phrase the one-line error must contain): refused by our validation, exit code 1
    (["allow-user", "abc"], "invalid user id"),
    (["allow-user", "0"], "invalid user id"),
    (["allow-user", "1.5"], "invalid user id"),
    (["allow-user", "12345678901234567"], "invalid user id"),
    (["allow-user", "1"], "already allowed"),
    (["allow-user", "2", "--name", ""], "must not be empty"),
    (["allow-user", "2", "--name", "x" * 65], "longer than 64"),
    (["allow-user", "2", "--name", "evil\nname"], "control character"),
    (["remove-user", "999"], "not on the allowlist"),
    (["remove-user", "nope"], "invalid user id"),
    (["add-workspace", "demo", "/srv/other"], "exists already"),
    (["add-workspace", "bad name", "/srv/x"], "invalid workspace name"),
    (["add-workspace", "x" * 33, "/srv/x"], "invalid workspace name"),
    (["add-workspace", "rel", "relative/path"], "must be absolute"),
    (["add-workspace", "tilde", "~/project"], "must be absolute"),
    (["add-workspace", "dots", "/srv/../etc"], "'..'"),
    (["add-workspace", "root", "/"], "filesystem root"),
    (["add-workspace", "root2", "//./"], "filesystem root"),
    (["add-workspace", "nul", "/srv/a\x00b"], "NUL"),
    (["add-workspace", "ctl", "/srv/a\x1bb"], "control character"),
    (["add-workspace", "empty", ""], "empty"),
    (["add-workspace", "file", "{tmp}/a-file"], "not a directory"),
    (["add-workspace", "under-file", "{tmp}/a-file/inside"], "under an existing file"),
    (["remove-workspace", "nope"], "no workspace named"),
    (["remove-workspace", "bad/name"], "invalid workspace name"),
]


# Refused by typer's own parsing before our code runs (usage errors, exit code 2): one line as well, naming
# the command's --help, never typer's usage block or error panel.
USAGE_ERRORS = [
    (["allow-user"], "Missing argument 'user_id'", "codexgram admin allow-user"),
    (["add-workspace", "onlyname"], "Missing argument 'path'", "codexgram admin add-workspace"),
    (["add-workspace", "-x", "/srv/x"], "No such option: -x", "codexgram admin add-workspace"),
    (["list-users", "--bogus"], "No such option: --bogus", "codexgram admin list-users"),
    (["list-workspaces", "--jsn"], "No such option: --jsn", "codexgram admin list-workspaces"),
    (["allow-user", "1", "2"], "unexpected extra argument", "codexgram admin allow-user"),
    # (the parser gives this one no context, so the pointer is the root's --help)
    (["allow-user", "3", "--name"], "Option '--name' requires an argument", "codexgram"),
    (["no-such-command"], "No such command 'no-such-command'", "codexgram admin"),
    (["audit", "--limit", "many"], "Invalid value for '--limit'", "codexgram admin audit"),
    (["audit", "--limit", "0"], "Invalid value for '--limit'", "codexgram admin audit"),
]


def assert_one_error_line(stderr: str, phrase: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: "), stderr
    assert phrase in lines[0], stderr
    return lines[0]


@pytest.mark.parametrize(("args", "phrase"), BAD_INPUTS, ids=[" ".join(a)[:40] for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_non_zero_and_changes_nothing(
    populated: Path, tmp_path: Path, args: list[str], phrase: str
) -> None:
    before = snapshot(populated)
    args = [arg.replace("{tmp}", str(tmp_path)) for arg in args]
    result = invoke("admin", *args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert_one_error_line(result.stderr, phrase)
    assert snapshot(populated) == before


@pytest.mark.parametrize(
    ("args", "phrase", "command"), USAGE_ERRORS, ids=[" ".join(a)[:40] for a, _, _ in USAGE_ERRORS]
)
def test_usage_errors_are_one_line_too(populated: Path, args: list[str], phrase: str, command: str) -> None:
    before = snapshot(populated)
    result = invoke("admin", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    line = assert_one_error_line(result.stderr, phrase)
    assert line.endswith(f"(see '{command} --help')")
    assert snapshot(populated) == before


def test_a_usage_error_of_the_root_command_is_one_line(cli_env: Path) -> None:
    result = invoke("--bogus", "admin", "list-users")
    assert result.exit_code == 2
    assert_one_error_line(result.stderr, "No such option: --bogus")


def test_help_still_works(cli_env: Path) -> None:
    assert "allow-user" in invoke("admin", "--help").stdout
    bare = invoke("admin")  # a bare group prints its help (and exits 2, as click does)
    assert "allow-user" in bare.output


def test_a_bad_setting_is_one_line_naming_the_key(cli_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODEXGRAM_LOG_LEVEL", "LOUD")
    result = invoke("admin", "list-users")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith("error: CODEXGRAM_LOG_LEVEL: ")


def test_a_too_new_database_is_one_line(cli_env: Path) -> None:
    conn = open_database(cli_env)
    conn.pragma("user_version", 99)
    conn.close()
    result = invoke("admin", "list-users")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "schema version 99" in result.stderr
    assert "upgrade codexgram" in result.stderr


def test_config_file_and_env_file_options(
    cli_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CODEXGRAM_DB")
    toml_db = tmp_path / "from-toml.sqlite3"
    (tmp_path / "c.toml").write_text(f'db_path = "{toml_db}"\n')
    assert invoke("--config", str(tmp_path / "c.toml"), "admin", "allow-user", "5").exit_code == 0
    assert toml_db.exists()
    env_db = tmp_path / "from-env-file.sqlite3"
    (tmp_path / "other.env").write_text(f"CODEXGRAM_DB={env_db}\n")
    assert invoke("--env-file", str(tmp_path / "other.env"), "admin", "allow-user", "6").exit_code == 0
    assert env_db.exists()


def test_an_env_file_named_but_missing_is_an_error(cli_env: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.env"
    result = invoke("--env-file", str(missing), "admin", "list-users")
    assert result.exit_code == 2
    assert result.stderr == f"error: --env-file {missing}: no such file\n"
    assert invoke("admin", "list-users").exit_code == 0  # no ./.env is fine when none is named
