"""The engine's life follows the Python program's: killed, interrupted, or run without a
`__main__` guard from a script, `-c`, stdin or a notebook."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import IMAGES, descendants, wait_gone

LOOP = f"""
import os, sys, time, augload
print("top level ran in", os.getpid(), flush=True)
loader = augload.Loader({str(IMAGES)!r}, workers=2, batch_size=2, size=64, noise=0.05)
for epoch in range(1000):
    for images, labels in loader:
        if epoch == 0 and labels is not None and loader.state_dict()["batch"] == 1:
            print("engine", loader.engine_pid, flush=True)
        time.sleep(0.002)
"""


def start_loop(code: str) -> tuple[subprocess.Popen, int]:
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    for line in child.stdout:
        if line.startswith("engine "):
            return child, int(line.split()[1])
    raise AssertionError(f"the child exited with {child.wait()} before its first batch")


def shm() -> set[str]:
    return set(os.listdir("/dev/shm")) if os.path.isdir("/dev/shm") else set()


def test_a_killed_python_takes_engine_and_workers_with_it_and_leaves_no_shared_memory():
    before = shm()
    child, engine = start_loop(LOOP)
    tree = [engine] + descendants(engine)
    assert len(tree) >= 2, "engine and at least one worker"
    child.kill()
    child.wait()
    assert wait_gone(tree, 1.0) == []
    assert {name for name in shm() - before if "aug" in name.lower()} == set()


def test_ctrl_c_in_the_loop_returns_at_once_and_stops_the_engine():
    code = f"""
import os, sys, time, augload
loader = augload.Loader({str(IMAGES)!r}, workers=2, batch_size=2, size=64)
try:
    for epoch in range(1000):
        for images, labels in loader:
            if epoch == 0 and loader.state_dict()["batch"] == 1:
                print("engine", loader.engine_pid, flush=True)
            time.sleep(0.002)
except KeyboardInterrupt:
    engine = "/proc/%d" % loader.engine_pid
    print("interrupted; engine still there:", os.path.exists(engine), flush=True)
    sys.exit(3)
"""
    child, engine = start_loop(code)
    tree = [engine] + descendants(engine)
    start = time.monotonic()
    child.send_signal(signal.SIGINT)
    rest = child.stdout.read()
    assert child.wait(timeout=5) == 3
    assert time.monotonic() - start < 2.0
    assert "interrupted; engine still there: False" in rest
    assert wait_gone(tree, 1.0) == []


def test_ctrl_c_without_a_handler_exits_and_leaves_nothing():
    child, engine = start_loop(LOOP)
    tree = [engine] + descendants(engine)
    child.send_signal(signal.SIGINT)
    assert child.wait(timeout=5) != 0
    assert wait_gone(tree, 1.0) == []


TOP_LEVEL = f"""
import augload
print("TOP LEVEL")
with augload.Loader({str(IMAGES)!r}, workers=2, batch_size=4, size=32) as loader:
    n = sum(images.shape[0] for _ in range(2) for images, _ in loader)
print("images", n)
"""


def check_top_level(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("TOP LEVEL") == 1
    assert "images 60" in result.stdout


def test_no_main_guard_from_a_script_file(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(TOP_LEVEL)
    check_top_level(subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120))


def test_no_main_guard_from_python_dash_c():
    check_top_level(subprocess.run([sys.executable, "-c", TOP_LEVEL], capture_output=True, text=True, timeout=120))


def test_no_main_guard_from_stdin():
    check_top_level(subprocess.run([sys.executable, "-"], input=TOP_LEVEL, capture_output=True, text=True, timeout=120))


def test_a_notebook_trains_a_tiny_model_with_seven_workers(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import augload, torch\nprint(augload.__version__)",
        f"loader = augload.Loader({str(IMAGES)!r}, workers=7, batch_size=8, size=32, layout='nchw',\n"
        "                         normalize='imagenet', flip='h', noise=0.02, seed=0)\n"
        "len(loader), loader.classes",
        "torch.manual_seed(0)\n"
        "model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),\n"
        "                            torch.nn.Flatten(), torch.nn.Linear(8, len(loader.classes)))\n"
        "optimizer = torch.optim.SGD(model.parameters(), lr=0.1)\n"
        "losses = []\n"
        "for epoch in range(3):\n"
        "    for images, labels in loader:\n"
        "        logits = model(torch.from_numpy(images))\n"
        "        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels).long())\n"
        "        optimizer.zero_grad(); loss.backward(); optimizer.step()\n"
        "        losses.append(loss.item())\n"
        "print('steps', len(losses), 'engine', loader.engine_pid)",
        "loader.close()\nimport os\nprint('engine gone', not os.path.exists(f'/proc/{loader.engine_pid}'))",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    path = tmp_path / "train.ipynb"
    nbformat.write(notebook, path)
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    text = "".join(
        output.get("text", "")
        for cell in notebook.cells
        for output in cell.get("outputs", ())
        if output.get("name") == "stdout"
    )
    assert "steps 12" in text  # 3 epochs of 4 batches
    assert "engine gone True" in text


def test_ctrl_c_whose_handler_runs_inside_a_slot_release_is_not_lost():
    # Python drops exceptions raised in weakref callbacks; a slot is released from one.
    code = f"""
import os, signal, sys, time, augload
from augload import _ring
loader = augload.Loader({str(IMAGES)!r}, workers=1, batch_size=2, size=16, queue=64)
release = _ring.Releaser._release_soon
def release_during_ctrl_c(self):
    _ring.Releaser._release_soon = release
    signal.raise_signal(signal.SIGINT)  # its handler runs here, inside the callback
    return release(self)
try:
    for index, _ in enumerate(loader):
        if index == 1:
            _ring.Releaser._release_soon = release_during_ctrl_c
        if index == 6:
            sys.exit("the Ctrl-C was lost")
        time.sleep(0.01)
except KeyboardInterrupt:
    sys.exit(3 if not os.path.exists("/proc/%d" % loader.engine_pid) else 4)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 3, result.stderr
    assert "Exception ignored" not in result.stderr


def test_the_engine_and_its_workers_run_without_swifts_backtracer(monkeypatch):
    """A crash must end the engine or a worker at once (the loader then reports it), not hold it
    in Swift's backtracer while this process waits on its socket: both run with
    SWIFT_BACKTRACE=enable=no unless the user set it."""
    import augload

    monkeypatch.delenv("SWIFT_BACKTRACE", raising=False)

    def environment(pid: int) -> dict[str, str]:
        raw = open(f"/proc/{pid}/environ", "rb").read().split(b"\0")
        return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)

    def children(pid: int) -> list[int]:
        tasks = os.listdir(f"/proc/{pid}/task")
        return [int(c) for t in tasks for c in open(f"/proc/{pid}/task/{t}/children").read().split()]

    with augload.Loader(IMAGES, workers=2, batch_size=4, size=32) as loader:
        next(iter(loader))
        assert environment(loader.engine_pid).get("SWIFT_BACKTRACE") == "enable=no"
        workers = children(loader.engine_pid)
        assert workers, "the engine has worker processes"
        assert all(environment(w).get("SWIFT_BACKTRACE") == "enable=no" for w in workers)
    monkeypatch.setenv("SWIFT_BACKTRACE", "enable=yes,interactive=no")
    with augload.Loader(IMAGES, workers=0, batch_size=4, size=32) as loader:
        assert environment(loader.engine_pid).get("SWIFT_BACKTRACE") == "enable=yes,interactive=no"
