"""The ``mdrsim`` command line (Typer). Thin: parse arguments, call the core or
:mod:`mdrsim.report`, print. The console script is ``mdrsim = "mdrsim.cli:app"``.

Modules: :mod:`~mdrsim.cli.app` (the app and the registration of every command),
:mod:`~mdrsim.cli.common` (consoles, ``fail``, ``emit_json`` and the exit codes), and one
module per command group: :mod:`~mdrsim.cli.model` (``info``, ``simulate``, ``export-sbml``),
:mod:`~mdrsim.cli.pharmacology` (``drugs``, ``inhibitors``, ``cell-lines``, ``assay``),
:mod:`~mdrsim.cli.experiments` (``experiment``), :mod:`~mdrsim.cli.tumour` (``tumour``),
:mod:`~mdrsim.cli.run` (``run``, ``compare``) and :mod:`~mdrsim.cli.trial` (``trial``,
``query``).
"""

from __future__ import annotations

from mdrsim.cli.app import app

__all__ = ["app"]
