#!/usr/bin/env bash
# Installs the Python package (and the engine it builds) into a virtualenv and runs its tests.
#
#   bash Scripts/test-python.sh [pytest args]
#
# The venv (.venv-test, git-ignored; AUGLOAD_TEST_VENV to move it) is reused between runs. `pip
# install .` runs `swift build -c release` under /tmp/swift-build.lock (shared build machines
# take turns). pytest runs from a scratch directory, so the installed package is what is tested,
# and Keras runs on the torch backend (no TensorFlow or JAX needed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AUGLOAD_TEST_VENV:-$root/.venv-test}"
python="${PYTHON:-python3}"

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(seconds)
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet numpy pytest torch keras nbclient ipykernel nbformat
echo "test-python: dependencies ready in $(elapsed "$t0") s" >&2

t1=$(seconds)
exec 9>>/tmp/swift-build.lock
flock 9  # builds on this machine take turns; the install below runs swift build
echo "test-python: waited $(elapsed "$t1") s for /tmp/swift-build.lock" >&2
t2=$(seconds)
"$venv/bin/python" -m pip install --quiet "$root" 9>&-
echo "test-python: pip install . (swift build -c release included) took $(elapsed "$t2") s" >&2
exec 9>&-

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
unset AUGLOAD_ENGINE PYTHONPATH
export KERAS_BACKEND=torch
"$venv/bin/python" -m pytest -p no:cacheprovider "$root/Tests/Python" "$@"
