"""The outcome of a search: the ranked trials, their table, CSV and curves."""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..network import Network
from ..plots import _fit_text, _layout_with_title, _new_figure, _plain_log_axis, _save, _whole_number_x

#: metric name -> "min" (lower is better) or "max"
METRICS = {"val_cost": "min", "val_accuracy": "max", "cost": "min"}


# -- results ---------------------------------------------------------------------------------------
def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, list) and all(isinstance(x, (int, np.integer)) for x in v):
        return "-".join(str(x) for x in v) or "none"
    if isinstance(v, (list, dict)):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


@dataclass
class SearchResult:
    """The outcome of :func:`search`.

    Attributes
    ----------
    trials : list of dict
        One row per setting, best first: ``rank``, ``trial``, ``params`` (the setting),
        ``layer_dims``, ``epochs``, ``status`` (``ok`` / ``diverged`` / ``error``), ``cost`` (final
        training cost, with the L2 term), ``val_cost`` (final validation cost, without it),
        ``val_accuracy``, ``time`` (seconds), ``seed``, ``curves`` (per-epoch ``cost``,
        ``val_cost``, ``val_accuracy``), ``best_epoch`` (the 0-based epoch scored: the last, or with
        early stopping the one whose parameters it restored) and, for halving, ``rung``.
    records : list of dict
        Every trial run (for halving, one per setting and rung).
    best_network : Network or None
        The best setting's trained network.
    paths : dict
        Files written: ``storage``, and with ``out_dir``: ``table`` (CSV), ``curves`` (PNG), ``model``.
    """

    metric: str
    strategy: str
    trials: list[dict[str, Any]]
    records: list[dict[str, Any]]
    param_names: list[str]
    best_network: Network | None = None
    paths: dict[str, Path] = field(default_factory=dict)
    n_run: int = 0
    n_reused: int = 0
    total_epochs: int = 0
    executor: str = "serial"

    @property
    def best(self) -> dict[str, Any]:
        return self.trials[0]

    @property
    def best_params(self) -> dict[str, Any]:
        return dict(self.trials[0]["params"])

    def rows(self) -> tuple[list[str], list[list[str]]]:
        head = ["rank", "trial", *self.param_names, "layer_dims", "epochs", "status", "cost", "val_cost",
                "val_accuracy", "time_s", "seed"]
        rows = []
        for t in self.trials:
            rows.append([str(t["rank"]), str(t["trial"]), *(_fmt(t["params"].get(k)) for k in self.param_names),
                         _fmt(t["layer_dims"]), str(t["epochs"]), t["status"],
                         *(repr(t[k]) if t[k] is not None else "" for k in ("cost", "val_cost", "val_accuracy")),
                         f"{t['time']:.3f}", str(t["seed"])])
        return head, rows

    def table(self, max_rows: int | None = None) -> str:
        """The ranked table for a terminal (numbers to 4 significant digits)."""
        head = ["rank", "trial", *self.param_names, "layer_dims", "epochs", "status", "cost", "val_cost",
                "val_acc", "time_s"]
        body = []
        for t in self.trials[:max_rows]:
            body.append([str(t["rank"]), str(t["trial"]), *(_fmt(t["params"].get(k)) for k in self.param_names),
                         _fmt(t["layer_dims"]), str(t["epochs"]), t["status"], _fmt(t["cost"]),
                         _fmt(t["val_cost"]), _fmt(t["val_accuracy"]), f"{t['time']:.2f}"])
        widths = [max(len(r[i]) for r in [head, *body]) for i in range(len(head))]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in [head, *body]]
        lines.insert(1, "  ".join("-" * w for w in widths))
        better = "lower" if METRICS[self.metric] == "min" else "higher"
        lines.append(f"{len(self.trials)} settings ranked by {self.metric} ({better} is better); "
                     f"{self.n_run} trials run, {self.n_reused} taken from storage; {self.total_epochs} epochs "
                     f"in all; {self.executor}")
        if len(self.trials) > (max_rows or len(self.trials)):
            lines.append(f"({len(self.trials) - max_rows} more rows in the CSV table)")
        return "\n".join(lines)

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the ranked table as CSV, atomically."""
        from .._atomic import atomic_write

        head, rows = self.rows()
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(head)
        w.writerows(rows)
        with atomic_write(path, "w") as f:
            f.write(buf.getvalue())
        return Path(path)

    def plot(self, path: str | os.PathLike | None = None, *, log: bool | None = None) -> Any:
        """All validation cost curves on one set of axes: the best in colour, the others grey.

        x counts epochs 1, 2, ... as the console does. ``log`` (default: when the costs span more
        than a factor 20) draws the cost axis on a log scale, ticked in plain numbers (0.3, 1, 3).

        Returns the matplotlib Figure (drawn on its own Agg canvas, pyplot untouched); with
        ``path``, also writes it as a PNG (atomically).
        """
        fig = _new_figure(8, 5)
        ax = fig.add_subplot()
        # a curve read back from storage holds null where the cost was inf or nan
        curves = [(t, [math.nan if v is None else v for v in t["curves"]["val_cost"]]) for t in self.trials
                  if t["curves"]["val_cost"]]
        finite = [v for _, c in curves for v in c if math.isfinite(v)]
        if log is None:
            log = bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 20
        for t, c in reversed(curves):  # the best is drawn last, on top
            x = np.arange(1, len(c) + 1)
            if t is self.trials[0]:
                label = "best: " + ", ".join(f"{k}={_fmt(t['params'].get(k))}" for k in self.param_names)
                ax.plot(x, c, color="C3", lw=2.4, zorder=3, label=label)
                ax.plot(x[-1], c[-1], "o", color="C3", zorder=4)
            else:
                # a curve of one epoch (halving's first rung with r = 1) is a point: mark it
                ax.plot(x, c, color="0.55", lw=0.9, alpha=0.6, zorder=2, marker="." if len(c) == 1 else None)
        if len(curves) > 1:
            ax.plot([], [], color="0.55", lw=0.9, label=f"the other {len(curves) - 1} settings")
        if self.strategy == "halving":  # where each rung stopped
            ends = sorted({r["epochs_planned"] for r in self.records})[:-1]
            for e in ends:
                ax.axvline(e, color="0.3", ls=":", lw=0.8, zorder=1)
        _whole_number_x(ax, 1, max((len(c) for _, c in curves), default=1))  # epochs 1, 2, ... as the console
        if log:
            _plain_log_axis(ax, min(finite), max(finite))
        elif finite:
            lo, hi = min(finite), float(np.percentile(finite, 98))
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo) if hi > lo else lo + 1)
        ax.set_xlabel("epoch (one pass over the training part)")
        ax.set_ylabel("validation cost J" + (" (log scale)" if log else ""))
        ax.grid(True, alpha=0.3)
        # no curve at all (every trial failed before its first epoch): no legend, and no matplotlib warning
        legend = ax.legend(loc="upper right", fontsize=8) if curves else None
        for t in legend.get_texts() if legend else ():  # many hyperparameters: the best's label wraps inside the axes
            _fit_text(t, 0.6 * ax.get_window_extent(fig.canvas.get_renderer()).width)
        _layout_with_title(fig, ax, f"Validation cost of {len(curves)} settings ({self.strategy} search, "
                                    f"ranked by {self.metric})")
        return _save(fig, path)


def _rank_key(metric: str) -> Callable[[Mapping[str, Any]], tuple]:
    sign = 1.0 if METRICS[metric] == "min" else -1.0

    def key(r: Mapping[str, Any]) -> tuple:
        v = r.get(metric)
        bad = r["status"] != "ok" or v is None or not math.isfinite(v)
        return (-r.get("rung", 0), bad, sign * v if not bad else 0.0, r["trial"])

    return key
