"""Seeds: neurite draws weights and shuffles from a seed (0 unless set), so that the same
program gives the same numbers, bit for bit, on the same machine and thread count; the
``neurite train`` command uses the same seed for the same model."""

_seed = 0


def set_random_seed(seed):
    """Seeds the weights and the shuffling of models created from now on (Keras'
    ``keras.utils.set_random_seed``)."""
    global _seed
    seed = int(seed)
    if seed < 0:
        raise ValueError(f"set_random_seed: the seed must be 0 or more, got {seed}")
    _seed = seed


def random_seed():
    """The seed new models take."""
    return _seed
