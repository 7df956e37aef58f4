"""Check a learner's own course functions against deeplayers' (``deeplayers.course.check``).

Each course function a learner writes (``linear_forward`` ... ``update_parameters``) is run on
seeded random inputs of several shapes (L = 1, m = 1, non-square and square layers) next to
deeplayers' own (:mod:`deeplayers.course`). The report names the first output that differs (which
key, which layer, expected vs got shape or values) and, when the difference has a known cause, the
likely mistake in the notation. The known causes are recognised by how the wrong output relates
to the right one (dW exactly m times too large, every gradient of the opposite sign, A[l] in the
cache where A[l-1] belongs ...), or by the shapes NumPy names when the learner's code raises; the
references for those relations are deeplayers' own functions run with the mistaken arguments, so
no second copy of the math lives here.

Each call runs under a time limit; a function that raises, returns the wrong type or takes too
long is reported, never crashed on. ``deeplayers check FILE.py`` runs every course-named function
of a file.
"""

from __future__ import annotations

import contextlib
import copy
import importlib.util
import inspect
import io
import os
import re
import signal
import sys
import threading
import time
import traceback
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import course_functions as course
from .activations import get_activation
from .errors import ConfigError
from .losses import BinaryCrossEntropy

__all__ = ["COURSE_FUNCTIONS", "CheckReport", "check", "check_file", "load_functions"]

#: the course functions ``check`` knows, in the order the course builds them
COURSE_FUNCTIONS = (
    "initialize_parameters_deep", "linear_forward", "linear_activation_forward", "L_model_forward",
    "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward", "update_parameters",
)

#: seconds each call of a learner's function may take
TIME_LIMIT = 5.0
#: the longest time_limit (a day): setitimer overflows far above it, and a longer wait is a hang
MAX_TIME_LIMIT = 86400.0
#: seconds of a file's import (its top-level code) after which the command line says what is running
IMPORT_NOTICE_AFTER = 3.0

#: the mistakes check names, each with what the course writes instead
MISTAKES = {
    "dW_m": "dW without 1/m: the course averages over the m examples, dW[l] = (1/m) np.dot(dZ[l], A[l-1].T) "
            "with m = A_prev.shape[1]",
    "db_m": "db without 1/m: db[l] = (1/m) np.sum(dZ[l], axis=1, keepdims=True)",
    "A_l": "A[l] used where A[l-1] belongs: the linear cache of layer l holds its INPUT A_prev = A[l-1] "
           "(cache = (A_prev, W, b)), and dW[l] = (1/m) dZ[l] A[l-1].T",
    "W_T": "W[l] not transposed: dA_prev = np.dot(W.T, dZ), i.e. dA[l-1] = W[l]^T dZ[l]",
    "keepdims": "missing keepdims: db = (1/m) np.sum(dZ, axis=1, keepdims=True) keeps db[l] a column (n[l], 1)",
    "db_axis": "db summed over every entry of dZ: np.sum(dZ) without axis=1 adds up all units and samples into one "
               "number; db[l] = (1/m) np.sum(dZ[l], axis=1, keepdims=True) sums over the m samples, one value per unit",
    "dA_off": "dA indexed one layer off: layer l's linear_activation_backward reads dA[l] and gives dA[l-1]; in the "
              "course's loop over l in reversed(range(L-1)) that is grads['dA' + str(l + 1)] in and "
              "grads['dA' + str(l)] out (keys dA0 .. dA(L-1))",
    "dAL_sign": "the sign of dAL: dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL)), with the leading minus",
    "sign": "every gradient has the opposite sign (check the sign of dZ or dA)",
    "cost_sign": "the cost has the opposite sign: the cross-entropy has a leading minus, "
                 "J = -(1/m) sum(Y log(AL) + (1 - Y) log(1 - AL)), so it is positive",
    "relu_place": "relu derivative at the wrong place: layer L is the sigmoid layer (dZ[L] = dAL * s * (1 - s) with "
                  "s = sigmoid(Z[L])); the relu derivative (dZ = dA where Z > 0, else 0) belongs to layers 1 .. L-1",
    "relu_dA": "relu derivative taken from dA instead of Z: dZ = dA where Z > 0, else 0, with Z the activation cache "
               "(dZ = np.array(dA, copy=True); dZ[Z <= 0] = 0), not where dA > 0",
    "g_missing": "the activation's derivative is missing: dZ[l] = dA[l] * g'(Z[l]) before the linear step",
    "g_swapped": "relu and sigmoid swapped: the course's network is [LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID",
    "fused": "dZ[L] = AL - Y used in L_model_backward: that shortcut is exact only when AL = sigmoid(Z[L]); the course "
             "computes dAL = -(Y/AL - (1-Y)/(1-AL)) and the sigmoid derivative from the Z[L] in the cache",
    "inplace": "dA changed in place by the relu derivative: dZ = dA makes dZ the same array as grads['dA...'], so "
               "dZ[Z <= 0] = 0 also zeroes the stored dA; copy it first, dZ = np.array(dA, copy=True)",
    "W1": "W1 reused in every layer: layer l uses parameters['W' + str(l)] and parameters['b' + str(l)]",
    "star": "`*` used for np.dot: `*` multiplies element by element (with broadcasting); Z = np.dot(W, A) + b is the "
            "matrix product",
    "Z_cache": "the activation cache holds Z, not A: cache = (linear_cache, Z)",
    "Z_linear_cache": "Z stored in the linear cache: the linear cache holds the layer's inputs, cache = (A_prev, W, b) "
                      "with A_prev = A[l-1]; Z goes in the activation cache, cache = (linear_cache, Z)",
    "X_every": "X fed to every layer: layer l takes A_prev = A[l-1], the output of layer l-1 (A = X before the loop, "
               "then A_prev = A in it)",
    "hidden_sigmoid": "sigmoid in the hidden layers: layers 1 .. L-1 use relu and only layer L sigmoid, "
                      "[LINEAR -> RELU] x (L-1) -> LINEAR -> SIGMOID",
    "out_relu": "relu at the output layer L: A[L] = sigmoid(Z[L]), the probability the cost needs; relu belongs to "
                "layers 1 .. L-1",
    "b_missing": "b[l] not added: Z = np.dot(W, A) + b",
    "cost_m": "the cost without 1/m: J = -(1/m) sum(Y log(AL) + (1 - Y) log(1 - AL))",
    "squeeze": "the cost is not a number: np.squeeze(cost) turns the (1, 1) array into a scalar",
    "W_shape": "W[l] must be (n[l], n[l-1]): np.random.randn(layer_dims[l], layer_dims[l-1])",
    "b_column": "b[l] must be a column of zeros, np.zeros((layer_dims[l], 1))",
    "init_scale": "W[l] not scaled: after np.random.seed(3) the step-by-step notebook draws "
                  "np.random.randn(layer_dims[l], layer_dims[l-1]) * 0.01; found randn(...) with no scaling",
    "init_sqrt": "W[l] not scaled: after np.random.seed(1) the application notebook draws "
                 "np.random.randn(layer_dims[l], layer_dims[l-1]) / np.sqrt(layer_dims[l-1]); found randn(...) with "
                 "no scaling",
    "init_sqrt_n": "W[l] divided by np.sqrt(layer_dims[l]): the application notebook divides by "
                   "np.sqrt(layer_dims[l-1]), the square root of n[l-1], the number of inputs of layer l",
    "init_mixed_3": "the notebooks' initializers mixed: after np.random.seed(3) the step-by-step notebook scales by "
                    "* 0.01; found / np.sqrt(layer_dims[l-1]), the application notebook's scaling (which seeds 1)",
    "init_mixed_1": "the notebooks' initializers mixed: after np.random.seed(1) the application notebook scales by "
                    "/ np.sqrt(layer_dims[l-1]); found * 0.01, the step-by-step notebook's scaling (which seeds 3)",
    "seed_loop": "np.random.seed inside the loop: seed once, before drawing W1, W2, ... in order",
    "L_params": "L = len(parameters) // 2: the dict holds two arrays (W[l], b[l]) per layer",
    "l_from_1": "layers are numbered from 1: keys 'W' + str(l + 1) when l counts from 0",
    "update_sign": "W[l] = W[l] - learning_rate * dW[l]: the update goes against the gradient",
    "mutated": "an argument changed in place: the course's functions leave their inputs as they were (the caller may "
               "still use them; its tests call a function twice with the same ones); work on a copy, e.g. "
               "parameters = copy.deepcopy(params) and W = W - learning_rate * dW rather than -=",
    "b_update": "b[l] not updated: b[l] = b[l] - learning_rate * db[l]",
    "layer_skipped": "a layer left out of the update: W[l] and b[l] of every layer l = 1 .. L are updated "
                     "(for l in range(L), keys 'W' + str(l + 1))",
}


