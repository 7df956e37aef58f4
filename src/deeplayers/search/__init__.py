"""Hyperparameter search that compares cost curves, as the course chooses hyperparameters.

Every trial trains a fresh :class:`~deeplayers.network.Network` through ``Network.fit`` (the one
training loop) on the same training part, scores it on the same held-out validation part after
every epoch, and is ranked by a validation metric. Trials run one after another, in parallel
processes on one machine (joblib, ``n_jobs``), or on a Dask distributed cluster (``scheduler``);
the results do not depend on which.

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

import csv
import hashlib
import io
import itertools
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..defaults import DEFAULTS
from ..errors import ConfigError, DataError, DeeplayersError, DivergenceError, ShapeError
from ..modelfile import save
from ..network import Network
from ..preprocessing import Preprocessing
from ..threads import available_cores, blas_threads
from ..training import Callback, History

__all__ = ["search", "SearchResult", "load_space", "sample_settings", "SPACE_KEYS",
           "METRICS", "load_data"]

# options a space may name: architecture (Network(...)) and training (Network.fit(...))
_NET_KEYS = ("layer_dims", "hidden", "depth", "width", "activation", "output", "init", "dtype", "loss")
_FIT_KEYS = ("learning_rate", "epochs", "optimizer", "batch_size", "l2", "dropout", "lr_schedule", "shuffle",
             "early_stopping")
SPACE_KEYS = _NET_KEYS + _FIT_KEYS
#: metric name -> "min" (lower is better) or "max"
METRICS = {"val_cost": "min", "val_accuracy": "max", "cost": "min"}
STRATEGIES = ("grid", "random", "halving")
_DEFAULT_HIDDEN = list(DEFAULTS["hidden_layer_sizes"])
_RECORD_VERSION = 1


# -- the space ------------------------------------------------------------------------------------
@dataclass
class _Dim:
    """One searched option: a fixed value, a list of choices, or a (log-)uniform range."""

    name: str
    kind: str  # fixed | choice | uniform | loguniform | randint
    values: list[Any]
    num: int | None = None

    def sample(self, rng: np.random.Generator) -> Any:
        if self.kind == "fixed":
            return self.values[0]
        if self.kind == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        lo, hi = self.values
        if self.kind == "uniform":
            return float(rng.uniform(lo, hi))
        if self.kind == "loguniform":
            return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        return int(rng.integers(lo, hi + 1))  # randint: both ends included

    def grid(self) -> list[Any]:
        if self.kind in ("fixed", "choice"):
            return list(self.values)
        lo, hi = self.values
        if self.num is None:
            if self.kind == "randint" and hi - lo < 1000:
                return list(range(int(lo), int(hi) + 1))
            raise ConfigError(
                f"space[{self.name!r}]: a {self.kind} range has no grid; add \"num\": N (N points, "
                f"geometric for loguniform) or use strategy='random'"
            )
        if self.kind == "loguniform":
            return [float(v) for v in np.geomspace(lo, hi, self.num)]
        if self.kind == "uniform":
            return [float(v) for v in np.linspace(lo, hi, self.num)]
        return sorted({int(round(v)) for v in np.linspace(lo, hi, self.num)})


def _plain(value: Any) -> Any:
    """NumPy scalars/arrays and tuples to plain JSON-able Python values."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (np.ndarray, tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _parse_dim(name: str, spec: Any) -> _Dim:
    where = f"space[{name!r}]"
    if isinstance(spec, Mapping):
        kinds = [k for k in ("loguniform", "uniform", "randint", "int", "choice", "value") if k in spec]
        extra = set(spec) - {"loguniform", "uniform", "randint", "int", "choice", "value", "num"}
        if len(kinds) != 1 or extra:
            raise ConfigError(
                f"{where} = {spec!r}: give exactly one of loguniform: [lo, hi], uniform: [lo, hi], "
                "randint: [lo, hi], choice: [...], value: x (and optionally num: N for a grid)"
            )
        kind = "randint" if kinds[0] == "int" else kinds[0]
        arg = spec[kinds[0]]
        if kind == "value":
            return _Dim(name, "fixed", [_plain(arg)])
        if kind == "choice":
            if not isinstance(arg, (list, tuple)) or not arg:
                raise ConfigError(f"{where}: choice needs a non-empty list, got {arg!r}")
            return _Dim(name, "choice", [_plain(v) for v in arg])
        if not isinstance(arg, (list, tuple)) or len(arg) != 2:
            raise ConfigError(f"{where}: {kind} needs [low, high], got {arg!r}")
        try:
            lo, hi = (int(v) for v in arg) if kind == "randint" else (float(v) for v in arg)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: {kind} bounds must be numbers, got {arg!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or lo > hi:
            raise ConfigError(f"{where}: {kind} needs finite low <= high, got [{lo}, {hi}]")
        if kind == "loguniform" and lo <= 0:
            raise ConfigError(f"{where}: loguniform needs 0 < low <= high, got [{lo}, {hi}]")
        num = spec.get("num")
        if num is not None and (not isinstance(num, int) or isinstance(num, bool) or num < 1):
            raise ConfigError(f"{where}: num must be a positive integer, got {num!r}")
        return _Dim(name, kind, [lo, hi], num)
    if isinstance(spec, (list, tuple)):
        if not spec:
            raise ConfigError(f"{where}: an empty list has nothing to choose from")
        # a flat list of ints for an architecture is ONE architecture; a list of lists, choices
        if name in ("layer_dims", "hidden") and all(isinstance(v, (int, np.integer)) for v in spec):
            return _Dim(name, "fixed", [_plain(list(spec))])
        return _Dim(name, "choice", [_plain(v) for v in spec])
    return _Dim(name, "fixed", [_plain(spec)])


def load_space(space: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """The search space as a dict, from a dict, a ``.yaml``/``.yml``/``.json`` file, or JSON text.

    Keys (any ``Network(...)`` / ``Network.fit`` option): ``learning_rate``, ``hidden`` (hidden
    layer sizes, e.g. ``[[20, 7, 5], [64, 32]]``), or ``depth`` and ``width`` (``depth`` hidden
    layers of ``width`` units), or ``layer_dims`` (whole ``[n0, ..., nL]``), ``activation`` (g of
    the hidden layers), ``output``, ``init``, ``dtype``, ``loss``, ``optimizer``, ``batch_size``,
    ``l2``, ``dropout`` (keep probabilities), ``lr_schedule``, ``epochs``, ``shuffle``,
    ``early_stopping``. Values: a scalar (fixed), a list (choices), ``{"loguniform": [lo, hi]}``,
    ``{"uniform": [lo, hi]}``, ``{"randint": [lo, hi]}`` (add ``"num": N`` to grid a range),
    ``{"choice": [...]}`` or ``{"value": x}``. A flat list of integers under ``hidden`` or
    ``layer_dims`` is one architecture; a list of lists is a choice between architectures.
    """
    if isinstance(space, Mapping):
        d = dict(space)
    elif isinstance(space, (str, os.PathLike)):
        text = os.fspath(space)
        path = Path(text)
        if text.lstrip().startswith("{"):
            d = _parse_text(text, "JSON", "the --space text")
        elif not path.is_file():
            raise FileNotFoundError(f"space file {path} does not exist (give a .yaml/.yml/.json file or a dict)")
        else:
            content = path.read_text(encoding="utf-8")
            fmt = "YAML" if path.suffix.lower() in (".yaml", ".yml") else "JSON"
            d = _parse_text(content, fmt, str(path))
    else:
        raise ConfigError(f"space must be a dict or a path to a YAML/JSON file, got {type(space).__name__}")
    if not isinstance(d, dict) or not d:
        raise ConfigError(f"the space must be a non-empty mapping of option -> values, got {d!r:.200}")
    unknown = [k for k in d if k not in SPACE_KEYS and k != "num_iterations"]
    if unknown:
        raise ConfigError(f"unknown option(s) {unknown} in the space; searchable options are: {', '.join(SPACE_KEYS)}")
    if "num_iterations" in d:  # the course's name for epochs
        if "epochs" in d:
            raise ConfigError("the space names both epochs and num_iterations (the same thing); keep one")
        d["epochs"] = d.pop("num_iterations")
    if "hidden" in d and ("depth" in d or "width" in d):
        raise ConfigError("the space gives hidden layer sizes twice: use hidden, or depth and width, not both")
    if "layer_dims" in d and ("hidden" in d or "depth" in d or "width" in d):
        raise ConfigError("the space gives layer_dims and hidden/depth/width; use one way to name the architecture")
    return d


def _parse_text(text: str, fmt: str, where: str) -> Any:
    if fmt == "YAML":
        try:
            import yaml
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("reading a YAML space needs PyYAML: pip install 'deeplayers[search]'") from None
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{where} is not valid YAML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where} is not valid JSON: {exc}") from None


def sample_settings(space: Mapping[str, Any] | str | os.PathLike, strategy: str = "random",
                    n_trials: int | None = None, seed: int = 0) -> list[tuple[int, dict[str, Any]]]:
    """The settings a search tries: a list of ``(trial index i, {option: value})``.

    ``random`` / ``halving`` draw setting i from ``SeedSequence(seed, spawn_key=(i, 0))``, so the
    first k settings are the same for any ``n_trials >= k``. ``grid`` is the Cartesian product in
    the order the space lists the options; with ``n_trials`` smaller than the grid, a seeded
    sample of grid points (kept in grid order, numbered by their grid index).
    """
    dims = [_parse_dim(k, v) for k, v in load_space(space).items()]
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if n_trials is not None and (int(n_trials) != n_trials or n_trials < 1):
        raise ConfigError(f"n_trials must be a positive integer, got {n_trials!r}")
    if strategy == "grid":
        grids = [d.grid() for d in dims]
        size = math.prod(len(g) for g in grids)
        chosen: Iterable[int] = range(size)
        if n_trials is not None and n_trials < size:
            rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
            chosen = sorted(int(i) for i in rng.choice(size, size=int(n_trials), replace=False))
        chosen = set(chosen)
        out = []
        for i, combo in enumerate(itertools.product(*grids)):
            if i in chosen:
                out.append((i, {d.name: v for d, v in zip(dims, combo)}))
        return out
    if n_trials is None:
        if all(d.kind in ("fixed", "choice") for d in dims):
            return sample_settings(space, "grid", None, seed)  # a finite space: try all of it
        raise ConfigError(f"strategy={strategy!r} needs n_trials (how many settings to draw)")
    out = []
    for i in range(int(n_trials)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(i, 0)))
        out.append((i, {d.name: d.sample(rng) for d in dims}))
    return out


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
    status, error, weights = "ok", None, None
    try:
        net = Network(**task["net"], seed=task["seed"])
        net.fit(X, Y, validation_data=(X_val, Y_val), callbacks=[rec], threads=task.get("threads"),
                **_fit_options(task["fit"]))
        weights = {"spec": net.to_spec(), "arrays": {k: v.copy() for k, v in net.parameters.items()}}
    except DivergenceError as exc:
        status, error = "diverged", str(exc)
    except DeeplayersError as exc:  # a setting the engine refuses (e.g. dropout for the wrong depth)
        status, error = "error", f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - t0
    c = rec.curves
    ok = status == "ok" and c["val_cost"] and math.isfinite(c["val_cost"][-1])
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
        "cost": c["cost"][-1] if ok else None,
        "val_cost": c["val_cost"][-1] if ok else None,
        "val_accuracy": c["val_accuracy"][-1] if ok and c["val_accuracy"] else None,
        "time": elapsed,
        "threads": rec.threads,
        "curves": c,
        "_weights": weights,
    }
    return record


