"""The loop: epochs of mini-batches, each the course's iteration.

Each iteration is forward (A[L] and caches), cost, backward (l = L..1) and update; the optimizer
updates layer l as soon as its dW[l], db[l] are ready. :func:`run_epochs` runs a run that
:func:`~deeplayers.training.prepare.prepare` set up; :class:`_Loop` is that run's state, which
callbacks see.
"""

from __future__ import annotations

import math
import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..threads import BlasThreads
from ..workspace import FlatParameters, Workspace
from .batching import _GivenBatches
from .callbacks import Callback
from .checkpoints import _restore_callbacks
from .costs import _EpochCosts
from .divergence import _Watch
from .history import History

if TYPE_CHECKING:
    from ..network import Network
    from ..optimizers import Optimizer

__all__ = ["run_epochs", "TrainingInterrupted"]


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C during ``fit``: a ``KeyboardInterrupt`` that says where the run stopped.

    ``epoch`` is the 0-based epoch that was interrupted; ``checkpoint`` the path where the state as
    that epoch began was saved (``fit(checkpoint=...)``; continue with ``resume=``), or None when
    nothing was saved."""

    def __init__(self, message: str, epoch: int, checkpoint: Any = None) -> None:
        super().__init__(message)
        self.epoch, self.checkpoint = epoch, checkpoint


class _Loop:
    """State of one run, visible to callbacks: ``net``, ``optimizer``, ``history``, ``n_epochs``,
    ``epoch``, ``start_epoch``, ``has_validation``, ``rng`` and ``stop`` (set it to True to end
    training after the current epoch); the rest is the run's setup."""

    def __init__(self, net: Network, optimizer: Optimizer, history: History, n_epochs: int,
                 has_validation: bool, rng: np.random.Generator, start_epoch: int = 0) -> None:
        self.net, self.optimizer, self.history = net, optimizer, history
        self.n_epochs, self.has_validation, self.rng = n_epochs, has_validation, rng
        self.start_epoch = self.epoch = start_epoch
        self.stop = False
        self.ws = Workspace()  # the run's buffers, reused batch after batch
        self.costs = _EpochCosts()  # a mini-batch epoch's A[L] and Y, for its cost
        self.flat: FlatParameters | None = None  # mini-batch descent's one array of parameters
        # set by prepare(): the run's setup
        self.lr0, self.schedule, self.keep, self.batches = optimizer.learning_rate, None, [], None
        self.X_val = self.Y_val = None
        self.l2, self.threads, self.print_cost, self.print_every = 0.0, None, False, 100
        self.weight_total, self.J_prior, self.J_guess = 0.0, 0.0, 0.0
        self.callbacks: list[Any] = []
        self.checkpoints: Any = None
        self.resumed: dict[str, Any] | None = None
        self.resume_path: Any = None


def run_epochs(loop: _Loop) -> History:
    """Train from ``loop.start_epoch`` to ``loop.n_epochs`` (or until a callback stops it) and
    return the history; the network keeps the last (or, with early stopping, the best) parameters."""
    net, opt = loop.net, loop.optimizer
    layers = net.layers
    watch = _Watch(net, loop.history, loop.J_prior, loop.J_guess, loop.lr0)
    t0 = time.perf_counter() - (loop.history.time[-1] if loop.history.time else 0.0)
    b = loop.batches
    blas = BlasThreads(loop.threads, _batch_work(loop)).apply()
    if _joinable(loop):  # a small network's descent: b[l] and db[l] inside the products (workspace.py)
        b.add_ones()
        loop.ws.ones_row = True
    # overflow on the way to divergence is detected explicitly (cost and parameters), not warned about
    errstate = np.errstate(over="ignore", invalid="ignore")
    errstate.__enter__()
    try:
        for cb in loop.callbacks:
            cb.on_train_begin(loop)
        if loop.resumed is not None:  # after on_train_begin, which resets the callbacks
            _restore_callbacks(loop)
        for epoch in range(loop.start_epoch, loop.n_epochs):
            _run_epoch(loop, epoch, watch, blas, t0)
            if loop.stop:
                break
        _finish(loop, watch)
    except KeyboardInterrupt:
        _interrupted(loop)
    finally:
        errstate.__exit__(None, None, None)
        opt.learning_rate = loop.lr0  # the schedule's base, so a later fit with this optimizer starts from it
        blas.restore()
        watch.put_arrays_back()  # (also after a flat run: W[l], b[l] back in their own arrays)
        if loop.flat is not None:
            loop.flat.release()
            loop.flat = None
        for layer in layers:
            layer.cache = None  # drop references to the training data
        loop.ws.clear()  # and the per-batch buffers
        loop.costs = _EpochCosts()
    net.history = loop.history
    return loop.history


