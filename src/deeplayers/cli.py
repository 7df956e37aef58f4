"""The command line: ``deeplayers train | predict | evaluate | summary | gradcheck | check | plot | export | search | demo``.

Every command is a thin face over the library: data through :func:`deeplayers.datasets.load_dataset`,
training through :meth:`deeplayers.Network.fit` (the one training loop) with the practitioner
defaults of :data:`deeplayers.defaults.DEFAULTS`, model files through :func:`deeplayers.save` /
:func:`deeplayers.load`, pictures through :mod:`deeplayers.plots`, ONNX through
:func:`deeplayers.onnx_export.export_onnx`.

Exit status: 0 success; 1 a failed gradient check; 2 a user error (bad path, bad option value, an
option that does not apply, shape mismatch, damaged model file, bad data, a diverged training run),
reported as ONE line ``error: ...`` on stderr, never a traceback; 130 interrupted by Ctrl-C (after
saving the checkpoint, with the command to resume). Anything else is a bug and keeps its traceback.

Options are checked (ranges by their click types, combinations at the top of each command) before
any data is read or anything is printed. The library's messages speak Python (``learning_rate``,
``labels=...``); :func:`cli_message` translates them, in one place, into the command line's words
(``--lr``, ``--labels``).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shlex
import sys
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import numpy as np
from click.core import ParameterSource

from .activations import HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from .defaults import DEFAULTS
from .errors import ConfigError, DataError, DeeplayersError, ModelFileError
from .initializers import INITIALIZERS
from .metrics import accuracy, evaluate_metrics, format_metrics
from .network import DTYPES as NETWORK_DTYPES
from .optimizers import OPTIMIZERS
from .preprocessing import Preprocessing
from .search import METRICS as SEARCH_METRICS
from .search import STRATEGIES as SEARCH_STRATEGIES
from .search import load_data as load_search_data
from .search import load_space
from .search import search as run_search
from .training import SCHEDULES, split_validation

__all__ = ["main", "cli", "evaluate_metrics", "cli_message", "search_command"]

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
# every choice comes from the engine's registries (an alias such as sgd = gd is accepted by the library, not listed)
HIDDEN = list(HIDDEN_ACTIVATIONS)
OUTPUTS = list(OUTPUT_ACTIVATIONS)
OPTIMIZER_NAMES = [name for name, cls in OPTIMIZERS.items() if name == cls.name]
INIT_NAMES = list(INITIALIZERS)
SCALES = ["auto", *Preprocessing.TYPES]
DTYPES = list(NETWORK_DTYPES)
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
_CSV_SUFFIXES = (".csv", ".tsv", ".txt")

# the command line as typed (set by main), to print the exact command that resumes a run
_ARGV: list[str] = []
# the DATA argument being read, for messages ("the model expects 13 features, wine.csv has 10")
_STATE: dict[str, Any] = {}


_CAT_FILES = ("train_catvnoncat.h5", "test_catvnoncat.h5")


def _cat_folder(cat: str | None) -> str | None:
    """demo --cat: the folder holding the course's two files; the path of one of them stands for its folder."""
    if cat is None:
        return None
    folder = Path(cat).parent if Path(cat).name in _CAT_FILES and Path(cat).is_file() else Path(cat)
    expects = f"--cat expects the folder holding {' and '.join(_CAT_FILES)}"
    if not folder.is_dir():
        raise FileNotFoundError(f"--cat {cat}: {'is a file, not a folder' if folder.exists() else 'no such folder'}; "
                                f"{expects}")
    missing = [name for name in _CAT_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"--cat {cat}: no {' or '.join(missing)} in {folder}; {expects}")
    return str(folder)


class _UserError(click.ClickException):
    """A user error raised inside a command: one line and status 2 also when the command runs in a
    plain click group (``search_command`` attached elsewhere, click's test runner)."""

    exit_code = EXIT_USER_ERROR


# -- option types: checked by click before the command runs -------------------------------------------
class SizesType(click.ParamType):
    """Comma-separated positive integers, ``20,7,5``; ``""`` gives [] when ``allow_empty``."""

    name = "SIZES"

    def __init__(self, allow_empty: bool = True, min_count: int = 0, sep: str = ",", example: str = "20,7,5") -> None:
        self.allow_empty, self.min_count, self.sep, self.example = allow_empty, min_count, sep, example

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> list[int]:
        if isinstance(value, list):
            return value
        text = str(value).strip()
        if not text:
            if self.allow_empty:
                return []
            self.fail(f"give a comma-separated list of positive integers such as {self.example}", param, ctx)
        parts = re.split(f"[{re.escape(self.sep)}]", text)
        if any(not p.strip() for p in parts):
            self.fail(f"{value!r} has an empty size (two separators in a row, or one at an end); give positive "
                      f"integers such as {self.example}", param, ctx)
        try:
            sizes = [int(p) for p in parts]
        except ValueError:
            self.fail(f"give a comma-separated list of positive integers such as {self.example}, got {value!r}",
                      param, ctx)
        if any(n < 1 for n in sizes):
            self.fail(f"every size must be a positive integer, got {value!r}", param, ctx)
        if len(sizes) < self.min_count:
            self.fail(f"give at least {self.min_count} sizes such as {self.example}, got {value!r}", param, ctx)
        return sizes


class _CountOrWord(click.ParamType):
    """An integer that :meth:`allowed` accepts, or :attr:`word` (which gives None); any other
    value is refused with :attr:`expects`."""

    word = ""
    expects = ""

    def allowed(self, n: int) -> bool:
        raise NotImplementedError

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int | None:
        if value is None:
            return None
        text = str(value).strip().lower()
        if text == self.word:
            return None
        try:
            n = int(text)
        except ValueError:
            n = None
        if n is None or not self.allowed(n):
            self.fail(f"give {self.expects}, got {value!r}", param, ctx)
        return n


class BatchSizeType(_CountOrWord):
    """A positive number of samples, or ``full`` (full batch: the course's gradient descent)."""

    name = "N|full"
    word = "full"
    expects = "a positive number of samples or 'full'"

    def allowed(self, n: int) -> bool:
        return n >= 1


class _Said:
    """A click range whose refusal says what the value must be ("a KEEP probability in (0, 1]")."""

    what = ""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return super().convert(value, param, ctx)  # type: ignore[misc]
        except click.BadParameter:
            self.fail(f"must be {self.what}, got {value!r}", param, ctx)  # type: ignore[attr-defined]


class IntRange(_Said, click.IntRange):
    def __init__(self, what: str, **bounds: Any) -> None:
        super().__init__(**bounds)
        self.what = what


class FloatRange(_Said, click.FloatRange):
    """A click float range that also refuses nan and inf (nan passes every comparison with a bound)."""

    def __init__(self, what: str, **bounds: Any) -> None:
        super().__init__(**bounds)
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"must be {self.what} (a finite number), got {value!r}", param, ctx)
        return number


class ThreadsType(_CountOrWord):
    """BLAS threads as scikit-learn's n_jobs: ``auto``, a positive count, or -1 for every core, -2
    all but one, ... down to -(cores) (one thread); below that no thread would be left."""

    name = "N|auto"
    word = "auto"

    @property
    def expects(self) -> str:  # type: ignore[override]
        return (f"a positive number of threads, -1 for every core, -2 for all but one, ... (down to "
                f"-{_cores()} on this machine), or 'auto'")

    def allowed(self, n: int) -> bool:
        return n != 0 and n >= -_cores()


def _cores() -> int:
    from .threads import available_cores

    return available_cores()


POSITIVE = IntRange("a positive integer", min=1)
POSITIVE_FLOAT = FloatRange("a positive number", min=0, min_open=True)
NON_NEGATIVE_FLOAT = FloatRange("a non-negative number", min=0)
# numpy's generators take seeds below 2**32; search takes any, but one range for every command
SEED = IntRange("an integer from 0 to 4294967295 (2**32 - 1)", min=0, max=2**32 - 1)


def given(ctx: click.Context, name: str) -> bool:
    """Whether option ``name`` (its Python name) was typed on the command line (not its default)."""
    return ctx.get_parameter_source(name) not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def refuse_unless(ctx: click.Context, condition: bool, names: Sequence[str], why: str) -> None:
    """A one-line usage error when an option among ``names`` was typed but ``condition`` is false,
    e.g. ``--patience applies only with --early-stopping``: no option is ever silently ignored."""
    if condition:
        return
    for name in names:
        if given(ctx, name):
            opt = next(p for p in ctx.command.params if p.name == name)
            raise click.UsageError(f"{_option_name(opt)} {why}", ctx)


def _dropout_hint(exc: click.UsageError, argv: Sequence[str]) -> str:
    """``--dropout`` is no option: elsewhere a dropout is the DROP rate, and here it was the keep
    probability; say so, with the value converted, instead of click's bare 'No such option'."""
    if not (isinstance(exc, click.NoSuchOption) and exc.option_name == "--dropout" and exc.ctx is not None
            and any(p.name == "keep_prob" for p in exc.ctx.command.params)):
        return ""
    given = next((a.split("=", 1)[1] if "=" in a else (argv[i + 1] if i + 1 < len(argv) else "")
                  for i, a in enumerate(argv) if a == "--dropout" or a.startswith("--dropout=")), "")
    try:
        keep = f"{1 - float(given):g}"
    except ValueError:
        keep = "KEEP"
    return (f"--dropout is not an option: give --keep-prob, the probability of KEEPING a hidden unit "
            f"(--keep-prob = 1 - the drop rate; --dropout {given} would be --keep-prob {keep})")


def _option_name(param: click.Parameter) -> str:
    """The option's first long name (``--epochs`` of ``--epochs/--iterations``, ``--quiet`` of ``-q/--quiet``)."""
    return next((o for o in param.opts if o.startswith("--")), param.opts[0] if param.opts else param.name or "?")


def check_out(path: str | None, option: str, *, stdout: bool = False) -> None:
    """An output file's name, checked before anything is read or computed: not a directory, in a
    folder that exists, and ``-`` (stdout) only where the output is text (``stdout``)."""
    if path is None or (path == "-" and stdout):
        return
    if path == "-":
        raise click.UsageError(f"{option} -: this output is a file, not text for stdout; name a file "
                               f"(./- for a file named '-')")
    if Path(path).is_dir():
        raise IsADirectoryError(f"{option} {path}: is a directory; name a file (in it, or elsewhere)")
    folder = Path(path).parent
    if not folder.is_dir():
        raise FileNotFoundError(f"{option} {path}: the directory {folder} does not exist")


