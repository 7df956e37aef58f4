"""Checkpoints: everything a training run needs to continue bit for bit.

A checkpoint is written at an epoch boundary and holds the parameters W[l], b[l], the network's
spec (:meth:`Network.to_spec`), the optimizer's state (t, v, s, ...), the training RNG's state
(mini-batch order, dropout), the epoch to run next, the history so far and the state of callbacks
such as early stopping. Files use the same checked, atomically written container as model files,
so a crash mid-write leaves the previous checkpoint. Resuming refuses a checkpoint whose spec
describes another architecture (layer sizes, any g or its parameters, loss, dtype).

This module asks the network it is given for its spec (``net.to_spec()``, ``type(net).from_spec``)
instead of importing :mod:`deeplayers.network`: the network module imports the training loop,
which imports this one.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any

import numpy as np

from ._atomic import load_npz_with_header, save_npz_with_header
from .errors import DeeplayersError, ModelFileError

if TYPE_CHECKING:
    from .network import Network

__all__ = ["save_checkpoint", "load_checkpoint", "read_checkpoint"]

KIND = "checkpoint"
_PARAMETER = re.compile(r"[Wb][1-9][0-9]*")


def save_checkpoint(path: str | os.PathLike, net: Network, state: dict[str, Any]) -> None:
    """Write ``state`` (from the training loop) atomically to ``path``.

    ``state`` holds ``params`` (W1.. b1..), ``optimizer`` (name, hyperparameters and
    ``get_state()`` arrays), ``rng`` (a bit-generator state dict), ``epoch`` (the next one to run),
    ``history`` (``History.as_dict()``), ``callbacks`` (list of dicts of arrays and JSON values) and
    ``options`` (the fit options that must match on resume).
    """
    arrays: dict[str, np.ndarray] = dict(state["params"])
    opt_arrays = {k: v for k, v in state["optimizer"]["state"].items() if k != "t"}
    arrays.update({f"opt.{k}": v for k, v in opt_arrays.items()})
    callbacks_json = []
    for i, cb in enumerate(state["callbacks"]):
        cb_json = {}
        for k, v in cb.items():
            if isinstance(v, dict):  # a dict of arrays, e.g. the best parameters so far
                arrays.update({f"cb{i}.{k}.{name}": a for name, a in v.items()})
                cb_json[k] = {"arrays": sorted(v)}
            else:
                cb_json[k] = v
        callbacks_json.append(cb_json)
    header = {
        "kind": KIND,
        **net.to_spec(),
        "epoch": int(state["epoch"]),
        "rng": state["rng"],
        "optimizer": {"name": state["optimizer"]["name"], "hyper": state["optimizer"]["hyper"],
                      "t": int(state["optimizer"]["state"]["t"])},
        "history": state["history"],
        "callbacks": callbacks_json,
        "options": state["options"],
    }
    save_npz_with_header(path, arrays, header)


def read_checkpoint(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and header of a checkpoint file, checked as far as no network is needed: that it
    exists, is whole, is a checkpoint (not a model file) and has a well-formed header. The command
    line calls it before reading any data, so a wrong ``--resume`` file is refused first."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume (train with checkpoint={str(path)!r} first)")
    arrays, header = load_npz_with_header(path)
    kind = header.get("kind")
    if kind != KIND:
        # (the kind is the header's, outside the checksum: any JSON value, a list included)
        what = {"network": ", a model file", "estimator": ", an estimator's model file"}.get(str(kind), "")
        raise ModelFileError(f"{path} is not a training checkpoint (kind {kind!r}{what}); "
                             "resume needs a file written by fit(..., checkpoint=...)")
    _check_header(header, arrays, path)
    return arrays, header


def load_checkpoint(path: str | os.PathLike, net: Network) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` and check it fits ``net``."""
    arrays, header = read_checkpoint(path)
    params = {k: v for k, v in arrays.items() if _PARAMETER.fullmatch(k)}
    try:
        type(net).from_spec(header, params, copy=False)  # the spec is whole and W[l], b[l] fit it
        difference = net.architecture_difference(header)
    except DeeplayersError as exc:
        raise _bad(path, f"network does not hold together ({exc})") from None
    if difference is not None:
        raise ModelFileError(f"{path} was written for a network with {difference}; resume with the same architecture")
    opt_state: dict[str, Any] = {"t": np.array(header["optimizer"]["t"])}
    opt_state.update({k[4:]: v for k, v in arrays.items() if k.startswith("opt.")})
    callbacks = []
    for i, cb_json in enumerate(header.get("callbacks", [])):
        cb: dict[str, Any] = {}
        for k, v in cb_json.items():
            if isinstance(v, dict) and "arrays" in v:
                cb[k] = {name: arrays[f"cb{i}.{k}.{name}"] for name in v["arrays"]}
            else:
                cb[k] = v
        callbacks.append(cb)
    return {
        "params": params, "epoch": header["epoch"], "rng": header["rng"], "history": header["history"],
        "optimizer": {"name": header["optimizer"]["name"], "hyper": header["optimizer"]["hyper"], "state": opt_state},
        "callbacks": callbacks, "options": header.get("options", {}),
    }


