"""Telling a run that went wrong: divergence (a DivergenceError) and a stall (a TrainingWarning)."""

from __future__ import annotations

import copy
import math
import warnings
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DivergenceError, TrainingWarning
from ..workspace import _norm  # the sum of squares through BLAS, as the bound on a step in place
from .callbacks import Callback, EarlyStopping
from .history import History

if TYPE_CHECKING:
    from ..layers import Dense
    from ..network import Network
    from ..workspace import FlatParameters

__all__ = ["reference_costs", "_Watch", "DIVERGE_FACTOR", "DIVERGE_EPOCHS", "STALL_MIN_UPDATES", "STALL_BAND", "STALL_FALL"]


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
        with np.errstate(over="ignore"):  # targets too large for the loss: the first batch's cost says so
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
                 J_guess: float, lr: float, l2: float, l2_term: float, stacklevel: int = 4) -> None:
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
    warnings.warn(msg, TrainingWarning, stacklevel=stacklevel)


def _finite(p: np.ndarray) -> bool:
    """No NaN or inf in ``p``. The sum of squares through BLAS first (NaN or inf anywhere makes it
    non-finite; 2-3x faster than a reduction over the course's 20 x 12288 W[1], measured); only
    when it is not finite, which squares above ~1e154 (float64) or ~1e19 (float32) also make,
    does an exact look decide."""
    return math.isfinite(_norm(p)) or bool(np.isfinite(p).all())


def _finite_parameters(layers: list, silenced: bool = False) -> bool:
    """No NaN or inf in any W[l], b[l]; ``silenced``: the caller already ignores overflow (run_epochs)."""
    if not silenced:
        with np.errstate(over="ignore", invalid="ignore"):  # a square may overflow: the exact look decides
            return _finite_parameters(layers, silenced=True)
    return all(_finite(p) for layer in layers for p in (layer.W, layer.b))


def _diverged(net: Network, snapshot: list, J: float, it: int, epoch: int, lr: float, history: History,
              what: str = "the cost") -> None:
    if not _finite_parameters(net.layers):
        for (W, b), layer in zip(snapshot, net.layers):
            np.copyto(layer.W, W)
            np.copyto(layer.b, b)
    became = f"became {J}" if what == "the cost" else "became NaN or infinite"
    if it == 0 and what == "the cost":  # before any update: the learning rate has played no part yet
        err = DivergenceError(
            f"the cost of the first batch is {J}, before any update: X or Y holds values too large for the "
            f"cost in {net.dtype.name}. Scale them (standardise X; for regression, scale Y as well)"
            f"{'' if net.dtype == np.float64 else ', or use dtype=float64'}; the learning rate ({lr:g}) is not the cause.")
    else:
        err = DivergenceError(
            f"training diverged at iteration {it} (epoch {epoch}): {what} {became}. The parameters "
            f"were left at their last finite values; try a smaller learning rate (it was {lr:g}).")
    err.history = history
    raise err