class _OutOfTime(BaseException):
    """Raised inside the learner's function when its time is up (a BaseException, so `except Exception` in the
    learner's code cannot swallow it)."""


@dataclass
class _Case:
    label: str
    args: tuple
    info: dict[str, Any] = field(default_factory=dict)


class _Diff(Exception):
    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where, self.what = where, what


@dataclass
class CheckReport:
    """The outcome of :func:`check`: ``ok``, and ``str(report)`` says what differs and the likely mistake."""

    name: str
    ok: bool
    cases: list[str]
    case: str | None = None  # the first failing case
    problem: str | None = None  # the first output that differs, or what went wrong in the call
    mistake: str | None = None  # the likely mistake in the notation (a MISTAKES text), when recognised
    mistake_key: str | None = None
    seen_in: str | None = None  # the case that showed the mistake, when another than ``case``
    failed: int = 0
    not_run: int = 0  # cases left out after a call ran out of time

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.ok:
            return (f"{self.name}: OK, every output equals deeplayers' on {len(self.cases)} cases "
                    f"({'; '.join(self.cases)})")
        skipped = f" ({self.not_run} more not run after the time-out)" if self.not_run else ""
        lines = [f"{self.name}: FAILED on {self.failed} of {len(self.cases)} cases{skipped}; first: {self.case}",
                 f"  {self.problem}"]
        if self.mistake:
            where = f" (recognised in the case {self.seen_in})" if self.seen_in and self.seen_in != self.case else ""
            lines.append(f"  likely mistake{where}: {self.mistake}")
        return "\n".join(lines)


# -- running a learner's function safely --------------------------------------------------------------
class _ProcessExit(SystemExit):
    """os._exit(n) called by the learner's code: it would end the checking process at once, with
    status n (0 read as "passed" by a CI job), before any report."""


@contextlib.contextmanager
def _no_process_exit() -> Iterator[None]:
    def refuse(status: int = 0) -> None:
        raise _ProcessExit(f"os._exit({status!r}) was called; a checked function must return its result")

    real, os._exit = os._exit, refuse  # type: ignore[assignment]
    try:
        yield
    finally:
        os._exit = real


def _call(fn: Callable, args: tuple, time_limit: float) -> tuple[str, Any]:
    """("value", v), ("error", exc) or ("timeout", None); the learner's prints and warnings are kept
    out of the report and NumPy's global random state is restored afterwards."""
    state = np.random.get_state()
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), warnings.catch_warnings(), _no_process_exit():
            warnings.simplefilter("ignore")
            with np.errstate(all="ignore"):
                if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
                    return _call_with_alarm(fn, args, time_limit)
                return _call_in_thread(fn, args, time_limit)
    finally:
        np.random.set_state(state)


def _call_with_alarm(fn: Callable, args: tuple, time_limit: float) -> tuple[str, Any]:
    def out_of_time(signum: int, frame: Any) -> None:
        raise _OutOfTime

    previous = signal.signal(signal.SIGALRM, out_of_time)
    started = time.monotonic()
    try:
        # a timer someone else had set (e.g. a test runner's timeout): put back afterwards; set
        # outside the learner's try, so that its errors are never reported as theirs
        outer = signal.setitimer(signal.ITIMER_REAL, time_limit)
    except BaseException:
        signal.signal(signal.SIGALRM, previous)
        raise
    try:
        try:
            try:
                return "value", fn(*args)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except _OutOfTime:
            return "timeout", None
        except (Exception, SystemExit) as exc:
            return "error", exc
    finally:
        signal.signal(signal.SIGALRM, previous)
        if outer[0] > 0:
            signal.setitimer(signal.ITIMER_REAL, max(outer[0] - (time.monotonic() - started), 1e-3), outer[1])


def _call_in_thread(fn: Callable, args: tuple, time_limit: float) -> tuple[str, Any]:
    result: list[tuple[str, Any]] = []

    def run() -> None:
        try:
            result.append(("value", fn(*args)))
        except BaseException as exc:  # noqa: BLE001 - reported, whatever it is
            result.append(("error", exc))

    worker = threading.Thread(target=run, daemon=True, name="deeplayers-check")
    worker.start()
    worker.join(time_limit)
    if worker.is_alive() or not result:  # it keeps running in the background; nothing can stop a thread
        return "timeout", None
    return result[0]


def _learner_line(exc: BaseException) -> str:
    """The last line of the learner's own code in the traceback (not NumPy's, not ours)."""
    if isinstance(exc, SyntaxError) and exc.filename:  # the learner's line is in the exception, not the traceback
        code = f" `{exc.text.strip()}`" if exc.text and exc.text.strip() else ""
        return f" at {Path(exc.filename).name} line {exc.lineno}{code}"
    ours = Path(__file__).resolve().parent
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "numpy" not in Path(f.filename).parts and not Path(f.filename).resolve().is_relative_to(ours)
              and not f.filename.startswith("<frozen")]  # importlib's, exit()'s: not the learner's
    if not frames:
        return ""
    f = frames[-1]
    code = f" `{f.line.strip()}`" if f.line else ""
    return f" at {Path(f.filename).name} line {f.lineno}{code}"


