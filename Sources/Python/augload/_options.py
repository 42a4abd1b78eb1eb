"""Validation of the Loader's keyword arguments, before any process starts.

Every check raises ``TypeError`` (wrong kind of value) or ``ValueError`` (right kind, wrong
value) naming the argument and what it allows, so a usage mistake never starts the engine.
The result is the ``hello`` frame's ``options``/``dataset``/``workers``/``queue``/``epochs``
(PROTOCOL.md) plus a fingerprint of everything that decides the bytes of a batch.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
import re
import subprocess
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Optional, Sequence

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _load_schema() -> dict[str, dict[str, Any]]:
    """The engine's description of its options (``augload options --json``, Swift's
    ``OptionSchema``): written into the package when the wheel is built, asked of the engine in a
    source checkout. Each option's range, choices and default come from here, not from this file."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_schema.json")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        from ._engine import find_engine

        text = subprocess.run([find_engine(), "options", "--json"], capture_output=True, text=True, check=True).stdout
    return {option["name"]: option for option in json.loads(text)}


SCHEMA = _load_schema()

_CHOICES = {name: tuple(o["choices"]) for name, o in SCHEMA.items() if o["kind"] == "choice"}
_CHOICES["normalize"] = ("none", "imagenet")  # a preset of mean and std, this package's and the CLI's


def default(name: str) -> Any:
    """The engine's default for option ``name`` (None: off, or decided by the engine)."""
    return SCHEMA[name]["default"]


@dataclass(frozen=True)
class Settings:
    """What a validated Loader sends in its ``hello`` frame."""

    options: dict[str, Any]
    dataset: dict[str, Any]
    workers: Optional[int]  # None: the engine's default, one per online core
    queue: int
    epochs: Optional[int]

    @property
    def fingerprint(self) -> str:
        """A hash of the options and dataset: equal fingerprints give equal batches."""
        options = {k: v for k, v in self.options.items() if k != "cache"}  # a cache changes no byte
        text = json.dumps({"options": options, "dataset": self.dataset}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _int(name: str, value: Any, low: Optional[int] = None, high: Optional[int] = None) -> int:
    """An int in ``low...high``: by default the schema's range of option ``name``."""
    if low is None:
        low, high = SCHEMA[name]["min"], SCHEMA[name]["max"]
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"in {low}...{high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {allowed}, got {value}")
    return value


def _bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def _choice(name: str, value: Any) -> str:
    allowed = _CHOICES[name]
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {type(value).__name__} {value!r}")
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value


def _float(name: str, value: Any) -> float:
    """A number in the schema's range of option ``name``."""
    low, high = SCHEMA[name]["min"], SCHEMA[name]["max"]
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not (low <= value <= high):
        raise ValueError(f"{name} must be in {low}...{high}, got {value}")
    return value


def _triple(name: str, value: Any, nonzero: bool) -> list[float]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) and not hasattr(value, "tolist"):
        raise TypeError(f"{name} must be 3 numbers (one per channel), got {type(value).__name__} {value!r}")
    items = list(value.tolist() if hasattr(value, "tolist") else value)
    if len(items) != 3 or any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in items):
        raise ValueError(f"{name} must be 3 numbers (one per channel), got {value!r}")
    floats = [float(v) for v in items]
    if any(not math.isfinite(v) for v in floats) or (nonzero and any(v == 0 for v in floats)):
        raise ValueError(f"{name} must be 3 finite{' non-zero' if nonzero else ''} numbers, got {value!r}")
    return floats


def _dtype(value: Any) -> str:
    if isinstance(value, str):
        return _choice("dtype", value)
    name = getattr(value, "__name__", None) or getattr(value, "name", None)  # np.float32 or np.dtype
    if name in _CHOICES["dtype"]:
        return str(name)
    raise TypeError(f"dtype must be one of 'uint8', 'float32', got {value!r}")


def _cache(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"ram(:[0-9]+[KMGT]?B?)?", value, re.IGNORECASE):
        return value
    if isinstance(value, (str, os.PathLike)):
        text = os.fspath(value)
        if isinstance(text, str) and text and not re.match(r"ram(:|$)", text):
            # A folder, or DIR:SIZE: made absolute (the engine runs elsewhere), a trailing "/"
            # kept (it marks a folder whose name ends in ":<size>").
            return _absolute(text) + ("/" if text.endswith("/") and text != "/" else "")
    raise ValueError(
        f"cache must be 'ram', 'ram:SIZE' (like 'ram:8G'), a folder or 'DIR:SIZE', got {value!r}"
    )


