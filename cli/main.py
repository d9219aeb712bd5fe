"""The ``tfsg`` Typer application."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

import tf_structgen
from . import evaluate as evaluate_cmd
from . import export as export_cmd
from . import links as links_cmd
from . import predict as predict_cmd
from . import simulate as simulate_cmd
from . import train as train_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="Thread protein sequences through cryo-EM Cα candidates.")


def _version(value: bool):
    if value:
        typer.echo(f"tfsg {tf_structgen.__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[Optional[bool], typer.Option(
        "--version", callback=_version, is_eager=True,
        help="Show the version and exit.")] = None):
    """tf_structgen: the Structure Generator for cryo-EM model building."""


app.command()(predict_cmd.predict)
app.command()(train_cmd.train)
app.command()(evaluate_cmd.evaluate)
app.command("make-dataset")(evaluate_cmd.make_dataset)
app.command()(export_cmd.export)
app.command()(simulate_cmd.simulate)
app.command("train-links")(links_cmd.train_links)
app.command("export-links")(links_cmd.export_links)

if __name__ == "__main__":
    app()
