#!/usr/bin/env python3
"""Generate the augload test fixtures under Fixtures/.

Run from anywhere (paths are resolved from this file's location):

    python3 Scripts/make_fixtures.py          # then: python3 Scripts/make_references.py

Requirements: Python 3.11+, numpy, Pillow, and the libjpeg-turbo command line tools
(`cjpeg`, `tjbench`; Debian/Ubuntu: `apt-get install -y libjpeg-turbo-progs`) for the JPEG
variants Pillow cannot write (4:4:0, 4:1:1, arithmetic coding, restart markers, RGB colour space,
non-interleaved scans, YCCK).

What it writes (everything below is deleted and regenerated; Fixtures/README.md is not touched):

    Fixtures/images/{cat,dog,bird}/   a small ImageFolder (valid images only, plus .hidden.jpg
                                      and notes.txt that a folder scanner must skip)
    Fixtures/codecs/                  one file per decoder case (JPEG sampling / coding variants,
                                      PNG colour type x bit depth, interlace, odd sizes)
    Fixtures/bad/                     damaged or misleading files, with README.md
    Fixtures/bad-folder/{cat,dog}/    a tiny ImageFolder with one truncated JPEG among good files

Everything is synthetic (gradients, shapes, an asymmetric corner marker, mild noise) and fully
deterministic: every image has its own RNG seeded from a hash of its name, PNGs are written by
the small chunk writer below (fixed filters, zlib level 9), JPEGs by Pillow or cjpeg/tjbench with
fixed settings. Re-running gives byte-identical files with the same zlib / libjpeg-turbo versions.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "Fixtures"
GENERATED_DIRS = ("images", "codecs", "bad", "bad-folder")


# --------------------------------------------------------------------------------------------
# Synthetic pictures
# --------------------------------------------------------------------------------------------

def rng_for(name: str) -> np.random.Generator:
    seed = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(seed)


def scene(w: int, h: int, name: str, style: str = "mixed", noise: float = 0.02) -> np.ndarray:
    """A float32 RGB picture in [0, 1], shape (h, w, 3).

    Diagonal colour gradients, a few filled shapes (circles for "cat", rectangles for "dog",
    triangles for "bird", all three for "mixed"), an asymmetric marker in the top-left corner
    (red square + yellow bar along the top edge) so flips and crops are visible, then noise.
    """
    rng = rng_for(name)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xx + 0.5) / w
    v = (yy + 0.5) / h
    phase = rng.uniform(0, 2 * np.pi, 3)
    img = np.stack([
        0.15 + 0.7 * u,
        0.15 + 0.7 * v,
        0.5 + 0.35 * np.sin(2 * np.pi * (u + v) * 0.75 + phase[2]),
    ], axis=-1)
    # rotate the colour channels per image so images differ at a glance
    img = np.roll(img, int(rng.integers(0, 3)), axis=-1)

    kinds = {"cat": ["circle"], "dog": ["rect"], "bird": ["triangle"]}.get(
        style, ["circle", "rect", "triangle"])
    for i in range(int(rng.integers(3, 6))):
        kind = kinds[i % len(kinds)]
        colour = rng.uniform(0, 1, 3).astype(np.float32)
        cx, cy = rng.uniform(0.25, 0.95), rng.uniform(0.25, 0.95)
        r = rng.uniform(0.08, 0.25)
        if kind == "circle":
            mask = ((u - cx) / r) ** 2 + ((v - cy) / r) ** 2 <= 1.0
        elif kind == "rect":
            rw, rh = r, rng.uniform(0.06, 0.2)
            mask = (np.abs(u - cx) <= rw) & (np.abs(v - cy) <= rh)
        else:  # triangle pointing up
            top = cy - r
            mask = (v >= top) & (v <= cy + r) & (np.abs(u - cx) <= (v - top) * 0.6)
        img[mask] = 0.25 * img[mask] + 0.75 * colour

    # asymmetric orientation marker: red square near the top-left, yellow bar along the top
    img[(u < 0.2) & (v < 0.2)] = (0.9, 0.1, 0.1)
    img[(u >= 0.2) & (u < 0.6) & (v < 0.06)] = (0.95, 0.9, 0.1)

    if noise > 0:
        img = img + rng.normal(0.0, noise, img.shape).astype(np.float32)
    return np.clip(img, 0.0, 1.0).astype(np.float32)


def to8(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a * 255.0), 0, 255).astype(np.uint8)


def to16(a: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(a * 65535.0), 0, 65535).astype(np.uint16)


def luma(rgb: np.ndarray) -> np.ndarray:
    return rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114


def alpha_ramp(w: int, h: int) -> np.ndarray:
    """Float alpha in [0, 1]: opaque centre fading to transparent corners, plus a hard hole."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.hypot((xx + 0.5) / w - 0.5, (yy + 0.5) / h - 0.5) / 0.7072
    a = np.clip(1.15 - d, 0.0, 1.0)
    a[(np.abs((xx + 0.5) / w - 0.7) < 0.08) & (np.abs((yy + 0.5) / h - 0.3) < 0.08)] = 0.0
    return a


