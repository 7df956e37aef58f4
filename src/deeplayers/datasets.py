"""Data loaders: files in, arrays out, bad files reported clearly.

One entry point, :func:`load_dataset`, reads a CSV, NPY or NPZ file, an HDF5 file (the course's
cat pictures), an IDX file or directory (MNIST), or a scikit-learn built-in by name, and returns a
:class:`Dataset` whose ``X`` is in the notation's layout: one sample per column, (n[0], m).
Files store one sample per row (as NumPy, scikit-learn and the course's HDF5 files do); images
(m, h, w[, c]) are flattened the course's way into (h * w * c, m) columns. Values are left raw
(pixels stay 0..255): scaling is a fitted :class:`~deeplayers.preprocessing.Preprocessing` that is
saved with the model, see :meth:`Dataset.suggest_preprocessing`.

Every loader reports a bad file with a :class:`~deeplayers.errors.DataError` saying what is wrong,
where (file, row, column, key) and what to do.
"""

from __future__ import annotations

import csv
import gzip
import io
import os
import re
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ._atomic import strict_npy_headers
from .activations import OUTPUT_ACTIVATIONS
from .errors import ConfigError, DataError

__all__ = [
    "Dataset", "Targets", "load_dataset", "load_csv", "csv_header", "load_npy", "load_npz", "load_h5", "load_builtin",
    "load_idx", "load_idx_dir", "load_mnist", "to_columns", "encode_labels", "BUILTINS",
]

_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _open(path: str | os.PathLike) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    with open(path, "rb") as f:
        head = f.read(2)
    opener = gzip.open if head == b"\x1f\x8b" else open
    try:
        with opener(path, "rb") as f:
            return f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot decompress ({exc}); the gzip file is damaged or truncated") from None


def load_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (MNIST format), gzip-compressed or raw, checking its header.

    Returns an array of shape (d0, d1, ...) as the header gives it, in the file's value type.
    """
    data = _open(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex() or 'empty'}; "
                        "IDX starts with two zero bytes, a type byte and a dimension count)")
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_TYPES:
        raise DataError(f"{path}: unknown IDX value type 0x{type_code:02x}")
    if ndim < 1 or len(data) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header is truncated ({ndim} dimensions announced)")
    dims = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    dtype = np.dtype(_IDX_TYPES[type_code])
    need = dtype.itemsize
    for d in dims:  # Python ints: np.prod would wrap around (e.g. 4 x 65536 -> 0) and accept a lie
        need *= d
    have = len(data) - 4 - 4 * ndim
    nonzero = dtype.itemsize
    for d in dims:
        nonzero *= max(d, 1)
    if nonzero > 2**62:  # NumPy cannot even describe such a shape, empty or not
        raise DataError(f"{path}: IDX header claims absurd dimensions {dims}; the file is damaged or not IDX")
    if have != need:
        raise DataError(f"{path}: IDX data is {'truncated' if have < need else 'too long'}: header says "
                        f"{dims} values ({need} bytes), the file holds {have} bytes")
    arr = np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(dims)
    return arr.astype(dtype.newbyteorder("="))


def load_mnist(directory: str | os.PathLike, kind: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """MNIST images (m, 28, 28) uint8 and labels (m,) uint8 from an IDX directory.

    ``kind`` is ``train`` or ``t10k``/``test``; files may be gzip-compressed (``.gz``) or raw.
    """
    prefix = {"train": "train", "test": "t10k", "t10k": "t10k"}.get(kind)
    if prefix is None:
        raise ConfigError(f"kind must be 'train' or 'test', got {kind!r}")
    directory = Path(directory)

    def find(stem: str) -> Path:
        for name in (stem, stem + ".gz"):
            if (directory / name).is_file():
                return directory / name
        raise FileNotFoundError(f"{directory}: no {stem} or {stem}.gz (an MNIST IDX directory holds "
                                "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-...)")

    images = load_idx(find(f"{prefix}-images-idx3-ubyte"))
    labels = load_idx(find(f"{prefix}-labels-idx1-ubyte"))
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise DataError(f"{directory}: {len(images)} images of shape {images.shape[1:]} do not pair "
                        f"with {len(labels)} labels")
    return images, labels


def to_columns(images: np.ndarray, scale: float | None = 255.0) -> np.ndarray:
    """Flatten (m, h, w[, c]) to X of shape (h * w * c, m), the course's way (C order, then transpose),
    and divide by ``scale``."""
    X = np.asarray(images).reshape(len(images), -1).T
    return X / scale if scale else X


# -- the result ------------------------------------------------------------------------------------
@dataclass
class Dataset:
    """A loaded data set in the notation's layout.

    Attributes
    ----------
    X : ndarray of shape (n[0], m)
        Features, one sample per column, float (raw values: pixels stay 0..255). For a
        memory-mapped ``.npy`` of floats this is a transposed view of the file, not a copy.
    y : ndarray of shape (m,) or (m, k), or None
        Labels as stored: integers, floats (regression) or strings.
    classes : list or None
        Class names when the source has them, indexed by the integer label (``classes[y[i]]``).
    feature_names : list of str or None
    name : str
    label_name : str or None
        The header name of a CSV's label column (None without a header or without labels).
    image_shape : tuple or None
        (h, w) or (h, w, c) when the samples are images (row i of X is pixel i in C order).
    source_dtype : str
        The dtype on disk (``uint8`` for 8-bit pixels).
    """

    X: np.ndarray
    y: np.ndarray | None
    classes: list[Any] | None = None
    feature_names: list[str] | None = None
    name: str = ""
    image_shape: tuple[int, ...] | None = None
    source_dtype: str = "float64"
    extra: dict[str, Any] = field(default_factory=dict)
    label_name: str | None = None

    @property
    def m(self) -> int:
        """Number of samples (columns of X)."""
        return int(self.X.shape[1])

    @property
    def n_features(self) -> int:
        """n[0], the number of features (rows of X)."""
        return int(self.X.shape[0])

    def suggest_preprocessing(self) -> Any:
        """An unfitted :class:`~deeplayers.preprocessing.Preprocessing`: divide by 255 for 8-bit images
        (the course), standardize otherwise."""
        from .preprocessing import Preprocessing

        if self.image_shape is not None and self.source_dtype == "uint8":
            return Preprocessing("divide", value=255.0)
        return Preprocessing("standard")

    def targets(self, output: str = "auto") -> Targets:
        """Y in the notation's layout (n[L], m) for an output layer; see :func:`encode_labels`.

        Integer labels with known class names give those names as ``Targets.classes``.
        """
        if self.y is None:
            raise DataError(f"{self.name}: the data set has no labels; give labels=... when loading it")
        t = encode_labels(self.y, output, where=self.name)
        names = self.classes
        if names and t.classes is not None and all(
                isinstance(c, (int, np.integer)) and 0 <= c < len(names) for c in t.classes):
            t.classes = [names[int(c)] for c in t.classes]
        return t

    def __repr__(self) -> str:
        y = "no labels" if self.y is None else f"y {self.y.shape} {self.y.dtype}"
        extra = f", classes={self.classes}" if self.classes is not None and len(self.classes) <= 12 else ""
        return f"Dataset({self.name!r}: X {self.X.shape} {self.X.dtype}, {y}{extra})"


@dataclass
class Targets:
    """Labels encoded for an output layer: ``Y`` (n[L], m), ``output`` (``sigmoid``, ``softmax``
    or ``linear``), and ``classes``, the label of each output unit (``[negative, positive]`` for
    one sigmoid unit; None for regression)."""

    Y: np.ndarray
    output: str
    classes: list[Any] | None


# -- labels ----------------------------------------------------------------------------------------
def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def _encode_columns(y: np.ndarray, output: str, classes: Sequence[Any] | None, where: str, numeric: bool) -> Targets:
    """2-D labels, already one column per output unit (rows are samples), checked for ``output``."""
    if output == "auto":
        binary = numeric and bool(np.isin(y, (0, 1)).all())
        output = ("softmax" if binary and np.all(y.sum(axis=1) == 1) else "sigmoid") if binary else "linear"
    if not numeric:
        raise DataError(f"{where}: 2-D labels must be numbers, got {y.dtype}")
    if output in ("sigmoid", "softmax") and not ((y >= 0) & (y <= 1)).all():
        raise DataError(f"{where}: {output} outputs need labels in [0, 1] (found {y.min():g} .. {y.max():g}); "
                        "use output='linear' for regression targets")
    if output == "softmax" and not np.allclose(y.sum(axis=1), 1):
        i = int(np.argmax(~np.isclose(y.sum(axis=1), 1)))
        raise DataError(f"{where}: softmax needs one-hot label rows summing to 1; sample {i} sums to "
                        f"{y[i].sum():g}; use output='sigmoid' for multi-label data")
    cls = None if output == "linear" else (list(classes) if classes is not None else list(range(y.shape[1])))
    return Targets(np.ascontiguousarray(y.T, dtype=np.float64), output, cls)


def _class_codes(y: np.ndarray, classes: Sequence[Any] | None, where: str) -> tuple[list[Any], np.ndarray]:
    """The class values (given, or the sorted distinct labels) and each sample's index among them."""
    values = list(classes) if classes is not None else [_py(v) for v in np.unique(y)]
    index = {v: k for k, v in enumerate(values)}
    try:
        codes = np.array([index[_py(v)] for v in y], dtype=np.int64)
    except KeyError as exc:
        i = next(i for i, v in enumerate(y) if _py(v) not in index)
        raise DataError(f"{where}: label {exc.args[0]!r} of sample {i} is not one of the classes {values}") from None
    return values, codes


