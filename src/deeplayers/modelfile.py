"""Safe model files: ``deeplayers.save(model, path)`` and ``deeplayers.load(path)``.

One ``.npz`` file per model (see :mod:`deeplayers._atomic` for the container): the arrays
``W1, b1, ..., WL, bL`` and a JSON header with the file format version, ``kind`` (``network``
or ``estimator``), the network's spec (:meth:`Network.to_spec`: ``layer_dims``, ``activations``
with their parameters, ``loss``, ``dtype``, ``init``, ``seed``), the preprocessing fitted on the
training data, the class labels, training hyperparameters and history, the library version and
a SHA-256 of the arrays. Files are written atomically and read without pickle.

Other objects that hold a network save themselves through a small protocol:
``obj.model_file_payload()`` returns ``(kind, network, arrays, header)``, the network is written
here like any other and the object's own arrays and header fields go beside it; on load, the
module of that kind rebuilds the object from the network and its part of the file. The
scikit-learn estimators (kind ``estimator``, :mod:`deeplayers.sklearn`) work this way.

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
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import MAX_BYTES, _json_default, load_npz_with_header, save_npz_with_header
from ._version import __version__
from .errors import ConfigError, DataError, DeeplayersError, ModelFileError, ShapeError
from .network import Network
from .preprocessing import Preprocessing, _columns
from .shapes import check_finite
from .training import History

__all__ = ["save", "load", "Model", "Preprocessing"]


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
        check_finite("X", X, todo="clean or impute it before predicting")
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
            labels = np.asarray(self.classes)
            if labels.dtype.kind == "U" and not all(isinstance(c, str) for c in self.classes):
                labels = np.array(self.classes, dtype=object)  # [1, "b"] stays 1 and "b", not "1" and "b"
            return labels[P]
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
    seen = [c for i, c in enumerate(out) if c in out[:i]]
    if seen:
        raise ConfigError(f"class labels must differ from each other; {seen[0]!r} is there twice in {out}")
    nL, g = network.layer_dims[-1], network.activations[-1]
    want = 2 if (g == "sigmoid" and nL == 1) else nL
    if g in ("softmax", "sigmoid") and len(out) != want:
        raise ConfigError(f"{len(out)} class labels given for an output layer of n[L] = {nL} {g} units "
                          f"(it needs {want})")
    return out


# -- saving ----------------------------------------------------------------------------------------
def _network_part(net: Network) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays W1, b1, ..., WL, bL and the header's network fields: the spec and the history."""
    spec = net.to_spec()  # refuses custom activations and losses
    arrays = {}
    for layer in net.layers:
        if not (np.isfinite(layer.W).all() and np.isfinite(layer.b).all()):
            raise DataError(f"W[{layer.l}] or b[{layer.l}] holds NaN or infinity; refusing to save a broken model")
        arrays[f"W{layer.l}"] = np.ascontiguousarray(layer.W)
        arrays[f"b{layer.l}"] = np.ascontiguousarray(layer.b)
    return arrays, {**spec, "history": net.history.as_dict() if net.history is not None else None}


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
    path = Path(path)
    for name, free in (("metadata", metadata), ("hyperparameters", hyperparameters)):
        _check_json(name, free)
    common = {
        "library": "deeplayers",
        "library_version": __version__,
        "saved_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "metadata": dict(metadata or {}),
    }
    if isinstance(model, Model):
        wrapped = model
        net = model.network
        preprocessing = wrapped.preprocessing if preprocessing is None else preprocessing
        classes = wrapped.classes if classes is None else classes
        hyperparameters = wrapped.hyperparameters if hyperparameters is None else hyperparameters
        common["metadata"] = {**wrapped.metadata, **common["metadata"]}
    elif isinstance(model, Network):
        net = model
    elif callable(getattr(model, "model_file_payload", None)):
        kind, net, own_arrays, own_header = model.model_file_payload()
        arrays, header = _network_part(net)
        if set(own_arrays) & set(arrays) or set(own_header) & {"kind", *header, *common}:
            raise ValueError(f"{type(model).__name__}.model_file_payload() reuses names the model file writes itself")
        return save_npz_with_header(path, {**arrays, **own_arrays}, {"kind": kind, **header, **own_header, **common})
    else:
        raise TypeError(f"save() takes a Network, a Model or a deeplayers.sklearn estimator, "
                        f"got {type(model).__name__}")
    checked = Model(net, preprocessing, classes)  # validates preprocessing and classes up front
    arrays, header = _network_part(net)
    header.update({
        "kind": "network",
        "preprocessing": checked.preprocessing.to_dict(),
        "classes": checked.classes,
        "hyperparameters": dict(hyperparameters or {}),
        **common,
    })
    return save_npz_with_header(path, arrays, header)