def rgb_image(w: int, h: int, name: str, style: str = "mixed", noise: float = 0.02) -> Image.Image:
    return Image.fromarray(to8(scene(w, h, name, style, noise)), "RGB")


# --------------------------------------------------------------------------------------------
# A small PNG writer (exact colour types, bit depths, tRNS, Adam7, filters, chunk layout)
# --------------------------------------------------------------------------------------------

PNG_SIG = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
         (0, 1, 1, 2)]


def chunk(ctype: bytes, data: bytes) -> bytes:
    return (struct.pack(">I", len(data)) + ctype + data
            + struct.pack(">I", zlib.crc32(ctype + data) & 0xFFFFFFFF))


def pack_rows(samples: np.ndarray, depth: int) -> np.ndarray:
    """(h, w, c) integer samples -> (h, rowbytes) uint8, big-endian, sub-byte packed MSB first."""
    h, w, c = samples.shape
    if depth == 16:
        return samples.astype(">u2").reshape(h, w * c).view(np.uint8).reshape(h, w * c * 2)
    if depth == 8:
        return samples.astype(np.uint8).reshape(h, w * c)
    flat = samples.reshape(h, w * c).astype(np.uint8)
    shifts = np.arange(depth - 1, -1, -1, dtype=np.uint8)
    bits = (flat[:, :, None] >> shifts) & 1
    return np.packbits(bits.reshape(h, w * c * depth), axis=1)


def filter_rows(raw: np.ndarray, bpp: int, start: int = 0) -> bytes:
    """Filters every row, cycling through the five filter types (row i uses (start+i) % 5)."""
    out = bytearray()
    prev = np.zeros(raw.shape[1], dtype=np.int16)
    for i, row in enumerate(raw.astype(np.int16)):
        ftype = (start + i) % 5
        a = np.concatenate([np.zeros(bpp, np.int16), row[:-bpp]]) if len(row) > bpp \
            else np.zeros(len(row), np.int16)
        b = prev
        c = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]]) if len(row) > bpp \
            else np.zeros(len(row), np.int16)
        if ftype == 0:
            f = row
        elif ftype == 1:
            f = row - a
        elif ftype == 2:
            f = row - b
        elif ftype == 3:
            f = row - (a + b) // 2
        else:
            p = a + b - c
            pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
            pred = np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))
            f = row - pred
        out.append(ftype)
        out += (f & 0xFF).astype(np.uint8).tobytes()
        prev = row
    return bytes(out)


