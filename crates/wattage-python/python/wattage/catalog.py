"""The catalog: accelerators, models and grid regions, every number with its source
(``wattage catalog``).

Each listing is a DataFrame with one row per entry and a column per field; a field that is a
table of values (a model's or accelerator's ``sources``, an accelerator's ``peak_tflops`` by
precision) is one column of dicts. ``catalog=`` adds or overrides entries from the user's
files, as ``--catalog`` does.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Sequence, Union

from . import _inputs, _wattage
from ._results import Record

if TYPE_CHECKING:  # pragma: no cover
    import pandas

__all__ = ["hardware", "models", "regions", "entry"]

CatalogArg = Union[str, "os.PathLike[str]", Sequence[Union[str, "os.PathLike[str]"]], None]


def _frame(kind: str, catalog: CatalogArg) -> "pandas.DataFrame":
    """Catalog ``kind`` as a DataFrame, one row per entry."""
    import pandas as pd

    rows = json.loads(_wattage.catalog_entries(kind, _inputs.catalogs(catalog)))
    return pd.DataFrame.from_records(rows)


def hardware(catalog: CatalogArg = None) -> "pandas.DataFrame":
    """Accelerators (``wattage catalog hardware --json``): ``id``, ``name``, ``aliases``,
    ``vendor``, ``peak_tflops`` (by precision), ``hbm_gb``, ``hbm_tb_s``, ``tdp_w``,
    ``idle_w``, ``host_w_per_accel``, ``interconnect_gb_s``, ``rent_usd_per_hour``,
    ``sources``."""
    return _frame("hardware", catalog)


def models(catalog: CatalogArg = None) -> "pandas.DataFrame":
    """Models (``wattage catalog models --json``): ``id``, ``name``, architecture
    (``layers``, ``hidden``, ``heads``, ``kv_heads``, ``experts``, ...), parameters
    (``params_total_b``, ``params_active_b``), ``precision``, ``estimate`` (closed models'
    architectures are estimates), ``sources``."""
    return _frame("models", catalog)


def regions(catalog: CatalogArg = None) -> "pandas.DataFrame":
    """Grid regions (``wattage catalog regions --json``): ``id``, ``name``,
    ``carbon_g_per_kwh``, ``pue``, ``wue_onsite_l_per_kwh``, ``wue_offsite_l_per_kwh``,
    ``electricity_usd_per_mwh``, ``sources``."""
    return _frame("regions", catalog)


def entry(kind: str, name: str, catalog: CatalogArg = None) -> Record:
    """One entry of ``kind`` (``hardware``, ``models`` or ``regions``) by id, alias, display
    name or Hugging Face repository (``wattage catalog models NAME --json``).

    Raises:
        InputError: An unknown kind or name (with close matches).
    """
    return Record(json.loads(_wattage.catalog_entry(kind, name, _inputs.catalogs(catalog))))
