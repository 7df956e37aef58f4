"""The course's own functions, with its names, signatures and return structures, and ``check``.

A learner's notebook runs unchanged against these; each is a thin face over the engine
(:class:`~deeplayers.layers.Dense`, :class:`~deeplayers.network.Network`, the optimizers), so the
math lives in one place. Caches have the course's format: ``linear_cache = (A_prev, W, b)`` and
``cache = (linear_cache, Z)``; hand-built ones are accepted too. The functions are written in
:mod:`deeplayers.course_functions`; :func:`check` (from :mod:`deeplayers.course_check`) compares a
learner's own version of one with it.
"""

from __future__ import annotations

from .course_check import check
from .course_functions import (
    L_layer_model,
    L_model_backward,
    L_model_forward,
    Params,
    compute_cost,
    initialize_parameters,
    initialize_parameters_deep,
    linear_activation_backward,
    linear_activation_forward,
    linear_backward,
    linear_forward,
    predict,
    trace,
    two_layer_model,
    update_parameters,
)

__all__ = [
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "linear_activation_forward",
    "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "predict", "two_layer_model", "L_layer_model", "check", "trace", "Params",
]
