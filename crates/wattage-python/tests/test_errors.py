"""Bad input raises `InputError` carrying what the CLI shows (file, line, column, field,
message, hints), with parameters named as keywords; it never crashes the interpreter."""

from __future__ import annotations

import pickle

import pytest

import wattage

from conftest import DATA, SCENARIOS

PEAK = SCENARIOS / "peak-shaving.toml"


def _cli_error(cli, *args):
    p = cli.run(*args, check=False)
    assert p.returncode == 2, p.stderr
    lines = p.stderr.splitlines()
    assert lines[0].startswith("error: ")
    return lines


def test_a_bad_scenario_file_names_file_line_and_field(cli, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(
        DATA.joinpath("run_small.toml").read_text().replace("peak_hour = 16.0", "peak_hour = 30.0")
    )
    with pytest.raises(wattage.InputError) as e:
        wattage.run(path)
    err = e.value
    assert err.file == str(path)
    assert err.field == "service[0].peak_hour"
    assert err.line == path.read_text().splitlines().index("peak_hour = 30.0") + 1
    assert err.column == len("peak_hour = ") + 1
    assert err.param is None
    assert "peak_hour = 30.0" in err.snippet
    cli_lines = _cli_error(cli, "run", path, "-o", tmp_path / "out")
    assert str(err).splitlines()[0] == cli_lines[0][len("error: ") :]
    assert "\n".join(cli_lines).replace("error: ", "", 1) == str(err)


def test_an_unknown_field_in_a_site_scenario(cli, tmp_path):
    path = tmp_path / "site.toml"
    path.write_text(PEAK.read_text().replace("[grid]\n", "[grid]\nimport_cap = 5\n"))
    with pytest.raises(wattage.InputError) as e:
        wattage.simulate_site(path)
    err = e.value
    assert (err.file, err.field) == (str(path), "grid.import_cap")
    assert err.line == PEAK.read_text().splitlines().index("[grid]") + 2
    assert str(err) == "\n".join(_cli_error(cli, "simulate", "site", path)).replace("error: ", "", 1)


def test_a_bad_keyword_names_it_as_a_keyword(cli):
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(model="llama-3.1-70b", tensor_parallel_size=1)
    err = e.value
    assert err.param == "tensor_parallel_size" and err.file is None and err.line is None
    assert str(err).startswith("invalid `tensor_parallel_size`: ")
    assert err.hints == ["use `tensor_parallel_size` = 4, or a narrower `precision` (fp8 halves bf16 weights)"]
    cli_lines = _cli_error(cli, "estimate", "--model", "llama-3.1-70b", "--tensor-parallel-size", "1")
    assert cli_lines[0] == "error: " + str(err).splitlines()[0].replace(
        "`tensor_parallel_size`", "`--tensor-parallel-size`", 1
    )
    assert cli_lines[1] == "hint: use `--tensor-parallel-size` = 4, or a narrower `--precision` (fp8 halves bf16 weights)"
    assert isinstance(err, ValueError) and isinstance(err, wattage.WattageError)


@pytest.mark.parametrize(
    "call, param",
    [
        (lambda: wattage.estimate(batch=0), "batch"),
        (lambda: wattage.estimate(gpus="four"), "gpus"),
        (lambda: wattage.estimate(gpus=-1), "gpus"),
        (lambda: wattage.estimate(gpus=2**40), "gpus"),
        (lambda: wattage.estimate(input_tokens=float("nan")), "input_tokens"),
        (lambda: wattage.estimate(output_tokens=float("inf")), "output_tokens"),
        (lambda: wattage.estimate(scope="planet"), "scope"),
        (lambda: wattage.estimate(region="atlantis"), "region"),
        (lambda: wattage.estimate(model="lama-3.1-70b"), "model"),
        (lambda: wattage.estimate(hardware="h1000"), "hardware"),
        (lambda: wattage.estimate(precision="fp3"), "precision"),
        (lambda: wattage.estimate(method="guess"), "method"),
        (lambda: wattage.estimate(preset="nope"), "preset"),
        (lambda: wattage.estimate(set="nope=1"), "set"),
        (lambda: wattage.estimate(set={"pue": "abc"}), "set"),
        (lambda: wattage.estimate(set=[3]), "set"),
        (lambda: wattage.estimate(samples=-5), "samples"),
        (lambda: wattage.estimate(requests_per_day=-1), "requests_per_day"),
        (lambda: wattage.estimate(catalog=5), "catalog"),
        (lambda: wattage.estimate(seed=object()), "seed"),
        (lambda: wattage.train(model="llama-3.1-8b", tokens=1e12, precision="fp2"), "precision"),
        (lambda: wattage.train(duration="1d", hardware="nope"), "hardware"),
        (lambda: wattage.simulate_serving(rate=-1, duration="5s"), "rate"),
        (lambda: wattage.simulate_serving(router="random"), "router"),
        (lambda: wattage.simulate_serving(scheduler="eager"), "scheduler"),
        (lambda: wattage.simulate_serving(scope="moon"), "scope"),
        (lambda: wattage.simulate_serving(max_num_seqs=0, duration="5s"), "max_num_seqs"),
        (lambda: wattage.simulate_serving(slo_ttft_ms=100), None),
        (lambda: wattage.simulate_serving(trace="/nonexistent/trace.csv"), None),
        (lambda: wattage.simulate_serving(config="/nonexistent/c.toml"), None),
        (lambda: wattage.simulate_site(PEAK, duration="-1h"), "duration"),
        (lambda: wattage.simulate_site(PEAK, step="0s"), "step"),
        (lambda: wattage.simulate_site(PEAK, seeds=0), "seeds"),
        (lambda: wattage.simulate_site(PEAK, seeds="many"), "seeds"),
        (lambda: wattage.simulate_site(PEAK, resolution="-3s"), "resolution"),
        (lambda: wattage.simulate_site(42), "scenario"),
        (lambda: wattage.simulate_site("builtin:mars"), "scenario"),
        (lambda: wattage.simulate_site("/nonexistent.toml"), None),
        (lambda: wattage.simulate_site("name = "), None),
        (lambda: wattage.simulate_site({"name": float("nan")}), "scenario"),
        (lambda: wattage.simulate_site({"name": "x", "simulation": {"step_s": [1, {"a": 1}]}}), None),
        (lambda: wattage.optimize(PEAK, step="fortnight"), "step"),
        (lambda: wattage.optimize(PEAK, duration=[1]), "duration"),
        (lambda: wattage.optimize(PEAK, method="magic"), "method"),
        (lambda: wattage.optimize(PEAK, solver="gurobi"), "solver"),
        (lambda: wattage.optimize(PEAK, expansion="/nonexistent.toml"), None),
        (lambda: wattage.optimize(PEAK, expansion=PEAK, extend=True), None),
        (lambda: wattage.run("name = 'x'\n"), None),
        (lambda: wattage.sweep(DATA / "sweep_small.toml", variants=(0, 99)), "variants"),
        (lambda: wattage.sweep(DATA / "sweep_small.toml", variants=(5, 2)), "variants"),
        (lambda: wattage.sweep(DATA / "sweep_small.toml", variants=(-1, 2)), "variants"),
        (lambda: wattage.sweep(DATA / "sweep_small.toml", variants=3), "variants"),
        (lambda: wattage.sweep(DATA / "sweep_small.toml", threads=0), "threads"),
        (lambda: wattage.sweep({"base": "builtin:peak-shaving", "grid": {"nothing.here": [1]}}), None),
        (lambda: wattage.sweep({"base": "builtin:peak-shaving", "grid": {"grid.import_cap_mw": []}}), None),
        (lambda: wattage.sweep({"base": "builtin:peak-shaving", "seeds": 0}), None),
        (lambda: wattage.catalog.entry("models", "gpt-7"), None),
        (lambda: wattage.catalog.entry("planets", "earth"), "kind"),
        (lambda: wattage.catalog.models(catalog="/nonexistent.toml"), None),
        (lambda: wattage.builtin_scenario("mars"), "name"),
    ],
)
def test_bad_input_raises_input_error(call, param):
    with pytest.raises(wattage.InputError) as e:
        call()
    assert e.value.param == param, str(e.value)
    assert e.value.message and str(e.value)


def test_a_bad_catalog_file_names_its_line(tmp_path):
    bad = tmp_path / "cat.toml"
    bad.write_text("[[model]]\nid = \"x\"\nlayers = \"many\"\n")
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(catalog=bad)
    assert e.value.file == str(bad) and e.value.line == 3


def test_errors_pickle_with_their_attributes():
    with pytest.raises(wattage.InputError) as e:
        wattage.estimate(model="llama-3.1-70b", gpus=1)
    back = pickle.loads(pickle.dumps(e.value))
    assert type(back) is wattage.InputError
    assert (back.param, back.message, back.hints, str(back)) == (e.value.param, e.value.message, e.value.hints, str(e.value))


def test_unknown_keywords_are_type_errors():
    with pytest.raises(TypeError):
        wattage.estimate(modle="llama-3.1-8b")  # type: ignore[call-arg]
