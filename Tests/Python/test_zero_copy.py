"""Batches are views of the engine's shared slots: what keeps a slot, and what frees it."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

import augload
from conftest import IMAGES, SMALL


def test_every_view_ends_at_one_owner_per_batch():
    with augload.Loader(IMAGES, **SMALL) as loader:
        images, labels = next(iter(loader))
        owners = set()
        for view in (images, images[1:], images.reshape(-1), labels, labels[:2], np.asarray(images)):
            base = view
            while isinstance(base, np.ndarray):
                base = base.base
            owners.add(id(base))
        assert len(owners) == 1
        assert type(base).__name__ == "SlotMemory"  # a ctypes array over the slot, one per batch
        assert not images.flags.owndata


def test_a_kept_slice_and_tensor_keep_their_bytes_while_slots_are_recycled():
    # queue=3: the kept batch, the one the loop variable still names, and one being filled.
    with augload.Loader(IMAGES, queue=3, batch_size=2, size=32, seed=3, workers=2) as loader:
        batches = iter(loader)
        images, labels = next(batches)
        want = images.copy()
        kept_slice = images[1:]
        kept_tensor = torch.from_numpy(images)
        del images, labels
        seen = 1
        for _ in range(4):  # 4 epochs of 15 batches through the two slots left
            for images, _ in batches:
                images += 0  # touch it; views are writable
                seen += 1
            batches = iter(loader)
        assert seen > 40
        assert np.array_equal(kept_slice, want[1:])
        assert np.array_equal(kept_tensor.numpy(), want)


def test_holding_every_slot_raises_instead_of_hanging():
    with augload.Loader(IMAGES, queue=2, **SMALL) as loader:
        batches = iter(loader)
        first, second = next(batches), next(batches)
        start = time.monotonic()
        with pytest.raises(augload.SlotsHeldError, match=r"all 2 slots are held .*np\.array\(x\).*queue="):
            next(batches)
        assert time.monotonic() - start < 2
        assert first[0].shape == second[0].shape


def test_a_dropped_batch_frees_its_slot_for_the_next():
    # A for loop still names the previous batch while it asks for the next: 2 slots suffice.
    with augload.Loader(IMAGES, queue=2, **SMALL) as loader:
        count = sum(1 for _ in loader) + sum(1 for _ in loader)
    assert count == 2 * 8


def test_a_batch_dropped_before_the_next_is_asked_for_is_not_held_by_the_iterator():
    with augload.Loader(IMAGES, queue=2, **SMALL) as loader:
        batches = iter(loader)
        first = next(batches)
        second = next(batches)
        del second  # only `first` is held now: the pass itself must not keep `second`
        third = next(batches)
        assert first[0].shape == third[0].shape
