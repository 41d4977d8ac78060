"""``adambench compare BASELINE CURRENT``: the CI regression gate on normalised timings.

Exit 0 when nothing regressed, 1 on a regression, 2 on bad input (missing, corrupt or
foreign files, schema mismatch, no overlapping rows, threshold outside (0, 1)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ..results import prepare_file, read_json
from .render import Cell, Col, Format, Grid, emit, err_console, fail, num, output_format, say

_STYLE = {"regressed": "bold red", "unclear": "yellow", "faster": "green", "ok": ""}


def verdict_table(verdicts: list[Any], threshold: float, alpha: float) -> Grid:
    rows = []
    for v in verdicts:
        style = _STYLE[v.status]
        status = f"[{style}]{v.status}[/]" if style else v.status
        rows.append(
            (
                v.optimizer, Cell(f"{v.size:.0e}", v.size), v.dtype, v.threads,
                num(v.baseline_median), num(v.current_median),
                Cell(f"{v.change:+.1%}", v.change), Cell(f"{v.p_slower:.2g}", v.p_slower),
                Cell(status + (" (re-measured)" if v.remeasured else ""), v.status),
            )
        )  # fmt: skip
    title = (
        f"Normalised time vs baseline (kernel / same-run {verdicts[0].metric}); "
        f"regression: p < {alpha:g} and > {threshold:.0%} slower"
    )
    cols = [
        Col("optimizer"), Col("size", "number"), Col("dtype", priority=2),
        Col("thr", "number"), Col("baseline", "number", 1), Col("current", "number", 1),
        Col("change", "number"), Col("p", "number", 3), Col("status"),
    ]  # fmt: skip
    return Grid(title, cols, rows, name="gate")


def report(
    verdicts: list[Any],
    threshold: float,
    alpha: float,
    markdown: Path | None,
    quiet: bool,
    form: str = "text",
) -> int:
    """Print the verdicts (``form`` text: the table and its verdict on stdout; csv / md:
    the verdict line on stderr, the caller prints the table), write the Markdown summary;
    return the exit code (0 or 1)."""
    from ..bench.compare import regressed

    bad = regressed(verdicts)
    if not quiet:
        if form == "text":
            say(verdict_table(verdicts, threshold, alpha))
        unclear = [v for v in verdicts if v.status == "unclear"]
        if bad:
            err_console.print(f"[bold red]{len(bad)} regression(s)[/] beyond {threshold:.0%}")
        elif unclear:
            err_console.print(
                f"{len(unclear)} row(s) slower beyond {threshold:.0%} but not significant: "
                "re-measure (bench --compare does so itself)"
            )
        else:
            (say if form == "text" else err_console.print)("no regression")
    if markdown is not None:
        write_markdown(markdown, verdicts, threshold, alpha)
    return 1 if bad else 0


def write_markdown(
    path: Path, verdicts: list[Any], threshold: float, alpha: float, results: Path | None = None
) -> None:
    """``--markdown``: the summary, atomically (its location was checked before any work).

    A write that still fails (disk full) is one ``error:`` line and exit 1, naming the
    results file the summary can be rebuilt from (``adambench compare``).
    """
    from ..bench.compare import to_markdown

    try:
        _write_text(path, to_markdown(verdicts, threshold, alpha))
    except OSError as e:
        kept = f"; the results are in {results}" if results is not None else ""
        fail(f"cannot write --markdown {path} ({e.strerror or e}){kept}", code=1)


def _write_text(path: Path, text: str) -> None:
    """``text`` to ``path`` atomically (temporary file, then rename); mode as the umask
    says, like any file (``mkstemp`` alone would make it 0600)."""
    import os
    import secrets

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def compare_command(
    baseline: Annotated[
        Path, typer.Argument(help="Baseline results file (adambench bench --out).")
    ],
    current: Annotated[Path, typer.Argument(help="Current results file to check against it.")],
    threshold: Annotated[
        float, typer.Option(help="Minimum slowdown that counts as a regression, in (0, 1).")
    ] = 0.10,
    alpha: Annotated[
        float,
        typer.Option(help="Significance level of the one-sided Mann-Whitney U test, in (0, 1)."),
    ] = 0.01,
    metric: Annotated[
        str,
        typer.Option(
            help="Normalisation: roofline (time / same-run access-pattern loop) or textbook "
            "(time / same-run textbook NumPy step; needs peers in both files)."
        ),
    ] = "roofline",
    markdown: Annotated[
        Path | None, typer.Option(help="Also write a Markdown summary here (for a pull request).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable verdicts on stdout.")
    ] = False,
    table_format: Format = "text",
) -> None:
    """Compare two bench results on normalised timings; exit 1 on a regression."""
    from ..bench.compare import check_threshold, compare_docs

    try:
        form = output_format(table_format, as_json)
        check_threshold(threshold, alpha)
        if markdown is not None:  # before any work: a bad place is exit 2, nothing read
            prepare_file(markdown, "--markdown")
        base = read_json(baseline, command="bench")
        cur = read_json(current, command="bench")
        verdicts = compare_docs(
            base, cur, threshold, alpha, metric, names=(str(baseline), str(current))
        )
    except ValueError as e:
        fail(str(e))
    if form in ("csv", "md"):
        emit(form, [verdict_table(verdicts, threshold, alpha)])
    code = report(verdicts, threshold, alpha, markdown, quiet=form == "json", form=form)
    if form == "json":
        emit(
            form,
            [],
            {
                "threshold": threshold,
                "alpha": alpha,
                "metric": metric,
                "regressions": sum(v.status == "regressed" for v in verdicts),
                "verdicts": [v.to_dict() for v in verdicts],
            },
        )
    raise typer.Exit(code)