def _arrays(x: Any, path: str) -> Iterator[tuple[str, np.ndarray]]:
    """Every array in an argument (through dicts, tuples and lists), with its path: caches[1][0][0]."""
    if isinstance(x, np.ndarray):
        yield path, x
    elif isinstance(x, dict):
        for k, v in x.items():
            yield from _arrays(v, f"{path}[{k!r}]")
    elif isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            yield from _arrays(v, f"{path}[{i}]")


def _snapshot(name: str, args: tuple) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(path, the array passed, a copy of it) for every array the learner's function receives."""
    names = list(inspect.signature(getattr(course, name)).parameters)
    return [(path, a, a.copy()) for n, arg in zip(names, args) for path, a in _arrays(arg, n)]


def _keeps_inputs(name: str, fn: Callable) -> bool:
    """Whether ``fn`` is to leave its argument arrays as they were. The older notebook's
    update_parameters(parameters, grads, learning_rate) updates the caller's parameters and returns
    them (``-=`` included); the newer one's (params, ...) starts from copy.deepcopy(params)."""
    if name != "update_parameters":
        return True
    try:
        first = next(iter(inspect.signature(fn).parameters), None)
    except (TypeError, ValueError):  # (a builtin or C function: no signature to read)
        return True
    return first != "parameters"


def _mutated(snapshot: list[tuple[str, np.ndarray, np.ndarray]]) -> str | None:
    """The first argument array whose values the call changed in place (a rebound dict entry is not that)."""
    for path, a, before in snapshot:
        if a.shape != before.shape or not np.array_equal(a, before, equal_nan=True):
            return path
    return None


# -- comparing outputs ----------------------------------------------------------------------------------
def _kind(x: object) -> str:
    if x is None:
        return "None"
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape}"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    name = type(x).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _tolerance(exp: np.ndarray, got: Any) -> tuple[float, float]:
    """(rtol, atol) of "equal to rounding": relative 1e-6, and 1e-5 of the output's largest entry, as a
    learner's float32 arithmetic (float32 casts inside a float64 result too) leaves an entry near 0
    that is a sum of larger products; every mistake check names is off by far more."""
    scale = max(1.0, float(np.max(np.abs(exp)))) if np.size(exp) else 1.0
    return 1e-6, 1e-5 * scale


def _close(exp: np.ndarray, got: Any) -> bool:
    rtol, atol = _tolerance(exp, got)
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if got.shape != exp.shape:
        return False
    return bool(np.allclose(got, exp, rtol=rtol, atol=atol))


def _array(where: str, exp: np.ndarray, got: Any) -> None:
    """Raise _Diff unless ``got`` is an array of exp's shape with exp's values (to rounding)."""
    if not isinstance(got, (np.ndarray, np.generic, float, int)) or isinstance(got, bool):
        raise _Diff(where, f"expected an array of shape {exp.shape}, got {_kind(got)}")
    try:
        g = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        raise _Diff(where, f"expected an array of numbers of shape {exp.shape}, got {_kind(got)}") from None
    if g.shape != exp.shape:
        raise _Diff(where, f"shape: expected {exp.shape}, got {g.shape}")
    if not _close(exp, got):
        diff = np.abs(g - exp)
        diff = np.where(np.isnan(diff), np.inf, diff)
        if exp.ndim == 0:
            raise _Diff(where, f"value differs: expected {float(exp):.6g}, got {float(g):.6g}")
        rtol, atol = _tolerance(exp, got)
        # the entry furthest outside the tolerance, not the largest |difference|: that one may be within it
        i = np.unravel_index(int(np.argmax(diff / (atol + rtol * np.abs(exp)))), exp.shape)
        at = "[" + ", ".join(str(int(k)) for k in i) + "]"
        raise _Diff(where, f"values differ: at {at} expected {exp[i]:.6g}, got {g[i]:.6g} "
                           f"(largest |difference| {float(np.max(diff)):.3g})")


def _items(where: str, got: Any, n: int, names: str) -> tuple:
    if not isinstance(got, (tuple, list)) or len(got) != n:
        raise _Diff(where, f"expected {names}, got {_kind(got)}")
    return tuple(got)


def _keys(where: str, got: Any, want: list[str]) -> None:
    if not isinstance(got, dict):
        raise _Diff(where, f"expected a dict with keys {', '.join(want)}, got {_kind(got)}")
    missing = [k for k in want if k not in got]
    extra = sorted(str(k) for k in got if k not in want)
    if missing or extra:
        parts = ([f"missing {', '.join(missing)}"] if missing else []) + ([f"unexpected {', '.join(extra)}"] if extra else [])
        raise _Diff(where, f"keys: {'; '.join(parts)} (expected {', '.join(want)})")


# -- the parts of a mistake's recognition that several functions share --------------------------------
def _grad_relation(exp: dict[str, np.ndarray], got: dict[str, Any], m: int) -> str | None:
    """dW/db too large by m, db without keepdims, every gradient negated."""
    pairs = [(k, e, got.get(k)) for k, e in exp.items() if isinstance(got.get(k), (np.ndarray, np.generic))]
    for k, e, g in pairs:
        name = k.rstrip("0123456789")
        if name in ("dW", "db") and m > 1 and not _close(e, g) and _close(m * e, g):
            return "dW_m" if name == "dW" else "db_m"
        summed = np.full(np.shape(g), np.sum(e))  # np.sum(dZ) / m: one number, that keepdims alone would not split
        if name == "db" and np.ndim(g) != 1 and np.size(g) == 1 and not _close(e, g) and _close(summed, g):
            return "db_axis"
        if name == "db" and np.shape(g) != e.shape and np.size(g) == e.size and (
                _close(e.ravel(), np.ravel(g)) or _close(m * e.ravel(), np.ravel(g))):
            return "keepdims"
    if pairs and all(_close(-e, g) for _, e, g in pairs) and not all(_close(e, g) for _, e, g in pairs):
        return "sign"
    return None


_BROADCAST = re.compile(r"could not be broadcast together with (?:remapped )?shapes ((?:\s*\(\d+,\d+\))+)")
_NOT_ALIGNED = re.compile(r"shapes \((\d+),(\d+)\) and \((\d+),(\d+)\) not aligned")


