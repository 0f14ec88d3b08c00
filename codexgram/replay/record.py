"""Record transcripts from the real codex binary: the driver behind ``scripts/record-transcripts``.

Each :class:`Scenario` gets a fresh mock model and a fresh ``codex app-server`` (so server request ids start
at 0 and nothing leaks between transcripts), then drives one conversation through the real
:class:`~codexgram.actors.codex_link.CodexLink` with a :class:`~codexgram.replay.transcript.JsonlRecorder`
attached, so a transcript holds exactly the frames the link sent and received, with their timing.

Who drives the link is the scenario's ``driver``:

- ``"bot"``: the bot itself. The real thread actor runs around the link (:func:`codexgram.replay.bot_rig.
  open_bot`) and the driver plays only the user: it sends the messages, presses Cancel, cuts the connection or
  restarts the app-server at the scripted moment; approvals are answered with the scenario's ``decision``.
  So the transcript holds the bot's own calls (``thread/read`` after a reconnect, its params), and the bot
  replay (layer 3) can demand exactly those.
- ``"link"``: a scripted client calls the link directly, for what the bot does not do (yet): leave an
  approval pending and interrupt the turn instead.

Resource handling: everything a scenario starts (mock model, app-server, link) lives in a nursery that is
closed before the next scenario starts; the app-server is stopped with a deadline. Error handling: a scenario
that does not reach ``turn/completed`` within ``SCENARIO_TIMEOUT`` raises ``trio.TooSlowError``; the partly
written file is left for inspection.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any, Literal

import attrs
import trio

from codexgram.actors.codex_link import CodexLink, LinkSettings, codex_link_actor
from codexgram.messages import CodexEvent, CodexReconnected, CodexServerRequestEvent, ThreadEvent
from codexgram.replay.approvers import decision_approver
from codexgram.replay.bot_rig import BotRig, open_bot
from codexgram.replay.events import notification_method
from codexgram.replay.transcript import Direction, FrameRecorder, JsonlRecorder
from codexgram.replay.user_script import BotSession
from codexgram.testing.codex_link_probe import SeverableConnector
from codexgram.testing.codex_server import AppServer, find_codex_binary, open_codex_sandbox
from codexgram.testing.mock_model import run_mock_model

log = logging.getLogger(__name__)

SCENARIO_TIMEOUT = 60.0
DEFAULT_OUT = Path("tests/replay/transcripts")
# Reconnect quickly: a reconnect scenario must be back before the slow turn it interrupts ends.
RECORDING_LINK_SETTINGS = LinkSettings(backoff_initial=0.05, backoff_max=0.5)


@attrs.frozen(kw_only=True)
class Scenario:
    """One recorded conversation: a thread started with ``thread_params``, one turn with ``text``.

    ``decision`` answers every approval (None: leave it unanswered; the bot always answers, declining by
    default); ``interrupt_after_deltas`` interrupts the turn (the bot: the user presses Cancel) after that
    many agent message deltas (or, with ``interrupt_on_approval``, when the approval request arrives:
    ``link`` driver only). ``driver``: who talks to the link (see the module docstring).
    """

    name: str
    text: str
    description: str
    driver: Literal["bot", "link"] = "bot"
    thread_params: dict[str, Any] = attrs.field(factory=dict)
    decision: str | None = None
    interrupt_after_deltas: int | None = None
    interrupt_on_approval: bool = False
    sever_after_deltas: int | None = None  # cut the connection mid-turn: the link reconnects and resumes
    then_restart_and_say: str | None = None  # after the turn: kill + restart the app-server, then a new turn


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(name="plain-turn", text="Hello, Codex!", description="a plain streamed reply"),
    Scenario(
        name="command-approved",
        text="Please run [[shell:echo approved-run]]",
        decision="accept",
        description="a command approval, accepted: the command runs",
    ),
    Scenario(
        name="command-declined",
        text="Please run [[shell:echo declined-run]]",
        decision="decline",
        description="a command approval, declined: the command does not run",
    ),
    Scenario(
        name="file-change-approved",
        text="Please add [[patch:notes.txt:hello from codex]]",
        thread_params={"approvalPolicy": "untrusted"},
        decision="accept",
        description="a file-change approval (untrusted policy), accepted: fileChange item and turn diff",
    ),
    Scenario(
        name="interrupt-slow-stream",
        text="Tell me a long story [[slow:3]]",
        interrupt_after_deltas=3,
        description="turn/interrupt during a slow stream: turn/completed with status interrupted",
    ),
    Scenario(
        name="interrupt-pending-approval",
        text="Please run [[shell:echo never-run]]",
        interrupt_on_approval=True,
        description="turn/interrupt while a command approval is pending",
        driver="link",  # the bot answers every approval at once (until approvals come to the chat)
    ),
    Scenario(
        name="reconnect-mid-turn",
        text="Keep talking while I reconnect [[slow:5]]",  # seconds of margin for the reconnect
        sever_after_deltas=3,
        description="the connection drops mid-turn; the link reconnects and resumes; the turn completes",
    ),
    Scenario(
        name="server-restart-new-turn",
        text="Remember me",
        then_restart_and_say="Still there after the restart?",
        description="the app-server is killed and restarted; the link resumes the thread; a new turn runs",
    ),
    Scenario(
        name="upstream-failure",
        text="This will fail [[fail]]",
        description="the model answers HTTP 500: an error notification and a failed turn",
    ),
)


async def drive_scenario(
    link: CodexLink,
    scenario: Scenario,
    workspace: Path,
    *,
    sever: Callable[[], Awaitable[None]] | None = None,
    restart_server: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Run the scenario's conversation over ``link`` until its (last) ``turn/completed``."""
    started = await link.call("thread/start", {"cwd": str(workspace), **scenario.thread_params})
    thread_id: str = started["thread"]["id"]
    send, receive = trio.open_memory_channel[ThreadEvent](1024)
    link.subscribe(thread_id, send)
    async with receive:
        await _run_turn(link, scenario, thread_id, scenario.text, receive, sever=sever)
        if scenario.then_restart_and_say is not None:
            if restart_server is None:
                raise ValueError(f"scenario {scenario.name} needs a restart_server callable")
            await restart_server()
            await _until_reconnected(receive)
            plain = attrs.evolve(
                scenario, decision=None, interrupt_after_deltas=None, sever_after_deltas=None
            )
            await _run_turn(link, plain, thread_id, scenario.then_restart_and_say, receive, sever=None)
    link.unsubscribe(thread_id)


