"""``torch.autograd``: ``grad(outputs, inputs)`` over the library's reverse-mode autograd,
and ``Variable`` (PyTorch's old name for a tensor)."""

from ._tensor import Tensor, _tensor_of

Variable = Tensor


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs`` (leaf tensors), without
    touching their ``.grad``."""
    if create_graph:
        raise TypeError("autograd.grad(create_graph=True) is not supported: neurite's gradients are not differentiable")
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs]
    for x in inputs:
        if not x.is_leaf or not x.requires_grad:
            raise TypeError("autograd.grad: neurite computes gradients of leaf tensors that require grad only")
    saved = [x._var.grad() for x in inputs]
    for x in inputs:
        x._var.set_grad(None)
    try:
        for out, g in zip(outputs, grad_outputs):
            out.backward(g)
        grads = []
        for x in inputs:
            g = x._var.grad()
            if g is None and not allow_unused:
                raise RuntimeError("One of the differentiated Tensors appears to not have been used in the graph. Set allow_unused=True if this is the desired behavior.")
            grads.append(None if g is None else Tensor._wrap(g))
    finally:
        for x, g in zip(inputs, saved):
            x._var.set_grad(g)
    return tuple(grads)


__all__ = ["Variable", "grad", "_tensor_of"]