def _same_file(a: str, b: str) -> bool:
    """Whether two paths name one file: the same inode where both exist (hard links, symlinks,
    ./x and x), else the same resolved path."""
    with contextlib.suppress(OSError):
        if os.path.exists(a) and os.path.exists(b):
            return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def check_distinct(inputs: Sequence[tuple[str, str | None]], outputs: Sequence[tuple[str, str | None]]) -> None:
    """Refuse, before anything is read, an output that is one of the inputs (it would be replaced)
    or another output (one would overwrite the other). Each pair is (option or argument, path)."""
    ins = [(name, p) for name, p in inputs if p is not None and os.path.exists(p)]
    outs = [(name, p) for name, p in outputs if p is not None and p != "-"]
    for i, (name, path) in enumerate(outs):
        for other, src in ins:
            if _same_file(path, src):
                raise click.UsageError(f"{name} {path} is the input {other} {src}: writing it would replace "
                                       "what is read; name another file")
        for other, first in outs[:i]:
            if _same_file(path, first):
                raise click.UsageError(f"{other} {first} and {name} {path} are the same file: one would "
                                       "overwrite the other; give them different names")


# picture formats written by matplotlib's Agg canvas without extra programs (pgf needs LaTeX)
_FIGURE_FORMATS = ("png", "pdf", "svg", "svgz", "eps", "ps", "jpg", "jpeg", "tif", "tiff", "webp")


def check_figure(path: str | None, option: str) -> None:
    """A picture's file name must end in a format matplotlib writes (the file is written in it)."""
    if path is None:
        return
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in _FIGURE_FORMATS:
        raise click.UsageError(f"{option} {path}: the picture's format comes from the name's ending; give "
                               f"one of .{', .'.join(_FIGURE_FORMATS)}")


def write_figure(fig: Any, path: str, option: str) -> None:
    """Write a matplotlib figure in the format of the name's ending, atomically (plots' writer)."""
    from .plots import _save

    with writing(option):
        _save(fig, path)


@contextlib.contextmanager
def writing(option: str) -> Iterator[None]:
    """A file that cannot be written (a folder in /proc, a read-only disk, a full disk) is a
    one-line error naming the option that named it."""
    try:
        yield
    except OSError as exc:
        raise _UserError(f"{option}: {exc}") from None


def _labels_arg(labels: str | None) -> Any:
    """The --labels value for load_dataset: None (default), False (``none``), a column index or a name/path."""
    if labels is None:
        return None
    if labels.lower() == "none":
        return False
    if labels.lstrip("-").isdigit() and not os.path.exists(labels):
        return int(labels)
    return labels


def _data_kind(data: str) -> str:
    """What DATA names, without reading it: builtin, idx-dir, csv, npy, npz, h5, idx or other."""
    from .datasets import BUILTINS, _is_idx_name

    path = Path(data)
    if not path.exists():
        return "builtin" if data.lower().replace("-", "_") in BUILTINS else "missing"
    if path.is_dir():
        return "idx-dir"
    suffix = path.suffix.lower()
    if suffix in _CSV_SUFFIXES:
        return "csv"
    kind = {".npy": "npy", ".npz": "npz", ".h5": "h5", ".hdf5": "h5", ".hdf": "h5"}.get(suffix, "other")
    return "idx" if kind == "other" and _is_idx_name(path) else kind


_KIND_WORDS = {"builtin": "a built-in data set", "idx-dir": "an IDX directory", "npy": "an NPY file",
               "npz": "an NPZ file", "h5": "an HDF5 file", "idx": "an IDX file"}
#: --header's words, as the CSV loader's header= takes them
_HEADERS: dict[str, bool | None] = {"auto": None, "yes": True, "no": False}


def check_data_options(data: str, labels: str | None, split: str | None, header: str = "auto") -> None:
    """Refuse --labels, --split and --header where they do not apply, before anything is read."""
    kind = _data_kind(data)
    if header != "auto" and kind not in ("csv", "missing"):  # a missing file is said so when it is read
        raise click.UsageError(f"--header applies only to a CSV file (whether its first row holds column names); "
                               f"{data} is {_KIND_WORDS.get(kind, 'not a CSV file')}")
    if labels is not None and kind == "builtin":
        raise click.UsageError(f"--labels does not apply to the built-in data set {data!r}: its labels come with it")
    if labels is not None and kind == "idx-dir":
        raise click.UsageError(f"--labels does not apply to an IDX directory ({data}): its labels are the "
                               "*-labels-idx1-ubyte files")
    if split is not None and kind in ("builtin", "csv", "npy", "idx"):
        what = {"builtin": "a built-in data set", "csv": "a CSV file"}.get(kind, f"an {kind.upper()} file")
        raise click.UsageError(f"--split does not apply to {what} ({data}): it chooses the train or test part "
                               "of a file holding both (.h5, .npz, an IDX directory)")
    if kind == "idx-dir" and split not in (None, "train", "test", "t10k"):
        raise click.UsageError(f"--split for an IDX directory is 'train' or 'test' (the t10k-* files), got {split!r}")


def _load_data(data: str, labels: str | None, split: str | None, limit: int | None, *, need_labels: bool = True,
               n_features: int | None = None, header: bool | None = None) -> Any:
    """load_dataset with the CLI's options; ``limit`` keeps the first N samples.

    With ``n_features`` (the model's n[0]) a CSV whose last column was taken as labels by default
    but which holds exactly n[0] columns has no label column: predict re-reads it with every column
    as a feature, a command that needs labels says so (instead of "expects 13 features, has 12").
    """
    _STATE["data"] = data
    lab = _labels_arg(labels)
    if limit is not None and Path(data).is_dir():
        ds = _idx_dir_head(Path(data), split or "train", limit)
    else:
        ds = _load_split(data, lab, split, header)
    if (n_features is not None and labels is None and ds.y is not None and ds.n_features == n_features - 1
            and _data_kind(data) == "csv"):
        ds = _csv_without_labels(data, n_features, need_labels, header)
    if limit is not None:
        ds = replace(ds, X=ds.X[:, :limit], y=None if ds.y is None else ds.y[:limit])
    if need_labels and ds.y is None:
        raise DataError(f"{data}: no labels found; name the label column or array with --labels")
    return ds


def _csv_without_labels(data: str, n0: int, need_labels: bool, header: bool | None) -> Any:
    """A CSV of exactly the model's n[0] columns, read with every column as a feature (predict), or
    refused naming --labels when the command needs labels."""
    if need_labels:
        raise DataError(f"{data} seems to have no label column: it holds {n0} columns, as many as the model's "
                        f"n[0] = {n0} features, so taking the last one as the labels would leave one feature "
                        "short; add the label column, or name it with --labels if it is there (predict needs no "
                        "labels)")
    return _load_split(data, False, None, header)


def _csv_options(header: bool | None) -> dict[str, Any]:
    """The loader's CSV options from --header (none for auto, so other loaders are not handed one)."""
    return {} if header is None else {"header": header}


def _load_split(data: str, labels: Any, split: str | None, header: bool | None = None) -> Any:
    """load_dataset; a --split the file has no part for is said so, naming --split."""
    from .datasets import load_dataset

    try:
        return load_dataset(data, labels=labels, split=split, **_csv_options(header))
    except DataError as exc:
        if split is None or _data_kind(data) not in ("h5", "npz") or ": no features" not in str(exc):
            raise
        raise DataError(f"--split {split}: {data} has no {split} part ({str(exc).split(': ', 1)[1]})") from None


def _load_for_model(mdl: Any, data: str, labels: str | None, split: str | None, limit: int | None, *,
                    need_labels: bool, header: bool | None = None) -> Any:
    """DATA as the model was trained on it: a CSV with a header is matched to the model's feature
    names (any column order; the model's label column, or --labels, is the labels and never a
    feature); other data by position, with its feature names checked when it has some."""
    names = mdl.metadata.get("feature_names")
    _STATE["data"] = data
    if names and _data_kind(data) == "csv":
        from .datasets import csv_header

        columns = csv_header(data, header=header)
        if columns is not None:
            ds = _csv_by_name(data, columns, list(names), mdl.metadata.get("label_name"), labels, need_labels)
            if limit is not None:
                ds = replace(ds, X=ds.X[:, :limit], y=None if ds.y is None else ds.y[:limit])
            return ds
    ds = _load_data(data, labels, split, limit, need_labels=need_labels, n_features=mdl.network.layer_dims[0],
                    header=header)
    if names and ds.feature_names and list(ds.feature_names) != list(names):
        _check_names(data, list(ds.feature_names), list(names))
        ds = replace(ds, X=ds.X[[list(ds.feature_names).index(n) for n in names]], feature_names=list(names))
    return ds


def _listed(names: Sequence[str], most: int = 6) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _check_names(data: str, columns: Sequence[str], names: Sequence[str]) -> None:
    """The same features by name, or a DataError naming the missing and the unknown ones."""
    seen = set()
    for c in columns:
        if c in seen:
            raise DataError(f"{data}: the column name {c!r} appears twice; feature columns are matched to the "
                            "model's by name, so each name must be unique")
        seen.add(c)
    if not seen & set(names):  # nothing in common: say it by count first, the way the shapes say it
        if len(columns) != len(names):
            raise DataError(f"the model expects {len(names)} features, {data} has {len(columns)}")
        raise DataError(f"{data}: none of its column names ({_listed(columns)}) is a feature the model was trained on "
                        f"({_listed(names)}); rename them (any order), or, for a CSV, remove the header row to match "
                        "the columns by position")
    missing = [n for n in names if n not in seen]
    unknown = [c for c in columns if c not in set(names)]
    if missing and unknown:
        raise DataError(f"{data}: the columns do not match the model's features: no column {_listed(missing)}, and "
                        f"unknown column {_listed(unknown)}; the model was trained on {len(names)} features named "
                        f"{_listed(names)} (any order; name a label column with --labels)")
    if missing:
        raise DataError(f"{data}: no column {_listed(missing)}: the model was trained on {len(names)} features "
                        f"named {_listed(names)}; give every one (in any order)")
    if unknown:
        raise DataError(f"{data}: unknown column {_listed(unknown)}: the model was trained on {len(names)} features "
                        f"named {_listed(names)}; remove the others, or name the label column with --labels")


