"""Type stubs of the extension module ``wattage._wattage`` (Rust, pyo3).

Use the ``wattage`` package's functions rather than these: they take keyword arguments,
check them and return typed results. Every function here releases the GIL while the engine
works, and raises ``wattage.InputError`` / ``wattage.WattageError``.
"""

from typing import Any, Mapping, Optional, Sequence, Union

__version__: str

#: A scenario as a path, or as ``(TOML text, name in errors, folder its files are relative to)``.
Source = Union[str, tuple[str, str, str]]

class Handle:
    """A job's result held on the Rust side."""

    def kind(self) -> str:
        """``estimate``, ``train``, ``serving``, ``capacity``, ``site``, ``reliability``,
        ``optimize``, ``run``, ``compare`` or ``sweep``."""
    def data(self) -> Any:
        """The result as the JSON the CLI prints with ``--json``, as dicts and lists."""
    def tables(self) -> list[str]:
        """Names of the tables ``table`` can encode."""
    def table(self, name: str) -> bytes:
        """Table ``name`` as Parquet bytes with typed columns."""
    def explain(self) -> list[str]:
        """An estimate's explanation, line by line."""
    def artifacts(self) -> list[tuple[str, bytes]]:
        """The files the CLI writes for a run, comparison or sweep: (relative path, bytes)."""
    def report_html(self) -> str:
        """The HTML report of a run, comparison or sweep."""

#: Keyword arguments: the engine spec's field names to values (``None`` left out).
Kwargs = Mapping[str, Any]

def estimate(kw: Kwargs, catalogs: Sequence[str]) -> Handle:
    """Estimates one request; ``kw`` holds ``EstimateSpec`` fields."""

def train(kw: Kwargs, catalogs: Sequence[str]) -> Handle:
    """Estimates a training run; ``kw`` holds ``TrainSpec`` fields."""

def simulate_serving(kw: Kwargs, catalogs: Sequence[str]) -> Handle:
    """Simulates a serving fleet or plans its capacity; ``kw`` holds ``ServingSpec`` fields."""

def simulate_site(source: Source, kw: Kwargs) -> Handle:
    """Simulates a site scenario (``duration``, ``step``, ``seed``, ``seeds``,
    ``resolution``)."""

def optimize(source: Source, kw: Kwargs) -> Handle:
    """Optimizes a site scenario; ``kw`` holds ``OptimizeSpec`` fields."""

def run(source: Optional[Source], catalogs: Sequence[str], seed: Optional[int] = None) -> Handle:
    """Runs a scenario from token to grid (``None``: the built-in default)."""

def compare(
    sources: Sequence[Source],
    catalogs: Sequence[str],
    rel_tol: Optional[float] = None,
    abs_tol: Optional[float] = None,
) -> tuple[Handle, list[Handle]]:
    """Runs and compares scenarios: the comparison and each run."""

def sweep(
    source: Source,
    variants: Optional[tuple[int, int]],
    threads: Optional[int],
    catalogs: Sequence[str],
) -> Handle:
    """Runs a sweep's variants ``start..stop`` (all when ``None``) on ``threads`` threads."""

def sweep_variants(source: Source) -> str:
    """A sweep's variants as JSON, without running them."""

def catalog_entries(kind: str, catalogs: Sequence[str]) -> str:
    """Every entry of ``hardware``, ``models`` or ``regions`` as a JSON array."""

def catalog_entry(kind: str, name: str, catalogs: Sequence[str]) -> str:
    """One catalog entry as JSON."""

def to_toml(value: Mapping[str, Any], param: str) -> str:
    """A dict as TOML text (``None`` values left out); errors name ``param``."""

def builtin_scenarios() -> list[tuple[str, str]]:
    """The built-in scenarios as ``(name, TOML)``."""

def _peak_concurrency(reset: bool) -> int:
    """The most engine calls seen running at once with the GIL released."""