# -- storage ---------------------------------------------------------------------------------------
class _Storage:
    """Finished trials, one JSON line each, appended (flush + fsync) as each finishes."""

    def __init__(self, path: str | os.PathLike | None) -> None:
        self.path = None if path is None else Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.dropped = 0
        if self.path is not None:
            self._load()

    def _load(self) -> None:
        assert self.path is not None
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return
        data = self.path.read_bytes()
        cut = data.rfind(b"\n") + 1
        if cut < len(data):
            # a line cut short by a kill mid-write: drop it from the file so appends start clean
            with open(self.path, "r+b") as f:
                f.truncate(cut)
                f.flush()
                os.fsync(f.fileno())
            self.dropped += 1
        for n, line in enumerate(data[:cut].splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                if not isinstance(rec, dict) or "id" not in rec:
                    raise ValueError("not a trial record")
            except (ValueError, UnicodeDecodeError):
                print(f"deeplayers.search: {self.path}:{n}: skipping a damaged line", file=sys.stderr)
                self.dropped += 1
                continue
            self.records[rec["id"]] = rec

    def append(self, record: Mapping[str, Any]) -> None:
        clean = {k: v for k, v in record.items() if not k.startswith("_")}
        self.records[clean["id"]] = clean
        if self.path is None:
            return
        line = json.dumps(clean, default=_plain, allow_nan=False) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())


