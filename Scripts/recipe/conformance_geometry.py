#!/usr/bin/env python3
"""Conformance of the geometry recipe steps (Sources/CAugKernels/aug_geometry.c) with torchvision v2.

augload's AutoAugment-family geometry ops (ShearX/Y, TranslateX/Y, Rotate) call
`aug_inverse_affine_matrix` and `aug_affine_nearest`, which should give what
`torchvision.transforms.v2.functional.affine` / `rotate` give with NEAREST on a uint8 [3,H,W]
tensor. This compiles aug_geometry.c (with aug_simd.c, for the portable/SIMD switch) into a
temporary shared library with clang, loads it with ctypes, and compares on real photos:

  - the matrix: every matrix used below against torchvision's `_get_inverse_affine_matrix`;
  - the pixels: each op, value and fill ([0,0,0] and [128,64,255]) on each image: bytes within 1,
    exact bytes, mean absolute difference;
  - the sampling positions: the same op on an image whose bytes encode each pixel's (x, y), so
    any pixel taken from elsewhere than torch's shows even where a photo is flat;
  - ties: output pixels whose sampling position (from torch's own grid) is an exact .5 in either
    axis, where the pixel taken depends on float32 rounding to the last bit;
  - both bodies (portable and FMA) give the same bytes;
  - the sampling positions on coded images of sizes and turns where ties abound (reported, not
    gated: torch's own result there depends on its BLAS fusing the grid's multiply-add).

Exits 1, naming them, if an image misses 99.5 % within ±1 or MAD <= 0.25 for any op and value, if
the bodies disagree, or if a matrix differs from torchvision's (rounded to float32).

Run from the repository root:  .venv-test/bin/python Scripts/recipe/conformance_geometry.py [first N images]
"""
import ctypes
import glob
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F1
from torchvision.transforms.v2 import functional as F
from torchvision.transforms.v2.functional import _geometry as G

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KERNELS = os.path.join(ROOT, "Sources", "CAugKernels")
NEAREST = InterpolationMode.NEAREST

MIN_WITHIN1 = 99.5  # % of bytes within ±1, per image and op value
MAX_MAD = 0.25

FILLS = ([0, 0, 0], [128, 64, 255])
SHEARS = (-0.99, -0.3, 0.1, 0.5, 0.99)
TRANSLATES = (-32, -5, 7, 32)
RA_BINS = (9, 30)  # RandAugment's default magnitude and the largest of its 31 bins
ROTATIONS = (-135.0, -30.0, -7.5, 0.0, 13.0, 90.0, 135.0)
# General affine: angle, (tx, ty), scale, (shear x, shear y), centre as fractions of (w, h) or None.
AFFINES = (
    (17.0, (0, 0), 1.0, (0.0, 0.0), None),
    (-41.5, (12, -7), 1.0, (0.0, 0.0), None),
    (0.0, (3, 9), 0.8, (10.0, 0.0), None),
    (25.0, (-20, 15), 1.3, (-12.0, 8.0), None),
    (-73.0, (0, 0), 0.6, (30.0, -20.0), (0.25, 0.75)),
    (180.0, (5, 5), 1.0, (0.0, 0.0), (0.0, 0.0)),
    (270.0, (0, 0), 1.0, (5.0, 5.0), (1.0, 0.5)),
)


# MARK: - The library

def build_library(tmp):
    out = os.path.join(tmp, "geometry.so")
    cmd = ["clang", "-O2", "-shared", "-fPIC", "-Wall", "-Wextra", "-I", os.path.join(KERNELS, "include"),
           os.path.join(KERNELS, "aug_geometry.c"), os.path.join(KERNELS, "aug_simd.c"), "-o", out, "-lm"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"clang failed:\n{r.stderr}")
    if r.stderr.strip():
        print(f"clang warnings:\n{r.stderr}", file=sys.stderr)
    lib = ctypes.CDLL(out)
    lib.aug_inverse_affine_matrix.argtypes = [ctypes.c_double] * 8 + [ctypes.POINTER(ctypes.c_float)]
    lib.aug_inverse_affine_matrix.restype = None
    u8p = ctypes.POINTER(ctypes.c_uint8)
    lib.aug_affine_nearest.argtypes = [u8p, ctypes.c_int32, ctypes.c_int32, ctypes.POINTER(ctypes.c_float), u8p,
                                       u8p]
    lib.aug_affine_nearest.restype = None
    lib.aug_kernels_force_portable.argtypes = [ctypes.c_int]
    lib.aug_kernels_simd_level.restype = ctypes.c_int
    return lib


