#!/usr/bin/env python3
"""Generate Fixtures/damaged/: files damaged *late*, below where a crop's decode used to stop.

Run from anywhere (paths are resolved from this file's location); Python 3 standard library only:

    python3 Scripts/make_damaged.py

Why: a crop decodes only the rows it needs, so damage near the end of a file (a cut, a bad CRC or
Adler-32, corrupt entropy-coded data, a missing EOI) used to be seen or not depending on where the
random crop fell. These files pin the rule that a file's verdict (good, decoded with warnings, or
refused with a reason) is the full decode's under every crop, size and seed
(`Tests/AugloadTests/VerdictTests.swift`). Each is made from a valid committed fixture; the
damage sits in the last 3-5 % of the image data. Deterministic: byte-identical on every run.
Writes Fixtures/damaged/*.png|jpg and Fixtures/damaged/README.md (deleted and regenerated).
"""

from __future__ import annotations

import shutil
import struct
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIX = ROOT / "Fixtures"
OUT = FIX / "damaged"

# name -> (what is wrong, the full decode's verdict)
ROWS: list[tuple[str, str, str]] = []


def chunks(png: bytes) -> list[tuple[int, int, bytes]]:
    """(offset, data length, type) of every chunk."""
    pos, out = 8, []
    while pos + 8 <= len(png):
        n = struct.unpack(">I", png[pos:pos + 4])[0]
        out.append((pos, n, png[pos + 4:pos + 8]))
        pos += 12 + n
    return out


def chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def idat_parts(png: bytes) -> tuple[bytes, bytes, bytes]:
    """(everything before the first IDAT, the concatenated zlib stream, IHDR data)."""
    cs = chunks(png)
    idats = [c for c in cs if c[2] == b"IDAT"]
    stream = b"".join(png[p + 8:p + 8 + n] for p, n, _ in idats)
    ihdr = next(png[p + 8:p + 8 + n] for p, n, t in cs if t == b"IHDR")
    return png[:idats[0][0]], stream, ihdr


def with_stream(png: bytes, stream: bytes) -> bytes:
    head, _, _ = idat_parts(png)
    return head + chunk(b"IDAT", stream) + chunk(b"IEND", b"")


def row_bytes(ihdr: bytes) -> tuple[int, int]:
    """(bytes per filtered row including the filter byte, rows) of a non-interlaced image."""
    w, h, depth, ctype = struct.unpack(">IIBB", ihdr[:10])
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    return 1 + (w * channels * depth + 7) // 8, h