# -- executors -------------------------------------------------------------------------------------
class _Executor:
    """Runs tasks serially, in joblib (loky) processes, or on a Dask cluster; yields results as
    they finish. The data reaches Dask workers once (scattered, broadcast), not once per trial."""

    def __init__(self, data: tuple[np.ndarray, ...], n_jobs: int, scheduler: Any) -> None:
        self.data, self.n_jobs, self.scheduler = data, n_jobs, scheduler
        self.client = self._cluster = None
        self._own_client = False
        self._data_futures: list[Any] | None = None
        if scheduler is not None:
            self._connect(scheduler)

    @property
    def description(self) -> str:
        if self.client is not None:
            n = len(self.client.scheduler_info().get("workers", {}))
            return f"Dask cluster at {self.client.scheduler.address} ({n} workers)"
        return "serial" if self.n_jobs == 1 else f"joblib, {self.n_jobs} processes"

    def _connect(self, scheduler: Any) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("scheduler= needs dask.distributed: pip install 'deeplayers[search]'") from None
        if isinstance(scheduler, Client):
            self.client = scheduler
        elif scheduler == "local":
            workers = self.n_jobs if self.n_jobs > 0 else None
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster, set_as_default=False)
            self._own_client = True
        elif isinstance(scheduler, str):
            self.client = Client(scheduler, set_as_default=False, timeout="30s")
            self._own_client = True
        else:
            raise ConfigError(f"scheduler must be None, 'local', an address like 'tcp://host:8786' or a "
                              f"dask.distributed.Client, got {scheduler!r}")

    def threads_per_trial(self) -> int | None:
        """BLAS threads for each trial, so that workers x threads <= cores: with n_jobs joblib
        processes (or a local Dask cluster of n workers) cores // n each; serially, or on a remote
        Dask cluster whose machines we cannot see, fit's automatic choice (None), which looks at
        the free cores of the machine the trial runs on."""
        if self.client is not None:
            if self._cluster is None:
                return None
            workers = len(self.client.scheduler_info().get("workers", {})) or 1
        elif self.n_jobs == 1:
            return None
        else:
            workers = self.n_jobs
        return max(1, available_cores() // workers)

    def run(self, tasks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return
        threads = self.threads_per_trial()
        tasks = [{**t, "threads": threads} for t in tasks]
        if self.client is not None:
            from distributed import as_completed

            if self._data_futures is None:
                self._data_futures = self.client.scatter(list(self.data), broadcast=True)
            futures = [self.client.submit(_run_trial, t, *self._data_futures, pure=False,
                                          key=f"deeplayers-trial-{t['id']}-{os.getpid()}-{time.time_ns()}")
                       for t in tasks]
            try:
                for fut in as_completed(futures, loop=self.client.loop):  # not the default client's
                    yield fut.result()
            finally:
                for fut in futures:
                    fut.release()
        elif self.n_jobs == 1 or len(tasks) == 1:
            for t in tasks:
                yield _run_trial(t, *self.data)
        else:
            try:
                from joblib import Parallel, delayed
            except ImportError:  # pragma: no cover - depends on the environment
                raise ImportError("n_jobs > 1 needs joblib: pip install 'deeplayers[search]'") from None
            # arrays over 1 MB reach the workers memory-mapped (joblib's max_nbytes), not copied
            yield from Parallel(n_jobs=self.n_jobs, backend="loky", return_as="generator_unordered")(
                delayed(_run_trial)(t, *self.data) for t in tasks)

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


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
        ``val_cost``, ``val_accuracy``) and, for halving, ``rung``.
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
        try:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure
        except ImportError:  # pragma: no cover - depends on the environment
            raise ImportError("plotting the curves needs matplotlib: pip install 'deeplayers[search]'") from None
        fig = Figure(figsize=(8, 5), dpi=100)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        curves = [(t, t["curves"]["val_cost"]) for t in self.trials if t["curves"]["val_cost"]]
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
        from matplotlib.ticker import FixedLocator, MaxNLocator

        from ..plots import _fit_text, _layout_with_title

        # epochs as the console counts them: 1, 2, ... whole numbers, and no tick before epoch 1
        n = max((len(c) for _, c in curves), default=1)
        pad = 0.5 if n == 1 else min(0.5, 0.05 * (n - 1))
        ax.set_xlim(1 - pad, n + (0.5 if n == 1 else 0.05 * (n - 1)))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]) if n > 1 else FixedLocator([1]))
        if log:
            _plain_log_axis(ax, min(finite), max(finite))
        elif finite:
            lo, hi = min(finite), float(np.percentile(finite, 98))
            ax.set_ylim(lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo) if hi > lo else lo + 1)
        ax.set_xlabel("epoch (one pass over the training part)")
        ax.set_ylabel("validation cost J" + (" (log scale)" if log else ""))
        ax.grid(True, alpha=0.3)
        legend = ax.legend(loc="upper right", fontsize=8)
        for t in legend.get_texts():  # many hyperparameters: the best's label wraps inside the axes
            _fit_text(t, 0.6 * ax.get_window_extent(fig.canvas.get_renderer()).width)
        _layout_with_title(fig, ax, f"Validation cost of {len(curves)} settings ({self.strategy} search, "
                                    f"ranked by {self.metric})")
        if path is not None:
            from .._atomic import atomic_write_bytes

            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            atomic_write_bytes(path, buf.getvalue())
        return fig


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


