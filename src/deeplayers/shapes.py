"""Shape checks in the course's notation.

Getting dimensions right is part of the product: every public entry point calls these before any
arithmetic, so a wrong shape is reported as "W[2] must be (n[2], n[1]) = (7, 20), got (20, 7)"
instead of a bare NumPy broadcasting error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import DataError, ShapeError


def _shape(a: object) -> str:
    shape = getattr(a, "shape", None)
    if shape is None:
        return f"a {type(a).__name__}, not an array"
    return str(tuple(int(s) for s in shape))


def as_float_array(a: object, name: str, dtype: np.dtype | None = None) -> np.ndarray:
    """Convert ``a`` to a floating array, with a clear error for strings/objects."""
    try:
        arr = np.asarray(a)
    except (ValueError, TypeError) as exc:  # ragged nested lists
        raise DataError(f"{name} could not be turned into an array ({exc}); is it ragged?") from None
    if arr.dtype == object or arr.dtype.kind in "USV":
        raise DataError(
            f"{name} has dtype {arr.dtype}; it must hold numbers. Convert text or objects to floats "
            "first (labels can go through the scikit-learn estimators, which encode them)."
        )
    if arr.dtype.kind == "c":
        raise DataError(f"{name} has dtype {arr.dtype}; it must hold real numbers (take .real or abs() first)")
    if dtype is None:
        dtype = arr.dtype if arr.dtype.kind == "f" else np.dtype(np.float64)
    try:
        with np.errstate(over="raise"):  # a finite value past float32's range would read as "infinity"
            return arr.astype(dtype, copy=False)
    except FloatingPointError:
        big = float(np.max(np.abs(arr[np.isfinite(arr)])))
        raise DataError(f"{name} holds values beyond {np.dtype(dtype).name}'s range (its largest magnitude is "
                        f"{big:.3g}, the limit {float(np.finfo(dtype).max):.3g}): scale it, or use dtype='float64'") from None


def check_layer_dims(layer_dims: Sequence[int]) -> list[int]:
    """Validate ``layer_dims = [n0, n1, ..., nL]`` and return it as a list of ints."""
    try:
        dims = [int(n) for n in layer_dims]
    except (TypeError, ValueError):
        raise ShapeError(f"layer_dims must be a list of ints [n0, n1, ..., nL], got {layer_dims!r}") from None
    if len(dims) < 2:
        raise ShapeError(
            f"layer_dims must hold at least two sizes [n0, ..., nL] (input and output), got {dims}"
        )
    for l, (n, raw) in enumerate(zip(dims, layer_dims)):
        if n < 1 or n != raw or isinstance(raw, (bool, np.bool_)):  # (True == 1, but it is no size)
            raise ShapeError(f"n[{l}] must be a positive integer, got {raw!r} in layer_dims={list(layer_dims)}")
    return dims


def check_W(W: np.ndarray, l: int | str, n_l: int | None, n_prev: int | None) -> None:
    """W[l] must be (n[l], n[l-1])."""
    lp = f"{l}-1" if isinstance(l, str) else str(l - 1)
    want = f"(n[{l}], n[{lp}])"
    if n_l is not None and n_prev is not None:
        want += f" = ({n_l}, {n_prev})"
    ok = getattr(W, "ndim", 0) == 2 and (n_l is None or W.shape[0] == n_l) and (
        n_prev is None or W.shape[1] == n_prev
    )
    if not ok:
        raise ShapeError(f"W[{l}] must be {want}, got {_shape(W)}")


def check_b(b: np.ndarray, l: int | str, n_l: int) -> None:
    """b[l] must be a column (n[l], 1)."""
    if getattr(b, "shape", None) != (n_l, 1):
        hint = ""
        if getattr(b, "shape", None) in ((n_l,), (1, n_l)):
            hint = " — make it a column with b.reshape(-1, 1)"
        raise ShapeError(f"b[{l}] must be (n[{l}], 1) = ({n_l}, 1), got {_shape(b)}{hint}")


def check_X(X: np.ndarray, n0: int, name: str = "X") -> None:
    """X = A[0] must be (n[0], m): one column per sample."""
    if getattr(X, "ndim", 0) == 2 and X.shape[0] == n0:
        if X.shape[1] == 0:
            raise DataError(f"{name} has no samples: its shape is {_shape(X)}, need (n[0], m) with m >= 1")
        return
    hint = ""
    if getattr(X, "ndim", 0) == 2 and X.shape[1] == n0:
        hint = ": samples go in columns — did you mean X.T?"
    elif getattr(X, "ndim", 0) == 1 and X.shape[0] == n0:
        hint = ": a single sample must be a column — did you mean X.reshape(-1, 1)?"
    elif getattr(X, "ndim", 0) > 2:
        hint = ": flatten images into columns first, X.reshape(X.shape[0], -1).T"
    raise ShapeError(f"{name} must be (n[0], m) = ({n0}, m), got {_shape(X)}{hint}")


def check_A_prev(A_prev: np.ndarray, l: int | str, n_prev: int) -> None:
    """A[l-1] must be (n[l-1], m)."""
    lp = f"{l}-1" if isinstance(l, str) else str(l - 1)
    if not (getattr(A_prev, "ndim", 0) == 2 and A_prev.shape[0] == n_prev):
        raise ShapeError(f"A[{lp}] must be (n[{lp}], m) = ({n_prev}, m), got {_shape(A_prev)}")


def check_Y(Y: np.ndarray, nL: int, m: int, L: int | str = "L") -> None:
    """Y must be (n[L], m), matching A[L]."""
    if getattr(Y, "shape", None) == (nL, m):
        return
    hint = ""
    shape = getattr(Y, "shape", None)
    if shape == (m,) and nL == 1:
        hint = ": labels must be a row — did you mean Y.reshape(1, -1)?"
    elif shape == (m, nL):
        hint = ": samples go in columns — did you mean Y.T?"
    elif shape == (m,) and nL > 1:
        hint = f": with {nL} output units Y must be one-hot, one column per sample"
    raise ShapeError(f"Y must be (n[{L}], m) = ({nL}, {m}), got {_shape(Y)}{hint}")


def check_grad(dA: np.ndarray, name: str, shape: tuple[int, int], notation: str) -> None:
    """A gradient must have the shape of what it differentiates."""
    if getattr(dA, "shape", None) != shape:
        raise ShapeError(f"{name} must be {notation} = {shape}, got {_shape(dA)}")


def check_finite(name: str, a: np.ndarray, chunk: int = 1 << 22, todo: str = "clean or impute the data before training",
                 ) -> None:
    """Raise a DataError naming the first NaN/inf entry of ``a`` (row = unit, column = sample),
    followed by ``todo``.

    Checked in blocks of columns, so a memory-mapped X is never held in memory whole."""
    if a.dtype.kind not in "fc":
        return  # integers and booleans are always finite
    cols = max(1, chunk // max(1, a.shape[0])) if a.ndim == 2 else a.size
    for start in range(0, a.shape[-1] if a.ndim == 2 else 1, cols):
        block = a[:, start:start + cols] if a.ndim == 2 else a
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            if a.ndim == 2:
                bad[1] += start
            where = ", ".join(str(int(i)) for i in bad)
            raise DataError(
                f"{name} contains NaN or infinity (first at [{where}]); {todo}"
            )
