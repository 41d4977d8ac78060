"""Parsing and checking of options shared by ``adambench run`` and ``adambench ablate``.

Light on purpose (no NumPy at import): each function raises ValueError with one line
naming the option and the allowed values; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from .. import results
from .render import fail, print_json
from .report import attach_report

# The command-line options only ``run`` and ``ablate`` have (defaults stay in each
# signature); those every command shares (--seeds, --seed, --batch-size, ...) are
# vocabulary.py's.
DType = Annotated[str, typer.Option("--dtype", help="Arithmetic: float32 or float64.")]
Backend = Annotated[
    str,
    typer.Option(
        "--backend", help="numpy | cupy (train on the CUDA device) | auto (cupy when usable)."
    ),
]
Data = Annotated[
    str,
    typer.Option(
        "--data",
        help="digits (bundled, offline) | mnist | cifar10 (files in --data-dir) | libsvm:FILE.",
    ),
]
DataDir = Annotated[
    Path | None,
    typer.Option("--data-dir", help="Folder with the MNIST IDX or CIFAR-10 batch files."),
]

TASKS = ("logreg", "mlp", "cnn", "vae")
DTYPES = ("float32", "float64")
BACKENDS = ("numpy", "cupy", "auto")


def split_list(option: str, text: str) -> list[str]:
    """Comma-separated values, stripped; at least one."""
    items = [s.strip() for s in text.split(",") if s.strip()]
    if not items:
        raise ValueError(f"{option} needs at least one value, got {text!r}")
    return items


def choose(
    option: str, text: str, allowed: tuple[str, ...], all_word: bool = True
) -> tuple[str, ...]:
    """A comma list of names from ``allowed`` (``all`` = every one), duplicates removed."""
    items = split_list(option, text)
    if all_word and items == ["all"]:
        return allowed
    for it in items:
        if it not in allowed:
            raise ValueError(f"{option}: unknown {it!r}; choose from: {', '.join(allowed)}")
    return tuple(dict.fromkeys(items))


def positive_floats(option: str, text: str) -> tuple[float, ...]:
    """A comma list of finite numbers > 0 (learning rates)."""
    out = []
    for it in split_list(option, text):
        try:
            v = float(it)
        except ValueError:
            raise ValueError(f"{option} must be numbers > 0, got {it!r}") from None
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{option} must be finite numbers > 0, got {it!r}")
        out.append(v)
    return tuple(sorted(set(out)))


def searched_grid(option: str, text: str, optimizers: tuple[str, ...]) -> tuple[float, ...] | None:
    """``--beta1``, ``--beta2``, ``--weight-decay``: a comma list of values of the
    hyperparameter the option names (``weight_decay`` for ``--weight-decay``), searched
    with the lr grid for the selected optimizers that have it (asked of the rule), each
    value checked by each of those rules' own ``Param``.

    Empty: None (each optimizer keeps its default).  When none of the selected optimizers
    has the hyperparameter, it is refused in one line.
    """
    if not text.strip():
        return None
    from ..core.registry import get_rule

    name = option.lstrip("-").replace("-", "_")
    having = [r for r in map(get_rule, optimizers) if name in {p.name for p in r.params}]
    if not having:
        raise ValueError(
            f"{option}: none of the selected optimizers has {name} ({', '.join(optimizers)}; "
            "see `adambench list`)"
        )
    values = []
    for it in split_list(option, text):
        try:
            number = float(it)
        except ValueError:
            where = having[0].param(name).where_text()
            raise ValueError(f"{option} must be numbers {where}, got {it!r}") from None
        for r in having:
            try:
                r.param(name).check(number)
            except ValueError as e:
                raise ValueError(f"{option}: {r.name}: {e}") from None
        values.append(number)
    return tuple(sorted(set(values)))


def check_int(option: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueError(f"{option} must be in [{low}, {high}], got {value}")
    return value


def check_float(option: str, value: float, low: float, high: float, low_open: bool = True) -> float:
    ok = math.isfinite(value) and (value > low if low_open else value >= low) and value <= high
    if not ok:
        left = "(" if low_open else "["
        raise ValueError(f"{option} must be in {left}{low:g}, {high:g}], got {value!r}")
    return value


def check_backend(backend: str) -> str:
    """``numpy`` or ``cupy`` for ``--backend numpy|cupy|auto`` (``core.backend.select_backend``:
    one line naming the missing piece when ``cupy`` is asked for without a usable device)."""
    from ..core.backend import select_backend

    return select_backend(backend)


def check_data(data: str, data_dir: Path | None) -> None:
    """Cheap checks of --data/--data-dir before any work (the loader checks the files)."""
    kind = data.split(":", 1)[0]
    if kind not in ("digits", "mnist", "cifar10", "libsvm"):
        raise ValueError(f"--data must be digits | mnist | cifar10 | libsvm:FILE, got {data!r}")
    if kind in ("mnist", "cifar10") and data_dir is None:
        raise ValueError(f"--data {kind} needs --data-dir, the folder holding its files")


def check_out(out: Path) -> None:
    """``--out``: a folder where the results file can be written (``results.prepare_out``),
    checked with the other options, before any work; nothing is created yet."""
    results.prepare_out(out)


def check_common(
    *,
    seeds: int,
    first_seed: int,
    batch_size: int,
    threads: int,
    dtype: str,
    width: float,
    backend: str,
    data: str,
    data_dir: Path | None,
    out: Path,
    cnn_option: str | None,
) -> str:
    """The options ``run`` and ``ablate`` share, checked before any work; the backend to
    train on (``auto`` resolved).

    ``cnn_option`` names the option that asked for the cnn task (None: no cnn), which
    needs image data.
    """
    check_int("--seeds", seeds, 1, 100)
    # every seed used, --seed .. --seed + --seeds - 1, is at most 2^31 - 1 (the training
    # engine holds seeds as int64, engines/training.py; sweep/config.py has the same bound)
    top = 2**31 - seeds
    if not 0 <= first_seed <= top:
        raise ValueError(
            f"--seed must be in [0, {top}] (the last of --seeds {seeds} seeds is at most "
            f"2^31 - 1), got {first_seed}"
        )
    check_int("--batch-size", batch_size, 1, 65536)
    check_int("--threads", threads, 1, 256)
    if dtype not in DTYPES:
        raise ValueError(f"--dtype must be float32 or float64, got {dtype!r}")
    check_float("--width", width, 0.0, 16.0)
    check_data(data, data_dir)
    check_out(out)
    if cnn_option and data.startswith("libsvm"):
        raise ValueError(f"{cnn_option} cnn needs image data (digits, mnist, cifar10), not libsvm")
    return check_backend(backend)


def save(command: str, doc: dict, out: Path, report: bool) -> Path:
    """Write the results file under ``out`` (a new name) and, if asked, its report beside it."""
    path = save_results(command, doc, out)
    if report:
        save_report(doc, path)
    return path


def save_report(doc: dict, path: Path) -> Path:
    """``--report``: the report of ``doc`` beside its results file ``path``; report.html."""
    return attach_report(doc, path.name, report_folder(path))


def save_results(command: str, doc: dict, out: Path) -> Path:
    """The new results file ``out/<command>-<UTC time>-<id>.json`` (never replacing one).

    A write that fails at the end (disk full) is exit 1, with the file in the system
    temporary folder the results went to instead named in the one ``error:`` line.
    """
    try:
        return results.save_new_json(out, command, doc)
    except results.WriteFailed as e:
        _not_written(e, doc)


def save_file(path: Path, command: str, doc: dict) -> Path:
    """``doc`` to a file named on purpose (``--save-baseline``), replacing it; rescued
    like ``save_results``."""
    try:
        return results.save_json(path, command, doc)
    except results.WriteFailed as e:
        _not_written(e, doc)


def _not_written(e: results.WriteFailed, doc: dict) -> NoReturn:
    if e.rescued is None:  # not even a temporary file: the document itself, on stdout
        print_json(doc)
    fail(str(e), code=1)
    raise AssertionError("unreachable")  # fail exits


def report_folder(path: Path) -> Path:
    """Where ``--report`` puts the report of the results file ``path``: beside it,
    ``<results stem>-report/``."""
    return path.with_name(f"{path.stem}-report")
