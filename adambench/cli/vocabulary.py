"""One command-line vocabulary for every ``adambench`` command (README, "Command-line
vocabulary").

A concept has one option name and one short flag on every command that has it:
``--optimizers/-o``, ``--problems/-p``, ``--seeds/-s`` (a count), ``--seed`` (the first
seed), ``--lr`` (learning rates), ``--T/-T``, ``--epochs/-e``, ``--dim/-d``,
``--batch-size/-b``, ``--jobs/-j``, ``-h`` for help.  The option declarations live here,
as ``Annotated`` types (or factories of them where the help text is the command's own),
and each command imports them instead of declaring its own.

List options take repeats, comma lists or both (``-o adam -o sgd``, ``-o adam,sgd``,
``-o adam,sgd -o amsgrad``); ``names`` flattens them.  Old spellings stay accepted as
aliases (``--optimizer``, ``--problem``, ``--tasks``/``--task``/``-t``, ``--seed-start``,
``--lr-grid``): ``--help`` lists only the canonical names and says which aliases each
option has (``Command``), and flags show no ``<bool>`` type beside them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

# Old option spellings: still parsed, left out of ``--help`` (each option's help names them).
ALIASES = frozenset({"--optimizer", "--problem", "--tasks", "--task", "-t", "--seed-start",
                     "--lr-grid"})  # fmt: skip


def optimizers_option(help: str) -> Any:
    """``--optimizers/-o`` (alias ``--optimizer``): names, repeated and/or comma lists."""
    return Annotated[
        list[str] | None,
        typer.Option("--optimizers", "--optimizer", "-o", metavar="<name,...>", help=help),
    ]


def problems_option(help: str, tasks: bool = False) -> Any:
    """``--problems/-p`` (alias ``--problem``; with ``tasks``, the training commands' old
    ``--tasks``, ``--task`` and ``-t`` too): names, repeated and/or comma lists."""
    decls = ["--problems", "--problem", "-p"] + (["--tasks", "--task", "-t"] if tasks else [])
    return Annotated[list[str] | None, typer.Option(*decls, metavar="<name,...>", help=help)]


def lr_option(help: str) -> Any:
    """``--lr`` (alias ``--lr-grid``): learning rates, repeated and/or comma lists."""
    return Annotated[
        list[str] | None, typer.Option("--lr", "--lr-grid", metavar="<float,...>", help=help)
    ]


Seeds = Annotated[
    int,
    typer.Option("--seeds", "-s", help="Number of seeds per grid point: --seed, --seed + 1, ..."),
]
FirstSeed = Annotated[
    int,
    typer.Option("--seed", "--seed-start", help="First seed (the seeds are seed, seed+1, ...)."),
]
Epochs = Annotated[
    int, typer.Option("--epochs", "-e", help="Passes over the training set, 1..10000.")
]
BatchSize = Annotated[int, typer.Option("--batch-size", "-b", help="Minibatch size, 1..65536.")]
Horizon = Annotated[str, typer.Option("--T", "-T", help="Horizon T: an integer, 1e6 or 1000000.")]
Dim = Annotated[
    int | None, typer.Option("--dim", "-d", help="Dimension d (problems with a free d).")
]
Json = Annotated[bool, typer.Option("--json", help="Machine-readable results on stdout.")]
ResultsReport = Annotated[
    bool,
    typer.Option(
        "--report",
        help="Also build a report (plots, Markdown, HTML) beside the results file: "
        "<results file name>-report/.",
    ),
]
Jobs = Annotated[
    int | None,
    typer.Option(
        "--jobs",
        "-j",
        help="Local worker processes (>= 1); default: the number of cores. 1 runs in this process.",
    ),
]


def names(option: str, given: Sequence[str] | None) -> list[str] | None:
    """The values of the list option ``option``: repeats and comma lists flattened,
    stripped, first occurrence kept; None when it was not given, ValueError when empty."""
    if not given:
        return None
    out = list(dict.fromkeys(s.strip() for g in given for s in g.split(",") if s.strip()))
    if not out:
        raise ValueError(f"{option} needs at least one value, got {','.join(given)!r}")
    return out


def joined(given: Sequence[str] | str | None, default: str | None = None) -> str | None:
    """A list option as one comma list (for parsers of comma text; a string is one
    already); ``default`` if not given."""
    if isinstance(given, str):
        return given
    return ",".join(given) if given else default


def exclusive(**given: Any) -> None:
    """At most one of several spellings of one setting (``--lr`` / ``--log10-lr``): the
    keyword names are the options, a value of None means not given."""
    passed = [name for name, value in given.items() if value is not None]
    if len(passed) > 1:
        raise ValueError(f"{' and '.join(passed)} are the same setting: give only one")


# ---- --help in the vocabulary's terms -------------------------------------------------


@contextmanager
def _canonical_help(params: Sequence[Any]) -> Iterator[None]:
    """While help is rendered: aliases out of the option column (named in the help text
    instead), and no ``<bool>`` type beside a flag (Typer's Rich help prints one)."""
    saved = []
    for p in params:
        if getattr(p, "param_type_name", "") != "option":
            continue
        saved.append((p, p.opts, p.help, p.metavar))
        aliases = [o for o in p.opts if o in ALIASES]
        kept = [o for o in p.opts if o not in ALIASES]
        if aliases and any(o.startswith("--") for o in kept):
            p.opts = kept
            p.help = f"{p.help or ''} (Also: {', '.join(aliases)}.)".strip()
        if p.is_flag and not p.count and p.metavar is None:
            p.metavar = ""
    try:
        yield
    finally:
        for p, opts, help_text, metavar in saved:
            p.opts, p.help, p.metavar = opts, help_text, metavar


class Command(TyperCommand):
    """A command whose ``--help`` shows the canonical option names, flags without a type."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _canonical_help(self.get_params(ctx)):
            super().format_help(ctx, formatter)


COMPLETION_OPTIONS = ("--show-completion", "--install-completion")


class Group(TyperGroup):
    """The ``adambench`` group, its ``--help`` rendered as ``Command``'s.

    Typer's ``--show-completion`` and ``--install-completion`` are flags that detect the
    shell from the parent process (shellingham); here they also take the shell by name,
    ``adambench --show-completion zsh``, which needs no detection (and no terminal).
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        from typer.completion import Shells, install_callback, show_callback

        if len(args) == 2 and args[0] in COMPLETION_OPTIONS:
            shells = [s.value for s in Shells]
            if args[1] not in shells:
                raise ValueError(f"{args[0]}: unknown shell {args[1]!r}; choose from: "
                                 f"{', '.join(shells)}")  # fmt: skip
            param = next(p for p in self.get_params(ctx) if args[0] in p.opts)
            done = show_callback if args[0] == COMPLETION_OPTIONS[0] else install_callback
            done(ctx, param, args[1])  # prints the script or installs it, and exits 0
        return super().parse_args(ctx, args)

    def get_params(self, ctx: Any) -> list[Any]:
        params = super().get_params(ctx)
        for p in params:
            if p.name == "show_completion":
                p.help = "Print the completion script of this shell (detected), or of SHELL."
            elif p.name == "install_completion":
                p.help = "Install completion for this shell (detected), or for SHELL."
        return params

    def format_help(self, ctx: Any, formatter: Any) -> None:
        with _canonical_help(self.get_params(ctx)):
            super().format_help(ctx, formatter)
