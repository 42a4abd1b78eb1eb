#!/usr/bin/env bash
# bench_peers.sh: augload (the `augload bench` CLI and the Python client `augload.Loader`) beside
# the standard Python loaders (Pool + Pillow, PyTorch DataLoader + torchvision v1/v2, Keras 3
# model.fit on a PyDataset) and the libjpeg-turbo decode ceiling, on the same files, in one run on
# this machine, printed as ONE markdown table (plus the client's per-batch cost, its touching loop
# against `augload bench`, and its time to the first batch).
#
# Run from the repository root:
#   Scripts/bench_peers.sh                     # set up what is missing, build release, measure
#   Scripts/bench_peers.sh --no-build --n 500  # use the existing .build/release/augload, 500 images
#   Scripts/bench_peers.sh --help
#
# Everything it makes goes to peers-data/ (git-ignored): venv/, ds/ (the synthetic ImageFolder),
# build/ (the C ceiling), results/DATE/ (raw JSON, logs, the engine binary measured and table.md).
# The Python client runs in the same venv: `pip install .` of this checkout (its Python sources as
# they are in the work tree, and the engine binary measured here), or with --client-from tree
# straight from Sources/Python (PYTHONPATH) with AUGLOAD_ENGINE; Scripts/bench_python_client.py
# measures it.
# The peers' scripts are read from ../shared/peers beside the repository (override: PEERS_DIR).
#
# Both sides run the same pipeline on the same first N files (ImageFolder order: sorted classes,
# sorted files): decode -> resize shorter side to 256 (bilinear, antialiased) -> random crop 224
# -> horizontal flip p=0.5 -> float32 CHW in [0,1] -> + N(0, 0.05^2) -> batches of 64.
set -euo pipefail

usage() {
    cat <<'EOF'
Usage: Scripts/bench_peers.sh [options]

  --n N              images measured per run, the first N of the dataset (default 1000)
  --dataset-size M   JPEGs to generate when the dataset is missing or smaller (default 2000, at least N)
  --workers LIST     augload bench worker counts (default 1,2,7)
  --client-workers LIST
                     Python client (augload.Loader) worker counts (default 2,7)
  --peers LIST       peers.py benchmarks, names or globs (default
                     c_ceiling,pool_2,torch_tv_w2,torch_tv1_w2,keras_fit_w7; see --list-peers)
  --repeats R        repeats per benchmark (peers.py, the client) and `augload bench --rounds R`;
                     medians reported (default 1); also the client's touch-loop/bench pairs
  --pss-ms MS        peers.py PSS sampling period in ms; 0 = RSS only (default 1000; augload reports PSS)
  --client-pss-ms MS the client's PSS sampling period in ms (default 200: its epochs last ~1 s)
  --client-from HOW  pip: `pip install .` into the venv (under /tmp/swift-build.lock), packaging
                     the engine binary measured here (default); tree: PYTHONPATH=Sources/Python
                     and AUGLOAD_ENGINE, no install
  --cache            also run `augload bench --cache ram --epochs 3` (2 workers, the table's pipeline,
                     without and with the cache) and add its first and later epochs to the table,
                     beside the peers (which decode every epoch)
  --no-client        do not measure the Python client
  --no-client-extras measure the client's table rows only (not its per-batch cost, touch loop vs
                     `augload bench`, first batch)
  --no-build         do not run `swift build -c release --product augload`; use the existing binary
  --no-augload       measure the peers only (same as AUGLOAD_SKIP=1)
  --no-peers         measure augload only (the venv and dataset are still needed)
  --no-frameworks    never try to pip install torch/torchvision/keras (peers needing them are skipped)
  --retry-install    try installing torch/torchvision/keras again after an earlier failure
  --list-peers       print the peers' benchmark names and exit
  -h, --help         this help

Environment:
  PEERS_DIR      the peers' scripts (default: ../shared/peers beside the repository)
  PEERS_DATA     scratch folder (default: peers-data)
  AUGLOAD_BIN    augload binary (default: .build/release/augload); copied into the run's folder
                 (under /tmp/swift-build.lock), and that copy is what `augload bench` and the client run
  AUGLOAD_SKIP   1 = do not build or run augload
  PYTHON         interpreter used to create the venv (default: python3)
  KERAS_BACKEND  backend for the Keras peers (default: torch)
EOF
}

