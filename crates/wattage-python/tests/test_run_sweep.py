"""`run`, `compare` and `sweep` agree with the CLI: the same summaries, rows and files."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
from pandas.api.types import is_float_dtype, is_integer_dtype, is_string_dtype

import wattage

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from conftest import DATA, without

RUN = DATA / "run_small.toml"
SWEEP = DATA / "sweep_small.toml"
# Wall-clock times of the LP, not results.
TIMES = ("optimized.build_s", "optimized.solve_s")
# The LP's solution: the CLI may be built with another solver (HiGHS with the cargo feature
# `highs`, Clarabel without), and an LP may have several optima, so its objective is compared
# to a tolerance and its design is not compared.
LP = ("optimized",)


def _same_lp(a, b):
    if a is None or b is None:
        assert a is b
        return
    for k in ("scenario", "steps", "step_s", "duration_h", "lp_cols", "lp_rows", "lp_nnz"):
        assert a[k] == b[k], k
    assert a["objective_usd"] == pytest.approx(b["objective_usd"], rel=1e-6)


@pytest.fixture(scope="module")
def run_result():
    return wattage.run(RUN)


@pytest.fixture(scope="module")
def cli_run(cli, tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "small"
    summary = cli.json("run", RUN, "-o", out)
    return summary, out


def test_run_equals_the_cli(run_result, cli_run):
    summary, _ = cli_run
    got = run_result.to_dict()
    assert without(got, *LP) == without(summary, *LP)
    assert run_result.services[0].request.energy_wh == summary["services"][0]["request"]["energy_wh"]
    _same_lp(got["optimized"], summary["optimized"])


def test_run_tables_equal_the_clis_files(run_result, cli_run):
    _, out = cli_run
    for name in ("timeseries", "timeseries_day", "fleet_day"):
        frame = getattr(run_result, name)
        pd.testing.assert_frame_equal(frame, pd.read_parquet(out / f"{name}.parquet"), obj=name)
    req = run_result.requests
    assert list(req) == ["assistant"]
    pd.testing.assert_frame_equal(req["assistant"], pd.read_parquet(out / "requests_assistant.parquet"))
    fleet = run_result.fleet_day
    assert list(fleet.columns) == ["service", "time_of_day_s", "requests_per_s", "replicas_running", "server_power_mw"]
    assert is_string_dtype(fleet.service) and is_integer_dtype(fleet.replicas_running)
    assert is_float_dtype(fleet.server_power_mw)
    assert len(fleet) == 288, "5-minute intervals over a day"
    assert len(run_result.timeseries) == 96 and len(run_result.timeseries_day) == 24 * 60
    assert run_result.timeseries.time.iloc[0].endswith("T00:00:00Z")
    with pytest.warns(DeprecationWarning, match="RunResult.timeseries"):
        assert len(run_result.site_series) == 96


def test_run_writes_the_clis_folder(run_result, cli_run, tmp_path):
    _, cli_out = cli_run
    out = tmp_path / "py"
    r = wattage.run(RUN, out=out)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted(str(p.relative_to(cli_out)) for p in cli_out.rglob("*") if p.is_file())
    assert "report.html" in files and any(f.startswith("charts/") and f.endswith(".png") for f in files)
    written = json.loads((out / "summary.json").read_text())
    assert without(written, *TIMES) == without(r.to_dict(), *TIMES)
    # Written whole: no temporary folder is left beside it, and a second write replaces it.
    r.write(out)
    assert [p.name for p in tmp_path.iterdir()] == ["py"]
    html = r.report_html
    assert html.startswith("<!DOCTYPE html>") and html.count('<figure id="fig-') >= 5


def test_run_from_dict_and_the_default_scenario_text():
    data = tomllib.loads(RUN.read_text())
    data["site"]["optimize"] = None  # None is left out, as if absent
    data["optimize"]["enabled"] = False
    r = wattage.run(data)
    assert r.optimized is None
    assert r.scenario == "small"
    default = wattage.builtin_scenario("default")
    assert 'name = "default"' in default and "[[service]]" in default


def test_compare_equals_the_cli(cli, tmp_path):
    text = RUN.read_text().replace('name = "small"', 'name = "small-b"').replace("requests_per_day = 2.0e8", "requests_per_day = 1.0e8").replace("enabled = true", "enabled = false")
    other = tmp_path / "b.toml"
    other.write_text(text)
    c = wattage.compare([RUN, text], out=tmp_path / "cmp")
    expected = cli.json("compare", RUN, other, "-o", tmp_path / "cli-cmp")
    assert len(c) == 2 and [r.scenario for r in c] == ["small", "small-b"]
    assert [without(x, *LP) for x in c.to_list()] == [without(x, *LP) for x in expected["runs"]]
    for x, y in zip(c.to_list(), expected["runs"]):
        _same_lp(x["optimized"], y["optimized"])
    d = c.to_dict()
    assert d["runs"] == c.to_list()
    assert not c.identical_inputs and d["inputs"] == expected["inputs"]
    assert {i["field"] for i in d["inputs"]} == {"service[0].requests_per_day", "optimize.enabled"}
    # The figures (the LP's aside, as above) and whether they differ agree with the CLI's.
    figs = lambda x: {k["field"]: (k["values"], k["differs"]) for k in x["kpis"] if not k["field"].startswith("optimized.")}
    assert figs(d) == figs(expected)
    assert figs(d)["services[assistant].fleet.gpus"][1] is True
    assert sorted(os.listdir(tmp_path / "cmp")) == ["compare.csv", "compare.html", "compare.json", "small", "small-b"]
    assert "small-b" in c.report_html and 'href="small-b/report.html"' in c.report_html
    with pytest.raises(wattage.InputError, match="rel_tol"):
        wattage.compare([RUN, text], rel_tol=-1.0)
    assert len(c[1].timeseries) == 96
    with pytest.raises(wattage.InputError):
        wattage.compare([RUN])


def test_sweep_equals_the_cli(cli, tmp_path):
    s = wattage.sweep(SWEEP)
    expected = cli.json("sweep", SWEEP, "-o", tmp_path / "sw")
    assert s.to_dict() == expected
    rows = s.rows
    assert list(rows.columns) == ["variant", "name", "batteries[0].energy_mwh", "grid.import_cap_mw", "seed", *expected["kpis"]]
    assert rows.variant.dtype == np.int64 and rows.seed.dtype == np.int64
    assert is_string_dtype(rows["name"]) or rows["name"].dtype == object
    assert rows["batteries[0].energy_mwh"].dtype == np.float64
    for k in expected["kpis"]:
        assert rows[k].dtype == np.float64, k
    assert rows.variant.tolist() == list(range(12))
    assert rows.seed.tolist() == [1, 2] * 6
    cli_rows = pd.read_csv(tmp_path / "sw" / "sweep.csv")
    assert np.allclose(rows.cost_usd.to_numpy(), cli_rows.cost_usd.to_numpy(), rtol=1e-12)
    assert s.report_html == (tmp_path / "sw" / "sweep.html").read_text()


def test_sweep_parts_and_threads_equal_the_whole():
    whole = wattage.sweep(SWEEP, threads=2)
    one = wattage.sweep(SWEEP, threads=1)
    assert one.to_dict() == whole.to_dict()
    part = wattage.sweep(SWEEP, variants=(3, 8))
    pd.testing.assert_frame_equal(part.rows, whole.rows.iloc[3:8].reset_index(drop=True))
    assert wattage.sweep(SWEEP, variants=range(0, 2)).rows.variant.tolist() == [0, 1]
    assert len(wattage.sweep(SWEEP, variants=(5, 5)).rows) == 0


def test_sweep_variants_equal_the_cli_list(cli):
    v = wattage.sweep_variants(SWEEP)
    assert [x.to_dict() for x in v] == cli.json("sweep", SWEEP, "--list")
    assert len(v) == 12 and v[1].seed == 2


def test_sweep_typed_columns_of_listed_variants():
    spec = {
        "name": "typed",
        "base": "builtin:peak-shaving",
        "duration": "2h",
        "step": "300s",
        "grid": {"simulation.seed": [1, 2]},
        "variant": [
            {"name": "small", "batteries[0].energy_mwh": 80.0},
            {"name": "no-peak", "grid.peak_shave_mw": 60.0},
        ],
    }
    rows = wattage.sweep(spec).rows
    assert rows["simulation.seed"].dtype == np.int64
    assert rows["name"].tolist() == ["small", "small", "no-peak", "no-peak"]
    # Each listed variant sets one path: the other is missing there, not "".
    assert rows["batteries[0].energy_mwh"].isna().tolist() == [False, False, True, True]
    assert rows["batteries[0].energy_mwh"].dtype == np.float64
