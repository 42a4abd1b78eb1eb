"""Bad files and a dead engine: errors that name the cause, never a hang."""

from __future__ import annotations

import os
import shutil
import signal
import time

import numpy as np
import pytest

import augload
from conftest import BAD_FOLDER, FIXTURES, IMAGES, engines_of_this_process, wait_gone

TRUNCATED = str(BAD_FOLDER / "dog" / "dog-2-truncated.jpg")


def test_a_bad_file_under_on_error_fail_raises_decode_error_naming_it():
    loader = augload.Loader(BAD_FOLDER, batch_size=2, size=32, on_error="fail", workers=2)
    with pytest.raises(augload.DecodeError) as caught:
        for _ in loader:
            pass
    error = caught.value
    assert error.path == TRUNCATED
    assert error.code == "truncated"
    assert TRUNCATED in str(error)
    assert wait_gone([loader.engine_pid], 2.0) == []
    with pytest.raises(augload.DecodeError):  # the loader stays failed
        next(iter(loader))


def test_on_error_skip_keeps_the_shape_and_lists_the_file():
    with augload.Loader(BAD_FOLDER, batch_size=2, size=32, on_error="skip", workers=2) as loader:
        shapes = [images.shape for images, _ in loader] + [images.shape for images, _ in loader]
        assert shapes == [(2, 32, 32, 3)] * 6
        assert [path for path, _ in loader.skipped] == [TRUNCATED]
        assert "trunc" in loader.skipped[0][1].lower() or "premature" in loader.skipped[0][1].lower()


def test_a_killed_engine_raises_engine_error_at_the_next_batch():
    with augload.Loader(BAD_FOLDER.parent / "images", batch_size=2, size=32, workers=1) as loader:
        batches = iter(loader)
        next(batches)
        os.kill(loader.engine_pid, signal.SIGKILL)
        start = time.monotonic()
        with pytest.raises(augload.EngineError, match="SIGKILL") as caught:
            for _ in batches:
                pass
        assert time.monotonic() - start < 2.5
        assert caught.value.exit_status == -signal.SIGKILL
    assert engines_of_this_process() == []


def test_views_of_a_batch_stay_readable_after_the_engine_dies():
    loader = augload.Loader(BAD_FOLDER.parent / "images", batch_size=2, size=32, workers=1)
    images, labels = next(iter(loader))
    want = images.copy()
    os.kill(loader.engine_pid, signal.SIGKILL)
    with pytest.raises(augload.EngineError):
        next(iter(loader))
    assert np.array_equal(images, want) and labels.shape == (2,)


def folder_with_a_corrupt_jpeg(root):
    for name in ("cat", "dog"):
        shutil.copytree(IMAGES / name, root / name)
    shutil.copy(FIXTURES / "bad" / "corrupt-middle.jpg", root / "dog" / "corrupt-middle.jpg")
    return root, str(root / "dog" / "corrupt-middle.jpg")


def test_data_libjpeg_recovered_from_is_a_warning_and_strict_makes_it_an_error(tmp_path):
    folder, corrupt = folder_with_a_corrupt_jpeg(tmp_path)
    with augload.Loader(folder, batch_size=5, size=32, workers=2) as loader:
        count = sum(images.shape[0] for images, _ in loader)
        assert count == 20
        assert [path for path, _ in loader.warnings] == [corrupt]
        assert loader.skipped == []
    with augload.Loader(folder, batch_size=5, size=32, workers=2, strict=True) as loader:
        with pytest.raises(augload.DecodeError) as caught:
            for _ in loader:
                pass
    assert caught.value.path == corrupt
