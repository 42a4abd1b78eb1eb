"""Shared helpers for the augload Python tests: fixture paths, `augload export` as the reference,
and /proc lookups of the engine's process tree. Every test runs real engine processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
import pytest

import augload
from augload._engine import find_engine

FIXTURES = Path(__file__).resolve().parents[2] / "Fixtures"
IMAGES = FIXTURES / "images"  # 30 images: bird 11, cat 10, dog 9
BAD_FOLDER = FIXTURES / "bad-folder"  # dog/dog-2-truncated.jpg is cut short
SMALL = dict(batch_size=4, size=32, crop="random", flip="h", noise=0.05, seed=7)
TIME_LIMIT = 180


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "time_limit(seconds): a longer limit than TIME_LIMIT (builds, root filesystems)")


@pytest.fixture(autouse=True)
def time_limit(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test that hangs (these tests spawn processes) instead of hanging the run."""
    marker = request.node.get_closest_marker("time_limit")
    seconds = int(marker.args[0]) if marker else TIME_LIMIT

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"test took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="session")
def engine() -> str:
    """The engine binary the package uses ($AUGLOAD_ENGINE or the installed one)."""
    return find_engine()


def cli_arguments(options: dict) -> list[str]:
    """Loader keywords as `augload export` flags."""
    args: list[str] = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is None:
            continue
        if key == "shuffle":
            args.append("--shuffle" if value else "--no-shuffle")
        elif isinstance(value, bool):
            if value:
                args.append(flag)
        else:
            args += [flag, str(value)]
    return args


def export(engine: str, folder: Optional[Path], out: Path, epochs: int, workers: int = 2, **options) -> list:
    """`augload export` of `epochs` epochs: [(epoch, index, images, labels)] in order."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")}
    command = [
        engine,
        "export",
        *([] if folder is None else [str(folder)]),
        "--out",
        str(out),
        "--epochs",
        str(epochs),
        "--workers",
        str(workers),
        "--quiet",
    ]
    subprocess.run(command + cli_arguments(options), check=True, env=env, stdout=subprocess.DEVNULL, timeout=120)
    batches = []
    for path in sorted(out.glob("images-*.npy")):
        _, epoch, index = path.stem.split("-")
        labels = np.load(out / path.name.replace("images-", "labels-"))
        batches.append((int(epoch), int(index), np.load(path), labels))
    assert json.loads((out / "classes.json").read_text())
    return batches


def one_pass(loader: augload.Loader) -> list:
    """One `for` pass, every batch copied: [(epoch, index, images, labels)]."""
    batches = iter(loader)
    epoch, start = loader.epoch, loader.state_dict()["batch"]
    return [(epoch, start + i, x.copy(), y.copy()) for i, (x, y) in enumerate(batches)]


def copies(loader: augload.Loader, epochs: int) -> list:
    """`epochs` passes over the loader, every batch copied."""
    return [batch for _ in range(epochs) for batch in one_pass(loader)]


def assert_same_batches(got: list, expected: list) -> None:
    assert [(e, i) for e, i, _, _ in got] == [(e, i) for e, i, _, _ in expected]
    for (e, i, images, labels), (_, _, want_images, want_labels) in zip(got, expected):
        assert images.dtype == want_images.dtype and images.shape == want_images.shape, (e, i)
        assert np.array_equal(labels, want_labels), (e, i)
        assert images.tobytes() == want_images.tobytes(), f"batch {i} of epoch {e} differs"


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def descendants(pid: int) -> list[int]:
    """Every process below `pid`."""
    found, todo = [], [pid]
    while todo:
        for child in children(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: list[int], seconds: float) -> list[int]:
    """The pids still alive after up to `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        left = [p for p in pids if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def engines_of_this_process() -> list[int]:
    """Live engine processes started by this test process."""
    return [p for p in children(os.getpid()) if alive(p) and "serve" in Path(f"/proc/{p}/cmdline").read_text()]


def run_python(code: str, *args: str, **kwargs) -> subprocess.Popen:
    """A child Python running `code` (via -c) with this environment."""
    return subprocess.Popen([sys.executable, "-c", code, *args], **kwargs)