def encode_labels(y: Any, output: str = "auto", classes: Sequence[Any] | None = None, *,
                  where: str = "labels", max_classes: int = 20) -> Targets:
    """Turn labels y (m,) (or (m, k) for one-hot / multi-label / multi-output) into Y (n[L], m).

    Parameters
    ----------
    y : array of shape (m,) or (m, k)
    output : str
        ``sigmoid`` (two classes, or several 0/1 labels per sample), ``softmax`` (one-hot over the
        classes), ``linear`` (regression) or ``auto``: text or bool labels and integers with at
        most ``max_classes`` distinct values are classes (2 -> sigmoid, more -> softmax), anything
        else is regression.
    classes : sequence, optional
        The label values in output order (default: the sorted distinct values of y).

    Raises
    ------
    DataError
        Labels that do not fit the output: non-integer values for a classifier, more than two
        classes for one sigmoid unit, labels outside ``classes``, text for regression, NaN.
    """
    y = np.asarray(y)
    if y.dtype == object:
        try:
            y = y.astype(float)
        except (TypeError, ValueError):
            y = y.astype(str)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim not in (1, 2) or y.shape[0] == 0:
        raise DataError(f"{where}: labels must be (m,) or (m, k) with m >= 1, got shape {y.shape}")
    m = y.shape[0]
    numeric = y.dtype.kind in "biuf"
    if numeric and y.dtype.kind == "f" and not np.isfinite(y).all():
        i = int(np.argwhere(~np.isfinite(y))[0][0])
        raise DataError(f"{where}: label of sample {i} is {y.flat[i] if y.ndim == 1 else y[i]} (NaN or infinity); "
                        "remove or fix those samples")
    integral = numeric and (y.dtype.kind in "biu" or bool(np.all(np.mod(y, 1) == 0)))
    if output != "auto" and output not in OUTPUT_ACTIVATIONS:
        raise ConfigError(f"output must be 'auto', 'sigmoid', 'softmax' or 'linear', got {output!r}")

    if y.ndim == 2:  # already one column per output unit (rows are samples)
        return _encode_columns(y, output, classes, where, numeric)

    if output == "auto":
        if not numeric or y.dtype.kind == "b":
            output = "classify"
        elif integral and len(np.unique(y)) <= max_classes:
            output = "classify"
        else:
            output = "linear"
    if output == "linear":
        if not numeric:
            bad = next(i for i, v in enumerate(y) if not _is_number(v))
            raise DataError(f"{where}: regression needs numeric labels, sample {bad} is {y[bad]!r}; "
                            "use a classifier output (sigmoid/softmax) for class labels")
        return Targets(y.astype(np.float64).reshape(1, m), "linear", None)

    if numeric and not integral and classes is None:
        i = int(np.argmax(np.mod(y, 1) != 0))
        raise DataError(f"{where}: a classifier needs class labels but sample {i} has the non-integer label "
                        f"{_py(y[i])!r}; use output='linear' for regression, or round/encode the labels")
    values, codes = _class_codes(y, classes, where)
    k = len(values)
    if output == "classify":
        output = "sigmoid" if k <= 2 else "softmax"
    if output == "sigmoid":
        if k > 2:
            raise DataError(f"{where}: {k} classes found ({values[:10]}{'...' if k > 10 else ''}) but one sigmoid "
                            "output unit separates only 2; use output='softmax' for multi-class labels")
        if k < 2:
            raise DataError(f"{where}: only one class ({values}) in the labels; a classifier needs two")
        return Targets(codes.astype(np.float64).reshape(1, m), "sigmoid", values)
    if k < 2:
        raise DataError(f"{where}: only one class ({values}) in the labels; a classifier needs two or more")
    Y = np.zeros((k, m))
    Y[codes, np.arange(m)] = 1.0
    return Targets(Y, "softmax", values)


