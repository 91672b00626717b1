"""Sweeps fanned out over a ``dask.distributed`` cluster.

The sweep's variants are split into ranges of ``chunk``; each range is one task that runs
:func:`wattage.sweep` on a worker with ``variants=(start, stop)`` and returns its rows; the
rows come back in variant order, so the result equals a single-process sweep's. Dask does the
scheduling; wattage only splits and joins. Needs the ``dask`` extra
(``pip install "wattage[dask]"``) and wattage installed on every worker.

The spec travels as text: a spec given as a path is read here, and the files it names (its
base scenario, CSV profiles) are read by the workers from the same absolute paths, so workers
must share this machine's file system, or the spec must name a ``builtin:`` base.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from . import _inputs
from ._errors import param_error
from ._results import SweepResult

if TYPE_CHECKING:  # pragma: no cover
    import distributed

__all__ = ["sweep"]


def _run_chunk(spec: _inputs.Text, start: int, stop: int, threads: Optional[int], catalogs: list[str]) -> dict[str, Any]:
    """One task: variants ``start..stop`` of the sweep, as the sweep's JSON (plain data, so it
    pickles)."""
    import wattage

    return wattage.sweep(spec, threads=threads, variants=(start, stop), catalog=catalogs).to_dict()


def sweep(
    spec: _inputs.Source,
    client: "distributed.Client",
    chunk: int = 64,
    threads: Optional[int] = 1,
    catalog: Any = None,
) -> SweepResult:
    """Runs a sweep on a Dask cluster, ``chunk`` variants per task.

    Args:
        spec: A sweep (path, TOML string, dict), as for :func:`wattage.sweep`.
        client: A connected ``distributed.Client``.
        chunk: Variants per task.
        threads: Threads each task's sweep uses [default: 1, since Dask's workers run tasks in
            parallel]; ``None`` uses every core of the worker.
        catalog: Extra catalog file(s), read by the workers.

    Returns:
        The rows of every variant in variant order, as :func:`wattage.sweep` returns them
        (``report_html`` is not available on an assembled sweep).

    Raises:
        InputError: A bad spec (found here, before any task is sent) or ``chunk``.
    """
    import wattage

    size = _inputs.count(chunk, "chunk", minimum=1)
    assert size is not None
    text = _inputs.portable(_inputs.source(spec, "spec"))
    n = len(wattage.sweep_variants(text))
    catalogs = [_abs(c) for c in _inputs.catalogs(catalog)]
    ranges = [(a, min(a + size, n)) for a in range(0, n, size)]
    if not ranges:
        raise param_error("spec", "the sweep has no variants")
    futures = client.map(
        _run_chunk,
        [text] * len(ranges),
        [a for a, _ in ranges],
        [b for _, b in ranges],
        [threads] * len(ranges),
        [catalogs] * len(ranges),
        pure=False,
    )
    parts = client.gather(futures)
    first = parts[0]
    rows = [row for p in parts for row in p["rows"]]
    return SweepResult({"name": first["name"], "params": first["params"], "kpis": first["kpis"], "rows": rows})


def _abs(path: str) -> str:
    """``path`` made absolute, for workers whose working directory differs."""
    import os

    return os.path.abspath(path)
