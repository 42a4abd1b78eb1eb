"""Any file name Linux allows: names that are not UTF-8, or hold a newline, a comma, a quote, a
backslash, a leading dash, 250 bytes — in folders, in `files=` (str or bytes), in a pandas list
and in the skip report, whose paths are the real names (`os.path.exists` holds)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import IMAGES, assert_same_batches, copies, export

import augload
from augload._options import path_from_wire, wire_path

OPTIONS = dict(batch_size=6, size=24, crop="random", flip="h", seed=5, shuffle=False)
NAMES = [
    b"caf\xe9.jpg",  # Latin-1: not UTF-8
    b"\xff\xfe raw.jpg",
    "new\nline.jpg".encode(),
    b"a,b \"quoted\".jpg",
    b"back\\slash.jpg",
    b"-dash.jpg",
    b"x" * 246 + b".jpg",  # 250 bytes, the longest name ext4 allows is 255
]


def same_images(tmp_path: Path) -> tuple[Path, Path, list[bytes]]:
    """The same seven JPEGs under odd names (in a non-UTF-8 class folder) and under plain ones,
    in the same order."""
    sources = sorted(IMAGES.glob("*/*.jpg"))[: len(NAMES)]
    assert len(sources) == len(NAMES)
    odd, plain = tmp_path / "odd", tmp_path / "plain"
    odd_class = os.path.join(os.fsencode(odd), b"chat-\xe9t\xe9")
    os.makedirs(odd_class)
    (plain / "cat").mkdir(parents=True)
    for i, (source, name) in enumerate(sorted(zip(sources, NAMES), key=lambda pair: pair[1])):
        shutil.copyfile(source, os.path.join(odd_class, name))
        shutil.copyfile(source, plain / "cat" / f"{i:02d}.jpg")
    return odd, plain, sorted(NAMES)


def test_the_wire_form_is_lossless():
    for raw in NAMES + [bytes(range(1, 256)), "é€😀".encode()]:
        assert os.fsencode(path_from_wire(wire_path(raw))) == raw
        assert path_from_wire(wire_path(os.fsdecode(raw))) == os.fsdecode(raw)
    assert wire_path(b"caf\xe9") == "caf\x00e9" and wire_path("plain/é") == "plain/é"


def test_a_folder_of_odd_names_gives_the_plain_folders_bytes(engine, tmp_path):
    odd, plain, _ = same_images(tmp_path)
    for workers in (0, 2):
        with augload.Loader(odd, **OPTIONS, workers=workers) as a, augload.Loader(plain, **OPTIONS, workers=workers) as b:
            assert a.classes == [os.fsdecode(b"chat-\xe9t\xe9")]
            assert_same_batches(copies(a, 1), copies(b, 1))
    with augload.Loader(os.fsencode(odd), **OPTIONS, workers=0) as loader:  # bytes work too
        assert loader.samples == len(NAMES)


def test_files_given_as_bytes_or_fsdecoded_str_are_opened_unchanged(tmp_path):
    odd, plain, names = same_images(tmp_path)
    folder = os.path.join(os.fsencode(odd), b"chat-\xe9t\xe9")
    as_bytes = [os.path.join(folder, n) for n in names]
    with augload.Loader(plain, **OPTIONS, workers=0) as loader:
        want = copies(loader, 1)
    for files in (as_bytes, [os.fsdecode(p) for p in as_bytes]):
        with augload.Loader(files=files, labels=[0] * len(files), **OPTIONS, workers=2) as loader:
            assert_same_batches(copies(loader, 1), want)


def test_a_pandas_list_with_commas_quotes_and_newlines_in_names(engine, tmp_path):
    import pandas as pd

    odd, plain, names = same_images(tmp_path)
    folder = os.path.join(os.fsencode(odd), b"chat-\xe9t\xe9")
    # A CSV is text: pandas writes the os.fsdecode names with surrogateescape, byte for byte.
    frame = pd.DataFrame({"path": [os.fsdecode(os.path.join(folder, n)) for n in names], "label": ["cat"] * len(names)})
    listing = tmp_path / "list.csv"
    frame.to_csv(listing, encoding="utf-8", errors="surrogateescape")
    got = export(engine, None, tmp_path / "a", 1, files=str(listing), **OPTIONS)
    assert_same_batches(got, export(engine, plain, tmp_path / "b", 1, **OPTIONS))


def test_a_broken_file_with_an_odd_name_is_reported_by_its_real_name(tmp_path):
    odd, _, names = same_images(tmp_path)
    folder = os.path.join(os.fsencode(odd), b"chat-\xe9t\xe9")
    victim = os.path.join(folder, names[0])
    with open(victim, "r+b") as f:
        f.truncate(100)
    with pytest.raises(augload.DecodeError) as failed:
        with augload.Loader(odd, **OPTIONS, workers=2) as loader:
            copies(loader, 1)
    assert os.fsencode(failed.value.path) == victim and "\\xe9" in str(failed.value)
    with augload.Loader(odd, **OPTIONS, workers=2, on_error="skip") as loader:
        copies(loader, 1)
        (path, _), = loader.skipped
    assert os.fsencode(path) == victim and os.path.exists(path)