def _is_number(v: Any) -> bool:
    try:
        float(v)
    except (TypeError, ValueError):
        return False
    return True


# -- CSV -------------------------------------------------------------------------------------------
def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t| ").delimiter
    except csv.Error:
        return ","


def _label_column(labels: Any, names: list[str] | None, width: int, path: Path) -> int | None:
    """Which of a CSV's ``width`` columns holds the labels (None: no labels), from ``labels=``.

    A string is a header name first, then (when it is an integer) an index; an integer is an index,
    refused as ambiguous when another column is named by its digits (the command line's ``--labels 2``
    arrives as the integer 2, and pandas names its columns "0", "1", ...)."""
    if isinstance(labels, (bool, np.bool_)):
        if labels:  # True is no column; int(True) would silently be index 1
            raise ConfigError(f"{path}: labels=True names no column; give the label column's header name or "
                              "0-based index, None for the last column, or False for no labels")
        return None
    if labels is None:
        return width - 1
    if isinstance(labels, str):
        if names is not None and labels in names:
            return names.index(labels)
        if not _is_int_token(labels):
            have = ", ".join(names) if names else "none (no header row)"
            raise DataError(f"{path}: no column named {labels!r}; the columns are: {have}")
        return _index_column(int(labels), None, width, path)
    if isinstance(labels, (int, np.integer)):
        return _index_column(int(labels), names, width, path)
    raise ConfigError(f"{path}: labels={labels!r} ({type(labels).__name__}) is no column; give the label column's "
                      "header name or 0-based integer index, None for the last column, or False for no labels")


def _index_column(n: int, names: list[str] | None, width: int, path: Path) -> int:
    """The column at 0-based index ``n`` (negative counts from the end), or the one named ``str(n)``."""
    col = n % width if -width <= n < width else None
    named = names.index(str(n)) if names is not None and str(n) in names else None
    if col is not None and named is not None and col != named:
        raise DataError(f"{path}: labels={n} is ambiguous: column {named + 1} is named {str(n)!r}, but 0-based index "
                        f"{n} is column {col + 1} ({names[col]!r}); say which with a negative index: "
                        f"labels={named - width} for the column named {str(n)!r}, labels={col - width} for the "
                        "column at that index (or rename the columns)")
    if col is None and named is None:
        raise DataError(f"{path}: label column {n} does not exist; the file has {width} columns")
    return col if col is not None else named


def _is_int_token(cell: str) -> bool:
    """Whether a cell is written as a whole number without a point or exponent ("2", "-1", not "2.0")."""
    return re.fullmatch(r"[+-]?\d+", cell) is not None


# pandas' name for a column it read without one ("Unnamed: 0"), so a re-saved index is recognised too
_UNNAMED = re.compile(r"(Unnamed: \d+)?")


def _refuse_index_column(cells: np.ndarray, feat_cols: list[int], names: list[str] | None, path: Path) -> None:
    """Refuse an unnamed feature column holding a different whole number on every row: the row index
    pandas writes with ``to_csv`` (empty header cell), 0..m-1 or the index left by a shuffle or a
    split. As a feature, a model would learn the row number. Unnamed columns of other values stay."""
    if names is None:  # without a header an index cannot be told from a feature
        return
    for j in feat_cols:
        if not _UNNAMED.fullmatch(names[j]):
            continue
        col = cells[:, j]
        if not all(_is_int_token(c) for c in col):
            continue
        values = [int(c) for c in col]
        if len(set(values)) != len(values):
            continue
        named = f" ({names[j]!r}, pandas' name for a column it read without a name)" if names[j] else ""
        what = (f"0, 1, ..., {len(values) - 1} in order" if values == list(range(len(values)))
                else "a different whole number on every row")
        raise DataError(f"{path}: column {j + 1} has no name{named} and holds {what}: the row index pandas "
                        "writes with DataFrame.to_csv, not a feature (a model would learn the row number); write "
                        "the file with to_csv(..., index=False), or drop that column (or name it in the header "
                        "if it really is a feature)")


