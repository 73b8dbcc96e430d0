"""What every CLI module shares: the two consoles, ``fail`` and ``emit_json``.

Output contract of every ``mdrsim`` command:

- Tables and "wrote …" lines go to **stdout** (:data:`console`); with ``--json`` stdout holds
  exactly one JSON document (:func:`emit_json`) and nothing else.
- Errors, progress bars and notes go to **stderr** (:data:`err_console`), as one line
  ``error: <message>`` without a traceback.
- Exit codes, one per kind of failure:

  ====  ===================================================================================
  0     success
  1     :data:`EXIT_SIMULATION`: the input was valid but the simulation failed
        (:class:`~mdrsim.errors.SimulationError`, a patient whose solver gave up)
  2     :data:`EXIT_INPUT`: bad input: a missing or malformed file, an invalid option,
        scenario or trial, an unknown name (any other :class:`~mdrsim.errors.MdrsimError`,
        and Typer's own usage errors, which also exit with 2)
  ====  ===================================================================================

The core never imports this package (checked by ``tests/cli/test_cli_errors.py``).
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, NoReturn

import typer
from rich.console import Console, ConsoleDimensions
from rich.table import Table

from mdrsim.errors import MdrsimError, SimulationError

__all__ = [
    "EXIT_INPUT",
    "EXIT_SIMULATION",
    "console",
    "emit_json",
    "err_console",
    "exit_code",
    "fail",
    "fmt",
    "json_default",
    "print_rows",
    "to_json_value",
]

#: Exit code for bad input (an invalid file, option, name or value).
EXIT_INPUT = 2
#: Exit code for a valid input whose simulation failed.
EXIT_SIMULATION = 1

#: Width of stdout when it is not a terminal (a file, a pipe, a test runner): wide enough
#: that no table is cut (issue 13: ``doxorubici…`` in a piped table).
PIPE_WIDTH = 10_000


class _StdoutConsole(Console):
    """A console that prints full-width when stdout is not a terminal, unless ``COLUMNS``
    says otherwise; on a terminal it wraps to the terminal's width as usual."""

    _explicit_width = False  # set by the size setter: a width chosen in code wins

    @property
    def size(self) -> ConsoleDimensions:
        dims = super().size
        if self._explicit_width or self.is_terminal:
            return dims
        # Off a terminal, decided at print time from the environment as it is now (rich reads
        # COLUMNS once, when the console is made — at import, under another environment).
        columns = os.environ.get("COLUMNS", "")
        width = int(columns) if columns.isdigit() else PIPE_WIDTH
        return ConsoleDimensions(width, dims.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        width, height = new_size
        self._width, self._height = width, height
        self._explicit_width = True


#: Tables and results (stdout). Rich resolves ``sys.stdout`` at print time, so test runners
#: that swap the stream still capture it.
console: Console = _StdoutConsole()
#: Errors, progress and notes (stderr); soft wrap keeps each error on one line for grep.
err_console = Console(stderr=True, soft_wrap=True)


def exit_code(error: BaseException) -> int:
    """The documented exit code for an error (see the module docstring)."""
    return EXIT_SIMULATION if isinstance(error, SimulationError) else EXIT_INPUT


def fail(error: MdrsimError | str, *, code: int | None = None) -> NoReturn:
    """Print ``error: <message>`` on stderr and exit with the code for the error's kind.

    A string is bad input (exit 2) unless ``code`` says otherwise."""
    message = str(error)
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    if code is None:
        code = EXIT_INPUT if isinstance(error, str) else exit_code(error)
    raise typer.Exit(code=code)


def json_default(obj: Any) -> Any:
    """JSON for numpy scalars and arrays (and anything else as its string)."""
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)


def to_json_value(obj: Any) -> Any:
    """``obj`` with numpy scalars unwrapped and NaN/infinity as ``None`` (JSON has neither)."""
    if isinstance(obj, dict):
        return {str(k): to_json_value(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_json_value(v) for v in obj]
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def emit_json(document: Any) -> None:
    """Print ``document`` as the one JSON document of a ``--json`` command (strict JSON)."""
    sys.stdout.write(
        json.dumps(to_json_value(document), default=json_default, allow_nan=False) + "\n"
    )


def fmt(value: Any, digits: int = 3) -> str:
    """A table cell: ``—`` for missing, ``not reached`` for infinity, ``digits`` significant."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return "not reached" if math.isinf(value) else f"{value:.{digits}g}"
    return str(value)


def print_rows(title: str, rows: list[tuple[str, str]]) -> None:
    """A two-column (quantity, value) table on stdout."""
    t = Table(title=title)
    t.add_column("quantity")
    t.add_column("value")
    for k, v in rows:
        t.add_row(k, v)
    console.print(t)
