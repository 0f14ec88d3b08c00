"""The pinned codex version is one constant, and what was generated or recorded from the binary matches it.

Bumping ``TESTED_CODEX_VERSION`` without regenerating ``schemas/`` (``scripts/update-codex-schemas``) or
re-recording the transcripts (``scripts/record-transcripts``) fails here, naming what is stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from codexgram.codex.version import TESTED_CODEX_VERSION, server_version_from

ROOT = Path(__file__).resolve().parents[3]
TRANSCRIPTS = sorted((ROOT / "tests" / "replay" / "transcripts").glob("*.jsonl"))


@pytest.mark.parametrize(
    ("user_agent", "version"),
    [
        ("codexgram/0.169.0 (Ubuntu 22.4.0; x86_64) xterm (codexgram; 0.1.0)", "0.169.0"),
        ("codex_cli_rs/0.170.0-alpha.3 (Linux)", "0.170.0-alpha.3"),
        ("no version here", None),
        (None, None),
        (42, None),
    ],
)
def test_server_version_is_read_from_the_user_agent(user_agent: object, version: str | None) -> None:
    assert server_version_from(user_agent) == version


def test_the_committed_schemas_come_from_the_pinned_version() -> None:
    assert (ROOT / "schemas" / "CODEX_VERSION").read_text().strip() == TESTED_CODEX_VERSION


def test_the_schema_script_defaults_to_the_pinned_version() -> None:
    script = (ROOT / "scripts" / "update-codex-schemas").read_text()
    assert "codexgram/codex/version.py" in script
    assert not re.search(r"\d+\.\d+\.\d+", script), "the script must not pin a version of its own"


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_every_transcript_was_recorded_from_the_pinned_version(path: Path) -> None:
    agents = [
        frame["msg"]["result"]["userAgent"]
        for frame in map(json.loads, path.read_text().splitlines())
        if frame["dir"] == "recv" and isinstance(frame["msg"].get("result"), dict)
        if "userAgent" in frame["msg"]["result"]
    ]
    assert agents, f"{path.name}: no initialize answer"
    assert {server_version_from(agent) for agent in agents} == {TESTED_CODEX_VERSION}
