#!/usr/bin/env python3
"""Pillow's bilinear resize outputs for the resampler test (Fixtures/resize/).

augload's resampler follows Pillow's `Image.resize(size, BILINEAR, box=...)` (antialiased when
shrinking), which is what torchvision's Resize does on PIL images. This writes, for a few fixture
images and geometries, Pillow's output as raw RGB8 bytes plus `resize.json` describing each case;
the Swift test checks every byte is within 1 of Pillow's.

Run from the repository root:  python3 Scripts/make_resize_references.py
"""
import json
import os

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Fixtures", "resize")

CASES = [
    # source (relative to Fixtures/), output size, box (x0, y0, x1, y1) or None for the whole image
    ("codecs/jpeg-420-2000x1500-q25.jpg", (224, 168), None),            # 8.9x shrink
    ("codecs/jpeg-420-2000x1500-q25.jpg", (64, 64), (100.5, 200.25, 900.0, 1000.75)),
    ("codecs/png-rgb-8.png", (40, 30), None),                            # mild shrink
    ("codecs/png-rgb-8.png", (150, 100), None),                          # upscale
    ("codecs/png-rgb-8.png", (33, 17), (3.0, 5.0, 50.0, 40.0)),          # box crop + shrink
    ("codecs/png-rgb-8.png", (61, 43), (0.5, 0.5, 61.0, 43.0)),          # sub-pixel shift
    ("codecs/jpeg-420-17x13.jpg", (224, 224), None),                     # tiny to large, aspect change
    ("codecs/png-rgb-8-1001x3.png", (256, 1), None),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    index = []
    for n, (src, size, box) in enumerate(CASES):
        im = Image.open(os.path.join(ROOT, "Fixtures", src)).convert("RGB")
        out = im.resize(size, Image.BILINEAR, box=box)
        name = f"case-{n:02d}.rgb"
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(out.tobytes())
        index.append({
            "source": src, "width": size[0], "height": size[1],
            "box": list(box) if box else [0, 0, im.width, im.height], "output": name,
        })
    with open(os.path.join(OUT, "resize.json"), "w") as f:
        json.dump({"pillow": Image.__version__, "cases": index}, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
