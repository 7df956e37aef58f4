"""Preparing a run: every option and array checked, the data split and batched, the optimizer,
schedule, callbacks, checkpoints and resumed state set up, before the first epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError, DataError, ShapeError
from ..initializers import check_seed
from ..optimizers import _is_real, get_optimizer
from ..shapes import as_float_array, check_finite, check_Y
from ..threads import check_threads
from .batching import _Batches, _GivenBatches
from .callbacks import Callback, EarlyStopping
from .checkpoints import _Checkpoints, _resume, run_options
from .divergence import _finite_parameters, reference_costs
from .history import History
from .loop import _Loop
from .progress import _Progress
from .schedules import get_schedule
from .validation import split_validation

if TYPE_CHECKING:
    from ..network import Network

__all__ = ["prepare"]


def prepare(net: Network, X: Any, Y: Any, *, learning_rate: float | None, num_iterations: int | None,
            epochs: int | None, print_cost: bool, print_every: int, optimizer: Any, batch_size: int | None,
            shuffle: bool, lr_schedule: Any, l2: float, keep_prob: Any, validation_data: tuple[Any, Any] | None,
            validation_split: float, early_stopping: bool | EarlyStopping, callbacks: Sequence[Callback],
            verbose: int | str, seed: int | None, sample_weight: Any, checkpoint: Any, checkpoint_every: int,
            resume: Any, threads: int | None, batches: Any) -> _Loop:
    """The run :func:`~deeplayers.training.fit` describes, checked and ready for its first epoch
    (the options are fit's)."""
    n_epochs = _check_options(num_iterations, epochs, batch_size, l2, threads, batches, validation_split)
    if not _is_count(print_every):
        raise ConfigError(f"print_every must be a positive whole number of iterations (epochs), got {print_every!r}")
    rng = np.random.default_rng(net.seed if seed is None else check_seed(seed))
    X, Y, w, X_val, Y_val = _prepare_data(net, X, Y, sample_weight, validation_data, validation_split, rng)
    opt = get_optimizer(optimizer, learning_rate)
    schedule, keep = get_schedule(lr_schedule, n_epochs), _keep_probs(keep_prob, net.L)
    batched = _Batches(X, Y, batch_size, shuffle, w) if batches is None else _GivenBatches(batches, X, Y, w, n_epochs)
    history = History(unit="iteration" if batched.full else "epoch")
    loop = _Loop(net, opt, history, n_epochs, X_val is not None, rng)
    loop.lr0, loop.schedule, loop.keep = opt.learning_rate, schedule, keep
    loop.batches, loop.X_val, loop.Y_val, loop.l2, loop.threads = batched, X_val, Y_val, l2, threads
    loop.print_cost, loop.print_every = print_cost, print_every
    loop.weight_total = float(X.shape[1] if w is None else w.sum(dtype=np.float64))
    loop.J_prior, loop.J_guess = reference_costs(net, Y, w)
    loop.callbacks = _callbacks(callbacks, early_stopping, verbose)
    options = {} if not (checkpoint or resume is not None) else run_options(
        opt, schedule, batch_size=batch_size, shuffle=shuffle, l2=l2, keep_prob=keep,
        validation_split=validation_split, X=X, Y=Y, w=w, early_stopping=_stopping(loop.callbacks, early_stopping),
        validation=None if X_val is None else (X_val, Y_val))
    if checkpoint:
        loop.checkpoints = _Checkpoints(checkpoint, checkpoint_every, net, opt, rng, loop.callbacks, options)
    if resume is not None:
        loop.resumed, loop.resume_path = _resume(resume, net, opt, rng, options), resume
        loop.history = History.from_dict(loop.resumed["history"])
        loop.start_epoch = loop.epoch = int(loop.resumed["epoch"])
        if loop.start_epoch > n_epochs:  # (it would return the longer run as if it were this one)
            raise ConfigError(f"{resume} has already trained {loop.start_epoch} epochs, but this run asks for "
                              f"epochs={n_epochs}; resume with at least as many")
        if loop.history.stopped_early:  # the run had ended there: resuming it trains nothing more
            loop.n_epochs = loop.start_epoch
    opt.bind(net)  # after resume: another network's moments are dropped, this one's (or resumed ones) kept
    _check_parameters(net)
    return loop


def _check_parameters(net: Network) -> None:
    """A DataError naming the first NaN or inf in some W[l] or b[l]: gradient descent from there
    could only report a divergence that never happened."""
    if _finite_parameters(net.layers):  # (one product per array; the exact look only on failure)
        return
    for layer in net.layers:
        for name, a in ((f"W[{layer.l}]", layer.W), (f"b[{layer.l}]", layer.b)):
            check_finite(name, a, todo="training needs finite parameters: initialise the network again "
                                       "(Network(layer_dims, seed=...)) or set finite ones (net.parameters = ...)")


def _check_options(num_iterations: Any, epochs: Any, batch_size: Any, l2: Any, threads: Any, batches: Any,
                   validation_split: Any) -> int:
    """The run's length (epochs), after refusing options that are wrong or do not go together."""
    if num_iterations is not None and epochs is not None and num_iterations != epochs:
        raise ConfigError("give num_iterations or epochs, not both (one pass over the data each)")
    n_epochs = epochs if epochs is not None else num_iterations if num_iterations is not None else 3000
    if not _is_count(n_epochs, allow_zero=True):
        raise ConfigError(f"epochs must be a non-negative integer, got {n_epochs!r}")
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
    return int(n_epochs)


def _prepare_data(net: Network, X: Any, Y: Any, sample_weight: Any, validation_data: Any, validation_split: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, Any, Any]:
    """(X, Y, w, X_val, Y_val): the training part with its sample weights (or None), and the held-out part."""
    X = net._as_X(X)
    Y = net._as_Y(Y, X.shape[1])
    _check_data(net, X, Y, "X", "Y")
    w = _sample_weight(sample_weight, X.shape[1], net.dtype)
    if w is not None:  # Y as the weighted run always had it: a C-ordered copy
        Y = np.ascontiguousarray(Y)
    X_val = Y_val = None
    if validation_data is not None:
        X_val, Y_val = validation_data
        X_val = net._as_X(X_val, "X_val")
        Y_val = net._as_Y(Y_val, X_val.shape[1])
        _check_data(net, X_val, Y_val, "X_val", "Y_val")
    elif validation_split:
        train, val = split_validation(X.shape[1], validation_split, rng)
        # gather samples as rows: the training part then comes out as contiguous rows, the layout the
        # mini-batch gather wants, instead of needing a second copy
        Xr = X.T
        X, Y, X_val, Y_val = Xr[train].T, Y[:, train], Xr[val].T, Y[:, val]
        if w is not None:
            w = w[train]
            if not w.sum() > 0:
                raise DataError("sample_weight is zero for every training sample left after the validation split; "
                                "give some of them a positive weight")
    return X, Y, w, X_val, Y_val


def _callbacks(callbacks: Sequence[Callback], early_stopping: bool | EarlyStopping, verbose: int | str) -> list[Any]:
    """The caller's callbacks, then early stopping, a live plot (``verbose="plot"``) and progress."""
    from ..notebook import live_callbacks

    cbs = list(callbacks)
    if early_stopping:
        cbs.append(early_stopping if isinstance(early_stopping, EarlyStopping) else EarlyStopping())
    cbs.extend(live_callbacks(verbose))  # verbose="plot": the cost curve drawn live in a notebook
    if verbose:
        cbs.append(_Progress(1 if verbose == "plot" else verbose))
    return cbs


def _stopping(cbs: list[Any], early_stopping: bool | EarlyStopping) -> EarlyStopping | None:
    """The run's own early stopping (the one ``early_stopping=`` put in the list), or None."""
    if not early_stopping:
        return None
    return next(cb for cb in reversed(cbs) if isinstance(cb, EarlyStopping))


def _is_count(x: Any, allow_zero: bool = False) -> bool:
    """A whole number (an int, or a float such as 3.0), at least 1 (or 0)."""
    if isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_)):
        return x >= (0 if allow_zero else 1)  # (an int past int64: np.isfinite refuses it with a TypeError)
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


