"""The app in a web browser: textual-serve, behind a secret token in the URL.

textual-serve starts one app process per websocket, that is per browser tab, and ends it when
the tab closes; the process is the ordinary app (``python -m llmtool_tui --workspace ...``),
so the browser shows exactly what the terminal shows. Whoever holds the page's URL drives
the app (starts and stops training, reads the workspace), so every route but the static files
(textual-serve's script, fonts and stylesheet, the same for everyone) answers 403 without the
token. The page gets it in its query (``/?token=...``), the websocket in its path
(``/ws/<token>``): textual-serve's script appends its own ``?width=..&height=..`` to the
websocket URL it is given, which a token in a query would not survive.

Imported only by ``llmtool-tui serve``: the app itself never loads aiohttp.
"""

from __future__ import annotations

import ipaddress
import secrets
import shlex
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp_jinja2
from aiohttp import web
from textual_serve.server import Server, to_int

#: Bytes of randomness in a token (its URL-safe text is 43 characters): as many as Jupyter's.
TOKEN_BYTES = 32
#: The one prefix served without the token: textual-serve's script, stylesheet and fonts.
STATIC_PREFIX = "/static/"
#: Seconds the server waits for open tabs at shutdown before it cancels them (each then
#: tells its app process to quit): aiohttp's default of 60 would hold Ctrl+C for a minute.
SHUTDOWN_TIMEOUT_S = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def new_token() -> str:
    """A fresh access token: unguessable, from the ``secrets`` module."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def app_command(workspace: Path, *, poll: bool) -> str:
    """The shell command textual-serve runs per tab: this interpreter's app on ``workspace``.

    Args:
        workspace: the served workspace, absolute (the server's current dir does not matter).
        poll: poll the sessions folder instead of inotify, as the app's ``--poll``.

    Returns:
        The command line, quoted for the shell textual-serve starts it with.
    """
    argv = [sys.executable, "-m", "llmtool_tui", "--workspace", str(workspace)]
    if poll:
        argv.append("--poll")
    return shlex.join(argv)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


async def _no_referrer(request: web.Request, response: web.StreamResponse) -> None:
    # The page loads its font from Google: browsers send only the origin as the referrer by
    # default, but an older one, or one set otherwise, would send the URL, token included.
    response.headers["Referrer-Policy"] = "no-referrer"


class TokenServer(Server):
    """textual-serve's server, with every route but the static files behind ``token``."""

    def __init__(self, command: str, *, host: str, port: int, token: str) -> None:
        super().__init__(command, host=host, port=port, title="llmtool-tui Training Studio")
        self.token = token

    async def web_app(self) -> web.Application:
        """The aiohttp application: textual-serve's routes, the token's check in front."""
        app = await self._make_app()
        # The route of the page's websocket URL; textual-serve's own /ws stays, as does
        # /download/{key}: the check below covers them all alike.
        app.router.add_get("/ws/{token}", self.handle_websocket)
        app.middlewares.append(self._require_token)
        app.on_response_prepare.append(_no_referrer)
        return app

    @web.middleware
    async def _require_token(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(STATIC_PREFIX):
            return await handler(request)
        given = request.match_info.get("token") or request.query.get("token", "")
        # compare_digest: the time taken tells nothing about how much of a guess was right.
        if not secrets.compare_digest(given.encode(), self.token.encode()):
            raise web.HTTPForbidden(
                text="403: this address needs the token that `llmtool-tui serve` printed"
                " (http://HOST:PORT/?token=...)\n"
            )
        return await handler(request)

    async def handle_index(self, request: web.Request) -> web.Response:
        """textual-serve's page, its websocket URL on the host the browser asked for.

        textual-serve builds it from the server's own host and port, which an ``ssh -L`` to
        another local port, or a bind to 0.0.0.0, would make wrong.
        """
        scheme = "wss" if request.secure else "ws"
        context = {
            "font_size": to_int(request.query.get("fontsize", "16"), 16),
            "app_websocket_url": f"{scheme}://{request.host}/ws/{self.token}",
            "config": {"static": {"url": STATIC_PREFIX}},
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    async def on_startup(self, app: web.Application) -> None:
        """Nothing: textual-serve's banner names the command, and the CLI prints the URL."""

    def serve_forever(self, on_listening: Callable[[], None]) -> None:
        """Serve until Ctrl+C or SIGTERM; ``on_listening`` runs once the port is bound.

        Raises:
            OSError: the host cannot be bound, or the port is taken.
        """
        web.run_app(
            self.web_app(),
            host=self.host,
            port=self.port,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
            # Access logs would write every page's URL, token included.
            access_log=None,
            print=lambda _message: on_listening(),
        )
