"""One browser tab's playground: its settings, data, network and optimizer, on the real engine.

A :class:`Session` holds a :class:`deeplayers.Network` and trains it with
:meth:`deeplayers.Network.fit` (the one training loop) a few epochs per screen update; the
heatmaps are that network's own forward pass over a grid of the input plane, read from each
layer's cache A[l]. Nothing here knows about the web: :mod:`deeplayers.playground.server` turns
messages into calls and frames into WebSocket text.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ConfigError, DeeplayersError, DivergenceError
from ..network import Network
from ..optimizers import Optimizer, get_optimizer
from ..training import accuracy
from . import data as D

__all__ = ["Session", "DEFAULTS", "LIMITS", "check_config", "GRID", "NEURON_GRID"]

HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "leaky_relu")
OUTPUTS = ("sigmoid", "softmax")
OPTIMIZER_NAMES = ("gd", "momentum", "rmsprop", "adam")
#: the output heatmap is GRID x GRID points of the plane; neuron heatmaps take every second one
GRID = 100
NEURON_GRID = GRID // 2

DEFAULTS: dict[str, Any] = {
    "dataset": "circle", "noise": 0, "train_ratio": 50, "seed": 1,
    "features": ["x1", "x2"], "layers": [4, 2], "activations": ["tanh", "tanh"], "output": "sigmoid",
    "learning_rate": 0.03, "l2": 0.0, "batch_size": 10, "optimizer": "gd",
    "epochs_per_update": 1, "discretize": False,
}

LIMITS: dict[str, Any] = {
    "noise": [0, 50], "train_ratio": [10, 90], "hidden_layers": [0, 6], "units": [1, 8],
    "learning_rate": [1e-6, 10], "l2": [0, 10], "batch_size": [1, 30], "epochs_per_update": [1, 50],
    "seed": [0, 2**31 - 1], "upload_bytes": D.MAX_UPLOAD_BYTES, "upload_rows": D.MAX_UPLOAD_ROWS,
}

#: settings that make a new run (new data and/or new network); the others apply while training
_RESTART = ("dataset", "noise", "train_ratio", "seed", "features", "layers", "activations", "output", "optimizer")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _int_in(name: str, v: Any, lo: int, hi: int) -> int:
    if not _is_int(v) or not lo <= v <= hi:
        raise ConfigError(f"{name} must be a whole number from {lo} to {hi}, got {v!r}")
    return v


def _num_in(name: str, v: Any, lo: float, hi: float, open_lo: bool = False) -> float:
    if not _is_num(v) or v > hi or v < lo or (open_lo and v <= lo):
        side = ">" if open_lo else ">="
        raise ConfigError(f"{name} must be a number {side} {lo:g} and <= {hi:g}, got {v!r}")
    return float(v)


def check_config(changes: Any, current: Mapping[str, Any], csv_loaded: bool = False) -> dict[str, Any]:
    """The settings ``current`` updated by ``changes``, every value checked; raises ConfigError
    naming the first bad one (and then nothing changes)."""
    if not isinstance(changes, Mapping):
        raise ConfigError(f"config must be an object of settings, got {type(changes).__name__}")
    unknown = sorted(set(changes) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown setting {unknown[0]!r}; the settings are: {', '.join(DEFAULTS)}")
    cfg = {**current, **changes}
    names = D.DATASETS + (("csv",) if csv_loaded else ())
    if cfg["dataset"] not in names:
        hint = " (the uploaded CSV is gone: upload it again)" if cfg["dataset"] == "csv" else ""
        raise ConfigError(f"dataset must be one of {', '.join(D.DATASETS)}, got {cfg['dataset']!r}{hint}")
    noise = _int_in("noise (percent)", cfg["noise"], *LIMITS["noise"])
    ratio = _int_in("train_ratio (percent)", cfg["train_ratio"], *LIMITS["train_ratio"])
    _int_in("seed", cfg["seed"], *LIMITS["seed"])
    feats = cfg["features"]
    if not isinstance(feats, list) or not all(isinstance(f, str) for f in feats):
        raise ConfigError(f"features must be a list of names from {', '.join(D.FEATURES)}, got {feats!r}")
    bad = [f for f in feats if f not in D.FEATURES]
    if bad:
        raise ConfigError(f"unknown feature {bad[0]!r}; choose from {', '.join(D.FEATURES)}")
    if not feats:
        raise ConfigError("choose at least one input feature (the network needs n[0] >= 1)")
    if len(set(feats)) != len(feats):
        raise ConfigError(f"features lists a feature twice: {feats}")
    cfg["features"] = [f for f in D.FEATURES if f in feats]  # one canonical order for X's rows
    layers, acts = cfg["layers"], cfg["activations"]
    lo, hi = LIMITS["hidden_layers"]
    if not isinstance(layers, list) or not lo <= len(layers) <= hi:
        raise ConfigError(f"layers must be a list of {lo} to {hi} hidden layer sizes, got {layers!r}")
    for l, n in enumerate(layers, start=1):
        _int_in(f"n[{l}] (units in hidden layer {l})", n, *LIMITS["units"])
    if not isinstance(acts, list) or len(acts) != len(layers):
        raise ConfigError(f"activations must list one g[l] per hidden layer ({len(layers)}), got {acts!r}")
    for l, g in enumerate(acts, start=1):
        if g not in HIDDEN_ACTIVATIONS:
            raise ConfigError(f"g[{l}] must be one of {', '.join(HIDDEN_ACTIVATIONS)}, got {g!r}")
    if cfg["output"] not in OUTPUTS:
        raise ConfigError(f"output must be {' or '.join(OUTPUTS)} (regression sets always use linear + MSE), "
                          f"got {cfg['output']!r}")
    cfg["learning_rate"] = _num_in("learning_rate", cfg["learning_rate"], 0, LIMITS["learning_rate"][1], open_lo=True)
    cfg["l2"] = _num_in("l2 (regularization rate)", cfg["l2"], *LIMITS["l2"])
    _int_in("batch_size", cfg["batch_size"], *LIMITS["batch_size"])
    if cfg["optimizer"] not in OPTIMIZER_NAMES:
        raise ConfigError(f"optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {cfg['optimizer']!r}")
    _int_in("epochs_per_update", cfg["epochs_per_update"], *LIMITS["epochs_per_update"])
    if not isinstance(cfg["discretize"], bool):
        raise ConfigError(f"discretize must be true or false, got {cfg['discretize']!r}")
    cfg["noise"], cfg["train_ratio"] = noise, ratio
    return cfg


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.uint8).tobytes()).decode("ascii")


def _to_bytes(v: np.ndarray) -> np.ndarray:
    """Values in [-1, 1] to 0..255 (clipped)."""
    return np.rint((np.clip(v, -1.0, 1.0) + 1.0) * 127.5).astype(np.uint8)


class Session:
    """The state of one tab: settings ``config``, the data, the network and its optimizer."""

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        self.config: dict[str, Any] = check_config(dict(config or {}), DEFAULTS)
        self.csv: dict[str, Any] | None = None  # an uploaded data set: P, y, task, classes, name
        self.run = 0  # counts resets, so each run starts from new random weights
        xs = np.linspace(-D.DOMAIN, D.DOMAIN, GRID)
        # grid points row by row from the top (x2 = +6) down, as an image is drawn
        gx1, gx2 = np.meshgrid(xs, xs[::-1])
        self._grid_P = np.column_stack([gx1.ravel(), gx2.ravel()])
        self._make_data()
        self._make_network()

    # -- building --------------------------------------------------------------------------
    @property
    def task(self) -> str:
        if self.config["dataset"] == "csv" and self.csv is not None:
            return self.csv["task"]
        return "regression" if self.config["dataset"] in D.REGRESSION else "classification"

    @property
    def output(self) -> str:
        return "linear" if self.task == "regression" else self.config["output"]

    @property
    def classes(self) -> list[Any]:
        if self.task == "regression":
            return []
        return list(self.csv["classes"]) if self.config["dataset"] == "csv" and self.csv else [0, 1]

    def _make_data(self) -> None:
        c = self.config
        if c["dataset"] == "csv" and self.csv is not None:
            P, y = self.csv["P"], self.csv["y"]
            if c["noise"]:  # noise jitters uploaded points too, so the control means one thing
                rng = np.random.default_rng(c["seed"])
                P = P + rng.uniform(-1, 1, P.shape) * (c["noise"] / 100) * 2.5
        else:
            P, y = D.make_dataset(c["dataset"], c["noise"] / 100, c["seed"])
        tr, te = D.split(len(y), c["train_ratio"] / 100, c["seed"])
        self.P_train, self.y_train, self.P_test, self.y_test = P[tr], y[tr], P[te], y[te]

    def _Y(self, y: np.ndarray) -> np.ndarray:
        """Targets for the output layer: (1, m) for sigmoid/linear, one-hot (2, m) for softmax."""
        if self.output == "softmax":
            return np.stack([1.0 - y, y])
        return y.reshape(1, -1)

    def _make_network(self) -> None:
        c = self.config
        self.X_train = D.features(self.P_train, c["features"])
        self.X_test = D.features(self.P_test, c["features"])
        self.X_grid = D.features(self._grid_P, c["features"])
        self.Y_train, self.Y_test = self._Y(self.y_train), self._Y(self.y_test)
        nL = 2 if self.output == "softmax" else 1
        dims = [len(c["features"]), *c["layers"], nL]
        relu_like = all(g in ("relu", "leaky_relu") for g in c["activations"]) and c["activations"]
        hidden = list(c["activations"])  # the settings the page chose, g[1..L-1]
        self.net = Network(dims, hidden=hidden, output=self.output,
                           init="he" if relu_like else "xavier", seed=c["seed"] * 1000 + self.run)
        self.opt: Optimizer = get_optimizer(c["optimizer"], c["learning_rate"])
        self.epoch = 0
        self.curve: list[list[float]] = []  # [epoch, train cost, test cost]
        self._frame_cache: dict[str, Any] | None = None

    # -- messages --------------------------------------------------------------------------
    def configure(self, changes: Any) -> bool:
        """Apply checked settings; returns True when they started a new run (data or network)."""
        cfg = check_config(changes, self.config, csv_loaded=self.csv is not None)
        restart = [k for k in _RESTART if cfg[k] != self.config[k]]
        data_changed = any(k in restart for k in ("dataset", "noise", "train_ratio", "seed"))
        self.config = cfg
        if data_changed:
            self._make_data()
        if restart:
            self._make_network()
        else:
            self.opt.learning_rate = cfg["learning_rate"]
        return bool(restart)

    def reset(self) -> None:
        """A new run with new random weights on the same data."""
        self.run += 1
        self._make_network()

    def regenerate(self) -> None:
        """New points (the next seed) and a new run."""
        if self.config["dataset"] == "csv":
            raise ConfigError("an uploaded CSV cannot be regenerated; pick a built-in data set or upload another file")
        self.configure({"seed": (self.config["seed"] + 1) % (LIMITS["seed"][1] + 1)})

    def load_csv(self, text: Any, name: Any = "upload.csv") -> None:
        if not isinstance(name, str) or len(name) > 200:
            raise ConfigError("name must be the file's name (text, at most 200 characters)")
        if not isinstance(text, str):
            raise ConfigError(f"{name}: the file's content must be sent as text")
        up = D.read_upload(text, name)
        self.csv = {"P": up.P, "y": up.y, "task": up.task, "classes": up.classes, "name": name,
                    "shift": up.shift, "scale": up.scale, "target": up.target}
        self.config["dataset"] = "csv"
        self._make_data()
        self.run = 0
        self._make_network()

    # -- training --------------------------------------------------------------------------
    def train(self, epochs: int | None = None) -> None:
        """``epochs`` passes over the training set (default: the epochs_per_update setting) with
        Network.fit, the chosen optimizer (its state kept between calls), batch size and L2."""
        c = self.config
        n = c["epochs_per_update"] if epochs is None else epochs
        self.net.fit(self.X_train, self.Y_train, epochs=n, optimizer=self.opt, learning_rate=c["learning_rate"],
                     batch_size=c["batch_size"], l2=c["l2"], seed=self.run * 1_000_003 + self.epoch)
        self.epoch += n
        self._frame_cache = None

    # -- what the page shows ---------------------------------------------------------------
    def costs(self) -> dict[str, float | None]:
        """Train and test cost (the loss J without the L2 term) and accuracies."""
        out: dict[str, float | None] = {}
        for part, X, Y in (("train", self.X_train, self.Y_train), ("test", self.X_test, self.Y_test)):
            AL = self.net.predict_proba(X)
            out[f"{part}_loss"] = float(self.net.cost(AL, Y))
            out[f"{part}_accuracy"] = accuracy(self.net, AL, Y)
        return out

    def shapes(self) -> dict[str, Any]:
        """The notation panel, read off the live network: W[l], b[l], Z[l], A[l] with the real m."""
        m = self.X_train.shape[1]
        rows = [{"l": 0, "A": [self.net.layer_dims[0], m], "features": list(self.config["features"])}]
        for layer in self.net.layers:
            rows.append({"l": layer.l, "W": list(layer.W.shape), "b": list(layer.b.shape), "Z": [layer.n, m],
                         "A": [layer.n, m], "g": layer.g.name})
        batch = min(self.config["batch_size"], m)
        return {"m": m, "m_test": int(self.X_test.shape[1]), "batch": batch, "layers": rows,
                "layer_dims": list(self.net.layer_dims), "loss": self.net.loss.name, "n_params": self.net.n_params}

    def heatmaps(self) -> dict[str, Any]:
        """The engine's forward pass over the grid: A[l] of every unit and the output, as bytes."""
        net = self.net
        with np.errstate(over="ignore"):
            net.forward(self.X_grid)  # keeps each layer's cache (A[l-1], Z[l], A[l], D)
        sub = (slice(None), slice(None, None, 2), slice(None, None, 2))

        def to_image(A: np.ndarray, g: str) -> tuple[str, list[float]]:
            k = A.shape[0]
            if g == "tanh":
                V, scale = A, np.ones(k)
            elif g == "sigmoid":
                V, scale = 2 * A - 1, np.ones(k)
            else:  # relu, leaky_relu, linear, inputs: each unit scaled by its largest |value|
                scale = np.maximum(np.abs(A).max(axis=1), 1e-12)
                V = A / scale[:, None]
            V = V.reshape(k, GRID, GRID)[sub]
            return _b64(_to_bytes(V)), [float(s) for s in scale]

        inputs, in_scale = to_image(self.X_grid, "linear")
        layers = []
        for layer in net.layers[:-1]:
            img, scale = to_image(layer.cache.A, layer.g.name)
            layers.append({"data": img, "scale": scale})
        AL = net.layers[-1].cache.A
        if self.output == "softmax":
            out = 2 * AL[1] - 1
        elif self.output == "sigmoid":
            out = 2 * AL[0] - 1
        else:
            out = AL[0]
        for layer in net.layers:
            layer.cache = None
        return {"grid": GRID, "neuron_grid": NEURON_GRID, "output": _b64(_to_bytes(out)),
                "inputs": {"data": inputs, "scale": in_scale}, "layers": layers}

    def weights(self) -> list[dict[str, list[float]]]:
        return [{"W": [round(float(v), 4) for v in layer.W.ravel()],
                 "b": [round(float(v), 4) for v in layer.b.ravel()]} for layer in self.net.layers]

    def frame(self) -> dict[str, Any]:
        """Everything one screen update needs (about 20-60 kB as JSON for the usual networks)."""
        costs = self.costs()
        if not self.curve or self.curve[-1][0] != self.epoch:
            self.curve.append([self.epoch, costs["train_loss"], costs["test_loss"]])
        return {"type": "frame", "epoch": self.epoch, **costs, "heatmaps": self.heatmaps(),
                "weights": self.weights()}

    def points(self) -> dict[str, Any]:
        """The train and test points (sent when the data change)."""
        def part(P: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
            return {"x1": [round(float(v), 3) for v in P[:, 0]], "x2": [round(float(v), 3) for v in P[:, 1]],
                    "y": [round(float(v), 4) for v in y]}

        return {"type": "points", "task": self.task, "domain": D.DOMAIN,
                "train": part(self.P_train, self.y_train), "test": part(self.P_test, self.y_test)}

    def describe(self) -> dict[str, Any]:
        """The settings as the page should show them, plus what follows from them."""
        return {"type": "config", "config": dict(self.config), "task": self.task, "output": self.output,
                "loss": self.net.loss.name, "shapes": self.shapes(), "classes": [str(c) for c in self.classes],
                "csv_name": self.csv["name"] if self.csv else None, "epoch": self.epoch}

    # -- exports ---------------------------------------------------------------------------
    # An upload is trained on the plane: P = (raw - shift) / scale, regression targets (t - c) / h.
    # The downloads undo that where a model file can (preprocessing, last layer) and name what it cannot.
    @property
    def _upload(self) -> dict[str, Any] | None:
        return self.csv if self.config["dataset"] == "csv" else None

    def _own_columns(self) -> bool:
        """Whether the inputs are the upload's own columns (x1, x2), not functions of the plane (x1², sin x1)."""
        return self._upload is not None and all(f in ("x1", "x2") for f in self.config["features"])

    def feature_names(self) -> list[str]:
        """The inputs' names in the model file and the data download: the features, each named
        ``plane_<feature>`` for an upload with x1², sin x1, ... (functions of the rescaled plane, which
        a model's preprocessing cannot compute), so a CSV of the file's own columns is refused by name."""
        feats = list(self.config["features"])
        if self._upload is not None and not self._own_columns():
            return [f"plane_{f}" for f in feats]
        return feats

    def _preprocessing(self) -> dict[str, Any] | None:
        """The upload's plane scaling of x1, x2 as the model's preprocessing (raw columns in)."""
        if not self._own_columns():
            return None
        cols = [("x1", "x2").index(f) for f in self.config["features"]]
        return {"type": "standard", "mean": [float(self.csv["shift"][j]) for j in cols],
                "scale": [float(self.csv["scale"])] * len(cols)}

    def _network_for_file(self) -> Network:
        """The network, or for an upload's regression a copy whose linear output gives the file's own
        targets: t = h y + c, so W[L]' = h W[L] and b[L]' = h b[L] + c (exact, one affine map)."""
        target = self._upload["target"] if self._upload is not None else None
        if target is None:
            return self.net
        c, h = target
        net = Network.from_spec(self.net.to_spec(), self.net.parameters)
        out = net.layers[-1]
        out.set_parameters(h * out.W, h * out.b + c)
        return net

    def _note(self) -> str:
        up = self._upload
        if up is None:
            return "inputs are the feature columns in this order, on the playground's plane [-6, 6]^2"
        if self._own_columns():
            note = ("inputs are the uploaded file's first two columns, named x1, x2 whatever its header said, in the "
                    "file's own units: the preprocessing maps them onto the plane [-6, 6]^2")
        else:
            note = ("inputs plane_<feature> are features of the uploaded x1, x2 moved onto the plane [-6, 6]^2, "
                    "p = (x - plane.shift) / plane.scale (as in the data download); compute them before predicting")
        if up["target"] is not None:
            note += "; the output is in the file's target units (the cost curve is of targets scaled into [-1, 1])"
        return note

    def model(self) -> Any:
        """The trained network as a :class:`deeplayers.Model` with the playground's settings; for an
        upload it takes the file's own x1, x2 and gives its own targets (see :meth:`feature_names`)."""
        from ..modelfile import Model
        from ..training import History

        c, up = self.config, self._upload
        net = self._network_for_file()
        net.history = History(unit="epoch", cost=[r[1] for r in self.curve], val_cost=[r[2] for r in self.curve])
        meta: dict[str, Any] = {"source": "deeplayers playground", "dataset": c["dataset"] if up is None else up["name"],
                                "features": list(c["features"]), "feature_names": self.feature_names(),
                                "epoch": self.epoch, "note": self._note()}
        if up is not None:
            meta["plane"] = {"shift": [float(v) for v in up["shift"]], "scale": float(up["scale"])}
        hyper = {k: c[k] for k in ("learning_rate", "l2", "batch_size", "optimizer")}
        hyper["epochs"] = self.epoch
        return Model(net, self._preprocessing(), self.classes or None, metadata=meta, hyperparameters=hyper)

    def data_csv(self) -> str:
        """The train and test samples as CSV: the chosen feature columns, then the label; for an
        upload, what the downloaded model takes and gives (its columns and targets in the file's units)."""
        X = np.hstack([self.X_train, self.X_test])
        y: np.ndarray = np.concatenate([self.y_train, self.y_test])
        up = self._upload
        if up is not None and self._own_columns():
            rows = [("x1", "x2").index(f) for f in self.config["features"]]
            X = X * up["scale"] + up["shift"][rows][:, None]
        if up is not None and up["target"] is not None:
            y = up["target"][1] * y + up["target"][0]
        if self.task == "classification" and up is not None:
            y = np.array([up["classes"][int(v)] for v in y], dtype=object)
        return D.to_csv(X, y, self.feature_names())


def step_safely(session: Session, epochs: int | None = None) -> str | None:
    """Train ``epochs`` (default: one update's worth); returns an error message (and leaves the last
    finite parameters) on divergence."""
    try:
        session.train(epochs)
    except DivergenceError as exc:
        return str(exc)
    except DeeplayersError as exc:  # pragma: no cover - settings are checked before they reach fit
        return str(exc)
    return None
