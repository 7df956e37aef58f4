"""Gradient checking: backprop against centered finite differences, over every parameter of a
small network and over a seeded random sample of each W[l], b[l] of a large one."""

from __future__ import annotations

from typing import Any

import numpy as np

from .activations import LeakyReLU, ReLU
from .errors import ConfigError
from .network import Network
from .optimizers import _is_real
from .workspace import Workspace

__all__ = ["gradient_check", "GradientCheck", "SAMPLE"]

# entries checked per W[l] or b[l] by default: arrays up to this size are checked whole
SAMPLE = 200


class GradientCheck(float):
    """The relative difference (a float, compared and printed as one) and how many parameters it
    covered: ``checked`` of ``total``, ``per_layer`` as ``{"W1": (checked, size), ...}``."""

    checked: int
    total: int
    per_layer: dict[str, tuple[int, int]]
    #: True when a float32 network was checked on a float64 copy of itself
    on_float64_copy: bool
    #: entries left out of the difference: their +-epsilon moved some Z[l] of a ReLU (leaky ReLU)
    #: across its kink at 0, where no finite difference measures the derivative backprop uses
    kinks: int

    def __new__(cls, value: float, checked: int, total: int, per_layer: dict[str, tuple[int, int]],
                on_float64_copy: bool = False, kinks: int = 0) -> GradientCheck:
        self = super().__new__(cls, value)
        self.checked, self.total, self.per_layer = checked, total, per_layer
        self.on_float64_copy, self.kinks = on_float64_copy, kinks
        return self

    @property
    def all_checked(self) -> bool:
        return self.checked == self.total

    def describe(self) -> str:
        """``"1,200 of 235,146 parameters checked (a random sample of each W[l], b[l])"``."""
        how = "every one" if self.all_checked else "a seeded random sample of each W[l], b[l]"
        copy = ", on a float64 copy of the float32 network" if self.on_float64_copy else ""
        kinks = (f"; {self.kinks:,} of them left out: their +-epsilon moved a Z[l] across the ReLU kink at 0, "
                 f"where a finite difference is no derivative") if self.kinks else ""
        return f"{self.checked:,} of {self.total:,} parameters checked ({how}{copy}){kinks}"


