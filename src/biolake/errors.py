"""Errors that biolake reports to its users.

Two kinds matter at the surface:

* :class:`InputError` — the user's input is wrong (a malformed record, a bad option
  value, an unknown dataset). It names the file, where in the file (line, record,
  column) and what is wrong. The CLI prints it as one line on stderr starting with
  ``error:`` and exits 2; the service answers 422.
* anything else is a bug or an environment failure; the CLI exits 1 with a short
  message (the full traceback only with ``--debug``).

Examples
--------
>>> err = InputError("expected 3 fields, found 4", file="x.csv", line=12)
>>> str(err)
'x.csv: line 12: expected 3 fields, found 4'
>>> err.one_line()
'error: x.csv: line 12: expected 3 fields, found 4'
"""

from __future__ import annotations

from os import PathLike
from typing import Any

__all__ = ["BiolakeError", "InputError", "check_param"]


class BiolakeError(Exception):
    """Base class of every error biolake raises on purpose."""


class InputError(BiolakeError, ValueError):
    """Bad input: names the file, the location in it and the problem.

    Parameters
    ----------
    problem
        What is wrong, as a short sentence fragment without a final period.
    file
        The file (or ``lake:NAME`` dataset, or option name) the problem is in.
    line, record, column
        Where in ``file``: a 1-based line number, a record identifier (1-based
        record number or an id such as ``chr1:12345``) and a column name or number.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | PathLike[str] | None = None,
        line: int | None = None,
        record: int | str | None = None,
        column: int | str | None = None,
    ) -> None:
        self.problem = " ".join(str(problem).split())  # always one line
        self.file = None if file is None else str(file)
        self.line = line
        self.record = record
        self.column = column
        super().__init__(self._message())

    def _message(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file)
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.record is not None:
            parts.append(f"record {self.record}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        parts.append(self.problem)
        return ": ".join(parts)

    def one_line(self) -> str:
        """The message as the CLI prints it: one line starting with ``error:``."""
        return f"error: {self._message()}"

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON-able fields (the service answers with these)."""
        return {
            "error": self._message(),
            "file": self.file,
            "line": self.line,
            "record": self.record,
            "column": self.column,
            "problem": self.problem,
        }


def check_param(function: str, name: str, value: Any, condition: bool, expected: str) -> None:
    """Validate one parameter at a public boundary, with the project's one message form.

    Raises :class:`InputError` ``The 'name' parameter of function must be <expected>;
    got <value>.`` when ``condition`` is false.

    >>> check_param("gwas", "alpha", 2.0, 0 < 2.0 < 1, "a float in (0, 1)")
    Traceback (most recent call last):
    ...
    biolake.errors.InputError: The 'alpha' parameter of gwas must be a float in (0, 1); got 2.0
    """
    if not condition:
        raise InputError(f"The {name!r} parameter of {function} must be {expected}; got {value!r}")
