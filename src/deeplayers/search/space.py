"""The search space: the options a space may name, how each is searched (fixed, choices, ranges), and the
settings drawn from it (grid, random), seeded by the search seed alone."""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..defaults import DEFAULTS
from ..errors import ConfigError

# options a space may name: architecture (Network(...)) and training (Network.fit(...))
_NET_KEYS = ("layer_dims", "hidden", "depth", "width", "activation", "output", "init", "dtype", "loss")
_FIT_KEYS = ("learning_rate", "epochs", "optimizer", "batch_size", "l2", "keep_prob", "lr_schedule", "shuffle",
             "early_stopping")
SPACE_KEYS = _NET_KEYS + _FIT_KEYS
STRATEGIES = ("grid", "random", "halving")
_DEFAULT_HIDDEN = list(DEFAULTS["hidden_layer_sizes"])


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
        if name in ("layer_dims", "hidden") and all(isinstance(v, (int, np.integer)) for v in spec):
            return _flat_architecture(name, list(spec))
        return _Dim(name, "choice", [_plain(v) for v in spec])
    return _Dim(name, "fixed", [_plain(spec)])


def _flat_architecture(name: str, sizes: list[Any]) -> _Dim:
    """A flat list of integers under ``hidden``: [8, 16] reads as two architectures (a choice, as a list is
    for every other option) or as one of two layers; refused unless both readings agree ([32]).
    Under ``layer_dims`` it is one architecture: a single integer is no layer_dims to choose."""
    if name == "hidden" and len(sizes) > 1:
        sizes = _plain(sizes)
        raise ConfigError(f"space['hidden'] = {sizes} is ambiguous: write {[[n] for n in sizes]} to choose between "
                          f"one hidden layer of {' or '.join(str(n) for n in sizes)} units, or {[sizes]} for one "
                          f"architecture of {len(sizes)} hidden layers ({', '.join(str(n) for n in sizes)})")
    return _Dim(name, "fixed", [_plain(sizes)])


def load_space(space: Mapping[str, Any] | str | os.PathLike) -> dict[str, Any]:
    """The search space as a dict, from a dict, a ``.yaml``/``.yml``/``.json`` file, or JSON text.

    Keys (any ``Network(...)`` / ``Network.fit`` option): ``learning_rate``, ``hidden`` (hidden
    layer sizes, e.g. ``[[20, 7, 5], [64, 32]]``), or ``depth`` and ``width`` (``depth`` hidden
    layers of ``width`` units), or ``layer_dims`` (whole ``[n0, ..., nL]``), ``activation`` (g of
    the hidden layers), ``output``, ``init``, ``dtype``, ``loss``, ``optimizer``, ``batch_size``,
    ``l2``, ``keep_prob`` (dropout's keep probabilities), ``lr_schedule``, ``epochs``, ``shuffle``,
    ``early_stopping``. Values: a scalar (fixed), a list (choices), ``{"loguniform": [lo, hi]}``,
    ``{"uniform": [lo, hi]}``, ``{"randint": [lo, hi]}`` (add ``"num": N`` to grid a range),
    ``{"choice": [...]}`` or ``{"value": x}``. Under ``hidden`` a list of lists is a choice between
    architectures (``[[8], [16]]``: one layer of 8 or of 16; ``[[8, 16]]``: one architecture of two
    layers); a flat list of several integers (``[8, 16]``) is refused as ambiguous. A flat list under
    ``layer_dims`` is one architecture.
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
    if "dropout" in d:
        raise ConfigError("the space names 'dropout'; it takes keep_prob, the probability of KEEPING a hidden unit "
                          "(the course's word): use keep_prob = 1 - dropout")
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
    for name, spec in d.items():  # values the engine would refuse in every trial, refused here, before any data
        _check_values(_parse_dim(name, spec))
    return d


def _count(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 1


def _number(v: Any, low: float, low_open: bool, high: float = math.inf) -> bool:
    if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool) or not math.isfinite(v):
        return False
    return (v > low if low_open else v >= low) and v <= high


def _keep(v: Any) -> bool:
    return v is None or _number(v, 0, True, 1) or (isinstance(v, list) and bool(v) and all(_number(k, 0, True, 1)
                                                                                           for k in v))


#: option -> (test of one value, what the value must be)
_VALUE_RULES: dict[str, tuple[Any, str]] = {
    "learning_rate": (lambda v: v is None or _number(v, 0, True), "a finite positive number"),
    "l2": (lambda v: _number(v, 0, False), "a finite non-negative number"),
    "keep_prob": (_keep, "a keep probability in (0, 1], or a list of one per hidden layer"),
    "batch_size": (lambda v: v is None or _count(v), "a positive integer, or null for full batch"),
    "epochs": (_count, "a positive integer"),
    "depth": (lambda v: isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0,
              "a non-negative integer"),
    "width": (_count, "a positive integer"),
}


def _names(option: str) -> list[str]:
    """The names the engine knows for an option given by name (optimizer, activation, ...)."""
    from ..activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
    from ..initializers import INITIALIZERS
    from ..network import DTYPES
    from ..optimizers import OPTIMIZERS
    from ..training import SCHEDULES

    return list({"optimizer": OPTIMIZERS, "activation": HIDDEN_ACTIVATIONS, "output": OUTPUT_ACTIVATIONS,
                 "init": INITIALIZERS, "dtype": DTYPES, "lr_schedule": SCHEDULES}.get(option, ()))


def _check_values(dim: _Dim) -> None:
    """Each value of a searched option (each choice, or a range's two ends) that the engine would
    refuse is a ConfigError naming the option, so a search does not run N trials that all fail."""
    where = f"space[{dim.name!r}]"
    rule = _VALUE_RULES.get(dim.name)
    known = _names(dim.name)
    for v in dim.values:
        if rule is not None and not rule[0](v):
            raise ConfigError(f"{where}: {v!r} is not {rule[1]}")
        if known and isinstance(v, str) and v not in known:
            raise ConfigError(f"{where}: unknown {dim.name} {v!r}; choose one of: {', '.join(known)}")


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
