"""The wheel where augload's users are: a bare Debian with python3 and nothing of Swift, libjpeg or
libpng (``Scripts/bare-rootfs.sh``, entered with ``unshare`` + ``chroot``), other interpreters,
and the sdist built from source. Every check runs the real engine over real image files and
compares its batches with ``augload export`` on this (the build) machine.

The wheel is ``dist/augload-*-manylinux_*.whl``, which ``Scripts/test-python.sh`` builds with
``Scripts/build-wheel.sh`` and installs into this suite's venv. Where the host cannot make the root
filesystem (not root, no debootstrap, no mirror) the bare-system tests are skipped with a banner
on stderr and a warning in pytest's summary; on CI and on the development machine they run.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

import augload
from conftest import FIXTURES, IMAGES, assert_same_batches, export

ROOT = FIXTURES.parent
DIST = ROOT / "dist"
VERSION = (ROOT / "Sources" / "Python" / "augload" / "VERSION").read_text().strip()
PROBE = Path(__file__).with_name("wheel_probe.py")
# The libraries a manylinux engine may take from the system: glibc's, libstdc++ and libgcc_s.
SYSTEM_LIBRARIES = {"linux-vdso.so.1", "libc.so.6", "libm.so.6", "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2"}
# Two pipelines that between them use every step: random-resized crop, flip, noise, float32
# planar; centre crop, uint8 interleaved, worker processes and the calling thread.
CONFIGS = {
    "resized-float32": dict(batch_size=8, size=64, crop="resized", flip="h", noise=0.05, layout="nchw", dtype="float32", seed=3, workers=2),
    "center-uint8": dict(batch_size=7, size=48, crop="center", flip="none", dtype="uint8", seed=5, workers=0),
}
EPOCHS = 2


def the_wheel() -> Path:
    wheels = sorted(DIST.glob("augload-*-py3-none-manylinux_*_x86_64.whl"))
    assert len(wheels) == 1, f"expected one manylinux wheel in {DIST} (bash Scripts/build-wheel.sh), found {wheels}"
    return wheels[0]


def the_sdist() -> Path:
    sdists = sorted(DIST.glob("augload-*.tar.gz"))
    assert len(sdists) == 1, f"expected one sdist in {DIST} (bash Scripts/build-wheel.sh), found {sdists}"
    return sdists[0]


def saved_batches(folder: Path) -> list:
    """The probe's .npy files as [(epoch, index, images, labels)], in order."""
    batches = []
    for path in sorted(folder.glob("images-*.npy")):
        _, epoch, index = path.stem.split("-")
        batches.append((int(epoch), int(index), np.load(path), np.load(folder / path.name.replace("images-", "labels-"))))
    return batches


def host_kernels() -> str:
    with augload.Loader(IMAGES, batch_size=4, size=16, workers=0) as loader:
        return loader.engine_kernels


def loudly_skip(reason: str) -> None:
    banner = "!" * 78
    sys.stderr.write(f"\n{banner}\nNOT RUN: the bare-system test of the wheel: {reason}\n{banner}\n")
    warnings.warn(f"the bare-system test of the wheel did not run: {reason}")
    pytest.skip(f"NOT RUN, the bare-system test of the wheel: {reason}")


# MARK: - the bare system


@pytest.fixture(scope="module")
def rootfs() -> Path:
    """The cached bare root filesystem (made on first use: about a minute)."""
    made = subprocess.run(
        ["bash", str(ROOT / "Scripts" / "bare-rootfs.sh")], capture_output=True, text=True, timeout=1800
    )
    if made.returncode == 3:
        loudly_skip(made.stderr.strip())
    assert made.returncode == 0, made.stderr
    return Path(made.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """numpy and setuptools for the bare system's CPython 3.11, fetched here: the bare system
    installs with --no-index, so what it runs is the wheel and these, nothing else."""
    house = tmp_path_factory.mktemp("wheelhouse")
    platforms = [a for p in ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64") for a in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--python-version", "3.11",
         "--implementation", "cp", *platforms, "--dest", str(house), "numpy", "setuptools>=70.1"],
        check=True, timeout=600,
    )  # fmt: skip
    return house


