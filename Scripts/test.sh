#!/usr/bin/env bash
# The test command (README's quick start, and CI's): installs missing system libraries, builds
# everything (the CLI and the worker probe the tests run), runs the Swift suite, then installs the
# Python package into a virtualenv (Scripts/test-python.sh) and runs the Python suite against it.
# Arguments go to `swift test`; AUGLOAD_SKIP_PYTHON=1 runs the Swift suite alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-system-deps.sh
swift build --build-tests
# The suite takes a few minutes; a hang is stopped after 40 with a message, not left to CI's limit.
status=0
timeout --kill-after=30 2400 swift test --skip-build "$@" || status=$?
if [ "$status" = 124 ]; then echo "test.sh: swift test gave no result within 40 minutes (a hang): stopped" >&2; fi
if [ "$status" != 0 ]; then exit "$status"; fi
if [ "${AUGLOAD_SKIP_PYTHON:-0}" != 1 ]; then
    bash Scripts/test-python.sh
fi
