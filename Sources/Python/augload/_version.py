"""augload's release and the client protocol this package speaks.

The release is the one line of ``VERSION`` beside this file: the engine embeds the same file at
compile time and the build reads it for the wheel's name, so the three cannot disagree.
``PROTOCOL`` is the client protocol's version (``Sources/Augload/Serve/PROTOCOL.md``): the engine
refuses a hello of another protocol, and the client refuses a ``ready`` of another.
"""

from __future__ import annotations

import os

with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "VERSION"), encoding="ascii") as _file:
    __version__ = _file.read().strip()

PROTOCOL = 2  # 2: slot format version 3 (label dtype and shape: soft targets)
