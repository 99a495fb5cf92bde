"""Random numbers for ``neurite.torch``: the library's seeded generator (xoshiro256**), one
default generator that ``torch.manual_seed`` reseeds, and ``torch.Generator`` objects for
``DataLoader(generator=...)`` and ``randperm(generator=...)``. The same seed gives the same
numbers on every run and machine; they are not PyTorch's numbers (PyTorch draws from its own
Mersenne Twister), so compare seeded runs of neurite with each other, not with PyTorch."""

from .. import _neurite

# PyTorch's default CPU generator starts from this seed too (torch.initial_seed()).
DEFAULT_SEED = 67280421310721


class Generator:
    """``torch.Generator``: a seeded source of random numbers."""

    def __init__(self, device="cpu"):
        from ._tensor import _check_device

        _check_device(device)
        self._seed = DEFAULT_SEED
        self._g = _neurite.Generator(DEFAULT_SEED)

    def manual_seed(self, seed):
        seed = int(seed)
        if seed < 0:
            seed += 2**64
        if not 0 <= seed < 2**64:
            raise RuntimeError(f"Overflow when unpacking long: seed {seed} does not fit 64 bits")
        self._seed = seed
        self._g.manual_seed(seed)
        return self

    def initial_seed(self):
        return self._seed

    def seed(self):
        import time

        return self.manual_seed(time.time_ns() & (2**63 - 1))._seed

    def get_state(self):
        from ._tensor import _from_array
        import numpy as np

        return _from_array(np.array(self._g.get_state(), dtype=np.uint64).view(np.uint8).copy())

    def set_state(self, state):
        import numpy as np

        words = np.asarray(state.numpy(), dtype=np.uint8).view(np.uint64)
        self._g.set_state([int(w) for w in words])
        return self


default_generator = Generator()


def manual_seed(seed):
    """Reseeds the default generator (parameter initialisation, dropout, shuffling, rand*)."""
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return default_generator.get_state()


def set_rng_state(state):
    default_generator.set_state(state)
