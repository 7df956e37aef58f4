"""The playground's two-feature data: the built-in sets, the input features, and CSV uploads.

Every set lives on the plane [-6, 6] x [-6, 6]. Classification labels are 0/1 (class 1 is drawn
blue), regression targets lie in [-1, 1]. Samples are returned as rows ``P`` of shape (m, 2)
(points) and ``y`` of shape (m,); :func:`features` turns points into X = A[0] of shape (n[0], m).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DataError

__all__ = [
    "DATASETS", "CLASSIFICATION", "REGRESSION", "FEATURES", "FEATURE_LABELS", "DOMAIN",
    "MAX_UPLOAD_BYTES", "MAX_UPLOAD_ROWS", "make_dataset", "features", "split", "parse_csv", "read_upload",
    "Upload", "to_csv",
]

DOMAIN = 6.0
CLASSIFICATION = ("circle", "xor", "gauss", "spiral", "moons")
REGRESSION = ("reg-plane", "reg-gauss")
DATASETS = CLASSIFICATION + REGRESSION
#: the input features, in the order they enter X = A[0]
FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
FEATURE_LABELS = {"x1": "x1", "x2": "x2", "x1sq": "x1²", "x2sq": "x2²", "x1x2": "x1·x2",
                  "sinx1": "sin x1", "sinx2": "sin x2"}
MAX_UPLOAD_BYTES = 1_000_000
MAX_UPLOAD_ROWS = 5000
MIN_UPLOAD_ROWS = 10


def _circle(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    R = 5.0
    half = m // 2
    r = np.concatenate([rng.uniform(0, 0.5 * R, half), rng.uniform(0.7 * R, R, m - half)])
    phi = rng.uniform(0, 2 * np.pi, m)
    P = np.column_stack([r * np.cos(phi), r * np.sin(phi)])
    P += rng.uniform(-R, R, P.shape) * noise
    # the label follows the noisy point: inside half the radius is class 1
    y = (np.hypot(P[:, 0], P[:, 1]) < 0.5 * R).astype(np.float64)
    return P, y


def _xor(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    P = rng.uniform(-5, 5, (m, 2))
    P += np.where(P > 0, 0.3, -0.3)  # keep points off the axes, where the class flips
    y = (P[:, 0] * P[:, 1] > 0).astype(np.float64)
    P += rng.uniform(-5, 5, P.shape) * noise
    return P, y


def _gauss(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    sd = 0.5 + 3.5 * noise
    half = m // 2
    y = np.concatenate([np.ones(half), np.zeros(m - half)])
    centre = np.where(y[:, None] == 1, 2.0, -2.0)
    return centre + rng.normal(0, sd, (m, 2)), y


def _spiral(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    half = m // 2
    y = np.concatenate([np.ones(half), np.zeros(m - half)])
    # positions along each arm: uniform in [0, 1), so Regenerate gives new points even without noise
    t = np.concatenate([np.sort(rng.uniform(0, 1, half)), np.sort(rng.uniform(0, 1, m - half))])
    r = 5.0 * t
    angle = 1.75 * 2 * np.pi * t + np.pi * (1 - y)
    P = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    P += rng.uniform(-1, 1, P.shape) * noise * 2.5
    return P, y


def _moons(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    half = m // 2
    y = np.concatenate([np.ones(half), np.zeros(m - half)])
    t = rng.uniform(0, np.pi, m)
    # upper moon (class 1) centred at (-1.25, -0.6), lower moon (class 0) shifted right and down
    x1 = np.where(y == 1, 3.0 * np.cos(t) - 1.5, 3.0 - 3.0 * np.cos(t) - 1.5)
    x2 = np.where(y == 1, 3.0 * np.sin(t) - 0.75, 0.75 - 3.0 * np.sin(t))
    P = np.column_stack([x1, x2]) + rng.normal(0, 0.1 + 2.0 * noise, (m, 2))
    return P, y


def _reg_plane(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    P = rng.uniform(-DOMAIN, DOMAIN, (m, 2))
    y = (P[:, 0] + P[:, 1]) / (2 * DOMAIN) + rng.uniform(-1, 1, m) * noise
    return P, y


def _reg_gauss(rng: np.random.Generator, m: int, noise: float) -> tuple[np.ndarray, np.ndarray]:
    P = rng.uniform(-DOMAIN, DOMAIN, (m, 2))
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]
    y = np.zeros(m)
    for cx, cy, sign in bumps:
        y += sign * np.exp(-((P[:, 0] - cx) ** 2 + (P[:, 1] - cy) ** 2) / 2.0)
    y = np.clip(y, -1, 1) + rng.uniform(-1, 1, m) * noise
    return P, y


_MAKERS = {"circle": _circle, "xor": _xor, "gauss": _gauss, "spiral": _spiral, "moons": _moons,
           "reg-plane": _reg_plane, "reg-gauss": _reg_gauss}


def make_dataset(name: str, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points P (m, 2) and targets y (m,) of a built-in set; ``noise`` in [0, 0.5].

    Classification sets have 500 points, regression sets 1200 (as TensorFlow Playground).
    """
    if name not in _MAKERS:
        raise DataError(f"unknown data set {name!r}; choose one of: {', '.join(DATASETS)}")
    m = 500 if name in CLASSIFICATION else 1200
    P, y = _MAKERS[name](np.random.default_rng(seed), m, float(noise))
    return P.astype(np.float64), y.astype(np.float64)


