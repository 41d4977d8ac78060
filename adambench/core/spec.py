"""Hyperparameter and rule descriptions, and the validation done once at the boundary.

Nothing here imports numba: ``adambench list`` reads these descriptions and must start
instantly (docs/design.md, "Start-up is instant").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Param:
    """One hyperparameter: its default, its allowed range and what it means.

    ``kind`` is ``"float"`` (may be a per-run vector in a batched sweep), ``"bool"`` or
    ``"choice"`` (both scalars).  Bounds are inclusive unless ``low_open``/``high_open``.
    """

    name: str
    default: float | bool | str
    doc: str
    kind: str = "float"
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[str, ...] = ()
    allowed: str = ""  # overrides the generated range text where bounds don't say it all

    def range_text(self) -> str:
        """The allowed values in interval notation, e.g. ``[0, 1)`` or ``> 0``."""
        if self.allowed:
            return self.allowed
        if self.kind == "bool":
            return "true or false"
        if self.kind == "choice":
            return " | ".join(self.choices)
        lo, hi = self.low, self.high
        if hi is None:
            return f"{'>' if self.low_open else '>='} {_num(lo)}"
        if lo is None:
            return f"{'<' if self.high_open else '<='} {_num(hi)}"
        left, right = "(["[not self.low_open], ")]"[not self.high_open]
        return f"{left}{_num(lo)}, {_num(hi)}{right}"

    def where_text(self) -> str:
        """The range as a sentence says it: ``in [0, 1)``, ``> 0``."""
        allowed = self.range_text()
        return f"in {allowed}" if allowed[0] in "[(" else allowed

    def check(self, value: Any) -> Any:
        """Validate one value; return it normalised (float64 vector, bool or str).

        Raises ValueError naming the parameter and the allowed range.
        """
        if self.kind == "bool":
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            raise ValueError(f"{self.name} must be true or false, got {value!r}")
        if self.kind == "choice":
            if isinstance(value, str) and value in self.choices:
                return value
            raise ValueError(f"{self.name} must be one of {self.range_text()}, got {value!r}")
        where = self.where_text()
        kind = _not_a_number(value)
        if kind:  # NumPy would read "0.1" as 0.1 and True as 1.0: refuse, do not guess
            raise ValueError(
                f"{self.name} must be a number {where}, not {kind}: got {_show(value)}"
            )
        try:
            if value is None:
                raise TypeError
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name} must be a number {where}, got {value!r}") from None
        if arr.ndim > 1 or arr.size == 0:
            raise ValueError(
                f"{self.name} must be a number or a 1-D vector of numbers {where}, "
                f"got {_show(value)}"
            )
        arr = arr.reshape(-1)
        bad = ~np.isfinite(arr)
        if self.low is not None:
            bad |= (arr <= self.low) if self.low_open else (arr < self.low)
        if self.high is not None:
            bad |= (arr >= self.high) if self.high_open else (arr > self.high)
        if bad.any():
            first = arr[np.argmax(bad)]
            raise ValueError(f"{self.name} must be {where}, got {float(first)!r}")
        return arr


def _not_a_number(value: Any) -> str:
    """What makes ``value`` no number for a float hyperparameter ("a string", "a bool",
    ...), or "" when it is a real number or a 1-D sequence or array of real numbers.

    Strings (and bytes), bools and complex numbers are refused wherever they appear, also
    inside a list or array: ``np.asarray(..., float64)`` would silently convert them.
    """
    if isinstance(value, (str, bytes, np.str_, np.bytes_)):
        return "a string"
    if isinstance(value, (bool, np.bool_)):
        return "a bool"
    if isinstance(value, (complex, np.complexfloating)):
        return "a complex number"
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "O":
            return _not_a_number(value.tolist())
        if value.dtype.kind in "iuf":
            return ""
        what = {"U": "strings", "S": "strings", "b": "bools", "c": "complex numbers"}
        return f"an array of {what.get(value.dtype.kind, value.dtype.name)}"
    if isinstance(value, (list, tuple)):
        for item in value:
            kind = _not_a_number(item)
            if kind:
                return kind
    return ""


def _show(value: Any) -> str:
    """A rejected value for a one-line message: arrays by shape, others by short repr."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return f"an array of shape {value.shape}"
    if isinstance(value, np.generic):  # as the user would write it: 0.1, not np.float64(0.1)
        value = value.item()
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _num(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


# Hyperparameters shared by every rule: the step size and its schedule.
LR_SCHEDULE = Param(
    "lr_schedule",
    "constant",
    "step-size schedule: alpha_t = alpha (constant) or alpha/sqrt(t) (docs/theory.md §1.5, §2.1)",
    kind="choice",
    choices=("constant", "inv_sqrt"),
)
BETA1_DECAY = Param(
    "beta1_decay",
    1.0,
    "lambda in beta1_t = beta1 * lambda^(t-1) (Kingma & Ba Thm 4.1); 1 = no decay",
    low=0.0,
    high=1.0,
    low_open=True,
)


def lr_param(default: float) -> Param:
    return Param("lr", default, "step size alpha", low=0.0, low_open=True)


def beta_param(name: str, default: float, doc: str) -> Param:
    return Param(name, default, doc, low=0.0, high=1.0, high_open=True)


def eps_param(default: float, doc: str = "added to the denominator") -> Param:
    return Param("eps", default, doc, low=0.0)


def weight_decay_param(default: float = 0.0, doc: str = "") -> Param:
    """``weight_decay`` lambda >= 0: L2, g <- g + lambda theta (torch's ``weight_decay``;
    docs/theory.md §7.1) unless the rule's doc says it decays theta itself."""
    return Param(
        "weight_decay", default, doc or "L2 penalty: g <- g + weight_decay * theta", low=0.0
    )


def with_l2(g: np.ndarray, p: np.ndarray, weight_decay: np.ndarray) -> np.ndarray:
    """g + lambda p per run (lambda an (R,) vector), and g itself (not a copy) where every
    lambda is 0; runs with lambda = 0 keep g bit for bit, as the kernels'
    ``g if wd == 0 else g + wd * p`` (docs/theory.md §7.1)."""
    lam = column(weight_decay)
    if not lam.any():
        return g
    return np.where(lam == 0, g, g + lam * p)


@dataclass(frozen=True)
class Track:
    """A per-step statistic of a run that the regret engine accumulates for a theorem.

    At each step where ``on(c)`` holds, the engine adds ``add(sum_i term(a0_i, a1_i,
    a2_i), c)`` to the run's total ``stat``; each function has its CUDA C++ twin (an
    expression in ``c`` by coefficient name, the state values ``a0..a2``, and ``sum``).
    """

    stat: str
    on: Callable[..., bool]
    term: Callable[..., float]
    add: Callable[..., float]
    on_cuda: str
    term_cuda: str
    add_cuda: str


@dataclass(frozen=True)
class Kernel:
    """A fused update kernel: what ``kernels_cpu`` and ``kernels_cuda`` compile for a rule.

    ``coefs`` names the per-run coefficients of a row, in order; code outside the rule's
    file reads them by name (``index``), never by position.  ``states`` lists the numbers
    of state arrays the kernel accepts.  The update is written twice, side by side in the
    rule's file, with the same operations in the same order:

    * ``row(p, g, s0, s1, s2, c)``: plain Python over one contiguous 1-D stretch, which
      numba compiles (state slots past the rule's buffers alias ``p`` and are never
      touched; arithmetic stays in the arrays' dtype);
    * ``cuda``: the CUDA C++ body over one element (``T& p``, ``const T g``, ``T& s0..s2``,
      the coefficients as ``const T`` locals by name; ``TINY`` (the smallest normal T),
      ``ROOT_TINY`` (its square root, ``root_tiny``), ``ZERO`` and ``py_max``).

    ``lane(p, g, s0, s1, s2, c)`` (optional) is ``row``'s operations in ``row``'s order
    on one element, with that element's own coefficient row ``c``, returning the new
    (p, s0, s1, s2): the step of the regret engine's runs-as-lanes loop
    (``engines/regret/lanes.py``), where every lane of a SIMD vector is another run,
    and of the fused 16-bit loop (``core/multi_tensor.py``: widen, step, round per
    element); both are tested bit for bit against ``row``.

    ``weight(a0, a1, a2, c)`` is the diagonal of sqrt(V_t) at one coordinate in float64
    (docs/theory.md §2.1), the metric of the weighted projection; it compiles under numba
    per element and evaluates on whole NumPy arrays.  ``weight_cuda`` is the same C++
    expression.  None: V_t = I (the projection is Euclidean).  ``checkpoint(state, coef,
    T)`` gives the bound statistics ``stats`` at a checkpoint from (runs, d) float64
    state arrays and ``coef(name)``, a (runs, 1) column.
    """

    name: str
    coefs: tuple[str, ...]
    states: tuple[int, ...]
    row: Callable[..., None]
    cuda: str
    weight: Callable[..., Any] | None = None
    weight_cuda: str = ""
    track: Track | None = None
    checkpoint: Callable[..., dict[str, np.ndarray]] | None = None
    stats: tuple[str, ...] = ()  # the names ``checkpoint`` returns
    lane: Callable[..., tuple[Any, Any, Any, Any]] | None = None
    alpha_coefs: tuple[str, ...] = ()  # the columns equal to alpha_t once settled

    def index(self, name: str) -> int:
        """The position of coefficient ``name`` in a row."""
        return self.coefs.index(name)

    def stack(self, t: int | np.ndarray, **named: Any) -> np.ndarray:
        """Per-run coefficient columns, given by name, as (R, K) or (n, R, K) rows."""
        if set(named) != set(self.coefs):
            raise ValueError(f"{self.name} coefficients are {self.coefs}, got {tuple(named)}")
        return stack_columns(t, *(named[c] for c in self.coefs))


@dataclass(frozen=True)
class Rule:
    """An optimizer rule: its description, its float64 reference and its kernel recipe.

    ``reference(p, g, state, hp, t)`` is the readable float64 update on (B, d) arrays
    (hyperparameters as (R, 1) columns).  ``coefficients(hp, t)`` returns the per-run
    scalars, shape (R, K), that the fused kernel ``kernel`` applies in one pass; with
    ``t`` an integer array of shape (n, 1) it returns a (n, R, K) table for n steps.
    ``buffers(hp)`` names the state arrays the rule keeps for these hyperparameters, in
    the order of its kernel's state slots.  ``kernel`` is None for a rule without a fused
    kernel (a plugin's NumPy rule): its ``reference`` is then its step.
    ``settles(hp)`` (optional; hp as ``coefficients`` takes it) gives, per run, the
    first step t* from which ``coefficients(hp, t)`` no longer changes with t except in
    its kernel's ``alpha_coefs``, which from there equal alpha_t (``schedules.step_size``)
    exactly; inf: never.  A rule that declares it computes every run's row from that
    run's values alone, so the regret engine may compute rows for a subset of runs.
    """

    name: str
    title: str
    source: str
    equation: str
    params: tuple[Param, ...]
    bytes_per_param: int
    kernel: Kernel | None
    buffers: Callable[[Mapping[str, Any]], tuple[str, ...]]
    reference: Callable[..., None]
    coefficients: Callable[[Mapping[str, Any], int], np.ndarray]
    initial: Mapping[str, str] = field(default_factory=dict)
    settles: Callable[[Mapping[str, Any]], np.ndarray] | None = None
    extra_check: Callable[[Mapping[str, Any]], None] | None = None
    # What experiments use by default (experiments/ reads these; nothing branches on names):
    # the schedule of a regret run, whether its default step is divided by the observed
    # G_inf (a rule that is not invariant to the gradient's scale), the regret theorem
    # whose bound applies (a key of experiments/bounds.THEOREMS), hyperparameters other
    # than lr for training, and the centre of the training lr grid per schedule.
    # The rule's place in listings and default sets (then by name).
    rank: int = 100
    online_schedule: str = "inv_sqrt"
    scale_free: bool = True
    theorem: str | None = None
    train_hp: Mapping[str, Any] = field(default_factory=dict)
    train_lr: Mapping[str, float] = field(default_factory=dict)
    # Peers for the benchmark: the update as a user would write it from the paper in plain
    # NumPy, ``textbook(p, g, state, hp, t)`` (hp as Python scalars; state rebound), and
    # ``torch_form(hp)`` -> (torch.optim class name, its arguments, a note) or None where
    # torch has no form of this configuration.
    textbook: Callable[..., None] | None = None
    torch_form: Callable[[Mapping[str, Any]], tuple[str, dict[str, Any], str] | None] | None = None

    @property
    def compiled(self) -> bool:
        """True when the rule has a fused kernel (else its NumPy reference is its step)."""
        return self.kernel is not None

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def validate(self, given: Mapping[str, Any]) -> dict[str, Any]:
        """Fill defaults and check every value; unknown names are an error."""
        names = [p.name for p in self.params]
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise ValueError(
                f"unknown hyperparameter {unknown[0]!r} for {self.name}; "
                f"allowed: {', '.join(names)}"
            )
        hp = {p.name: p.check(given.get(p.name, p.default)) for p in self.params}
        if self.extra_check is not None:
            self.extra_check(hp)
        return hp


def stack_columns(t: int | np.ndarray, *cols: Any) -> np.ndarray:
    """Broadcast per-run coefficient columns (and the step count) into (R, K) or (n, R, K).

    One step's rows (an integer t) are a contiguous (R, K) array, what the kernels take.
    A table (t an (n, 1) array) is laid out column by column: the (n, R, K) result is a
    view of a contiguous (K, n, R) array (``np.moveaxis(table, -1, 0)`` gives it back),
    whose columns fill in one contiguous pass each; written as (n, R, K), every column is
    a write at a stride of K (measured, 4096 steps x 40 runs x 8 columns: 3.1 ms, most of
    a rule's ``coefficients``)."""
    if np.ndim(t) == 0:
        shaped = np.broadcast_arrays(*cols, np.zeros(np.shape(t)))[:-1]
        return np.stack(shaped, axis=-1).astype(np.float64, copy=False)
    shape = np.broadcast_shapes(*(np.shape(c) for c in cols), np.shape(t))
    out = np.empty((len(cols), *shape))
    for k, c in enumerate(cols):
        out[k] = c
    return np.moveaxis(out, 0, -1)


def root_tiny(dtype: Any) -> float:
    """sqrt(smallest normal number) of ``dtype``: 2^-63 in float32, 2^-511 in float64.

    The floor of a denominator that is the root of an average of squared gradients
    (docs/theory.md §6.2): below it, that average is smaller than the smallest normal
    number, i.e. it underflowed (g^2 itself does for |g| < 2^-63 in float32), and what is
    left of it is rounding noise.  The kernels use the same constant (``ROOT_TINY`` in
    CUDA, ``np.sqrt(np.finfo(c.dtype).tiny)`` under numba, both exact powers of two).
    """
    return float(np.sqrt(np.finfo(dtype).tiny))


def guarded(num: np.ndarray, denom: np.ndarray, floor: float) -> np.ndarray:
    """``num / denom`` where ``denom >= floor``, and 0 where ``denom < floor``.

    The rules' zero-denominator guard (docs/theory.md §6.2), as the kernels write it
    (``zero if denom < floor else num / denom``): a coordinate whose denominator is below
    the floor (0 with eps = 0 and all-zero gradients; or an average of squares that
    underflowed) is treated as one whose gradients were all zero and does not move.  A
    NaN denominator is not below the floor, so a diverged run stays NaN.  No division by
    zero is evaluated (no warning).
    """
    low = denom < floor
    return np.where(low, 0.0, num / np.where(low, 1.0, denom))


def column(x: np.ndarray) -> np.ndarray:
    """A per-run vector as an (R, 1) column that broadcasts against (B, d) arrays."""
    return np.asarray(x, dtype=np.float64).reshape(-1, 1)
