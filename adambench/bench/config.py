"""What ``adambench bench`` measures: optimizer cases, sizes or parameter lists, dtype layouts,
threads; checked up front.

Every check here runs before any timing, so bad input costs nothing and writes nothing
(docs/design.md, "Bad input").  Memory is checked against MemAvailable: an explicit size that
does not fit is refused; a default size that would crowd the machine is skipped with a note.
A parameter list (``--shapes`` preset or ``--tensors`` x ``--numel`` grid, bench/shapes.py)
is always explicit: one that does not fit is refused.  A ``--dtype`` is a dtype layout of
``core.precision.NAMED`` (parameters, state, master copy; docs/design.md §8).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..core.backend import select_backend
from ..core.optimizer import make_optimizer
from ..core.precision import FLOAT32, NAMED, Layout, named_layout
from ..core.registry import RULES
from . import shapes as presets

DEFAULT_SIZES = (10**4, 10**5, 10**6, 10**7, 10**8)
# The CI gate (--quick): one DRAM-sized array, single-threaded, timed by thread CPU time.
# Measured on the shared 2-core machine (README of scripts/measure_gate.py): the
# kernel/roofline ratio of a DRAM size moves 2-9 % between runs, that of cache-resident
# sizes (1e4-1e5, compute bound against a memory-bound loop) 10-20 %, too close to the
# 10 % threshold for a gate that must not flake.
QUICK_SIZES = (10**7,)
QUICK_REPEATS = 25
DTYPES = tuple(NAMED)  # float32, float64, bfloat16, float16, mixed (core/precision.py)
BACKENDS = ("numpy", "cupy", "auto")
DEFAULT_OPTIMIZERS = tuple(RULES)  # every built-in rule, in registry order
# An explicit size may use this share of the memory available now; a default size a
# smaller one, so that the default run never crowds a shared machine.
EXPLICIT_MEMORY_SHARE = 0.8
DEFAULT_MEMORY_SHARE = 0.25


# --budget: seconds per group that cap its repeats.  A day per group is beyond any useful
# run (a default run has 5 sizes x 7 optimizers x 2 thread counts = 70 groups).
MAX_BUDGET_S = 86400.0


def check_budget(budget_s: float) -> float:
    """A finite number of seconds in (0, MAX_BUDGET_S]; one-line ValueError otherwise."""
    ok = isinstance(budget_s, (int, float)) and not isinstance(budget_s, bool)
    if not ok or not math.isfinite(budget_s) or not 0 < budget_s <= MAX_BUDGET_S:
        raise ValueError(
            f"budget must be a finite number of seconds in (0, {MAX_BUDGET_S:g}], got {budget_s!r}"
        )
    return float(budget_s)


@dataclass(frozen=True)
class Case:
    """One optimizer configuration: ``label`` as given, e.g. ``sgd:momentum=0.9``."""

    label: str
    name: str
    given: tuple[tuple[str, Any], ...] = ()

    @property
    def hp(self) -> dict[str, Any]:
        return dict(self.given)


Shape = tuple[int, ...]
GRID = "grid"


@dataclass(frozen=True)
class ListSpec:
    """A parameter list to time in one call: a preset's shapes, or ``tensors`` flat tensors
    of ``numel_per_tensor`` elements (``shapes == "grid"``)."""

    shapes: str
    tensor_shapes: tuple[Shape, ...]
    numel_per_tensor: int | None = None

    @property
    def tensors(self) -> int:
        return len(self.tensor_shapes)

    @property
    def size(self) -> int:
        """Total parameters (the flat array it is compared with has as many)."""
        return presets.numel(self.tensor_shapes)

    @property
    def label(self) -> str:
        """``gpt2-124m``, or ``1000x1024`` for a grid point."""
        if self.shapes == GRID:
            return f"{self.tensors}x{self.numel_per_tensor}"
        return self.shapes

    def to_dict(self) -> dict[str, Any]:
        return {
            "shapes": self.shapes,
            "tensors": self.tensors,
            "numel_per_tensor": self.numel_per_tensor,
            "size": self.size,
        }


@dataclass
class BenchConfig:
    cases: list[Case]
    sizes: list[int]
    dtypes: list[str]
    threads: list[int]
    repeats: int = 20
    backend: str = "numpy"
    textbook: bool = True
    torch: bool = True
    min_sample_s: float = 2e-3
    budget_s: float = 4.0
    seed: int = 0
    quick: bool = False
    notes: list[str] = field(default_factory=list)
    lists: list[ListSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_budget(self.budget_s)

    def to_dict(self) -> dict[str, Any]:
        return {
            "optimizers": [c.label for c in self.cases],
            "sizes": self.sizes,
            "dtypes": self.dtypes,
            "threads": self.threads,
            "repeats": self.repeats,
            "backend": self.backend,
            "peers": {"numpy-textbook": self.textbook, "torch": self.torch},
            "min_sample_s": self.min_sample_s,
            "budget_s": self.budget_s,
            "seed": self.seed,
            "quick": self.quick,
            **({"lists": [s.to_dict() for s in self.lists]} if self.lists else {}),
        }


def quick_config(seed: int = 0) -> BenchConfig:
    """What ``adambench bench --quick`` runs: every optimizer, QUICK_SIZES, float32, 1 thread."""
    return BenchConfig(
        parse_cases(None), list(QUICK_SIZES), ["float32"], [1], repeats=QUICK_REPEATS,
        textbook=False, torch=False, seed=seed, quick=True,
    )  # fmt: skip


def _value(text: str) -> Any:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        return float(text)
    except ValueError:
        return text.strip()


def _split_specs(value: str) -> list[tuple[str, list[str]]]:
    """``adam,sgd:momentum=0.9,nesterov=true`` -> [("adam", []), ("sgd", [momentum=0.9, ...])].

    The rule (also in ``bench --help``): items are separated by commas; an item
    ``key=value`` adds a hyperparameter to the optimizer before it; any other item starts
    an optimizer, ``NAME`` or ``NAME:key=value``.  No optimizer name holds ``=``, no value
    a comma, so the rule is unambiguous.
    """
    specs: list[tuple[str, list[str]]] = []
    for item in filter(None, (s.strip() for s in value.split(","))):
        key, eq, _ = item.partition("=")
        if eq and ":" not in key:  # key=value (a value may hold ':', a name never '=')
            if not specs:
                raise ValueError(
                    f"optimizer {value.strip()!r}: hyperparameter {item!r} comes before any "
                    "optimizer name (write NAME:key=value)"
                )
            specs[-1][1].append(item)
            continue
        name, colon, first = item.partition(":")
        specs.append((name.strip(), [first.strip()] if colon else []))
        if colon and not first.strip():
            raise ValueError(f"optimizer {item!r}: hyperparameters must be key=value, got ''")
    return specs


def parse_cases(values: list[str] | None) -> list[Case]:
    """Optimizer cases from strings such as ``adam,sgd:momentum=0.9,nesterov=true,adagrad``.

    Each value is a comma-separated list (``_split_specs``; values may also be repeated):
    a ``key=value`` item belongs to the optimizer before it, any other item names a new one.
    The label of a case is its spec as written, items joined by commas
    (``sgd:momentum=0.9,nesterov=true``).  Every case is validated by its rule.
    """
    cases: list[Case] = []
    if not values or [v.strip() for v in values] == ["all"]:
        values = [",".join(DEFAULT_OPTIMIZERS)]
    for value in values:
        for name, items in _split_specs(value):
            given = []
            for item in items:
                key, eq, val = item.partition("=")
                if not eq or not key.strip():
                    raise ValueError(
                        f"optimizer {name!r}: hyperparameters must be key=value, got {item!r}"
                    )
                given.append((key.strip(), _value(val)))
            label = f"{name}:{','.join(items)}" if items else name
            make_optimizer(name, **dict(given))  # ValueError names the bad value and range
            if label not in [c.label for c in cases]:
                cases.append(Case(label, name, tuple(given)))
    if not cases:
        raise ValueError("--optimizers must name at least one optimizer")
    return cases


def parse_sizes(text: str | None, default: tuple[int, ...]) -> list[int]:
    """Sizes from ``1e4,1e5``; each a whole number >= 1."""
    if text is None:
        return list(default)
    return _whole_numbers(
        text, "size must be a whole number >= 1 (e.g. 1e6), got {!r}",
        "--sizes must list at least one size",
    )  # fmt: skip


def _whole_numbers(text: str, bad: str, empty: str) -> list[int]:
    """Whole numbers >= 1 (up to 2^62) from a comma list, in order, without repeats;
    ValueError ``bad.format(item)`` for the first other item, ``empty`` for none."""
    out: list[int] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        try:
            x = float(item)
        except ValueError:
            x = math.nan
        if not math.isfinite(x) or x < 1 or x != int(x) or x > 2**62:
            raise ValueError(bad.format(item))
        if int(x) not in out:
            out.append(int(x))
    if not out:
        raise ValueError(empty)
    return out


def parse_dtypes(text: str) -> list[str]:
    """Dtype layout names (``core.precision.NAMED``), in order, without repeats."""
    out = [s.strip() for s in text.split(",") if s.strip()]
    for d in out:
        if d not in DTYPES:
            raise ValueError(f"dtype must be one of {', '.join(DTYPES)}, got {d!r}")
    if not out:
        raise ValueError(f"--dtype must be one of {', '.join(DTYPES)}")
    return list(dict.fromkeys(out))


def parse_counts(text: str, option: str) -> list[int]:
    """Whole numbers >= 1 from ``100,500,1e3`` (for ``--tensors`` and ``--numel``)."""
    return _whole_numbers(
        text, f"{option} must list whole numbers >= 1, got {{!r}}",
        f"{option} must list at least one whole number >= 1",
    )  # fmt: skip


def parse_lists(shapes: str | None, tensors: str | None, numel: str | None) -> list[ListSpec]:
    """The parameter lists of ``--shapes PRESET[,PRESET]|all`` or of the ``--tensors`` x
    ``--numel`` grid (bench/shapes.py); [] when neither is given.  One-line ValueErrors."""
    if shapes is not None and (tensors is not None or numel is not None):
        raise ValueError("--shapes and --tensors/--numel are alternatives: give one of them")
    if (tensors is None) != (numel is None):
        given, missing = ("--tensors", "--numel") if numel is None else ("--numel", "--tensors")
        raise ValueError(f"{given} needs {missing} (the grid is tensor count x numel per tensor)")
    if shapes is not None:
        names = [s.strip() for s in shapes.split(",") if s.strip()]
        if names == ["all"]:
            names = list(presets.PRESETS)
        if not names:
            raise ValueError(f"--shapes must name a preset: {', '.join(presets.PRESETS)} or all")
        out = []
        for name in dict.fromkeys(names):
            if name not in presets.PRESETS:
                raise ValueError(
                    f"--shapes: unknown preset {name!r}; choose from: "
                    f"{', '.join(presets.PRESETS)}, all"
                )
            out.append(ListSpec(name, tuple(presets.shapes(name))))
        return out
    if tensors is None or numel is None:
        return []
    counts, sizes = parse_counts(tensors, "--tensors"), parse_counts(numel, "--numel")
    return [ListSpec(GRID, tuple(s), k) for _, k, s in presets.grid(counts, sizes)]


def layout_of(dtype: str) -> Layout:
    """The dtype layout a ``--dtype`` name stands for (core/precision.py)."""
    return named_layout(dtype)


def parse_threads(text: str, available: int) -> list[int]:
    """Thread counts from ``1,all``; each in [1, available]."""
    out: list[int] = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        n = available if item == "all" else None
        if n is None:
            try:
                n = int(item)
            except ValueError:
                n = 0
        if not 1 <= n <= available:
            raise ValueError(
                f"threads must be 'all' or an integer in [1, {available}], got {item!r}"
            )
        if n not in out:
            out.append(n)
    if not out:
        raise ValueError("--threads must list at least one thread count")
    return out


def check_backend(backend: str) -> str:
    """The backend to time on: numpy (numba), cupy (CUDA device, bench/cuda.py)
    or auto (cupy when usable, core.backend.select_backend); one-line ValueError otherwise."""
    return select_backend(backend)  # its one wording of the errors


def arrays_needed(case: Case, textbook: bool, torch: bool) -> int:
    """Length-n arrays alive at once while one case is timed (kernel, roofline and peers)."""
    opt = make_optimizer(case.name, **case.hp)
    nb = len(opt.rule.buffers(opt.hp))
    need = (2 + nb) + 3  # adambench arrays (the roofline loop shares them), copy/triad
    if textbook:
        need += (2 + nb) + 4  # its own arrays plus the temporaries of one line
    if torch:
        need += 2 + 3 * (nb + 1)  # one shared parameter, each variant's state (+ scratch)
    return need


def bytes_needed(case: Case, dtype: str, textbook: bool, torch: bool, listed: bool) -> int:
    """Bytes per parameter alive at once while one group is timed, in ``dtype``'s layout.

    The adambench arrays (p, g, states, master; the roofline loop shares them) and the
    copy/triad scratch in the compute dtype; a list group (``listed``) also holds the flat
    array of the same total size it is compared with and the roofline loop's own copy of
    it; the textbook peer (wide layouts only)
    its arrays and one line's temporaries; torch one shared parameter and each variant's
    state (+ scratch) in the parameters' dtype.  For a uniform layout this is
    ``arrays_needed`` x the item size.
    """
    lay = layout_of(dtype)
    opt = make_optimizer(case.name, **case.hp)
    nb = len(opt.rule.buffers(opt.hp))
    ps, ss = lay.param.itemsize, lay.state.itemsize
    own = 2 * ps + nb * ss + (FLOAT32.itemsize if lay.master else 0)
    need = own + 3 * lay.compute.itemsize
    if listed:
        need += 2 * own
    elif textbook and lay.uniform:
        need += (2 + nb + 4) * ps
    if torch:
        need += (2 + 3 * (nb + 1)) * ps
    return need


def check_list_memory(config: BenchConfig, available: int | None) -> None:
    """ValueError when a parameter list does not fit (lists are always explicit)."""
    if available is None or not config.lists:
        return
    per = max(
        bytes_needed(c, d, False, config.torch, True) for c in config.cases for d in config.dtypes
    )
    for spec in config.lists:
        need = spec.size * per
        if need > EXPLICIT_MEMORY_SHARE * available:
            raise ValueError(
                f"parameter list {spec.label} ({spec.size:,} parameters) needs "
                f"{need / 2**30:.2f} GiB ({per} bytes per parameter with its flat twin, "
                f"the roofline's copy and peers) but only {available / 2**30:.2f} GiB of "
                "memory is available; choose a smaller preset or --numel"
            )


def check_memory(config: BenchConfig, explicit: bool, available: int | None) -> list[int]:
    """Sizes that fit in memory; ValueError for an explicit size that does not."""
    if available is None or not config.sizes:  # no sizes: a run of parameter lists only
        return config.sizes
    share = EXPLICIT_MEMORY_SHARE if explicit else DEFAULT_MEMORY_SHARE
    arrays = max(arrays_needed(c, config.textbook, config.torch) for c in config.cases)
    itemsize = max(8 if d == "float64" else 4 for d in config.dtypes)
    per = max(
        bytes_needed(c, d, config.textbook, config.torch, False)
        for c in config.cases
        for d in config.dtypes
    )
    uniform = all(layout_of(d).uniform for d in config.dtypes)
    what = f"{arrays} arrays of {itemsize}-byte values" if uniform else f"{per} bytes per parameter"
    kept = []
    for n in config.sizes:
        need = n * itemsize * arrays if uniform else n * per
        if need <= share * available:
            kept.append(n)
            continue
        msg = (
            f"size {n:.3g} needs {need / 2**30:.2f} GiB ({what}) "
            f"but only {available / 2**30:.2f} GiB of memory is available"
        )
        if explicit:
            raise ValueError(f"{msg}; choose a smaller --sizes value")
        config.notes.append(f"{msg} (a default run uses at most {share:.0%}): skipped")
    if not kept:
        raise ValueError("no size fits in the memory available; choose a smaller --sizes value")
    return kept
