"""CSV label columns and headers as pandas writes them, missing labels, duplicate names, and NaN
located in HDF5/NPZ features and in preprocessing statistics (the tester's A2-A4, C2, C7, C10).

Values are checked against an independent reading of the same file with pandas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from deeplayers.datasets import csv_header, load_csv, load_dataset
from deeplayers.errors import ConfigError, DataError, ShapeError
from deeplayers.preprocessing import Preprocessing

pd = pytest.importorskip("pandas")


def _moons(m: int = 100) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.RandomState(0)
    return rng.randn(m, 2), rng.randint(0, 2, m)


# -- A2: --labels N against columns named "0", "1", ... ---------------------------------------------
@pytest.fixture
def indexed_csv(tmp_path: Path) -> Path:
    """pandas' default column names 0, 1, 2 after a named index column (header ``id,0,1,2``; an
    unnamed index, pandas' default, is refused as the row index: see the A1 tests below)."""
    X, y = _moons()
    path = tmp_path / "indexed.csv"
    pd.DataFrame(np.c_[X, y]).to_csv(path, index_label="id")
    assert path.read_text().splitlines()[0] == "id,0,1,2"
    return path


def test_a_label_name_that_is_a_number_is_the_name(indexed_csv: Path) -> None:
    ref = pd.read_csv(indexed_csv)
    ds = load_dataset(indexed_csv, labels="2")
    assert ds.label_name == "2" and ds.feature_names == ["id", "0", "1"]
    assert np.array_equal(ds.y, ref["2"].to_numpy().astype(int))
    assert np.array_equal(ds.X, ref[["id", "0", "1"]].to_numpy().T)
    # an integer string that names no column is still an index
    assert load_dataset(indexed_csv, labels="-3").label_name == "0"


def test_an_index_that_is_also_another_columns_name_is_ambiguous(indexed_csv: Path) -> None:
    # the command line hands --labels 2 over as the integer 2
    for labels in (2, np.int64(2)):
        with pytest.raises(DataError, match=r"indexed.csv: labels=2 is ambiguous: column 4 is named '2', but "
                                            r"0-based index 2 is column 3 \('1'\); say which with a negative index: "
                                            r"labels=-1 for the column named '2', labels=-2 for the column at "
                                            r"that index \(or rename the columns\)"):
            load_dataset(indexed_csv, labels=labels)
    ref = pd.read_csv(indexed_csv)
    by_name, by_index = load_dataset(indexed_csv, labels=-1), load_dataset(indexed_csv, labels=-2)
    assert by_name.label_name == "2" and np.array_equal(by_name.y, ref["2"].to_numpy())
    assert by_index.label_name == "1" and np.array_equal(by_index.y, ref["1"].to_numpy())
    # no other column is named 3: index 3 is the column named "2", unambiguously
    assert load_dataset(indexed_csv, labels=3).label_name == "2"


@pytest.mark.parametrize("labels, message", [
    (True, r"labels=True names no column; give the label column's header name or 0-based index, None for the "
           r"last column, or False for no labels"),
    (np.True_, r"labels=True names no column"),
    (1.0, r"labels=1.0 \(float\) is no column; give the label column's header name or 0-based integer index"),
    (np.float64(2.5), r"labels=np.float64\(2.5\) \(float64\) is no column"),
])
def test_true_and_floats_are_no_label_column(tmp_path: Path, labels: object, message: str) -> None:
    path = tmp_path / "ok.csv"
    path.write_text("a,b,y\n1,2,0\n3,4,1\n")
    with pytest.raises(ConfigError, match=f"ok.csv: {message}"):
        load_dataset(path, labels=labels)
    assert load_dataset(path, labels=np.False_).y is None


# -- A3: a header of numbers ------------------------------------------------------------------------
def test_pandas_default_names_above_decimals_are_a_header(tmp_path: Path) -> None:
    X, y = _moons()
    path = tmp_path / "numhdr.csv"
    pd.DataFrame(np.c_[X, y]).to_csv(path, index=False)  # header 0,1,2; labels written 0.0 / 1.0
    ref = pd.read_csv(path)
    ds = load_dataset(path)
    assert ds.m == 100 and ds.feature_names == ["0", "1"] and ds.label_name == "2"
    assert np.array_equal(ds.X, ref[["0", "1"]].to_numpy().T) and np.array_equal(ds.y, y)
    t = ds.targets()
    assert t.output == "sigmoid" and t.classes == [0, 1]
    assert csv_header(path) == ["0", "1", "2"]


def test_pandas_default_names_above_whole_number_classes_are_a_header(tmp_path: Path) -> None:
    rng = np.random.RandomState(1)
    path = tmp_path / "ints.csv"
    pd.DataFrame(np.c_[rng.randint(0, 17, (60, 4)), rng.randint(0, 3, 60)]).to_csv(path, index=False)
    ref = pd.read_csv(path)
    ds = load_dataset(path)  # the label column holds 0, 1, 2 but never 4: the first row is no sample
    assert ds.m == 60 and ds.label_name == "4" and np.array_equal(ds.y, ref["4"].to_numpy())
    assert np.array_equal(ds.X, ref[["0", "1", "2", "3"]].to_numpy().T)
    assert csv_header(path) == ["0", "1", "2", "3", "4"]