def c_matrix(lib, center_f, angle, translate_f, scale, shear):
    m = (ctypes.c_float * 6)()
    lib.aug_inverse_affine_matrix(center_f[0], center_f[1], angle, translate_f[0], translate_f[1], scale, shear[0],
                                  shear[1], m)
    return np.array(m[:], dtype=np.float32)


def c_affine(lib, hwc, matrix, fill):
    h, w, _ = hwc.shape
    src = np.ascontiguousarray(hwc)
    dst = np.empty_like(src)
    m = (ctypes.c_float * 6)(*[float(v) for v in matrix])
    f = (ctypes.c_uint8 * 3)(*fill)
    u8p = ctypes.POINTER(ctypes.c_uint8)
    lib.aug_affine_nearest(src.ctypes.data_as(u8p), w, h, m, f, dst.ctypes.data_as(u8p))
    return dst


# MARK: - The cases

class Case:
    """One torchvision call and the matrix augload computes for it."""

    def __init__(self, op, label, kind, angle, translate, scale, shear, center):
        self.op, self.label, self.kind = op, label, kind
        self.angle, self.translate, self.scale, self.shear, self.center = angle, translate, scale, shear, center

    def torch(self, img, fill):
        if self.kind == "rotate":
            return F.rotate(img, angle=self.angle, interpolation=NEAREST, expand=False, center=None, fill=fill)
        return F.affine(img, angle=self.angle, translate=self.translate, scale=self.scale, shear=self.shear,
                        interpolation=NEAREST, fill=fill, center=self.center)

    def matrix_args(self, w, h):
        """(center_f, angle, translate_f, scale, shear) as v2's affine_image / rotate_image pass them."""
        if self.kind == "rotate":
            # rotate_image reduces the angle to [0, 360) and negates it (Python's float modulo).
            return [0.0, 0.0], -(self.angle % 360), [0.0, 0.0], 1.0, [0.0, 0.0]
        center_f = [0.0, 0.0]
        if self.center is not None:
            center_f = [(float(c) - s * 0.5) for c, s in zip(self.center, [w, h])]
        return center_f, float(self.angle), [float(t) for t in self.translate], self.scale, list(self.shear)


def cases_for(w, h):
    out = []
    for m in SHEARS:
        deg = math.degrees(math.atan(m))
        out.append(Case("ShearX", f"{m:+g}", "affine", 0.0, [0, 0], 1.0, [deg, 0.0], [0, 0]))
    for m in SHEARS:
        deg = math.degrees(math.atan(m))
        out.append(Case("ShearY", f"{m:+g}", "affine", 0.0, [0, 0], 1.0, [0.0, deg], [0, 0]))
    for axis, size in (("X", w), ("Y", h)):
        mags = [(f"{t:+d}", float(t)) for t in TRANSLATES]
        ra = torch.linspace(0.0, 150.0 / 331.0 * size, 31)  # RandAugment's _AUGMENTATION_SPACE
        for b in RA_BINS:
            for sign in (1, -1):
                mags.append((f"RA bin {b} {'+' if sign > 0 else '-'}", sign * float(ra[b])))
        for label, mag in mags:
            t = [int(mag), 0] if axis == "X" else [0, int(mag)]
            out.append(Case(f"Translate{axis}", label, "affine", 0.0, t, 1.0, [0.0, 0.0], None))
    for a in ROTATIONS:
        out.append(Case("Rotate", f"{a:+g}", "rotate", a, None, None, None, None))
    for i, (a, t, s, sh, c) in enumerate(AFFINES):
        center = None if c is None else [c[0] * w, c[1] * h]
        label = f"#{i} a={a:g} t={tuple(t)} s={s:g} sh={sh}" + ("" if c is None else f" c={c}")
        out.append(Case("Affine", label, "affine", a, list(t), s, list(sh), center))
    return out


