#!/usr/bin/env python3
"""WebDataset shards against the folder they were packed from, in one run, and the shard index at
scale. Two parts (either can be left out):

Throughput. `augload pack DATA` writes the folder as shards; then, in interleaved rounds (the order
rotates each round, so drift on a shared machine spreads over every source), `augload bench`
measures the same pipeline reading
  - folder:      DATA itself,
  - shards/disk: the packed shards (`--shards 'train-{000000..N}.tar'`),
  - shards/http: the same shards from a real nginx on loopback (range requests, keep-alive),
and a table gives each source's median steady img/s (range over rounds), whole-epoch img/s and the
ratios shards/folder and HTTP/disk. Every source's index is built before the first round.

Index scale. `--index-scale N` (1,000,000 by default; 0 skips) writes N synthetic samples in
`--index-shards` SPARSE tar shards: every tar header is real, each `.jpg` member starts with a tiny
valid JPEG and its ~`--sample-kb` KB rest is a hole (seeked over, never written), each `.cls` holds
a label. Then `augload run --shards ... --workers 0 --max-batches 1` (which builds the index, then
decodes one sample) runs with a fresh `$AUGLOAD_INDEX_DIR`, and again with the index kept: the
build and reuse times, the index's size in bytes per sample, and the engine's peak RSS (`wait4`'s
ru_maxrss) above the same command on a small shard set, per sample. The goal: seconds for 1M
samples, about 100 B per sample or less in memory.

    python3 Scripts/bench-shards.py                                    # peers-data/ds/jpeg, 1M samples
    python3 Scripts/bench-shards.py DATA --workers 0,2 --rounds 5 --json out.json
    python3 Scripts/bench-shards.py --index-scale 0                    # throughput only
    python3 Scripts/bench-shards.py --no-throughput --index-scale 200000

The engine is --engine, else $AUGLOAD_ENGINE, else .build/release/augload, .build/debug/augload or
`augload` on PATH. Needs nginx for shards/http (skipped with a note when it is not installed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
PIPELINE = ["--size", "224", "--crop", "random", "--flip", "h", "--noise", "0.05", "--dtype", "float32", "--layout", "nchw"]
TINY_JPEG = ROOT / "Fixtures" / "codecs" / "jpeg-420-17x13.jpg"


def find_engine(given: Optional[str]) -> str:
    """The augload binary to measure."""
    candidates = [given, os.environ.get("AUGLOAD_ENGINE"), ROOT / ".build/release/augload", ROOT / ".build/debug/augload"]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return str(path)
    found = shutil.which("augload")
    if found is None:
        sys.exit("bench-shards: no augload engine: pass --engine or set AUGLOAD_ENGINE")
    return found


def load_nginx() -> Any:
    """Tests/Python/nginx.py, imported by path (it is not a package)."""
    spec = importlib.util.spec_from_file_location("augload_test_nginx", ROOT / "Tests" / "Python" / "nginx.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(command: list[str], env: dict[str, str]) -> str:
    """stdout of a command that must succeed (its stderr shown when it fails)."""
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"bench-shards: {' '.join(command)} exited with {done.returncode}:\n{done.stderr.strip()}")
    return done.stdout


# MARK: throughput


def bench(engine: str, source: list[str], args: argparse.Namespace, env: dict[str, str]) -> dict[int, dict[str, float]]:
    """One `augload bench` of every worker count: {workers: {steady, whole}} img/s."""
    command = [engine, "bench", *source, "--workers", args.workers, "--images", str(args.images), "--json", "--quiet"]
    report = json.loads(run(command + PIPELINE, env))
    return {
        int(r["workers"]): {"steady": float(r["steadyImagesPerSecond"]), "whole": float(r["imagesPerSecond"])}
        for r in report["runs"]
    }


def throughput(engine: str, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    data = Path(args.data).resolve()
    packed = work / "packed"
    packed.mkdir()
    started = time.monotonic()
    spec = run([engine, "pack", str(data), "--out", str(packed / "train"), "--shard-size", args.shard_size, "--quiet"], env).strip()
    pack_seconds = time.monotonic() - started
    shards = sorted(packed.glob("train-*.tar"))
    print(f"packed {data} into {len(shards)} shards ({sum(s.stat().st_size for s in shards) / 1e6:.0f} MB) "
          f"in {pack_seconds:.1f} s: {spec}", file=sys.stderr)  # fmt: skip
    sources: dict[str, list[str]] = {"folder": [str(data)], "shards/disk": ["--shards", spec]}
    nginx = load_nginx()
    server = None
    if nginx.nginx_binary() is None:
        print("bench-shards: nginx is not installed: no shards/http row", file=sys.stderr)
    else:
        server = nginx.NginxServer(packed)
        sources["shards/http"] = ["--shards", f"{server.url}/{Path(spec).name}"]
    results: dict[str, dict[int, list[dict[str, float]]]] = {name: {} for name in sources}
    try:
        for name, source in sources.items():  # build every index outside the measurement
            run([engine, "bench", *source, "--workers", "0", "--images", "64", "--max-batches", "1", "--quiet"], env)
        names = list(sources)
        for round_ in range(args.rounds):
            order = names[round_ % len(names):] + names[: round_ % len(names)]
            for name in order:
                for workers, figures in bench(engine, sources[name], args, env).items():
                    results[name].setdefault(workers, []).append(figures)
                    print(f"round {round_ + 1} {name} workers {workers}: {figures['steady']:.0f} img/s steady", file=sys.stderr)
    finally:
        if server is not None:
            server.stop()
    summary: dict[str, Any] = {"data": str(data), "spec": spec, "shards": len(shards), "pack_seconds": pack_seconds,
                               "images": args.images, "rows": []}  # fmt: skip
    for name, by_workers in results.items():
        for workers, runs in sorted(by_workers.items()):
            steady = [r["steady"] for r in runs]
            summary["rows"].append({
                "source": name, "workers": workers, "steady_median": statistics.median(steady),
                "steady_min": min(steady), "steady_max": max(steady),
                "whole_median": statistics.median(r["whole"] for r in runs), "rounds": len(runs),
            })  # fmt: skip
    median = {(r["source"], r["workers"]): r["steady_median"] for r in summary["rows"]}
    for row in summary["rows"]:
        folder = median.get(("folder", row["workers"]))
        disk = median.get(("shards/disk", row["workers"]))
        row["vs_folder"] = row["steady_median"] / folder if folder else None
        row["http_vs_disk"] = row["steady_median"] / disk if disk and row["source"] == "shards/http" else None
    return summary


def print_throughput(summary: dict[str, Any]) -> None:
    print(f"\n{summary['data']} as {summary['shards']} shards; steady img/s: median (range) of {summary['rows'][0]['rounds']} rounds")
    if 0 < summary["images"] < 640:
        print("note: fewer than 10 batches of 64: the steady figures are noise, compare whole-epoch img/s")
    print("| source | workers | steady img/s | range | whole-epoch img/s | vs folder | HTTP/disk |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in summary["rows"]:
        ratio = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
        print(f"| {r['source']} | {r['workers']} | {r['steady_median']:.0f} | {r['steady_min']:.0f}-{r['steady_max']:.0f} "
              f"| {r['whole_median']:.0f} | {ratio(r['vs_folder'])} | {ratio(r['http_vs_disk'])} |")  # fmt: skip


# MARK: index scale


def tar_header(name: bytes, size: int, mtime: int = 1_700_000_000) -> bytes:
    """A ustar header for a regular file (what tarfile writes, 50x faster for a million members)."""
    header = bytearray(512)
    header[0 : len(name)] = name
    header[100:108] = b"0000644\0"
    header[108:116] = b"0000000\0"
    header[116:124] = b"0000000\0"
    header[124:136] = b"%011o\0" % size
    header[136:148] = b"%011o\0" % mtime
    header[148:156] = b" " * 8
    header[156:157] = b"0"
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def padded(size: int) -> int:
    return (size + 511) // 512 * 512


def write_sparse_shards(folder: Path, samples: int, count: int, sample_kb: int, classes: int = 1000) -> str:
    """`count` sparse shards holding `samples` samples in all; returns their brace pattern."""
    jpeg = TINY_JPEG.read_bytes()
    folder.mkdir(parents=True)
    per_shard = -(-samples // count)
    written = 0
    for shard in range(count):
        n = min(per_shard, samples - written)
        with open(folder / f"syn-{shard:06d}.tar", "wb") as f:
            position = 0
            for i in range(written, written + n):
                key = b"%09d" % i
                size = sample_kb * 1000 + (i * 7919) % 20_000  # sizes differ, as photos do
                f.seek(position)
                f.write(tar_header(key + b".jpg", size) + jpeg)  # the rest of the data: a hole
                position += 512 + padded(size)
                label = b"%d" % (i % classes)
                f.seek(position)
                f.write(tar_header(key + b".cls", len(label)) + label.ljust(512, b"\0"))
                position += 1024
            f.truncate(position + 1024)  # the end-of-archive blocks: zeros, a hole too
        written += n
    return f"{folder}/syn-{{000000..{count - 1:06d}}}.tar"


def timed_run(engine: str, spec: str, env: dict[str, str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes) of a one-sample `augload run` over the shards, which builds
    (or loads) the index first; workers 0, so the engine is the only process."""
    command = [engine, "run", "--shards", spec, "--workers", "0", "--batch-size", "1", "--size", "16",
               "--crop", "center", "--flip", "none", "--max-batches", "1", "--quiet"]  # fmt: skip
    with tempfile.TemporaryFile() as errors:
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, env=env)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.monotonic() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            sys.exit(f"bench-shards: {' '.join(command)} exited with {process.returncode}:\n{errors.read().decode(errors='replace')}")
    return seconds, usage.ru_maxrss * 1024  # Linux: kilobytes


