"""Checkpoints (state_dict/load_state_dict) and sharding across ranks."""

from __future__ import annotations

import numpy as np
import pytest

import augload
from conftest import IMAGES, SMALL, assert_same_batches, copies, one_pass


def test_resuming_mid_epoch_yields_exactly_the_remaining_batches():
    with augload.Loader(IMAGES, workers=2, **SMALL) as first:
        copies(first, 1)
        batches = iter(first)
        for _ in range(3):
            next(batches)
        state = first.state_dict()
        assert (state["epoch"], state["batch"]) == (1, 3)
        rest = [(1, 3 + i, x.copy(), y.copy()) for i, (x, y) in enumerate(batches)]
        rest += one_pass(first)
    with augload.Loader(IMAGES, workers=1, queue=4, **SMALL) as second:  # other workers and queue
        second.load_state_dict(state)
        resumed = one_pass(second) + one_pass(second)
    assert len(rest) == len(first) - 3 + len(first)
    assert_same_batches(resumed, rest)


def test_a_state_from_other_options_is_refused():
    with augload.Loader(IMAGES, **SMALL) as loader:
        state = loader.state_dict()
    with augload.Loader(IMAGES, **dict(SMALL, seed=8)) as other:
        with pytest.raises(ValueError, match="other options"):
            other.load_state_dict(state)


def test_loading_a_state_seeks_back_within_one_loader():
    with augload.Loader(IMAGES, **SMALL) as loader:
        start = loader.state_dict()
        epoch0 = one_pass(loader)
        loader.load_state_dict(start)
        again = one_pass(loader)
    assert_same_batches(again, epoch0)


def image_paths():
    return sorted(
        p for p in IMAGES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png") and not p.name.startswith(".")
    )


def shard(paths, labels, rank, remainder):
    return augload.Loader(
        files=paths,
        labels=labels,
        rank=rank,
        world_size=3,
        remainder=remainder,
        batch_size=3,
        size=16,
        seed=5,
        workers=1,
    )


@pytest.mark.parametrize("remainder,per_rank", [("pad", 10), ("drop", 9)])
def test_every_rank_gets_the_same_length_when_the_dataset_does_not_divide(remainder, per_rank):
    paths = image_paths()[:29]
    labels = list(range(29))  # one class per file: labels identify files
    seen = []
    for rank in range(3):
        with shard(paths, labels, rank, remainder) as loader:
            assert loader.samples == per_rank
            assert len(loader) == -(-per_rank // 3)
            seen.append(np.concatenate([y for _, _, _, y in one_pass(loader)]).tolist())
    assert [len(s) for s in seen] == [per_rank] * 3
    everything = sum(seen, [])
    if remainder == "pad":
        assert set(everything) == set(labels)  # every file at least once, 1 repeated
    else:
        assert len(set(everything)) == 27  # distinct files, 2 left out this epoch


def test_uneven_shards_differ_by_at_most_one():
    paths = image_paths()[:11]
    lengths = []
    for rank in range(3):
        with shard(paths, [0] * len(paths), rank, "uneven") as loader:
            lengths.append(loader.samples)
    assert sorted(lengths) == [3, 4, 4]
