"""scikit-learn estimators over the engine: :class:`DNNClassifier` and :class:`DNNRegressor`.

scikit-learn puts samples in ROWS, X of shape (m, n0); the engine puts them in columns. The
estimators hand the engine the transposed view ``X.T`` (n0, m), never a copy: the training loop
gathers its mini-batches from the rows anyway. Every fit goes through :meth:`Network.fit`, the one
training loop; this module only encodes labels, checks inputs the scikit-learn way and keeps the
optimizer between calls (``warm_start``, ``partial_fit``).

Needs scikit-learn (``pip install "deeplayers[sklearn]"``).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import DataConversionWarning
    from sklearn.preprocessing import LabelBinarizer
    from sklearn.utils import check_random_state
    from sklearn.utils._param_validation import Interval, Options, StrOptions
    from sklearn.utils.class_weight import compute_sample_weight
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "deeplayers.sklearn needs scikit-learn >= 1.6: pip install 'deeplayers[sklearn]'"
    ) from exc

from .activations import ACTIVATIONS
from .defaults import DEFAULTS
from .errors import ConfigError, DeeplayersError, ModelFileError, NotFittedError
from .initializers import INITIALIZERS
from .network import DTYPES, Network
from .optimizers import OPTIMIZERS, Optimizer, get_optimizer
from .shapes import as_float_array
from .threads import BlasThreads, check_threads
from .training import SCHEDULES, EarlyStopping, History

__all__ = ["DNNClassifier", "DNNRegressor", "estimator_from_payload"]

_HIDDEN_ACTIVATIONS = sorted(set(ACTIVATIONS) - {"softmax"})
_SEED_MAX = np.iinfo(np.int32).max


class _BaseDNN(BaseEstimator):
    """Shared parameters, training and persistence of the two estimators."""

    _parameter_constraints: dict[str, list[Any]] = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(_HIDDEN_ACTIVATIONS)), list, tuple],
        "optimizer": [StrOptions(set(OPTIMIZERS)), Optimizer],
        "learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "lr_schedule": [StrOptions(set(SCHEDULES)), tuple, list, callable, None],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"}), None],
        "l2": [Interval(Real, 0, None, closed="left")],
        "keep_prob": [Interval(Real, 0, 1, closed="right"), list, tuple, None],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "init": [StrOptions(set(INITIALIZERS))],
        "dtype": [StrOptions(set(DTYPES)), Options(type, {np.float32, np.float64})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "n_jobs": [Interval(Integral, None, -1, closed="right"), Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = DEFAULTS["hidden_layer_sizes"],
        activation: str | tuple[str, ...] = DEFAULTS["activation"],
        *,
        optimizer: str | Optimizer = DEFAULTS["optimizer"],
        learning_rate: float | None = DEFAULTS["learning_rate"],
        lr_schedule: str | tuple | Callable[[int, float], float] | None = DEFAULTS["lr_schedule"],
        epochs: int = DEFAULTS["epochs"],
        batch_size: int | str | None = DEFAULTS["batch_size"],
        l2: float = DEFAULTS["l2"],
        keep_prob: float | tuple[float, ...] | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        init: str = DEFAULTS["init"],
        dtype: str = DEFAULTS["dtype"],
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.epochs = epochs
        self.batch_size = batch_size
        self.l2 = l2
        self.keep_prob = keep_prob
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.init = init
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.n_jobs = n_jobs

    # -- what subclasses provide -----------------------------------------------------------
    _output: str  # g[L] of the network built for the current targets

    # -- building blocks -------------------------------------------------------------------
    def _dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    def _hidden(self) -> list[int]:
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        if any(not isinstance(n, Integral) or isinstance(n, bool) or n < 1 for n in sizes):
            raise ValueError(f"hidden_layer_sizes must hold positive integers, got {self.hidden_layer_sizes!r}")
        return [int(n) for n in sizes]

    def _activations(self, n_hidden: int) -> list[str]:
        acts = [self.activation] * n_hidden if isinstance(self.activation, str) else list(self.activation)
        if len(acts) != n_hidden:
            raise ValueError(
                f"activation must be one name or one per hidden layer: hidden_layer_sizes has {n_hidden} "
                f"layers, activation has {len(acts)} names ({acts})"
            )
        for g in acts:
            if g not in _HIDDEN_ACTIVATIONS:
                raise ValueError(f"activation {g!r} is not a hidden-layer activation; choose from {_HIDDEN_ACTIVATIONS}")
        return acts

    def _layer_dims(self, n_features: int, n_outputs: int) -> list[int]:
        return [n_features, *self._hidden(), n_outputs]

    def _batch_size(self, m: int) -> int | None:
        if self.batch_size == "auto":
            return min(_AUTO_BATCH, m)
        return self.batch_size

    def _new_optimizer(self) -> Optimizer:
        if isinstance(self.optimizer, Optimizer):
            own = self.optimizer.learning_rate
            if self.learning_rate is not None and self.learning_rate != own:  # once silently replaced
                raise ValueError(
                    f"optimizer={self.optimizer!r} has its own learning rate {own:g}, but learning_rate="
                    f"{self.learning_rate!r} would replace it: pass learning_rate=None to train at {own:g}, "
                    f"or set the two alike")
            opt = copy.deepcopy(self.optimizer)  # the parameter itself stays untouched
            opt.reset()  # for a new network: moments the instance kept from another one do not apply
            return opt
        return get_optimizer(self.optimizer, self.learning_rate)

    def _compatible(self, n_outputs: int) -> bool:
        net = self.network_
        return (net.layer_dims == self._layer_dims(self.n_features_in_, n_outputs)
                and net.activations == [*self._activations(len(self._hidden())), self._output]
                and net.dtype == self._dtype())

    def _train(self, X: np.ndarray, Y: np.ndarray, sample_weight: np.ndarray | None, *, reset: bool,
               epochs: int, incremental: bool = False) -> None:
        """Fit the engine on X (m, n0) rows and Y (m, nL) rows, through their column views.

        ``reset`` draws a new network and optimizer; otherwise training continues from the
        current parameters with the same optimizer state (Adam moments and step count t).
        """
        layer_dims = self._layer_dims(X.shape[1], Y.shape[1])
        if reset:
            self._random_state = check_random_state(self.random_state)
            hidden = self._activations(len(layer_dims) - 2)
            self.network_ = Network(layer_dims, activations=[*hidden, self._output], init=self.init,
                                    seed=int(self._random_state.randint(_SEED_MAX)), dtype=self._dtype())
            self._optimizer = self._new_optimizer()
            self.loss_curve_: list[float] = []
            self.validation_loss_curve_: list[float] | None = [] if self.early_stopping else None
            self.n_iter_ = 0
        elif not self._compatible(Y.shape[1]):
            fix = ("call fit to train a new network (partial_fit continues the fitted one)" if incremental
                   else "set warm_start=False to train a new network")
            raise ValueError(
                f"cannot continue training: the fitted network is {self.network_!r} but the current "
                f"parameters and y ask for layer_dims={layer_dims}, activation={self.activation!r}, "
                f"dtype={self.dtype!r}; {fix}"
            )
        validate = self.early_stopping and not incremental
        if validate:
            stop = EarlyStopping(patience=self.n_iter_no_change, min_delta=self.tol, restore_best=True)
        elif not incremental:  # scikit-learn's convergence rule: the training loss stalls
            stop = EarlyStopping(patience=self.n_iter_no_change, min_delta=self.tol, monitor="cost",
                                 restore_best=False)
        else:
            stop = False
        # X.T and Y.T are views (n0, m), (nL, m): the engine's column convention without a copy
        history: History = self.network_.fit(
            X.T, Y.T, epochs=epochs, optimizer=self._optimizer, learning_rate=self.learning_rate,
            lr_schedule=self.lr_schedule,
            batch_size=self._batch_size(X.shape[0]), l2=self.l2, keep_prob=self.keep_prob,
            validation_split=self.validation_fraction if validate else 0.0, early_stopping=stop,
            verbose=self.verbose, seed=int(self._random_state.randint(_SEED_MAX)),
            sample_weight=sample_weight, threads=check_threads(self.n_jobs, "n_jobs"),  # (named as set)
        )
        self.loss_curve_.extend(float(J) for J in history.cost)
        if validate:
            if self.validation_loss_curve_ is None:
                self.validation_loss_curve_ = []
            self.validation_loss_curve_.extend(float(J) for J in history.val_cost)
        self.n_iter_ += len(history.cost)

    def _validate_Xy(self, X: Any, y: Any, reset: bool, **y_params: Any) -> tuple[np.ndarray, np.ndarray]:
        # C order: samples are contiguous rows, so X.T is the engine's (n0, m) with no copy
        return validate_data(self, X, y, reset=reset, dtype=self._dtype(), order="C", multi_output=True,
                             **y_params)

    def _sample_weight(self, sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
        if sample_weight is None:
            return None
        return _check_sample_weight(sample_weight, X, dtype=self._dtype(), ensure_non_negative=True)

    def _forward(self, X: Any) -> np.ndarray:
        """A[L] transposed to rows: (m, nL), in float64.

        Predictions run in float64 whatever the training dtype: float32 sums depend on where a
        sample sits in the batch (BLAS blocking), and scikit-learn expects a prediction to be the
        same for a sample alone, in a subset or in any order. Inference is cheap next to training.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        net = self.network_
        if net.dtype != np.float64:
            net = Network.from_spec({**net.to_spec(), "dtype": "float64"},
                                    {k: v.astype(np.float64) for k, v in net.parameters.items()}, copy=False)
        work = max(layer.n * layer.n_prev for layer in net.layers) * X.shape[0]
        with BlasThreads(self.n_jobs, work, "n_jobs"):
            return net.predict_proba(X.T).T

    # -- persistence -----------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        # the network travels as its spec and parameters, not its scratch buffers
        state = dict(super().__getstate__())  # a copy: never change the live estimator
        net = state.get("network_")
        if isinstance(net, Network):
            state["network_"] = {
                **net.to_spec(), "parameters": {k: np.array(v) for k, v in net.parameters.items()},
                "history": net.history.as_dict() if net.history is not None else None,
            }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        spec = state.get("network_")
        if isinstance(spec, dict):
            net = Network.from_spec(spec, spec["parameters"], copy=False)
            if spec["history"] is not None:
                net.history = History.from_dict(spec["history"])
            state = {**state, "network_": net}
        super().__setstate__(state)

    def model_file_payload(self) -> tuple[str, Network, dict[str, np.ndarray], dict[str, Any]]:
        """What :func:`deeplayers.save` writes for this estimator besides ``network_`` (which it
        writes itself): the class name, the constructor parameters and the fitted attributes
        needed to predict and to keep training (classes, feature names, curves, RNG and optimizer
        state), as arrays and JSON, never pickled. :func:`estimator_from_payload` reads it back."""
        name = type(self).__name__
        if _ESTIMATORS.get(name) is not type(self):
            raise TypeError(f"save() supports the estimators {', '.join(_ESTIMATORS)}, not {name}")
        if not isinstance(getattr(self, "network_", None), Network):
            raise NotFittedError(f"this {name} is not fitted yet: call fit(X, y) before saving it")
        params = {k: _encode_param(v, k) for k, v in self.get_params(deep=False).items()}
        arrays: dict[str, np.ndarray] = {}
        fitted: dict[str, Any] = {
            "n_features_in_": int(self.n_features_in_),
            "loss_curve_": [float(v) for v in getattr(self, "loss_curve_", [])],
            "validation_loss_curve_": (None if getattr(self, "validation_loss_curve_", None) is None
                                       else [float(v) for v in self.validation_loss_curve_]),
            "n_iter_": int(getattr(self, "n_iter_", 0)),
        }
        if hasattr(self, "feature_names_in_"):
            fitted["feature_names_in_"] = [str(f) for f in self.feature_names_in_]
        if hasattr(self, "classes_"):
            fitted["classes_"] = _labels_to_json(np.asarray(self.classes_))
            fitted["y_type"] = self._label_binarizer.y_type_
        if hasattr(self, "_y_ndim"):
            fitted["y_ndim"] = int(self._y_ndim)
        rs = getattr(self, "_random_state", None)
        if isinstance(rs, np.random.RandomState):  # to continue training (warm_start) exactly
            kind, keys, pos, has_gauss, cached = rs.get_state()
            arrays["rng_keys"] = np.asarray(keys, dtype=np.uint32)
            fitted["rng"] = {"kind": kind, "pos": int(pos), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)}
        opt = getattr(self, "_optimizer", None)
        if opt is not None:
            state = opt.get_state()
            fitted["optimizer"] = {"name": opt.name, "t": int(state.pop("t")),
                                   "hyper": {k: v for k, v in vars(opt).items()
                                             if k != "t" and isinstance(v, (int, float))},
                                   "state": sorted(state)}
            for k, v in state.items():
                arrays[f"opt.{k}"] = np.asarray(v)
        classes = fitted["classes_"]["values"] if "classes_" in fitted else None
        header = {"estimator": {"class": name, "params": params, "fitted": fitted},
                  "classes": classes, "preprocessing": {"type": "none"}}
        return "estimator", self.network_, arrays, header


