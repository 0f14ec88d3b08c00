"""Workspace name and path validation (pure string rules, plus the one look at the disk)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexgram.errors import WorkspacePathError
from codexgram.workspace_paths import (
    check_workspace_on_disk,
    validate_workspace_name,
    validate_workspace_path,
)


@pytest.mark.parametrize(
    ("raw", "expected", "normalised"),
    [
        ("/srv/project", "/srv/project", False),
        ("/srv/project/", "/srv/project", True),
        ("//srv///project", "/srv/project", True),
        ("/srv/./project/.", "/srv/project", True),
        ("/home/dev/My Project", "/home/dev/My Project", False),
        ("/home/dev/проект", "/home/dev/проект", False),
    ],
)
def test_valid_paths(raw: str, expected: str, normalised: bool) -> None:
    valid = validate_workspace_path(raw)
    assert valid.path == expected
    assert valid.normalised is normalised


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "empty"),
        ("relative/path", "absolute"),
        ("~/project", "absolute"),
        ("/srv/../etc", "'..'"),
        ("/srv/project/..", "'..'"),
        ("/", "root"),
        ("//", "root"),
        ("/./", "root"),
        ("/srv/a\x00b", "NUL"),
        ("/srv/a\nb", "control"),
        ("/srv/a\tb", "control"),
        ("/srv/a\x7fb", "control"),
        ("/srv/a\u202eb", "control"),  # right-to-left override: makes a path display as something else
        ("/" + "a" * 5000, "longer"),
    ],
)
def test_invalid_paths(raw: str, reason: str) -> None:
    with pytest.raises(WorkspacePathError, match=reason) as caught:
        validate_workspace_path(raw)
    assert "\n" not in str(caught.value)  # one line, whatever the input


@given(st.lists(st.sampled_from(["/", ".", "..", "a", "b c", "é"]), max_size=30).map("".join))
def test_a_valid_result_is_stable_and_clean(raw: str) -> None:
    try:
        valid = validate_workspace_path(raw)
    except WorkspacePathError:
        return
    again = validate_workspace_path(valid.path)
    assert again.path == valid.path
    assert not again.normalised
    assert valid.path.startswith("/")
    assert valid.path != "/"
    assert ".." not in valid.path.split("/")
    assert "//" not in valid.path
    assert not valid.path.endswith("/")


@pytest.mark.parametrize("name", ["demo", "my-app", "app_2", "v1.2", "A" * 32, "0start"])
def test_valid_names(name: str) -> None:
    assert validate_workspace_name(name) == name


@pytest.mark.parametrize("name", ["", "-dash", ".hidden", "has space", "a/b", "x" * 33, "ünï", "a\nb"])
def test_invalid_names(name: str) -> None:
    with pytest.raises(WorkspacePathError, match="invalid workspace name"):
        validate_workspace_name(name)


def test_on_disk_directory_missing_and_file(tmp_path: Path) -> None:
    assert check_workspace_on_disk(str(tmp_path)) is None
    warning = check_workspace_on_disk(str(tmp_path / "absent"))
    assert warning is not None
    assert "does not exist here" in warning
    file = tmp_path / "file.txt"
    file.write_text("x")
    with pytest.raises(WorkspacePathError, match="not a directory"):
        check_workspace_on_disk(str(file))
    with pytest.raises(WorkspacePathError, match="under an existing file"):
        check_workspace_on_disk(str(file / "inside"))
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    assert check_workspace_on_disk(str(link)) is None  # a symlink to a directory is a directory
