"""Hyperparameter search that compares cost curves, as the course chooses hyperparameters.

Every trial trains a fresh :class:`~deeplayers.network.Network` through ``Network.fit`` (the one
training loop) on the same training part, scores it on the same held-out validation part after
every epoch, and is ranked by a validation metric. Trials run one after another, in parallel
processes on one machine (joblib, ``n_jobs``), or on a Dask distributed cluster (``scheduler``);
the results do not depend on which (up to the rounding of the BLAS threads each trial's products
ran on: the same count gives the same bits).

Reproducibility
---------------
Trial i's setting and its seed (weights, mini-batch order, dropout) are drawn from
``numpy.random.SeedSequence(seed, spawn_key=(i, ...))``: they depend only on the search seed and
i, not on the number of trials, the order trials finish in or the machine that ran them. Each
trial is identified by a hash of (data, architecture, training options, epochs, seed); a trial
whose hash is already in the storage file is not run again.

Storage
-------
Each finished trial is appended to ``storage`` (JSON Lines, one line per trial, flushed and
fsync-ed) the moment it finishes. Starting the same search again with the same storage skips the
stored trials and runs the rest; a last line cut short by a kill is dropped (and cut from the
file) so the trial simply runs again.

Successive halving (``strategy="halving"``)
-------------------------------------------
Rung k = 0, 1, ... trains n_k = floor(n / eta^k) settings for r * eta^k epochs each (r =
``epochs``), keeping the best 1/eta of each rung for the next, until fewer than eta settings are
left. Promoted settings are **retrained from scratch** with eta times the epochs (not
warm-continued): a run of E epochs is then bit for bit the same whatever rung or machine ran it,
its curve extends the shorter run's curve exactly, and a killed search resumes trivially. Budget:
sum over k of n_k * r * eta^k epochs, at most n * r * (K + 1) with K = floor(log_eta n); e.g.
n = 81 settings, eta = 3, r = 1 epoch: 81*1 + 27*3 + 9*9 + 3*27 + 1*81 = 405 epochs, against
81 * 81 = 6561 to train all 81 settings for the 81 epochs the winner gets. (Warm continuation
would save the n * r * K / eta epochs retrained, 108 of the 405 here.)
"""

from __future__ import annotations

import os
import sys
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..defaults import DEFAULTS
from ..errors import ConfigError, DataError, ShapeError
from ..modelfile import save
from ..optimizers import _is_real
from ..preprocessing import Preprocessing
from ..threads import available_cores
from ..training import split_validation
from ..training.prepare import _is_count
from .executors import _Executor
from .results import METRICS, SearchResult, _fmt, _rank_key
from .space import SPACE_KEYS, STRATEGIES, _plain, load_space, sample_settings
from .storage import _Storage
from .trials import _RECORD_VERSION, _default_output, _hash_arrays, _network_from, _run_trial, _task_config, _task_id, _trial_seed

__all__ = ["search", "SearchResult", "load_space", "sample_settings", "SPACE_KEYS", "METRICS", "STRATEGIES",
           "load_data"]

# -- the search ------------------------------------------------------------------------------------
def _as_data(X: Any, Y: Any) -> tuple[np.ndarray, np.ndarray]:
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    if Y.ndim == 1:
        Y = Y.reshape(1, -1)
    if X.ndim != 2 or Y.ndim != 2:
        raise ShapeError(f"X must be (n[0], m) and Y (n[L], m), samples as columns; got X {X.shape}, Y {Y.shape}")
    if X.shape[1] != Y.shape[1]:
        raise ShapeError(f"X has m = {X.shape[1]} columns (samples) but Y has {Y.shape[1]}; samples are "
                         "columns in both (transpose row data with .T)")
    if X.shape[1] < 2:
        raise DataError(f"a search needs at least 2 samples (one to train, one to validate), got m = {X.shape[1]}")
    return X, Y