_AUTO_BATCH = 200


_PARAMS_DOC = """
    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        n[1], ..., n[L-1]: the sizes of the hidden layers (``()`` for none).
    activation : str or tuple of str, default="relu"
        g[l] of the hidden layers: one name for all (``relu``, ``leaky_relu``, ``tanh``,
        ``sigmoid``, ``linear``) or one per hidden layer.
    optimizer : {"adam", "gd", "sgd", "momentum", "rmsprop"} or Optimizer, default="adam"
        The update rule. An :class:`~deeplayers.optimizers.Optimizer` instance is copied at
        ``fit``; its state then persists across ``partial_fit`` and warm-started fits.
    learning_rate : float or None, default=0.001
        alpha; None uses the optimizer's own default, or an Optimizer instance's own rate (a
        learning_rate that disagrees with an instance's is an error, not silently applied).
    lr_schedule : str, (name, params) or callable, default="cosine"
        How alpha changes over the epochs of each ``fit``: ``"cosine"`` anneals it along half a
        cosine from ``learning_rate`` towards 0 over ``epochs`` (for MNIST, 256-128, 20 epochs,
        this took test accuracy from 97.87-98.05% with a constant rate to 98.26-98.35%);
        ``"constant"`` (MLPClassifier's Adam), ``"step"``, ``"exponential"``, ``"inverse_time"``,
        a pair such as ``("cosine", {"min_fraction": 0.1})``, or ``f(epoch, lr0) -> lr``. Each
        ``fit`` runs the schedule from epoch 0 (a warm start restarts it); ``partial_fit``
        trains at ``learning_rate``.
    epochs : int, default=200
        Maximum passes over the training data per ``fit`` (``partial_fit`` does one).
    batch_size : int, "auto" or None, default=128
        Mini-batch size (at least m: full batch); ``"auto"`` is MLPClassifier's ``min(200, m)``;
        None trains full batch.
    l2 : float, default=1e-4
        lambda of the L2 penalty lambda/(2 m_batch) sum ||W[l]||^2, the same convention and
        default as scikit-learn's ``alpha``.
    keep_prob : float or tuple of float, default=None
        KEEP probabilities of inverted dropout for the hidden layers (the course's ``keep_prob``:
        0.8 drops 20% of the units), one for all or one per hidden layer. None keeps all. (There is
        no ``dropout`` parameter: a drop rate p is ``keep_prob = 1 - p``; model files written
        before the rename, whose ``dropout`` held this keep probability, load as ``keep_prob``.)
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the training data and stop when its cost has not
        improved by ``tol`` for ``n_iter_no_change`` epochs; the best epoch's weights are kept.
    validation_fraction : float, default=0.1
        Share of the training data held out when ``early_stopping``.
    n_iter_no_change : int, default=10
        Patience, in epochs. Without early stopping, training also ends when the training loss
        has not improved by ``tol`` for this many epochs (scikit-learn's convergence rule).
    tol : float, default=1e-4
        Minimum improvement of the monitored loss.
    init : {"xavier", "he", "course", "small"}, default="xavier"
        Initializer of W[l] (Glorot's, the default of Keras and MLPClassifier too); b[l] = 0.
    dtype : {"float32", "float64"}, default="float32"
        Precision of the weights and of the training arithmetic.
    random_state : int, RandomState or None, default=None
        Seeds the initial weights, mini-batch order, dropout and validation split.
    verbose : int, default=0
        0 silent; 1 a progress bar (or a line per tenth of the run); 2 a line per epoch.
    warm_start : bool, default=False
        When True, ``fit`` continues from the previous weights and optimizer state.
    n_jobs : int or None, default=None
        BLAS threads for training and prediction, as scikit-learn's ``n_jobs``: None chooses (one
        thread for small matrix products, otherwise the cores other programs leave free; in
        training, beside other programs, the large products split across threads), -1 every
        core, -2 all but one, or a positive count (see :mod:`deeplayers.threads`).
"""