def _csv_by_name(data: str, header: list[str], names: list[str], label_name: str | None, labels: str | None,
                 need_labels: bool) -> Any:
    from .datasets import _UNNAMED, _index_column, load_csv, refuse_index_columns

    lab = _labels_arg(labels)
    label_col: str | None
    if lab is False:
        label_col = None
    elif isinstance(lab, int):  # the loader's rule: an index another column is named by is ambiguous
        label_col = header[_index_column(lab, header, len(header), Path(data))]
    elif isinstance(lab, str):
        if lab not in header:
            raise DataError(f"{data}: no column named {lab!r} for --labels; the columns are: {_listed(header, 12)}")
        label_col = lab
    elif label_name is None:  # a model trained without a label column name: the last column, if it is no feature
        label_col = header[-1] if header[-1] not in names else None
    else:
        label_col = label_name if label_name in header else None
    unnamed = [c for c in header if _UNNAMED.fullmatch(c) and c not in names and c != label_col]
    if unnamed:  # said as pandas' index when it is one (as train says it), not as an unknown column
        refuse_index_columns(data, unnamed, header=True)
    _check_names(data, [c for c in header if c != label_col], names)
    if need_labels and label_col is None:
        known = f" (the model was trained with labels in {label_name!r})" if label_name else ""
        raise DataError(f"{data}: no label column{known}; name the label column with --labels")
    ds = load_csv(data, labels=label_col if label_col is not None else False, header=True)
    order = [ds.feature_names.index(n) for n in names]
    if order != list(range(len(order))):
        ds = replace(ds, X=np.ascontiguousarray(ds.X[order]), feature_names=list(names))
    return ds


def _idx_dir_head(directory: Path, split: str, limit: int) -> Any:
    """The first ``limit`` samples of an MNIST-style IDX directory, as load_dataset gives them, but
    converting only those to float (the whole MNIST training set is 376 MB as float64)."""
    from .datasets import Dataset, load_mnist, to_columns

    images, y = load_mnist(directory, split)
    classes = list(range(int(y.max()) + 1)) if y.size and y.max() < 256 else None
    images, y = images[:limit], y[:limit]
    return Dataset(X=np.ascontiguousarray(to_columns(images, scale=None), dtype=np.float64), y=y.astype(np.int64),
                   classes=classes, name=f"{directory.name}:{split}", image_shape=tuple(images.shape[1:]),
                   source_dtype=images.dtype.name)


def _load_model(path: str) -> Any:
    from .modelfile import Model, load

    if Path(path).is_dir():
        raise IsADirectoryError(f"{path} is a directory, not a model file; give the .npz file written by "
                                "'deeplayers train' or deeplayers.save")
    model = load(path)
    if not isinstance(model, Model):
        raise ModelFileError(f"{path} holds a scikit-learn estimator ({type(model).__name__}); the command line "
                             "works with network files written by 'deeplayers train' or deeplayers.save(network, ...)."
                             " Use the estimator from Python")
    return model


def _label_names(ds: Any) -> np.ndarray:
    """Labels y (m,) with integer codes replaced by the data set's class names when it has them."""
    y = np.asarray(ds.y)
    names = ds.classes
    if names and y.ndim == 1 and y.dtype.kind in "iu" and y.size and 0 <= y.min() and y.max() < len(names):
        return np.array([names[int(v)] for v in y], dtype=object)
    return y


def _resume_command(checkpoint: str) -> str:
    """The command line of this run with ``--resume CHECKPOINT`` (and no earlier --resume)."""
    args, skip = [], False
    for a in _ARGV:
        if skip:
            skip = False
            continue
        if a == "--resume":
            skip = True
            continue
        if a.startswith("--resume="):
            continue
        args.append(a)
    prog = "python -m deeplayers" if Path(sys.argv[0]).name == "__main__.py" else "deeplayers"
    return f"{prog} {shlex.join([*args, '--resume', checkpoint])}"


def _targets_for_model(model: Any, ds: Any) -> tuple[np.ndarray, str]:
    """Y (n[L], m) for the model's output layer, with the data's labels mapped onto its classes."""
    from .datasets import encode_labels

    g = model.network.activations[-1]
    output = g if g in ("sigmoid", "softmax") else "linear"
    y = _label_names(ds)
    classes = model.classes if output != "linear" else None
    if output != "linear" and np.asarray(y).ndim == 2:
        classes = None  # (m, n[L]) indicator labels: one column per output unit
    t = encode_labels(y, output, classes, where=ds.name or "labels")
    if t.Y.shape[0] != model.network.layer_dims[-1]:
        raise DataError(f"{ds.name}: the labels give {t.Y.shape[0]} output rows but the model has n[L] = "
                        f"{model.network.layer_dims[-1]} outputs")
    return t.Y, output


# -- the commands ------------------------------------------------------------------------------------
@click.group(context_settings=CONTEXT)
@click.version_option(package_name="deeplayers", prog_name="deeplayers")
def cli() -> None:
    """deeplayers: deep L-layer neural networks in the course's notation, from the command line.

    \b
    Typical session:
      deeplayers train path/to/mnist --layers 64 --epochs 10 --out mnist.npz
      deeplayers evaluate mnist.npz path/to/mnist --split test
      deeplayers predict mnist.npz path/to/mnist --split test --out predictions.csv
      deeplayers plot mnist.npz --what weights --out weights.png
      deeplayers export mnist.npz --onnx mnist.onnx
    'deeplayers' alone (or 'python -m deeplayers') runs 'deeplayers demo'.

    DATA is a CSV/NPY/NPZ/HDF5 file, an MNIST-style IDX directory, or a built-in data set name
    (digits, breast_cancer, iris, wine, diabetes).

    A user error exits with status 2 after one line 'error: ...'; Ctrl-C exits with status 130.
    Every option is checked before any data is read; an option that does not apply is refused,
    never ignored.
    """


_DATA_HELP = {
    "labels": "Which labels to use. CSV: the label column, by header name or 0-based index [default: the last "
              "column]; 'none': no label column. NPZ/HDF5: the labels array's key. NPY/IDX file: a file of "
              "labels. Not for built-in sets and IDX directories (their labels come with them).",
    "split": "Which part of a file holding a training and a test part: 'train' or 'test' (IDX directory: the "
             "train-*/t10k-* files; .h5: train_set_*/test_set_*; .npz: X_train/X_test). [default: train] "
             "Refused for data with one part (CSV, NPY, built-in sets).",
    "limit": "Use only the first N samples (a count) [default: all].",
}


def _header_option() -> Any:
    return click.option("--header", type=click.Choice(list(_HEADERS)), default="auto", show_default=True,
                        help="CSV only: whether the first row holds column names. 'auto' tells from the rows, and "
                             "refuses a first row of 0,1,...,k-1 (pandas' default names) that the rows below "
                             "cannot tell from a sample; 'yes' or 'no' says it. Refused for other data.")


def _labels_option(help_text: str = _DATA_HELP["labels"]) -> Any:
    return click.option("--labels", default=None, metavar="COLUMN|KEY|FILE", help=help_text)


def _split_option() -> Any:
    return click.option("--split", default=None, metavar="train|test", help=_DATA_HELP["split"])


def _limit_option() -> Any:
    return click.option("--limit", type=POSITIVE, default=None, metavar="N", help=_DATA_HELP["limit"])


def _check_train_options(ctx: click.Context, data: str, layers: list[int], early_stopping: bool,
                         checkpoint: str | None, no_plot: bool, quiet: bool, resume: str | None, out: str,
                         plot_path: str | None, dtype: str) -> str | None:
    """train's option combinations and output files, checked before anything is read or printed;
    returns the cost curve's file (None with --no-plot)."""
    refuse_unless(ctx, bool(layers), ["activation", "keep_prob"], "applies to hidden layers, and --layers '' has none")
    refuse_unless(ctx, early_stopping, ["patience"], "applies only with --early-stopping")
    refuse_unless(ctx, checkpoint is not None, ["checkpoint_every"], "applies only with --checkpoint FILE")
    refuse_unless(ctx, not no_plot, ["plot_path"], "names the cost-curve file, but --no-plot draws none")
    refuse_unless(ctx, not quiet, ["verbose"], "asks for a line per epoch, but --quiet prints no progress")
    for path, option in ((out, "--out"), (plot_path, "--plot"), (checkpoint, "--checkpoint")):
        check_out(path, option)
    png = None if no_plot else plot_path or str(Path(out).with_suffix(".png"))
    plot_option = "--plot" if plot_path else "--plot (default: the --out name with .png)"
    # resuming from the file the run checkpoints to is the documented way to continue a run
    same_run = resume is not None and checkpoint is not None and _same_file(resume, checkpoint)
    check_distinct([("DATA", data), ("--resume", None if same_run else resume)],
                   [("--out", out), (plot_option, png), ("--checkpoint", checkpoint)])
    check_figure(png, plot_option)
    _check_network_size([1, *layers, 1], np.dtype(dtype).itemsize, "--layers")
    if resume is not None:
        _check_resume(resume)
    return png


def _check_resume(resume: str) -> None:
    """--resume names a checkpoint (not a model file, not damaged): said before any data is read."""
    from .checkpoint import read_checkpoint

    if not Path(resume).is_file():
        raise _UserError(f"--resume {resume}: no checkpoint at {resume}: nothing to resume (a run writes one with "
                         "--checkpoint FILE)")
    try:
        read_checkpoint(resume)
    except ModelFileError as exc:
        said = str(exc)
        for name in (resume, str(Path(resume))):  # the library names the file first: name the option instead
            said = said[len(name):].lstrip(":") if said.startswith(name) else said
        if "checkpoint" not in said:  # a damaged or foreign file: say what --resume takes
            said += "; --resume takes the checkpoint a run wrote with --checkpoint FILE"
        raise _UserError(f"--resume {resume}:{cli_message(said)}") from None


