"""One version for the package, the engine and the wheel; the command line that comes with the
package; an engine of another protocol refused by name."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import pytest

import augload
import augload.loader
from conftest import FIXTURES, IMAGES

VERSION = (FIXTURES.parent / "Sources" / "Python" / "augload" / "VERSION").read_text().strip()
SCRIPT = Path(sys.executable).parent / "augload"  # the console script pip installed beside python


def test_package_engine_and_distribution_share_the_version_file(engine):
    assert augload.__version__ == VERSION
    assert importlib.metadata.version("augload") == VERSION
    answer = subprocess.run([engine, "--version"], capture_output=True, text=True, check=True)
    assert answer.stdout.strip() == VERSION
    with augload.Loader(IMAGES, batch_size=4, size=16, workers=0) as loader:
        assert loader.engine_version == VERSION
        assert loader.engine_kernels in ("avx2", "portable")


@pytest.mark.parametrize("command", [[str(SCRIPT)], [sys.executable, "-m", "augload"]], ids=["script", "python-m"])
def test_the_augload_command_runs_the_packaged_engine(command, tmp_path):
    version = subprocess.run(command + ["--version"], capture_output=True, text=True, timeout=60)
    assert (version.returncode, version.stdout.strip()) == (0, VERSION)
    check = subprocess.run(command + ["check", str(IMAGES), "--workers", "2"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert "30" in check.stdout + check.stderr
    bad = subprocess.run(command + ["check", str(FIXTURES / "bad-folder")], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "dog-2-truncated.jpg" in bad.stdout + bad.stderr
    usage = subprocess.run(command + ["run", str(IMAGES), "--crop", "sideways"], capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "--crop" in usage.stderr
    out = tmp_path / "batches"
    export = subprocess.run(
        command + ["export", str(IMAGES), "--out", str(out), "--batch-size", "8", "--size", "16", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    assert len(list(out.glob("images-*.npy"))) == 4


def test_the_command_without_an_engine_says_how_to_get_one(tmp_path):
    environment = dict(os.environ, AUGLOAD_ENGINE=str(tmp_path / "no-such-engine"))
    ran = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, env=environment, timeout=60)
    assert ran.returncode == 1
    assert "no augload engine at" in ran.stderr and "AUGLOAD_ENGINE" in ran.stderr


def test_an_engine_of_another_protocol_is_refused_naming_both_releases(monkeypatch):
    monkeypatch.setattr(augload.loader, "PROTOCOL", 99)
    with pytest.raises(augload.EngineError) as refused:
        augload.Loader(IMAGES, batch_size=4, size=16, workers=0)
    error = refused.value
    assert error.code == "protocolMismatch"
    text = str(error)
    assert f"is augload {VERSION}" in text and "speaks protocol 99" in text  # the engine's side and ours
    assert f"protocol {augload._version.PROTOCOL}" in text  # the engine's own protocol, in its message
    assert "Reinstall augload" in text
