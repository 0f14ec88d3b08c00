"""The one codex release codexgram is pinned to, and how to read a server's version (pure).

``TESTED_CODEX_VERSION`` is the single source of the pin: the link warns when the app-server reports another
version, the test fixtures npm-install exactly this release, ``scripts/update-codex-schemas`` regenerates
``schemas/`` for it by default, and tests check that ``schemas/CODEX_VERSION`` and the committed transcripts
come from it. To move to a new codex: change it here, run ``scripts/update-codex-schemas`` and
``scripts/record-transcripts``, then fix what the schema and replay tests report.
"""

from __future__ import annotations

import re

TESTED_CODEX_VERSION = "0.169.0"

_VERSION_IN_USER_AGENT = re.compile(r"/(\d+\.\d+\.\d+[0-9A-Za-z.+-]*)")


def server_version_from(user_agent: object) -> str | None:
    """The codex version inside ``initialize``'s ``userAgent`` (``"codexgram/0.169.0 (...)"``), if any."""
    if not isinstance(user_agent, str):
        return None
    match = _VERSION_IN_USER_AGENT.search(user_agent)
    return match.group(1) if match else None