def features(P: np.ndarray, names: Sequence[str]) -> np.ndarray:
    """X = A[0] of shape (n[0], m): one row per chosen feature of the points P (m, 2)."""
    x1, x2 = P[:, 0], P[:, 1]
    table = {"x1": lambda: x1, "x2": lambda: x2, "x1sq": lambda: x1 * x1, "x2sq": lambda: x2 * x2,
             "x1x2": lambda: x1 * x2, "sinx1": lambda: np.sin(x1), "sinx2": lambda: np.sin(x2)}
    return np.stack([table[f]() for f in names]) if names else np.empty((0, len(P)))


def split(m: int, train_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and test samples: a seeded shuffle cut at ``train_ratio``."""
    order = np.random.default_rng(seed + 7919).permutation(m)
    n_train = min(m - 1, max(1, round(m * train_ratio)))
    return np.sort(order[:n_train]), np.sort(order[n_train:])


def _number(cell: str) -> float | None:
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


@dataclass
class Upload:
    """An uploaded CSV on the plane: points ``P`` (m, 2) = (raw - shift) / scale, targets ``y`` (m,).

    ``shift`` (2,) and ``scale`` (one number, the same for both columns) map the file's x1, x2 onto
    the plane; for a regression task ``target`` = (centre, half range) with y = (t - centre) / half.
    """

    P: np.ndarray
    y: np.ndarray
    task: str
    classes: list[Any]
    shift: np.ndarray
    scale: float
    target: tuple[float, float] | None = None


def parse_csv(text: str, name: str = "upload.csv") -> tuple[np.ndarray, np.ndarray, str, list[Any]]:
    """(P, y, task, classes) of :func:`read_upload`."""
    up = read_upload(text, name)
    return up.P, up.y, up.task, up.classes


def read_upload(text: str, name: str = "upload.csv") -> Upload:
    """Read an uploaded CSV: two numeric feature columns, then a label column.

    A label with exactly two distinct values makes a classification task (the values sorted; the
    second is class 1; numbers compared as numbers, so "1" and "1.0" are one class); a numeric
    label with more values makes a regression task, its targets scaled into [-1, 1]. The points are
    scaled so the larger of the two feature ranges spans the plane [-6, 6]. Raises DataError saying
    what is wrong.
    """
    if len(text.encode("utf-8")) > MAX_UPLOAD_BYTES:
        raise DataError(f"{name}: the file is larger than the limit of {MAX_UPLOAD_BYTES // 1000} kB; "
                        "upload at most that (a sample of the rows)")
    if "\x00" in text:
        raise DataError(f"{name}: this is not a CSV text file (it contains binary data)")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t ")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in r)]
    if not rows:
        raise DataError(f"{name}: the file is empty; give rows of x1, x2, label")
    if any(len(r) != 3 for r in rows):
        bad = next(i for i, r in enumerate(rows) if len(r) != 3)
        raise DataError(f"{name}: every row needs exactly 3 columns (x1, x2, label); row {bad + 1} has "
                        f"{len(rows[bad])}")
    header = None
    if _number(rows[0][0]) is None or _number(rows[0][1]) is None:
        header, rows = rows[0], rows[1:]
    if len(rows) < MIN_UPLOAD_ROWS:
        raise DataError(f"{name}: need at least {MIN_UPLOAD_ROWS} data rows, got {len(rows)}")
    if len(rows) > MAX_UPLOAD_ROWS:
        raise DataError(f"{name}: at most {MAX_UPLOAD_ROWS} rows are accepted, got {len(rows)}")
    P = np.empty((len(rows), 2))
    for i, r in enumerate(rows):
        for j in range(2):
            v = _number(r[j].strip())
            if v is None:
                col = header[j] if header else f"column {j + 1}"
                raise DataError(f"{name}: the features must be numbers: row {i + 1 + (header is not None)}, "
                                f"{col} is {r[j]!r}")
            P[i, j] = v
    lo, hi = P.min(axis=0), P.max(axis=0)
    shift, scale = (lo + hi) / 2, (float(np.max(hi - lo)) or 1.0) / (2 * DOMAIN)
    P = (P - shift) / scale  # as Preprocessing("standard") computes it, so a saved model repeats it exactly
    y, task, classes, target = _labels([r[2].strip() for r in rows], name)
    return Upload(P, y, task, classes, shift, scale, target)


def _label_key(cell: str) -> float | str:
    """A label as it is compared: a number as a number ("1" == "1.0"), anything else as text."""
    v = _number(cell)
    return cell if v is None else v


def _labels(labels: list[str], name: str) -> tuple[np.ndarray, str, list[Any], tuple[float, float] | None]:
    """(y, task, class names, target scaling) of the label column."""
    keys = [_label_key(s) for s in labels]
    distinct = sorted(set(keys), key=lambda k: (isinstance(k, str), 0.0 if isinstance(k, str) else k, str(k)))
    if len(distinct) < 2:
        raise DataError(f"{name}: the label column has only one value ({labels[0]!r}); need two classes "
                        "or a numeric target")
    if len(distinct) == 2:
        y = np.array([1.0 if k == distinct[1] else 0.0 for k in keys])
        classes = [k if isinstance(k, str) else int(k) if k.is_integer() else k for k in distinct]
        return y, "classification", classes, None
    text = next((k for k in keys if isinstance(k, str)), None)
    if text is not None:
        raise DataError(f"{name}: the label column has {len(distinct)} different values and {text!r} is not a number; "
                        "the playground shows two classes or a numeric (regression) target")
    t = np.array(keys, dtype=np.float64)
    centre, half = (float(t.min()) + float(t.max())) / 2, (float(t.max()) - float(t.min())) / 2
    return (t - centre) / half, "regression", [], (centre, half)


def to_csv(X: np.ndarray, y: Sequence[object] | np.ndarray, names: Sequence[str], label: str = "label") -> str:
    """The samples as CSV text: one column per feature of X (n[0], m), then the label."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow([*names, label])
    for i in range(X.shape[1]):
        w.writerow([repr(float(v)) for v in X[:, i]] + [_label_text(y[i])])
    return buf.getvalue()


def _label_text(v: object) -> str:
    if isinstance(v, str):
        return v
    return str(int(v)) if float(v).is_integer() else repr(float(v))
