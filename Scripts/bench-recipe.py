#!/usr/bin/env python3
"""torchvision's ResNet-50 v2 recipe, augload beside PyTorch, in one run.

    .venv-test/bin/python Scripts/bench-recipe.py peers-data/ds/jpeg --engine ENGINE [--workers 2] [--n 1000] [--mix] [--rounds 3]

Recipe: RandomResizedCrop 176 (antialiased), horizontal flip, TrivialAugmentWide, float32 NCHW
scaled to [0, 1], ImageNet normalisation, RandomErasing 0.1; batches of 64.
  - PyTorch: `DataLoader(num_workers=W, persistent_workers=True)` over an ImageFolder-like
    dataset decoding with PIL and `torchvision.transforms.v2` doing the recipe; a cold epoch, then
    one warm epoch per round.
  - augload: `ENGINE bench` (the engine's own measure: steady img/s and CPU ms per image,
    workers processes) on the same files: the recipe, the recipe without TrivialAugmentWide and
    RandomErasing (the cost of the new steps), RandAugment(2, 9), AutoAugment and ColorJitter(0.4,
    0.4, 0.4, 0.1) in their place; then the recipe with `--cache ram` over 3 epochs (the first
    epoch and the later ones).
With --mix, the whole recipe: MixUp(alpha 0.2) or CutMix(alpha 1.0), 50/50 per batch, in the
PyTorch peer's `collate_fn` (`v2.RandomChoice`, as the reference scripts) and in the engine
(`--mixup 0.2 --cutmix 1.0`); augload runs the recipe with and without the mix (the mix's CPU
cost per image) and the mixed recipe with `--cache ram`.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import os
import subprocess
import sys
import time

RECIPE = ["--size", "176", "--crop", "resized", "--flip", "h", "--dtype", "float32", "--layout", "nchw",
          "--normalize", "imagenet"]  # fmt: skip
VARIANTS = {
    "recipe (TrivialAugmentWide + RandomErasing 0.1)": ["--auto-augment", "trivialaugment", "--erasing", "0.1"],
    "without TrivialAugmentWide and RandomErasing": [],
    "RandAugment(2, 9) + RandomErasing 0.1": ["--auto-augment", "randaugment:2:9", "--erasing", "0.1"],
    "AutoAugment(ImageNet) + RandomErasing 0.1": ["--auto-augment", "autoaugment", "--erasing", "0.1"],
    "ColorJitter(0.4, 0.4, 0.4, 0.1) + RandomErasing 0.1": ["--color-jitter", "0.4,0.4,0.4,0.1", "--erasing", "0.1"],
}


def files_of(root: str, n: int) -> list[tuple[str, int]]:
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    items = [(os.path.abspath(os.path.join(root, c, f)), i) for i, c in enumerate(classes) for f in sorted(os.listdir(os.path.join(root, c)))]
    return items[:n]


class RecipeFiles:
    """The PyTorch peer's dataset: PIL decode, then the recipe (module level: spawn pickles it)."""

    def __init__(self, items: list[tuple[str, int]], transform) -> None:
        self.items, self.transform = items, transform

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        from PIL import Image

        path, label = self.items[i]
        with Image.open(path) as image:
            return self.transform(image.convert("RGB")), label


MIXED = {
    "the whole recipe (+ MixUp 0.2 / CutMix 1.0)": VARIANTS["recipe (TrivialAugmentWide + RandomErasing 0.1)"]
    + ["--mixup", "0.2", "--cutmix", "1.0"],
    "the recipe without the mix": VARIANTS["recipe (TrivialAugmentWide + RandomErasing 0.1)"],
}


class MixCollate:
    """The reference scripts' collate_fn: default collation, then MixUp or CutMix (module level: spawn pickles it)."""

    def __init__(self, classes: int) -> None:
        from torchvision.transforms import v2

        self.mix = v2.RandomChoice([v2.MixUp(alpha=0.2, num_classes=classes), v2.CutMix(alpha=1.0, num_classes=classes)])

    def __call__(self, batch):
        import torch.utils.data

        return self.mix(*torch.utils.data.default_collate(batch))


