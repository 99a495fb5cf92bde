"""``torchvision.datasets.MNIST`` and ``FashionMNIST`` over the library's IDX reader."""

import os
import pathlib

import numpy as np

from .. import _neurite
from ..torch._tensor import _from_array, int64, uint8
from ..torch.utils.data import Dataset


class MNIST(Dataset):
    """MNIST as torchvision gives it: ``dataset[i] == (image, label)``, the image through
    ``transform`` (a uint8 tensor (28, 28) without one), the label an ``int``.

    Looks for the four IDX files (``.gz`` or not) in ``root/MNIST/raw`` (torchvision's
    layout), ``root`` itself, then ``$NEURITE_DATA``; with ``download=True`` and the files
    nowhere, the library downloads them (checksums checked)."""

    _name = "mnist"
    _folder = "MNIST"
    classes = [f"{i} - {w}" for i, w in enumerate("zero one two three four five six seven eight nine".split())]

    def __init__(self, root, train=True, transform=None, target_transform=None, download=False):
        self.root, self.train = root, train
        self.transform, self.target_transform = transform, target_transform
        root = pathlib.Path(os.path.expanduser(str(root)))
        places = [root / self._folder / "raw", root]
        if os.environ.get("NEURITE_DATA"):
            places.append(pathlib.Path(os.environ["NEURITE_DATA"]))
        found = next((p for p in places if (p / "train-images-idx3-ubyte.gz").exists() or (p / "train-images-idx3-ubyte").exists()), None)
        if found is None and not download:
            raise RuntimeError(
                f"Dataset not found: no {self._name} IDX files in {', '.join(str(p) for p in places)}. "
                "You can use download=True to download it"
            )
        (xtr, ytr), (xte, yte) = _neurite.load_idx_dataset(self._name, None if found is None else str(found), download)
        images, labels = (xtr, ytr) if train else (xte, yte)
        self.data = _from_array(np.asarray(images), uint8)
        self.targets = _from_array(np.asarray(labels).astype(np.int64), int64)

    def __len__(self):
        return self.data.shape[0]

    def __getitem__(self, index):
        img, target = self.data[index], int(self.targets[index].item())
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def _batch(self, indices):
        """The examples at ``indices`` as one batch (images, labels), transformed together,
        or None when the transforms cannot run on a batch."""
        if self.target_transform is not None:
            return None
        images = self.data._v().index_select(0, indices)
        from ..torch._tensor import Tensor

        images = Tensor._wrap(images, uint8)
        if self.transform is not None:
            if not hasattr(self.transform, "_batch"):
                return None
            images = self.transform._batch(images)
            if images is None:
                return None
        labels = Tensor._wrap(self.targets._v().index_select(0, indices), int64)
        return images, labels

    def __repr__(self):
        split = "Train" if self.train else "Test"
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}", f"    Root location: {self.root}", f"    Split: {split}"]
        if self.transform is not None:
            lines.append("    StandardTransform\n    Transform: " + repr(self.transform).replace("\n", "\n               "))
        return "\n".join(lines)


class FashionMNIST(MNIST):
    _name = "fashion_mnist"
    _folder = "FashionMNIST"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


__all__ = ["MNIST", "FashionMNIST"]