def _environment_shard(environ: Mapping[str, str]) -> tuple[int, int]:
    """``RANK``/``WORLD_SIZE`` (torchrun), else ``SLURM_PROCID``/``SLURM_NTASKS``, else (0, 1)."""
    for rank_key, size_key in (("RANK", "WORLD_SIZE"), ("SLURM_PROCID", "SLURM_NTASKS")):
        if rank_key in environ and size_key in environ:
            try:
                rank, size = int(environ[rank_key]), int(environ[size_key])
            except ValueError:
                raise ValueError(
                    f"{rank_key}={environ[rank_key]!r} and {size_key}={environ[size_key]!r} must be integers"
                ) from None
            if size >= 1 and 0 <= rank < size:
                return rank, size
            raise ValueError(f"{rank_key}={rank} must be in 0..<{size_key}={size}")
    return 0, 1


_PATH_TYPES = (str, bytes, os.PathLike)


def wire_path(path: Any) -> str:
    """A path as the engine's protocol carries it: the path's bytes (``os.fsencode``, so ``str``
    names from ``os.listdir``/``os.fsdecode`` with surrogate escapes and ``bytes`` both work)
    decoded as UTF-8, each byte that is not part of valid UTF-8 written as NUL and two hex digits
    (lossless: no Linux path holds a NUL). ``PROTOCOL.md`` has the rule."""
    raw = os.fsencode(path)
    out: list[str] = []
    i = 0
    while i < len(raw):
        try:
            # The longest valid run from i: decode strictly, shrinking at the first bad byte.
            out.append(raw[i:].decode("utf-8"))
            break
        except UnicodeDecodeError as bad:
            out.append(raw[i : i + bad.start].decode("utf-8"))
            out.append(f"\x00{raw[i + bad.start]:02x}")
            i += bad.start + 1
    return "".join(out)


def path_from_wire(text: str) -> str:
    """The inverse of :func:`wire_path`, as ``os.fsdecode`` gives names (``os.path.exists`` works)."""
    if "\x00" not in text:
        return text
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\x00" and i + 2 < len(text):
            out.append(int(text[i + 1 : i + 3], 16))
            i += 3
        else:
            out += text[i].encode("utf-8")
            i += 1
    return os.fsdecode(bytes(out))


def _absolute(path: Any) -> str:
    """An absolute local path on the wire (the engine runs in another folder)."""
    return wire_path(os.path.abspath(os.fsencode(path)))


def _is_url(spec: Any) -> bool:
    return isinstance(spec, (str, bytes)) and os.fsencode(spec).startswith((b"http://", b"https://"))


def _shards(shards: Any, label: Any) -> dict[str, Any]:
    if isinstance(shards, _PATH_TYPES):
        specs = [shards]
    elif isinstance(shards, Iterable):
        specs = list(shards)
    else:
        raise TypeError(f"shards must be a path or URL, or a list of them, got {type(shards).__name__} {shards!r}")
    if not specs:
        raise ValueError("shards must name at least one shard, folder, list or URL")
    for s in specs:
        if not isinstance(s, _PATH_TYPES):
            raise TypeError(f"shards must be paths or URLs (str, bytes or os.PathLike), got {type(s).__name__} {s!r}")
    if not isinstance(label, str):
        raise TypeError(f"label must be a str, a member extension like 'cls' or 'txt', got {type(label).__name__} {label!r}")
    if not label or "/" in label:
        raise ValueError(f"label must be a member extension like 'cls' or 'txt', got {label!r}")
    # URLs as given (the escape is the identity on UTF-8); local paths made absolute, braces and all.
    return {"shards": [wire_path(s) if _is_url(s) else _absolute(s) for s in specs], "label": label}