def _refuse_bad_cell(X_cells: np.ndarray, feat_cols: list[int], names: list[str] | None, lines: list[int],
                     path: Path) -> None:
    """The DataError naming the first feature cell that is empty, not a number, or not finite."""
    for i, row in enumerate(X_cells):
        for jj, cell in enumerate(row):
            j = feat_cols[jj]
            col = f"column {j + 1}" + (f" ({names[j]!r})" if names else "")
            if not _is_number(cell):
                what = "is empty (a missing value)" if cell == "" else f"holds {cell!r}, not a number"
                raise DataError(f"{path}: line {lines[i]}, {col} {what}; fix or impute it, or choose the label "
                                "column with labels=...")
            if not np.isfinite(float(cell)):
                raise DataError(f"{path}: line {lines[i]}, {col} holds {cell!r} (a missing or infinite "
                                "value); impute or drop that row")


def _csv_labels(raw: np.ndarray, lines: list[int], col: int, names: list[str] | None, path: Path) -> np.ndarray:
    """A CSV's label cells: integers when every one is a whole number, floats when numbers, else strings.

    An empty, NaN or infinite label is refused with its line: as a class it would be a made-up one
    ('' or nan), and no output can learn it."""
    bad = next((i for i, c in enumerate(raw) if c == "" or (_is_number(c) and not np.isfinite(float(c)))), None)
    if bad is not None:
        where = f"column {col + 1}" + (f" ({names[col]!r})" if names else "")
        what = "is empty (a missing label)" if raw[bad] == "" else f"holds {raw[bad]!r} (a missing or infinite label)"
        raise DataError(f"{path}: line {lines[bad]}, {where}, the label column, {what}; drop that row or fill in "
                        "its label")
    if all(_is_number(c) for c in raw):
        y = raw.astype(np.float64)
        if np.all(np.mod(y, 1) == 0) and np.all(np.abs(y) < 2**53):
            y = y.astype(np.int64)
        return y
    return raw.astype(str)


def _csv_rows(lines_in: Any, delimiter: str, path: Path, most: int | None = None) -> tuple[list[list[str]], list[int]]:
    """The non-blank rows (cells stripped) and their line numbers, at most ``most`` rows."""
    reader = csv.reader(lines_in, delimiter=delimiter, skipinitialspace=delimiter != " ")
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not row or all(not c.strip() for c in row):
                continue  # blank lines
            rows.append([c.strip() for c in row])
            lines.append(reader.line_num)
            if most is not None and len(rows) >= most:
                break
    except csv.Error as exc:  # e.g. a NUL byte, an unterminated quote
        raise DataError(f"{path}: line {reader.line_num} cannot be parsed as CSV ({exc})") from None
    return rows, lines


def _has_header(rows: list[list[str]], lines: list[int], header: bool | None, labels: Any, path: Path) -> bool:
    """``header``, or the guess from the first rows; a name (not an integer) as ``labels`` implies names."""
    if header is not None:
        return header
    guess = _header_guess(rows)
    if guess is None:
        raise DataError(f"{path}: cannot tell whether line {lines[0]} ({', '.join(rows[0])}) holds column names or "
                        "a sample: pandas names columns 0, 1, 2, ... by default, but the whole numbers below fit it "
                        "as a sample too; pass header=True or header=False, or write the file with real column names, "
                        "or without names (to_csv(..., header=False))")
    return guess or (isinstance(labels, str) and not _is_int_token(labels))


def _check_unique_names(names: list[str], path: Path) -> None:
    """Refuse a header naming two columns alike: a model matches its feature columns by name."""
    seen: dict[str, int] = {}
    for j, name in enumerate(names):
        if name in seen:
            what = f"the column name {name!r} appears twice" if name else "two columns have no name"
            raise DataError(f"{path}: {what} (columns {seen[name] + 1} and {j + 1}); feature columns are matched to "
                            "the model's by name, so each name must be unique: rename one")
        seen[name] = j


def _csv_table(path: Path, labels: Any, header: bool | None, delimiter: str | None
               ) -> tuple[list[list[str]], list[int], list[str] | None]:
    """A CSV's data rows, their line numbers and its column names (None without a header), checked:
    not empty, names unique, no ragged row."""
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc}); is it really a CSV?") from None
    if delimiter is None:
        delimiter = _sniff_delimiter(text[:65536])
    rows, lines = _csv_rows(io.StringIO(text), delimiter, path)
    if not rows:
        raise DataError(f"{path}: the file holds no data rows")
    header = _has_header(rows, lines, header, labels, path)
    names = rows.pop(0) if header else None
    lines = lines[1:] if header else lines
    if not rows:
        raise DataError(f"{path}: the file holds a header but no data rows")
    if names is not None:
        _check_unique_names(names, path)
    width = len(names) if names is not None else len(rows[0])
    for row, line in zip(rows, lines):
        if len(row) != width:
            raise DataError(f"{path}: line {line} has {len(row)} cells but the {'header' if names else 'first row'} "
                            f"has {width} (a ragged row; check for a missing or extra '{delimiter}')")
    return rows, lines, names


def refuse_index_columns(path: str | os.PathLike, columns: Sequence[str], *, header: bool | None = None,
                         delimiter: str | None = None) -> None:
    """Refuse, as :func:`load_csv` does, any of ``columns`` that has no name ("" or pandas'
    "Unnamed: N") and holds pandas' row index. For matching a file's columns to a model's by name,
    where such a column is to be reported as the index, not as an unknown column."""
    path = Path(path)
    rows, _, names = _csv_table(path, None, header, delimiter)
    if names is not None:
        _refuse_index_column(np.array(rows, dtype=object), [names.index(c) for c in columns if c in names], names,
                             path)


