#!/usr/bin/env python3
"""Record Pillow's decode of every fixture image in Fixtures/reference.json.

Run from anywhere, after Scripts/make_fixtures.py:

    python3 Scripts/make_fixtures.py && python3 Scripts/make_references.py

Which files: every *.jpg / *.jpeg / *.png (any case, hidden files included) under
Fixtures/images, Fixtures/codecs, Fixtures/bad, Fixtures/bad-folder and Fixtures/conformance (the
public conformance files, committed; see Fixtures/conformance/README.md). Keys are paths relative
to Fixtures/, e.g. "codecs/png-gray-16.png" or "conformance/pngsuite/basn2c08.png".

For each file: Image.open(path), .load(), .convert("RGB") (LOAD_TRUNCATED_IMAGES stays False,
warnings are ignored) and either {"width", "height", "sha256" of the packed RGB8 bytes} or
{"error": "<exception class>: <message>"}. Error messages mention the path relative to Fixtures/
(we chdir there), so the file is stable across machines.

One deliberate deviation: for 16-bit greyscale PNGs (colour type 0) our decoder keeps the high
byte of each sample (libpng png_set_strip_16); Pillow opens them as mode I;16 and convert("RGB")
clips to 255 instead. For those the reference is the raw 16-bit samples >> 8, replicated to RGB,
and the entry carries "note". Pillow already keeps the high byte for 16-bit RGB, RGBA and
grey+alpha, so those are Pillow's output unchanged.

Also recorded, parsed from the bytes without Pillow: "format" (sniffed), PNG IHDR fields, JPEG
SOF / sampling / coding and Adobe transform, "file_size" and "file_sha256".
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import struct
import sys
import warnings
from pathlib import Path

import numpy as np
import PIL
from PIL import Image, features

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "Fixtures"
FIXTURE_DIRS = ("images", "codecs", "bad", "bad-folder", "conformance")
IMAGE_EXTS = {".jpg", ".jpeg", ".png"}
NOTE_GRAY16 = "16-bit gray: high byte (Pillow clips)"

SOF_NAMES = {0xC0: "SOF0", 0xC1: "SOF1", 0xC2: "SOF2", 0xC3: "SOF3", 0xC5: "SOF5",
             0xC6: "SOF6", 0xC7: "SOF7", 0xC9: "SOF9", 0xCA: "SOF10", 0xCB: "SOF11",
             0xCD: "SOF13", 0xCE: "SOF14", 0xCF: "SOF15"}


def sniff(data: bytes) -> str:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    return "unknown"


def png_header(data: bytes) -> dict:
    """IHDR fields, if the first chunk is a complete IHDR."""
    if len(data) < 8 + 8 + 13 or data[12:16] != b"IHDR":
        return {}
    w, h, depth, ctype, _comp, _filt, interlace = struct.unpack(">IIBBBBB", data[16:29])
    return {"declared_width": w, "declared_height": h, "bit_depth": depth,
            "color_type": ctype, "interlace": interlace}


def jpeg_header(data: bytes) -> dict:
    """Walks the markers up to the first SOS: SOF type, precision, size, components, sampling,
    Adobe APP14 transform. Returns what it found before anything unparseable."""
    info: dict = {}
    i = 2
    try:
        while i + 4 <= len(data):
            if data[i] != 0xFF:
                break
            m = data[i + 1]
            if m == 0xFF:  # fill byte
                i += 1
                continue
            if m == 0x01 or 0xD0 <= m <= 0xD7:  # standalone markers
                i += 2
                continue
            if m in (0xD9, 0xDA):
                break
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            seg = data[i + 4:i + 2 + length]
            if m in SOF_NAMES and len(seg) >= 6:
                precision, h, w, n = struct.unpack(">BHHB", seg[:6])
                comps = seg[6:6 + 3 * n]
                info.update({
                    "sof": SOF_NAMES[m],
                    "progressive": m in (0xC2, 0xC6, 0xCA, 0xCE),
                    "arithmetic": m >= 0xC9,
                    "lossless": m in (0xC3, 0xC7, 0xCB, 0xCF),
                    "precision": precision,
                    "declared_width": w,
                    "declared_height": h,
                    "components": n,
                })
                if len(comps) == 3 * n:
                    info["sampling"] = ",".join(
                        f"{comps[3 * k + 1] >> 4}x{comps[3 * k + 1] & 15}" for k in range(n))
            elif m == 0xEE and seg[:5] == b"Adobe" and len(seg) >= 12:
                info["adobe_transform"] = seg[11]
            i += 2 + length
    except struct.error:
        pass
    return info


def pillow_reference(rel: str, png: dict) -> dict:
    """Decode `rel` (relative to the current directory) with Pillow."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(rel) as im:
                im.load()
                if (png.get("bit_depth") == 16 and png.get("color_type") == 0
                        and im.mode.startswith("I")):
                    raw = np.asarray(im).astype(np.uint32)
                    hi = (raw >> 8).astype(np.uint8)
                    rgb = np.repeat(hi[:, :, None], 3, axis=2)
                    return {"width": im.width, "height": im.height,
                            "sha256": hashlib.sha256(rgb.tobytes()).hexdigest(),
                            "note": NOTE_GRAY16}
                if png.get("bit_depth") == 16 and png.get("color_type") == 0:
                    print(f"warning: {rel}: 16-bit gray opened as mode {im.mode}; "
                          f"recording Pillow's convert('RGB') unchanged", file=sys.stderr)
                rgb = im.convert("RGB")
                raw = rgb.tobytes()
                assert len(raw) == rgb.width * rgb.height * 3
                return {"width": rgb.width, "height": rgb.height,
                        "sha256": hashlib.sha256(raw).hexdigest()}
    except Exception as e:  # record whatever Pillow raises
        return {"error": f"{type(e).__name__}: {e}"}


