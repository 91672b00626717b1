"""Typed results: each wraps the JSON the CLI prints with ``--json`` for the same job, so
its attributes are exactly that JSON's keys (nested objects as nested :class:`Record`\\ s), and
``to_dict()`` returns that JSON's structure. Tables come as pandas DataFrames, decoded from
the engine's typed Parquet only when first read."""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence as _SequenceABC
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from ._wattage import Handle


def _frame(data: bytes) -> "pandas.DataFrame":
    """Parquet bytes as a DataFrame (column types as the engine typed them)."""
    import pyarrow
    import pyarrow.parquet

    return pyarrow.parquet.read_table(pyarrow.BufferReader(data)).to_pandas()


def _wrap(value: Any) -> Any:
    """JSON data as records: dicts become :class:`Record`, lists are wrapped item by item."""
    if isinstance(value, dict):
        return Record(value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _short(value: Any) -> str:
    """A value in a one-line ``repr``: floats to 6 significant digits, containers summarized."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict):
        return "{...}"
    if isinstance(value, list):
        return f"[{len(value)} items]"
    return repr(value)


class Record:
    """A JSON object with its keys as attributes (``r.energy_wh``) and items (``r["energy_wh"]``).

    Nested objects are :class:`Record` s too, lists are lists. ``to_dict()`` returns a copy of
    the JSON structure.
    """

    __slots__ = ("_data", "__dict__")
    _headline: Sequence[str] = ()

    def __init__(self, data: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        """A JSON key as an attribute (nested objects as records)."""
        try:
            value = self._data[name]
        except KeyError:
            raise AttributeError(
                f"{type(self).__name__} has no attribute `{name}`; its keys: {', '.join(self._data)}"
            ) from None
        return _wrap(value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getitem__(self, key: str) -> Any:
        return _wrap(self._data[key])

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._data))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return type(self) is type(other) and self._data == other._data

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (type(self), (self._data,))

    def keys(self) -> list[str]:
        """The JSON object's keys, in order."""
        return list(self._data)

    def to_dict(self) -> dict[str, Any]:
        """The result as plain data: the structure the CLI prints with ``--json``."""
        return copy.deepcopy(self._data)

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The result as JSON text."""
        return json.dumps(self._data, indent=indent)

    def __repr__(self) -> str:
        keys = [k for k in self._headline if k in self._data] or [
            k for k, v in self._data.items() if not isinstance(v, (dict, list))
        ][:8]
        body = ", ".join(f"{k}={_short(self._data[k])}" for k in keys)
        more = len(self._data) - len(keys)
        if more > 0:
            body += f", ... ({more} more)" if body else f"... ({more} keys)"
        return f"{type(self).__name__}({body})"


class _Result(Record):
    """A job's result: its JSON and a handle on the Rust side for its tables."""

    __slots__ = ()

    def __init__(self, handle: "Handle", data: Optional[dict[str, Any]] = None) -> None:
        # The JSON is converted from the engine's result when first read, not here: a call
        # whose result is not read (a loop of estimates keeping one field) pays only for it.
        object.__setattr__(self, "_handle", handle)
        if data is not None:
            object.__setattr__(self, "_data", data)

    def __getattr__(self, name: str) -> Any:
        if name == "_data":
            data = self._handle.data()
            object.__setattr__(self, "_data", data)
            return data
        return super().__getattr__(name)

    def _table(self, name: str) -> "pandas.DataFrame":
        """Table ``name`` as a DataFrame, decoded once and kept."""
        cache = self.__dict__.setdefault("_tables", {})
        if name not in cache:
            cache[name] = _frame(self._handle.table(name))
        return cache[name]

    def __reduce__(self) -> Any:
        raise TypeError(
            f"a {type(self).__name__} holds engine data and cannot be pickled; "
            "pickle its to_dict() or its DataFrames"
        )


class EstimateResult(_Result):
    """One request's energy, latency, carbon, water and cost (``wattage estimate --json``)."""

    __slots__ = ()
    _headline = ("model", "hardware", "gpus", "batch", "energy_wh", "low_wh", "high_wh", "co2e_g")

    model: str
    model_is_estimate: bool
    hardware: str
    gpus: int
    tensor_parallel_size: int
    data_parallel_size: int
    enable_expert_parallel: bool
    precision: str
    precision_source: str
    kv_cache_dtype: str
    kv_cache_dtype_source: str
    method: str
    scope: str
    region: str
    batch: float
    batch_used: float
    kv_capacity_tokens: float
    steady_context_tokens: float
    input_tokens: float
    output_tokens: float
    generated_tokens: float
    energy_wh: float
    energy_j_per_output_token: float
    low_wh: Optional[float]
    median_wh: Optional[float]
    high_wh: Optional[float]
    prefill_wh: float
    decode_wh: float
    breakdown: Record
    by_scope_wh: Record
    ttft_ms: float
    decode_step_ms: float
    itl_median_ms: float
    e2e_s: float
    flop: float
    gpu_seconds: float
    replica_power_w: float
    compute_utilization: float
    memory_utilization: float
    co2e_g: float
    co2e_g_low: Optional[float]
    co2e_g_high: Optional[float]
    water_ml: float
    water_onsite_ml: float
    water_offsite_ml: float
    cost_usd: float
    cost: Optional[Record]
    embodied: Optional[Record]
    carbon: Record
    comparisons: Record
    fleet: Optional[Record]
    monte_carlo_samples: Optional[int]
    assumptions: list[Record]
    warnings: list[str]

    def explain(self) -> list[str]:
        """The estimate's inputs, every assumption with its value and source, and the
        arithmetic step by step, as lines (``wattage estimate --explain``, with parameters
        named as keywords: ``set``, not ``--set``)."""
        return self._handle.explain()


class TrainResult(_Result):
    """A training run's compute, duration, power, energy and emissions (``wattage train --json``)."""

    __slots__ = ()
    _headline = ("hardware", "cluster_gpus", "gpu_hours", "duration_days", "power_mw", "energy_mwh", "co2e_t")

    flop: Optional[float]
    gpu_hours: float
    duration_days: float
    power_mw: float
    energy_mwh: float
    co2e_t: float
    cluster_gpus: float
    power_per_gpu_w: float
    server_factor: float
    pue: float
    carbon_g_per_kwh: float
    hardware: str
    energy_cost_usd: float
    cost: Optional[Record]
    embodied: Optional[Record]
    carbon: Record


class ServingResult(_Result):
    """A serving simulation (``wattage simulate serving --json``), with its per-request
    records and power series as DataFrames.

    The JSON's ``requests`` (the number of requests completed) is shadowed by the
    :attr:`requests` DataFrame; read the number as ``result["requests"]``.
    """

    __slots__ = ()
    _headline = (
        "model", "hardware", "replicas", "duration_s", "throughput_requests_per_s",
        "ttft_ms_p99", "itl_ms_p99", "energy_wh_per_request",
    )

    rejected: int
    replicas: int
    gpus_per_replica: int
    gpus: int
    model: str
    hardware: str
    duration_s: float
    throughput_requests_per_s: float
    throughput_tokens_per_s: float
    input_tokens_per_s: float
    mean_input_tokens: float
    mean_output_tokens: float
    ttft_ms_p50: float
    ttft_ms_p90: float
    ttft_ms_p99: float
    ttft_ms_mean: float
    itl_ms_p50: float
    itl_ms_p90: float
    itl_ms_p99: float
    itl_ms_mean: float
    e2e_ms_p50: float
    e2e_ms_p90: float
    e2e_ms_p99: float
    e2e_ms_mean: float
    queue_ms_p50: float
    queue_ms_p99: float
    queue_ms_mean: float
    mean_in_system: float
    iterations: int
    mean_batch_size: float
    batch_size_p50: int
    batch_size_p99: int
    batch_size_histogram: list[int]
    preemptions: int
    kv_capacity_tokens: int
    kv_occupancy_mean: float
    kv_occupancy_peak: float
    busy_fraction: float
    idle_fraction: float
    compute_utilization: float
    memory_utilization: float
    compute_utilization_busy: float
    memory_utilization_busy: float
    gpu_avg_power_w: float
    gpu_power_pct_of_tdp: float
    gpu_busy_energy_wh: float
    gpu_idle_energy_wh: float
    gpu_prefill_energy_wh: float
    scope: str
    avg_power_w: float
    peak_power_w: float
    energy_wh_per_request: float
    energy_wh_per_request_busy: float
    energy_j_per_output_token: float
    idle_energy_wh: float
    total_energy_wh: float
    by_scope: list[Record]
    flat_10pct: Record
    seed: int

    @property
    def requests(self) -> Optional["pandas.DataFrame"]:  # type: ignore[override]
        """One row per completed request (id, replica, arrival, tokens, latencies, energy at
        each scope in J); ``None`` when run with ``record_requests=False``."""
        if "requests" not in self._handle.tables():
            return None
        return self._table("requests")

    @property
    def timeseries(self) -> "pandas.DataFrame":
        """The fleet's power series, ``timeseries.csv`` of ``--out``: ``time`` (ISO 8601,
        UTC), ``elapsed_s``, ``gpu_w``, ``server_w``, ``facility_w`` (docs/outputs.md)."""
        return self._table("timeseries")

    @property
    def power(self) -> "pandas.DataFrame":
        """Deprecated name of :attr:`timeseries`."""
        _renamed("ServingResult.power", "ServingResult.timeseries")
        return self.timeseries


class CapacityPlan(_Result):
    """Capacity planning at latency objectives: the fewest replicas that meet them
    (``wattage simulate serving --slo-ttft-ms ... --slo-itl-ms ... --json``)."""

    __slots__ = ()
    _headline = ("replicas", "meets_slo", "gpus", "avg_mw", "peak_mw", "wh_per_request")

    replicas: int
    meets_slo: bool
    gpus: int
    avg_mw: float
    peak_mw: float
    wh_per_request: float
    server_wh_per_request: float
    flat_10pct_server_wh_per_request: float
    flat_10pct_facility_wh_per_request: float
    flat_10pct_avg_mw: float
    summary: Record
    trials: list[Record]


class SiteResult(_Result):
    """A site simulation's key figures (``wattage simulate site --json``) and its series.

    ``interruption_list`` holds every interruption (the CLI's JSON prints the first 100).
    """

    __slots__ = ()
    _headline = ("hours", "step_s", "cost_usd", "co2e_t", "unserved_mwh", "peak_grid_import_mw", "ramp_violations")

    seed: int
    hours: float
    step_s: float
    steps: int
    energy_mwh_by_source: Record
    energy_mwh_by_use: Record
    unserved_mwh: float
    solar_curtailed_mwh: float
    peak_grid_import_mw: float
    peak_facility_mw: float
    load_factor: float
    grid_load_factor: float
    cost_usd: float
    cost_usd_by_component: Record
    cost_usd_per_mwh: float
    cost_usd_per_gpu_hour: float
    co2e_t: float
    co2e_t_by_source: Record
    water_m3: float
    water_fresh_m3: float
    water_recycled_m3: float
    battery_throughput_mwh: float
    battery_equivalent_cycles: float
    battery_fade_mwh: float
    soc_range_pct: list[float]
    ramp_violations: int
    grid_ramp_violations: int
    min_stable_violations: int
    turbine_trips: int
    turbine_starts: int
    grid_outages: int
    reserve_shortfall_s: float
    interruptions: int
    momentary_interruptions: int
    interruption_s: float
    longest_interruption_s: float
    gpu_hours_lost: float
    job_failures: int
    gpu_hours: float
    miner_revenue_usd: float
    miner_energy_mwh: float
    miner_uptime: float
    miner_capacity_factor: float
    max_balance_error_mw: float
    interruption_list: list[Record]

    @property
    def timeseries(self) -> "pandas.DataFrame":
        """The site's time series at the output resolution (one row per interval: ``time``,
        ``elapsed_s``, loads, sources, batteries' state of charge in MWh and %, price), as
        ``timeseries.csv`` of ``--out`` (docs/outputs.md)."""
        return self._table("timeseries")

    @property
    def series(self) -> "pandas.DataFrame":
        """Deprecated name of :attr:`timeseries`."""
        _renamed("SiteResult.series", "SiteResult.timeseries")
        return self.timeseries


class ReliabilityResult(_Result):
    """A reliability Monte Carlo over seeds (``wattage simulate site --seeds N --json``)."""

    __slots__ = ()
    _headline = ("seeds", "expected_unserved_mwh", "expected_interruptions", "probability_of_interruption", "expected_cost_usd")

    seeds: int
    expected_unserved_mwh: float
    expected_interruptions: float
    expected_momentary_interruptions: float
    mean_interruption_s: float
    longest_interruption_s: float
    expected_interruption_cost_usd: float
    expected_gpu_hours_lost: float
    probability_of_interruption: float
    expected_cost_usd: float
    runs: list[Record]


class OptimizeResult(_Result):
    """The cheapest design and dispatch of a site (``wattage optimize --json``)."""

    __slots__ = ()
    _headline = ("scenario", "steps", "step_s", "objective_usd", "emissions_t", "unserved_mwh")

    scenario: str
    steps: int
    step_s: float
    duration_h: float
    objective_usd: float
    capacities: Record
    costs: Record
    emissions_t: float
    unserved_mwh: float
    mean_marginal_price_usd_per_mwh: float
    max_marginal_price_usd_per_mwh: float
    build_s: float
    solve_s: float
    lp_cols: int
    lp_rows: int
    lp_nnz: int
    solver_iterations: int
    rule_based: Optional[Record]

    @property
    def timeseries(self) -> "pandas.DataFrame":
        """The LP's plan, one row per step: ``time``, ``elapsed_s``, load, grid, each asset's
        output (MW; batteries' state of charge in MWh and %), unserved power and the marginal
        price ($/MWh); ``timeseries.csv`` of ``--out`` (docs/outputs.md)."""
        return self._table("timeseries")

    @property
    def dispatch(self) -> "pandas.DataFrame":
        """Deprecated name of :attr:`timeseries`."""
        _renamed("OptimizeResult.dispatch", "OptimizeResult.timeseries")
        return self.timeseries


def _renamed(old: str, new: str) -> None:
    """A ``DeprecationWarning`` for an old attribute name, at the caller's line."""
    warnings.warn(
        f"`{old}` is deprecated and will be removed in the next release: use `{new}`",
        DeprecationWarning,
        stacklevel=3,
    )


def write_folder(out: "os.PathLike[str] | str", files: Sequence[tuple[str, bytes]]) -> str:
    """Writes files into folder ``out`` whole, as the CLI does: into a temporary folder beside
    it, renamed at the end (an old folder is replaced), so a failure leaves no partial folder.
    Returns the folder's path."""
    out = os.fspath(out)
    parent = os.path.dirname(os.path.abspath(out))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{os.path.basename(out) or 'out'}.partial-", dir=parent)
    try:
        for path, data in files:
            p = os.path.join(tmp, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "wb") as f:
                f.write(data)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.rename(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


class RunResult(_Result):
    """One scenario from token to grid: ``summary.json`` (``wattage run --json``) with the
    site's series, the fleets' day, per-request records and the HTML report."""

    __slots__ = ()
    _headline = ("scenario", "site_file")

    scenario: str
    site_file: str
    seed: Record
    services: list[Record]
    site: Record
    optimized: Optional[Record]
    capital: Record
    headlines: list[Record]
    uncertainty: Optional[Record]

    @property
    def timeseries(self) -> "pandas.DataFrame":
        """The site over the whole horizon at the output resolution (``timeseries.parquet``,
        the same columns as ``simulate_site``'s; docs/outputs.md)."""
        return self._table("timeseries")

    @property
    def timeseries_day(self) -> "pandas.DataFrame":
        """The zoomed day, second by second at most 10 s rows (``timeseries_day.parquet``)."""
        return self._table("timeseries_day")

    @property
    def site_series(self) -> "pandas.DataFrame":
        """Deprecated name of :attr:`timeseries`."""
        _renamed("RunResult.site_series", "RunResult.timeseries")
        return self.timeseries

    @property
    def site_day_series(self) -> "pandas.DataFrame":
        """Deprecated name of :attr:`timeseries_day`."""
        _renamed("RunResult.site_day_series", "RunResult.timeseries_day")
        return self.timeseries_day

    @property
    def fleet_day(self) -> "pandas.DataFrame":
        """Each service's fleet over the day in 5-minute intervals: arrival rate, replicas
        running, server power (``fleet_day.parquet``)."""
        return self._table("fleet_day")

    @property
    def requests(self) -> dict[str, "pandas.DataFrame"]:
        """Per-request records of each service's busiest-hour simulation, by service name
        (``requests_<service>.parquet``)."""
        prefix = "requests_"
        return {
            t[len(prefix) :]: self._table(t)
            for t in self._handle.tables()
            if t.startswith(prefix)
        }

    @functools.cached_property
    def report_html(self) -> str:
        """The self-contained HTML report (``report.html``)."""
        return self._handle.report_html()

    def write(self, out: "os.PathLike[str] | str") -> str:
        """Writes the run's output folder as ``wattage run -o OUT`` does: ``report.html``,
        ``charts/``, ``summary.json`` and every table as CSV and Parquet. Returns the path."""
        return write_folder(out, self._handle.artifacts())


class Comparison(_SequenceABC):
    """Several runs side by side (``wattage compare``): a sequence of :class:`RunResult`, in
    the order given, with the comparison's table and report."""

    def __init__(self, handle: "Handle", runs: list[RunResult]) -> None:
        self._handle = handle
        self.runs = runs

    def __len__(self) -> int:
        return len(self.runs)

    def __getitem__(self, i: Any) -> Any:
        return self.runs[i]

    def __iter__(self) -> Iterator[RunResult]:
        return iter(self.runs)

    def to_list(self) -> list[dict[str, Any]]:
        """Each run's summary (the ``runs`` of :meth:`to_dict`)."""
        return [r.to_dict() for r in self.runs]

    def to_dict(self) -> dict[str, Any]:
        """``compare.json``, what ``wattage compare --json`` prints: ``scenarios``,
        ``thresholds``, ``identical_inputs``, the ``inputs`` that differ, every figure in
        ``kpis`` (with ``differs``) and each run's summary in ``runs``."""
        return self._handle.data()

    @property
    def identical_inputs(self) -> bool:
        """True when no input differs between the scenarios."""
        return bool(self.to_dict()["identical_inputs"])

    @functools.cached_property
    def report_html(self) -> str:
        """``compare.html``: the inputs and figures that differ, charts of those, links to
        each run's report."""
        return self._handle.report_html()

    def write(self, out: "os.PathLike[str] | str") -> str:
        """Writes ``compare.html``, ``compare.json``, ``compare.csv`` and each run's folder
        into folder ``out``; returns its path."""
        return write_folder(out, self._handle.artifacts())

    def __repr__(self) -> str:
        return f"Comparison({', '.join(repr(r.scenario) for r in self.runs)})"


_INT64_MAX = 2**63 - 1


def _typed_column(values: list[Any]) -> Any:
    """Swept values as a typed column: integers, floats, booleans or strings; a variant that
    does not set the path has ``""`` in the engine's rows, here a missing value."""
    import numpy as np
    import pandas as pd

    present = [v for v in values if v != ""]
    missing = len(present) < len(values)
    if present and all(isinstance(v, bool) for v in present):
        return pd.array([None if v == "" else v for v in values], dtype="boolean") if missing else np.array(values, dtype=bool)
    if present and all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        if missing:
            return pd.array([None if v == "" else v for v in values], dtype="Int64")
        return np.array(values, dtype=np.int64)
    if present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v == "" else float(v) for v in values], dtype=np.float64)
    return np.array(
        [None if (missing and v == "") else (v if isinstance(v, str) else json.dumps(v)) for v in values],
        dtype=object,
    )


