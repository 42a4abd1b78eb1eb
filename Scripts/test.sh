#!/usr/bin/env bash
# The test command (README's quick start, and CI's): installs missing system libraries, builds
# everything (the CLI and the worker probe the tests run), then runs the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-system-deps.sh
swift build --build-tests
swift test --skip-build "$@"
