"""Parsing and checking of options shared by ``adambench run`` and ``adambench ablate``.

Light on purpose (no NumPy at import): each function raises ValueError with one line
naming the option and the allowed values; the CLI turns that into exit code 2.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

import typer

from ..results import write_json
from .report import attach_report

# The command-line options ``run`` and ``ablate`` share (defaults stay in each signature).
Seeds = Annotated[int, typer.Option("--seeds", "-s", help="Seeds per grid point, 1..100.")]
FirstSeed = Annotated[int, typer.Option("--seed", help="First seed (seeds are seed, seed+1, ...).")]
BatchSize = Annotated[int, typer.Option("--batch-size", "-b", help="Minibatch size, 1..65536.")]
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


def beta_grid(option: str, text: str, optimizers: tuple[str, ...]) -> tuple[float, ...] | None:
    """A comma list of beta values for ``option`` (--beta1/--beta2), checked by the rules.

    Empty: None (each optimizer keeps its default).  At least one selected optimizer must
    have that hyperparameter; values outside [0, 1) are refused with the rule's range.
    """
    if not text.strip():
        return None
    from ..core.registry import get_rule

    name = option.lstrip("-")
    rules = [get_rule(o) for o in optimizers]
    having = [r for r in rules if name in {p.name for p in r.params}]
    if not having:
        raise ValueError(f"{option}: none of the selected optimizers has {name}")
    values = []
    for it in split_list(option, text):
        try:
            values.append(float(having[0].param(name).check(float(it))[0]))
        except ValueError as e:
            raise ValueError(
                f"{option}: {e}"
                if "must" in str(e)
                else f"{option} must be numbers in [0, 1), got {it!r}"
            ) from None
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


def result_path(out: Path, command: str) -> Path:
    """A fresh file name ``<command>-<UTC time>.json`` under ``out``."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path = out / f"{command}-{stamp}.json"
    k = 1
    while path.exists():
        path = out / f"{command}-{stamp}-{k}.json"
        k += 1
    return path


def check_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")


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
    check_int("--seed", first_seed, 0, 2**31 - 1)
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
    """Write the results file under ``out`` (atomically) and, if asked, its report."""
    path = write_json(result_path(out, command), doc)
    if report:
        attach_report(doc, path.name)
    return path