def _dataset(folder: Any, files: Any, labels: Any, classes: Any, shards: Any = None, label: Any = None) -> dict[str, Any]:
    given = [name for name, value in (("a folder", folder), ("files=", files), ("shards=", shards)) if value is not None]
    if len(given) > 1:
        raise ValueError(f"give one of a folder, files= or shards=, not {' and '.join(given)}")
    if not given:
        raise TypeError("Loader needs a folder (one sub-folder per class), files= and labels=, or shards=")
    if label is not None and shards is None:
        raise ValueError("label= goes with shards= (the extension of each sample's label member)")
    if shards is not None:
        if labels is not None or classes is not None:
            raise ValueError("labels= and classes= go with files=; shards carry their labels")
        return _shards(shards, "cls" if label is None else label)
    if folder is not None:
        if labels is not None or classes is not None:
            raise ValueError("labels= and classes= go with files=; a folder's classes are its sub-folders")
        if not isinstance(folder, _PATH_TYPES):
            raise TypeError(f"folder must be a path (str, bytes or os.PathLike), got {type(folder).__name__}")
        if not os.path.isdir(os.fsencode(folder)):
            raise FileNotFoundError(f"folder {os.fsdecode(folder)!r} is not a directory")
        return {"folder": _absolute(folder)}
    if isinstance(files, _PATH_TYPES):
        raise TypeError("files must be a list of paths, not a single path")
    paths = list(files)
    if not paths:
        raise ValueError("files must hold at least one path")
    for p in paths:
        if not isinstance(p, _PATH_TYPES):
            raise TypeError(f"files must hold paths (str, bytes or os.PathLike), got {type(p).__name__} {p!r}")
    paths = [_absolute(p) for p in paths]
    if labels is None:
        raise TypeError("files= needs labels= (one int or class name per file)")
    if isinstance(labels, (str, bytes)):
        raise TypeError("labels must be a list (one int or class name per file), not a string")
    values = list(labels.tolist() if hasattr(labels, "tolist") else labels)
    if len(values) != len(paths):
        raise ValueError(f"labels must have one entry per file: {len(paths)} files, {len(values)} labels")
    names = None
    if classes is not None:
        if isinstance(classes, (str, bytes)):
            raise TypeError("classes must be a list of names, not a string")
        names = [str(c) for c in classes]
        if len(set(names)) != len(names) or not names:
            raise ValueError(f"classes must be distinct names, got {names!r}")
    if all(isinstance(v, str) for v in values):
        if names is None:
            names = sorted(set(values))
        index = {n: i for i, n in enumerate(names)}
        missing = sorted(set(values) - index.keys())
        if missing:
            raise ValueError(f"labels {missing!r} are not in classes {names!r}")
        ints = [index[v] for v in values]
    elif all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in values):
        ints = [int(v) for v in values]
        high = len(names) if names is not None else 2**31 - 1
        bad = [v for v in ints if not 0 <= v < high]
        if bad:
            raise ValueError(f"labels must be in 0..<{high}, got {bad[0]}")
    else:
        raise TypeError("labels must be all ints or all strings (class names)")
    dataset: dict[str, Any] = {"files": paths, "labels": ints}
    if names is not None:
        dataset["classes"] = names
    return dataset


def _mix(**values: Any) -> dict[str, float]:
    """MixUp/CutMix and label smoothing, as numbers: their ranges (and that they need float32
    output) are the engine's to check, in ``ImageBatchOptions.validate``, whose message names the
    option. Only those that differ from the defaults are sent."""
    options: dict[str, float] = {}
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
        if float(value) != default(name):
            options[name] = float(value)
    return options


def _recipe(auto_augment: Any, color_jitter: Any, grayscale: Any, blur: Any, erasing: Any, erasing_value: Any) -> dict[str, Any]:
    """The recipe steps' options, in the engine's string forms. Their forms and ranges are the
    engine's (``RecipeOptions`` in Swift, one parser for the CLI and this package): a bad value comes
    back from the engine as a ValueError naming the option; only kinds are checked here."""
    options: dict[str, Any] = {}
    if auto_augment is not None:
        if not isinstance(auto_augment, str):
            raise TypeError(f"auto_augment must be a str such as 'trivialaugment', got {type(auto_augment).__name__}")
        options["auto_augment"] = auto_augment
    for name, value in (("color_jitter", color_jitter), ("blur", blur)):
        if value is None:
            continue
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = [value]
        if isinstance(value, (list, tuple)) and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in value):
            value = ",".join(repr(float(v)) if name == "color_jitter" or i else str(int(v)) for i, v in enumerate(value))
        if not isinstance(value, str):
            raise TypeError(f"{name} must be a number, a sequence of numbers or a str, got {type(value).__name__}")
        options[name] = value
    options["grayscale"] = _float("grayscale", grayscale)
    options["erasing"] = _float("erasing", erasing)
    allowed = SCHEMA["erasing_value"]["choices"]  # ["0", "random"]: 0 may be given as an int
    if isinstance(erasing_value, bool) or not isinstance(erasing_value, (int, str)) or str(erasing_value) not in allowed:
        raise ValueError(f"erasing_value must be 0 or 'random', got {erasing_value!r}")
    options["erasing_value"] = str(erasing_value)
    return options


