#!/usr/bin/env python3
"""Two or more engine binaries side by side, in one run, in alternating order: start-up through the
Python client and steady throughput. Made to compare the wheel's engine (Swift runtime and image
libraries linked in) with a `swift build -c release` one (`pip install .` before 0.2.0).

    python Scripts/bench-engines.py DATA wheel=.venv-test/lib/python3.11/site-packages/augload/_bin/augload \\
        source=.build-dynamic/release/augload --rounds 5

Per round and engine, in the order given (then reversed the next round):
  - import: a fresh interpreter's `import augload` (wall seconds; the same package for both);
  - first batch, 7 workers: a fresh interpreter, from `augload.Loader(...)` to the first batch in
    hand (engine start, dataset scan and worker start included);
  - steady img/s, 2 workers: `ENGINE bench DATA --workers 2` (the engine's own measurement,
    from the first batch to the last), on the peers' pipeline (random crop 224, flip, noise,
    float32 NCHW, batches of 64).
Prints a table of medians and ranges. The Python package is the one importable by this
interpreter (AUGLOAD_ENGINE picks the engine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

PIPELINE = ["--size", "224", "--crop", "random", "--flip", "h", "--noise", "0.05", "--dtype", "float32", "--layout", "nchw"]
FIRST_BATCH = """
import sys, time
t0 = time.perf_counter()
import augload
t1 = time.perf_counter()
with augload.Loader(sys.argv[1], batch_size=64, size=224, crop="random", flip="h", noise=0.05,
                    layout="nchw", dtype="float32", workers=7) as loader:
    next(iter(loader))
    t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def measure(engine: str, data: str, images: int) -> dict[str, float]:
    environment = dict(os.environ, AUGLOAD_ENGINE=engine)
    started = subprocess.run(
        [sys.executable, "-c", FIRST_BATCH, data], capture_output=True, text=True, check=True, env=environment
    ).stdout.split()
    bench = subprocess.run(
        [engine, "bench", data, "--workers", "2", "--images", str(images), "--json", *PIPELINE],
        capture_output=True, text=True, check=True,
    )
    run = json.loads(bench.stdout)["runs"][0]
    return {
        "import s": float(started[0]),
        "first batch s (7 workers)": float(started[1]),
        "steady img/s (2 workers)": run["steadyImagesPerSecond"],
        "CPU ms/img": run["steadyCPUMillisecondsPerImage"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="an image folder (class sub-folders)")
    parser.add_argument("engines", nargs="+", help="NAME=PATH of an augload binary")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--images", type=int, default=1000)
    args = parser.parse_args()
    engines = [tuple(e.split("=", 1)) for e in args.engines]
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in engines}
    for round_ in range(args.rounds):
        order = engines if round_ % 2 == 0 else engines[::-1]
        for name, path in order:
            results[name].append(measure(path, args.data, args.images))
            print(f"round {round_ + 1} {name}: {results[name][-1]}", file=sys.stderr)
    keys = list(next(iter(results.values()))[0])
    print("| engine | " + " | ".join(keys) + " |")
    print("|---|" + "---:|" * len(keys))
    for name, runs in results.items():
        cells = []
        for key in keys:
            values = [r[key] for r in runs]
            digits = 0 if max(values) >= 100 else 3
            cells.append(f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
