"""WebDataset tar shards: `augload pack` and `webdataset` in both directions, the folder's bytes
from shards on disk and over HTTP (a real nginx), the kept index, and damage named by shard and
member. Every index goes to a test's own AUGLOAD_INDEX_DIR."""

from __future__ import annotations

import os
import subprocess
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from conftest import IMAGES, assert_same_batches, copies, engines_of_this_process, export

import augload
from nginx import NginxServer, nginx_binary, serve_folder

OPTIONS = dict(batch_size=8, size=32, crop="resized", flip="h", noise=0.05, seed=3, auto_augment="trivialaugment")
EXTENSIONS = (".jpg", ".jpeg", ".png")


@pytest.fixture(autouse=True)
def index_dir(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "index"
    monkeypatch.setenv("AUGLOAD_INDEX_DIR", str(folder))
    return folder


def folder_samples() -> list[tuple[Path, int]]:
    """The fixture folder in augload's sample order: classes sorted, files sorted by bytes."""
    classes = sorted(p.name for p in IMAGES.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [
        (path, label)
        for label, name in enumerate(classes)
        for path in sorted((IMAGES / name).iterdir(), key=lambda p: os.fsencode(p.name))
        if path.suffix.lower() in EXTENSIONS and not path.name.startswith(".")
    ]


def pack(engine: str, out: Path, *extra: str) -> str:
    ran = subprocess.run([engine, "pack", str(IMAGES), "--out", str(out / "train"), "--quiet", *extra],
                         capture_output=True, text=True, check=True)  # fmt: skip
    return ran.stdout.strip()


def loader_batches(**dataset) -> list:
    with augload.Loader(**dataset, **OPTIONS, epochs=1) as loader:
        return copies(loader, 1)


def test_packed_shards_read_back_in_webdataset_and_tar(engine, tmp_path):
    import webdataset as wds

    spec = pack(engine, tmp_path, "--shard-size", "200K")
    shards = sorted(tmp_path.glob("train-*.tar"))
    assert len(shards) >= 2 and spec == f"{tmp_path}/train-{{000000..{len(shards) - 1:06d}}}.tar"
    names = [name for shard in shards for name in tarfile.open(shard).getnames()]
    assert len(names) == 2 * len(folder_samples()) and all(n.split(".")[0].isdigit() for n in names)
    listed = subprocess.run(["tar", "-tf", str(shards[0])], capture_output=True, text=True, check=True).stdout.split()
    assert listed == tarfile.open(shards[0]).getnames()
    read = list(wds.WebDataset([str(s) for s in shards], shardshuffle=False))
    assert len(read) == len(folder_samples())
    for sample, (path, label) in zip(read, folder_samples()):
        image = next(sample[k] for k in ("jpg", "jpeg", "png") if k in sample)
        assert image == path.read_bytes() and int(sample["cls"]) == label


@pytest.mark.parametrize("workers", [0, 2])
def test_shards_give_the_folders_bytes(engine, tmp_path, workers):
    spec = pack(engine, tmp_path, "--shard-size", "150K")
    with augload.Loader(IMAGES, **OPTIONS, workers=workers, epochs=2) as loader:
        want = copies(loader, 2)
    with augload.Loader(shards=spec, **OPTIONS, workers=workers, epochs=2) as loader:
        assert loader.classes == ["0", "1", "2"] and loader.samples == len(folder_samples())
        got = copies(loader, 2)
    assert_same_batches(got, want)
    exported = export(engine, None, tmp_path / "e", 1, shards=spec, **OPTIONS)
    assert_same_batches(exported, export(engine, IMAGES, tmp_path / "f", 1, **OPTIONS))


def test_a_folder_a_list_and_a_brace_pattern_name_the_same_shards(engine, tmp_path):
    spec = pack(engine, tmp_path / "s", "--shard-size", "150K")
    shards = sorted((tmp_path / "s").glob("*.tar"))
    listing = tmp_path / "shards.txt"
    listing.write_text("# the training shards\n" + "\n".join(str(s) for s in shards) + "\n")
    want = loader_batches(shards=spec, workers=0)
    for dataset in (dict(shards=tmp_path / "s"), dict(shards=str(listing)), dict(shards=[str(s) for s in shards])):
        assert_same_batches(loader_batches(**dataset, workers=0), want)


def test_shards_that_webdatasets_shardwriter_wrote_give_the_folders_bytes(tmp_path):
    import webdataset as wds

    classes = sorted(p.name for p in IMAGES.iterdir() if p.is_dir())
    with wds.ShardWriter(str(tmp_path / "w-%06d.tar"), maxcount=8) as sink:
        for i, (path, label) in enumerate(folder_samples()):
            ext = path.suffix.lower().lstrip(".")
            sink.write({"__key__": f"s{i:06d}", ext: path.read_bytes(), "cls": label, "txt": classes[label]})
    shards = sorted(tmp_path.glob("w-*.tar"))
    assert len(shards) >= 3
    want = loader_batches(folder=IMAGES, workers=2)
    assert_same_batches(loader_batches(shards=[str(s) for s in shards], workers=2), want)
    with augload.Loader(shards=str(tmp_path), label="txt", **OPTIONS, workers=0) as loader:
        assert loader.classes == classes
        assert_same_batches(copies(loader, 1), want)


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)")
def test_shards_over_http_give_the_local_bytes_and_the_index_is_kept(engine, tmp_path, index_dir):
    spec = pack(engine, tmp_path / "s", "--shard-size", "150K")
    local = loader_batches(shards=spec, workers=0)
    with NginxServer(tmp_path / "s") as server:
        url = f"{server.url}/train-{{000000..{len(list((tmp_path / 's').glob('*.tar'))) - 1:06d}}}.tar"
        for workers in (0, 2):
            assert_same_batches(loader_batches(shards=url, workers=workers), local)
        kept = {p: p.stat().st_mtime_ns for p in index_dir.glob("*.index")}
        assert len(kept) == 2  # the local spec's and the URLs'
        time.sleep(0.01)
        assert_same_batches(loader_batches(shards=url, workers=2), local)
        assert {p: p.stat().st_mtime_ns for p in index_dir.glob("*.index")} == kept, "reused, not rebuilt"
        # A shard rewritten (its bytes and ETag change) is indexed again.
        shard = tmp_path / "s" / "train-000000.tar"
        shard.write_bytes(shard.read_bytes())
        os.utime(shard, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
        assert_same_batches(loader_batches(shards=url, workers=0), local)
        assert {p: p.stat().st_mtime_ns for p in index_dir.glob("*.index")} != kept


@pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)")
def test_a_server_that_disappears_is_a_named_error_not_a_hang(engine, tmp_path):
    pack(engine, tmp_path / "s", "--shard-size", "150K")
    with NginxServer(tmp_path / "s") as server:
        url = f"{server.url}/train-{{000000..000001}}.tar"
        with pytest.raises(augload.EngineError, match="404") as missing:
            augload.Loader(shards=f"{server.url}/missing.tar", **OPTIONS)
        assert f"{server.url}/missing.tar" in str(missing.value)
        loader = augload.Loader(shards=url, **OPTIONS, workers=2, epochs=1)
        server.stop()
        started = time.monotonic()
        with pytest.raises((augload.DecodeError, augload.EngineError)) as failed:
            copies(loader, 1)
        loader.close()
    assert time.monotonic() - started < 60
    assert "127.0.0.1" in str(failed.value) and "train-00000" in str(failed.value)


def test_a_truncated_shard_names_the_shard_and_member_and_skip_replaces_it(engine, tmp_path):
    pack(engine, tmp_path, "--shard-size", "150K")
    last = sorted(tmp_path.glob("train-*.tar"))[-1]
    members = tarfile.open(last).getmembers()
    image = [m for m in members if not m.name.endswith(".cls")][-1]
    last.write_bytes(last.read_bytes()[: image.offset_data + image.size // 2])
    with pytest.raises(augload.DecodeError) as failed:
        loader_batches(shards=str(tmp_path), workers=2)
    assert failed.value.path == f"{last}#{image.name}" and "truncated" in str(failed.value)
    with augload.Loader(shards=str(tmp_path), **OPTIONS, workers=2, on_error="skip") as loader:
        batches = copies(loader, 1)
        assert [path for path, _ in loader.skipped] == [f"{last}#{image.name}"]
    assert sum(len(labels) for _, _, _, labels in batches) == len(folder_samples())


def test_a_damaged_header_fails_naming_the_shard_and_skip_reads_past_it(engine, tmp_path):
    pack(engine, tmp_path, "--shard-size", "10M")
    shard = tmp_path / "train-000000.tar"
    members = tarfile.open(shard).getmembers()
    victim = members[6]  # the 4th sample's image header
    data = bytearray(shard.read_bytes())
    data[victim.offset + 2] ^= 0x5A
    shard.write_bytes(bytes(data))
    with pytest.raises(augload.DecodeError, match=f"{shard}: damaged tar header at offset {victim.offset}"):
        augload.Loader(shards=str(shard), **OPTIONS)
    with pytest.warns(UserWarning, match="damaged tar header"):
        loader = augload.Loader(shards=str(shard), **OPTIONS, on_error="skip")
    with loader:
        assert loader.samples == len(folder_samples()) - 1


def test_a_damaged_index_is_rebuilt_not_trusted(engine, tmp_path, index_dir):
    spec = pack(engine, tmp_path, "--shard-size", "150K")
    want = loader_batches(shards=spec, workers=0)
    (index,) = index_dir.glob("*.index")
    data = bytearray(index.read_bytes())
    data[len(data) // 2] ^= 0xFF
    index.write_bytes(bytes(data))
    assert_same_batches(loader_batches(shards=spec, workers=0), want)
    index.write_bytes(index.read_bytes()[:50])
    assert_same_batches(loader_batches(shards=spec, workers=0), want)
    assert np.frombuffer(index.read_bytes()[:8], "<u8")[0] == 0x3158_4449_4C47_5541  # rewritten whole


@pytest.mark.parametrize(
    "arguments,error,words",
    [
        (dict(folder=IMAGES, shards="a.tar"), ValueError, "not a folder and shards="),
        (dict(files=["a.jpg"], labels=[0], shards="a.tar"), ValueError, "not files= and shards="),
        (dict(folder=IMAGES, label="txt"), ValueError, "label= goes with shards="),
        (dict(shards="a.tar", labels=[0]), ValueError, "shards carry their labels"),
        (dict(shards=[]), ValueError, "at least one"),
        (dict(shards=3), TypeError, "shards must be a path or URL"),
        (dict(shards=["a.tar", 3]), TypeError, "shards must be paths or URLs"),
        (dict(shards="a.tar", label=3), TypeError, "label must be a str"),
        (dict(shards="a.tar", label=""), ValueError, "label must be a member extension"),
    ],
)
def test_shard_arguments_are_refused_before_starting(arguments, error, words):
    with pytest.raises(error, match=words):
        augload.Loader(**arguments)
    assert engines_of_this_process() == []


def test_local_specs_are_made_absolute_and_urls_kept(tmp_path, monkeypatch):
    from augload._options import validate

    monkeypatch.chdir(tmp_path)
    dataset = validate(shards=["s/train-{000000..000003}.tar", b"caf\xe9.tar", tmp_path / "d", "https://h/x-{0..1}.tar",
                               b"http://h/y.tar"]).dataset  # fmt: skip
    assert dataset == {
        "shards": [f"{tmp_path}/s/train-{{000000..000003}}.tar", f"{tmp_path}/caf\x00e9.tar", f"{tmp_path}/d",
                   "https://h/x-{0..1}.tar", "http://h/y.tar"],
        "label": "cls",
    }  # fmt: skip
    assert validate(shards=["a.tar"], label="txt").dataset["label"] == "txt"


def test_the_test_server_answers_ranges_over_one_connection_and_stops(tmp_path):
    import http.client

    data = os.urandom(300_000)
    (tmp_path / "a.tar").write_bytes(data)
    with serve_folder(tmp_path) as url:
        request = urllib.request.Request(f"{url}/a.tar", headers={"Range": "bytes=1000-1999"})
        with urllib.request.urlopen(request) as answer:
            assert answer.status == 206 and answer.headers["Content-Range"] == "bytes 1000-1999/300000"
            assert answer.read() == data[1000:2000] and answer.headers["ETag"]
        connection = http.client.HTTPConnection(*url.removeprefix("http://").split(":"))
        for first in (0, 299_990):  # keep-alive: both on one connection
            connection.request("GET", "/a.tar", headers={"Range": f"bytes={first}-{first + 9}"})
            answer = connection.getresponse()
            assert answer.status == 206 and answer.read() == data[first : first + 10]
        connection.close()
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{url}/missing.tar")
    server = NginxServer(tmp_path)
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{server.url}/a.tar", timeout=5)


def test_ranks_the_cache_and_resume_work_on_shards_as_on_the_folder(engine, tmp_path):
    """Everything above the dataset is the folder's: rank shares, the decoded cache (RAM and a
    folder) and a mid-epoch resume give the folder's batches from the shards."""
    spec = pack(engine, tmp_path / "s", "--shard-size", "150K")
    for extra in (dict(rank=1, world_size=3), dict(cache="ram"), dict(cache=str(tmp_path / "c")), dict(mixup=0.2, cutmix=1.0)):
        with augload.Loader(IMAGES, **OPTIONS, **extra, workers=2, epochs=2) as a:
            want = copies(a, 2)
        with augload.Loader(shards=spec, **OPTIONS, **extra, workers=2, epochs=2) as b:
            assert_same_batches(copies(b, 2), want)
    with augload.Loader(shards=spec, **OPTIONS, workers=2) as first:
        batches = iter(first)
        next(batches)
        state = first.state_dict()
        rest = [(x.copy(), y.copy()) for x, y in batches]
    with augload.Loader(shards=spec, **OPTIONS, workers=0) as second:
        second.load_state_dict(state)
        again = [(x.copy(), y.copy()) for x, y in second]
    assert len(again) == len(rest) > 0
    assert all(x.tobytes() == a.tobytes() and np.array_equal(y, b) for (x, y), (a, b) in zip(again, rest))