def gradient_check(network: Network, X: Any, Y: Any, epsilon: float = 1e-7, l2: float = 0.0, *,
                   sample: int | None = SAMPLE, seed: int = 0, progress: bool = False) -> GradientCheck:
    """Relative difference ||grad - gradapprox|| / (||grad|| + ||gradapprox||).

    ``gradapprox`` perturbs entries of W[l], b[l] by +-epsilon:
    (J(theta + eps) - J(theta - eps)) / (2 eps), two forward passes each; below ~1e-7 means
    backprop is right. The parameters are restored exactly afterwards.

    A float32 network is checked on a float64 copy of itself (the same W[l], b[l], g[l] and
    loss; the network itself is left alone): at epsilon 1e-7 a float32 J(theta +- eps) is mostly
    rounding, and a correct backprop would fail. The result says so (``on_float64_copy``).

    ``sample``: entries checked per array; an array with more is checked at ``sample`` entries
    drawn at random (``seed``) without replacement, so a 784-256-128-10 network takes seconds,
    not many minutes, and a mistake in any layer still shows (every layer is sampled). None
    checks every entry. ``progress`` shows a progress bar. The result is a float that also says
    how many entries it covered (:class:`GradientCheck`: ``checked``, ``total``, ``per_layer``,
    ``on_float64_copy``, ``kinks``).

    An entry whose +-epsilon moves some Z[l] of a ReLU or leaky ReLU layer across 0 (a ReLU
    network with b[l] = 0 and a sample whose units in layer l-1 are all 0 has Z[l] exactly 0) is
    left out and counted in ``kinks``: there the finite difference measures neither side's slope
    (ReLU: 1/2 instead of g'(0) = 0), and a correct backprop would fail.
    """
    _check_options(epsilon, l2, sample)
    copied = network.dtype != np.float64
    if copied:
        network = _float64_copy(network)
    X = network._as_X(X)
    Y = network._as_Y(Y, X.shape[1])
    network.forward(X)
    grads = network.backward(Y, l2=l2)
    rng = np.random.default_rng(seed)
    plan = []
    for layer in network.layers:
        for p, key in ((layer.W, f"W{layer.l}"), (layer.b, f"b{layer.l}")):
            idx = np.arange(p.size) if sample is None or p.size <= sample else np.sort(
                rng.choice(p.size, size=int(sample), replace=False))
            plan.append((key, p, idx))
    checked = sum(len(idx) for _, _, idx in plan)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=checked, unit="param", desc="gradient check", leave=False)
    analytic, numeric = [], []
    ws = Workspace(cache=False)  # the passes' buffers, reused
    kinked = any(isinstance(layer.g, (ReLU, LeakyReLU)) for layer in network.layers)
    kinks = 0
    try:
        for key, p, idx in plan:
            out = np.empty(len(idx), dtype=np.float64)
            smooth = np.ones(len(idx), dtype=bool)
            for j, i in enumerate(idx):
                # written through the live parameter's own index: a reshape of a column-major
                # W[l] (a caller's array, shared) would be a copy, and the check would move nothing
                pos = np.unravel_index(i, p.shape)
                old = p[pos]
                p[pos] = old + epsilon
                J_plus, signs_plus = _cost(network, X, Y, l2, ws, kinked)
                p[pos] = old - epsilon
                J_minus, signs_minus = _cost(network, X, Y, l2, ws, kinked)
                p[pos] = old
                out[j] = (J_plus - J_minus) / (2 * epsilon)
                smooth[j] = all(np.array_equal(a, b) for a, b in zip(signs_plus, signs_minus))
                if bar is not None:
                    bar.update(1)
            kinks += int(len(idx) - smooth.sum())
            analytic.append(grads[f"d{key}"].reshape(-1)[idx][smooth])
            numeric.append(out[smooth])
    finally:
        if bar is not None:
            bar.close()
    grad, gradapprox = np.concatenate(analytic), np.concatenate(numeric)
    denom = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    value = 0.0 if denom == 0 else float(np.linalg.norm(grad - gradapprox) / denom)
    if kinks and not grad.size:  # every entry straddled a kink: nothing was compared, no PASS
        value = float("nan")
    per_layer = {key: (len(idx), p.size) for key, p, idx in plan}
    return GradientCheck(value, checked, network.n_params, per_layer, on_float64_copy=copied, kinks=kinks)


def _cost(network: Network, X: np.ndarray, Y: np.ndarray, l2: float, ws: Workspace,
          kinked: bool) -> tuple[float, list[np.ndarray]]:
    """J at the current parameters, and, for a network with ReLU or leaky ReLU layers, Z[l] > 0 of
    each such layer (which side of the kink every unit and sample is on), from the caches of the
    network's own forward pass."""
    if not kinked:
        return network.cost(network._predict(X, ws), Y, l2), []
    with np.errstate(over="ignore"):  # a saturating sigmoid overflows exp() to inf on purpose
        AL = network._forward(X)
    signs = [layer.cache.Z > 0 for layer in network.layers if isinstance(layer.g, (ReLU, LeakyReLU))]
    return network.cost(AL, Y, l2), signs


def _check_options(epsilon: Any, l2: Any, sample: Any) -> None:
    # epsilon 0 divides by 0, NaN compares as nothing; a negative l2 is no regularizer
    if not _is_real(epsilon) or not np.isfinite(epsilon) or epsilon <= 0:
        raise ConfigError(f"epsilon (the finite-difference step) must be a positive number such as 1e-7, got {epsilon!r}")
    if not _is_real(l2) or not np.isfinite(l2) or l2 < 0:
        raise ConfigError(f"l2 (lambda) must be a non-negative number, got {l2!r}")
    if sample is not None and (isinstance(sample, bool) or not isinstance(sample, (int, np.integer)) or sample < 1):
        raise ConfigError(f"sample must be a positive number of entries per W[l], b[l], or None for all, got {sample!r}")


def _float64_copy(network: Network) -> Network:
    """The same network (W[l], b[l], g[l], loss) in float64, the user's left untouched."""
    copy = Network(network.layer_dims, activations=[layer.g for layer in network.layers], loss=network.loss,
                   init=None, dtype="float64")
    for mine, theirs in zip(copy.layers, network.layers):
        mine.set_parameters(theirs.W, theirs.b)  # (a converted copy)
    return copy
