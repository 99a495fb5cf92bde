"""``nn.Parameter``: a tensor that a ``Module`` registers as one of its parameters."""

from .._tensor import Tensor, _tensor_of


class Parameter(Tensor):
    """A leaf tensor that requires grad (unless ``requires_grad=False``); assigning one to a
    module's attribute registers it in ``parameters()`` and ``state_dict()``."""

    __slots__ = ()

    def __new__(cls, data=None, requires_grad=True):
        from .. import empty

        data = empty(0) if data is None else _tensor_of(data)
        p = object.__new__(cls)
        var = data._v().detach()
        p._var = var.as_parameter() if requires_grad else var
        p._dtype, p._np, p._grad_of = data._dtype, None, None
        return p

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        from .._format import tensor_repr

        return "Parameter containing:\n" + tensor_repr(self)

    def __reduce__(self):
        return (_rebuild_parameter, (self.detach().numpy(), self.requires_grad))


def _rebuild_parameter(arr, requires_grad):
    from .. import tensor

    return Parameter(tensor(arr), requires_grad)
