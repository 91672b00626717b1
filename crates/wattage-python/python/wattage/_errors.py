"""The exceptions of every wattage function.

The engine has one error type; it reaches Python as :class:`InputError` when the input is at
fault (a keyword's value, a scenario file, a field in it) and as :class:`WattageError`
otherwise. Both carry where the error is as data, with parameters named as keywords
(``input_tokens``, as the function takes them, not the CLI's ``--input-tokens``).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence


class WattageError(Exception):
    """An error of a wattage job.

    Attributes:
        message: What is wrong, without the location.
        param: The keyword argument at fault, if the error is about one.
        file: The file (scenario, CSV profile, catalog) the error is in, if any.
        line: Line in ``file``, 1-based, when known.
        column: Column in ``file``, 1-based, when known.
        field: The field in the file (a dotted path such as ``service[1].peak_hour``), if known.
        hints: What to do about it.
        snippet: The offending line of the file with a caret under the column, when known.

    ``str(error)`` is the full text: location, field, message, the snippet and each hint on a
    line of its own, as the CLI prints it (with keyword names).
    """

    message: str
    param: Optional[str]
    file: Optional[str]
    line: Optional[int]
    column: Optional[int]
    field: Optional[str]
    hints: list[str]
    snippet: Optional[str]

    def __init__(
        self,
        text: str,
        *,
        message: Optional[str] = None,
        param: Optional[str] = None,
        file: Optional[str] = None,
        line: Optional[int] = None,
        column: Optional[int] = None,
        field: Optional[str] = None,
        hints: Sequence[str] = (),
        snippet: Optional[str] = None,
    ) -> None:
        super().__init__(text)
        self.text = text
        self.message = text if message is None else message
        self.param = param
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        self.hints = list(hints)
        self.snippet = snippet

    def __str__(self) -> str:
        """The CLI's text: location, field, message, snippet, then one ``hint:`` line each."""
        return self.text + "".join(f"\nhint: {h}" for h in self.hints)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickles the error with every attribute."""
        # Keep every attribute through pickling (errors cross process boundaries in Dask).
        return (_rebuild, (type(self), self.text, self._fields()))

    def _fields(self) -> dict[str, Any]:
        """The attributes beside the text, for pickling."""
        return {
            "message": self.message,
            "param": self.param,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "field": self.field,
            "hints": list(self.hints),
            "snippet": self.snippet,
        }


class InputError(WattageError, ValueError):
    """Bad input: a keyword argument's value, a scenario file or a field in it.

    Also a :class:`ValueError`, so ``except ValueError`` catches it too.
    """


def _rebuild(cls: type, text: str, fields: dict[str, Any]) -> WattageError:
    """Unpickles an error with its attributes."""
    return cls(text, **fields)


def param_error(param: str, message: str, *hints: str) -> InputError:
    """An :class:`InputError` about keyword ``param``, worded as the engine words its own."""
    return InputError(f"invalid `{param}`: {message}", message=message, param=param, hints=hints)
