"""Activation functions g[l] and their backward rules, in one registry.

Each activation maps Z[l] to A[l] (``forward``) and turns dA[l] into dZ[l] = dA[l] * g'(Z[l])
(``backward``). Both write into ``out`` when given, so the training loop reuses its buffers; the
backward rule may read the cached A[l] = g(Z[l]) where that is cheaper than recomputing g(Z).
"""

from __future__ import annotations

import numpy as np

from .errors import from_registry

__all__ = ["Activation", "ACTIVATIONS", "get_activation"]

_BOOL = np.dtype(bool)
#: ReLU's backward takes its mask as sign(A) below this many entries, as a comparison above (faster each side)
SIGN_MASK_MAX = 4096


class _Constants(dict):
    """``value`` as a 0-d array of each dtype, ``_ZERO[Z.dtype]``: a ufunc given an operand of the
    array's own type skips resolving a Python number's type (measured on 16 x 64 float32:
    np.maximum(Z, 0) 1.15 us, with the 0-d zero 0.78 us). The same numbers: a Python number is cast
    to the array's type anyway."""

    def __init__(self, value: float) -> None:
        super().__init__()
        self.value = value

    def __missing__(self, dtype: np.dtype) -> np.ndarray:
        c = self[dtype] = np.full((), self.value, dtype)
        return c


_ZERO, _ONE = _Constants(0), _Constants(1)