class TorchRecipe:
    """PyTorch's DataLoader on the recipe, its workers kept between epochs; `epoch()` times one."""

    def __init__(self, items: list[tuple[str, int]], workers: int, mix: bool = False) -> None:
        import torch
        from torchvision.transforms import v2

        transform = v2.Compose([
            v2.RandomResizedCrop(176, antialias=True), v2.RandomHorizontalFlip(), v2.TrivialAugmentWide(),
            v2.PILToTensor(), v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]), v2.RandomErasing(0.1),
        ])  # fmt: skip
        self.loader = torch.utils.data.DataLoader(
            RecipeFiles(items, transform), batch_size=64, shuffle=True, num_workers=workers,
            persistent_workers=workers > 0, multiprocessing_context="spawn" if workers else None,
            collate_fn=MixCollate(len({label for _, label in items})) if mix else None,
        )  # fmt: skip
        self.epoch()  # the cold epoch: workers spawned, files read once

    def epoch(self) -> float:
        start, count = time.perf_counter(), 0
        for images, _ in self.loader:
            count += images.shape[0]
        return count / (time.perf_counter() - start)


def augload_bench(engine: str, files: str, n: int, workers: int, extra: list[str], cache: bool) -> dict:
    command = [engine, "bench", "--files", files, "--workers", str(workers), "--images", str(n), "--json", *RECIPE, *extra]
    if cache:
        command += ["--epochs", "3", "--cache", "ram"]
    run = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)["runs"]
    return run[-1]


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # spawned workers import this module
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root")
    parser.add_argument("--engine", required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--mix", action="store_true", help="the whole recipe, MixUp/CutMix included")
    parser.add_argument("--rounds", type=int, default=3, help="PyTorch epochs and augload runs, alternated")
    args = parser.parse_args()
    items = files_of(args.root, args.n)
    listing = os.path.join("/tmp", f"bench-recipe-{os.getpid()}.csv")
    with open(listing, "w") as f:
        f.writelines(f"{path},{label}\n" for path, label in items)
    print(f"PyTorch DataLoader, {args.workers} workers, then {args.rounds} rounds ...", file=sys.stderr)
    torch_loader = TorchRecipe(items, args.workers, args.mix)
    variants = MIXED if args.mix else VARIANTS
    baseline = "the recipe without the mix" if args.mix else "without TrivialAugmentWide and RandomErasing"
    # This VM's speed drifts by tens of percent over minutes: PyTorch's epoch and augload's runs
    # alternate, round by round, and each ratio is the median of the rounds' own ratios.
    torch_rates: list[float] = []
    runs: dict[str, list[dict]] = {name: [] for name in variants}
    cached: list[dict] = []
    for _ in range(args.rounds):
        torch_rates.append(torch_loader.epoch())
        for name, extra in variants.items():
            runs[name].append(augload_bench(args.engine, listing, len(items), args.workers, extra, False))
        cached.append(augload_bench(args.engine, listing, len(items), args.workers, variants[next(iter(variants))], True))

    def ratio(values: list[float]) -> float:
        return statistics.median(v / t for v, t in zip(values, torch_rates))

    print(f"| pipeline | img/s (median of {args.rounds}) | × PyTorch (median of the rounds' ratios) | CPU ms/img | CPU vs {baseline} |")
    print("|---|---:|---:|---:|---:|")
    peer = "the whole recipe, MixUp/CutMix in collate_fn" if args.mix else "the recipe"
    print(f"| PyTorch DataLoader + torchvision v2, {peer} (warm epochs: {', '.join(f'{r:.0f}' for r in torch_rates)}) | {statistics.median(torch_rates):.0f} | 1.0 | | |")
    plain = statistics.median(r["steadyCPUMillisecondsPerImage"] for r in runs[baseline])
    for name, rounds in runs.items():
        rates = [r["steadyImagesPerSecond"] for r in rounds]
        cpu = statistics.median(r["steadyCPUMillisecondsPerImage"] for r in rounds)
        print(f"| augload, {name} | {statistics.median(rates):.0f} | {ratio(rates):.1f} | {cpu:.2f} | {cpu / plain - 1:+.0%} |")
    first = [c["firstEpochImagesPerSecond"] for c in cached]
    later = [c["laterEpochsImagesPerSecond"] for c in cached]
    name = "the whole recipe" if args.mix else "the recipe"
    print(f"| augload, {name}, --cache ram: first epoch | {statistics.median(first):.0f} | {ratio(first):.1f} | | |")
    print(f"| augload, {name}, --cache ram: later epochs | {statistics.median(later):.0f} | {ratio(later):.1f} | | |")
    os.remove(listing)


if __name__ == "__main__":
    main()