def validate(
    folder: Any = None,
    *,
    files: Any = None,
    labels: Any = None,
    classes: Any = None,
    shards: Any = None,
    label: Any = None,
    batch_size: Any = 64,
    workers: Any = None,
    size: Any = 224,
    crop: Any = "random",
    flip: Any = "h",
    noise: Any = 0.0,
    layout: Any = "nhwc",
    dtype: Any = "float32",
    normalize: Any = "none",
    mean: Any = None,
    std: Any = None,
    seed: Any = 0,
    shuffle: Any = True,
    on_error: Any = "fail",
    queue: Any = 10,
    epochs: Any = None,
    strict: Any = False,
    drop_last: Any = False,
    scaled_decode: Any = True,
    rank: Any = None,
    world_size: Any = None,
    remainder: Any = None,
    max_pixels: Any = None,
    cache: Any = None,
    cache_max_side: Any = None,
    auto_augment: Any = None,
    color_jitter: Any = None,
    grayscale: Any = 0.0,
    blur: Any = None,
    erasing: Any = 0.0,
    erasing_value: Any = 0,
    mixup: Any = 0.0,
    cutmix: Any = 0.0,
    mix_prob: Any = 1.0,
    label_smoothing: Any = 0.0,
    environ: Optional[Mapping[str, str]] = None,
) -> Settings:
    """Checks every argument of :class:`augload.Loader`; see its docstring for their meaning.

    Raises:
        TypeError: an argument of the wrong kind (the message names it).
        ValueError: an argument out of range or not one of the allowed values (named, with them).
        FileNotFoundError: ``folder`` is not a directory.
    """
    options: dict[str, Any] = {
        "batch_size": _int("batch_size", batch_size),
        "size": _int("size", size),
        "crop": _choice("crop", crop),
        "flip": _choice("flip", flip),
        "noise": _float("noise", noise),
        "layout": _choice("layout", layout),
        "dtype": _dtype(dtype),
        "seed": _int("seed", seed, 0, 2**64 - 1),
        "shuffle": _bool("shuffle", shuffle),
        "on_error": _choice("on_error", on_error),
        "strict": _bool("strict", strict),
        "drop_last": _bool("drop_last", drop_last),
        "scaled_decode": _bool("scaled_decode", scaled_decode),
    }
    if options["size"] == 0 and options["batch_size"] != 1:
        raise ValueError(f"size=0 keeps each image's own size, so it needs batch_size=1, got {options['batch_size']}")
    _choice("normalize", normalize)
    if normalize == "imagenet" and (mean is not None or std is not None):
        raise ValueError("give normalize='imagenet' or mean=/std=, not both")
    mean_v = list(IMAGENET_MEAN) if normalize == "imagenet" else [0.0, 0.0, 0.0]
    std_v = list(IMAGENET_STD) if normalize == "imagenet" else [1.0, 1.0, 1.0]
    if mean is not None:
        mean_v = _triple("mean", mean, nonzero=False)
    if std is not None:
        std_v = _triple("std", std, nonzero=True)
    if (mean_v != [0.0, 0.0, 0.0] or std_v != [1.0, 1.0, 1.0]) and options["dtype"] != "float32":
        raise ValueError("normalize, mean and std apply to dtype='float32' output only")
    options["mean"], options["std"] = mean_v, std_v
    if max_pixels is not None:
        options["max_pixels"] = _int("max_pixels", max_pixels)
    if cache is not None:
        options["cache"] = _cache(cache)
    if cache_max_side is not None:
        options["cache_max_side"] = _int("cache_max_side", cache_max_side)
    options.update(_recipe(auto_augment, color_jitter, grayscale, blur, erasing, erasing_value))
    options.update(_mix(mixup=mixup, cutmix=cutmix, mix_prob=mix_prob, label_smoothing=label_smoothing))

    if rank is None or world_size is None:
        env_rank, env_size = _environment_shard(os.environ if environ is None else environ)
    size_v = env_size if world_size is None else _int("world_size", world_size)
    rank_v = (env_rank if world_size is None else 0) if rank is None else _int("rank", rank)
    if rank_v >= size_v:
        raise ValueError(f"rank must be in 0..<world_size={size_v}, got {rank_v}")
    options["rank"], options["world_size"] = rank_v, size_v
    if remainder is None:
        remainder = "pad" if size_v > 1 else "uneven"
    options["remainder"] = _choice("remainder", remainder)

    workers_v = None if workers is None else _int("workers", workers)
    # 2 at least (the schema's, as Swift's Loader.queueRange says why): a `for` loop still names
    # the previous batch while it asks for the next one.
    queue_v = _int("queue", queue)
    epochs_v = None if epochs is None else _int("epochs", epochs)
    return Settings(options, _dataset(folder, files, labels, classes, shards, label), workers_v, queue_v, epochs_v)
