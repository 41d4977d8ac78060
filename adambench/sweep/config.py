"""Sweep configuration files (TOML): loading and validation at the boundary.

A sweep is the product problems/tasks x optimizers x hyperparameter grids x seeds::

    [sweep]
    kind = "regret"            # "regret" (online regret engine) | "run" (training engine)
                               # | "phase" (a map of regret verdicts, below)
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
type; an empty list is an empty grid and is refused.  Nothing is silently dropped: a grid
list mixes no kinds (``[0, false]`` is refused: a boolean is no number, and TOML's
``false`` would otherwise merge with ``0``), and a key that applies to nothing in the
file is refused (``seed_start`` with a list of seeds, ``reddi_c`` without the ``reddi``
problem; ``set`` on a problem without that set is refused when the sweep is planned).
Seeds are bounded before any list of them is built: at most ``MAX_SEEDS``, each in
[0, ``MAX_SEED[kind]``].  Values are range-checked by the optimizer's own ``Param``s
(``core/spec.py``) when the sweep is planned.

A phase sweep (``kind = "phase"``) is the map of ``adambench phase``, cut into units of
cells: one optimizer table, whose values are fixed (no lists: the axes vary), and::

    [phase]
    problem = "reddi-stochastic"
    x = "beta1=0:0.99:40"      # as --x: name=lo:hi:n[:log], a hyperparameter or problem parameter
    y = "beta2=0.5:0.9999:40"
    T = "1e5"

Its merged results are the phase command's document (``adambench report`` draws it).
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

KINDS = ("regret", "run", "phase")
DEFAULT_RUNS_PER_UNIT = 64
# a phase unit's default: the lanes loop takes 64 runs of a seed per task (engines/regret/
# lanes.py), so a unit of 64 runs would leave most of its lanes empty
PHASE_RUNS_PER_UNIT = 4096
# Seeds of a sweep: at most MAX_SEEDS (experiments/regret.MAX_SEEDS), each at most
# MAX_SEED[kind]: the regret engine's stream key is 64-bit (experiments/regret.MAX_SEED;
# a larger seed would rerun a smaller one's stream), the training engine's seeds are
# those of `adambench run` (cli/training_options.check_common: 2^31 - 1).  Plain numbers
# here, so that loading a file imports nothing heavy; tests/sweep checks they agree.
MAX_SEEDS = 10_000
MAX_SEED = {"regret": 2**64 - 1, "run": 2**31 - 1, "phase": 2**64 - 1}
_MAX_SEED_TEXT = {"regret": "2^64 - 1", "run": "2^31 - 1", "phase": "2^64 - 1"}


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
        "kind": (_is_str, "a string: regret | run | phase", None),
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
    "phase": {
        "problem": (_is_str, "a string (see `adambench list problems`)", None),
        "x": (_is_str, "a string name=lo:hi:n or name=lo:hi:n:log", None),
        "y": (_is_str, "a string name=lo:hi:n or name=lo:hi:n:log", None),
        "T": (_is_horizon, "an integer or a string such as '1e6'", 100_000),
        "schedule": (_is_str, "a string: inv_sqrt | constant | auto", "auto"),
        "dim": (_is_int, "an integer", None),
        "dtype": (_is_str, "a string: float64 | float32", "float64"),
        "per_decade": (_is_int, "an integer", 5),
        "backend": (_is_str, "a string: numpy | cupy", "numpy"),
    },
}
REQUIRED = {"sweep": ("kind",), "regret": ("problems",), "run": ("tasks",),
            "phase": ("problem", "x", "y")}  # fmt: skip


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


def _value_kind(v: Any) -> str:
    """What a grid value is: a boolean, a string or a number (one kind per list)."""
    return "boolean" if isinstance(v, bool) else "string" if isinstance(v, str) else "number"


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
            kinds = [_value_kind(v) for v in values]
            for v, k in zip(values, kinds, strict=True):
                if k != kinds[0]:
                    raise ValueError(
                        f"config optimizers.{name}.{key}: expected a list of {kinds[0]}s "
                        f"(one kind per list), got {_type_name(v)}"
                    )
            grid[key] = list(dict.fromkeys(values))  # one kind: 0 and false never merge
        out[name] = grid
    return out


def parse(doc: dict[str, Any], name: str = "sweep", source: str = "") -> SweepConfig:
    """Validate a parsed TOML document (types and shapes; ranges are checked by the plan)."""
    for key in doc:
        if key not in ("sweep", *KINDS, "optimizers"):
            raise ValueError(
                f"config: unknown table [{key}]; allowed: sweep, {', '.join(KINDS)}, optimizers"
            )
    if "sweep" not in doc:
        raise ValueError('config: missing table [sweep] (with kind = "regret", "run" or "phase")')
    sweep = _table(doc, "sweep")
    kind = sweep["kind"]
    if kind not in KINDS:
        raise ValueError(f"config sweep.kind: expected {' | '.join(KINDS)}, got {kind!r}")
    for other in KINDS:
        if other != kind and other in doc:
            raise ValueError(f"config: table [{other}] does not apply to kind = {kind!r}")
    engine = _table(doc, kind)
    seed_list = _seeds(sweep, kind, "seed_start" in doc["sweep"])
    if kind == "phase" and "runs_per_unit" not in doc["sweep"]:
        sweep["runs_per_unit"] = PHASE_RUNS_PER_UNIT
    if sweep["runs_per_unit"] < 1:
        raise ValueError(
            f"config sweep.runs_per_unit: expected an integer >= 1, got {sweep['runs_per_unit']}"
        )
    for key in ("problems", "tasks"):
        if key in engine:
            engine[key] = list(dict.fromkeys(engine[key]))
    if kind == "regret" and "reddi_c" in doc["regret"] and "reddi" not in engine["problems"]:
        raise ValueError(
            "config regret.reddi_c: expected only with the reddi problem in regret.problems "
            f"(C of Reddi et al.'s example), got {_type_name(engine['reddi_c'])}"
        )
    grids = _grids(doc)
    if kind == "phase":
        _one_fixed_point(grids)
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
        grids=grids,
        source=source,
        raw=doc,
    )


def _one_fixed_point(grids: dict[str, dict[str, list[Any]]]) -> None:
    """A phase sweep maps one optimizer, its other hyperparameters fixed (the axes vary)."""
    if len(grids) != 1:
        raise ValueError(
            f"config optimizers: a phase sweep maps one optimizer, got {len(grids)} "
            f"({', '.join(grids)})"
        )
    ((name, grid),) = grids.items()
    for key, values in grid.items():
        if len(values) != 1:
            raise ValueError(
                f"config optimizers.{name}.{key}: expected one value in a phase sweep (its "
                f"axes are phase.x and phase.y), got {len(values)}"
            )


def _seeds(sweep: dict[str, Any], kind: str, start_given: bool) -> tuple[int, ...]:
    """The seeds of ``[sweep]`` (types already checked), bounded before any list is built:
    a count in [1, ``MAX_SEEDS``] from ``seed_start``, or a list of at most ``MAX_SEEDS``
    distinct seeds, every seed in [0, ``MAX_SEED[kind]``]."""
    seeds, start, top = sweep["seeds"], sweep["seed_start"], MAX_SEED[kind]
    if _is_int(seeds):
        if not 1 <= seeds <= MAX_SEEDS:
            raise ValueError(
                f"config sweep.seeds: expected a count in [1, {MAX_SEEDS}], got {seeds}"
            )
        if not 0 <= start <= top - seeds + 1:
            raise ValueError(
                f"config sweep.seed_start: expected an integer in [0, {top - seeds + 1}] (the "
                f"last of {seeds} seeds is at most {_MAX_SEED_TEXT[kind]}), got {start}"
            )
        return tuple(range(start, start + seeds))
    if start_given:
        raise ValueError(
            "config sweep.seed_start: expected only with a count of seeds (sweep.seeds is a "
            f"list: give the seeds themselves), got {_type_name(start)}"
        )
    if len(seeds) > MAX_SEEDS:
        raise ValueError(
            f"config sweep.seeds: expected at most {MAX_SEEDS} seeds, got {len(seeds)}"
        )
    for s in seeds:
        if not 0 <= s <= top:
            raise ValueError(
                f"config sweep.seeds: expected seeds in [0, {_MAX_SEED_TEXT[kind]}], got {s}"
            )
    return tuple(dict.fromkeys(seeds))


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