def _error_hint(exc: BaseException, shapes: dict[str, list[tuple[int, int]]], backward: bool) -> str | None:
    """Name the mistake from what the exception says: np.dot's shapes, a broadcast, a missing key."""
    text = str(exc)
    Ws, dZs, As = shapes.get("W", []), shapes.get("dZ", []), shapes.get("A", [])
    match = _BROADCAST.search(text)
    if match:  # `*` for np.dot: W[l] (or its transpose) times A[l-1] or dZ[l]; another broadcast (b.T ...) is not that
        pair = [tuple(map(int, t)) for t in re.findall(r"\((\d+),(\d+)\)", match[1])]
        if any(x in Ws or x[::-1] in Ws for x in pair) and any(x in As + dZs for x in pair):
            return "star"
    match = _NOT_ALIGNED.search(text)
    if match:
        a = (int(match[1]), int(match[2]))
        b = (int(match[3]), int(match[4]))
        if backward and any(a == W and b == dZ for W, dZ in zip(Ws, dZs)):
            return "W_T"
        if not backward and Ws and a == Ws[0] and b in As[1:] and b != As[0]:
            return "W1"
        if not backward and As and b == As[0] and any(a == W and A != b for W, A in zip(Ws[1:], As[1:])):
            return "X_every"
    if isinstance(exc, KeyError) and exc.args:
        key = str(exc.args[0])
        if key.startswith("dA"):
            return "dA_off"
        if key in ("W0", "b0", "dW0", "db0"):
            return "l_from_1"
        if key[:1] in "Wb" and key[1:].isdigit():
            return "L_params"
    return None


def _layer_shapes(dims: list[int], m: int) -> dict[str, list[tuple[int, int]]]:
    L = len(dims) - 1
    return {"W": [(dims[l], dims[l - 1]) for l in range(1, L + 1)], "dZ": [(dims[l], m) for l in range(1, L + 1)],
            "A": [(dims[l], m) for l in range(L + 1)]}


# -- the functions ---------------------------------------------------------------------------------------
_LINEAR_SHAPES = [(1, 3, 1), (4, 5, 6), (3, 3, 3), (2, 7, 1)]  # (n[l], n[l-1], m): m = 1, non-square, square
_CHAIN_CASES = [([3, 1], 1), ([5, 4, 2, 1], 6), ([4, 4, 4, 4, 1], 4), ([2, 6, 3, 1], 1)]  # (layer_dims, m)


def _rng(i: int) -> np.random.RandomState:
    return np.random.RandomState(1000 + i)


def _linear_cache(rng: np.random.RandomState, n: int, n_prev: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A_prev, W, b) of one layer, drawn in that order."""
    return rng.randn(n_prev, m), rng.randn(n, n_prev), rng.randn(n, 1)


def _layer_cases(first_seed: int, make_args: Callable[..., tuple], backward: bool,
                 activations: tuple[str | None, ...] = (None,)) -> list[_Case]:
    """One case per (n[l], n[l-1], m) of _LINEAR_SHAPES and activation g: the arguments are
    ``make_args(rng, n, n_prev, m, g)`` with the rng seeded by ``first_seed`` + the shape's index."""
    out = []
    for i, (n, n_prev, m) in enumerate(_LINEAR_SHAPES):
        for g in activations:
            args = make_args(_rng(first_seed + i), n, n_prev, m, g)
            label = f"(n[l], n[l-1], m) = {(n, n_prev, m)}" + ("" if g is None else f", activation = {g!r}")
            other = {"dZ": [(n, m)]} if backward else {"A": [(n_prev, m)]}
            out.append(_Case(label, args, {"shapes": {"W": [(n, n_prev)], **other}}))
    return out


def _params(rng: np.random.RandomState, dims: list[int]) -> dict[str, np.ndarray]:
    p = {}
    for l in range(1, len(dims)):
        p[f"W{l}"], p[f"b{l}"] = rng.randn(dims[l], dims[l - 1]), rng.randn(dims[l], 1)
    return p


def _caches(rng: np.random.RandomState, dims: list[int], m: int) -> list[tuple]:
    """Course-format caches with A_prev, W, b, Z drawn independently (as the course's own test cases)."""
    return [((rng.randn(dims[l - 1], m), rng.randn(dims[l], dims[l - 1]), rng.randn(dims[l], 1)), rng.randn(dims[l], m))
            for l in range(1, len(dims))]


class _Spec:
    name = ""
    backward = False

    def cases(self) -> list[_Case]:
        raise NotImplementedError

    def reference(self, case: _Case) -> Any:
        return getattr(course, self.name)(*copy.deepcopy(case.args))

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        raise NotImplementedError

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        return None

    def diagnose_error(self, case: _Case, exc: BaseException) -> str | None:
        return _error_hint(exc, case.info.get("shapes", {}), self.backward)


# the two notebooks' initializers: the seed each sets, and the scaling of randn(n[l], n[l-1]) it goes with
_NOTEBOOKS = {3: ("the step-by-step notebook", "small", "* 0.01"),
              1: ("the application notebook", "course", "/ np.sqrt(n[l-1])")}
_SCALINGS = {"none": lambda n_prev, n: 1.0, "small": lambda n_prev, n: 0.01,
             "course": lambda n_prev, n: 1 / np.sqrt(n_prev), "sqrt_n": lambda n_prev, n: 1 / np.sqrt(n)}
# (seed, scaling found) -> the mistake; the two right pairs never get here
_INIT_MISTAKES = {(3, "none"): "init_scale", (1, "none"): "init_sqrt", (3, "course"): "init_mixed_3",
                  (1, "small"): "init_mixed_1", (1, "sqrt_n"): "init_sqrt_n"}


def _init_draws(d: list[int], seed: int) -> list[np.ndarray]:
    """randn(n[l], n[l-1]) for l = 1 .. L after np.random.seed(seed), unscaled."""
    small = course.initialize_parameters_deep(d, seed=seed, method="small")
    return [100 * small[f"W{l}"] for l in range(1, len(d))]


def _init_found(d: list[int], got: dict) -> tuple[int, str | None] | None:
    """(seed, scaling): the seed whose draws every W[l] of ``got`` is a multiple of, and the name in
    _SCALINGS of the factors (None when they are none of those); None when neither seed's draws fit."""
    for seed in _NOTEBOOKS:
        factors = []
        for l, G in enumerate(_init_draws(d, seed), start=1):
            try:
                W = np.asarray(got.get(f"W{l}"), dtype=np.float64)
            except (TypeError, ValueError):
                return None
            c = float(np.sum(W * G) / np.sum(G * G)) if W.shape == G.shape else 0.0
            if c == 0.0 or not _close(c * G, W):
                break
            factors.append(c)
        else:
            names = [k for k, f in _SCALINGS.items()
                     if all(np.isclose(c, f(d[l - 1], d[l]), rtol=1e-6) for l, c in enumerate(factors, start=1))]
            return seed, (names[0] if len(names) == 1 else None)  # sizes that cannot tell them apart (n[l] = 1) name none
    return None