def encode_png(samples: np.ndarray, depth: int, ctype: int, *, palette=None, trns: bytes = None,
               interlace: bool = False, before_idat=(), after_idat=(), idat_chunk: int = 0,
               filter_start: int = 0) -> bytes:
    """samples: (h, w) or (h, w, channels) integers already in range for `depth`."""
    if samples.ndim == 2:
        samples = samples[:, :, None]
    h, w, c = samples.shape
    assert c == CHANNELS[ctype], (c, ctype)
    bpp = max(1, c * depth // 8)
    if interlace:
        data = b""
        for k, (x0, y0, dx, dy) in enumerate(ADAM7):
            sub = samples[y0::dy, x0::dx]
            if sub.shape[0] == 0 or sub.shape[1] == 0:
                continue  # empty passes are omitted entirely (no filter bytes)
            data += filter_rows(pack_rows(sub, depth), bpp, filter_start + k)
    else:
        data = filter_rows(pack_rows(samples, depth), bpp, filter_start)
    z = zlib.compress(data, 9)
    out = PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0,
                                               1 if interlace else 0))
    for t, d in before_idat:
        out += chunk(t, d)
    if palette is not None:
        out += chunk(b"PLTE", bytes(np.asarray(palette, np.uint8).reshape(-1)))
    if trns is not None:
        out += chunk(b"tRNS", trns)
    step = idat_chunk or len(z)
    for i in range(0, len(z), step):
        out += chunk(b"IDAT", z[i:i + step])
    for t, d in after_idat:
        out += chunk(t, d)
    return out + chunk(b"IEND", b"")


def quantize(rgb8: np.ndarray, ncolours: int):
    """Median-cut palette (Pillow, no dither): returns (indices (h, w), palette (ncolours, 3))."""
    q = Image.fromarray(rgb8, "RGB").quantize(colors=ncolours, method=Image.Quantize.MEDIANCUT,
                                             dither=Image.Dither.NONE)
    idx = np.asarray(q, dtype=np.uint8)
    pal = np.zeros((ncolours, 3), np.uint8)
    got = np.frombuffer(bytes(q.getpalette()[:ncolours * 3]), np.uint8).reshape(-1, 3)
    pal[:len(got)] = got
    assert idx.max() < ncolours
    return idx, pal


# --------------------------------------------------------------------------------------------
# JPEG helpers
# --------------------------------------------------------------------------------------------

def need_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        sys.exit(f"make_fixtures.py: `{name}` not found; install libjpeg-turbo-progs "
                 f"(apt-get install -y libjpeg-turbo-progs)")
    return path


def ppm_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PPM")
    return buf.getvalue()


def cjpeg(img: Image.Image, *args: str, scans: str | None = None) -> bytes:
    cmd = [need_tool("cjpeg"), *args]
    with tempfile.TemporaryDirectory() as tmp:
        if scans is not None:
            p = Path(tmp) / "scans.txt"
            p.write_text(scans)
            cmd += ["-scans", str(p)]
        return subprocess.run(cmd, input=ppm_bytes(img), capture_output=True,
                              check=True).stdout


def tjbench_ycck(img: Image.Image, quality: int) -> bytes:
    """tjbench -cmyk converts the RGB input to CMYK and compresses it as an Adobe YCCK JPEG
    (libjpeg's CMYK->YCCK colour transform, APP14 transform=2). Nothing else we have writes YCCK."""
    tool = need_tool("tjbench")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.ppm"
        src.write_bytes(ppm_bytes(img))
        subprocess.run([tool, str(src), str(quality), "-cmyk", "-subsamp", "444", "-componly",
                        "-benchtime", "0.001", "-warmup", "0", "-quiet"],
                       capture_output=True, check=True, cwd=tmp)
        out = Path(tmp) / f"src_444_Q{quality}.jpg"
        return out.read_bytes()


def pillow_jpeg(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", **kw)
    return buf.getvalue()


def pillow_png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=False, compress_level=9)
    return buf.getvalue()


def sos_offset(jpeg: bytes) -> int:
    """Offset of the first byte of entropy-coded data after the first SOS."""
    i = 2
    while i < len(jpeg):
        assert jpeg[i] == 0xFF, "bad marker walk"
        m = jpeg[i + 1]
        length = struct.unpack(">H", jpeg[i + 2:i + 4])[0]
        if m == 0xDA:
            return i + 2 + length
        i += 2 + length
    raise ValueError("no SOS")


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


# --------------------------------------------------------------------------------------------
# Fixtures/images — the ImageFolder
# --------------------------------------------------------------------------------------------