def _run_epoch(loop: _Loop, epoch: int, watch: _Watch, blas: BlasThreads, t0: float) -> None:
    """One pass over the mini-batches of ``epoch``, then the epoch's record, checks and callbacks."""
    net, opt, history, batches, l2 = loop.net, loop.optimizer, loop.history, loop.batches, loop.l2
    layers = net.layers
    loop.epoch = epoch
    lr = opt.learning_rate = float(loop.schedule(epoch, loop.lr0))
    # plain gradient descent: alpha is folded into dZ[L] (ws.scale), so the step is W -= dW
    folded = opt.folds_learning_rate
    ws = loop.ws
    ws.scale = lr if folded else 1.0
    drop_rng = loop.rng if any(p < 1 for p in loop.keep) else None
    # full-batch descent keeps the last finite parameters by swapping arrays (no copy per iteration)
    swap = folded and batches.full
    flat, on_layer = _updates(loop, watch, folded, swap)
    # callbacks are duck-typed (notebook.LivePlot has only the epoch hooks): call those that define this one
    batch_cbs = [cb for cb in loop.callbacks if _defines(cb, "on_batch_end")]
    print_iteration = loop.print_cost and batches.full and (epoch % loop.print_every == 0 or epoch == loop.n_epochs - 1)
    _begin_epoch(loop, epoch, watch, blas, swap)
    stepping = _steps_in_backward(loop, flat, swap, epoch)
    ws.swap, ws.stepped = (flat if swap else None), False
    # mini-batches: the epoch's cost is computed as it ends (costs.py); full batch: each iteration's, as the course prints it
    costs = None if batches.full else loop.costs
    if costs is not None:
        costs.begin(batches.m, net.layer_dims[-1], net.dtype, weighted=batches.w is not None)
    first_iter = history.n_iter
    total, J = 0.0, math.nan
    # a quiet machine's BLAS threads timed against one thread now and then (threads.py)
    tick, clock = (blas.tick if blas.measuring else None), time.perf_counter
    for i, (A0, Yb, w) in enumerate(batches(loop.rng)):
        t_batch = clock() if tick is not None else 0.0
        mb = A0.shape[1]
        sw, l2b, wb = mb, l2, w
        if w is not None:
            sw = float(w.sum(dtype=np.float64))
            if sw == 0.0:  # every weight in this batch is zero: nothing to learn from it
                continue
            # mean 1 within the batch, so J = sum(w loss) / sum(w), and lambda/(2 sum(w)):
            # a weight counts as that many repeated samples, L2 included
            wb = w * (mb / sw)
            l2b = l2 * (mb / sw)
        opt.begin_step()
        net._forward(A0, loop.keep, drop_rng, ws=ws)
        if costs is not None:  # A[L] and Y kept before the backward pass overwrites A[L]
            if i == 0:  # an epoch gathered at once holds its Y rows in batch order (none skipped: no weights)
                costs.Y_rows = batches.Y_rows if w is None else None
            costs.keep(layers[-1].cache.A, Yb, w, net.l2_cost(l2, 1) if l2 else 0.0)
        else:
            J = _batch_cost(loop, watch, Yb, wb, l2b, mb, epoch, lr)
            total += J * sw
        ws.step, ws.stepped = i < stepping, False
        net._backward(Yb, l2=l2b, ws=ws, w=wb, on_layer=on_layer)
        if flat is not None and not ws.stepped:
            flat.step()
        if tick is not None and tick(clock() - t_batch, mb):
            ws.products = (blas.count, blas.parts)  # (the plans' operand orders are per thread count)
        history.n_iter += 1
        if print_iteration:
            print(f"Cost after iteration {epoch}: {J}")
        for cb in batch_cbs:
            cb.on_batch_end(loop, i, batches.n_batches)
        if flat is not None and batch_cbs and not flat.intact():
            # a callback bound a layer to new arrays: those are the parameters now
            flat, on_layer = _updates(loop, watch, folded, swap)
    if costs is not None and not costs.empty:
        total = _kept_total(loop, watch, epoch, lr, first_iter)
    if not (swap and ws.stepped):  # (full batch: a step in place was proven finite before it was taken)
        watch.check_parameters(epoch, lr)
    J_epoch = J if batches.full else total / (batches.seen if isinstance(batches, _GivenBatches) else loop.weight_total)
    _end_epoch(loop, epoch, J_epoch, lr, watch, t0)


