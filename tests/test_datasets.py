"""Data loaders on real files (MNIST IDX, the course's cat HDF5) and on small damaged files."""

from __future__ import annotations

import gzip
import io
import pickle
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest

import deeplayers as dl
from deeplayers.datasets import (
    BUILTINS,
    Dataset,
    encode_labels,
    load_csv,
    load_dataset,
    load_idx,
    load_mnist,
    load_npz,
    to_columns,
)
from deeplayers.errors import ConfigError, DataError

# -- MNIST (IDX) -----------------------------------------------------------------------------------
# label counts of the MNIST test set (published with the data set; also in many papers' tables)
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_mnist_idx_directory(mnist_dir):
    ds = load_dataset(mnist_dir, split="test")
    assert isinstance(ds, Dataset)
    assert ds.X.shape == (784, 10_000) and ds.X.dtype == np.float64
    assert ds.y.shape == (10_000,) and np.bincount(ds.y).tolist() == MNIST_TEST_COUNTS
    assert ds.classes == list(range(10)) and ds.image_shape == (28, 28) and ds.source_dtype == "uint8"
    images, labels = load_mnist(mnist_dir, "test")
    # the course's flattening: column i is image i in C order
    assert np.array_equal(ds.X[:, 7], images[7].reshape(-1)) and ds.X.max() == 255
    assert np.array_equal(ds.X[:, -3:], to_columns(images[-3:], scale=None))
    t = ds.targets()
    assert t.output == "softmax" and t.Y.shape == (10, 10_000) and t.classes == list(range(10))
    assert np.array_equal(np.argmax(t.Y, axis=0), labels) and np.all(t.Y.sum(axis=0) == 1)
    assert ds.suggest_preprocessing().to_dict() == {"type": "divide", "value": 255.0}


def test_single_idx_files_with_labels(tmp_path, mnist_dir):
    images, labels = load_mnist(mnist_dir, "test")
    # raw (uncompressed) IDX files holding the first 100 test images, written by hand from the format
    (tmp_path / "imgs-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + np.array([100, 28, 28], ">u4").tobytes()
                                              + images[:100].tobytes())
    (tmp_path / "labs-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + np.array([100], ">u4").tobytes()
                                              + labels[:100].tobytes())
    ds = load_dataset(tmp_path / "imgs-idx3-ubyte", labels=tmp_path / "labs-idx1-ubyte")
    assert ds.X.shape == (784, 100) and ds.image_shape == (28, 28)
    assert np.array_equal(ds.X, images[:100].reshape(100, -1).T) and np.array_equal(ds.y, labels[:100])


