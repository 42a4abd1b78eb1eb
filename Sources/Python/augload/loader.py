"""``augload.Loader``: batches from the augload engine, read in place from shared memory.

The engine (the ``augload`` binary, a child process) decodes and augments in its own worker
processes and writes each finished batch into a slot of a shared-memory ring; this side only
receives small JSON frames, wraps the slot in numpy arrays and says when they are dropped.
No Python code runs in the workers and nothing is pickled, so no ``__main__`` guard is needed.
"""

from __future__ import annotations

import atexit
import gc
import json
import os
import signal
import subprocess
import threading
import warnings
import weakref
from typing import Any, Iterator, Optional, Sequence, Union

import numpy as np

from ._engine import Engine, find_engine
from ._errors import AugloadError, DecodeError, EngineError, SlotsHeldError
from ._options import Settings, path_from_wire, validate
from ._ring import Releaser, Ring, take_lost_interrupt
from ._version import PROTOCOL, __version__
Batch = tuple[np.ndarray, np.ndarray]
_live: "weakref.WeakSet[Loader]" = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for loader in list(_live):
        loader.close()


# Ctrl-C in a loop's body raises KeyboardInterrupt outside the loader; the pass's generator only
# sees GeneratorExit, as it would after a `break`. Counting SIGINTs tells the two apart, so an
# interrupted pass shuts the engine down (a program that catches the interrupt, a notebook).
_interrupts = 0


def _count_interrupt(signum: int, frame: Any) -> None:
    global _interrupts
    _interrupts += 1
    signal.default_int_handler(signum, frame)


def _watch_interrupts() -> None:
    if threading.current_thread() is threading.main_thread():
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, _count_interrupt)


