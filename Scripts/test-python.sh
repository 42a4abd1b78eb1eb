#!/usr/bin/env bash
# Builds the wheel, installs it into a virtualenv and runs the Python tests against it.
#
#   bash Scripts/test-python.sh [pytest args]
#
# The wheel is what users install (Scripts/build-wheel.sh: the engine with the Swift runtime and
# the image libraries linked in), so the whole suite runs on that engine; Tests/Python/test_wheel.py
# also installs it in a bare root filesystem, under other interpreters, and builds the sdist from
# source. AUGLOAD_WHEEL_READY=1 skips the build and tests what is in dist/. The venv (.venv-test,
# git-ignored; AUGLOAD_TEST_VENV to move it) is reused between runs. The build runs `swift build -c
# release`: on a machine where builds take turns, wrap the whole script as you would test.sh
# (`flock /tmp/swift-build.lock bash Scripts/test-python.sh`). pytest runs from a scratch directory,
# so the installed package is what is tested, and Keras runs on the torch backend (no TensorFlow or
# JAX needed).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${AUGLOAD_TEST_VENV:-$root/.venv-test}"
python="${PYTHON:-python3}"

seconds() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(seconds)" 'BEGIN { printf "%.1f", b - a }'; }

t0=$(seconds)
[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet numpy pytest torch torchvision keras pandas nbclient ipykernel nbformat webdataset pytest-timeout
echo "test-python: dependencies ready in $(elapsed "$t0") s" >&2

t1=$(seconds)
if [ "${AUGLOAD_WHEEL_READY:-0}" != 1 ]; then
    bash "$root/Scripts/build-wheel.sh"
fi
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$root"/dist/augload-*-manylinux_*.whl
echo "test-python: wheel built and installed in $(elapsed "$t1") s" >&2

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
unset AUGLOAD_ENGINE PYTHONPATH
export KERAS_BACKEND=torch
# A test that hangs fails after 15 minutes with every thread's stack, instead of holding CI.
"$venv/bin/python" -m pytest -p no:cacheprovider -rsw --timeout 900 "$root/Tests/Python" "$@"
