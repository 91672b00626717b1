"""Total cost and carbon from Python: the same fields and values as the CLI's JSON."""

from __future__ import annotations

import math

import wattage


def test_estimate_cost_embodied_and_carbon_equal_the_cli(cli):
    kwargs = dict(model="llama-3.1-70b", gpus=4, batch=64, samples=0, cost_basis="rent", clean_share=0.4)
    flags = ["--model", "llama-3.1-70b", "--gpus", "4", "--batch", "64", "--samples", "0",
             "--cost-basis", "rent", "--clean-share", "0.4"]
    r = wattage.estimate(**kwargs)
    expected = cli.json("estimate", *flags)
    assert r.to_dict() == expected
    c = r.cost
    assert c.basis == "rent" and c.hardware_rate.usd_per_gpu_hour == 2.0
    assert math.isclose(c.energy_usd + c.hardware_usd, c.total_usd, rel_tol=1e-12)
    assert all(i.source for i in c.hardware_rate.inputs)
    assert r.embodied.co2e_g_low <= r.embodied.co2e_g <= r.embodied.co2e_g_high
    assert math.isclose(r.carbon.market_based_g, 0.6 * r.carbon.location_based_g, rel_tol=1e-12)


def test_train_cost_embodied_and_carbon_equal_the_cli(cli):
    r = wattage.train(gpu_hours=1e6, hardware="a100-sxm", cost_basis="rent")
    expected = cli.json("train", "--gpu-hours", "1e6", "--hardware", "a100-sxm", "--cost-basis", "rent")
    assert r.to_dict() == expected
    assert r.cost.hardware_rate.usd_per_gpu_hour == 1.5
    assert r.embodied.co2e_t > 0 and r.energy_cost_usd == r.cost.energy_usd
