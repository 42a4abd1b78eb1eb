#!/usr/bin/env bash
# Quick start: installs missing system libraries, builds augload in release mode and runs it on the
# shipped fixture images (2 workers, 2 epochs). Extra arguments go to `augload run`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash Scripts/ensure-system-deps.sh
swift build -c release --product augload
.build/release/augload run Fixtures/images --workers 2 --epochs 2 --batch-size 8 "$@"
