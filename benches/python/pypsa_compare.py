#!/usr/bin/env python3
"""`wattage optimize` beside PyPSA + HiGHS on an identical site (benches/python/pypsa_site.toml).
Run by hand, not in CI:

    python3 -m venv target/pypsa-venv
    target/pypsa-venv/bin/pip install pypsa highspy
    cargo build --release -p wattage-cli --features highs
    target/pypsa-venv/bin/python benches/python/pypsa_compare.py [--hours 8760] [--runs 3]

One run gives, for PyPSA + HiGHS, wattage + Clarabel (the solver of the build users get by
default) and wattage + HiGHS: the problem each solver was handed (columns x rows x nonzeros),
the iterations, the solver's own time, and the whole process. The runs are interleaved
(wattage Clarabel, PyPSA, wattage HiGHS, wattage Clarabel, ...) so that load from other work on
the machine falls on all of them alike; the table gives the range over the runs and the load
average before and after. It is written to benches/python/pypsa_results.md (`--out`).

Every process is timed the same way, from the parent: the wall time of the child from spawn to
exit. The PyPSA child (this script, `--pypsa-worker`) builds the same problem from the load
series wattage optimized (its `timeseries.csv`): the grid as a capped generator at the
time-of-use price, the gas unit, the battery as a StorageUnit starting at `soc_initial` and
ending at or above zero, a load-shedding generator at wattage's value of lost load. It reports
the time of its imports, of `n.optimize.create_model()` and of `n.optimize.solve_model()`, and
from the highspy model linopy keeps (`n.model.solver_model`): HiGHS's run time
(`getRunTime()`), its simplex, IPM and crossover iterations (`getInfo()`) and the size of the
model it was handed; HiGHS's log gives the size after presolve.

wattage runs as users run it (`wattage optimize SITE --duration ...`, with the rule-based check
of the design at the scenario's step); its `--json` gives the LP's size, iterations, build and
solve time (`solve_s`: the solver alone; `build_s`: the formulation and the hand-over to the
solver). Runs with `--no-check` (with and without `--out`) and `wattage --version` split its
process time into start-up, scenario load and the site simulator's probe runs, LP build, solve,
writing the outputs, and the check. With a wattage built without HiGHS, the HiGHS column is
left out.
"""

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

T_START = time.perf_counter()
ROOT = Path(__file__).resolve().parents[2]
SITE = ROOT / "benches/python/pypsa_site.toml"
VOLL = 10_000.0  # wattage's default value of lost load, $/MWh


def timed(cmd: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip()}")
    return wall, r.stdout


def run_wattage(exe: Path, hours: int, solver: str, out: Path | None, check: bool = True) -> dict:
    cmd = [str(exe), "optimize", str(SITE), "--duration", f"{hours}h", "--solver", solver,
           "--quiet", "--json"]
    if out is not None:
        cmd += ["--out", str(out)]
    if not check:
        cmd.append("--no-check")
    wall, stdout = timed(cmd)
    s = json.loads(stdout)
    s["process_s"] = wall
    return s


def has_highs(exe: Path) -> bool:
    r = subprocess.run([str(exe), "optimize", str(SITE), "--duration", "24h", "--solver", "highs",
                        "--quiet", "--no-check", "--json", "--out", tempfile.mkdtemp()],
                       capture_output=True, text=True)
    return r.returncode == 0


def pypsa_worker(hours: int, load_file: Path) -> None:
    """The PyPSA side, in its own process (printed as JSON on stdout)."""
    import pandas as pd
    import pypsa
    import tomllib
    t_import = time.perf_counter()

    load = json.loads(load_file.read_text())
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
    t_network = time.perf_counter()
    m = n.optimize.create_model()
    t_model = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        log = Path(d) / "highs.log"
        status, cond = n.optimize.solve_model(
            solver_name="highs", solver_options={"threads": 1, "log_file": str(log)},
            log_to_console=False)
        t_solve = time.perf_counter()
        log_text = log.read_text() if log.exists() else ""
    h = m.solver_model
    info = h.getInfo()
    presolved = None
    # "Presolve reductions: rows 8760(-113880); columns 43800(-8760); nonzeros ..." (HiGHS 1.x)
    pm = re.search(r"[Rr]eductions: rows (\d+)\(-?\d+\); columns (\d+)\(-?\d+\); "
                   r"(?:elements|nonzeros) (\d+)", log_text)
    if pm:
        presolved = [int(pm.group(2)), int(pm.group(1)), int(pm.group(3))]
    print("\n" + json.dumps({
        "status": f"{status}/{cond}",
        "objective_usd": float(n.objective),
        "cols": int(h.getNumCol()), "rows": int(h.getNumRow()), "nnz": int(h.getNumNz()),
        "presolved": presolved,
        "simplex_iterations": int(info.simplex_iteration_count),
        "ipm_iterations": int(info.ipm_iteration_count),
        "crossover_iterations": int(info.crossover_iteration_count),
        "highs_run_s": float(h.getRunTime()),
        "import_s": t_import - T_START,
        "network_s": t_network - t_import,
        "create_model_s": t_model - t_network,
        "solve_model_s": t_solve - t_model,
    }))


