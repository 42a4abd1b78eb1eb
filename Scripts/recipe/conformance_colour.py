#!/usr/bin/env python3
"""Conformance of the colour recipe steps (Sources/CAugKernels/aug_colour.c) with torchvision v2.

Compiles aug_colour.c into a temporary shared library with clang, loads it with ctypes and, on
real photos (the images under Fixtures/images and the first 40 of peers-data/ds/jpeg when it
exists), compares every colour kernel at several parameter values with
`torchvision.transforms.v2.functional` on the same uint8 [3, H, W] tensor: values within ±1,
exact values, mean absolute difference, largest difference; and that the portable body gives the
bytes of the FMA body. Exits 1, naming them, when an image
misses 99.5 % within ±1 or a MAD of at most 0.25.

Run from the repository root:  .venv-test/bin/python Scripts/recipe/conformance_colour.py
"""

from __future__ import annotations

import ctypes
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNELS = os.path.join(ROOT, "Sources", "CAugKernels")
FACTORS = (0.1, 0.6, 1.0, 1.4, 1.99)
U8 = ctypes.POINTER(ctypes.c_uint8)
OPS = {
    "adjust_brightness": [(f, lambda t, f=f: F.adjust_brightness(t, f), ("aug_adjust_brightness", f)) for f in FACTORS],
    "adjust_contrast": [(f, lambda t, f=f: F.adjust_contrast(t, f), ("aug_adjust_contrast", f)) for f in FACTORS],
    "adjust_saturation": [(f, lambda t, f=f: F.adjust_saturation(t, f), ("aug_adjust_saturation", f)) for f in FACTORS],
    "adjust_hue": [(h, lambda t, h=h: F.adjust_hue(t, h), ("aug_adjust_hue", h)) for h in (-0.5, -0.1, 0.05, 0.3, 0.5)],
    "adjust_sharpness": [(f, lambda t, f=f: F.adjust_sharpness(t, f), ("aug_adjust_sharpness", f)) for f in (0.1, 0.5, 1.9)],
    "rgb_to_grayscale": [("3", lambda t: F.rgb_to_grayscale(t, 3), ("aug_grayscale",))],
    "posterize": [(b, lambda t, b=b: F.posterize(t, b), ("aug_posterize", b)) for b in range(1, 9)],
    "solarize": [(s, lambda t, s=s: F.solarize(t, s), ("aug_solarize", s)) for s in (0.0, 64.5, 128.0, 246.5, 255.0)],
    "autocontrast": [("", F.autocontrast, ("aug_autocontrast",))],
    "equalize": [("", F.equalize, ("aug_equalize",))],
    "invert": [("", F.invert, ("aug_invert",))],
    "gaussian_blur": [
        (f"{k}/{s}", lambda t, k=k, s=s: F.gaussian_blur(t, [k, k], [s, s]), ("aug_gaussian_blur", k, s))
        for k in (3, 5, 9) for s in (0.1, 1.0, 2.0)
    ],
}


def build(tmp: str) -> ctypes.CDLL:
    out = os.path.join(tmp, "colour.so")
    command = ["clang", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-I", os.path.join(KERNELS, "include"),
               os.path.join(KERNELS, "aug_colour.c"), os.path.join(KERNELS, "aug_simd.c"), "-o", out, "-lm"]  # fmt: skip
    made = subprocess.run(command, capture_output=True, text=True)
    if made.returncode != 0 or made.stderr.strip():
        sys.exit(f"clang: {made.stderr}")
    return ctypes.CDLL(out)


def ours(lib: ctypes.CDLL, image: np.ndarray, call: tuple) -> np.ndarray:
    """`image` is [3, H, W] uint8; the kernel runs on packed HWC."""
    hwc = np.ascontiguousarray(image.transpose(1, 2, 0))
    h, w = hwc.shape[:2]
    px = hwc.ctypes.data_as(U8)
    name, *args = call
    fn = getattr(lib, name)
    if name == "aug_adjust_sharpness":
        scratch = np.empty_like(hwc)
        fn(px, w, h, ctypes.c_double(args[0]), scratch.ctypes.data_as(U8))
    elif name == "aug_gaussian_blur":
        scratch = np.empty(hwc.shape, np.float32)
        k, s = args
        fn(px, w, h, k, k, ctypes.c_float(s), ctypes.c_float(s), scratch.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
    elif name == "aug_posterize":
        fn(px, w, h, ctypes.c_int32(args[0]))
    elif name in ("aug_adjust_brightness", "aug_adjust_contrast", "aug_adjust_saturation"):
        fn(px, w, h, ctypes.c_double(args[0]))
    elif args:
        fn(px, w, h, ctypes.c_float(args[0]))
    else:
        fn(px, w, h)
    return hwc.transpose(2, 0, 1)


def photos() -> list[tuple[str, np.ndarray]]:
    paths = sorted(p for p in glob.glob(os.path.join(ROOT, "Fixtures", "images", "*", "*")) if not os.path.basename(p).startswith("."))
    paths += sorted(glob.glob(os.path.join(ROOT, "peers-data", "ds", "jpeg", "*", "*.jpg")))[:40]
    images = []
    for path in paths:
        try:
            with Image.open(path) as image:
                array = np.asarray(image.convert("RGB")).transpose(2, 0, 1).copy()
        except OSError:
            continue
        if min(array.shape[1:]) >= 5:  # gaussian_blur's reflect padding needs the side
            images.append((os.path.relpath(path, ROOT), array))
    return images


def main() -> int:
    images = photos()
    failures = []
    print(f"# aug_colour.c against torchvision.transforms.v2.functional, {len(images)} photos")
    print("| op | value | within ±1 (%) | exact (%) | MAD | max |")
    print("|---|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        lib = build(tmp)
        for op, cases in OPS.items():
            for value, theirs, call in cases:
                within, exact, mads, worst = [], [], [], 0
                for path, image in images:
                    want = theirs(torch.from_numpy(image.copy())).numpy()
                    got = ours(lib, image, call)
                    lib.aug_kernels_force_portable(1)
                    portable = ours(lib, image, call)
                    lib.aug_kernels_force_portable(0)
                    if not np.array_equal(got, portable):
                        failures.append(f"{path}: {op}({value}): the portable body differs from the FMA body")
                    diff = np.abs(got.astype(np.int32) - want.astype(np.int32))
                    within.append((diff <= 1).mean() * 100)
                    exact.append((diff == 0).mean() * 100)
                    mads.append(diff.mean())
                    worst = max(worst, int(diff.max()))
                    if within[-1] < 99.5 or mads[-1] > 0.25:
                        failures.append(f"{path}: {op}({value}) {within[-1]:.3f} % within ±1, MAD {mads[-1]:.3f}")
                print(f"| {op} | {value} | {np.mean(within):.4f} (min {min(within):.3f}) | {np.mean(exact):.3f} | "
                      f"{np.mean(mads):.5f} | {worst} |")  # fmt: skip
    for failure in failures:
        print("FAIL " + failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
