"""Build backend for ``pip install .``: setuptools, plus the Swift engine inside the package.

``pyproject.toml`` names this module as the backend (``backend-path``) and as the home of two
setuptools commands: ``BuildPy`` runs ``swift build -c release --product augload`` at the
repository root and copies the binary to ``augload/_bin/augload``; ``BdistWheel`` tags the
wheel for this platform, since it now holds a Linux executable; ``Build`` keeps setuptools'
scratch files in ``.build/python`` instead of a new top-level ``build/``.

Set ``AUGLOAD_ENGINE_BINARY`` to a built ``augload`` to package it instead of building.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from setuptools import build_meta as _meta
from setuptools.build_meta import *  # noqa: F401,F403  (the PEP 517 hooks)
from setuptools.command.build import build as _build
from setuptools.command.build_py import build_py as _build_py

try:
    from setuptools.command.bdist_wheel import bdist_wheel as _bdist_wheel
except ImportError:  # setuptools < 70.1
    from wheel.bdist_wheel import bdist_wheel as _bdist_wheel  # type: ignore[no-redef]

__all__ = _meta.__all__ + ["Build", "BuildPy", "BdistWheel"]

_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _engine_binary() -> str:
    prebuilt = os.environ.get("AUGLOAD_ENGINE_BINARY")
    if prebuilt:
        return prebuilt
    command = ["swift", "build", "-c", "release", "--product", "augload"]
    print("augload: " + " ".join(command), flush=True)
    subprocess.run(command, cwd=_ROOT, check=True)
    bin_path = subprocess.run(
        ["swift", "build", "-c", "release", "--show-bin-path"], cwd=_ROOT, check=True, capture_output=True, text=True
    ).stdout.strip()
    return os.path.join(bin_path, "augload")


class Build(_build):
    """``build`` with its scratch folder under ``.build/`` (git-ignored, SwiftPM's), not ``build/``."""

    def initialize_options(self) -> None:
        super().initialize_options()
        self.build_base = os.path.join(_ROOT, ".build", "python")


class BuildPy(_build_py):
    """``build_py`` that also puts the engine binary at ``augload/_bin/augload``."""

    def run(self) -> None:
        super().run()
        if self.dry_run:
            return
        target = os.path.join(self.build_lib, "augload", "_bin")
        os.makedirs(target, exist_ok=True)
        shutil.copy2(_engine_binary(), os.path.join(target, "augload"))
        os.chmod(os.path.join(target, "augload"), 0o755)


class BdistWheel(_bdist_wheel):
    """A platform wheel (``py3-none-linux_…``): the package holds a native executable."""

    def finalize_options(self) -> None:
        # As for a package with C extensions: installed to platlib, from the wheel's root.
        self.distribution.has_ext_modules = lambda: True  # type: ignore[method-assign]
        super().finalize_options()

    def get_tag(self) -> tuple[str, str, str]:
        _, _, platform = super().get_tag()
        return "py3", "none", platform