def search(
    X: Any,
    Y: Any,
    space: Mapping[str, Any] | str | os.PathLike,
    *,
    strategy: str = "grid",
    n_trials: int | None = None,
    validation_split: float = 0.2,
    validation_data: tuple[Any, Any] | None = None,
    metric: str = "val_cost",
    epochs: int | None = None,
    eta: int = 3,
    n_jobs: int | None = 1,
    scheduler: Any = None,
    storage: str | os.PathLike | None = "trials.jsonl",
    seed: int = 0,
    out_dir: str | os.PathLike | None = None,
    preprocessing: Any = None,
    classes: Sequence[Any] | None = None,
    verbose: int = 0,
) -> SearchResult:
    """Train one fresh Network per setting of ``space`` and rank the settings on held-out data.

    Parameters
    ----------
    X : array of shape (n[0], m)
        Samples as columns, as everywhere in deeplayers.
    Y : array of shape (n[L], m)
        0/1 labels (sigmoid output), one-hot columns (softmax) or targets (linear output).
    space : dict or path
        Options to search (see :func:`load_space`), e.g. ``{"learning_rate": {"loguniform":
        [1e-4, 1e-1]}, "hidden": [[20, 7, 5], [64, 32]], "optimizer": ["gd", "adam"]}``. Options
        not named keep the practitioner defaults of :data:`deeplayers.defaults.DEFAULTS` (one
        hidden layer of 100 relu units, Xavier, float32, Adam at 0.001 with a cosine schedule,
        batches of 128, L2 1e-4), and the output that fits Y (softmax for one-hot, sigmoid for
        0/1, else linear).
    strategy : {"grid", "random", "halving"}
        ``halving`` is successive halving: rung k trains floor(n / eta^k) settings for
        ``epochs * eta^k`` epochs (retrained from scratch), keeping the best 1/eta each time.
    n_trials : int
        Settings to draw (random, halving); for grid, a seeded subsample of the grid if smaller.
    validation_split : float
        Fraction of the m columns held out (one seeded split, the same for every trial).
    validation_data : (X_val, Y_val), optional
        Held-out data to use instead of a split.
    metric : {"val_cost", "val_accuracy", "cost"}
        Final-epoch value to rank by: validation cost (default; without the L2 term; lower is
        better), validation accuracy (higher is better) or training cost.
    epochs : int
        Epochs per trial (default 200, as ``DEFAULTS``); for halving, the epochs of the first rung
        (default 3). A space that names ``epochs`` sets them instead: giving both is a ConfigError.
    eta : int
        Halving factor (>= 2).
    n_jobs : int or None
        Trials run at once in worker processes (joblib, loky); -1 for every core this process may
        run on (its CPU affinity); None is 1, as in scikit-learn. Each trial gets cores // n_jobs
        BLAS threads (at least one). With ``scheduler="local"``, the number of Dask workers.
    scheduler : None, str or dask.distributed.Client
        ``"tcp://host:8786"`` (a running Dask scheduler), ``"local"`` (start a LocalCluster for
        this search) or a Client: trials run on its workers, the data scattered to them once.
    storage : path or None
        JSON Lines file of finished trials (appended as each finishes); trials found in it are
        not run again. None keeps nothing.
    seed : int
        Seeds the settings drawn, the validation split, and each trial's seed.
    out_dir : path, optional
        Writes ``results.csv`` (the ranked table), ``curves.png`` (all validation curves) and
        ``best_model.npz`` (the best network, a :func:`deeplayers.save` model file); nothing when no
        trial succeeded (the failures and their reasons are in ``storage`` and the result).
    preprocessing : str or Preprocessing, optional
        ``"standard"`` / ``"minmax"`` / ...: fitted on the training part only, applied to both
        parts, and stored in the model file so it predicts on raw data.
    classes : sequence, optional
        Class labels stored in the model file.
    verbose : int
        1 prints one line per finished trial (to stderr).

    Returns
    -------
    SearchResult
        ``.trials`` ranked best first, ``.best``, ``.best_params``, ``.best_network``,
        ``.table()``, ``.to_csv(path)``, ``.plot(path)``, ``.paths``.
    """
    space_d, epochs, n_jobs = _checked_options(space, strategy, metric, seed, n_jobs, eta, epochs)
    X, Y, X_val, Y_val, prep = _split(X, Y, validation_data, validation_split, seed, preprocessing)
    settings = sample_settings(space_d, strategy, n_trials, seed)
    run = _Run((X, Y, X_val, Y_val), strategy, metric, int(seed), storage, n_jobs, scheduler, verbose)
    try:
        if strategy == "halving":
            done, final = run.halving(settings, int(epochs), eta)
        else:
            done = final = run.rung([run.task(i, s, int(epochs)) for i, s in settings], 0)
        executor_name = run.ex.description
    finally:
        run.ex.close()
    trials = [dict(r, rank=n) for n, r in enumerate(final, start=1)]
    result = SearchResult(metric=metric, strategy=strategy, trials=trials, records=done,
                          param_names=list(space_d), n_run=run.counts["run"], n_reused=run.counts["reused"],
                          total_epochs=sum(r["epochs"] for r in done), executor=executor_name)
    if run.store.path is not None:
        result.paths["storage"] = run.store.path
    if trials[0]["status"] == "ok":
        result.best_network = _network_from(trials[0], run.best_weights(trials[0]))
    if out_dir is not None:
        _write_results(result, Path(out_dir), prep, classes)
    return result


