"""`simulate_serving`, `simulate_site` and `optimize` agree with the CLI; their tables are
DataFrames with the CLI's columns and types."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.api.types import is_float_dtype, is_integer_dtype

import wattage

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from conftest import DATA, SCENARIOS, without

PEAK = SCENARIOS / "peak-shaving.toml"


def test_serving_equals_the_cli_and_its_files(cli, tmp_path):
    kw = dict(model="llama-3.1-8b", rate=3, duration="40s", seed=5, input_tokens=700, max_num_seqs=64)
    flags = ["--model", "llama-3.1-8b", "--rate", "3", "--duration", "40s", "--seed", "5", "--input-tokens", "700", "--max-num-seqs", "64"]
    r = wattage.simulate_serving(**kw)
    assert isinstance(r, wattage.ServingResult)
    out = tmp_path / "serving"
    assert r.to_dict() == cli.json("simulate", "serving", *flags, "--out", out)
    assert r.flat_10pct.utilization == 0.10
    assert r["requests"] == len(r.requests) > 50

    req = r.requests
    assert list(req.columns) == [
        "id", "replica", "arrival_s", "input_tokens", "output_tokens", "queue_ms", "ttft_ms",
        "itl_ms_mean", "e2e_ms", "preemptions", "busy_share_s", "energy_gpu_j",
        "prefill_energy_gpu_j", "energy_server_j", "energy_facility_j", "idle_share_gpu_j",
    ]
    for c in ("id", "replica", "input_tokens", "output_tokens", "preemptions"):
        assert is_integer_dtype(req[c]), c
    for c in ("arrival_s", "ttft_ms", "energy_gpu_j", "energy_facility_j"):
        assert is_float_dtype(req[c]), c
    pd.testing.assert_frame_equal(req, pd.read_parquet(out / "requests.parquet"))

    power = r.timeseries
    assert list(power.columns) == ["time", "elapsed_s", "gpu_w", "server_w", "facility_w"]
    assert power.time.iloc[0] == "2025-01-01T00:00:00Z" and power.time.iloc[1] == "2025-01-01T00:00:01Z"
    assert all(is_float_dtype(power[c]) for c in power.columns[1:])
    assert (power.facility_w >= power.server_w).all() and (power.server_w >= power.gpu_w).all()
    pd.testing.assert_frame_equal(power, pd.read_parquet(out / "timeseries.parquet"))
    assert r.timeseries is power, "a table is decoded once"
    with pytest.warns(DeprecationWarning, match="ServingResult.timeseries"):
        assert r.power is power


def test_serving_without_records():
    r = wattage.simulate_serving(model="llama-3.1-8b", rate=1, duration="20s", record_requests=False)
    assert r.requests is None
    assert len(r.timeseries) > 0


def test_capacity_planning_equals_the_cli(cli):
    r = wattage.simulate_serving(model="llama-3.1-8b", rate=20, duration="30s", slo_ttft_ms=1500, slo_itl_ms=60)
    assert isinstance(r, wattage.CapacityPlan)
    expected = cli.json("simulate", "serving", "--model", "llama-3.1-8b", "--rate", "20", "--duration", "30s", "--slo-ttft-ms", "1500", "--slo-itl-ms", "60")
    assert r.to_dict() == expected
    assert r.meets_slo and r.replicas == r.trials[-1].replicas or r.replicas >= 1


def test_site_equals_the_cli_and_its_series(cli, tmp_path):
    r = wattage.simulate_site(PEAK, duration="24h", step="30s", seed=3, resolution="10m")
    assert isinstance(r, wattage.SiteResult)
    out = tmp_path / "site"
    expected = cli.json("simulate", "site", PEAK, "--duration", "24h", "--step", "30s", "--seed", "3", "--resolution", "10m", "--out", out)
    got = r.to_dict()
    assert got["interruption_list"][:100] == expected["interruption_list"]
    assert without(got, "interruption_list") == without(expected, "interruption_list")
    assert r.cost_usd == expected["cost_usd"] and r.energy_mwh_by_source.grid == expected["energy_mwh_by_source"]["grid"]

    s = r.timeseries
    assert len(s) == 24 * 3600 // 600
    assert list(s.columns[:2]) == ["time", "elapsed_s"] and {"it_mw", "facility_mw", "grid_mw", "battery_mw", "soc_mwh", "soc_pct"} <= set(s.columns)
    assert s.time.iloc[1] == "2025-01-01T00:10:00Z" and s.elapsed_s.iloc[1] == 600.0
    assert all(is_float_dtype(s[c]) for c in s.columns[1:])
    pd.testing.assert_frame_equal(s, pd.read_parquet(out / "timeseries.parquet"))


def test_reliability_equals_the_cli(cli):
    r = wattage.simulate_site(PEAK, duration="12h", step="60s", seeds=3)
    assert isinstance(r, wattage.ReliabilityResult)
    assert r.to_dict() == cli.json("simulate", "site", PEAK, "--duration", "12h", "--step", "60s", "--seeds", "3")
    assert r.seeds == 3 and len(r.runs) == 3


def test_a_scenario_as_path_toml_string_dict_or_builtin_gives_one_result(tmp_path):
    text = PEAK.read_text()
    as_dict = tomllib.loads(text)
    results = [
        wattage.simulate_site(src, duration="24h", step="60s").to_dict()
        for src in (PEAK, str(PEAK), text, as_dict, "builtin:peak-shaving")
    ]
    assert all(r == results[0] for r in results[1:])
    # A dict with nested tables and arrays of tables, changed: the change shows.
    as_dict["batteries"][0]["energy_mwh"] = 40.0
    as_dict["grid"]["import_cap_mw"] = 50.0
    changed = wattage.simulate_site(as_dict, duration="24h", step="60s")
    assert changed.unserved_mwh > results[0]["unserved_mwh"] or changed.cost_usd != results[0]["cost_usd"]
    # A path that contains `=` is still a path.
    odd = tmp_path / "a=b"
    odd.mkdir()
    (odd / "site.toml").write_text(text)
    assert wattage.simulate_site(str(odd / "site.toml"), duration="24h", step="60s").to_dict() == results[0]


def test_csv_profiles_resolve_beside_the_scenario(cli, tmp_path):
    (tmp_path / "load.csv").write_text("time_s,power_mw\n" + "".join(f"{h * 3600},{40 + h}\n" for h in range(24)))
    text = PEAK.read_text()
    head, _, tail = text.partition("[[inference]]")
    inference = '[[inference]]\nname = "serving"\nshape = "profile"\nprofile_csv = "load.csv"\n\n'
    rest = tail.split("\n[", 1)[1]
    site = tmp_path / "site.toml"
    site.write_text(head + inference + "[" + rest)
    r = wattage.simulate_site(site, duration="24h", step="60s")
    expected = cli.json("simulate", "site", site, "--duration", "24h", "--step", "60s")
    assert r.to_dict() == expected
    assert r.timeseries.it_mw.iloc[0] == pytest.approx(40.0)
    # As TOML text, the CSV path is relative to the current directory.
    with pytest.raises(wattage.InputError, match="load.csv"):
        wattage.simulate_site(site.read_text(), duration="24h", step="60s")


def test_optimize_equals_the_cli(cli, tmp_path):
    """An LP may have several optima, and the CLI may be built with another solver (HiGHS
    with the cargo feature `highs`): the objective is compared to a tolerance, not the design."""
    r = wattage.optimize(PEAK, duration="2d", extend=True)
    out = tmp_path / "opt"
    expected = cli.json("optimize", PEAK, "--duration", "2d", "--extend", "--out", out)
    assert r.objective_usd == pytest.approx(expected["objective_usd"], rel=1e-6)
    for k in ("scenario", "steps", "step_s", "duration_h", "lp_cols", "lp_rows", "lp_nnz"):
        assert r[k] == expected[k], k
    assert r.rule_based is not None and r.rule_based.lp_cost_usd == pytest.approx(r.objective_usd)
    assert set(r.to_dict()) == set(expected)

    d = r.timeseries
    assert len(d) == 48
    csv = pd.read_csv(out / "timeseries.csv")
    assert list(d.columns) == list(csv.columns)
    assert all(is_float_dtype(d[c]) for c in d.columns[2:])
    assert d.time.tolist() == csv.time.tolist() and d.elapsed_s.tolist() == csv.elapsed_s.tolist()
    assert (d.load_mw - csv.load_mw).abs().max() < 1e-6, "the load is an input, the same in both"
    balance = d.grid_import_mw - d.grid_export_mw + d.filter(like="_discharge_mw").sum(axis=1) - d.filter(like="_charge_mw").sum(axis=1) + d.unserved_mw
    assert (balance - d.load_mw).abs().max() < 1e-6


def test_optimize_with_a_named_solver(cli):
    r = wattage.optimize(PEAK, duration="1d", solver="clarabel")
    expected = cli.json("optimize", PEAK, "--duration", "1d", "--solver", "clarabel")
    assert r.objective_usd == pytest.approx(expected["objective_usd"], rel=1e-9), "the same solver"
    assert set(r.to_dict()) == set(expected)


def test_optimize_keywords(cli):
    fixed = wattage.optimize("builtin:peak-shaving", step="3600s", duration="1d", no_check=True, method="ipm")
    assert fixed.rule_based is None and fixed.steps == 24
    expected = cli.json("optimize", PEAK, "--step", "3600s", "--duration", "1d", "--no-check", "--method", "ipm")
    assert fixed.objective_usd == pytest.approx(expected["objective_usd"], rel=1e-6)


def test_serving_config_and_trace_files(cli, tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n" + "".join(f"2023-11-16 18:15:{i // 10:02d}.{i % 10}000000,{300 + 7 * i},{50 + i}\n" for i in range(200)))
    config = tmp_path / "serving.toml"
    config.write_text('model = "llama-3.1-8b"\nreplicas = 2\nseed = 9\n')
    r = wattage.simulate_serving(config=config, trace=trace, router="least-outstanding")
    expected = cli.json("simulate", "serving", "--config", config, "--trace", trace, "--router", "least-outstanding")
    assert r.to_dict() == expected
    assert r.replicas == 2 and r.requests.replica.nunique() == 2


def test_data_files_are_shipped():
    assert (DATA / "sweep_small.toml").is_file()


def test_bare_numbers_and_old_names_warn_and_keep_their_old_meaning():
    """A number without a unit keeps its old unit for one release, with a DeprecationWarning
    naming the new spelling; so do the old keywords ``days``, ``gpus`` (train) and ``batch``
    (serving's max_num_seqs)."""
    with pytest.warns(DeprecationWarning, match="`duration` `2` has no unit: read in hours"):
        old = wattage.simulate_site(PEAK, duration=2, step="60s")
    assert old.to_dict() == wattage.simulate_site(PEAK, duration="2h", step="60s").to_dict()
    with pytest.warns(DeprecationWarning, match="`step` `60` has no unit"):
        wattage.simulate_site(PEAK, duration="2h", step=60)
    with pytest.warns(DeprecationWarning, match="`duration` `30` has no unit: read in seconds"):
        old = wattage.simulate_serving(model="llama-3.1-8b", duration=30, seed=2)
    assert old.to_dict() == wattage.simulate_serving(model="llama-3.1-8b", duration="30s", seed=2).to_dict()
    with pytest.warns(DeprecationWarning, match="use `max_num_seqs`"):
        old = wattage.simulate_serving(model="llama-3.1-8b", duration="30s", batch=16)
    assert old.to_dict() == wattage.simulate_serving(model="llama-3.1-8b", duration="30s", max_num_seqs=16).to_dict()
    with pytest.warns(DeprecationWarning) as caught:
        old = wattage.train(days=2, gpus=100)
    assert [str(w.message).split(":")[-1].strip() for w in caught] == ["use `duration`", "use `cluster_gpus`"]
    assert old.to_dict() == wattage.train(duration="2d", cluster_gpus=100).to_dict()
    with pytest.warns(DeprecationWarning, match="`duration` `7200` has no unit: read in seconds"):
        wattage.optimize(PEAK, duration=7200, no_check=True)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wattage.train(duration="2d", cluster_gpus=100)
        wattage.simulate_site(PEAK, duration="2h", step="1m", resolution="1h")
