"""Wall time of a `wattage.sweep` of site-day variants on 1 thread and on 2 threads.

The sweep: the Colossus-like reference site (`builtin:colossus`: 150 MW grid, 15 gas
turbines, 811 MWh of batteries, a 125,000-GPU training job and a diurnal inference load), one
day per variant at 1-second steps (86,400 steps), over a grid of battery energy x grid import
connection x seeds: 10 x 10 x 10 = 1,000 variants by default.

Run by hand (not in CI), from the repository root (it takes a few minutes):

    python -m venv target/venv && . target/venv/bin/activate
    pip install ./crates/wattage-python
    python benches/python/bench_sweep.py [--step 1s] [--seeds 10] [--repeats 2]

Prints each run's wall time, the median and best per thread count and the speed-ups, and
checks that both thread counts give the same rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import wattage


def spec(step: str, seeds: int) -> dict:
    return {
        "name": "bench",
        "base": "builtin:colossus",
        "kind": "site",
        "duration": "24h",
        "step": step,
        "seeds": seeds,
        "grid": {
            "batteries[0].energy_mwh": [100.0 * (i + 1) for i in range(10)],
            "grid.import_cap_mw": [60.0 + 15.0 * i for i in range(10)],
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--step", default="1s", help="dispatch step of each variant (default 1s)")
    ap.add_argument("--seeds", type=int, default=10, help="seeds per combination (default 10)")
    ap.add_argument("--repeats", type=int, default=2, help="runs per thread count (default 2)")
    a = ap.parse_args()

    s = spec(a.step, a.seeds)
    n = len(wattage.sweep_variants(s))
    print(f"python {platform.python_version()}, wattage {wattage.__version__}, {os.cpu_count()} cores; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"sweep: {n} variants of builtin:colossus, 24 h at {a.step} steps each")
    times: dict[int, list[float]] = {1: [], 2: []}
    rows = {}
    for r in range(a.repeats):
        for threads in (1, 2):
            t = time.perf_counter()
            res = wattage.sweep(s, threads=threads)
            dt = time.perf_counter() - t
            times[threads].append(dt)
            rows[threads] = res.to_dict()
            print(f"  run {r + 1}, {threads} thread{'s' if threads > 1 else ''}: {dt:7.2f} s "
                  f"({n / dt:6.1f} variants/s)")
    assert rows[1] == rows[2], "1 and 2 threads gave different rows"
    one, two = statistics.median(times[1]), statistics.median(times[2])
    best1, best2 = min(times[1]), min(times[2])
    print(f"median: 1 thread {one:.2f} s, 2 threads {two:.2f} s; speed-up {one / two:.2f}x")
    print(f"best:   1 thread {best1:.2f} s, 2 threads {best2:.2f} s; speed-up {best1 / best2:.2f}x")
    print(f"rows identical; load average now {os.getloadavg()[0]:.2f} (other work on the machine "
          "slows the 2-thread runs most: run it on an idle machine)")


if __name__ == "__main__":
    main()