async def _run_turn(
    link: CodexLink,
    scenario: Scenario,
    thread_id: str,
    text: str,
    receive: trio.MemoryReceiveChannel[ThreadEvent],
    *,
    sever: Callable[[], Awaitable[None]] | None,
) -> None:
    user_input = [{"type": "text", "text": text, "text_elements": []}]
    turn = await link.call("turn/start", {"threadId": thread_id, "input": user_input})
    interrupt = partial(link.call, "turn/interrupt", {"threadId": thread_id, "turnId": turn["turn"]["id"]})
    deltas = 0
    async for event in receive:
        if isinstance(event, CodexServerRequestEvent):
            if scenario.interrupt_on_approval:
                await interrupt()
            elif scenario.decision is not None:
                await link.respond(event.request_id, {"decision": scenario.decision})
        elif isinstance(event, CodexEvent):
            method = notification_method(event.notification)
            if method == "item/agentMessage/delta":
                deltas += 1
                if deltas == scenario.interrupt_after_deltas:
                    await interrupt()
                if deltas == scenario.sever_after_deltas and sever is not None:
                    await sever()
            elif method == "turn/completed":
                return


async def _until_reconnected(receive: trio.MemoryReceiveChannel[ThreadEvent]) -> None:
    async for event in receive:
        if isinstance(event, CodexReconnected):
            if not event.resumed:
                raise RuntimeError("the link reconnected but could not resume the thread")
            return


async def record_scenario(
    scenario: Scenario, *, codex_bin: Path, out_dir: Path, sandbox_root: Path | None = None
) -> Path:
    """Record one scenario into ``out_dir/<name>.jsonl`` with a fresh mock model and app-server.

    ``sandbox_root`` keeps CODEX_HOME, the workspace and the server's stderr there (default: a temp dir,
    deleted afterwards), so a test can look at what the turn did to the workspace.
    """
    path = out_dir / f"{scenario.name}.jsonl"
    with trio.fail_after(SCENARIO_TIMEOUT):
        async with trio.open_nursery() as nursery:
            model = await nursery.start(run_mock_model)
            async with open_codex_sandbox(
                codex_bin, model_base_url=model.base_url, root=sandbox_root
            ) as server:
                connector = SeverableConnector(server.socket_path)
                drive = partial(
                    drive_scenario,
                    scenario=scenario,
                    workspace=server.workspace,
                    sever=connector.sever,
                    restart_server=partial(_crash_and_restart, server),
                )
                with JsonlRecorder(path) as recorder:
                    if scenario.driver == "bot":
                        await _with_bot(scenario, server, connector=connector, recorder=recorder)
                    else:
                        await _with_link(drive, connector=connector, recorder=recorder)
            nursery.cancel_scope.cancel()
    return path


async def _with_link(
    body: Callable[[CodexLink], Awaitable[None]], *, connector: SeverableConnector, recorder: JsonlRecorder
) -> None:
    # The link gets its own nursery, closed before the app-server stops, so no stray reconnect is recorded.
    async with trio.open_nursery() as nursery:
        link: CodexLink = await nursery.start(
            partial(codex_link_actor, connector, settings=RECORDING_LINK_SETTINGS, recorder=recorder)
        )
        await link.wait_connected(10)
        await body(link)
        nursery.cancel_scope.cancel()


