"""Data loaders: files in, arrays out, bad files reported clearly.

Samples come back as rows (m, ...) as stored on disk; ``to_columns`` flattens images the
course's way into X of shape (h*w*c, m).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from .errors import DataError

__all__ = ["load_idx", "load_mnist", "to_columns"]

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
    except (OSError, EOFError) as exc:
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
    need = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    have = len(data) - 4 - 4 * ndim
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
        raise ValueError(f"kind must be 'train' or 'test', got {kind!r}")
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
    """Flatten (m, h, w[, c]) to X of shape (h*w*c, m), the course's way (C order, then transpose),
    and divide by ``scale``."""
    X = np.asarray(images).reshape(len(images), -1).T
    return X / scale if scale else X
