"""Validation of workspace names and paths (pure: string rules only, plus one explicit look at the disk).

A workspace path is a host path that Codex uses as its working directory. The bot never reads it; it may even
run in a container that cannot see it. So the rules are about the *text*: absolute, no ``..`` segments (a
path that climbs is refused, not resolved: the operator should say what they mean), no NUL or control
characters, not the filesystem root. Redundant slashes, ``.`` segments and a trailing slash are harmless and
are normalised away (the caller is told, so it can say so). Only :func:`check_workspace_on_disk` looks at the
filesystem: an existing non-directory is refused, a missing path is accepted with a warning.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from typing import Final

import attrs

from codexgram.errors import WorkspacePathError

MAX_PATH_LENGTH: Final = 4096
WORKSPACE_NAME: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}")


@attrs.frozen(kw_only=True)
class ValidPath:
    """A validated workspace path. ``normalised`` is True when ``path`` differs from what was given."""

    path: str
    normalised: bool


def _has_control_character(text: str) -> bool:
    # Category C* covers C0/C1 controls (incl. NUL, newline, tab, DEL), format characters such as
    # right-to-left overrides, and unassigned/surrogate code points: none belongs in a path shown to people.
    return any(unicodedata.category(char).startswith("C") for char in text)


def validate_workspace_path(raw: str) -> ValidPath:
    """Check and normalise a workspace path. Raises ``WorkspacePathError`` with a one-line reason."""
    if raw == "":
        raise WorkspacePathError("the workspace path is empty")
    if "\x00" in raw:
        raise WorkspacePathError("the workspace path contains a NUL character")
    if _has_control_character(raw):
        raise WorkspacePathError("the workspace path contains a control character")
    if len(raw) > MAX_PATH_LENGTH:
        raise WorkspacePathError(f"the workspace path is longer than {MAX_PATH_LENGTH} characters")
    if not raw.startswith("/"):
        raise WorkspacePathError(f"the workspace path must be absolute (start with /): {raw!r}")
    segments = raw.split("/")
    if ".." in segments:
        raise WorkspacePathError(f"the workspace path must not contain '..' segments: {raw!r}")
    kept = [segment for segment in segments if segment not in ("", ".")]
    if not kept:
        raise WorkspacePathError("the workspace path must not be the filesystem root")
    path = "/" + "/".join(kept)
    return ValidPath(path=path, normalised=path != raw)


def validate_workspace_name(raw: str) -> str:
    """Names are typed in the chat: 1-32 of ``A-Z a-z 0-9 _ . -``, starting with a letter or digit."""
    if not WORKSPACE_NAME.fullmatch(raw):
        raise WorkspacePathError(
            f"invalid workspace name {raw!r}: use 1-32 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return raw


def check_workspace_on_disk(path: str) -> str | None:
    """Look at ``path`` where this process runs. Returns a warning to show, or None if it is a directory.

    Error handling: ``WorkspacePathError`` if it exists and is not a directory (following symlinks).
    A missing or unreadable path is a warning only: the bot may run where the host path is not visible.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"warning: {path} does not exist here (fine if the bot or Codex runs where it does)"
    except NotADirectoryError:
        # A part of the path is an existing file (``/etc/passwd/x``): no host could have a directory there.
        raise WorkspacePathError(f"{path} lies under an existing file, not a directory") from None
    except OSError as exc:
        return f"warning: cannot look at {path} here ({exc.strerror}); adding it anyway"
    if not stat.S_ISDIR(mode):
        raise WorkspacePathError(f"{path} exists and is not a directory")
    return None
