"""`wattage.estimate` and `wattage.train` agree with the CLI, value for value."""

from __future__ import annotations

import json
import re
import typing

import pytest

import wattage

from conftest import DATA


@pytest.mark.parametrize(
    "kwargs, flags",
    [
        (dict(model="llama-3.1-70b", gpus=4, batch=64), ["--model", "llama-3.1-70b", "--gpus", "4", "--batch", "64"]),
        (dict(), []),
        (dict(preset="epoch-2025", samples=500), ["--preset", "epoch-2025", "--samples", "500"]),
        (
            dict(
                model="meta-llama/Llama-3.1-70B-Instruct",
                gpus=4,
                batch=64,
                input_tokens=300,
                output_tokens=350,
                scope="gpu",
                region="france",
                samples=0,
                requests_per_day=1e9,
            ),
            [
                "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpus", "4", "--batch", "64",
                "--input-tokens", "300", "--output-tokens", "350", "--scope", "gpu",
                "--region", "france", "--samples", "0", "--requests-per-day", "1e9",
            ],
        ),
        (
            dict(model="llama-3.1-8b", set={"compute_efficiency": "0.6:0.8:0.85", "pue": 1.3}, samples=2000, seed=7),
            ["--model", "llama-3.1-8b", "--set", "compute_efficiency=0.6:0.8:0.85", "--set", "pue=1.3", "--samples", "2000", "--seed", "7"],
        ),
        (dict(model="llama-3.1-8b", method="epoch", precision="fp8"), ["--model", "llama-3.1-8b", "--method", "epoch", "--precision", "fp8"]),
    ],
)
def test_estimate_equals_the_cli(cli, kwargs, flags):
    r = wattage.estimate(**kwargs)
    expected = cli.json("estimate", *flags)
    assert r.to_dict() == expected
    assert r.energy_wh == expected["energy_wh"]
    assert r.breakdown.gpu_wh == expected["breakdown"]["gpu_wh"]
    assert r.assumptions[0].source == expected["assumptions"][0]["source"]


def test_the_readme_example(cli):
    """The brief's check: the same energy as `wattage estimate ... --json`."""
    r = wattage.estimate(model="llama-3.1-70b", gpus=4, batch=64)
    assert r.energy_wh == cli.json("estimate", "--model", "llama-3.1-70b", "--gpus", "4", "--batch", "64")["energy_wh"]


def test_a_user_catalog_is_read(cli, tmp_path):
    entry = wattage.catalog.entry("models", "llama-3.1-8b").to_dict()
    entry.update(id="my-8b", name="My 8B", aliases=[], hf_repos=[], params_active_b=7.0)
    path = tmp_path / "mine.toml"
    path.write_text(wattage._wattage.to_toml({"model": [entry]}, "catalog"))
    r = wattage.estimate(model="my-8b", catalog=path, samples=0)
    expected = cli.json("--catalog", path, "estimate", "--model", "my-8b", "--samples", "0")
    assert r.to_dict() == expected
    assert r.model == "my-8b"
    assert r.flop != wattage.estimate(model="llama-3.1-8b", samples=0).flop
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(model="my-8b", samples=0)
    assert e.value.param == "model"


def test_explain_is_the_clis_with_keyword_names(cli):
    r = wattage.estimate(model="llama-3.1-8b", set="pue=1.25")
    lines = r.explain()
    text = cli.run("estimate", "--model", "llama-3.1-8b", "--set", "pue=1.25", "--explain").stdout.splitlines()
    assert lines[0] == "Inputs"
    assert any("override with `set` NAME=VALUE" in line for line in lines)
    # Every parameter the explanation names (`--set`, `--tensor-parallel-size`, ...) as a keyword.
    def keyword(line: str) -> str:
        return re.sub(r"`--([a-z-]+)`", lambda m: "`" + m.group(1).replace("-", "_") + "`", line)

    assert [keyword(line) for line in text[: len(lines)]] == lines
    assert any(line.strip().startswith("pue") and "1.25" in line for line in lines)


def test_train_equals_the_cli(cli):
    for kwargs, flags in [
        (dict(model="llama-3.1-405b", tokens=15.6e12, cluster_gpus=16384, mfu=0.4), ["--model", "llama-3.1-405b", "--tokens", "15.6e12", "--cluster-gpus", "16384", "--mfu", "0.4"]),
        (dict(gpu_hours=3.8e6, hardware="a100-sxm", region="us-washington", pue=1.1), ["--gpu-hours", "3.8e6", "--hardware", "a100-sxm", "--region", "us-washington", "--pue", "1.1"]),
        (dict(duration="30d", cluster_gpus=1000, power_w=600, carbon_g_per_kwh=100), ["--duration", "30d", "--cluster-gpus", "1000", "--power-w", "600", "--carbon-g-per-kwh", "100"]),
    ]:
        r = wattage.train(**kwargs)
        assert r.to_dict() == cli.json("train", *flags)
    assert wattage.train(duration="1d").flop is None


def _annotated(cls: type) -> set[str]:
    hints = typing.get_type_hints(cls, globalns=vars(wattage._results))
    return {k for k in hints if not k.startswith("_")}


def test_declared_attributes_are_the_json_keys():
    """The classes declare (for type checkers) exactly the keys of the CLI's JSON."""
    e = wattage.estimate(model="llama-3.1-8b", samples=10)
    assert _annotated(wattage.EstimateResult) == set(e.to_dict())
    t = wattage.train(duration="1d")
    assert _annotated(wattage.TrainResult) == set(t.to_dict())
    for key in e.to_dict():
        assert getattr(e, key) == e[key] or isinstance(e[key], (dict, list))


def test_records_read_like_the_json():
    r = wattage.estimate(model="llama-3.1-8b", samples=0)
    assert r.low_wh is None and r.monte_carlo_samples is None
    assert isinstance(r.breakdown, wattage.Record)
    assert r.breakdown.to_dict() == r.to_dict()["breakdown"]
    assert "energy_wh" in r and "nope" not in r
    assert "energy_wh" in dir(r)
    with pytest.raises(AttributeError, match="no attribute `nope`"):
        r.nope  # noqa: B018
    with pytest.raises(AttributeError):
        r.energy_wh = 1.0
    text = repr(r)
    assert text.startswith("EstimateResult(model='llama-3.1-8b'") and "energy_wh=" in text
    d = r.to_dict()
    d["energy_wh"] = -1
    assert r.energy_wh > 0, "to_dict returns a copy"
    assert wattage.estimate(model="llama-3.1-8b", samples=0) == r


def test_scenario_data_files_exist():
    assert (DATA / "run_small.toml").is_file()
