#!/usr/bin/env python3
"""The conformance table of the recipe steps: each step replayed with torchvision on real photos.

    .venv-test/bin/python Scripts/recipe/conformance_table.py [DIR] [--n 200] [--engine ENGINE]

For each step, `augload export --explain` runs the same samples twice with the same seed (without
the step: the image it starts from; with it), and the record's calls are replayed with
`torchvision.transforms.v2.functional` on the first (AugMix through its own arithmetic, as
Tests/Python/test_recipe.py does). Prints, per step, the images compared, the operations replayed,
the lowest share of values within ±1 over the images, the mean share, and the highest and mean
absolute difference (the issue's rule: ≥ 99.5 % within ±1 and MAD ≤ 0.25 on every image).
DIR defaults to Fixtures/images; a folder of photos (peers-data/ds/jpeg) gives more samples.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tests" / "Python"))
from test_recipe import GEOMETRY, STEPS, agreement, replay  # noqa: E402

STEPS = dict(STEPS, **{"rand-augment-2-9 + color-jitter": ["--auto-augment", "randaugment", "--color-jitter", "0.4,0.4,0.4,0.1"]})


def export(engine: str, listing: str, out: Path, extra: list[str]) -> list:
    command = [engine, "export", "--files", listing, "--out", str(out), "--quiet", "--explain", "--batch-size", "25",
               "--size", "176", "--crop", "resized", "--seed", "7", "--dtype", "uint8", "--layout", "nchw", *extra]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    batches = []
    for path in sorted(out.glob("images-*.npy")):
        suffix = path.name[len("images-") : -len(".npy")]
        batches.append((np.load(path), json.loads((out / f"params-{suffix}.json").read_text())))
    return batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root", nargs="?", default=str(Path(__file__).resolve().parents[2] / "Fixtures" / "images"))
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--engine", default=None)
    args = parser.parse_args()
    if args.engine is None:
        from augload._engine import find_engine

        args.engine = find_engine()
    files = sorted(str(p.resolve()) for p in Path(args.root).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[: args.n]
    print("| step | images | operations | min within ±1 | mean within ±1 | max MAD | mean MAD |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as scratch:
        listing = os.path.join(scratch, "files.csv")
        Path(listing).write_text("".join(f'"{f}",0\n' for f in files))
        base = export(args.engine, listing, Path(scratch) / "base", [])
        for name, extra in STEPS.items():
            stepped = export(args.engine, listing, Path(scratch) / name, extra)
            within, mads, operations = [], [], 0
            for (before, _), (after, record) in zip(base, stepped):
                for k, entry in enumerate(record):
                    calls = [c for c in entry["ops"] if c["op"] not in GEOMETRY]
                    operations += sum(len(sum(c["args"]["chains"], [])) if c["op"] == "augload_augmix" else 1 for c in calls)
                    theirs = replay(torch.from_numpy(before[k].copy()), calls).numpy()
                    w, m = agreement(after[k], theirs)
                    within.append(w)
                    mads.append(m)
            print(f"| {name} | {len(within)} | {operations} | {min(within):.4%} | {np.mean(within):.4%} | {max(mads):.3f} | {np.mean(mads):.4f} |")


if __name__ == "__main__":
    main()
