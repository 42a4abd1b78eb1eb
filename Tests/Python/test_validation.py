"""Bad arguments raise TypeError/ValueError naming the argument, before any process starts."""

from __future__ import annotations

import pytest

import augload
from conftest import IMAGES, engines_of_this_process

BAD = [
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.5), TypeError, "batch_size"),
    (dict(batch_size=True), TypeError, "batch_size"),
    (dict(batch_size=(1 << 20) + 1), ValueError, "batch_size"),  # the engine's cap, checked here too
    (dict(workers=-1), ValueError, "workers"),
    (dict(size=-3), ValueError, "size"),
    (dict(size=0), ValueError, "size=0"),
    (dict(crop="middle"), ValueError, "crop must be one of 'none', 'center', 'random', 'resized'"),
    (dict(flip="x"), ValueError, "flip must be one of 'none', 'h', 'v', 'hv'"),
    (dict(noise=-0.1), ValueError, "noise"),
    (dict(noise="lots"), TypeError, "noise"),
    (dict(layout="chw"), ValueError, "layout must be one of 'nhwc', 'nchw'"),
    (dict(dtype="float16"), ValueError, "dtype must be one of 'uint8', 'float32'"),
    (dict(normalize="yes"), ValueError, "normalize must be one of 'none', 'imagenet'"),
    (dict(normalize="imagenet", dtype="uint8"), ValueError, "float32"),
    (dict(mean=[0.5, 0.5]), ValueError, "mean"),
    (dict(std=[1, 0, 1]), ValueError, "std"),
    (dict(seed=-1), ValueError, "seed"),
    (dict(shuffle="yes"), TypeError, "shuffle"),
    (dict(on_error="ignore"), ValueError, "on_error must be one of 'fail', 'skip'"),
    (dict(queue=1), ValueError, "queue must be in 2...4096"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(rank=3, world_size=3), ValueError, "rank"),
    (dict(world_size=0), ValueError, "world_size"),
    (dict(remainder="spread"), ValueError, "remainder must be one of 'pad', 'drop', 'uneven'"),
    (dict(max_pixels=0), ValueError, "max_pixels"),
    (dict(labels=[0]), ValueError, "labels"),
    (dict(cache="ram:lots"), ValueError, "cache must be 'ram', 'ram:SIZE'"),
    (dict(cache_max_side=0), ValueError, "cache_max_side must be in 1...65536"),
    (dict(cache_max_side=256.0), TypeError, "cache_max_side must be an int"),
    (dict(scaled_decode="yes"), TypeError, "scaled_decode must be True or False"),
]


@pytest.mark.parametrize(
    "options,error,words", BAD, ids=[next(iter(o)) + "=" + repr(o[next(iter(o))]) for o, _, _ in BAD]
)
def test_bad_argument_names_itself_and_starts_nothing(options, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)")):
        augload.Loader(IMAGES, **options)
    assert engines_of_this_process() == []


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match="batchsize"):
        augload.Loader(IMAGES, batchsize=3)


def test_missing_folder_is_file_not_found():
    with pytest.raises(FileNotFoundError, match="no-such-folder"):
        augload.Loader("/no-such-folder")
    assert engines_of_this_process() == []


@pytest.mark.parametrize(
    "files,labels,classes,error,words",
    [
        ([], [], None, ValueError, "at least one"),
        (["a.jpg", "b.jpg"], [0], None, ValueError, "one entry per file"),
        (["a.jpg"], None, None, TypeError, "labels="),
        (["a.jpg"], [1.5], None, TypeError, "ints or all strings"),
        (["a.jpg"], ["cat"], ["dog"], ValueError, "not in classes"),
        (["a.jpg"], [2], ["a", "b"], ValueError, "labels must be in 0..<2"),
        ("a.jpg", ["cat"], None, TypeError, "list of paths"),
    ],
)
def test_bad_file_lists_are_refused_before_starting(files, labels, classes, error, words):
    with pytest.raises(error, match=words):
        augload.Loader(files=files, labels=labels, classes=classes)
    assert engines_of_this_process() == []


def test_an_engine_refusal_leaves_no_process(tmp_path):
    (tmp_path / "empty-class").mkdir()
    with pytest.raises((augload.EngineError, ValueError)):
        augload.Loader(tmp_path)
    assert engines_of_this_process() == []


def test_rank_and_world_size_default_from_the_launcher(monkeypatch):
    from augload._options import validate

    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "3")
    options = validate(IMAGES).options
    assert (options["rank"], options["world_size"], options["remainder"]) == (1, 3, "pad")
    monkeypatch.delenv("RANK")
    monkeypatch.delenv("WORLD_SIZE")
    monkeypatch.setenv("SLURM_PROCID", "2")
    monkeypatch.setenv("SLURM_NTASKS", "4")
    assert validate(IMAGES).options["rank"] == 2


def test_cache_values_reach_the_engine_as_it_parses_them(tmp_path, monkeypatch):
    from augload._options import validate

    monkeypatch.chdir(tmp_path)
    cache = lambda value: validate(IMAGES, cache=value).options["cache"]
    assert cache("ram") == "ram" and cache("ram:8G") == "ram:8G"
    assert cache("store") == str(tmp_path / "store")  # made absolute: the engine runs elsewhere
    assert cache("store:50G") == str(tmp_path / "store") + ":50G"  # a bound on the folder
    assert cache("c:1G/") == str(tmp_path / "c:1G") + "/"  # a trailing / keeps ':1G' in the name
    assert cache(tmp_path / "ramdisk") == str(tmp_path / "ramdisk")  # a folder whose name starts with ram
    with pytest.raises(ValueError, match="cache must be"):
        cache("ram:")


def test_every_option_of_the_engine_is_a_keyword_with_its_default():
    """The engine describes its options once (``augload options --json``, written into the wheel):
    every one is a Loader keyword, with the engine's default (or None where the engine decides:
    the worker count, the launcher's rank, a default that depends on another keyword)."""
    import inspect
    import json
    import subprocess

    from augload._engine import find_engine
    from augload._options import SCHEMA

    described = json.loads(subprocess.run([find_engine(), "options", "--json"], capture_output=True, check=True).stdout)
    assert {o["name"]: o for o in described} == SCHEMA, "the package's _schema.json is the engine's description"
    parameters = inspect.signature(augload.Loader.__init__).parameters
    decided_by_the_engine = {"workers", "epochs", "rank", "world_size", "remainder", "max_pixels", "mean", "std"}
    for name, option in SCHEMA.items():
        assert name in parameters, f"Loader has no keyword {name}"
        default = parameters[name].default
        if name in decided_by_the_engine:
            assert default is None, f"{name}: {default!r}"
        elif name == "erasing_value":
            assert str(default) == option["default"]
        else:
            assert default == option["default"], f"{name}: Loader says {default!r}, the engine {option['default']!r}"


@pytest.mark.parametrize("name", ["batch_size", "size", "noise", "queue", "workers", "grayscale", "erasing", "cache_max_side"])
def test_ranges_are_the_engines(name):
    """Python refuses exactly outside the engine's range (one past either end), inside it accepts."""
    from augload._options import SCHEMA, validate

    option = SCHEMA[name]
    low, high = option["min"], option["max"]
    step = 1 if option["kind"] == "int" else 0.001
    for bad in (low - step, high + step):
        with pytest.raises(ValueError, match=f"{name} must be in {low}...{high}"):
            validate(IMAGES, **{name: bad})
    if name != "size":  # size=0 needs batch_size=1
        validate(IMAGES, **{name: low})
    validate(IMAGES, **{name: high} if name != "size" else {name: high, "max_pixels": high * high})
