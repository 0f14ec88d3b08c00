"""The internal message spec: every message an actor receives, one union per mailbox.

Rules: every message is a frozen, keyword-only attrs class; its docstring says who sends it to whom; a request
that needs an answer carries a one-shot ``reply: Reply[...]`` (see ``codexgram.actors.runtime``). Messages hold
plain data (ids, strings, attrs values), never live resources other than reply channels.

Each section below belongs to one mailbox and ends with that mailbox's union type. Add messages only to the
section of the mailbox that receives them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from codexgram.actors.runtime import Reply

T = TypeVar("T")

# --- Repository mailbox ------------------------------------------------------------------------------------
# (section owned by the foundation: store/ and actors/repository.py)

# --- end Repository mailbox --------------------------------------------------------------------------------

# --- Outbox mailbox ----------------------------------------------------------------------------------------
# (section owned by the Telegram side: actors/outbox.py)

# --- end Outbox mailbox ------------------------------------------------------------------------------------

# --- CodexLink mailbox -------------------------------------------------------------------------------------
# (section owned by the Codex link: actors/codex_link.py)

# --- end CodexLink mailbox ---------------------------------------------------------------------------------

# --- ThreadActor mailbox -----------------------------------------------------------------------------------
# (events the CodexLink routes to the actor that owns a Codex thread)

# --- end ThreadActor mailbox -------------------------------------------------------------------------------