# (file name, width, height, kind); kind: jpeg | jpeg-prog | jpeg-gray | png | png-gray |
# png-rgba | png-p
IMAGE_FOLDER = {
    "cat": [
        ("cat-01.jpg", 320, 240, "jpeg"),
        ("cat-02.JPEG", 200, 300, "jpeg"),
        ("cat-03.png", 128, 128, "png"),
        ("cat-04.PNG", 96, 64, "png"),
        ("cat-05.jpg", 400, 400, "jpeg-prog"),
        ("cat-06.jpg", 64, 64, "jpeg"),
        ("cat-07.png", 1, 1, "png"),
        ("cat-08.jpg", 17, 13, "jpeg"),
        ("cat-09.JPEG", 256, 192, "jpeg-gray"),
        ("cat-10.png", 150, 100, "png-gray"),
    ],
    "dog": [
        ("dog-01.jpg", 300, 200, "jpeg"),
        ("dog-02.jpg", 240, 320, "jpeg"),
        ("dog-03.JPEG", 333, 251, "jpeg"),
        ("dog-04.png", 120, 90, "png-rgba"),
        ("dog-05.PNG", 160, 120, "png-p"),
        ("dog-06.jpg", 80, 200, "jpeg"),
        ("dog-07.png", 64, 96, "png"),
        ("dog-08.jpg", 128, 72, "jpeg-prog"),
        ("dog-09.PNG", 17, 13, "png"),
    ],
    "bird": [
        ("bird-01.jpg", 256, 256, "jpeg"),
        ("bird-02.jpg", 390, 260, "jpeg"),
        ("bird-03.JPEG", 99, 77, "jpeg"),
        ("bird-04.png", 100, 150, "png"),
        ("bird-05.PNG", 72, 72, "png-rgba"),
        ("bird-06.jpg", 1, 1, "jpeg"),
        ("bird-07.jpg", 210, 140, "jpeg-gray"),
        ("bird-08.png", 140, 96, "png-p"),
        ("bird-09.jpg", 360, 240, "jpeg"),
        ("bird-10.JPEG", 65, 129, "jpeg-prog"),
        ("bird-11.png", 88, 66, "png-gray"),
    ],
}


def folder_image(name: str, w: int, h: int, kind: str, style: str) -> bytes:
    png_noise = 0.008  # PNG is lossless: keep the noise low so files stay small
    if kind.startswith("jpeg"):
        img = rgb_image(w, h, name, style)
        if kind == "jpeg":
            return pillow_jpeg(img, quality=82)
        if kind == "jpeg-prog":
            return pillow_jpeg(img, quality=82, progressive=True)
        return pillow_jpeg(img.convert("L"), quality=82)
    if kind == "png":
        return pillow_png(rgb_image(w, h, name, style, png_noise))
    if kind == "png-gray":
        return pillow_png(rgb_image(w, h, name, style, png_noise).convert("L"))
    if kind == "png-rgba":
        rgb = to8(scene(w, h, name, style, png_noise))
        a = to8(alpha_ramp(w, h))
        return pillow_png(Image.fromarray(np.dstack([rgb, a]), "RGBA"))
    if kind == "png-p":
        return pillow_png(rgb_image(w, h, name, style, png_noise).quantize(
            colors=64, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE))
    raise ValueError(kind)


def make_image_folder() -> None:
    base = FIX / "images"
    for cls, items in IMAGE_FOLDER.items():
        for fname, w, h, kind in items:
            write(base / cls / fname, folder_image(fname, w, h, kind, cls))
    # must be skipped by the folder scanner: hidden (leading dot) and not an image extension
    write(base / "cat" / ".hidden.jpg",
          pillow_jpeg(rgb_image(64, 48, ".hidden.jpg", "cat"), quality=82))
    write(base / "cat" / "notes.txt",
          b"Not an image. The folder scanner must skip this file (extension) and .hidden.jpg "
          b"(leading dot).\n")


# --------------------------------------------------------------------------------------------
# Fixtures/codecs — one file per decoder case
# --------------------------------------------------------------------------------------------