def test_a_first_row_that_cannot_be_told_from_a_sample_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "amb.csv"
    path.write_text("0,1,2\n3,4,1\n5,6,2\n0,2,1\n")
    message = (r"amb.csv: cannot tell whether line 1 \(0, 1, 2\) holds column names or a sample: pandas names "
               r"columns 0, 1, 2, ... by default, but the whole numbers below fit it as a sample too; pass "
               r"header=True or header=False")
    with pytest.raises(DataError, match=message):
        load_dataset(path)
    with pytest.raises(DataError, match=message):
        csv_header(path)
    ref = np.loadtxt(path, delimiter=",")
    ds = load_csv(path, header=False)
    assert np.array_equal(ds.X, ref[:, :2].T) and np.array_equal(ds.y, ref[:, 2])
    assert load_csv(path, header=True).m == 3
    # a first row that is not 0, 1, ..., k-1 in order stays a sample, as before
    (tmp_path / "data.csv").write_text("0,2,1\n3,4,1\n")
    assert load_dataset(tmp_path / "data.csv").m == 2


# -- A4: a missing label ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, where, what", [
    ("a,b,label\n1,2,0\n3,4,1\n5,6,\n7,8,1\n", "line 4, column 3 \\('label'\\)", "is empty \\(a missing label\\)"),
    ("a,b,label\n1,2,x\n3,4,\n", "line 3, column 3 \\('label'\\)", "is empty \\(a missing label\\)"),
    ("1,2,0\n3,4,nan\n", "line 2, column 3", "holds 'nan' \\(a missing or infinite label\\)"),
])
def test_a_missing_label_is_refused_with_line_and_column(tmp_path: Path, text: str, where: str, what: str) -> None:
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(DataError, match=f"m.csv: {where}, the label column, {what}; drop that row or fill in its "
                                        "label"):
        load_dataset(path)


def test_a_missing_label_in_a_chosen_column(tmp_path: Path) -> None:
    path = tmp_path / "mid.csv"
    path.write_text("a,label,b\n1,0,2\n3,,4\n")
    with pytest.raises(DataError, match=r"line 3, column 2 \('label'\), the label column, is empty"):
        load_dataset(path, labels="label")


# -- C7: a column name used twice -------------------------------------------------------------------
def test_a_column_name_used_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("a,a,label\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"dup.csv: the column name 'a' appears twice \(columns 1 and 2\); feature "
                                        r"columns are matched to the model's by name, so each name must be unique"):
        load_dataset(path)
    (tmp_path / "blank.csv").write_text(",,label\n1,2,0\n3,4,1\n")
    with pytest.raises(DataError, match=r"two columns have no name \(columns 1 and 2\)"):
        load_dataset(tmp_path / "blank.csv")


# -- C2: the transposed-X hint ----------------------------------------------------------------------
def test_the_transposed_hint_is_a_sentence_of_its_own_and_the_command_line_says_it_of_the_file(
        tmp_path: Path) -> None:
    import deeplayers as dl
    from deeplayers.cli import cli_message

    pre = Preprocessing("standard").fit(np.random.RandomState(0).randn(30, 169))
    with pytest.raises(ShapeError) as info:
        pre.transform(np.ones((169, 30)))
    assert str(info.value) == ("X has 169 features (rows) but the preprocessing was fitted on 30; give X as (n[0], m) "
                               "= (30, m). Samples go in columns: X (169, 30) looks transposed, did you mean X.T?")
    # on the command line there is no X to transpose: the file holds samples as columns, and it says how to save it
    npz = ("the model expects 30 features, cols.npz has 169. cols.npz seems to hold samples as columns, (30, 169) = "
           "(n[0], m); the command line reads an .npz's X as rows, (m, n[0]), unless labels y stored with it (one per "
           "sample) show it the other way round: save X transposed, or store y with it")
    assert cli_message(str(info.value), data="cols.npz") == npz
    assert cli_message(str(info.value), data="cols.npy").endswith(
        "cols.npy seems to hold samples as columns, (30, 169) = (n[0], m); the command line reads an .npy as rows, "
        "(m, n[0]): save the array transposed")
    assert cli_message(str(info.value), data="t.csv").endswith(
        "t.csv seems to hold samples as columns (30 rows, one per feature); a CSV holds one sample per row: write the "
        "file transposed")
    # a model saved without preprocessing says it in its own words (modelfile.Model.transform): the same translation
    dl.save(dl.Network([30, 2, 1], seed=0), tmp_path / "bare.npz")
    with pytest.raises(ShapeError) as info:
        dl.load(tmp_path / "bare.npz").predict_proba(np.ones((169, 30)))
    assert "did you mean X.T?" in str(info.value)
    assert cli_message(str(info.value), data="cols.npz") == npz
    # a mismatch without the hint stays as it was
    assert cli_message("X has 10 features (rows) but the preprocessing was fitted on 13; give X as (n[0], m) = "
                       "(13, m)", data="new.csv") == "the model expects 13 features, new.csv has 10"


