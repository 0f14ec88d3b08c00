"""Run the real ``codex app-server`` offline against the mock model: for tests, benchmarks and recording.

Pieces, smallest first:

- :func:`find_codex_binary` finds the pinned binary (``CODEXGRAM_CODEX_BIN``, else ``<repo>/.cache/codex``)
  and installs ``@openai/codex@TESTED_CODEX_VERSION`` (``codexgram.codex.version``) there with npm when it
  is missing.
- :func:`write_codex_home` writes a ``CODEX_HOME`` whose only model provider is the mock model.
- :class:`AppServer` is one ``codex app-server --listen unix://SOCK`` process that can be started, killed
  (a crash: SIGKILL) and started again on the same socket path, which is what reconnect tests need.
- :func:`open_app_server` / :func:`open_codex_sandbox` are the async context managers that own it.

Resource handling: every process gets its own CODEX_HOME and socket path; its stderr goes to a file (appended
across restarts) whose tail is put into every error raised here. Leaving the context manager stops the process
(SIGTERM, then SIGKILL after a deadline) inside a shielded cancel scope with its own deadline, and removes the
socket and its symlink target. Error handling: :class:`AppServerError` when the binary cannot be had or the
process dies or never opens its socket.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import attrs
import trio

from codexgram.codex.version import TESTED_CODEX_VERSION
from codexgram.errors import CodexUnavailable

CODEX_PACKAGE = f"@openai/codex@{TESTED_CODEX_VERSION}"
BIN_ENV = "CODEXGRAM_CODEX_BIN"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
NPM_TIMEOUT = 300.0
SOCKET_POLL_INTERVAL = 0.01


class AppServerError(CodexUnavailable):
    """The codex binary could not be installed, or the app-server process failed to start or died."""


def repo_root() -> Path:
    """The checkout this package lives in (``codexgram/testing/`` is two levels down)."""
    return Path(__file__).resolve().parents[2]


def default_cache_dir() -> Path:
    """Where npm installs the pinned codex: ``<repo>/.cache/codex``."""
    return repo_root() / ".cache" / "codex"


def find_codex_binary(*, cache_dir: Path | None = None, install: bool = True) -> Path:
    """The codex binary to run: ``$CODEXGRAM_CODEX_BIN``, else the npm install in ``cache_dir``.

    Installs ``@openai/codex@TESTED_CODEX_VERSION`` with npm (a few seconds) when missing and ``install`` is
    true.
    Blocking (it may run npm): call it from a thread in async code. Raises :class:`AppServerError` saying how
    to install it when npm is missing or the install fails.
    """
    configured = os.environ.get(BIN_ENV)
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise AppServerError(f"{BIN_ENV}={configured} is not a file")
        return path
    cache = cache_dir or default_cache_dir()
    binary = cache / "node_modules" / ".bin" / "codex"
    if binary.exists() and installed_version(cache) == TESTED_CODEX_VERSION:
        return binary
    how = f"install Node.js with npm, or run: npm install --prefix {cache} {CODEX_PACKAGE}; or set {BIN_ENV}"
    if not install:
        raise AppServerError(f"codex is not installed in {cache}: {how}")
    npm = shutil.which("npm")
    if npm is None:
        raise AppServerError(
            f"npm is not on PATH, so codex {TESTED_CODEX_VERSION} cannot be installed: {how}"
        )
    cache.mkdir(parents=True, exist_ok=True)
    try:
        subprocess.run(
            [npm, "install", "--prefix", str(cache), "--no-audit", "--no-fund", CODEX_PACKAGE],
            check=True,
            capture_output=True,
            text=True,
            timeout=NPM_TIMEOUT,
        )
    except subprocess.CalledProcessError as exc:
        raise AppServerError(f"npm install {CODEX_PACKAGE} failed: {exc.stderr[-2000:]}\n{how}") from None
    except subprocess.TimeoutExpired:
        raise AppServerError(f"npm install {CODEX_PACKAGE} took over {NPM_TIMEOUT:.0f} s\n{how}") from None
    if not binary.exists():
        raise AppServerError(f"npm installed {CODEX_PACKAGE} but {binary} is missing")
    return binary


def installed_version(cache: Path) -> str | None:
    """The version of ``@openai/codex`` installed in ``cache`` by npm (None if none or unreadable).

    Checked so that bumping ``TESTED_CODEX_VERSION`` reinstalls instead of testing against a stale binary.
    """
    try:
        package = json.loads((cache / "node_modules" / "@openai" / "codex" / "package.json").read_text())
    except (OSError, ValueError):
        return None
    version = package.get("version") if isinstance(package, dict) else None
    return version if isinstance(version, str) else None


def codex_config_toml(
    *, model_base_url: str, approval_policy: str = "on-request", sandbox_mode: str = "workspace-write"
) -> str:
    """The ``config.toml`` for an offline codex whose only provider is the mock model at ``model_base_url``.

    ``approval_policy = "untrusted"`` is refused by codex 0.169.0 in the file: pass it per thread instead.
    """
    return (
        'model = "mock-model"\n'
        'model_provider = "mock"\n'
        f'approval_policy = "{approval_policy}"\n'
        f'sandbox_mode = "{sandbox_mode}"\n'
        "\n"
        "[model_providers.mock]\n"
        'name = "mock"\n'
        f'base_url = "{model_base_url}"\n'
        'wire_api = "responses"\n'
        "request_max_retries = 0\n"
        "stream_max_retries = 0\n"
        "\n"
        "[analytics]\n"
        "enabled = false\n"
    )


def write_codex_home(home: Path, *, model_base_url: str, **config: str) -> Path:
    """Create ``home`` (a CODEX_HOME) holding the mock-provider ``config.toml``; returns ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(codex_config_toml(model_base_url=model_base_url, **config))
    return home


def tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a text file ("" if it does not exist)."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@attrs.define(kw_only=True)
class AppServer:
    """One ``codex app-server`` on a unix socket. Not thread-safe; use from one trio task at a time.

    ``socket_path`` is what clients connect to (codex makes it a symlink into ``/tmp/codex-daemon-<uid>/``);
    ``workspace`` is a temp directory to use as a thread's ``cwd``.
    """

    codex_bin: Path
    codex_home: Path
    socket_path: Path
    workspace: Path
    stderr_path: Path
    _process: trio.Process | None = None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.returncode is None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def stderr_tail(self, lines: int = 30) -> str:
        return tail(self.stderr_path, lines)

    async def start(self, *, within: float = START_TIMEOUT) -> None:
        """Start the process and return once its socket accepts connections.

        Raises :class:`AppServerError` (with the stderr tail) if it exits or the socket is not there in time.
        """
        if self.running:
            raise AppServerError("app-server is already running")
        self._remove_socket()  # a stale symlink from a killed process would look like a live socket
        env = {
            **os.environ,
            "CODEX_HOME": str(self.codex_home),
            "RUST_LOG": os.environ.get("RUST_LOG", "warn"),
        }
        command = [str(self.codex_bin), "app-server", "--listen", f"unix://{self.socket_path}"]
        with self.stderr_path.open("ab") as stderr:
            self._process = await trio.lowlevel.open_process(
                command,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # Its own process group: npm's `codex` may be a node wrapper that spawns the native binary,
                # and a signal to the wrapper alone would leave the real server running.
                start_new_session=True,
            )
        with trio.move_on_after(within) as waiting:
            while not await self._socket_ready():
                if self._process.returncode is not None:
                    raise AppServerError(
                        f"codex app-server exited with {self._process.returncode} before opening "
                        f"{self.socket_path}; stderr:\n{self.stderr_tail()}"
                    )
                await trio.sleep(SOCKET_POLL_INTERVAL)
        if waiting.cancelled_caught:
            await self.kill()
            raise AppServerError(
                f"codex app-server did not open {self.socket_path} within {within} s; "
                f"stderr:\n{self.stderr_tail()}"
            )

    async def kill(self) -> None:
        """Kill the process group now (SIGKILL: a crash; the socket stays behind, refusing connections)."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        _signal_group(process, signal.SIGKILL)
        with trio.CancelScope(shield=True), trio.move_on_after(STOP_TIMEOUT):
            await process.wait()
            # The leader may be npm's node wrapper: the native server (a grandchild we cannot wait for) can
            # still hold its listening socket for a moment. Return only once nothing accepts connections.
            for _ in range(int(STOP_TIMEOUT / SOCKET_POLL_INTERVAL)):
                if not await self._socket_ready():
                    break
                await trio.sleep(SOCKET_POLL_INTERVAL)

    async def stop(self, *, grace: float = STOP_TIMEOUT) -> None:
        """Stop the process politely (SIGTERM), SIGKILL it after ``grace`` s; removes the socket."""
        process = self._process
        if process is not None and process.returncode is None:
            _signal_group(process, signal.SIGTERM)
            with trio.CancelScope(shield=True):
                with trio.move_on_after(grace):
                    await process.wait()
                if process.returncode is None:
                    await self.kill()
        if process is not None:
            _signal_group(process, signal.SIGKILL)  # stragglers of the group, if any
        self._remove_socket()

    async def restart(self, *, within: float = START_TIMEOUT) -> None:
        """Stop (if running) and start again on the same socket path, CODEX_HOME and workspace."""
        await self.stop()
        await self.start(within=within)

    async def _socket_ready(self) -> bool:
        if not self.socket_path.exists():  # follows the symlink: the real socket must be there too
            return False
        try:
            stream = await trio.open_unix_socket(str(self.socket_path))
        except OSError:
            return False
        await stream.aclose()
        return True

    def _remove_socket(self) -> None:
        if self.socket_path.is_symlink():
            target = self.socket_path.resolve()
            self.socket_path.unlink()
            if not self.running:
                with contextlib.suppress(OSError):
                    target.unlink()
        elif self.socket_path.exists():
            self.socket_path.unlink()


def _signal_group(process: trio.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)  # the group id is the leader's pid (start_new_session)


@contextlib.asynccontextmanager
async def open_app_server(
    codex_bin: Path, *, codex_home: Path, socket_path: Path, workspace: Path, stderr_path: Path
) -> AsyncIterator[AppServer]:
    """Start an app-server, yield it, and stop it on exit (shielded, with its own deadline)."""
    server = AppServer(
        codex_bin=codex_bin,
        codex_home=codex_home,
        socket_path=socket_path,
        workspace=workspace,
        stderr_path=stderr_path,
    )
    try:
        await server.start()
        yield server
    finally:
        with trio.CancelScope(shield=True):
            await server.stop()


@contextlib.asynccontextmanager
async def open_codex_sandbox(
    codex_bin: Path, *, model_base_url: str, root: Path | None = None, **config: str
) -> AsyncIterator[AppServer]:
    """An app-server with everything temporary: CODEX_HOME, workspace and stderr log under ``root``.

    The socket lives in a short directory of its own under the system temp dir (``AF_UNIX`` paths are
    limited to ~107 bytes, and pytest's ``tmp_path`` can be longer). ``root`` defaults to a fresh temp
    directory, deleted afterwards; a given ``root`` is left in place (so a failing test's logs can be read).
    """
    with contextlib.ExitStack() as stack:
        if root is None:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="codexgram-")))
        socket_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cxg-")))
        home = write_codex_home(root / "codex-home", model_base_url=model_base_url, **config)
        workspace = root / "workspace"
        workspace.mkdir(parents=True, exist_ok=True)
        async with open_app_server(
            codex_bin,
            codex_home=home,
            socket_path=socket_dir / "app.sock",
            workspace=workspace,
            stderr_path=root / "app-server.stderr",
        ) as server:
            yield server
