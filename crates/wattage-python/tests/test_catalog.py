"""`wattage.catalog`: the CLI's catalog as DataFrames, one row per entry."""

from __future__ import annotations

import json

import numpy as np
import pytest
from pandas.api.types import is_bool_dtype, is_float_dtype, is_integer_dtype, is_string_dtype

import wattage


@pytest.mark.parametrize("kind", ["hardware", "models", "regions"])
def test_listings_equal_the_cli(cli, kind):
    frame = getattr(wattage.catalog, kind)()
    expected = cli.json("catalog", kind)
    assert len(frame) == len(expected)
    assert list(frame.columns) == list(expected[0])
    assert frame["id"].tolist() == [e["id"] for e in expected]
    assert is_string_dtype(frame["id"]) or frame["id"].dtype == object
    assert [dict(s) for s in frame["sources"]] == [e["sources"] for e in expected]


def test_column_types():
    m = wattage.catalog.models()
    for c in ("layers", "hidden", "heads", "kv_heads", "context"):
        assert is_integer_dtype(m[c]), c
    for c in ("params_total_b", "params_active_b", "reasoning_multiplier"):
        assert is_float_dtype(m[c]), c
    assert is_bool_dtype(m["estimate"])
    r = wattage.catalog.regions().set_index("id")
    assert is_float_dtype(r["carbon_g_per_kwh"]) and r.loc["us-average", "carbon_g_per_kwh"] == 367.0
    h = wattage.catalog.hardware().set_index("id")
    assert h.loc["h100-sxm", "tdp_w"] == 700.0
    assert h.loc["h100-sxm", "peak_tflops"]["bf16"] > 900


def test_an_entry_equals_the_cli(cli):
    e = wattage.catalog.entry("models", "meta-llama/Llama-3.1-70B-Instruct")
    assert e.to_dict() == cli.json("catalog", "models", "meta-llama/Llama-3.1-70B-Instruct")
    assert e.id == "llama-3.1-70b" and e.params_active_b == 70.6 and e.sources.all


def test_user_catalog_files_extend_the_listing(tmp_path):
    entry = wattage.catalog.entry("regions", "us-average").to_dict()
    entry.update(id="moon-base", name="Moon base", aliases=[], carbon_g_per_kwh=1.0)
    path = tmp_path / "moon.toml"
    path.write_text(wattage._wattage.to_toml({"region": [entry]}, "catalog"))
    regions = wattage.catalog.regions(catalog=path)
    assert regions["id"].tolist()[-1] == "moon-base"
    assert len(regions) == len(wattage.catalog.regions()) + 1
    r = wattage.estimate(region="moon-base", catalog=[path], samples=0)
    assert np.isclose(r.co2e_g, r.energy_wh / 1000 * 1.0)
