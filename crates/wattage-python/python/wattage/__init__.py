"""wattage: the energy, carbon, water and cost of AI work, from one LLM request up to a
gigawatt campus.

Every function runs one of the engine's jobs, the same as the ``wattage`` command line
tool: keyword arguments are the CLI's flags in snake_case (``--input-tokens`` is
``input_tokens``), results are typed objects whose attributes are the keys of the CLI's
``--json`` output, and tables are pandas DataFrames. Calls release the GIL, so threads run
jobs in parallel. Bad input raises :class:`InputError` naming the keyword, or the file, line
and field at fault.

>>> import wattage
>>> r = wattage.estimate(model="llama-3.1-70b", gpus=4, batch=64)
>>> round(r.energy_wh, 4) > 0
True
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Optional, Sequence, Union

from . import _inputs, _wattage
from . import catalog as catalog
from ._errors import InputError, WattageError
from ._inputs import Source, Text
from ._results import (
    CapacityPlan,
    Comparison,
    EstimateResult,
    OptimizeResult,
    Record,
    ReliabilityResult,
    RunResult,
    ServingResult,
    SiteResult,
    SweepResult,
    TrainResult,
)

__version__: str = _wattage.__version__

__all__ = [
    "CapacityPlan",
    "Comparison",
    "EstimateResult",
    "InputError",
    "OptimizeResult",
    "Record",
    "ReliabilityResult",
    "RunResult",
    "ServingResult",
    "SiteResult",
    "Source",
    "SweepResult",
    "Text",
    "TrainResult",
    "WattageError",
    "builtin_scenario",
    "catalog",
    "compare",
    "estimate",
    "optimize",
    "run",
    "simulate_serving",
    "simulate_site",
    "sweep",
    "sweep_variants",
    "train",
]

PathArg = Union[str, "os.PathLike[str]"]
CatalogArg = Union[PathArg, Sequence[PathArg], None]


def estimate(
    model: Optional[str] = None,
    hardware: Optional[str] = None,
    tensor_parallel_size: Optional[int] = None,
    precision: Optional[str] = None,
    batch: Optional[float] = None,
    input_tokens: Optional[float] = None,
    output_tokens: Optional[float] = None,
    method: Optional[str] = None,
    preset: Optional[str] = None,
    scope: str = "facility",
    region: str = "us-average",
    set: Union[str, Sequence[str], Mapping[str, Any], None] = None,
    samples: int = 20000,
    seed: int = 42,
    requests_per_day: Optional[float] = None,
    catalog: CatalogArg = None,
    cost_basis: Optional[str] = None,
    clean_share: float = 0.0,
    residual_carbon_g_per_kwh: Optional[float] = None,
    data_parallel_size: Optional[int] = None,
    enable_expert_parallel: bool = False,
    kv_cache_dtype: Optional[str] = None,
    gpus: Optional[int] = None,
    compare: Union[str, Sequence[str], None] = None,
) -> EstimateResult:
    """Energy, latency, carbon, water and cost of one LLM request (``wattage estimate``).

    Args:
        model: Catalog id, alias or Hugging Face repository, or the path of a Hugging Face
            ``config.json`` [default: ``gpt-4o-est``].
        hardware: Accelerator [default: ``h100-sxm``].
        tensor_parallel_size: GPUs each attention and dense layer is sharded over, as vLLM's
            ``--tensor-parallel-size`` [default: the fewest that hold the weights]. GPUs per
            replica = ``tensor_parallel_size x data_parallel_size``.
        precision: Weight precision (``bf16``, ``fp8``, ...) [default: ``fp8`` for a Hugging
            Face repository id ending in ``-FP8``, else the model's].
        batch: Mean number of running sequences per replica [default: 32; 1 with the epoch
            method]. When the KV cache cannot hold that many at steady state (prompt +
            output / 2 tokens each), the estimate runs at the largest batch that fits:
            ``batch_used`` and ``warnings`` say so.
        input_tokens: Prompt tokens [default: 500].
        output_tokens: Output tokens [default: 500].
        method: ``roofline`` or ``epoch`` [default: roofline].
        preset: A named preset (``epoch-2025``); the other arguments override it.
        scope: Energy boundary: ``gpu``, ``server`` or ``facility``.
        region: Grid region for carbon, water, PUE and price.
        set: Assumption overrides: ``"pue=1.3"``, a list of them, or a dict
            ``{"pue": 1.3, "compute_efficiency": "0.6:0.8:0.85"}`` (a value may be a range
            ``LOW..HIGH``, ``LOW:MODE:HIGH`` or ``MEAN~SD``).
        samples: Monte Carlo samples for the p5-p95 range (0: a point estimate only).
        seed: Seed of the Monte Carlo.
        requests_per_day: Scale to a fleet serving this many requests a day (``fleet``).
        catalog: Extra catalog file(s) in the built-in schema.
        cost_basis: How the hardware is paid for: ``capex`` or ``rent`` [default: capex
            when the catalog has the prices, else rent] (``cost``).
        clean_share: Share of consumption covered by contracted clean energy, 0-1, for
            market-based carbon (``carbon``).
        residual_carbon_g_per_kwh: Intensity of uncovered consumption for market-based
            carbon [default: the region's residual mix, else its location-based average].
        data_parallel_size: Attention replicas inside one replica, each with its own KV cache
            and share of the batch, as vLLM's ``--data-parallel-size`` [default: 1].
        enable_expert_parallel: Spread a mixture-of-experts model's experts over all GPUs of
            the replica, as vLLM's ``--enable-expert-parallel``.
        kv_cache_dtype: The KV cache's type, as vLLM's ``--kv-cache-dtype``: ``auto``,
            ``bf16``, ``fp16``, ``fp8`` (or ``bfloat16``, ``float16``, ``fp8_e4m3``,
            ``fp8_e5m2``) [default: ``auto``, wattage's rule: fp8 when the weights are 8-bit
            or narrower, else bf16; vLLM's own ``auto`` keeps 16 bit whatever the weights].
        gpus: Deprecated spelling of ``tensor_parallel_size``.
        compare: The same request on other deployments, side by side (``compared``): a
            hardware id, or ``"HARDWARE,KEY=VALUE,..."`` with keys ``precision``,
            ``kv_cache_dtype``, ``batch``, ``tensor_parallel_size``, ``data_parallel_size``,
            ``enable_expert_parallel``; or a list of them. Example: ``compare="h100-sxm,batch=64"`` beside a local
            ``hardware="rtx-4090", precision="int4", batch=1``.

    Returns:
        The estimate; ``.explain()`` gives every assumption and the arithmetic.

    Raises:
        InputError: A bad value; ``param`` names the keyword.
    """
    spec = dict(
        model=model,
        hardware=hardware,
        tensor_parallel_size=tensor_parallel_size,
        data_parallel_size=data_parallel_size,
        enable_expert_parallel=enable_expert_parallel,
        gpus=gpus,
        precision=precision,
        kv_cache_dtype=kv_cache_dtype,
        batch=batch,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        method=method,
        preset=preset,
        scope=scope,
        region=region,
        set=_inputs.overrides(set),
        samples=samples,
        seed=seed,
        requests_per_day=requests_per_day,
        cost_basis=cost_basis,
        clean_share=clean_share,
        residual_carbon_g_per_kwh=residual_carbon_g_per_kwh,
        compare=[compare] if isinstance(compare, str) else (list(compare) if compare else None),
    )
    return EstimateResult(_wattage.estimate(spec, _inputs.catalogs(catalog)))


def train(
    model: Optional[str] = None,
    tokens: Optional[float] = None,
    mfu: float = 0.4,
    precision: str = "bf16",
    gpu_hours: Optional[float] = None,
    duration: Union[str, float, None] = None,
    hardware: str = "h100-sxm",
    cluster_gpus: Optional[float] = None,
    power_w: Optional[float] = None,
    server_factor: float = 1.82,
    region: str = "us-average",
    pue: Optional[float] = None,
    carbon_g_per_kwh: Optional[float] = None,
    catalog: CatalogArg = None,
    cost_basis: Optional[str] = None,
    clean_share: float = 0.0,
    residual_carbon_g_per_kwh: Optional[float] = None,
    days: Optional[float] = None,
    gpus: Optional[float] = None,
) -> TrainResult:
    """Energy, power and emissions of a training run (``wattage train``).

    Give exactly one of ``tokens`` (with ``model``: 6 x active parameters x tokens at
    ``mfu``), ``gpu_hours`` or ``duration``.

    Args:
        model: The model trained (with ``tokens``).
        tokens: Training tokens.
        mfu: Model FLOP utilization, 0-1.
        precision: Training precision, for the accelerator's peak throughput.
        gpu_hours: Reported accelerator-hours.
        duration: Wall-clock time on all accelerators: ``"30d"``, ``"2160h"`` (a bare number
            is days, deprecated).
        hardware: Accelerator.
        cluster_gpus: Accelerators in the whole training job [default: 16384] (a serving
            replica's are ``gpus``).
        power_w: Mean power per accelerator, W [default: its TDP].
        server_factor: Server-and-network multiplier on accelerator power.
        region: Grid region for carbon intensity and PUE.
        pue: Power usage effectiveness [default: the region's].
        carbon_g_per_kwh: Carbon intensity [default: the region's].
        cost_basis: How the hardware is paid for: ``capex`` or ``rent`` (``cost``).
        clean_share: Share of consumption covered by contracted clean energy, 0-1
            (market-based ``carbon``).
        residual_carbon_g_per_kwh: Intensity of uncovered consumption for market-based
            carbon [default: the region's residual mix, else its location-based average].
        catalog: Extra catalog file(s).
        days: Deprecated: use ``duration`` (``days=30`` is ``duration="30d"``).
        gpus: Deprecated: use ``cluster_gpus``.

    Raises:
        InputError: A bad value or combination.
    """
    spec = dict(
        model=model,
        tokens=tokens,
        mfu=mfu,
        precision=precision,
        gpu_hours=gpu_hours,
        duration=_inputs.duration_text(duration, "duration"),
        days=days,
        hardware=hardware,
        cluster_gpus=cluster_gpus,
        gpus=gpus,
        power_w=power_w,
        server_factor=server_factor,
        region=region,
        pue=pue,
        carbon_g_per_kwh=carbon_g_per_kwh,
        cost_basis=cost_basis,
        clean_share=clean_share,
        residual_carbon_g_per_kwh=residual_carbon_g_per_kwh,
    )
    return TrainResult(_wattage.train(spec, _inputs.catalogs(catalog)))


def simulate_serving(
    model: Optional[str] = None,
    hardware: Optional[str] = None,
    tensor_parallel_size: Optional[int] = None,
    precision: Optional[str] = None,
    config: Optional[PathArg] = None,
    replicas: Optional[int] = None,
    rate: Optional[float] = None,
    duration: Union[str, float, None] = None,
    requests: Optional[int] = None,
    clients: Optional[int] = None,
    input_tokens: Optional[float] = None,
    output_tokens: Optional[float] = None,
    input_cv: Optional[float] = None,
    output_cv: Optional[float] = None,
    arrival_cv: Optional[float] = None,
    diurnal: Optional[float] = None,
    trace: Optional[PathArg] = None,
    trace_scale: Optional[float] = None,
    scheduler: Optional[str] = None,
    max_num_seqs: Optional[int] = None,
    max_batched_tokens: Optional[int] = None,
    no_chunked_prefill: bool = False,
    router: Optional[str] = None,
    scope: Optional[str] = None,
    pue: Optional[float] = None,
    power_resolution: Union[str, float, None] = None,
    slo_ttft_ms: Optional[float] = None,
    slo_itl_ms: Optional[float] = None,
    max_replicas: Optional[int] = None,
    seed: Optional[int] = None,
    record_requests: bool = True,
    catalog: CatalogArg = None,
    start: Optional[str] = None,
    batch: Optional[int] = None,
    data_parallel_size: Optional[int] = None,
    enable_expert_parallel: bool = False,
    kv_cache_dtype: Optional[str] = None,
    gpus: Optional[int] = None,
) -> Union[ServingResult, CapacityPlan]:
    """Discrete-event simulation of a serving fleet (``wattage simulate serving``): request
    stream -> batches -> latency, watts and energy per request.

    With both ``slo_ttft_ms`` and ``slo_itl_ms``, plans capacity instead: the fewest replicas
    that meet the p99 objectives, returned as a :class:`CapacityPlan`.

    Args:
        model: Model, or the path of a Hugging Face ``config.json`` [default:
            ``llama-3.1-70b``].
        hardware: Accelerator [default: ``h100``].
        tensor_parallel_size: GPUs each attention and dense layer is sharded over, as vLLM's
            ``--tensor-parallel-size`` [default: the fewest that hold the weights]. GPUs per
            replica = ``tensor_parallel_size x data_parallel_size``.
        precision: Weight precision [default: ``fp8`` for a Hugging Face repository id ending
            in ``-FP8``, else the model's].
        config: A TOML file with any of these settings and the simulator's own tables.
        replicas: Replicas in the fleet [default: 1].
        rate: Mean arrival rate, requests/s (with a trace: rescale it) [default: 2].
        duration: Time of arrivals, ``"10m"``, ``"2h"`` (with a trace: repeat it to fill it)
            [default: ``"600s"``; a bare number is seconds, deprecated].
        requests: Stop after this many requests.
        clients: Closed loop with this many clients.
        input_tokens: Mean prompt tokens (lognormal) [default: 1000].
        output_tokens: Mean output tokens (lognormal) [default: 300].
        input_cv: Coefficient of variation of prompt lengths [default: 1.0].
        output_cv: Coefficient of variation of output lengths [default: 0.8].
        arrival_cv: Gamma inter-arrival gaps with this coefficient of variation (1: Poisson).
        diurnal: Daily cycle with this ratio of peak to trough rate.
        trace: An Azure LLM inference trace (``TIMESTAMP,ContextTokens,GeneratedTokens``).
        trace_scale: Multiply the trace's gaps by this factor.
        scheduler: ``continuous`` or ``static`` [default: continuous].
        max_num_seqs: Most concurrent sequences per replica [default: 256].
        max_batched_tokens: Most tokens per iteration [default: 8192].
        no_chunked_prefill: Turn chunked prefill off.
        router: ``round-robin``, ``least-outstanding`` or ``join-shortest-queue``.
        scope: Energy boundary of the headline figures [default: facility].
        pue: Power usage effectiveness for the facility scope [default: 1.2].
        power_resolution: Power series resolution, ``"1s"``, ``"1m"`` [default: ``"1s"``; a
            bare number is seconds, deprecated].
        slo_ttft_ms: Capacity planning: p99 time-to-first-token objective, ms.
        slo_itl_ms: Capacity planning: p99 inter-token latency objective, ms.
        max_replicas: Capacity planning: largest fleet to try [default: 4096].
        seed: Seed [default: 42].
        record_requests: Keep one record per request (:attr:`ServingResult.requests`).
        catalog: Extra catalog file(s).
        start: Calendar time of the start, ISO 8601 with a zone (the ``time`` column)
            [default: ``"2025-01-01T00:00:00Z"``].
        batch: Deprecated spelling of ``max_num_seqs`` (``batch`` is the mean number of
            running sequences per replica, as in :func:`estimate`; the simulation reports it
            as ``mean_batch_size``).
        data_parallel_size: Attention replicas inside one replica, each with its own KV cache,
            as vLLM's ``--data-parallel-size`` [default: 1].
        enable_expert_parallel: Spread a mixture-of-experts model's experts over all GPUs of
            the replica, as vLLM's ``--enable-expert-parallel``.
        kv_cache_dtype: The KV cache's type, as vLLM's ``--kv-cache-dtype``: ``auto``,
            ``bf16``, ``fp16``, ``fp8`` (or ``bfloat16``, ``float16``, ``fp8_e4m3``,
            ``fp8_e5m2``) [default: ``auto``, wattage's rule: fp8 when the weights are 8-bit
            or narrower, else bf16; vLLM's own ``auto`` keeps 16 bit whatever the weights].
        gpus: Deprecated spelling of ``tensor_parallel_size``.

    Raises:
        InputError: A bad value, or a bad ``config`` or ``trace`` file.
    """
    spec = dict(
        model=model,
        hardware=hardware,
        tensor_parallel_size=tensor_parallel_size,
        data_parallel_size=data_parallel_size,
        enable_expert_parallel=enable_expert_parallel,
        gpus=gpus,
        precision=precision,
        kv_cache_dtype=kv_cache_dtype,
        config=config,
        replicas=replicas,
        rate=rate,
        duration=_inputs.duration_text(duration, "duration"),
        requests=requests,
        clients=clients,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        input_cv=input_cv,
        output_cv=output_cv,
        arrival_cv=arrival_cv,
        diurnal=diurnal,
        trace=trace,
        trace_scale=trace_scale,
        scheduler=scheduler,
        max_num_seqs=max_num_seqs,
        max_batched_tokens=max_batched_tokens,
        no_chunked_prefill=no_chunked_prefill,
        router=router,
        scope=scope,
        pue=pue,
        power_resolution=_inputs.duration_text(power_resolution, "power_resolution"),
        start=start,
        batch=batch,
        slo_ttft_ms=slo_ttft_ms,
        slo_itl_ms=slo_itl_ms,
        max_replicas=max_replicas,
        seed=seed,
        record_requests=record_requests,
    )
    h = _wattage.simulate_serving(spec, _inputs.catalogs(catalog))
    return CapacityPlan(h) if h.kind() == "capacity" else ServingResult(h)


def simulate_site(
    scenario: Source,
    duration: Union[str, float, None] = None,
    step: Union[str, float, None] = None,
    seed: Optional[int] = None,
    seeds: Union[int, bool, None] = None,
    resolution: Union[str, float, None] = None,
    start: Optional[str] = None,
) -> Union[SiteResult, ReliabilityResult]:
    """Simulates a site's energy system step by step (``wattage simulate site``).

    With ``seeds``, runs a reliability Monte Carlo instead and returns a
    :class:`ReliabilityResult`.

    Args:
        scenario: A site scenario: a path, a TOML string, a dict, or ``"builtin:colossus"``
            (also ``colossus-miners``, ``peak-shaving``).
        duration: Horizon, ``"48h"``, ``"7d"``, ``"1y"`` [default: the scenario's; a bare
            number is hours, deprecated].
        step: Dispatch step, ``"1s"``, ``"1m"`` [default: the scenario's; a bare number is
            seconds, deprecated].
        seed: Seed [default: the scenario's].
        seeds: Reliability Monte Carlo over this many seeds, or ``True`` for the scenario's
            ``[reliability] seeds``.
        resolution: Resolution of the stored series, ``"15m"``, ``"1h"`` [default: the
            scenario's; a bare number is seconds, deprecated].
        start: Calendar time of the start, ISO 8601 with a zone (the ``time`` column)
            [default: ``"2025-01-01T00:00:00Z"`` moved to the scenario's
            ``start_day_of_year``].

    Raises:
        InputError: A bad value, or an error in the scenario (``file``, ``line``, ``field``).
    """
    src = _inputs.source(scenario, "scenario")
    spec = dict(
        duration=_inputs.duration_text(duration, "duration"),
        step=_inputs.duration_text(step, "step"),
        seed=seed,
        seeds=seeds,
        resolution=_inputs.duration_text(resolution, "resolution"),
        start=start,
    )
    h = _wattage.simulate_site(src, spec)
    return ReliabilityResult(h) if h.kind() == "reliability" else SiteResult(h)


def optimize(
    scenario: Source,
    expansion: Optional[PathArg] = None,
    extend: bool = False,
    step: Union[str, float] = "1h",
    duration: Union[str, float, None] = None,
    check_step: Union[str, float, None] = None,
    no_check: bool = False,
    method: str = "simplex",
    solver: Optional[str] = None,
    seed: Optional[int] = None,
    start: Optional[str] = None,
) -> OptimizeResult:
    """The cheapest design and dispatch of a site by linear programming (HiGHS), then the
    rule-based simulator on that design at the scenario's own step (``wattage optimize``).

    Args:
        scenario: A site scenario (path, TOML string, dict or ``"builtin:NAME"``).
        expansion: Which ratings may grow and at what annualized cost (a TOML file); without
            it (and without ``extend``) only the dispatch is optimized.
        extend: Let every existing asset grow to 4x at typical annualized costs.
        step: LP step (``"1h"``, ``"15m"``, ``"300s"``; a bare number is seconds,
            deprecated).
        duration: Horizon (``"7d"``, ``"8760h"``, ``"1y"``) [default: the scenario's].
        check_step: Step of the rule-based check run [default: the scenario's step].
        no_check: Skip the rule-based check run.
        method: HiGHS's algorithm: ``simplex`` or ``ipm``.
        solver: LP solver: ``clarabel`` (pure Rust, every build) or ``highs`` (a build with
            the ``highs`` feature) [default: HiGHS when built in, else Clarabel].
        seed: Seed of the scenario's random draws [default: the scenario's].
        start: Calendar time of the start, ISO 8601 with a zone (the ``time`` column).

    Raises:
        InputError: A bad value, scenario or expansion file, or a solver this build lacks.
    """
    src = _inputs.source(scenario, "scenario")
    spec = dict(
        expansion=expansion,
        extend=extend,
        step=_inputs.duration_text(step, "step"),
        duration=_inputs.duration_text(duration, "duration"),
        check_step=_inputs.duration_text(check_step, "check_step"),
        no_check=no_check,
        method=method,
        solver=solver,
        seed=seed,
        start=start,
    )
    return OptimizeResult(_wattage.optimize(src, spec))


def run(
    scenario: Optional[Source] = None,
    out: Optional[PathArg] = None,
    catalog: CatalogArg = None,
    seed: Optional[int] = None,
) -> RunResult:
    """One scenario from token to grid (``wattage run``): per-service request estimates,
    serving fleets sized at their latency objectives, the site powered step by step with the
    fleets as its inference load, and optionally the LP's cheapest design.

    Args:
        scenario: A run scenario (path, TOML string, dict); ``None``: the built-in default
            (``builtin_scenario("default")`` shows it).
        out: Also write the output folder here, as ``wattage run -o OUT`` does (report,
            charts, ``summary.json``, tables as CSV and Parquet).
        catalog: Extra catalog file(s).
        seed: Seed of every random draw, replacing the scenario's ``seed`` (``--seed``).

    Raises:
        InputError: A bad scenario (``file``, ``line``, ``field``).
    """
    src = None if scenario is None else _inputs.source(scenario, "scenario")
    r = RunResult(_wattage.run(src, _inputs.catalogs(catalog), _inputs.count(seed, "seed")))
    if out is not None:
        r.write(out)
    return r


def compare(
    scenarios: Sequence[Source],
    out: Optional[PathArg] = None,
    catalog: CatalogArg = None,
    rel_tol: Optional[float] = None,
    abs_tol: Optional[float] = None,
) -> Comparison:
    """Runs several run scenarios and sets them side by side (``wattage compare``); every
    scenario is checked before the first runs. The inputs that differ are found by diffing
    the parsed scenarios and site files, and a figure of the runs' summaries differs when its
    spread exceeds both ``rel_tol`` times its largest value and ``abs_tol``.

    Args:
        scenarios: Two or more run scenarios (paths, TOML strings or dicts).
        out: Also write ``compare.html``, ``compare.json``, ``compare.csv`` and each run's
            folder into this folder.
        catalog: Extra catalog file(s).
        rel_tol: Relative threshold, a fraction (default 0.01).
        abs_tol: Absolute threshold, in each figure's unit (default 0.001).

    Raises:
        InputError: Fewer than two scenarios, a bad one, or a bad threshold.
    """
    if isinstance(scenarios, (str, bytes, Mapping)) or not isinstance(scenarios, Sequence):
        raise _inputs.param_error("scenarios", "expected a list of two or more scenarios")
    srcs = [_inputs.source(s, "scenarios") for s in scenarios]
    handle, runs = _wattage.compare(srcs, _inputs.catalogs(catalog), rel_tol, abs_tol)
    c = Comparison(handle, [RunResult(h) for h in runs])
    if out is not None:
        c.write(out)
    return c


def _variants(value: Any) -> Optional[tuple[int, int]]:
    """``variants=``: ``(start, stop)`` or a ``range``, checked; ``None`` for all."""
    if value is None:
        return None
    if isinstance(value, range) and value.step == 1:
        value = (value.start, value.stop)
    if not (isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 2):
        raise _inputs.param_error("variants", f"expected a (start, stop) pair, found {value!r}")
    a = _inputs.count(value[0], "variants")
    b = _inputs.count(value[1], "variants")
    assert a is not None and b is not None
    if a > b:
        raise _inputs.param_error("variants", f"start {a} is after stop {b}")
    return (a, b)


def sweep(
    spec: Source,
    threads: Optional[int] = None,
    variants: Union[tuple[int, int], range, None] = None,
    catalog: CatalogArg = None,
) -> SweepResult:
    """Runs a base scenario under a grid or list of overrides in parallel, one row of KPIs
    per variant (``wattage sweep``).

    Args:
        spec: A sweep file (path, TOML string or dict) naming its ``base`` scenario (relative
            to the sweep file's folder, or ``builtin:NAME``).
        threads: Threads [default: every core].
        variants: Run only variants ``start..stop`` (0-based, stop excluded), a pair or a
            ``range``; rows keep their variant numbers.
        catalog: Extra catalog file(s) (run sweeps).

    Returns:
        The rows, in variant order whatever the threads.

    Raises:
        InputError: A bad sweep file, path, value or variant range.
    """
    src = _inputs.source(spec, "spec")
    rng = _variants(variants)
    n = _inputs.count(threads, "threads", minimum=1)
    h = _wattage.sweep(src, rng, n, _inputs.catalogs(catalog))
    return SweepResult(h.data(), h)


def sweep_variants(spec: Source) -> list[Record]:
    """A sweep's variants without running them (``wattage sweep --list --json``): each with
    its ``index``, ``name``, ``overrides`` (``[path, value]`` pairs) and ``seed``."""
    import json

    src = _inputs.source(spec, "spec")
    return [Record(v) for v in json.loads(_wattage.sweep_variants(src))]


def builtin_scenario(name: str) -> str:
    """The TOML of a built-in scenario: ``default`` (``wattage run --print-default``),
    ``colossus``, ``colossus-miners`` or ``peak-shaving``. Pass ``"builtin:NAME"`` to any
    function that takes a scenario to use one directly."""
    src = _inputs.source(f"builtin:{name}", "name")
    assert isinstance(src, Text)
    return src.text
