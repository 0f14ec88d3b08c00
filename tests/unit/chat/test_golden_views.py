"""Golden files of every kind of message the conversation renders (``tests/golden/views/``), so that the
look of the bot changes only on purpose; each message is also checked against Telegram's limits
(:func:`codexgram.testing.golden.show`).

Inputs are fixed and realistic: fixed tokens, times, ids and paths. To change a look on purpose: edit the
view, run ``CODEXGRAM_UPDATE_GOLDEN=1 uv run pytest -q -p no:cacheprovider <this file>`` (it writes the files
and fails), read ``git diff tests/golden`` as a user on a phone would, then run the tests again.
"""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Callable

import pytest

from codexgram.chat import chat_views as views
from codexgram.chat.outgoing import Outgoing
from codexgram.chat.turn_view import (
    PlanStep,
    ProgressView,
    answer_messages,
    ending_message,
    entry_messages,
    progress_message,
    turn_footer,
)
from codexgram.codex.items import (
    ITEM_STATUS_COMPLETED,
    ITEM_STATUS_DECLINED,
    ITEM_STATUS_FAILED,
    ITEM_STATUS_IN_PROGRESS,
    FileUpdateChange,
    McpToolCallItem,
    PatchChangeKind,
    ReasoningItem,
    WebSearchItem,
)
from codexgram.codex.lifecycle import PendingApproval
from codexgram.codex.requests import (
    TURN_STATUS_FAILED,
    TURN_STATUS_INTERRUPTED,
    TurnError,
)
from codexgram.codex.turn_transcript import (
    AgentText,
    CommandRun,
    FileEdit,
    OtherStep,
    TurnEntry,
    TurnTranscript,
)
from codexgram.store.rows import WorkspaceRow
from codexgram.telegram.chunking import TELEGRAM_TEXT_LIMIT
from codexgram.telegram.html_entities import utf16_len
from codexgram.testing.golden import assert_golden, show, show_callback_answer, visible_text

CANCEL_TOKEN = "AAAAAAAAAAAAAAAA"
QUEUED_TOKEN = "QQQQQQQQQQQQQQQQ"
USER_ID = 123456789
THREAD_ID = "0199a3f2-7d4e-7a61-9c1b-2f5e8a9d4b10"
TURN_ID = "0199a3f2-8e11-7c02-b5d3-61a7c0e94f27"
CWD = "/home/ada/src/webapp"
ADDED_AT = 1_760_000_000.0

WEBAPP = WorkspaceRow(name="webapp", path=CWD, added_at=ADDED_AT)
WORKSPACES = (
    WEBAPP,
    WorkspaceRow(name="codexgram", path="/home/ada/src/codexgram", added_at=ADDED_AT),
    WorkspaceRow(name="dotfiles", path="/home/ada/dotfiles", added_at=ADDED_AT),
)
PROMPT = "Add a /healthz endpoint that returns the git commit and uptime, with a test"
LONG_PROMPT = (
    "The login page is slow on mobile: profile it, find what blocks the first paint, and fix the worst "
    "offender without changing how it looks"
)


def golden(name: str, text: str) -> None:
    assert_golden(f"views/{name}", text)


def say(text: str, *, notify: bool = False) -> Outgoing:
    """A plain text view as the chat and thread cores send it."""
    return Outgoing(text=text, notify=notify)


def transcript(
    *entries: TurnEntry, status: str | None = None, error: TurnError | None = None
) -> TurnTranscript:
    return TurnTranscript(thread_id=THREAD_ID, turn_id=TURN_ID, entries=entries, status=status, error=error)


def ending(ending_html: str, footer: str) -> Outgoing:
    """The last message of a turn that did not simply complete, as ``ThreadCore._final_messages`` makes it."""
    return Outgoing(text=f"{ending_html}\n\n{footer}", notify=True)


# --- inputs -------------------------------------------------------------------------------------------------


def bash(command: str) -> str:
    """The command line codex reports for a command the agent ran."""
    return f"/bin/bash -lc {shlex.quote(command)}"


def run(
    command: str,
    output: str = "",
    exit_code: int | None = 0,
    status: str = ITEM_STATUS_COMPLETED,
    item_id: str = "call_cmd",
) -> CommandRun:
    return CommandRun(
        item_id=item_id, command=bash(command), cwd=CWD, status=status, output=output, exit_code=exit_code
    )