class Loader:
    """Augmented image batches from a folder of class sub-folders, or from a list of files.

    One ``for`` pass is one epoch of ``len(loader)`` batches; each batch is ``(images,
    labels)``: numpy arrays that read the engine's shared memory in place (no copy). A batch's
    slot goes back to the engine when the last view of it (slices and ``torch.from_numpy``
    tensors included) is gone, so keep a copy (``np.array(images)``) of anything you keep.

        with augload.Loader("data/train", batch_size=64, crop="random", flip="h",
                            layout="nchw", seed=0) as loader:
            print(len(loader), loader.classes)
            for epoch in range(3):
                for images, labels in loader:   # (64, 3, 224, 224) float32, (64,) int32
                    train_step(images, labels)

    Args:
        folder: a directory with one sub-folder per class (classes sorted by name).
        files: instead of a folder, image paths; ``labels`` then gives one int (class index) or
            class name per file; ``classes`` optionally names the classes (default: the sorted
            names for string labels, ``"0"``... for ints).
        shards: instead of a folder, WebDataset tar shards: a brace pattern
            (``"data/train-{000000..000127}.tar"``), a folder of ``.tar`` files, a list file, an
            ``http(s)://`` URL, or a list of these. A sample is the members sharing a key; its
            image is the ``.jpg``/``.jpeg``/``.png`` member and its label the ``label`` member
            (``"cls"``, an integer, by default; another extension: a class name). The index is
            built once from the tar headers and kept (``$AUGLOAD_INDEX_DIR``, default
            ``~/.cache/augload/index``); the same images in shards give the folder's batches.
            Paths (here and for ``folder``/``files``) may be ``bytes`` or names that are not UTF-8.
        batch_size: images per batch (64). size: output side in pixels (224; 0 keeps each
            image's size and needs batch_size=1).
        workers: engine worker processes (default: the number of cores; at most one per core
            runs; 0 works in the engine's own thread).
        crop: ``"none" | "center" | "random" | "resized"`` (random). flip: ``"none" | "h" |
            "v" | "hv"`` (h). noise: gaussian sigma in [0, 1] intensity units (0 = off).
        layout: ``"nhwc" | "nchw"`` (nhwc). dtype: ``"uint8" | "float32"`` (float32 in [0, 1]).
        normalize: ``"none" | "imagenet"``, or per-channel ``mean``/``std`` (float32 only).
        seed: every random choice is a function of (seed, epoch, sample). shuffle: per epoch.
        on_error: ``"fail"`` raises :class:`DecodeError` for an undecodable file; ``"skip"``
            replaces it (the batch keeps its shape) and lists it in :attr:`skipped`.
        strict: libjpeg's recovered-from warnings are errors. max_pixels: decode limit.
        cache: decoded cache, so later epochs skip decoding (same bytes): ``"ram"``,
            ``"ram:SIZE"`` (like ``"ram:8G"``), a folder that persists across runs, or
            ``"DIR:SIZE"`` (a folder whose entry files stay within SIZE).
        cache_max_side: bound each decoded image's longer side to this many pixels first
            (FFCV's bounded resolution, so a cache of large photos fits). It defines the output
            with or without ``cache``: a larger image is resized so that side is
            ``cache_max_side``, then cropped and resized as usual.
        auto_augment: torchvision's per-sample policy, ``"trivialaugment"``,
            ``"randaugment[:NUM_OPS[:MAGNITUDE]]"`` (2, 9) or ``"autoaugment"`` (ImageNet).
        color_jitter: ColorJitter strengths: ``b`` (brightness, contrast and saturation),
            ``(b, c, s)`` or ``(b, c, s, hue)``. grayscale: RandomGrayscale's probability.
        blur: GaussianBlur: an odd kernel side ``k``, or ``(k, sigma_min, sigma_max)``.
        erasing: RandomErasing's probability, applied after normalisation as in torchvision's
            recipes; erasing_value: ``0`` or ``"random"`` (standard normal values, float32 only).
            These steps are defined as ``torchvision.transforms.v2``; ``augload export --explain``
            records each sample's calls.
        mixup, cutmix: the alpha of ``v2.MixUp`` / ``v2.CutMix`` (0 = off; both on: one of the
            two per batch, 50/50, as torchvision's reference scripts); mix_prob: the chance a batch
            is mixed at all; label_smoothing: targets ``1 - eps + eps/classes`` on the class and
            ``eps/classes`` elsewhere. Any of them makes the labels float32 targets of shape
            ``(n, classes)`` (float32 output only); :meth:`explain_mix` gives a batch's draw.
        queue: slots in the ring (10, at least 2): batches prefetched plus batches you still
            hold, counting the one a ``for`` loop's variable names while it fetches the next.
        epochs: epochs the engine produces (None = unbounded; iteration after the last is empty).
        drop_last: drop an epoch's last batch when it is short.
        scaled_decode: let a JPEG decode at a DCT scale (1/2, 1/4, 1/8) when its crop is shrunk 2x
            or more, as Pillow's ``draft`` does (default True; False decodes every JPEG in full).
        rank, world_size: this process's shard (default ``RANK``/``WORLD_SIZE``, else
            ``SLURM_PROCID``/``SLURM_NTASKS``, else 0 of 1). remainder: when the dataset does
            not divide among ranks: ``"pad"`` (default for world_size > 1: repeat samples so
            every rank gets as many), ``"drop"`` (drop the excess) or ``"uneven"``.

    Raises:
        TypeError, ValueError: a bad argument, before any process starts.
        FileNotFoundError: no such folder, or no engine binary.
        EngineError: the engine refused the dataset or could not start.
    """

    def __init__(
        self,
        folder: Union[str, "os.PathLike[str]", None] = None,
        *,
        files: Optional[Sequence[Union[str, "os.PathLike[str]"]]] = None,
        labels: Optional[Sequence[Union[int, str]]] = None,
        classes: Optional[Sequence[str]] = None,
        shards: Union[str, bytes, "os.PathLike[str]", Sequence[Union[str, bytes, "os.PathLike[str]"]], None] = None,
        label: Optional[str] = None,
        batch_size: int = 64,
        workers: Optional[int] = None,
        size: int = 224,
        crop: str = "random",
        flip: str = "h",
        noise: float = 0.0,
        layout: str = "nhwc",
        dtype: str = "float32",
        normalize: str = "none",
        mean: Optional[Sequence[float]] = None,
        std: Optional[Sequence[float]] = None,
        seed: int = 0,
        shuffle: bool = True,
        on_error: str = "fail",
        queue: int = 10,
        epochs: Optional[int] = None,
        strict: bool = False,
        drop_last: bool = False,
        scaled_decode: bool = True,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        remainder: Optional[str] = None,
        max_pixels: Optional[int] = None,
        cache: Union[str, "os.PathLike[str]", None] = None,
        cache_max_side: Optional[int] = None,
        auto_augment: Optional[str] = None,
        color_jitter: Union[float, Sequence[float], str, None] = None,
        grayscale: float = 0.0,
        blur: Union[int, Sequence[float], str, None] = None,
        erasing: float = 0.0,
        erasing_value: Union[int, str] = 0,
        mixup: float = 0.0,
        cutmix: float = 0.0,
        mix_prob: float = 1.0,
        label_smoothing: float = 0.0,
    ) -> None:
        self._closed = True  # until the engine runs; close() and __del__ rely on it
        self._failure: Optional[BaseException] = None
        arguments = dict(locals())
        del arguments["self"]
        self._settings: Settings = validate(**arguments)
        path = find_engine()
        self._engine = Engine(path)
        self._closed = False
        _live.add(self)
        self._releaser = Releaser(self._engine)
        self._ring: Optional[Ring] = None
        self._rings_due = 1  # the hello's ring, then one per seek
        self._position = (0, 0)  # (epoch, batch) of the next batch handed out
        self._resume = True  # the next iter() starts at _position even mid-epoch
        self._ended = False
        self._iteration = 0
        self._seen_skips: set[tuple[str, str, str]] = set()
        self.skipped: list[tuple[str, str]] = []
        """Files replaced under ``on_error="skip"``: ``(path, error)``, each listed once."""
        self.warnings: list[tuple[str, str]] = []
        """Files decoded with a warning (corrupt data libjpeg recovered from): ``(path, message)``."""
        self.worker_restarts = 0
        """Worker processes the engine replaced after they died (their batches were redone)."""
        self._bypass_hinted = False
        self.cache_stats: Optional[dict[str, Any]] = None
        """With ``cache``: the decoded cache's counters as of the last batch handed out
        (``hits``, ``misses``, ``bypassed``, ``bytes``, ``entries``, ``not_stored``,
        ``capacity_bytes``, ``bytes_at_start``, ``kind``, ``location``)."""
        s = self._settings
        try:
            self._engine.send(
                {
                    "type": "hello",
                    "protocol": PROTOCOL,
                    "version": __version__,
                    "options": s.options,
                    "dataset": s.dataset,
                    "workers": s.workers,
                    "queue": s.queue,
                    "epochs": s.epochs,
                    "start": {"epoch": 0, "batch": 0},
                }
            )
            message, _ = self._engine.receive()
            if message.get("type") == "error":
                raise self._error(message)
            if message.get("type") != "ready":
                raise EngineError(f"the engine answered hello with {message!r}", "protocol")
            if message.get("protocol") != PROTOCOL:
                raise self._engine.mismatch(message.get("version"), message.get("protocol"), PROTOCOL)
        except BaseException:
            self.close()
            raise
        self.classes: list[str] = [path_from_wire(str(c)) for c in message["classes"]]
        """Class names; label ``i`` is ``classes[i]``."""
        for note in message.get("notes") or ():
            warnings.warn(f"augload: {note}", stacklevel=2)
        self.samples: int = int(message["samples"])
        """Samples per epoch for this rank."""
        self.batches_per_epoch: int = int(message["batches_per_epoch"])
        """Batches per epoch: ``len(loader)``."""
        self.engine_pid: int = int(message.get("engine_pid", self._engine.pid))
        """The engine process's id."""
        self.engine_version: str = str(message.get("version"))
        """The engine's release (the same as ``augload.__version__``)."""
        self.engine_kernels: str = str(message.get("kernels"))
        """The pixel kernels the engine runs on this machine: ``"avx2"`` or ``"portable"``."""
        self.engine_workers: int = int(message.get("workers", 0))
        """Worker processes the engine runs."""

    # MARK: iteration

    def __len__(self) -> int:
        return self.batches_per_epoch

    def __iter__(self) -> Iterator[Batch]:
        """One epoch: the batches from the current position to the epoch's end.

        A pass abandoned mid-epoch is not resumed: the next ``iter()`` starts the next epoch
        (after :meth:`load_state_dict`, it starts exactly at the loaded position).
        """
        self._check_open()
        epoch, batch = self._position
        if batch != 0 and not self._resume:
            self._seek(epoch + 1, 0)
        self._resume = False
        self._iteration += 1
        _watch_interrupts()
        return self._epoch(self._iteration, self._position[0])

    def _epoch(self, iteration: int, epoch: int) -> Iterator[Batch]:
        interrupts = _interrupts
        try:
            while self._position[0] == epoch:
                if iteration != self._iteration:
                    raise RuntimeError("a newer iter(loader) replaced this iterator; use one pass at a time")
                box = [self._next_batch()]
                if box[0] is None:
                    return
                interrupts = _interrupts
                # Not `yield batch`: a local would keep the batch's slot while the caller
                # waits for the next one, even after the caller dropped it.
                yield box.pop()  # type: ignore[misc]
        except GeneratorExit:
            if _interrupts != interrupts:
                self._failure = KeyboardInterrupt()
                self.close(timeout=1.0)
            raise

    @property
    def epoch(self) -> int:
        """The epoch of the next batch."""
        return self._position[0]

    @property
    def slots(self) -> int:
        """Slots in the current ring (the ``queue`` asked for)."""
        return self._ring.slots if self._ring is not None else self._settings.queue

    def _next_batch(self) -> Optional[Batch]:
        self._check_open()
        if self._ended:
            return None
        try:
            if take_lost_interrupt():
                raise KeyboardInterrupt
            # Holding every slot, the program would wait forever: only this side can know.
            if self._ring is not None and self._rings_due == 0 and self._releaser.held() >= self._ring.slots:
                gc.collect()  # a reference cycle may be all that holds a batch
                if self._releaser.held() >= self._ring.slots:
                    raise SlotsHeldError(self._ring.slots)
            return self._receive_batch()
        except SlotsHeldError:
            raise  # nothing was received: drop a batch and ask again
        except BaseException as error:  # the stream's state is unknown: stop the engine
            self._failure = error
            self.close(timeout=1.0)
            raise

    def _receive_batch(self) -> Optional[Batch]:
        # An engine that has died may have left batch frames in the socket: refuse them (its
        # error frame, if it sent one, still explains why), so the failure shows at this batch.
        dead = self._engine.process.poll() not in (None, 0)
        while True:
            message, fd = self._engine.receive()
            kind = message.get("type")
            if kind == "ring":
                self._on_ring(message, fd)
                continue
            generation = message.get("generation")
            stale = self._rings_due > 0 or (
                generation is not None and self._ring is not None and generation != self._ring.generation
            )
            if kind == "error" and not (stale and generation is not None):
                raise self._error(message)
            if stale or dead:
                continue
            if kind == "end":
                self._ended = True
                return None
            if kind == "batch":
                return self._wrap(message)

    def _on_ring(self, message: dict[str, Any], fd: Optional[int]) -> None:
        assert fd is not None
        self._rings_due -= 1
        if self._rings_due > 0:  # a ring that a later seek replaced
            os.close(fd)
            return
        ring = Ring(fd, int(message["generation"]), int(message["slots"]), int(message["slot_bytes"]))
        start = message.get("start") or {}
        if (start.get("epoch", 0), start.get("batch", 0)) != self._position:
            raise EngineError(f"the ring starts at {start}, expected {self._position}", "protocol")
        self._ring = ring
        self._releaser.new_generation(ring.generation)

    def _wrap(self, message: dict[str, Any]) -> Batch:
        assert self._ring is not None
        epoch, index = int(message["epoch"]), int(message["index"])
        if (epoch, index) != self._position:
            raise EngineError(
                f"the engine sent batch {index} of epoch {epoch}, expected {self._position[1]} of "
                f"epoch {self._position[0]}",
                "protocol",
            )
        slot = int(message["slot"])
        images, labels, memory = self._ring.view(slot, epoch, index)
        self._releaser.track(self._ring.generation, slot, memory)
        for item in message.get("skipped") or ():
            key = (path_from_wire(str(item.get("path"))), str(item.get("error")), str(item.get("kind", "skipped")))
            if key not in self._seen_skips:
                self._seen_skips.add(key)
                (self.warnings if key[2] == "warning" else self.skipped).append(key[:2])
        self.worker_restarts = int(message.get("worker_restarts", self.worker_restarts))
        if message.get("cache") is not None:
            self.cache_stats = dict(message["cache"])
            self._hint_at_bypass(epoch, index)
        index += 1
        self._position = (epoch + 1, 0) if index >= self.batches_per_epoch else (epoch, index)
        return images, labels

    def _hint_at_bypass(self, epoch: int, index: int) -> None:
        """Warns once, at the end of the first epoch, when most samples bypass the cache."""
        if self._bypass_hinted or index + 1 < self.batches_per_epoch:
            return
        self._bypass_hinted = True
        c = self.cache_stats or {}
        uses = c.get("hits", 0) + c.get("misses", 0) + c.get("bypassed", 0)
        if 2 * c.get("bypassed", 0) > uses > 0:
            warnings.warn(
                f"{c['bypassed']} of {uses} samples bypassed the decoded cache: the plain path decodes them "
                "at a JPEG DCT scale, which stored full-size pixels cannot reproduce; cache_max_side=N "
                "stores bounded images that serve them (and defines the output as 'resize to N first')",
                stacklevel=6,  # the loop that asked for the batch
            )

    def _seek(self, epoch: int, batch: int) -> None:
        self._releaser.new_generation(None)
        self._engine.send({"type": "seek", "epoch": epoch, "batch": batch})
        self._rings_due += 1
        self._position = (epoch, batch)
        self._ended = False

    def _error(self, message: dict[str, Any]) -> Exception:
        code = str(message.get("code"))
        text = str(message.get("message"))
        if code == "badFile" and message.get("path"):
            return DecodeError(path_from_wire(str(message["path"])), text, str(message.get("decode_code") or "unknown"))
        if code == "protocolMismatch" or text.startswith("the client speaks protocol"):  # the latter: engines before 0.2.0
            return self._engine.mismatch(None, None, PROTOCOL, said=text)
        if code in ("usage", "invalidOptions"):
            return ValueError(text)
        return EngineError(text, code)

    def explain(self, epoch: Optional[int] = None, batch: Optional[int] = None) -> list[dict[str, Any]]:
        """What made each sample of a batch: its ``path``, ``label``, ``sample`` index and ``ops``,
        the calls named as ``torchvision.transforms.v2.functional`` functions with their keyword
        arguments (``getattr(F, op["op"])(image, **op["args"])`` replays them), as ``augload
        export --explain`` writes them.

        Args:
            epoch, batch: the batch (default: the one the next ``next()`` gives).

        Raises:
            ValueError: a position past the end of the epoch.
        """
        return self._explain(epoch, batch, [])  # type: ignore[return-value]

    def _explain(self, epoch: Optional[int], batch: Optional[int], extra: list[str]) -> Any:
        """``augload serve --explain`` for a batch (default: the next one), with ``extra`` flags."""
        position = (self._position[0] if epoch is None else epoch, self._position[1] if batch is None else batch)
        s = self._settings
        hello = {"type": "hello", "protocol": PROTOCOL, "version": __version__, "options": s.options, "dataset": s.dataset}
        ran = subprocess.run(
            [self._engine.path, "serve", "--explain", f"{position[0]},{position[1]}", *extra],
            input=json.dumps(hello).encode(), capture_output=True, timeout=600,
        )  # fmt: skip
        if ran.returncode != 0:
            message = ran.stderr.decode(errors="replace").strip().removeprefix("augload: error: ")
            raise (ValueError if ran.returncode == 2 or "out of range" in message else EngineError)(message)
        record = json.loads(ran.stdout)
        for entry in record if isinstance(record, list) else ():
            entry["path"] = path_from_wire(entry["path"])
        return record

    def explain_mix(self, epoch: Optional[int] = None, batch: Optional[int] = None) -> dict[str, Any]:
        """The MixUp/CutMix draw of a batch, as ``augload export --explain`` writes it beside the
        batch (``mix-EEEE-BBBBBB.json``): ``op`` (``"mixup"``, ``"cutmix"`` or None), ``lambda``,
        ``label_lambda`` (CutMix's is corrected to the box's area), ``box`` ``[x1, y1, x2, y2]``,
        ``partner`` (each sample is mixed with the one before it), ``num_classes`` and
        ``label_smoothing``: enough to replay the batch with torchvision's ``v2.MixUp``/``CutMix``.
        """
        return self._explain(epoch, batch, ["--mix"])  # type: ignore[return-value]

    # MARK: checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Where the next batch comes from: ``{"epoch", "batch", "fingerprint"}``.

        Pass it to :meth:`load_state_dict` of a loader with the same options (any worker count
        or queue) to get exactly the batches that would have come next.
        """
        return {"epoch": self._position[0], "batch": self._position[1], "fingerprint": self._settings.fingerprint}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continues from a :meth:`state_dict`: the next ``iter()`` yields the rest of its epoch.

        Raises:
            ValueError: the state was saved with other options or dataset, or is malformed.
        """
        self._check_open()
        try:
            epoch, batch, fingerprint = int(state["epoch"]), int(state["batch"]), state["fingerprint"]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"state must be a Loader.state_dict(), got {state!r}") from None
        if fingerprint != self._settings.fingerprint:
            raise ValueError("state was saved by a loader with other options or another dataset")
        if epoch < 0 or not 0 <= batch < max(1, self.batches_per_epoch):
            raise ValueError(f"state position (epoch {epoch}, batch {batch}) is out of range")
        if (epoch, batch) != self._position:
            self._seek(epoch, batch)
        self._resume = True

    # MARK: lifetime

    def _check_open(self) -> None:
        if self._closed:
            if isinstance(self._failure, KeyboardInterrupt):
                raise AugloadError("the loader was shut down by Ctrl-C (KeyboardInterrupt): make a new one", "closed")
            if self._failure is not None:
                raise self._failure
            raise AugloadError("the loader is closed", "closed")

    def close(self, timeout: float = 2.0) -> None:
        """Stops the engine and its workers. Idempotent; batches already received stay valid."""
        if self._closed:
            return
        self._closed = True
        self._ring = None  # live views keep their mapping
        self._engine.close(timeout)

    def __enter__(self) -> "Loader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        if not hasattr(self, "batches_per_epoch"):
            return "<augload.Loader (not started)>"
        state = "closed" if self._closed else f"engine pid {self._engine.pid}"
        return f"<augload.Loader {len(self)} batches/epoch, next {self._position}, {state}>"
