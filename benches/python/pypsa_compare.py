#!/usr/bin/env python3
"""The PyPSA side of the comparison of `wattage optimize` with PyPSA + HiGHS on an identical
site (benches/python/pypsa_site.toml). Run by hand, not in CI:

    python3 -m venv target/pypsa-venv
    target/pypsa-venv/bin/pip install pypsa highspy
    cargo build --release -p wattage-cli --features highs
    target/pypsa-venv/bin/python benches/python/pypsa_compare.py [HOURS]

It runs `wattage optimize` on the site (timing the whole process), reads the load series it
optimized from its `dispatch.csv`, builds the same problem in PyPSA (grid as a capped
generator at the time-of-use price, the gas unit, the battery as a StorageUnit starting at
`soc_initial` and ending at or above zero, a load-shedding generator at wattage's value of lost
load), solves it with HiGHS, and prints both objectives, problem sizes, iteration counts and
times. The PyPSA process time is measured from the interpreter's start (imports included).
"""

import json
import math
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "benches/python/pypsa_site.toml"
WATTAGE = ROOT / "target/release/wattage"
VOLL = 10_000.0  # wattage's default value of lost load, $/MWh


def run_wattage(hours: int, out: Path) -> dict:
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(WATTAGE), "optimize", str(SITE), "--duration", f"{hours}h", "--no-check",
         "--json", "--out", str(out)],
        check=True, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    s = json.loads(r.stdout)
    s["process_s"] = wall
    return s


def main() -> None:
    hours = int(sys.argv[1]) if len(sys.argv) > 1 else 8760
    with tempfile.TemporaryDirectory() as d:
        w = run_wattage(hours, Path(d))
        import csv
        with open(Path(d) / "dispatch.csv") as f:
            load = [float(row["load_mw"]) for row in csv.DictReader(f)]

    t_py = time.perf_counter()
    import pandas as pd
    import pypsa

    site = tomllib.loads(SITE.read_text())
    g, gt, b = site["grid"], site["turbines"][0], site["batteries"][0]
    hod = [h % 24 for h in range(hours)]
    price = [g["peak_price_usd_per_mwh"] if g["peak_start_hour"] <= h < g["peak_end_hour"]
             else g["price_usd_per_mwh"] for h in hod]
    snapshots = pd.RangeIndex(hours)
    n = pypsa.Network()
    n.set_snapshots(snapshots)
    n.add("Bus", "site")
    n.add("Load", "load", bus="site", p_set=pd.Series(load, index=snapshots))
    n.add("Generator", "grid", bus="site", p_nom=g["import_cap_mw"],
          marginal_cost=pd.Series(price, index=snapshots))
    n.add("Generator", "gas", bus="site", p_nom=gt["count"] * gt["unit_mw"],
          marginal_cost=gt["heat_rate_mmbtu_per_mwh"] * gt["fuel_usd_per_mmbtu"])
    n.add("Generator", "shed", bus="site", p_nom=max(load), marginal_cost=VOLL)
    eta = math.sqrt(b["round_trip_efficiency"])
    n.add("StorageUnit", "bess", bus="site", p_nom=b["power_mw"],
          max_hours=b["energy_mwh"] / b["power_mw"], efficiency_store=eta,
          efficiency_dispatch=eta, cyclic_state_of_charge=False,
          state_of_charge_initial=b["soc_initial"] * b["energy_mwh"])
    t_build = time.perf_counter()
    status, cond = n.optimize(solver_name="highs", solver_options={"threads": 1})
    t_solve = time.perf_counter()
    m = n.model
    print(f"{'':24}{'wattage':>18}{'PyPSA':>18}")
    print(f"{'objective USD':24}{w['objective_usd']:>18.6f}{n.objective:>18.6f}")
    print(f"{'columns':24}{w['lp_cols']:>18}{m.variables.nvars:>18}")
    print(f"{'rows':24}{w['lp_rows']:>18}{m.constraints.ncons:>18}")
    print(f"{'iterations':24}{w['solver_iterations']:>18}{'(HiGHS log)':>18}")
    print(f"{'solve s':24}{w['solve_s']:>18.3f}{'(HiGHS log)':>18}")
    print(f"{'build + solve s':24}{w['build_s'] + w['solve_s']:>18.3f}{t_solve - t_py:>18.3f}")
    print(f"{'process s':24}{w['process_s']:>18.3f}{time.perf_counter() - T_START - w['process_s']:>18.3f}")
    print(f"relative difference of the objectives: "
          f"{abs(w['objective_usd'] - n.objective) / abs(n.objective):.1e}; PyPSA {status}/{cond}, "
          f"model build {t_build - t_py:.3f} s (imports included)")


if __name__ == "__main__":
    main()
