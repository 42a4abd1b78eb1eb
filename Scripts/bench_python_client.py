#!/usr/bin/env python3
"""bench_python_client.py: augload's Python client (``augload.Loader``), measured the way
../shared/peers/peers.py measures the Python loaders, so its rows sit in the same table.

    python Scripts/bench_python_client.py run    --root peers-data/ds/jpeg --n 1000 --workers 2,7 --repeats 3
    python Scripts/bench_python_client.py extras --root peers-data/ds/jpeg --n 1000 --workers 2,7 --rounds 3

Each prints ONE JSON object on stdout (progress on stderr). ``Scripts/bench_peers.sh`` runs both
with the peers' venv and puts the figures in its table.

Pipeline (the peers'): the first N files in ImageFolder order (sorted classes, sorted files;
``files=``/``labels=``, or the folder itself when N covers it) -> resize shorter side 256 ->
random crop 224 -> h-flip -> float32 NCHW in [0, 1] -> noise 0.05 -> batches of 64:
``augload.Loader(files=..., labels=..., batch_size=64, size=224, crop="random", flip="h",
noise=0.05, layout="nchw", dtype="float32", workers=W, epochs=E)``.

``run``: every (workers, repeat) is a fresh interpreter (imports not timed) that runs 2 epochs
with a loop that touches each batch (sums one value per image: ``images[:, 0, 0, 0].sum()``).
  - 1st epoch: from just before ``augload.Loader(...)`` (engine start, dataset scan and worker
    start included) to the last batch; warm = the 2nd epoch; steady = from the first batch in hand
    to the last one (``augload bench``'s definition).
  - CPU: the whole process tree (Python + engine + its workers): os.times() of this process plus
    psutil's CPU times of every live descendant, read at each epoch's start and end.
  - Python-side CPU per batch: this process alone (receive, wrap, release, the loop and its touch).
  - memory: this script's parent samples the child's process tree (as peers.py): summed RSS every
    --sample-ms and summed PSS (/proc/PID/smaps_rollup, shared pages such as the slot ring counted
    once) every --pss-ms.
``extras``:
  - Python-side cost per batch, by Tests/Python/bench_client.py's own functions (imported from
    there): wrap + release with no engine, and the CPU per batch in the Python process of a loop
    that does nothing with its batches (receive, wrap, release), over bench_client's default of
    the fixture images (4 x 16^2) and over the dataset (the table's 64 x 224^2 batches).
  - touch loop vs ``augload bench``: per round and worker count, ``augload bench`` (the same engine
    binary the client runs, the same files through --files, the same options and epochs) and a
    fresh interpreter running the touching loop, in alternating order; steady img/s of each and
    their ratio (goal >= 0.95).
  - time to the first batch: from ``augload.Loader(...)`` to the first batch in hand, fresh
    interpreter each round (--ttfb-workers, default 7; goal <= 0.3 s).

The engine is ``$AUGLOAD_ENGINE`` if set, else the one installed with the package.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
RESULT_TAG = "@@CLIENT_RESULT "
IMG_EXTS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
PIPELINE = dict(batch_size=64, size=224, crop="random", flip="h", noise=0.05, layout="nchw", dtype="float32")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ====================================================================== dataset
def list_imagefolder(root):
    """(path, label) in torchvision ImageFolder order: sorted classes, sorted files (as peers.py)."""
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    items = []
    for ci, c in enumerate(classes):
        for dirpath, _, files in sorted(os.walk(os.path.join(root, c), followlinks=True)):
            for fn in sorted(files):
                if fn.lower().endswith(IMG_EXTS):
                    items.append((os.path.join(dirpath, fn), ci))
    return items, classes


def dataset_kwargs(root, n):
    """Loader keyword arguments for the first n files: the folder itself when n covers it."""
    items, classes = list_imagefolder(root)
    if n <= 0 or n >= len(items):
        if n > len(items):
            log(f"note: --n {n} > {len(items)} files in {root}: using the folder ({len(items)} files)")
        return {"folder": os.path.abspath(root)}, items
    items = items[:n]
    return {"files": [p for p, _ in items], "labels": [l for _, l in items], "classes": classes}, items


def make_loader(augload, ds, workers, epochs, seed=0):
    ds = dict(ds)
    folder = ds.pop("folder", None)
    return augload.Loader(folder, workers=workers, epochs=epochs, seed=seed, **ds, **PIPELINE)


# ====================================================================== child side
def _now():
    return time.perf_counter()


def _self_cpu():
    """CPU seconds of this process (every thread), at clock_gettime's resolution, not the tick's."""
    return time.process_time()


def _tree_cpu():
    """CPU seconds of this process, its reaped descendants and its live descendants (engine, workers)."""
    import psutil

    t = os.times()
    total = time.process_time() + t.children_user + t.children_system
    for c in psutil.Process().children(recursive=True):
        try:
            ct = c.cpu_times()
            total += ct.user + ct.system + ct.children_user + ct.children_system
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            pass
    return total


def child_epochs(cfg):
    """The table's run: 2 epochs (or cfg['epochs']) with a touching loop, per-epoch figures."""
    import augload
    import numpy as np  # noqa: F401  (imported before timing, as the peers import torch first)

    ds, items = dataset_kwargs(cfg["root"], cfg["n"])
    E = cfg["epochs"]
    c_start, p_start, t_start = _tree_cpu(), _self_cpu(), _now()
    loader = make_loader(augload, ds, cfg["workers"], E)
    ctor_s = _now() - t_start
    res = {"ctor_s": ctor_s, "engine_workers": loader.engine_workers, "batches_per_epoch": len(loader),
           "samples": loader.samples, "engine_pid": loader.engine_pid, "epochs": []}
    touched = 0.0
    steady_t0 = steady_img0 = None
    total_images = 0
    for e in range(E):
        c0 = c_start if e == 0 else _tree_cpu()
        p0 = p_start if e == 0 else _self_cpu()
        t0 = t_start if e == 0 else _now()
        first, cnt, nb = None, 0, 0
        for images, labels in loader:
            if first is None:
                first = _now() - t0
            assert images.shape[1:] == (3, 224, 224), images.shape
            touched += float(images[:, 0, 0, 0].sum())  # one value per image: the page is really read
            cnt += len(labels)
            nb += 1
            total_images += len(labels)
            if steady_t0 is None:
                steady_t0, steady_img0 = _now(), total_images
        t1 = _now()
        p1 = _self_cpu()  # before _tree_cpu(), whose /proc scan costs this process ~2 ms
        res["epochs"].append({"first_s": first, "total_s": t1 - t0, "images": cnt, "batches": nb,
                              "cpu_s": _tree_cpu() - c0, "py_cpu_s": p1 - p0})
    t_end = _now()
    if steady_t0 is not None and t_end > steady_t0:
        res["steady_img_s"] = (total_images - steady_img0) / (t_end - steady_t0)
    res["touched_sum"] = touched
    res["worker_restarts"] = loader.worker_restarts
    res["tree_cpu_end"] = _tree_cpu()
    loader.close()
    return res


