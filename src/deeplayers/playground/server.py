"""The playground's web server: a Starlette app, one :class:`Session` per WebSocket (browser tab).

Routes
------
``GET /``                      the page (``static/index.html``; every asset is in the package)
``GET /static/...``            its JavaScript and CSS
``WS  /ws``                    one tab's session: settings and commands in, frames out (JSON text)
``GET /export/model?session=`` the trained network as a deeplayers model file (.npz)
``GET /export/onnx?session=``  the same network as ONNX
``GET /export/data?session=``  the samples as CSV (feature columns, then the label)

Messages from the page (JSON objects with a ``type``)::

    {"type": "config", "config": {...settings...}}   change settings (checked; see session.DEFAULTS)
    {"type": "play"} {"type": "pause"} {"type": "step"} {"type": "reset"} {"type": "regenerate"}
    {"type": "upload_csv", "name": "my.csv", "text": "x1,x2,label\\n..."}

Replies: ``hello`` (on connect), ``config`` (settings and the notation panel), ``points`` (the
data), ``frame`` (epoch, costs, heatmaps as base64 uint8 grids, weights), ``status`` (playing or
not) and ``error`` (what was wrong; nothing was changed). Training runs as one asyncio task per
tab on the server's event loop (no threads); closing the tab cancels it and forgets the session.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from .. import __version__
from ..errors import DeeplayersError
from . import data as D
from .session import DEFAULTS, HIDDEN_ACTIVATIONS, LIMITS, OPTIMIZER_NAMES, OUTPUTS, Session, step_safely

__all__ = ["create_app", "Playground", "MAX_MESSAGE_BYTES", "MIN_UPDATE_INTERVAL"]

#: largest message accepted from a page (an upload is at most MAX_UPLOAD_BYTES plus its envelope)
MAX_MESSAGE_BYTES = D.MAX_UPLOAD_BYTES + 64_000
#: at most this many screen updates per second and tab, so several tabs and the browser share the CPU
MIN_UPDATE_INTERVAL = 1 / 30
STATIC = resources.files("deeplayers.playground") / "static"


class Tab:
    """One connected page: its session, its training task and a lock so replies never interleave."""

    def __init__(self, ws: WebSocket, sid: str) -> None:
        self.ws, self.sid = ws, sid
        self.session = Session()
        self.task: asyncio.Task[None] | None = None
        self.send_lock = asyncio.Lock()
        self.updates = 0

    @property
    def playing(self) -> bool:
        return self.task is not None and not self.task.done()

    async def send(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(message, separators=(",", ":")))

    async def send_state(self, points: bool = False) -> None:
        await self.send(self.session.describe())
        if points:
            await self.send(self.session.points())
        await self.send(self.session.frame())

    async def status(self) -> None:
        await self.send({"type": "status", "playing": self.playing, "epoch": self.session.epoch})

    def start(self) -> None:
        if not self.playing:
            self.task = asyncio.create_task(self._train(), name=f"playground-train-{self.sid[:8]}")

    async def stop(self) -> None:
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def update(self) -> str | None:
        """One update: epochs_per_update epochs, one at a time, letting the event loop serve this and
        other tabs between them (an epoch of batch size 1 on 1080 points is 1080 steps)."""
        s = self.session
        net = s.net
        for _ in range(s.config["epochs_per_update"]):
            error = step_safely(s, 1)
            if error is not None:
                return error
            await asyncio.sleep(0)
            if s.net is not net:  # a message in between started a new run
                break
        return None

    async def _train(self) -> None:
        """Train and push a frame, again and again, at most one update per MIN_UPDATE_INTERVAL."""
        while True:
            t0 = time.perf_counter()
            error = await self.update()
            if error is not None:
                self.task = None
                await self.send({"type": "error", "message": error, "request": "play"})
                await self.send(self.session.frame())
                await self.status()
                return
            await self.send(self.session.frame())
            self.updates += 1
            # sleep even when late: the event loop then reads this tab's and other tabs' messages
            await asyncio.sleep(max(0.0, MIN_UPDATE_INTERVAL - (time.perf_counter() - t0)))


class Playground:
    """The server's state: the open tabs by session id."""

    def __init__(self) -> None:
        self.tabs: dict[str, Tab] = {}

    def live_tasks(self) -> int:
        """Training tasks still running (0 once every tab has closed)."""
        return sum(1 for tab in self.tabs.values() if tab.playing)

    # -- the WebSocket ---------------------------------------------------------------------
    async def websocket(self, ws: WebSocket) -> None:
        if not _same_origin(ws.headers.get("origin"), ws.headers.get("host")):
            await ws.close(code=1008, reason="cross-origin connections are refused")
            return
        await ws.accept()
        sid = secrets.token_urlsafe(16)
        tab = self.tabs[sid] = Tab(ws, sid)
        try:
            await tab.send(hello(sid))
            await tab.send_state(points=True)
            while True:
                message = await ws.receive()
                if message["type"] == "websocket.disconnect":
                    break
                text = message.get("text")
                if text is None:
                    await tab.send(_error("messages must be JSON text, not binary data"))
                    continue
                await self.handle(tab, text)
        except WebSocketDisconnect:
            pass
        finally:
            await tab.stop()
            self.tabs.pop(sid, None)

    async def handle(self, tab: Tab, text: str) -> None:
        """Carry out one message; a bad one is answered with an error and changes nothing."""
        if len(text) > MAX_MESSAGE_BYTES:
            await tab.send(_error(f"message too large ({len(text)} characters; the limit is {MAX_MESSAGE_BYTES})"))
            return
        try:
            msg = json.loads(text)
        except ValueError:
            await tab.send(_error("message is not valid JSON"))
            return
        if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
            await tab.send(_error('a message must be a JSON object with a "type", e.g. {"type": "play"}'))
            return
        kind = msg["type"]
        extra = sorted(set(msg) - ALLOWED_KEYS.get(kind, set()) - {"type"})
        if kind not in ALLOWED_KEYS:
            await tab.send(_error(f"unknown message type {kind!r}; known: {', '.join(ALLOWED_KEYS)}", kind))
            return
        if extra:
            await tab.send(_error(f"{kind}: unexpected field {extra[0]!r}", kind))
            return
        s = tab.session
        try:
            if kind == "play":
                tab.start()
                await tab.status()
            elif kind == "pause":
                await tab.stop()
                await tab.status()
                await tab.send(s.frame())
            elif kind == "step":
                await tab.stop()
                error = await tab.update()
                if error is not None:
                    await tab.send(_error(error, kind))
                await tab.status()
                await tab.send(s.frame())
            elif kind == "reset":
                s.reset()
                await tab.send_state()
            elif kind == "regenerate":
                s.regenerate()
                await tab.send_state(points=True)
            elif kind == "config":
                if "config" not in msg:
                    raise DeeplayersError('config: give the settings to change as "config": {...}')
                before = (s.config["dataset"], s.config["noise"], s.config["train_ratio"], s.config["seed"])
                s.configure(msg["config"])
                after = (s.config["dataset"], s.config["noise"], s.config["train_ratio"], s.config["seed"])
                await tab.send_state(points=before != after)
            elif kind == "upload_csv":
                s.load_csv(msg.get("text"), msg.get("name", "upload.csv"))
                await tab.send_state(points=True)
        except DeeplayersError as exc:
            await tab.send(_error(str(exc), kind))

    # -- downloads -------------------------------------------------------------------------
    def _tab(self, request: Request) -> Tab | Response:
        sid = request.query_params.get("session", "")
        tab = self.tabs.get(sid)
        if tab is None:
            return PlainTextResponse("no such session: open the playground page and use its download buttons", 404)
        return tab

    async def export_model(self, request: Request) -> Response:
        tab = self._tab(request)
        if isinstance(tab, Response):
            return tab
        from ..modelfile import save

        return _file_response(lambda path: save(tab.session.model(), path), ".npz", _name(tab, "npz"),
                              "application/octet-stream")

    async def export_onnx(self, request: Request) -> Response:
        tab = self._tab(request)
        if isinstance(tab, Response):
            return tab
        try:
            from ..onnx_export import export_onnx
        except ImportError:  # pragma: no cover - onnx_export imports onnx lazily
            return PlainTextResponse("ONNX export needs the onnx package: pip install 'deeplayers[onnx]'", 501)
        try:
            return _file_response(lambda path: export_onnx(tab.session.model(), path), ".onnx", _name(tab, "onnx"),
                                  "application/octet-stream")
        except ImportError as exc:
            return PlainTextResponse(f"ONNX export needs the onnx package: pip install 'deeplayers[onnx]' ({exc})", 501)

    async def export_data(self, request: Request) -> Response:
        tab = self._tab(request)
        if isinstance(tab, Response):
            return tab
        return Response(tab.session.data_csv(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{_name(tab, "csv")}"'})


ALLOWED_KEYS: dict[str, set[str]] = {
    "config": {"config"}, "play": set(), "pause": set(), "step": set(), "reset": set(), "regenerate": set(),
    "upload_csv": {"name", "text"},
}


def hello(sid: str) -> dict[str, Any]:
    return {
        "type": "hello", "session": sid, "version": __version__, "defaults": DEFAULTS, "limits": LIMITS,
        "datasets": list(D.DATASETS), "classification": list(D.CLASSIFICATION), "features": list(D.FEATURES),
        "feature_labels": D.FEATURE_LABELS, "activations": list(HIDDEN_ACTIVATIONS), "outputs": list(OUTPUTS),
        "optimizers": list(OPTIMIZER_NAMES),
    }


def _error(message: str, request: str | None = None) -> dict[str, Any]:
    return {"type": "error", "message": message, "request": request}


def _name(tab: Tab, ext: str) -> str:
    c = tab.session.config
    base = c["dataset"] if c["dataset"] != "csv" else "upload"
    return f"playground-{base}-{'-'.join(map(str, c['layers'])) or 'logistic'}.{ext}"


def _file_response(write: Any, suffix: str, filename: str, media_type: str) -> Response:
    with tempfile.TemporaryDirectory(prefix="deeplayers-playground-") as tmp:
        path = Path(tmp) / f"model{suffix}"
        write(path)
        body = path.read_bytes()
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _same_origin(origin: str | None, host: str | None) -> bool:
    """A page from another site may not drive the playground (a browser always sends Origin)."""
    if origin is None:
        return True  # not a browser (tests, scripts)
    return urlsplit(origin).netloc == (host or "")


async def _index(request: Request) -> Response:
    return FileResponse(str(STATIC / "index.html"), media_type="text/html")


def create_app(playground: Playground | None = None, on_startup: Any = None) -> Starlette:
    """The ASGI app; ``app.state.playground`` holds the open tabs (for tests and shutdown)."""
    pg = playground or Playground()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if on_startup is not None:
            on_startup()
        yield
        for tab in list(pg.tabs.values()):  # Ctrl-C: stop every tab's training first
            await tab.stop()

    static_dir = os.fspath(STATIC)
    app = Starlette(routes=[
        Route("/", _index),
        Route("/export/model", pg.export_model),
        Route("/export/onnx", pg.export_onnx),
        Route("/export/data", pg.export_data),
        WebSocketRoute("/ws", pg.websocket),
        Mount("/static", app=StaticFiles(directory=static_dir), name="static"),
    ], lifespan=lifespan)
    app.state.playground = pg
    return app
