"""The engine process (``augload serve``) and its framed JSON socket (PROTOCOL.md, Transport).

The engine is the ``augload`` binary started as a child over one end of an ``AF_UNIX``
stream socket pair. A frame is a little-endian ``u32`` byte count and that many bytes of JSON;
the ``ring`` frame brings the slot memfd as ``SCM_RIGHTS`` data. The engine exits when the
socket reaches end of file or this process exits, so nothing outlives the program.
"""

from __future__ import annotations

import array
import json
import os
import signal
import socket
import struct
import subprocess
import threading
from collections import deque
from typing import Any, Optional

from ._errors import EngineError
from ._version import __version__

_MAX_FDS = 4
_HEADER = struct.Struct("<I")


def find_engine() -> str:
    """The engine binary: ``$AUGLOAD_ENGINE`` if set, else the one installed with the package."""
    path = os.environ.get("AUGLOAD_ENGINE")
    source = "AUGLOAD_ENGINE"
    if not path:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_bin", "augload")
        source = "the augload package"
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise FileNotFoundError(
            f"no augload engine at {path} (from {source}): reinstall augload (`pip install augload-….whl`, "
            "or `pip install .` from a clone with Swift 6), or set AUGLOAD_ENGINE to a built `augload` binary"
        )
    return path


def describe_status(status: Optional[int]) -> str:
    """``"was killed by SIGKILL"``, ``"exited with status 1"``, or ``"closed its socket"``."""
    if status is None:
        return "closed its socket"
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = f"signal {-status}"
        return f"was killed by {name}"
    return f"exited with status {status}"


class Engine:
    """One running engine: the child process and the client's end of the socket.

    ``send`` may be called from any thread (a lock keeps frames whole); ``receive`` only from
    the thread that consumes batches.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._sock, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.process = subprocess.Popen(
                [path, "serve", "--fd", str(child.fileno()), "--parent", str(os.getpid())],
                pass_fds=[child.fileno()],
                stdin=subprocess.DEVNULL,
                # A crash ends the engine at once with the runtime's one-line message, rather than
                # holding it (and this loop, waiting on its socket) in Swift's backtracer; its
                # workers get the same. Set SWIFT_BACKTRACE yourself for backtraces.
                env={**os.environ, "SWIFT_BACKTRACE": os.environ.get("SWIFT_BACKTRACE", "enable=no")},
                # Its own process group: a terminal's Ctrl-C reaches Python, which then shuts the
                # engine down, instead of killing the engine under a loop that is still reading.
                start_new_session=True,
            )
        except BaseException:
            self._sock.close()
            raise
        finally:
            child.close()
        self.send_lock = threading.Lock()
        self.closed = False
        self._buffer = bytearray()
        self._fds: deque[int] = deque()

    @property
    def pid(self) -> int:
        """The engine's process id."""
        return self.process.pid

    def send(self, message: dict[str, Any]) -> None:
        """Sends one frame; raises :class:`EngineError` if the engine is gone."""
        frame = self.encode(message)
        with self.send_lock:
            self.send_locked(frame)

    def send_locked(self, frame: bytes) -> None:
        """Sends an encoded frame; the caller holds ``send_lock``."""
        if self.closed:
            raise EngineError("the loader is closed", "closed")
        try:
            self._sock.sendall(frame)
        except OSError:
            raise self.died() from None

    @staticmethod
    def encode(message: dict[str, Any]) -> bytes:
        """A frame's bytes."""
        body = json.dumps(message, separators=(",", ":")).encode()
        return _HEADER.pack(len(body)) + body

    def receive(self) -> tuple[dict[str, Any], Optional[int]]:
        """The next frame, and for a ``ring`` frame its memfd (owned by the caller).

        Blocks until a whole frame has arrived; raises :class:`EngineError` at end of file.
        """
        buffer = self._buffer
        while True:
            if len(buffer) >= 4:
                (length,) = _HEADER.unpack_from(buffer)
                if len(buffer) >= 4 + length:
                    body = bytes(buffer[4 : 4 + length])
                    del buffer[: 4 + length]
                    try:
                        message = json.loads(body)
                    except ValueError:
                        raise EngineError(
                            f"the engine sent a frame that is not JSON: {body[:80]!r}", "protocol"
                        ) from None
                    if not isinstance(message, dict):
                        raise EngineError(f"the engine sent a frame that is not an object: {body[:80]!r}", "protocol")
                    fd = None
                    if message.get("type") == "ring":
                        if not self._fds:
                            raise EngineError("the engine sent a ring frame without its memfd", "protocol")
                        fd = self._fds.popleft()
                    return message, fd
            if self.closed:
                raise EngineError("the loader is closed", "closed")
            try:
                data, ancillary, flags, _ = self._sock.recvmsg(
                    1 << 16, socket.CMSG_SPACE(_MAX_FDS * 4), getattr(socket, "MSG_CMSG_CLOEXEC", 0)
                )
            except ConnectionResetError:
                raise self.died() from None
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    fds = array.array("i")
                    fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
                    self._fds.extend(fds)
            if flags & socket.MSG_CTRUNC:
                raise EngineError("the engine sent more descriptors than a ring frame holds", "protocol")
            if not data:
                raise self.died()
            buffer += data

    def mismatch(self, version: Optional[str], protocol: Optional[int], ours: int, said: str = "") -> EngineError:
        """The error for an engine of another protocol than ``ours``, naming both releases.

        ``version`` and ``protocol`` are the engine's, from its ``ready``; when it refused the
        hello instead (``said`` is its message) the binary is asked its ``--version``.
        """
        if version is None:
            try:
                answer = subprocess.run([self.path, "--version"], capture_output=True, text=True, timeout=10)
                version = answer.stdout.strip() or "of an unknown version"
            except (OSError, subprocess.SubprocessError):
                version = "of an unknown version"
        theirs = f"protocol {protocol}" if protocol is not None else f"another protocol than {ours}"
        return EngineError(
            f"the augload engine at {self.path} is augload {version} and speaks {theirs}; this package is "
            f"augload {__version__} and speaks protocol {ours}. Reinstall augload so the two match, or point "
            "AUGLOAD_ENGINE at an engine of the same release (or unset it to use the packaged one)"
            + (f". The engine said: {said}" if said else ""),
            "protocolMismatch",
        )

    def died(self) -> EngineError:
        """The error for an engine that stopped talking: waits briefly for its exit status."""
        try:
            status: Optional[int] = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            status = None
        return EngineError(f"the augload engine (pid {self.pid}) {describe_status(status)}", "died", status)

    def close(self, timeout: float = 2.0) -> Optional[int]:
        """Asks the engine to exit, closes the socket and reaps the process (SIGKILL after
        ``timeout`` seconds). Idempotent; returns the exit status."""
        if not self.closed:
            locked = self.send_lock.acquire(timeout=1.0)
            try:
                self.closed = True
                try:
                    self._sock.send(self.encode({"type": "close"}), socket.MSG_DONTWAIT)
                except OSError:
                    pass
                self._sock.close()
            finally:
                if locked:
                    self.send_lock.release()
            while self._fds:
                os.close(self._fds.popleft())
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()
