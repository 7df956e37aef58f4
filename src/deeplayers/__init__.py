"""deeplayers: deep L-layer neural networks in the course's notation, in NumPy."""

from __future__ import annotations

from . import (
    datasets,
    search,  # the module deeplayers.search; calling it, deeplayers.search(X, Y, space), runs search.search
)
from ._version import __version__
from .activations import ACTIVATIONS, get_activation
from .errors import (
    ConfigError,
    DataError,
    DeeplayersError,
    DivergenceError,
    ModelFileError,
    NotFittedError,
    ShapeError,
    TrainingWarning,
)
from .gradcheck import gradient_check
from .initializers import INITIALIZERS, initialize
from .layers import Dense
from .losses import LOSSES, get_loss
from .modelfile import Model, load, save
from .network import Network
from .onnx_export import export_onnx
from .optimizers import OPTIMIZERS, Adam, GradientDescent, Momentum, RMSprop, get_optimizer
from .preprocessing import Preprocessing
from .training import Callback, EarlyStopping, History, TrainingInterrupted

__all__ = [
    "Network", "Dense", "History", "Callback", "EarlyStopping", "gradient_check", "initialize",
    "ACTIVATIONS", "LOSSES", "INITIALIZERS", "OPTIMIZERS", "get_activation", "get_loss", "get_optimizer",
    "GradientDescent", "Momentum", "RMSprop", "Adam",
    "DeeplayersError", "ShapeError", "DataError", "ConfigError", "DivergenceError", "ModelFileError",
    "NotFittedError", "TrainingWarning", "TrainingInterrupted", "__version__",
    "save", "load", "Model", "Preprocessing", "export_onnx", "search", "datasets",
]