class _InitializeDeep(_Spec):
    name = "initialize_parameters_deep"

    def cases(self) -> list[_Case]:
        return [_Case(f"layer_dims = {d}", (d,), {"dims": d}) for d in ([5, 4, 3], [3, 1], [2, 7, 1, 4], [6, 3, 3, 1])]

    def reference(self, case: _Case) -> Any:
        d = case.args[0]  # either notebook's initializer, keyed by the seed it sets
        return {seed: course.initialize_parameters_deep(d, seed=seed, method=method)
                for seed, (_, method, _) in _NOTEBOOKS.items()}

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        d = case.args[0]
        L = len(d) - 1
        _keys("parameters", got, [k for l in range(1, L + 1) for k in (f"W{l}", f"b{l}")])
        for l in range(1, L + 1):
            for key in (f"W{l}", f"b{l}"):
                shape = exp[3][key].shape
                if np.shape(got[key]) != shape:
                    raise _Diff(f"parameters['{key}'] (layer {l})", f"shape: expected {shape}, got {np.shape(got[key])}")
        for ref in exp.values():
            if all(_close(ref[k], got[k]) for k in ref):
                return
        found = _init_found(d, got)
        seed = found[0] if found else 3  # the notebook whose seed the learner set; the step-by-step one if unknown
        notebook, _, scaling = _NOTEBOOKS[seed]
        for l in range(1, L + 1):
            _array(f"parameters['b{l}'] (layer {l})", exp[seed][f"b{l}"], got[f"b{l}"])
        for l in range(1, L + 1):
            _array(f"parameters['W{l}'] (layer {l}; {notebook} seeds np.random.seed({seed}) once and draws "
                   f"np.random.randn(n[l], n[l-1]) {scaling} for l = 1 .. L)", exp[seed][f"W{l}"], got[f"W{l}"])

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        d = case.args[0]
        if not isinstance(got, dict):
            return None
        for l in range(1, len(d)):
            g = got.get(f"W{l}")
            if g is not None and np.shape(g) == (d[l - 1], d[l]) and d[l - 1] != d[l]:
                return "W_shape"
            b = got.get(f"b{l}")
            if b is not None and np.shape(b) != (d[l], 1) and np.size(b) == d[l]:
                return "b_column"
        found = _init_found(d, got)
        if found in _INIT_MISTAKES:
            return _INIT_MISTAKES[found]
        Ws = [got.get(f"W{l}") for l in range(1, len(d))]
        for seed, (_, method, _) in _NOTEBOOKS.items():
            reseeded = [course.initialize_parameters_deep([d[l - 1], d[l]], seed=seed, method=method)["W1"]
                        for l in range(1, len(d))]
            if len(d) > 2 and all(_close(r, W) for r, W in zip(reseeded, Ws)):
                return "seed_loop"
        return None


class _LinearForward(_Spec):
    name = "linear_forward"

    def cases(self) -> list[_Case]:
        return _layer_cases(0, lambda rng, n, n_prev, m, g: _linear_cache(rng, n, n_prev, m), backward=False)

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        Z, cache = _items("return value", got, 2, "(Z, cache)")
        _array("Z", exp[0], Z)
        A_c, W_c, b_c = _items("cache", cache, 3, "cache = (A, W, b)")
        for where, e, g in (("cache[0] (A)", exp[1][0], A_c), ("cache[1] (W)", exp[1][1], W_c), ("cache[2] (b)", exp[1][2], b_c)):
            _array(where, e, g)

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        A, W, b = case.args
        Z = got[0] if isinstance(got, (tuple, list)) and got else None
        with np.errstate(all="ignore"):
            try:
                star = W * A + b
            except ValueError:
                star = None
        if star is not None and not _close(exp[0], star) and _close(star, Z):
            return "star"
        if Z is not None and _close(exp[0] - b, Z):
            return "b_missing"
        cache = got[1] if isinstance(got, (tuple, list)) and len(got) == 2 else None
        if isinstance(cache, (tuple, list)) and cache and not _close(A, cache[0]) and _close(exp[0], cache[0]):
            return "Z_linear_cache"
        return None


class _LinearActivationForward(_Spec):
    name = "linear_activation_forward"

    def cases(self) -> list[_Case]:
        return _layer_cases(10, lambda rng, n, n_prev, m, g: (*_linear_cache(rng, n, n_prev, m), g), backward=False,
                            activations=("sigmoid", "relu"))

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        A, cache = _items("return value", got, 2, "(A, cache)")
        _array("A", exp[0], A)
        lin, Z = _items("cache", cache, 2, "cache = (linear_cache, activation_cache)")
        _compare_linear_cache("cache: linear_cache", exp[1][0], lin)
        _array("cache: activation_cache (Z)", exp[1][1], Z)

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        return _forward_cache_hint(exp[0], exp[1], got[1] if isinstance(got, (tuple, list)) and len(got) == 2 else None) \
            or _swapped_forward(case, got)


def _compare_linear_cache(where: str, exp: tuple, got: Any) -> None:
    A_prev, W, b = _items(where, got, 3, "linear_cache = (A_prev, W, b)")
    for name, e, g in (("A_prev", exp[0], A_prev), ("W", exp[1], W), ("b", exp[2], b)):
        _array(f"{where} {name}", e, g)


def _forward_cache_hint(A_out: np.ndarray, exp_cache: tuple, got_cache: Any) -> str | None:
    """The linear cache holding the layer's output A[l], or the activation cache holding A instead of Z."""
    try:
        (A_prev, _, _), Z = got_cache
    except (TypeError, ValueError):
        return None
    if not _close(exp_cache[0][0], A_prev) and _close(exp_cache[1], A_prev):
        return "Z_linear_cache"
    if not _close(exp_cache[0][0], A_prev) and _close(A_out, A_prev):
        return "A_l"
    if not _close(exp_cache[1], Z) and _close(A_out, Z):
        return "Z_cache"
    return None


def _swapped_forward(case: _Case, got: Any) -> str | None:
    A_prev, W, b, g = case.args
    other = "relu" if g == "sigmoid" else "sigmoid"
    A_other, _ = course.linear_activation_forward(A_prev, W, b, other)
    if isinstance(got, (tuple, list)) and got and _close(A_other, got[0]):
        return "g_swapped"
    return None


