"""PyTorch adapter: ``augload.torch.DataLoader`` yields ``torch.Tensor`` batches, zero-copy.

    from augload.torch import DataLoader
    loader = DataLoader("data/train", batch_size=64, layout="nchw", normalize="imagenet")
    for images, labels in loader:          # images: float32 (64, 3, 224, 224), labels: int64 (64,)
        loss = F.cross_entropy(model(images), labels)

Images are ``torch.from_numpy`` views of the shared slot (no copy; the slot is released when
the last tensor or view of it is gone). Labels are converted to ``int64`` (a copy of ``n``
ints), the dtype ``cross_entropy`` and ``nll_loss`` want. With ``mixup``/``cutmix`` or
``label_smoothing`` the labels are float32 targets ``(n, classes)`` (views, no copy), which
``cross_entropy`` takes as class probabilities:

    loader = DataLoader("data/train", mixup=0.2, cutmix=1.0, layout="nchw", normalize="imagenet")
    for images, targets in loader:         # targets: float32 (64, classes), rows summing to 1
        loss = F.cross_entropy(model(images), targets) Sharding: ``rank``/``world_size``
default to ``torch.distributed``'s when it is initialised, else to ``RANK``/``WORLD_SIZE``.
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import numpy as np
import torch

from .loader import Loader

__all__ = ["DataLoader"]


class _Tensors:
    """One pass as tensors. An iterator object, not a generator: a generator's locals would
    keep the previous batch (and its slot) alive while the next one is fetched."""

    def __init__(self, batches: Iterator[tuple[np.ndarray, np.ndarray]]) -> None:
        self._batches = batches

    def __iter__(self) -> "_Tensors":
        return self

    def __next__(self) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = next(self._batches)
        targets = torch.from_numpy(labels)
        return torch.from_numpy(images), targets if labels.ndim == 2 else targets.to(torch.int64)


class DataLoader:
    """An iterable of ``(images, labels)`` tensors; one ``for`` pass is one epoch.

    Args:
        folder: an image folder, or an existing :class:`augload.Loader` to wrap.
        **options: :class:`augload.Loader`'s keyword arguments.

    Has ``len()`` (batches per epoch), ``classes``, ``state_dict()``/``load_state_dict()``
    (torchdata ``StatefulDataLoader``'s names), ``close()`` and ``with``.
    """

    def __init__(self, folder: Any = None, **options: Any) -> None:
        if isinstance(folder, Loader):
            if options:
                raise TypeError("give options to the Loader you wrap, not to DataLoader")
            self.loader = folder
        else:
            if "rank" not in options and "world_size" not in options:
                distributed = torch.distributed
                if distributed.is_available() and distributed.is_initialized():
                    options["rank"], options["world_size"] = distributed.get_rank(), distributed.get_world_size()
            self.loader = Loader(folder, **options)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        return _Tensors(iter(self.loader))

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def classes(self) -> list[str]:
        """Class names; label ``i`` is ``classes[i]``."""
        return self.loader.classes

    def state_dict(self) -> dict[str, Any]:
        """The position of the next batch (see :meth:`augload.Loader.state_dict`)."""
        return self.loader.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues from a saved :meth:`state_dict`."""
        self.loader.load_state_dict(state)

    def close(self) -> None:
        """Stops the engine (idempotent)."""
        self.loader.close()

    def __enter__(self) -> "DataLoader":
        return self

    def __exit__(self, *exc: Optional[object]) -> None:
        self.close()
