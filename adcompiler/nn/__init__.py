"""Neural-network building blocks in plain NumPy, differentiated by adcompiler itself.

Activations, losses, layers (functions over parameter dicts), seeded initialisers and
pure-function optimisers. None of them carries a custom derivative rule: they are
ordinary user code, and the compiler generates their gradients like any other.

>>> import numpy as np
>>> import adcompiler as ad
>>> from adcompiler import nn
>>> params = nn.dense_params(3, 2, seed=0)
>>> def loss(params, x, labels):
...     return nn.softmax_cross_entropy(nn.dense(params, x), labels)
>>> grads = ad.grad(loss)(params, np.ones((4, 3)), np.array([0, 1, 1, 0]))
>>> sorted(grads), grads["w"].shape
(['b', 'w'], (3, 2))
"""

from .activations import log_softmax, logsumexp, relu, sigmoid, softmax, softplus, tanh
from .init import conv_params, dense_params, glorot_uniform, he_uniform, mlp_params
from .layers import avg_pool2d, conv2d, dense, flatten, max_pool2d
from .losses import binary_cross_entropy_with_logits, mse, softmax_cross_entropy
from .optim import AdamState, Optimizer, SGDState, adam, sgd

__all__ = [
    "AdamState",
    "Optimizer",
    "SGDState",
    "adam",
    "avg_pool2d",
    "binary_cross_entropy_with_logits",
    "conv2d",
    "conv_params",
    "dense",
    "dense_params",
    "flatten",
    "glorot_uniform",
    "he_uniform",
    "log_softmax",
    "logsumexp",
    "max_pool2d",
    "mlp_params",
    "mse",
    "relu",
    "sgd",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softplus",
    "tanh",
]
