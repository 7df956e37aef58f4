"""``deeplayers playground``: start the local web app (needs ``pip install 'deeplayers[playground]'``).

Importing this module needs only click; the web server's packages are imported when the command runs.
"""

from __future__ import annotations

import errno
import socket
import sys
import webbrowser
from typing import Any

import click

from ..errors import ConfigError

__all__ = ["playground", "serve", "LOCAL_HOSTS"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
INSTALL_HINT = "the playground needs Starlette and Uvicorn: pip install 'deeplayers[playground]'"


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, or a ConfigError that says which option to change."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"--host {host!r} is not an address of this machine ({exc.strerror})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} is already in use; choose another with --port (or --port 0 for any free "
                              "one)") from None
        raise ConfigError(f"cannot listen on --host {host} --port {port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True, log_level: str = "warning") -> None:
    """Run the playground until Ctrl-C (or SIGTERM); prints the URL and opens a browser tab."""
    try:
        import uvicorn

        from .server import create_app
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    if host not in LOCAL_HOSTS:
        click.echo(f"warning: --host {host} makes the playground reachable from other machines; it has no login, "
                   "so anyone who can reach this port can use it", err=True)
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{bound_port}/"
    server: Any = None

    def started() -> None:
        click.echo(f"deeplayers playground on {url}  (Ctrl-C stops it)")
        if open_browser:
            try:
                webbrowser.open(url, new=2)
            except webbrowser.Error:  # pragma: no cover - no browser is not an error
                click.echo("no browser found; open the URL above yourself", err=True)

    app = create_app(on_startup=started)
    config = uvicorn.Config(app, log_level=log_level, ws_max_size=2_000_000, ws_per_message_deflate=False,
                            timeout_graceful_shutdown=3, lifespan="on")
    server = uvicorn.Server(config)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then re-raised the Ctrl-C it caught
        pass
    finally:
        sock.close()
    click.echo("playground stopped")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but this machine's own (127.0.0.1) makes the page reachable "
                   "from other machines, without a login (a warning is printed).")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0: any free port).")
@click.option("--no-browser", is_flag=True, help="Only print the URL; do not open a browser tab.")
def playground(host: str, port: int, no_browser: bool) -> None:
    """Watch a deep network learn in the browser, trained by the real engine.

    Pick a data set and input features, add layers and units, choose g[l] per layer, the
    optimizer, learning rate, L2 and batch size, press play: every unit's A[l] is drawn over the
    input plane, the links by the sign and size of W[l], with live train and test cost, the shapes
    W[l], b[l], Z[l], A[l] with the real m, overlaid cost curves of earlier runs, CSV upload and
    model / ONNX download. Needs: pip install 'deeplayers[playground]'.
    """
    serve(host, port, open_browser=not no_browser)
    sys.stdout.flush()
