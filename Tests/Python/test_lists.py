"""File lists as pandas writes them (RFC 4180: an index column, quoted paths with commas and
quotes), read by `augload export --files` and matched by `Loader(files=...)`."""

from __future__ import annotations

import shutil

import pytest

import augload
from conftest import IMAGES, assert_same_batches, copies, export

pd = pytest.importorskip("pandas")

NAMES = ["a,b.jpg", 'say "hi".jpg', "with space.png", "plain.jpg", "comma, and \"quote\".png", "x.jpg"]


def test_a_list_pandas_writes_gives_the_batches_of_the_same_files_from_python(engine, tmp_path):
    sources = sorted(p for p in IMAGES.glob("*/*") if p.suffix.lower() in (".jpg", ".png") and not p.name.startswith("."))
    paths = []
    for name, source in zip(NAMES, sources[10:]):
        target = tmp_path / "images" / name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(source, target.with_suffix(source.suffix))
        paths.append(str(target.with_suffix(source.suffix)))
    labels = ["cat", "dog", "cat", "dog", "cat", "dog"]
    listing = tmp_path / "train.csv"
    pd.DataFrame({"path": paths, "label": labels}).to_csv(listing)  # with pandas' index column
    assert '"' in listing.read_text()  # pandas quoted the names with commas and quotes
    options = dict(batch_size=4, size=24, crop="center", flip="none", seed=2, dtype="uint8")
    expected = export(engine, None, tmp_path / "out", epochs=1, files=str(listing), **options)
    with augload.Loader(files=paths, labels=[0 if l == "cat" else 1 for l in labels], workers=2, **options) as loader:
        got = copies(loader, 1)
    assert_same_batches(got, expected)
