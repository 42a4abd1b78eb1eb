#!/usr/bin/env bash
# The test command (README's quick start, and CI's): installs missing system libraries, builds
# everything (the CLI and the worker probe the tests run), runs the Swift suite, then installs the
# Python package into a virtualenv (Scripts/test-python.sh) and runs the Python suite against it.
# Arguments go to `swift test`; AUGLOAD_SKIP_PYTHON=1 runs the Swift suite alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-system-deps.sh
swift build --build-tests
swift test --skip-build "$@"
if [ "${AUGLOAD_SKIP_PYTHON:-0}" != 1 ]; then
    bash Scripts/test-python.sh
fi
