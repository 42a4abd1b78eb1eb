#!/usr/bin/env bash
# Installs the Python package (and the engine it builds) into a virtualenv and runs its tests.
#
#   bash Scripts/test-python.sh [pytest args]
#
# The venv (.venv-test, git-ignored; AUGLOAD_TEST_VENV to move it) is reused between runs. `pip
# install .` runs `swift build -c release`: on a machine where builds take turns, wrap the whole
# script as you would test.sh (`flock /tmp/swift-build.lock bash Scripts/test-python.sh`; a lock
# taken in here would deadlock under test.sh run that way). pytest runs from a scratch directory,
# so the installed package is what is tested, and Keras runs on the torch backend (no TensorFlow
# or JAX needed).
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
"$venv/bin/python" -m pip install --quiet "$root"
echo "test-python: pip install . (swift build -c release included) took $(elapsed "$t1") s" >&2

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
unset AUGLOAD_ENGINE PYTHONPATH
export KERAS_BACKEND=torch
"$venv/bin/python" -m pytest -p no:cacheprovider "$root/Tests/Python" "$@"
