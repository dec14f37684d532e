"""``llmtool-tui serve``: the app in a web browser, behind a token, one app process per tab.

Without a browser: the token's check on every route but the static files, the command each tab
runs, a process per websocket that ends with it, the host warning, the CLI from a shell. With
one: headless Chromium, driven by Playwright, opens the page, sees the options menu, presses 1
and sees the history's rows.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import psutil
import pytest
from aiohttp import WSServerHandshakeError
from aiohttp.test_utils import TestClient, TestServer

from engine.workspace import Workspace
from llmtool_tui.cli import build_parser, main
from llmtool_tui.serve import TokenServer, app_command, is_loopback, new_token
from tests.fakes import REPO_ROOT, make_session

TOKEN = new_token()
#: Seconds an app process may take to start, or to end once its websocket is closed.
APP_DEADLINE_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def client(workspace: Workspace) -> AsyncIterator[TestClient]:
    """The served app's aiohttp application, with the real app command on ``workspace``."""
    server = TokenServer(
        app_command(workspace.root, poll=False), host="127.0.0.1", port=0, token=TOKEN
    )
    async with TestClient(TestServer(await server.web_app())) as test_client:
        yield test_client


# -- the token ---------------------------------------------------------------------------------


def test_tokens_come_from_the_secrets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def token_urlsafe(nbytes: int) -> str:
        asked.append(nbytes)
        return "from-secrets"

    monkeypatch.setattr(secrets, "token_urlsafe", token_urlsafe)
    assert new_token() == "from-secrets"
    assert asked == [32]


def test_tokens_are_long_and_never_repeat() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", token) for token in tokens)


# Ids that do not name the token: it is drawn anew in each process, and pytest-xdist's workers
# must collect the same test ids.
@pytest.mark.parametrize(
    "query",
    ["", "?token=", "?token=wrong", f"?token={TOKEN[:-1]}"],
    ids=["none", "empty", "wrong", "cut-short"],
)
async def test_the_page_refuses_a_missing_or_wrong_token(client: TestClient, query: str) -> None:
    response = await client.get(f"/{query}")
    assert response.status == 403
    assert "token" in await response.text()


async def test_the_page_with_the_token_points_its_websocket_at_the_token(
    client: TestClient,
) -> None:
    response = await client.get(f"/?token={TOKEN}")
    assert response.status == 200
    page = await response.text()
    # The browser's own host (an ssh -L to another local port keeps working), the token in
    # the path: textual.js appends its ?width=..&height=.. to this URL.
    assert f'data-session-websocket-url="ws://{client.host}:{client.port}/ws/{TOKEN}"' in page
    # It loads a font from Google, which is never told the page's address.
    assert "https://fonts.googleapis.com/" in page
    assert response.headers["Referrer-Policy"] == "no-referrer"


async def test_the_websocket_follows_an_ssh_tunnel_to_another_local_port(
    client: TestClient,
) -> None:
    # ssh -L 9000:localhost:8765: the browser asks localhost:9000 for the page.
    response = await client.get(f"/?token={TOKEN}", headers={"Host": "localhost:9000"})
    assert f'"ws://localhost:9000/ws/{TOKEN}"' in await response.text()


@pytest.mark.parametrize(
    "path",
    ["/ws", "/ws?token=wrong", "/ws/wrong", f"/ws/{TOKEN}x", "/ws/?token=" + TOKEN[:5]],
    ids=["none", "wrong-query", "wrong-path", "longer", "start-in-query"],
)
async def test_the_websocket_refuses_a_missing_or_wrong_token(
    client: TestClient, path: str
) -> None:
    with pytest.raises(WSServerHandshakeError) as refused:
        await client.ws_connect(path)
    assert refused.value.status == 403


@pytest.mark.parametrize("path", ["/download/somekey", "/elsewhere", "/static"])
async def test_other_routes_need_the_token_too(client: TestClient, path: str) -> None:
    response = await client.get(path)
    assert response.status == 403


async def test_static_files_are_served_without_the_token(
    client: TestClient,
) -> None:
    # textual-serve's script and stylesheet, the same for everyone: the page loads them.
    response = await client.get("/static/js/textual.js")
    assert response.status == 200


# -- one app process per tab -------------------------------------------------------------------