def make_codecs() -> None:
    out = FIX / "codecs"

    # ---- JPEG ----------------------------------------------------------------------------
    W, H = 101, 75  # not a multiple of any MCU size, odd, so edge blocks and chroma edges matter
    base = rgb_image(W, H, "jpeg-base")
    q = "85"
    jpegs = {
        "jpeg-444-baseline.jpg": cjpeg(base, "-quality", q, "-sample", "1x1"),
        "jpeg-422-baseline.jpg": cjpeg(base, "-quality", q, "-sample", "2x1"),
        "jpeg-420-baseline.jpg": cjpeg(base, "-quality", q, "-sample", "2x2"),
        "jpeg-440-baseline.jpg": cjpeg(base, "-quality", q, "-sample", "1x2"),
        "jpeg-411-baseline.jpg": cjpeg(base, "-quality", q, "-sample", "4x1"),
        "jpeg-420-progressive.jpg": cjpeg(base, "-quality", q, "-sample", "2x2", "-progressive"),
        "jpeg-444-progressive.jpg": cjpeg(base, "-quality", q, "-sample", "1x1", "-progressive"),
        "jpeg-gray-baseline.jpg": cjpeg(base, "-quality", q, "-grayscale"),
        "jpeg-gray-progressive.jpg": cjpeg(base, "-quality", q, "-grayscale", "-progressive"),
        "jpeg-420-arithmetic.jpg": cjpeg(base, "-quality", q, "-sample", "2x2", "-arithmetic"),
        "jpeg-420-progressive-arithmetic.jpg": cjpeg(base, "-quality", q, "-sample", "2x2",
                                                     "-arithmetic", "-progressive"),
        "jpeg-420-restart-1row.jpg": cjpeg(base, "-quality", q, "-sample", "2x2",
                                           "-restart", "1"),
        "jpeg-420-restart-1mcu.jpg": cjpeg(base, "-quality", q, "-sample", "2x2",
                                           "-restart", "1B"),
        # one sequential scan per component (non-interleaved MCUs)
        "jpeg-420-noninterleaved.jpg": cjpeg(base, "-quality", q, "-sample", "2x2",
                                             scans="0;\n1;\n2;\n"),
        "jpeg-420-optimized.jpg": cjpeg(base, "-quality", q, "-sample", "2x2", "-optimize"),
        # RGB colour space (no YCbCr transform; Adobe APP14 transform=0)
        "jpeg-rgb-colorspace.jpg": cjpeg(base, "-quality", q, "-rgb"),
        "jpeg-420-1x1.jpg": cjpeg(rgb_image(1, 1, "j1x1"), "-quality", q, "-sample", "2x2"),
        "jpeg-420-17x13.jpg": cjpeg(rgb_image(17, 13, "j17x13"), "-quality", q, "-sample", "2x2"),
        "jpeg-420-1001x3.jpg": cjpeg(rgb_image(1001, 3, "j1001x3"), "-quality", q,
                                     "-sample", "2x2"),
        "jpeg-420-3x1001.jpg": cjpeg(rgb_image(3, 1001, "j3x1001"), "-quality", q,
                                     "-sample", "2x2"),
        "jpeg-420-2000x1500-q25.jpg": cjpeg(rgb_image(2000, 1500, "jlarge", noise=0.0),
                                            "-quality", "25", "-sample", "2x2"),
        "jpeg-ycck-adobe.jpg": tjbench_ycck(base, 85),
    }
    # CMYK, Adobe-inverted as Photoshop (and Pillow) write it; K carries the darkness
    rgbf = scene(W, H, "jpeg-cmyk")
    k = 1.0 - rgbf.max(axis=-1)
    cmy = (1.0 - rgbf - k[..., None]) / np.maximum(1.0 - k[..., None], 1e-6)
    cmyk = to8(np.dstack([cmy, k]))
    jpegs["jpeg-cmyk-adobe.jpg"] = pillow_jpeg(Image.fromarray(cmyk, "CMYK"), quality=85)
    # EXIF Orientation = 6: decoders here must ignore it (no EXIF rotation)
    exif = Image.Exif()
    exif[0x0112] = 6
    jpegs["jpeg-420-exif-orientation-6.jpg"] = pillow_jpeg(
        rgb_image(W, H, "jpeg-exif"), quality=85, exif=exif.tobytes())
    for name, data in jpegs.items():
        write(out / name, data)

    # ---- PNG -----------------------------------------------------------------------------
    PW, PH = 61, 43  # odd width: sub-byte rows end mid-byte
    rgbf = scene(PW, PH, "png-base")
    grayf = luma(rgbf)
    af = alpha_ramp(PW, PH)
    rgb8 = to8(rgbf)
    pngs: dict[str, bytes] = {}

    for depth in (1, 2, 4, 8, 16):
        maxv = (1 << depth) - 1
        g = np.clip(np.rint(grayf * maxv), 0, maxv).astype(np.uint16)
        pngs[f"png-gray-{depth}.png"] = encode_png(g, depth, 0)
    g8 = to8(grayf)
    g16 = to16(grayf)
    pngs["png-gray-8-trns.png"] = encode_png(g8, 8, 0, trns=struct.pack(">H", int(g8[20, 30])))
    pngs["png-gray-16-trns.png"] = encode_png(g16, 16, 0,
                                              trns=struct.pack(">H", int(g16[20, 30])))
    pngs["png-gray-16-interlaced.png"] = encode_png(g16, 16, 0, interlace=True)

    pngs["png-rgb-8.png"] = encode_png(rgb8, 8, 2)
    pngs["png-rgb-16.png"] = encode_png(to16(rgbf), 16, 2)
    r, gg, b = (int(x) for x in rgb8[5, 5])
    pngs["png-rgb-8-trns.png"] = encode_png(rgb8, 8, 2, trns=struct.pack(">HHH", r, gg, b))
    pngs["png-rgb-8-interlaced.png"] = encode_png(rgb8, 8, 2, interlace=True)
    pngs["png-rgb-16-interlaced.png"] = encode_png(to16(rgbf), 16, 2, interlace=True)
    tiny5 = to8(scene(5, 3, "png-5x3"))
    pngs["png-rgb-8-interlaced-5x3.png"] = encode_png(tiny5, 8, 2, interlace=True)  # pass 3 empty
    pngs["png-rgb-8-interlaced-1x1.png"] = encode_png(to8(scene(1, 1, "png-i1x1")), 8, 2,
                                                      interlace=True)
    pngs["png-rgb-8-1x1.png"] = encode_png(to8(scene(1, 1, "png-1x1")), 8, 2)
    pngs["png-rgb-8-17x13.png"] = encode_png(to8(scene(17, 13, "png-17x13")), 8, 2)
    pngs["png-rgb-8-1001x3.png"] = encode_png(to8(scene(1001, 3, "png-1001x3")), 8, 2)
    pngs["png-rgb-8-3x1001.png"] = encode_png(to8(scene(3, 1001, "png-3x1001")), 8, 2)
    pngs["png-rgb-8-multi-idat.png"] = encode_png(rgb8, 8, 2, idat_chunk=97)
    pngs["png-rgb-8-ancillary.png"] = encode_png(
        rgb8, 8, 2,
        before_idat=[(b"gAMA", struct.pack(">I", 45455)),
                     (b"pHYs", struct.pack(">IIB", 2835, 2835, 1)),
                     (b"tEXt", b"Comment\x00augload fixture: ancillary chunks to skip"),
                     (b"auGl", b"private ancillary chunk")],
        after_idat=[(b"tEXt", b"Title\x00text after IDAT")])

    for depth in (1, 2, 4, 8):
        idx, pal = quantize(rgb8, 1 << depth)
        pngs[f"png-palette-{depth}.png"] = encode_png(idx, depth, 3, palette=pal)
    idx8, pal8 = quantize(rgb8, 256)
    # tRNS shorter than the palette (entries past it are opaque), alpha varies per entry
    trns8 = bytes((i * 37) & 0xFF for i in range(200))
    pngs["png-palette-8-trns.png"] = encode_png(idx8, 8, 3, palette=pal8, trns=trns8)
    idx4, pal4 = quantize(rgb8, 16)
    pngs["png-palette-4-trns.png"] = encode_png(idx4, 4, 3, palette=pal4,
                                                trns=bytes([0, 64, 128, 192, 255]))
    pngs["png-palette-4-interlaced.png"] = encode_png(idx4, 4, 3, palette=pal4, interlace=True)
    pngs["png-palette-8-interlaced.png"] = encode_png(idx8, 8, 3, palette=pal8, interlace=True)

    pngs["png-gray-alpha-8.png"] = encode_png(np.dstack([g8, to8(af)]), 8, 4)
    pngs["png-gray-alpha-16.png"] = encode_png(np.dstack([g16, to16(af)]), 16, 4)
    pngs["png-rgba-8.png"] = encode_png(np.dstack([rgb8, to8(af)]), 8, 6)
    pngs["png-rgba-16.png"] = encode_png(np.dstack([to16(rgbf), to16(af)]), 16, 6)
    for name, data in pngs.items():
        write(out / name, data)


