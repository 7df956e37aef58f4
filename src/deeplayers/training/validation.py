"""The validation split: one seeded hold-out of samples (columns), the same for every face."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import ConfigError, DataError

__all__ = ["split_validation"]


def split_validation(m: int, fraction: float, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Hold out ``ceil(m * fraction)`` of m samples at random: ``(train, val)``, the sorted column
    indices of each part.

    ``rng`` is a ``numpy.random.Generator`` (its state advances by one ``permutation(m)``), or a
    seed for one (an int, a ``SeedSequence``, or None for fresh entropy). ``Network.fit``
    (``validation_split``), the command line (``--val-split``) and :func:`deeplayers.search` all
    split through here. Raises ConfigError when ``fraction`` is not in (0, 1), DataError when a
    part would be empty.

    Examples
    --------
    >>> train, val = split_validation(10, 0.2, 0)
    >>> len(train), len(val), sorted([*train, *val]) == list(range(10))
    (8, 2, True)
    """
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float, np.integer, np.floating)) \
            or not 0 < fraction < 1:
        raise ConfigError(f"validation_split must be between 0 and 1, got {fraction}")
    m_val = int(math.ceil(m * fraction))
    if m_val < 1 or m - m_val < 1:
        raise DataError(f"validation_split={fraction} of m = {m} samples leaves no training or no "
                        "validation samples; use more data or a different split")
    order = np.random.default_rng(rng).permutation(m)
    return np.sort(order[m_val:]), np.sort(order[:m_val])
