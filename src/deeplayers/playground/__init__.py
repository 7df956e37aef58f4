"""The playground: watch a deep network learn in the browser, trained by the real engine.

``deeplayers playground`` (or :func:`deeplayers.playground.command.serve`) starts a local web app;
it needs the optional extra ``pip install 'deeplayers[playground]'`` (Starlette and Uvicorn).

- :mod:`.data`     the two-feature data sets, input features and CSV uploads
- :mod:`.session`  one tab's settings, data, Network and optimizer; frames for the page
- :mod:`.server`   the Starlette app (page, WebSocket, downloads)
- :mod:`.command`  the click command and ``serve()``
- ``static/``      the page: index.html, playground.js, playground.css (no CDN, works offline)
"""

from __future__ import annotations

__all__ = ["serve"]


def serve(host: str = "127.0.0.1", port: int = 8765, open_browser: bool = True) -> None:
    """Run the playground until Ctrl-C; see :func:`deeplayers.playground.command.serve`."""
    from .command import serve as _serve

    _serve(host, port, open_browser)