def _bad(path: str | os.PathLike, what: str) -> ModelFileError:
    return ModelFileError(f"{path}: the checkpoint's {what}; the file is damaged or was not written by "
                          "fit(..., checkpoint=...) — resume from another checkpoint or start again")


def _check_header(header: dict[str, Any], arrays: dict[str, np.ndarray], path: str | os.PathLike) -> None:
    """Refuse a checkpoint whose header (not covered by the arrays' checksum) is malformed, with a
    ModelFileError instead of a KeyError/TypeError deep inside resume."""

    def bad(what: str) -> ModelFileError:
        return _bad(path, what)

    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    epoch = header.get("epoch")
    if not is_int(epoch) or epoch < 0:
        raise bad(f"epoch {epoch!r:.50} is not a non-negative integer")
    rng = header.get("rng")
    if not isinstance(rng, dict) or not isinstance(rng.get("bit_generator"), str) or rng["bit_generator"] != "PCG64":
        raise bad(f"random generator state {rng!r:.80} is not a PCG64 state")
    try:  # setting it on a scratch generator validates every field
        np.random.default_rng().bit_generator.state = rng
    except (TypeError, ValueError, KeyError) as exc:
        raise bad(f"random generator state is invalid ({exc})") from None
    opt = header.get("optimizer")
    if (not isinstance(opt, dict) or not isinstance(opt.get("name"), str) or not isinstance(opt.get("hyper"), dict)
            or not is_int(opt.get("t")) or opt["t"] < 0):
        raise bad(f"optimizer record {opt!r:.80} is malformed")
    history = header.get("history")
    lists = ("cost", "val_cost", "lr", "time")
    if (not isinstance(history, dict) or not isinstance(history.get("metrics", {}), dict)
            or not all(isinstance(history.get(k, []), list) for k in lists)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool)
                       for k in lists for v in history.get(k, []))
            or not all(isinstance(v, list) for v in history.get("metrics", {}).values())):
        raise bad("history is malformed")
    if len(history.get("cost", [])) != epoch:
        raise bad(f"history holds {len(history.get('cost', []))} epochs but the checkpoint is at epoch {epoch}")
    callbacks = header.get("callbacks", [])
    if not isinstance(callbacks, list) or not all(isinstance(cb, dict) for cb in callbacks):
        raise bad("callback states are malformed")
    for i, cb in enumerate(callbacks):
        for k, v in cb.items():
            if isinstance(v, dict) and "arrays" in v:
                names = v["arrays"]
                if not isinstance(names, list) or not all(isinstance(n, str) and f"cb{i}.{k}.{n}" in arrays for n in names):
                    raise bad(f"callback {i} names arrays the file does not hold")
    if not isinstance(header.get("options", {}), dict):
        raise bad("training options are malformed")