def child_touch(cfg):
    """The loop that only touches each batch, with ``augload bench``'s steady-state definition."""
    import augload
    import numpy as np  # noqa: F401

    ds, _ = dataset_kwargs(cfg["root"], cfg["n"])
    E = cfg["epochs"]
    c0, p0, t0 = _tree_cpu(), _self_cpu(), _now()
    loader = make_loader(augload, ds, cfg["workers"], E)
    first = None
    images_n = batches = 0
    touched = 0.0
    for _ in range(E):
        for images, labels in loader:
            touched += float(images[:, 0, 0, 0].sum())
            images_n += len(labels)
            batches += 1
            if first is None:
                first = (_now(), images_n, _self_cpu())
    t1 = _now()
    p1 = _self_cpu()
    res = {"images": images_n, "batches": batches, "total_s": t1 - t0, "img_s": images_n / (t1 - t0),
           "first_s": first[0] - t0, "cpu_s": _tree_cpu() - c0, "engine_workers": loader.engine_workers}
    if batches > 1:
        res["steady_img_s"] = (images_n - first[1]) / (t1 - first[0])
        res["steady_py_us_per_batch"] = 1e6 * (p1 - first[2]) / (batches - 1)
    res["tree_cpu_end"] = _tree_cpu()
    loader.close()
    res["py_cpu_s"] = _self_cpu() - p0
    return res


