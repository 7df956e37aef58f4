"""``fit``: prepare a run (:mod:`~deeplayers.training.prepare`), then run its epochs (:mod:`~deeplayers.training.loop`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..optimizers import Optimizer
from .callbacks import Callback, EarlyStopping
from .history import History
from .loop import run_epochs
from .prepare import prepare

if TYPE_CHECKING:
    from ..network import Network

__all__ = ["fit"]


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
        epoch began. Ctrl-C raises :class:`~deeplayers.training.TrainingInterrupted`, a
        ``KeyboardInterrupt`` whose ``epoch`` and ``checkpoint`` say where the run stopped and what
        was saved.
    resume : path, optional
        Continue from a checkpoint: with the same data, seed and options, the result equals an
        uninterrupted run bit for bit when ``threads`` is a fixed count (the automatic choice follows
        the load, and another count rounds differently). ``epochs`` still counts from the first epoch.
    threads : int, optional
        BLAS threads for the matrix products: None chooses (one for small products; otherwise
        BLAS's own threads on a quiet machine, and beside other programs the large products
        split across threads that wait for nobody; looked at again as the run goes), a positive
        count, or -1 for every core (-2 all but one, ...), as scikit-learn's ``n_jobs``; see
        :mod:`deeplayers.threads`. The previous setting is put back afterwards.
    batches : callable or sequence, optional
        Train on a given batch order instead of ``batch_size``/``shuffle``: ``batches(epoch)``
        (or ``batches[epoch]``) is an iterable of 1-D integer arrays, the column indices of X in
        each mini-batch of that epoch, in order. The same indices give the same run as a manual
        loop over ``X[:, idx]``; nothing is copied but the batch itself, into a reused buffer.
    """
    loop = prepare(
        net, X, Y, learning_rate=learning_rate, num_iterations=num_iterations, epochs=epochs, print_cost=print_cost,
        print_every=print_every, optimizer=optimizer, batch_size=batch_size, shuffle=shuffle, lr_schedule=lr_schedule,
        l2=l2, keep_prob=keep_prob, validation_data=validation_data, validation_split=validation_split,
        early_stopping=early_stopping, callbacks=callbacks, verbose=verbose, seed=seed, sample_weight=sample_weight,
        checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, threads=threads, batches=batches)
    return run_epochs(loop)