def test_damaged_idx_files(tmp_path, mnist_dir):
    raw = gzip.decompress((mnist_dir / "t10k-labels-idx1-ubyte.gz").read_bytes())
    assert raw[:4] == b"\x00\x00\x08\x01"  # magic 2049: ubyte, one dimension
    cases = {
        "magic-idx1-ubyte": (b"\x1f\x00\x08\x01" + raw[4:], "not an IDX file \\(bad magic number 1f000801"),
        "type-idx1-ubyte": (b"\x00\x00\x07\x01" + raw[4:], "unknown IDX value type 0x07"),
        "short-idx1-ubyte": (raw[:1000], "IDX data is truncated: header says \\(10000,\\) values \\(10000 bytes\\), "
                                         "the file holds 992 bytes"),
        "long-idx1-ubyte": (raw + b"\x00", "IDX data is too long"),
        "header-idx1-ubyte": (raw[:6], "IDX header is truncated"),
    }
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(DataError, match=message):
            load_idx(tmp_path / name)
    gz = gzip.compress(raw)
    (tmp_path / "cut-idx1-ubyte.gz").write_bytes(gz[: len(gz) // 2])
    with pytest.raises(DataError, match="cannot decompress .* damaged or truncated"):
        load_dataset(tmp_path / "cut-idx1-ubyte.gz")
    # a directory whose images and labels do not pair up
    d = tmp_path / "mnist"
    d.mkdir()
    (d / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + np.array([2, 2, 2], ">u4").tobytes() + bytes(8))
    (d / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + np.array([3], ">u4").tobytes() + bytes(3))
    with pytest.raises(DataError, match="2 images of shape \\(2, 2\\) do not pair with 3 labels"):
        load_dataset(d, split="test")
    with pytest.raises(FileNotFoundError, match="no train-images-idx3-ubyte or train-images-idx3-ubyte.gz"):
        load_dataset(d)


# -- the course's cat files (HDF5) ---------------------------------------------------------------
def test_cat_h5_files(cat_data, cat_dir):
    X, Y, Xt, Yt = cat_data
    train = load_dataset(cat_dir / "train_catvnoncat.h5")
    test = load_dataset(cat_dir / "test_catvnoncat.h5")
    assert train.X.shape == (12288, 209) and test.X.shape == (12288, 50)
    assert np.array_equal(train.X / 255.0, X) and np.array_equal(test.X / 255.0, Xt)  # the course's numbers
    assert np.array_equal(train.y, Y[0]) and int(train.y.sum()) == 72 and int(test.y.sum()) == 33
    assert train.classes == ["non-cat", "cat"] and train.image_shape == (64, 64, 3)
    t = train.targets()
    assert t.output == "sigmoid" and t.classes == ["non-cat", "cat"] and np.array_equal(t.Y, Y)
    pre = train.suggest_preprocessing()
    assert np.array_equal(pre.transform(train.X), X)


def test_h5_problems(tmp_path):
    h5py = pytest.importorskip("h5py")
    with h5py.File(tmp_path / "nolabels.h5", "w") as f:
        f["train_set_x"] = np.zeros((3, 2, 2, 3), np.uint8)
    with pytest.raises(DataError, match="no labels dataset 'train_set_y' to go with 'train_set_x'; the file holds: "
                                         "train_set_x"):
        load_dataset(tmp_path / "nolabels.h5")
    with h5py.File(tmp_path / "nox.h5", "w") as f:
        f["list_classes"] = np.array([b"a", b"b"])
    with pytest.raises(DataError, match="no features dataset .*the file holds: list_classes"):
        load_dataset(tmp_path / "nox.h5")
    with h5py.File(tmp_path / "both.h5", "w") as f:
        for s, m in (("train", 4), ("test", 2)):
            f[f"{s}_set_x"] = np.arange(m * 12, dtype=np.uint8).reshape(m, 2, 2, 3)
            f[f"{s}_set_y"] = np.arange(m) % 2
    # a file holding both parts gives the training part by default (issue 11), as the CLI's --split help says
    ds = load_dataset(tmp_path / "both.h5")
    assert ds.X.shape == (12, 4) and ds.name == "both.h5:train" and np.array_equal(ds.y, np.arange(4) % 2)
    with h5py.File(tmp_path / "several.h5", "w") as f:  # several parts but no training part: say so
        for s in ("dev", "test"):
            f[f"{s}_set_x"] = np.zeros((2, 3))
            f[f"{s}_set_y"] = np.zeros(2)
    with pytest.raises(DataError, match="holds several sets .*choose one with split"):
        load_dataset(tmp_path / "several.h5")
    ds = load_dataset(tmp_path / "both.h5", split="test")
    assert ds.X.shape == (12, 2) and np.array_equal(ds.X[:, 1], np.arange(12, 24))
    with h5py.File(tmp_path / "mismatch.h5", "w") as f:
        f["train_set_x"] = np.zeros((3, 4))
        f["train_set_y"] = np.zeros(2)
    with pytest.raises(DataError, match="2 labels in 'train_set_y' for 3 samples"):
        load_dataset(tmp_path / "mismatch.h5")
    (tmp_path / "fake.h5").write_text("not hdf5")
    with pytest.raises(DataError, match="not a readable HDF5 file"):
        load_dataset(tmp_path / "fake.h5")


# -- CSV -------------------------------------------------------------------------------------------
def test_csv_variants(tmp_path):
    ref = np.array([[5.1, 3.5, 1.4], [4.9, 3.0, 1.3], [6.2, 2.9, 4.3], [5.9, 3.0, 5.1]])
    labels = ["setosa", "setosa", "versicolor", "virginica"]
    body = "\n".join(",".join(f"{v:g}" for v in r) + f",{c}" for r, c in zip(ref, labels, strict=True))
    (tmp_path / "h.csv").write_text("sepal_l,sepal_w,petal_l,species\n" + body + "\n")
    ds = load_dataset(tmp_path / "h.csv")
    assert np.array_equal(ds.X, ref.T) and ds.y.tolist() == labels
    assert ds.feature_names == ["sepal_l", "sepal_w", "petal_l"] and ds.name == "h.csv"
    t = ds.targets()
    assert t.output == "softmax" and t.classes == ["setosa", "versicolor", "virginica"]
    assert np.array_equal(t.Y, np.array([[1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]))
    # a named label column in the middle
    (tmp_path / "m.csv").write_text("a,target,b\n1,0,2\n3,1,4\n")
    ds = load_dataset(tmp_path / "m.csv", labels="target")
    assert ds.feature_names == ["a", "b"] and np.array_equal(ds.X, [[1, 3], [2, 4]]) and ds.y.tolist() == [0, 1]
    # no header, numeric labels last, semicolons (sniffed), blank line and spaces tolerated
    (tmp_path / "n.csv").write_text("1; 2; 0\n\n3; 4; 1\n5; 6; 1\n")
    ds = load_dataset(tmp_path / "n.csv")
    assert ds.feature_names is None and np.array_equal(ds.X, [[1, 3, 5], [2, 4, 6]])
    assert ds.y.dtype == np.int64 and ds.y.tolist() == [0, 1, 1]
    assert ds.targets().output == "sigmoid"
    # tab separated, label column by index, and no labels at all
    np.savetxt(tmp_path / "t.tsv", np.column_stack([[0, 1, 2], ref[:3]]), delimiter="\t")
    ds = load_dataset(tmp_path / "t.tsv", labels=0)
    assert np.array_equal(ds.X, ref[:3].T) and ds.y.tolist() == [0, 1, 2]
    ds = load_dataset(tmp_path / "t.tsv", labels=False)
    assert ds.y is None and ds.X.shape == (4, 3)
    # quoted cells with commas inside the label
    (tmp_path / "q.csv").write_text('a,b,name\n1,2,"Smith, J"\n3,4,"Doe, A"\n')
    assert load_dataset(tmp_path / "q.csv").y.tolist() == ["Smith, J", "Doe, A"]
    # a float32 X on request
    assert load_dataset(tmp_path / "n.csv", dtype="float32").X.dtype == np.float32


def test_csv_errors(tmp_path):
    cases = {
        "cell.csv": ("a,b,y\n1,2,0\n3,x4,1\n", "line 3, column 2 \\('b'\\) holds 'x4', not a number"),
        "empty_cell.csv": ("1,2,0\n3,4,1\n5,,1\n", "line 3, column 2 is empty \\(a missing value\\)"),
        "nan.csv": ("a,b,y\n1,nan,0\n3,4,1\n", "line 2, column 2 \\('b'\\) holds 'nan' \\(a missing or infinite"),
        "ragged.csv": ("a,b,y\n1,2,0\n3,4\n5,6,1\n", "line 3 has 2 cells but the header has 3 \\(a ragged row"),
        "ragged_nohdr.csv": ("1,2,0\n3,4,1,9\n", "line 2 has 4 cells but the first row has 3"),
        "blank.csv": ("\n\n", "holds no data rows"),
        "onlyheader.csv": ("a,b,y\n", "holds a header but no data rows"),
        "one.csv": ("1\n2\n", "only 1 column, so there is nothing left for features"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(DataError, match=message) as info:
            load_dataset(tmp_path / name)
        assert name in str(info.value)
    (tmp_path / "ok.csv").write_text("a,b,y\n1,2,0\n")
    with pytest.raises(DataError, match="no column named 'label'; the columns are: a, b, y"):
        load_dataset(tmp_path / "ok.csv", labels="label")
    with pytest.raises(DataError, match="label column 7 does not exist; the file has 3 columns"):
        load_csv(tmp_path / "ok.csv", labels=7)
    # a label of inf is refused by the loader with its line and column, without a RuntimeWarning
    (tmp_path / "inf_label.csv").write_text("a,b,y\n1,2,inf\n3,4,1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(DataError, match=r"inf_label.csv: line 2, column 3 \('y'\), the label column, holds "
                                            r"'inf' \(a missing or infinite label\); drop that row or fill in its label"):
            load_dataset(tmp_path / "inf_label.csv")
    (tmp_path / "bin.csv").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(DataError, match="not a UTF-8 text file"):
        load_dataset(tmp_path / "bin.csv")
    (tmp_path / "h.csv").write_text("a,b,species\n1,2,x\n")
    with pytest.raises(DataError, match="line 2, column 3 \\('species'\\) holds 'x', not a number"):
        load_dataset(tmp_path / "h.csv", labels="a")


# -- NPY / NPZ -------------------------------------------------------------------------------------
def test_npy_is_memory_mapped_and_images_flatten_the_course_way(tmp_path):
    rows = np.random.RandomState(0).randn(50, 6)
    np.save(tmp_path / "x.npy", rows)
    np.save(tmp_path / "y.npy", np.arange(50) % 3)
    ds = load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert ds.X.shape == (6, 50) and np.array_equal(ds.X, rows.T)
    assert isinstance(ds.X.base, np.memmap) or isinstance(ds.X.base.base, np.memmap)  # a view, not a copy
    assert not ds.X.flags.writeable and ds.y.tolist() == (np.arange(50) % 3).tolist()
    images = np.random.RandomState(1).randint(0, 256, size=(7, 4, 5, 3)).astype(np.uint8)
    np.save(tmp_path / "img.npy", images)
    ds = load_dataset(tmp_path / "img.npy", labels=np.arange(7) % 2)
    assert ds.image_shape == (4, 5, 3) and ds.X.dtype == np.float64
    assert np.array_equal(ds.X, images.reshape(7, -1).T)  # (h*w*c, m), C order as the course
    assert ds.suggest_preprocessing().to_dict()["type"] == "divide"
    with pytest.raises(DataError, match="5 labels for 7 samples"):
        load_dataset(tmp_path / "img.npy", labels=np.arange(5))


def test_memory_mapped_npy_trains_in_mini_batches_without_loading_it(tmp_path):
    m, n0 = 20_000, 100
    rng = np.random.RandomState(0)
    mm = np.lib.format.open_memmap(tmp_path / "big.npy", mode="w+", dtype=np.float64, shape=(m, n0))
    for start in range(0, m, 5000):  # written in pieces too
        mm[start:start + 5000] = rng.randn(5000, n0)
    w = rng.randn(n0)
    y = (np.asarray(mm) @ w > 0).astype(np.int64)
    mm.flush()
    del mm
    np.save(tmp_path / "labels.npy", y)
    ds = load_dataset(tmp_path / "big.npy", labels=tmp_path / "labels.npy")
    data_bytes = m * n0 * 8  # 16 MB on disk
    Y = ds.targets().Y
    net = dl.Network([n0, 8, 1], seed=0)
    tracemalloc.start()
    history = net.fit(ds.X, Y, epochs=2, batch_size=256, optimizer="adam", learning_rate=0.01)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < data_bytes / 4, f"training allocated {peak:,} bytes for {data_bytes:,} bytes of data"
    assert history.cost[-1] < history.cost[0]
    assert np.mean(net.predict(ds.X[:, :2000]) == Y[:, :2000]) > 0.9


def test_npz_layouts_and_keys(tmp_path):
    rng = np.random.RandomState(0)
    rows, y = rng.randn(30, 4), rng.randint(0, 2, 30)
    np.savez(tmp_path / "rows.npz", X=rows, y=y, feature_names=np.array(list("abcd")), classes=np.array(["no", "yes"]))
    ds = load_dataset(tmp_path / "rows.npz")
    assert np.array_equal(ds.X, rows.T) and np.array_equal(ds.y, y)
    assert ds.feature_names == list("abcd") and ds.classes == ["no", "yes"]
    assert ds.targets().classes == ["no", "yes"]
    # the notation's layout, as a learner would save it: X (n0, m), Y (1, m)
    np.savez(tmp_path / "cols.npz", X=rows.T, Y=y.reshape(1, -1))
    ds = load_dataset(tmp_path / "cols.npz")
    assert np.array_equal(ds.X, rows.T) and np.array_equal(ds.y, y)
    # Keras-style split keys
    np.savez(tmp_path / "split.npz", x_train=rows[:20], y_train=y[:20], x_test=rows[20:], y_test=y[20:])
    assert load_dataset(tmp_path / "split.npz", split="test").X.shape == (4, 10)
    ds = load_dataset(tmp_path / "split.npz")  # both parts: the training part by default (issue 11)
    assert np.array_equal(ds.X, rows[:20].T) and np.array_equal(ds.y, y[:20])
    np.savez(tmp_path / "nox.npz", x_test=rows[20:], y_test=y[20:])
    with pytest.raises(DataError, match="no features array X or x; the archive holds x_test, y_test"):
        load_dataset(tmp_path / "nox.npz")
    with pytest.raises(DataError, match="no labels array 'target'; the archive holds X, y"):
        np.savez(tmp_path / "xy.npz", X=rows, y=y)
        load_npz(tmp_path / "xy.npz", labels="target")
    np.savez(tmp_path / "bad.npz", X=rows, y=y[:10])
    with pytest.raises(DataError, match="10 labels \\(y\\) for 30 samples"):
        load_dataset(tmp_path / "bad.npz")


class Evil:
    marker = ""

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_damaged_and_hostile_numpy_files(tmp_path):
    np.savez(tmp_path / "ok.npz", X=np.ones((5, 3)), y=np.zeros(5))
    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="not a readable NumPy file"):
        load_dataset(tmp_path / "cut.npz")
    np.save(tmp_path / "ok.npy", np.ones((100, 3)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "ok.npy").read_bytes()[:500])
    with pytest.raises(DataError, match="cut.npy: not a readable NumPy file .* truncated"):
        load_dataset(tmp_path / "cut.npy")
    # object arrays (pickles) are never loaded: the payload would create the marker file
    marker = tmp_path / "PWNED"
    Evil.marker = str(marker)
    evil = np.empty(2, dtype=object)
    evil[:] = [Evil(), Evil()]
    np.save(tmp_path / "evil.npy", evil, allow_pickle=True)
    with pytest.raises(DataError, match="holds Python objects \\(a pickle\\); deeplayers never unpickles"):
        load_dataset(tmp_path / "evil.npy", mmap=False)
    with pytest.raises(DataError, match="never unpickles"):
        load_dataset(tmp_path / "evil.npy")
    np.savez(tmp_path / "evil.npz", X=np.ones((2, 3)), y=evil)
    with pytest.raises(DataError, match="array 'y' holds Python objects"):
        load_dataset(tmp_path / "evil.npz")
    assert not marker.exists()
    with pytest.raises(DataError, match="features have dtype <U1; they must be numbers"):
        np.save(tmp_path / "text.npy", np.array([["a", "b"]]))
        load_dataset(tmp_path / "text.npy")


def test_loaders_fuzzed_with_mutated_bytes(tmp_path, mnist_dir):
    """Only the documented exceptions escape the loaders on random damage."""
    sources = {
        "f.csv": b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n",
        "f.npz": io.BytesIO(),
        "f-idx1-ubyte": b"\x00\x00\x08\x01" + np.array([6], ">u4").tobytes() + bytes(range(6)),
    }
    np.savez(sources["f.npz"], X=np.ones((3, 2)), y=np.zeros(3))
    sources["f.npz"] = sources["f.npz"].getvalue()
    rng = np.random.RandomState(0)
    for name, data in sources.items():
        for trial in range(40):
            b = bytearray(data)
            if trial % 2:
                for _ in range(rng.randint(1, 4)):
                    b[rng.randint(len(b))] = rng.randint(256)
            else:
                b = b[: rng.randint(len(b))]
            path = tmp_path / name
            path.write_bytes(bytes(b))
            try:
                load_dataset(path, labels=None if name != "f.csv" else None)
            except (DataError, FileNotFoundError):
                pass


# -- built-ins and dispatch ------------------------------------------------------------------------
def test_builtins_match_scikit_learn():
    skd = pytest.importorskip("sklearn.datasets")
    shapes = {"digits": (64, 1797), "breast_cancer": (30, 569), "iris": (4, 150), "wine": (13, 178),
              "diabetes": (10, 442)}
    outputs = {"digits": "softmax", "breast_cancer": "sigmoid", "iris": "softmax", "wine": "softmax",
               "diabetes": "linear"}
    assert set(BUILTINS) == set(shapes)
    loaded = {}
    for name in BUILTINS:
        ds = loaded[name] = load_dataset(name)
        ref = getattr(skd, f"load_{name}")()
        assert ds.X.shape == shapes[name] and np.array_equal(ds.X, ref.data.T) and np.array_equal(ds.y, ref.target)
        assert ds.targets().output == outputs[name] and len(ds.feature_names) == shapes[name][0]
    assert loaded["digits"].image_shape == (8, 8)
    assert loaded["breast_cancer"].targets().classes == ["malignant", "benign"]
    assert loaded["diabetes"].targets().Y.shape == (1, 442)


def test_dispatch_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a built-in data set name \\(digits, breast_cancer"):
        load_dataset("mnistt")
    (tmp_path / "data.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match="cannot tell the data format from the extension '.xlsx'"):
        load_dataset(tmp_path / "data.xlsx")


# -- labels for an output layer --------------------------------------------------------------------
def test_encode_labels_against_hand_made_targets():
    y = np.array([2, 0, 1, 2])
    t = encode_labels(y, "softmax")
    assert np.array_equal(t.Y, np.array([[0, 1, 0, 0], [0, 0, 1, 0], [1, 0, 0, 1]])) and t.classes == [0, 1, 2]
    t = encode_labels(np.array(["spam", "ham", "spam"]))
    assert t.output == "sigmoid" and t.classes == ["ham", "spam"] and t.Y.tolist() == [[1, 0, 1]]
    t = encode_labels(np.array([0.5, 1.5, 2.25]))
    assert t.output == "linear" and t.Y.tolist() == [[0.5, 1.5, 2.25]]
    t = encode_labels(np.array([[1, 0, 1], [0, 0, 1]]))  # multi-label rows
    assert t.output == "sigmoid" and t.Y.shape == (3, 2)
    t = encode_labels(np.array([1, 2]), "softmax", classes=[2, 1, 0])
    assert t.Y.tolist() == [[0, 1], [1, 0], [0, 0]]


def test_labels_that_do_not_fit_the_output():
    cases = [
        (np.array([0.5, 1.2, 3.0]), "softmax", "sample 0 has the non-integer label 0.5; use output='linear'"),
        (np.array([0, 1, 2]), "sigmoid", "3 classes found \\(\\[0, 1, 2\\]\\) but one sigmoid output unit separates "
                                         "only 2; use output='softmax'"),
        (np.array(["a", "b"]), "linear", "regression needs numeric labels, sample 0 is np.str_\\('a'\\)|sample 0 is 'a'"),
        (np.array([1, 1, 1]), "auto", "only one class \\(\\[1\\]\\)"),
        (np.array([0.0, np.nan]), "auto", "label of sample 1 is nan"),
        (np.array([[0.0, 2.0], [1.0, 0.0]]), "sigmoid", "sigmoid outputs need labels in \\[0, 1\\] \\(found 0 .. 2\\)"),
        (np.array([[1, 1], [1, 0]]), "softmax", "softmax needs one-hot label rows summing to 1; sample 0 sums to 2"),
    ]
    for y, output, message in cases:
        with pytest.raises(DataError, match=message):
            encode_labels(y, output)
    with pytest.raises(DataError, match="label 5 of sample 1 is not one of the classes \\[0, 1\\]"):
        encode_labels(np.array([0, 5]), "sigmoid", classes=[0, 1])
    with pytest.raises(ConfigError, match="output must be 'auto', 'sigmoid', 'softmax' or 'linear'"):
        encode_labels(np.array([0, 1]), "relu")
    ds = Dataset(X=np.ones((2, 2)), y=None, name="nolabels")
    with pytest.raises(DataError, match="nolabels: the data set has no labels"):
        ds.targets()


def test_pickled_labels_file_is_refused(tmp_path):
    marker = tmp_path / "PWNED"
    Evil.marker = str(marker)
    (tmp_path / "y.npy").write_bytes(b"\x93NUMPY" + pickle.dumps(Evil()))  # not even a valid npy header
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    with pytest.raises(DataError, match="y.npy: not a readable NumPy file"):
        load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert not marker.exists()
    assert Path(tmp_path / "x.npy").exists()