# -- C10: NaN located ------------------------------------------------------------------------------
def test_nan_in_hdf5_and_npz_features_is_located(tmp_path: Path) -> None:
    h5py = pytest.importorskip("h5py")
    X = np.arange(24, dtype=np.float64).reshape(4, 6)  # 4 samples (rows in the file), 6 features
    X[2, 5] = np.nan
    with h5py.File(tmp_path / "nan.h5", "w") as f:
        f["train_set_x"], f["train_set_y"] = X, np.array([0, 1, 0, 1])
    with pytest.raises(DataError, match=r"nan.h5\[train_set_x\]: sample 2 \(0-based\), feature 5 is nan \(NaN or "
                                        r"infinity\); clean or impute it, or drop that sample"):
        load_dataset(tmp_path / "nan.h5")
    X[2, 5], X[3, 0] = 1.0, -np.inf
    np.savez(tmp_path / "inf.npz", X=X, y=np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match=r"inf.npz\[X\]: sample 3 \(0-based\), feature 0 is -inf"):
        load_dataset(tmp_path / "inf.npz")


def test_preprocessing_statistics_name_the_bad_value() -> None:
    X = np.ones((3, 5000))
    X[1, 4100] = np.nan  # in the second chunk of columns
    with pytest.raises(DataError, match=r"^X contains NaN or infinity \(first at \[1, 4100\]: feature 1 of sample "
                                        r"4100, 0-based\), so its statistics are undefined; clean the data first$"):
        Preprocessing("standard").fit(X)
    big = np.array([[1.0, 2.0, 3.0], [1e300, -1e300, 1e300]])
    with pytest.raises(DataError, match=r"the statistics of feature 1 overflow float64 \(its values reach 1e\+300\); "
                                        r"rescale that feature first"):
        Preprocessing("standard").fit(big)


# -- pandas' row index written as a column ----------------------------------------------------------
def _frame(m: int = 60) -> Any:
    X, y = _moons(m)
    return pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "y": y})


@pytest.mark.parametrize("write, what", [
    (lambda df, p: df.to_csv(p), r"column 1 has no name and holds 0, 1, \.\.\., 59 in order"),
    # the index a shuffle or a train/test split leaves: as much a row number
    (lambda df, p: df.sample(frac=0.5, random_state=0).to_csv(p),
     r"column 1 has no name and holds a different whole number on every row"),
    # read back by pandas and written again without its index: pandas named the old index 'Unnamed: 0'
    (lambda df, p: (df.to_csv(p), pd.read_csv(p).to_csv(p, index=False)),
     r"column 1 has no name \('Unnamed: 0', pandas' name for a column it read without a name\) and holds 0, 1"),
])
def test_pandas_row_index_is_refused_as_a_feature(tmp_path: Path, write: Any, what: str) -> None:
    path = tmp_path / "indexed.csv"
    write(_frame(), path)
    with pytest.raises(DataError, match=f"indexed.csv: {what}.*: the row index pandas writes with DataFrame.to_csv, "
                                        r"not a feature \(a model would learn the row number\); write the file with "
                                        r"to_csv\(\.\.\., index=False\), or drop that column"):
        load_dataset(path)
    with pytest.raises(DataError, match="the row index pandas writes"):
        load_dataset(path, labels=False)


def test_without_the_index_or_with_an_unnamed_column_of_other_values_the_file_is_read(tmp_path: Path) -> None:
    df = _frame()
    df.to_csv(tmp_path / "plain.csv", index=False)
    ref = pd.read_csv(tmp_path / "plain.csv")
    ds = load_dataset(tmp_path / "plain.csv")
    assert ds.feature_names == ["a", "b"] and np.array_equal(ds.X, ref[["a", "b"]].to_numpy().T)
    assert np.array_equal(ds.y, ref["y"].to_numpy())
    # an unnamed column of decimals, or of whole numbers that repeat, is no row index: it stays a feature
    for values in (df["a"].to_numpy() * 3, np.arange(60) % 7):
        df.assign(**{"": values})[["", "a", "b", "y"]].to_csv(tmp_path / "unnamed.csv", index=False)
        ref = pd.read_csv(tmp_path / "unnamed.csv")
        ds = load_dataset(tmp_path / "unnamed.csv")
        assert ds.feature_names == ["", "a", "b"]
        assert np.array_equal(ds.X, ref[["Unnamed: 0", "a", "b"]].to_numpy().T)
    # a named column of row numbers is the user's choice of feature
    df.to_csv(tmp_path / "id.csv", index_label="id")
    assert load_dataset(tmp_path / "id.csv").feature_names == ["id", "a", "b"]
