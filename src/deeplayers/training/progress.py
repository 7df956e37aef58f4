"""Progress while training: a bar on a terminal or in a notebook, otherwise lines."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .callbacks import Callback

if TYPE_CHECKING:
    from .loop import _Loop

__all__ = ["_Progress"]


class _Progress(Callback):
    """A tqdm bar on a terminal; otherwise one line every ``every`` epochs.

    Within a long epoch the display moves too: the bar shows the fraction of the epoch done at
    least every ``BAR_EVERY`` seconds, and without a bar a line says how far the epoch is every
    ``LINE_EVERY`` seconds. ``clock`` (seconds) and ``bar`` (True/False, None: a terminal or a
    notebook decides) are there for tests.
    """

    _passive = True  # reads no gradients, writes no parameters between batches (training loop)

    BAR_EVERY = 0.5
    LINE_EVERY = 10.0

    def __init__(self, verbose: int, every: int | None = None, *, clock: Callable[[], float] = time.monotonic,
                 bar: bool | None = None, file: Any = None) -> None:
        self.verbose, self.every, self.bar = verbose, every, None
        self.clock, self.want_bar, self.file = clock, bar, file
        self.refreshes = 0  # within-epoch updates shown so far

    def on_train_begin(self, loop: _Loop) -> None:
        total = loop.n_epochs
        self.every = self.every or (1 if self.verbose >= 2 else max(1, total // 10))
        from ..notebook import in_notebook, progress_bar_class

        # verbose=2 asks for a line per epoch, on a terminal too
        want = self.want_bar if self.want_bar is not None else (
            self.verbose == 1 and (sys.stderr.isatty() or in_notebook()))
        if want:
            bar = dict(total=total, initial=loop.start_epoch, unit=loop.history.unit, leave=True)
            if self.file is None:  # tqdm's notebook bar in a notebook, its text bar on a terminal
                self.bar = progress_bar_class()(**bar)
            else:
                from tqdm import tqdm

                self.bar = tqdm(file=self.file, **bar)
        self.last = self.clock()

    def on_batch_end(self, loop: _Loop, batch: int, n_batches: int) -> None:
        now = self.clock()
        if now - self.last < (self.BAR_EVERY if self.bar is not None else self.LINE_EVERY):
            return
        self.last = now
        self.refreshes += 1
        done = batch + 1
        if self.bar is not None:
            n = round(loop.epoch + done / n_batches, 2)  # tqdm shows the fraction: 2.37/10
            self.bar.n = int(n) if n.is_integer() else n
            self.bar.refresh()
        else:
            print(f"{loop.history.unit} {loop.epoch + 1}/{loop.n_epochs}: batch {done}/{n_batches}",
                  file=self.file, flush=True)

    def on_epoch_end(self, loop: _Loop, epoch: int, logs: dict[str, float]) -> None:
        shown = {k: v for k, v in logs.items() if k in ("cost", "val_cost", "val_accuracy")}
        self.last = self.clock()
        if self.bar is not None:
            self.bar.set_postfix({k: f"{v:.4g}" for k, v in shown.items()}, refresh=False)
            self.bar.n = epoch  # whole epochs again after fractions within one
            self.bar.update(1)
        elif (epoch + 1) % self.every == 0 or epoch + 1 == loop.n_epochs or loop.stop:
            parts = "  ".join(f"{k} {v:.6g}" for k, v in shown.items())
            print(f"{loop.history.unit} {epoch + 1}/{loop.n_epochs}  {parts}  ({logs['time']:.1f}s)",
                  file=self.file, flush=True)

    def on_train_end(self, loop: _Loop) -> None:
        if self.bar is not None:
            self.bar.close()

