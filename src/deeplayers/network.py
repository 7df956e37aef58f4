"""The deep L-layer network: a stack of Dense layers l = 1..L with one loss.

    layer_dims = [n0, n1, ..., nL];  W[l]: (n[l], n[l-1]);  b[l]: (n[l], 1);  X = A[0]: (n0, m).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .activations import ACTIVATIONS, Activation, get_activation
from .errors import ConfigError, DataError, DeeplayersError, ShapeError
from .initializers import INITIALIZERS, check_seed, initialize
from .layers import Dense
from .losses import LOSSES, Loss, default_loss, get_loss
from .shapes import as_float_array, check_finite, check_layer_dims, check_X, check_Y
from .training import History
from .training import fit as _fit
from .workspace import Workspace

if TYPE_CHECKING:
    from .trace import Trace

__all__ = ["Network", "SPEC_KEYS"]

#: the floating-point types a Network stores W[l], b[l] in and computes with
DTYPES = ("float32", "float64")
# what Network.to_spec() describes, in the order it writes it
SPEC_KEYS = ("layer_dims", "activations", "activation_params", "loss", "dtype", "init", "seed")
# predict_proba's one-pass limit: the bytes of the largest A[l] (larger inputs go in chunks)
PREDICT_BYTES = 128 * 2**20
# the part of the spec that fixes what W[l], b[l] mean (init and seed only say where they started)
_ARCHITECTURE = ("layer_dims", "activations", "activation_params", "loss", "dtype")


def _activation_list(L: int, hidden: Any, output: Any, activations: Sequence[Any] | None) -> list[Any]:
    """g[1..L] from either ``hidden`` and ``output`` or ``activations``, never a mix of the two."""
    if activations is not None:
        if not (isinstance(hidden, str) and hidden == "relu" and isinstance(output, str) and output == "sigmoid"):
            raise ConfigError("give either activations=[g1, ..., gL] or hidden=/output=, not both")
        if isinstance(activations, (str, Activation)) or len(activations) != L:
            raise ConfigError(f"activations= needs one activation per layer l = 1..L: {L} names, got {activations!r}")
        return list(activations)
    if isinstance(hidden, (str, Activation)):
        return [hidden] * (L - 1) + [output]
    hidden = list(hidden)
    if len(hidden) == L:
        raise ConfigError(f"hidden takes the L-1 = {L - 1} hidden layers' g[l], and got {L} names, which would leave "
                          f"output={output!r} unused: give all L as activations=[...], or the hidden ones only")
    if len(hidden) != L - 1:
        raise ConfigError(f"give one activation per layer l = 1..L: {L - 1} hidden ones plus output=..., or "
                          f"activations=[{L} names]; got hidden={hidden}")
    return [*hidden, output]


_PREDICT_TODO = "clean or impute X (as the training data was) before predicting"


class Network:
    """A deep L-layer network in the course's notation.

    Parameters
    ----------
    layer_dims : list of int
        ``[n0, n1, ..., nL]``: n0 input features, nL output units.
    hidden : str or list of str
        g[l] for the hidden layers l = 1..L-1: one name for all, or a list of L-1 names.
    output : str
        g[L]: ``sigmoid`` (binary / multi-label), ``softmax`` (multi-class) or ``linear`` (regression).
    activations : list of str, optional
        g[1..L], one per layer, instead of ``hidden`` and ``output`` (giving both is refused; so is
        a ``hidden`` list of all L names, which would leave ``output`` unused).
    loss : str, optional
        Defaults to the loss that pairs with ``output`` (sigmoid: binary cross-entropy, softmax:
        categorical cross-entropy, otherwise mean squared error).
    init : str or None
        ``he``, ``xavier``, ``course`` (randn / sqrt(n[l-1])) or ``small`` (randn * 0.01);
        None leaves W = 0 for parameters set afterwards.
    seed : int, optional
        Seeds NumPy's legacy ``RandomState`` for the weights (drawn W1, W2, ... in order) and the
        training RNG (mini-batch order, dropout).
    dtype : str
        ``float64`` (default, exact course reproduction) or ``float32`` (faster training).

    Examples
    --------
    >>> net = Network([4, 3, 1], seed=1)
    >>> net.forward(np.ones((4, 5))).shape
    (1, 5)
    """

    def __init__(
        self,
        layer_dims: Sequence[int],
        hidden: str | Sequence[str] = "relu",
        output: str = "sigmoid",
        init: str | None = "he",
        seed: int | None = None,
        dtype: str | np.dtype = "float64",
        loss: str | Loss | None = None,
        *,
        activations: Sequence[str | Activation] | None = None,
    ) -> None:
        self.layer_dims = check_layer_dims(layer_dims)
        L = len(self.layer_dims) - 1
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            self.dtype = np.dtype(object)  # refused just below, with the message
        if self.dtype.name not in DTYPES:
            raise ConfigError(f"dtype must be float32 or float64, got {dtype!r}")
        gs = [get_activation(g) for g in _activation_list(L, hidden, output, activations)]
        for l, g in enumerate(gs[:-1], start=1):
            if g.name == "softmax":
                raise ConfigError(f"g[{l}] = softmax is only supported on the output layer L = {L}")
        if gs[-1].name == "softmax" and self.layer_dims[-1] == 1:  # A[L] = 1 always: every gradient 0
            raise ConfigError(f"a softmax over n[{L}] = 1 unit is always 1 and learns nothing: give n[{L}] = the "
                              f"number of classes (>= 2), or output='sigmoid' for one yes/no unit")
        self.loss = get_loss(loss if loss is not None else default_loss(gs[-1].name))
        if self.loss.needs_probabilities and gs[-1].name not in ("sigmoid", "softmax"):
            raise ConfigError(
                f"loss {self.loss.name} needs outputs in (0, 1): use output='sigmoid' or 'softmax', "
                f"not {gs[-1].name!r} (or loss='mse')"
            )
        self.init, self.seed = init, check_seed(seed)
        self.layers = [
            Dense(self.layer_dims[l - 1], self.layer_dims[l], gs[l - 1], l=l, dtype=self.dtype)
            for l in range(1, L + 1)
        ]
        if init is not None:
            self.reset_parameters(init, seed)
        self.history: History | None = None

    # -- structure -------------------------------------------------------------------------
    @property
    def L(self) -> int:
        """Number of layers with parameters (the input layer 0 is not counted)."""
        return len(self.layers)

    @property
    def activations(self) -> list[str]:
        """[g[1], ..., g[L]] by name."""
        return [layer.g.name for layer in self.layers]

    def __getitem__(self, l: int) -> Dense:
        """Layer l, counted from 1 as in the notation."""
        if not 1 <= l <= self.L:
            raise IndexError(f"layers are numbered l = 1..L = 1..{self.L}, got {l}")
        return self.layers[l - 1]

    def reset_parameters(self, init: str | None = None, seed: int | None = None) -> None:
        """Draw new W[l] (b[l] = 0) with an initializer; see :mod:`deeplayers.initializers`."""
        init = self.init if init is None else init
        for layer, (W, b) in zip(self.layers, initialize(self.layer_dims, init, seed, self.dtype)):
            layer.set_parameters(W, b, copy=False)

    @classmethod
    def from_parameters(cls, parameters: dict[str, np.ndarray], hidden: str | Sequence[str] = "relu",
                        output: str = "sigmoid", copy: bool = True, **kwargs: Any) -> Network:
        """A network around the course's dict ``{"W1": ..., "b1": ..., ...}``; layer_dims are read
        from the W shapes (checked). With ``copy=False`` the network updates the caller's arrays."""
        L = sum(1 for k in parameters if k.startswith("W"))
        if L < 1 or any(f"W{l}" not in parameters or f"b{l}" not in parameters for l in range(1, L + 1)):
            raise ConfigError(f"parameters must hold W1, b1, ..., WL, bL; got keys {sorted(parameters)}")
        Ws = [np.asarray(parameters[f"W{l}"]) for l in range(1, L + 1)]
        for l, W in enumerate(Ws, start=1):
            if W.ndim != 2:
                raise ShapeError(f"W[{l}] must be a matrix (n[{l}], n[{l - 1}]), got shape {W.shape}")
        dims = [Ws[0].shape[1]] + [W.shape[0] for W in Ws]
        kwargs.setdefault("dtype", Ws[0].dtype if Ws[0].dtype.kind == "f" else "float64")
        net = cls(dims, hidden=hidden, output=output, init=None, **kwargs)
        for layer, W in zip(net.layers, Ws):
            layer.set_parameters(W, np.asarray(parameters[f"b{layer.l}"]), copy=copy)
        return net

    # -- the spec: the one description of a network in files -----------------------------------
    def to_spec(self) -> dict[str, Any]:
        """The architecture as JSON-able data; with the arrays W1, b1, ..., WL, bL it is the whole network.

        Keys: ``layer_dims``, ``activations`` (the names g[1..L]), ``activation_params`` (each
        g's parameters, e.g. ``{"alpha": 0.2}`` for leaky ReLU, ``{}`` for most), ``loss``,
        ``dtype``, ``init`` and ``seed`` (an int, or None, also when the weights were seeded with
        a RandomState). Model files, checkpoints, the estimators' state and search all write it;
        :meth:`from_spec` is its inverse. Custom activation or loss classes cannot be described
        (ConfigError): a file holds data, never code.

        Examples
        --------
        >>> Network([2, 3, 1], hidden="leaky_relu", seed=0).to_spec()["activation_params"]
        [{'alpha': 0.01}, {}]
        """
        names, params = [], []
        for layer in self.layers:
            g = layer.g
            if ACTIVATIONS.get(g.name) is not type(g):
                raise ConfigError(f"layer {layer.l} uses a custom activation {type(g).__name__}; only the built-in "
                                  f"ones ({', '.join(sorted(ACTIVATIONS))}) can be saved")
            names.append(g.name)
            params.append(dict(g.params))
        if LOSSES.get(self.loss.name) is not type(self.loss):
            raise ConfigError(f"the network uses a custom loss {type(self.loss).__name__}; only built-in losses "
                              f"({', '.join(sorted(LOSSES))}) can be saved")
        seed = self.seed
        seed = int(seed) if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) else None
        return {"layer_dims": list(self.layer_dims), "activations": names, "activation_params": params,
                "loss": self.loss.name, "dtype": self.dtype.name,
                "init": self.init if isinstance(self.init, str) else None, "seed": seed}

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any], arrays: Mapping[str, np.ndarray] | None = None, *,
                  copy: bool = True) -> Network:
        """The network a spec from :meth:`to_spec` describes, every field checked.

        ``arrays`` holds exactly W1, b1, ..., WL, bL of the spec's shapes and dtype, and becomes
        the parameters (shared with the caller when ``copy=False``); without it, W[l] is drawn
        with the spec's ``init`` and ``seed``. Keys other than those of :meth:`to_spec` are
        ignored, so a file header that holds the spec among other things can be passed whole; a
        missing ``activation_params`` means every g's defaults. Raises ConfigError (ShapeError for
        arrays that do not fit) saying which field is wrong.

        Examples
        --------
        >>> net = Network([2, 3, 1], hidden="leaky_relu", seed=0)
        >>> back = Network.from_spec(net.to_spec(), net.parameters)
        >>> back.to_spec() == net.to_spec() and bool((back.parameters["W1"] == net.parameters["W1"]).all())
        True
        """
        if not isinstance(spec, Mapping):
            raise ConfigError(f"a network spec is a dict as Network.to_spec() writes it, got {type(spec).__name__}")
        dims, acts = spec.get("layer_dims"), spec.get("activations")
        if (not isinstance(dims, list) or len(dims) < 2
                or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in dims)):
            raise ConfigError(f"layer_dims {dims!r:.200} is not a list of positive integers")
        L = len(dims) - 1
        params = spec.get("activation_params")
        if params is None:
            params = [{}] * L
        if not isinstance(acts, list) or len(acts) != L or not isinstance(params, list) or len(params) != L:
            raise ConfigError(f"it needs {L} activations for layer_dims {dims}, found {acts!r:.200}")
        if arrays is not None:
            expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
            if set(arrays) != expected:
                raise ConfigError(f"layer_dims {dims} needs arrays {sorted(expected)}, got {sorted(arrays)}")
        dtype = spec.get("dtype")
        if dtype not in DTYPES:
            raise ConfigError(f"dtype {dtype!r} is not float32 or float64")
        gs = [_activation_from_spec(l, name, p) for l, (name, p) in enumerate(zip(acts, params), start=1)]
        if arrays is not None:
            for l in range(1, L + 1):
                for key, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
                    a = arrays[key]
                    if getattr(a, "shape", None) != shape or getattr(a, "dtype", None) != np.dtype(dtype):
                        raise ShapeError(f"{key} is {getattr(a, 'dtype', type(a).__name__)} {getattr(a, 'shape', '')}, "
                                         f"layer_dims {dims} and dtype {dtype} need {shape}")
        loss, init, seed = spec.get("loss"), spec.get("init"), spec.get("seed")
        if not isinstance(loss, str) or loss not in LOSSES:
            raise ConfigError(f"loss {loss!r:.50} is not a known loss")
        if init is not None and (not isinstance(init, str) or init.lower() not in INITIALIZERS):
            raise ConfigError(f"init {init!r:.50} is not a known initializer")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise ConfigError(f"seed {seed!r:.50} is not a non-negative integer")
        try:
            net = cls(dims, activations=gs, init=init if arrays is None else None, seed=seed, dtype=dtype, loss=loss)
        except DeeplayersError as exc:
            raise ConfigError(f"it describes an invalid network ({exc})") from None
        net.init = init
        if arrays is not None:
            for layer in net.layers:
                layer.set_parameters(arrays[f"W{layer.l}"], arrays[f"b{layer.l}"], copy=copy)
        return net

    def architecture_difference(self, spec: Mapping[str, Any]) -> str | None:
        """None when ``spec`` describes this network's architecture (layer_dims, every g with its
        parameters, loss, dtype: what W[l], b[l] mean); otherwise the first difference, in words
        ("g[2] = leaky_relu(alpha=0.2), but this network has g[2] = leaky_relu(alpha=0.01)").
        ``init`` and ``seed`` are not compared: they only say where training started. A spec
        without ``activation_params`` (written before they were recorded) cannot vouch for a g
        that has parameters, so it differs from a network with one."""
        theirs = type(self).from_spec({**spec, "init": None}).to_spec()  # checked and normalized ("identity" is "linear")
        mine = self.to_spec()
        if spec.get("activation_params") is None and any(mine["activation_params"]):
            l, g = next((l, g) for l, g in enumerate(_gs(mine), start=1) if mine["activation_params"][l - 1])
            return (f"activations {theirs['activations']} recorded without their parameters (by an older "
                    f"deeplayers), but this network has g[{l}] = {g}")
        for key in _ARCHITECTURE:
            if theirs[key] == mine[key]:
                continue
            if key in ("activations", "activation_params"):
                l, a, b = next((l, a, b) for l, (a, b) in enumerate(zip(_gs(theirs), _gs(mine)), start=1) if a != b)
                return f"g[{l}] = {a}, but this network has g[{l}] = {b}"
            return f"{key} = {theirs[key]!r}, but this network has {mine[key]!r}"
        return None

    @property
    def parameters(self) -> Parameters:
        """The course's dict ``{"W1": W[1], "b1": b[1], ...}`` of the live arrays (not copies);
        ``net.parameters["W1"] = W`` checks W's shape and replaces W[1] (see :class:`Parameters`)."""
        return Parameters(self.layers)

    @parameters.setter
    def parameters(self, params: Mapping[str, np.ndarray]) -> None:
        want = {f"{p}{layer.l}" for layer in self.layers for p in "Wb"}
        missing, extra = sorted(want - set(params)), sorted(set(params) - want)
        if missing or extra:
            raise ConfigError(f"parameters must hold exactly W1, b1, ..., W{self.L}, b{self.L}; "
                              + (f"missing {missing}" if missing else f"{extra} belong to no layer of this network"))
        for layer in self.layers:
            layer.set_parameters(np.asarray(params[f"W{layer.l}"]), np.asarray(params[f"b{layer.l}"]))

    @property
    def n_params(self) -> int:
        return sum(layer.n_params for layer in self.layers)

    # -- the passes ------------------------------------------------------------------------
    def _as_X(self, X: Any, name: str = "X", finite: bool = False) -> np.ndarray:
        X = as_float_array(X, name, self.dtype)
        check_X(X, self.layer_dims[0], name)
        if finite:
            check_finite(name, X)
        return X

    def _as_Y(self, Y: Any, m: int) -> np.ndarray:
        Y = as_float_array(Y, "Y", self.dtype)
        check_Y(Y, self.layer_dims[-1], m)
        return Y

    def _forward(self, X: np.ndarray, keep_probs: Sequence[float] | None = None,
                 rng: np.random.Generator | None = None, *, ws: Workspace | None = None) -> np.ndarray:
        """A[L] from A[0] = X, each layer keeping its cache; ``keep_probs`` (one per hidden layer
        1..L-1) and ``rng`` apply inverted dropout; ``ws``: the training loop's workspace."""
        A = X
        if rng is None or keep_probs is None:  # no dropout (the common case: the loop's fast path)
            if ws is not None and ws.cache:
                return ws.forward_pass(self.layers, X)  # the same formulas, laid out once per batch size
            for layer in self.layers:  # l = 1..L
                A = layer.forward(A, ws=ws)
            return A
        for layer, keep in zip(self.layers, [*keep_probs, 1.0]):  # g[L] never drops
            A = layer.forward(A, keep, rng, ws=ws)
        return A

    def _predict(self, X: np.ndarray, ws: Workspace | None = None, check: bool = False) -> np.ndarray:
        """A[L] without caches, each g applied in place (inference); ``ws`` a ``Workspace(cache=False)``
        whose buffers are reused across calls. ``check``: a DataError when X holds NaN or inf (or
        overflows Z[1]), found on Z[1] when it is smaller than X (see :meth:`_check_Z1`)."""
        ws = Workspace(cache=False) if ws is None else ws
        first = self.layers[0]
        if check and first.n >= first.n_prev:
            check_finite("X", X, todo=_PREDICT_TODO)
        A = X
        # a saturated sigmoid overflows exp() to inf on purpose; with check, a NaN is an error below
        with np.errstate(over="ignore", **({"invalid": "ignore"} if check else {})):  # (else the caller's)
            for layer in self.layers:
                if check and layer is first and first.n < first.n_prev:
                    A = self._check_Z1(X, ws)
                else:
                    A = layer.forward(A, ws=ws)
        if check and not np.isfinite(A).all():  # (n[L], m): cheap beside the products
            self._not_finite(X)
        return A

    def _not_finite(self, X: np.ndarray) -> None:
        """Raise the DataError that says why A[L] is not finite for a finite X: a parameter holds NaN
        or inf, or Z[l] overflowed the dtype at the first layer l found by a second, checked pass."""
        for layer in self.layers:
            for name, a in ((f"W[{layer.l}]", layer.W), (f"b[{layer.l}]", layer.b)):
                check_finite(name, a, todo="the parameters are unusable; retrain, or load a saved model")
        A = X
        with np.errstate(over="ignore", invalid="ignore"):
            for layer in self.layers:
                Z = layer.W @ A + layer.b
                if not np.isfinite(Z).all():
                    j = int(np.argwhere(~np.isfinite(Z))[0][1])
                    raise DataError(
                        f"Z[{layer.l}] = W[{layer.l}] A[{layer.l - 1}] + b[{layer.l}] overflows {self.dtype.name} for "
                        f"sample {j} (the largest |W[{layer.l}]| is {float(np.max(np.abs(layer.W))):.3g}, the largest "
                        f"|A[{layer.l - 1}]| {float(np.max(np.abs(A[:, j]))):.3g}): the parameters are far too large "
                        f"(a diverged run?) or X is not scaled the way the training data was")
                A = layer.g.forward(Z)
        raise DataError(f"A[{self.L}] is not finite although every Z[l] is: g[{self.L}] = "
                        f"{self.layers[-1].g.name} overflowed")  # (not seen: the g[l] are written not to)

    def _check_Z1(self, X: np.ndarray, ws: Workspace) -> np.ndarray:
        """A[1] for X, with X's NaN and inf found on Z[1] = W[1] X + b[1] rather than X: an entry of X
        that is NaN or inf makes its whole column of Z[1] NaN or inf (IEEE: inf * 0 is NaN), and Z[1]
        is n[1] / n[0] the size of X. One look at Z[1] tells; only then is X searched, and
        a finite X whose Z[1] is not finite overflowed the dtype: an error too, not NaN outputs."""
        layer = self.layers[0]
        Z = ws.linear(layer, X)
        if not np.isfinite(Z).all():  # (twice as fast as one np.add.reduce over Z, measured)
            check_finite("X", X, todo=_PREDICT_TODO)
            for name, a in (("W[1]", layer.W), ("b[1]", layer.b)):
                check_finite(name, a, todo="the parameters are unusable; retrain, or load a saved model")
            raise DataError(f"X is too large for {self.dtype.name}: Z[1] = W[1] X + b[1] overflows to inf (X's largest "
                            f"magnitude is {float(np.max(np.abs(X))):.3g}); scale X the way the training data was scaled")
        return layer.g.forward(Z, out=Z)

    def forward(self, X: Any) -> np.ndarray:
        """A[L] for X = A[0] of shape (n[0], m); keeps every layer's cache for :meth:`backward`."""
        return self._forward(self._as_X(X, finite=True))

    def cost(self, AL: Any, Y: Any, l2: float = 0.0, sample_weight: np.ndarray | None = None) -> float:
        """J(A[L], Y), plus lambda/(2m) sum ||W[l]||^2 when ``l2`` > 0. ``sample_weight`` (m,)
        weights each column's loss as ``fit`` does (a weight counts as that many repeated samples):
        sum(w loss) / sum(w) + lambda/(2 sum(w)) sum ||W[l]||^2, the cost ``fit`` records."""
        AL = as_float_array(AL, f"A[{self.L}]")
        nL = self.layer_dims[-1]
        if AL.ndim != 2 or AL.shape[0] != nL:
            raise ShapeError(f"A[{self.L}] must be (n[{self.L}], m) = ({nL}, m), got {AL.shape}")
        m = AL.shape[1]
        Y = self._as_Y(Y, m)
        w = None
        if sample_weight is not None:
            from .training.prepare import _sample_weight

            w = _sample_weight(sample_weight, m, np.dtype(np.float64))
            total = float(w.sum())
            w = w * (m / total)  # mean 1, as the loss takes them: sum(w loss) / sum(w), not / m
        J = self.loss.cost(AL, Y, w)
        if l2:
            J += self.l2_cost(l2, m if w is None else total)
        return J

    def l2_cost(self, l2: float, m: int) -> float:
        """lambda/(2m) sum over l of ||W[l]||_F^2."""
        return float(l2 / (2 * m) * sum(np.vdot(layer.W, layer.W) for layer in self.layers))

    def _backward(self, Y: np.ndarray, *, l2: float = 0.0, ws: Workspace | None = None,
                  w: np.ndarray | None = None, need_dA0: bool = False,
                  on_layer: Callable[[Dense, np.ndarray | None], None] | None = None,
                  ) -> np.ndarray | None:
        """Backward pass l = L..1 from the cached forward pass; calls ``on_layer(layer, dA_prev)``
        as soon as layer l's dW[l], db[l] are ready (dA[l-1] is already computed with the old W[l]).

        Without ``ws`` each layer applies the formulas literally (1/m included). With the training
        loop's workspace the factor ``ws.scale / m`` is folded into the output gradient once
        (dW[l] then already carries it, since every later dZ[l] is linear in dZ[L]); the L2 term
        is scaled alike. dA[0] is returned only with ``need_dA0``.
        """
        out = self.layers[-1]
        if out.cache is None:
            raise RuntimeError("backward needs a forward pass first: call forward(X) before backward(Y)")
        m = out.cache.A.shape[1]
        if ws is not None:
            if need_dA0:
                raise ValueError("a workspace never computes dA[0]: call _backward without ws for it")
            G, fused = ws.output_gradient(self.loss, out, Y, w)
            scale = ws.scale
        else:
            scale = 1.0
            # dZ[L] = A[L] - Y, exact for sigmoid + BCE, softmax + CCE, linear + MSE
            fused = self.loss.fused_with == out.g.name
            G = self.loss.fused_dZ(out.cache.A, Y) if fused else self.loss.dAL(out.cache.A, Y)
            if w is not None:
                G *= w
        if ws is not None and ws.planned is not None:  # the training loop's plan for this batch size
            ws.planned.backward(G, fused, scale * l2 / m, on_layer)
            return None
        dA_prev = None
        for layer in reversed(self.layers):  # l = L..1
            if ws is not None:  # the training loop, layer by layer (dropout)
                dA_prev, dW, db = (ws.backward(layer, None, G) if fused else ws.backward(layer, G)) if layer is out \
                    else ws.backward(layer, dA_prev)
            elif layer is out:
                dA_prev, dW, db = layer.backward(dZ=G) if fused else layer.backward(G)
            else:
                dA_prev, dW, db = layer.backward(dA_prev)
            if layer.l == 1 and not need_dA0:
                dA_prev = None
            if l2:
                # d/dW of lambda/(2m) ||W||^2, scaled like the rest of dW
                dW += (scale * l2 / m) * layer.W
            if on_layer is not None:
                on_layer(layer, dA_prev)
        return dA_prev

    def backward(self, Y: Any, l2: float = 0.0) -> dict[str, np.ndarray]:
        """Gradients ``{"dW1": ..., "db1": ..., ...}`` of the cost at the last :meth:`forward`."""
        out = self.layers[-1]
        if out.cache is None:
            raise RuntimeError("backward needs a forward pass first: call forward(X) before backward(Y)")
        Y = self._as_Y(Y, out.cache.A_prev.shape[1])
        grads: dict[str, np.ndarray] = {}

        def collect(layer: Dense, dA_prev: np.ndarray | None) -> None:
            grads[f"dW{layer.l}"] = layer.dW.copy()
            grads[f"db{layer.l}"] = layer.db.copy()

        self._backward(Y, l2=l2, on_layer=collect)
        return dict(sorted(grads.items(), key=lambda kv: (int(kv[0][2:]), kv[0][1])))

    def trace(self, X: Any, Y: Any = None, *, show: bool = True) -> Trace:
        """Print (unless ``show`` is False) and return the shape trace of one forward pass on X and,
        with Y, the cost and the backward pass: every array with its shape and the equation that
        made it, ending at the line where the dimensions stop agreeing; see :mod:`deeplayers.trace`."""
        from .trace import trace

        return trace(self, X, Y, show=show)

    # -- using the model -------------------------------------------------------------------
    def predict_proba(self, X: Any, batch_size: int | None = None) -> np.ndarray:
        """A[L] of shape (n[L], m), in the network's dtype (X is converted to it; a float32
        network computes in float32 throughout), no cache kept, each g applied in place.

        One pass over all m columns when the largest A[l] fits in ``PREDICT_BYTES`` (128 MB),
        otherwise chunks of columns that do; ``batch_size`` sets the chunk instead.
        """
        return self._predict_all(self._as_X(X), batch_size)  # NaN and inf found on the way, not by a pass first

    def _predict_all(self, X: np.ndarray, batch_size: int | None = None, check: bool = True) -> np.ndarray:
        """:meth:`predict_proba` of a checked X; ``check=False`` (the training loop's validation pass,
        whose X was checked once) lets a non-finite A[L] through, for the divergence check to name."""
        m = X.shape[1]
        if batch_size is None:
            batch_size = max(1, PREDICT_BYTES // (max(self.layer_dims[1:]) * self.dtype.itemsize))
        elif isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive number of columns or None, got {batch_size!r}")
        if m <= batch_size:
            return self._predict(X, check=check)
        AL = np.empty((self.layer_dims[-1], m), self.dtype)
        ws = Workspace(cache=False)  # the chunks' buffers, reused
        for start in range(0, m, batch_size):
            stop = min(start + batch_size, m)
            try:
                AL[:, start:stop] = self._predict(X[:, start:stop], ws, check=check)
            except DataError:
                check_finite("X", X, todo=_PREDICT_TODO)  # the position in X, not in the chunk
                raise  # X is finite: Z[1] overflowed
        return AL

    def predict(self, X: Any) -> np.ndarray:
        """Predictions from A[L]: sigmoid -> 0/1 of shape (n[L], m); softmax -> class index,
        shape (1, m); linear and others -> A[L]."""
        AL = self.predict_proba(X)
        g = self.layers[-1].g.name
        if g == "sigmoid":
            return (AL > 0.5).astype(np.int64)
        if g == "softmax":
            return np.argmax(AL, axis=0).reshape(1, -1)
        return AL

    def fit(self, X: Any, Y: Any, learning_rate: float | None = None, num_iterations: int | None = None,
            print_cost: bool = False, **options: Any) -> History:
        """Train with the one training loop; see :func:`deeplayers.training.fit` for ``options``.

        With no options this is the course's full-batch gradient descent; the returned
        :class:`~deeplayers.training.History` behaves as the list of costs, one per iteration.
        """
        if "dropout" in options:
            raise ConfigError(f"fit takes keep_prob, the probability of KEEPING a hidden unit (the course's word), "
                              f"not dropout: use keep_prob = 1 - dropout (got dropout={options['dropout']!r})")
        return _fit(self, X, Y, learning_rate=learning_rate, num_iterations=num_iterations,
                   print_cost=print_cost, **options)

    # -- description -----------------------------------------------------------------------
    def summary(self, m: int | str = "m") -> str:
        """A table of the architecture in the course's notation."""
        rows = [("l", "layer", "n[l]", "g[l]", "W[l]", "b[l]", "Z[l], A[l]", "params")]
        rows.append(("0", "input", str(self.layer_dims[0]), "-", "-", "-", f"({self.layer_dims[0]}, {m})", "0"))
        for layer in self.layers:
            kind = "output" if layer.l == self.L else "hidden"
            rows.append((
                str(layer.l), kind, str(layer.n), layer.g.name, f"({layer.n}, {layer.n_prev})",
                f"({layer.n}, 1)", f"({layer.n}, {m})", f"{layer.n_params:,}",
            ))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        line = "  ".join("-" * w for w in widths)

        def fmt(r: tuple[str, ...]) -> str:
            return "  ".join(c.rjust(w) if i in (0, 2, 7) else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip()

        body = [fmt(rows[0]), line, *(fmt(r) for r in rows[1:]), line]
        body.append(f"L = {self.L} layers, layer_dims = {self.layer_dims}, loss = {self.loss.name}, "
                    f"dtype = {self.dtype.name}, {self.n_params:,} parameters")
        return "\n".join(body)

    def __repr__(self) -> str:
        gs = ", ".join(self.activations)
        return f"Network(layer_dims={self.layer_dims}, g=[{gs}], loss={self.loss.name}, dtype={self.dtype.name})"

    def _repr_html_(self) -> str:
        """Jupyter's rich display: the summary as an HTML table (layer l, n[l], W[l] and b[l]
        shapes, g[l], parameter count); ``repr`` stays the one-line text."""
        from html import escape

        head = ("l", "layer", "n[l]", "W[l]", "b[l]", "g[l]", "parameters")
        rows = [("0", "input", str(self.layer_dims[0]), "", "", "", "0")]
        rows += [(str(layer.l), "output" if layer.l == self.L else "hidden", str(layer.n), f"({layer.n}, {layer.n_prev})",
                  f"({layer.n}, 1)", layer.g.name, f"{layer.n_params:,}") for layer in self.layers]
        th = "".join(f"<th>{escape(h)}</th>" for h in head)
        body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in r) + "</tr>" for r in rows)
        caption = escape(f"Network: L = {self.L} layers, layer_dims = {self.layer_dims}, loss = {self.loss.name}, "
                         f"dtype = {self.dtype.name}, {self.n_params:,} parameters")
        return (f'<table class="deeplayers-network"><caption>{caption}</caption>'
                f"<thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>")