class _Watch:
    """One run's divergence and stall checks: the last finite parameters (kept at each epoch's
    start), the first batch's cost J_start and the limit DIVERGE_FACTOR * max(J_start, J_guess)."""

    def __init__(self, net: Network, history: History, J_prior: float, J_guess: float, lr0: float) -> None:
        self.net, self.history, self.J_prior, self.J_guess, self.lr0 = net, history, J_prior, J_guess, lr0
        self._snapshot: list[tuple[np.ndarray, np.ndarray]] | None = None  # made on first use
        self.flat: FlatParameters | None = None  # the run's parameters as one array, when they are (use)
        self.arrays = [(layer.W, layer.b) for layer in net.layers]  # the arrays W[l], b[l] start the run in
        self.J_start: float | None = None  # the first batch's cost, before any update of this run
        self.J_limit = math.inf  # DIVERGE_FACTOR * max(J_start, J_guess), set after the first batch
        self.above = 0  # consecutive epochs with a cost above J_limit
        self.first_epoch, self.first_iter = len(history.cost), history.n_iter

    def use(self, flat: FlatParameters | None) -> None:
        """The run's parameters are ``flat``'s (None: the layers' own arrays). A swapping one keeps
        the last finite parameters itself (:attr:`FlatParameters.previous`); after one, the
        parameters now are kept here, for :meth:`descend`."""
        swapped = self.flat is not None and self.flat.swap
        self.flat = flat
        if swapped and (flat is None or not flat.swap):
            self.keep_parameters()

    @property
    def snapshot(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each layer's (W[l], b[l]) as the epoch began, or, when descending by swapping, as the last
        step began: the last finite parameters, should the run diverge."""
        flat = self.flat
        if flat is not None and flat.swap and flat.intact():
            return flat.previous
        if self._snapshot is None:
            self._snapshot = [(np.empty_like(layer.W), np.empty_like(layer.b)) for layer in self.net.layers]
        return self._snapshot

    def keep_parameters(self) -> None:
        """Copy W[l], b[l] as the epoch starts: the last finite parameters, should it diverge."""
        for (W, b), layer in zip(self.snapshot, self.net.layers):
            np.copyto(W, layer.W)
            np.copyto(b, layer.b)

    def descend(self, layer: Dense) -> None:
        """Plain gradient descent's W[l] - dW[l], b[l] - db[l] (alpha folded into dW[l]) written into
        the snapshot's arrays, which become W[l], b[l]: the parameters as the iteration began stay in
        the old arrays, now the snapshot. The same arithmetic as W[l] -= dW[l], bit for bit, and
        the same memory traffic, so a full-batch run keeps its last finite parameters without copying
        them every iteration (:class:`~deeplayers.workspace.FlatParameters` ``swap`` does the same for
        all layers at once; this is for parameters that cannot be flat)."""
        i = layer.l - 1
        snapshot = self.snapshot
        W_new, b_new = snapshot[i]
        snapshot[i] = (layer.W, layer.b)
        layer.W = np.subtract(layer.W, layer.dW, out=W_new)
        layer.b = np.subtract(layer.b, layer.db, out=b_new)

    def put_arrays_back(self) -> None:
        """After a run that descended by swapping: each W[l], b[l] back in the array it started in
        (the caller's own arrays, when the course functions share them), holding the final values."""
        for (W, b), layer in zip(self.arrays, self.net.layers):
            if layer.W is not W and layer.W.shape == W.shape:
                np.copyto(W, layer.W)
                layer.W = W
            if layer.b is not b and layer.b.shape == b.shape:
                np.copyto(b, layer.b)
                layer.b = b

    def first_batch(self, J: float, epoch: int, lr: float, it: int | None = None) -> None:
        """A batch's cost J that is not finite (DivergenceError), or the run's first one (J_start);
        ``it`` is the batch's iteration (by default the one running now)."""
        if not math.isfinite(J):
            _diverged(self.net, self.snapshot, J, self.history.n_iter if it is None else it, epoch, lr, self.history)
        if self.J_start is None:
            self.J_start = J
            self.J_limit = DIVERGE_FACTOR * max(J, self.J_guess) or math.inf

    def check_parameters(self, epoch: int, lr: float) -> None:
        """An update that overflowed while the cost still looked fine is divergence too."""
        flat = self.flat  # one look at every parameter when they are one array (run_epochs ignores overflow)
        if not (_finite(flat.P) if flat is not None and flat.intact() else
                _finite_parameters(self.net.layers, silenced=True)):
            _diverged(self.net, self.snapshot, math.nan, self.history.n_iter - 1, epoch, lr, self.history,
                      what="the parameters")

    def epoch_cost(self, J_epoch: float, lr: float) -> None:
        """DivergenceError after DIVERGE_EPOCHS epochs in a row above the limit."""
        self.above = self.above + 1 if J_epoch > self.J_limit else 0
        if self.above >= DIVERGE_EPOCHS:
            _cost_diverged(J_epoch, self.J_start, self.J_guess, f"for {self.above} {self.history.unit}s in a row",
                           self.history, self.lr0, lr)

    def check_stall(self, l2: float, l2_term: float) -> None:
        h = self.history
        _check_stall(h, self.first_epoch, h.n_iter - self.first_iter, self.J_start, self.J_prior, self.J_guess,
                     self.lr0, l2, l2_term, stacklevel=7)  # the warning points at the caller of Network.fit

    def returned_cost(self, cbs: list[Callback]) -> float | None:
        return _returned_cost(self.history, cbs, self.first_epoch)

    def check_final(self, J_final: float | None) -> None:
        """The parameters handed back must not be worse than guessing."""
        if J_final is not None and J_final > self.J_limit:
            _cost_diverged(J_final, self.J_start, self.J_guess, "when the run ended", self.history, self.lr0,
                           self.history.lr[-1])