def rng(xs: list[float], fmt: str = "{:.3f}") -> str:
    lo, hi = min(xs), max(xs)
    return fmt.format(lo) if fmt.format(lo) == fmt.format(hi) else f"{fmt.format(lo)}-{fmt.format(hi)}"


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=int, default=8760)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--wattage", type=Path, default=ROOT / "target/release/wattage")
    ap.add_argument("--out", type=Path, default=ROOT / "benches/python/pypsa_results.md")
    ap.add_argument("--pypsa-worker", nargs=2, metavar=("HOURS", "LOAD_JSON"),
                    help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.pypsa_worker:
        pypsa_worker(int(a.pypsa_worker[0]), Path(a.pypsa_worker[1]))
        return

    hours, exe = a.hours, a.wattage
    solvers = ["clarabel"] + (["highs"] if has_highs(exe) else [])
    load_before = loadavg()
    res: dict[str, list[dict]] = {s: [] for s in solvers}
    res["pypsa"] = []
    split: list[dict] = []
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        # The load series wattage optimizes (the site simulator's, averaged per LP step).
        run_wattage(exe, hours, "clarabel", d / "w0", check=False)
        import csv
        with open(d / "w0/timeseries.csv") as f:
            load = [float(row["load_mw"]) for row in csv.DictReader(f)]
        (d / "load.json").write_text(json.dumps(load))
        for i in range(a.runs):
            for s in solvers[:1]:
                res[s].append(run_wattage(exe, hours, s, d / f"{s}{i}"))
            wall, stdout = timed([sys.executable, __file__, "--pypsa-worker", str(hours),
                                  str(d / "load.json")])
            p = json.loads(stdout.strip().splitlines()[-1])
            p["process_s"] = wall
            res["pypsa"].append(p)
            for s in solvers[1:]:
                res[s].append(run_wattage(exe, hours, s, d / f"{s}{i}"))
            # The split of wattage's process time (default solver).
            v, _ = timed([str(exe), "--version"])
            nc = run_wattage(exe, hours, "clarabel", d / f"nc{i}", check=False)
            bare = run_wattage(exe, hours, "clarabel", None, check=False)
            split.append({"start_s": v, "no_check": nc, "bare": bare,
                          "check": res["clarabel"][-1]})
            print(f"run {i + 1}/{a.runs}: " + ", ".join(
                f"{k} {v[-1]['process_s']:.3f} s" for k, v in res.items()), file=sys.stderr)
    load_after = loadavg()

    cols = [("PyPSA + HiGHS", res["pypsa"], True)] + [
        (f"wattage + {'Clarabel (default build)' if s == 'clarabel' else 'HiGHS'}", res[s], False)
        for s in solvers]

    def size(r: dict, py: bool) -> str:
        c, rr, z = (r["cols"], r["rows"], r["nnz"]) if py else (
            r["lp_cols"], r["lp_rows"], r["lp_nnz"])
        return f"{c:,} x {rr:,} x {z:,}"

    def iters(rs: list[dict], py: bool) -> str:
        if py:
            out = rng([r["simplex_iterations"] for r in rs], "{:,}") + " simplex"
            if any(r["ipm_iterations"] for r in rs):
                out += ", " + rng([r["ipm_iterations"] for r in rs], "{:,}") + " IPM"
            return out
        return rng([r["solver_iterations"] for r in rs], "{:,}")

    rows = [
        ("objective USD", lambda rs, py: rng([r["objective_usd"] for r in rs], "{:,.2f}")),
        ("columns x rows x nonzeros (handed to the solver)", lambda rs, py: size(rs[0], py)),
        ("after HiGHS presolve", lambda rs, py: (
            "{:,} x {:,} x {:,}".format(*rs[0]["presolved"]) if py and rs[0]["presolved"]
            else "-")),
        ("iterations", iters),
        ("solve s (the solver's own time)", lambda rs, py: rng(
            [r["highs_run_s"] if py else r["solve_s"] for r in rs])),
        ("model build s", lambda rs, py: rng(
            [r["create_model_s"] if py else r["build_s"] for r in rs])),
        ("model build + solve s", lambda rs, py: rng(
            [r["create_model_s"] + r["solve_model_s"] if py else r["build_s"] + r["solve_s"]
             for r in rs])),
        ("whole process s", lambda rs, py: rng([r["process_s"] for r in rs])),
    ]
    py_proc = [r["process_s"] for r in res["pypsa"]]
    py_solve = [r["highs_run_s"] for r in res["pypsa"]]
    lines = [
        f"# wattage optimize beside PyPSA + HiGHS, {hours} hourly steps",
        "",
        f"`benches/python/pypsa_compare.py --hours {hours} --runs {a.runs}` on the site of "
        "`benches/python/pypsa_site.toml`; ranges over the runs, interleaved; "
        f"{os.cpu_count()} CPUs, load average (1, 5, 15 min) {load_before} before, "
        f"{load_after} after.",
        "",
        "| | " + " | ".join(c[0] for c in cols) + " |",
        "|---|" + "---:|" * len(cols),
    ]
    for label, f in rows:
        lines.append(f"| {label} | " + " | ".join(f(rs, py) for _, rs, py in cols) + " |")
    lines += ["", "Ratios, PyPSA's over wattage's in the same run (range over the runs):", ""]
    for s in solvers:
        ws = res[s]
        solve = [p / w["solve_s"] for p, w in zip(py_solve, ws)]
        proc = [p / w["process_s"] for p, w in zip(py_proc, ws)]
        lines.append(
            f"- {s}: solve {rng(solve, '{:.2f}')}x (median {med(solve):.2f}x; no slower than "
            f"PyPSA's in {sum(x >= 1 for x in solve)} of {len(solve)} runs), whole process "
            f"{rng(proc, '{:.1f}')}x (median {med(proc):.1f}x; at least 20x in "
            f"{sum(x >= 20 for x in proc)} of {len(proc)} runs)")
    p0 = res["pypsa"][0]
    lines += [
        "",
        "PyPSA's process: imports " + rng([r["import_s"] for r in res["pypsa"]]) +
        " s, network " + rng([r["network_s"] for r in res["pypsa"]]) +
        " s, `create_model` " + rng([r["create_model_s"] for r in res["pypsa"]]) +
        " s, `solve_model` " + rng([r["solve_model_s"] for r in res["pypsa"]]) +
        f" s (of which HiGHS's run time above); status {p0['status']}.",
        "",
        "wattage's process (Clarabel), medians over the runs: start-up (`wattage --version`) "
        f"{med([x['start_s'] for x in split]):.3f} s, LP build "
        f"{med([x['no_check']['build_s'] for x in split]):.3f} s, solve "
        f"{med([x['no_check']['solve_s'] for x in split]):.3f} s, scenario load + the site "
        "simulator's probe runs "
        f"{med([x['bare']['process_s'] - x['bare']['build_s'] - x['bare']['solve_s'] - x['start_s'] for x in split]):.3f}"
        " s (a `--no-check` run without `--out` less the rest), writing the outputs "
        f"{med([x['no_check']['process_s'] for x in split]) - med([x['bare']['process_s'] for x in split]):.3f}"
        " s (the median `--no-check` run with `--out` less the median without), the rule-based "
        "check "
        f"{med([x['check']['process_s'] for x in split]) - med([x['no_check']['process_s'] for x in split]):.3f}"
        " s (the median run with the check less the median without); whole process "
        f"{med([x['check']['process_s'] for x in split]):.3f} s.",
    ]
    if len(solvers) == 1:
        lines += ["", f"{exe} was built without HiGHS: no wattage + HiGHS column."]
    text = "\n".join(lines) + "\n"
    a.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