def child_ttfb(cfg):
    """Time from ``augload.Loader(...)`` to the first batch in hand."""
    import augload
    import numpy as np  # noqa: F401

    ds, _ = dataset_kwargs(cfg["root"], cfg["n"])
    t0 = _now()
    loader = make_loader(augload, ds, cfg["workers"], None)
    t1 = _now()
    it = iter(loader)
    images, labels = next(it)
    t2 = _now()
    shape = list(images.shape)
    del images, labels, it
    workers = loader.engine_workers
    tree_cpu_end = _tree_cpu()
    loader.close()
    return {"ctor_s": t1 - t0, "first_s": t2 - t0, "shape": shape, "engine_workers": workers,
            "tree_cpu_end": tree_cpu_end}


def child_overhead(cfg):
    """Tests/Python/bench_client.py's per-batch figures, by its own functions.

    Its loop over the 30 small fixture images makes the engine faster than the consumer, so the
    engine fills every slot; a failure there is recorded (a race in the engine, see the report),
    and the same loop also runs over the dataset with the table's batches, where the engine is
    the bottleneck.
    """
    sys.path.insert(0, os.path.join(REPO, "Tests", "Python"))
    import bench_client as B

    rounds = cfg["wrap_rounds"]
    res = {"wrap_release_us": B.wrap_release_us(rounds, 64, 224), "wrap_rounds": rounds}
    variants = {
        "fixtures": (cfg["fixtures"], dict(workers=cfg["workers"], batch_size=4, size=16, queue=10, layout="nchw")),
        # the table's batches: the engine (~20 batches/s) is the bottleneck, the slots never fill
        "dataset": (cfg["root"], dict(workers=cfg["workers"], batch_size=64, size=224, queue=10, layout="nchw",
                                      crop="random", flip="h", noise=0.05, dtype="float32")),
    }
    for name, (folder, options) in variants.items():
        batches = cfg["overhead_batches"] if name == "fixtures" else cfg["overhead_dataset_batches"]
        entry = {"folder": folder, "options": options, "batches": batches}
        try:
            cpu_us, wall, _ = B.loop(folder, batches, False, **options)
            entry.update(us_per_batch=cpu_us, batches_per_s=batches / wall)
        except Exception as e:  # an engine or client failure is a result here
            entry["error"] = f"{type(e).__name__}: {e}"
        res["loop_" + name] = entry
    return res


def child_main(cfg):
    kind = cfg["kind"]
    fn = {"epochs": child_epochs, "touch": child_touch, "ttfb": child_ttfb, "overhead": child_overhead}[kind]
    r = fn(cfg)
    sys.stdout.flush()
    print(RESULT_TAG + json.dumps(r), flush=True)


# ====================================================================== parent side
def _smaps_rollup(pid):
    """(Pss, Private) bytes from /proc/PID/smaps_rollup."""
    pss = priv = 0
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) * 1024
            elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                priv += int(line.split()[1]) * 1024
    return pss, priv


def tree_sampler(pid, stop, out, interval, pss_interval):
    """Peak summed RSS (every interval) and PSS/USS (every pss_interval, 0 = off) of pid's tree."""
    import psutil

    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    peak_rss = peak_pss = peak_uss = peak_n = samples = pss_samples = 0
    next_pss = time.perf_counter()
    while not stop.is_set():
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            break
        rss = pss = uss = 0
        want_pss = pss_interval > 0 and time.perf_counter() >= next_pss
        for p in procs:
            try:
                rss += p.memory_info().rss
                if want_pss:
                    a, b = _smaps_rollup(p.pid)
                    pss += a
                    uss += b
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess, OSError):
                pass
        samples += 1
        if want_pss:
            next_pss = time.perf_counter() + pss_interval
            pss_samples += 1
        peak_rss, peak_pss, peak_uss = max(peak_rss, rss), max(peak_pss, pss), max(peak_uss, uss)
        peak_n = max(peak_n, len(procs))
        stop.wait(interval)
    out.update(peak_rss_mb=peak_rss / 2**20, peak_procs=peak_n, rss_samples=samples)
    if pss_interval > 0:
        out.update(peak_pss_mb=peak_pss / 2**20, peak_uss_mb=peak_uss / 2**20, pss_samples=pss_samples)


_CLK = os.sysconf("SC_CLK_TCK")


def _cpu_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = v
    busy = user + nice + system + irq + softirq + steal
    return busy / _CLK, (busy + idle + iowait) / _CLK


