"""Fuzzing the file readers: only the documented exceptions may escape.

=========================================  =============================================
reader                                     may raise
=========================================  =============================================
``datasets.load_dataset`` / ``load_idx``    ``DataError`` (and ``FileNotFoundError`` for a
/ ``load_csv`` / ``load_npz`` / ``load_npy``  missing path)
``deeplayers.load`` (model files)           ``ModelFileError`` (``FileNotFoundError``)
``checkpoint.load_checkpoint``              ``ModelFileError`` (``FileNotFoundError``)
``Network.fit(..., resume=...)``            ``ModelFileError``; ``ConfigError`` when the run's
                                            options differ from the checkpoint's
=========================================  =============================================

Each is a subclass of ``ValueError`` except ``FileNotFoundError``. Structured inputs come from
Hypothesis (bounded by ``max_examples``); byte-level damage from a seeded mutation loop of a fixed
count (never a time budget: what is checked must not depend on the machine's speed). Model files
are fuzzed with 150 mutations in test_modelfile.py, and CSV/NPZ/raw IDX with 40 each in
test_datasets.py; this module adds generated IDX headers (gzip too), generated CSV text,
generated NPZ/NPY members, checkpoint files and heavier mutations. Whatever loads must also be
usable: finite where promised, the right shape, and trainable.
"""

from __future__ import annotations

import gzip
import io
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deeplayers as dl
from deeplayers._atomic import load_npz_with_header, save_npz_with_header
from deeplayers.checkpoint import load_checkpoint
from deeplayers.datasets import load_dataset, load_idx
from deeplayers.errors import ConfigError, DataError, ModelFileError

SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
LOADER_ERRORS = (DataError,)
FILE_ERRORS = (ModelFileError,)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


def _train_one_epoch(X, Y, output):
    """Whatever a loader returned must be trainable (or refused with a DataError)."""
    net = dl.Network([X.shape[0], 3, Y.shape[0]], output=output, seed=0)
    try:
        h = net.fit(X, Y, epochs=1, learning_rate=1e-3)
    except DataError:
        return
    assert len(h) == 1


# -- IDX -------------------------------------------------------------------------------------------
_DIM = st.one_of(st.integers(0, 5), st.sampled_from([2**16, 2**31, 2**32 - 1]), st.integers(0, 2**32 - 1))


@st.composite
def idx_files(draw):
    magic = draw(st.one_of(st.just(b"\x00\x00"), st.binary(min_size=2, max_size=2)))
    code = draw(st.one_of(st.sampled_from([0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]), st.integers(0, 255)))
    dims = draw(st.lists(_DIM, min_size=0, max_size=5))
    ndim = draw(st.one_of(st.just(len(dims)), st.integers(0, 255)))
    head = magic + bytes([code, ndim]) + np.array(dims, ">u4").tobytes()
    size = {0x08: 1, 0x09: 1, 0x0B: 2, 0x0C: 4, 0x0D: 4, 0x0E: 8}.get(code, 1)
    want = size
    for d in dims:
        want *= d
    if want <= 256 and draw(st.booleans()):
        data = draw(st.binary(min_size=want, max_size=want))  # consistent with the header
    else:
        data = draw(st.binary(max_size=64))
    raw = head + data
    if draw(st.booleans()):
        raw = gzip.compress(raw)
        if draw(st.booleans()):
            raw = raw[: draw(st.integers(0, len(raw)))]
    return raw, dims


@settings(max_examples=120, **SETTINGS)
@given(case=idx_files())
def test_generated_idx_files(case, folder):
    raw, dims = case
    path = folder / "gen-idx3-ubyte"
    path.write_bytes(raw)
    try:
        arr = load_idx(path)
    except LOADER_ERRORS:
        return
    assert arr.ndim >= 1 and arr.dtype.isnative
    try:
        ds = load_dataset(path)
    except LOADER_ERRORS:
        return
    assert ds.X.ndim == 2 and ds.X.shape[1] == arr.shape[0] and ds.X.dtype == np.float64


# -- CSV -------------------------------------------------------------------------------------------
_CELL = st.one_of(
    st.integers(-1000, 1000).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "1e999", "x", "0x10", "1_000", "True", "\u221e",
                     "\u0661\u0662", '"1,2"', '"', "''", "\x00", "a b", "-", "1e-400", "  7  "]),
    st.text(max_size=6),
)


@st.composite
def csv_files(draw):
    delimiter = draw(st.sampled_from([",", ";", "\t", "|", " "]))
    width = draw(st.integers(1, 4))
    rows = draw(st.lists(st.lists(_CELL, min_size=max(1, width - 1), max_size=width + 1), min_size=0, max_size=6))
    text = "\n".join(delimiter.join(row) for row in rows)
    if draw(st.booleans()):
        text = delimiter.join(f"c{j}" for j in range(width)) + "\n" + text
    raw = text.encode("utf-8", "surrogatepass") if draw(st.integers(0, 9)) else draw(st.binary(max_size=80))
    labels = draw(st.sampled_from([None, False, 0, -1, 5, "c0", "c9"]))
    return raw, labels