class Activation:
    """g and its backward rule dZ = dA * g'(Z).

    Each layer gets its own instance, so an activation may keep scratch arrays for its batch
    shapes: with ``out`` given, forward and backward then allocate nothing.
    """

    name = "activation"

    def _scratch(self, shape: tuple[int, ...], dtype: np.dtype, key: str = "f", zeros: bool = False) -> np.ndarray:
        """A buffer kept for ``key``, ``shape`` and ``dtype``; with ``zeros``, an array of zeros made
        read-only (never written to)."""
        try:
            cache = self._buffers
        except AttributeError:
            cache = self._buffers = {}
        buf = cache.get((key, shape, dtype))
        if buf is None:
            if len(cache) > 8:
                cache.clear()
            buf = cache[(key, shape, dtype)] = (np.zeros if zeros else np.empty)(shape, dtype)
            buf.flags.writeable = not zeros
        return buf

    def forward(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A = g(Z), shape (n[l], m)."""
        raise NotImplementedError

    def backward(
        self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray | None = None
    ) -> np.ndarray:
        """dZ = dA * g'(Z), shape (n[l], m). ``A`` is g(Z) from the forward pass."""
        raise NotImplementedError

    @property
    def params(self) -> dict[str, float]:
        """The parameters that make this g (none for most); ``type(g)(**g.params)`` is the same g."""
        return {}

    def __repr__(self) -> str:
        return self.name


class Linear(Activation):
    name = "linear"

    def forward(self, Z, out=None):
        if out is None or out is Z:
            return Z
        np.copyto(out, Z)
        return out

    def backward(self, dA, Z, A, out=None):
        if out is None or out is dA:
            return dA
        np.copyto(out, dA)
        return out


#: ReLU's forward runs np.maximum against an array of zeros this many entries long at most (256 KB
#: of float32, within a core's L2 cache), on a large Z[l] one such piece after another (a call
#: costs ~1 us: smaller pieces cost more in calls than they save in cache)
ZEROS_CHUNK = 1 << 16
ZEROS_MIN = 2048


class ReLU(Activation):
    name = "relu"

    def forward(self, Z, out=None):
        # np.maximum against a scalar runs NumPy's plain loop, against an array its SIMD loop: the
        # same numbers, 256 x 128 float32 in 4 us instead of 18 (measured, NumPy 2.4, AVX-512)
        # (below ZEROS_MIN entries the two loops take about the same time)
        n = Z.size
        if n < ZEROS_MIN or not (Z.flags.c_contiguous and (out is None or out.flags.c_contiguous)):
            return np.maximum(Z, _ZERO[Z.dtype], out=out)
        if n <= ZEROS_CHUNK:
            return np.maximum(Z, self._scratch(Z.shape, Z.dtype, "zeros", zeros=True), out=out)
        if out is None:
            out = np.empty_like(Z)
        z, a, zeros = Z.reshape(-1), out.reshape(-1), self._scratch((ZEROS_CHUNK,), Z.dtype, "zeros", zeros=True)
        for s in range(0, n, ZEROS_CHUNK):
            e = min(s + ZEROS_CHUNK, n)
            np.maximum(z[s:e], zeros[:e - s], out=a[s:e])
        return out

    def backward(self, dA, Z, A, out=None):
        # g'(Z) = 1 where Z > 0 else 0 (the course's choice at Z == 0), as a 0/1 mask: a comparison
        # and a product are SIMD loops, while np.heaviside runs ~30x slower (measured, 256 x 128)
        if out is None:
            return np.multiply(dA, np.greater(Z, 0))
        if Z.size >= SIGN_MASK_MAX:
            # dA times the bool mask itself would cast it in the ufunc's buffered loop, which allocates
            # a 32 KB buffer each call: the mask is cast into a scratch of Z's type first (same bits,
            # no slower: 13.8 against 14.8 us for 256 x 128 float32, measured)
            g_prime = self._scratch(Z.shape, Z.dtype)
            np.copyto(g_prime, np.greater(Z, _ZERO[Z.dtype], out=self._scratch(Z.shape, _BOOL, "mask")))
            return np.multiply(dA, g_prime, out=out)
        # a small layer's: the mask as 0.0/1.0 of Z's own type, sign(A) with A = max(Z, 0) >= 0, since
        # dA times a bool mask casts the mask in a buffered loop (16 x 64 float32: 1.13 us, against
        # 0.39 us for two arrays of one type; np.sign is the slower loop from ~4,000 entries on). The
        # same dZ[l] wherever Z[l] is a number (where it is NaN, dZ[l] is NaN: the run is diverging)
        g_prime = np.sign(A, out=self._scratch(A.shape, A.dtype))
        return np.multiply(dA, g_prime, out=out)


class LeakyReLU(Activation):
    name = "leaky_relu"

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = float(alpha)

    @property
    def params(self) -> dict[str, float]:
        return {"alpha": self.alpha}

    def forward(self, Z, out=None):
        # max(Z, alpha Z) is g for 0 < alpha < 1
        alpha_Z = np.multiply(Z, self.alpha, out=self._scratch(Z.shape, Z.dtype) if out is not None else None)
        return np.maximum(Z, alpha_Z, out=out)

    def backward(self, dA, Z, A, out=None):
        # g'(Z) = 1 where Z > 0 else alpha = alpha + (1 - alpha) [Z > 0]; the scratch is forward's
        # alpha Z buffer, free again once forward returned
        g_prime = self._scratch(Z.shape, Z.dtype) if out is not None else np.empty_like(Z)
        np.greater(Z, 0, out=g_prime, casting="unsafe", dtype=bool)  # 0.0 / 1.0
        g_prime *= 1 - self.alpha
        g_prime += self.alpha
        return np.multiply(dA, g_prime, out=out)


class Tanh(Activation):
    name = "tanh"

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def backward(self, dA, Z, A, out=None):
        # g'(Z) = 1 - A^2
        g_prime = np.multiply(A, A, out=self._scratch(A.shape, A.dtype) if out is not None else None)
        np.subtract(1, g_prime, out=g_prime)
        return np.multiply(dA, g_prime, out=out)


class Sigmoid(Activation):
    name = "sigmoid"

    def forward(self, Z, out=None):
        # 1 / (1 + exp(-Z)); exp overflowing to inf gives exactly 0, so that warning is silenced: here,
        # or, with ``out`` (a workspace), once for the whole run by its caller (a context costs ~2 us)
        if out is None:
            with np.errstate(over="ignore"):
                A = np.exp(np.negative(Z))
        else:
            A = np.exp(np.negative(Z, out=out), out=out)
        np.add(A, _ONE[A.dtype], out=A)
        return np.reciprocal(A, out=A)

    def backward(self, dA, Z, A, out=None):
        # g'(Z) = A (1 - A)
        g_prime = np.subtract(1, A, out=self._scratch(A.shape, A.dtype) if out is not None else None)
        g_prime *= A
        return np.multiply(dA, g_prime, out=out)


class Softmax(Activation):
    """Column-wise softmax: each sample's n[L] outputs sum to 1."""

    name = "softmax"

    def forward(self, Z, out=None):
        # subtracting the column max keeps exp from overflowing (log-sum-exp trick)
        row = self._scratch((1, Z.shape[1]), Z.dtype, "row") if out is not None else None
        A = np.subtract(Z, np.maximum.reduce(Z, axis=0, keepdims=True, out=row), out=out)
        np.exp(A, out=A)
        A /= np.add.reduce(A, axis=0, keepdims=True, out=row)
        return A

    def backward(self, dA, Z, A, out=None):
        # Jacobian-vector product: dZ = A * (dA - sum(dA * A over units))
        s = np.sum(dA * A, axis=0, keepdims=True)
        dZ = np.subtract(dA, s, out=out)
        dZ *= A
        return dZ


ACTIVATIONS: dict[str, type[Activation]] = {
    cls.name: cls for cls in (Linear, ReLU, LeakyReLU, Tanh, Sigmoid, Softmax)
}
ACTIVATIONS["identity"] = Linear
#: g[L] of an output layer, each with the loss it pairs with (see :func:`deeplayers.losses.default_loss`):
#: binary or multi-label, multi-class, regression
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "linear")
#: g[l] a hidden layer may have (softmax only on the output layer)
HIDDEN_ACTIVATIONS = tuple(sorted(g for g in ACTIVATIONS if g != "softmax"))


def get_activation(g: str | Activation) -> Activation:
    """Look an activation up by name (``relu``, ``leaky_relu``, ``tanh``, ``sigmoid``, ``softmax``, ``linear``)."""
    return from_registry(ACTIVATIONS, g, "activation", Activation)  # type: ignore[return-value]