def _batch_cost(loop: _Loop, watch: _Watch, Y: np.ndarray, w: Any, l2: float, m: int, epoch: int, lr: float) -> float:
    """The cost of the batch just forward (full batch: each iteration's, as the course prints it);
    a DivergenceError when it is not finite."""
    net = loop.net
    J = net.loss.cost(net.layers[-1].cache.A, Y, w, reuse=True)
    if l2:
        J += net.l2_cost(l2, m)
    if watch.J_start is None or not math.isfinite(J):
        watch.first_batch(J, epoch, lr)
    return J


def _batch_work(loop: _Loop) -> int:
    """Multiply-adds of the largest product per batch: what the thread choice goes by (a given
    batch order's size is known only once its first epoch ran; until then the whole set's)."""
    b = loop.batches
    return max(layer.n * layer.n_prev for layer in loop.net.layers) * (b.m if b.full or b.B is None else b.B)


def _begin_epoch(loop: _Loop, epoch: int, watch: _Watch, blas: BlasThreads, swap: bool) -> None:
    """The threads looked at again, the starting parameters kept (for a divergence) and marked for a
    checkpoint."""
    blas.rework(_batch_work(loop))  # (a given order's batch size is known once its first epoch ran)
    blas.refresh()
    # np.dot, or split across threads when other programs hold cores (a change re-times the plans' operand orders)
    loop.ws.dot, loop.ws.subtract, loop.ws.products = blas.products(), blas.subtract(), (blas.count, blas.parts)
    loop.batches.epoch = epoch  # (a given order's batches are asked for by epoch)
    if not swap or epoch == loop.start_epoch:
        watch.keep_parameters()
    if loop.checkpoints:
        loop.checkpoints.mark_epoch_start(epoch, loop.history)


def _defines(cb: Any, hook: str) -> bool:
    return getattr(type(cb), hook, getattr(Callback, hook)) is not getattr(Callback, hook)


def _updates(loop: _Loop, watch: _Watch, folded: bool, swap: bool) -> tuple[FlatParameters | None, Any]:
    """How the epoch's batches update the parameters: (flat, None) for gradient descent, every
    layer's step at once after the backward pass (each dA[l-1] is computed before its W[l] would
    change either way, so the numbers are the same; full batch: ``swap``, the step written into a
    second array, see FlatParameters); otherwise (None, on_layer), layer l updated as soon as its
    gradients are ready."""
    flat = _flat(loop, loop.net.layers, swap) if folded else None
    watch.use(flat)
    if flat is not None:
        return flat, None
    step = watch.descend if swap else loop.ws.descend if folded else loop.optimizer.update

    def update(layer: Any, dA_prev: Any) -> None:
        step(layer)

    return None, update


def _steps_in_backward(loop: _Loop, flat: FlatParameters | None, swap: bool, epoch: int) -> int:
    """How many of the epoch's first batches may have their step in the backward pass's products
    (``Workspace.step``; split across threads as the products are), where one gemm gives the step's
    bits (workspace._subtracts), with no pass over dW[l] after: all but the epoch's last (full batch:
    but the run's last), so the gradients are at hand when it ends; none unless it is gradient descent
    on flat parameters, no L2, and no callback that might read dW[l], db[l] or change the parameters
    between steps. Mini-batches: callbacks between batches count (epoch callbacks see the epoch's last
    batch's dW[l], db[l]); full batch (``swap``): every callback, each iteration being an epoch, and a
    step goes in place only when proven finite (Workspace.swap). The library's progress display and
    early stopping are :func:`_passive`."""
    if flat is None or flat.joined is not None or loop.l2 or \
            not all(_passive(cb) for cb in loop.callbacks if swap or _defines(cb, "on_batch_end")):
        return 0
    return int(epoch < loop.n_epochs - 1) if swap else loop.batches.n_batches - 1


def _passive(cb: Any) -> bool:
    """A callback whose class itself says (``_passive = True``) that it neither reads gradients nor
    writes parameters or data (a subclass must say so again: it may override a hook)."""
    return bool(type(cb).__dict__.get("_passive", False))


def _flat(loop: _Loop, layers: list, swap: bool = False) -> FlatParameters | None:
    """The run's flat parameters, made anew when a layer no longer holds its views; None where
    they do not apply."""
    flat = loop.flat
    if flat is None or not flat.intact():
        if flat is not None:
            flat.release()  # the gradients into arrays of their own: the layers may be updated one by one now
        flat = loop.flat = FlatParameters(layers, joined=loop.ws.ones_row, swap=swap) \
            if FlatParameters.applies(layers) else None
        loop.ws.joined = None if flat is None else flat.joined  # what the plans' joined products use
    return flat