class _LModelForward(_Spec):
    name = "L_model_forward"

    def cases(self) -> list[_Case]:
        out = []
        for i, (dims, m) in enumerate(_CHAIN_CASES):
            rng = _rng(20 + i)
            args = (rng.randn(dims[0], m), _params(rng, dims))
            out.append(_Case(f"layer_dims = {dims}, m = {m}", args, {"dims": dims, "shapes": _layer_shapes(dims, m)}))
        return out

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        AL, caches = _items("return value", got, 2, "(AL, caches)")
        _array("AL", exp[0], AL)
        L = len(exp[1])
        if not isinstance(caches, (list, tuple)) or len(caches) != L:
            raise _Diff("caches", f"expected a list of L = {L} caches (one per layer), got {_kind(caches)}")
        for l in range(1, L + 1):
            lin, Z = _items(f"caches[{l - 1}] (layer {l})", caches[l - 1], 2, "cache = (linear_cache, activation_cache)")
            _compare_linear_cache(f"caches[{l - 1}] (layer {l}) linear_cache", exp[1][l - 1][0], lin)
            _array(f"caches[{l - 1}] (layer {l}) activation_cache (Z)", exp[1][l - 1][1], Z)

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        X, P = case.args
        L = len(exp[1])
        try:
            _, caches = got
            for l in range(1, L + 1):
                A_l = exp[0] if l == L else exp[1][l][0][0]  # A[l]: the next layer's A_prev, or AL
                hint = _forward_cache_hint(A_l, exp[1][l - 1], caches[l - 1])
                if hint:
                    return hint
        except (TypeError, ValueError, IndexError, KeyError):
            pass
        AL = got[0] if isinstance(got, (tuple, list)) and got else None
        right = ["relu"] * (L - 1) + ["sigmoid"]
        mutants = [(lambda l: ("W1", "b1"), False, right, "W1"), (lambda l: ("W1", f"b{l}"), False, right, "W1"),
                   (lambda l: (f"W{l}", f"b{l}"), True, right, "X_every"),
                   (lambda l: (f"W{l}", f"b{l}"), False, ["sigmoid"] * L, "hidden_sigmoid"),
                   (lambda l: (f"W{l}", f"b{l}"), False, ["sigmoid"] * (L - 1) + ["relu"], "g_swapped"),
                   (lambda l: (f"W{l}", f"b{l}"), False, ["relu"] * L, "out_relu")]
        found = set()
        for keys, from_X, acts, key in mutants:  # the AL deeplayers' own layers give with the mistake
            if L == 1 and key in ("g_swapped", "out_relu"):  # the same network when L = 1: a deeper case tells
                continue
            try:
                A = X
                for l in range(1, L):
                    A, _ = course.linear_activation_forward(X if from_X else A, P[keys(l)[0]], P[keys(l)[1]], acts[l - 1])
                mutant, _ = course.linear_activation_forward(X if from_X else A, P[f"W{L}"], P[f"b{L}"], acts[-1])
            except ValueError:
                continue
            if not _close(exp[0], mutant) and _close(mutant, AL):
                found.add(key)
        return found.pop() if len(found) == 1 else None  # two mistakes giving this AL (all 0 after relu): not told


class _ComputeCost(_Spec):
    name = "compute_cost"

    def cases(self) -> list[_Case]:
        out = []
        for i, m in enumerate((1, 5, 8)):
            rng = _rng(30 + i)
            AL = rng.uniform(0.05, 0.95, (1, m))
            Y = (rng.rand(1, m) > 0.5).astype(float)
            Y[0, 0] = 1.0
            out.append(_Case(f"m = {m}", (AL, Y), {"m": m}))
        return out

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        if isinstance(got, np.ndarray) and got.shape != ():
            raise _Diff("cost", f"expected a number (np.squeeze(cost) has shape ()), got {_kind(got)}")
        if not isinstance(got, (float, int, np.floating, np.integer, np.ndarray)) or isinstance(got, bool):
            raise _Diff("cost", f"expected a number, got {_kind(got)}")
        _array("cost", np.asarray(exp), got)

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        if isinstance(got, np.ndarray) and got.size == 1 and got.shape != ():
            return "squeeze"
        m = case.info["m"]
        if m > 1 and _close(np.asarray(m * exp), got):
            return "cost_m"
        if _close(np.asarray(-exp), got):
            return "cost_sign"
        return None


def _backward_hint(case: _Case, exp: tuple, got: Any, dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray) -> str | None:
    try:
        dA_prev, dW, db = got
    except (TypeError, ValueError):
        return None
    m = A_prev.shape[1]
    hint = _grad_relation({"dA_prev": exp[0], "dW": exp[1], "db": exp[2]}, {"dA_prev": dA_prev, "dW": dW, "db": db}, m)
    if hint:
        return hint
    if W.shape[0] == W.shape[1] and not _close(exp[0], W @ dZ) and _close(W @ dZ, dA_prev):
        return "W_T"
    return None


class _LinearBackward(_Spec):
    name = "linear_backward"
    backward = True

    def cases(self) -> list[_Case]:
        # dZ first, then the cache (A_prev, W, b)
        return _layer_cases(40, lambda rng, n, n_prev, m, g: (rng.randn(n, m), _linear_cache(rng, n, n_prev, m)),
                            backward=True)

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        _compare_backward(exp, got)

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        dZ, (A_prev, W, _) = case.args
        return _backward_hint(case, exp, got, dZ, A_prev, W)


def _compare_backward(exp: tuple, got: Any) -> None:
    parts = _items("return value", got, 3, "(dA_prev, dW, db)")
    for name, e, g in zip(("dA_prev", "dW", "db"), exp, parts):
        _array(name, e, g)


def _dZ(dA: np.ndarray, Z: np.ndarray, g: str) -> np.ndarray:
    """dZ = dA * g'(Z) by the engine's activation (for recognising mistakes that involve dZ)."""
    act = get_activation(g)
    with np.errstate(over="ignore"):
        A = act.forward(Z.copy())
    return act.backward(dA, Z, A)


class _LinearActivationBackward(_Spec):
    name = "linear_activation_backward"
    backward = True

    def cases(self) -> list[_Case]:
        # dA first, then the cache ((A_prev, W, b), Z)
        return _layer_cases(50, lambda rng, n, n_prev, m, g: (rng.randn(n, m), (_linear_cache(rng, n, n_prev, m),
                                                                                rng.randn(n, m)), g),
                            backward=True, activations=("sigmoid", "relu"))

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        _compare_backward(exp, got)

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        dA, ((A_prev, W, b), Z), g = case.args
        hint = _backward_hint(case, exp, got, _dZ(dA, Z, g), A_prev, W)
        if hint:
            return hint
        mutants = [(course.linear_activation_backward(dA, ((A_prev, W, b), Z), other), key) for other, key in
                   (("relu" if g == "sigmoid" else "sigmoid", "g_swapped"), ("linear", "g_missing"))]
        if g == "relu":
            mutants.append((course.linear_backward(_relu_from_dA(dA), (A_prev, W, b)), "relu_dA"))
        for mutant, key in mutants:
            if isinstance(got, (tuple, list)) and len(got) == 3 and all(_close(e, x) for e, x in zip(mutant, got)):
                return key
        return None


def _relu_from_dA(dA: np.ndarray) -> np.ndarray:
    """The mistaken relu derivative np.where(dA > 0, dA, 0): the mask read from dA, not from Z."""
    return np.where(dA > 0, dA, 0.0)


