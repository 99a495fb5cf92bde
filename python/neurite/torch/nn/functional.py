"""``torch.nn.functional``: activations, losses and layers as functions of tensors.

Each is the library's operation (activations and the fused softmax cross-entropy are its
kernels; ``linear`` is its matrix product) or a composition of them, so gradients are the
library's backward rules."""

import math

import numpy as np

from .._tensor import Tensor, _from_array, _tensor_of, float32, int64


def _unsupported(name, what):
    raise TypeError(f"{name}: {what} is not supported in neurite.torch")


def relu(input, inplace=False):
    return input.relu()


def relu6(input, inplace=False):
    return input.clamp(0.0, 6.0)


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return Tensor._wrap(input._v().leaky_relu(float(negative_slope)), input.dtype)


def elu(input, alpha=1.0, inplace=False):
    return Tensor._wrap(input._v().elu(float(alpha)), input.dtype)


def softplus(input, beta=1.0, threshold=20.0):
    if beta != 1.0:
        return Tensor._wrap((input * beta)._v().softplus(), float32) / beta
    return Tensor._wrap(input._v().softplus(), float32)


def gelu(input, approximate="none"):
    if approximate == "tanh":
        return 0.5 * input * (1.0 + (math.sqrt(2.0 / math.pi) * (input + 0.044715 * input**3)).tanh())
    _unsupported("gelu", "approximate='none' (the erf form)")


def silu(input, inplace=False):
    return input * input.sigmoid()


def softmax(input, dim=None, dtype=None):
    return input.softmax(-1 if dim is None else dim)


def log_softmax(input, dim=None, dtype=None):
    return input.log_softmax(-1 if dim is None else dim)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias``, PyTorch's layout: ``weight`` is (out, in). One operation
    of the library (the weight read in place, the bias added in the product)."""
    if weight.ndim == 2 and input.ndim >= 1 and (bias is None or bias.ndim == 1):
        return Tensor._wrap(input._v().linear(weight._v(), None if bias is None else bias._v()), float32)
    out = input @ weight.t()
    return out if bias is None else out + bias


def dropout(input, p=0.5, training=True, inplace=False):
    """Zeroes each value with probability ``p`` and scales the others by ``1/(1-p)``, drawing
    from the default generator (``torch.manual_seed``)."""
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0.0:
        return input
    if p == 1.0:
        return input * 0.0
    from .._random import default_generator

    mask = default_generator._g.keep_mask(list(input.shape), 1.0 - p, 1.0 / (1.0 - p))
    return Tensor._wrap(input._v().mul(mask), input.dtype)


def one_hot(tensor, num_classes=-1):
    idx = tensor.numpy().astype(np.int64)
    n = int(idx.max()) + 1 if num_classes < 0 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise RuntimeError("Class values must be smaller than num_classes.")
    return _from_array(np.eye(n, dtype=np.int64)[idx], int64)


def flatten(input, start_dim=0, end_dim=-1):
    return input.flatten(start_dim, end_dim)


def _reduce(loss, reduction, name):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    if reduction == "none":
        return loss
    raise ValueError(f"{name}: {reduction!r} is not a valid value for reduction")


def _check_same_shape(input, target, name):
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(
            f"{name}: Using a target size ({tuple(target.shape)}) that is different to the input size "
            f"({tuple(input.shape)}) is not supported"
        )


def mse_loss(input, target, reduction="mean"):
    target = _tensor_of(target)
    _check_same_shape(input, target, "mse_loss")
    d = input - target
    return _reduce(d * d, reduction, "mse_loss")


def l1_loss(input, target, reduction="mean"):
    target = _tensor_of(target)
    _check_same_shape(input, target, "l1_loss")
    return _reduce((input - target).abs(), reduction, "l1_loss")


def _class_targets(input, target, name):
    if target.dtype.is_floating_point:
        return None
    if input.ndim != 2 or target.ndim != 1 or target.shape[0] != input.shape[0]:
        raise ValueError(
            f"{name}: expected input of shape (N, C) and class indices of shape (N,), got {tuple(input.shape)} "
            f"and {tuple(target.shape)} (neurite.torch supports 2-D inputs here)"
        )
    return target


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's ``cross_entropy`` of logits: class indices (int64) or class probabilities
    (float) as targets. The batch mean of class indices runs the library's fused softmax and
    cross-entropy kernel; the other forms compose ``log_softmax``."""
    target = _tensor_of(target)
    if weight is not None:
        _unsupported("cross_entropy", "weight")
    if label_smoothing:
        _unsupported("cross_entropy", "label_smoothing")
    classes = _class_targets(input, target, "cross_entropy")
    if classes is not None:
        t = classes.numpy()
        if t.size and (t.min() < 0 or t.max() >= input.shape[1]):
            if (t == ignore_index).any():
                _unsupported("cross_entropy", "ignore_index")
            bad = t.max() if t.max() >= input.shape[1] else t.min()
            raise IndexError(f"Target {bad} is out of bounds.")
        if reduction == "mean":
            return Tensor._wrap(input._v().cross_entropy(classes._v()), float32)
        return nll_loss(input.log_softmax(1), classes, reduction=reduction)
    _check_same_shape(input, target, "cross_entropy")
    return _reduce(-(input.log_softmax(1) * target).sum(1), reduction, "cross_entropy")


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    if weight is not None:
        _unsupported("nll_loss", "weight")
    target = _tensor_of(target)
    _class_targets(input, target, "nll_loss")
    picked = input.gather(1, target.view(-1, 1)).view(-1)
    return _reduce(-picked, reduction, "nll_loss")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """``-(t log p + (1 - t) log(1 - p))`` with each log clamped at -100, as PyTorch does."""
    target = _tensor_of(target)
    _check_same_shape(input, target, "binary_cross_entropy")
    loss = -(target * input.log().clamp(min=-100.0) + (1.0 - target) * (1.0 - input).log().clamp(min=-100.0))
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy")


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    target = _tensor_of(target)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    if pos_weight is not None:
        _unsupported("binary_cross_entropy_with_logits", "pos_weight")
    if weight is None and reduction == "mean" and input.ndim == 2 and not target.requires_grad:
        # The library's fused kernel gives the mean over the last axis, then over rows: the
        # same as the mean over every value.
        return Tensor._wrap(input._v().binary_cross_entropy_logits(target._v()), float32)
    # max(x, 0) - x t + log(1 + exp(-|x|)), stable for any logit.
    loss = input.relu() - input * target + Tensor._wrap((-input.abs())._v().softplus(), float32)
    if weight is not None:
        loss = loss * weight
    return _reduce(loss, reduction, "binary_cross_entropy_with_logits")


