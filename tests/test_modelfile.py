"""Model files: exact round trips, atomic writes, and refusal of damaged, foreign or hostile files."""

from __future__ import annotations

import io
import json
import os
import pickle
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deeplayers as dl
from deeplayers import _atomic
from deeplayers._atomic import (
    HEADER_KEY,
    arrays_sha256,
    atomic_write,
    atomic_write_bytes,
    load_npz_with_header,
    save_npz_with_header,
)
from deeplayers.activations import LeakyReLU
from deeplayers.errors import ConfigError, DataError, ModelFileError, ShapeError
from deeplayers.modelfile import Model, Preprocessing

ARCHS = [
    ([3, 1], "relu", "sigmoid"),
    ([5, 4, 3, 1], "relu", "sigmoid"),
    ([6, 8, 3], "tanh", "softmax"),
    ([4, 7, 5, 2], ["relu", "tanh"], "linear"),
    ([3, 6, 2], [LeakyReLU(alpha=0.2)], "sigmoid"),
]


def _trained(dims, hidden, output, dtype, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randn(dims[0], 40)
    if output == "softmax":
        Y = np.eye(dims[-1])[:, rng.randint(dims[-1], size=40)]
    elif output == "sigmoid":
        Y = (rng.rand(dims[-1], 40) > 0.5).astype(float)
    else:
        Y = rng.randn(dims[-1], 40)
    net = dl.Network(dims, hidden=hidden, output=output, seed=seed, dtype=dtype)
    net.fit(X, Y, learning_rate=0.05, epochs=5, optimizer="adam", batch_size=16)
    return net, X


# -- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("dims,hidden,output", ARCHS)
def test_round_trip_is_bit_for_bit(tmp_path, dims, hidden, output, dtype):
    net, X = _trained(dims, hidden, output, dtype)
    path = tmp_path / "model.npz"
    dl.save(net, path)
    model = dl.load(path)
    assert isinstance(model, Model)
    back = model.network
    assert back.layer_dims == net.layer_dims
    assert back.activations == net.activations
    assert back.loss.name == net.loss.name and back.dtype == net.dtype
    for (k, a), (k2, b) in zip(net.parameters.items(), back.parameters.items(), strict=True):
        assert k == k2 and a.dtype == b.dtype and a.shape == b.shape
        assert a.tobytes() == b.tobytes()  # bit for bit
    assert np.array_equal(back.predict_proba(X), net.predict_proba(X))
    assert np.array_equal(model.predict(X), net.predict(X))  # no preprocessing, no classes: same
    assert back.history.as_dict() == net.history.as_dict()
    for g, g2 in zip(net.layers, back.layers, strict=True):
        assert getattr(g.g, "alpha", None) == getattr(g2.g, "alpha", None)  # LeakyReLU's alpha survives


def test_model_predicts_on_raw_data_with_preprocessing_and_classes(tmp_path):
    rng = np.random.RandomState(1)
    X_raw = rng.randn(4, 300) * np.array([[1], [10], [100], [0.1]]) + 50  # badly scaled raw features
    labels = np.where(X_raw[0] + X_raw[3] * 10 > 51, "cat", "dog")
    pre = Preprocessing("standard").fit(X_raw)
    Y = (labels == "dog").astype(float).reshape(1, -1)
    net = dl.Network([4, 8, 1], seed=0)
    net.fit(pre.transform(X_raw), Y, learning_rate=0.5, epochs=300)
    path = tmp_path / "m.npz"
    header = dl.save(net, path, preprocessing=pre, classes=["cat", "dog"], metadata={"data": "toy"},
                     hyperparameters={"learning_rate": 0.5, "epochs": 300})
    assert header["sha256"] == arrays_sha256(net.parameters)
    model = dl.load(path)
    # the loaded model repeats the preprocessing: same probabilities as the pipeline by hand
    assert np.array_equal(model.predict_proba(X_raw), net.predict_proba(pre.transform(X_raw)))
    pred = model.predict(X_raw)
    assert pred.shape == (1, 300) and set(np.unique(pred)) <= {"cat", "dog"}
    assert np.mean(pred[0] == labels) > 0.95
    assert model.preprocessing == pre and model.classes == ["cat", "dog"]
    assert model.metadata == {"data": "toy"} and model.hyperparameters["epochs"] == 300
    assert model.library_version == dl.__version__
    assert "preprocessing: standard" in model.summary()
    # re-saving the loaded Model keeps everything
    dl.save(model, tmp_path / "again.npz")
    again = dl.load(tmp_path / "again.npz")
    assert np.array_equal(again.predict_proba(X_raw), model.predict_proba(X_raw))
    assert again.classes == model.classes and again.preprocessing == pre
    with pytest.raises(ShapeError, match=r"X has 3 features .* fitted on 4"):
        model.predict(X_raw[:3])


def test_softmax_classes_map_indices_to_labels(tmp_path):
    net, X = _trained([6, 8, 3], "tanh", "softmax", "float64")
    dl.save(net, tmp_path / "m.npz", classes=[10, 20, 30])
    model = dl.load(tmp_path / "m.npz")
    assert np.array_equal(model.predict(X), np.array([10, 20, 30])[net.predict(X)])


def test_preprocessing_statistics_match_numpy():
    rng = np.random.RandomState(0)
    X = rng.rand(5, 10_000) * 7 - 2
    X[2] = 3.0  # a constant feature keeps scale 1
    p = Preprocessing("standard").fit(X)  # accumulated in chunks of columns
    mean, std = X.mean(axis=1, keepdims=True), X.std(axis=1, keepdims=True)
    std[2] = 1.0
    assert np.allclose(p.shift, mean, rtol=0, atol=1e-12) and np.allclose(p.scale, std, rtol=1e-12)
    assert np.allclose(p.transform(X), (X - mean) / std, atol=1e-12)
    mm = Preprocessing("minmax").fit(X)
    T = mm.transform(X)
    assert np.allclose(T[[0, 1, 3, 4]].min(axis=1), 0) and np.allclose(T[[0, 1, 3, 4]].max(axis=1), 1)
    assert np.array_equal(Preprocessing("divide", value=255).transform(np.array([[255.0, 51.0]])), [[1.0, 0.2]])
    for q in (p, mm, Preprocessing("divide", value=16), Preprocessing("none")):
        d = json.loads(json.dumps(q.to_dict()))
        assert Preprocessing.from_dict(d).to_dict() == q.to_dict()  # exact through JSON
    with pytest.raises(ConfigError, match="unknown preprocessing 'zscore'"):
        Preprocessing("zscore")
    with pytest.raises(ConfigError, match="standard.scale must be a non-empty list of numbers"):
        Preprocessing.from_dict({"type": "standard", "mean": [1.0], "scale": "x"})
    with pytest.raises(ShapeError, match="X has 4 features .* fitted on 5"):
        p.transform(X[:4])


def test_save_refuses_what_it_cannot_store(tmp_path):
    net = dl.Network([3, 2, 1], seed=0)
    with pytest.raises(ConfigError, match="3 class labels given for an output layer of n\\[L\\] = 1 sigmoid"):
        dl.save(net, tmp_path / "a.npz", classes=["a", "b", "c"])
    with pytest.raises(ShapeError, match="fitted on 4 features but the network takes n\\[0\\] = 3"):
        dl.save(net, tmp_path / "a.npz", preprocessing=Preprocessing("standard").fit(np.ones((4, 5))))
    with pytest.raises(TypeError, match="save\\(\\) takes a Network, a Model or a deeplayers.sklearn estimator"):
        dl.save({"W1": np.ones((1, 1))}, tmp_path / "a.npz")
    net.layers[0].W[0, 0] = np.nan
    with pytest.raises(DataError, match="W\\[1\\] or b\\[1\\] holds NaN"):
        dl.save(net, tmp_path / "a.npz")
    assert not list(tmp_path.iterdir())


# -- atomic writes -------------------------------------------------------------------------------
def test_failed_save_leaves_previous_file_and_no_temp_files(tmp_path, monkeypatch):
    net, X = _trained([5, 4, 3, 1], "relu", "sigmoid", "float64")
    path = tmp_path / "model.npz"
    dl.save(net, path)
    before = path.read_bytes()
    real_savez = np.savez

    def crash_midway(file, *args, **kwds):
        file.write(b"PK\x03\x04 half a zip")  # some bytes are already out when the "crash" comes
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash_midway)
    other = dl.Network([5, 2, 1], seed=9)
    with pytest.raises(OSError, match="disk full"):
        dl.save(other, path)

    def interrupted(file, *args, **kwds):
        real_savez(file, *args, **kwds)
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dl.save(other, path)
    monkeypatch.setattr(np, "savez", real_savez)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]  # no temporary files left
    assert np.array_equal(dl.load(path).predict_proba(X), net.predict_proba(X))