def load_csv(path: str | os.PathLike, *, labels: str | int | bool | None = None, header: bool | None = None,
             delimiter: str | None = None, dtype: Any = np.float64) -> Dataset:
    """Read a CSV file: one sample per row, one feature per column, plus a label column.

    Parameters
    ----------
    labels : str, int, False or None
        The label column: a header name, a 0-based index (negative counts from the end), None for
        the last column, or False for no labels. A string is a name first and an index only when no
        column has that name; an integer is an index, and refused as ambiguous when another column
        is named by its digits (pandas' default names "0", "1", ...): a negative index says which.
        True and floats are refused.
    header : bool or None
        Whether the first row holds column names; None guesses (a first row with a non-numeric
        cell above a numeric one, or with no numbers at all, is a header; so is pandas' default
        ``0,1,...,k-1`` above decimals or above a column of classes that never holds its number;
        when the rows below cannot tell, a DataError asks for ``header``).
    delimiter : str or None
        None sniffs it (``,`` ``;`` tab ``|`` or space).

    Raises
    ------
    DataError
        Ragged rows (with the line number), non-numeric or missing feature cells and missing labels
        (line and column), an unknown or ambiguous label column, a column name used twice, a header
        that cannot be told from a sample, an empty file, and an unnamed feature column holding a
        different whole number on every row (the index ``DataFrame.to_csv`` writes unless
        ``index=False``: a model would learn the row number).
    """
    path = Path(path)
    rows, lines, names = _csv_table(path, labels, header, delimiter)
    width = len(names) if names is not None else len(rows[0])
    label_col = _label_column(labels, names, width, path)
    if label_col is not None and width < 2:
        raise DataError(f"{path}: only {width} column, so there is nothing left for features after the labels")
    feat_cols = [j for j in range(width) if j != label_col]
    cells = np.array(rows, dtype=object)
    _refuse_index_column(cells, feat_cols, names, path)
    X_cells = cells[:, feat_cols]
    try:
        X = X_cells.astype(np.float64)
    except ValueError:
        X = None
    if X is None or not np.isfinite(X).all():
        _refuse_bad_cell(X_cells, feat_cols, names, lines, path)
    y = None if label_col is None else _csv_labels(cells[:, label_col], lines, label_col, names, path)
    return Dataset(
        X=np.ascontiguousarray(X.T, dtype=dtype), y=y, classes=None,
        feature_names=[names[j] for j in feat_cols] if names else None, name=path.name,
        source_dtype="float64", label_name=names[label_col] if names and label_col is not None else None,
    )


_HEADER_ROWS = 200  # rows below the first that the header guess reads (csv_header reads no more)


def _header_guess(rows: Sequence[Sequence[str]]) -> bool | None:
    """Whether the first row holds column names: True, False, or None when the rows cannot tell.

    Names: a first row with no number at all, or with a non-numeric cell above a numeric one. A
    first row of the whole numbers 0, 1, ..., k-1 in order (pandas' default names) is names when
    the rows below show it is no sample: a column written as decimals (0.0, -1.5e-3) under the
    integer j, or a column of a few whole-number classes that never holds j (as a sample it would
    invent a class). Otherwise (whole numbers below that fit it) nobody can tell: None."""
    first, below = rows[0], rows[1:_HEADER_ROWS + 1]
    if not any(_is_number(c) for c in first):
        return True
    if below and any(not _is_number(a) and _is_number(b) for a, b in zip(first, below[0])):
        return True
    if len(first) < 2 or not below or any(c != str(j) for j, c in enumerate(first)):
        return False
    columns = list(zip(*(r for r in below if len(r) == len(first))))
    return True if any(_decimal_column(c) or _classes_without(c, j) for j, c in enumerate(columns)) else None


def _decimal_column(cells: Sequence[str]) -> bool:
    """Every cell a number written with a point or an exponent (as pandas and numpy write floats)."""
    return all(_is_number(c) and not _is_int_token(c) for c in cells)


def _classes_without(cells: Sequence[str], j: int) -> bool:
    """The cells are a few whole-number classes (20 at most, each seen twice on average) and never j."""
    if not all(_is_number(c) for c in cells):
        return False
    values = {float(c) for c in cells}
    whole = all(np.isfinite(v) and v == int(v) for v in values)
    return whole and len(values) <= 20 and len(cells) >= 2 * len(values) and float(j) not in values