def disk_bytes(folder: Path) -> tuple[int, int]:
    """(apparent size, blocks really allocated) of the files in a folder."""
    files = [p.stat() for p in folder.rglob("*") if p.is_file()]
    return sum(s.st_size for s in files), sum(s.st_blocks * 512 for s in files)


def index_scale(engine: str, args: argparse.Namespace, work: Path, env: dict[str, str]) -> dict[str, Any]:
    n, small_n = args.index_scale, min(1000, args.index_scale)
    started = time.monotonic()
    spec = write_sparse_shards(work / "sparse", n, args.index_shards, args.sample_kb)
    small = write_sparse_shards(work / "sparse-small", small_n, 1, args.sample_kb)
    apparent, allocated = disk_bytes(work / "sparse")
    print(f"wrote {n} sparse samples in {args.index_shards} shards in {time.monotonic() - started:.1f} s: "
          f"{apparent / 1e9:.1f} GB apparent, {allocated / 1e9:.2f} GB on disk", file=sys.stderr)  # fmt: skip
    index_dir = work / "index"
    env = dict(env, AUGLOAD_INDEX_DIR=str(index_dir))
    build_seconds, build_rss = timed_run(engine, spec, env)
    index_bytes, _ = disk_bytes(index_dir)
    reuse_seconds, reuse_rss = timed_run(engine, spec, env)
    timed_run(engine, small, env)  # its index, so the baseline below loads one as the big run did
    _, base_rss = timed_run(engine, small, env)
    samples = max(n - small_n, 1)
    return {
        "samples": n, "shards": args.index_shards, "sample_kb": args.sample_kb,
        "apparent_bytes": apparent, "allocated_bytes": allocated,
        "build_seconds": build_seconds, "reuse_seconds": reuse_seconds,
        "index_bytes": index_bytes, "index_bytes_per_sample": index_bytes / n,
        "build_peak_rss": build_rss, "reuse_peak_rss": reuse_rss, "baseline_peak_rss": base_rss,
        "build_rss_per_sample": (build_rss - base_rss) / samples,
        "reuse_rss_per_sample": (reuse_rss - base_rss) / samples,
    }  # fmt: skip


