"""W[l] -= dZ[l] A[l-1]^T as one BLAS call: gemm with beta = 1, into W[l] itself.

Plain gradient descent's step W[l] - dW[l] is one more pass over every parameter and gradient
after the products. On a machine whose two cores trade cache lines slowly (this benchmark
machine, for seconds to minutes at a time) that pass cost 12x its usual time: BLAS's two threads
wrote the halves of dW[l] on their own cores, and the step reads them all on one. BLAS's gemm
computes C = alpha A B + beta C; with alpha = -1, beta = 1 and C = W[l] each thread subtracts
its own part of dZ[l] A[l-1]^T where it computed it, and dW[l] is never written.

NumPy does not expose beta, so the gemm is NumPy's own BLAS, called through ctypes: found only
for OpenBLAS (NumPy's wheels), whose symbols and integer width NumPy's build configuration
names; anything else gives ``None`` and the step stays NumPy's. Whether the call gives the same
bits as ``W - dZ A^T`` for a layer's shapes and layouts is checked by the caller before use
(workspace.py): it does where BLAS adds the inner dimension in one block, as for a mini-batch.

:func:`product` is the same gemm with beta = 0, for the products split across threads
(threads.py): a block of rows of W[l]^T, which np.dot would copy first, goes to BLAS as it is.
"""

from __future__ import annotations

import ctypes
import os
from typing import Any

import numpy as np

__all__ = ["available", "runs", "subtract_product", "product"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112
_found: Any = None  # {dtype: its cblas gemm}, {} when there is none; None: not looked yet


def _openblas() -> tuple[str, bool] | None:
    """(the file of NumPy's OpenBLAS, whether its integers are 64-bit), or None."""
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:  # (an older NumPy, or a build that does not say)
        return None
    if "openblas" not in str(blas.get("name", "")).lower():
        return None
    ilp64 = "USE64BITINT" in str(blas.get("openblas configuration", ""))
    # NumPy's own copy: in numpy.libs beside the package (Linux, Windows wheels) or .dylibs in it (macOS)
    pkg = os.path.dirname(os.path.abspath(np.__file__))
    mine = [os.path.join(d, f) for d in (pkg + ".libs", os.path.join(pkg, ".dylibs")) if os.path.isdir(d)
            for f in sorted(os.listdir(d)) if "openblas" in f.lower()]
    if len(mine) != 1:
        return None
    return mine[0], ilp64


def _functions() -> dict:
    global _found
    if _found is None:
        _found = {}
        where = _openblas()
        if where is not None:
            path, ilp64 = where
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                return _found
            integer, suffix = (ctypes.c_int64, "64_") if ilp64 else (ctypes.c_int32, "")
            for dtype, letter, real in ((np.dtype(np.float32), "s", ctypes.c_float),
                                        (np.dtype(np.float64), "d", ctypes.c_double)):
                for prefix in ("scipy_", ""):
                    fn = getattr(lib, f"{prefix}cblas_{letter}gemm{suffix}", None)
                    if fn is not None:
                        p = ctypes.c_void_p
                        fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, real,
                                       p, integer, p, integer, real, p, integer]
                        fn.restype = None
                        _found[dtype] = fn
                        break
    return _found


def _operand(M: np.ndarray) -> tuple[int, int] | None:
    """(trans flag, leading dimension) of M as a row-major BLAS operand, or None."""
    s0, s1 = M.strides
    size = M.itemsize
    rows, cols = M.shape
    if s1 == size and s0 % size == 0 and s0 // size >= max(1, cols):
        return _NO_TRANS, s0 // size
    if s0 == size and s1 % size == 0 and s1 // size >= max(1, rows):  # a transposed row-major array
        return _TRANS, s1 // size
    return None


def available(dtype: np.dtype) -> bool:
    """Whether :func:`subtract_product` can run for this dtype (NumPy's OpenBLAS found)."""
    return np.dtype(dtype) in _functions()


def _call(W: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float = -1.0, beta: float = 1.0) -> tuple | None:
    """The gemm and its arguments for W = alpha A B + beta W (default: W -= A B), or None where it
    cannot run (see subtract_product)."""
    fn = _functions().get(W.dtype)
    if fn is None or A.dtype != W.dtype or B.dtype != W.dtype or A.shape[1] != B.shape[0] \
            or W.shape != (A.shape[0], B.shape[1]) or W.strides[1] != W.itemsize or W.shape[0] * W.shape[1] == 0:
        return None
    a, b, c = _operand(A), _operand(B), W.strides[0] // W.itemsize
    if a is None or b is None or c < W.shape[1]:
        return None
    M, N = W.shape
    return fn, (_ROW_MAJOR, a[0], b[0], M, N, A.shape[1], alpha, A.ctypes.data, a[1], B.ctypes.data, b[1], beta,
                W.ctypes.data, c)


def runs(W: np.ndarray, A: np.ndarray, B: np.ndarray) -> bool:
    """Whether :func:`subtract_product` runs for these arrays (and so for any block of W's rows with
    A's same rows)."""
    return _call(W, A, B) is not None


def _run(C: np.ndarray, A: np.ndarray, B: np.ndarray, alpha: float, beta: float) -> bool:
    """C = alpha A B + beta C in one gemm; False (C untouched) where :func:`_call` finds it cannot run."""
    call = _call(C, A, B, alpha, beta)
    if call is None:
        return False
    call[0](*call[1])
    return True


def subtract_product(W: np.ndarray, A: np.ndarray, B: np.ndarray) -> bool:
    """W -= A B in one gemm (alpha = -1, beta = 1) when the layouts allow it; False (W untouched)
    when they do not, or no BLAS was found."""
    return _run(W, A, B, -1.0, 1.0)


def product(out: np.ndarray, A: np.ndarray, B: np.ndarray) -> bool:
    """out = A B in one gemm (beta = 0) on operands with any leading dimension, which ``np.dot``
    copies first unless they are C- or F-contiguous (a block of rows of W[l]^T is neither); False
    (out untouched) where the layouts do not allow it, or no BLAS was found."""
    return _run(out, A, B, 1.0, 0.0)