def _relu_dA_chain(dAL: np.ndarray, unpacked: list) -> dict[str, np.ndarray]:
    """L_model_backward's grads with every relu layer's dZ = _relu_from_dA(dA) (the sigmoid layer L right)."""
    L = len(unpacked)
    grads = course._backward_chain(dAL, unpacked[-1:], ["sigmoid"])
    grads = {f"{k[:2]}{int(k[2:]) + L - 1}": v for k, v in grads.items()}  # layer 1 of the one-layer chain is L
    for l in range(L - 1, 0, -1):
        grads[f"dA{l - 1}"], grads[f"dW{l}"], grads[f"db{l}"] = course.linear_backward(
            _relu_from_dA(grads[f"dA{l}"]), unpacked[l - 1][0])
    return grads


class _LModelBackward(_Spec):
    name = "L_model_backward"
    backward = True

    def cases(self) -> list[_Case]:
        out = []
        for i, (dims, m) in enumerate(_CHAIN_CASES):
            rng = _rng(60 + i)
            caches = _caches(rng, dims, m)
            AL = rng.uniform(0.05, 0.95, (1, m))
            Y = (rng.rand(1, m) > 0.5).astype(float)
            out.append(_Case(f"layer_dims = {dims}, m = {m}", (AL, Y, caches),
                             {"dims": dims, "m": m, "shapes": _layer_shapes(dims, m)}))
        return out

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        L = len(case.args[2])
        order = [k for l in range(L, 0, -1) for k in (f"dA{l - 1}", f"dW{l}", f"db{l}")]
        _keys("grads", got, sorted(order, key=lambda k: (k[1], int(k[2:]))))
        for k in order:
            layer = int(k[2:]) + (1 if k.startswith("dA") else 0)
            _array(f"grads['{k}'] (layer {layer})", exp[k], got[k])

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        AL, Y, caches = case.args
        L, m = len(caches), case.info["m"]
        if not isinstance(got, dict):
            return None
        shifted = {f"dA{l}": got.get(f"dA{l + 1}") for l in range(L)}
        if f"dA{L}" in got and all(v is not None and _close(exp[k], v) for k, v in shifted.items()):
            return "dA_off"
        hint = _grad_relation(exp, got, m)
        if hint:
            return "dAL_sign" if hint == "sign" else hint
        unpacked = [course._unpack(c) for c in caches]
        dAL = BinaryCrossEntropy.dAL_exact(AL, Y)
        variants = [
            (["relu"] * L, "relu_place"), (["sigmoid"] * L, "relu_place"), (["sigmoid"] * (L - 1) + ["relu"], "relu_place"),
            (["relu"] * (L - 1) + ["linear"], "g_missing"),
        ]
        for acts, key in variants:
            if _close_grads(course._backward_chain(dAL, unpacked, acts), got):
                return key
        if _close_grads(course._backward_chain(AL - Y, unpacked, ["relu"] * (L - 1) + ["linear"]), got):
            return "fused"
        if L > 1 and _close_grads(_relu_dA_chain(dAL, unpacked), got):
            return "relu_dA"
        for l in range(1, L):  # dA[l] as the relu derivative left it: zeroed where Z[l] <= 0
            masked = exp[f"dA{l}"] * (unpacked[l - 1][1] > 0)
            if not _close(exp[f"dA{l}"], masked) and _close(masked, got.get(f"dA{l}")):
                return "inplace"
        # dW[l] = (1/m) dZ[l] A[l]^T: A[l] is the next cache's A_prev (AL for layer L)
        dA = dAL
        for l in range(L, 0, -1):
            (_, W, _), Z = unpacked[l - 1]
            dZ = _dZ(dA, Z, "sigmoid" if l == L else "relu")
            A_l = AL if l == L else unpacked[l][0][0]
            wrong = dZ @ A_l.T / m
            g = got.get(f"dW{l}")
            if wrong.shape == exp[f"dW{l}"].shape and not _close(exp[f"dW{l}"], wrong) and _close(wrong, g):
                return "A_l"
            if W.shape[0] == W.shape[1] and not _close(exp[f"dA{l - 1}"], W @ dZ) and _close(W @ dZ, got.get(f"dA{l - 1}")):
                return "W_T"
            dA = exp[f"dA{l - 1}"]
        return None


def _close_grads(exp: dict[str, np.ndarray], got: dict[str, Any]) -> bool:
    return all(k in got and _close(v, got[k]) for k, v in exp.items())


class _UpdateParameters(_Spec):
    name = "update_parameters"

    def cases(self) -> list[_Case]:
        out = []
        for i, (dims, _) in enumerate(_CHAIN_CASES):
            rng = _rng(70 + i)
            params = _params(rng, dims)
            grads = {"d" + k: rng.randn(*v.shape) for k, v in params.items()}
            out.append(_Case(f"layer_dims = {dims}, learning_rate = 0.1", (params, grads, 0.1),
                             {"dims": dims, "shapes": {}}))
        return out

    def compare(self, case: _Case, exp: Any, got: Any) -> None:
        L = len(case.info["dims"]) - 1
        _keys("parameters", got, [k for l in range(1, L + 1) for k in (f"W{l}", f"b{l}")])
        for l in range(1, L + 1):
            for k in (f"W{l}", f"b{l}"):
                _array(f"parameters['{k}'] (layer {l})", exp[k], got[k])

    def diagnose(self, case: _Case, exp: Any, got: Any) -> str | None:
        params, grads, lr = case.args
        if not isinstance(got, dict):
            return None
        ascent = course.update_parameters(params, grads, -lr)
        if any(k in got and not _close(v, got[k]) and _close(ascent[k], got[k]) for k, v in exp.items()):
            return "update_sign"
        unchanged = {k for k, v in exp.items() if k in got and not _close(v, got[k]) and _close(params[k], got[k])}
        if any(k.startswith("W") and "b" + k[1:] in unchanged for k in unchanged):
            return "layer_skipped"
        if any(k.startswith("b") for k in unchanged):
            return "b_update"
        bs = {k: v for k, v in exp.items() if k.startswith("b")}
        if any(np.shape(got.get(k)) not in (v.shape, None) and np.ndim(got.get(k)) == 2 for k, v in bs.items()):
            return "keepdims"
        return None


_SPECS: dict[str, _Spec] = {s.name: s for s in (
    _InitializeDeep(), _LinearForward(), _LinearActivationForward(), _LModelForward(), _ComputeCost(),
    _LinearBackward(), _LinearActivationBackward(), _LModelBackward(), _UpdateParameters())}