def wait_quiet(threshold, max_wait, probe_s=1.0):
    """Wait (at most max_wait s) until the machine is <= threshold busy (as peers.py)."""
    t0 = time.perf_counter()
    while True:
        b0, a0 = _cpu_jiffies()
        time.sleep(probe_s)
        b1, a1 = _cpu_jiffies()
        frac = (b1 - b0) / max(a1 - a0, 1e-9)
        waited = time.perf_counter() - t0
        if threshold <= 0 or frac <= threshold or waited >= max_wait:
            return frac, waited


def run_child(cfg, sample_ms=0, pss_ms=0, timeout=600):
    """One fresh interpreter running child_main(cfg); tree memory sampled if sample_ms > 0."""
    busy0, _ = _cpu_jiffies()
    self0 = _self_cpu()
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", json.dumps(cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    mem, stop = {}, threading.Event()
    th = None
    if sample_ms > 0:
        th = threading.Thread(target=tree_sampler, args=(proc.pid, stop, mem, sample_ms / 1e3, pss_ms / 1e3),
                              daemon=True)
        th.start()
    chunks = {}

    def drain(name, stream):
        chunks[name] = stream.read()

    drains = [threading.Thread(target=drain, args=(n, s)) for n, s in (("out", proc.stdout), ("err", proc.stderr))]
    for d in drains:
        d.start()
    deadline = time.time() + timeout
    while True:
        wpid, status, ru = os.wait4(proc.pid, os.WNOHANG)
        if wpid == proc.pid:
            break
        if time.time() > deadline:
            proc.kill()  # our own child, by pid
            wpid, status, ru = os.wait4(proc.pid, 0)
            break
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    busy1, _ = _cpu_jiffies()
    self1 = _self_cpu()
    stop.set()
    if th is not None:
        th.join()
    for d in drains:
        d.join()
    res = None
    for line in chunks.get("out", "").splitlines():
        if line.startswith(RESULT_TAG):
            res = json.loads(line[len(RESULT_TAG):])
    if res is None:
        err = chunks.get("err", "").strip().splitlines()
        return {"error": f"rc={proc.returncode}: " + " | ".join(err[-6:]), "wall_s": wall}
    cpu_child = ru.ru_utime + ru.ru_stime
    # wait4() of the child: the interpreter and every descendant that was reaped. The engine exits
    # without reaping its workers (they die by PR_SET_PDEATHSIG), so their CPU is NOT in it: the
    # tree's CPU is the larger of that and the child's own reading of its live tree before close.
    tree_cpu = max(cpu_child, res.get("tree_cpu_end", 0.0))
    ncores = len(os.sched_getaffinity(0))
    res["foreign_load"] = max(0.0, (busy1 - busy0) - tree_cpu - (self1 - self0)) / (wall * ncores)
    res["wall_s"] = wall  # interpreter start + imports + run
    res["wait4_cpu_s"] = cpu_child
    res["tree_cpu_s"] = tree_cpu
    res.update(mem)
    return res


def ints(s):
    return [int(x) for x in str(s).split(",") if x.strip() != ""]


def engine_path():
    """The engine the client runs (``$AUGLOAD_ENGINE``, else the installed package's)."""
    from augload._engine import find_engine

    return find_engine()


def versions():
    import augload
    import numpy

    v = {"python": sys.version.split()[0], "numpy": numpy.__version__, "augload": augload.__version__,
         "augload_package": os.path.dirname(os.path.abspath(augload.__file__)), "engine": engine_path()}
    try:
        v["engine_version"] = subprocess.run([v["engine"], "--version"], capture_output=True, text=True,
                                             timeout=10).stdout.strip()
    except Exception:
        pass
    return v