def _check_network_size(dims: Sequence[int], itemsize: int, option: str) -> None:
    """Refuse up front a network whose weights alone exceed this machine's memory (``dims`` may
    stand 1 for sizes the data will give: the count is then a lower bound)."""
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not every system says
        return
    n_params = sum(a * b + b for a, b in zip(dims[:-1], dims[1:]))
    if n_params * itemsize > memory:
        raise click.UsageError(f"{option}: the network's weights alone need {n_params * itemsize / 2**30:,.1f} GiB, "
                               f"more than this machine's {memory / 2**30:,.1f} GiB of memory; give smaller sizes")


def _report_interrupt(exc: KeyboardInterrupt, checkpoint: str | None, epochs: int) -> None:
    """Ctrl-C during train: say what was saved and how to resume, and exit with status 130."""
    # a TrainingInterrupted says which epoch stopped and where its start was saved
    epoch, saved = getattr(exc, "epoch", None), getattr(exc, "checkpoint", None)
    when = f" in epoch {epoch + 1}/{epochs}" if epoch is not None else ""
    if checkpoint is None:
        click.echo(f"interrupted{when}: nothing saved (train with --checkpoint PATH to be able to resume)",
                   err=True)
    elif saved is None or not Path(checkpoint).is_file():
        click.echo(f"interrupted before a checkpoint was written to {checkpoint}: nothing to resume", err=True)
    else:
        click.echo(f"interrupted{when}: checkpoint saved to {checkpoint}; resume with: "
                   f"{_resume_command(checkpoint)}", err=True)
    raise SystemExit(EXIT_INTERRUPTED) from None


def _scores(net: Any, A: np.ndarray, Yt: np.ndarray) -> str:
    """'cost ..., accuracy ...' (classifiers) or 'cost ..., R^2 ...' (regression) of net on (A, Yt)."""
    AL = net.predict_proba(A)
    parts = [f"cost {net.cost(AL, Yt):.6g}"]
    acc = accuracy(net, AL, Yt)
    if acc is not None:
        parts.append(f"accuracy {acc:.4f}")
    else:
        parts.append(f"R^2 {evaluate_metrics(AL, Yt, 'linear')['r2']:.4f}")
    return ", ".join(parts)


def _save_cost_curve(net: Any, name: str, path: str) -> str:
    """The training run's cost curve, in the format of the file name's ending; returns its path."""
    from .plots import plot_costs

    h = net.history
    fig = plot_costs(h, None, learning_rate=h.lr[0] if h.lr and len(set(h.lr)) == 1 else None,
                     title=f"{name}: layer_dims = {net.layer_dims}")
    write_figure(fig, path, "--plot")
    return path


def _describe_run(echo: Any, ds: Any, t: Any, pre: Any, net: Any, A0: np.ndarray, A0_val: np.ndarray | None,
                  Y_train: np.ndarray, trace: bool, batch_size: int | None) -> None:
    """train's opening lines: the data, the preprocessing, the summary table, and with --trace the
    shape trace of one batch (of ``batch_size`` samples; None: full batch)."""
    echo(f"data: {ds.name}: m = {ds.X.shape[1]} samples ({A0.shape[1]} training, {0 if A0_val is None else A0_val.shape[1]} "
         f"validation), n[0] = {ds.n_features} features, output {t.output}"
         + (f", classes {t.classes}" if t.classes is not None and len(t.classes) <= 20 else ""))
    echo(f"preprocessing: {pre!r}")
    echo(net.summary(A0.shape[1]))
    if trace:  # one batch through the engine's passes; the parameters are left as they are
        B = A0.shape[1] if batch_size is None else min(batch_size, A0.shape[1])
        click.echo(f"shape trace of one batch (m = {B}):\n{net.trace(A0[:, :B], Y_train[:, :B], show=False)}")


def _report_training(echo: Any, net: Any, A0: np.ndarray, Y_train: np.ndarray, A0_val: np.ndarray | None,
                     Y_val: np.ndarray | None) -> None:
    """train's closing lines: how long it trained (and where early stopping kept the best epoch), then
    the cost and accuracy (or R^2) on the training and validation parts."""
    h = net.history
    stopped = f" (early stopping: best epoch {h.best_epoch + 1})" if h.stopped_early and h.best_epoch is not None else ""
    echo(f"trained {len(h.cost)} {h.unit}s in {h.time[-1] if h.time else 0.0:.1f}s{stopped}")
    echo(f"train:      {_scores(net, A0, Y_train)}")
    if A0_val is not None:
        echo(f"validation: {_scores(net, A0_val, Y_val)}")


@cli.command(context_settings=CONTEXT)
@click.argument("data")
@_labels_option()
@_header_option()
@_split_option()
@_limit_option()
@click.option("--layers", type=SizesType(), default=",".join(map(str, DEFAULTS["hidden_layer_sizes"])),
              show_default=True, metavar="N1,N2,...",
              help="Hidden layer sizes n[1],...,n[L-1] in units, comma-separated ('' for none: logistic/softmax "
                   "regression). n[0] and n[L] come from the data.")
@click.option("--activation", type=click.Choice(HIDDEN), default=DEFAULTS["activation"], show_default=True,
              help="g[l] of the hidden layers (needs at least one hidden layer).")
@click.option("--output", type=click.Choice(["auto", *OUTPUTS]), default="auto",
              show_default=True, help="g[L] and its loss; auto: sigmoid for two classes, softmax for more, linear "
                                      "(mean squared error) for real-valued targets.")
@click.option("--init", type=click.Choice(INIT_NAMES), default=DEFAULTS["init"],
              show_default=True, help="Weight initialization, W[l] = randn(n[l], n[l-1]) times: he sqrt(2/n[l-1]), xavier "
                                      "sqrt(2/(n[l-1] + n[l])), course 1/sqrt(n[l-1]), small 0.01.")
@click.option("--optimizer", type=click.Choice(OPTIMIZER_NAMES), default=DEFAULTS["optimizer"], show_default=True,
              help="Update rule: plain gradient descent, momentum, RMSprop or Adam.")
@click.option("--lr", type=POSITIVE_FLOAT, default=None, metavar="ALPHA",
              help=f"Learning rate alpha (a positive number) [default: {DEFAULTS['learning_rate']:g} with "
                   f"{DEFAULTS['optimizer']}; the optimizer's own otherwise: gd 0.0075, momentum 0.01, rmsprop 0.001].")
@click.option("--epochs", "--iterations", "epochs", type=POSITIVE, default=DEFAULTS["epochs"], show_default=True,
              metavar="N",
              help="Passes over the training data, in epochs (with --batch-size full: gradient-descent iterations).")
@click.option("--batch-size", type=BatchSizeType(), default=str(DEFAULTS["batch_size"]), show_default=True,
              help="Mini-batch size in samples, or 'full' for full-batch training (the course).")
@click.option("--l2", type=NON_NEGATIVE_FLOAT, default=DEFAULTS["l2"], show_default=True, metavar="LAMBDA",
              help="L2 regularization lambda (adds lambda/(2m) sum ||W[l]||^2 to the cost; 0: none).")
@click.option("--keep-prob", type=FloatRange("a KEEP probability in (0, 1]", min=0, max=1, min_open=True),
              default=None, metavar="KEEP",
              help="Inverted dropout's KEEP probability for the hidden layers, in (0, 1] (e.g. 0.8 keeps 80%, "
                   "drops 20%) [default: no dropout].")
@click.option("--lr-schedule", type=click.Choice(list(SCHEDULES)), default=DEFAULTS["lr_schedule"], show_default=True,
              help="Learning-rate schedule per epoch (cosine: anneal from --lr towards 0 over --epochs; constant: "
                   "keep --lr).")
@click.option("--val-split", type=FloatRange("a fraction in [0, 1)", min=0, max=1, max_open=True), default=0.1,
              show_default=True, metavar="FRACTION",
              help="Fraction of the samples held out for validation, in [0, 1) (0: none). The preprocessing is "
                   "fitted on the rest only.")
@click.option("--early-stopping", is_flag=True,
              help="Stop when the validation cost (the training cost with --val-split 0) has not improved for "
                   "--patience epochs, and keep the best parameters [default: off].")
@click.option("--patience", type=POSITIVE, default=10, show_default=True, metavar="EPOCHS",
              help="Epochs without improvement before --early-stopping stops (only with --early-stopping).")
@click.option("--seed", type=SEED, default=0, show_default=True, metavar="SEED",
              help="Seeds the weights, the validation split, mini-batch order and dropout (an integer from 0 to 2**32 - 1).")
@click.option("--dtype", type=click.Choice(DTYPES), default=DEFAULTS["dtype"], show_default=True,
              help="Floating-point type of the parameters and the computation (float64 for the course's exact "
                   "numbers).")
@click.option("--scale", type=click.Choice(SCALES), default="auto", show_default=True,
              help="Preprocessing fitted on the training data and saved with the model: auto divides 8-bit images "
                   "by 255 and standardizes anything else; divide: by 255.")
@click.option("--out", "out", default="model.npz", show_default=True, metavar="FILE",
              help="Model file to write (.npz).")
@click.option("--plot", "plot_path", default=None, metavar="FILE",
              help="Cost-curve picture to write, in the format of its ending: .png, .pdf, .svg, .jpg, ... "
                   "[default: the model file's name with .png].")
@click.option("--no-plot", is_flag=True, help="Do not draw the cost curve [default: draw it].")
@click.option("--checkpoint", default=None, metavar="FILE",
              help="Checkpoint file, written atomically every --checkpoint-every epochs and on Ctrl-C [default: "
                   "none].")
@click.option("--checkpoint-every", type=POSITIVE, default=1, show_default=True, metavar="EPOCHS",
              help="Epochs between two checkpoints (a killed run loses at most this many; only with --checkpoint).")
@click.option("--resume", default=None, metavar="FILE",
              help="Continue from this checkpoint; give the same data and options as the interrupted run [default: "
                   "start from new weights].")
@click.option("--threads", type=ThreadsType(), default="auto", show_default=True,
              help="BLAS threads for the matrix products: a count, -1 for every core, -2 all but one (and so on, "
                   "as scikit-learn's n_jobs), or auto (one for small "
                   "products; otherwise BLAS's threads on a quiet machine, and beside other programs the "
                   "large products split across threads that wait for nobody).")