def png_variants(stem: str, png: bytes, interlaced: bool, restream: bool = True) -> None:
    """The damage cases of one PNG; `restream: False` keeps only those that keep its IDAT split."""
    cs = chunks(png)
    idats = [c for c in cs if c[2] == b"IDAT"]
    iend = next(c for c in cs if c[2] == b"IEND")
    _, stream, ihdr = idat_parts(png)
    first, (last_pos, last_len, _) = idats[0][0], idats[-1]
    end = last_pos + 12 + last_len

    emit(f"{stem}-cut-95.png", png[:first + (end - first) * 95 // 100],
         "cut at 95 % of its IDAT data: no later IDAT bytes, no IEND", "refused: truncated")
    b = bytearray(png)
    b[last_pos + 8 + last_len] ^= 0xFF
    emit(f"{stem}-last-idat-crc.png", bytes(b), "the last IDAT chunk's CRC is wrong", "refused: corrupt")
    emit(f"{stem}-no-iend.png", png[:iend[0]], "ends after the last IDAT: no IEND chunk",
         "good (like Pillow, the decoder stops after the image data)")
    b = bytearray(png)
    b[iend[0] + 8] ^= 0xFF
    emit(f"{stem}-iend-crc.png", bytes(b), "the IEND chunk's CRC is wrong",
         "good (like Pillow, the decoder stops after the image data)")
    if not restream:
        return
    s = bytearray(stream)
    s[-1] ^= 0xFF
    emit(f"{stem}-adler.png", with_stream(png, bytes(s)),
         "the zlib stream's Adler-32 is wrong (chunk CRCs recomputed, so they are right)", "refused: corrupt")
    s = bytearray(stream)
    s[len(s) * 97 // 100] ^= 0x55
    emit(f"{stem}-zlib-97.png", with_stream(png, bytes(s)),
         "one byte of the deflate data at 97 % flipped (CRCs recomputed)", "refused: corrupt")
    raw = zlib.decompress(stream)
    emit(f"{stem}-short-stream.png", with_stream(png, zlib.compress(raw[:len(raw) * 95 // 100], 9)),
         "a valid zlib stream that holds only 95 % of the image's rows", "refused: truncated")
    if not interlaced:
        per_row, rows = row_bytes(ihdr)
        r = bytearray(raw)
        r[(rows - 1) * per_row] = 7
        emit(f"{stem}-bad-filter-last-row.png", with_stream(png, zlib.compress(bytes(r), 9)),
             "the last row's filter type is 7 (valid zlib stream, CRCs right)", "refused: corrupt")


def jpeg_variants(stem: str, jpeg: bytes) -> None:
    cut = len(jpeg) * 95 // 100
    emit(f"{stem}-cut-95.jpg", jpeg[:cut], "cut at 95 % of its bytes, inside the entropy-coded data; no EOI",
         "refused: truncated")
    emit(f"{stem}-cut-95-eoi.jpg", jpeg[:cut] + b"\xff\xd9",
         "cut at 95 % and an EOI marker appended: the scan ends early", "refused: truncated")
    emit(f"{stem}-no-eoi.jpg", jpeg[:-2], "the final EOI marker removed", "refused: truncated")
    start = len(jpeg) * 95 // 100
    while jpeg[start - 1] == 0xFF or jpeg[start + 16] == 0x00:  # never split a stuffed 0xFF00
        start += 1
    emit(f"{stem}-corrupt-95.jpg", jpeg[:start] + b"\xff\x00" * 8 + jpeg[start + 16:],
         "16 bytes of entropy-coded data at 95 % replaced by stuffed 0xFF00 pairs: 64 one-bits, an "
         "invalid Huffman code", "decoded with warnings (libjpeg recovers); refused in strict mode")
    emit(f"{stem}-trailing-garbage.jpg", jpeg + b"not part of the image",
         "bytes after the EOI marker", "good (nothing after EOI is read)")


def emit(name: str, data: bytes, what: str, verdict: str) -> None:
    (OUT / name).write_bytes(data)
    ROWS.append((name, what, verdict))


def main() -> None:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    png_variants("png-rgb-8", (FIX / "codecs/png-rgb-8.png").read_bytes(), interlaced=False)
    png_variants("png-rgb-8-multi-idat", (FIX / "codecs/png-rgb-8-multi-idat.png").read_bytes(), interlaced=False,
                 restream=False)
    png_variants("png-rgb-8-interlaced", (FIX / "codecs/png-rgb-8-interlaced.png").read_bytes(), interlaced=True)
    jpeg_variants("jpeg-baseline", (FIX / "images/cat/cat-01.jpg").read_bytes())
    jpeg_variants("jpeg-restart", (FIX / "codecs/jpeg-420-restart-1row.jpg").read_bytes())
    jpeg_variants("jpeg-progressive", (FIX / "codecs/jpeg-420-progressive.jpg").read_bytes())
    lines = [
        "# Fixtures/damaged — damage near the end of a file",
        "",
        "Generated by `Scripts/make_damaged.py` (do not edit by hand) from `codecs/png-rgb-8.png`,",
        "`codecs/png-rgb-8-multi-idat.png`, `codecs/png-rgb-8-interlaced.png`, `images/cat/cat-01.jpg`",
        "(baseline 320x240), `codecs/jpeg-420-restart-1row.jpg` and `codecs/jpeg-420-progressive.jpg`.",
        "The damage sits below the rows most crops need: `VerdictTests` checks that every crop, size",
        "and seed gets the full decode's verdict (listed here) for each of them.",
        "",
        "| file | what is wrong | full decode's verdict |",
        "| --- | --- | --- |",
    ]
    lines += [f"| `{n}` | {w} | {v} |" for n, w, v in ROWS]
    (OUT / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
