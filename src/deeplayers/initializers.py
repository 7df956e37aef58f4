"""Weight initializers: W[l] of shape (n[l], n[l-1]) drawn from a seeded stream, b[l] = 0.

With a seed, draws follow NumPy's legacy ``RandomState(seed)`` stream, layer by layer in the
order W1, W2, ..., so ``init="course", seed=1`` reproduces the course's numbers exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .errors import ConfigError

__all__ = ["INITIALIZERS", "check_seed", "get_initializer", "initialize"]

# each scheme scales a standard-normal draw G of shape (n[l], n[l-1]); written exactly as the
# course writes it (``/ np.sqrt(n)`` and ``* 0.01``) so the float64 results agree to the last bit
INITIALIZERS: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "he": lambda G, n, n_prev: G * np.sqrt(2.0 / n_prev),  # He et al. 2015, for ReLU
    "xavier": lambda G, n, n_prev: G * np.sqrt(2.0 / (n_prev + n)),  # Glorot & Bengio 2010
    "course": lambda G, n, n_prev: G / np.sqrt(n_prev),  # the course's deep application
    "small": lambda G, n, n_prev: G * 0.01,  # the course's two-layer model
}


def get_initializer(name: str) -> Callable[[np.ndarray, int, int], np.ndarray]:
    try:
        return INITIALIZERS[str(name).lower()]
    except KeyError:
        names = ", ".join(INITIALIZERS)
        raise ConfigError(f"unknown initializer {name!r}; choose one of: {names}") from None


def check_seed(seed: Any, name: str = "seed") -> Any:
    """A seed NumPy takes (a whole number from 0 to 2**32 - 1, None, or NumPy's own random state or
    generator, passed on as it is), else a ConfigError naming it."""
    if seed is None or isinstance(seed, (np.random.RandomState, np.random.Generator, np.random.SeedSequence)):
        return seed
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ConfigError(f"{name} must be a whole number from 0 to 2**32 - 1 (or None), got {seed!r:.40}")
    return int(seed)


def initialize(
    layer_dims: list[int],
    init: str = "he",
    seed: int | np.random.RandomState | None = None,
    dtype: np.dtype | str = np.float64,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Draw [(W1, b1), ..., (WL, bL)] for ``layer_dims = [n0, ..., nL]``."""
    draw = get_initializer(init)
    rng = seed if isinstance(seed, np.random.RandomState) else np.random.RandomState(check_seed(seed))
    params = []
    for l in range(1, len(layer_dims)):
        n, n_prev = layer_dims[l], layer_dims[l - 1]
        # draw in float64 (the course's stream), then cast, so float32 gets the same numbers rounded
        W = draw(rng.randn(n, n_prev), n, n_prev).astype(dtype)
        b = np.zeros((n, 1), dtype=dtype)
        params.append((W, b))
    return params
