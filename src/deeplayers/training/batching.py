"""Mini-batches: shuffled, or in an order the caller gives, gathered into reused buffers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import ConfigError

__all__ = ["_Batches", "_GivenBatches"]

#: the largest X (bytes) that full-batch training copies into the layout its products prefer
FULL_BATCH_COPY_BYTES = 1 << 30
#: the largest epoch (bytes of X and Y) gathered in one call; larger ones are gathered batch by batch
EPOCH_GATHER_BYTES = 1 << 22
#: the largest X (bytes) copied with a row of ones for a joined run (add_ones)
ONES_ROW_BYTES = 1 << 22


class _Batches:
    """Shuffled mini-batches gathered into reused buffers (no allocation per batch).

    An epoch's samples are gathered in one call into rows kept for the run when they are small
    (:data:`EPOCH_GATHER_BYTES`), and each mini-batch is then a slice of those rows: for a small
    network the per-batch gather is a noticeable part of the step. Larger data are gathered batch
    by batch into a buffer of B rows, so no second copy of X is ever held. Either way a batch is the
    same samples in the same layout, so the results are the same to the bit."""

    def __init__(self, X: np.ndarray, Y: np.ndarray, batch_size: int | None, shuffle: bool,
                 w: np.ndarray | None = None, rows: bool = False) -> None:
        self.m = X.shape[1]
        self.full = not rows and (batch_size is None or batch_size >= self.m)
        self.X, self.Y, self.w, self.shuffle = X, Y, w, shuffle
        self.ones_row = False  # each batch's A[0] as [A[0]; 1] (add_ones)
        self.Y_rows: np.ndarray | None = None  # the epoch's Y, gathered as rows in batch order (small data)
        if self.full:
            # Z[1] = W[1] X and dW[1] = dZ[1] X^T, the products that read all of X every iteration, run
            # 10-15% faster with each sample's features contiguous (measured on the course's 12288 x 209
            # X, float64 and float32): a C-ordered X is copied once into that layout
            if not X.flags.f_contiguous and X.nbytes <= FULL_BATCH_COPY_BYTES:
                self.X = np.asfortranarray(X)
            return
        self.B = int(batch_size)
        # gather samples as rows (contiguous copies) and hand the layers A[0] = rows.T
        self.Xr = X.T if X.T.flags.c_contiguous else np.ascontiguousarray(X.T)
        self.Yr = Y.T if Y.T.flags.c_contiguous else np.ascontiguousarray(Y.T)
        self.row_bytes = self.Xr.strides[0] + self.Yr.strides[0]
        self.bufs: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def can_add_ones(self) -> bool:
        """Mini-batches whose A[0] may come as [A[0]; 1] (:meth:`add_ones`): small data, which the
        run may hold twice."""
        return not self.full and self.Xr.nbytes + self.Xr.shape[0] * self.Xr.itemsize <= ONES_ROW_BYTES

    def add_ones(self) -> None:
        """From now on each batch's A[0] comes as [A[0]; 1] (n[0] + 1, m_b): the rows of X are copied
        once with a 1 after each sample's features, for a joined run (see
        :class:`~deeplayers.workspace.FlatParameters`)."""
        if not self.ones_row:
            Xr1 = np.empty((self.Xr.shape[0], self.Xr.shape[1] + 1), self.Xr.dtype)
            Xr1[:, :-1], Xr1[:, -1] = self.Xr, 1
            self.Xr, self.ones_row = Xr1, True
            self.row_bytes = self.Xr.strides[0] + self.Yr.strides[0]
            self.bufs.clear()

    def _buf(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        if size not in self.bufs:
            if len(self.bufs) >= 8:  # (given batch orders of many sizes: keep it bounded)
                self.bufs.clear()
            self.bufs[size] = (np.empty((size, self.Xr.shape[1]), self.Xr.dtype),
                               np.empty((size, self.Yr.shape[1]), self.Yr.dtype))
        return self.bufs[size]

    @property
    def n_batches(self) -> int:
        return 1 if self.full else -(-self.m // self.B)

    def __call__(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        if self.full:
            yield self.X, self.Y, self.w
            return
        order = rng.permutation(self.m) if self.shuffle else np.arange(self.m)
        yield from self.gather(order, range(self.B, self.m + self.B, self.B))

    def gather(self, order: np.ndarray, ends: Any) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        """The batches order[0:ends[0]], order[ends[0]:ends[1]], ... as (A[0], Y, w) (column
        indices into X; ``ends`` rising, the last at or past len(order))."""
        # mode="clip": with the default "raise", NumPy gathers into a hidden temporary first
        # (the indices are checked to lie in 0..m-1 before they come here, so none is ever clipped)
        w = self.w
        if len(order) * self.row_bytes <= EPOCH_GATHER_BYTES:
            xe, ye = self._buf(len(order))
            self.Xr.take(order, axis=0, out=xe, mode="clip")
            self.Yr.take(order, axis=0, out=ye, mode="clip")
            we = None if w is None else w[order]
            self.Y_rows = ye
            start = 0
            for end in ends:
                yield xe[start:end].T, ye[start:end].T, None if we is None else we[start:end]
                start = end
            return
        self.Y_rows = None
        start = 0
        for end in ends:
            idx = order[start:end]
            xb, yb = self._buf(len(idx))
            self.Xr.take(idx, axis=0, out=xb, mode="clip")
            self.Yr.take(idx, axis=0, out=yb, mode="clip")
            yield xb.T, yb.T, None if w is None else w[idx]
            start = end


class _GivenBatches:
    """``fit(batches=...)``: the caller's column indices for each batch of each epoch, checked
    as they come, gathered into the same reused buffers as shuffled mini-batches."""

    full = False

    def __init__(self, spec: Any, X: np.ndarray, Y: np.ndarray, w: np.ndarray | None, n_epochs: int) -> None:
        if callable(spec):
            self.per_epoch = spec
        else:
            try:
                epochs = list(spec)
            except TypeError:
                raise ConfigError("batches must be a callable epoch -> iterable of index arrays, or a sequence with "
                                  f"one iterable of index arrays per epoch, got {type(spec).__name__}") from None
            if len(epochs) < n_epochs:
                raise ConfigError(f"batches gives the batches of {len(epochs)} epochs, but the run has {n_epochs}; "
                                  "give one entry per epoch, or a callable epoch -> batches")
            self.per_epoch = epochs.__getitem__
        self.m = X.shape[1]
        self.rows = _Batches(X, Y, 1, False, w, rows=True)  # its row copies and buffers
        self.B: int | None = None  # the latest epoch's mean batch size (None before the first)
        self.epoch = 0
        self.n_batches = 0

    @property
    def w(self) -> np.ndarray | None:
        """The sample weights (m,), or None."""
        return self.rows.w

    @property
    def Y_rows(self) -> np.ndarray | None:
        return self.rows.Y_rows

    def can_add_ones(self) -> bool:
        return self.rows.can_add_ones()

    def add_ones(self) -> None:
        self.rows.add_ones()

    def __call__(self, rng: np.random.Generator) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
        epoch = self.epoch
        given = self.per_epoch(epoch)
        try:
            given = iter(given)
        except TypeError:
            raise ConfigError(f"batches: epoch {epoch}'s entry must be an iterable of index arrays, got "
                              f"{type(given).__name__} {given!r:.40}; give one iterable of index arrays per epoch "
                              "(a dict gives its keys)") from None
        sets = [self._check(idx, epoch, i) for i, idx in enumerate(given)]
        if not sets:
            raise ConfigError(f"batches gave no batch for epoch {epoch}; each epoch needs at least one")
        order = np.concatenate(sets)
        if int(order.min()) < 0 or int(order.max()) >= self.m:  # one look for the epoch; each batch only on error
            for i, idx in enumerate(sets):
                self._check_range(idx, epoch, i)
        self.n_batches = len(sets)
        self.B = max(1, round(len(order) / len(sets)))
        w = self.rows.w  # what the epoch's cost is averaged over: samples, or their weights
        self.seen = float(len(order) if w is None else w[order].sum(dtype=np.float64))
        yield from self.rows.gather(order, np.cumsum([len(idx) for idx in sets]).tolist())

    def _check(self, idx: Any, epoch: int, i: int) -> np.ndarray:
        a = np.asarray(idx)
        if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
            raise ConfigError(f"batches: batch {i} of epoch {epoch} must be a non-empty 1-D array of integer column "
                              f"indices, got {a.dtype} of shape {a.shape}")
        if a.dtype != np.intp:
            if a.dtype.kind == "u":  # (before the conversion, which would wrap the largest to negative)
                self._check_range(a, epoch, i)
            a = a.astype(np.intp)
        return a

    def _check_range(self, idx: np.ndarray, epoch: int, i: int) -> None:
        lo, hi = int(idx.min()), int(idx.max())
        if lo < 0 or hi >= self.m:
            raise ConfigError(f"batches: batch {i} of epoch {epoch} holds column index {lo if lo < 0 else hi}, "
                              f"outside 0..m-1 = 0..{self.m - 1}")
