"""Python-side cost of the augload client (not a test): per-batch overhead and a loop's img/s.

    python Tests/Python/bench_client.py [FOLDER] [--batches 2000] [--workers 2] [--batch-size 64] [--size 224]

Prints three figures:
- wrap + release: building the numpy views of a slot and handing the slot back, on a ring
  made here (no engine): the client's own work per batch, in µs.
- loop overhead: CPU time of this process per batch in a loop that does nothing with the
  batches (receive the frame, wrap, release, the for loop itself), in µs; the engine and its
  workers run in other processes and are not counted.
- img/s of a loop that reads every byte of every batch (``images.sum()``), wall clock.
Defaults: FOLDER = Fixtures/images (30 small images, so the engine is never the bottleneck for
the overhead figure; pass a real dataset for the img/s one). Uses $AUGLOAD_ENGINE if set.
"""

from __future__ import annotations

import argparse
import mmap
import os
import struct
import sys
import time
from pathlib import Path

import augload
from augload._engine import Engine
from augload._ring import MAGIC, Releaser, Ring


class _NullEngine(Engine):
    """An Engine without a process, so the release path runs without sending anything."""

    def __init__(self) -> None:  # noqa: D107 - no process, no socket
        import threading

        self.send_lock = threading.Lock()
        self.closed = True


def wrap_release_us(rounds: int, batch: int, size: int) -> float:
    slot_bytes = -(-(256 + batch * size * size * 3 * 4) // 4096) * 4096
    fd = os.memfd_create("bench")
    os.ftruncate(fd, 2 * slot_bytes)
    with mmap.mmap(fd, 2 * slot_bytes) as m:
        header = [MAGIC, 2, 0, 0, 2, 4, batch, 3, size, size, 0, 0, batch, 3, 512, 128]
        struct.pack_into("<16q", m, 0, *header)
    ring = Ring(fd, 0, 2, slot_bytes)
    releaser = Releaser(_NullEngine())
    releaser.new_generation(0)
    start = time.perf_counter()
    for _ in range(rounds):
        images, labels, memory = ring.view(0, 0, 0)
        releaser.track(0, 0, memory)
        del images, labels, memory
        releaser.flush()
    return (time.perf_counter() - start) / rounds * 1e6


def loop(folder: str, batches: int, touch: bool, **options) -> tuple[float, float, int]:
    """(CPU µs per batch in this process, wall seconds, images) for `batches` batches."""
    with augload.Loader(folder, **options) as loader:
        first = iter(loader)
        next(first)  # start-up and the first batch are not the steady state
        del first
        done = images_seen = 0
        cpu, wall = time.process_time(), time.perf_counter()
        while done < batches:
            for images, _ in loader:
                if touch:
                    images.sum()
                images_seen += images.shape[0]
                done += 1
                if done == batches:
                    break
        return (time.process_time() - cpu) / done * 1e6, time.perf_counter() - wall, images_seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default=str(Path(__file__).resolve().parents[2] / "Fixtures" / "images"))
    parser.add_argument("--batches", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--queue", type=int, default=10)
    args = parser.parse_args()
    options = dict(workers=args.workers, batch_size=args.batch_size, size=args.size, queue=args.queue, layout="nchw")

    print(f"python {sys.version.split()[0]}, augload {augload.__version__}, folder {args.folder}")
    print(f"wrap + release (no engine):        {wrap_release_us(20000, args.batch_size, args.size):8.1f} µs/batch")
    small = dict(options, batch_size=4, size=16)  # the engine is never the bottleneck
    cpu, wall, images = loop(args.folder, args.batches, False, **small)
    print(f"loop overhead (4 x 16², no touch): {cpu:8.1f} µs/batch CPU in Python, {args.batches / wall:8.0f} batches/s")
    cpu, wall, images = loop(args.folder, max(1, args.batches // 10), True, **options)
    print(
        f"touching loop ({args.batch_size} x {args.size}², float32 nchw, sum of every batch): "
        f"{images / wall:8.0f} img/s, {cpu:8.1f} µs/batch CPU in Python"
    )


if __name__ == "__main__":
    main()