def _activation_from_spec(l: int, name: Any, params: Any) -> Activation:
    cls = ACTIVATIONS.get(name) if isinstance(name, str) else None
    if cls is None or not isinstance(params, Mapping):
        raise ConfigError(f"g[{l}] = {name!r:.50} is not a known activation")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v) for v in params.values()):
        raise ConfigError(f"g[{l}] = {name} has parameters {params!r:.100} that are not all finite numbers")
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"g[{l}] = {name} has invalid parameters {params!r:.100} ({exc})") from None


def _gs(spec: Mapping[str, Any]) -> list[str]:
    """Each g of a (normalized) spec with its parameters, e.g. ``leaky_relu(alpha=0.2)``."""
    return [name + (f"({', '.join(f'{k}={v!r}' for k, v in p.items())})" if p else "")
            for name, p in zip(spec["activations"], spec["activation_params"])]


class Parameters(MutableMapping):
    """A network's ``{"W1": W[1], "b1": b[1], ..., "WL": W[L], "bL": b[L]}``, over its layers' own
    arrays: reading gives the live array (in-place changes train the network), and assigning
    ``parameters["W2"] = W`` checks W against (n[2], n[1]) and replaces W[2]. A plain dict there
    would take the assignment and change nothing, silently. Keys cannot be added or removed."""

    def __init__(self, layers: Sequence[Dense]) -> None:
        self._layers = {f"{p}{layer.l}": (layer, p) for layer in layers for p in "Wb"}

    def _find(self, key: str) -> tuple[Dense, str]:
        if key not in self._layers:
            raise KeyError(key)
        return self._layers[key]

    def __getitem__(self, key: str) -> np.ndarray:
        layer, p = self._find(key)
        return layer.W if p == "W" else layer.b

    def __setitem__(self, key: str, value: Any) -> None:
        if key not in self._layers:
            raise ConfigError(f"{key!r} is no parameter of this network; its keys are {list(self._layers)}")
        layer, p = self._layers[key]
        W, b = (value, layer.b) if p == "W" else (layer.W, value)
        layer.set_parameters(np.asarray(W), np.asarray(b), copy=True)

    def __delitem__(self, key: str) -> None:
        raise ConfigError(f"a network's parameters cannot be removed ({key!r}): W[l] and b[l] exist for every layer")

    def __iter__(self) -> Iterator[str]:
        return iter(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        return repr(dict(self))