say() { printf '==> %s\n' "$*" >&2; }
warn() { printf '!!! %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- arguments
N=1000
DATASET_SIZE=2000
WORKERS=1,2,7
PEERS='c_ceiling,pool_2,torch_tv_w2,torch_tv1_w2,keras_fit_w7'
CLIENT_WORKERS=2,7
CLIENT_FROM=pip
CLIENT_PSS_MS=200
RUN_CLIENT=1
RUN_CACHE=0
CLIENT_EXTRAS=1
REPEATS=1
PSS_MS=1000
BUILD=1
RUN_AUGLOAD=1
RUN_PEERS=1
FRAMEWORKS=1
RETRY_INSTALL=0
LIST_PEERS=0
[[ "${AUGLOAD_SKIP:-0}" == 1 ]] && RUN_AUGLOAD=0

need_value() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value (see --help)"; }
while [[ $# -gt 0 ]]; do
    case "$1" in
        --n) need_value "$@"; N="$2"; shift 2 ;;
        --dataset-size) need_value "$@"; DATASET_SIZE="$2"; shift 2 ;;
        --workers) need_value "$@"; WORKERS="$2"; shift 2 ;;
        --client-workers) need_value "$@"; CLIENT_WORKERS="$2"; shift 2 ;;
        --client-pss-ms) need_value "$@"; CLIENT_PSS_MS="$2"; shift 2 ;;
        --client-from) need_value "$@"; CLIENT_FROM="$2"; shift 2 ;;
        --no-client) RUN_CLIENT=0; shift ;;
        --cache) RUN_CACHE=1; shift ;;
        --no-client-extras) CLIENT_EXTRAS=0; shift ;;
        --peers) need_value "$@"; PEERS="$2"; shift 2 ;;
        --repeats) need_value "$@"; REPEATS="$2"; shift 2 ;;
        --pss-ms) need_value "$@"; PSS_MS="$2"; shift 2 ;;
        --no-build) BUILD=0; shift ;;
        --no-augload) RUN_AUGLOAD=0; shift ;;
        --no-peers) RUN_PEERS=0; shift ;;
        --no-frameworks) FRAMEWORKS=0; shift ;;
        --retry-install) RETRY_INSTALL=1; shift ;;
        --list-peers) LIST_PEERS=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ "$N" =~ ^[1-9][0-9]*$ ]] || die "--n takes a positive integer, got '$N'"
