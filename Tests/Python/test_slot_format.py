"""The slot format, read by the client from bytes the Swift side wrote.

``Fixtures/protocol/slot-v3-uint8.bin`` and ``slot-v3-soft.bin`` are pinned by the Swift test
``SlotLayoutTests.theGoldenSlotFilesAreWhatThisBuildWrites``; here the client's own parser reads them.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from augload._errors import EngineError
from augload._ring import Ring

PROTOCOL_FIXTURES = Path(__file__).resolve().parents[2] / "Fixtures" / "protocol"
GOLDEN = PROTOCOL_FIXTURES / "slot-v3-uint8.bin"
SOFT = PROTOCOL_FIXTURES / "slot-v3-soft.bin"


def ring_of(data: bytes) -> Ring:
    fd = os.memfd_create("golden-slot")
    os.write(fd, data)
    return Ring(fd, generation=0, slots=1, slot_bytes=len(data))


def test_the_client_reads_the_slot_swift_wrote() -> None:
    ring = ring_of(GOLDEN.read_bytes())
    images, labels, _owner = ring.view(0, epoch=3, index=4)
    assert images.dtype == np.uint8 and images.shape == (2, 2, 3, 3)
    assert images.ravel().tolist() == list(range(36))
    assert labels.dtype == np.int32 and labels.shape == (2,) and labels.tolist() == [5, 7]


def test_soft_targets_arrive_as_float32_rows() -> None:
    images, labels, _owner = ring_of(SOFT.read_bytes()).view(0, epoch=3, index=4)
    assert images.dtype == np.float32 and images.ravel().tolist() == [float(i) for i in range(36)]
    assert labels.dtype == np.float32 and labels.shape == (2, 3)
    assert labels.tolist() == [[0.25, 0.75, 0.0], [1.0, 0.0, 0.0]]


def test_a_slot_of_another_batch_or_version_is_refused() -> None:
    ring = ring_of(GOLDEN.read_bytes())
    with pytest.raises(EngineError):
        ring.view(0, epoch=3, index=5)
    for version in (2, 4):
        data = bytearray(GOLDEN.read_bytes())
        data[8] = version
        with pytest.raises(EngineError, match=f"version {version}"):
            ring_of(bytes(data)).view(0, epoch=3, index=4)


def test_a_version_2_reader_refuses_a_version_3_slot() -> None:
    """The check the 0.2.0 client ran on every slot (magic "AUGLOAD2" and word 1 == 2) rejects
    what this engine writes, so an old client stops instead of misreading soft targets."""
    magic, version = struct.unpack_from("<2q", SOFT.read_bytes())
    assert (magic, version) != (0x4155474C4F414432, 2) and version == 3


def test_label_shapes_that_disagree_with_the_count_are_refused() -> None:
    data = bytearray(SOFT.read_bytes())
    struct.pack_into("<q", data, 18 * 8, 4)  # 2 x 4 targets, but the header counts 6
    with pytest.raises(EngineError, match="labels of rank 2"):
        ring_of(bytes(data)).view(0, epoch=3, index=4)
