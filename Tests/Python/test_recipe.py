"""The recipe steps (TrivialAugmentWide, RandAugment, AutoAugment, ColorJitter, RandomGrayscale,
GaussianBlur, RandomErasing) against real torchvision, through ``augload export --explain``.

Each check exports the same samples twice with the same seed: without the recipe step (the image
the step starts from: the geometry draws come first, so they are the same) and with it; the
explain record's calls, replayed with ``torchvision.transforms.v2.functional`` on the first, must
give the second — within ±1 on at least 99.5 % of the values of every image, mean absolute
difference at most 0.25 (the issue's rule; nearest sampling may differ at exact ties, and torch's
float sums are not ours). The float tail (``to_dtype``, ``normalize``, ``erase``) is replayed on
augload's own uint8 result and must agree to float rounding.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import augload
from conftest import IMAGES, cli_arguments

torch = pytest.importorskip("torch")
F = pytest.importorskip("torchvision.transforms.v2.functional")

BASE = dict(batch_size=10, size=64, crop="resized", flip="h", seed=11, dtype="uint8", layout="nchw", noise=0)
EPOCHS = 3  # 90 samples per check
GEOMETRY = {"augload_decode", "crop", "resize", "horizontal_flip", "vertical_flip"}
STEPS = {
    "trivialaugment": ["--auto-augment", "trivialaugment"],
    "randaugment": ["--auto-augment", "randaugment"],
    "randaugment-4-20": ["--auto-augment", "randaugment:4:20"],
    "autoaugment": ["--auto-augment", "autoaugment"],
    "color-jitter": ["--color-jitter", "0.4,0.4,0.4,0.1"],
    "grayscale": ["--grayscale", "1"],
    "blur": ["--blur", "5,0.1,2.0"],
    "augmix": ["--auto-augment", "augmix"],
    "augmix-severity-10-depth-3": ["--auto-augment", "augmix:10:3:3:0.5"],
}


def export_explained(engine: str, out: Path, extra: list[str], options: dict = BASE, workers: int = 2) -> list:
    """[(images, labels, record)] per batch of `augload export --explain`."""
    command = [engine, "export", str(IMAGES), "--out", str(out), "--epochs", str(EPOCHS), "--workers", str(workers)]
    command += ["--quiet", "--explain", *cli_arguments(options), *extra]
    subprocess.run(command, check=True, timeout=300, stdout=subprocess.DEVNULL)
    batches = []
    for path in sorted(out.glob("images-*.npy")):
        suffix = path.name[len("images-") : -len(".npy")]
        record = json.loads((out / f"params-{suffix}.json").read_text())
        batches.append((np.load(path), np.load(out / f"labels-{suffix}.npy"), record))
    assert batches
    return batches


def replay_augmix(image: "torch.Tensor", args: dict) -> "torch.Tensor":
    """``v2.AugMix.forward`` with the recorded draws: ``m0 * image``, plus each chain's result (its
    calls replayed from the image) times its weight, in float32, then ``.to(uint8)``."""
    weight = lambda w: torch.tensor(w, dtype=torch.float32)
    mix = weight(args["original_weight"]) * image
    for w, chain in zip(args["chain_weights"], args["chains"]):
        mix.add_(weight(w) * replay(image, chain))
    return mix.to(image.dtype)


def replay(image: "torch.Tensor", calls: list[dict]) -> "torch.Tensor":
    for call in calls:
        args = dict(call["args"])
        if call["op"] == "augload_augmix":
            image = replay_augmix(image, args)
            continue
        if call["op"] == "erase":
            value = args.pop("v")
            assert value == 0, "random erasing values are not replayable"
            args["v"] = torch.zeros((image.shape[0], args["h"], args["w"]), dtype=image.dtype)
        image = getattr(F, call["op"])(image, **args)
    return image


def agreement(ours: np.ndarray, theirs: np.ndarray) -> tuple[float, float]:
    difference = np.abs(ours.astype(np.int32) - theirs.astype(np.int32))
    return float((difference <= 1).mean()), float(difference.mean())


@pytest.mark.time_limit(600)
@pytest.mark.parametrize("name", sorted(STEPS))
def test_each_recipe_step_replays_in_torchvision(engine, tmp_path, name):
    base = export_explained(engine, tmp_path / "base", [])
    stepped = export_explained(engine, tmp_path / "step", STEPS[name])
    applied, worst = 0, []
    for (before, _, before_record), (after, _, record) in zip(base, stepped):
        for k, (entry, base_entry) in enumerate(zip(record, before_record)):
            assert entry["path"] == base_entry["path"]
            geometry = [c for c in entry["ops"] if c["op"] in GEOMETRY]
            assert geometry == base_entry["ops"], "the recipe step changed the geometry draws"
            calls = [c for c in entry["ops"] if c["op"] not in GEOMETRY]
            applied += len(calls)
            theirs = replay(torch.from_numpy(before[k].copy()), calls).numpy()
            within, mad = agreement(after[k], theirs)
            worst.append((within, mad, entry["path"], calls))
    within, mad, path, calls = min(worst, key=lambda w: (w[0], -w[1]))
    assert within >= 0.995 and max(w[1] for w in worst) <= 0.25, f"{path}: {within:.4f} within ±1, MAD {mad:.3f} after {calls}"
    assert applied >= 30, f"only {applied} operations were applied over {len(worst)} samples"


def test_the_policies_draw_every_operation_of_their_space(engine, tmp_path):
    batches = export_explained(engine, tmp_path / "ta", ["--auto-augment", "trivialaugment"], dict(BASE, batch_size=30))
    names = {c["op"] for _, _, record in batches for entry in record for c in entry["ops"]} - GEOMETRY
    # 90 draws over 14 operations (identity leaves no call; shears and translations are `affine`).
    assert {"affine", "rotate", "adjust_brightness", "adjust_saturation", "adjust_contrast"} <= names, names
    assert {"posterize", "solarize", "autocontrast", "equalize"} & names, names


@pytest.mark.time_limit(600)
def test_augmix_draws_as_torchvision_does(engine, tmp_path):
    """AugMix's record: three chains by default, each of 1 to 3 operations of the all-ops space with
    bilinear sampling, weights summing to 1 (Dirichlet draws); every operation appears."""
    batches = export_explained(engine, tmp_path / "am", ["--auto-augment", "augmix"], dict(BASE, batch_size=30))
    depths, names, sums = set(), set(), []
    for _, _, record in batches:
        for entry in record:
            (mix,) = [c for c in entry["ops"] if c["op"] == "augload_augmix"]
            args = mix["args"]
            assert len(args["chains"]) == len(args["chain_weights"]) == 3
            sums.append(args["original_weight"] + sum(args["chain_weights"]))
            for chain in args["chains"]:
                depths.add(len(chain))
                for call in chain:
                    names.add(call["op"])
                    if call["op"] in ("affine", "rotate"):
                        assert call["args"]["interpolation"] == "bilinear"
    assert depths == {1, 2, 3}, depths
    assert {"affine", "rotate", "posterize", "solarize", "autocontrast", "equalize", "adjust_brightness",
            "adjust_saturation", "adjust_contrast", "adjust_sharpness"} <= names, names  # fmt: skip
    assert max(abs(s - 1) for s in sums) < 1e-5


def test_the_float_tail_replays_to_float_rounding(engine, tmp_path):
    float_options = dict(BASE, dtype="float32", normalize="imagenet")
    steps = ["--auto-augment", "trivialaugment", "--erasing", "1"]
    as_uint8 = export_explained(engine, tmp_path / "u8", steps)
    as_float = export_explained(engine, tmp_path / "f32", steps, float_options)
    erased = 0
    for (images, _, _), (floats, _, record) in zip(as_uint8, as_float):
        for k, entry in enumerate(record):
            tail = [c for c in entry["ops"] if c["op"] in ("to_dtype", "normalize", "erase")]
            assert [c["op"] for c in tail][:2] == ["to_dtype", "normalize"]
            erased += tail[-1]["op"] == "erase"
            tail[0]["args"]["dtype"] = torch.float32
            theirs = replay(torch.from_numpy(images[k].copy()), tail).numpy()
            np.testing.assert_allclose(floats[k], theirs, atol=2e-6, err_msg=entry["path"])
    assert erased >= 60  # p = 1: every sample whose box fits within ten tries


def test_recipe_batches_are_the_same_bytes_for_any_worker_count_and_through_python(engine, tmp_path):
    steps = ["--auto-augment", "randaugment", "--color-jitter", "0.4", "--erasing", "0.5", "--erasing-value", "random"]
    float_options = dict(BASE, dtype="float32", normalize="imagenet")
    zero = export_explained(engine, tmp_path / "w0", steps, float_options, workers=0)
    two = export_explained(engine, tmp_path / "w2", steps, float_options, workers=2)
    for (a, _, ra), (b, _, rb) in zip(zero, two):
        assert a.tobytes() == b.tobytes() and ra == rb
    with augload.Loader(
        IMAGES, workers=2, auto_augment="randaugment", color_jitter=0.4, erasing=0.5, erasing_value="random",
        **{**float_options, "normalize": "imagenet"},
    ) as loader:  # fmt: skip
        got = [x.copy() for _ in range(EPOCHS) for x, _ in loader]
    assert [g.tobytes() for g in got] == [a.tobytes() for a, _, _ in zero]


def test_bad_recipe_values_are_refused_naming_the_option(engine):
    for flags, named in [
        (["--auto-augment", "randaugment:2:31"], "MAGNITUDE must be an integer in 0...30"),
        (["--auto-augment", "sometimes"], "auto-augment must be trivialaugment"),
        (["--color-jitter", "0.4,0.4"], "color-jitter takes"),
        (["--color-jitter", "0.4,0.4,0.4,0.7"], "color-jitter takes"),
        (["--blur", "4"], "blur takes"),
        (["--grayscale", "1.5"], "--grayscale: grayscale must be in 0...1, got 1.5"),
        (["--erasing=-0.1"], "--erasing: erasing must be in 0...1, got -0.1"),
        (["--erasing", "0.5", "--erasing-value", "random", "--dtype", "uint8"], "erasing value random needs dtype float32"),
    ]:
        ran = subprocess.run([engine, "run", str(IMAGES), *flags], capture_output=True, text=True, timeout=60)
        assert ran.returncode == 2 and named in ran.stderr, (flags, ran.stderr)
    with pytest.raises(ValueError, match="MAGNITUDE must be an integer"):
        augload.Loader(IMAGES, auto_augment="randaugment:2:31", workers=0)
    with pytest.raises(ValueError, match="grayscale must be in"):
        augload.Loader(IMAGES, grayscale=2, workers=0)
    with pytest.raises(TypeError, match="auto_augment must be a str"):
        augload.Loader(IMAGES, auto_augment=3, workers=0)


def test_the_loader_explains_a_batch_as_export_does(engine, tmp_path):
    steps = ["--auto-augment", "trivialaugment", "--erasing", "0.5"]
    exported = export_explained(engine, tmp_path / "e", steps)
    with augload.Loader(IMAGES, workers=0, auto_augment="trivialaugment", erasing=0.5, **BASE) as loader:
        assert loader.explain() == exported[0][2]  # the next batch: epoch 0, batch 0
        assert loader.explain(epoch=2, batch=1) == exported[2 * len(loader) + 1][2]
        next(iter(loader))
        assert loader.explain() == exported[1][2]
        with pytest.raises(ValueError, match="out of range"):
            loader.explain(epoch=0, batch=99)