def _check_json(name: str, free: Mapping[str, Any] | None) -> None:
    """A ConfigError naming the entry of metadata / hyperparameters that JSON cannot hold."""
    if free is None:
        return
    if not isinstance(free, Mapping):
        raise ConfigError(f"{name} must be a dict, got {type(free).__name__}")
    for key, value in free.items():
        try:
            json.dumps({str(key): value}, default=_json_default)
        except (TypeError, ValueError) as e:
            raise ConfigError(f"{name}[{key!r}] cannot be written to a model file ({e}); give JSON values: "
                              f"numbers, strings, lists, dicts") from None


# -- loading ---------------------------------------------------------------------------------------
_PARAMETER = re.compile(r"[Wb][1-9][0-9]*")


def _bad(path: Path, what: str) -> ModelFileError:
    return ModelFileError(f"{path}: {what}; the file is damaged or was not written by deeplayers.save — "
                          "re-save the model or restore a backup")


def network_from_file(arrays: Mapping[str, np.ndarray], header: Mapping[str, Any], path: Path) -> Network:
    """Rebuild the Network that a header's spec and the W/b arrays describe (all checked)."""
    try:
        net = Network.from_spec(header, arrays, copy=False)
    except DeeplayersError as exc:
        raise _bad(path, str(exc)) from None
    hist = header.get("history")
    if isinstance(hist, dict):
        try:
            net.history = History.from_dict(hist)
        except (TypeError, ValueError):
            net.history = None  # a damaged history should not make the parameters unusable
    return net


def _payload_reader(kind: Any, path: Path) -> Callable[[Network, dict[str, np.ndarray], dict[str, Any]], Any] | None:
    """The function that rebuilds an object saved through ``model_file_payload()``, by its kind.

    Its module is imported only when such a file is read (the estimators need scikit-learn). The
    reader raises ModelFileError saying what is wrong; the path is added here."""
    if kind == "estimator":
        try:
            from .sklearn import estimator_from_payload
        except ImportError as exc:
            raise ImportError(f"{path} holds a scikit-learn estimator; loading it needs scikit-learn "
                              f"(pip install 'deeplayers[sklearn]'): {exc}") from None
        return estimator_from_payload
    return None


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
    if kind != "network":
        reader = _payload_reader(kind, path)
        if reader is None:
            raise ModelFileError(f"{path}: holds a {kind!r} (not a model this version of deeplayers can load: "
                                 "'network' or 'estimator'); a training checkpoint is resumed with fit(resume=...)")
        params = {k: v for k, v in arrays.items() if _PARAMETER.fullmatch(k)}
        net = network_from_file(params, header, path)
        try:
            return reader(net, {k: v for k, v in arrays.items() if k not in params}, header)
        except ModelFileError as exc:
            raise _bad(path, str(exc)) from None
    net = network_from_file(arrays, header, path)
    try:
        return Model(net, header.get("preprocessing"), header.get("classes"),
                     metadata=header.get("metadata") if isinstance(header.get("metadata"), dict) else None,
                     hyperparameters=(header.get("hyperparameters")
                                      if isinstance(header.get("hyperparameters"), dict) else None),
                     library_version=header.get("library_version"))
    except (ConfigError, ShapeError, TypeError) as exc:
        raise _bad(path, f"its preprocessing or classes are invalid ({exc})") from None
