"""The Typer application and the registration of every command group.

Every command that prints a table also takes ``--json`` and then prints exactly one JSON
document on stdout; errors go to stderr with the exit codes of :mod:`mdrsim.cli.common`.
A new command group is a module in this package registered in :func:`_register`.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from mdrsim import __version__


class _SafeGroup(TyperGroup):
    """The last line of defence: an mdrsim error or an operating-system error (an output
    path that is a file, read-only or full) that a command did not handle becomes one
    ``error:`` line and exit code 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        from mdrsim.cli.common import fail
        from mdrsim.errors import MdrsimError

        try:
            return super().invoke(ctx)
        except MdrsimError as exc:
            fail(exc)
        except OSError as exc:
            where = f" {exc.filename}" if exc.filename else ""
            fail(f"cannot read or write{where}: {exc.strerror or exc}")
        except UnicodeDecodeError as exc:
            fail(f"an input file is not UTF-8 text ({exc.reason} at byte {exc.start})")


app = typer.Typer(
    cls=_SafeGroup,
    name="mdrsim",
    help="Simulate multidrug resistance (MDR1/P-gp), chemotherapy and CD8 T cells.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mdrsim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """mdrsim: models of MDR1, chemotherapy and T cells, from one patient to virtual trials."""


def _register() -> None:
    # Command modules import their heavy dependencies inside the commands, so registering
    # all of them keeps `mdrsim --help` fast.
    from mdrsim.cli import (
        analysis,
        experiments,
        model,
        pharmacology,
        run,
        trial,
        trial_fit,
        tumour,
        warmup,
    )
    from mdrsim.cli import fit as fit_cli

    app.command("simulate")(model.simulate)
    app.command("export-sbml")(model.export_sbml)
    app.command("info")(model.info)
    app.add_typer(pharmacology.drugs_app, name="drugs")
    app.add_typer(pharmacology.inhibitors_app, name="inhibitors")
    app.add_typer(pharmacology.cell_lines_app, name="cell-lines")
    app.add_typer(pharmacology.assay_app, name="assay")
    app.add_typer(experiments.experiment_app, name="experiment")
    app.command("trial")(trial.trial)
    app.command("query")(trial.query)
    app.command("trial-fit")(trial_fit.trial_fit)
    app.add_typer(tumour.tumour_app, name="tumour")
    app.command("run")(run.run)
    app.command("compare")(run.compare)
    app.command("scan")(analysis.scan)
    app.command("sensitivity")(analysis.sensitivity)
    app.command("frontier")(analysis.frontier)
    app.command("warmup")(warmup.warmup)
    app.command("fit")(fit_cli.fit)
    app.command("profile")(fit_cli.profile)


_register()
