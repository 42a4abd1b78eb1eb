"""The slot ring mapped from the engine's memfd, numpy views of a slot, and slot releases.

Why a ctypes object per batch: numpy records as every view's ``base`` the first object in the
chain that is not an ndarray (``images[1:]``, ``images.reshape(...)`` and ``torch.from_numpy``
all end there), and ``np.frombuffer`` wraps whatever it is given in a memoryview of its own.
A finalizer on the batch array, or on a memoryview we made, would therefore fire while a slice
of the batch is still alive. So each batch gets one ``SlotMemory`` instance -- a ctypes
array over the slot, holding a buffer export of the ring's mmap -- and both arrays are built
on it: it lives exactly as long as any view of the batch, and a weak reference to it tells us
when the last view is gone.
"""

from __future__ import annotations

import ctypes
import math
import mmap
import os
import struct
import weakref
from collections import deque
from typing import Any, Optional

import numpy as np

from ._engine import Engine
from ._errors import EngineError

MAGIC = 0x4155474C4F414433  # "AUGLOAD3"
VERSION = 3  # the slot format: 3 added the label dtype and shape (float32 soft targets)
_HEADER = struct.Struct("<24q")
_HEADER_BYTES = 192
_IMAGE_DTYPES: dict[int, np.dtype[Any]] = {1: np.dtype("<u1"), 2: np.dtype("<f4")}
_LABEL_DTYPES: dict[int, np.dtype[Any]] = {3: np.dtype("<i4"), 2: np.dtype("<f4")}
_SLOT_MEMORY_DOC = "The bytes of one slot, shared with the engine; alive while any view of its batch is."


class Ring:
    """One generation's ring: ``slots`` slots of ``slot_bytes`` bytes, mapped once."""

    def __init__(self, fd: int, generation: int, slots: int, slot_bytes: int) -> None:
        try:
            if slots < 1 or slot_bytes < _HEADER_BYTES or slot_bytes % 4096:
                raise EngineError(f"the engine sent a bad ring: {slots} slots of {slot_bytes} bytes", "protocol")
            self.mmap = mmap.mmap(fd, slots * slot_bytes, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)
        self.generation = generation
        self.slots = slots
        self.slot_bytes = slot_bytes
        # One ctypes type per ring, so an instance covers exactly one slot.
        self.memory_type: Any = type("SlotMemory", (ctypes.c_ubyte * slot_bytes,), {"__doc__": _SLOT_MEMORY_DOC})

    def view(self, slot: int, epoch: int, index: int) -> tuple[np.ndarray, np.ndarray, Any]:
        """The images and labels of the batch in ``slot``, and the object that owns them.

        Raises :class:`EngineError` when the slot header is not a finished version-3 batch
        ``index`` of ``epoch``. Labels are int32 class indices ``(n,)``, or float32 targets
        ``(n, classes)`` when the batch was mixed or its labels smoothed.
        """
        if not 0 <= slot < self.slots:
            raise EngineError(f"batch frame names slot {slot}, the ring has {self.slots}", "protocol")
        start = slot * self.slot_bytes
        header = _HEADER.unpack_from(self.mmap, start)
        magic, version, h_epoch, h_index, image_code, rank = header[:6]
        shape = header[6 : 6 + max(0, min(rank, 6))]
        count, label_code, image_offset, label_offset, label_rank = header[12:17]
        label_shape = header[17 : 17 + max(0, min(label_rank, 2))]
        problem = None
        if magic != MAGIC or version != VERSION:
            problem = f"magic {magic:#x} version {version} (want {MAGIC:#x}, {VERSION})"
        elif (h_epoch, h_index) != (epoch, index):
            problem = f"holds batch {h_index} of epoch {h_epoch}, the frame said {index} of {epoch}"
        elif image_code not in _IMAGE_DTYPES or label_code not in _LABEL_DTYPES or not 1 <= rank <= 6:
            problem = f"dtype codes {image_code}/{label_code}, rank {rank}"
        elif label_rank not in (1, 2) or math.prod(label_shape) != count or (label_rank == 2) != (label_code == 2):
            problem = f"labels of rank {label_rank}, shape {tuple(label_shape)}, {count} elements, dtype code {label_code}"
        if problem is None:
            image_dtype, label_dtype = _IMAGE_DTYPES[image_code], _LABEL_DTYPES[label_code]
            image_count = math.prod(shape)
            image_end = image_offset + image_count * image_dtype.itemsize
            label_end = label_offset + count * label_dtype.itemsize
            if image_offset < _HEADER_BYTES or image_end > self.slot_bytes or label_end > self.slot_bytes or count < 0:
                problem = f"images at {image_offset}..{image_end}, labels at {label_offset}..{label_end}"
        if problem is not None:
            raise EngineError(
                f"slot {slot} of generation {self.generation} is not a valid batch: {problem}", "protocol"
            )
        memory = self.memory_type.from_buffer(self.mmap, start)
        images = np.frombuffer(memory, image_dtype, image_count, image_offset).reshape(shape)
        labels = np.frombuffer(memory, label_dtype, count, label_offset).reshape(label_shape)
        return images, labels, memory


_lost_interrupts: deque[bool] = deque()


def take_lost_interrupt() -> bool:
    """True once for each Ctrl-C whose handler ran inside a release callback.

    Python prints and drops an exception raised in a weakref callback, so the KeyboardInterrupt
    is recorded there and raised by the loader when the program next asks for a batch.
    """
    try:
        return _lost_interrupts.popleft()
    except IndexError:
        return False


class Releaser:
    """Tells the engine which slots the program no longer references.

    A weak reference to each batch's ``SlotMemory`` queues its slot when the last view
    dies -- in whatever thread drops it, possibly inside the garbage collector -- and sends the
    ``release`` right away if the send lock is free; otherwise the consumer sends it before it
    next waits for a batch.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._queue: deque[tuple[int, int]] = deque()
        self._held: dict[int, weakref.ref] = {}
        self.generation: Optional[int] = None

    def track(self, generation: int, slot: int, memory: Any) -> None:
        """Starts watching ``memory``, the owner of batch views in ``slot``."""
        queue, release = self._queue, self._release_soon

        def dropped(_: object) -> None:  # runs in whichever thread drops the last view
            queue.append((generation, slot))
            try:
                release()
            except KeyboardInterrupt:
                _lost_interrupts.append(True)

        self._held[slot] = weakref.ref(memory, dropped)

    def held(self) -> int:
        """How many slots the program still references (after sending what is queued)."""
        self.flush()
        return len(self._held)

    def new_generation(self, generation: Optional[int]) -> None:
        """Forgets the held slots of the old ring; the engine ignores their releases."""
        with self._engine.send_lock:
            self._held.clear()
            self.generation = generation

    def _release_soon(self) -> None:
        if self._engine.send_lock.acquire(blocking=False):
            try:
                self._flush_locked()
            finally:
                self._engine.send_lock.release()

    def flush(self) -> None:
        """Sends every queued release (blocking on the send lock)."""
        while self._queue:
            with self._engine.send_lock:
                self._flush_locked()

    def _flush_locked(self) -> None:
        slots = []
        while self._queue:
            generation, slot = self._queue.popleft()
            if generation == self.generation and self._held.pop(slot, None) is not None:
                slots.append(slot)
        if slots and not self._engine.closed:
            frame = Engine.encode({"type": "release", "generation": self.generation, "slots": slots})
            try:
                self._engine.send_locked(frame)
            except EngineError:
                pass  # the consumer finds out at its next receive