def app_processes() -> set[int]:
    """The app processes this test process started, through a server of its own or through
    ``llmtool-tui serve`` (not counted: it is the server), without the child that each app
    forks at its start to list the history (``engine/first_listing.py``): same command line."""
    running = {
        child.pid: child
        for child in psutil.Process().children(recursive=True)
        if "llmtool_tui" in (argv := argv_of(child)) and "serve" not in argv
    }
    return {pid for pid, process in running.items() if parent_pid(process) not in running}


def parent_pid(process: psutil.Process) -> int | None:
    try:
        return process.ppid()
    except psutil.Error:
        return None


def argv_of(process: psutil.Process) -> list[str]:
    """Its command line; empty once it has ended (a zombie not yet reaped has ended too)."""
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Return once ``condition()`` holds; fail the test when it still does not after
    ``APP_DEADLINE_S``. Tests on an event loop call it in a thread, the loop keeps serving."""
    deadline = time.monotonic() + APP_DEADLINE_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"still waiting after {APP_DEADLINE_S:.0f} s for {what}")
        time.sleep(0.1)


async def test_each_websocket_runs_its_own_app_which_ends_with_it(
    client: TestClient,
) -> None:
    before = app_processes()
    first = await client.ws_connect(f"/ws/{TOKEN}?width=100&height=30")
    # The app's first frame: it is running, not just started.
    assert (await first.receive_bytes(timeout=APP_DEADLINE_S)) != b""
    first_apps = app_processes() - before
    second = await client.ws_connect(f"/ws?token={TOKEN}&width=100&height=30")
    assert (await second.receive_bytes(timeout=APP_DEADLINE_S)) != b""
    second_apps = app_processes() - before - first_apps
    assert first_apps and second_apps

    await first.close()
    await asyncio.to_thread(
        wait_until, lambda: not (app_processes() & first_apps), "the first tab's app to end"
    )
    assert app_processes() & second_apps, "closing one tab ended the other's app"
    await second.close()
    await asyncio.to_thread(
        wait_until, lambda: not (app_processes() & second_apps), "the second tab's app to end"
    )


def test_each_tab_runs_exactly_the_app_on_the_workspace() -> None:
    workspace = Path("/data/my workspace")
    argv = shlex.split(app_command(workspace, poll=True))
    assert argv == [sys.executable, "-m", "llmtool_tui", "--workspace", str(workspace), "--poll"]
    assert shlex.split(app_command(workspace, poll=False)) == argv[:-1]
    # What ``python -m llmtool_tui`` makes of it: the app (no command), on that workspace.
    args = build_parser().parse_args(argv[3:])
    assert (args.command, args.workspace, args.poll) == (None, str(workspace), True)


# -- the command line --------------------------------------------------------------------------


def test_the_app_and_other_commands_never_load_the_web_server() -> None:
    # build_parser(None) registers every command, as `llmtool-tui --help` does.
    code = (
        "import sys; from llmtool_tui.cli import build_parser; build_parser(None);"
        " import llmtool_tui.app;"
        " print(sorted({m.split('.')[0] for m in sys.modules} & {'aiohttp', 'textual_serve'}))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert loaded.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.20", False),
        ("gpu-box.example.org", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def serve_without_listening(monkeypatch: pytest.MonkeyPatch) -> list[TokenServer]:
    """Make ``serve`` announce itself and return at once instead of serving."""
    servers: list[TokenServer] = []

    def serve_forever(self: TokenServer, on_listening: Callable[[], None]) -> None:
        servers.append(self)
        on_listening()

    monkeypatch.setattr(TokenServer, "serve_forever", serve_forever)
    return servers


def test_another_host_is_served_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    servers = serve_without_listening(monkeypatch)
    assert main(["serve", "--host", "0.0.0.0", "--workspace", str(workspace.root)]) == 0
    out, err = capsys.readouterr()
    assert "warning: listening on 0.0.0.0" in err
    assert "ssh -L" in err
    [server] = servers
    assert (server.host, server.port) == ("0.0.0.0", 8765)
    # A browser cannot open 0.0.0.0: the address names the machine.
    assert f"http://{socket.gethostname()}:8765/?token={server.token}" in out


def test_localhost_by_default_without_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    servers = serve_without_listening(monkeypatch)
    assert main(["serve", "--workspace", str(workspace.root), "--poll"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    [server] = servers
    assert (server.host, server.port) == ("127.0.0.1", 8765)
    assert f"http://127.0.0.1:8765/?token={server.token}" in out
    assert server.command == app_command(workspace.root, poll=True)


def test_a_taken_port_is_refused_with_the_fix(
    capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["serve", "--port", str(port), "--workspace", str(workspace.root)])
    assert code == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err
    assert "pass another --port" in err


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "70000"]])
def test_bad_ports_and_workspaces_are_refused(
    args: list[str], capsys: pytest.CaptureFixture[str], workspace: Workspace
) -> None:
    assert main(["serve", *args, "--workspace", str(workspace.root)]) == 2
    assert "pass one from 1 to 65535" in capsys.readouterr().err


def test_a_missing_workspace_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["serve", "--workspace", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.fixture
def served(workspace: Workspace) -> Iterator[str]:
    """``llmtool-tui serve`` on a workspace of two sessions, from a shell; its printed URL."""
    make_session(workspace, "20250101_120000")
    make_session(workspace, "20250102_120000")
    command = [sys.executable, "-m", "llmtool_tui", "serve", "--port", str(free_port())]
    process = subprocess.Popen(
        [*command, "--workspace", str(workspace.root)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        url = None
        for line in process.stdout:
            if match := re.search(r"http://\S+", line):
                url = match.group(0)
                break
        assert url is not None, f"serve printed no address: {process.stderr.read()}"
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=20) == 0
        finally:
            process.kill()


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as refused:
        return refused.code


def test_the_printed_address_opens_the_page_and_nothing_else_does(served: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[A-Za-z0-9_-]{43}", served)
    assert status_of(served) == 200
    assert status_of(served.split("?")[0]) == 403
    assert status_of(served[:-1]) == 403


# -- in a real browser -------------------------------------------------------------------------

#: Run in the page before textual-serve's script: keep each object that gets an xterm.js
#: ``_core``, among them the page's Terminal, whose buffer holds the text its canvas shows.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "_core", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "_core", {value, writable: true, configurable: true});
    (window.__cores = window.__cores || []).push(this);
  },
});
"""
#: Whether the terminal's screen shows ``text`` (an argument).
SCREEN_SHOWS = """(text) => {
  const terminal = (window.__cores || []).find((o) => o.buffer && o.buffer.active);
  if (!terminal) return false;
  const buffer = terminal.buffer.active, lines = [];
  for (let y = 0; y < terminal.rows; y++) {
    lines.push(buffer.getLine(buffer.viewportY + y)?.translateToString(true) ?? "");
  }
  window.__screen = lines.join("\\n");
  return window.__screen.includes(text);
}"""