def change(path: str, kind: str, diff: str, move_path: str | None = None) -> FileUpdateChange:
    return FileUpdateChange(path=path, kind=PatchChangeKind(type=kind, move_path=move_path), diff=diff)


HEALTHZ_DIFF = "\n".join(
    [
        "@@ -12,6 +12,14 @@ from .db import engine",
        " app = FastAPI()",
        " ",
        "+START = time.monotonic()",
        "+",
        "+",
        '+@app.get("/healthz")',
        "+def healthz() -> dict[str, object]:",
        '+    return {"commit": GIT_COMMIT, "uptime": time.monotonic() - START}',
        "+",
        "+",
        ' @app.get("/")',
        "-def index():",
        "+def index() -> HTMLResponse:",
        '     return render("index.html")',
        "",
    ]
)
TEST_FILE = textwrap.dedent(
    """\
    from fastapi.testclient import TestClient

    from webapp.main import app


    def test_healthz() -> None:
        response = TestClient(app).get("/healthz")
        assert response.status_code == 200
        assert set(response.json()) == {"commit", "uptime"}
    """
)
PYTEST_OUTPUT = textwrap.dedent(
    """\
    ============================= test session starts ==============================
    platform linux -- Python 3.12.3, pytest-8.3.4, pluggy-1.5.0
    rootdir: /home/ada/src/webapp
    configfile: pyproject.toml
    collected 43 items

    tests/test_auth.py ............                                          [ 27%]
    tests/test_healthz.py .                                                  [ 30%]
    tests/test_pages.py ..............................                       [100%]

    ============================== 43 passed in 2.71s ==============================
    """
)
PYTEST_FAILURE = textwrap.dedent(
    """\
    ___________________________________ test_healthz ___________________________________

        def test_healthz() -> None:
            response = TestClient(app).get("/healthz")
    >       assert response.status_code == 200
    E       assert 404 == 200
    E        +  where 404 = <Response [404]>.status_code

    tests/test_healthz.py:8: AssertionError
    =========================== short test summary info ============================
    FAILED tests/test_healthz.py::test_healthz - assert 404 == 200
    ========================= 1 failed, 42 passed in 2.93s =========================
    """
)
SHORT_ANSWER = textwrap.dedent(
    """\
    Added `GET /healthz` in `webapp/main.py`: it returns the commit (`GIT_COMMIT`, read at start-up) and the
    uptime in seconds.

    - **Test:** `tests/test_healthz.py` checks the status and the keys.
    - All 43 tests pass (`pytest -q`).

    Try it with `curl localhost:8000/healthz`."""
)


def long_answer(sections: int) -> str:
    """A long, realistic Markdown answer: headings, paragraphs, lists and code, ~790 characters a section."""
    parts = ["# Review of the login flow", ""]
    for number in range(1, sections + 1):
        parts += [
            f"## {number}. `auth/session_{number}.py`",
            "",
            f"The session store in part {number} reads the user row twice per request: once in the "
            "middleware and again in the view. Both reads hit the primary database, so under load the login "
            "page waits on two round trips before the first byte. Caching the row on the request object "
            "removes one of them and keeps the behaviour the same, including for expired sessions.",
            "",
            "- **Impact:** about 40 ms at p50 and 180 ms at p99 on the staging box.",
            "- **Risk:** low; the row is read-only for the rest of the request.",
            "- *Follow-up:* the same pattern appears in `billing/` and `admin/`.",
            "",
            "```python",
            f"def load_session_{number}(request: Request) -> Session:",
            "    if request.state.session is None:",
            "        request.state.session = store.get(request.cookies['sid'])",
            "    return request.state.session",
            "```",
            "",
        ]
    parts.append("That's all: **no behaviour change**, and every test passes.")
    return "\n".join(parts)


ANSWER_10K = long_answer(13)
ANSWER_HUGE = long_answer(40)
FOOTER = turn_footer(elapsed=42.4, tokens=18_734)


# --- /start, /help, /status ---------------------------------------------------------------------------------


def summary(**fields: object) -> views.ChatSummary:
    return views.ChatSummary(user_id=USER_ID, first_name="Ada", workspaces=len(WORKSPACES), **fields)  # type: ignore[arg-type]


