"""``torch.onnx.export``: the model's forward pass on an example input, recorded by the
library's autograd, written as an ONNX graph (``neurite::io::onnx``) that ONNX Runtime runs."""

import os

from .. import _neurite
from ._tensor import Tensor, _tensor_of


def export(model, args, f, export_params=True, verbose=False, training=None, input_names=None, output_names=None, opset_version=None, dynamic_axes=None, do_constant_folding=True, dynamo=False, **kwargs):
    """Traces ``model(*args)`` and writes the graph to ``f``: parameters as initializers under
    their ``state_dict`` names, the first axis of each input and output symbolic when
    ``dynamic_axes`` names it (else fixed, as PyTorch's exporter does)."""
    if not isinstance(f, (str, os.PathLike)):
        raise TypeError("torch.onnx.export: neurite.torch writes to a path (str or os.PathLike)")
    if not export_params:
        raise TypeError("torch.onnx.export(export_params=False) is not supported in neurite.torch")
    inputs = list(args) if isinstance(args, (tuple, list)) else [args]
    inputs = [_tensor_of(x) for x in inputs]
    input_names = list(input_names or ["input" if i == 0 else f"input{i}" for i in range(len(inputs))])
    was_training = getattr(model, "training", False)
    if hasattr(model, "eval"):
        model.eval()
    try:
        # Record every operation: the inputs are traced as leaves that require a gradient.
        from . import enable_grad

        with enable_grad():
            traced = [Tensor._wrap(x.detach()._v().as_parameter(), x.dtype) for x in inputs]
            out = model(*traced)
    finally:
        if hasattr(model, "train"):
            model.train(was_training)
    outputs = list(out) if isinstance(out, (tuple, list)) else [out]
    output_names = list(output_names or (["output"] if len(outputs) == 1 else [f"output{i}" for i in range(len(outputs))]))
    params = []
    if hasattr(model, "state_dict"):
        params = [(name, t._var) for name, t in model.state_dict(keep_vars=True).items() if t._var is not None]
    dynamic = dynamic_axes is not None and any(n in dynamic_axes for n in input_names + output_names)
    _neurite.export_onnx_graph(
        os.fspath(f),
        list(zip(input_names, [t._var for t in traced])),
        list(zip(output_names, [o._v() for o in outputs])),
        params,
        dynamic,
    )
