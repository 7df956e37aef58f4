"""Preprocessing: the per-feature affine map fitted on training data and saved with a model.

``X' = (X - shift) / scale`` on column data X of shape (n[0], m). A model file stores it (as
:meth:`Preprocessing.to_dict`) so that ``load(path).predict`` repeats it on raw data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ConfigError, DataError, NotFittedError, ShapeError
from .shapes import as_float_array

__all__ = ["Preprocessing"]

_CHUNK = 4096  # columns per step when fitting statistics (memory-mapped data stays on disk)


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
            raise DataError(_undefined_statistics(X, self.shift, self.scale))
        return self

    def transform(self, X: Any, dtype: Any = np.float64) -> np.ndarray:
        """(X - shift) / scale as a new array of ``dtype``, shape (n[0], m)."""
        if not self.fitted:
            raise NotFittedError(f"this {self.type!r} preprocessing is not fitted yet: call fit(X_train) first")
        X = _columns(X, "X")
        if self.shift is not None and X.shape[0] != self.shift.shape[0]:
            n0 = self.shift.shape[0]
            # the hint is a sentence of its own: the command line rewrites the first one (up to its period)
            hint = f". Samples go in columns: X {X.shape} looks transposed, did you mean X.T?" if X.shape[1] == n0 else ""
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


def _undefined_statistics(X: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> str:
    """Why fitted statistics are not finite: the first NaN/inf of X (feature, sample), else an overflow."""
    for start in range(0, X.shape[1], _CHUNK):
        bad = ~np.isfinite(X[:, start:start + _CHUNK])
        if bad.any():
            i = int(np.argmax(bad.any(axis=0)))
            j = int(np.argmax(bad[:, i]))
            return (f"X contains NaN or infinity (first at [{j}, {start + i}]: feature {j} of sample {start + i}, "
                    f"0-based), so its statistics are undefined; clean the data first")
    j = int(np.argmax(~(np.isfinite(shift) & np.isfinite(scale)).ravel()))
    return (f"the statistics of feature {j} overflow float64 (its values reach {np.abs(X[j]).max():g}); rescale "
            "that feature first")


def _float_vector(v: Any, what: str) -> np.ndarray:
    if not isinstance(v, list) or not v or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v):
        raise ConfigError(f"{what} must be a non-empty list of numbers")
    a = np.array(v, dtype=np.float64)
    if not np.isfinite(a).all():
        raise ConfigError(f"{what} holds NaN or infinity")
    return a


def _columns(X: Any, name: str) -> np.ndarray:
    """X as a 2-D real array (n[0], m), without a copy when it already is one (memory maps stay on disk)."""
    if getattr(X, "dtype", None) is not None and X.dtype.kind == "c":
        # casting would silently drop the imaginary part
        raise DataError(f"{name} has dtype {X.dtype}; it must hold real numbers (take .real or abs() first)")
    X = as_float_array(X, name) if not isinstance(X, np.ndarray) or X.dtype.kind not in "fiub" else X
    if X.ndim != 2:
        raise ShapeError(f"{name} must be columns (n[0], m), got shape {X.shape}")
    return X
