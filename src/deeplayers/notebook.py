"""Training in a notebook: a notebook progress bar, and the cost curve drawn live in one output.

``net.fit(X, Y, verbose=1)`` in Jupyter shows tqdm's notebook bar (a text bar when ipywidgets is
missing); ``verbose="plot"`` also draws the cost curve (validation cost too, when recorded) and
redraws it in place, in the same output, as training goes (about 25 times a run and at the end):
one figure, no flicker, no pile of pictures. (Afterwards, :func:`deeplayers.plots.plot_costs`
draws the finished curve the course's way.) Outside a notebook ``verbose="plot"`` warns and shows
the progress only.
"""

from __future__ import annotations

import io
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import ConfigError

if TYPE_CHECKING:
    from .training import _Loop

__all__ = ["in_notebook", "progress_bar_class", "LivePlot"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (an IPython shell with a kernel), False in a terminal or script."""
    ipython = sys.modules.get("IPython")  # a kernel has imported it already; never import it here
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def progress_bar_class() -> type:
    """tqdm's notebook bar in a notebook with ipywidgets, its text bar otherwise."""
    if in_notebook():
        try:
            import ipywidgets  # noqa: F401  (the notebook bar is a widget)
            from tqdm.notebook import tqdm as bar
            return bar
        except ImportError:
            pass
    from tqdm.std import tqdm as bar
    return bar


def check_verbose(verbose: Any) -> None:
    """0 / False silent, 1 / True a progress bar, 2 or more a line per epoch, or "plot"."""
    import numbers

    if verbose == "plot" or (isinstance(verbose, numbers.Integral) and verbose >= 0):
        return
    raise ConfigError(f"verbose must be 0 (silent), 1 (a progress bar), 2 (a line per epoch) or 'plot' "
                      f"(a progress bar and the cost curve drawn live in a notebook), got {verbose!r}")


class LivePlot:
    """A training callback that draws the cost curve in one notebook output and updates it in place.

    One matplotlib figure (``figure``, on its own Agg canvas, pyplot untouched) holds the training
    cost (and the validation cost, when recorded) against iterations or epochs 1..n; each redraw
    sets the lines' data on that figure, renders it as a PNG and replaces the output shown first
    through ``IPython.display.display(..., display_id=True)`` by its handle (``handle.update``), so
    the notebook keeps one picture. ``updates`` counts the redraws; ``display`` may be given (tests,
    other front ends): ``display(image) -> handle``. It has the hooks of
    :class:`deeplayers.training.Callback` and goes in ``fit(..., callbacks=[LivePlot()])``.
    """

    _passive = True  # reads no gradients, writes no parameters between batches (training loop)

    def __init__(self, every: int | None = None, display: Callable[[Any], Any] | None = None) -> None:
        self.every, self._display, self.handle, self.updates = every, display, None, 0
        self._every_given = every  # None: about 25 redraws, worked out again for each run
        self._drawn_at = -1
        self.figure: Any = None

    def on_train_begin(self, loop: _Loop) -> None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ConfigError("verbose='plot' draws with matplotlib: pip install 'deeplayers[plot]'") from None
        # from the user's every, never from the last run's: a reused LivePlot follows each run's length
        self.every = self._every_given or max(1, loop.n_epochs // 25)
        self.handle, self.updates, self._drawn_at, self.figure = None, 0, -1, None

    def _image(self, loop: _Loop, epoch: int) -> Any:
        h = loop.history
        if self.figure is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self.figure = Figure(figsize=(6.4, 4.0), dpi=100)
            FigureCanvasAgg(self.figure)
            ax = self.figure.add_subplot()
            ax.plot([], [], color="C0", lw=1.8, label="train cost")
            ax.plot([], [], color="C1", lw=1.8, label="validation cost")
            ax.set_xlabel("epochs" if h.unit == "epoch" else "iterations")
            ax.set_ylabel("cost")
            ax.grid(True, alpha=0.3)
        ax = self.figure.axes[0]
        train, val = ax.lines
        train.set_data(range(1, len(h.cost) + 1), h.cost)
        val.set_data(range(1, len(h.val_cost) + 1), h.val_cost)
        if h.val_cost and ax.get_legend() is None:
            ax.legend(frameon=False)
        ax.relim()
        ax.autoscale_view()
        ax.set_xlim(0.5, max(2, loop.n_epochs) + 0.5)  # the whole run's width: the curve grows into it
        ax.set_title(f"layer_dims = {loop.net.layer_dims}: {h.unit} {epoch + 1}/{loop.n_epochs}", fontsize=10)
        self.figure.tight_layout()
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png")
        from IPython.display import Image

        return Image(data=buf.getvalue(), format="png")

    def _draw(self, loop: _Loop, epoch: int) -> None:
        image = self._image(loop, epoch)
        if self.handle is None:
            if self._display is None:
                from IPython.display import display

                self._display = lambda obj: display(obj, display_id=True)
            self.handle = self._display(image)
        else:
            self.handle.update(image)
        self.updates += 1
        self._drawn_at = epoch

    def on_epoch_end(self, loop: _Loop, epoch: int, logs: dict[str, float]) -> None:
        if (epoch + 1) % self.every == 0 or epoch + 1 == loop.n_epochs or loop.stop:
            self._draw(loop, epoch)

    def on_train_end(self, loop: _Loop) -> None:
        if loop.history.cost and self._drawn_at != len(loop.history.cost) - 1:
            self._draw(loop, len(loop.history.cost) - 1)


def live_callbacks(verbose: Any) -> list[LivePlot]:
    """The callbacks ``verbose`` asks for beyond the progress display (checked)."""
    check_verbose(verbose)
    if verbose != "plot":
        return []
    if not in_notebook():
        warnings.warn("verbose='plot' draws the cost curve live in a notebook; here only the progress is shown "
                      "(draw the curve afterwards with deeplayers.plots.plot_costs(history))", UserWarning, stacklevel=4)
        return []
    return [LivePlot()]
