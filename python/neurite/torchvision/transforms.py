"""``torchvision.transforms`` for tensors of images: ``ToTensor`` (uint8 (H, W) or (H, W, C)
to float32 (C, H, W) in [0, 1]), ``Normalize`` (per channel), ``Compose`` and ``Lambda``.
Each knows how to apply itself to a whole batch (``_batch``), which the DataLoader uses."""

import numpy as np

from ..torch._tensor import Tensor, _from_array, _tensor_of, float32


class Compose:
    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, img):
        for t in self.transforms:
            img = t(img)
        return img

    def _batch(self, images):
        for t in self.transforms:
            if not hasattr(t, "_batch"):
                return None
            images = t._batch(images)
        return images

    def __repr__(self):
        return "Compose(\n" + "".join(f"    {t}\n" for t in self.transforms) + ")"


class ToTensor:
    """uint8 (H, W[, C]) -> float32 (C, H, W) divided by 255."""

    def __call__(self, img):
        return self._batch(_image_batch(img, single=True))[0]

    def _batch(self, images):
        # images: uint8 tensor (N, H, W) or (N, H, W, C)
        x = images if images.ndim == 4 else images.unsqueeze(3)
        return x.permute(0, 3, 1, 2).float() / 255.0

    def __repr__(self):
        return "ToTensor()"


class Normalize:
    """``(x - mean) / std`` per channel of (C, H, W) tensors."""

    def __init__(self, mean, std, inplace=False):
        self.mean, self.std = tuple(np.atleast_1d(mean).tolist()), tuple(np.atleast_1d(std).tolist())

    def __call__(self, tensor):
        return self._batch(tensor.unsqueeze(0))[0]

    def _batch(self, x):
        c = x.shape[1]
        mean = _tensor_of(np.resize(np.asarray(self.mean, dtype=np.float32), c).reshape(1, c, 1, 1))
        std = _tensor_of(np.resize(np.asarray(self.std, dtype=np.float32), c).reshape(1, c, 1, 1))
        return (x - mean) / std

    def __repr__(self):
        return f"Normalize(mean={self.mean}, std={self.std})"


class Lambda:
    def __init__(self, lambd):
        self.lambd = lambd

    def __call__(self, img):
        return self.lambd(img)

    def __repr__(self):
        return "Lambda()"


def _image_batch(img, single=False):
    if isinstance(img, Tensor):
        t = img
    else:
        t = _from_array(np.asarray(img))
    return t.unsqueeze(0) if single else t


__all__ = ["Compose", "ToTensor", "Normalize", "Lambda"]
_ = float32
