"""Arguments into what the extension module takes: scenarios as a path or as TOML text with
a name and a folder; ``set=``, ``catalog=``, durations and counts in the engine's terms.
(Keyword values themselves are converted and checked in Rust, each under its keyword.)"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping
from typing import Any, NamedTuple, Optional, Sequence, Union

from . import _wattage
from ._errors import param_error


class Text(NamedTuple):
    """A scenario given as TOML text.

    Attributes:
        text: The TOML.
        name: Its name in error messages (``<string>``, ``<dict>``, ``builtin:colossus``).
        dir: The folder that files it names (CSV profiles, a sweep's base) are relative to;
            ``""`` is the current directory.
    """

    text: str
    name: str
    dir: str


#: A scenario or spec argument: a path, TOML text, a dict, or :class:`Text`.
Source = Union[str, "os.PathLike[str]", Mapping[str, Any], Text]

_BUILTIN = dict(_wattage.builtin_scenarios())


def builtin_names() -> list[str]:
    """Names of the scenarios built into wattage (``default`` and the reference sites)."""
    return list(_BUILTIN)


def source(value: Any, param: str) -> Union[str, Text]:
    """A scenario argument as a path (``str``) or :class:`Text`.

    A string is TOML when it contains a newline or ``=`` and is not the path of an existing
    file; ``builtin:NAME`` names a built-in scenario; a dict is written as TOML.
    """
    if isinstance(value, Text):
        return value
    if isinstance(value, os.PathLike):
        return os.fsdecode(os.fspath(value))
    if isinstance(value, str):
        if value.startswith("builtin:"):
            name = value[len("builtin:") :]
            if name not in _BUILTIN:
                raise param_error(
                    param,
                    f"unknown built-in scenario `{name}`; built-in: {', '.join(_BUILTIN)}",
                )
            return Text(_BUILTIN[name], value, "")
        if "\n" not in value and os.path.isfile(value):
            return value
        if "\n" in value or "=" in value:
            return Text(value, "<string>", "")
        return value
    if isinstance(value, Mapping):
        return Text(_wattage.to_toml(dict(value), param), "<dict>", "")
    raise param_error(
        param,
        f"must be a path, a TOML string or a dict, not {type(value).__name__}",
    )


def portable(src: Union[str, Text]) -> Text:
    """A scenario as text that another process on a machine sharing the file system can load
    (a path becomes its text, relative files resolved from the file's folder)."""
    if isinstance(src, Text):
        if src.dir or src.name.startswith("<") or src.name.startswith("builtin:"):
            return src._replace(dir=os.path.abspath(src.dir) if src.dir else os.getcwd())
        return src
    path = os.path.abspath(src)
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise param_error("spec", f"cannot read `{src}`: {e.strerror}") from None
    return Text(text, os.path.basename(path), os.path.dirname(path))


def overrides(value: Any) -> Optional[list[str]]:
    """``set=``: ``"NAME=VALUE"``, a list of them, or a dict ``{NAME: VALUE}`` (a value may be
    a range in the CLI's syntax: ``"0.6:0.8:0.85"``, ``"1.1..1.4"``, ``"0.8~0.05"``)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}={_number_text(v)}" for k, v in value.items()]
    if isinstance(value, Sequence):
        out = []
        for v in value:
            if not isinstance(v, str):
                raise param_error("set", f"expected NAME=VALUE strings, found {v!r}")
            out.append(v)
        return out
    raise param_error("set", f"expected NAME=VALUE, a list of them or a dict, not {value!r}")


def _number_text(v: Any) -> str:
    """An override's value as the CLI's text (a number, or a range as given)."""
    if isinstance(v, bool):
        raise param_error("set", f"expected a number or a range, found {v!r}")
    if isinstance(v, numbers.Real):
        return repr(float(v))
    return str(v)


def catalogs(value: Any) -> list[str]:
    """``catalog=``: one extra catalog file or a list of them."""
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fsdecode(os.fspath(value))]
    if isinstance(value, Sequence):
        return [os.fsdecode(os.fspath(v)) for v in value]
    raise param_error("catalog", f"expected a path or a list of paths, not {value!r}")


def duration_text(value: Any, param: str) -> Optional[str]:
    """A duration keyword in the CLI's syntax (``"1h"``, ``"7d"``); a bare number is passed
    as text without a unit, which the engine reads in the parameter's old unit with a
    ``DeprecationWarning``."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return repr(float(value))
    raise param_error(param, f"expected a duration such as \"1h\" or \"7d\", found {value!r}")


def count(value: Any, param: str, minimum: int = 0) -> Optional[int]:
    """A whole-number keyword, at least ``minimum``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < minimum:
        raise param_error(param, f"must be a whole number of at least {minimum}, found {value!r}")
    return int(value)