def chromium() -> str:
    """Chromium's executable, or the test's skip with the reason."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("Playwright is not installed: `make test` installs it (the dev extra)")
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        pytest.skip(
            "no Chromium on this machine: `make test` installs Debian's chromium where it runs"
            " as root with apt-get; elsewhere install it and run again"
        )
    return executable


def test_a_browser_shows_the_options_then_the_history_one_app_per_tab(
    served: str, tmp_path: Path
) -> None:
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            page.add_init_script(CATCH_TERMINAL)
            page.goto(served)

            def shows(text: str) -> None:
                page.wait_for_function(SCREEN_SHOWS, arg=text, timeout=APP_DEADLINE_S * 1000)

            shows("Resume/Relaunch Training")
            shows("New Training Session")
            # Keys go to the terminal once it has the focus, as a user's click gives it.
            page.click(".textual-terminal")
            page.keyboard.press("1")
            shows("Previous Training Sessions")
            screen = page.evaluate("window.__screen")
            rows = [line for line in screen.splitlines() if "tiny-bert" in line]
            assert len(rows) == 2, screen
            assert "2025-01-02" in rows[0] and "2025-01-01" in rows[1], screen

            [app] = app_processes()
            second_tab = browser.new_page()
            second_tab.goto(served)
            wait_until(lambda: len(app_processes()) == 2, "the second tab's own app")
            page.close()
            wait_until(lambda: app not in app_processes(), "the closed tab's app to end")
            assert len(app_processes()) == 1, "closing one tab ended the other's app"
        except Exception:
            if not page.is_closed():
                page.screenshot(path=tmp_path / "browser.png")
            raise
        finally:
            browser.close()