def status(**fields: object) -> views.StatusView:
    base: dict[str, object] = {
        "summary": summary(workspace=WEBAPP, thread_id=THREAD_ID, thread_title="healthz endpoint"),
        "model": None,
        "sandbox": None,
        "approval_policy": None,
        "turn_running_for": None,
        "queued": 0,
        "codex_connected": True,
        "codex_version": "0.169.0",
    }
    base.update(fields)
    return views.StatusView(**base)  # type: ignore[arg-type]


def progress(**fields: object) -> Outgoing:
    base: dict[str, object] = {"elapsed": 0.4, "transcript": transcript(), "cwd": CWD}
    base.update(fields)
    return progress_message(ProgressView(**base), CANCEL_TOKEN)  # type: ignore[arg-type]


PLAN = (
    PlanStep(text="Find where the app is created and how routes are registered", status="completed"),
    PlanStep(text="Add GET /healthz returning the commit and the uptime", status="completed"),
    PlanStep(text="Write tests/test_healthz.py", status="inProgress"),
    PlanStep(text="Run the whole test suite", status="pending"),
)
LONG_PLAN = tuple(
    PlanStep(text=f"Step {n}: migrate `handlers/h{n}.py` to the new router", status=s)
    for n, s in enumerate(["completed"] * 9 + ["inProgress"] + ["pending"] * 6, 1)
)

