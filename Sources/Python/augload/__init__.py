"""augload: augmented image batches for training loops, decoded by a Swift engine, read in place.

    import augload
    with augload.Loader("data/train", batch_size=64, size=224, layout="nchw") as loader:
        for images, labels in loader:      # numpy arrays over shared memory; one pass = one epoch
            ...

``augload.torch`` and ``augload.keras`` adapt the loader to PyTorch and Keras 3; this package
itself needs only numpy.
"""

from ._errors import AugloadError, DecodeError, EngineError, SlotsHeldError
from ._version import __version__
from .loader import Loader

__all__ = ["Loader", "AugloadError", "DecodeError", "EngineError", "SlotsHeldError", "__version__"]