#: the most weights (with b[l]) a layer of a joined run may have: for a small network, a NumPy call
#: is most of each formula's time, and joining saves two calls a layer (workspace.py)
JOIN_WEIGHTS = 1 << 14


def _joinable(loop: _Loop) -> bool:
    """A run whose parameters may be joined (FlatParameters(joined=True)): mini-batch gradient
    descent without dropout on small data (copied once with a row of ones) and a small network."""
    layers, b = loop.net.layers, loop.batches
    return (loop.optimizer.folds_learning_rate and not b.full and all(p >= 1 for p in loop.keep)
            and max(layer.n * (layer.n_prev + 1) for layer in layers) <= JOIN_WEIGHTS
            and FlatParameters.applies(layers) and b.can_add_ones())


def _kept_total(loop: _Loop, watch: _Watch, epoch: int, lr: float, first_iter: int) -> float:
    """The sum of the epoch's batch costs, each times its weight, from the A[L] and Y kept; the run's
    first batch cost (J_start), and a DivergenceError for the first batch whose cost is NaN or inf."""
    totals, weights = loop.costs.batch_totals(loop.net.loss)
    bad = loop.costs.first_not_finite(totals)
    if watch.J_start is None or bad is not None:
        b = bad or 0
        watch.first_batch(float(totals[b] / weights[b]), epoch, lr, first_iter + b)
    return float(totals.sum())


def _end_epoch(loop: _Loop, epoch: int, J_epoch: float, lr: float, watch: _Watch, t0: float) -> None:
    """Record the epoch (cost, learning rate, validation, time), check for divergence, tell the
    callbacks and write a checkpoint when one is due."""
    net, history = loop.net, loop.history
    logs = {"cost": J_epoch, "lr": lr}
    history.cost.append(J_epoch)
    history.lr.append(lr)
    if loop.X_val is not None:
        from ..metrics import accuracy

        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run: the watch below names it
            AL_val = net._predict_all(loop.X_val, check=False)
        # the plain loss: the L2 penalty is a training device, not part of held-out error
        logs["val_cost"] = net.cost(AL_val, loop.Y_val)
        history.val_cost.append(logs["val_cost"])
        acc = accuracy(net, AL_val, loop.Y_val)
        if acc is not None:
            logs["val_accuracy"] = acc
            history.metrics.setdefault("val_accuracy", []).append(acc)
    logs["time"] = time.perf_counter() - t0
    history.time.append(logs["time"])
    watch.epoch_cost(J_epoch, lr)
    if loop.print_cost and not loop.batches.full and (epoch % max(1, loop.print_every // 100) == 0
                                                      or epoch == loop.n_epochs - 1):
        print(f"Cost after epoch {epoch}: {J_epoch}")
    for cb in loop.callbacks:
        cb.on_epoch_end(loop, epoch, logs)
    ckpt = loop.checkpoints
    if ckpt and ((epoch + 1) % ckpt.every == 0 or epoch + 1 == loop.n_epochs or loop.stop):
        ckpt.save(epoch + 1, history)


def _finish(loop: _Loop, watch: _Watch) -> None:
    """After the last epoch: warn about a stall, end the callbacks (early stopping puts the best
    parameters back), and refuse parameters worse than guessing."""
    b = loop.batches
    l2_term = loop.net.l2_cost(loop.l2, b.m if b.full else b.B) if loop.l2 else 0.0
    watch.check_stall(loop.l2, l2_term)
    J_final = watch.returned_cost(loop.callbacks)
    for cb in loop.callbacks:
        cb.on_train_end(loop)
    watch.check_final(J_final)


def _interrupted(loop: _Loop) -> None:
    """Ctrl-C: save the state as the interrupted epoch began (so a resume repeats it exactly) when
    the run writes checkpoints, and raise :class:`~deeplayers.training.TrainingInterrupted`."""
    ckpt, epoch = loop.checkpoints, loop.epoch
    if ckpt is None or ckpt.start is None:  # no checkpoints, or nothing trained yet: nothing to save
        raise TrainingInterrupted(f"training interrupted in epoch {epoch}; nothing was saved (fit(checkpoint=...) "
                                  "saves the state to resume from)", epoch) from None
    epoch = ckpt.save_epoch_start()
    raise TrainingInterrupted(f"training interrupted in epoch {epoch}; the state at its start was saved to "
                              f"{ckpt.path}: continue with resume={str(ckpt.path)!r}", epoch, ckpt.path) from None