@pytest.fixture(scope="module")
def bare(rootfs: Path, wheelhouse: Path) -> Callable[..., subprocess.CompletedProcess]:
    """A runner of shell scripts in the bare system, with the wheel installed in a fresh venv at
    /augload-test/venv and the fixture images at /augload-test/images."""
    work = rootfs / "augload-test"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    shutil.copytree(IMAGES, work / "images")
    shutil.copytree(wheelhouse, work / "wheelhouse")
    shutil.copy(the_wheel(), work)
    shutil.copy(the_sdist(), work)
    shutil.copy(PROBE, work)

    def run(script: str, timeout: float = 300) -> subprocess.CompletedProcess:
        # A private mount namespace with its own /proc: nothing stays mounted after the run.
        command = ["unshare", "--mount", "--pid", "--fork", f"--mount-proc={rootfs}/proc", "chroot", str(rootfs)]
        environment = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root", "LANG": "C.UTF-8"}
        return subprocess.run(
            command + ["/bin/sh", "-c", script], capture_output=True, text=True, timeout=timeout, env=environment
        )

    installed = run(
        f"cd /augload-test && python3 -m venv venv && venv/bin/pip install --quiet --no-index "
        f"--find-links wheelhouse {the_wheel().name}"
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    yield run
    shutil.rmtree(work, ignore_errors=True)


def test_the_bare_system_has_no_swift_libjpeg_or_libpng(bare):
    found = bare("command -v swift swiftc cc gcc; ls /usr/lib/x86_64-linux-gnu | grep -E 'jpeg|png|swift'; true")
    assert found.returncode == 0
    assert found.stdout.strip() == "", f"the bare system is not bare: {found.stdout}"
    python = bare("python3 --version")
    assert python.stdout.startswith("Python 3.11")


def test_the_engine_in_the_wheel_needs_nothing_outside_it_but_glibc_libstdcxx_and_libgcc(bare):
    listed = bare("ldd /augload-test/venv/lib/python3.11/site-packages/augload/_bin/augload")
    assert listed.returncode == 0, listed.stderr
    libraries = {line.split()[0].rsplit("/", 1)[-1] for line in listed.stdout.splitlines() if line.strip()}
    assert "not found" not in listed.stdout, listed.stdout
    assert libraries <= SYSTEM_LIBRARIES, f"the engine needs {libraries - SYSTEM_LIBRARIES}:\n{listed.stdout}"


@pytest.mark.time_limit(600)
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_a_loader_in_the_bare_system_gives_the_bytes_of_export_on_the_build_machine(bare, rootfs, engine, tmp_path, name):
    options = CONFIGS[name]
    ran = bare(f"cd /augload-test && venv/bin/python wheel_probe.py images out-{name} '{json.dumps(options)}' {EPOCHS}")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    report = json.loads(ran.stdout.strip().splitlines()[-1])
    assert report["version"] == report["engine_version"] == VERSION
    assert report["kernels"] == host_kernels()  # the static engine keeps its AVX2 kernels
    got = saved_batches(rootfs / "augload-test" / f"out-{name}")
    expected = export(engine, IMAGES, tmp_path, epochs=EPOCHS, **{k: v for k, v in options.items() if k != "workers"})
    assert len(got) == EPOCHS * -(-30 // options["batch_size"])
    assert_same_batches(got, expected)


def test_the_wheel_brings_the_augload_command_and_python_m_augload(bare):
    ran = bare(
        "cd /augload-test && venv/bin/augload --version && venv/bin/python -m augload --version && "
        "venv/bin/augload check images --workers 2 && venv/bin/augload preview images -o grid.png --samples 2 "
        "--variants 2 --size 32 && test -s grid.png && echo grid-ok"
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    assert lines[:2] == [VERSION, VERSION]
    assert "30" in ran.stdout and "grid-ok" in lines


def test_the_bare_system_reads_shards_but_urls_need_libcurl_which_is_named(bare):
    """libcurl is loaded when a URL is first read, not linked: without it shards on disk load as
    before, and a URL is an error naming the package to install."""
    ran = bare(
        "cd /augload-test && export AUGLOAD_INDEX_DIR=/augload-test/index && "
        "venv/bin/augload pack images --out shards/train --shard-size 200K --quiet && "
        "venv/bin/augload run --shards shards --workers 2 --size 32 --batch-size 8 && "
        "venv/bin/augload run --shards 'http://127.0.0.1:9/train-000000.tar' --size 32; echo status=$?"
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "30 images in" in ran.stdout, ran.stdout + ran.stderr
    assert "status=1" in ran.stdout
    assert "needs libcurl (Debian/Ubuntu: apt-get install libcurl4" in ran.stderr, ran.stderr


def test_the_sdist_without_swift_says_what_to_install(bare):
    ran = bare(
        f"cd /augload-test && venv/bin/pip install --no-index --find-links wheelhouse {the_sdist().name}", timeout=600
    )
    assert ran.returncode != 0
    said = ran.stdout + ran.stderr
    assert "needs Swift 6" in said and "swift.org/install" in said, said
    assert "manylinux_2_34_x86_64.whl" in said and "libjpeg-dev libpng-dev" in said, said


# MARK: - other interpreters


def interpreter(version: str) -> str | None:
    """A working python<version>: pyenv's, or one on PATH (pyenv's shims only say "not installed")."""
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    candidates = [str(p) for p in sorted(pyenv.glob(f"{version}.*/bin/python{version}"))]
    candidates += [p for p in [shutil.which(f"python{version}")] if p and "/shims/" not in p]
    for candidate in candidates:
        if subprocess.run([candidate, "-c", "pass"], capture_output=True).returncode == 0:
            return candidate
    return None


def requires_python() -> tuple[int, int]:
    text = (ROOT / "pyproject.toml").read_text()
    major, minor = re.search(r'requires-python\s*=\s*">=(\d+)\.(\d+)"', text).groups()
    return int(major), int(minor)


def test_every_source_parses_as_the_lowest_python_requires_python_claims():
    lowest = requires_python()
    sources = sorted((ROOT / "Sources" / "Python").rglob("*.py")) + [PROBE]
    assert len(sources) >= 10
    for path in sources:
        ast.parse(path.read_text(), filename=str(path), feature_version=lowest)
    # The runtime, too: annotations are strings (no `X | None` evaluated before 3.10).
    for path in sorted((ROOT / "Sources" / "Python").rglob("*.py")):
        if "|" in path.read_text() and "from __future__ import annotations" not in path.read_text():
            pytest.fail(f"{path} uses | in annotations without `from __future__ import annotations`")


@pytest.mark.time_limit(600)
@pytest.mark.parametrize("version", ["3.9", "3.10", "3.12", "3.13"])
def test_the_wheel_runs_under_other_interpreters(version, engine, tmp_path):
    python = interpreter(version)
    if python is None:
        warnings.warn(f"Python {version} is not on this machine: the wheel was not run under it")
        pytest.skip(f"NOT RUN: no python{version} on this machine")
    venv = tmp_path / "venv"
    subprocess.run([python, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(the_wheel()), "numpy"],
        check=True, timeout=600,
    )  # fmt: skip
    options = CONFIGS["resized-float32"]
    ran = subprocess.run(
        [str(venv / "bin" / "python"), str(PROBE), str(IMAGES), str(tmp_path / "out"), json.dumps(options), "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "AUGLOAD_ENGINE"},
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(ran.stdout.strip().splitlines()[-1])["python"].startswith(version + ".")
    expected = export(engine, IMAGES, tmp_path / "expected", epochs=1, **{k: v for k, v in options.items() if k != "workers"})
    assert_same_batches(saved_batches(tmp_path / "out"), expected)


# MARK: - the sdist, where Swift is


@pytest.mark.time_limit(1800)
def test_the_sdist_builds_from_source_where_swift_is(engine, tmp_path):
    if shutil.which("swift") is None:
        warnings.warn("no Swift on this machine: the sdist was not built from source")
        pytest.skip("NOT RUN: no swift on PATH")
    target = tmp_path / "site"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(the_sdist())],
        capture_output=True, text=True, timeout=1700,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    from_source = target / "augload" / "_bin" / "augload"
    version = subprocess.run([str(from_source), "--version"], capture_output=True, text=True, check=True)
    assert version.stdout.strip() == VERSION
    options = CONFIGS["center-uint8"]
    environment = {k: v for k, v in os.environ.items() if k != "AUGLOAD_ENGINE"}
    environment["PYTHONPATH"] = str(target)
    ran = subprocess.run(
        [sys.executable, str(PROBE), str(IMAGES), str(tmp_path / "out"), json.dumps(options), "1"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=environment,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert json.loads(ran.stdout.strip().splitlines()[-1])["package"] == str(target / "augload")
    expected = export(engine, IMAGES, tmp_path / "expected", epochs=1, **{k: v for k, v in options.items() if k != "workers"})
    assert_same_batches(saved_batches(tmp_path / "out"), expected)