# --------------------------------------------------------------------------------------------
# Fixtures/bad
# --------------------------------------------------------------------------------------------

# file -> (what is wrong, expected error category)
BAD_CASES = [
    ("empty.jpg", "0 bytes", "empty"),
    ("not-an-image.jpg", "plain text with a .jpg extension", "format"),
    ("truncated.jpg", "valid 4:2:0 baseline JPEG (160x120) cut to half its length, inside the "
     "entropy-coded data; no EOI", "truncated"),
    ("truncated.png", "valid RGB 8-bit PNG (120x90) cut in the middle of its only IDAT; no IEND",
     "truncated"),
    ("corrupt-middle.jpg", "valid 4:2:0 baseline JPEG (160x120); 56 bytes in the middle of the "
     "entropy-coded data overwritten with garbage (random bytes around a run of stuffed "
     "0xFF00, so an invalid all-ones Huffman code and no false markers). libjpeg recovers with "
     "'Corrupt JPEG data: bad Huffman code' warnings and decodes garbage; Pillow ignores the "
     "warnings; an error in strict mode", 
     "corrupt"),
    ("corrupt-crc.png", "valid RGB 8-bit PNG (120x90) with one byte inside the IDAT data "
     "flipped, so the IDAT CRC (and the zlib stream) no longer match", "corrupt"),
    ("huge-declared.png", "PNG whose IHDR declares 100000x100000 RGB 8-bit (valid CRC), with a "
     "tiny IDAT", "too-large"),
    ("huge-declared.jpg", "baseline JPEG whose SOF0 declares 65000x65000 (the scan data is that "
     "of a 16x16 image)", "too-large"),
    ("wrong-extension.jpg", "a valid RGB 8-bit PNG (64x48) named .jpg; format is sniffed from the "
     "bytes, so it must decode", "decodes (sniffed)"),
]


