"""``llmtool-tui serve``: the app in a web browser, one app process per tab.

Localhost by default, reached from elsewhere through ``ssh -L`` as TensorBoard or Jupyter are;
another ``--host`` is allowed with a warning. The URL printed at start carries a secret token,
without which the server answers 403 (``llmtool_tui.serve`` says what it protects and how).
"""

from __future__ import annotations

import argparse
import socket
import sys

from engine.errors import BadInputError
from engine.workspace import Workspace

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def register(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Add the ``serve`` command."""
    serve = subparsers.add_parser(
        "serve",
        parents=[common],
        help="serve the app to a web browser (localhost; a token in the URL)",
        description=(
            "Serve the Training Studio to a web browser with textual-serve: each tab runs its own"
            " app on the workspace; closing the tab ends that app, while training keeps running"
            " in its own workers. The address printed at start carries a secret token; without"
            " it the server answers 403. From another machine: ssh -L PORT:localhost:PORT HOST,"
            " then open the printed address. Exit 2 when the address cannot be bound."
        ),
    )
    serve.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default: {DEFAULT_HOST}, this machine only; any other"
        " lets others on the network reach the page, token still needed)",
    )
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--poll",
        action="store_true",
        default=argparse.SUPPRESS,
        help="the apps poll the sessions folder instead of inotify (network filesystems)",
    )
    serve.set_defaults(handler=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    """``llmtool-tui serve``: serve until Ctrl+C. Returns the exit code."""
    # Loaded here: aiohttp and textual-serve are this command's alone.
    from llmtool_tui.serve import TokenServer, app_command, is_loopback, new_token

    workspace = Workspace.resolve(getattr(args, "workspace", None))
    if not workspace.root.is_dir():
        raise BadInputError(
            f"workspace {workspace.root} does not exist; create it or pass an existing --workspace"
        )
    if not 0 < args.port < 65536:
        raise BadInputError(f"--port {args.port} is not a port; pass one from 1 to 65535")
    if not is_loopback(args.host):
        print(
            f"llmtool-tui: warning: listening on {args.host}, not this machine alone: whoever"
            " reaches this port and has the address below controls the app (starts and stops"
            " training, reads the workspace's logs). Prefer the default host and ssh -L.",
            file=sys.stderr,
        )
    token = new_token()
    server = TokenServer(
        app_command(workspace.root, poll=getattr(args, "poll", False)),
        host=args.host,
        port=args.port,
        token=token,
    )
    # A wildcard host is not an address a browser can open: the machine's name is.
    shown_host = socket.gethostname() if args.host in ("0.0.0.0", "::", "") else args.host
    if ":" in shown_host:
        shown_host = f"[{shown_host}]"
    url = f"http://{shown_host}:{args.port}/?token={token}"

    def announce() -> None:
        print(
            f"Serving the Training Studio of {workspace.root} at\n\n    {url}\n\n"
            "Open it in a browser (keep it secret: it gives control of the app)."
            " Ctrl+C stops the server.",
            flush=True,
        )

    try:
        server.serve_forever(on_listening=announce)
    except OSError as exc:
        raise BadInputError(
            f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc});"
            " pass another --port or --host"
        ) from exc
    return 0
