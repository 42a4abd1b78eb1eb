"""The slot format, read by the client from bytes the Swift side wrote.

``Fixtures/protocol/slot-v2-uint8.bin`` is pinned by the Swift test
``SlotLayoutTests.theGoldenSlotFileIsWhatThisBuildWrites``; here the client's own parser reads it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from augload._errors import EngineError
from augload._ring import Ring

GOLDEN = Path(__file__).resolve().parents[2] / "Fixtures" / "protocol" / "slot-v2-uint8.bin"


def ring_of(data: bytes) -> Ring:
    fd = os.memfd_create("golden-slot")
    os.write(fd, data)
    return Ring(fd, generation=0, slots=1, slot_bytes=len(data))


def test_the_client_reads_the_slot_swift_wrote() -> None:
    ring = ring_of(GOLDEN.read_bytes())
    images, labels, _owner = ring.view(0, epoch=3, index=4)
    assert images.dtype == np.uint8 and images.shape == (2, 2, 3, 3)
    assert images.ravel().tolist() == list(range(36))
    assert labels.dtype == np.int32 and labels.tolist() == [5, 7]


def test_a_slot_of_another_batch_or_version_is_refused() -> None:
    ring = ring_of(GOLDEN.read_bytes())
    with pytest.raises(EngineError):
        ring.view(0, epoch=3, index=5)
    data = bytearray(GOLDEN.read_bytes())
    data[8] = 3  # format version 3
    with pytest.raises(EngineError):
        ring_of(bytes(data)).view(0, epoch=3, index=4)
