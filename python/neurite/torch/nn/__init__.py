"""``torch.nn``: ``Module``, ``Parameter``, layers, containers and losses, and
``nn.functional`` and ``nn.init``, over neurite's library."""

from . import functional, init
from .module import Module
from .modules import (
    BCELoss,
    BCEWithLogitsLoss,
    BatchNorm1d,
    Conv2d,
    CrossEntropyLoss,
    Dropout,
    ELU,
    Flatten,
    GELU,
    Identity,
    L1Loss,
    LeakyReLU,
    Linear,
    LogSoftmax,
    MaxPool2d,
    MSELoss,
    ModuleDict,
    ModuleList,
    NLLLoss,
    ReLU,
    ReLU6,
    Sequential,
    SiLU,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from .parameter import Parameter


def __getattr__(name):
    raise AttributeError(
        f"neurite.torch.nn has no {name!r}: neurite.torch supports the layers a beginner's MLP uses "
        "(Linear, activations, Dropout, BatchNorm1d, Flatten, containers, losses)"
    )
