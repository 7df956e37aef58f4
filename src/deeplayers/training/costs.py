"""A mini-batch epoch's cost, computed once as the epoch ends.

The epoch's cost is the mean of its batches' costs J (each at the parameters of its own update),
weighted by the batches' sizes. Computing J batch by batch is half a dozen ufunc calls on a few
numbers each, a third of a small network's step; nobody looks at those J one by one. So each
batch's A[L] and Y (and sample weights) are copied into rows kept for the epoch, in batch order,
and the loss's per-sample values are computed over all of them in one call at the end.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..losses import Loss

__all__ = ["_EpochCosts"]


class _EpochCosts:
    """Rows of A[L], Y and the sample weights of one epoch's batches, and each batch's L2 term."""

    def __init__(self) -> None:
        self.AL = self.Y = self.w = np.empty((0, 0))
        self.ends: list[int] = []  # where each batch's rows end
        self.l2: list[float] = []  # each batch's lambda/2 sum ||W[l]||^2 (times its weight total over m_b)
        self.n = 0
        self.weighted = False
        self.Y_rows: np.ndarray | None = None  # the epoch's Y rows in batch order, when the batches have them

    def begin(self, m: int, nL: int, dtype: np.dtype, weighted: bool) -> None:
        """An epoch of (usually) m samples starts: rows for them, kept from the last epoch."""
        if self.AL.shape[1:] != (nL,) or self.AL.dtype != dtype or self.AL.shape[0] < m:
            self.AL, self.Y = np.empty((m, nL), dtype), np.empty((m, nL), dtype)
        if weighted and self.w.shape[0] < self.AL.shape[0]:
            self.w = np.empty(self.AL.shape[0], np.float64)
        self.weighted = weighted
        self.ends, self.l2, self.n = [], [], 0
        self.Y_rows = None

    def _grow(self, rows: int) -> None:
        # a given batch order may visit more than m samples in an epoch
        rows = max(rows, 2 * self.AL.shape[0])
        for name in ("AL", "Y", "w") if self.weighted else ("AL", "Y"):
            old = getattr(self, name)
            new = np.empty((rows, *old.shape[1:]), old.dtype)
            new[:self.n] = old[:self.n]
            setattr(self, name, new)

    def keep(self, AL: np.ndarray, Y: np.ndarray, w: np.ndarray | None, l2_term: float) -> None:
        """A batch's A[L] and Y (n[L], m_b), before the backward pass overwrites A[L]; ``w`` its raw
        sample weights; ``l2_term`` lambda/2 sum ||W[l]||^2 at this batch (0 without L2). Y is not
        copied when the epoch's Y rows are given (:attr:`Y_rows`)."""
        start, end = self.n, self.n + AL.shape[1]
        if end > self.AL.shape[0]:
            self._grow(end)  # (copies the self.n rows kept so far)
        self.n = end
        np.copyto(self.AL[start:self.n], AL.T)
        if self.Y_rows is None:
            np.copyto(self.Y[start:self.n], Y.T)
        if w is not None:
            self.w[start:self.n] = w
        self.ends.append(self.n)
        self.l2.append(l2_term)

    def batch_totals(self, loss: Loss) -> tuple[np.ndarray, np.ndarray]:
        """(totals, weights) per batch: the sum of the (weighted) per-sample losses plus the L2
        term, and the batch's total weight (its size without sample weights). A batch's cost J is
        totals / weights, the epoch's is totals.sum() over the epoch's total weight."""
        n, starts = self.n, np.array([0, *self.ends[:-1]])
        Y = self.Y if self.Y_rows is None else self.Y_rows
        per = loss.per_sample(self.AL[:n].T, Y[:n].T).astype(np.float64)
        if self.weighted:
            per *= self.w[:n]
            weights = np.add.reduceat(self.w[:n], starts)
        else:
            weights = np.diff(np.array([0, *self.ends], np.float64))
        return np.add.reduceat(per, starts) + np.array(self.l2), weights

    @staticmethod
    def first_not_finite(totals: np.ndarray) -> int | None:
        """The index of the first batch whose cost is NaN or infinite, or None."""
        bad = np.flatnonzero(~np.isfinite(totals))
        return int(bad[0]) if bad.size else None

    @property
    def empty(self) -> bool:
        return not self.ends
