"""Pictures of a network and its training: cost curves, decision boundaries, W[1], architecture.

Every function builds a :class:`matplotlib.figure.Figure` on the Agg canvas directly (no pyplot,
no display, no global state), returns it, and writes a PNG atomically when ``path`` is given.
matplotlib is an optional dependency (``pip install 'deeplayers[plot]'``), imported on first use.
"""

from __future__ import annotations

import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._atomic import atomic_write_bytes
from .errors import ConfigError, DataError, ShapeError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .network import Network

__all__ = ["plot_costs", "plot_decision_boundary", "plot_weights", "plot_features", "plot_architecture"]

DPI = 100  # pixel size of a saved PNG = figsize (inches) * DPI


# -- shared helpers ------------------------------------------------------------------------------
def _new_figure(width: float, height: float) -> Figure:
    """A Figure on its own Agg canvas: works headless and leaves pyplot's state alone."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:  # pragma: no cover - depends on the environment
        raise ImportError("deeplayers.plots needs matplotlib: pip install 'deeplayers[plot]'") from None
    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _save(fig: Figure, path: str | os.PathLike | None) -> Figure:
    """Write ``fig`` to ``path`` atomically, in the format its name ends with (.png when none: a
    .pdf once held PNG bytes); the one place every picture is written."""
    if path is not None:
        buf = io.BytesIO()
        # no bbox_inches="tight": a PNG is exactly figsize * DPI pixels
        fig.savefig(buf, format=Path(path).suffix.lower().lstrip(".") or "png", dpi=DPI)
        atomic_write_bytes(path, buf.getvalue())
    return fig


def _whole_number_x(ax: Any, start: int, n: int) -> None:
    """An x axis of n whole-number steps from ``start`` (epochs or iterations as the console counts
    them): ticks in steps of 1, 2, 5 or 10 and no tick before the first one."""
    from matplotlib.ticker import FixedLocator, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]) if n > 1 else FixedLocator([start]))
    pad = 0.5 if n == 1 else min(0.5, 0.05 * (n - 1))
    ax.set_xlim(start - pad, start + n - 1 + (0.5 if n == 1 else 0.05 * (n - 1)))


def _plain_log_axis(ax: Any, lo: float, hi: float) -> None:
    """A log-scale y axis from lo to hi whose ticks read as plain numbers (0.3, 1, 3), not 3x10^0:
    the densest of 1-2-3-5, 1-2-5, 1-3 or 1 per decade that gives at most 8 ticks, written with %g."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter

    ax.set_yscale("log")
    lo, hi = lo / 1.15, hi * 1.15  # a little air above and below the curves
    ax.set_ylim(lo, hi)
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    ticks: list[float] = []
    for mantissas in ((1, 2, 3, 5), (1, 2, 5), (1, 3), (1,)):
        ticks = [float(f"{m}e{d}") for d in decades for m in mantissas if lo <= m * 10.0 ** d <= hi]
        if len(ticks) <= 8:
            break
    if len(ticks) > 8:  # many decades: every other power of ten, and so on
        ticks = ticks[::math.ceil(len(ticks) / 8)]
    if len(ticks) < 3:  # less than a decade: every digit, or plain steps when even that is too coarse
        ticks = [float(f"{m}e{d}") for d in decades for m in range(1, 10) if lo <= m * 10.0 ** d <= hi]
        if len(ticks) < 2:
            from matplotlib.ticker import MaxNLocator

            ticks = [float(f"{v:.3g}") for v in MaxNLocator(4).tick_values(lo, hi) if lo <= v <= hi]
    ax.yaxis.set_major_locator(FixedLocator(ticks))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.yaxis.set_minor_locator(LogLocator(subs=tuple(range(2, 10))))
    ax.yaxis.set_minor_formatter(NullFormatter())


# -- text that stays on the canvas ---------------------------------------------------------------
_ELLIPSIS = "…"


def _tokens(line: str) -> list[str]:
    """Words of ``line`` for wrapping: split at spaces outside brackets, so "[784, 32, 10]" and
    "(Learning rate =0.01)" stay whole, and a lone "=" stays with its neighbours."""
    words, depth, cur = [], 0, ""
    for ch in line:
        depth += (ch in "([{") - (ch in ")]}" and depth > 0)
        if ch == " " and depth == 0:
            if cur:
                words.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        words.append(cur)
    glued: list[str] = []
    join_next = False
    for w in words:
        if glued and (join_next or w == "="):
            glued[-1] += " " + w
        else:
            glued.append(w)
        join_next = w == "="
    return glued


