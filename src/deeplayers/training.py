"""The one training loop, with pluggable optimizers, schedules, regularizers and callbacks.

Each iteration is the course's: forward (A[L] and caches), cost, backward (l = L..1) and update;
the optimizer updates layer l as soon as its dW[l], db[l] are ready. Everything else (mini-batches,
L2, dropout, learning-rate schedules, validation, early stopping, progress) plugs into this loop.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .checkpoint import load_checkpoint, save_checkpoint
from .errors import ConfigError, DataError, DivergenceError, ModelFileError, ShapeError, TrainingWarning
from .optimizers import Optimizer, _is_real, get_optimizer
from .shapes import as_float_array, check_finite, check_Y
from .threads import BlasThreads, check_threads

if TYPE_CHECKING:
    from .network import Network

__all__ = [
    "History", "Callback", "EarlyStopping", "fit", "accuracy", "reference_costs",
    "Constant", "StepDecay", "ExponentialDecay", "InverseTimeDecay", "CosineDecay", "get_schedule",
]


# -- record of a run ---------------------------------------------------------------------------
@dataclass
class History:
    """What a training run recorded; it also behaves as the list of training costs.

    ``cost[i]`` is the training cost of iteration i (full batch, the course) or the mean cost of
    epoch i (mini-batches); ``val_cost``, ``metrics["val_accuracy"]``, ``lr`` and ``time``
    (seconds since the start) are recorded once per epoch. ``warnings`` keeps the text of every
    :class:`~deeplayers.TrainingWarning` the run gave (a stall near the cost of guessing).
    """

    unit: str = "iteration"
    cost: list[float] = field(default_factory=list)
    val_cost: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    n_iter: int = 0
    best_epoch: int | None = None
    stopped_early: bool = False
    warnings: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.cost)

    def __getitem__(self, i: Any) -> Any:
        return self.cost[i]

    def __iter__(self) -> Iterator[float]:
        return iter(self.cost)

    @property
    def costs(self) -> list[float]:
        return self.cost

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit, "cost": list(self.cost), "val_cost": list(self.val_cost),
            "metrics": {k: list(v) for k, v in self.metrics.items()}, "lr": list(self.lr),
            "time": list(self.time), "n_iter": self.n_iter, "best_epoch": self.best_epoch,
            "stopped_early": self.stopped_early, "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        fields = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        notes = fields.get("warnings")  # files written before warnings were kept have none
        fields["warnings"] = [w for w in notes if isinstance(w, str)] if isinstance(notes, list) else []
        return cls(**fields)


# -- learning-rate schedules (epoch -> learning rate) --------------------------------------------
class Constant:
    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0

    def __repr__(self) -> str:
        return "Constant()"


@dataclass
class StepDecay:
    """lr0 * factor ** floor(epoch / every)."""

    factor: float = 0.5
    every: int = 10

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 * self.factor ** (epoch // self.every)


@dataclass
class ExponentialDecay:
    """lr0 * rate ** epoch."""

    rate: float = 0.95

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 * self.rate**epoch


@dataclass
class InverseTimeDecay:
    """lr0 / (1 + decay_rate * floor(epoch / time_interval)), the course's schedule."""

    decay_rate: float = 1.0
    time_interval: int = 1

    def __call__(self, epoch: int, lr0: float) -> float:
        return lr0 / (1 + self.decay_rate * (epoch // self.time_interval))


@dataclass
class CosineDecay:
    """lr0 * (f + (1 - f) * (1 + cos(pi * epoch / epochs)) / 2) with f = ``min_fraction``: half a
    cosine from lr0 down towards f * lr0 over the run's ``epochs`` (filled in by ``fit`` when
    None), then f * lr0."""

    epochs: int | None = None
    min_fraction: float = 0.0

    def __call__(self, epoch: int, lr0: float) -> float:
        if not self.epochs:
            raise ConfigError("CosineDecay needs the run's length: CosineDecay(epochs=...)")
        f = self.min_fraction
        return lr0 * (f + (1 - f) * 0.5 * (1 + math.cos(math.pi * min(epoch, self.epochs) / self.epochs)))


SCHEDULES: dict[str, type] = {
    "constant": Constant, "step": StepDecay, "exponential": ExponentialDecay, "inverse_time": InverseTimeDecay,
    "cosine": CosineDecay,
}


def get_schedule(spec: Any, epochs: int | None = None) -> Callable[[int, float], float]:
    """None/``"constant"``, ``"step"``, ``"exponential"``, ``"inverse_time"``, ``"cosine"``
    (defaults), a ``(name, {params})`` pair, or any callable ``(epoch, lr0) -> lr``. ``epochs``,
    the run's length, completes a cosine schedule given without one."""
    if spec is None:
        return Constant()
    if not callable(spec):
        try:
            name, params = (spec, {}) if isinstance(spec, str) else spec
            params = dict(params)
        except (TypeError, ValueError):
            raise ConfigError(f"lr_schedule must be a name, a (name, {{params}}) pair or a callable, got {spec!r:.80}") from None
        key = str(name).lower().replace("-", "_")
        if key not in SCHEDULES:
            raise ConfigError(f"unknown lr_schedule {name!r}; choose one of: {', '.join(SCHEDULES)}")
        try:
            spec = SCHEDULES[key](**params)
        except TypeError as exc:
            raise ConfigError(f"lr_schedule {name!r}: {exc}") from None
    if isinstance(spec, CosineDecay) and spec.epochs is None and epochs:
        spec = replace(spec, epochs=int(epochs))
    return spec


# -- callbacks ------------------------------------------------------------------------------------
class Callback:
    """Hooks into the loop. ``loop.stop = True`` ends training after the current epoch."""

    def on_train_begin(self, loop: _Loop) -> None: ...

    def on_epoch_end(self, loop: _Loop, epoch: int, logs: dict[str, float]) -> None: ...

    def on_train_end(self, loop: _Loop) -> None: ...

    def on_batch_end(self, loop: _Loop, batch: int, n_batches: int) -> None:
        """After mini-batch ``batch`` (0-based) of ``n_batches`` in ``loop.epoch``. Only callbacks
        that override it are called, so the loop pays nothing per batch otherwise."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs; with
    ``restore_best`` the parameters of the best epoch are put back at the end."""

    def __init__(self, patience: int = 10, min_delta: float = 1e-4, monitor: str | None = None,
                 restore_best: bool = True) -> None:
        if patience < 1:
            raise ConfigError(f"patience must be at least 1 epoch, got {patience}")
        self.patience, self.min_delta = int(patience), float(min_delta)
        self.monitor, self.restore_best = monitor, restore_best

    def on_train_begin(self, loop: _Loop) -> None:
        self.key = self.monitor or ("val_cost" if loop.has_validation else "cost")
        self.best, self.wait, self.best_params = math.inf, 0, None

    def on_epoch_end(self, loop: _Loop, epoch: int, logs: dict[str, float]) -> None:
        value = logs.get(self.key)
        if value is None:
            raise ConfigError(f"early stopping monitors {self.key!r}, which this run does not record")
        if value < self.best - self.min_delta:
            self.best, self.wait = value, 0
            loop.history.best_epoch = epoch
            if self.restore_best:
                self.best_params = {k: v.copy() for k, v in loop.net.parameters.items()}
        else:
            self.wait += 1
            if self.wait >= self.patience:
                loop.stop = True
                loop.history.stopped_early = True

    def on_train_end(self, loop: _Loop) -> None:
        if self.restore_best and self.best_params is not None:
            loop.net.parameters = self.best_params

    def get_state(self) -> dict[str, Any]:
        state: dict[str, Any] = {"best": self.best, "wait": self.wait}
        if self.best_params is not None:
            state["best_params"] = {k: v.copy() for k, v in self.best_params.items()}
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        best, wait = state["best"], state["wait"]
        if not isinstance(best, (int, float)) or isinstance(best, bool) or math.isnan(best):
            raise ValueError(f"best must be a number, got {best!r:.40}")
        if not isinstance(wait, int) or isinstance(wait, bool) or wait < 0:
            raise ValueError(f"wait must be a non-negative integer, got {wait!r:.40}")
        self.best, self.wait = float(best), wait
        self.best_params = state.get("best_params")


class _Progress(Callback):
    """A tqdm bar on a terminal; otherwise one line every ``every`` epochs.

    Within a long epoch the display moves too: the bar shows the fraction of the epoch done at
    least every ``BAR_EVERY`` seconds, and without a bar a line says how far the epoch is every
    ``LINE_EVERY`` seconds. ``clock`` (seconds) and ``bar`` (True/False, None: a terminal or a
    notebook decides) are there for tests.
    """

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
        from .notebook import in_notebook, progress_bar_class

        want = self.want_bar if self.want_bar is not None else (sys.stderr.isatty() or in_notebook())
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


def accuracy(net: Network, AL: np.ndarray, Y: np.ndarray) -> float | None:
    """Fraction of correct predictions (softmax: argmax; sigmoid: each output > 0.5); None for regression."""
    g = net.layers[-1].g.name
    if g == "softmax":
        return float(np.mean(np.argmax(AL, axis=0) == np.argmax(Y, axis=0)))
    if g == "sigmoid":
        return float(np.mean((AL > 0.5) == (Y > 0.5)))
    return None


# -- the loop -------------------------------------------------------------------------------------
class _Loop:
    """State of one run, visible to callbacks: ``net``, ``optimizer``, ``history``, ``epoch``, ``stop``."""

    def __init__(self, net: Network, optimizer: Optimizer, history: History, n_epochs: int,
                 has_validation: bool, rng: np.random.Generator, start_epoch: int = 0) -> None:
        self.net, self.optimizer, self.history = net, optimizer, history
        self.n_epochs, self.has_validation, self.rng = n_epochs, has_validation, rng
        self.start_epoch = self.epoch = start_epoch
        self.stop = False


class _Batches:
    """Shuffled mini-batches gathered into reused buffers (no allocation per batch)."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, batch_size: int | None, shuffle: bool,
                 w: np.ndarray | None = None, rows: bool = False) -> None:
        self.m = X.shape[1]
        self.full = not rows and (batch_size is None or batch_size >= self.m)
        self.X, self.Y, self.w, self.shuffle = X, Y, w, shuffle
        if self.full:
            return
        self.B = int(batch_size)
        # gather samples as rows (contiguous copies) and hand the layers A[0] = rows.T
        self.Xr = X.T if X.T.flags.c_contiguous else np.ascontiguousarray(X.T)
        self.Yr = Y.T if Y.T.flags.c_contiguous else np.ascontiguousarray(Y.T)
        self.bufs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _buf(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        if size not in self.bufs:
            self.bufs[size] = (np.empty((size, self.Xr.shape[1]), self.Xr.dtype),
                               np.empty((size, self.Yr.shape[1]), self.Yr.dtype))
        return self.bufs[size]

    @property
    def n_batches(self) -> int:
        return 1 if self.full else -(-self.m // self.B)

    def __call__(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        if self.full:
            yield self.X, self.Y, self.w
            return
        order = rng.permutation(self.m) if self.shuffle else np.arange(self.m)
        yield from self.gather(order[start:start + self.B] for start in range(0, self.m, self.B))

    def gather(self, index_sets: Any) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        for idx in index_sets:
            xb, yb = self._buf(len(idx))
            # mode="clip": with the default "raise", NumPy gathers into a hidden temporary first
            # (the indices come from a permutation of range(m), so none is ever clipped)
            self.Xr.take(idx, axis=0, out=xb, mode="clip")
            self.Yr.take(idx, axis=0, out=yb, mode="clip")
            yield xb.T, yb.T, None if self.w is None else self.w[idx]


class _GivenBatches:
    """``fit(batches=...)``: the caller's column indices for each batch of each epoch, checked
    as they come, gathered into the same reused buffers as shuffled mini-batches."""

    full = False

    def __init__(self, spec: Any, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, n_epochs: int) -> None:
        if callable(spec):
            self.per_epoch = spec
        else:
            try:
                epochs = list(spec)
            except TypeError:
                raise ConfigError("batches must be a callable epoch -> iterable of index arrays, or a sequence with "
                                  f"one iterable of index arrays per epoch, got {type(spec).__name__}") from None
            if len(epochs) < n_epochs:
                raise ConfigError(f"batches gives the batches of {len(epochs)} epochs, but the run has {n_epochs}; "
                                  "give one entry per epoch, or a callable epoch -> batches")
            self.per_epoch = epochs.__getitem__
        self.m = X.shape[1]
        self.rows = _Batches(X, Y, 1, False, w, rows=True)  # its row copies and buffers
        self.B = None
        self.epoch = 0
        self.n_batches = 0

    def __call__(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        epoch = self.epoch
        sets = [self._check(idx, epoch, i) for i, idx in enumerate(self.per_epoch(epoch))]
        if not sets:
            raise ConfigError(f"batches gave no batch for epoch {epoch}; each epoch needs at least one")
        self.n_batches = len(sets)
        w = self.rows.w  # what the epoch's cost is averaged over: samples, or their weights
        self.seen = float(sum(len(idx) for idx in sets) if w is None else sum(w[idx].sum(dtype=np.float64) for idx in sets))
        yield from self.rows.gather(sets)

    def _check(self, idx: Any, epoch: int, i: int) -> np.ndarray:
        a = np.asarray(idx)
        if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
            raise ConfigError(f"batches: batch {i} of epoch {epoch} must be a non-empty 1-D array of integer column "
                              f"indices, got {a.dtype} of shape {a.shape}")
        lo, hi = int(a.min()), int(a.max())
        if lo < 0 or hi >= self.m:
            raise ConfigError(f"batches: batch {i} of epoch {epoch} holds column index {lo if lo < 0 else hi}, "
                              f"outside 0..m-1 = 0..{self.m - 1}")
        return a.astype(np.intp, copy=False)


def _is_count(x: Any, allow_zero: bool = False) -> bool:
    """A whole number (an int, or a float such as 3.0), at least 1 (or 0)."""
    return _is_real(x) and np.isfinite(x) and int(x) == x and x >= (0 if allow_zero else 1)


def _keep_probs(keep_prob: Any, L: int) -> list[float]:
    if keep_prob is None or keep_prob is False:
        return [1.0] * (L - 1)
    probs = [float(keep_prob)] * (L - 1) if np.isscalar(keep_prob) else [float(p) for p in keep_prob]
    if len(probs) != L - 1:
        raise ConfigError(f"keep_prob needs one keep probability per hidden layer (L - 1 = {L - 1}), got {len(probs)}")
    for l, p in enumerate(probs, start=1):
        if not 0 < p <= 1:
            raise ConfigError(f"keep_prob (dropout's KEEP probability) for layer {l} must be in (0, 1], got {p}")
    return probs


def _split_validation(X: np.ndarray, Y: np.ndarray, fraction: float, rng: np.random.Generator
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not 0 < fraction < 1:
        raise ConfigError(f"validation_split must be between 0 and 1, got {fraction}")
    m = X.shape[1]
    m_val = int(math.ceil(m * fraction))
    if m_val < 1 or m - m_val < 1:
        raise DataError(f"validation_split={fraction} of m = {m} samples leaves no training or no "
                        "validation samples; use more data or a different split")
    order = rng.permutation(m)
    val, train = np.sort(order[:m_val]), np.sort(order[m_val:])
    # gather samples as rows: the training part then comes out as contiguous rows, the layout the
    # mini-batch gather wants, instead of needing a second copy
    Xr = X.T
    return Xr[train].T, Y[:, train], Xr[val].T, Y[:, val]


def fit(
    net: Network,
    X: Any,
    Y: Any,
    *,
    learning_rate: float | None = None,
    num_iterations: int | None = None,
    epochs: int | None = None,
    print_cost: bool = False,
    print_every: int = 100,
    optimizer: str | Optimizer = "gd",
    batch_size: int | None = None,
    shuffle: bool = True,
    lr_schedule: Any = None,
    l2: float = 0.0,
    keep_prob: float | Sequence[float] | None = None,
    validation_data: tuple[Any, Any] | None = None,
    validation_split: float = 0.0,
    early_stopping: bool | EarlyStopping = False,
    callbacks: Sequence[Callback] = (),
    verbose: int | str = 0,
    seed: int | None = None,
    sample_weight: Any = None,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int = 1,
    resume: str | os.PathLike | None = None,
    threads: int | None = None,
    batches: Any = None,
) -> History:
    """Train ``net`` on X (n[0], m), Y (n[L], m) and return its :class:`History`.

    Parameters
    ----------
    learning_rate : float, optional
        alpha; defaults to the optimizer's own (gd 0.0075 as the course, adam 0.001, ...).
    num_iterations, epochs : int
        Passes over the data (they are the same thing; give one). Default 3000, as the course.
    optimizer : str or Optimizer
        ``gd`` (plain gradient descent), ``momentum``, ``rmsprop`` or ``adam``.
    batch_size : int, optional
        None trains full batch (the course); an int shuffles mini-batches each epoch (seeded).
    lr_schedule : str, callable or None
        ``constant``, ``step``, ``exponential``, ``inverse_time``, ``cosine`` (over ``epochs``), a
        ``(name, {params})`` pair or ``f(epoch, lr0) -> lr``.
    l2 : float
        lambda: adds lambda/(2m) sum ||W[l]||^2 to the cost and (lambda/m) W[l] to dW[l].
    keep_prob : float or list of float
        Keep probabilities of inverted dropout for the hidden layers 1..L-1 (the course's
        ``keep_prob``; 1.0 keeps all, 0.8 drops 20%). There is no ``dropout=``: a drop rate p is
        ``keep_prob = 1 - p``.
    validation_data : (X_val, Y_val), or validation_split : float
        Held-out data scored after every epoch (``val_cost``, ``val_accuracy``).
    early_stopping : bool or EarlyStopping
        Stop when the validation cost (training cost without validation data) stalls, and
        restore the best parameters.
    callbacks : list of Callback
    verbose : int or "plot"
        0 silent; 1 a progress bar (a notebook bar in Jupyter; a line every tenth of the run when
        neither a terminal nor a notebook); 2 a line per epoch; ``"plot"`` a progress bar and, in a
        notebook, the cost curve redrawn in place as training goes (see :mod:`deeplayers.notebook`).
        ``print_cost`` prints the course's "Cost after iteration i: J" every
        ``print_every`` iterations.
    seed : int, optional
        Seeds mini-batch order, the validation split and dropout (default: the network's seed).
    sample_weight : array of shape (m,), optional
        Non-negative weight of each sample (column), counted like repeated samples (scikit-learn's
        MLP convention): each batch's cost is the weighted mean of the samples' losses plus
        lambda/(2 sum(w)) sum ||W[l]||^2, sum(w) over the batch, so a weight of 2 is the same as
        the sample given twice.
    checkpoint : path, optional
        Write a checkpoint (parameters, optimizer and RNG state, epoch, history) there, atomically,
        every ``checkpoint_every`` epochs and at the end; on Ctrl-C, the state as the interrupted
        epoch began.
    resume : path, optional
        Continue from a checkpoint: with the same data, seed and options, the result equals an
        uninterrupted run bit for bit. ``epochs`` still counts from the first epoch.
    threads : int, optional
        BLAS threads for the matrix products: None chooses (one for small products, otherwise
        the cores other programs leave free, looked at again as the run goes), a positive count,
        or -1 for every core (-2 all but one, ...), as scikit-learn's ``n_jobs``; see
        :mod:`deeplayers.threads`. The previous setting is put back afterwards.
    batches : callable or sequence, optional
        Train on a given batch order instead of ``batch_size``/``shuffle``: ``batches(epoch)``
        (or ``batches[epoch]``) is an iterable of 1-D integer arrays, the column indices of X in
        each mini-batch of that epoch, in order. The same indices give the same run as a manual
        loop over ``X[:, idx]``; nothing is copied but the batch itself, into a reused buffer.
    """
    if num_iterations is not None and epochs is not None and num_iterations != epochs:
        raise ConfigError("give num_iterations or epochs, not both (one pass over the data each)")
    n_epochs = epochs if epochs is not None else num_iterations if num_iterations is not None else 3000
    if not _is_count(n_epochs, allow_zero=True):
        raise ConfigError(f"epochs must be a non-negative integer, got {n_epochs!r}")
    n_epochs = int(n_epochs)
    if batch_size is not None and not _is_count(batch_size):
        raise ConfigError(f"batch_size must be a positive integer or None (full batch), got {batch_size!r}")
    if not _is_real(l2) or l2 < 0 or not np.isfinite(l2):
        raise ConfigError(f"l2 (lambda) must be a non-negative number, got {l2!r}")
    check_threads(threads)
    if batches is not None and batch_size is not None:
        raise ConfigError("give batch_size or batches, not both: batches already says which columns form each batch")
    if batches is not None and validation_split:
        raise ConfigError("batches name columns of X, which validation_split would reorder; "
                          "pass validation_data=(X_val, Y_val) instead")

    X = net._as_X(X)
    Y = net._as_Y(Y, X.shape[1])
    _check_data(net, X, Y, "X", "Y")
    rng = np.random.default_rng(net.seed if seed is None else seed)
    w = _sample_weight(sample_weight, X.shape[1], net.dtype)
    if w is not None:  # carried as an extra row of Y through splitting and batching
        Y = np.vstack([Y, w[None, :]])
    if validation_data is not None:
        X_val, Y_val = validation_data
        X_val = net._as_X(X_val, "X_val")
        Y_val = net._as_Y(Y_val, X_val.shape[1])
        _check_data(net, X_val, Y_val, "X_val", "Y_val")
    elif validation_split:
        X, Y, X_val, Y_val = _split_validation(X, Y, validation_split, rng)
        if w is not None:
            Y_val = Y_val[:-1]
    else:
        X_val = Y_val = None

    opt = get_optimizer(optimizer, learning_rate)
    lr0 = opt.learning_rate
    schedule = get_schedule(lr_schedule, n_epochs)
    keep = _keep_probs(keep_prob, net.L)
    if w is not None:
        Y, w = Y[:-1], Y[-1]
        if not w.sum() > 0:
            raise DataError("sample_weight is zero for every training sample left after the validation split; "
                            "give some of them a positive weight")
    batches = _Batches(X, Y, batch_size, shuffle, w) if batches is None else _GivenBatches(batches, X, Y, w, n_epochs)
    weight_total = float(X.shape[1] if w is None else w.sum(dtype=np.float64))
    J_prior, J_guess = reference_costs(net, Y, w)
    history = History(unit="iteration" if batches.full else "epoch")
    loop = _Loop(net, opt, history, n_epochs, X_val is not None, rng)

    cbs = list(callbacks)
    if early_stopping:
        cbs.append(early_stopping if isinstance(early_stopping, EarlyStopping) else EarlyStopping())
    from .notebook import live_callbacks

    cbs.extend(live_callbacks(verbose))  # verbose="plot": the cost curve drawn live in a notebook
    if verbose:
        cbs.append(_Progress(1 if verbose == "plot" else verbose))
    options = {"optimizer": opt.name, "batch_size": batch_size, "shuffle": shuffle}
    ckpt = _Checkpoints(checkpoint, checkpoint_every, net, opt, rng, cbs, options) if checkpoint else None
    resumed = _resume(resume, net, opt, rng, options) if resume is not None else None
    if resumed is not None:
        history = loop.history = History.from_dict(resumed["history"])
        loop.start_epoch = loop.epoch = int(resumed["epoch"])

    drop_rng = rng if any(p < 1 for p in keep) else None
    folded = opt.folds_learning_rate
    layers = net.layers
    snapshot = [(np.empty_like(layer.W), np.empty_like(layer.b)) for layer in layers]
    t0 = time.perf_counter() - (history.time[-1] if history.time else 0.0)
    for layer, p in zip(layers, keep):
        layer.keep_prob = p

    def update(layer: Any, dA_prev: Any) -> None:
        opt.update(layer, folded)

    # callbacks are duck-typed (notebook.LivePlot has only the epoch hooks): call those that define this one
    batch_cbs = [cb for cb in cbs if getattr(type(cb), "on_batch_end", Callback.on_batch_end) is not Callback.on_batch_end]
    # multiply-adds of the largest product per batch (a given batch order: its size is not known yet)
    work = max(layer.n * layer.n_prev for layer in layers) * (batches.m if batches.full or batches.B is None
                                                               else batches.B)
    blas = BlasThreads(threads, work).apply()
    J_start: float | None = None  # the first batch's cost, before any update of this run
    J_limit = math.inf  # DIVERGE_FACTOR * max(J_start, J_guess), set after the first batch
    above = 0  # consecutive epochs with a cost above J_limit
    first_epoch, first_iter = len(history.cost), history.n_iter
    # overflow on the way to divergence is detected explicitly (cost and parameters), not warned about
    errstate = np.errstate(over="ignore", invalid="ignore")
    errstate.__enter__()
    try:
        for cb in cbs:
            cb.on_train_begin(loop)
        if resumed is not None:  # after on_train_begin, which resets the callbacks
            for cb, cb_state in zip(cbs, resumed["callbacks"]):
                if cb_state and hasattr(cb, "set_state"):
                    try:
                        cb.set_state(cb_state)
                    except (TypeError, ValueError, KeyError) as exc:
                        raise ModelFileError(f"{resume}: the checkpoint's state for {type(cb).__name__} is "
                                             f"damaged ({exc}); resume from another checkpoint or start again") from None
        for epoch in range(loop.start_epoch, n_epochs):
            loop.epoch = epoch
            lr = opt.learning_rate = float(schedule(epoch, lr0))
            scale = lr if folded else 1.0
            blas.refresh()
            if isinstance(batches, _GivenBatches):
                batches.epoch = epoch
            for (W, b), layer in zip(snapshot, layers):  # last finite parameters, for divergence
                np.copyto(W, layer.W)
                np.copyto(b, layer.b)
            if ckpt:
                ckpt.mark_epoch_start(epoch, history)
            total = 0.0
            for i, (A0, Yb, wb) in enumerate(batches(rng)):
                mb = A0.shape[1]
                sw, l2b = mb, l2
                if wb is not None:
                    sw = float(wb.sum(dtype=np.float64))
                    if sw == 0.0:  # every weight in this batch is zero: nothing to learn from it
                        continue
                    # mean 1 within the batch, so J = sum(w loss) / sum(w), and lambda/(2 sum(w)):
                    # a weight counts as that many repeated samples, L2 included
                    wb = wb * (mb / sw)
                    l2b = l2 * (mb / sw)
                opt.begin_step()
                net._forward(A0, reuse=True, rng=drop_rng)
                J = net.loss.cost(layers[-1].cache[2], Yb, wb, reuse=True)
                if l2b:
                    J += net.l2_cost(l2b, mb)
                if not math.isfinite(J):
                    _diverged(net, snapshot, J, history.n_iter, epoch, lr, history)
                if J_start is None:
                    J_start = J
                    J_limit = DIVERGE_FACTOR * max(J_start, J_guess) or math.inf
                net._backward(Yb, l2=l2b, reuse=True, scale=scale, w=wb, on_layer=update)
                total += J * sw
                history.n_iter += 1
                if print_cost and batches.full and (epoch % print_every == 0 or epoch == n_epochs - 1):
                    print(f"Cost after iteration {epoch}: {J}")
                if batch_cbs:
                    for cb in batch_cbs:
                        cb.on_batch_end(loop, i, batches.n_batches)
            if not _finite_parameters(layers):  # an update overflowed while the cost still looked fine
                _diverged(net, snapshot, math.nan, history.n_iter - 1, epoch, lr, history, what="the parameters")
            J_epoch = J if batches.full else total / (batches.seen if isinstance(batches, _GivenBatches) else weight_total)
            logs = {"cost": J_epoch, "lr": lr}
            history.cost.append(J_epoch)
            history.lr.append(lr)
            if X_val is not None:
                AL_val = net.predict_proba(X_val)
                # the plain loss: the L2 penalty is a training device, not part of held-out error
                logs["val_cost"] = net.cost(AL_val, Y_val)
                history.val_cost.append(logs["val_cost"])
                acc = accuracy(net, AL_val, Y_val)
                if acc is not None:
                    logs["val_accuracy"] = acc
                    history.metrics.setdefault("val_accuracy", []).append(acc)
            logs["time"] = time.perf_counter() - t0
            history.time.append(logs["time"])
            above = above + 1 if J_epoch > J_limit else 0
            if above >= DIVERGE_EPOCHS:
                _cost_diverged(J_epoch, J_start, J_guess, f"for {above} {history.unit}s in a row", history, lr0, lr)
            if print_cost and not batches.full and (epoch % max(1, print_every // 100) == 0 or epoch == n_epochs - 1):
                print(f"Cost after epoch {epoch}: {J_epoch}")
            for cb in cbs:
                cb.on_epoch_end(loop, epoch, logs)
            if ckpt and ((epoch + 1) % ckpt.every == 0 or epoch + 1 == n_epochs or loop.stop):
                ckpt.save(epoch + 1, history)
            if loop.stop:
                break
        l2_term = net.l2_cost(l2, batches.m if batches.full else batches.B) if l2 else 0.0
        _check_stall(history, first_epoch, history.n_iter - first_iter, J_start, J_prior, J_guess, lr0, l2, l2_term)
        J_final = _returned_cost(history, cbs, first_epoch)
        for cb in cbs:
            cb.on_train_end(loop)
        if J_final is not None and J_final > J_limit:  # the parameters handed back are worse than guessing
            _cost_diverged(J_final, J_start, J_guess, "when the run ended", history, lr0, history.lr[-1])
    except KeyboardInterrupt:
        if ckpt is None or ckpt.start is None:  # nothing trained yet, nothing to save
            raise
        # save the state at the start of the interrupted epoch, so a resume repeats it exactly
        epoch = ckpt.save_epoch_start()
        raise KeyboardInterrupt(f"training interrupted in epoch {epoch}; the state at its start was saved "
                                f"to {checkpoint}: continue with resume={str(checkpoint)!r}") from None
    finally:
        errstate.__exit__(None, None, None)
        opt.learning_rate = lr0  # the schedule's base, so a later fit with this optimizer starts from it
        blas.restore()
        for layer in layers:
            layer.keep_prob = 1.0
            layer.cache = None  # drop references to the training data
            layer._ws.clear()  # and the per-batch buffers
    net.history = history
    return history


class _Checkpoints:
    """Writes checkpoints at epoch ends, and on Ctrl-C the state as the interrupted epoch began."""

    def __init__(self, path: Any, every: int, net: Network, opt: Optimizer, rng: np.random.Generator,
                 cbs: list[Callback], options: dict[str, Any]) -> None:
        if int(every) < 1:
            raise ConfigError(f"checkpoint_every must be a positive number of epochs, got {every!r}")
        net.to_spec()  # a checkpoint describes the network by its spec: refuse what it cannot describe up front
        self.path, self.every, self.net, self.opt, self.rng = path, int(every), net, opt, rng
        self.cbs, self.options = cbs, options
        self.start: dict[str, Any] | None = None

    def _state(self, epoch: int, history: History) -> dict[str, Any]:
        return {
            "params": {k: v.copy() for k, v in self.net.parameters.items()},
            "optimizer": {"name": self.opt.name, "hyper": _hyper(self.opt), "state": self.opt.get_state()},
            "rng": self.rng.bit_generator.state, "epoch": epoch, "history": history.as_dict(),
            "callbacks": [cb.get_state() if hasattr(cb, "get_state") else {} for cb in self.cbs],
            "options": self.options,
        }

    def mark_epoch_start(self, epoch: int, history: History) -> None:
        self.start = self._state(epoch, history)

    def save(self, epoch: int, history: History) -> None:
        save_checkpoint(self.path, self.net, self._state(epoch, history))

    def save_epoch_start(self) -> int:
        self.net.parameters = self.start["params"]
        save_checkpoint(self.path, self.net, self.start)
        return int(self.start["epoch"])


def _hyper(opt: Optimizer) -> dict[str, float]:
    return {k: v for k, v in vars(opt).items() if isinstance(v, float)}


def _resume(path: Any, net: Network, opt: Optimizer, rng: np.random.Generator, options: dict[str, Any]
            ) -> dict[str, Any]:
    state = load_checkpoint(path, net)
    for key, value in options.items():
        if key in state["options"] and state["options"][key] != value:
            raise ConfigError(f"{path} was written with {key}={state['options'][key]!r}, but this run asks for "
                              f"{key}={value!r}; resume with the same training options")
    net.parameters = state["params"]
    opt.set_state(state["optimizer"]["state"])
    rng.bit_generator.state = state["rng"]
    return state


def _check_data(net: Network, X: np.ndarray, Y: np.ndarray, xname: str, yname: str) -> None:
    check_finite(xname, X)
    check_finite(yname, Y)
    check_Y(Y, net.layer_dims[-1], X.shape[1])
    if net.loss.needs_probabilities and (Y.min() < 0 or Y.max() > 1):
        raise DataError(
            f"{yname} must hold values in [0, 1] for {net.loss.name} (found {Y.min():g} .. {Y.max():g}); "
            "encode class labels as 0/1 (sigmoid) or one-hot columns (softmax)"
        )
    if net.loss.name == "categorical_crossentropy":
        sums = Y.sum(axis=0)
        bad = np.flatnonzero(np.abs(sums - 1) > 1e-3)
        if bad.size:
            raise DataError(
                f"{yname} must be one-hot for {net.loss.name}: each sample's column must sum to 1, but sample "
                f"{int(bad[0])}'s sums to {sums[bad[0]]:g} ({bad.size} such samples); encode class k as the "
                "k-th unit vector, e.g. np.eye(n_classes)[labels].T"
            )


def _sample_weight(sample_weight: Any, m: int, dtype: np.dtype) -> np.ndarray | None:
    if sample_weight is None:
        return None
    w = as_float_array(sample_weight, "sample_weight", dtype)
    if w.shape != (m,):
        raise ShapeError(f"sample_weight must have one weight per sample, shape (m,) = ({m},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise DataError("sample_weight must be finite and non-negative, with a positive sum")
    return w


def _finite_parameters(layers: list) -> bool:
    # one reduction per array: NaN or inf anywhere makes the sum non-finite
    return all(np.isfinite(np.add.reduce(p, axis=None, dtype=np.float64)) for layer in layers for p in (layer.W, layer.b))


def _diverged(net: Network, snapshot: list, J: float, it: int, epoch: int, lr: float, history: History,
              what: str = "the cost") -> None:
    if not _finite_parameters(net.layers):
        for (W, b), layer in zip(snapshot, net.layers):
            np.copyto(layer.W, W)
            np.copyto(layer.b, b)
    became = f"became {J}" if what == "the cost" else "became NaN or infinite"
    err = DivergenceError(
        f"training diverged at iteration {it} (epoch {epoch}): {what} {became}. The parameters "
        f"were left at their last finite values; try a smaller learning rate (it was {lr:g})."
    )
    err.history = history
    raise err


# -- telling a run that went wrong -----------------------------------------------------------------
#: The cost has diverged when it stays above DIVERGE_FACTOR times the larger of the run's starting
#: cost (its first batch, before any update) and the cost of guessing (the untrained output g[L](0)
#: for every sample) for DIVERGE_EPOCHS epochs in a row, or when the parameters the run hands back
#: (the last epoch's, or the best one's with early stopping) have a cost above that.
DIVERGE_FACTOR = 10.0
DIVERGE_EPOCHS = 10
#: A run of at least STALL_MIN_UPDATES updates gives a TrainingWarning when it ends more than
#: STALL_BAND (a fraction) above both its starting cost and the cost of guessing (it made things
#: worse), or when it stalled near guessing: its lowest cost is no more than STALL_BAND below the
#: cost of predicting the mean of Y, the cost fell by less than STALL_FALL of that over the run's
#: second half, and it ends below twice the cost of guessing.
STALL_MIN_UPDATES = 100
STALL_BAND = 0.01
STALL_FALL = 0.005


def reference_costs(net: Network, Y: np.ndarray, sample_weight: np.ndarray | None = None) -> tuple[float, float]:
    """``(J_prior, J_guess)`` for targets Y of shape (n[L], m), with the network's loss.

    J_prior is the cost of predicting the (weighted) mean of Y for every sample: the class
    frequencies for cross-entropy (their entropy), half the variance of Y for MSE; the best any
    constant output can do. J_guess is the cost of the output an untrained network tends to give,
    ``g[L](0)`` for every sample: log 2 = 0.693 per sigmoid unit, log K for a softmax over K classes,
    half the mean of Y^2 for a linear output. J_prior <= J_guess for the library's losses.
    """
    Y = np.asarray(Y, np.float64)
    m = Y.shape[1]
    w = np.ones(m) if sample_weight is None else np.asarray(sample_weight, np.float64)
    total = w.sum()

    def cost_of(P: np.ndarray) -> float:
        per_sample = net.loss.per_sample(np.broadcast_to(P, Y.shape), Y)
        return float(np.dot(per_sample, w) / total)

    # on a copy: the layer's own activation (a user's may record what it sees) is left untouched
    g0 = copy.deepcopy(net.layers[-1].g).forward(np.zeros((Y.shape[0], 1)))
    return cost_of((Y @ w / total)[:, None]), cost_of(g0)


def _returned_cost(history: History, cbs: list[Callback], first_epoch: int) -> float | None:
    """The training cost of the parameters fit hands back: the last epoch's, or the best epoch's
    when early stopping puts those back."""
    if len(history.cost) <= first_epoch:
        return None
    restores = any(isinstance(cb, EarlyStopping) and cb.restore_best and cb.best_params is not None for cb in cbs)
    if restores and history.best_epoch is not None and first_epoch <= history.best_epoch < len(history.cost):
        return history.cost[history.best_epoch]
    return history.cost[-1]


def _cost_diverged(J: float, J_start: float | None, J_guess: float, when: str, history: History,
                   lr: float, lr_now: float) -> None:
    epoch = len(history.cost) - 1
    if not math.isclose(lr_now, lr, rel_tol=1e-9):
        lr_now = f", {lr_now:.3g} in the last epoch by the schedule"
    else:
        lr_now = ""
    err = DivergenceError(
        f"training diverged at iteration {history.n_iter - 1} (epoch {epoch}): the cost rose to {J:.6g}, more than "
        f"{DIVERGE_FACTOR:g} times the larger of its starting value ({J_start:.4g}) and the cost of guessing "
        f"({J_guess:.4g}), {when}. The learning rate is too large for this network and data: try a smaller "
        f"learning rate (it was {lr:g}{lr_now}; try 10 to 100 times smaller). The parameters were left as they were when "
        f"training stopped: finite, but worse than guessing."
    )
    err.history = history
    raise err


def _check_stall(history: History, first_epoch: int, n_updates: int, J_start: float | None, J_prior: float,
                 J_guess: float, lr: float, l2: float, l2_term: float) -> None:
    """Warn (TrainingWarning, kept in ``history.warnings``) when a run of at least STALL_MIN_UPDATES
    updates learned nothing: it ended worse than both its start and guessing, or stalled near guessing."""
    costs = history.cost[first_epoch:]
    if n_updates < STALL_MIN_UPDATES or len(costs) < 2 or J_start is None:
        return
    J_end, unit = costs[-1], history.unit
    ran = f"after {n_updates} updates ({len(costs)} {unit}s)"
    if J_end > (1 + STALL_BAND) * max(J_start, J_guess):
        msg = (
            f"training made things worse: the cost ended at {J_end:.4f} {ran}, above both its start "
            f"({J_start:.4f}) and the cost of guessing ({J_guess:.4f} for the untrained output g(0)); the "
            f"network predicts worse than a guess. Usual cause: a learning rate too large, so that the updates "
            f"overshoot (it was {lr:g}; try one 10 times smaller)."
        )
    elif (J_prior > 1e-3 * J_guess  # (one class, or constant targets: nothing to learn beyond guessing)
          and min(costs) >= (1 - STALL_BAND) * J_prior
          and costs[len(costs) // 2] - J_end < STALL_FALL * J_prior
          and J_end <= 2 * max(J_guess, J_prior)):  # far above guessing is divergence, not a stall
        # the L2 penalty is named when it is a visible part (1% or more) of the final cost
        strong_l2 = f", an L2 penalty too strong for the data (lambda = {l2:g})" if l2_term >= 0.01 * J_end else ""
        msg = (
            f"training stalled near the cost of guessing: the cost is {J_end:.4f} {ran}, against {J_prior:.4f} "
            f"for always predicting the mean of Y (the class frequencies) and {J_guess:.4f} for the untrained "
            f"output g(0); the network has learned (almost) nothing from X. Usual causes: an initialisation too "
            f"small (weights scaled by 0.01 make the signal and the gradients vanish through the layers; use He "
            f"or Xavier initialisation), a learning rate too small or too large (it was {lr:g}){strong_l2}, or "
            f"features that carry no information about Y."
        )
    else:
        return
    history.warnings.append(msg)
    warnings.warn(msg, TrainingWarning, stacklevel=4)
