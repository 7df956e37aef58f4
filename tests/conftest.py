"""Shared fixtures: the real data sets in ../shared/data (read-only, beside the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DEEPLAYERS_SHARED", REPO.parent / "shared")) / "data"
CAT_DIR = SHARED / "catvnoncat"
MNIST_DIR = SHARED / "mnist"


def _need(path: Path) -> Path:
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI runs with ../shared beside the repository")
        pytest.skip(f"{path} not present")
    return path


@pytest.fixture(scope="session")
def cat_data() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The course's cat data as the course prepares it: X (12288, m) / 255, Y (1, m)."""
    h5py = pytest.importorskip("h5py")
    d = _need(CAT_DIR)
    with h5py.File(d / "train_catvnoncat.h5", "r") as f:
        X = f["train_set_x"][:].reshape(209, -1).T / 255.0
        Y = f["train_set_y"][:].reshape(1, -1)
    with h5py.File(d / "test_catvnoncat.h5", "r") as f:
        Xt = f["test_set_x"][:].reshape(50, -1).T / 255.0
        Yt = f["test_set_y"][:].reshape(1, -1)
    return X, Y, Xt, Yt


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    return _need(MNIST_DIR)
