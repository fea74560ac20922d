"""Benchmark: a synthetic layer's selectivity measured from an HDF5 table by streaming vs in memory.

Each way runs in a fresh process so that its peak memory is its own (targets: streaming at >= 50% of the
in-memory speed, under 2 GiB peak memory for 200,000 x 4096 values).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import h5py
import torch

from .. import store
from ..selectivity import local_codes, unit_table
from ..selectivity.tables import measure_table, synthetic_table

__all__ = ["bench_main", "measure_once"]


def measure_once(mode: str, path: str, k: int, device: str | None) -> dict:
    """Measure the table at ``path`` one way (``stream`` or ``memory``) in this process: wall and CPU time, time
    spent reading (in memory only), peak resident and GPU memory. Run it in a fresh process for the peaks."""
    start, cpu = time.perf_counter(), time.process_time()
    if mode == "stream":
        measure_table(path, ["synthetic"], k=k, device=device, progress=False)
        read_s = 0.0
    else:
        with h5py.File(path, "r") as f:
            acts, labels = f["acts/synthetic"][:], f["labels"][:]
        read_s = time.perf_counter() - start
        start, cpu = time.perf_counter(), time.process_time()
        # one float64 copy for both measures (each would otherwise convert the float32 table again)
        a = torch.from_numpy(acts).to(device or "cpu", torch.float64)
        del acts
        unit_table(a, labels, k=k)
        local_codes(a, labels)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux
    gpu_peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
    return {"mode": mode, "wall_s": wall, "cpu_s": cpu, "read_s": read_s, "peak_rss_bytes": peak,
            "gpu_peak_bytes": gpu_peak}


def bench_main(argv: list[str] | None = None) -> dict:
    """``localcodes bench selectivity``: a synthetic layer measured from HDF5 (streaming) vs in memory."""
    argv = list(argv or [])
    if argv and argv[0] == "--":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="localcodes bench selectivity", description=bench_main.__doc__)
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--units", type=int, default=4096)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("-k", "--k", type=int, default=100)
    p.add_argument("--device", default="cpu", help="cpu (the CPU target), cuda or auto")
    p.add_argument("--dir", type=Path, default=None, help="where the synthetic table goes (default: results)")
    p.add_argument("--no-in-memory", action="store_true", help="skip the in-memory reference (needs RAM)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    opts = p.parse_args(argv)
    folder = opts.dir or store.results_dir("smoke", "bench")
    table = folder / f"synthetic_{opts.rows}x{opts.units}_{opts.classes}.h5"
    t0 = time.perf_counter()
    synthetic_table(table, opts.rows, opts.units, opts.classes)
    print(f"table {table} ({table.stat().st_size / 2**30:.2f} GiB on disk, written in "
          f"{time.perf_counter() - t0:.1f} s)")
    out = {"rows": opts.rows, "units": opts.units, "classes": opts.classes, "k": opts.k, "device": opts.device,
           "machine": store.device_name(None if opts.device in (None, "auto") else opts.device)}
    for mode in ("stream",) + (() if opts.no_in_memory else ("memory",)):
        code = (f"import json; from localcodes.bench.selectivity import measure_once; "
                f"print(json.dumps(measure_once({mode!r}, {str(table)!r}, {opts.k}, {opts.device!r})))")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"benchmark child ({mode}) failed:\n{proc.stderr[-3000:]}")
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        out[mode] = res
        print(f"{mode:>6}: {res['wall_s']:.1f} s measuring ({res['cpu_s']:.1f} s CPU time)"
              + (f" (+{res['read_s']:.1f} s reading the table into memory)" if mode == "memory" else
                 " (reading included)")
              + f", peak memory {res['peak_rss_bytes'] / 2**30:.2f} GiB"
              + (f", GPU peak {res['gpu_peak_bytes'] / 2**30:.2f} GiB" if res["gpu_peak_bytes"] else ""))
    if "memory" in out:
        out["speed_ratio"] = out["memory"]["wall_s"] / out["stream"]["wall_s"]
        out["cpu_ratio"] = out["memory"]["cpu_s"] / out["stream"]["cpu_s"]
        print(f"streaming runs at {out['speed_ratio']:.0%} of the in-memory speed by wall time "
              f"({out['cpu_ratio']:.0%} by CPU time; target ≥ 50%)")
    print(f"streaming peak memory {out['stream']['peak_rss_bytes'] / 2**30:.2f} GiB (target < 2 GiB)")
    if opts.json:
        store.write_json(opts.json, out)
    return out
