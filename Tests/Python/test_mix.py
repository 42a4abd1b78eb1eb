"""MixUp, CutMix and soft labels: replayed in torchvision from the explain record, and consumed
by numpy, PyTorch (`cross_entropy` with probabilities) and Keras (`CategoricalCrossentropy`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import IMAGES, export
from torchvision.transforms import v2

import augload

BASE = dict(batch_size=8, size=40, crop="resized", flip="h", seed=11, layout="nchw", normalize="imagenet",
            auto_augment="trivialaugment", erasing=0.25)  # fmt: skip
MIX = dict(mixup=0.2, cutmix=1.0)


class _Recorded:
    """torchvision's own MixUp/CutMix with the draw taken from augload's record instead of its RNG."""

    def __init__(self, record: dict) -> None:
        self.record = record

    def make_params(self, flat_inputs):  # torchvision >= 0.21 calls make_params
        if self.record["op"] == "mixup":
            return dict(lam=self.record["lambda"])
        return dict(box=tuple(self.record["box"]), lam_adjusted=self.record["label_lambda"])

    _get_params = make_params  # older torchvision


class RecordedMixUp(_Recorded, v2.MixUp):
    def __init__(self, record: dict, classes: int) -> None:
        _Recorded.__init__(self, record)
        v2.MixUp.__init__(self, alpha=0.2, num_classes=classes)


class RecordedCutMix(_Recorded, v2.CutMix):
    def __init__(self, record: dict, classes: int) -> None:
        _Recorded.__init__(self, record)
        v2.CutMix.__init__(self, alpha=1.0, num_classes=classes)


def test_every_mixed_batch_replays_in_torchvision(engine, tmp_path):
    """The same run without the mix, mixed by torchvision's MixUp/CutMix with the recorded draw,
    gives the mixed batch: images within the rounding of one multiply-add, targets likewise."""
    mixed = export(engine, IMAGES, tmp_path / "mixed", 2, explain=True, **BASE, **MIX)
    plain = export(engine, IMAGES, tmp_path / "plain", 2, **BASE)
    ops = []
    worst = 0.0
    for (e, i, images, targets), (_, _, unmixed, labels) in zip(mixed, plain):
        record = json.loads((tmp_path / "mixed" / f"mix-{e:04d}-{i:06d}.json").read_text())
        n = len(labels)
        assert record["partner"] == [(k - 1) % n for k in range(n)] and record["num_classes"] == 3
        assert targets.dtype == np.float32 and targets.shape == (n, 3)
        ops.append(record["op"])
        replay = (RecordedMixUp if record["op"] == "mixup" else RecordedCutMix)(record, 3)
        want_images, want_targets = replay(torch.from_numpy(unmixed), torch.from_numpy(labels).to(torch.int64))
        if record["op"] == "cutmix":
            assert np.array_equal(images, want_images.numpy()), (e, i)  # a copy: exact
        scale = np.maximum(np.abs(want_images.numpy()), 1.0)
        worst = max(worst, float(np.max(np.abs(images - want_images.numpy()) / scale)))
        np.testing.assert_allclose(targets, want_targets.numpy(), rtol=0, atol=2e-7)
    assert worst <= 2.0**-23, f"largest relative difference {worst:g}"  # one float32 rounding
    assert {"mixup", "cutmix"} <= set(ops), ops


def test_label_smoothing_makes_smoothed_one_hot_rows(engine, tmp_path):
    smoothed = export(engine, IMAGES, tmp_path / "s", 1, label_smoothing=0.1, **BASE)
    plain = export(engine, IMAGES, tmp_path / "p", 1, **BASE)
    for (_, _, images, targets), (_, _, same_images, labels) in zip(smoothed, plain):
        want = np.full((len(labels), 3), np.float32(0.1 / 3), np.float32)
        want[np.arange(len(labels)), labels] = np.float32(1 - 0.1 + 0.1 / 3)
        assert np.array_equal(targets, want) and images.tobytes() == same_images.tobytes()


def test_the_loader_gives_the_exported_targets_for_any_worker_count(engine, tmp_path):
    exported = export(engine, IMAGES, tmp_path / "e", 1, **BASE, **MIX, label_smoothing=0.1)
    for workers in (0, 2):
        with augload.Loader(IMAGES, workers=workers, **BASE, **MIX, label_smoothing=0.1) as loader:
            got = [(x.copy(), y.copy()) for x, y in loader]
        assert len(got) == len(exported)
        for (images, targets), (_, _, want_images, want_targets) in zip(got, exported):
            assert targets.dtype == np.float32 and targets.shape == want_targets.shape
            assert images.tobytes() == want_images.tobytes() and targets.tobytes() == want_targets.tobytes()
        np.testing.assert_allclose(np.concatenate([t for _, t in got]).sum(axis=1), 1.0, atol=1e-6)
    with augload.Loader(IMAGES, workers=0, **BASE, **MIX) as loader:
        record = loader.explain_mix(0, 1)
        assert record["op"] in ("mixup", "cutmix") and record == json.loads(json.dumps(record))


def test_a_mix_with_uint8_output_is_refused_naming_the_option():
    with pytest.raises(ValueError, match="mixup needs dtype float32"):
        augload.Loader(IMAGES, dtype="uint8", mixup=0.2)
    with pytest.raises(ValueError, match="mix_prob must be in 0...1"):
        augload.Loader(IMAGES, mixup=0.2, mix_prob=2)


def test_pytorch_trains_on_the_targets_with_cross_entropy():
    from augload.torch import DataLoader

    model = torch.nn.Sequential(torch.nn.AdaptiveAvgPool2d(4), torch.nn.Flatten(), torch.nn.Linear(48, 3))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with DataLoader(IMAGES, workers=2, **BASE, **MIX, label_smoothing=0.1) as loader:
        losses = []
        for _ in range(3):
            for images, targets in loader:
                assert targets.dtype == torch.float32 and targets.shape == (images.shape[0], 3)
                loss = torch.nn.functional.cross_entropy(model(images), targets)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
    assert all(np.isfinite(losses)) and len(losses) == 12


def test_keras_fits_with_categorical_crossentropy():
    import keras

    from augload.keras import Dataset

    train = Dataset(IMAGES, workers=2, **{**BASE, "layout": "nhwc"}, **MIX, label_smoothing=0.1)
    model = keras.Sequential([keras.layers.Input((40, 40, 3)), keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3)])
    model.compile(optimizer="sgd", loss=keras.losses.CategoricalCrossentropy(from_logits=True))
    history = model.fit(train, epochs=2, verbose=0)
    train.close()
    assert len(history.history["loss"]) == 2 and all(np.isfinite(history.history["loss"]))