class FrameWatch:
    """Passes every frame on to ``inner`` and counts, for a driver waiting on them, the agent message deltas
    and the ``turn/completed`` notifications received."""

    def __init__(self, inner: FrameRecorder) -> None:
        self.inner = inner
        self.deltas = 0
        self.completed = 0
        self._changed = trio.Event()

    def record(self, direction: Direction, msg: Mapping[str, Any]) -> None:
        self.inner.record(direction, msg)
        if direction == "recv" and msg.get("method") == "item/agentMessage/delta":
            self.deltas += 1
        elif direction == "recv" and msg.get("method") == "turn/completed":
            self.completed += 1
        self._changed.set()
        self._changed = trio.Event()

    async def until(self, done: Callable[[], bool]) -> None:
        while not done():
            await self._changed.wait()


async def _with_bot(
    scenario: Scenario, server: AppServer, *, connector: SeverableConnector, recorder: JsonlRecorder
) -> None:
    watch = FrameWatch(recorder)
    session = BotSession(
        cwd=str(server.workspace), approval_policy=scenario.thread_params.get("approvalPolicy")
    )
    approver = decision_approver(scenario.decision or "decline")
    async with trio.open_nursery() as nursery:  # the link's, closed before the app-server stops
        link: CodexLink = await nursery.start(
            partial(codex_link_actor, connector, settings=RECORDING_LINK_SETTINGS, recorder=watch)
        )
        await link.wait_connected(10)
        with tempfile.TemporaryDirectory(prefix="cxg-record-") as tmp:
            bot = open_bot(link, session, approver=approver, db_path=Path(tmp) / "db", thread_idle=3600)
            async with bot as rig:
                await drive_bot(rig, scenario, watch, link=link, server=server, sever=connector.sever)
        nursery.cancel_scope.cancel()


async def drive_bot(
    rig: BotRig,
    scenario: Scenario,
    watch: FrameWatch,
    *,
    link: CodexLink,
    server: AppServer,
    sever: Callable[[], Awaitable[None]],
) -> None:
    """Play the scenario's user against the bot until its (last) turn is delivered."""
    if scenario.interrupt_on_approval:
        raise ValueError(f"scenario {scenario.name}: the bot answers every approval; use the link driver")
    await rig.send_message(scenario.text)
    if scenario.interrupt_after_deltas is not None:
        await watch.until(lambda: watch.deltas >= (scenario.interrupt_after_deltas or 0))
        await rig.press_cancel()
    if scenario.sever_after_deltas is not None:
        await watch.until(lambda: watch.deltas >= (scenario.sever_after_deltas or 0))
        await sever()
    await _until_delivered(rig, 1)
    if scenario.then_restart_and_say is not None:
        made = link.connections_made
        await _crash_and_restart(server)
        while not (link.connected and link.connections_made > made):  # noqa: ASYNC110 - the link's state
            await trio.sleep(0.05)
        await trio.sleep(0.5)  # the thread re-resumed and told (CodexReconnected), as a user would wait
        await rig.send_message(scenario.then_restart_and_say)
        await _until_delivered(rig, 2)


async def _until_delivered(rig: BotRig, turns: int) -> None:
    """Until ``turns`` turns are delivered and every message the user sent is handled."""
    while True:
        facts = await rig.facts()
        delivered = sum(1 for turn in facts.turns if turn.delivered)
        if delivered >= turns and not facts.unhandled_inbox:
            return
        await trio.sleep(0.05)


async def _crash_and_restart(server: AppServer) -> None:
    await server.kill()
    await server.start()


def main(argv: Sequence[str] | None = None) -> None:
    """``scripts/record-transcripts [--out DIR] [NAME ...]``: (re)record all or the named scenarios."""
    parser = argparse.ArgumentParser(description="Record codex app-server transcripts for the replay tests.")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"directory (default {DEFAULT_OUT})")
    parser.add_argument("names", nargs="*", help="scenarios to record (default: all)")
    args = parser.parse_args(argv)
    known = {s.name: s for s in SCENARIOS}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in args.names] if args.names else list(SCENARIOS)
    logging.basicConfig(level=logging.WARNING)
    codex_bin = find_codex_binary()
    args.out.mkdir(parents=True, exist_ok=True)

    async def record_all() -> None:
        for scenario in chosen:
            path = await record_scenario(scenario, codex_bin=codex_bin, out_dir=args.out)
            lines = len(path.read_text().splitlines())
            print(f"{path}: {lines} frames ({scenario.description})", flush=True)

    trio.run(record_all)