def _shorten(word: str, width_of: Any, max_px: float) -> str:
    """``word`` with its middle replaced by "…" so that it fits ``max_px`` (both ends of a path stay)."""
    lo, hi = 0, len(word) - 1  # characters kept
    while lo < hi:
        keep = (lo + hi + 1) // 2
        if width_of(word[:(keep + 1) // 2] + _ELLIPSIS + word[len(word) - keep // 2:]) <= max_px:
            lo = keep
        else:
            hi = keep - 1
    return word[:(lo + 1) // 2] + _ELLIPSIS + word[len(word) - lo // 2:]


def _break_word(word: str, width_of: Any, max_px: float) -> list[str]:
    """Lines of a word too wide for one: broken after its separators (a path after "/", a name after
    "-" or "_"), a piece without any that is still too wide shortened in its middle."""
    pieces = [p for p in re.split(r"(?<=[-/_.:])", word) if p]
    lines, cur = [], ""
    for piece in pieces:
        if width_of(cur + piece) <= max_px:
            cur += piece
            continue
        if cur:
            lines.append(cur)
        cur = piece if width_of(piece) <= max_px else _shorten(piece, width_of, max_px)
    return [*lines, cur]


def _wrap(text: str, width_of: Any, max_px: float) -> str:
    """``text`` broken into lines no wider than ``max_px`` pixels as ``width_of`` measures them:
    at spaces (not inside brackets if avoidable), shortening a single word wider than a line."""
    lines: list[str] = []
    for para in text.split("\n"):
        if width_of(para) <= max_px:
            lines.append(para)
            continue
        todo, cur = _tokens(para), ""
        while todo:
            word = todo.pop(0)
            joined = f"{cur} {word}" if cur else word
            if width_of(joined) <= max_px:
                cur = joined
                continue
            if cur:
                lines.append(cur)
                cur = ""
            if width_of(word) <= max_px:
                cur = word
            elif " " in word:  # a bracket group wider than a line: break it at its own spaces
                todo[:0] = word.split(" ")
            else:  # one word wider than a line: break it after - / _ . : where it can, else shorten it
                *full, cur = _break_word(word, width_of, max_px)
                lines += full
        if cur:
            lines.append(cur)
    return "\n".join(lines)


def _fit_text(artist: Any, max_px: float) -> None:
    """Wrap (and if need be shorten) a Text artist so that it is at most ``max_px`` pixels wide."""
    renderer = artist.figure.canvas.get_renderer()
    text = artist.get_text()

    def width_of(s: str) -> float:
        artist.set_text(s)
        return artist.get_window_extent(renderer).width

    artist.set_text(_wrap(text, width_of, max_px))


def _layout_with_title(fig: Figure, ax: Any, text: str, **kwargs: Any) -> None:
    """tight_layout with ``text`` as the title of ``ax``, wrapped to the width of the axes so that
    it can never run off the canvas."""
    ax.set_title("")
    fig.tight_layout()
    if text:
        ax.set_title(text, **kwargs)
        _fit_text(ax.title, ax.get_window_extent(fig.canvas.get_renderer()).width)
        fig.tight_layout()


def _network_of(model: Any) -> Network:
    """The :class:`Network` inside ``model``: a Network, an estimator (``network_``) or a loaded
    model (``network``)."""
    from .network import Network

    if isinstance(model, Network):
        return model
    for attr in ("network_", "network"):
        net = getattr(model, attr, None)
        if isinstance(net, Network):
            return net
    if isinstance(model, Mapping) and "W1" in model:  # the course's parameters dict
        return Network.from_parameters(dict(model))
    raise TypeError(
        f"expected a deeplayers Network, an estimator with a fitted network_ or a loaded model; got "
        f"{type(model).__name__} (is the estimator fitted?)"
    )


# -- cost curves ---------------------------------------------------------------------------------
def _curves(history_or_costs: Any, every: int | None) -> tuple[list[float], list[float], str, int | None,
                                                             list[float], int, int]:
    """(cost, val_cost, unit, best, lr, x of the first point, every) of what plot_costs draws: a
    History, a fitted estimator, a Network or loaded Model, a history dict, or the course's list."""
    val: list[float] = []
    best = None
    lrs: list[float] = []
    if hasattr(history_or_costs, "loss_curve_"):  # a fitted deeplayers.sklearn estimator
        est = history_or_costs
        history_or_costs = {"unit": "epoch", "cost": list(est.loss_curve_),
                            "val_cost": list(getattr(est, "validation_loss_curve_", None) or [])}
    elif not hasattr(history_or_costs, "unit") and hasattr(history_or_costs, "history"):
        # a Network after fit, or a loaded Model
        if history_or_costs.history is None:
            raise DataError(f"{type(history_or_costs).__name__} has no training history: train it with fit "
                            "(a file saved after training keeps its history)")
        history_or_costs = history_or_costs.history
    # x counts as the console does: a History's progress lines say "epoch 1/4" ... "epoch 4/4", so its
    # costs are drawn at 1..n; the course's list holds "Cost after iteration 0", 100, 200, ... and is
    # drawn at 0, 1, 2, ... hundreds, as the course's figure draws it
    start = 1
    if hasattr(history_or_costs, "cost") and hasattr(history_or_costs, "unit"):
        h = history_or_costs
        cost, val, unit, best, lrs = list(h.cost), list(h.val_cost), h.unit, h.best_epoch, list(h.lr)
        every = 1 if every is None else every
    elif isinstance(history_or_costs, Mapping):
        h = history_or_costs
        if "cost" not in h:
            raise DataError(f"a history dict needs a 'cost' list; got keys {sorted(h)}")
        cost, val, unit = list(h["cost"]), list(h.get("val_cost") or []), str(h.get("unit", "iteration"))
        best, lrs = h.get("best_epoch"), list(h.get("lr") or [])
        every = 1 if every is None else every
    else:
        cost = np.asarray(history_or_costs, dtype=float).ravel().tolist()
        unit, start = "iteration", 0
        every = 100 if every is None else every
    return cost, val, unit, best, lrs, start, every


def plot_costs(history_or_costs: Any, path: str | os.PathLike | None = None, *,
               learning_rate: float | None = None, title: str | None = None, every: int | None = None,
               ) -> Figure:
    """Training (and validation) cost against iterations, drawn like the course's figure.

    The x axis counts as the console does, in whole numbers: a History's costs (mini-batch epochs,
    or full-batch iterations) at 1, 2, ..., n, as the progress lines print "epoch 1/n" ... "epoch n/n"
    (the early-stopping line at the best epoch the console names); the course's list at 0, 1, 2, ...
    hundreds, as the course prints "Cost after iteration 0", 100, 200, ... A title too long for the
    figure wraps (a long data name or path breaks after its "/", "-" or "_"), so nothing is clipped.

    Parameters
    ----------
    history_or_costs : History, dict, sequence of float, or a trained Network / loaded model
        A :class:`~deeplayers.training.History` (``net.fit(...)`` returns one; ``unit`` says
        iterations or epochs, ``val_cost`` is drawn when recorded), its ``as_dict()``, an object
        with a ``history`` (a fitted Network, a loaded model), a fitted estimator (its
        ``loss_curve_`` and ``validation_loss_curve_``), or a plain list of costs such as the
        course's ``L_layer_model`` returns (one cost every 100 iterations).
    path : str or path, optional
        Write the figure there as a PNG (atomically).
    learning_rate : float, optional
        Shown in the title as the course does ("Learning rate =0.0075"); read from a History's
        ``lr`` when it stayed constant.
    title : str, optional
        A title of your own (the learning rate, if known, is appended). A model saved by
        ``deeplayers train`` is titled as ``train`` titles its curve: "DATA: layer_dims = [...]".
    every : int, optional
        Iterations between two recorded costs of a plain list (default 100, as the course
        records them); a History records every iteration/epoch.

    Returns
    -------
    matplotlib.figure.Figure
        640 x 480 pixels when saved.
    """
    if title is None:
        title = _default_title(history_or_costs)
    cost, val, unit, best, lrs, start, every = _curves(history_or_costs, every)
    if not cost:
        raise DataError("no costs to plot: the history is empty (train for at least one iteration)")
    if every < 1:
        raise ConfigError(f"every must be a positive number of iterations, got {every}")
    cost_arr = np.asarray(cost, dtype=float)
    if learning_rate is None and lrs and np.allclose(lrs, lrs[0]):
        learning_rate = float(lrs[0])

    fig = _new_figure(6.4, 4.8)
    ax = fig.add_subplot()
    n = max(len(cost_arr), len(val))
    marker = "o" if n <= 30 else None  # a few recorded points: show each one
    ax.plot(start + np.arange(len(cost_arr)), cost_arr, color="C0", lw=1.8, marker=marker, ms=3.5,
            label="train cost")
    if val:
        ax.plot(start + np.arange(len(val)), np.asarray(val, dtype=float), color="C1", lw=1.8, marker=marker,
                ms=3.5, label="validation cost")
    if best is not None and 0 <= best < len(cost_arr):
        ax.axvline(start + best, color="0.4", ls="--", lw=1, label=f"best {unit} ({start + best})")
    # whole epochs / iterations only, and no tick before the first one
    _whole_number_x(ax, start, n)
    ax.set_ylabel("cost")
    plural = "epochs" if unit == "epoch" else "iterations"
    if every == 100:
        ax.set_xlabel(f"{plural} (per hundreds)")
    elif every == 1:
        ax.set_xlabel(plural)
    else:
        ax.set_xlabel(f"{plural} (per {every})")
    text = title or ""
    if learning_rate is not None:
        lr_text = f"Learning rate ={learning_rate:g}"
        text = f"{text} ({lr_text})" if text else lr_text
    per = "" if every == 1 else " (per hundreds)" if every == 100 else f" (per {every})"
    broken = _mark_not_finite(ax, start, cost_arr, "cost", unit, per, ":")
    broken |= _mark_not_finite(ax, start, np.asarray(val, dtype=float), "validation cost", unit, per, "-.")
    if val or best is not None or broken:
        ax.legend(frameon=False)
    ax.grid(True, alpha=0.3)
    _layout_with_title(fig, ax, text)
    return _save(fig, path)


def _mark_not_finite(ax: Any, start: int, values: np.ndarray, which: str, unit: str, per: str, ls: str) -> bool:
    """A red line (named in the legend in the x axis' own count) where ``values`` stop being finite, and
    a cross at the top for every NaN or inf: matplotlib leaves them out, and a diverged run would end
    looking clean. True when there was any."""
    bad = start + np.flatnonzero(~np.isfinite(values))
    if not bad.size:
        return False
    ax.axvline(bad[0], color="C3", ls=ls, lw=1.5, label=f"{which} not finite from {unit} {bad[0]}{per}")
    ax.plot(bad, np.full(bad.shape, 0.97), transform=ax.get_xaxis_transform(), ls="", marker="x", color="C3",
            ms=6, clip_on=False)
    return True


def _default_title(source: Any) -> str | None:
    """"DATA: layer_dims = [...]" for a model saved by ``deeplayers train`` (its metadata names the
    data), the title ``train`` gives the curve it draws; None otherwise."""
    metadata = getattr(source, "metadata", None)
    net = getattr(source, "network", None)
    if isinstance(metadata, Mapping) and metadata.get("dataset") and net is not None:
        return f"{metadata['dataset']}: layer_dims = {list(net.layer_dims)}"
    return None


# -- decision boundary ---------------------------------------------------------------------------
def _labels_1d(y: Any, m: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[0] > 1 and y.shape[1] == m:  # one-hot (nL, m)
        return np.argmax(y, axis=0)
    if y.size != m:
        raise ShapeError(f"y must hold one label per column of X: (1, m) or (m,) with m = {m}, got shape {y.shape}")
    return y.reshape(-1)


def _boundary_X(X: Any) -> np.ndarray:
    """Two-feature data X (2, m), checked."""
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != 2:
        hint = " (samples go in columns: did you mean X.T?)" if X.ndim == 2 and X.shape[1] == 2 else ""
        raise ShapeError(f"a decision boundary needs two-feature data X of shape (2, m); got {X.shape}{hint}")
    if X.shape[1] == 0:
        raise DataError("X has no samples (m = 0)")
    if not np.isfinite(X).all():
        raise DataError("X contains NaN or infinity; clean the data before plotting")
    return X


def _first_output(y: Any, m: int, n_out: int, rows: bool) -> np.ndarray:
    """y's values of the first output (the one a surface shows), one per sample: y (m,) or (1, m) for one
    output, (n_out, m) as columns, or (m, n_out) as rows for a model that takes rows (an estimator)."""
    y = np.asarray(y)
    if y.dtype.kind not in "biuf":
        raise DataError(f"a regression surface colours the points by their value of y; y holds {y.dtype} values: "
                        "give the numeric targets the model was trained on")
    shapes = [(n_out, m), (m, n_out)] if rows else [(n_out, m)]
    if n_out == 1 and y.size == m:
        values = y.reshape(-1)
    elif y.shape in shapes:
        values = y[0] if y.shape == shapes[0] else y[:, 0]
    else:
        want = " or ".join(str(s) for s in shapes)
        raise ShapeError(f"y must hold one target per column of X: (m,) or (1, m) with m = {m}, got shape {y.shape}"
                         if n_out == 1 else
                         f"the model has {n_out} outputs and the surface shows the first: give y with all of "
                         f"them, {want} with m = {m}, so that the points show the first too; got shape {y.shape}")
    values = values.astype(float)
    if not np.isfinite(values).all():
        raise DataError("y contains NaN or infinity; clean the targets before plotting")
    return values


def _estimator_kind(model: Any) -> str | None:
    """scikit-learn's estimator type of ``model`` ("regressor", "classifier", ...), None for a plain function."""
    tags = getattr(model, "__sklearn_tags__", None)
    if callable(tags):
        try:
            return tags().estimator_type
        except (AttributeError, TypeError):  # a class with only part of scikit-learn's protocol
            pass
    return getattr(model, "_estimator_type", None)


def _network_output(model: Any, net: Network, columnar: bool, grid: np.ndarray) -> np.ndarray:
    """A[L] over the grid (2, k); a loaded model repeats its preprocessing on the raw grid first."""
    from .network import Network

    return model.predict_proba(grid) if columnar and not isinstance(model, Network) else net.predict_proba(grid)


def _surface(model: Any, net: Network | None, columnar: bool, grid: np.ndarray) -> tuple[np.ndarray, int, str] | None:
    """(first output over the grid, number of outputs, its name) for a model that regresses: a network
    with a linear output, or a regressor on rows (a DNNRegressor through its own predict, so its own
    input checks apply); None for a classifier."""
    if net is not None:
        if net.activations[-1] in ("sigmoid", "softmax"):
            return None
        AL = _network_output(model, net, columnar, grid)
        return AL[0], AL.shape[0], "A[L]"
    if _estimator_kind(model) != "regressor":
        return None
    out = np.asarray(model.predict(grid.T), dtype=float)
    return (out[:, 0], out.shape[1], "predict") if out.ndim == 2 else (out.reshape(-1), 1, "predict")


def _positions(values: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Where each value stands in ``order`` (-1 where it is not there), compared as Python values so
    that 1, 1.0 and True are one class."""
    index = {c: i for i, c in enumerate(order.tolist())}
    flat = np.asarray(values).reshape(-1)
    try:
        uniq, inv = np.unique(flat, return_inverse=True)  # few classes, many grid points
    except TypeError:  # labels of mixed kinds cannot be sorted: look each one up
        return np.array([index.get(v, -1) for v in flat.tolist()], dtype=int)
    return np.array([index.get(u, -1) for u in uniq.tolist()], dtype=int)[inv.reshape(-1)]


def _as_classes(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    """The labels of y as the model's classes ``order``: its own labels, or the index of a class
    (0 .. len(order) - 1) when the model names them; anything else is refused, not given a wrong colour."""
    pos = _positions(labels, order)
    if (pos >= 0).all():
        return labels
    as_index = _positions(labels, np.arange(len(order)))
    if labels.dtype.kind in "biuf" and (as_index >= 0).all():
        return order[as_index]
    bad = list(dict.fromkeys(labels[pos < 0].tolist()))
    raise DataError(f"y holds {bad[:5]}, not among the model's classes {order.tolist()}: give y in those labels "
                    "(0/1 for one sigmoid unit; 0 .. n[L] - 1 or one-hot (n[L], m) for softmax)")


def _network_regions(model: Any, net: Network, columnar: bool, grid: np.ndarray, y: Any, labels: np.ndarray,
                     m: int) -> tuple[Any, Any, str, dict[Any, str], np.ndarray, np.ndarray | None]:
    """What a classifying network says over the grid (2, k): P to shade (one sigmoid unit), or Z a class
    per point (softmax, multi-label); with the kind of boundary, legend names, the labels (recoded for
    multi-label data) and every class the network has, in its order."""
    AL = _network_output(model, net, columnar, grid)
    nL, classes = AL.shape[0], getattr(model, "classes", None)
    if net.activations[-1] == "softmax" or nL == 1:
        # the colours follow the network's classes (its units, or a loaded model's labels), not those y
        # happens to hold: a lone class 1 is drawn in class 1's colour
        n = max(nL, 2)
        order = np.asarray(classes) if classes is not None and len(classes) == n else np.arange(n)
        if np.ndim(y) == 2 and np.shape(y)[0] == nL > 1:  # one-hot: argmax gave the unit, not the label
            labels = order[labels]
        if nL == 1:
            return AL[0], None, "A[L] = 0.5", {}, _as_classes(labels, order), order
        return None, order[np.argmax(AL, axis=0)], "argmax of A[L]", {}, _as_classes(labels, order), order
    # multi-label: one region per combination of labels, coded as bits
    bits = 2 ** np.arange(nL)
    Z, names = (bits @ (AL > 0.5)).astype(int), {}
    Yl = np.asarray(y)
    if Yl.shape == (nL, m):
        labels = (bits @ (Yl > 0.5)).astype(int)
    for code in np.union1d(np.unique(Z), np.unique(labels)):
        on = [str(k + 1) for k in range(nL) if int(code) >> k & 1]
        names[code] = f"units on: {', '.join(on) or 'none'}"
    return None, Z, "labels with A[L] > 0.5", names, labels, (np.arange(2 ** nL) if nL <= 4 else None)


def _model_regions(model: Any, rows: np.ndarray) -> tuple[Any, Any, str]:
    """What an estimator or a function of grid points as rows (scikit-learn, the course's lambda) says
    over the grid: P(second class) to shade for a binary predict_proba, else a class per point."""
    P = Z = None
    proba = getattr(model, "predict_proba", None)
    Pr = np.asarray(proba(rows)) if callable(proba) else None
    if Pr is not None and Pr.shape == (rows.shape[0], 2):  # binary: shade P(second class)
        P, kind = Pr[:, 1], "P = 0.5"
    else:
        Z = np.asarray(model.predict(rows) if hasattr(model, "predict") else model(rows))
        if Z.ndim == 2 and Z.shape[0] > 1 and Z.shape[1] == rows.shape[0] and Z.shape[0] != rows.shape[0]:
            Z = np.argmax(Z, axis=0)  # (n[L], k) scores
        elif Z.ndim == 2 and Z.shape[1] > 1 and Z.shape[0] == rows.shape[0]:
            Z = np.argmax(Z, axis=1)  # (k, n[L]) scores
        Z = Z.reshape(-1)
        if Z.size != rows.shape[0]:
            raise ShapeError(f"the model returned {Z.size} predictions for {rows.shape[0]} grid points "
                             "(give it the grid points as rows, one prediction each)")
        kind = "model.predict"
    return P, Z, kind


def _estimator_order(model: Any, P: Any, labels: np.ndarray) -> np.ndarray | None:
    """Every class of an estimator in its order (``classes_``); for a binary predict_proba without
    them, 0 and 1 when y holds nothing else; None when unknown."""
    classes = getattr(model, "classes_", None)
    if classes is not None and (P is None or len(classes) == 2):
        return np.asarray(classes)
    if P is not None and (_positions(labels, np.arange(2)) >= 0).all():
        return np.arange(2)
    return None


def _full_order(order: np.ndarray | None, labels: np.ndarray, Z: np.ndarray | None) -> np.ndarray:
    """The classes to colour: the model's (with any prediction it does not list appended), or when
    unknown those of y and the predictions together."""
    if order is None:
        try:
            return np.union1d(labels, Z) if Z is not None else np.unique(labels)
        except TypeError:  # labels and predictions of different kinds: colour them apart
            order = np.array(list(dict.fromkeys(labels.tolist())), dtype=object)
    if Z is None or (_positions(Z, order) >= 0).all():
        return order
    extra = list(dict.fromkeys(np.asarray(Z)[_positions(Z, order) < 0].tolist()))
    return np.array([*order.tolist(), *extra], dtype=object)


def _class_legend(fig: Figure, ax: Any, keys: Sequence[Any], colours: Sequence[str], has_points: Sequence[bool],
                  names: dict[Any, str]) -> None:
    """The classes' legend, kept inside the axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    # points' classes as dots, classes only predicted (no such point) as shaded squares
    handles = [Line2D([], [], ls="", marker="o", markersize=6, markerfacecolor=c, markeredgecolor="w") if p
               else Patch(facecolor=c, alpha=0.35) for c, p in zip(colours, has_points)]
    legend = ax.legend(handles, [names.get(c, f"y = {_fmt(c)}") for c in keys], loc="best", fontsize=8,
                       framealpha=0.85)
    # a long class name is shortened, so the legend stays inside the axes
    renderer = fig.canvas.get_renderer()
    for t in legend.get_texts():
        _fit_text(t, 0.4 * ax.get_window_extent(renderer).width)


def _draw_surface(fig: Figure, ax: Any, xx: np.ndarray, yy: np.ndarray, S: np.ndarray, X: np.ndarray,
                  values: np.ndarray, label: str) -> None:
    """A regression's surface over the plane, the points coloured by their y on the same scale."""
    from matplotlib.ticker import MaxNLocator

    vmin, vmax = min(S.min(), values.min()), max(S.max(), values.max())
    levels = MaxNLocator(15).tick_values(vmin, vmax)
    vmin, vmax = levels[0], levels[-1]
    cs = ax.contourf(xx, yy, S, levels=levels, cmap="viridis", alpha=0.75)
    fig.colorbar(cs, ax=ax, label=label)
    ax.scatter(X[0], X[1], c=values, cmap="viridis", vmin=vmin, vmax=vmax, s=22, edgecolors="w", linewidths=0.6)


def _draw_classes(fig: Figure, ax: Any, xx: np.ndarray, yy: np.ndarray, X: np.ndarray, labels: np.ndarray,
                  P: Any, Z: Any, order: np.ndarray, names: dict[Any, str], shade_label: str) -> None:
    """The regions (P shaded, or one colour per predicted class) and the points on top; each class has
    the colour of its place in ``order`` in both."""
    palette = _palette(max(len(order), 2))
    at = _positions(labels, order)
    if P is not None:
        from matplotlib.colors import LinearSegmentedColormap

        cmap = LinearSegmentedColormap.from_list("deeplayers_rb", [palette[0], "white", palette[1]])
        cs = ax.contourf(xx, yy, P.reshape(xx.shape), levels=np.linspace(0, 1, 11), cmap=cmap, alpha=0.65)
        ax.contour(xx, yy, P.reshape(xx.shape), levels=[0.5], colors="k", linewidths=1.5)
        fig.colorbar(cs, ax=ax, label=shade_label)
        shown = np.unique(at)
    else:
        predicted = _positions(Z, order)
        drawn = np.unique(predicted)
        # regions numbered 0, 1, ... among the classes predicted, each filled with its class's colour
        rank = np.searchsorted(drawn, predicted).reshape(xx.shape).astype(float)
        levels = np.arange(len(drawn) + 1) - 0.5
        ax.contourf(xx, yy, rank, levels=levels, colors=[palette[i] for i in drawn], alpha=0.35)
        if len(drawn) > 1:
            ax.contour(xx, yy, rank, levels=levels[1:-1], colors="k", linewidths=0.8)
        shown = np.union1d(np.unique(at), drawn)
    ax.scatter(X[0], X[1], c=[palette[i] for i in at], s=22, edgecolors="w", linewidths=0.6)
    if len(shown) <= 12:
        _class_legend(fig, ax, [order[i] for i in shown], [palette[i] for i in shown], np.isin(shown, at), names)


def _draw_model(fig: Figure, ax: Any, model: Any, net: Network | None, columnar: bool, X: np.ndarray, y: Any,
                xx: np.ndarray, yy: np.ndarray) -> str:
    """Draw what the model says over the plane and the points on top; returns the default title."""
    grid = np.vstack([xx.ravel(), yy.ravel()])  # (2, k): grid points as columns
    m = X.shape[1]
    surface = _surface(model, net, columnar, grid)
    P = Z = None
    if surface is None and net is None:
        P, Z, kind = _model_regions(model, grid.T)
        if Z is not None and Z.dtype.kind == "f" and not np.array_equal(Z, np.round(Z)):
            surface = (Z, 1, "model.predict")  # values, not classes: thousands of "classes" would be black
    if surface is not None:
        S, n_out, what = surface
        values = _first_output(y, m, n_out, rows=net is None)
        first = "" if n_out == 1 else f"first of {n_out} outputs: "
        _draw_surface(fig, ax, xx, yy, S.reshape(xx.shape), X, values, f"{first}{what} and y")
        what = "Output A[L]" if what == "A[L]" else f"{what}(X)"
        return f"{what} over the plane, points coloured by y" if n_out == 1 else \
            f"{what}, first of {n_out} outputs, over the plane; points coloured by y's first output"
    labels = _labels_1d(y, m)
    if net is not None:
        P, Z, kind, names, labels, order = _network_regions(model, net, columnar, grid, y, labels, m)
    else:
        names, order = {}, _estimator_order(model, P, labels)
        labels = labels if order is None else _as_classes(labels, order)
    order = _full_order(order, labels, Z)
    shade = "A[L] = ŷ" if net is not None else f"P(y = {_fmt(order[1])})" if len(order) == 2 else "P(second class)"
    _draw_classes(fig, ax, xx, yy, X, labels, P, Z, order, names, shade)
    return f"Decision boundary: {kind}"


def plot_decision_boundary(model: Any, X: Any, y: Any, path: str | os.PathLike | None = None, *,
                           resolution: int = 300, title: str | None = None) -> Figure:
    """The model's prediction over the plane of two-feature data, with the data points on top.

    Parameters
    ----------
    model : Network, loaded model, estimator or callable
        A :class:`~deeplayers.Network` with n[0] = 2 (sigmoid: probability shading and the
        A[L] = 0.5 boundary; softmax: one colour per predicted class; several sigmoids: one colour
        per combination of labels; linear: the surface of its first output), or a model from
        :func:`deeplayers.load` (same, on raw data: its preprocessing is repeated); a scikit-learn
        estimator (``predict_proba`` / ``predict`` on samples as ROWS; a regressor such as
        ``DNNRegressor`` draws the surface of its first output); or, as in the course, a function
        of the grid points as rows, ``lambda x: predict_dec(parameters, x.T)``.
    X : array, shape (2, m)
        The data, one sample per column (the course's layout).
    y : array, shape (1, m), (m,) or one-hot (n[L], m)
        Labels, used to colour the points; each class has the colour of its place among the model's
        classes (0 blue and 1 red for one sigmoid unit), whichever classes y holds. For a regression,
        the targets, (n[L], m) (an estimator also takes (m, n_targets)): the points are coloured by
        the first output, the one the surface shows.
    path : str or path, optional
        Write the figure there as a PNG (atomically).
    resolution : int
        Grid points per axis.

    Returns
    -------
    matplotlib.figure.Figure
        640 x 560 pixels when saved.

    Raises
    ------
    ShapeError
        When X is not (2, m), the network's n[0] is not 2, or y does not have m labels (or, for a
        regression, not all of the model's outputs).
    DataError
        When y holds a label that is not one of the model's classes, or non-numeric targets.
    """
    from .network import Network

    X = _boundary_X(X)
    net = None
    # Networks and loaded models (``.network``) take columns and give A[L]; estimators (``network_``)
    # and plain functions take rows
    columnar = isinstance(model, Network) or isinstance(getattr(model, "network", None), Network)
    if columnar or not (hasattr(model, "predict") or callable(model)):
        net = _network_of(model)
        if net.layer_dims[0] != 2:
            raise ShapeError(f"a decision boundary needs a network with n[0] = 2 input features; this one has "
                             f"n[0] = {net.layer_dims[0]} (layer_dims = {net.layer_dims})")
    span = X.max(axis=1) - X.min(axis=1)
    pad = np.where(span > 0, 0.1 * span, 1.0)
    lo, hi = X.min(axis=1) - pad, X.max(axis=1) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    fig = _new_figure(6.4, 5.6)
    ax = fig.add_subplot()
    heading = _draw_model(fig, ax, model, net, columnar, X, y, xx, yy)
    ax.set_xlim(lo[0], hi[0])
    ax.set_ylim(lo[1], hi[1])
    ax.set_xlabel("x1 (row 0 of X)")
    ax.set_ylabel("x2 (row 1 of X)")
    _layout_with_title(fig, ax, title or heading)
    return _save(fig, path)


def _fmt(c: Any) -> str:
    """A class label for a legend: 1.0 -> "1"."""
    if isinstance(c, (float, np.floating)) and float(c).is_integer():
        return str(int(c))
    return str(c)


def _palette(n: int) -> list[str]:
    """n distinct colours: blue and red for two classes (the course's red/blue), tab10/tab20 beyond."""
    if n <= 2:
        return ["#2166ac", "#b2182b"]
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    from matplotlib.colors import to_hex

    return [to_hex(cmap(i % cmap.N)) for i in range(n)]


# -- what layer 1 learned ------------------------------------------------------------------------
def plot_weights(network: Any, image_shape: Sequence[int], path: str | os.PathLike | None = None,
                 max_units: int = 64, *, title: str | None = None) -> Figure:
    """The rows of W[1] reshaped to the input image shape and tiled: what each unit of layer 1 looks for.

    Parameters
    ----------
    network : Network, estimator or loaded model
        Its W[1] has shape (n[1], n[0]) with n[0] = prod(image_shape).
    image_shape : (h, w) or (h, w, c)
        The shape each column of X was flattened from (C order, as
        :func:`deeplayers.datasets.to_columns` flattens): (28, 28) for MNIST, (64, 64, 3) for the cat data.
    path : str or path, optional
        Write the figure there as a PNG (atomically).
    max_units : int
        Draw the first ``max_units`` units of layer 1 at most.

    Notes
    -----
    Each unit is normalized on its own for display: grey images by their largest absolute weight,
    drawn with a diverging colour map (red positive, blue negative, white 0); colour images min-max
    scaled to [0, 1] per unit.

    Returns
    -------
    matplotlib.figure.Figure
        Up to 8 x 8 tiles; ``fig.get_size_inches() * 100`` pixels when saved.
    """
    net = _network_of(network)
    shape = tuple(int(s) for s in image_shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ShapeError(f"image_shape must be (h, w) or (h, w, c), got {image_shape!r}")
    W = np.asarray(net.parameters["W1"], dtype=float)
    n1, n0 = W.shape
    if int(np.prod(shape)) != n0:
        raise ShapeError(f"W[1] has n[0] = {n0} columns, which cannot be reshaped to image_shape {shape} "
                         f"({int(np.prod(shape))} values); pass the shape the images were flattened from")
    if max_units < 1:
        raise ConfigError(f"max_units must be at least 1, got {max_units}")
    k = min(n1, int(max_units))
    color = len(shape) == 3 and shape[2] in (3, 4)
    if len(shape) == 3 and not color:
        shape = shape[:2] if shape[2] == 1 else shape
        if len(shape) == 3:
            raise ShapeError(f"image_shape {shape}: the last axis must be 1, 3 or 4 channels")
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    # layout in inches: tiles, a title line over each when few, the colour bar on the right
    tile = 0.9 if k > 16 else 1.4
    title_h = 0.22 if k <= 16 else 0.08  # gap above each row of tiles
    gap, left, right, top, bottom = 0.08, 0.1, (0.1 if color else 1.0), 0.55, 0.1
    area_w, area_h = cols * tile + (cols - 1) * gap, rows * tile + (rows - 1) * title_h
    width = math.ceil(100 * max(left + area_w + right, 4.4)) / DPI
    fig = _new_figure(width, 1.0)
    shown = f"{k} of {n1} units" if k < n1 else f"{n1} unit{'s' if n1 > 1 else ''}"
    heading = fig.suptitle(title or f"What layer 1 learned\nrows of W[1] as {'x'.join(map(str, image_shape))} "
                           f"images ({shown})", fontsize=9, va="top")
    _fit_text(heading, width * DPI - 16)  # a title of your own wraps to the figure's width
    # room for the heading, however many lines it took
    top = max(top, heading.get_window_extent(fig.canvas.get_renderer()).height / DPI + 0.06 + 0.12)
    height = math.ceil(100 * (top + title_h + area_h + bottom)) / DPI
    fig.set_size_inches(width, height)
    heading.set_y(1 - 0.06 / height)
    x0 = (width - right - area_w + left) / 2 / width  # centred when the minimum width applies
    x1 = x0 + area_w / width
    y0, y1 = bottom / height, (bottom + area_h) / height
    grid = fig.add_gridspec(rows, cols, left=x0, right=x1, bottom=y0, top=y1, wspace=gap / tile,
                            hspace=title_h / tile)
    im = None
    for j in range(k):
        ax = fig.add_subplot(grid[j // cols, j % cols])
        w = W[j].reshape(shape)
        if color:
            lo, hi = w.min(), w.max()
            img = (w - lo) / (hi - lo) if hi > lo else np.full_like(w, 0.5)
            ax.imshow(img[..., :3], interpolation="nearest")
        else:
            s = np.abs(w).max()
            im = ax.imshow(w / s if s > 0 else w, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        if k <= 16:
            ax.set_title(f"unit {j + 1}", fontsize=8, pad=2)
    if im is not None:
        cax = fig.add_axes((x1 + 0.15 / width, y0 + 0.1 * (y1 - y0), 0.14 / width, 0.8 * (y1 - y0)))
        fig.colorbar(im, cax=cax, ticks=[-1, 0, 1]).set_label("w / max |w| per unit", fontsize=8)
    return _save(fig, path)


# -- what the hidden units respond to ------------------------------------------------------------
def _image_shape(shape: Sequence[int], n0: int) -> tuple[int, ...]:
    shape = tuple(int(s) for s in shape)
    if len(shape) not in (2, 3) or min(shape) < 1:
        raise ShapeError(f"image_shape must be (h, w) or (h, w, c), got {shape!r}")
    if int(np.prod(shape)) != n0:
        raise ShapeError(f"n[0] = {n0} inputs cannot be reshaped to image_shape {shape} ({int(np.prod(shape))} "
                         "values); pass the shape the images were flattened from")
    if len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]
    if len(shape) == 3 and shape[2] not in (3, 4):
        raise ShapeError(f"image_shape {shape}: the last axis must be 1, 3 or 4 channels")
    return shape


def _to_unit(img: np.ndarray) -> np.ndarray:
    lo, hi = float(img.min()), float(img.max())
    return (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)


def _mosaic(images: Sequence[np.ndarray], side: int) -> np.ndarray:
    """side x side images in one picture, a 1-pixel white line between them, each scaled to [0, 1]."""
    h, w = images[0].shape[:2]
    rest = images[0].shape[2:]
    out = np.ones((side * h + side - 1, side * w + side - 1, *rest))
    for i, img in enumerate(images[: side * side]):
        r, c = divmod(i, side)
        out[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = _to_unit(img)
    return out


def _live_units(A: np.ndarray, g: str) -> np.ndarray:
    """The units of a hidden layer worth drawing: for relu those some image makes active (A[l] > 0);
    a relu unit never active is dead. Other activations have no dead units (leaky_relu's negative
    side still moves with the input; tanh and sigmoid are negative or small, not off), so all."""
    return np.flatnonzero(A.max(axis=1) > 0) if g == "relu" else np.arange(A.shape[0])


def feature_activations(model: Any, X: Any, batch_size: int = 4096) -> list[np.ndarray]:
    """[A[1], ..., A[L-1]] of every hidden layer for X (n[0], m), from the network's own forward pass
    (in chunks of ``batch_size`` columns; a loaded model's preprocessing is applied first)."""
    net = _network_of(model)
    X = model.transform(X) if hasattr(model, "transform") and hasattr(model, "preprocessing") else net._as_X(X)
    m = X.shape[1]
    acts = [np.empty((layer.n, m), net.dtype) for layer in net.layers[:-1]]
    for start in range(0, m, batch_size):
        A = X[:, start:start + batch_size]
        for layer, store in zip(net.layers[:-1], acts):
            A = layer.forward(A)
            store[:, start:start + A.shape[1]] = A
    for layer in net.layers[:-1]:
        layer.cache = None  # drop the references to X
    return acts


def plot_features(model: Any, X: Any, image_shape: Sequence[int], path: str | os.PathLike | None = None, *,
                  units: int = 8, top: int = 9, title: str | None = None) -> Figure:
    """What the hidden units respond to: layer 1 by its weights, deeper layers by the images that excite them most.

    Row 1 shows the rows of W[1] of the first ``units`` live units as images (red positive, blue
    negative weights, as :func:`plot_weights`). Each row l >= 2 shows, for the first ``units``
    live units of hidden layer l (in a relu layer a unit is live when some image makes A[l] > 0
    for it; a dead one is skipped and counted; units of other activations are all live), the
    ``top`` images of X with the largest activation A[l] of that unit, as one mosaic. Deeper rows
    are built from the network's own forward pass over X (a loaded model's preprocessing first).

    Parameters
    ----------
    model : Network, estimator or loaded model
    X : array (n[0], m)
        The images, one per column, as the model reads them (raw for a loaded model); typically the
        training images. Drawn as they are, each image scaled to [0, 1].
    image_shape : (h, w) or (h, w, c)
        The shape each column was flattened from: (28, 28) for MNIST.
    units : int
        Units drawn per layer (the first live ones).
    top : int
        Images per unit in layers 2 and deeper: a square number up to 25 (4, 9, 16, 25).

    Returns
    -------
    matplotlib.figure.Figure
    """
    net = _network_of(model)
    if net.L < 2:
        raise ConfigError(f"plot_features draws hidden layers; this network has none (layer_dims = {net.layer_dims})")
    shape = _image_shape(image_shape, net.layer_dims[0])
    side = math.isqrt(int(top)) if isinstance(top, (int, np.integer)) else 0
    if side < 2 or side * side != top or top > 25:
        raise ConfigError(f"top must be a square number of images per unit (4, 9, 16 or 25), got {top!r}")
    if not isinstance(units, (int, np.integer)) or units < 1:
        raise ConfigError(f"units must be a positive number of units per layer, got {units!r}")
    acts = feature_activations(model, X)
    X_img = np.asarray(X)
    if X_img.ndim != 2:
        raise ShapeError(f"X must be (n[0], m) = ({net.layer_dims[0]}, m), got {X_img.shape}")
    if X_img.shape[1] < top:
        raise DataError(f"X has {X_img.shape[1]} images; plot_features shows the top {top} per unit: give more")
    color = len(shape) == 3
    W = np.asarray(net.parameters["W1"], dtype=float)
    rows: list[tuple[str, list[tuple[str, np.ndarray]]]] = []
    for l, A in enumerate(acts, start=1):
        live = _live_units(A, net.activations[l - 1])
        dead = A.shape[0] - live.size
        chosen = live[: int(units)]
        tiles = []
        for j in chosen:
            if l == 1:
                tiles.append((f"unit {j + 1}", W[j].reshape(shape)))
            else:
                best = np.argsort(-A[j], kind="stable")[:top]
                tiles.append((f"unit {j + 1}", _mosaic([X_img[:, i].reshape(shape) for i in best], side)))
        label = ("layer 1: W[1] rows" if l == 1 else f"layer {l}: top {top}") + (f"\n({dead} dead)" if dead else "")
        rows.append((label, tiles))
    cols = max(1, max(len(t) for _, t in rows))
    tile, gap, left, top_in, bottom = 1.0, 0.22, 1.25, 0.3, 0.1
    width = left + cols * tile + (cols - 1) * 0.08 + 0.15
    height = top_in + len(rows) * (tile + gap) + bottom
    fig = _new_figure(width, height)
    heading = fig.suptitle(title or f"What the hidden units respond to: layer_dims = {net.layer_dims}",
                           fontsize=9, y=1 - 0.12 / height, va="top")
    _fit_text(heading, width * DPI - 16)
    for r, (label, tiles) in enumerate(rows):
        y = 1 - (top_in + r * (tile + gap) + gap + tile) / height
        fig.text(0.08 / width, y + tile / 2 / height, label, fontsize=8, va="center", ha="left")
        for c, (name, img) in enumerate(tiles):
            ax = fig.add_axes(((left + c * (tile + 0.08)) / width, y, tile / width, tile / height))
            if r == 0:
                if color:
                    ax.imshow(_to_unit(img)[..., :3], interpolation="nearest")
                else:
                    s = np.abs(img).max()
                    ax.imshow(img / s if s > 0 else img, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
            else:
                ax.imshow(img[..., :3] if color else img, cmap=None if color else "gray", vmin=0, vmax=1,
                          interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(name, fontsize=7, pad=2)
    return _save(fig, path)


# -- the architecture ----------------------------------------------------------------------------
def _node_name(unit: int, l: int, L: int, nL: int) -> tuple[str, float]:
    """The course's name of unit ``unit`` of layer l (x_i, a_i^[l], y-hat) and its font size."""
    if l == 0:
        inner = f"$x_{{{unit}}}$"
    elif l == L and nL == 1:
        inner = r"$\hat{y}$"
    else:
        inner = f"$a^{{[{l}]}}_{{{unit}}}$"
    digits = len(str(unit))
    return inner, 8 if digits <= 2 else 6.5 if digits <= 3 else 5


def _column_label(l: int, L: int, dims: Sequence[int], gs: Sequence[str]) -> str:
    """Layer l's label in the notation: its n[l], g[l], A[l] and the shape of W[l]."""
    if l == 0:
        return f"layer 0 (input)\nn[0] = {dims[0]:,}\nX = A[0]"
    head = f"layer {l} = L (output)" if l == L else f"layer {l}"
    notation = "A[L] = ŷ" if l == L else f"A[{l}]"
    return f"{head}\nn[{l}] = {dims[l]:,}\n{gs[l - 1]}\n{notation}\nW[{l}]: ({dims[l]:,}, {dims[l - 1]:,})"


def plot_architecture(network: Any, path: str | os.PathLike | None = None, max_nodes: int = 8, *,
                      title: str | None = None) -> Figure:
    """The network drawn as the course draws it: one column of nodes per layer, edges between.

    Layer 0 is the input X = A[0], layers 1..L-1 are hidden, layer L is the output A[L] = ŷ; each
    column is labelled with its layer number, n[l], g[l] and the shape of W[l]. A layer with more
    than ``max_nodes`` units shows its first ``max_nodes - 2``, a vertical ellipsis and its last unit.

    Parameters
    ----------
    network : Network, estimator or loaded model
    path : str or path, optional
        Write the figure there as a PNG (atomically).
    max_nodes : int
        Most nodes drawn per column (at least 3).

    Returns
    -------
    matplotlib.figure.Figure
        max(6.4, 1.9 (L + 1)) inches wide, up to 5.2 inches high (``fig.get_size_inches()``), at
        100 dpi when saved.
    """
    net = _network_of(network)
    if max_nodes < 3:
        raise ConfigError(f"max_nodes must be at least 3 (first units, the ellipsis, the last unit), got {max_nodes}")
    dims, gs, L = list(net.layer_dims), net.activations, net.L

    def slots(n: int) -> list[int | None]:
        """Unit numbers (from 1) drawn in a column; None is the ellipsis."""
        if n <= max_nodes:
            return list(range(1, n + 1))
        return [*range(1, max_nodes - 1), None, n]

    step = 0.55  # vertical distance between nodes, data units
    columns = []
    for n in dims:
        s = slots(n)
        columns.append([(unit, ((len(s) - 1) / 2 - i) * step) for i, unit in enumerate(s)])
    tallest = max(len(c) for c in columns)
    top = (tallest - 1) / 2 * step
    label_y = -top - 0.4  # every column's label starts on the same line

    # about 0.75 inch per data unit vertically, whatever the number of nodes
    fig = _new_figure(max(6.4, math.ceil(190 * (L + 1)) / DPI), math.ceil(75 * (2 * top + 3.05)) / DPI)  # whole pixels
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.65, L + 0.65)
    ax.set_ylim(label_y - 1.6, top + 1.05)
    ax.axis("off")

    # edges between consecutive layers (none to or from an ellipsis)
    for l in range(1, L + 1):
        for u, y0 in columns[l - 1]:
            for v, y1 in columns[l]:
                if u is not None and v is not None:
                    ax.plot([l - 1, l], [y0, y1], color="0.5", lw=0.6, alpha=0.55, zorder=1)

    colors = {"input": "#9ecae1", "hidden": "#fdae6b", "output": "#a1d99b"}
    for l, col in enumerate(columns):
        kind = "input" if l == 0 else "output" if l == L else "hidden"
        drawn = [(u, y) for u, y in col if u is not None]
        # scatter markers stay round whatever the axes' aspect
        ax.scatter([l] * len(drawn), [y for _, y in drawn], s=520, c=colors[kind], edgecolors="0.2",
                   linewidths=1.0, zorder=2)
        for unit, y in col:
            if unit is None:
                ax.text(l, y, "⋮", ha="center", va="center", fontsize=18, zorder=3)
                continue
            inner, size = _node_name(unit, l, L, dims[-1])
            ax.text(l, y, inner, ha="center", va="center", fontsize=size, zorder=3)
        label = _column_label(l, L, dims, gs)
        ax.text(l, label_y, label, ha="center", va="top", fontsize=8.5, linespacing=1.4, zorder=3)
    heading = ax.text(L / 2, top + 0.6,
                      title or f"L = {L} layers, layer_dims = {dims}\nloss = {net.loss.name}, {net.n_params:,} "
                               "parameters", ha="center", va="center", fontsize=9.5, linespacing=1.4)
    width_px, height_px = fig.bbox.width, fig.bbox.height
    _fit_text(heading, width_px - 16)  # a long layer_dims or title wraps to the figure's width
    # more than the two lines there is room for above the nodes: the figure grows upwards
    h = heading.get_window_extent(fig.canvas.get_renderer()).height / 75  # in data units (75 px each)
    if h > 0.8:
        ax.set_ylim(label_y - 1.6, top + 0.3 + h)
        heading.set_y(top + 0.25 + h / 2)
        fig.set_size_inches(width_px / DPI, math.ceil(height_px + 75 * (h - 0.75)) / DPI)
    return _save(fig, path)
