"""What a Loader yields: length, classes, shapes and dtypes, the same bytes as `augload export`."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

import augload
from conftest import FIXTURES, IMAGES, SMALL, assert_same_batches, copies, descendants, export, one_pass, wait_gone


def test_len_classes_shape_and_dtype_follow_the_options():
    with augload.Loader(IMAGES, batch_size=8, size=48, layout="nchw", dtype="float32", workers=2) as loader:
        assert len(loader) == 4  # 30 images in batches of 8
        assert loader.classes == ["bird", "cat", "dog"]
        assert loader.samples == 30
        batches = one_pass(loader)
    assert [x.shape for _, _, x, _ in batches] == [(8, 3, 48, 48)] * 3 + [(6, 3, 48, 48)]
    assert all(x.dtype == np.float32 and y.dtype == np.int32 for _, _, x, y in batches)
    assert all(0.0 <= x.min() and x.max() <= 1.0 for _, _, x, _ in batches)
    labels = np.concatenate([y for _, _, _, y in batches])
    assert sorted(np.bincount(labels)) == [9, 10, 11]


def test_uint8_nhwc_batches_and_drop_last():
    with augload.Loader(IMAGES, batch_size=8, size=20, dtype="uint8", drop_last=True, workers=1) as loader:
        assert len(loader) == 3
        batches = one_pass(loader)
    assert [x.shape for _, _, x, _ in batches] == [(8, 20, 20, 3)] * 3
    assert all(x.dtype == np.uint8 for _, _, x, _ in batches)


@pytest.mark.parametrize("workers", [0, 1, 2, 7])
def test_bytes_equal_augload_export_for_any_worker_count(engine, tmp_path, workers):
    options = dict(SMALL, layout="nchw", dtype="float32")
    expected = export(engine, IMAGES, tmp_path, epochs=2, workers=2, **options)
    with augload.Loader(IMAGES, workers=workers, queue=3, **options) as loader:
        got = copies(loader, 2)
    assert_same_batches(got, expected)


def test_imagenet_normalisation_equals_export(engine, tmp_path):
    options = dict(SMALL, dtype="float32")
    expected = export(engine, IMAGES, tmp_path, epochs=1, normalize="imagenet", **options)
    with augload.Loader(IMAGES, normalize="imagenet", **options) as loader:
        assert_same_batches(copies(loader, 1), expected)


@pytest.mark.parametrize("cache", ["ram", "folder"])
def test_a_decoded_cache_changes_no_byte(engine, tmp_path, cache):
    expected = export(engine, IMAGES, tmp_path / "export", epochs=2, **SMALL)
    where = "ram:64M" if cache == "ram" else tmp_path / "cache"
    with augload.Loader(IMAGES, cache=where, workers=2, **SMALL) as loader:
        assert loader.cache_stats is None  # nothing handed out yet
        assert_same_batches(copies(loader, 2), expected)  # epoch 1 comes from the cache
        stats = loader.cache_stats
    # Every one of the 2 x 30 uses is counted, each image stored once. (The engine may have made
    # part of a third epoch ahead, and with 2 workers an image's second use can start before its
    # first is stored: so at least, not exactly, 30 misses.)
    assert stats["kind"] == ("ram" if cache == "ram" else "disk")
    assert stats["entries"] == 30 and stats["bytes"] > 0 and stats["bypassed"] == 0, stats
    assert stats["misses"] >= 30 and stats["hits"] > 0 and stats["hits"] + stats["misses"] >= 60, stats


def test_a_bounded_resolution_is_defined_without_the_cache_and_kept_with_it(engine, tmp_path):
    options = dict(SMALL, crop="resized", cache_max_side=100)
    expected = export(engine, IMAGES, tmp_path / "export", epochs=2, **options)  # no cache
    unbounded = export(engine, IMAGES, tmp_path / "plain", epochs=1, **dict(options, cache_max_side=None))
    assert any(not np.array_equal(a[2], b[2]) for a, b in zip(expected, unbounded)), "the bound changes images"
    with augload.Loader(IMAGES, cache="ram", workers=2, **options) as loader:
        assert_same_batches(copies(loader, 2), expected)
        # (A small image within the bound that the plain path decodes at a DCT scale still bypasses.)
        assert loader.cache_stats["hits"] > 0 and loader.cache_stats["entries"] == 30, loader.cache_stats


def test_photos_that_bypass_the_cache_get_one_warning_that_says_what_to_do(tmp_path):
    import shutil
    import warnings

    (tmp_path / "a").mkdir()
    for i in range(4):  # 2000x1500: RandomResizedCrop to 32 decodes them at a DCT scale
        shutil.copy(FIXTURES / "codecs" / "jpeg-420-2000x1500-q25.jpg", tmp_path / "a" / f"{i}.jpg")
    options = dict(batch_size=2, size=32, crop="resized", workers=1, cache="ram")
    with augload.Loader(tmp_path, **options) as loader:
        with pytest.warns(UserWarning, match="cache_max_side") as caught:
            copies(loader, 2)
        # (at least: the engine may have made part of a third epoch ahead)
        assert len(caught) == 1 and loader.cache_stats["bypassed"] >= 8, loader.cache_stats
        assert loader.cache_stats["entries"] == 0, loader.cache_stats
    with augload.Loader(tmp_path, cache_max_side=256, **options) as loader:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            copies(loader, 2)
        assert loader.cache_stats["hits"] >= 4 and loader.cache_stats["bypassed"] == 0, loader.cache_stats


def test_a_killed_worker_changes_nothing(engine, tmp_path):
    options = dict(SMALL, batch_size=2, size=64)
    expected = export(engine, IMAGES, tmp_path, epochs=2, **options)
    got = []
    with augload.Loader(IMAGES, workers=2, queue=4, **options) as loader:
        for epoch in range(2):
            for index, (images, labels) in enumerate(loader):
                got.append((epoch, index, images.copy(), labels.copy()))
                if epoch == 0 and index == 2:
                    workers = descendants(loader.engine_pid)
                    assert workers, "the engine runs worker processes"
                    os.kill(workers[0], signal.SIGKILL)
                    assert wait_gone([workers[0]], 2.0) == []
        restarts = loader.worker_restarts
    assert_same_batches(got, expected)
    assert restarts >= 1


def test_files_with_int_labels_keep_their_labels():
    paths = sorted(
        p for p in IMAGES.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png") and not p.name.startswith(".")
    )
    labels = list(range(len(paths)))  # one class per file: labels identify the file
    with augload.Loader(files=paths, labels=labels, batch_size=5, size=16, shuffle=False, workers=1) as loader:
        assert len(loader) == 6
        assert loader.classes == [str(i) for i in range(30)]
        got = np.concatenate([y for _, _, _, y in one_pass(loader)])
    assert got.tolist() == labels


def test_files_with_string_labels_sort_their_classes():
    paths = sorted(IMAGES.glob("*/*.jpg"))
    names = [p.parent.name for p in paths]
    with augload.Loader(files=[str(p) for p in paths], labels=names, batch_size=64, size=16, shuffle=False) as loader:
        assert loader.classes == sorted(set(names))
        ((_, _, images, labels),) = one_pass(loader)
    assert images.shape == (len(paths), 16, 16, 3)
    assert [loader.classes[i] for i in labels] == names


def test_one_pass_is_one_epoch_and_an_abandoned_pass_moves_on(engine, tmp_path):
    expected = export(engine, IMAGES, tmp_path, epochs=3, **SMALL)
    with augload.Loader(IMAGES, **SMALL) as loader:
        for index, _ in enumerate(loader):
            if index == 2:
                break
        assert loader.epoch == 0
        got = one_pass(loader)  # the rest of epoch 0 is skipped: epoch 1 from its start
        assert loader.epoch == 2
        got += one_pass(loader)
    assert_same_batches(got, [b for b in expected if b[0] >= 1])


def test_close_is_idempotent_and_ends_the_engine():
    loader = augload.Loader(IMAGES, **SMALL, workers=2)
    images, _ = next(iter(loader))
    pids = [loader.engine_pid] + descendants(loader.engine_pid)
    loader.close()
    loader.close()
    assert wait_gone(pids, 1.0) == []
    assert images.shape[0] == 4 and np.isfinite(images).all()  # a batch outlives close()
    with pytest.raises(augload.AugloadError, match="closed"):
        next(iter(loader))


def test_bounded_epochs_end_iteration():
    with augload.Loader(IMAGES, epochs=1, **SMALL) as loader:
        assert len(one_pass(loader)) == len(loader)
        start = time.monotonic()
        assert one_pass(loader) == []
        assert time.monotonic() - start < 5


def test_the_installed_package_carries_its_engine(engine):
    if os.environ.get("AUGLOAD_ENGINE"):
        pytest.skip("AUGLOAD_ENGINE overrides the packaged engine")
    assert engine == os.path.join(os.path.dirname(augload.__file__), "_bin", "augload")
    assert os.access(engine, os.X_OK)


def test_the_default_worker_count_is_the_engines_one_per_online_core():
    # One home for the default (Loader.defaultWorkers in the engine): the client sends none.
    with augload.Loader(IMAGES, batch_size=8, size=16) as loader:
        assert loader.engine_workers == len(os.sched_getaffinity(0)) or loader.engine_workers == os.cpu_count()