def _pair(v, name):
    if isinstance(v, int):
        return (v, v)
    if isinstance(v, (tuple, list)) and len(v) == 2:
        return (int(v[0]), int(v[1]))
    raise TypeError(f"{name}: expected an int or a pair of ints, got {v!r}")


def _images(input, name, channels=None):
    if input.ndim != 4:
        raise RuntimeError(f"{name}: expected a 4-D input (N, C, H, W), got shape {tuple(input.shape)} (neurite.torch takes batches)")
    if channels is not None and input.shape[1] != channels:
        raise RuntimeError(
            f"{name}: expected input{tuple(input.shape)} to have {channels} channels, but got {input.shape[1]} channels instead"
        )
    if not input.is_floating_point():
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}")


def _window_padding(padding, kernel, stride, name):
    """Keras' padding the library's window layers take for PyTorch's: 0 is `valid`; `k // 2`
    on each side of an odd kernel with stride 1 (and PyTorch's "same") is `same`."""
    if padding == "valid":
        return "valid"
    if padding == "same":
        if stride != (1, 1):
            raise ValueError(f"{name}: padding='same' is not supported for strided convolutions")
        padding = (kernel[0] // 2, kernel[1] // 2)
    pad = _pair(padding, name)
    if pad == (0, 0):
        return "valid"
    if stride == (1, 1) and all(k % 2 == 1 and p == k // 2 for k, p in zip(kernel, pad)):
        return "same"
    raise TypeError(
        f"{name}: padding={padding!r} with kernel {kernel} and stride {stride} is not supported in neurite.torch "
        "(0, or kernel_size // 2 of an odd kernel at stride 1)"
    )


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """PyTorch's ``conv2d`` on (N, C, H, W) batches with weights (out, in, kh, kw): the
    library's Conv2D layer (its im2col and products, channels last) run as one autograd
    operation between two permutes."""
    import json

    if dilation not in (1, (1, 1)) or groups != 1:
        _unsupported("conv2d", "dilation and groups other than 1")
    _images(input, "conv2d", weight.shape[1])
    out_c, _, kh, kw = weight.shape
    stride = _pair(stride, "conv2d")
    pad = _window_padding(padding, (kh, kw), stride, "conv2d")
    config = {"class_name": "Conv2D", "config": {"filters": out_c, "kernel_size": [kh, kw], "strides": list(stride),
                                                 "padding": pad, "use_bias": bias is not None}}
    n, c, h, w = input.shape
    params = [weight.permute(2, 3, 1, 0)._v()] + ([] if bias is None else [bias._v()])
    y = input.permute(0, 2, 3, 1)._v().layer(json.dumps(config), [h, w, c], params, False)
    return Tensor._wrap(y, float32).permute(0, 3, 1, 2)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """PyTorch's ``max_pool2d`` on (N, C, H, W) batches: the library's MaxPooling2D layer."""
    import json

    if dilation not in (1, (1, 1)) or ceil_mode or return_indices:
        _unsupported("max_pool2d", "dilation, ceil_mode and return_indices")
    _images(input, "max_pool2d")
    kernel = _pair(kernel_size, "max_pool2d")
    stride = kernel if stride is None else _pair(stride, "max_pool2d")
    if _pair(padding, "max_pool2d") != (0, 0):
        _unsupported("max_pool2d", f"padding={padding!r}")
    config = {"class_name": "MaxPooling2D", "config": {"pool_size": list(kernel), "strides": list(stride), "padding": "valid"}}
    n, c, h, w = input.shape
    y = input.permute(0, 2, 3, 1)._v().layer(json.dumps(config), [h, w, c], [], False)
    return Tensor._wrap(y, input.dtype).permute(0, 3, 1, 2)