def test_atomic_write_helpers(tmp_path):
    p = tmp_path / "f.bin"
    atomic_write_bytes(p, b"one")
    os.chmod(p, 0o640)
    atomic_write_bytes(p, b"two")
    assert p.read_bytes() == b"two" and (p.stat().st_mode & 0o777) == 0o640  # mode kept
    with pytest.raises(ZeroDivisionError), atomic_write(p, "w") as f:
        f.write("three")
        raise ZeroDivisionError("boom")
    assert p.read_bytes() == b"two" and [q.name for q in tmp_path.iterdir()] == ["f.bin"]
    with pytest.raises(FileNotFoundError, match="directory .* does not exist"):
        atomic_write_bytes(tmp_path / "nope" / "f.bin", b"x")


def test_container_round_trip_of_many_dtypes(tmp_path):
    arrays = {
        "f8": np.random.RandomState(0).randn(3, 4), "f4": np.arange(6, dtype=np.float32).reshape(2, 3),
        "F": np.asfortranarray(np.arange(12.0).reshape(3, 4)), "empty": np.zeros((0, 5)),
        "scalar": np.array(2.5), "u4": np.arange(624, dtype=np.uint32), "s": np.array(["ab", "c"]),
        "flag": np.array([True, False]),
    }
    save_npz_with_header(tmp_path / "c.npz", arrays, {"kind": "test", "n": np.int64(3)})
    back, header = load_npz_with_header(tmp_path / "c.npz")
    assert header["n"] == 3 and header["format"] == "deeplayers"
    for k, a in arrays.items():
        assert back[k].dtype == a.dtype and back[k].shape == a.shape and np.array_equal(back[k], a)
        assert back[k].flags.writeable
    with pytest.raises(TypeError, match="object arrays"):
        save_npz_with_header(tmp_path / "o.npz", {"o": np.array([{}], dtype=object)}, {})
    with pytest.raises(ValueError, match="reserved"):
        save_npz_with_header(tmp_path / "o.npz", {}, {"sha256": "x"})
    with pytest.raises(ValueError, match="array name '../x' is not allowed"):
        save_npz_with_header(tmp_path / "o.npz", {"../x": np.ones(1)}, {})


