"""vLLM's deployment keywords (``tensor_parallel_size``, ``data_parallel_size``,
``enable_expert_parallel``; ``gpus`` deprecated), a batch larger than the KV cache holds,
``-FP8`` repository ids: the same as the CLI, value for value."""

from __future__ import annotations

import warnings

import pytest

import wattage


def test_the_layout_keywords_are_the_cli_flags(cli):
    r = wattage.estimate(model="llama-3.1-8b", tensor_parallel_size=2, data_parallel_size=2, samples=0)
    flags = ["--model", "llama-3.1-8b", "--tensor-parallel-size", "2", "--data-parallel-size", "2", "--samples", "0"]
    assert r.to_dict() == cli.json("estimate", *flags)
    assert (r.gpus, r.tensor_parallel_size, r.data_parallel_size, r.enable_expert_parallel) == (4, 2, 2, False)
    ep = wattage.estimate(model="qwen3-30b-a3b", tensor_parallel_size=2, enable_expert_parallel=True, samples=0)
    assert ep.enable_expert_parallel is True
    assert ep.to_dict() == cli.json(
        "estimate", "--model", "qwen3-30b-a3b", "--tensor-parallel-size", "2", "--enable-expert-parallel",
        "--samples", "0",
    )


def test_gpus_still_works_with_a_deprecation_warning():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = wattage.estimate(model="llama-3.1-70b", gpus=8, samples=0)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(messages) == 1 and "`gpus`" in messages[0] and "`tensor_parallel_size`" in messages[0]
    assert old.to_dict() == wattage.estimate(model="llama-3.1-70b", tensor_parallel_size=8, samples=0).to_dict()
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(gpus=2, tensor_parallel_size=2)
    assert "give only `tensor_parallel_size`" in str(e.value)
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(data_parallel_size=0)
    assert e.value.param == "data_parallel_size"


def test_a_batch_the_kv_cache_cannot_hold_is_estimated_at_the_largest_that_fits(cli):
    kw = dict(model="llama-3.1-70b", batch=2000, input_tokens=4000, output_tokens=2000, samples=0)
    r = wattage.estimate(**kw)
    assert r.batch == 2000 and 1 <= r.batch_used < 2000
    assert r.steady_context_tokens == 5000
    assert len(r.warnings) == 1
    # Keywords, not flags, in Python's copy of the warning.
    assert r.warnings[0].startswith("`batch` 2,000 does not fit") and "--" not in r.warnings[0]
    j = cli.json(
        "estimate", "--model", "llama-3.1-70b", "--batch", "2000", "--input-tokens", "4000",
        "--output-tokens", "2000", "--samples", "0",
    )
    assert j["batch_used"] == r.batch_used and j["energy_wh"] == r.energy_wh
    assert j["warnings"][0].startswith("`--batch` 2,000 does not fit")
    fits = wattage.estimate(batch=8, samples=0)
    assert fits.batch_used == 8 and fits.warnings == []


def test_an_fp8_repository_id_selects_fp8_weights():
    repo = "Qwen/Qwen3-235B-A22B-Instruct-2507-FP8"
    r = wattage.estimate(model=repo, samples=0)
    assert (r.precision, r.precision_source) == ("fp8", "repository_id")
    assert any("-FP8" in line for line in r.explain())
    given = wattage.estimate(model=repo, precision="bf16", samples=0)
    assert (given.precision, given.precision_source) == ("bf16", "given")


def test_serving_takes_the_same_layout():
    s = wattage.simulate_serving(
        model="llama-3.1-8b", tensor_parallel_size=2, data_parallel_size=2, requests=30, rate=5, record_requests=False
    )
    assert s.gpus_per_replica == 4
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = wattage.simulate_serving(model="llama-3.1-8b", gpus=2, requests=30, rate=5, record_requests=False)
    assert old.gpus_per_replica == 2
    assert any("tensor_parallel_size" in str(w.message) for w in caught)


def test_a_config_json_path_is_a_model(tmp_path):
    from pathlib import Path
    import json

    fixture = Path(__file__).resolve().parents[2] / "wattage-catalog/tests/fixtures/hf/Qwen__Qwen3-8B.json"
    r = wattage.estimate(model=str(fixture), samples=0)
    assert r.model == str(fixture) and r.energy_wh > 0
    cfg = json.loads(fixture.read_text())
    del cfg["num_hidden_layers"]
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps(cfg))
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(model=str(bad), samples=0)
    assert e.value.param == "model" and str(bad) in str(e.value) and "num_hidden_layers" in str(e.value)


def test_compare_runs_the_same_request_on_other_deployments(cli):
    local = wattage.estimate(
        model="llama-3.1-8b",
        hardware="rtx-4090",
        precision="int4",
        batch=1,
        scope="server",
        samples=0,
        compare=["h100-sxm,batch=64"],
    )
    assert len(local.compared) == 1
    cloud = local.compared[0]
    assert cloud.hardware == "h100-sxm" and cloud.batch_used == 64.0
    assert local.energy_j_per_output_token > 5 * cloud.energy_j_per_output_token
    expected = cli.json(
        "estimate", "--model", "llama-3.1-8b", "--hardware", "rtx-4090", "--precision", "int4",
        "--batch", "1", "--scope", "server", "--samples", "0", "--compare", "h100-sxm,batch=64",
    )
    assert local.to_dict()["compared"] == expected["compared"]
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(model="llama-3.1-8b", samples=0, compare="h100-sxm,speed=2")
    assert e.value.param == "compare"


def test_kv_cache_dtype_is_vllms_keyword(cli):
    kw = dict(model="llama-3.1-70b", hardware="h100-sxm", tensor_parallel_size=4, batch=8,
              input_tokens=30000, output_tokens=500, samples=0)
    bf16 = wattage.estimate(**kw)
    fp8 = wattage.estimate(kv_cache_dtype="fp8_e4m3", **kw)
    assert (bf16.kv_cache_dtype, bf16.kv_cache_dtype_source) == ("bf16", "auto")
    assert (fp8.kv_cache_dtype, fp8.kv_cache_dtype_source) == ("fp8", "given")
    assert fp8.kv_capacity_tokens == pytest.approx(2 * bf16.kv_capacity_tokens, rel=1e-12)
    assert fp8.energy_wh < bf16.energy_wh
    flags = ["--model", "llama-3.1-70b", "--hardware", "h100-sxm", "--tensor-parallel-size", "4",
             "--batch", "8", "--input-tokens", "30000", "--output-tokens", "500", "--samples", "0",
             "--kv-cache-dtype", "fp8_e4m3"]
    assert fp8.to_dict() == cli.json("estimate", *flags)
    assert any("KV cache" in line and "given" in line for line in fp8.explain())
    # auto: fp8 beside 8-bit weights.
    assert wattage.estimate(model="llama-3.1-70b", precision="fp8", kv_cache_dtype="auto", samples=0).kv_cache_dtype == "fp8"
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(kv_cache_dtype="int8", samples=0)
    assert e.value.param == "kv_cache_dtype" and "fp8_e5m2" in str(e.value)
    s = wattage.simulate_serving(
        model="llama-3.1-70b", tensor_parallel_size=4, kv_cache_dtype="fp8", requests=20, rate=5, record_requests=False
    )
    plain = wattage.simulate_serving(
        model="llama-3.1-70b", tensor_parallel_size=4, requests=20, rate=5, record_requests=False
    )
    assert s.kv_capacity_tokens == 2 * plain.kv_capacity_tokens
