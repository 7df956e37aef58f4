"""One trial: a setting turned into the Network(...) and Network.fit(...) options it trains with, its seed and
its id, and the run itself (a fresh network through Network.fit, its curves recorded each epoch)."""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..defaults import DEFAULTS
from ..errors import ConfigError, DeeplayersError, DivergenceError
from ..network import Network
from ..threads import blas_threads
from ..training import Callback, History
from .space import _DEFAULT_HIDDEN, _FIT_KEYS

_RECORD_VERSION = 1


def _trial_seed(seed: int, i: int) -> int:
    """Seed of trial i (weights, mini-batches, dropout), from the search seed and i only."""
    return int(np.random.SeedSequence(seed, spawn_key=(i, 1)).generate_state(1)[0])


# -- from a setting to Network(...) and fit(...) arguments -----------------------------------------
def _hidden_dims(setting: Mapping[str, Any]) -> list[int]:
    if "hidden" in setting:
        h = setting["hidden"]
        if isinstance(h, str) or (isinstance(h, list) and any(isinstance(v, str) for v in h)):
            raise ConfigError(f"space['hidden'] holds hidden layer SIZES, got {h!r}; name the hidden "
                              "activation with 'activation'")
        h = [h] if isinstance(h, (int, np.integer)) else list(h)
    elif "depth" in setting or "width" in setting:
        depth, width = setting.get("depth", 1), setting.get("width", _DEFAULT_HIDDEN[0])
        h = [width] * int(depth)
    else:
        h = list(_DEFAULT_HIDDEN)
    if not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1 for n in h):
        raise ConfigError(f"hidden layer sizes must be positive integers, got {h!r}")
    return [int(n) for n in h]


def _default_output(Y: np.ndarray) -> str:
    """softmax for one-hot columns, sigmoid for 0/1 labels, linear otherwise (regression)."""
    binary = bool(np.all((Y == 0) | (Y == 1)))
    if Y.shape[0] > 1 and binary and np.all(Y.sum(axis=0) == 1):
        return "softmax"
    return "sigmoid" if binary else "linear"


