"""The exceptions augload raises (besides ``TypeError``/``ValueError`` for bad arguments)."""

from __future__ import annotations

from typing import Optional


class AugloadError(RuntimeError):
    """Base of augload's run-time errors; ``code`` is the engine's error code (PROTOCOL.md)."""

    def __init__(self, message: str, code: str = "system") -> None:
        super().__init__(message)
        self.code = code


class DecodeError(AugloadError):
    """A file could not be decoded and ``on_error`` is ``"fail"``.

    Attributes:
        path: the file.
        reason: the engine's sentence (names the file and what is wrong).
        code: the decoder's category: ``empty``, ``format``, ``truncated``, ``corrupt``,
            ``tooLarge``, ``unsupported``, ``warning``, ``io``, ...
    """

    def __init__(self, path: str, reason: str, code: str) -> None:
        super().__init__(reason if path in reason else f"{path}: {reason}", code)
        self.path = path
        self.reason = reason


class EngineError(AugloadError):
    """The engine process failed, died or broke the protocol.

    Attributes:
        code: the engine's error code (``workerCrashed``, ``dataset``, ``system``, ``protocol``,
            ...), or ``"died"`` when the process ended without saying why.
        exit_status: the engine's exit status when it has ended (negative: killed by that
            signal), else None.
    """

    def __init__(self, message: str, code: str = "died", exit_status: Optional[int] = None) -> None:
        super().__init__(message, code)
        self.exit_status = exit_status


class SlotsHeldError(AugloadError):
    """Every slot of the ring is held by a batch the program still references.

    The engine can only write a batch into a free slot, so the next batch would never come.
    """

    def __init__(self, slots: int) -> None:
        super().__init__(
            f"all {slots} slots are held by batches you kept: copy what you keep (np.array(x)) "
            f"or raise queue= (now {slots})",
            "held",
        )
        self.slots = slots