# MARK: - Measures

def tie_fraction(matrix, w, h):
    """Fraction of output pixels whose position (torch's grid, unnormalised) is an exact .5 in x or y."""
    theta = torch.tensor(matrix.tolist(), dtype=torch.float32).reshape(1, 2, 3)
    g = G._affine_grid(theta, w=w, h=h, ow=w, oh=h)[0].numpy()
    tie = np.zeros((h, w), dtype=bool)
    for k, size in ((0, w), (1, h)):
        g1 = (g[..., k] + np.float32(1)).astype(np.float32)
        p = g1.astype(np.float64) * (size / 2)  # exact; position = p - 0.5
        # a tie either fused (p - 0.5 in one rounding) or unfused (p rounded to float32 first)
        tie |= (p == np.floor(p)) | (p.astype(np.float32) == np.floor(p.astype(np.float32)))
    return float(tie.mean()), tie


def coded_image(w, h):
    """Pixel (x, y) holds (x & 255, y & 255, x >> 8 | (y >> 8) << 4): unique below 3840 pixels a side."""
    x = np.arange(w, dtype=np.int64)[None, :].repeat(h, 0)
    y = np.arange(h, dtype=np.int64)[:, None].repeat(w, 1)
    return np.stack([x & 255, y & 255, (x >> 8) | ((y >> 8) << 4)], axis=-1).astype(np.uint8)


CODED_FILL = [0, 0, 255]  # no pixel of an image under 3840 x 3840 is coded so


def load_images():
    fixtures = sorted(p for p in glob.glob(os.path.join(ROOT, "Fixtures", "images", "*", "*"))
                      if not os.path.basename(p).startswith(".")
                      and os.path.splitext(p)[1].lower() in (".jpg", ".jpeg", ".png"))
    peers = sorted(glob.glob(os.path.join(ROOT, "peers-data", "ds", "jpeg", "*", "*.jpg")))[:40]
    images = []
    for p in fixtures + peers:
        with Image.open(p) as im:
            hwc = np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
        images.append((os.path.relpath(p, ROOT), hwc))
    return images


def tie_sweep(lib):
    """Sampling positions on coded images of sizes where ties abound (a 90-degree turn of a non-square image
    puts every other row or column on a .5; a 45-degree shear about the corner too), on both sides of the
    67-pixel size where ATen's bmm switches from its unfused loop to MKL's fused sgemm."""
    sizes = ((11, 6), (6, 11), (2, 33), (13, 5), (9, 4), (12, 7), (17, 13), (16, 9), (20, 11), (331, 220),
             (224, 225), (485, 382), (9, 9), (64, 64))
    cases = [Case("Rotate", "", "rotate", a, None, None, None, None) for a in (90.0, 270.0, -90.0, 180.0, 45.0, -135.0)]
    cases += [Case("Affine", "", "affine", a, [1, 0], 1.0, [0.0, 0.0], None) for a in (90.0, 180.0, -90.0)]
    cases += [Case("ShearX", "", "affine", 0.0, [0, 0], 1.0, [d, 0.0], [0, 0]) for d in (45.0, -45.0)]
    cases += [Case("ShearY", "", "affine", 0.0, [0, 0], 1.0, [0.0, d], [0, 0]) for d in (45.0, -45.0)]
    out = []
    for w, h in sizes:
        coded = coded_image(w, h)
        chw = torch.from_numpy(coded).permute(2, 0, 1).contiguous()
        pix = ties = moved = 0
        for case in cases:
            m = c_matrix(lib, *case.matrix_args(w, h))
            tv = case.torch(chw, CODED_FILL).permute(1, 2, 0).numpy()
            same = np.all(c_affine(lib, coded, m, CODED_FILL) == tv, axis=-1)
            tie = tie_fraction(m, w, h)[1]
            pix += w * h
            ties += int(tie.sum())
            moved += int((~same).sum())
        out.append((w, h, len(cases), pix, ties, moved))
    return out


