"""Safe model files: ``deeplayers.save(model, path)`` and ``deeplayers.load(path)``.

One ``.npz`` file per model (see :mod:`deeplayers._atomic` for the container): the arrays
``W1, b1, ..., WL, bL`` and a JSON header with the file format version, ``kind`` (``network``
or ``estimator``), ``layer_dims``, ``activations``, ``loss``, ``dtype``, the preprocessing fitted
on the training data, the class labels, training hyperparameters and history, the library
version and a SHA-256 of the arrays. Files are written atomically and read without pickle.

What ``load`` returns
---------------------
* a network file gives a :class:`Model`: the :class:`~deeplayers.network.Network` (``.network``,
  parameters bit for bit as saved) together with its :class:`Preprocessing` and ``classes``.
  ``Model.predict(X)`` / ``Model.predict_proba(X)`` take RAW data as columns (n[0], m) and
  repeat the preprocessing, so nothing fitted on the training data has to be remembered by hand.
  (A bare ``Network`` is not returned because its ``predict`` expects already-preprocessed data;
  a wrapper keeps that contract visible instead of patching the network.)
* an estimator file gives the fitted scikit-learn estimator back
  (``deeplayers.sklearn.DNNClassifier`` / ``DNNRegressor``), which predicts on raw rows (m, n0).
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import MAX_BYTES, load_npz_with_header, save_npz_with_header
from .activations import ACTIVATIONS, Activation
from .errors import ConfigError, DataError, DeeplayersError, ModelFileError, ShapeError
from .losses import LOSSES
from .network import Network

__all__ = ["save", "load", "Model", "Preprocessing"]

_CHUNK = 4096  # columns per step when fitting statistics (memory-mapped data stays on disk)


# -- preprocessing ---------------------------------------------------------------------------------
class Preprocessing:
    """A per-feature affine map fitted on training data: ``X' = (X - shift) / scale``.

    Works on column data X of shape (n[0], m) (one sample per column).

    Parameters
    ----------
    type : str
        ``none`` (identity), ``standard`` (mean 0, standard deviation 1 per feature; constant
        features get scale 1), ``minmax`` (to [0, 1] per feature), or ``divide`` (by one number,
        e.g. 255 for 8-bit pixels).
    value : float, optional
        The divisor for ``divide`` (default 255).

    Examples
    --------
    >>> p = Preprocessing("standard").fit(np.array([[1.0, 3.0], [10.0, 10.0]]))
    >>> p.transform(np.array([[1.0], [10.0]])).ravel().tolist()
    [-1.0, 0.0]
    >>> Preprocessing.from_dict(p.to_dict()).to_dict() == p.to_dict()
    True
    """

    TYPES = ("none", "standard", "minmax", "divide")

    def __init__(self, type: str = "none", *, value: float | None = None) -> None:
        if type not in self.TYPES:
            raise ConfigError(f"unknown preprocessing {type!r}; choose one of: {', '.join(self.TYPES)}")
        self.type = type
        self.shift: np.ndarray | None = None  # (n0, 1) float64, or None for 0
        self.scale: np.ndarray | float | None = None  # (n0, 1) float64, or a number
        if type == "divide":
            value = 255.0 if value is None else float(value)
            if not math.isfinite(value) or value == 0:
                raise ConfigError(f"divide needs a finite non-zero value, got {value}")
            self.scale = value
        elif value is not None:
            raise ConfigError(f"value= only applies to type='divide', not {type!r}")
        elif type == "none":
            self.scale = 1.0

    @property
    def fitted(self) -> bool:
        return self.scale is not None

    @property
    def n_features(self) -> int | None:
        """n[0] it was fitted on (None for ``none``/``divide``, which work on any n[0])."""
        return None if self.shift is None else int(self.shift.shape[0])

    def fit(self, X: Any) -> Preprocessing:
        """Learn the statistics from training data X (n[0], m); returns self.

        Statistics are accumulated in float64 over chunks of columns, so a memory-mapped X is
        read in pieces and never copied whole.
        """
        if self.type in ("none", "divide"):
            return self
        X = _columns(X, "X")
        n0, m = X.shape
        if m < 1:
            raise DataError("cannot fit preprocessing on X with no samples (m = 0)")
        if self.type == "standard":
            total = np.zeros(n0)
            for start in range(0, m, _CHUNK):
                total += np.sum(X[:, start:start + _CHUNK], axis=1, dtype=np.float64)
            mean = total / m
            sq = np.zeros(n0)
            for start in range(0, m, _CHUNK):
                d = X[:, start:start + _CHUNK] - mean[:, None]
                sq += np.einsum("ij,ij->i", d, d)
            std = np.sqrt(sq / m)
            self.shift = mean[:, None]
            self.scale = np.where(std > 0, std, 1.0)[:, None]  # constant features: leave unscaled
        else:  # minmax
            lo, hi = np.full(n0, np.inf), np.full(n0, -np.inf)
            for start in range(0, m, _CHUNK):
                chunk = X[:, start:start + _CHUNK]
                lo = np.minimum(lo, chunk.min(axis=1))
                hi = np.maximum(hi, chunk.max(axis=1))
            self.shift = lo[:, None]
            self.scale = np.where(hi > lo, hi - lo, 1.0)[:, None]
        if not (np.isfinite(self.shift).all() and np.isfinite(self.scale).all()):
            raise DataError("X contains NaN or infinity, so its statistics are undefined; clean the data first")
        return self

    def transform(self, X: Any, dtype: Any = np.float64) -> np.ndarray:
        """(X - shift) / scale as a new array of ``dtype``, shape (n[0], m)."""
        if not self.fitted:
            from .errors import NotFittedError

            raise NotFittedError(f"this {self.type!r} preprocessing is not fitted yet: call fit(X_train) first")
        X = _columns(X, "X")
        if self.shift is not None and X.shape[0] != self.shift.shape[0]:
            n0 = self.shift.shape[0]
            hint = " — samples go in columns, did you mean X.T?" if X.shape[1] == n0 else ""
            raise ShapeError(f"X has {X.shape[0]} features (rows) but the preprocessing was fitted on "
                             f"{n0}; give X as (n[0], m) = ({n0}, m){hint}")
        out = X.astype(np.float64)  # one copy, computed in float64 whatever the output dtype
        if self.shift is not None:
            out -= self.shift
        if not (isinstance(self.scale, float) and self.scale == 1.0):
            out /= self.scale
        return out.astype(dtype, copy=False)

    def fit_transform(self, X: Any, dtype: Any = np.float64) -> np.ndarray:
        return self.fit(X).transform(X, dtype)

    def as_affine(self) -> tuple[np.ndarray | float, np.ndarray | float]:
        """(shift, scale) with X' = (X - shift) / scale; arrays are (n[0], 1), numbers broadcast."""
        return (0.0 if self.shift is None else self.shift), (1.0 if self.scale is None else self.scale)

    def to_dict(self) -> dict[str, Any]:
        """A small JSON-able description, e.g. ``{"type": "divide", "value": 255.0}``."""
        if not self.fitted:
            raise ConfigError(f"cannot describe an unfitted {self.type!r} preprocessing; fit it first")
        if self.type == "none":
            return {"type": "none"}
        if self.type == "divide":
            return {"type": "divide", "value": float(self.scale)}
        key = "mean" if self.type == "standard" else "min"
        return {"type": self.type, key: self.shift.ravel().tolist(), "scale": self.scale.ravel().tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Preprocessing:
        """Inverse of :meth:`to_dict` (validated: raises ConfigError on anything malformed)."""
        if d is None:
            return cls("none")
        if not isinstance(d, Mapping) or d.get("type") not in cls.TYPES:
            raise ConfigError(f"preprocessing must be a dict with type in {cls.TYPES}, got {d!r:.200}")
        kind = d["type"]
        if kind == "none":
            return cls("none")
        if kind == "divide":
            v = d.get("value")
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ConfigError(f"divide preprocessing needs a number 'value', got {v!r:.100}")
            return cls("divide", value=v)
        key = "mean" if kind == "standard" else "min"
        p = cls(kind)
        shift, scale = _float_vector(d.get(key), f"{kind}.{key}"), _float_vector(d.get("scale"), f"{kind}.scale")
        if shift.shape != scale.shape:
            raise ConfigError(f"{kind} preprocessing has {len(shift)} {key} values but {len(scale)} scales")
        if (scale == 0).any():
            raise ConfigError(f"{kind} preprocessing has a zero scale")
        p.shift, p.scale = shift[:, None], scale[:, None]
        return p

    def __repr__(self) -> str:
        n = f", n_features={self.n_features}" if self.n_features is not None else ""
        v = f", value={self.scale:g}" if self.type == "divide" else ""
        return f"Preprocessing({self.type!r}{v}{n})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Preprocessing) and self.fitted and other.fitted and self.to_dict() == other.to_dict()


def _float_vector(v: Any, what: str) -> np.ndarray:
    if not isinstance(v, list) or not v or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise ConfigError(f"{what} must be a non-empty list of numbers")
    a = np.array(v, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ConfigError(f"{what} holds NaN or infinity")
    return a


def _columns(X: Any, name: str) -> np.ndarray:
    from .shapes import as_float_array

    if getattr(X, "dtype", None) is not None and X.dtype.kind == "c":
        # casting would silently drop the imaginary part
        raise DataError(f"{name} has dtype {X.dtype}; it must hold real numbers (take .real or abs() first)")
    X = as_float_array(X, name) if not isinstance(X, np.ndarray) or X.dtype.kind not in "fiub" else X
    if X.ndim != 2:
        raise ShapeError(f"{name} must be columns (n[0], m), got shape {X.shape}")
    return X


def _check_finite(X: np.ndarray, name: str, chunk: int = 1 << 22) -> None:
    """DataError naming the first NaN/inf of X (n[0], m) as [feature row, sample column]; checked in
    blocks of columns so a memory-mapped X is never loaded whole."""
    if X.dtype.kind not in "fc":
        return  # integers and booleans are always finite
    cols = max(1, chunk // max(1, X.shape[0]))
    for start in range(0, X.shape[1], cols):
        block = X[:, start:start + cols]
        if not np.isfinite(block).all():
            i, j = np.argwhere(~np.isfinite(block))[0]
            raise DataError(f"{name} contains NaN or infinity (first at [{int(i)}, {int(j) + start}]); clean or impute "
                            "it before predicting")


# -- the model returned by load --------------------------------------------------------------------
class Model:
    """A trained network plus what it needs to predict on raw data.

    Parameters
    ----------
    network : Network
    preprocessing : Preprocessing or dict, optional
        Applied to raw X (n[0], m) before the network.
    classes : sequence, optional
        Class labels: for a softmax output the label of each output unit (index = class); for a
        single sigmoid output ``[negative, positive]``; for several sigmoid outputs the name of
        each output. Strings or numbers.
    metadata, hyperparameters : dict, optional
        Free-form JSON-able records kept in the file.
    """

    def __init__(self, network: Network, preprocessing: Preprocessing | Mapping[str, Any] | None = None,
                 classes: Sequence[Any] | None = None, *, metadata: Mapping[str, Any] | None = None,
                 hyperparameters: Mapping[str, Any] | None = None, library_version: str | None = None) -> None:
        if not isinstance(network, Network):
            raise TypeError(f"Model wraps a deeplayers Network, got {type(network).__name__}")
        self.network = network
        if preprocessing is None or isinstance(preprocessing, Preprocessing):
            self.preprocessing = preprocessing or Preprocessing("none")
        else:
            self.preprocessing = Preprocessing.from_dict(preprocessing)
        self.classes = None if classes is None else _check_classes(classes, network)
        if self.preprocessing.n_features not in (None, network.layer_dims[0]):
            raise ShapeError(f"the preprocessing was fitted on {self.preprocessing.n_features} features but the "
                             f"network takes n[0] = {network.layer_dims[0]}")
        self.metadata = dict(metadata or {})
        self.hyperparameters = dict(hyperparameters or {})
        self.library_version = library_version

    # what a user looks at
    @property
    def history(self) -> Any:
        return self.network.history

    @property
    def layer_dims(self) -> list[int]:
        return self.network.layer_dims

    @property
    def activations(self) -> list[str]:
        return self.network.activations

    @property
    def parameters(self) -> dict[str, np.ndarray]:
        return self.network.parameters

    def transform(self, X: Any) -> np.ndarray:
        """The preprocessed A[0] = (X - shift) / scale in the network's dtype, shape (n[0], m).

        Raises DataError for NaN/inf in X (a prediction from them would be garbage), ShapeError
        for a feature count other than n[0]."""
        X = _columns(X, "X")
        if X.ndim == 2 and X.shape[1] == 0:
            raise DataError(f"X has no samples: its shape is {X.shape}, need (n[0], m) with m >= 1")
        _check_finite(X, "X")
        X = self.preprocessing.transform(X, self.network.dtype)
        if X.shape[0] != self.network.layer_dims[0]:
            n0 = self.network.layer_dims[0]
            hint = " — samples go in columns, did you mean X.T?" if X.shape[1] == n0 else ""
            raise ShapeError(f"X has {X.shape[0]} features (rows) but the model was trained on n[0] = {n0}; "
                             f"give X as ({n0}, m){hint}")
        return X

    def predict_proba(self, X: Any) -> np.ndarray:
        """A[L] of shape (n[L], m) for raw X (n[0], m)."""
        return self.network.predict_proba(self.transform(X))

    def predict(self, X: Any) -> np.ndarray:
        """Predictions for raw X (n[0], m), as :meth:`Network.predict` gives them, with class
        indices replaced by the class labels when ``classes`` is known: softmax and single sigmoid
        outputs give a row (1, m) of labels; several sigmoid outputs give 0/1 (n[L], m); a
        linear output gives A[L]."""
        P = self.network.predict(self.transform(X))
        g = self.network.activations[-1]
        if self.classes is not None and g in ("softmax", "sigmoid") and (g == "softmax" or P.shape[0] == 1):
            return np.asarray(self.classes)[P]
        return P

    def summary(self) -> str:
        lines = [self.network.summary(), f"preprocessing: {self.preprocessing.to_dict()['type']}"]
        if self.classes is not None:
            lines.append(f"classes: {self.classes}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        c = f", classes={self.classes}" if self.classes is not None else ""
        return f"Model({self.network!r}, preprocessing={self.preprocessing!r}{c})"


def _check_classes(classes: Sequence[Any], network: Network) -> list[Any]:
    if isinstance(classes, (str, bytes, Mapping)) or not hasattr(classes, "__iter__"):
        raise ConfigError(f"classes must be a list of labels, got {type(classes).__name__}")
    out = []
    for c in classes:
        if isinstance(c, np.generic):
            c = c.item()
        if isinstance(c, bytes):
            c = c.decode("utf-8", "replace")
        if not isinstance(c, (str, int, float, bool)):
            raise ConfigError(f"class labels must be strings or numbers, got {type(c).__name__} {c!r:.50}")
        out.append(c)
    nL, g = network.layer_dims[-1], network.activations[-1]
    want = 2 if (g == "sigmoid" and nL == 1) else nL
    if g in ("softmax", "sigmoid") and len(out) != want:
        raise ConfigError(f"{len(out)} class labels given for an output layer of n[L] = {nL} {g} units "
                          f"(it needs {want})")
    return out


# -- saving ----------------------------------------------------------------------------------------
def _activation_specs(net: Network) -> tuple[list[str], list[dict[str, float]]]:
    names, params = [], []
    for layer in net.layers:
        g = layer.g
        if ACTIVATIONS.get(g.name) is not type(g):
            raise ConfigError(f"layer {layer.l} uses a custom activation {type(g).__name__}; only the built-in "
                              f"ones ({', '.join(sorted(ACTIVATIONS))}) can be saved")
        names.append(g.name)
        params.append({"alpha": g.alpha} if hasattr(g, "alpha") else {})
    return names, params


def _network_header(net: Network) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    names, params = _activation_specs(net)
    if LOSSES.get(net.loss.name) is not type(net.loss):
        raise ConfigError(f"the network uses a custom loss {type(net.loss).__name__}; only built-in losses "
                          f"({', '.join(sorted(LOSSES))}) can be saved")
    arrays = {}
    for layer in net.layers:
        arrays[f"W{layer.l}"] = np.ascontiguousarray(layer.W)
        arrays[f"b{layer.l}"] = np.ascontiguousarray(layer.b)
        if not (np.isfinite(layer.W).all() and np.isfinite(layer.b).all()):
            raise DataError(f"W[{layer.l}] or b[{layer.l}] holds NaN or infinity; refusing to save a broken model")
    header = {
        "layer_dims": list(net.layer_dims),
        "activations": names,
        "activation_params": params,
        "loss": net.loss.name,
        "dtype": net.dtype.name,
        "init": net.init,
        "seed": net.seed,
        "history": net.history.as_dict() if net.history is not None else None,
    }
    return arrays, header


def _is_estimator(obj: Any) -> bool:
    return hasattr(obj, "get_params") and type(obj).__module__ == "deeplayers.sklearn"


def save(model: Any, path: str | os.PathLike, *, preprocessing: Preprocessing | Mapping[str, Any] | None = None,
         metadata: Mapping[str, Any] | None = None, classes: Sequence[Any] | None = None,
         hyperparameters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Write ``model`` to ``path`` (one ``.npz`` file), atomically.

    Parameters
    ----------
    model : Network, Model, or a fitted ``deeplayers.sklearn`` estimator
    path : str or path
        Written through a temporary file in the same directory, fsync-ed, then renamed: a crash
        leaves either the earlier file or the new one.
    preprocessing : Preprocessing or dict, optional
        Fitted on the training data; ``load(path).predict`` repeats it on raw data. Defaults to
        the Model's own (or none).
    metadata : dict, optional
        Free-form JSON-able information (data set name, notes, ...).
    classes : sequence, optional
        Class labels (see :class:`Model`); defaults to the Model's own.
    hyperparameters : dict, optional
        The training options (learning rate, optimizer, epochs, ...), JSON-able.

    Returns
    -------
    dict
        The header written.
    """
    from . import __version__

    path = Path(path)
    common = {
        "library": "deeplayers",
        "library_version": __version__,
        "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "metadata": dict(metadata or {}),
    }
    if _is_estimator(model):
        arrays, header = _estimator_payload(model)
        return save_npz_with_header(path, arrays, {"kind": "estimator", **header, **common})
    if isinstance(model, Model):
        wrapped = model
        net = model.network
        preprocessing = wrapped.preprocessing if preprocessing is None else preprocessing
        classes = wrapped.classes if classes is None else classes
        hyperparameters = wrapped.hyperparameters if hyperparameters is None else hyperparameters
        common["metadata"] = {**wrapped.metadata, **common["metadata"]}
    elif isinstance(model, Network):
        net = model
    else:
        raise TypeError(f"save() takes a Network, a Model or a deeplayers.sklearn estimator, "
                        f"got {type(model).__name__}")
    checked = Model(net, preprocessing, classes)  # validates preprocessing and classes up front
    arrays, header = _network_header(net)
    header.update({
        "kind": "network",
        "preprocessing": checked.preprocessing.to_dict(),
        "classes": checked.classes,
        "hyperparameters": dict(hyperparameters or {}),
        **common,
    })
    return save_npz_with_header(path, arrays, header)


# -- loading ---------------------------------------------------------------------------------------
def _bad(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path}: {what}; the file is damaged or was not written by deeplayers.save — "
                          "re-save the model or restore a backup")


def network_from_file(arrays: Mapping[str, np.ndarray], header: Mapping[str, Any], path: Path) -> Network:
    """Rebuild the Network described by a header and its W/b arrays (all checked)."""
    from .training import History

    dims = header.get("layer_dims")
    acts = header.get("activations")
    params = header.get("activation_params") or [{}] * (len(acts) if isinstance(acts, list) else 0)
    if (not isinstance(dims, list) or len(dims) < 2
            or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in dims)):
        raise _bad(path, f"layer_dims {dims!r:.200} is not a list of positive integers")
    L = len(dims) - 1
    if not isinstance(acts, list) or len(acts) != L or not isinstance(params, list) or len(params) != L:
        raise _bad(path, f"it needs {L} activations for layer_dims {dims}, found {acts!r:.200}")
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    if set(arrays) != expected:
        raise _bad(path, f"layer_dims {dims} needs arrays {sorted(expected)}, the file holds {sorted(arrays)}")
    dtype = header.get("dtype")
    if dtype not in ("float32", "float64"):
        raise _bad(path, f"dtype {dtype!r} is not float32 or float64")
    gs: list[Activation] = []
    for l, (name, p) in enumerate(zip(acts, params, strict=True), start=1):
        cls = ACTIVATIONS.get(name) if isinstance(name, str) else None
        if cls is None or not isinstance(p, dict):
            raise _bad(path, f"g[{l}] = {name!r:.50} is not a known activation")
        try:
            gs.append(cls(**p))
        except (TypeError, ValueError) as exc:
            raise _bad(path, f"g[{l}] = {name} has invalid parameters {p!r:.100} ({exc})") from None
    for l in range(1, L + 1):
        for key, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
            a = arrays[key]
            if a.shape != shape or a.dtype != np.dtype(dtype):
                raise _bad(path, f"{key} is {a.dtype} {a.shape}, layer_dims {dims} and dtype {dtype} need {shape}")
    loss = header.get("loss")
    if not isinstance(loss, str) or loss not in LOSSES:
        raise _bad(path, f"loss {loss!r:.50} is not a known loss")
    seed = header.get("seed")
    try:
        net = Network(dims, hidden=gs, init=None, seed=seed if isinstance(seed, int) else None, dtype=dtype, loss=loss)
    except DeeplayersError as exc:
        raise _bad(path, f"it describes an invalid network ({exc})") from None
    for layer in net.layers:
        layer.set_parameters(arrays[f"W{layer.l}"], arrays[f"b{layer.l}"], copy=False)
    if isinstance(header.get("init"), str):
        net.init = header["init"]
    hist = header.get("history")
    if isinstance(hist, dict):
        try:
            net.history = History.from_dict(hist)
        except (TypeError, ValueError):
            net.history = None  # a damaged history should not make the parameters unusable
    return net


def load(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> Any:
    """Read a model file written by :func:`save`, checking it; never unpickles.

    Returns
    -------
    Model
        For a network file: ``.network`` (the Network, parameters bit for bit), ``.preprocessing``,
        ``.classes``, ``.metadata``, ``.hyperparameters``, ``.history``; ``predict`` and
        ``predict_proba`` work on raw data columns (n[0], m).
    estimator
        For an estimator file: the fitted ``deeplayers.sklearn`` estimator.

    Raises
    ------
    ModelFileError
        The file is damaged (truncated, flipped bytes), foreign, of a newer format, holds object
        arrays, or its header is inconsistent.
    FileNotFoundError
    """
    path = Path(path)
    arrays, header = load_npz_with_header(path, max_bytes=max_bytes)
    kind = header.get("kind")
    if kind == "estimator":
        return _estimator_from_file(arrays, header, path)
    if kind != "network":
        raise ModelFileError(f"{path}: holds a {kind!r} (not a model this version of deeplayers can load: "
                             "'network' or 'estimator'); a training checkpoint is resumed with fit(resume=...)")
    net = network_from_file(arrays, header, path)
    try:
        return Model(net, header.get("preprocessing"), header.get("classes"),
                     metadata=header.get("metadata") if isinstance(header.get("metadata"), dict) else None,
                     hyperparameters=(header.get("hyperparameters")
                                      if isinstance(header.get("hyperparameters"), dict) else None),
                     library_version=header.get("library_version"))
    except (ConfigError, ShapeError, TypeError) as exc:
        raise _bad(path, f"its preprocessing or classes are invalid ({exc})") from None


# -- scikit-learn estimators -----------------------------------------------------------------------
# Estimators are stored as data, never pickled: the class NAME (looked up in an allowlist), the
# constructor parameters in a small tagged JSON encoding, the fitted attributes needed to predict
# and to keep training (classes, feature names, curves, RNG and optimizer state), and the network.
_ESTIMATORS = ("DNNClassifier", "DNNRegressor")


def _encode_param(value: Any, name: str) -> Any:
    from .optimizers import Optimizer

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return {"__tuple__": [_encode_param(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode_param(v, name) for v in value]
    if isinstance(value, dict):  # keys may be class labels of any JSON type (class_weight)
        return {"__dict__": [[_encode_param(k, name), _encode_param(v, name)] for k, v in value.items()]}
    if isinstance(value, type) and issubclass(value, np.generic) or isinstance(value, np.dtype):
        return {"__dtype__": np.dtype(value).name}
    if isinstance(value, Optimizer):
        hyper = {k: v for k, v in vars(value).items() if k != "t" and isinstance(v, (int, float))}
        return {"__optimizer__": value.name, "hyper": hyper}
    if isinstance(value, np.random.RandomState):
        return None  # the generator's state is stored separately (rng_keys); the param itself is reset
    raise ConfigError(f"cannot save estimator parameter {name}={value!r:.80}: only numbers, strings, tuples, "
                      "lists, dicts and optimizers can be stored without pickle")


def _decode_param(value: Any, path: Path) -> Any:
    from .optimizers import OPTIMIZERS

    if isinstance(value, list):
        return [_decode_param(v, path) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value and isinstance(value["__tuple__"], list):
        return tuple(_decode_param(v, path) for v in value["__tuple__"])
    if "__dict__" in value and isinstance(value["__dict__"], list):
        return {_decode_param(k, path): _decode_param(v, path) for k, v in value["__dict__"]}
    if value.get("__dtype__") in ("float32", "float64"):
        return value["__dtype__"]
    if value.get("__optimizer__") in OPTIMIZERS and isinstance(value.get("hyper"), dict):
        opt = OPTIMIZERS[value["__optimizer__"]]()
        for k, v in value["hyper"].items():
            if hasattr(opt, k) and isinstance(v, (int, float)) and not isinstance(v, bool):
                setattr(opt, k, v)
        return opt
    raise _bad(path, f"an estimator parameter has an unknown encoding {value!r:.100}")


def _labels_to_json(classes: np.ndarray) -> dict[str, Any]:
    if classes.dtype.kind in "biufU":
        return {"dtype": classes.dtype.str, "values": classes.tolist()}
    if classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes):
        return {"dtype": "object-str", "values": classes.tolist()}
    raise ConfigError(f"cannot save class labels of dtype {classes.dtype} ({classes[:5]!r:.80}); use strings or numbers")


def _labels_from_json(d: Any, path: Path) -> np.ndarray:
    if not isinstance(d, dict) or not isinstance(d.get("values"), list):
        raise _bad(path, "the estimator's classes are missing")
    if d.get("dtype") == "object-str":
        if not all(isinstance(c, str) for c in d["values"]):
            raise _bad(path, "the estimator's string classes are not all strings")
        return np.array(d["values"], dtype=object)
    try:
        dtype = np.dtype(d.get("dtype"))
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufU" or not all(isinstance(c, (int, float, str, bool)) for c in d["values"]):
        raise _bad(path, f"the estimator's classes have an unsupported dtype {d.get('dtype')!r:.40}")
    return np.array(d["values"], dtype=dtype)


def _estimator_payload(est: Any) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    name = type(est).__name__
    if name not in _ESTIMATORS:
        raise TypeError(f"save() supports the estimators {', '.join(_ESTIMATORS)}, not {name}")
    if not isinstance(getattr(est, "network_", None), Network):
        from .errors import NotFittedError

        raise NotFittedError(f"this {name} is not fitted yet: call fit(X, y) before saving it")
    params = {k: _encode_param(v, k) for k, v in est.get_params(deep=False).items()}
    arrays, net_header = _network_header(est.network_)
    fitted: dict[str, Any] = {
        "n_features_in_": int(est.n_features_in_),
        "loss_curve_": [float(v) for v in getattr(est, "loss_curve_", [])],
        "validation_loss_curve_": (None if getattr(est, "validation_loss_curve_", None) is None
                                   else [float(v) for v in est.validation_loss_curve_]),
        "n_iter_": int(getattr(est, "n_iter_", 0)),
    }
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(f) for f in est.feature_names_in_]
    if hasattr(est, "classes_"):
        fitted["classes_"] = _labels_to_json(np.asarray(est.classes_))
        fitted["y_type"] = est._label_binarizer.y_type_
    if hasattr(est, "_y_ndim"):
        fitted["y_ndim"] = int(est._y_ndim)
    rs = getattr(est, "_random_state", None)
    if isinstance(rs, np.random.RandomState):  # to continue training (warm_start) exactly
        kind, keys, pos, has_gauss, cached = rs.get_state()
        arrays["rng_keys"] = np.asarray(keys, dtype=np.uint32)
        fitted["rng"] = {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
    opt = getattr(est, "_optimizer", None)
    if opt is not None:
        state = opt.get_state()
        fitted["optimizer"] = {"name": opt.name, "t": int(state.pop("t")),
                               "hyper": {k: v for k, v in vars(opt).items()
                                         if k != "t" and isinstance(v, (int, float))},
                               "state": sorted(state)}
        for k, v in state.items():
            arrays[f"opt.{k}"] = np.asarray(v)
    classes = fitted["classes_"]["values"] if "classes_" in fitted else None
    header = {**net_header, "estimator": {"class": name, "params": params, "fitted": fitted},
              "classes": classes, "preprocessing": {"type": "none"}}
    return arrays, header


def _estimator_from_file(arrays: Mapping[str, np.ndarray], header: Mapping[str, Any], path: Path) -> Any:
    spec = header.get("estimator")
    if not isinstance(spec, dict) or spec.get("class") not in _ESTIMATORS:
        cls_name = spec.get("class") if isinstance(spec, dict) else None
        raise _bad(path, f"the estimator class {cls_name!r:.60} is not one of {', '.join(_ESTIMATORS)}")
    try:
        from . import sklearn as dl_sklearn
    except ImportError as exc:
        raise ImportError(f"{path} holds a scikit-learn estimator; loading it needs scikit-learn "
                          f"(pip install 'deeplayers[sklearn]'): {exc}") from None
    from sklearn.preprocessing import LabelBinarizer

    net_arrays = {k: v for k, v in arrays.items() if k[:1] in "Wb" and k[1:].isdigit()}
    net = network_from_file(net_arrays, header, path)
    params, fitted = spec.get("params"), spec.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise _bad(path, "the estimator's params or fitted attributes are missing")
    cls = getattr(dl_sklearn, spec["class"])
    known = set(cls().get_params(deep=False))
    if not set(params) <= known:
        raise _bad(path, f"unknown {spec['class']} parameters {sorted(set(params) - known)} (a newer deeplayers?)")
    try:
        est = cls(**{k: _decode_param(v, path) for k, v in params.items()})
        est.network_ = net
        est.n_features_in_ = int(fitted["n_features_in_"])
        if net.layer_dims[0] != est.n_features_in_:
            raise _bad(path, f"n_features_in_ = {est.n_features_in_} but the network takes {net.layer_dims[0]}")
        if "feature_names_in_" in fitted:
            est.feature_names_in_ = np.array(fitted["feature_names_in_"], dtype=object)
        est.loss_curve_ = [float(v) for v in fitted.get("loss_curve_", [])]
        vc = fitted.get("validation_loss_curve_")
        est.validation_loss_curve_ = None if vc is None else [float(v) for v in vc]
        est.n_iter_ = int(fitted.get("n_iter_", 0))
        if spec["class"] == "DNNClassifier":
            classes = _labels_from_json(fitted.get("classes_"), path)
            y_type = fitted.get("y_type")
            lb = LabelBinarizer()
            if y_type == "multilabel-indicator":
                lb.fit(np.eye(len(classes), dtype=int) if len(classes) > 1 else np.array([[0], [1]]))
            else:
                lb.fit(classes)
            if lb.y_type_ != y_type:
                raise _bad(path, f"the classes {classes.tolist()[:10]} do not give the recorded target type {y_type!r}")
            est._label_binarizer, est.classes_ = lb, lb.classes_
            want = len(classes) if y_type != "binary" else 1
            if net.layer_dims[-1] != want:
                raise _bad(path, f"{len(classes)} classes ({y_type}) need {want} output units, the network has "
                                 f"{net.layer_dims[-1]}")
        else:
            est._y_ndim = int(fitted.get("y_ndim", 1))
        rng = fitted.get("rng")
        if isinstance(rng, dict) and "rng_keys" in arrays:
            rs = np.random.RandomState()
            rs.set_state((str(rng["kind"]), arrays["rng_keys"], int(rng["pos"]), int(rng["has_gauss"]),
                          float(rng["cached_gaussian"])))
            est._random_state = rs
        ospec = fitted.get("optimizer")
        if isinstance(ospec, dict):
            opt = est._new_optimizer()
            for k, v in (ospec.get("hyper") or {}).items():
                if hasattr(opt, k) and isinstance(v, (int, float)) and not isinstance(v, bool):
                    setattr(opt, k, v)
            opt.set_state({"t": np.array(int(ospec.get("t", 0))),
                           **{k: arrays[f"opt.{k}"] for k in ospec.get("state", []) if f"opt.{k}" in arrays}})
            est._optimizer = opt
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, DeeplayersError) as exc:
        raise _bad(path, f"the estimator could not be rebuilt ({type(exc).__name__}: {exc})") from None
    return est