_ATTRS_DOC = """
    Attributes
    ----------
    network_ : Network
        The trained network (samples as columns, as the engine expects).
    loss_curve_ : list of float
        Training cost of each epoch (including the L2 term), over all calls.
    validation_loss_curve_ : list of float or None
        Validation cost of each epoch when ``early_stopping``; otherwise None.
    n_iter_ : int
        Number of epochs run, over all calls.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Present when X had string column names (a DataFrame).
"""


class DNNClassifier(ClassifierMixin, _BaseDNN):
    __doc__ = (
        """A deep L-layer network classifier with scikit-learn's API (samples as rows).

    Binary targets get one sigmoid output, multiclass targets a softmax over the classes, and
    multilabel targets (a 2-D 0/1 indicator matrix) one sigmoid per label. Labels may be of any
    type (strings too); ``classes_`` maps output units back to them.
    """
        + _PARAMS_DOC
        + """    class_weight : dict, "balanced" or None, default=None
        Weights of the classes, multiplied into ``sample_weight``; ``"balanced"`` uses
        m / (n_classes * count(class)).
"""
        + _ATTRS_DOC
        + """    classes_ : ndarray of shape (n_classes,)
        The class labels (for multilabel targets: 0..n_labels-1).

    Examples
    --------
    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> clf = DNNClassifier(hidden_layer_sizes=(16,), learning_rate=0.01, epochs=100, random_state=0)
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """
    )

    _parameter_constraints = {
        **_BaseDNN._parameter_constraints,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        hidden_layer_sizes: int | tuple[int, ...] = DEFAULTS["hidden_layer_sizes"],
        activation: str | tuple[str, ...] = DEFAULTS["activation"],
        *,
        optimizer: str | Optimizer = DEFAULTS["optimizer"],
        learning_rate: float | None = DEFAULTS["learning_rate"],
        lr_schedule: str | tuple | Callable[[int, float], float] | None = DEFAULTS["lr_schedule"],
        epochs: int = DEFAULTS["epochs"],
        batch_size: int | str | None = DEFAULTS["batch_size"],
        l2: float = DEFAULTS["l2"],
        keep_prob: float | tuple[float, ...] | None = None,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        init: str = DEFAULTS["init"],
        dtype: str = DEFAULTS["dtype"],
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
        warm_start: bool = False,
        n_jobs: int | None = None,
        class_weight: dict | str | None = None,
    ) -> None:
        super().__init__(
            hidden_layer_sizes, activation, optimizer=optimizer, learning_rate=learning_rate,
            lr_schedule=lr_schedule, epochs=epochs,
            batch_size=batch_size, l2=l2, keep_prob=keep_prob, early_stopping=early_stopping,
            validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change, tol=tol, init=init,
            dtype=dtype, random_state=random_state, verbose=verbose, warm_start=warm_start, n_jobs=n_jobs,
        )
        self.class_weight = class_weight

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags

    @property
    def _output(self) -> str:  # type: ignore[override]
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "sigmoid"

    # -- labels ----------------------------------------------------------------------------
    def _check_y(self, y: np.ndarray) -> np.ndarray:
        y_type = type_of_target(y, input_name="y")
        if y_type == "multiclass-multioutput":
            raise ValueError("DNNClassifier does not support multiclass-multioutput targets (a 2-D y with "
                             "more than two values); use a 1-D y, or a 0/1 indicator matrix for multilabel")
        check_classification_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; it was raveled.",
                          DataConversionWarning, stacklevel=3)
            y = column_or_1d(y)
        return y

    def _fit_labels(self, y: np.ndarray, classes: Any = None) -> None:
        lb = LabelBinarizer()
        if classes is not None and type_of_target(y) != "multilabel-indicator":
            lb.fit(np.asarray(classes))
        else:
            lb.fit(y)
        if lb.y_type_ != "multilabel-indicator" and len(lb.classes_) < 2:
            only = lb.classes_[0].item() if isinstance(lb.classes_[0], np.generic) else lb.classes_[0]
            raise ValueError(f"DNNClassifier needs samples of at least 2 classes; y holds 1 class ({only!r})")
        self._label_binarizer = lb
        self.classes_ = lb.classes_

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Y as rows (m, nL) in the training dtype: 0/1 (binary, multilabel) or one-hot (multiclass)."""
        if self._label_binarizer.y_type_ != "multilabel-indicator":
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                raise ValueError(f"y holds labels {unseen.tolist()} that are not among classes_ "
                                 f"{self.classes_.tolist()}")
        return np.ascontiguousarray(self._label_binarizer.transform(y), dtype=self._dtype())

    def _weights(self, y: np.ndarray, sample_weight: np.ndarray | None) -> np.ndarray | None:
        if self.class_weight is None:
            return sample_weight
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            raise ValueError("class_weight is not supported for multilabel targets; pass sample_weight instead")
        cw = compute_sample_weight(self.class_weight, y).astype(self._dtype())
        return cw if sample_weight is None else cw * sample_weight

    # -- fitting ---------------------------------------------------------------------------
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DNNClassifier:
        """Train on X (m, n_features) and labels y (m,) or a multilabel indicator (m, n_labels).

        Parameters
        ----------
        X : array-like of shape (m, n_features)
        y : array-like of shape (m,) or (m, n_labels)
        sample_weight : array-like of shape (m,), optional
            Non-negative weight of each sample in the cost and its gradient.

        Returns
        -------
        self
        """
        self._validate_params()
        reset = not (self.warm_start and hasattr(self, "network_"))
        X, y = self._validate_Xy(X, y, reset=reset)
        y = self._check_y(y)
        if reset:
            self._fit_labels(y)
        else:
            previous = self.classes_
            lb = LabelBinarizer().fit(y)
            if lb.y_type_ != self._label_binarizer.y_type_ or not np.array_equal(lb.classes_, previous):
                raise ValueError("warm_start can only be used where `y` has the same classes as in the previous "
                                 f"call to fit: {previous.tolist()}, got {lb.classes_.tolist()}")
        Y = self._encode(y)
        w = self._weights(y, self._sample_weight(sample_weight, X))
        self._train(X, Y, w, reset=reset, epochs=self.epochs)
        return self

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> DNNClassifier:
        """One epoch over (X, y), continuing from the current weights and optimizer state.

        Parameters
        ----------
        X : array-like of shape (m, n_features)
        y : array-like of shape (m,) or (m, n_labels)
        classes : array-like of shape (n_classes,)
            All the labels y can hold; required on the first call (except for multilabel y).
        sample_weight : array-like of shape (m,), optional

        Returns
        -------
        self
        """
        first = not hasattr(self, "network_")
        if first:
            self._validate_params()
        if self.class_weight == "balanced":  # on every call: each batch's own counts are not the data's
            raise ValueError("class_weight='balanced' needs the whole y and is not supported by "
                             "partial_fit; pass a dict of class weights instead")
        X, y = self._validate_Xy(X, y, reset=first)
        y = self._check_y(y)
        if first:
            if classes is None and type_of_target(y) != "multilabel-indicator":
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._fit_labels(y, classes)
        elif classes is not None and not np.array_equal(np.sort(np.asarray(classes)), self.classes_):
            raise ValueError(f"`classes={np.asarray(classes).tolist()}` is not the same as on the first call "
                             f"to partial_fit ({self.classes_.tolist()})")
        Y = self._encode(y)
        w = self._weights(y, self._sample_weight(sample_weight, X))
        self._train(X, Y, w, reset=first, epochs=1, incremental=True)
        return self

    # -- using the model -------------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (m, n_classes); binary: two columns (1 - p, p) like
        scikit-learn; multilabel: one independent probability per label."""
        P = self._forward(X)
        if self._label_binarizer.y_type_ == "binary":
            return np.hstack([1 - P, P])
        return P

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of :meth:`predict_proba`."""
        return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Labels (m,) from ``classes_``; multilabel: a 0/1 indicator (m, n_labels)."""
        P = self._forward(X)
        return self._label_binarizer.inverse_transform(P)


