"""The ``adambench`` command line: one Typer app, one module per command.

Command modules import only Typer and Rich at the top; NumPy, numba and the engines are
imported inside the commands, so ``adambench --help`` answers instantly.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from .. import __version__
from .ablate import ablate_command
from .bench import bench_command
from .compare import compare_command
from .listing import list_command
from .regret import regret_command
from .render import err_console
from .report import report_command
from .run import run_command
from .sweep import sweep_command

app = typer.Typer(
    name="adambench",
    help="Benchmark the Adam family of optimizers: exact rules, fast kernels, online regret.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"adambench {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Benchmark the Adam family of optimizers: exact rules, fast kernels, online regret."""


app.command("list")(list_command)
app.command("bench")(bench_command)
app.command("compare")(compare_command)
app.command("run")(run_command)
app.command("ablate")(ablate_command)
app.command("regret")(regret_command)
app.command("sweep")(sweep_command)
app.command("report")(report_command)


def main() -> None:
    """Console entry point: bad input becomes one line on stderr and exit code 2."""
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("interrupted")
        raise SystemExit(130) from None
    except Exception as e:
        # Click's usage errors (Typer vendors Click in recent versions, so match by shape).
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):
            _one_line(e.format_message())
            raise SystemExit(e.exit_code) from None
        if isinstance(e, ValueError):
            _one_line(str(e))
            raise SystemExit(2) from None
        raise
    sys.exit(code if isinstance(code, int) else 0)


def _one_line(message: str) -> None:
    text = " ".join(message.split())
    if text:  # a bare ``adambench`` prints its help and has nothing to add
        err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