def _checked_options(space: Any, strategy: str, metric: str, seed: Any, n_jobs: Any, eta: Any,
                     epochs: Any) -> tuple[dict[str, Any], int, int]:
    """The space, the epochs and the process count of a search, each checked."""
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    n_jobs = 1 if n_jobs is None else n_jobs  # (scikit-learn's None: one at a time)
    if not (_is_count(n_jobs) or (_is_real(n_jobs) and n_jobs == -1)):
        raise ConfigError(f"n_jobs must be a positive integer or -1 (every core), got {n_jobs!r}")
    if not _is_count(eta) or eta < 2:
        raise ConfigError(f"eta must be an integer >= 2, got {eta!r}")
    space_d = load_space(space)
    if strategy == "halving" and "epochs" in space_d:
        raise ConfigError("strategy='halving' sets each rung's epochs itself; remove 'epochs' from the space "
                          "and give epochs= (the first rung's epochs)")
    if epochs is not None and "epochs" in space_d:  # which one wins would be a silent choice
        raise ConfigError(f"epochs is given twice: epochs={epochs!r} and the space's 'epochs' "
                          f"({space_d['epochs']!r}), which sets each trial's epochs; give one of them (in the space "
                          "to search it)")
    if epochs is None:
        epochs = 3 if strategy == "halving" else DEFAULTS["epochs"]
    if not _is_count(epochs):
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
    # every core this process may run on (its affinity, as the threads count them), not the machine's
    return space_d, int(epochs), available_cores() if n_jobs == -1 else int(n_jobs)


