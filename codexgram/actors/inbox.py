"""The hand-off from the poller to the chats: every update is recorded before it is acknowledged.

The poller acknowledges an update (and persists the next offset) when its consumer returns.
:meth:`Inbox.accept` returns only once the update is a row of the ``inbox`` table, keyed by ``update_id``
(so a duplicate delivery after a restart is recognised and not recorded twice), and then wakes the chat's
actor. A crash at any point loses nothing: before the row is committed Telegram still has the update (the
offset was not advanced); after it, the row is there, and the next start wakes every chat with rows not
handled yet and every thread with prompts or turns not finished (:func:`recover`). Handling marks the row
in the same transaction as its effect, so nothing is handled twice either.

Handled rows are pruned after ``keep_handled`` seconds: by then the stored offset is far past them.
"""

from __future__ import annotations

import functools
import json
import logging

import apsw

from codexgram.actors.services import Services
from codexgram.chat.gate import sender_of
from codexgram.errors import ActorGone
from codexgram.store import queries
from codexgram.telegram.converter import unstructure
from codexgram.telegram.types import Update

log = logging.getLogger(__name__)

KEEP_HANDLED = 2 * 24 * 3600.0
PRUNE_EVERY = 1000  # updates


class Inbox:
    """The poller's consumer (see the module docstring)."""

    def __init__(self, services: Services, *, keep_handled: float = KEEP_HANDLED) -> None:
        self._services = services
        self._keep_handled = keep_handled
        self._since_prune = 0
        self.recorded = 0
        self.duplicates = 0

    def __repr__(self) -> str:
        return f"<Inbox recorded={self.recorded} duplicates={self.duplicates}>"

    async def accept(self, update: Update) -> None:
        chat = update.chat
        if chat is None:
            log.debug("update %d (%s) has no chat: nothing to do", update.update_id, update.kind)
            return
        services = self._services
        sender = sender_of(update)
        work = functools.partial(
            queries.inbox_add,
            update_id=update.update_id,
            chat_id=chat.id,
            user_id=sender.id if sender is not None else None,
            kind=update.kind,
            payload=json.dumps(unstructure(update), ensure_ascii=False, separators=(",", ":")),
            received_at=services.clock(),
        )
        if await services.repository.run(work, what="inbox_add"):
            self.recorded += 1
        else:
            self.duplicates += 1
            log.info("update %d was recorded before; not again", update.update_id)
        try:
            (await services.chats.get(chat.id)).wake()
        except ActorGone:
            log.warning("chat %d could not be woken (shutting down?); its update waits in the inbox", chat.id)
        self._since_prune += 1
        if self._since_prune >= PRUNE_EVERY:
            self._since_prune = 0
            await self._prune()

    async def _prune(self) -> None:
        before = self._services.clock() - self._keep_handled

        def work(conn: apsw.Connection) -> int:
            return queries.inbox_prune(conn, handled_before=before)

        pruned = await self._services.repository.run(work, what="inbox_prune")
        if pruned:
            log.info("inbox: forgot %d handled updates", pruned)


async def recover(services: Services) -> tuple[int, int]:
    """At start: wake every chat with updates not handled yet, and start every thread with prompts waiting or
    a turn not delivered (it re-attaches to Codex and catches up). Returns (chats, threads)."""

    def work(conn: apsw.Connection) -> tuple[list[int], list[str]]:
        chats = queries.chats_with_new_updates(conn)
        threads = sorted(
            set(queries.threads_with_prompts(conn)) | set(queries.threads_with_undelivered_turns(conn))
        )
        return chats, threads

    chats, threads = await services.repository.run(work, what="recover")
    for key in threads:
        await services.threads.get(key)
    for chat_id in chats:
        (await services.chats.get(chat_id)).wake()
    if chats or threads:
        log.info("resuming %d chat(s) and %d thread(s) left by the last run", len(chats), len(threads))
    return len(chats), len(threads)