def cmd_run(a):
    base = dict(kind="epochs", root=os.path.abspath(a.root), n=a.n, epochs=a.epochs)
    workers = ints(a.workers)
    runs = {str(w): [] for w in workers}
    t_all = time.perf_counter()
    for rep in range(a.repeats):  # interleaved, as peers.py: every worker count, then the next repeat
        for w in workers:
            pre, waited = wait_quiet(a.quiet_below, a.quiet_max_wait)
            r = run_child(dict(base, workers=w), a.sample_ms, a.pss_ms, a.timeout)
            if "error" not in r and a.retry_noisy > 0 and r["foreign_load"] > a.retry_noisy:
                log(f"[rep {rep + 1}/{a.repeats}] client_w{w}: noisy ({100 * r['foreign_load']:.0f}% other load), "
                    "re-running")
                pre, waited2 = wait_quiet(a.quiet_below, a.quiet_max_wait)
                waited += waited2
                r2 = run_child(dict(base, workers=w), a.sample_ms, a.pss_ms, a.timeout)
                if "error" not in r2 and r2["foreign_load"] < r["foreign_load"]:
                    r2["replaced_noisy"] = r["foreign_load"]
                    r = r2
            r["pre_load"], r["quiet_wait_s"] = pre, waited
            runs[str(w)].append(r)
            if "error" in r:
                log(f"[rep {rep + 1}/{a.repeats}] client_w{w}: FAILED {r['error']}")
            else:
                e0, e1 = r["epochs"][0], r["epochs"][-1]
                log(f"[rep {rep + 1}/{a.repeats}] client_w{w}: 1st {e0['images'] / e0['total_s']:.0f} img/s, "
                    f"warm {e1['images'] / e1['total_s']:.0f} img/s, 1st batch {e0['first_s']:.3f}s, "
                    f"PSS {r.get('peak_pss_mb', 0):.0f} MB, RSS {r.get('peak_rss_mb', 0):.0f} MB, "
                    f"other load {100 * r['foreign_load']:.0f}%, waited {waited:.0f}s")
    summary = []
    for w in workers:
        ok = [r for r in runs[str(w)] if "error" not in r]
        s = {"workers": w, "runs": len(runs[str(w)]), "ok": len(ok)}
        if not ok:
            s["error"] = runs[str(w)][0]["error"] if runs[str(w)] else "no runs"
            summary.append(s)
            continue
        ep = lambda r, i: r["epochs"][i]  # noqa: E731
        s.update(
            engine_workers=ok[0]["engine_workers"],
            cold_img_s=med([ep(r, 0)["images"] / ep(r, 0)["total_s"] for r in ok]),
            warm_img_s=med([ep(r, -1)["images"] / ep(r, -1)["total_s"] for r in ok]),
            steady_img_s=med([r.get("steady_img_s") for r in ok]),
            cold_cpu_ms_per_img=med([1e3 * ep(r, 0)["cpu_s"] / ep(r, 0)["images"] for r in ok]),
            warm_cpu_ms_per_img=med([1e3 * ep(r, -1)["cpu_s"] / ep(r, -1)["images"] for r in ok]),
            wait4_cpu_ms_per_img=med([1e3 * r["wait4_cpu_s"] / sum(e["images"] for e in r["epochs"]) for r in ok]),
            ttfb_s=med([ep(r, 0)["first_s"] for r in ok]),
            ttfb_each=[ep(r, 0)["first_s"] for r in ok],
            ctor_s=med([r["ctor_s"] for r in ok]),
            warm_ttfb_s=med([ep(r, -1)["first_s"] for r in ok]),
            py_us_per_batch_warm=med([1e6 * ep(r, -1)["py_cpu_s"] / ep(r, -1)["batches"] for r in ok]),
            peak_pss_mb=med([r.get("peak_pss_mb") for r in ok]),
            peak_uss_mb=med([r.get("peak_uss_mb") for r in ok]),
            peak_rss_mb=med([r.get("peak_rss_mb") for r in ok]),
            peak_procs=med([r.get("peak_procs") for r in ok]),
            foreign_load=med([r["foreign_load"] for r in ok]),
            warm_img_s_each=[round(ep(r, -1)["images"] / ep(r, -1)["total_s"]) for r in ok],
        )
        summary.append(s)
    meta = {"argv": sys.argv, "versions": versions(), "root": os.path.abspath(a.root), "n": a.n,
            "epochs": a.epochs, "pipeline": PIPELINE, "sample_ms": a.sample_ms, "pss_ms": a.pss_ms,
            "total_seconds": time.perf_counter() - t_all, "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}
    return {"mode": "run", "meta": meta, "summary": summary, "runs": runs}


def bench_once(engine, files_csv, w, epochs, timeout):
    """One ``augload bench`` run of the same files and options; its runs[0] (or an error)."""
    cmd = [engine, "bench", "--files", files_csv, "--workers", str(w), "--epochs", str(epochs),
           "--batch-size", "64", "--size", "224", "--crop", "random", "--flip", "h", "--noise", "0.05",
           "--dtype", "float32", "--layout", "nchw", "--seed", "0", "--json", "-q"]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": "timeout", "cmd": cmd}
    if p.returncode != 0:
        return {"error": f"rc={p.returncode}: {p.stderr.strip()[-300:]}", "cmd": cmd}
    j = json.loads(p.stdout)
    r = j["runs"][0]
    r["ceiling_img_s"] = j["ceiling"]["imagesPerSecond"]
    return r


def cmd_extras(a):
    t_all = time.perf_counter()
    root = os.path.abspath(a.root)
    out = {"mode": "extras", "meta": {"argv": sys.argv, "versions": versions(), "root": root, "n": a.n,
                                       "pipeline": PIPELINE, "started": time.strftime("%Y-%m-%d %H:%M:%S %z")}}
    engine = engine_path()

    # 1. per-batch cost on the Python side (bench_client.py's method)
    log("client overhead (Tests/Python/bench_client.py's method): wrap + release, no-op loops")
    ov = run_child({"kind": "overhead", "workers": a.overhead_workers, "fixtures": os.path.abspath(a.fixtures),
                    "root": root, "wrap_rounds": a.wrap_rounds, "overhead_batches": a.overhead_batches,
                    "overhead_dataset_batches": a.overhead_dataset_batches},
                   timeout=a.timeout)
    out["overhead"] = ov
    if "error" in ov:
        log(f"  FAILED: {ov['error']}")
    else:
        log(f"  wrap + release {ov['wrap_release_us']:.1f} us/batch (no engine)")
        for name in ("fixtures", "dataset"):
            e = ov["loop_" + name]
            log(f"  loop over {name} ({e['options']['batch_size']} x {e['options']['size']}^2): " + (
                f"FAILED {e['error']}" if "error" in e else
                f"{e['us_per_batch']:.1f} us/batch CPU in Python, {e['batches_per_s']:.0f} batches/s"))

    # 2. the touching loop against `augload bench`, same engine, files, options, epochs
    items, _ = list_imagefolder(root)
    if 0 < a.n < len(items):
        items = items[: a.n]
    tmp = tempfile.NamedTemporaryFile("w", suffix=".csv", prefix="bench-client-", delete=False)
    with tmp:
        for p, l in items:
            if "," in p or "\n" in p:
                raise SystemExit(f"a path with a comma or newline cannot go in --files: {p!r}")
            tmp.write(f"{p},{l}\n")
    pairs = {str(w): [] for w in ints(a.workers)}
    try:
        for rnd in range(a.rounds):
            for w in ints(a.workers):
                order = ("bench", "python") if (rnd % 2 == 0) else ("python", "bench")
                pair = {"order": list(order)}
                for side in order:
                    wait_quiet(a.quiet_below, a.quiet_max_wait)
                    if side == "bench":
                        pair["bench"] = bench_once(engine, tmp.name, w, a.ratio_epochs, a.timeout)
                    else:
                        pair["python"] = run_child({"kind": "touch", "root": root, "n": a.n, "workers": w,
                                                    "epochs": a.ratio_epochs}, timeout=a.timeout)
                b, p = pair["bench"], pair["python"]
                if "error" not in b and "error" not in p and b.get("steadyImagesPerSecond"):
                    pair["ratio"] = p["steady_img_s"] / b["steadyImagesPerSecond"]
                    log(f"[round {rnd + 1}/{a.rounds}] workers {w}: python loop {p['steady_img_s']:.0f} img/s, "
                        f"augload bench {b['steadyImagesPerSecond']:.0f} img/s steady -> {pair['ratio']:.3f} "
                        f"(python's other load {100 * p['foreign_load']:.0f}%)")
                else:
                    log(f"[round {rnd + 1}/{a.rounds}] workers {w}: FAILED {b.get('error') or p.get('error')}")
                pairs[str(w)].append(pair)
    finally:
        os.unlink(tmp.name)
    ratio = []
    for w, ps in pairs.items():
        ok = [x for x in ps if "ratio" in x]
        ratio.append({
            "workers": int(w), "rounds": len(ps), "ok": len(ok),
            "ratio_median": med([x["ratio"] for x in ok]),
            "ratio_each": [round(x["ratio"], 3) for x in ok],
            "python_steady_img_s": med([x["python"]["steady_img_s"] for x in ok]),
            "bench_steady_img_s": med([x["bench"]["steadyImagesPerSecond"] for x in ok]),
            "python_img_s": med([x["python"]["img_s"] for x in ok]),
            "bench_img_s": med([x["bench"]["imagesPerSecond"] for x in ok]),
            "python_steady_us_per_batch": med([x["python"].get("steady_py_us_per_batch") for x in ok]),
            "bench_consumer_us_per_batch": med([1e3 * x["bench"]["steadyConsumerCPUMillisecondsPerBatch"]
                                                for x in ok]),
        })
    out["touch_vs_bench"] = {"epochs": a.ratio_epochs, "summary": ratio, "pairs": pairs}

    # 3. time to the first batch
    tt = []
    for rnd in range(a.ttfb_rounds):
        wait_quiet(a.quiet_below, a.quiet_max_wait)
        r = run_child({"kind": "ttfb", "root": root, "n": a.n, "workers": a.ttfb_workers}, timeout=a.timeout)
        tt.append(r)
        if "error" in r:
            log(f"[ttfb {rnd + 1}/{a.ttfb_rounds}] FAILED {r['error']}")
        else:
            log(f"[ttfb {rnd + 1}/{a.ttfb_rounds}] workers {a.ttfb_workers}: Loader() {r['ctor_s']:.3f}s, first batch "
                f"{r['first_s']:.3f}s (other load {100 * r['foreign_load']:.0f}%)")
    ok = [r for r in tt if "error" not in r]
    out["ttfb"] = {"workers": a.ttfb_workers, "rounds": len(tt), "ok": len(ok),
                   "first_s_median": med([r["first_s"] for r in ok]),
                   "first_s_min": min((r["first_s"] for r in ok), default=None),
                   "first_s_max": max((r["first_s"] for r in ok), default=None),
                   "ctor_s_median": med([r["ctor_s"] for r in ok]), "runs": tt}
    out["meta"]["total_seconds"] = time.perf_counter() - t_all
    return out


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "--child":
        child_main(json.loads(sys.argv[2]))
        return
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", default="peers-data/ds/jpeg", help="ImageFolder root (class subfolders)")
    common.add_argument("--n", type=int, default=1000, help="first N files in ImageFolder order (0 = the folder)")
    common.add_argument("--workers", default="2,7", help="Loader(workers=W) values")
    common.add_argument("--quiet-below", type=float, default=0.25,
                        help="before each run wait until the machine is at most this busy (0 = do not wait)")
    common.add_argument("--quiet-max-wait", type=float, default=20)
    common.add_argument("--timeout", type=float, default=600, help="per child run, seconds")
    common.add_argument("--json-out", default="", help="also write the JSON object here")
    r = sub.add_parser("run", parents=[common], help="the table's rows: 2 epochs per fresh interpreter")
    r.add_argument("--repeats", type=int, default=3)
    r.add_argument("--epochs", type=int, default=2)
    r.add_argument("--sample-ms", type=float, default=100, help="tree RSS sampling period")
    r.add_argument("--pss-ms", type=float, default=200, help="tree PSS sampling period (0 = off)")
    r.add_argument("--retry-noisy", type=float, default=0.35,
                   help="re-run once if other processes used more than this fraction of the machine")
    x = sub.add_parser("extras", parents=[common], help="per-batch overhead, touch loop vs augload bench, first batch")
    x.add_argument("--rounds", type=int, default=3, help="pairs (augload bench, Python loop) per worker count")
    x.add_argument("--ratio-epochs", type=int, default=3, help="epochs of each side of a pair")
    x.add_argument("--ttfb-rounds", type=int, default=5)
    x.add_argument("--ttfb-workers", type=int, default=7)
    x.add_argument("--fixtures", default=os.path.join(REPO, "Fixtures", "images"),
                   help="small images for the loop-overhead figure")
    x.add_argument("--overhead-workers", type=int, default=2)
    x.add_argument("--overhead-batches", type=int, default=2000, help="no-op loop over the fixtures (4 x 16^2)")
    x.add_argument("--overhead-dataset-batches", type=int, default=150,
                   help="no-op loop over the dataset (64 x 224^2, the table's batches)")
    x.add_argument("--wrap-rounds", type=int, default=20000)
    a = ap.parse_args()
    res = cmd_run(a) if a.mode == "run" else cmd_extras(a)
    text = json.dumps(res, indent=1)
    if a.json_out:
        with open(a.json_out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