# -- damaged, foreign and hostile files ----------------------------------------------------------
def _npy_bytes(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=True)
    return buf.getvalue()


def _write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {n[:-4]: zf.read(n) for n in zf.namelist()}


def _header(path: Path) -> dict:
    raw = _members(path)[HEADER_KEY]
    return json.loads(np.load(io.BytesIO(raw)).tobytes())


def _with_header(members: dict[str, bytes], header: dict | bytes) -> dict[str, bytes]:
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    return {**members, HEADER_KEY: _npy_bytes(np.frombuffer(text, np.uint8))}


@pytest.fixture
def good(tmp_path):
    net, X = _trained([5, 4, 3, 1], "relu", "sigmoid", "float64")
    path = tmp_path / "good.npz"
    dl.save(net, path)
    return path


class Evil:
    """Unpickling this creates a marker file: proof that code from a file ran."""

    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_pickle(marker: Path) -> bytes:
    Evil.marker = str(marker)
    return pickle.dumps(Evil())


def test_refuses_files_that_are_not_model_files(tmp_path, good):
    cases = {
        "text.npz": (b"hello, I am a CSV\n1,2,3\n", "not an npz \\(zip\\) archive"),
        "empty.npz": (b"", "an empty file"),
        "single.npz": (_npy_bytes(np.ones(3)), "a single .npy array, not an .npz model file"),
        "trunc.npz": (good.read_bytes()[: good.stat().st_size // 2], "damaged or truncated zip/npz archive"),
        "tail.npz": (good.read_bytes()[:-30], "damaged or truncated zip/npz archive"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(ModelFileError, match=message) as info:
            dl.load(tmp_path / name)
        assert name in str(info.value) and ("re-save" in str(info.value) or "check the path" in str(info.value))
    with pytest.raises(FileNotFoundError, match="no such model file"):
        dl.load(tmp_path / "missing.npz")


def test_refuses_a_foreign_npz(tmp_path):
    np.savez(tmp_path / "foreign.npz", W1=np.ones((2, 2)), b1=np.zeros((2, 1)))
    with pytest.raises(ModelFileError, match="npz archive but has no deeplayers header \\(arrays: W1, b1\\).*numpy.load"):
        dl.load(tmp_path / "foreign.npz")


def test_flipped_byte_in_the_data_is_caught(tmp_path, good):
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = zf.getinfo("W1.npy")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 128  # inside W1's values
    data[start + 3] ^= 0x10
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="damaged.*CRC"):
        dl.load(bad)


def test_checksum_catches_edited_arrays_with_valid_zip_crc(tmp_path, good):
    members = _members(good)
    W1 = np.load(io.BytesIO(members["W1"]))
    W1[0, 0] = np.nextafter(W1[0, 0], np.inf)  # one ulp: the zip is rewritten with fresh CRCs
    _write_zip(tmp_path / "edited.npz", {**members, "W1": _npy_bytes(W1)})
    with pytest.raises(ModelFileError, match="checksum mismatch.*damaged or edited"):
        dl.load(tmp_path / "edited.npz")


def test_header_problems(tmp_path, good):
    members, header = _members(good), _header(good)
    cases = [
        (b"{not json", "header is not valid JSON"),
        (b"[1, 2]", "header is a JSON list, not an object"),
        ({**header, "format": "keras"}, "format is 'keras'.*not a deeplayers file"),
        ({**header, "format_version": 99}, "format version 99, newer than this deeplayers .* upgrade deeplayers"),
        ({**header, "format_version": "1"}, "format_version '1' is not a positive integer"),
        ({**header, "arrays": {**header["arrays"], "W1": {"dtype": "<f8", "shape": [4, 4]}}},
         "array 'W1' is <f8 \\(4, 5\\) but the header says <f8 \\(4, 4\\)"),
        ({**header, "arrays": {**header["arrays"], "W1": {"dtype": "<f4", "shape": [4, 5]}}},
         "array 'W1' is <f8 \\(4, 5\\) but the header says <f4"),
        ({**header, "arrays": {**header["arrays"], "W9": {"dtype": "<f8", "shape": [1, 1]}}},
         "header and the arrays disagree \\(missing arrays: \\['W9'\\]"),
        ({**header, "arrays": {**header["arrays"], "W1": {"dtype": "<f8", "shape": [10**12, 10**12]}}},
         "absurd shape \\[1000000000000, 1000000000000\\]"),
        ({**header, "arrays": {**header["arrays"], "W1": {"dtype": "<f8", "shape": [-4, 5]}}},
         "invalid shape \\[-4, 5\\]"),
        ({**header, "kind": "checkpoint"}, "holds a 'checkpoint'.*resume"),
        ({**header, "layer_dims": [5, 9, 3, 1]}, "W1 is float64 \\(4, 5\\), layer_dims \\[5, 9, 3, 1\\]"),
        ({**header, "layer_dims": [5, 4, 1]}, "it needs 2 activations for layer_dims \\[5, 4, 1\\]"),
        ({**header, "activations": ["relu", "os.system", "sigmoid"]}, "g\\[2\\] = 'os.system' is not a known activation"),
        ({**header, "loss": "hinge"}, "loss 'hinge' is not a known loss"),
        ({**header, "dtype": "float16"}, "dtype 'float16' is not float32 or float64"),
        ({**header, "classes": "ab"}, "classes are invalid \\(classes must be a list"),
        ({**header, "preprocessing": {"type": "standard", "mean": [0.0], "scale": [1.0]}},
         "preprocessing or classes are invalid \\(the preprocessing was fitted on 1 features"),
    ]
    for i, (hdr, message) in enumerate(cases):
        path = tmp_path / f"h{i}.npz"
        _write_zip(path, _with_header(members, hdr))
        with pytest.raises(ModelFileError, match=message):
            dl.load(path)


def test_absurd_sizes_are_refused_before_anything_is_allocated(tmp_path, good):
    members, header = _members(good), _header(good)
    header["arrays"]["W1"] = {"dtype": "<f8", "shape": [2**31, 2**31]}
    path = tmp_path / "absurd.npz"
    _write_zip(path, _with_header(members, header))
    tracemalloc.start()
    with pytest.raises(ModelFileError, match="absurd shape"):
        dl.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 10 * 2**20
    with pytest.raises(ModelFileError, match="claims [0-9,]+ bytes of arrays, more than the limit of 100"):
        dl.load(good, max_bytes=100)


def test_object_array_with_a_pickle_payload_never_runs(tmp_path, good):
    marker = tmp_path / "PWNED"
    members, header = _members(good), _header(good)
    evil = np.empty(1, dtype=object)
    Evil.marker = str(marker)
    evil[0] = Evil()
    payload = _npy_bytes(evil)  # a real pickled object array, as np.save(allow_pickle=True) writes it
    assert b"PWNED" in payload
    # 1) the header honestly declares an object array
    h1 = {**header, "arrays": {**header["arrays"], "evil": {"dtype": "|O", "shape": [1]}}}
    # 2) the header lies (says float) about the pickled member
    h2 = {**header, "arrays": {**header["arrays"], "evil": {"dtype": "<f8", "shape": [1]}}}
    # 3) an existing array is replaced by the pickle
    h3 = {**header, "arrays": {**header["arrays"], "W1": {"dtype": "|O", "shape": [1]}}}
    for i, (hdr, extra) in enumerate([(h1, {"evil": payload}), (h2, {"evil": payload}), (h3, {"W1": payload})]):
        path = tmp_path / f"evil{i}.npz"
        _write_zip(path, _with_header({**members, **extra}, hdr))
        with pytest.raises(ModelFileError, match="object.*never unpickles|never unpickles"):
            dl.load(path)
        assert not marker.exists()
    # a bare pickle renamed to .npz
    (tmp_path / "pickle.npz").write_bytes(_evil_pickle(marker))
    with pytest.raises(ModelFileError, match="a Python pickle \\(deeplayers never unpickles files\\)"):
        dl.load(tmp_path / "pickle.npz")
    assert not marker.exists()
    # control: the payload does run when unpickled, so the test would notice
    pickle.loads(_evil_pickle(marker)).close()
    assert marker.exists()


def test_unexpected_members_are_refused(tmp_path, good):
    members = _members(good)
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as zf:
        for name, data in members.items():
            zf.writestr(name + ".npy", data)
        zf.writestr("../../etc/passwd", b"root")
    with pytest.raises(ModelFileError, match="unexpected member '../../etc/passwd'"):
        dl.load(tmp_path / "x.npz")


def test_mutated_files_only_raise_model_file_errors(tmp_path, good):
    """Fuzz: random byte flips, cuts and insertions never escape as anything but ModelFileError."""
    data = good.read_bytes()
    rng = np.random.RandomState(0)
    path = tmp_path / "fuzz.npz"
    loaded = 0
    for trial in range(150):
        b = bytearray(data)
        action = trial % 3
        if action == 0:
            for _ in range(rng.randint(1, 4)):
                b[rng.randint(len(b))] ^= 1 << rng.randint(8)
        elif action == 1:
            b = b[: rng.randint(len(b))]
        else:
            i = rng.randint(len(b))
            b[i:i] = rng.bytes(rng.randint(1, 20))
        path.write_bytes(bytes(b))
        try:
            dl.load(path)
            loaded += 1  # a flip in zip padding/metadata that changes nothing we read
        except ModelFileError:
            pass
    assert loaded < 150


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    dims=st.lists(st.integers(1, 6), min_size=2, max_size=5),
    hidden=st.sampled_from(["relu", "tanh", "sigmoid", "leaky_relu", "linear"]),
    output=st.sampled_from(["sigmoid", "softmax", "linear"]),
    dtype=st.sampled_from(["float32", "float64"]),
    seed=st.integers(0, 2**16),
)
def test_property_round_trip(tmp_path, dims, hidden, output, dtype, seed):
    if output == "softmax":
        dims[-1] = max(2, dims[-1])  # a softmax over one unit is refused (always 1)
    net = dl.Network(dims, hidden=hidden, output=output, seed=seed, dtype=dtype, init="xavier")
    for layer in net.layers:
        layer.b[:] = np.random.RandomState(seed).randn(*layer.b.shape)
    path = tmp_path / "p.npz"
    dl.save(net, path)
    back = dl.load(path).network
    X = np.random.RandomState(seed).randn(dims[0], 7)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(net.parameters.values(), back.parameters.values(),
                                                          strict=True))
    assert np.array_equal(back.predict_proba(X), net.predict_proba(X))


# -- scikit-learn estimators ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def iris():
    sklearn_datasets = pytest.importorskip("sklearn.datasets")
    return sklearn_datasets.load_iris(return_X_y=True)


def _estimator_cases(X, y):
    sk = pytest.importorskip("deeplayers.sklearn")
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    multilabel = np.stack([y == 0, y == 2, X[:, 0] > 5.8], axis=1).astype(int)
    return [
        (sk.DNNClassifier((8,), epochs=15, random_state=0, class_weight={"setosa": 2.0, "versicolor": 1.0,
                                                                          "virginica": 1.0}), names),
        (sk.DNNClassifier((6, 4), activation=("tanh", "relu"), epochs=10, random_state=1, optimizer="momentum",
                          dtype="float64"), y == 1),
        (sk.DNNClassifier((5,), epochs=10, random_state=2, optimizer=dl.Adam(0.01, beta1=0.8), learning_rate=None), multilabel),
        (sk.DNNRegressor((8,), epochs=10, random_state=3, dtype="float64"), X[:, 0]),
        (sk.DNNRegressor((8,), epochs=10, random_state=4, lr_schedule=("cosine", {"min_fraction": 0.1})), X[:, :2]),
    ]


def test_estimators_round_trip_and_keep_training_identically(tmp_path, iris):
    X, y = iris
    for i, (est, target) in enumerate(_estimator_cases(X, y)):
        est.fit(X, target)
        path = tmp_path / f"est{i}.npz"
        header = dl.save(est, path)
        assert header["kind"] == "estimator" and header["estimator"]["class"] == type(est).__name__
        back = dl.load(path)
        assert type(back) is type(est)
        assert np.array_equal(back.predict(X), est.predict(X))
        if hasattr(est, "predict_proba"):
            assert np.array_equal(back.predict_proba(X), est.predict_proba(X))
            assert np.array_equal(back.classes_, est.classes_) and back.classes_.dtype == est.classes_.dtype
        p1, p2 = est.get_params(), back.get_params()
        if isinstance(p1["optimizer"], dl.Adam):
            assert type(p2["optimizer"]) is dl.Adam and p2["optimizer"].beta1 == 0.8
            p1.pop("optimizer"), p2.pop("optimizer")
        assert p1 == p2
        assert back.loss_curve_ == est.loss_curve_ and back.n_iter_ == est.n_iter_
        # warm start from the file continues exactly as the live estimator does (RNG + optimizer state)
        est.set_params(warm_start=True, epochs=3)
        back.set_params(warm_start=True, epochs=3)
        est.fit(X, target)
        back.fit(X, target)
        for a, b in zip(est.network_.parameters.values(), back.network_.parameters.values(), strict=True):
            assert np.array_equal(a, b)


def test_estimator_files_are_checked(tmp_path, iris):
    sk = pytest.importorskip("deeplayers.sklearn")
    X, y = iris
    from deeplayers.errors import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        dl.save(sk.DNNClassifier(), tmp_path / "u.npz")
    # a schedule given as a function is code, which a model file never stores
    fn = sk.DNNClassifier((4,), epochs=2, random_state=0, lr_schedule=lambda e, lr0: lr0).fit(X, y)
    with pytest.raises(ConfigError, match="cannot save estimator parameter lr_schedule=<function"):
        dl.save(fn, tmp_path / "fn.npz")
    assert not (tmp_path / "fn.npz").exists()
    est = sk.DNNClassifier((4,), epochs=3, random_state=0).fit(X, y)
    path = tmp_path / "e.npz"
    dl.save(est, path)
    members, header = _members(path), _header(path)
    bad = [
        ({**header, "estimator": {**header["estimator"], "class": "subprocess.Popen"}},
         "estimator class 'subprocess.Popen' is not one of DNNClassifier, DNNRegressor"),
        ({**header, "estimator": {**header["estimator"], "params": {"evil": 1}}},
         "unknown DNNClassifier parameters \\['evil'\\]"),
        ({**header, "estimator": {**header["estimator"], "params": {"optimizer": {"__import__": "os"}}}},
         "unknown encoding"),
    ]
    fitted = dict(header["estimator"]["fitted"])
    fitted["classes_"] = {"dtype": "<i8", "values": [0, 1]}
    bad.append(({**header, "estimator": {**header["estimator"], "fitted": fitted}},
                "2 classes \\(binary\\)|do not give the recorded target type"))
    for i, (hdr, message) in enumerate(bad):
        p = tmp_path / f"bad{i}.npz"
        _write_zip(p, _with_header(members, hdr))
        with pytest.raises(ModelFileError, match=message):
            dl.load(p)


def test_module_never_unpickles():
    source = Path(_atomic.__file__).read_text() + Path(dl.modelfile.__file__).read_text()
    assert "allow_pickle=True" not in source and "pickle.load" not in source


@pytest.mark.skipif(os.name != "posix", reason="kill -9 is POSIX")
def test_kill_9_during_save_leaves_a_whole_model(tmp_path):
    """A process saving in a loop is killed at random moments: the file is always a whole model."""
    import signal
    import subprocess
    import sys
    import time

    path = tmp_path / "model.npz"
    dims = [400, 300, 1]  # ~1 MB per file, so a kill often lands inside a write
    child = (
        "import sys, deeplayers as dl\n"
        f"nets = [dl.Network({dims}, seed=s) for s in (1, 2, 3)]\n"
        f"dl.save(nets[0], {str(path)!r})\n"
        "print('ready', flush=True)\n"
        "i = 0\n"
        "while True:\n"
        f"    dl.save(nets[1 + i % 2], {str(path)!r}); i += 1\n"
    )
    known = [dl.Network(dims, seed=s).parameters["W1"] for s in (1, 2, 3)]
    rng = np.random.RandomState(0)
    for _ in range(2):
        proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "ready"
            time.sleep(0.05 + 0.25 * rng.rand())
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            proc.stdout.close()
        W1 = dl.load(path).network.parameters["W1"]  # never a mix, never a ModelFileError
        assert any(np.array_equal(W1, k) for k in known)


def test_class_labels_are_distinct_and_keep_their_types():
    """Duplicate labels were accepted, and mixed labels [1, "b", 2.5] came back as strings."""
    net = dl.Network([2, 3, 3], output="softmax", seed=0)
    with pytest.raises(dl.ConfigError, match=r"labels must differ from each other; 'a' is there twice in \['a', 'a', 'b'\]"):
        dl.Model(net, classes=["a", "a", "b"])
    X = np.random.default_rng(0).standard_normal((2, 40))
    got = dl.Model(net, classes=[1, "b", 2.5]).predict(X)
    want = np.argmax(net.predict_proba(X), axis=0)
    assert [type(v) for v in got[0]] == [(int, str, float)[i] for i in want]
    assert list(got[0]) == [[1, "b", 2.5][i] for i in want]


def test_saving_to_a_directory_or_unwritable_place_names_the_path_asked_for(tmp_path):
    """save(net, folder) once failed with the temporary file's name, made in the folder's parent."""
    net = dl.Network([3, 4, 1], seed=0)
    with pytest.raises(IsADirectoryError, match=rf"^cannot write {tmp_path}: it is a directory; name a file"):
        dl.save(net, tmp_path)
    assert sorted(p.name for p in tmp_path.parent.iterdir() if p.name.endswith(".tmp")) == []
    with pytest.raises(FileNotFoundError, match=r"^cannot write /proc/x\.npz: no such file or directory in /proc$"):
        dl.save(net, "/proc/x.npz")


def test_a_value_json_cannot_hold_is_named_before_anything_is_written(tmp_path):
    net = dl.Network([3, 4, 1], seed=0)
    with pytest.raises(dl.ConfigError, match=r"hyperparameters\['f'\] cannot be written to a model file \(function "
                       r"<function .* is not JSON-serializable\); give JSON values"):
        dl.save(net, tmp_path / "m.npz", hyperparameters={"lr": 0.1, "f": lambda x: x})
    with pytest.raises(dl.ConfigError, match="metadata must be a dict, got list"):
        dl.save(net, tmp_path / "m.npz", metadata=[1])
    assert list(tmp_path.iterdir()) == []
