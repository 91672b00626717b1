"""Each result class declares (for type checkers and stubs) exactly the keys of the CLI's
JSON for its job; the only keys a property shadows are documented ones."""

from __future__ import annotations

import typing

import wattage

from conftest import DATA, SCENARIOS

PEAK = SCENARIOS / "peak-shaving.toml"


def _declared(cls: type) -> set[str]:
    hints = typing.get_type_hints(cls, globalns=vars(wattage._results))
    return {k for k in hints if not k.startswith("_")}


def _properties(cls: type) -> set[str]:
    return {k for c in cls.__mro__ for k, v in vars(c).items() if isinstance(v, property) or hasattr(v, "__set_name__") and not k.startswith("_")}


def test_every_result_declares_its_json_keys():
    results = [
        wattage.estimate(samples=10),
        wattage.train(duration="1d"),
        wattage.simulate_serving(model="llama-3.1-8b", duration="10s"),
        wattage.simulate_serving(model="llama-3.1-8b", duration="10s", slo_ttft_ms=2000, slo_itl_ms=100),
        wattage.simulate_site(PEAK, duration="2h", step="60s"),
        wattage.simulate_site(PEAK, duration="2h", step="60s", seeds=2),
        wattage.optimize(PEAK, duration="1d"),
        wattage.run(DATA / "run_small.toml"),
        wattage.sweep(DATA / "sweep_small.toml", variants=(0, 2)),
    ]
    shadowed = {wattage.ServingResult: {"requests"}, wattage.SweepResult: {"rows"}}
    for r in results:
        cls = type(r)
        keys = set(r.to_dict())
        assert _declared(cls) | shadowed.get(cls, set()) == keys, cls.__name__
        assert keys & _properties(cls) == shadowed.get(cls, set()), cls.__name__
        for k in keys - shadowed.get(cls, set()):
            getattr(r, k)