def _rank_key(metric: str) -> Callable[[Mapping[str, Any]], tuple]:
    sign = 1.0 if METRICS[metric] == "min" else -1.0

    def key(r: Mapping[str, Any]) -> tuple:
        v = r.get(metric)
        bad = r["status"] != "ok" or v is None or not math.isfinite(v)
        return (-r.get("rung", 0), bad, sign * v if not bad else 0.0, r["trial"])

    return key


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
    n_jobs: int = 1,
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
        Epochs per trial (default 200, as ``DEFAULTS``) unless the space names ``epochs``; for halving, the
        epochs of the first rung (default 3).
    eta : int
        Halving factor (>= 2).
    n_jobs : int
        Trials run at once in worker processes (joblib, loky); -1 for every core. With
        ``scheduler="local"``, the number of Dask workers.
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
        ``best_model.npz`` (the best network, a :func:`deeplayers.save` model file).
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
    if strategy not in STRATEGIES:
        raise ConfigError(f"unknown strategy {strategy!r}; choose one of: {', '.join(STRATEGIES)}")
    if metric not in METRICS:
        raise ConfigError(f"unknown metric {metric!r}; choose one of: {', '.join(METRICS)}")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed!r}")
    if int(n_jobs) != n_jobs or n_jobs == 0 or n_jobs < -1:
        raise ConfigError(f"n_jobs must be a positive integer or -1 (every core), got {n_jobs!r}")
    if int(eta) != eta or eta < 2:
        raise ConfigError(f"eta must be an integer >= 2, got {eta!r}")
    space_d = load_space(space)
    if strategy == "halving" and "epochs" in space_d:
        raise ConfigError("strategy='halving' sets each rung's epochs itself; remove 'epochs' from the space "
                          "and give epochs= (the first rung's epochs)")
    if epochs is None:
        epochs = 3 if strategy == "halving" else DEFAULTS["epochs"]
    if int(epochs) != epochs or epochs < 1:
        raise ConfigError(f"epochs must be a positive integer, got {epochs!r}")
    n_jobs = (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)

    # -- data: one seeded split, the same for every trial ----------------------------------------
    X, Y = _as_data(X, Y)
    if validation_data is not None:
        X_val, Y_val = _as_data(*validation_data)
        if X_val.shape[0] != X.shape[0] or Y_val.shape[0] != Y.shape[0]:
            raise ShapeError(f"validation_data has {X_val.shape[0]} features and {Y_val.shape[0]} outputs; X and Y "
                             f"have {X.shape[0]} and {Y.shape[0]}")
    else:
        if not 0 < validation_split < 1:
            raise ConfigError(f"validation_split must be between 0 and 1 (or give validation_data), "
                              f"got {validation_split!r}")
        m = X.shape[1]
        m_val = int(math.ceil(m * validation_split))
        if m - m_val < 1:
            raise DataError(f"validation_split={validation_split} of m = {m} leaves no training samples")
        order = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31 + 1,))).permutation(m)
        val, train = np.sort(order[:m_val]), np.sort(order[m_val:])
        X, Y, X_val, Y_val = X[:, train], Y[:, train], X[:, val], Y[:, val]
    prep = None
    if preprocessing is not None:
        prep = Preprocessing(preprocessing) if isinstance(preprocessing, str) else preprocessing
        prep.fit(X)
        X, X_val = prep.transform(X), prep.transform(X_val)
    X, Y, X_val, Y_val = (np.ascontiguousarray(a, dtype=np.float64) for a in (X, Y, X_val, Y_val))
    data_hash = _hash_arrays(X, Y, X_val, Y_val)
    default_output = _default_output(np.concatenate([Y, Y_val], axis=1))

    # -- the settings and their trials ------------------------------------------------------------
    settings = sample_settings(space_d, strategy, n_trials, seed)
    n0, nL = X.shape[0], Y.shape[0]

    def make_task(i: int, setting: dict[str, Any], n_epochs: int) -> dict[str, Any]:
        net, fit = _task_config(setting, n0, nL, default_output, n_epochs, strategy == "halving")
        if metric == "val_accuracy" and net["output"] not in ("sigmoid", "softmax"):
            raise ConfigError(f"metric='val_accuracy' needs a classifier (sigmoid or softmax output); "
                              f"setting {i} has output={net['output']!r}: use metric='val_cost'")
        s = _trial_seed(int(seed), i)
        return {"id": _task_id(data_hash, net, fit, s), "trial": i, "params": setting, "seed": s,
                "net": net, "fit": fit}

    param_names = list(space_d)
    store = _Storage(storage)
    ex = _Executor((X, Y, X_val, Y_val), n_jobs, scheduler)
    key = _rank_key(metric)
    best: dict[str, Any] = {}
    done: list[dict[str, Any]] = []
    counts = {"run": 0, "reused": 0}

    def run_rung(tasks: list[dict[str, Any]], rung: int) -> list[dict[str, Any]]:
        out, todo = [], []
        for t in tasks:
            rec = store.records.get(t["id"])
            if rec is not None and rec.get("v") == _RECORD_VERSION:
                out.append({**rec, "trial": t["trial"], "params": t["params"], "rung": rung})
                counts["reused"] += 1
            else:
                todo.append(t)
        by_id = {t["id"]: t for t in todo}
        for rec in ex.run(todo):
            weights = rec.pop("_weights", None)
            rec["trial"], rec["params"], rec["rung"] = by_id[rec["id"]]["trial"], by_id[rec["id"]]["params"], rung
            store.append({k: v for k, v in rec.items() if k != "rung"})
            counts["run"] += 1
            if weights is not None and (not best or key(rec) < key(best["rec"])):
                best.update(rec=rec, weights=weights)
            out.append(rec)
            if verbose:
                m_ = rec.get(metric)
                shown = f"{m_:.5g}" if isinstance(m_, float) else rec["status"]
                print(f"[{counts['run']}/{len(todo)}] trial {rec['trial']} ({rec['epochs']} epochs): {metric} {shown} "
                      f"({rec['time']:.2f}s)  " + ", ".join(f"{k}={_fmt(v)}" for k, v in rec["params"].items()),
                      file=sys.stderr, flush=True)
        out.sort(key=key)
        return out

    try:
        if strategy == "halving":
            alive, rung, n_epochs = settings, 0, int(epochs)
            latest: dict[int, dict[str, Any]] = {}
            while True:
                recs = run_rung([make_task(i, s, n_epochs) for i, s in alive], rung)
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
            final = sorted(latest.values(), key=key)
        else:
            tasks = [make_task(i, s, int(epochs)) for i, s in settings]
            done = final = run_rung(tasks, 0)
        executor_name = ex.description
    finally:
        ex.close()

    trials = [dict(r, rank=n) for n, r in enumerate(final, start=1)]
    result = SearchResult(metric=metric, strategy=strategy, trials=trials, records=done,
                          param_names=param_names, n_run=counts["run"], n_reused=counts["reused"],
                          total_epochs=sum(r["epochs"] for r in done), executor=executor_name)
    if store.path is not None:
        result.paths["storage"] = store.path
    top = trials[0]
    if top["status"] == "ok":
        if best and best["rec"]["id"] == top["id"]:
            weights = best["weights"]
        else:  # finished in an earlier run: retrain it here (deterministic: same seed, same data)
            weights = _run_trial(make_task(top["trial"], top["params"], top["epochs_planned"]),
                                 X, Y, X_val, Y_val)["_weights"]
        result.best_network = _network_from(top, weights)
    if out_dir is not None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        result.paths["table"] = result.to_csv(out / "results.csv")
        result.paths["curves"] = out / "curves.png"
        result.plot(result.paths["curves"])
        if result.best_network is not None:
            result.paths["model"] = _save_best(result, out / "best_model.npz", prep, classes)
    return result


def _network_from(rec: Mapping[str, Any], weights: Mapping[str, Any]) -> Network:
    """The trained network of a record (from its spec and parameters), with its curves as ``history``."""
    net = Network.from_spec(weights["spec"], weights["arrays"], copy=False)
    c = rec["curves"]
    net.history = History(unit="epoch", cost=list(c["cost"]), val_cost=list(c["val_cost"]),
                          metrics={"val_accuracy": list(c["val_accuracy"])} if c["val_accuracy"] else {})
    return net


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
def load_data(data: str, labels: Any = None) -> tuple[np.ndarray, np.ndarray, list[Any] | None, Any]:
    """What ``deeplayers search DATA`` trains on, through :func:`deeplayers.datasets.load_dataset`
    (``labels`` as it takes them).

    Returns X (n[0], m) raw features as columns, Y (n[L], m) (0/1 row for two classes, one-hot
    columns for more, the raw target row for regression), the class labels, and the suggested
    unfitted preprocessing (divide by 255 for 8-bit images, otherwise standardize).
    """
    from ..datasets import load_dataset

    ds = load_dataset(data, labels=labels)
    t = ds.targets()
    return np.asarray(ds.X, dtype=np.float64), t.Y, t.classes, ds.suggest_preprocessing()
