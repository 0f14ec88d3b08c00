"""The bot replay: a transcript played through the real ThreadActor, and the chat's Telegram output recorded.

The link-level replay (:mod:`codexgram.replay.harness`) re-issues the recorded calls itself, so it tests the
decoder. This one tests the bot's decisions: nothing recorded is re-issued. :func:`replay_bot` starts, for
one transcript, the :class:`~codexgram.replay.fake_server.FakeAppServer` and the real ``codex_link_actor``
(memory connector; virtual time under ``autojump_clock``), and around that link the bot's side of one chat
(:func:`~codexgram.replay.bot_rig.open_bot`: real thread actors and repository, a recording outbox). Then it
plays the *user* the recording implies (:func:`~codexgram.replay.user_script.bot_script`), the way the chat
actor hands work to a thread: a recorded ``turn/start`` is a message the user sends (an inbox row queued on
the chat's thread, then a poke), a recorded ``turn/interrupt`` a press on Cancel, each once the server frames
recorded before its frame went out and the bot took them in. Approvals are answered as the recorded client
answered them (:func:`~codexgram.replay.approvers.recorded_approver`), with a chat line saying so.

Everything the bot sends to Codex is its own decision (``thread/start``, ``turn/start``, ``thread/read``,
...): the fake server matches it by method and answers as recorded; a call the recording does not hold gets
a JSON-RPC error and is a mismatch, so the replay fails. A transcript the bot recorded itself
(``scripts/record-transcripts``, every scenario but one) also has each call's params compared with the
recording's. The one allowance: an answer to a server request that the recording left unanswered is let
through and noted in the golden file (see ``docs/testing.md``).

:meth:`BotReplayResult.render` lays out the user's actions and every outbox request, in order, for a golden
file; :meth:`BotReplayResult.check` asserts :data:`INVARIANTS`. The pieces: :mod:`.user_script` (the user),
:mod:`.bot_rig` and :mod:`.bot_services` (the bot and its stand-ins), :mod:`.chat_log` (the log and its
rendering), :mod:`.bot_result` (the invariants); this module drives them and is their public face.

Resource handling: everything runs in nurseries of :func:`replay_bot` and is cancelled when it returns; the
SQLite file lives in a temp directory removed afterwards. Error handling: :func:`replay_bot` never raises
for a bad replay (the result says what went wrong); :class:`BotReplayUnsupported` for a transcript it cannot
turn into a user's actions.
"""

from __future__ import annotations

import functools
import random
import tempfile
from pathlib import Path

import trio
import trio.testing

from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.replay.approvers import recorded_approver
from codexgram.replay.bot_result import INVARIANTS, BotReplayFailed, BotReplayResult
from codexgram.replay.bot_rig import BotRig, open_bot
from codexgram.replay.chat_log import OutboxEntry, UserEntry, render_log
from codexgram.replay.chat_transactions import StoreFacts
from codexgram.replay.fake_server import FakeAppServer, memory_connector
from codexgram.replay.transcript import Transcript
from codexgram.replay.user_script import (
    BotReplayUnsupported,
    BotScript,
    BotSession,
    UserAction,
    bot_recorded,
    bot_script,
)

DEFAULT_TIMEOUT = 300.0  # virtual seconds


class _Replay:
    """One transcript's replay: the fake server, the user's script, and what went wrong on the way."""

    def __init__(self, transcript: Transcript, script: BotScript) -> None:
        self.transcript = transcript
        self.script = script
        self.server = FakeAppServer(transcript, allow_unrecorded_answers=True)
        self.problems: list[str] = []

    async def run(self, *, timeout: float) -> BotReplayResult:  # noqa: ASYNC109 - virtual seconds
        start = trio.current_time()
        with tempfile.TemporaryDirectory(prefix="cxg-bot-replay-") as tmp:
            async with trio.open_nursery() as nursery:
                connector = memory_connector(self.server, nursery)
                settings = LinkSettings(rng=random.Random(0))  # noqa: S311 - the reconnect jitter, fixed
                link: CodexLink = await nursery.start(
                    functools.partial(codex_link_actor, connector, settings=settings)
                )
                await link.wait_connected(10)
                approver = recorded_approver(self.server)
                db_path = Path(tmp) / "db"
                bot = open_bot(link, self.script.session, approver=approver, db_path=db_path, start=start)
                async with bot as rig:
                    with trio.move_on_after(timeout) as scope:
                        await self._play(rig)
                        await self.server.finished.wait()
                        # The thread actor stops on its own once idle (the group has no event for that).
                        while len(rig.group):  # noqa: ASYNC110
                            await trio.sleep(1.0)
                    if scope.cancelled_caught:
                        self._stalled(rig, timeout)
                    self.problems += [
                        f"thread actor {key} crashed: {exc!r}" for key, exc in rig.group.crashes
                    ]
                    await trio.testing.wait_all_tasks_blocked()
                    store = await rig.facts()
                    log = tuple(rig.log)
                nursery.cancel_scope.cancel()
        if self.script.bot_recorded:
            self.problems += self._params_that_differ()
        return BotReplayResult(
            transcript=self.transcript,
            log=log,
            mismatches=tuple(self.server.mismatches),
            notes=tuple(self.server.notes),
            problems=tuple(self.problems),
            finished=self.server.finished.is_set(),
            store=store,
        )

    async def _play(self, rig: BotRig) -> None:
        for action in self.script.actions:
            await self.server.wait_sent_before(action.frame)
            await trio.testing.wait_all_tasks_blocked()  # the bot took in what the user would see by now
            if action.kind == "message":
                await rig.send_message(action.text, update_id=action.update_id, frame=action.frame)
            elif not await rig.press_cancel(frame=action.frame):
                self.problems.append(f"Cancel (frame {action.frame}): the chat has no thread")

    def _stalled(self, rig: BotRig, timeout: float) -> None:
        if not self.server.finished.is_set():
            self.problems.append(self.server.stall_report(timeout))
        if len(rig.group):
            self.problems.append(f"thread actor(s) {rig.group.keys()} never went idle")

    def _params_that_differ(self) -> list[str]:
        """The bot recorded this transcript, so every call it makes now must carry the recorded params
        (the link's own handshake aside: its clientInfo names the package version)."""
        found = []
        for index, msg in sorted(self.server.received_requests.items()):
            frame = self.transcript.frames[index]
            if frame.method == "initialize":
                continue
            recorded, sent = frame.msg.get("params"), msg.get("params")
            if recorded != sent:
                found.append(
                    f"{frame.method} (frame {index}): params differ: recorded {recorded!r}, sent {sent!r}"
                )
        return found


async def replay_bot(transcript: Transcript, *, timeout: float = DEFAULT_TIMEOUT) -> BotReplayResult:  # noqa: ASYNC109
    """Play ``transcript`` through the ThreadActor (see the module docstring). ``.check()`` the result to
    assert it went as recorded and kept every invariant; ``.render()`` is its golden text. Raises
    :class:`BotReplayUnsupported` for a transcript it cannot turn into a user's actions."""
    return await _Replay(transcript, bot_script(transcript)).run(timeout=timeout)


__all__ = [
    "DEFAULT_TIMEOUT",
    "INVARIANTS",
    "BotReplayFailed",
    "BotReplayResult",
    "BotReplayUnsupported",
    "BotScript",
    "BotSession",
    "OutboxEntry",
    "StoreFacts",
    "UserAction",
    "UserEntry",
    "bot_recorded",
    "bot_script",
    "render_log",
    "replay_bot",
]
