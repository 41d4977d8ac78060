"""The ``adambench`` command line: one Typer app, one module per command.

Command modules import only Typer and Rich at the top; NumPy, numba and the engines are
imported inside the commands, so ``adambench --help`` answers instantly.
"""

from __future__ import annotations

import os
import signal
import sys
import threading

import typer
from rich.markup import escape

from .. import __version__
from .ablate import ablate_command
from .bench import bench_command
from .compare import compare_command
from .listing import list_command
from .phase import phase_command
from .regret import regret_command
from .render import err_console
from .report import report_command
from .run import run_command
from .sweep import sweep_command
from .vocabulary import Command, Group

app = typer.Typer(
    name="adambench",
    help="Benchmark the Adam family of optimizers: exact rules, fast kernels, online regret.",
    cls=Group,
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion (the shell is detected)
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
        False,
        "--version",
        "-V",
        callback=_version,
        is_eager=True,
        help="Print the version and exit.",
    ),
) -> None:
    """Benchmark the Adam family of optimizers: exact rules, fast kernels, online regret."""


app.command("list", cls=Command)(list_command)
app.command("bench", cls=Command)(bench_command)
app.command("compare", cls=Command)(compare_command)
app.command("run", cls=Command)(run_command)
app.command("ablate", cls=Command)(ablate_command)
app.command("regret", cls=Command)(regret_command)
app.command("phase", cls=Command)(phase_command)
app.command("sweep", cls=Command)(sweep_command)
app.command("report", cls=Command)(report_command)


class Interrupted(KeyboardInterrupt):
    """Ctrl-C (SIGINT) or SIGTERM, raised in the main thread by ``main``'s handler.

    A KeyboardInterrupt, so that every command stops the same way on both: a sweep stops
    its workers and keeps its finished units, a progress bar is cleared, files being
    written are removed (results are written atomically).
    """

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_received: list[int] = []  # the signals of this run of ``main``, in order


def _on_signal(signum: int, frame: object) -> None:
    _received.append(signum)
    if len(_received) == 1:
        raise Interrupted(signum)
    if len(_received) >= 3:  # the shutdown is stuck: a third signal ends the process now
        _interrupted_line(_received[0])
        os._exit(128 + _received[0])
    # a second one while shutting down is ignored: the first is being handled


def _install_handlers() -> dict[int, object]:
    """Ours for SIGINT and SIGTERM (main thread only); returns the previous ones."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _received.clear()
    previous = {}
    for s in _SIGNALS:
        previous[s] = signal.signal(s, _on_signal)
    return previous


def _restore_handlers(previous: dict[int, object]) -> None:
    for s, handler in previous.items():
        signal.signal(s, handler if handler is not None else signal.SIG_DFL)


def _interrupted_line(signum: int) -> None:
    name = signal.Signals(signum).name
    err_console.print("interrupted" if signum == signal.SIGINT else f"terminated ({name})")


def _exit_code(signum: int) -> int:
    return 128 + signum  # the shell's convention: 130 for SIGINT, 143 for SIGTERM


def main() -> None:
    """Console entry point: bad input becomes one line on stderr and exit code 2; Ctrl-C
    one line ``interrupted`` and exit code 130, SIGTERM ``terminated (SIGTERM)`` and 143
    (a command that says what it kept, as ``sweep`` does, prints its own line instead)."""
    previous = _install_handlers()
    try:
        code = _main()
    finally:
        _restore_handlers(previous)
    sys.exit(code)


def _main() -> int:
    try:
        code = app(standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        code = 130
    except SystemExit as e:
        # A command that printed its own "interrupted: ..." line exits 130; on SIGTERM the
        # process ends 143 all the same.
        if e.code == 130 and _received:
            raise SystemExit(_exit_code(_received[0])) from None
        raise
    except Exception as e:
        # Click's usage errors (Typer vendors Click in recent versions, so match by shape).
        if hasattr(e, "format_message") and hasattr(e, "exit_code"):
            _one_line(e.format_message())
            raise SystemExit(e.exit_code) from None
        if isinstance(e, ValueError):
            _one_line(str(e))
            raise SystemExit(2) from None
        raise
    if code == 130:  # Typer turns a KeyboardInterrupt into Exit(130), silently
        signum = _received[0] if _received else signal.SIGINT
        _interrupted_line(signum)
        return _exit_code(signum)
    return code if isinstance(code, int) else 0


def _one_line(message: str) -> None:
    text = " ".join(message.split())
    if text:  # a bare ``adambench`` prints its help and has nothing to add
        err_console.print(f"[bold red]error:[/] {escape(text)}", highlight=False, soft_wrap=True)