CASES: dict[str, Callable[[], str]] = {
    # /start
    "start-no-workspace": lambda: show(say(views.start_text(summary()))),
    "start-workspace-and-thread": lambda: show(
        say(views.start_text(summary(workspace=WEBAPP, thread_id=THREAD_ID, thread_title="healthz endpoint")))
    ),
    "start-workspace-no-thread": lambda: show(say(views.start_text(summary(workspace=WEBAPP)))),
    "start-thread-being-created": lambda: show(
        say(views.start_text(summary(workspace=WEBAPP, thread_id="pending-17", thread_creating=True)))
    ),
    "start-no-workspaces-configured": lambda: show(
        say(views.start_text(views.ChatSummary(user_id=USER_ID, first_name="Ada", workspaces=0)))
    ),
    "start-no-first-name": lambda: show(
        say(views.start_text(views.ChatSummary(user_id=USER_ID, workspaces=3)))
    ),
    # /help and the command menu
    "help": lambda: show(say(views.help_text())),
    "command-menu": lambda: "\n".join(f"/{name} — {description}" for name, description in views.COMMANDS),
    # /status
    "status-idle": lambda: show(say(views.status_text(status()))),
    "status-running": lambda: show(say(views.status_text(status(turn_running_for=83.0)))),
    "status-running-with-queue": lambda: show(
        say(views.status_text(status(turn_running_for=3725.0, queued=2, model="gpt-5-codex")))
    ),
    "status-codex-disconnected": lambda: show(
        say(
            views.status_text(
                status(
                    codex_connected=False, codex_version=None, codex_problem="connection refused", queued=1
                )
            )
        )
    ),
    "status-nothing-chosen": lambda: show(
        say(views.status_text(status(summary=summary(), sandbox="read-only", approval_policy="untrusted")))
    ),
    # workspaces
    "workspaces-list": lambda: show(views.workspaces_message(WORKSPACES, "webapp")),
    "workspaces-list-none-current": lambda: show(views.workspaces_message(WORKSPACES, None)),
    "workspaces-none-configured": lambda: show(views.workspaces_message((), None)),
    "workspace-picker": lambda: show(views.workspace_picker(WORKSPACES, "webapp")),
    "workspace-picker-none-chosen": lambda: show(views.workspace_picker(WORKSPACES, None)),
    "workspace-picker-kept-message": lambda: show(views.workspace_picker(WORKSPACES, None, kept=True)),
    "workspace-picker-kept-none-configured": lambda: show(views.workspace_picker((), None, kept=True)),
    "workspace-unknown": lambda: show(views.unknown_workspace("web-app", WORKSPACES)),
    "workspace-unknown-none-configured": lambda: show(views.unknown_workspace("webapp", ())),
    "workspace-chosen": lambda: show(say(views.workspace_chosen(WEBAPP))),
    "workspace-chosen-sending-kept": lambda: show(say(views.workspace_chosen(WEBAPP, sending=2))),
    "workspace-chosen-sending-one-kept": lambda: show(say(views.workspace_chosen(WEBAPP, sending=1))),
    "workspace-unchanged": lambda: show(say(views.workspace_chosen(WEBAPP, unchanged=True))),
    # /new, /cancel
    "new-thread": lambda: show(say(views.new_thread_text(WEBAPP, None))),
    "new-thread-titled": lambda: show(say(views.new_thread_text(WEBAPP, "healthz endpoint"))),
    "new-needs-workspace": lambda: show(
        say(views.need_workspace_for_new()), views.workspace_picker(WORKSPACES, None)
    ),
    "cancel-nothing-running": lambda: show(say(views.nothing_running())),
    "cancel-stopping": lambda: show(say(views.cancelling())),
    "cancel-before-start": lambda: show(say(views.cancelled_before_start())),
    "cancel-could-not-stop": lambda: show(say(views.cannot_stop("turn not found: " + TURN_ID))),
    # refusals and odd input
    "refusal": lambda: show(say(views.refusal_text(987654321))),
    "unknown-command": lambda: show(say(views.unknown_command("deploy"))),
    "not-yet-command": lambda: show(say(views.not_yet("threads"))),
    "other-bot-command": lambda: show(say(views.other_bot_command("new", "other_bot"))),
    "edited-message": lambda: show(say(views.edited_message())),
    "unsupported-photo": lambda: show(say(views.unsupported_message("photos"))),
    "unsupported-other": lambda: show(say(views.unsupported_message("this kind of message"))),
    "busy": lambda: show(say(views.busy())),
    "failed-to-handle": lambda: show(say(views.failed_to_handle())),
    "button-stale": lambda: show_callback_answer(views.stale_button()),
    "button-not-yours": lambda: show_callback_answer(views.not_your_button()),
    # the queue: the card, then each edit it can get
    "queued-card": lambda: show(views.queued_card(PROMPT, QUEUED_TOKEN)),
    "queued-card-long-text": lambda: show(views.queued_card(LONG_PROMPT, QUEUED_TOKEN)),
    "queued-card-started": lambda: show(say(views.card_started(PROMPT)), edit=True),
    "queued-card-steering": lambda: show(say(views.card_steering(PROMPT)), edit=True),
    "queued-card-steered": lambda: show(say(views.card_steered(PROMPT)), edit=True),
    "queued-card-steer-refused": lambda: show(
        say(views.card_steer_refused(PROMPT, "no active turn to steer")), edit=True
    ),
    "queued-card-steer-refused-no-reason": lambda: show(
        say(views.card_steer_refused(PROMPT, None)), edit=True
    ),
    "queued-card-dropped": lambda: show(say(views.card_dropped(PROMPT)), edit=True),
    # Codex
    "codex-away-kept": lambda: show(say(views.codex_away_kept(), notify=True)),
    "codex-lost-mid-turn": lambda: show(say(views.codex_lost_mid_turn())),
    "codex-refused": lambda: show(
        say(views.codex_refused("input exceeds the maximum length of 1048576 characters"), notify=True)
    ),
    "thread-create-failed": lambda: show(
        say(views.thread_create_failed("cwd is not a directory: /home/ada/src/webapp"), notify=True)
    ),
    "thread-lost": lambda: show(say(views.thread_lost())),
    # approvals, declined until the approval issue lands
    "approval-declined-command": lambda: show(
        say(
            views.approval_declined(
                PendingApproval(
                    request_id=7,
                    kind="command",
                    turn_id=TURN_ID,
                    item_id="call_cmd",
                    reason="Install the test dependencies (needs network access)",
                    command=bash("uv pip install httpx pytest-asyncio"),
                    cwd=CWD,
                ),
                cwd=CWD,
            )
        )
    ),
    "approval-declined-command-elsewhere": lambda: show(
        say(
            views.approval_declined(
                PendingApproval(
                    request_id=8,
                    kind="command",
                    turn_id=TURN_ID,
                    item_id="call_cmd",
                    reason=None,
                    command=bash("rm -rf build dist"),
                    cwd="/home/ada/src/webapp/frontend",
                ),
                cwd=CWD,
            )
        )
    ),
    "approval-declined-file-change": lambda: show(
        say(
            views.approval_declined(
                PendingApproval(
                    request_id=9,
                    kind="fileChange",
                    turn_id=TURN_ID,
                    item_id="call_patch",
                    reason="Write outside the workspace",
                    changes=(
                        change(f"{CWD}/webapp/main.py", "update", HEALTHZ_DIFF),
                        change(f"{CWD}/tests/test_healthz.py", "add", TEST_FILE),
                    ),
                ),
                cwd=CWD,
            )
        )
    ),
    # the progress message
    "progress-just-started": lambda: show(progress()),
    "progress-plan": lambda: show(progress(elapsed=17.2, plan=PLAN)),
    "progress-long-plan": lambda: show(progress(elapsed=245.0, plan=LONG_PLAN)),
    "progress-running-command": lambda: show(
        progress(
            elapsed=31.0,
            plan=PLAN,
            transcript=transcript(
                run("pytest -q", output="......", exit_code=None, status=ITEM_STATUS_IN_PROGRESS),
            ),
        )
    ),
    "progress-changing-files": lambda: show(
        progress(
            elapsed=24.0,
            transcript=transcript(
                FileEdit(
                    item_id="call_patch",
                    status=ITEM_STATUS_IN_PROGRESS,
                    changes=(
                        change(f"{CWD}/webapp/main.py", "update", HEALTHZ_DIFF),
                        change(f"{CWD}/tests/test_healthz.py", "add", TEST_FILE),
                    ),
                )
            ),
        )
    ),
    "progress-streaming": lambda: show(
        progress(
            elapsed=48.0,
            plan=tuple(PlanStep(text=s.text, status="completed") for s in PLAN),
            transcript=transcript(
                run("pytest -q", output=PYTEST_OUTPUT),
                AgentText(item_id="msg_1", text=SHORT_ANSWER[:160], completed=False),
            ),
            shown_items=frozenset({"call_cmd"}),
        )
    ),
    "progress-answer-already-sent": lambda: show(
        progress(
            elapsed=52.0,
            transcript=transcript(AgentText(item_id="msg_1", text=SHORT_ANSWER, completed=True)),
            shown_items=frozenset({"msg_1"}),
        )
    ),
    "progress-waiting-on-approval": lambda: show(progress(elapsed=12.0, waiting_on_approval=True)),
    "progress-stopping": lambda: show(
        progress(
            elapsed=65.0,
            stopping=True,
            transcript=transcript(AgentText(item_id="msg_1", text=SHORT_ANSWER[:90], completed=False)),
        )
    ),
    "progress-codex-away": lambda: show(progress(elapsed=130.0, codex_away=True, plan=PLAN)),
    "progress-long-streaming-answer": lambda: show(
        progress(
            elapsed=95.0,
            plan=PLAN,
            transcript=transcript(
                run("pytest -q", output="....", exit_code=None, status=ITEM_STATUS_IN_PROGRESS),
                AgentText(item_id="msg_1", text=ANSWER_10K, completed=False),
            ),
        )
    ),
    # tool blocks: one message per finished step
    "tool-command-ok": lambda: show(*entry_messages(run("pytest -q", output=PYTEST_OUTPUT), cwd=CWD)),
    "tool-command-no-output": lambda: show(*entry_messages(run("mkdir -p tests/fixtures"), cwd=CWD)),
    "tool-command-exit-3": lambda: show(
        *entry_messages(run("pytest -q tests/test_healthz.py", output=PYTEST_FAILURE, exit_code=3), cwd=CWD)
    ),
    "tool-command-declined": lambda: show(
        *entry_messages(
            run("uv pip install httpx", exit_code=None, status=ITEM_STATUS_DECLINED),
            cwd=CWD,
        )
    ),
    "tool-command-failed-to-start": lambda: show(
        *entry_messages(
            run(
                "./scripts/deploy.sh",
                output="bash: ./scripts/deploy.sh: Permission denied",
                exit_code=None,
                status=ITEM_STATUS_FAILED,
            ),
            cwd=CWD,
        )
    ),
    "tool-command-cut-short": lambda: show(
        *entry_messages(
            run(
                "npm run build",
                output="> webapp@1.4.0 build\n> vite build\n\nvite v5.4.2 building for production...",
                exit_code=None,
                status=ITEM_STATUS_IN_PROGRESS,
            ),
            cwd=CWD,
        )
    ),
    "tool-command-long-output": lambda: show(
        *entry_messages(
            run(
                "npm test",
                output="\n".join(f"  ✓ renders component {n} (3 ms)" for n in range(1, 120))
                + "\n\nTest Suites: 12 passed, 12 total\nTests:       119 passed, 119 total\n",
            ),
            cwd=CWD,
        )
    ),
    "tool-command-long-lines": lambda: show(
        *entry_messages(
            run("cat dist/bundle.min.js", output="!function(e){" + "var a=e.exports||{};" * 400 + "}\n"),
            cwd=CWD,
        )
    ),
    "tool-command-long-command": lambda: show(
        *entry_messages(
            run("python - <<'EOF'\n" + "print('step')\n" * 60 + "EOF", output="step\n" * 60), cwd=CWD
        )
    ),
    "tool-file-change": lambda: show(
        *entry_messages(
            FileEdit(
                item_id="call_patch",
                status=ITEM_STATUS_COMPLETED,
                changes=(
                    change(f"{CWD}/webapp/main.py", "update", HEALTHZ_DIFF),
                    change(f"{CWD}/tests/test_healthz.py", "add", TEST_FILE),
                    change(f"{CWD}/webapp/legacy_health.py", "delete", "def ping():\n    return 'ok'\n"),
                    change(
                        f"{CWD}/webapp/util.py",
                        "update",
                        "@@ -1,2 +1,2 @@\n-import os\n+import os, time\n",
                        move_path=f"{CWD}/webapp/helpers.py",
                    ),
                ),
            ),
            cwd=CWD,
        )
    ),
    "tool-file-change-one": lambda: show(
        *entry_messages(
            FileEdit(
                item_id="call_patch",
                status=ITEM_STATUS_COMPLETED,
                changes=(change(f"{CWD}/README.md", "update", "@@ -3 +3 @@\n-old\n+new\n"),),
            ),
            cwd=CWD,
        )
    ),
    "tool-file-change-declined": lambda: show(
        *entry_messages(
            FileEdit(
                item_id="call_patch",
                status=ITEM_STATUS_DECLINED,
                changes=(
                    change("/etc/hosts", "update", "@@ -1 +1,2 @@\n 127.0.0.1 localhost\n+127.0.0.1 api\n"),
                ),
            ),
            cwd=CWD,
        )
    ),
    "tool-file-change-failed": lambda: show(
        *entry_messages(
            FileEdit(
                item_id="call_patch",
                status=ITEM_STATUS_FAILED,
                changes=(change(f"{CWD}/webapp/main.py", "update", HEALTHZ_DIFF),),
            ),
            cwd=CWD,
        )
    ),
    "tool-file-change-many": lambda: show(
        *entry_messages(
            FileEdit(
                item_id="call_patch",
                status=ITEM_STATUS_COMPLETED,
                changes=tuple(
                    change(f"{CWD}/src/components/widget_{n:02d}.tsx", "update", "@@ -1 +1 @@\n-a\n+b\n")
                    for n in range(1, 26)
                ),
            ),
            cwd=CWD,
        )
    ),
    "tool-mcp-call": lambda: show(
        *entry_messages(
            OtherStep(
                item_id="call_mcp",
                completed=True,
                item=McpToolCallItem(
                    id="call_mcp",
                    server="github",
                    tool="create_pull_request",
                    status=ITEM_STATUS_COMPLETED,
                    arguments={"title": "Add /healthz"},
                ),
            )
        )
    ),
    "tool-mcp-call-failed": lambda: show(
        *entry_messages(
            OtherStep(
                item_id="call_mcp",
                completed=True,
                item=McpToolCallItem(
                    id="call_mcp",
                    server="sentry",
                    tool="list_issues",
                    status=ITEM_STATUS_FAILED,
                    error={"message": "401 Unauthorized"},
                ),
            )
        )
    ),
    "tool-web-search": lambda: show(
        *entry_messages(
            OtherStep(
                item_id="ws_1",
                completed=True,
                item=WebSearchItem(id="ws_1", query="fastapi healthcheck endpoint best practices"),
            )
        )
    ),
    # answers
    "answer-short-with-footer": lambda: show(*answer_messages(SHORT_ANSWER, footer=FOOTER, notify=True)),
    "answer-without-footer": lambda: show(*answer_messages(SHORT_ANSWER)),
    "answer-cut-short": lambda: show(
        *entry_messages(AgentText(item_id="msg_1", text=SHORT_ANSWER[:150], completed=False))
    ),
    "answer-10k-chunks": lambda: show(*answer_messages(ANSWER_10K, footer=FOOTER, notify=True)),
    "answer-document": lambda: show(*answer_messages(ANSWER_HUGE, footer=FOOTER, notify=True)),
    "answer-last-step-is-a-command": lambda: show(
        *entry_messages(run("pytest -q", output=PYTEST_OUTPUT), cwd=CWD, footer=FOOTER, notify=True)
    ),
    "answer-footer-without-tokens": lambda: show(
        *answer_messages(
            "Done: the branch is rebased on `main`.", footer=turn_footer(elapsed=3.9, tokens=None)
        )
    ),
    # endings
    "ending-stopped-by-user": lambda: show(
        ending(
            ending_message(transcript(status=TURN_STATUS_INTERRUPTED)) or "",
            turn_footer(elapsed=71.0, tokens=9_120),
        )
    ),
    "ending-stopped-by-codex": lambda: show(
        ending(
            ending_message(transcript(status=TURN_STATUS_INTERRUPTED), reason=views.stopped_by_codex()) or "",
            turn_footer(elapsed=71.0, tokens=None),
        )
    ),
    "ending-failed": lambda: show(
        ending(
            ending_message(
                transcript(
                    status=TURN_STATUS_FAILED,
                    error=TurnError(
                        message="We\u2019re currently experiencing high demand, which may cause temporary "
                        "errors.",
                        codex_error_info="internalServerError",
                    ),
                )
            )
            or "",
            turn_footer(elapsed=8.0, tokens=None),
        )
    ),
    "ending-failed-no-error": lambda: show(
        ending(
            ending_message(transcript(status=TURN_STATUS_FAILED)) or "", turn_footer(elapsed=8.0, tokens=None)
        )
    ),
    "ending-lost": lambda: show(ending(views.turn_lost(), turn_footer(elapsed=3605.0, tokens=None))),
    "ending-done-nothing-to-show": lambda: show(
        say(views.turn_done(turn_footer(elapsed=6.0, tokens=2_048)), notify=True)
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden(name: str) -> None:
    golden(name, CASES[name]())


def test_a_whole_turn_in_order() -> None:
    """The messages of a turn as ThreadCore sends them at its end: every step, the footer and the
    notification on the last one only."""
    entries: tuple[TurnEntry, ...] = (
        OtherStep(item_id="rs_1", completed=True, item=ReasoningItem(id="rs_1", summary=("Looking around",))),
        run("rg -n 'FastAPI\\(' webapp", output="webapp/main.py:12:app = FastAPI()\n", item_id="call_1"),
        FileEdit(
            item_id="call_2",
            status=ITEM_STATUS_COMPLETED,
            changes=(
                change(f"{CWD}/webapp/main.py", "update", HEALTHZ_DIFF),
                change(f"{CWD}/tests/test_healthz.py", "add", TEST_FILE),
            ),
        ),
        run("pytest -q", output=PYTEST_OUTPUT, item_id="call_3"),
        AgentText(item_id="msg_1", text=SHORT_ANSWER, completed=True),
    )
    messages: list[Outgoing] = []
    for index, entry in enumerate(entries):
        last = index == len(entries) - 1
        messages += entry_messages(entry, cwd=CWD, footer=FOOTER if last else None, notify=last)
    assert [m.notify for m in messages] == [False, False, False, True]
    golden("turn-complete", show(*messages))


def test_the_long_streaming_answer_fills_but_fits_one_message() -> None:
    message = progress(
        elapsed=95.0,
        plan=LONG_PLAN,
        transcript=transcript(AgentText(item_id="msg_1", text=ANSWER_HUGE, completed=False)),
    )
    assert message.text is not None
    shown = visible_text(message.text)
    assert TELEGRAM_TEXT_LIMIT - 200 < utf16_len(shown) <= TELEGRAM_TEXT_LIMIT
    assert shown.rstrip().endswith("every test passes.")


def test_the_10k_answer_is_complete_across_chunks_with_the_footer_on_the_last() -> None:
    messages = answer_messages(ANSWER_10K, footer=FOOTER, notify=True)
    assert 2 <= len(messages) <= 5
    assert [m.notify for m in messages] == [False] * (len(messages) - 1) + [True]
    texts = [visible_text(m.text or "") for m in messages]
    assert all(FOOTER.removeprefix("<i>").removesuffix("</i>") not in t for t in texts[:-1])
    assert texts[-1].endswith("42s · 18,734 tokens")
    joined = "".join(texts)
    for number in range(1, 14):
        assert f"def load_session_{number}(request: Request) -> Session:" in joined


def test_the_document_keeps_the_whole_answer() -> None:
    (message,) = answer_messages(ANSWER_HUGE, footer=FOOTER, notify=True)
    assert message.document is not None
    assert message.document[1].decode() == ANSWER_HUGE
    assert message.notify


def test_extreme_inputs_still_fit_telegram() -> None:
    """What comes from Codex or the user is cut, so no view outgrows a message, whatever it is given."""
    huge = "x" * 5000
    deep = "/home/ada/" + "very-long-directory-name/" * 200 + "file.py"
    heredoc = "cat > big.py <<'EOF'\n" + "print('a line of the file')\n" * 2000 + "EOF"
    messages = [
        views.queued_card(huge, QUEUED_TOKEN),
        say(views.card_steer_refused(huge, huge)),
        say(views.codex_refused(huge)),
        say(views.cannot_stop(huge)),
        say(views.thread_create_failed(huge)),
        say(views.new_thread_text(WEBAPP, huge)),
        say(views.unknown_command("a" * 32)),
        views.unknown_workspace(huge, WORKSPACES),
        say(views.status_text(status(codex_connected=False, codex_problem=huge))),
        say(views.start_text(summary(workspace=WEBAPP, thread_id=THREAD_ID, thread_title=huge))),
        say(
            views.approval_declined(
                PendingApproval(
                    request_id=1,
                    kind="command",
                    turn_id=TURN_ID,
                    item_id="c",
                    reason=huge,
                    command=bash(heredoc),
                    cwd=deep,
                ),
                cwd=CWD,
            )
        ),
        say(
            views.approval_declined(
                PendingApproval(
                    request_id=2,
                    kind="fileChange",
                    turn_id=TURN_ID,
                    item_id="p",
                    reason=huge,
                    changes=tuple(change(f"{deep}{n}", "add", "x\n") for n in range(40)),
                ),
                cwd=CWD,
            )
        ),
        *entry_messages(run(heredoc, output=huge + "\n" + huge)),
        *entry_messages(
            FileEdit(
                item_id="p",
                status=ITEM_STATUS_COMPLETED,
                changes=tuple(
                    change(f"{deep}{n}", "update", "+a\n", move_path=f"{deep}{n}.moved") for n in range(40)
                ),
            ),
            cwd=CWD,
        ),
        *entry_messages(
            OtherStep(
                item_id="m",
                completed=True,
                item=McpToolCallItem(id="m", server=huge, tool=huge, status=ITEM_STATUS_FAILED, error=huge),
            )
        ),
        *entry_messages(OtherStep(item_id="w", completed=True, item=WebSearchItem(id="w", query=huge))),
        ending(
            ending_message(transcript(status=TURN_STATUS_FAILED, error=TurnError(message=huge))) or "", FOOTER
        ),
        progress(
            elapsed=10.0,
            plan=tuple(PlanStep(text=huge, status="pending") for _ in range(30)),
            transcript=transcript(
                *(
                    run(heredoc, exit_code=None, status=ITEM_STATUS_IN_PROGRESS, item_id=f"c{n}")
                    for n in range(6)
                ),
                *(
                    FileEdit(
                        item_id=f"p{n}",
                        status=ITEM_STATUS_IN_PROGRESS,
                        changes=tuple(change(f"{deep}{m}", "add", "x") for m in range(10)),
                    )
                    for n in range(6)
                ),
                AgentText(item_id="msg", text=huge + "\n\n" + ANSWER_HUGE, completed=False),
            ),
        ),
    ]
    for message in messages:
        show(message)  # checks the limits