class DNNRegressor(RegressorMixin, _BaseDNN):
    __doc__ = (
        """A deep L-layer network regressor with scikit-learn's API (samples as rows).

    A linear output layer with one unit per target and the mean squared error
    (1/(2m)) sum ||A[L] - Y||^2; y may be (m,) or (m, n_targets).
    """
        + _PARAMS_DOC
        + _ATTRS_DOC
        + """
    Examples
    --------
    >>> import numpy as np
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = DNNRegressor(hidden_layer_sizes=(32,), learning_rate=0.01, epochs=200, random_state=0)
    >>> reg.fit(X, X.ravel() ** 2).score(X, X.ravel() ** 2) > 0.9
    True
    """
    )

    _output = "linear"

    def __sklearn_tags__(self):  # noqa: ANN204 - scikit-learn's Tags
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_y(self, y: np.ndarray) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; it was raveled.",
                          DataConversionWarning, stacklevel=3)
            y = column_or_1d(y)
        return y

    def _rows(self, y: np.ndarray) -> np.ndarray:
        y = as_float_array(y.reshape(len(y), -1), "y", self._dtype())  # past float32's range: said so
        return np.ascontiguousarray(y)

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> DNNRegressor:
        """Train on X (m, n_features) and targets y (m,) or (m, n_targets), each sample weighted by
        ``sample_weight`` (m,) if given; returns self."""
        self._validate_params()
        reset = not (self.warm_start and hasattr(self, "network_"))
        X, y = self._validate_Xy(X, y, reset=reset, y_numeric=True)
        y = self._check_y(y)
        if not reset and y.ndim != self._y_ndim:
            raise ValueError(f"warm_start needs targets of the same shape as before: y had {self._y_ndim} "
                             f"dimension(s), now {y.ndim}")
        self._y_ndim = y.ndim
        self._train(X, self._rows(y), self._sample_weight(sample_weight, X), reset=reset, epochs=self.epochs)
        return self

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> DNNRegressor:
        """One epoch over (X, y), shaped as for :meth:`fit`, continuing from the current weights and
        optimizer state; returns self."""
        first = not hasattr(self, "network_")
        if first:
            self._validate_params()
        X, y = self._validate_Xy(X, y, reset=first, y_numeric=True)
        y = self._check_y(y)
        if first:
            self._y_ndim = y.ndim
        self._train(X, self._rows(y), self._sample_weight(sample_weight, X), reset=first, epochs=1,
                    incremental=True)
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets, shape (m,) or (m, n_targets) as y was at fit."""
        A = self._forward(X)
        return A.ravel() if self._y_ndim == 1 else A

# -- model files -----------------------------------------------------------------------------------
# An estimator is stored as data, never pickled: the class NAME (looked up in this allowlist), the
# constructor parameters in a small tagged JSON encoding, and the fitted attributes; the network
# itself is written and checked by deeplayers.modelfile through its spec.
_ESTIMATORS: dict[str, type[_BaseDNN]] = {"DNNClassifier": DNNClassifier, "DNNRegressor": DNNRegressor}


def _encode_param(value: Any, name: str) -> Any:
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


def _decode_param(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode_param(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__tuple__" in value and isinstance(value["__tuple__"], list):
        return tuple(_decode_param(v) for v in value["__tuple__"])
    if "__dict__" in value and isinstance(value["__dict__"], list):
        return {_decode_param(k): _decode_param(v) for k, v in value["__dict__"]}
    if value.get("__dtype__") in ("float32", "float64"):
        return value["__dtype__"]
    if value.get("__optimizer__") in OPTIMIZERS and isinstance(value.get("hyper"), dict):
        opt = OPTIMIZERS[value["__optimizer__"]]()
        _set_hyper(opt, value["hyper"])
        return opt
    raise ModelFileError(f"an estimator parameter has an unknown encoding {value!r:.100}")


def _set_hyper(opt: Optimizer, hyper: Any) -> None:
    if not isinstance(hyper, (dict, type(None))):
        raise ModelFileError(f"the optimizer's hyperparameters {hyper!r:.80} are not a dict")
    for k, v in (hyper or {}).items():
        if hasattr(opt, k) and isinstance(v, (int, float)) and not isinstance(v, bool):
            setattr(opt, k, v)


def _labels_to_json(classes: np.ndarray) -> dict[str, Any]:
    if classes.dtype.kind in "biufU":
        return {"dtype": classes.dtype.str, "values": classes.tolist()}
    if classes.dtype.kind == "O" and all(isinstance(c, str) for c in classes):
        return {"dtype": "object-str", "values": classes.tolist()}
    raise ConfigError(f"cannot save class labels of dtype {classes.dtype} ({classes[:5]!r:.80}); use strings or numbers")


def _labels_from_json(d: Any) -> np.ndarray:
    if not isinstance(d, dict) or not isinstance(d.get("values"), list):
        raise ModelFileError("the estimator's classes are missing")
    if d.get("dtype") == "object-str":
        if not all(isinstance(c, str) for c in d["values"]):
            raise ModelFileError("the estimator's string classes are not all strings")
        return np.array(d["values"], dtype=object)
    try:
        dtype = np.dtype(d.get("dtype"))
    except TypeError:
        dtype = None
    if dtype is None or dtype.kind not in "biufU" or not all(isinstance(c, (int, float, str, bool)) for c in d["values"]):
        raise ModelFileError(f"the estimator's classes have an unsupported dtype {d.get('dtype')!r:.40}")
    return np.array(d["values"], dtype=dtype)


def estimator_from_payload(network: Network, arrays: dict[str, np.ndarray], header: dict[str, Any]) -> _BaseDNN:
    """The fitted estimator that :meth:`~_BaseDNN.model_file_payload` described, around ``network``
    (already rebuilt and checked by :func:`deeplayers.load`); ``arrays`` are the estimator's own
    (RNG and optimizer state). Raises ModelFileError saying what in the file is wrong."""
    spec = header.get("estimator")
    if not isinstance(spec, dict) or spec.get("class") not in _ESTIMATORS:
        cls_name = spec.get("class") if isinstance(spec, dict) else None
        raise ModelFileError(f"the estimator class {cls_name!r:.60} is not one of {', '.join(_ESTIMATORS)}")
    params, fitted = spec.get("params"), spec.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise ModelFileError("the estimator's params or fitted attributes are missing")
    cls = _ESTIMATORS[spec["class"]]
    if "dropout" in params and "keep_prob" not in params:  # written before the rename: the same keep probability
        params = {("keep_prob" if k == "dropout" else k): v for k, v in params.items()}
    known = set(cls().get_params(deep=False))
    if not set(params) <= known:
        raise ModelFileError(f"unknown {spec['class']} parameters {sorted(set(params) - known)} (a newer deeplayers?)")
    try:
        est = cls(**{k: _decode_param(v) for k, v in params.items()})
        _restore_fitted(est, network, fitted, arrays)
    except ModelFileError:
        raise
    except (TypeError, ValueError, KeyError, DeeplayersError) as exc:
        raise ModelFileError(f"the estimator could not be rebuilt ({type(exc).__name__}: {exc})") from None
    return est


def _restore_fitted(est: _BaseDNN, net: Network, fitted: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    est.network_ = net
    est.n_features_in_ = int(fitted["n_features_in_"])
    if net.layer_dims[0] != est.n_features_in_:
        raise ModelFileError(f"n_features_in_ = {est.n_features_in_} but the network takes {net.layer_dims[0]}")
    if "feature_names_in_" in fitted:
        est.feature_names_in_ = np.array(fitted["feature_names_in_"], dtype=object)
    est.loss_curve_ = [float(v) for v in fitted.get("loss_curve_", [])]
    vc = fitted.get("validation_loss_curve_")
    est.validation_loss_curve_ = None if vc is None else [float(v) for v in vc]
    est.n_iter_ = int(fitted.get("n_iter_", 0))
    if isinstance(est, DNNClassifier):
        classes = _labels_from_json(fitted.get("classes_"))
        y_type = fitted.get("y_type")
        lb = LabelBinarizer()
        if y_type == "multilabel-indicator":
            lb.fit(np.eye(len(classes), dtype=int) if len(classes) > 1 else np.array([[0], [1]]))
        else:
            lb.fit(classes)
        if lb.y_type_ != y_type:
            raise ModelFileError(f"the classes {classes.tolist()[:10]} do not give the recorded target type {y_type!r}")
        est._label_binarizer, est.classes_ = lb, lb.classes_
        want = len(classes) if y_type != "binary" else 1
        if net.layer_dims[-1] != want:
            raise ModelFileError(f"{len(classes)} classes ({y_type}) need {want} output units, the network has "
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
        _set_hyper(opt, ospec.get("hyper"))
        opt.set_state({"t": np.array(int(ospec.get("t", 0))),
                       **{k: arrays[f"opt.{k}"] for k in ospec.get("state", []) if f"opt.{k}" in arrays}})
        est._optimizer = opt