@settings(max_examples=100, **SETTINGS)
@given(case=csv_files())
def test_generated_csv_files(case, folder):
    raw, labels = case
    path = folder / "gen.csv"
    path.write_bytes(raw)
    try:
        ds = load_dataset(path, labels=labels)
    except LOADER_ERRORS:
        return
    assert ds.X.ndim == 2 and ds.X.dtype == np.float64 and ds.m >= 1
    assert np.isfinite(ds.X).all()  # CSV cells that are not finite numbers are refused
    if ds.y is None:
        return
    assert len(ds.y) == ds.m
    try:
        t = ds.targets()
    except LOADER_ERRORS:
        return
    assert t.Y.shape[1] == ds.m
    _train_one_epoch(ds.X, t.Y, t.output)


# -- NPY / NPZ -------------------------------------------------------------------------------------
_DTYPES = ["<f8", "<f4", "<i8", "|u1", "|b1", "<U3", "<c16", ">f8", "O", "V"]


@st.composite
def arrays(draw):
    dtype = draw(st.sampled_from(_DTYPES))
    shape = tuple(draw(st.lists(st.integers(0, 4), min_size=0, max_size=3)))
    n = int(np.prod(shape, dtype=np.int64))
    if dtype == "O":
        a = np.empty(shape, dtype=object)
        a.reshape(-1)[:] = [{"k": i} for i in range(n)]
        return a
    if dtype == "V":
        return np.zeros(shape, dtype=[("a", "<f8"), ("b", "<i4")])
    values = draw(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=n, max_size=n))
    a = np.array(values, dtype=np.float64).reshape(shape)
    with np.errstate(all="ignore"):
        if dtype in ("<U3",):
            return a.astype(str).astype(dtype)
        if np.dtype(dtype).kind in "iub":
            return np.nan_to_num(a, nan=0, posinf=0, neginf=0).astype(np.int64).astype(dtype)
        return a.astype(dtype)


@settings(max_examples=60, **SETTINGS)
@given(members=st.dictionaries(st.sampled_from(["X", "x", "y", "Y", "labels", "classes", "feature_names",
                                                "x_train", "y_train", "other"]), arrays(), max_size=4),
       layout=st.sampled_from(["auto", "rows", "columns"]),
       split=st.sampled_from([None, "train"]))
def test_generated_npz_files(members, layout, split, folder):
    path = folder / "gen.npz"
    buf = io.BytesIO()
    np.savez(buf, **members)  # object arrays are pickled in: they must be refused, never loaded
    path.write_bytes(buf.getvalue())
    try:
        ds = load_dataset(path, layout=layout, split=split)
    except LOADER_ERRORS:
        return
    assert ds.X.ndim == 2 and ds.X.dtype.kind == "f" and ds.m >= 1
    if ds.y is not None:
        assert len(ds.y) == ds.m


@settings(max_examples=40, **SETTINGS)
@given(a=arrays(), mmap=st.booleans())
def test_generated_npy_files(a, mmap, folder):
    path = folder / "gen.npy"
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    path.write_bytes(buf.getvalue())
    try:
        ds = load_dataset(path, mmap=mmap)
    except LOADER_ERRORS:
        assert a.dtype.kind not in "fiub" or a.ndim == 0 or a.shape[0] == 0 or 0 in a.shape
        return
    assert ds.X.shape == (int(np.prod(a.shape[1:], dtype=np.int64)), a.shape[0])


# -- checkpoints -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def checkpoint(folder):
    rng = np.random.RandomState(0)
    X = rng.randn(4, 40)
    Y = np.eye(3)[:, rng.randint(0, 3, 40)]
    path = folder / "good.ckpt"
    dl.Network([4, 6, 3], output="softmax", seed=1).fit(X, Y, epochs=3, optimizer="adam", batch_size=8,
                                                       checkpoint=path)
    return path, X, Y


def _net():
    return dl.Network([4, 6, 3], output="softmax", seed=1)


_JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10**20), st.floats(), st.text(max_size=5)),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


@settings(max_examples=40, **SETTINGS)
@given(key=st.sampled_from(["epoch", "rng", "optimizer", "history", "callbacks", "options", "layer_dims",
                            "activations", "loss", "dtype", "kind"]),
       value=_JSON, drop=st.booleans())
def test_checkpoint_headers_with_hostile_values(checkpoint, key, value, drop, folder):
    """The header is JSON outside the arrays' checksum: any value in any field is refused cleanly."""
    good, X, Y = checkpoint
    arrays, header = load_npz_with_header(good)
    header = {k: v for k, v in header.items() if k not in ("format", "format_version", "arrays", "sha256")}
    if drop:
        header.pop(key)
    else:
        header[key] = value
    path = folder / "hostile.ckpt"
    save_npz_with_header(path, arrays, header)
    try:
        load_checkpoint(path, _net())
    except FILE_ERRORS:
        pass
    try:
        _net().fit(X, Y, epochs=4, optimizer="adam", batch_size=8, resume=path)
    except (*FILE_ERRORS, ConfigError):
        pass