def check(fn: Callable, name: str | None = None, *, time_limit: float = TIME_LIMIT) -> CheckReport:
    """Run a learner's version of a course function against deeplayers' own on seeded random inputs.

    Parameters
    ----------
    fn : callable
        The learner's function, e.g. their ``L_model_backward``.
    name : str, optional
        Which course function ``fn`` implements; defaults to ``fn.__name__``. One of
        :data:`COURSE_FUNCTIONS`.
    time_limit : float
        Seconds each call may take; a slower call is reported as too slow.

    Returns
    -------
    CheckReport
        ``report.ok`` is True when every output of every case equals deeplayers' (to rounding);
        ``str(report)`` names the first output that differs and the likely mistake.
    """
    if not callable(fn):
        raise ConfigError(f"check needs the function itself (e.g. check(L_model_backward)), got {_kind(fn)}")
    name = name if name is not None else getattr(fn, "__name__", None)
    spec = _SPECS.get(str(name))
    if spec is None:
        raise ConfigError(f"check knows the course functions {', '.join(COURSE_FUNCTIONS)}; got {name!r} "
                          "(pass name='L_model_backward' etc. when your function has another name)")
    if isinstance(time_limit, bool) or not (isinstance(time_limit, (int, float)) and 0 < time_limit <= MAX_TIME_LIMIT):
        raise ConfigError(f"time_limit must be a positive number of seconds, at most {MAX_TIME_LIMIT:g} (a day), "
                          f"got {time_limit!r}")
    cases = spec.cases()
    report = CheckReport(spec.name, True, [c.label for c in cases])
    for i, case in enumerate(cases):
        exp = spec.reference(case)
        args = copy.deepcopy(case.args)
        snapshot = _snapshot(spec.name, args) if _keeps_inputs(spec.name, fn) else []
        status, got = _call(fn, args, time_limit)
        problem, hint = None, None
        if status == "timeout":
            problem = f"took longer than the time limit of {time_limit:g} s (stopped); an endless loop?"
        elif status == "error":
            problem = f"raised {type(got).__name__}: {' '.join(str(got).split())}{_learner_line(got)}"
            hint = spec.diagnose_error(case, got)
        else:
            try:
                try:
                    spec.compare(case, exp, got)
                except _Diff:
                    raise
                except Exception as exc:  # noqa: BLE001 - an output too odd to compare is a difference too
                    raise _Diff("return value", f"could not be compared with deeplayers' output ({type(exc).__name__}: "
                                                f"{exc}); got {_kind(got)}") from None
            except _Diff as diff:
                problem = str(diff)
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    try:
                        hint = spec.diagnose(case, exp, got)
                    except Exception:  # noqa: BLE001 - a mistake we cannot name is still reported
                        hint = None
            changed = _mutated(snapshot) if problem is None else None
            if changed:  # right outputs, but the caller's array was overwritten
                problem = f"{changed}: changed in place by the call (it holds other values afterwards)"
                hint = "inplace" if spec.name == "linear_activation_backward" and changed == "dA" else "mutated"
        if problem is None:
            continue
        report.failed += 1
        if report.ok:
            report.ok, report.case, report.problem = False, case.label, problem
        if hint and report.mistake is None:
            report.mistake_key, report.mistake, report.seen_in = hint, MISTAKES[hint], case.label
        if status == "timeout":  # one endless call is enough to know; the others would wait as long
            report.not_run = len(cases) - i - 1
            break
    return report


# -- deeplayers check FILE.py -----------------------------------------------------------------------------
class _NotebookMagics:
    """``get_ipython()`` in a notebook exported with ``jupyter nbconvert --to script``: its magics
    (``%matplotlib inline``, ``%load_ext autoreload`` ...) do nothing outside IPython."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return lambda *args, **kwargs: None


def load_functions(path: str | Path) -> dict[str, Callable]:
    """Import a learner's file (running it: it is their code) and return its course-named functions."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no file {path}")
    module_name = f"_deeplayers_check_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(f"{path} is not a Python file that can be imported")
    module = importlib.util.module_from_spec(spec)
    module.get_ipython = _NotebookMagics  # type: ignore[attr-defined]  # a notebook exported by nbconvert
    sys.modules[module_name] = module
    folder = str(path.resolve().parent)  # the file's own helpers (dnn_utils.py ...) import as in its notebook
    sys.path.insert(0, folder)
    try:
        with contextlib.redirect_stdout(io.StringIO()), _no_process_exit():
            spec.loader.exec_module(module)
    finally:
        sys.modules.pop(module_name, None)
        if folder in sys.path:
            sys.path.remove(folder)
    return {n: getattr(module, n) for n in COURSE_FUNCTIONS if callable(getattr(module, n, None))}


def check_file(path: str | Path, time_limit: float = TIME_LIMIT) -> list[CheckReport]:
    """:func:`check` every course-named function of a file, in the course's order."""
    return [check(fn, name, time_limit=time_limit) for name, fn in load_functions(path).items()]


def _check_cli() -> Any:
    import click

    @click.command("check", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--time-limit", type=float, default=TIME_LIMIT, show_default=True,
                  help="Seconds each call of one of your functions may take.")
    def check_command(file: str, time_limit: float) -> None:
        """Check your own course functions in FILE.py against deeplayers'.

        FILE is imported (its top-level code runs) and each function named as in the course
        (initialize_parameters_deep, linear_forward, linear_activation_forward, L_model_forward,
        compute_cost, linear_backward, linear_activation_backward, L_model_backward,
        update_parameters) is run on seeded random inputs of several shapes. For each one a report
        says OK, or the first output that differs and the likely mistake. Exit status 0 when all
        pass, 1 when one fails (or FILE cannot be run), 2 for a usage error (no such file, no
        course function in it).
        """
        if time_limit <= 0:
            raise click.BadParameter(f"must be a positive number of seconds, got {time_limit:g}", param_hint="--time-limit")
        if not Path(file).is_file():
            raise FileNotFoundError(f"no file {file}")
        if Path(file).suffix != ".py":
            raise click.BadParameter(f"{file} is not a .py file", param_hint="FILE")
        # a notebook exported as a script trains its model at the top level: say why nothing shows yet
        notice = threading.Timer(IMPORT_NOTICE_AFTER, lambda: click.echo(
            f"running {file}'s top-level code first (importing it; a notebook that trains a model at its top "
            "level takes that long), then checking its functions ...", err=True))
        notice.daemon = True
        notice.start()
        try:
            functions = load_functions(file)
        except (Exception, SystemExit) as exc:  # the learner's own code failed while importing
            click.echo(f"{file} could not be run: {type(exc).__name__}: {' '.join(str(exc).split())}"
                       f"{_learner_line(exc)}")
            raise SystemExit(1) from None
        finally:
            notice.cancel()
        if not functions:
            raise ConfigError(f"{file} defines none of the course's functions ({', '.join(COURSE_FUNCTIONS)})")
        reports = [check(fn, name, time_limit=time_limit) for name, fn in functions.items()]
        for r in reports:
            click.echo(str(r))
        passed = sum(r.ok for r in reports)
        click.echo(f"{passed} of {len(reports)} functions match deeplayers'")
        raise SystemExit(0 if passed == len(reports) else 1)

    return check_command
