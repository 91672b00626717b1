"""Per-call time of a point estimate: `wattage.estimate(..., samples=0)` against EcoLogits on
a comparable request, in the same process, many calls each.

The request: Llama 3.1 70B in bf16 on 4 x H100, batch 64, 500 output tokens (EcoLogits models
output tokens only, at batch 64 on 80 GB GPUs; wattage is given no prompt tokens to match).
EcoLogits is timed through its high-level `llm_impacts` (model lookup, electricity mix,
ranges, pydantic output: the analogue of `wattage.estimate`, which resolves the catalog and
returns a typed result) and through its core `compute_llm_impacts`.

Run by hand (not in CI), from the repository root:

    python -m venv target/venv && . target/venv/bin/activate
    pip install ./crates/wattage-python ecologits
    python benches/python/bench_estimate.py [--calls 20000] [--repeats 7]

Prints the median time per call of each (over repeats, interleaved, so drift of a shared
machine hits all alike), the ratios, and each library's energy for the request.
"""

from __future__ import annotations

import argparse
import gc
import platform
import statistics
import time

import wattage

try:
    import ecologits
    from ecologits.electricity_mix_repository import electricity_mixes
    from ecologits.impacts.llm import compute_llm_impacts
    from ecologits.tracers.utils import llm_impacts
except ImportError as e:  # pragma: no cover
    raise SystemExit(f"this benchmark needs EcoLogits: pip install ecologits ({e})")

MODEL_ECOLOGITS = ("huggingface_hub", "meta-llama/Meta-Llama-3.1-70B-Instruct")
OUTPUT_TOKENS = 500


def per_call(f, calls: int) -> float:
    """Seconds per call of `f` over `calls` calls (garbage collection off while timing)."""
    gc.disable()
    try:
        t = time.perf_counter()
        for _ in range(calls):
            f()
        return (time.perf_counter() - t) / calls
    finally:
        gc.enable()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--calls", type=int, default=20000, help="calls per timing")
    ap.add_argument("--repeats", type=int, default=7, help="timings of each, interleaved")
    a = ap.parse_args()

    w = wattage.estimate(model="llama-3.1-70b", hardware="h100-sxm", gpus=4, precision="bf16",
                         batch=64, input_tokens=0, output_tokens=OUTPUT_TOKENS, samples=0)
    latency = w.e2e_s  # EcoLogits caps its generation time at the request's measured latency
    mix = electricity_mixes.find_electricity_mix(zone="USA")

    cases = {
        "wattage.estimate(samples=0)": lambda: wattage.estimate(
            model="llama-3.1-70b", hardware="h100-sxm", gpus=4, precision="bf16", batch=64,
            input_tokens=0, output_tokens=OUTPUT_TOKENS, samples=0),
        "ecologits llm_impacts": lambda: llm_impacts(*MODEL_ECOLOGITS, OUTPUT_TOKENS, latency),
        "ecologits compute_llm_impacts": lambda: compute_llm_impacts(
            model_active_parameter_count=70.6, model_total_parameter_count=70.6,
            output_token_count=OUTPUT_TOKENS, request_latency=latency,
            if_electricity_mix_adpe=mix.adpe, if_electricity_mix_pe=mix.pe,
            if_electricity_mix_gwp=mix.gwp, if_electricity_mix_wue=mix.wue,
            datacenter_pue=1.2, datacenter_wue=0.569),
    }
    for f in cases.values():  # warm up: imports, caches, the built-in catalog
        per_call(f, max(100, a.calls // 100))
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(a.repeats):
        for k, f in cases.items():
            times[k].append(per_call(f, a.calls))
    med = {k: statistics.median(v) for k, v in times.items()}

    e = llm_impacts(*MODEL_ECOLOGITS, OUTPUT_TOKENS, latency)
    print(f"python {platform.python_version()}, wattage {wattage.__version__}, ecologits {ecologits.__version__}")
    print(f"{a.calls} calls x {a.repeats} repeats each; median time per call (min .. max over repeats)")
    for k, v in times.items():
        print(f"  {k:<32} {med[k] * 1e6:8.1f} us  ({min(v) * 1e6:.1f} .. {max(v) * 1e6:.1f})")
    base = med["wattage.estimate(samples=0)"]
    print(f"ratio llm_impacts / wattage.estimate:          {med['ecologits llm_impacts'] / base:.1f}x")
    print(f"ratio compute_llm_impacts / wattage.estimate:  {med['ecologits compute_llm_impacts'] / base:.1f}x")
    lo, hi = e.energy.value.min, e.energy.value.max
    print(f"energy of the request: wattage {w.energy_wh:.4f} Wh (facility scope, roofline); "
          f"EcoLogits {lo * 1e3:.4f}-{hi * 1e3:.4f} Wh")


if __name__ == "__main__":
    main()