def test_tampered_early_stopping_state_is_a_model_file_error(checkpoint, folder):
    good, X, Y = checkpoint
    path = folder / "es.ckpt"
    _net().fit(X, Y, epochs=2, optimizer="adam", batch_size=8, early_stopping=True, checkpoint=path)
    arrays, header = load_npz_with_header(path)
    header = {k: v for k, v in header.items() if k not in ("format", "format_version", "arrays", "sha256")}
    header["callbacks"][0]["best"] = "x"
    save_npz_with_header(path, arrays, header)
    with pytest.raises(ModelFileError, match=r"es.ckpt: the checkpoint's state for EarlyStopping is damaged "
                                             r"\(best must be a number, got 'x'\)"):
        _net().fit(X, Y, epochs=4, optimizer="adam", batch_size=8, early_stopping=True, resume=path)


# -- byte-level damage, a fixed number of mutations ---------------------------------------------------
def _mutate(data: bytes, rng: np.random.RandomState) -> bytes:
    b = bytearray(data)
    op = rng.randint(6)
    if op == 0 or len(b) < 2:  # flip a few bits
        for _ in range(rng.randint(1, 5)):
            if b:
                b[rng.randint(len(b))] ^= 1 << rng.randint(8)
    elif op == 1:  # cut
        b = b[: rng.randint(len(b))]
    elif op == 2:  # insert random bytes
        i = rng.randint(len(b))
        b[i:i] = rng.bytes(rng.randint(1, 32))
    elif op == 3:  # zero a run
        i = rng.randint(len(b))
        n = rng.randint(1, 64)
        b[i:i + n] = bytes(len(b[i:i + n]))
    elif op == 4:  # duplicate a chunk somewhere else
        i, j = sorted(rng.randint(len(b), size=2))
        k = rng.randint(len(b))
        b[k:k] = b[i:j + 1]
    else:  # overwrite with 0xff (absurd sizes in headers)
        i = rng.randint(len(b))
        b[i:i + 4] = b"\xff" * len(b[i:i + 4])
    return bytes(b)


def test_mutated_files_only_raise_documented_errors(tmp_path, checkpoint):
    rng = np.random.RandomState(2024)
    images = rng.randint(0, 256, (5, 4, 4)).astype(np.uint8)
    idx = b"\x00\x00\x08\x03" + np.array(images.shape, ">u4").tobytes() + images.tobytes()
    npy, npz = io.BytesIO(), io.BytesIO()
    np.save(npy, rng.randn(6, 3))
    np.savez_compressed(npz, X=rng.randn(6, 3), y=np.arange(6) % 2, classes=np.array(["a", "b"]))
    good, X, Y = checkpoint
    sources = {
        "f-idx3-ubyte.gz": (gzip.compress(idx), "data"),
        "f-idx3-ubyte": (idx, "data"),
        "f.csv": (b"a;b;label\n1.5;2;cat\n3;4e2;dog\n-5;6;cat\n", "data"),
        "f.npy": (npy.getvalue(), "data"),
        "f.npz": (npz.getvalue(), "data"),
        "f.ckpt": (good.read_bytes(), "checkpoint"),
    }
    # the same 400 seeded mutations of each format on every machine (a few seconds in all); the
    # sequence includes .npy headers with a stray backslash, which must be refused as damage, not
    # only warned about
    for name, (data, kind) in sources.items():
        path = tmp_path / name
        for _ in range(MUTATIONS):
            path.write_bytes(_mutate(data, rng))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                if kind == "data":
                    try:
                        ds = load_dataset(path)
                        assert ds.X.ndim == 2 and ds.X.shape[1] >= 1
                    except LOADER_ERRORS:
                        pass
                else:
                    try:
                        state = load_checkpoint(path, _net())
                        assert set(state["params"]) == {"W1", "b1", "W2", "b2"}
                    except FILE_ERRORS:
                        pass
            noisy = [str(w.message) for w in caught if issubclass(w.category, (DeprecationWarning, SyntaxWarning))]
            assert noisy == [], (name, noisy)


MUTATIONS = 400


def test_a_stray_backslash_in_an_npy_header_is_damage(tmp_path):
    # found by the mutation loop above: NumPy reads the header as a Python literal, where an
    # invalid escape only warns (and reads on); it is damage, refused with no warning
    npy = io.BytesIO()
    np.save(npy, np.arange(6.0).reshape(3, 2))
    raw = npy.getvalue().replace(b"'<f8', ", b"'<f8\\q', ", 1).replace(b"  \n", b"\n", 1)  # same header length
    path = tmp_path / "escape.npy"
    path.write_bytes(raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(DataError, match=r"escape\.npy: not a readable NumPy file \(Cannot parse header"):
            load_dataset(path)
    assert [str(w.message) for w in caught] == []


def test_documented_errors_are_value_errors():
    for exc in (DataError, ModelFileError, ConfigError):
        assert issubclass(exc, ValueError)
    with pytest.raises(FileNotFoundError):
        load_dataset("/nonexistent/file.csv")
    with pytest.raises(FileNotFoundError):
        dl.load("/nonexistent/model.npz")
    with pytest.raises(FileNotFoundError):
        load_checkpoint("/nonexistent/run.ckpt", _net())