def sweep_frame(data: dict[str, Any]) -> "pandas.DataFrame":
    """A sweep's rows as a DataFrame with the columns of ``SweepResult::columns()``:
    ``variant`` (int64), ``name`` (str), each swept path (typed by its values), ``seed``
    (int64), each KPI (float64)."""
    import numpy as np
    import pandas as pd

    rows = data["rows"]
    params: list[str] = data["params"]
    kpis: list[str] = data["kpis"]
    cols: dict[str, Any] = {
        "variant": np.array([r["index"] for r in rows], dtype=np.int64),
        "name": np.array([r["name"] for r in rows], dtype=object),
    }
    for j, p in enumerate(params):
        cols[p] = _typed_column([r["values"][j] for r in rows])
    seeds = [r["seed"] for r in rows]
    cols["seed"] = np.array(seeds, dtype=np.uint64 if any(s > _INT64_MAX for s in seeds) else np.int64)
    k = np.array([r["kpis"] for r in rows], dtype=np.float64).reshape(len(rows), len(kpis))
    for j, name in enumerate(kpis):
        cols[name] = k[:, j]
    return pd.DataFrame(cols)


class SweepResult(Record):
    """A sweep's rows (``wattage sweep --json``): one row of KPIs per variant, in variant
    order, as :attr:`rows` (a DataFrame) and ``to_dict()["rows"]`` (the JSON rows)."""

    __slots__ = ()
    _headline = ("name", "params", "kpis")

    name: str
    params: list[str]
    kpis: list[str]

    def __init__(self, data: dict[str, Any], handle: Optional["Handle"] = None) -> None:
        super().__init__(data)
        object.__setattr__(self, "_handle", handle)

    @functools.cached_property
    def rows(self) -> "pandas.DataFrame":  # type: ignore[override]
        """One row per variant: ``variant``, ``name``, each swept path, ``seed``, each KPI."""
        return sweep_frame(self._data)

    @functools.cached_property
    def report_html(self) -> str:
        """``sweep.html``: the KPIs against the swept values (needs the engine's result, so
        not available on a sweep assembled from parts by :func:`wattage.dask.sweep`)."""
        if self._handle is None:
            raise AttributeError("this sweep was assembled from parts; it has no report")
        return self._handle.report_html()

    def __repr__(self) -> str:
        return (
            f"SweepResult(name={self._data['name']!r}, {len(self._data['rows'])} variants, "
            f"params={self._data['params']!r}, {len(self._data['kpis'])} KPIs)"
        )
