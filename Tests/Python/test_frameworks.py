"""Real training with the adapters: a PyTorch loop and Keras 3 `model.fit` (torch backend)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from conftest import IMAGES, SMALL, export

os.environ.setdefault("KERAS_BACKEND", "torch")
# Keras' torch backend calls np.array(tensor), which numpy 2 warns about: theirs, not ours.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


def test_the_core_package_imports_no_framework():
    import subprocess
    import sys

    code = "import sys, augload; print(sorted(m for m in ('torch', 'keras') if m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
    )


def test_a_pytorch_training_loop_steps_on_zero_copy_tensors():
    torch = pytest.importorskip("torch")
    from augload.torch import DataLoader

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 3),
    )
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    before = [p.detach().clone() for p in model.parameters()]
    losses = []
    with DataLoader(IMAGES, layout="nchw", normalize="imagenet", workers=2, **SMALL) as loader:
        assert len(loader) == 8 and loader.classes == ["bird", "cat", "dog"]
        for _epoch in range(2):
            for images, labels in loader:
                assert isinstance(images, torch.Tensor) and images.dtype == torch.float32
                assert images.shape[1:] == (3, 32, 32) and labels.dtype == torch.int64
                loss = torch.nn.functional.cross_entropy(model(images), labels)
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
        state = loader.state_dict()
    assert len(losses) == 16 and all(np.isfinite(losses))
    assert (state["epoch"], state["batch"]) == (2, 0)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))


def test_keras_fit_sees_every_batch_of_each_epoch_once_in_augload_order(engine, tmp_path):
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip("run with KERAS_BACKEND=torch")
    from augload.keras import Dataset

    expected = export(engine, IMAGES, tmp_path, epochs=2, **SMALL)
    log: list = []

    class Recording(Dataset):
        def __getitem__(self, index):
            images, labels = super().__getitem__(index)
            log.append(("batch", labels.copy(), images.copy()))
            return images, labels

    class Epochs(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            log.append(("begin", epoch))

        def on_train_batch_end(self, batch, logs=None):
            log.append(("step", batch))

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    dataset = Recording(IMAGES, workers=2, **SMALL)
    history = model.fit(dataset, epochs=2, verbose=0, callbacks=[Epochs()], shuffle=True)
    dataset.close()
    assert len(history.history["loss"]) == 2 and all(np.isfinite(history.history["loss"]))
    for epoch in range(2):
        start = log.index(("begin", epoch))
        end = log.index(("begin", 1), start + 1) if epoch == 0 else len(log)
        batches = [entry for entry in log[start:end] if entry[0] == "batch"]
        steps = [entry for entry in log[start:end] if entry[0] == "step"]
        want = [b for b in expected if b[0] == epoch]
        assert len(batches) == len(want) == len(steps) == 8
        for (_, labels, images), (_, _, want_images, want_labels) in zip(batches, want):
            assert np.array_equal(labels, want_labels)
            assert images.tobytes() == want_images.tobytes()
