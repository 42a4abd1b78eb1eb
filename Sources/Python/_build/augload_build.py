"""Build backend for the Python package: setuptools, plus the Swift engine inside the package.

``pyproject.toml`` names this module as the backend (``backend-path``) and as the home of four
setuptools commands:

- ``BuildPy`` builds the engine (``swift build -c release --static-swift-stdlib``) and copies it,
  stripped, to ``augload/_bin/augload``, and writes what ``augload options --json`` prints to
  ``augload/_schema.json`` (the options' one description, read by ``_options.py``). The Swift runtime is linked in; so are libjpeg-turbo,
  libpng and zlib when their static archives are installed (``libjpeg-dev``, ``libpng-dev`` and
  ``zlib1g-dev`` on Debian), so the engine needs nothing outside glibc, libstdc++ and libgcc_s.
  ``Scripts/build-wheel.sh`` insists on that; ``pip install .`` falls back to the shared libraries.
- ``BdistWheel`` tags the wheel for this platform (``py3-none-linux_x86_64``), since it holds a
  native executable; ``auditwheel repair`` then gives it its manylinux tag.
- ``Sdist`` adds what ``swift build`` needs (``Package.swift``, ``Sources/``, the Swift targets
  under ``Tests/``), so an sdist builds from source wherever Swift 6 is installed.
- ``Build`` keeps setuptools' scratch files in ``.build/python`` instead of a new ``build/``.

Set ``AUGLOAD_ENGINE_BINARY`` to a built ``augload`` to package it instead of building.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess

from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F401,F403  (the PEP 517 hooks)
from setuptools.command.build import build as _build
from setuptools.command.build_py import build_py as _build_py
from setuptools.command.sdist import sdist as _sdist

try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore[no-redef]

__all__ = _meta.__all__ + ["Build", "BuildPy", "BdistWheel", "Sdist"]

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))

# The image libraries the engine links (CAugCodecs in Package.swift), by the archive that links
# each one into the engine: `-l` finds these first in the folder `_static_image_libraries` makes.
_ARCHIVES = {"libjpeg.a": "libjpeg.a", "libpng.a": "libpng16.a", "libz.a": "libz.a"}

_NO_SWIFT = """
augload: building the engine from source needs Swift 6 on PATH, and it was not found.

  - On x86_64 Linux with glibc 2.34 or newer (RHEL 9, Ubuntu 22.04, Debian 12, Amazon Linux 2023
    and later), install the prebuilt wheel instead: `pip install augload-<version>-py3-none-
    manylinux_2_34_x86_64.whl`; it needs no Swift, libjpeg or libpng.
  - Otherwise install Swift 6 (https://swift.org/install) and the image libraries' headers
    (Debian/Ubuntu: `apt-get install libjpeg-dev libpng-dev`; Fedora/RHEL: `dnf install
    libjpeg-turbo-devel libpng-devel`), then run pip again.
"""


def _find_archive(name: str) -> str | None:
    """The full path of a static library the C compiler would link, or None."""
    for compiler in ("clang", "cc", "gcc"):
        if shutil.which(compiler):
            found = subprocess.run(
                [compiler, f"-print-file-name={name}"], capture_output=True, text=True, check=False
            ).stdout.strip()
            if os.path.isabs(found) and os.path.exists(found):
                return found
    for folder in ("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"):
        if os.path.exists(os.path.join(folder, name)):
            return os.path.join(folder, name)
    return None


def _static_image_libraries() -> list[str]:
    """Linker flags that link libjpeg, libpng and zlib statically, or [] (and a note) when an
    archive is missing: a folder holding only the archives, searched before the system's."""
    folder = os.path.join(_ROOT, ".build", "static-image-libraries")
    os.makedirs(folder, exist_ok=True)
    for link, archive in _ARCHIVES.items():
        found = _find_archive(archive)
        if found is None:
            print(f"augload: no {archive}: the engine links the shared image libraries", flush=True)
            return []
        target = os.path.join(folder, link)
        if os.path.lexists(target):
            os.remove(target)
        os.symlink(found, target)
    return ["-Xlinker", "-L" + folder]


def _engine_binary() -> str:
    prebuilt = os.environ.get("AUGLOAD_ENGINE_BINARY")
    if prebuilt:
        return prebuilt
    if shutil.which("swift") is None:
        raise SystemExit(_NO_SWIFT)
    release = ["swift", "build", "-c", "release", "--static-swift-stdlib"]
    command = release + ["--product", "augload"] + _static_image_libraries()
    print("augload: " + " ".join(command), flush=True)
    subprocess.run(command, cwd=_ROOT, check=True)
    bin_path = subprocess.run(
        release + ["--show-bin-path"], cwd=_ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return os.path.join(bin_path, "augload")


class Build(_build):
    """``build`` with its scratch folder under ``.build/`` (git-ignored, SwiftPM's), not ``build/``."""

    def initialize_options(self) -> None:
        super().initialize_options()
        self.build_base = os.path.join(_ROOT, ".build", "python")


class BuildPy(_build_py):
    """``build_py`` that also puts the engine binary, stripped, at ``augload/_bin/augload``."""

    def run(self) -> None:
        super().run()
        if self.dry_run:
            return
        target = os.path.join(self.build_lib, "augload", "_bin")
        os.makedirs(target, exist_ok=True)
        engine = os.path.join(target, "augload")
        shutil.copy2(_engine_binary(), engine)
        os.chmod(engine, 0o755)
        # Debug sections are half the file; symbols stay, so crash backtraces keep their names.
        if shutil.which("strip"):
            subprocess.run(["strip", "--strip-debug", engine], check=True)
        # The engine's description of its options (OptionSchema): the package's keywords take
        # their ranges, choices and defaults from it (augload/_options.py).
        schema = subprocess.run([engine, "options", "--json"], capture_output=True, text=True, check=True).stdout
        with open(os.path.join(self.build_lib, "augload", "_schema.json"), "w", encoding="utf-8") as f:
            f.write(schema)


class BdistWheel(_bdist_wheel):
    """A platform wheel (``py3-none-linux_…``): the package holds a native executable."""

    def finalize_options(self) -> None:
        # As for a package with C extensions: installed to platlib, from the wheel's root.
        self.distribution.has_ext_modules = lambda: True  # type: ignore[method-assign]
        super().finalize_options()

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform


class Sdist(_sdist):
    """``sdist`` with the Swift package: enough to ``swift build`` the engine from the archive."""

    def make_distribution(self) -> None:
        files = ["Package.swift", ".swift-format"]
        for pattern in ("Sources/**/*", "Tests/*/**/*.swift", "Tests/CTestSupport/**/*"):
            files += [os.path.relpath(f, _ROOT) for f in glob.glob(os.path.join(_ROOT, pattern), recursive=True)]
        self.filelist.extend(sorted(f for f in files if os.path.isfile(os.path.join(_ROOT, f)) and "__pycache__" not in f))
        self.filelist.remove_duplicates()
        super().make_distribution()
