"""``neurite.torchvision``: the part of torchvision a beginner's MNIST program uses
(``datasets.MNIST``/``FashionMNIST`` and ``transforms.ToTensor``, ``Normalize``, ``Compose``,
``Lambda``), so that ``from torchvision import datasets, transforms`` becomes
``from neurite.torchvision import datasets, transforms``.

Images come from the library's IDX reader (the files in ``root`` as torchvision lays them out,
``root/MNIST/raw``, or ``root`` itself, or ``$NEURITE_DATA``); there is no PIL here, so an
example without a transform is a uint8 tensor of shape (28, 28) rather than a PIL image. A
``DataLoader`` over such a dataset whose transform is made of ToTensor and Normalize gathers
and converts whole batches at once in the library, instead of one example at a time."""

from . import datasets, transforms

__all__ = ["datasets", "transforms"]
