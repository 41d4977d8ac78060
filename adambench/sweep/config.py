"""Sweep configuration files (TOML): loading and validation at the boundary.

A sweep is the product problems/tasks x optimizers x hyperparameter grids x seeds::

    [sweep]
    kind = "regret"            # "regret" (online regret engine) | "run" (training engine)
    name = "adam-betas"        # optional; default: the file's stem
    seeds = 5                  # a count (seeds seed_start..) or a list of integers
    runs_per_unit = 64         # runs batched in one work unit (points x seeds)

    [regret]                   # kind = "regret": problems, T and engine options
    problems = ["logistic", "reddi"]
    T = "1e5"

    [optimizers.adam]          # one table per optimizer: a value or a list (a grid axis)
    beta1 = [0.0, 0.9]
    beta2 = [0.99, 0.999]

Every unknown key or wrong type is a one-line ValueError naming the key and the expected
type; an empty list is an empty grid and is refused.  Values are range-checked by the
optimizer's own ``Param``s (``core/spec.py``) when the sweep is planned.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10: the tomli backport
    import tomli as tomllib

KINDS = ("regret", "run")
DEFAULT_RUNS_PER_UNIT = 64


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _is_str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _is_horizon(v: Any) -> bool:
    if _is_int(v):
        return True
    if isinstance(v, (str, float)) and not isinstance(v, bool):
        try:
            f = float(v)
        except ValueError:
            return False
        return math.isfinite(f) and f == int(f)
    return False


def _is_seeds(v: Any) -> bool:
    return _is_int(v) or (isinstance(v, list) and all(_is_int(x) for x in v))


# table -> key -> (check, expected type in words, default)
Check = tuple[Callable[[Any], bool], str, Any]
SCHEMA: dict[str, dict[str, Check]] = {
    "sweep": {
        "kind": (_is_str, "a string: regret | run", None),
        "name": (_is_str, "a string", None),
        "seeds": (_is_seeds, "an integer count or a list of integers", 3),
        "seed_start": (_is_int, "an integer", 0),
        "runs_per_unit": (_is_int, "an integer", DEFAULT_RUNS_PER_UNIT),
    },
    "regret": {
        "problems": (_is_str_list, "a list of strings (see `adambench list problems`)", None),
        "T": (_is_horizon, "an integer or a string such as '1e6'", 100_000),
        "dim": (_is_int, "an integer", None),
        "set": (_is_str, "a string: box | ball", None),
        "projection": (_is_str, "a string: weighted | euclidean", "weighted"),
        "dtype": (_is_str, "a string: float64 | float32", "float64"),
        "per_decade": (_is_int, "an integer", 5),
        "reddi_c": (_is_num, "a number", 3.0),
        "backend": (_is_str, "a string: numpy | cupy", "numpy"),
    },
    "run": {
        "tasks": (_is_str_list, "a list of strings: logreg, mlp, cnn, vae or plugins", None),
        "data": (_is_str, "a string: digits | mnist | cifar10 | libsvm:FILE", "digits"),
        "data_dir": (_is_str, "a string (a folder)", None),
        "epochs": (_is_int, "an integer", 5),
        "batch_size": (_is_int, "an integer", 128),
        "width": (_is_num, "a number", 0.25),
        "dtype": (_is_str, "a string: float32 | float64", "float32"),
        "backend": (_is_str, "a string: numpy | cupy", "numpy"),
    },
}
REQUIRED = {"sweep": ("kind",), "regret": ("problems",), "run": ("tasks",)}


@dataclass(frozen=True)
class SweepConfig:
    """A validated sweep file: kind, seeds, engine options and optimizer grids."""

    name: str
    kind: str
    seeds: tuple[int, ...]
    runs_per_unit: int
    engine: dict[str, Any]  # the [regret] or [run] table, defaults filled
    grids: dict[str, dict[str, list[Any]]]  # optimizer -> hyperparameter -> values
    source: str = ""
    raw: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> dict[str, Any]:
        """What defines the sweep (its results folder is tied to it): everything but
        the name and the unit size."""
        return {"kind": self.kind, "seeds": list(self.seeds), "engine": self.engine,
                "grids": self.grids}  # fmt: skip


def _type_name(v: Any) -> str:
    text = repr(v)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{type(v).__name__} {text}"


def _table(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema = SCHEMA[name]
    given = doc.get(name, {})
    if not isinstance(given, dict):
        raise ValueError(f"config [{name}]: expected a table, got {_type_name(given)}")
    for key in given:
        if key not in schema:
            raise ValueError(f"config: unknown key {name}.{key}; allowed: {', '.join(schema)}")
    out = {}
    for key, (check, expected, default) in schema.items():
        if key not in given:
            if key in REQUIRED.get(name, ()):
                raise ValueError(f"config: missing key {name}.{key} ({expected})")
            out[key] = default
            continue
        value = given[key]
        if not check(value):
            raise ValueError(f"config {name}.{key}: expected {expected}, got {_type_name(value)}")
        if isinstance(value, list) and not value:
            raise ValueError(f"config {name}.{key}: empty list; give at least one value")
        out[key] = value
    return out


def _grid_value_ok(v: Any) -> bool:
    return isinstance(v, (bool, str)) or _is_num(v)


def _grids(doc: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
    opts = doc.get("optimizers")
    if opts is None:
        raise ValueError("config: missing table [optimizers.NAME] (at least one optimizer)")
    if not isinstance(opts, dict) or not opts:
        raise ValueError("config [optimizers]: expected tables [optimizers.NAME], one or more")
    out: dict[str, dict[str, list[Any]]] = {}
    for name, table in opts.items():
        if not isinstance(table, dict):
            raise ValueError(
                f"config optimizers.{name}: expected a table of hyperparameters, "
                f"got {_type_name(table)}"
            )
        grid = {}
        for key, value in table.items():
            values = value if isinstance(value, list) else [value]
            if not values:
                raise ValueError(
                    f"config optimizers.{name}.{key}: empty grid; give at least one value"
                )
            for v in values:
                if not _grid_value_ok(v):
                    raise ValueError(
                        f"config optimizers.{name}.{key}: expected a number, string or "
                        f"boolean, or a list of them, got {_type_name(v)}"
                    )
            grid[key] = list(dict.fromkeys(values))
        out[name] = grid
    return out


def parse(doc: dict[str, Any], name: str = "sweep", source: str = "") -> SweepConfig:
    """Validate a parsed TOML document (types and shapes; ranges are checked by the plan)."""
    for key in doc:
        if key not in ("sweep", "regret", "run", "optimizers"):
            raise ValueError(
                f"config: unknown table [{key}]; allowed: sweep, regret, run, optimizers"
            )
    if "sweep" not in doc:
        raise ValueError('config: missing table [sweep] (with kind = "regret" or "run")')
    sweep = _table(doc, "sweep")
    kind = sweep["kind"]
    if kind not in KINDS:
        raise ValueError(f"config sweep.kind: expected regret | run, got {kind!r}")
    other = "run" if kind == "regret" else "regret"
    if other in doc:
        raise ValueError(f"config: table [{other}] does not apply to kind = {kind!r}")
    engine = _table(doc, kind)
    seeds = sweep["seeds"]
    if _is_int(seeds):
        if seeds < 1:
            raise ValueError(f"config sweep.seeds: expected a count >= 1, got {seeds}")
        if sweep["seed_start"] < 0:
            raise ValueError(
                f"config sweep.seed_start: expected an integer >= 0, got {sweep['seed_start']}"
            )
        seed_list = tuple(range(sweep["seed_start"], sweep["seed_start"] + seeds))
    else:
        if any(s < 0 for s in seeds):
            raise ValueError(f"config sweep.seeds: seeds must be >= 0, got {seeds}")
        seed_list = tuple(dict.fromkeys(seeds))
    if sweep["runs_per_unit"] < 1:
        raise ValueError(
            f"config sweep.runs_per_unit: expected an integer >= 1, got {sweep['runs_per_unit']}"
        )
    for key in ("problems", "tasks"):
        if key in engine:
            engine[key] = list(dict.fromkeys(engine[key]))
    if engine["backend"] not in ("numpy", "cupy"):
        raise ValueError(f"config {kind}.backend: expected numpy | cupy, got {engine['backend']!r}")
    if engine["backend"] == "numpy":  # the default leaves identities and unit keys as they were
        del engine["backend"]
    return SweepConfig(
        name=sweep["name"] or name,
        kind=kind,
        seeds=seed_list,
        runs_per_unit=sweep["runs_per_unit"],
        engine=engine,
        grids=_grids(doc),
        source=source,
        raw=doc,
    )


def load(path: str | Path) -> SweepConfig:
    """Read and validate a sweep file; one-line ValueError on any problem."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ValueError(f"cannot read config {path}: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise ValueError(f"config {path} is not a UTF-8 text file") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"config {path} is not valid TOML: {e}") from None
    return parse(doc, name=path.stem, source=str(path))
