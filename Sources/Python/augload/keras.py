"""Keras 3 adapter: ``augload.keras.Dataset``, a ``keras.utils.PyDataset`` for ``model.fit``.

    from augload.keras import Dataset
    train = Dataset("data/train", batch_size=64, size=224, seed=0)
    model.fit(train, epochs=10)

One Keras epoch is one augload epoch, in augload's order (its own seeded shuffle): ``fit``
shuffles the indices it passes to ``__getitem__``, so ``__getitem__`` ignores its index and
returns the next batch of the stream. Keras' own workers are off (the engine has its own).
An epoch that ends early -- Keras takes one batch to build a model that is not built yet --
is replayed from its start, so do not pass ``steps_per_epoch``. Batches are numpy views of
shared memory, labels ``int32`` (fine for ``sparse_categorical_crossentropy``) -- or, with
``mixup``/``cutmix``/``label_smoothing``, float32 targets ``(n, classes)`` for
``CategoricalCrossentropy``:

    train = Dataset("data/train", mixup=0.2, cutmix=1.0, label_smoothing=0.1)
    model.compile(loss=keras.losses.CategoricalCrossentropy(), optimizer="adam")
    model.fit(train, epochs=10)
"""

from __future__ import annotations

from typing import Any, Iterator, Optional

import keras
import numpy as np

from .loader import Loader

__all__ = ["Dataset"]


class Dataset(keras.utils.PyDataset):
    """A ``PyDataset`` over an augload engine.

    Args:
        folder: an image folder, or an existing :class:`augload.Loader` to wrap.
        **options: :class:`augload.Loader`'s keyword arguments.
    """

    def __init__(self, folder: Any = None, **options: Any) -> None:
        super().__init__(workers=1, use_multiprocessing=False)
        if isinstance(folder, Loader):
            if options:
                raise TypeError("give options to the Loader you wrap, not to Dataset")
            self.loader = folder
        else:
            self.loader = Loader(folder, **options)
        self._iterator: Optional[Iterator[tuple[np.ndarray, np.ndarray]]] = None
        self._epoch_start: Optional[dict[str, Any]] = None
        self._delivered = 0

    def __len__(self) -> int:
        return len(self.loader)

    @property
    def num_batches(self) -> int:
        """Batches per epoch."""
        return len(self.loader)

    @property
    def classes(self) -> list[str]:
        """Class names; label ``i`` is ``classes[i]``."""
        return self.loader.classes

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The next batch of the stream (``index`` is ignored: see the module's docstring)."""
        if self._iterator is None:
            self._iterator = iter(self.loader)
            self._epoch_start, self._delivered = self.loader.state_dict(), 0
        batch = next(self._iterator, None)
        if batch is None:  # the epoch ran out: start the next one
            self._iterator = iter(self.loader)
            self._epoch_start, self._delivered = self.loader.state_dict(), 0
            batch = next(self._iterator)
        self._delivered += 1
        return batch

    def on_epoch_end(self) -> None:
        """Ends the pass; one that ended early is replayed from its start."""
        if self._epoch_start is not None and self._delivered < len(self):
            self.loader.load_state_dict(self._epoch_start)
        self._iterator, self._epoch_start, self._delivered = None, None, 0

    def close(self) -> None:
        """Stops the engine (idempotent)."""
        self.loader.close()