# MARK: - Main

def main():
    torch.set_num_threads(1)
    images = load_images()
    if len(sys.argv) > 1:  # a quick look: the first N images
        images = images[:int(sys.argv[1])]
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        lib = build_library(tmp)
        simd = lib.aug_kernels_simd_level()

        rows = {}       # (op, label) -> accumulators
        per_op_images = {}
        failures = []
        body_mismatch = []
        mat = {}        # op -> [count, max |C - tv float32|, max |C - tv double|, max |v2 - v1|]

        for name, hwc in images:
            h, w, _ = hwc.shape
            chw = torch.from_numpy(hwc).permute(2, 0, 1).contiguous()
            coded = coded_image(w, h)
            coded_chw = torch.from_numpy(coded).permute(2, 0, 1).contiguous()
            for case in cases_for(w, h):
                center_f, angle, translate_f, scale, shear = case.matrix_args(w, h)
                ours = c_matrix(lib, center_f, angle, translate_f, scale, shear)
                ref = G._get_inverse_affine_matrix(center_f, angle, translate_f, scale, shear)
                v1 = F1._get_inverse_affine_matrix(center_f, angle, translate_f, scale, shear)
                s = mat.setdefault(case.op, [0, 0.0, 0.0, 0.0])
                s[0] += 1
                s[1] = max(s[1], float(np.abs(ours - np.array(ref, dtype=np.float32)).max()))
                s[2] = max(s[2], float(np.abs(ours.astype(np.float64) - np.array(ref)).max()))
                s[3] = max(s[3], float(np.abs(np.array(ref) - np.array(v1)).max()))

                tie_frac, tie = tie_fraction(ours, w, h)

                # sampling positions, from the coded image
                tc = case.torch(coded_chw, CODED_FILL).permute(1, 2, 0).numpy()
                oc = c_affine(lib, coded, ours, CODED_FILL)
                pos_same = np.all(tc == oc, axis=-1)

                r = rows.setdefault((case.op, case.label), dict(n=0, bytes=0, within=0, exact=0, absdiff=0,
                                                                worst_within=100.0, worst_mad=0.0, pix=0,
                                                                pos_same=0, ties=0, tie_moved=0, images=set()))
                r["pix"] += w * h
                r["pos_same"] += int(pos_same.sum())
                r["ties"] += int(tie.sum())
                r["tie_moved"] += int((tie & ~pos_same).sum())
                r["images"].add(name)
                per_op_images.setdefault(case.op, set()).add(name)

                for fill in FILLS:
                    tv = case.torch(chw, fill).permute(1, 2, 0).numpy()
                    lib.aug_kernels_force_portable(0)
                    got = c_affine(lib, hwc, ours, fill)
                    lib.aug_kernels_force_portable(1)
                    got_portable = c_affine(lib, hwc, ours, fill)
                    lib.aug_kernels_force_portable(0)
                    if not np.array_equal(got, got_portable):
                        body_mismatch.append(f"{name} {case.op} {case.label} fill={fill}")
                    d = np.abs(got.astype(np.int16) - tv.astype(np.int16))
                    within = float((d <= 1).mean() * 100)
                    mad = float(d.mean())
                    r["n"] += 1
                    r["bytes"] += d.size
                    r["within"] += int((d <= 1).sum())
                    r["exact"] += int((d == 0).sum())
                    r["absdiff"] += int(d.sum())
                    r["worst_within"] = min(r["worst_within"], within)
                    r["worst_mad"] = max(r["worst_mad"], mad)
                    if within < MIN_WITHIN1 or mad > MAX_MAD:
                        failures.append(f"{name} ({w}x{h}) {case.op} {case.label} fill={fill}: "
                                        f"{within:.3f} % within ±1, MAD {mad:.4f}")
        sweep = tie_sweep(lib)

    print(f"# aug_geometry.c against torchvision {__import__('torchvision').__version__} "
          f"(torch {torch.__version__}), {len(images)} images, SIMD level {simd}, {time.time() - t0:.0f} s\n")
    print("Per row: every image × fills [0,0,0] and [128,64,255]. Within ±1, exact and MAD over all bytes; worst = "
          "the worst single image and fill. Positions = output pixels sampled from the same input pixel (or both "
          "filled) on a coded image; ties = output pixels whose position in torch's grid is an exact .5; "
          "tie moved = ties where the position differs.\n")
    ops = []
    for op, _ in rows:
        if op not in ops:
            ops.append(op)
    for op in ops:
        print(f"## {op} ({len(per_op_images[op])} images)\n")
        print("| value | images | within ±1 (%) | exact (%) | MAD | worst within ±1 (%) | worst MAD "
              "| positions same (%) | tie pixels (%) | tie moved |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        tot = None
        for (o, label), r in rows.items():
            if o != op:
                continue
            print(row_line(label, r))
            if tot is None:
                tot = {k: (set(v) if isinstance(v, set) else v) for k, v in r.items()}
            else:
                for k, v in r.items():
                    if k == "worst_within":
                        tot[k] = min(tot[k], v)
                    elif k == "worst_mad":
                        tot[k] = max(tot[k], v)
                    elif k == "images":
                        tot[k] |= v
                    else:
                        tot[k] += v
        print(row_line("**all**", tot))
        print()

    print("## Sampling positions where ties abound (coded images; Rotate ±90, 270, 180, 45, -135; affine 90, 180, -90 "
          "with translate [1, 0]; ShearX/Y ±45° about the corner)\n")
    print("| size | pixels (bmm) | cases | output pixels | tie pixels (%) | positions moved |")
    print("|---|---|---:|---:|---:|---:|")
    for w, h, n, pix, ties, moved in sweep:
        path = "unfused" if w * h * 6 < 400 else "fused"
        print(f"| {w}x{h} | {w * h} ({path}) | {n} | {pix} | {100.0 * ties / pix:.2f} | {moved} |")
    print()

    print("## Inverse affine matrix (C float32 against torchvision v2 `_get_inverse_affine_matrix`)\n")
    print("| op | matrices | max abs diff vs torchvision as float32 | max abs diff vs torchvision double "
          "| (info) max abs diff v2 vs v1 `functional` |")
    print("|---|---:|---:|---:|---:|")
    for op, (n, d32, d64, dv1) in mat.items():
        print(f"| {op} | {n} | {d32:.3g} | {d64:.3g} | {dv1:.3g} |")
    print()

    bad_matrix = [op for op, s in mat.items() if s[1] != 0.0]
    ok = not failures and not body_mismatch and not bad_matrix
    for f in failures:
        print(f"MISS: {f}")
    for b in body_mismatch:
        print(f"BODIES DIFFER: {b}")
    for op in bad_matrix:
        print(f"MATRIX DIFFERS: {op}")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def row_line(label, r):
    return (f"| {label} | {len(r['images'])} | {100.0 * r['within'] / r['bytes']:.4f} | "
            f"{100.0 * r['exact'] / r['bytes']:.4f} | {r['absdiff'] / r['bytes']:.5f} | {r['worst_within']:.3f} | "
            f"{r['worst_mad']:.4f} | {100.0 * r['pos_same'] / r['pix']:.4f} | {100.0 * r['ties'] / r['pix']:.4f} | "
            f"{r['tie_moved']} |")


if __name__ == "__main__":
    sys.exit(main())