def make_bad() -> None:
    out = FIX / "bad"
    good_jpeg = pillow_jpeg(rgb_image(160, 120, "bad-jpeg"), quality=85)
    good_png = encode_png(to8(scene(120, 90, "bad-png")), 8, 2)

    write(out / "empty.jpg", b"")
    write(out / "not-an-image.jpg",
          b"This is not a JPEG. It is a text file with a .jpg extension.\n")
    write(out / "truncated.jpg", good_jpeg[:len(good_jpeg) // 2])

    # cut in the middle of the (single) IDAT payload
    idat = good_png.index(b"IDAT")
    idat_len = struct.unpack(">I", good_png[idat - 4:idat])[0]
    write(out / "truncated.png", good_png[:idat + 4 + idat_len // 2])

    # garbage in the middle of the entropy-coded segment (see BAD_CASES)
    rng = rng_for("corrupt-middle")
    data = bytearray(good_jpeg)
    start = sos_offset(good_jpeg)
    end = len(good_jpeg) - 2  # before EOI
    mid = (start + end) // 2
    while data[mid - 1] == 0xFF:  # do not turn a stuffed 0xFF00 into a marker
        mid += 1
    # random bytes around a run of stuffed 0xFF (FF 00 x 12 = 96 one-bits): no Huffman code is
    # all ones, so libjpeg must hit "bad Huffman code" whatever the random bytes decode to
    garbage = (rng.integers(0, 0xFF, 16, dtype=np.uint8).tobytes() + b"\xff\x00" * 12
               + rng.integers(0, 0xFF, 16, dtype=np.uint8).tobytes())
    data[mid:mid + len(garbage)] = garbage
    write(out / "corrupt-middle.jpg", bytes(data))

    data = bytearray(good_png)
    pos = idat + 4 + idat_len // 2
    data[pos] ^= 0x5A
    write(out / "corrupt-crc.png", bytes(data))

    # IHDR says 100000 x 100000; one small IDAT (a few zero rows), valid CRCs
    huge = (PNG_SIG + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * (1 + 3 * 100000) * 2, 9))
            + chunk(b"IEND", b""))
    write(out / "huge-declared.png", huge)

    small = bytearray(pillow_jpeg(rgb_image(16, 16, "huge-jpeg"), quality=85))
    sof = small.index(b"\xff\xc0")
    struct.pack_into(">HH", small, sof + 5, 65000, 65000)  # FFC0 len(2) precision(1) H W
    write(out / "huge-declared.jpg", bytes(small))

    write(out / "wrong-extension.jpg", encode_png(to8(scene(64, 48, "wrong-ext")), 8, 2))

    lines = [
        "# Fixtures/bad — damaged or misleading files",
        "",
        "Generated by `Scripts/make_fixtures.py` (do not edit by hand). What Pillow reports for "
        "each file is recorded in `Fixtures/reference.json`.",
        "",
        "| file | what is wrong | expected error category |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{f}` | {what} | {cat} |" for f, what, cat in BAD_CASES]
    lines += [
        "",
        "Categories: `empty` (zero bytes), `format` (not a PNG or JPEG by its bytes), "
        "`truncated` (data ends before the image does), `corrupt` (the library rejected the "
        "data, or recovered from corrupt data with a warning — an error in strict mode), "
        "`too-large` (declared width x height over the pixel limit, refused before allocating), "
        "`decodes (sniffed)` (not bad at all: the extension lies, the bytes decide).",
        "",
    ]
    (out / "README.md").write_text("\n".join(lines))


# --------------------------------------------------------------------------------------------
# Fixtures/bad-folder — ImageFolder with one bad file
# --------------------------------------------------------------------------------------------

def make_bad_folder() -> None:
    base = FIX / "bad-folder"
    write(base / "cat" / "cat-1.jpg", pillow_jpeg(rgb_image(96, 64, "bf-cat-1", "cat"),
                                                  quality=82))
    write(base / "cat" / "cat-2.png", pillow_png(rgb_image(48, 48, "bf-cat-2", "cat", 0.008)))
    write(base / "cat" / "cat-3.jpg", pillow_jpeg(rgb_image(80, 120, "bf-cat-3", "cat"),
                                                  quality=82))
    write(base / "dog" / "dog-1.jpg", pillow_jpeg(rgb_image(128, 96, "bf-dog-1", "dog"),
                                                  quality=82))
    full = pillow_jpeg(rgb_image(120, 90, "bf-dog-2", "dog"), quality=82)
    write(base / "dog" / "dog-2-truncated.jpg", full[:len(full) // 2])
    write(base / "dog" / "dog-3.png", pillow_png(rgb_image(64, 40, "bf-dog-3", "dog", 0.008)))


def main() -> None:
    need_tool("cjpeg")
    need_tool("tjbench")
    FIX.mkdir(exist_ok=True)
    for d in GENERATED_DIRS:
        shutil.rmtree(FIX / d, ignore_errors=True)
    make_image_folder()
    make_codecs()
    make_bad()
    make_bad_folder()
    files = [p for d in GENERATED_DIRS for p in sorted((FIX / d).rglob("*")) if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    print(f"wrote {len(files)} files, {total / 1024:.1f} KiB, under {FIX}")


if __name__ == "__main__":
    main()