[[ "$DATASET_SIZE" =~ ^[1-9][0-9]*$ ]] || die "--dataset-size takes a positive integer, got '$DATASET_SIZE'"
[[ "$REPEATS" =~ ^[1-9][0-9]*$ ]] || die "--repeats takes a positive integer, got '$REPEATS'"
[[ "$PSS_MS" =~ ^[0-9]+$ ]] || die "--pss-ms takes a non-negative integer, got '$PSS_MS'"
[[ "$WORKERS" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--workers takes a list like 1,2,7, got '$WORKERS'"
[[ "$CLIENT_WORKERS" =~ ^[0-9]+(,[0-9]+)*$ ]] || die "--client-workers takes a list like 2,7, got '$CLIENT_WORKERS'"
[[ "$CLIENT_PSS_MS" =~ ^[0-9]+$ ]] || die "--client-pss-ms takes a non-negative integer, got '$CLIENT_PSS_MS'"
[[ "$CLIENT_FROM" == pip || "$CLIENT_FROM" == tree ]] || die "--client-from takes pip or tree, got '$CLIENT_FROM'"
((DATASET_SIZE >= N)) || DATASET_SIZE=$N

# ---------------------------------------------------------------- paths (relative to the repo root)
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
[[ -f Package.swift ]] || die "$REPO_ROOT does not look like the augload repository (no Package.swift)"
PEERS_DIR="${PEERS_DIR:-../shared/peers}"
PEERS_DATA="${PEERS_DATA:-peers-data}"
AUGLOAD_BIN="${AUGLOAD_BIN:-.build/release/augload}"
PYTHON="${PYTHON:-python3}"
export KERAS_BACKEND="${KERAS_BACKEND:-torch}"
VENV="$PEERS_DATA/venv"
VPY="$VENV/bin/python"
DS="$PEERS_DATA/ds"
JPEG_ROOT="$DS/jpeg"
for f in peers.py gen_dataset.py pipeline_np.py pipeline_fw.py decode_ceiling.c; do
    [[ -f "$PEERS_DIR/$f" ]] || die "$PEERS_DIR/$f not found: set PEERS_DIR to the peers' folder"
done
mkdir -p "$PEERS_DATA"

if ((LIST_PEERS)); then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found"
    py="$VPY"; [[ -x "$py" ]] || py="$PYTHON"
    exec "$py" "$PEERS_DIR/peers.py" --list
fi

# ---------------------------------------------------------------- (a) venv, frameworks, dataset
have_mod() { "$VPY" -c "import $1" >/dev/null 2>&1; }

if [[ ! -x "$VPY" ]]; then
    command -v "$PYTHON" >/dev/null || die "$PYTHON not found (set PYTHON)"
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create the venv (Debian: apt-get install python3-venv)"
fi
VPY_ABS="$(cd "$(dirname "$VPY")" && pwd)/$(basename "$VPY")"
if ! have_mod numpy || ! have_mod PIL || ! have_mod psutil; then
    say "installing numpy Pillow psutil into $VENV"
    "$VPY" -m pip install --quiet numpy Pillow psutil || die "pip install numpy Pillow psutil failed"
fi

FW_MARK="$VENV/.frameworks-install-failed"
FW_LOG="$PEERS_DATA/pip-frameworks.log"
((RETRY_INSTALL)) && rm -f "$FW_MARK"
install_frameworks() {
    : >"$FW_LOG"
    if ! { have_mod torch && have_mod torchvision; }; then
        say "installing torch + torchvision (CPU wheels if their index is reachable, else PyPI; large, log: $FW_LOG)"
        if ! "$VPY" -m pip install --timeout 20 --retries 1 torch torchvision \
            --index-url https://download.pytorch.org/whl/cpu >>"$FW_LOG" 2>&1; then
            say "CPU wheel index not reachable; installing torch + torchvision from PyPI (several GB)"
            "$VPY" -m pip install torch torchvision >>"$FW_LOG" 2>&1 || true
        fi
        if ! { have_mod torch && have_mod torchvision; }; then
            warn "torch/torchvision did not install or do not import (see $FW_LOG)"
            : >"$FW_MARK"
        fi
    fi
    if ! have_mod keras; then
        say "installing keras (log: $FW_LOG)"
        "$VPY" -m pip install keras >>"$FW_LOG" 2>&1 || { warn "pip install keras failed (see $FW_LOG)"; : >"$FW_MARK"; }
    fi
}
if ((FRAMEWORKS)) && { ! have_mod torch || ! have_mod torchvision || ! have_mod keras; }; then
    if [[ -e "$FW_MARK" ]]; then
        warn "torch/torchvision/keras: an earlier install failed (see $FW_LOG); not retrying (--retry-install to retry)"
    else
        install_frameworks
    fi
fi

# which peers can run here
HAVE_TORCH=0; HAVE_TV=0; HAVE_KERAS=0
have_mod torch && HAVE_TORCH=1
((HAVE_TORCH)) && have_mod torchvision && HAVE_TV=1
# Keras 3 needs an importable backend; peers.py sets KERAS_BACKEND=torch unless told otherwise.
"$VPY" -c "import keras" >/dev/null 2>&1 && HAVE_KERAS=1
((HAVE_TORCH)) || echo "NOTE: torch is not installed in $VENV: the torch_* and tv_* peers are skipped." >&2
((HAVE_TORCH && !HAVE_TV)) && echo "NOTE: torchvision is not installed/importable: the torch_tv*/tv_* peers are skipped." >&2
((HAVE_KERAS)) || echo "NOTE: keras (backend $KERAS_BACKEND) is not importable in $VENV: the keras_* peers are skipped." >&2
HAVE_C=1
if ! command -v gcc >/dev/null || ! printf '#include <stdio.h>\n#include <jpeglib.h>\n' | gcc -E -x c - >/dev/null 2>&1; then
    HAVE_C=0
    echo "NOTE: gcc or jpeglib.h is missing (Debian: apt-get install gcc libjpeg-dev): c_ceiling is skipped." >&2
fi

dataset_count() {
    "$VPY" - "$DS/manifest.json" "$JPEG_ROOT" <<'PY' 2>/dev/null || echo 0
import json, os, sys
try:
    n = json.load(open(sys.argv[1]))["summary"]["jpeg"]["count"]
except Exception:
    n = 0
files = sum(1 for _, _, fs in os.walk(sys.argv[2]) for f in fs if f.lower().endswith(".jpg")) if os.path.isdir(sys.argv[2]) else 0
print(min(n, files))
PY
}
have=$(dataset_count)
if ((have < DATASET_SIZE)); then
    say "generating the dataset: $DATASET_SIZE JPEGs in $DS (had $have; takes a few minutes)"
    "$VPY" "$PEERS_DIR/gen_dataset.py" --out "$DS" --n-jpeg "$DATASET_SIZE" --n-png 0 >"$PEERS_DATA/gen_dataset.log" \
        || die "gen_dataset.py failed (see $PEERS_DATA/gen_dataset.log)"
else
    say "dataset: $have JPEGs in $JPEG_ROOT"
fi

# ---------------------------------------------------------------- (b) build augload
# Builds on this machine take turns: every swift build (and the copy of its product) holds
# /tmp/swift-build.lock.
SWIFT_LOCK=/tmp/swift-build.lock
NEED_ENGINE=$((RUN_AUGLOAD || RUN_CLIENT))
if ((NEED_ENGINE)); then
    if ((BUILD)); then
        command -v swift >/dev/null || die "swift not found (use --no-build with an existing binary, or --no-augload --no-client)"
        say "swift build -c release --product augload (waits for $SWIFT_LOCK)"
        flock "$SWIFT_LOCK" swift build -c release --product augload >&2
        [[ "$AUGLOAD_BIN" == .build/release/augload ]] || warn "AUGLOAD_BIN=$AUGLOAD_BIN is used, not the binary just built"
    fi
    [[ -x "$AUGLOAD_BIN" ]] || die "$AUGLOAD_BIN not found: build it (drop --no-build) or pass --no-augload --no-client"
fi

# ---------------------------------------------------------------- (c) measure
STAMP="$(date +%Y%m%d-%H%M%S)"
OUT="$PEERS_DATA/results/$STAMP"
mkdir -p "$OUT"
T_START=$(date +%s)

# The engine measured: a copy of AUGLOAD_BIN taken under the build lock, so a build by someone else
# during the run changes nothing; `augload bench` and the client both run this copy.
ENGINE=""
if ((NEED_ENGINE)); then
    mkdir -p "$OUT/engine"
    flock "$SWIFT_LOCK" cp "$AUGLOAD_BIN" "$OUT/engine/augload"
    ENGINE="$(cd "$OUT/engine" && pwd)/augload"
fi

# ---------------------------------------------------------------- the Python client in the venv
CLIENT_ENV=()
if ((RUN_CLIENT)); then
    {
        echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
        git status --porcelain -- Sources Package.swift pyproject.toml 2>/dev/null | sed 's/^/work tree: /'
    } >"$OUT/client-source.txt"
    if [[ "$CLIENT_FROM" == pip ]]; then
        # `pip install .` would run `swift build -c release`; AUGLOAD_ENGINE_BINARY packages the copy
        # measured here instead. Under the lock all the same: the build backend writes .build/python.
        say "pip install . into $VENV (the client, with the engine $ENGINE; waits for $SWIFT_LOCK)"
        t0=$(date +%s.%N)
        AUGLOAD_ENGINE_BINARY="$ENGINE" flock "$SWIFT_LOCK" "$VPY" -m pip install --quiet --no-deps --force-reinstall \
            "$REPO_ROOT" >"$OUT/pip-client.log" 2>&1 || { tail -20 "$OUT/pip-client.log" >&2; die "pip install . failed (log: $OUT/pip-client.log)"; }
        say "pip install . took $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }') s (lock wait included)"
        CLIENT_ENV=(env -u PYTHONPATH -u AUGLOAD_ENGINE)
        echo "installed: pip install . (engine: the run's copy of $AUGLOAD_BIN)" >>"$OUT/client-source.txt"
    else
        CLIENT_ENV=(env PYTHONPATH="$REPO_ROOT/Sources/Python" AUGLOAD_ENGINE="$ENGINE")
        echo "from the tree: PYTHONPATH=Sources/Python, AUGLOAD_ENGINE=the run's copy of $AUGLOAD_BIN" >>"$OUT/client-source.txt"
    fi
    (cd /tmp && "${CLIENT_ENV[@]}" "$VPY_ABS" -c 'import augload, augload._engine as e; print(augload.__file__, e.find_engine())') \
        >>"$OUT/client-source.txt" 2>&1 || die "augload does not import in $VENV (see $OUT/client-source.txt)"
fi

# Wait (at most 30 s) until the machine is at most 25% busy, as peers.py does before each run.
wait_quiet() {
    "$VPY" - <<'PY'
import time
def busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7], sum(v)
t0 = time.time()
while True:
    b0, a0 = busy(); time.sleep(1); b1, a1 = busy()
    frac = (b1 - b0) / max(a1 - a0, 1)
    if frac <= 0.25 or time.time() - t0 > 30:
        print(f"{100 * frac:.0f}")
        break
PY
}

if ((RUN_AUGLOAD)); then
    load=$(wait_quiet)
    say "augload bench: $N images, workers $WORKERS (machine ${load}% busy before)"
    "$ENGINE" bench "$JPEG_ROOT" --images "$N" --workers "$WORKERS" --batch-size 64 --size 224 \
        --crop random --flip h --noise 0.05 --dtype float32 --layout nchw --rounds "$REPEATS" --json \
        >"$OUT/augload.json" 2>"$OUT/augload.stderr" \
        || { cat "$OUT/augload.stderr" >&2; die "augload bench failed (output in $OUT)"; }
    echo "$load" >"$OUT/augload.preload"
    if ((RUN_CACHE)); then
        say "augload bench --cache ram --epochs 3: $N images, 2 workers, without and with the cache"
        "$ENGINE" bench "$JPEG_ROOT" --images "$N" --workers 2 --batch-size 64 --size 224 --epochs 3 --cache ram \
            --crop random --flip h --noise 0.05 --dtype float32 --layout nchw --rounds "$REPEATS" --json \
            >"$OUT/augload-cache.json" 2>"$OUT/augload-cache.stderr" \
            || { cat "$OUT/augload-cache.stderr" >&2; die "augload bench --cache failed (output in $OUT)"; }
    fi
fi

if ((RUN_CLIENT)); then
    say "Python client: $N images, workers $CLIENT_WORKERS, $REPEATS repeat(s), 2 epochs each (log: $OUT/client.stderr)"
    "${CLIENT_ENV[@]}" "$VPY" Scripts/bench_python_client.py run --root "$JPEG_ROOT" --n "$N" \
        --workers "$CLIENT_WORKERS" --repeats "$REPEATS" --pss-ms "$CLIENT_PSS_MS" --json-out "$OUT/client.json" \
        >/dev/null 2>"$OUT/client.stderr" || { tail -20 "$OUT/client.stderr" >&2; die "bench_python_client.py run failed (output in $OUT)"; }
    if ((CLIENT_EXTRAS)); then
        # at least 3 pairs (touch loop, augload bench) per worker count, and 5 first-batch runs
        say "Python client extras: per-batch cost, touch loop vs augload bench, first batch (log: $OUT/client-extras.stderr)"
        "${CLIENT_ENV[@]}" "$VPY" Scripts/bench_python_client.py extras --root "$JPEG_ROOT" --n "$N" \
            --workers "$CLIENT_WORKERS" --rounds $((REPEATS > 3 ? REPEATS : 3)) --json-out "$OUT/client-extras.json" \
            >/dev/null 2>"$OUT/client-extras.stderr" \
            || { tail -20 "$OUT/client-extras.stderr" >&2; die "bench_python_client.py extras failed (output in $OUT)"; }
    fi
fi

if ((RUN_PEERS)); then
    # Keep only the requested peers whose packages are here.
    mapfile -t ALL < <("$VPY" "$PEERS_DIR/peers.py" --list --only "$PEERS")
    SEL=()
    for b in "${ALL[@]}"; do
        case "$b" in
            c_ceiling) ((HAVE_C)) || continue ;;
            torch_np_*) ((HAVE_TORCH)) || continue ;;
            torch_* | tv_*) ((HAVE_TV)) || continue ;;
            keras*) ((HAVE_KERAS)) || continue ;;
        esac
        SEL+=("$b")
    done
    if ((${#SEL[@]} == 0)); then
        warn "no requested peer can run here (asked: $PEERS)"
    else
        ONLY=$(IFS=,; echo "${SEL[*]}")
        say "peers.py: $ONLY ($N images, $REPEATS repeat(s); log: $OUT/peers.stderr)"
        "$VPY" "$PEERS_DIR/peers.py" --root "$JPEG_ROOT" --n "$N" --repeats "$REPEATS" --only "$ONLY" \
            --pss-ms "$PSS_MS" --build-dir "$PEERS_DATA/build" \
            --json-out "$OUT/peers.json" --md-out "$OUT/peers.md" >/dev/null 2>"$OUT/peers.stderr" \
            || { tail -20 "$OUT/peers.stderr" >&2; die "peers.py failed (output in $OUT)"; }
    fi
fi

# ---------------------------------------------------------------- (d) one table
"$VPY" - "$OUT" "$N" "$WORKERS" "$T_START" <<'PY' | tee "$OUT/table.md"
import json, os, platform, statistics, subprocess, sys, time

out, n, workers, t_start = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
load = lambda p: json.load(open(p)) if os.path.exists(p) else None
aug, peers = load(os.path.join(out, "augload.json")), load(os.path.join(out, "peers.json"))
cached = load(os.path.join(out, "augload-cache.json"))
client, extras = load(os.path.join(out, "client.json")), load(os.path.join(out, "client-extras.json"))

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            return next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except Exception:
        return platform.processor() or "?"

def f(x, nd=0):
    return "—" if x is None else f"{x:,.{nd}f}"

nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip() or str(os.cpu_count())
print(f"## augload vs Python peers: {time.strftime('%Y-%m-%d %H:%M %Z')}\n")
print(f"Machine: {nproc} cores (nproc), {cpu_model()}, {platform.platform()}.  ")
if peers:
    v = peers["meta"]["versions"]
    print("Peers: Python {python}, numpy {numpy}, Pillow {PIL} (libjpeg-turbo {lj}), torch {torch}, "
          "torchvision {torchvision}, keras {keras} (backend {kb}).  ".format(
              lj=v.get("pillow_libjpeg_turbo"), kb=os.environ.get("KERAS_BACKEND", "torch"),
              **{k: v.get(k) or "not installed" for k in ("python", "numpy", "PIL", "torch", "torchvision", "keras")}))
if client:
    v = client["meta"]["versions"]
    src = open(os.path.join(out, "client-source.txt")).read().splitlines() if os.path.exists(os.path.join(out, "client-source.txt")) else []
    dirty = [l for l in src if l.startswith("work tree:")]
    how = next((l for l in src if l.startswith(("installed:", "from the tree:"))), "?")
    print(f"augload client: {src[0] if src else '?'}{' + uncommitted ' + ', '.join(l.split()[-1] for l in dirty) if dirty else ''}; "
          f"{how}.  ")
print(f"Same {n} JPEGs on both sides; pipeline: resize shorter side 256 -> random crop 224 -> h-flip -> "
      "float32 CHW [0,1] -> noise 0.05 -> batches of 64.\n")

cols = ["system", "workers", "img/s, 1st epoch (incl. start)", "img/s, warm epoch", "CPU ms/img, 1st epoch",
        "CPU ms/img, warm", "first batch s", "peak mem MB (PSS)", "peak mem MB (RSS)", "vs ceiling x cores"]
rows = []
cores = int(nproc) if nproc.isdigit() else (os.cpu_count() or 1)
if aug:
    c = aug["ceiling"]
    rows.append(["augload decode only (1 core, from RAM)", "—", f(c["imagesPerSecond"]), "—",
                 f(c["cpuMillisecondsPerImage"], 2), "—", "—", "—", "—", "1.00 (1 core)"])
    # With --repeats R, bench ran R rounds of every worker count: each figure is the median of its
    # worker count's rounds, like the peers'.
    per = len(aug["runs"]) // max(aug.get("rounds", 1), 1)
    def median_run(group):
        m = dict(group[0])
        for k, v in group[0].items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                m[k] = statistics.median(g[k] for g in group)
        m["complete"] = all(g.get("complete", True) for g in group)
        return m
    for r in [median_run(aug["runs"][i::per]) for i in range(per)]:
        name = "**augload**" + ("" if r.get("complete", True) else " (INCOMPLETE)")
        # augload's "warm" figures are its steady state: from the first batch on (workers up).
        rows.append([name, str(r["workers"]), f(r["imagesPerSecond"]), f(r.get("steadyImagesPerSecond")),
                     f(r["cpuMillisecondsPerImage"], 2), f(r.get("steadyCPUMillisecondsPerImage"), 2),
                     f(r["timeToFirstBatchSeconds"], 2), f(r["peakMemoryBytes"] / 2**20), "—",
                     f(r["ratioToCeiling"], 2) + " / " + f(r.get("steadyRatioToCeiling"), 2) + " steady"])
if cached:
    # 3 epochs without and with the decoded cache (rounds alternate the two): "1st epoch" is the
    # first epoch from the loader's creation, "warm" the later epochs (epochs 2-3).
    c_ceiling = cached["ceiling"]["imagesPerSecond"]
    for mode in ("none", "ram"):
        group = [r for r in cached["runs"] if r.get("cache", "none") == mode]
        if not group:
            continue
        med = lambda k: statistics.median(r[k] for r in group)
        name = ("**augload + decoded cache (RAM)**" if mode == "ram" else "augload, same run without the cache") + \
            ", 3 epochs: epoch 1 / epochs 2-3"
        rows.append([name, str(group[0]["workers"]), f(med("firstEpochImagesPerSecond")), f(med("laterEpochsImagesPerSecond")),
                     "—", "—", f(med("timeToFirstBatchSeconds"), 2), f(med("peakMemoryBytes") / 2**20), "—",
                     f(med("laterEpochsImagesPerSecond") / (c_ceiling * min(group[0]["workers"], cores)), 2) + " later"])
aug_ceiling = aug["ceiling"]["imagesPerSecond"] if aug else None
client_rows = {}
if client:
    for s in client["summary"]:
        w = s["workers"]
        desc = "**augload Python client** `augload.Loader`"
        if "error" in s:
            rows.append([desc, str(w), "FAILED: " + s["error"][:120]] + [""] * (len(cols) - 3))
            continue
        client_rows[w] = s
        procs = s.get("engine_workers")
        ratio = "—"
        if aug_ceiling:
            k = aug_ceiling * min(max(w, 1), cores)
            ratio = f(s["cold_img_s"] / k, 2) + " / " + f(s["warm_img_s"] / k, 2) + " warm"
        rows.append([desc, f"{w}" + (f" ({procs} proc.)" if procs is not None and procs != w else ""),
                     f(s["cold_img_s"]), f(s["warm_img_s"]), f(s["cold_cpu_ms_per_img"], 2),
                     f(s["warm_cpu_ms_per_img"], 2), f(s["ttfb_s"], 2), f(s.get("peak_pss_mb")),
                     f(s.get("peak_rss_mb")), ratio])
peer_summ = {}
if peers:
    summ = {s["bench"]: s for s in peers["summary"]}
    peer_summ = summ
    c1 = summ.get("c_ceiling", {}).get("c_1_1_img_s")
    med = lambda xs: statistics.median(xs) if xs else None
    label = {"c_ceiling": "libjpeg-turbo decode only, C (1 core, from RAM)", "pool": "multiprocessing.Pool + Pillow",
             "torch_tv1": "PyTorch DataLoader + torchvision v1", "torch_tv": "PyTorch DataLoader + torchvision v2 (PIL decode)",
             "torch_np": "PyTorch DataLoader + Pillow/numpy", "keras_fit": "Keras 3 model.fit(PyDataset)",
             "keras": "Keras 3 PyDataset (multiprocessing)", "serial": "Pillow/numpy, 1 process"}
    for name, s in summ.items():
        kind, _, w = name.rpartition("_")
        w = w.lstrip("w") if w.lstrip("w").isdigit() else "—"
        desc = label.get(kind if w != "—" else name, name) + f" `{name}`"
        if "error" in s:
            rows.append([desc, w, "FAILED: " + s["error"][:120]] + [""] * (len(cols) - 3))
            continue
        ok = [r for r in peers["runs"][name] if "error" not in r]
        if name == "c_ceiling":
            half = s.get("c_1_2_img_s")
            rows.append([desc + (f" (1/2 DCT scale: {half:,.0f} img/s)" if half else ""), "—", f(s["img_s"]), "—",
                         f(s.get("warm_cpu_ms_per_img"), 2), "—", "—", "—", f(s.get("peak_rss_mb")), "1.00 (1 core)"])
            continue
        if "epochs" not in (ok[0] if ok else {}):
            rows.append([desc, w, f(s.get("img_s")), "—", f(s.get("warm_cpu_ms_per_img"), 2), "—", "—",
                         f(s.get("peak_pss_mb")), f(s.get("peak_rss_mb")), "—"])
            continue
        cold_cpu = med([1e3 * r["epochs"][0]["cpu_s"] / r["epochs"][0]["images"] for r in ok])
        ratio = "—"
        if c1 and w != "—":
            ratio = f(s["warm_img_s"] / (c1 * min(max(int(w), 1), cores)), 2)
        rows.append([desc, w, f(s.get("cold_img_s")), f(s.get("warm_img_s")), f(cold_cpu, 2),
                     f(s.get("warm_cpu_ms_per_img"), 2), f(s.get("ttfb_s"), 2), f(s.get("peak_pss_mb")),
                     f(s.get("peak_rss_mb")), ratio])
if not rows:
    print("(nothing was measured)")
    sys.exit(0)
print("| " + " | ".join(cols) + " |")
print("|" + "---|" + "---:|" * (len(cols) - 1))
for r in rows:
    print("| " + " | ".join(r) + " |")
print()

# ---- the goals: the client against PyTorch's best and Keras, from the rows above
def ok_peer(name):
    s = peer_summ.get(name)
    return s if s and "error" not in s and s.get("warm_img_s") else None
torch_ok = {k: v for k, v in peer_summ.items() if k.startswith("torch_") and ok_peer(k)}
if client_rows and torch_ok:
    best_name, best = max(torch_ok.items(), key=lambda kv: kv[1]["warm_img_s"])
    tw = best_name.rpartition("_w")[2]
    cw = int(tw) if tw.isdigit() and int(tw) in client_rows else max(client_rows, key=lambda w: client_rows[w]["warm_img_s"])
    c = client_rows[cw]
    line = (f"**Ratios** (this run). Python client `workers={cw}` against PyTorch's best here, `{best_name}` "
            f"(highest warm img/s): warm img/s **{c['warm_img_s'] / best['warm_img_s']:.1f}x** (goal >= 4x), 1st epoch "
            f"{c['cold_img_s'] / best['cold_img_s']:.1f}x, CPU per image (warm) 1/{best['warm_cpu_ms_per_img'] / c['warm_cpu_ms_per_img']:.1f}, "
            f"first batch 1/{best['ttfb_s'] / c['ttfb_s']:.0f}")
    if c.get("peak_pss_mb") and best.get("peak_pss_mb"):
        line += (f"; peak memory (PSS) **1/{best['peak_pss_mb'] / c['peak_pss_mb']:.1f}** of PyTorch's (goal <= 1/5; "
                 f"{c['peak_pss_mb']:,.0f} MB against {best['peak_pss_mb']:,.0f} MB)")
    print(line + ".  ")
kf = ok_peer("keras_fit_w7") or next((ok_peer(k) for k in sorted(peer_summ) if k.startswith("keras_fit") and ok_peer(k)), None)
if client_rows and kf:
    kname = next(k for k, v in peer_summ.items() if v is kf)
    kw = kname.rpartition("_w")[2]
    cw = int(kw) if kw.isdigit() and int(kw) in client_rows else max(client_rows)
    c = client_rows[cw]
    # same images per epoch on both sides: epoch time = n / img/s
    print(f"Keras `model.fit` (`{kname}`, PyDataset workers={kw}, use_multiprocessing) epoch time against the client's "
          f"(`workers={cw}`): warm epoch **{c['warm_img_s'] / kf['warm_img_s']:.1f}x** as long ({n / kf['warm_img_s']:.1f} s "
          f"against {n / c['warm_img_s']:.2f} s), 1st epoch {c['cold_img_s'] / kf['cold_img_s']:.1f}x "
          f"({n / kf['cold_img_s']:.1f} s against {n / c['cold_img_s']:.2f} s); peak memory (PSS) "
          f"{f(kf.get('peak_pss_mb'))} MB against {f(c.get('peak_pss_mb'))} MB.  ")
if client_rows and aug:
    per = len(aug["runs"]) // max(aug.get("rounds", 1), 1)
    steady = {}
    for i in range(per):
        g = aug["runs"][i::per]
        steady[g[0]["workers"]] = statistics.median(r["steadyImagesPerSecond"] for r in g)
    parts = [f"workers={w}: {client_rows[w]['steady_img_s']:,.0f} against {steady[w]:,.0f} ({client_rows[w]['steady_img_s'] / steady[w]:.2f})"
             for w in sorted(client_rows) if w in steady and client_rows[w].get("steady_img_s")]
    if parts:
        print("Client rows against the `augload bench` rows above (steady img/s, separate processes minutes apart; the paired "
              "measurement is below): " + "; ".join(parts) + ".  ")
print()

# ---- the client's own costs (bench_python_client.py extras)
if extras:
    ov, tv, tt = extras.get("overhead", {}), extras.get("touch_vs_bench", {}), extras.get("ttfb", {})
    print("**Python client, per batch and first batch** (`Scripts/bench_python_client.py extras`):\n")
    if "error" in ov:
        print(f"- per-batch cost: FAILED: {ov['error'][:300]}")
    elif ov:
        items = [f"wrap + release of a 64 x 3 x 224 x 224 slot with no engine: **{ov['wrap_release_us']:.1f} µs**"]
        for name, what in (("dataset", "the dataset, the table's 64 x 224² batches (engine-bound)"),
                           ("fixtures", "bench_client's default, the 30 fixture images at 4 x 16²")):
            e = ov.get("loop_" + name, {})
            if "error" in e:
                items.append(f"no-op loop over {what}: FAILED ({e['error'][:200]})")
            elif e:
                items.append(f"no-op loop over {what}: **{e['us_per_batch']:.0f} µs** CPU per batch in the Python "
                             f"process (receive + wrap + release + loop; {e['batches_per_s']:,.0f} batches/s)")
        if client_rows:
            items.append("the table's touching loops (64 x 224², warm epoch): " + ", ".join(
                f"workers={w} {s['py_us_per_batch_warm']:.0f} µs" for w, s in sorted(client_rows.items())) +
                " CPU per batch in the Python process")
        print("- Python-side cost per batch (Tests/Python/bench_client.py's method): " + "; ".join(items) + ".")
    for s in tv.get("summary", []):
        if not s.get("ok"):
            print(f"- touch loop vs `augload bench`, workers={s['workers']}: FAILED (see client-extras.json)")
            continue
        print(f"- loop touching each batch (one value per image) against `augload bench`, same engine, files, options and "
              f"{tv['epochs']} epochs, steady img/s, workers={s['workers']}: **{s['ratio_median']:.3f}** (goal >= 0.95; "
              f"median of {s['ok']} alternating pairs: {', '.join(f'{x:.3f}' for x in s['ratio_each'])}; "
              f"{s['python_steady_img_s']:,.0f} against {s['bench_steady_img_s']:,.0f} img/s; Python CPU "
              f"{s['python_steady_us_per_batch']:.0f} µs per batch, bench's consumer {s['bench_consumer_us_per_batch']:.0f} µs; "
              f"other load during the Python runs {100 * statistics.median(x['python'].get('foreign_load', 0) for x in tv['pairs'][str(s['workers'])] if 'ratio' in x):.0f}%)")
    if tt.get("ok"):
        print(f"- time from `augload.Loader(...)` to the first batch, workers={tt['workers']}, fresh interpreter each: "
              f"**{tt['first_s_median']:.2f} s** median ({tt['first_s_min']:.2f}–{tt['first_s_max']:.2f} s over {tt['ok']}; "
              f"goal <= 0.3 s), of which `Loader()` itself {tt['ctor_s_median']:.3f} s")
    print()
if aug:
    print("- augload: one epoch of `augload bench` (median of `--rounds` when repeated), timed from creating the loader (workers' start included) to the "
          "last batch; its \"warm\" columns are the steady state of that epoch, from the first batch handed out to the "
          "last; CPU = loader + workers; memory = peak of the process tree with shared pages once; \"vs ceiling\" = "
          "img/s (whole / steady) / (augload's own decode-only img/s, measured before and after the run, x "
          "min(workers, cores)). augload runs at most one worker per core: `7` is 2 processes here.")
if cached:
    print("- augload cache rows: `augload bench --cache ram --epochs 3 --workers 2` (each round runs without, then with "
          "the cache; medians of the rounds): \"1st epoch\" from creating the loader to the second epoch's first batch, "
          "\"warm\" = epochs 2-3 from that batch on; memory = peak of the tree with the cache's memfd counted once; "
          "\"vs ceiling\" = later epochs' img/s / (decode-only img/s x workers). The peers decode every epoch.")
if client:
    print(f"- Python client: `Scripts/bench_python_client.py run`, `augload.Loader(files=..., labels=..., crop=\"random\", "
          f"flip=\"h\", noise=0.05, layout=\"nchw\", dtype=\"float32\", size=224, batch_size=64, workers=W, epochs=2)` over the "
          f"same first {n} files (the folder when that is all of them), 2 epochs in a fresh interpreter per run, a loop that "
          "touches each batch (sums one value per image): \"1st epoch\" is timed from just before `augload.Loader(...)` "
          "(engine start, dataset scan, workers' start), \"warm\" is the 2nd; CPU = Python + engine + workers (this "
          "process's CPU clock plus every live descendant's, read at each epoch's ends); memory = peak of the tree's summed "
          f"PSS (sampled every {client['meta']['pss_ms']:.0f} ms) and RSS (every {client['meta']['sample_ms']:.0f} ms); \"vs "
          "ceiling\" = img/s (1st / warm) / (augload's decode-only img/s x min(workers, cores)). W=7 runs 2 worker processes. "
          "Median of the repeats; like peers.py, it waits for a quiet machine before each run and re-runs once a run "
          "disturbed by other load.")
    noisy = [f"workers={s['workers']} {100 * s['foreign_load']:.0f}%" for s in client["summary"] if s.get("foreign_load", 0) > 0.1]
    if noisy:
        print("- other load on the machine during the client's runs: " + ", ".join(noisy) + " (figures may be low).")
if peers:
    print("- peers: `peers.py` runs 2 epochs per loader in a fresh interpreter: \"1st epoch\" includes starting the "
          "workers (not the interpreter's imports), \"warm\" is the 2nd (persistent workers / reused Pool); memory = "
          "peak summed RSS (and PSS when sampled) of the whole process tree; \"vs ceiling\" = warm img/s / (C ceiling "
          "x min(workers, cores)). Median of the repeats; runs disturbed by other load are re-run once by peers.py.")
if peers:
    noisy = [f"{s['bench']} {100 * s['foreign_load']:.0f}%" for s in peers["summary"] if s.get("foreign_load", 0) > 0.1]
    if noisy:
        print("- other load on the machine during: " + ", ".join(noisy) + " (figures may be low).")
pre = os.path.join(out, "augload.preload")
if os.path.exists(pre):
    print(f"- the machine was {open(pre).read().strip()}% busy just before augload ran.")
if any(k.startswith("torch_tv_") for k in peer_summ):
    print("- `torch_tv_w*` (torchvision v2) is peers.py's v2 path: ImageFolder's default loader decodes with **PIL** "
          "(`Image.open(...).convert(\"RGB\")`), then v2 transforms on the PIL image (Resize/RandomCrop/flip in PIL, "
          "ToImage, ToDtype, GaussianNoise), not `torchvision.io.decode_jpeg` + v2 on tensors.")
print(f"- raw output: {out}/; measured in {(time.time() - t_start) / 60:.1f} min (setup not included).")
PY