def csv_header(path: str | os.PathLike, *, delimiter: str | None = None,
               header: bool | None = None) -> list[str] | None:
    """The column names of a CSV file, or None when its first row is data, decided as
    :func:`load_csv` decides it from the same first rows (a first row that cannot be told from a
    sample is the same DataError); ``header`` True or False says it, as for :func:`load_csv`."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            head = f.read(65536)
            if delimiter is None:
                delimiter = _sniff_delimiter(head)
            f.seek(0)
            rows, lines = _csv_rows(f, delimiter, path, most=_HEADER_ROWS + 1)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8 text file ({exc}); is it really a CSV?") from None
    if not rows or not _has_header(rows, lines, header, None, path):
        return None
    return rows[0]


# -- NumPy files -----------------------------------------------------------------------------------
def _rows_to_columns(arr: np.ndarray, dtype: Any, where: str) -> tuple[np.ndarray, tuple[int, ...] | None]:
    """(m, ...) sample rows -> X (n0, m); a view when arr is already float of the right kind."""
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{where}: features have dtype {arr.dtype}; they must be numbers")
    if arr.ndim == 0:
        raise DataError(f"{where}: holds a single number, not samples")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    image_shape = tuple(int(s) for s in arr.shape[1:]) if arr.ndim >= 3 else None
    if arr.shape[0] == 0:
        raise DataError(f"{where}: holds no samples (shape {arr.shape})")
    rows = arr.reshape(arr.shape[0], -1)  # a view for C-contiguous (also memory-mapped) arrays
    if dtype is None:
        dtype = rows.dtype if rows.dtype.kind == "f" else np.float64
    return rows.astype(dtype, copy=False).T, image_shape


def _refuse_nonfinite(X: np.ndarray, where: str) -> None:
    """A DataError naming the first sample (column of X) holding NaN or infinity, and its feature."""
    if X.dtype.kind != "f" or np.isfinite(X).all():
        return
    bad = ~np.isfinite(X)
    i = int(np.argmax(bad.any(axis=0)))
    j = int(np.argmax(bad[:, i]))
    raise DataError(f"{where}: sample {i} (0-based), feature {j} is {X[j, i]} (NaN or infinity); clean or impute "
                    "it, or drop that sample")


def _labels_from(labels: Any, m: int, where: str) -> np.ndarray | None:
    if labels is None or labels is False:
        return None
    if isinstance(labels, (str, os.PathLike)):
        p = Path(labels)
        if p.suffix == ".npy":
            y = _np_load(p)
        elif p.suffix == ".csv":
            y = load_csv(p, labels=False, header=None).X.T
        else:
            raise DataError(f"{where}: labels={labels!r} is not a .npy or .csv file of labels")
    else:
        y = np.asarray(labels)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.shape[0] != m:
        raise DataError(f"{where}: {y.shape[0]} labels for {m} samples; give one label per sample")
    return np.asarray(y)


# what zipfile, zlib and numpy raise on damaged archives (a fuzzer found each of these)
_DAMAGED = (OSError, EOFError, zipfile.BadZipFile, NotImplementedError, RuntimeError, zlib.error, struct.error,
            KeyError, UnicodeDecodeError, SyntaxError, tokenize.TokenError)


def _np_load(path: Path, mmap: bool = False) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        with strict_npy_headers():  # a stray backslash in the header is damage, not a warning
            return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc) or "Python objects" in str(exc):
            raise DataError(f"{path}: holds Python objects (a pickle); deeplayers never unpickles data files. "
                            "Save plain numeric arrays with numpy.save") from None
        raise DataError(f"{path}: not a readable NumPy file ({exc}); it may be truncated or of another format") from None
    except _DAMAGED as exc:
        raise DataError(f"{path}: not a readable NumPy file ({exc}); it may be truncated or of another format") from None


def load_npy(path: str | os.PathLike, *, labels: Any = None, mmap: bool = True, dtype: Any = None) -> Dataset:
    """Features from a ``.npy`` file of samples as rows, (m, n0) or images (m, h, w[, c]).

    With ``mmap`` (default) the file is memory-mapped read-only: a float32/float64 file becomes a
    transposed view X (n0, m) that is read from disk as needed, so ``Network.fit(...,
    batch_size=...)`` trains on it in mini-batches without loading it (keep ``dtype`` None and
    make the network's dtype match the file's). Integer files are converted (loaded) to float.

    Parameters
    ----------
    labels : path of a ``.npy``/``.csv`` file, array (m,), or None
    dtype : None (keep a float file's dtype, float64 otherwise) or a float dtype
    """
    path = Path(path)
    arr = _np_load(path, mmap)
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: is an .npz archive, not a single array; use load_npz")
    source = arr.dtype.name
    X, image_shape = _rows_to_columns(arr, dtype, str(path))
    y = _labels_from(labels, X.shape[1], str(path))
    return Dataset(X=X, y=y, name=path.name, image_shape=image_shape, source_dtype=source)


def _first_key(keys: Sequence[str], candidates: Sequence[str]) -> str | None:
    return next((k for k in candidates if k in keys), None)


def _npz_member(archive: Any, key: str, path: Path) -> np.ndarray:
    """One array of an .npz archive, read with strict .npy headers; never unpickled."""
    try:
        with strict_npy_headers():
            a = archive[key]
    except ValueError as exc:
        if "allow_pickle" in str(exc) or "Object arrays" in str(exc):
            raise DataError(f"{path}: array {key!r} holds Python objects (a pickle); deeplayers never "
                            f"unpickles data files ({exc})") from None
        raise DataError(f"{path}: array {key!r} is damaged ({exc}); the file may be truncated") from None
    except _DAMAGED as exc:
        raise DataError(f"{path}: array {key!r} is damaged ({exc}); the file may be truncated") from None
    if not isinstance(a, np.ndarray):  # NpzFile hands back raw bytes for a member that is not .npy
        raise DataError(f"{path}: member {key!r} is not a .npy array; the file is damaged or was not "
                        "written by numpy.savez")
    return a


def _npz_layout(Xraw: np.ndarray, y: np.ndarray | None, layout: str) -> tuple[np.ndarray, np.ndarray | None, str]:
    """X as rows (m, n[0]) and y as (m,) or (m, n[L]): ``columns`` transposes; ``auto`` chooses by
    which axis of X matches the number of labels."""
    if layout not in ("auto", "rows", "columns"):
        raise DataError(f"layout must be 'auto', 'rows' or 'columns', got {layout!r}")
    if layout == "auto":
        layout = "rows"
        if y is not None and Xraw.ndim == 2:
            m = y.shape[-1] if (y.ndim == 2 and y.shape[0] < y.shape[1]) else y.shape[0]
            if Xraw.shape[0] != m and Xraw.shape[1] == m:
                layout = "columns"
        if layout == "columns" and y is not None and y.ndim == 2 and y.shape[0] < y.shape[1]:
            y = y.T  # (nL, m) -> (m, nL)
    elif layout == "columns" and y is not None and y.ndim == 2:
        y = y.T
    if layout == "columns":
        Xraw = Xraw.T
    return Xraw, y, layout


def load_npz(path: str | os.PathLike, *, labels: str | bool | None = None, split: str | None = None,
             layout: str = "auto", dtype: Any = None) -> Dataset:
    """Features and labels from an ``.npz`` archive.

    Keys: ``X`` or ``x`` (or ``X_train``/``X_test`` with ``split``; an archive holding only
    those gives the training part when ``split`` is None), labels ``y``/``Y``/``labels``
    (or ``y_<split>``, or the key named by ``labels``; ``labels=False`` for none); optional ``classes`` and
    ``feature_names`` string arrays. ``layout`` says how X is stored: ``rows`` (m, ...), as files
    usually do, ``columns`` (n0, m), the notation's, or ``auto`` (decided from the labels' length).
    """
    path = Path(path)
    archive = _np_load(path)
    if isinstance(archive, np.ndarray):
        raise DataError(f"{path}: is a single .npy array, not an .npz archive; use load_npy")
    with archive:
        keys = list(archive.files)
        if split is None and not _first_key(keys, ["X", "x", "features", "data"]) and \
                _first_key(keys, ["X_train", "x_train"]):
            split = "train"  # an archive holding both parts: the training part, as the help says
        suffix = f"_{split}" if split else ""
        xkey = _first_key(keys, [f"X{suffix}", f"x{suffix}"] + ([] if split else ["features", "data"]))
        if xkey is None:
            raise DataError(f"{path}: no features array {'X/x' + suffix if split else 'X or x'}; the archive holds "
                            f"{', '.join(keys) or 'nothing'}; name it X (samples as rows)")
        if labels is False:
            ykey = None
        else:
            ykey = labels or _first_key(keys, [f"y{suffix}", f"Y{suffix}"] + ([] if split else ["labels", "target"]))
        if labels and labels not in keys:
            raise DataError(f"{path}: no labels array {labels!r}; the archive holds {', '.join(keys)}")

        def get(key: str) -> np.ndarray:
            return _npz_member(archive, key, path)

        Xraw = get(xkey)
        y = get(ykey) if ykey else None
        if y is not None and y.ndim == 0:
            raise DataError(f"{path}: labels {ykey!r} hold a single value, not one label per sample")
        def names(key: str) -> list[str] | None:
            if key not in keys:
                return None
            a = get(key)
            if a.ndim != 1:
                raise DataError(f"{path}: {key!r} must be a 1-D array of names, got shape {a.shape}")
            return [str(c) for c in a]

        classes = names("classes")
        feature_names = names("feature_names")
    Xraw, y, layout = _npz_layout(Xraw, y, layout)
    source = Xraw.dtype.name
    X, image_shape = _rows_to_columns(Xraw, dtype, f"{path}[{xkey}]")
    _refuse_nonfinite(X, f"{path}[{xkey}]")
    if y is not None:
        if y.ndim == 2 and 1 in y.shape:
            y = y.reshape(-1)
        if y.shape[0] != X.shape[1]:
            raise DataError(f"{path}: {y.shape[0]} labels ({ykey}) for {X.shape[1]} samples ({xkey}, stored as "
                            f"{layout}); give one label per sample")
    return Dataset(X=X, y=y, classes=classes, feature_names=feature_names, name=path.name,
                   image_shape=image_shape, source_dtype=source)


# -- HDF5 (the course's cat files) -----------------------------------------------------------------
def load_h5(path: str | os.PathLike, *, split: str | None = None, labels: str | None = None,
            dtype: Any = np.float64) -> Dataset:
    """The course's HDF5 files: ``<split>_set_x`` (m, h, w, c) uint8, ``<split>_set_y`` (m,) and
    ``list_classes``; also plain ``X``/``y`` datasets. ``split`` picks ``train``/``test`` when a file
    holds several (default: ``train``)."""
    try:
        import h5py
    except ImportError:  # pragma: no cover - in the data extra
        raise ImportError("reading HDF5 needs h5py: pip install 'deeplayers[data]'") from None
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        keys = sorted(f.keys())
        xs = [k for k in keys if k.endswith("_set_x")]
        if split is not None:
            xkey = f"{split}_set_x" if f"{split}_set_x" in keys else None
        elif len(xs) == 1:
            xkey = xs[0]
        elif "train_set_x" in xs:  # a file holding both parts: the training part, as the help says
            xkey = "train_set_x"
        elif len(xs) > 1:
            raise DataError(f"{path}: holds several sets ({', '.join(xs)}); choose one with split=...")
        else:
            xkey = _first_key(keys, ["X", "x"])
        if xkey is None:
            raise DataError(f"{path}: no features dataset ('{split or '<split>'}_set_x' or 'X'); the file holds: "
                            f"{', '.join(keys) or 'nothing'}")
        ykey = labels or (xkey[:-1] + "y" if xkey.endswith("_set_x") else _first_key(keys, ["y", "Y"]))
        if ykey is None or ykey not in keys:
            raise DataError(f"{path}: no labels dataset {ykey or 'y'!r} to go with {xkey!r}; the file holds: "
                            f"{', '.join(keys)}")
        try:
            raw, y = f[xkey][()], f[ykey][()]
            classes = None
            if "list_classes" in keys:
                classes = [c.decode("utf-8", "replace") if isinstance(c, bytes) else str(c)
                           for c in f["list_classes"][()]]
        except (OSError, KeyError, TypeError) as exc:
            raise DataError(f"{path}: cannot read {xkey!r}/{ykey!r} ({exc}); the file may be damaged") from None
    y = np.asarray(y)
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    X, image_shape = _rows_to_columns(np.asarray(raw), dtype, f"{path}[{xkey}]")
    _refuse_nonfinite(X, f"{path}[{xkey}]")
    if y.shape[0] != X.shape[1]:
        raise DataError(f"{path}: {y.shape[0]} labels in {ykey!r} for {X.shape[1]} samples in {xkey!r}")
    return Dataset(X=np.ascontiguousarray(X), y=y, classes=classes, name=f"{path.name}:{xkey[:-6] or xkey}",
                   image_shape=image_shape, source_dtype=raw.dtype.name)


# -- IDX -------------------------------------------------------------------------------------------
def load_idx_dir(directory: str | os.PathLike, split: str = "train", *, dtype: Any = np.float64) -> Dataset:
    """An MNIST-style IDX directory (``train-images-idx3-ubyte[.gz]``, ``...-labels-idx1-ubyte``,
    ``t10k-...``) as a Dataset: X (784, m) of raw 0..255 values, y (m,) the digits."""
    images, y = load_mnist(directory, split)
    return Dataset(X=np.ascontiguousarray(to_columns(images, scale=None), dtype=dtype), y=y.astype(np.int64),
                   classes=list(range(int(y.max()) + 1)) if y.size and y.max() < 256 else None,
                   name=f"{Path(directory).name}:{split}", image_shape=tuple(images.shape[1:]),
                   source_dtype=images.dtype.name)


# -- scikit-learn built-ins ------------------------------------------------------------------------
BUILTINS = ("digits", "breast_cancer", "iris", "wine", "diabetes")


def load_builtin(name: str, *, dtype: Any = np.float64) -> Dataset:
    """One of scikit-learn's small built-in sets by name: digits, breast_cancer, iris, wine
    (classification) or diabetes (regression)."""
    key = name.lower().replace("-", "_")
    if key not in BUILTINS:
        raise DataError(f"unknown built-in data set {name!r}; choose one of: {', '.join(BUILTINS)}")
    try:
        import sklearn.datasets as skd
    except ImportError:  # pragma: no cover - in the data extra
        raise ImportError("built-in data sets need scikit-learn: pip install 'deeplayers[data]'") from None
    bunch = getattr(skd, f"load_{key}")()
    data = np.asarray(bunch.data)
    classes = [str(c) for c in bunch.target_names] if "target_names" in bunch else None
    image_shape = tuple(bunch.images.shape[1:]) if "images" in bunch else None
    if key == "digits":
        classes = [int(c) for c in bunch.target_names]
    return Dataset(X=np.ascontiguousarray(data.T, dtype=dtype), y=np.asarray(bunch.target), classes=classes,
                   feature_names=[str(n) for n in bunch.feature_names] if "feature_names" in bunch else None,
                   name=key, image_shape=image_shape, source_dtype=data.dtype.name)


# -- one entry point -------------------------------------------------------------------------------
def _is_idx_name(path: Path) -> bool:
    name = path.name.lower()
    return name.endswith(".idx") or "-ubyte" in name or ".idx" in name


def load_dataset(source: str | os.PathLike, *, labels: Any = None, split: str | None = None,
                 dtype: Any = None, **options: Any) -> Dataset:
    """Load a data set from a file, an IDX directory or a built-in name.

    Parameters
    ----------
    source : str or path
        ``.csv``/``.tsv``/``.txt`` (:func:`load_csv`), ``.npy`` (:func:`load_npy`, memory-mapped),
        ``.npz`` (:func:`load_npz`), ``.h5``/``.hdf5`` (:func:`load_h5`), an IDX file or an MNIST-style
        IDX directory (:func:`load_idx_dir`), or a built-in name: ``digits``, ``breast_cancer``,
        ``iris``, ``wine``, ``diabetes``. An existing path wins over a built-in name.
    labels : optional
        CSV: the label column (name or index; default the last; False for none). NPY: a labels file
        or array. NPZ/HDF5: the labels key. IDX file: the labels IDX file.
    split : str, optional
        ``train``/``test`` for IDX directories, HDF5 files (``train_set_x``/``test_set_x``) and NPZ
        files (``X_train``/``X_test``) holding both parts; default: ``train`` for those.
    dtype : float dtype, optional
        dtype of X (default float64; a memory-mapped float ``.npy`` keeps its own).
    options
        Passed to the loader (``header``, ``delimiter`` for CSV; ``mmap`` for NPY; ``layout`` for NPZ).

    Returns
    -------
    Dataset
        ``X`` (n[0], m), ``y`` (m,), ``classes``, ``feature_names``, ``name``.
    """
    path = Path(source)
    if not path.exists():
        if isinstance(source, str) and source.lower().replace("-", "_") in BUILTINS:
            return load_builtin(source, dtype=dtype or np.float64)
        raise FileNotFoundError(f"{source}: no such file or directory, and not a built-in data set name "
                                f"({', '.join(BUILTINS)})")
    if path.is_dir():
        return load_idx_dir(path, split or "train", dtype=dtype or np.float64)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return load_csv(path, labels=labels, dtype=dtype or np.float64, **options)
    if suffix == ".npy":
        return load_npy(path, labels=labels, dtype=dtype, **options)
    if suffix == ".npz":
        return load_npz(path, labels=labels, split=split, dtype=dtype, **options)
    if suffix in (".h5", ".hdf5", ".hdf"):
        return load_h5(path, split=split, labels=labels, dtype=dtype or np.float64)
    if _is_idx_name(path):
        arr = load_idx(path)
        X, image_shape = _rows_to_columns(arr, dtype or np.float64, str(path))
        y = None
        if labels is not None:
            y = load_idx(labels) if isinstance(labels, (str, os.PathLike)) else np.asarray(labels)
            if y.shape[0] != X.shape[1]:
                raise DataError(f"{path}: {y.shape[0]} labels for {X.shape[1]} samples")
        return Dataset(X=np.ascontiguousarray(X), y=y, name=path.name, image_shape=image_shape,
                       source_dtype=arr.dtype.name)
    raise DataError(f"{path}: cannot tell the data format from the extension {suffix or '(none)'!r}; use .csv, "
                    ".npy, .npz, .h5, an IDX file or directory, or a built-in name "
                    f"({', '.join(BUILTINS)})")