def _task_config(setting: Mapping[str, Any], n0: int, nL: int, default_output: str,
                 epochs: int, halving: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    if "layer_dims" in setting:
        dims = [int(n) for n in setting["layer_dims"]]
        if len(dims) < 2 or dims[0] != n0 or dims[-1] != nL:
            raise ConfigError(f"space layer_dims {dims} must start with n[0] = {n0} (features of X) and end "
                              f"with n[L] = {nL} (rows of Y)")
    else:
        dims = [n0, *_hidden_dims(setting), nL]
    net = {
        "layer_dims": dims,
        "hidden": setting.get("activation", DEFAULTS["activation"]),
        "output": setting.get("output", default_output),
        "init": setting.get("init", DEFAULTS["init"]),
        "dtype": setting.get("dtype", DEFAULTS["dtype"]),
        "loss": setting.get("loss"),
    }
    # what the setting does not name keeps the practitioner defaults (deeplayers.defaults), as the
    # command line and the estimators do; the learning rate only with the default optimizer (another
    # optimizer keeps its own). Successive halving keeps a constant rate unless the space names a
    # schedule: a promoted setting is retrained for eta times the epochs, and only a schedule that
    # does not depend on the run's length makes its curve extend the shorter run's exactly.
    fit = {k: setting[k] for k in _FIT_KEYS if k in setting and k != "epochs"}
    for k in ("optimizer", "batch_size", "l2", "lr_schedule"):
        fit.setdefault(k, "constant" if k == "lr_schedule" and halving else DEFAULTS[k])
    if "learning_rate" not in fit and fit["optimizer"] == DEFAULTS["optimizer"]:
        fit["learning_rate"] = DEFAULTS["learning_rate"]
    fit["epochs"] = int(setting.get("epochs", epochs))
    if isinstance(fit.get("early_stopping"), Mapping):
        fit["early_stopping"] = dict(fit["early_stopping"])
    return net, fit


def _task_id(data_hash: str, net: Mapping[str, Any], fit: Mapping[str, Any], seed: int) -> str:
    blob = json.dumps({"v": _RECORD_VERSION, "data": data_hash, "net": net, "fit": fit, "seed": seed},
                      sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def _hash_arrays(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        c = np.ascontiguousarray(a)
        h.update(f"{c.dtype.str}{c.shape}".encode())
        h.update(c.data)  # buffer protocol: no copy of big arrays
    return h.hexdigest()


# -- one trial (runs in the caller, a joblib worker or a Dask worker) ------------------------------
class _Recorder(Callback):
    """Keeps the curves epoch by epoch, so a diverged run still has its curve. fit's validation
    cost has no L2 term, so settings with different l2 compare on the same footing."""

    _passive = True  # reads no gradients, writes no parameters between batches (training loop)

    def __init__(self) -> None:
        self.curves: dict[str, list[float]] = {"cost": [], "val_cost": [], "val_accuracy": []}
        self.threads: int | None = None

    def on_train_begin(self, loop: Any) -> None:
        self.threads = blas_threads()  # what the trial's products really run on

    def on_epoch_end(self, loop: Any, epoch: int, logs: dict[str, float]) -> None:
        self.curves["cost"].append(float(logs["cost"]))
        self.curves["val_cost"].append(float(logs["val_cost"]))
        if "val_accuracy" in logs:
            self.curves["val_accuracy"].append(float(logs["val_accuracy"]))


def _fit_options(fit: Mapping[str, Any]) -> dict[str, Any]:
    opts = dict(fit)
    es = opts.get("early_stopping")
    if isinstance(es, Mapping):
        from ..training import EarlyStopping

        opts["early_stopping"] = EarlyStopping(**es)
    if isinstance(opts.get("lr_schedule"), list):
        opts["lr_schedule"] = tuple(opts["lr_schedule"])
    return opts


def _run_trial(task: Mapping[str, Any], X: np.ndarray, Y: np.ndarray, X_val: np.ndarray,
               Y_val: np.ndarray) -> dict[str, Any]:
    """Train one setting and score it; returns the record plus ``_weights``: the trained network's
    spec and parameters, from which :func:`_network_from` rebuilds it."""
    t0 = time.perf_counter()
    rec = _Recorder()
    status, error, weights, at = "ok", None, None, -1
    try:
        net = Network(**task["net"], seed=task["seed"])
        opts = _fit_options(task["fit"])
        h = net.fit(X, Y, validation_data=(X_val, Y_val), callbacks=[rec], threads=task.get("threads"), **opts)
        weights = {"spec": net.to_spec(), "arrays": {k: v.copy() for k, v in net.parameters.items()}}
        at = _returned_epoch(opts.get("early_stopping"), h)
    except DivergenceError as exc:
        status, error = "diverged", str(exc)
    except DeeplayersError as exc:  # a setting the engine refuses (e.g. dropout for the wrong depth)
        status, error = "error", f"{type(exc).__name__}: {exc}"
    except MemoryError:  # one setting too large for this machine: the others still run
        status, error = "error", f"MemoryError: the network {task['net']['layer_dims']} does not fit in memory"
    elapsed = time.perf_counter() - t0
    c = rec.curves
    ok = status == "ok" and c["val_cost"] and math.isfinite(c["val_cost"][at])
    if status == "ok" and not ok:
        status, error = "error", "training recorded no finite validation cost"
    record = {
        "v": _RECORD_VERSION,
        "id": task["id"],
        "trial": task["trial"],
        "params": task["params"],
        "layer_dims": task["net"]["layer_dims"],
        "config": {"net": task["net"], "fit": task["fit"]},
        "epochs": len(c["cost"]),
        "epochs_planned": task["fit"]["epochs"],
        "seed": task["seed"],
        "status": status,
        "error": error,
        # the scores of the network returned (early stopping's best epoch), not of the last epoch
        "best_epoch": (at if at >= 0 else len(c["cost"]) - 1) if ok else None,
        "cost": c["cost"][at] if ok else None,
        "val_cost": c["val_cost"][at] if ok else None,
        "val_accuracy": c["val_accuracy"][at] if ok and c["val_accuracy"] else None,
        "time": elapsed,
        "threads": rec.threads,
        "curves": c,
        "_weights": weights,
    }
    return record


def _returned_epoch(stopping: Any, h: History) -> int:
    """The (0-based) epoch whose parameters fit returned: early stopping's best when it restored
    them, else the last (-1)."""
    if stopping and getattr(stopping, "restore_best", True) and h.best_epoch is not None:
        return int(h.best_epoch)
    return -1


def _network_from(rec: Mapping[str, Any], weights: Mapping[str, Any]) -> Network:
    """The trained network of a record (from its spec and parameters), with its curves as ``history``."""
    net = Network.from_spec(weights["spec"], weights["arrays"], copy=False)
    c = rec["curves"]
    net.history = History(unit="epoch", cost=list(c["cost"]), val_cost=list(c["val_cost"]),
                          metrics={"val_accuracy": list(c["val_accuracy"])} if c["val_accuracy"] else {})
    return net