def _split(X: Any, Y: Any, validation_data: tuple[Any, Any] | None, validation_split: float, seed: int,
           preprocessing: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
    """One seeded split, the same for every trial, and the preprocessing fitted on the training part."""
    X, Y = _as_data(X, Y)
    if validation_data is not None:
        X_val, Y_val = _as_data(*validation_data)
        if X_val.shape[0] != X.shape[0] or Y_val.shape[0] != Y.shape[0]:
            raise ShapeError(f"validation_data has {X_val.shape[0]} features and {Y_val.shape[0]} outputs; X and Y "
                             f"have {X.shape[0]} and {Y.shape[0]}")
    else:
        seq = np.random.SeedSequence(seed, spawn_key=(2**31 + 1,))
        train, val = split_validation(X.shape[1], validation_split, seq)
        X, Y, X_val, Y_val = X[:, train], Y[:, train], X[:, val], Y[:, val]
    prep = None
    if preprocessing is not None:
        prep = Preprocessing(preprocessing) if isinstance(preprocessing, str) else preprocessing
        prep.fit(X)
        X, X_val = prep.transform(X), prep.transform(X_val)
    X, Y, X_val, Y_val = (np.ascontiguousarray(a, dtype=np.float64) for a in (X, Y, X_val, Y_val))
    return X, Y, X_val, Y_val, prep


class _Run:
    """The trials of one search: each setting made a task, run or taken from storage, ranked."""

    def __init__(self, data: tuple[np.ndarray, ...], strategy: str, metric: str, seed: int,
                 storage: Any, n_jobs: int, scheduler: Any, verbose: int) -> None:
        X, Y, X_val, Y_val = self.data = data
        self.data_hash = _hash_arrays(*data)
        self.default_output = _default_output(np.concatenate([Y, Y_val], axis=1))
        self.strategy, self.metric, self.seed, self.verbose = strategy, metric, seed, verbose
        self.store = _Storage(storage)
        self.ex = _Executor(data, n_jobs, scheduler)
        self.key = _rank_key(metric)
        self.best: dict[str, Any] = {}
        self.counts = {"run": 0, "reused": 0}

    def task(self, i: int, setting: dict[str, Any], n_epochs: int) -> dict[str, Any]:
        n0, nL = self.data[0].shape[0], self.data[1].shape[0]
        net, fit = _task_config(setting, n0, nL, self.default_output, n_epochs, self.strategy == "halving")
        if self.metric == "val_accuracy" and net["output"] not in ("sigmoid", "softmax"):
            raise ConfigError(f"metric='val_accuracy' needs a classifier (sigmoid or softmax output); "
                              f"setting {i} has output={net['output']!r}: use metric='val_cost'")
        s = _trial_seed(self.seed, i)
        return {"id": _task_id(self.data_hash, net, fit, s), "trial": i, "params": setting, "seed": s,
                "net": net, "fit": fit}

    def rung(self, tasks: list[dict[str, Any]], rung: int) -> list[dict[str, Any]]:
        """Run (or take from storage) one rung's tasks; their records ranked best first."""
        out, todo = [], []
        for t in tasks:
            rec = self.store.records.get(t["id"])
            # (a record with early stopping from before records scored the returned epoch: run again)
            stale = rec is not None and rec.get("config", {}).get("fit", {}).get("early_stopping") and "best_epoch" not in rec
            if rec is not None and rec.get("v") == _RECORD_VERSION and not stale:
                out.append({**rec, "trial": t["trial"], "params": t["params"], "rung": rung})
                self.counts["reused"] += 1
            else:
                todo.append(t)
        by_id = {t["id"]: t for t in todo}
        for rec in self.ex.run(todo):
            weights = rec.pop("_weights", None)
            rec["trial"], rec["params"], rec["rung"] = by_id[rec["id"]]["trial"], by_id[rec["id"]]["params"], rung
            self.store.append({k: v for k, v in rec.items() if k != "rung"})
            self.counts["run"] += 1
            if weights is not None and (not self.best or self.key(rec) < self.key(self.best["rec"])):
                self.best.update(rec=rec, weights=weights)
            out.append(rec)
            if self.verbose:
                self._report(rec, len(todo))
        out.sort(key=self.key)
        return out

    def _report(self, rec: dict[str, Any], n_todo: int) -> None:
        m_ = rec.get(self.metric)
        # a failed trial says why (the reason is also in the storage file)
        shown = f"{m_:.5g}" if isinstance(m_, float) else f"{rec['status']} ({rec.get('error')})"
        print(f"[{self.counts['run']}/{n_todo}] trial {rec['trial']} ({rec['epochs']} epochs): {self.metric} {shown} "
              f"({rec['time']:.2f}s)  " + ", ".join(f"{k}={_fmt(v)}" for k, v in rec["params"].items()),
              file=sys.stderr, flush=True)

    def halving(self, settings: list[tuple[int, dict[str, Any]]], epochs: int,
                eta: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Successive halving: every record, and each setting's latest record ranked."""
        alive, rung, n_epochs = settings, 0, epochs
        done: list[dict[str, Any]] = []
        latest: dict[int, dict[str, Any]] = {}
        while True:
            recs = self.rung([self.task(i, s, n_epochs) for i, s in alive], rung)
            done.extend(recs)
            for r in recs:
                latest[r["trial"]] = r
            keep = len(alive) // eta
            good = [r for r in recs if r["status"] == "ok"]
            if keep < 1 or not good:
                break
            promoted = {r["trial"] for r in good[:keep]}
            alive = [(i, s) for i, s in alive if i in promoted]
            rung, n_epochs = rung + 1, n_epochs * eta
        return done, sorted(latest.values(), key=self.key)

    def best_weights(self, top: dict[str, Any]) -> Any:
        """The best trial's weights: kept from this run, or retrained (deterministic: same seed, same data,
        and the BLAS threads it ran on, whose count changes the products' rounding)."""
        if self.best and self.best["rec"]["id"] == top["id"]:
            return self.best["weights"]
        task = {**self.task(top["trial"], top["params"], top["epochs_planned"]), "threads": top.get("threads")}
        return _run_trial(task, *self.data)["_weights"]


def _write_results(result: SearchResult, out: Path, prep: Any, classes: Sequence[Any] | None) -> None:
    if result.best_network is None:
        return  # no trial succeeded: nothing to rank, and the results of an earlier search stay as they were
    out.mkdir(parents=True, exist_ok=True)
    result.paths["table"] = result.to_csv(out / "results.csv")
    result.paths["curves"] = out / "curves.png"
    result.plot(result.paths["curves"])
    result.paths["model"] = _save_best(result, out / "best_model.npz", prep, classes)


def _save_best(result: SearchResult, path: Path, prep: Any, classes: Sequence[Any] | None) -> Path:
    """The best network as a :func:`deeplayers.save` model file (preprocessing and classes with it)."""
    top = result.best
    save(result.best_network, path, preprocessing=prep, classes=classes,
         hyperparameters=_plain({**top["config"]["fit"], "layer_dims": top["layer_dims"],
                                 "hidden": top["config"]["net"]["hidden"], "output": top["config"]["net"]["output"],
                                 "init": top["config"]["net"]["init"], "seed": top["seed"]}),
         metadata={"search": _plain({"metric": result.metric, "strategy": result.strategy, "rank": 1,
                                     "trial": top["trial"], "params": top["params"], "val_cost": top["val_cost"],
                                     "val_accuracy": top["val_accuracy"], "cost": top["cost"]})})
    return path


# -- command line ----------------------------------------------------------------------------------
def load_data(data: str, labels: Any = None, header: bool | None = None,
              ) -> tuple[np.ndarray, np.ndarray, list[Any] | None, Any]:
    """What ``deeplayers search DATA`` trains on, through :func:`deeplayers.datasets.load_dataset`
    (``labels`` and a CSV's ``header`` as it takes them; None: decided from the file).

    Returns X (n[0], m) raw features as columns, Y (n[L], m) (0/1 row for two classes, one-hot
    columns for more, the raw target row for regression), the class labels, and the suggested
    unfitted preprocessing (divide by 255 for 8-bit images, otherwise standardize).
    """
    from ..datasets import load_dataset

    ds = load_dataset(data, labels=labels, **({} if header is None else {"header": header}))
    t = ds.targets()
    return np.asarray(ds.X, dtype=np.float64), t.Y, t.classes, ds.suggest_preprocessing()


class _CallableModule(types.ModuleType):
    """``deeplayers.search`` is this module; calling it, ``deeplayers.search(X, Y, space, ...)``, is
    :func:`search`."""

    def __call__(self, *args: Any, **kwargs: Any) -> SearchResult:
        return search(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