def print_index(r: dict[str, Any]) -> None:
    mb = lambda v: f"{v / 1e6:.1f} MB"  # noqa: E731
    print(f"\nshard index: {r['samples']:,} samples in {r['shards']} sparse shards "
          f"(~{r['sample_kb']} KB per image, {r['apparent_bytes'] / 1e9:.0f} GB apparent)")  # fmt: skip
    print("| measure | value | goal |")
    print("|---|---:|---|")
    print(f"| index build (first run, one sample decoded) | {r['build_seconds']:.2f} s | seconds |")
    print(f"| index reuse (second run) | {r['reuse_seconds']:.2f} s | |")
    print(f"| index file | {mb(r['index_bytes'])}, {r['index_bytes_per_sample']:.1f} B/sample | |")
    print(f"| engine peak RSS, build | {mb(r['build_peak_rss'])}, {r['build_rss_per_sample']:.1f} B/sample | <= ~100 B/sample |")
    print(f"| engine peak RSS, reuse | {mb(r['reuse_peak_rss'])}, {r['reuse_rss_per_sample']:.1f} B/sample | <= ~100 B/sample |")
    print(f"| baseline peak RSS (1 shard, {min(1000, r['samples'])} samples) | {mb(r['baseline_peak_rss'])} | |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = ROOT / "peers-data" / "ds" / "jpeg"
    parser.add_argument("data", nargs="?", default=str(default_data) if default_data.is_dir() else None,
                        help="an image folder with class sub-folders (default: peers-data/ds/jpeg)")  # fmt: skip
    parser.add_argument("--engine", help="the augload binary (default: $AUGLOAD_ENGINE, .build/..., PATH)")
    parser.add_argument("--workers", default="2", help="worker counts for bench, comma-separated (2)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; medians are reported (3)")
    parser.add_argument("--images", type=int, default=0, help="bench only the first N images (0 = all)")
    parser.add_argument("--shard-size", default="32M", help="pack's --shard-size (32M: several shards)")
    parser.add_argument("--no-throughput", action="store_true", help="skip the folder/disk/HTTP comparison")
    parser.add_argument("--index-scale", type=int, default=1_000_000, help="synthetic samples to index (0 = skip)")
    parser.add_argument("--index-shards", type=int, default=100, help="shards of the synthetic set (100)")
    parser.add_argument("--sample-kb", type=int, default=100, help="apparent KB per synthetic image (100)")
    parser.add_argument("--work", help="folder for the shards and indexes (default: a new temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    if not args.no_throughput and args.data is None:
        parser.error("give an image folder (peers-data/ds/jpeg is not here), or --no-throughput")
    engine = find_engine(args.engine)
    work = Path(tempfile.mkdtemp(prefix="bench-shards-", dir=args.work))
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "SLURM_PROCID", "SLURM_NTASKS")}
    env["AUGLOAD_INDEX_DIR"] = str(work / "index-throughput")
    results: dict[str, Any] = {"engine": engine, "version": run([engine, "--version"], env).strip(), "cores": len(os.sched_getaffinity(0))}
    try:
        if not args.no_throughput:
            results["throughput"] = throughput(engine, args, work, env)
            print_throughput(results["throughput"])
        if args.index_scale > 0:
            results["index"] = index_scale(engine, args, work, env)
            print_index(results["index"])
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
