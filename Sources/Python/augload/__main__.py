"""The ``augload`` command (a console script) and ``python -m augload``: the packaged engine.

Both replace this Python process with the engine binary that came with the package (or
``$AUGLOAD_ENGINE``), so ``augload check``, ``bench``, ``preview``, ``export`` and ``run`` behave
exactly as the native command line tool, exit status included.
"""

from __future__ import annotations

import os
import sys

from ._engine import find_engine


def main() -> None:
    """Runs the engine with this process's arguments; does not return."""
    try:
        engine = find_engine()
    except FileNotFoundError as error:
        print(f"augload: {error}", file=sys.stderr)
        sys.exit(1)
    sys.stdout.flush()
    os.execv(engine, ["augload", *sys.argv[1:]])


if __name__ == "__main__":
    main()