@click.option("-q", "--quiet", is_flag=True, help="No progress output [default: a progress display].")
@click.option("-v", "--verbose", is_flag=True, help="A line per epoch instead of the progress display.")
@click.option("--trace", is_flag=True, help="Before training, print the shape trace of one batch: every Z[l], A[l], "
              "dZ[l], dW[l], db[l], dA[l-1] with its shape and the equation that made it.")
@click.pass_context
def train(ctx: click.Context, data: str, labels: str | None, header: str, split: str | None, limit: int | None,
          layers: list[int],
          activation: str, output: str, init: str, optimizer: str, lr: float | None, epochs: int,
          batch_size: int | None, l2: float, keep_prob: float | None, lr_schedule: str, val_split: float,
          early_stopping: bool, patience: int, seed: int, dtype: str, scale: str, out: str, plot_path: str | None,
          no_plot: bool, checkpoint: str | None, checkpoint_every: int, resume: str | None, threads: int | None,
          quiet: bool, verbose: bool, trace: bool) -> None:
    """Train a network on DATA and save it with its preprocessing, classes and history.

    Builds layer_dims = [n0, *layers, nL] from the data, prints the summary table, trains with a
    progress display, prints the final training and validation metrics, writes the model file
    (--out) and the cost curve (--plot). The defaults are the estimators' (deeplayers.defaults):
    float32, Xavier, Adam at 0.001 with a cosine schedule, batches of 128, 200 epochs, L2 1e-4.
    The course's own run: --init course --optimizer gd --lr 0.0075 --batch-size full
    --lr-schedule constant --l2 0 --dtype float64 --val-split 0.

    With --checkpoint, Ctrl-C saves the state as the interrupted epoch began and prints the
    command that resumes it (exit status 130); a killed run is resumed from the newest checkpoint
    with --resume, ending with the same parameters, bit for bit, as an uninterrupted run with the
    same fixed --threads N (auto follows the machine's load, and another thread count rounds
    differently: then to rounding).
    """
    from .modelfile import save
    from .network import Network
    from .training import EarlyStopping

    # every option is checked before anything is read or printed
    check_data_options(data, labels, split, header)
    png = _check_train_options(ctx, data, layers, early_stopping, checkpoint, no_plot, quiet, resume, out, plot_path,
                               dtype)
    if lr is None and optimizer == DEFAULTS["optimizer"]:
        lr = DEFAULTS["learning_rate"]

    ds = _load_data(data, labels, split, limit, header=_HEADERS[header])
    t = ds.targets(output)
    pre, A0, Y_train, A0_val, Y_val = _training_parts(ds, t.Y, val_split, seed, scale, dtype)
    net = Network([ds.n_features, *layers, t.Y.shape[0]], hidden=activation, output=t.output, init=init, seed=seed,
                  dtype=dtype)
    echo = (lambda *a, **k: None) if quiet else click.echo
    _describe_run(echo, ds, t, pre, net, A0, A0_val, Y_train, trace, batch_size)
    hyper = {
        "layers": layers, "activation": activation, "output": t.output, "init": init, "optimizer": optimizer,
        "learning_rate": lr, "epochs": epochs, "batch_size": batch_size, "l2": l2, "keep_prob": keep_prob,
        "lr_schedule": lr_schedule, "val_split": val_split, "early_stopping": early_stopping,
        "patience": patience, "seed": seed, "dtype": dtype, "scale": scale, "limit": limit,
    }
    try:
        net.fit(A0, Y_train, learning_rate=lr, epochs=epochs, optimizer=optimizer, batch_size=batch_size, l2=l2,
                keep_prob=keep_prob, lr_schedule=None if lr_schedule == "constant" else lr_schedule,
                validation_data=None if A0_val is None else (A0_val, Y_val),
                early_stopping=EarlyStopping(patience=patience) if early_stopping else False,
                verbose=0 if quiet else (2 if verbose else 1), seed=seed,
                checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume, threads=threads)
    except KeyboardInterrupt as exc:
        _report_interrupt(exc, checkpoint, epochs)

    _report_training(echo, net, A0, Y_train, A0_val, Y_val)
    metadata = {"data": str(data), "dataset": ds.name, "m_train": int(A0.shape[1]),
                "image_shape": list(ds.image_shape) if ds.image_shape else None,
                "feature_names": ds.feature_names, "label_name": ds.label_name}
    with writing("--out"):
        save(net, out, preprocessing=pre, classes=t.classes, hyperparameters=hyper, metadata=metadata)
    echo(f"model saved to {out}")
    if png is not None:
        echo(f"cost curve saved to {_save_cost_curve(net, ds.name, png)}")


def _training_parts(ds: Any, Y: np.ndarray, val_split: float, seed: int, scale: str, dtype: str) -> tuple[Any, ...]:
    """(preprocessing, A0, Y_train, A0_val, Y_val): the validation samples held out first, so the
    preprocessing is fitted on the training part only."""
    X = ds.X
    if val_split:
        train_idx, val_idx = split_validation(X.shape[1], val_split, seed)
        X_train, Y_train, X_val, Y_val = X[:, train_idx], Y[:, train_idx], X[:, val_idx], Y[:, val_idx]
    else:
        X_train, Y_train, X_val, Y_val = X, Y, None, None
    pre = ds.suggest_preprocessing() if scale == "auto" else Preprocessing(scale)
    pre.fit(X_train)
    A0_val = None if X_val is None else pre.transform(X_val, dtype)
    return pre, pre.transform(X_train, dtype), Y_train, A0_val, Y_val


_PREDICT_LABELS_HELP = (
    "The column (or array) holding labels, left out of the features: a CSV header name or 0-based index, "
    "'none' for no label column, or the labels key of an .npz/.h5. [default: the label column the model "
    "was trained with, when DATA has it; for a model trained without one, the last column if it is not a "
    "feature] A CSV with a header is matched to the model's features by column name, in any order. A CSV "
    "without a header must hold the model's n[0] feature columns in training order, and may hold one more "
    "column, the labels, as the last one.")


@cli.command(context_settings=CONTEXT)
@click.argument("model")
@click.argument("data")
@click.option("--out", "out", default="predictions.csv", show_default=True, metavar="FILE",
              help="CSV file to write ('-': stdout).")
@click.option("--proba", is_flag=True, help="Add the output probabilities A[L], one column per output unit "
                                            "(classifiers only) [default: predictions only].")
@_labels_option(_PREDICT_LABELS_HELP)
@_header_option()
@_split_option()
@_limit_option()
@click.pass_context
def predict(ctx: click.Context, model: str, data: str, out: str, proba: bool, labels: str | None, header: str,
            split: str | None, limit: int | None) -> None:
    """Predict with MODEL on the raw samples of DATA and write a CSV with a header.

    Columns: 'sample' (0-based index), 'prediction' (the class name for classifiers; the value
    for regression; one 0/1 column per output for multi-label models), and with --proba one
    'proba_<class>' column per output unit. The model's saved preprocessing is applied first.
    """
    import csv
    import io

    check_data_options(data, labels, split, header)
    check_out(out, "--out", stdout=True)
    check_distinct([("MODEL", model), ("DATA", data)], [("--out", out)])
    mdl = _load_model(model)
    net = mdl.network
    g, nL = net.activations[-1], net.layer_dims[-1]
    if proba and g not in ("sigmoid", "softmax"):
        raise click.UsageError(f"--proba applies to classifiers; {model} is a regression model ({g} output "
                               "A[L]): its predictions are the values themselves", ctx)
    ds = _load_for_model(mdl, data, labels, split, limit, need_labels=False, header=_HEADERS[header])
    AL = mdl.predict_proba(ds.X)
    names = [str(c) for c in mdl.classes] if mdl.classes is not None else None
    header = ["sample"]
    cols: list[np.ndarray] = []
    if g == "softmax" or (g == "sigmoid" and nL == 1):
        P = mdl.predict(ds.X).reshape(-1)
        header.append("prediction")
        cols.append(P)
        prob_names = names if g == "softmax" else [names[1] if names else "1"]
    elif g == "sigmoid":
        outs = names or [str(k) for k in range(nL)]
        header += [f"prediction_{n}" for n in outs]
        cols += list((AL > 0.5).astype(np.int64))
        prob_names = outs
    else:
        header += ["prediction"] if nL == 1 else [f"prediction_{k}" for k in range(nL)]
        cols += list(AL)
        prob_names = []
    if proba:
        header += [f"proba_{n}" for n in (prob_names or [str(k) for k in range(nL)])]
        cols += list(AL)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for i in range(AL.shape[1]):
        writer.writerow([i, *(_cell(c[i]) for c in cols)])
    if out == "-":
        click.echo(buf.getvalue(), nl=False)
        return
    from ._atomic import atomic_write

    with writing("--out"), atomic_write(out, "w") as f:
        f.write(buf.getvalue())
    click.echo(f"{AL.shape[1]} predictions written to {out}")