def describe(base: Path, rel: str) -> dict:
    data = (base / rel).read_bytes()
    fmt = sniff(data)
    entry: dict = {"format": fmt, "file_size": len(data),
                   "file_sha256": hashlib.sha256(data).hexdigest()}
    png = png_header(data) if fmt == "png" else {}
    entry.update(png)
    if fmt == "jpeg":
        entry.update(jpeg_header(data))
    cwd = os.getcwd()
    os.chdir(base)
    try:
        entry.update(pillow_reference(rel, png))
    finally:
        os.chdir(cwd)
    return entry


def image_files(base: Path, sub: str) -> list[str]:
    root = base / sub
    return sorted(p.relative_to(base).as_posix() for p in root.rglob("*")
                  if p.is_file() and p.suffix.lower() in IMAGE_EXTS)


def dump(refs: dict) -> str:
    """Sorted keys, one entry per line: valid JSON that diffs well."""
    lines = [f"{json.dumps(k)}: {json.dumps(refs[k], sort_keys=True)}" for k in sorted(refs)]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--output", type=Path, default=FIX / "reference.json")
    args = ap.parse_args()

    refs: dict = {"_pillow": {
        "version": PIL.__version__,
        "libjpeg_turbo": features.version("libjpeg_turbo"),
        "libjpeg_api": features.version("jpg"),
        "zlib": features.version("zlib"),
        "call": "Image.open(p); .load(); .convert('RGB'); sha256 of packed RGB8 rows",
        "deviation": "PNG colour type 0, bit depth 16: raw samples >> 8 replicated to RGB "
                     "(entries with \"note\")",
    }}
    counts = {}
    for sub in FIXTURE_DIRS:
        files = image_files(FIX, sub)
        if not files:
            sys.exit(f"no images under {FIX / sub}: run Scripts/make_fixtures.py first "
                     f"(conformance/ is committed, not generated)")
        for rel in files:
            refs[rel] = describe(FIX, rel)
        counts[sub] = len(files)

    args.output.write_text(dump(refs))
    errors = sum(1 for k, v in refs.items() if "error" in v)
    notes = sum(1 for v in refs.values() if "note" in v)
    per_dir = ", ".join(f"{n} {sub}" for sub, n in counts.items())
    print(f"wrote {args.output}: {sum(counts.values())} entries ({per_dir}), "
          f"{errors} Pillow errors, {notes} with the 16-bit gray note")


if __name__ == "__main__":
    main()
