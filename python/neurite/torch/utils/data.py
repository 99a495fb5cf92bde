"""``torch.utils.data``: ``Dataset``, ``TensorDataset``, ``random_split`` and ``DataLoader``.

A ``DataLoader`` over a ``TensorDataset`` gathers each batch with one library call per tensor
(``index_select`` of the batch's rows), not one Python call per example as PyTorch's default
collation does; other datasets are read item by item and collated as PyTorch does. Shuffling
draws a permutation from the generator given, or the default one (``torch.manual_seed``)."""

import math

import numpy as np

from .._random import default_generator
from .._tensor import Tensor, _from_array, _tensor_of, int64, stack


class Dataset:
    def __getitem__(self, index):
        raise NotImplementedError("Subclasses of Dataset should implement __getitem__.")

    def __add__(self, other):
        return ConcatDataset([self, other])


class TensorDataset(Dataset):
    """Examples are the rows of tensors of the same length: ``dataset[i] == (x[i], y[i])``."""

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset needs at least one tensor")
        n = tensors[0].shape[0]
        for t in tensors:
            if t.shape[0] != n:
                raise ValueError(f"Size mismatch between tensors: {[tuple(t.shape) for t in tensors]}")
        self.tensors = tuple(tensors)

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def __len__(self):
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset):
    def __init__(self, datasets):
        self.datasets = list(datasets)
        self.cumulative = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self):
        return self.cumulative[-1] if self.cumulative else 0

    def __getitem__(self, index):
        if index < 0:
            index += len(self)
        d = int(np.searchsorted(self.cumulative, index, side="right"))
        start = 0 if d == 0 else self.cumulative[d - 1]
        return self.datasets[d][index - start]


class Subset(Dataset):
    def __init__(self, dataset, indices):
        self.dataset, self.indices = dataset, list(indices)

    def __getitem__(self, index):
        if isinstance(index, list):
            return self.dataset[[self.indices[i] for i in index]]
        return self.dataset[self.indices[index]]

    def __len__(self):
        return len(self.indices)


def random_split(dataset, lengths, generator=None):
    n = len(dataset)
    if all(0 <= x <= 1 for x in lengths) and abs(sum(lengths) - 1) < 1e-9 and sum(lengths) != n:
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if sum(lengths) != n:
        raise ValueError("Sum of input lengths does not equal the length of the input dataset!")
    order = (generator or default_generator)._g.randperm(n)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, order[start : start + length]))
        start += length
    return out


def default_collate(batch):
    """Stacks a list of examples as PyTorch's default collation does: tensors stacked,
    numbers made tensors, tuples and dicts collated field by field."""
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(batch, 0)
    if isinstance(first, np.ndarray):
        return _from_array(np.stack(batch))
    if isinstance(first, (bool, np.bool_)):
        return _tensor_of(np.asarray(batch, dtype=bool))
    if isinstance(first, (int, np.integer)):
        return _from_array(np.asarray(batch, dtype=np.int64), int64)
    if isinstance(first, (float, np.floating)):
        return _from_array(np.asarray(batch, dtype=np.float32))
    if isinstance(first, dict):
        return {k: default_collate([b[k] for b in batch]) for k in first}
    if isinstance(first, (tuple, list)):
        return [default_collate(list(fields)) for fields in zip(*batch)]
    return batch


class DataLoader:
    """Batches of a dataset, in order or shuffled each epoch (``shuffle=True``); the last
    batch may be smaller unless ``drop_last``. ``num_workers`` is accepted and ignored:
    batches are gathered in the library, in the calling thread."""

    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, batch_sampler=None, num_workers=0, collate_fn=None, pin_memory=False, drop_last=False, timeout=0, worker_init_fn=None, generator=None, prefetch_factor=None, persistent_workers=False):
        if batch_size is not None and batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if sampler is not None or batch_sampler is not None:
            raise TypeError("DataLoader(sampler=..., batch_sampler=...) is not supported in neurite.torch; use shuffle")
        self.dataset, self.batch_size, self.shuffle = dataset, batch_size, shuffle
        self.drop_last, self.generator, self.collate_fn = drop_last, generator, collate_fn
        self.num_workers = num_workers

    def __len__(self):
        n = len(self.dataset)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.dataset)
        if self.shuffle:
            order = (self.generator or default_generator)._g.randperm(n)
        else:
            order = None
        if self.batch_size is None:
            for i in order if order is not None else range(n):
                yield self.dataset[i]
            return
        fast = isinstance(self.dataset, TensorDataset) and self.collate_fn is None
        # A dataset that can gather a whole batch itself (neurite.torchvision's MNIST with
        # ToTensor/Normalize) does, giving what item-by-item collation would give.
        batched = self.collate_fn is None and hasattr(self.dataset, "_batch")
        bs = self.batch_size
        for start in range(0, n, bs):
            stop = min(start + bs, n)
            if self.drop_last and stop - start < bs:
                return
            if fast:
                if order is None:
                    yield [t.narrow(0, start, stop - start) for t in self.dataset.tensors]
                else:
                    idx = order[start:stop]
                    yield [Tensor._wrap(t._v().index_select(0, idx), t.dtype) for t in self.dataset.tensors]
            else:
                idx = order[start:stop] if order is not None else list(range(start, stop))
                batch = self.dataset._batch(idx) if batched else None
                if batch is not None:
                    yield list(batch)
                    continue
                batch = [self.dataset[i] for i in idx]
                yield (self.collate_fn or default_collate)(batch)