def _cell(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        return repr(v)  # shortest round-trip text
    return v


@cli.command(context_settings=CONTEXT)
@click.argument("model")
@click.argument("data")
@_labels_option(_DATA_HELP["labels"].replace("[default: the last column]",
                                             "[default: the label column the model was trained with when DATA has "
                                             "it, else the last column]")
                + " A CSV with a header is matched to the model's features by column name, in any order.")
@_header_option()
@_split_option()
@_limit_option()
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as one JSON object [default: a table].")
def evaluate(model: str, data: str, labels: str | None, header: str, split: str | None, limit: int | None,
             as_json: bool) -> None:
    """Score MODEL on the labelled samples of DATA.

    Classification: accuracy, log-loss (mean cross-entropy), the confusion matrix (rows: true
    class, columns: predicted) and per-class precision, recall, F1 and support. Regression:
    R^2, MSE and MAE. The labels are matched to the model's classes by name.
    """
    check_data_options(data, labels, split, header)
    mdl = _load_model(model)
    ds = _load_for_model(mdl, data, labels, split, limit, need_labels=True, header=_HEADERS[header])
    A = mdl.predict_proba(ds.X)  # first, so a feature-count mismatch is reported as such
    Y, output = _targets_for_model(mdl, ds)
    metrics = evaluate_metrics(A, Y, output, mdl.classes)
    if as_json:
        click.echo(json.dumps(metrics))
    else:
        click.echo(f"model: {model}  data: {ds.name}")
        click.echo(format_metrics(metrics))


@cli.command(context_settings=CONTEXT)
@click.argument("model")
def summary(model: str) -> None:
    """Print MODEL's architecture table, preprocessing, classes, training options and final costs."""
    mdl = _load_model(model)
    click.echo(mdl.summary())
    if mdl.hyperparameters:
        click.echo("training: " + ", ".join(f"{k}={v}" for k, v in mdl.hyperparameters.items() if v is not None))
    h = mdl.history
    if h is not None and h.cost:
        line = f"history: {len(h.cost)} {h.unit}s, final cost {h.cost[-1]:.6g}"
        if h.val_cost:
            line += f", final validation cost {h.val_cost[-1]:.6g}"
        if h.metrics.get("val_accuracy"):
            line += f", validation accuracy {h.metrics['val_accuracy'][-1]:.4f}"
        click.echo(line)
    data = mdl.metadata.get("data")
    if data:
        click.echo(f"trained on: {data} ({mdl.metadata.get('m_train', '?')} training samples)")
    if mdl.library_version:
        click.echo(f"written by deeplayers {mdl.library_version}")


@cli.command(context_settings=CONTEXT)
@click.option("--layer-dims", "dims", type=SizesType(allow_empty=False, min_count=2, example="5,4,1"),
              default="5,4,1", show_default=True, metavar="N0,...,NL",
              help="The whole layer_dims n[0],n[1],...,n[L] in units, comma-separated: inputs, hidden sizes, "
                   "outputs (train's --layers gives only the hidden sizes).")
@click.option("--activation", type=click.Choice(HIDDEN), default="relu", show_default=True,
              help="g[l] of the hidden layers (needs at least one: three or more --layer-dims).")
@click.option("--output", type=click.Choice(OUTPUTS), default="sigmoid",
              show_default=True, help="g[L] (and its loss).")
@click.option("--samples", "m", type=POSITIVE, default=10, show_default=True, metavar="M", help="Random samples m (a count).")
@click.option("--l2", type=NON_NEGATIVE_FLOAT, default=0.0, show_default=True, metavar="LAMBDA",
              help="L2 lambda: check the regularized cost's gradient (0: the plain cost).")
@click.option("--epsilon", type=POSITIVE_FLOAT, default=1e-7, show_default=True, metavar="EPS",
              help="Finite-difference step: (J(theta + eps) - J(theta - eps)) / (2 eps).")
@click.option("--threshold", type=NON_NEGATIVE_FLOAT, default=2e-7, show_default=True, metavar="RATIO",
              help="PASS when the relative difference is below this (a ratio).")
@click.option("--seed", type=SEED, default=0, show_default=True, metavar="SEED",
              help="Seeds the weights, the random data and the entries sampled (an integer from 0 to 2**32 - 1).")
@click.option("--entries", type=POSITIVE, default=None, metavar="N",
              help="Entries checked per W[l] and b[l]: larger arrays are checked at N entries drawn at random "
                   "(seeded), each costing two forward passes [default: 200].")
@click.option("--all", "check_all", is_flag=True, help="Check every entry of every W[l], b[l] (slow on large networks) "
              "[default: a sample of --entries per array].")
@click.pass_context
def gradcheck(ctx: click.Context, dims: list[int], activation: str, output: str, m: int, l2: float, epsilon: float,
              threshold: float, seed: int, entries: int | None, check_all: bool) -> None:
    """Check backpropagation against finite differences on random data.

    Prints ||grad - gradapprox|| / (||grad|| + ||gradapprox||) over the entries checked of every
    W[l], b[l] (a seeded sample of each larger array, or --all), how many it checked, and PASS or
    FAIL; the exit status is 1 on FAIL. A progress bar shows on a terminal.
    """
    from .gradcheck import SAMPLE, gradient_check
    from .network import Network

    refuse_unless(ctx, len(dims) > 2, ["activation"], "applies to hidden layers, and --layer-dims with two sizes "
                                                      "has none")
    refuse_unless(ctx, not check_all, ["entries"], "samples entries, and --all checks every one")
    if output == "softmax" and dims[-1] < 2:  # its A[L] is 1 whatever W, b are: every gradient is 0, a PASS proves nothing
        raise click.UsageError(f"--output softmax needs at least 2 output units, but --layer-dims {','.join(map(str, dims))} "
                               "ends with 1 (softmax over one unit is always 1); use --output sigmoid for one unit", ctx)
    _check_network_size(dims, 8, "--layer-dims")
    net = Network(dims, hidden=activation, output=output, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    nL = dims[-1]
    if output == "softmax":
        Y = np.eye(nL)[:, rng.integers(0, nL, m)]
    elif output == "sigmoid":
        Y = rng.integers(0, 2, (nL, m)).astype(np.float64)
    else:
        Y = rng.standard_normal((nL, m))
    click.echo(f"layer_dims {dims}, g = {activation}/{output}, loss {net.loss.name}, m = {m}, {net.n_params:,} parameters")
    diff = gradient_check(net, X, Y, epsilon=epsilon, l2=l2, sample=None if check_all else (entries or SAMPLE),
                          seed=seed, progress=sys.stderr.isatty())
    ok = diff < threshold
    click.echo(diff.describe())
    click.echo(f"relative difference {diff:.3e} (threshold {threshold:g}): {'PASS' if ok else 'FAIL'}")
    if not ok:
        raise SystemExit(1)


@cli.command(context_settings=CONTEXT)
@click.argument("model")
@click.option("--what", type=click.Choice(["curves", "boundary", "weights", "features", "architecture"]), required=True,
              help="curves: training/validation cost; boundary: decision boundary over two-feature --data; "
                   "weights: the rows of W[1] as images; features: what each hidden layer's units respond to "
                   "(layer 1 by W[1], deeper units by the 9 images of --data that excite them most); "
                   "architecture: the network drawn as the course does.")
@click.option("--data", default=None, help="Two-feature data to draw under the boundary (--what boundary), or the "
                                           "images whose activations --what features ranks; required by those two, "
                                           "refused by the others [default: none].")
@_labels_option(_DATA_HELP["labels"] + " Only with --what boundary.")
@_header_option()
@_split_option()
@click.option("--image-shape", type=SizesType(allow_empty=False, min_count=2, sep=",x", example="28,28"),
              default=None, metavar="H,W[,C]",
              help="Image height,width[,channels] in pixels, for --what weights only [default: saved by train, or "
                   "square when n[0] is a square].")
@click.option("--max-units", type=POSITIVE, default=64, show_default=True, metavar="N",
              help="Units drawn per layer (a count; --what weights: of layer 1; --what features: 8 unless given).")
@click.option("--out", "out", default=None, metavar="FILE",
              help="Picture file to write, in the format of its ending: .png, .pdf, .svg, .jpg, ... [default: "
                   "MODEL-WHAT.png].")
@click.pass_context
def plot(ctx: click.Context, model: str, what: str, data: str | None, labels: str | None, header: str,
         split: str | None, image_shape: list[int] | None, max_units: int, out: str | None) -> None:
    """Draw a picture of MODEL, in the format of --out's ending (.png, .pdf, .svg, .jpg, ...)."""
    refuse_unless(ctx, what in ("boundary", "features"), ["data", "split", "header"],
                  "applies only to --what boundary or features")
    refuse_unless(ctx, what == "boundary", ["labels"], "applies only to --what boundary")
    refuse_unless(ctx, what in ("weights", "features"), ["image_shape", "max_units"],
                  "applies only to --what weights or features")
    if what in ("boundary", "features"):
        if data is None:
            raise click.UsageError(f"--what {what} needs --data DATA ("
                                   + ("two-feature samples to draw)" if what == "boundary" else "the images to rank)"), ctx)
        check_data_options(data, labels, split, header)
    check_out(out, "--out")
    picture = out or str(Path(model).with_suffix("")) + f"-{what}.png"
    check_distinct([("MODEL", model), ("--data", data)], [("--out", picture)])
    check_figure(out, "--out")
    mdl = _load_model(model)
    fig = _draw(ctx, mdl, what, data, labels, split, image_shape, max_units)
    write_figure(fig, picture, "--out")
    click.echo(f"{what} saved to {picture}")


def _draw(ctx: click.Context, mdl: Any, what: str, data: str | None, labels: str | None, split: str | None,
          image_shape: list[int] | None, max_units: int) -> Any:
    """plot's picture of the model, as a matplotlib figure."""
    from . import plots

    out = None  # the figure is written by write_figure, in the format of the file name's ending
    header = _HEADERS[ctx.params.get("header", "auto")]  # --header, for --data
    if what == "curves":
        return plots.plot_costs(mdl, out)
    if what == "architecture":
        return plots.plot_architecture(mdl, out)
    if what in ("weights", "features"):
        if image_shape:
            shape = tuple(image_shape)
        elif mdl.metadata.get("image_shape"):
            shape = tuple(int(v) for v in mdl.metadata["image_shape"])
        else:
            n0 = mdl.network.layer_dims[0]
            side = math.isqrt(n0)
            if side * side != n0:
                raise ConfigError(f"n[0] = {n0} inputs are not a square image; give --image-shape h,w or h,w,c")
            shape = (side, side)
        if what == "weights":
            return plots.plot_weights(mdl, shape, out, max_units=max_units)
        ds = _load_for_model(mdl, str(data), None, split, None, need_labels=False, header=header)
        return plots.plot_features(mdl, ds.X, shape, out,
                                   units=min(max_units, 8) if not given(ctx, "max_units") else max_units)
    ds = _load_for_model(mdl, str(data), labels, split, None, need_labels=True, header=header)
    return plots.plot_decision_boundary(mdl, ds.X, _label_names(ds) if np.asarray(ds.y).ndim == 1 else ds.y, out)


@cli.command(context_settings=CONTEXT)
@click.argument("model")
@click.option("--onnx", "onnx_path", required=True, metavar="FILE", help="ONNX file to write (required).")
@click.option("--verify/--no-verify", default=True, show_default=True,
              help="Run the exported graph with onnxruntime on 64 random inputs and compare it with the model's "
                   "predict_proba (by default skipped, saying so, when onnxruntime is not installed; an explicit "
                   "--verify then fails).")
@click.pass_context
def export(ctx: click.Context, model: str, onnx_path: str, verify: bool) -> None:
    """Export MODEL, with its preprocessing, as an ONNX graph.

    The graph's input 'X' holds samples as ROWS (batch, n[0]) of raw values, of the type predict
    reads them in: uint8 for 8-bit images (a model that divides pixels by 255), else the model's
    dtype; its output 'A_L' (batch, n[L]) equals predict_proba.
    """
    from .onnx_export import export_onnx

    try:
        import onnxruntime as ort
    except ImportError:
        if verify and given(ctx, "verify"):
            raise ImportError("--verify needs onnxruntime: pip install onnxruntime (or give --no-verify)") from None
        ort = None
    check_out(onnx_path, "--onnx")
    check_distinct([("MODEL", model)], [("--onnx", onnx_path)])
    mdl = _load_model(model)
    with writing("--onnx"):
        proto = export_onnx(mdl, onnx_path)
    input_type = {p.key: p.value for p in proto.metadata_props}["input_type"]
    click.echo(f"ONNX model written to {onnx_path} (input X: {input_type}, samples as rows)")
    if not verify:
        return
    if ort is None:
        click.echo("onnxruntime is not installed: skipped the check (pip install onnxruntime)")
        return
    net = mdl.network
    rng = np.random.default_rng(0)
    pre = mdl.preprocessing
    shift, scale = pre.as_affine()
    # raw inputs around the training data's range (the preprocessing maps them to roughly N(0, 1)),
    # of the type the graph takes (8-bit pixels for a model that scales them)
    if input_type == "uint8":
        X = rng.integers(0, 256, (net.layer_dims[0], 64)).astype(np.uint8)
    else:
        X = (rng.standard_normal((net.layer_dims[0], 64)) * np.asarray(scale) + np.asarray(shift)).astype(input_type)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = sess.run(None, {sess.get_inputs()[0].name: np.ascontiguousarray(X.T)})[0]
    want = mdl.predict_proba(X).T
    diff = float(np.max(np.abs(got - want)))
    tol = 1e-5 if net.dtype == np.float64 else 1e-4
    click.echo(f"onnxruntime check on 64 random samples: max |difference| {diff:.2e} ({'OK' if diff < tol else 'MISMATCH'})")
    if diff >= tol:
        raise SystemExit(1)


@cli.command(context_settings=CONTEXT)
@click.option("--cat", metavar="DIR", default=None,
              help="Folder holding the course's train_catvnoncat.h5 and test_catvnoncat.h5 [default: scikit-learn's "
                   "breast-cancer set, standardized, 80/20 split].")
@click.option("--iterations", type=POSITIVE, default=2500, show_default=True, metavar="N",
              help="Gradient-descent iterations (full batch), as the course's num_iterations.")
@click.option("--lr", type=POSITIVE_FLOAT, default=0.0075, show_default=True, metavar="ALPHA",
              help="Learning rate alpha, as the course's learning_rate.")
def demo(cat: str | None, iterations: int, lr: float) -> None:
    """The course's 4-layer model [n0, 20, 7, 5, 1] trained by deeplayers.course.L_layer_model.

    Prints the data, the architecture table, the cost every 100 iterations and the train and test
    accuracies, with the course's own settings (float64, course initialization, gradient descent).
    'deeplayers' and 'python -m deeplayers' with no command run this.
    """
    from .demo import run_demo

    run_demo(_cat_folder(cat), iterations, lr)
    click.echo("\n(deeplayers --help lists the commands: train, predict, evaluate, ...)")


@cli.command("search", context_settings=CONTEXT)
@click.argument("data")
@click.option("--space", "space", required=True, metavar="FILE|JSON",
              help="Search space (required): a .yaml/.yml/.json file, or JSON text; see the README.")
@click.option("--strategy", type=click.Choice(SEARCH_STRATEGIES), default="random", show_default=True,
              help="grid: every combination; random: --n-trials random settings; halving: successive halving "
                   "of --n-trials settings.")
@click.option("--n-trials", type=POSITIVE, default=None, metavar="N",
              help="Settings to draw (a count; random, halving; for grid, a seeded subsample of the grid) "
                   "[default: every setting of a space without ranges; a space with ranges needs it].")
@click.option("--epochs", type=POSITIVE, default=None, metavar="N",
              help=f"Epochs per trial [default: {DEFAULTS['epochs']}], or of the first rung for halving "
                   "[default: 3].")
@click.option("--eta", type=IntRange("an integer >= 2", min=2), default=3, metavar="ETA", show_default=True,
              help="Halving factor: each rung keeps the best 1/eta and trains them eta times longer "
                   "(--strategy halving only).")
@click.option("--metric", type=click.Choice(list(SEARCH_METRICS)), default="val_cost", show_default=True,
              help="Final-epoch value the trials are ranked by: validation cost (lower is better), validation "
                   "accuracy (higher is better, classifiers only) or training cost.")
@click.option("--val-split", type=FloatRange("a fraction in (0, 1)", min=0, max=1, min_open=True, max_open=True),
              default=0.2, show_default=True, metavar="FRACTION",
              help="Fraction of the samples held out for validation, in (0, 1), the same split for every trial.")
@click.option("--scale", type=click.Choice(SCALES), default="auto", show_default=True,
              help="Preprocessing fitted on the training part only and stored in the model file: auto divides "
                   "8-bit images by 255 and standardizes anything else; divide: by 255.")
@click.option("--labels", default=None, metavar="COLUMN|KEY",
              help="Label column of a CSV (header name or 0-based index) [default: the last column], or the "
                   "labels key of an .npz/.h5. Not for built-in sets (their labels come with them).")
@_header_option()
@click.option("--n-jobs", type=IntRange("a positive integer or -1", min=-1), default=1, metavar="N", show_default=True,
              help="Trials at once in local processes (-1: one per core); with --scheduler local, the number "
                   "of Dask workers. Not with a --scheduler address.")
@click.option("--scheduler", default=None, metavar="ADDRESS|local",
              help="Run the trials on a Dask cluster: a scheduler address (tcp://host:8786) or 'local' [default: "
                   "this machine, --n-jobs processes].")
@click.option("--storage", default=None, metavar="FILE",
              help="Trials file (JSON Lines) to resume from [default: OUT/trials.jsonl].")
@click.option("--out", "out", default="search-results", show_default=True, metavar="DIR",
              help="Directory for results.csv, curves.png, best_model.npz.")
@click.option("--seed", type=SEED, default=0, show_default=True, metavar="SEED",
              help="Seeds the settings drawn, the validation split and each trial (an integer from 0 to 2**32 - 1).")
@click.option("--max-rows", type=POSITIVE, default=30, show_default=True, metavar="N", help="Rows of the table printed.")
@click.option("-q", "--quiet", is_flag=True, help="No line per finished trial [default: one line each].")
@click.pass_context
def search_command(ctx: click.Context, data: str, space: str, strategy: str, n_trials: int | None,
               epochs: int | None, eta: int, metric: str, val_split: float, scale: str, labels: str | None,
               header: str, n_jobs: int, scheduler: str | None, storage: str | None, out: str, seed: int, max_rows: int,
               quiet: bool) -> None:
    """Search hyperparameters on DATA (digits, iris, breast_cancer, wine, diabetes, or a data file)
    and rank them by validation cost; writes OUT/results.csv, OUT/curves.png and
    OUT/best_model.npz, and appends every finished trial to the storage file (rerun the same
    command to resume a killed search). Options the space does not name keep the practitioner
    defaults (deeplayers.defaults: Adam, cosine schedule, batches of 128, float32, Xavier)."""
    refuse_unless(ctx, strategy == "halving", ["eta"], "applies only to --strategy halving")
    refuse_unless(ctx, scheduler is None or scheduler == "local", ["n_jobs"],
                  "sets local processes or --scheduler local's workers; a --scheduler address runs on its "
                  "cluster's workers")
    if n_jobs == 0:
        raise click.BadParameter("give a positive number of processes, or -1 for one per core", ctx,
                                 param_hint="--n-jobs")
    options = [o for p in ctx.command.params for o in p.opts if o.startswith("--")]
    try:
        check_data_options(data, labels, None, header)
        _check_search_paths(data, space, out, storage)
        space_d = load_space(space)  # the space is an option too: checked before the data is read
        refuse_unless(ctx, "epochs" not in space_d, ["epochs"], "conflicts with the space's 'epochs' (which "
                      "sets each trial's epochs); give one of them")
        X, Y, classes, suggested = load_search_data(data, _labels_arg(labels), _HEADERS[header])
        prep = {"auto": suggested, "none": None}.get(scale, scale)
        Path(out).mkdir(parents=True, exist_ok=True)
        result = run_search(X, Y, space_d, strategy=strategy, n_trials=n_trials, epochs=epochs, eta=eta,
                            metric=metric, validation_split=val_split, preprocessing=prep, classes=classes,
                            n_jobs=n_jobs, scheduler=scheduler, storage=storage or Path(out) / "trials.jsonl",
                            seed=seed, out_dir=out, verbose=0 if quiet else 1)
    except (DeeplayersError, FileNotFoundError, IsADirectoryError, ImportError) as exc:
        raise _UserError(cli_message(str(exc), options, data)) from None
    click.echo(result.table(max_rows))
    if result.best_network is None:  # every trial failed: nothing to rank, nothing written but the trials file
        first = min(result.trials, key=lambda t: t["trial"])
        raise _UserError(cli_message(f"all {len(result.trials)} trials failed: {first.get('error') or first['status']}",
                                     options, data))
    for what, p in result.paths.items():
        click.echo(f"{what}: {p}")


def _check_search_paths(data: str, space: str, out: str, storage: str | None) -> None:
    """search's --out is a directory; neither its files nor --storage may be DATA or the --space file."""
    if Path(out).exists() and not Path(out).is_dir():
        raise click.UsageError(f"--out {out}: is a file; search writes a directory (results.csv, curves.png, "
                               "best_model.npz, trials.jsonl): name a new or existing directory")
    check_out(storage, "--storage")
    space_file = None if space.lstrip().startswith("{") else space
    files = [(f"--out {out} (its {name})", str(Path(out) / name))
             for name in ("results.csv", "curves.png", "best_model.npz")]
    check_distinct([("DATA", data), ("--space", space_file)],
                   [("--storage", storage or str(Path(out) / "trials.jsonl")), *files])



# -- the command line's words: one translation of the library's messages -----------------------------
#: library keyword -> the option that sets it (used only when the running command has that option)
_OPTION_FOR = {
    "learning_rate": "--lr", "num_iterations": "--epochs", "epochs": "--epochs", "batch_size": "--batch-size",
    "l2": "--l2", "keep_prob": "--keep-prob", "validation_split": "--val-split", "lr_schedule": "--lr-schedule",
    "output": "--output", "labels": "--labels", "split": "--split", "optimizer": "--optimizer", "init": "--init",
    "activation": "--activation", "dtype": "--dtype", "patience": "--patience", "checkpoint_every": "--checkpoint-every",
    "seed": "--seed", "metric": "--metric", "strategy": "--strategy", "n_trials": "--n-trials", "n_jobs": "--n-jobs",
    "eta": "--eta", "scheduler": "--scheduler", "preprocessing": "--scale", "limit": "--limit",
    "threads": "--threads", "time_limit": "--time-limit",
}
# the library's Python phrases about checkpoints, in the command line's words (whatever the command)
_PHRASES = {
    "fit(resume=...)": "'deeplayers train ... --resume FILE'",
    "fit(..., checkpoint=...)": "'deeplayers train ... --checkpoint FILE'",
    "fit(checkpoint=...)": "'deeplayers train ... --checkpoint FILE'",
}
_KEYWORD = "|".join(sorted(_OPTION_FOR, key=len, reverse=True))
# keyword=value (quoted, '...' or a bare word), and "keyword must ..." / "keyword (lambda) must ..."
_ASSIGNED = re.compile(rf"(?<![\w.\[-])({_KEYWORD})=('([^']*)'|\"([^\"]*)\"|\.\.\.|[^\s,;:)]+)")
_SUBJECT = re.compile(rf"(?<![\w.\[-])({_KEYWORD})( \(lambda\))?(?= must\b| is\b)")
# keywords with an underscore are identifiers wherever they stand (a word like "epochs" is also prose)
_IDENTIFIER = re.compile(rf"(?<![\w.\['\"-])({'|'.join(k for k in _OPTION_FOR if '_' in k)})(?![\w'\"])")
# the feature count, as the engine's shape checks say it (Preprocessing, Model.transform, check_X),
# each with its transposed-X hint, which speaks Python (X.T) and is said again in the command line's words
_FEATURES = [
    re.compile(r"X has (?P<has>\d+) features \(rows\) but the preprocessing was fitted on (?P<n0>\d+)[^;.]*(;[^.]*)?"
               r"(?P<hint>\. Samples go in columns: X \(\d+, \d+\) looks transposed, did you mean X\.T\?)?"),
    re.compile(r"X has (?P<has>\d+) features \(rows\) but the model was trained on n\[0\] = (?P<n0>\d+); give X as "
               r"\(\d+, m\)(?P<hint> — samples go in columns, did you mean X\.T\?)?"),
    re.compile(r"X must be \(n\[0\], m\) = \((?P<n0>\d+), m\), got \((?P<has>\d+), \d+\)"
               r"(?P<hint>: samples go in columns — did you mean X\.T\?)?[^.;]*"),
]
# how each kind of file holds its samples on the command line, for the transposed-X hint
_ROWS_HINT = {
    ".npz": "the command line reads an .npz's X as rows, (m, n[0]), unless labels y stored with it (one per sample) "
            "show it the other way round: save X transposed, or store y with it",
    ".npy": "the command line reads an .npy as rows, (m, n[0]): save the array transposed",
    "csv": "a CSV holds one sample per row: write the file transposed",
    **dict.fromkeys([".h5", ".hdf5", ".hdf"], "the command line reads an HDF5 file's X as rows, (m, ...): store it "
                                               "transposed"),
}


def cli_message(message: str, options: Sequence[str] | None = None, data: str | None = None) -> str:
    """A library message in the command line's words: ``learning_rate must ...`` -> ``--lr must ...``,
    ``labels=...`` -> ``--labels``, ``output='softmax'`` -> ``--output softmax``, and a feature-count
    mismatch as "the model expects 13 features, DATA has 10".

    Only keywords whose option the running command has (``options``, default: all) are translated,
    so a search-space key or a word of prose is left alone.
    """
    allowed = None if options is None else set(options)

    def option(word: str) -> str | None:
        opt = _OPTION_FOR[word]
        return opt if allowed is None or opt in allowed else None

    def assigned(mt: re.Match[str]) -> str:
        opt = option(mt.group(1))
        if opt is None:
            return mt.group(0)
        value = mt.group(3) if mt.group(3) is not None else mt.group(4) if mt.group(4) is not None else mt.group(2)
        return opt if value == "..." else f"{opt} {value}"

    def subject(mt: re.Match[str]) -> str:
        return option(mt.group(1)) or mt.group(0)

    text = message
    for phrase, words in _PHRASES.items():
        text = text.replace(phrase, words)
    text = _ASSIGNED.sub(assigned, text)
    text = _SUBJECT.sub(subject, text)
    text = _IDENTIFIER.sub(subject, text)
    if allowed is None or "--header" in allowed:
        text = text.replace("pass header=True or header=False", "give --header yes or --header no")
    text = text.replace("--batch-size None", "--batch-size full")  # (full batch, as the option spells it)
    return _feature_count(text, data)


def _feature_count(text: str, data: str | None) -> str:
    """The engine's feature-count mismatch as "the model expects 13 features, DATA has 10", and its
    transposed-X hint in the command line's words (the file, not X.T)."""
    where = data or "the data"
    for pattern in _FEATURES:
        mt = pattern.search(text)
        if mt is None or mt.group("has") == mt.group("n0"):
            continue
        n0, has = mt.group("n0"), mt.group("has")
        said = f"the model expects {n0} features, {where} has {has}"
        if mt.group("hint"):
            suffix = Path(data).suffix.lower() if data else ""  # the loader is chosen by the name's ending
            kind = "csv" if suffix in _CSV_SUFFIXES else suffix
            shape = f" ({n0} rows, one per feature)" if kind == "csv" else f", ({n0}, {has}) = (n[0], m)"
            how = _ROWS_HINT.get(kind, "the command line reads one sample per row")
            said += f". {where} seems to hold samples as columns{shape}; {how}"
        text = text.replace(mt.group(0), said)
    return text

from .playground.command import playground as _playground  # noqa: E402  (its web server loads lazily)

cli.add_command(_playground)


def _attach_check() -> None:
    from .course_check import _check_cli  # deeplayers check FILE.py: a learner's course functions

    cli.add_command(_check_cli(), "check")


_attach_check()


# -- entry point -------------------------------------------------------------------------------------
def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _error(message: str) -> int:
    click.echo(f"error: {_one_line(message)}", err=True)
    return EXIT_USER_ERROR


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    """The library's own warnings (a training run that learned nothing, ...) as one line
    ``warning: ...`` on stderr, in the command line's words; any other warning as Python shows it."""
    if category.__module__.split(".")[0] == "deeplayers":
        click.echo(f"warning: {_one_line(cli_message(str(message), _options_of(_ARGV), _STATE.get('data')))}", err=True)
    else:
        _PYTHON_SHOWWARNING(message, category, filename, lineno, file, line)


_PYTHON_SHOWWARNING = warnings.showwarning


USER_ERRORS = (DeeplayersError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, ImportError)


def _options_of(argv: Sequence[str]) -> list[str]:
    """The option names of the command named in argv (for the translation)."""
    name = next((a for a in argv if not a.startswith("-")), None)
    command = cli.commands.get(name or "")
    if command is None:
        return []
    return [o for p in command.params for o in p.opts if o.startswith("--")]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``) and return the exit status.

    No arguments at all run ``demo``. User errors (click usage errors, options that do not apply,
    :class:`~deeplayers.errors.DeeplayersError` and its subclasses, missing files, missing optional
    packages) print one line ``error: ...`` to stderr, in the command line's words (see
    :func:`cli_message`), and give status 2; the library's warnings print one line ``warning: ...``;
    Ctrl-C gives 130; other exceptions are bugs and propagate.
    """
    global _ARGV
    argv = list(sys.argv[1:] if argv is None else argv)
    _ARGV = argv
    _STATE.clear()
    if not argv:
        argv = ["demo"]
    stdout = _ClosedStdout().__enter__()
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            result = cli.main(args=argv, prog_name="deeplayers", standalone_mode=False)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx is not None else "deeplayers"
        return _error(f"{_dropout_hint(exc, argv) or exc.format_message()} (see '{cmd} --help')")
    except click.ClickException as exc:
        return _error(exc.format_message())
    except USER_ERRORS as exc:
        return _error(cli_message(str(exc) or type(exc).__name__, _options_of(argv), _STATE.get("data")))
    except MemoryError:  # numpy's _ArrayMemoryError too: an allocation larger than this machine's memory
        return _error(_out_of_memory(argv))
    finally:
        stdout.release()
    return result if isinstance(result, int) else 0


def _out_of_memory(argv: Sequence[str]) -> str:
    """What did not fit in memory, naming the option that sizes it."""
    command = next((a for a in argv if not a.startswith("-")), "")
    what = {"train": "the network or the data does not fit in memory; give smaller --layers, or fewer samples "
                     "with --limit",
            "gradcheck": "the network does not fit in memory; give smaller --layer-dims",
            "search": "a trial's network or the data does not fit in memory; give smaller sizes in the --space"}
    return what.get(command, "the data or the model does not fit in memory" +
                    ("; give fewer samples with --limit" if command in ("predict", "evaluate") else ""))


class _ClosedStdout:
    """sys.stdout that survives its reader going away (``deeplayers train ... | head -1``): on a
    BrokenPipeError the rest of the output goes to /dev/null and the command carries on, so the
    model is still saved (the usual command-line practice, as Python's docs advise)."""

    def __init__(self) -> None:
        self.stream = sys.stdout

    def __enter__(self) -> _ClosedStdout:
        sys.stdout = self  # type: ignore[assignment]
        return self

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        try:  # the real stdout: point its descriptor at /dev/null, so the exit's flush does not fail either
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self.stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            self.stream = open(os.devnull, "w")  # noqa: SIM115  (a stream with no descriptor: replace it)

    def release(self) -> None:
        self.flush()
        if sys.stdout is self:
            sys.stdout = self.stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
