"""Shared fixtures: the real data sets in ../shared/data (read-only, beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
#: the shared data: ../shared beside the repository, or the folder named by DEEPLAYERS_SHARED
SHARED = Path(os.environ.get("DEEPLAYERS_SHARED", REPO.parent / "shared")) / "data"
CAT_DIR = SHARED / "catvnoncat"
MNIST_DIR = SHARED / "mnist"


def in_ci() -> bool:
    """CI=true (or 1, yes), as CI services set it."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def need_shared(path: Path) -> Path:
    """``path`` (under the shared data) if it exists. Otherwise the test is skipped, saying how to
    run it; in CI (``CI=true``) it fails instead, so a missing ../shared can never pass unnoticed."""
    if not path.exists():
        how = (f"needs the shared data at {path}: put the shared/ folder beside the repository "
               f"({REPO.parent / 'shared'}) or set DEEPLAYERS_SHARED to the folder that holds data/")
        if in_ci():
            pytest.fail(f"{how} (CI=true: missing shared data fails instead of skipping)", pytrace=False)
        pytest.skip(how)
    return path


@pytest.fixture(scope="session")
def cat_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's cat data as the course prepares it: X (12288, m) / 255, Y (1, m)."""
    d = need_shared(CAT_DIR)
    h5py = pytest.importorskip("h5py")
    with h5py.File(d / "train_catvnoncat.h5", "r") as f:
        X = f["train_set_x"][:].reshape(209, -1).T / 255.0
        Y = f["train_set_y"][:].reshape(1, -1)
    with h5py.File(d / "test_catvnoncat.h5", "r") as f:
        Xt = f["test_set_x"][:].reshape(50, -1).T / 255.0
        Yt = f["test_set_y"][:].reshape(1, -1)
    return X, Y, Xt, Yt


@pytest.fixture(scope="session")
def cat_dir() -> Path:
    """The folder of the course's cat HDF5 files (train_catvnoncat.h5, test_catvnoncat.h5)."""
    return need_shared(CAT_DIR)


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The MNIST IDX folder (train-*/t10k-* files)."""
    return need_shared(MNIST_DIR)
