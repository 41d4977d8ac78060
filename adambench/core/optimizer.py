"""The public optimizer API: ``make_optimizer(name, **hp)``, ``opt.init``, ``opt.step``.

Hyperparameters are validated once, here, at the boundary; arrays are checked at
``init`` and ``step``.  ``step`` runs the rule's fused kernel on the arrays' backend.

A state belongs to the optimizer that made it.  ``init`` records the optimizer's
identity in the state: its rule name and its hyperparameter values (``Optimizer.key``;
fixed at construction, the arrays are read-only copies).  ``step`` refuses, with one
line naming both, a state made by another rule or other hyperparameters: the state
caches a table of that optimizer's coefficients, its buffers are that rule's, and
stepping it with another one would mix the two silently.  Identity is by value, not by
object: a second optimizer with the same rule and the same hyperparameters (e.g. one
rebuilt by ``make_optimizer`` or unpickled) has the same key, compares equal and may
step the state (its coefficient table is the same, bit for bit).

Optimizers pickle by their rule name and hyperparameters (the rule is looked up again,
and the values validated again, on loading); states pickle as plain data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import array_module, is_cupy_array, kernels_for, to_numpy
from .registry import get_rule
from .spec import Rule

# An optimizer's identity: (rule name, ((hyperparameter, value), ...)), each float
# hyperparameter as a tuple of its per-run values.
Key = tuple[str, tuple[tuple[str, Any], ...]]

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_TABLE_STEPS = 256


@dataclass(eq=False)
class OptState:
    """What a rule carries between steps: the step count and its state arrays.

    ``buffers`` maps names (``m``, ``v``, ...) to arrays shaped like the parameters.
    ``owner`` is the ``Optimizer.key`` of the optimizer that made it (``init``): only an
    optimizer with that key may step it.  Two states are equal when they have the same
    owner, step count, shape, dtype and bit-identical buffers (the coefficient table is
    a cache and does not count).
    """

    t: int
    buffers: dict[str, Any] = field(default_factory=dict)
    shape: tuple[int, ...] = ()
    dtype: np.dtype = np.dtype(np.float64)
    # Kernel coefficients for steps table_start .. table_start + len(table) - 1, computed
    # for a block of steps at once so that a step costs no per-step NumPy calls.
    table: Any = None
    table_start: int = 0
    owner: Key | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OptState):
            return NotImplemented
        return (
            (self.owner, self.t, tuple(self.shape), np.dtype(self.dtype))
            == (other.owner, other.t, tuple(other.shape), np.dtype(other.dtype))
            and self.buffers.keys() == other.buffers.keys()
            and all(_same_bits(self.buffers[k], other.buffers[k]) for k in self.buffers)
        )

    __hash__ = None  # mutable


class Optimizer:
    """One rule with validated hyperparameters, applicable to (d,) or (B, d) arrays.

    A hyperparameter given as a length-B vector sets one value per run of a batch.
    """

    def __init__(self, rule: Rule, hyperparameters: dict[str, Any]):
        self.rule = rule
        self.hp = {k: _frozen(v) for k, v in hyperparameters.items()}
        self._buffer_names = rule.buffers(self.hp)
        self._key = _key(rule.name, self.hp)

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def key(self) -> Key:
        """The identity a state is tied to: the rule name and the hyperparameter values."""
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Optimizer):
            return NotImplemented
        return self._key == other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle by rule and hyperparameters (a rule pickles by name, core/registry.py)."""
        return _restore, (self.rule, {k: _plain(v) for k, v in self.hp.items()})

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The validated values (floats as scalars where one value serves every run)."""
        return {
            k: (v.item() if isinstance(v, np.ndarray) and v.size == 1 else v)
            for k, v in self.hp.items()
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters.items())
        return f"Optimizer({self.name!r}, {args})"

    def init(self, params: Any) -> OptState:
        """Zero state for ``params`` (float32/float64, shape (d,) or (B, d), C-contiguous)."""
        xp = array_module(params)
        _check_array("params", params)
        runs = params.shape[0] if params.ndim == 2 else 1
        for k, v in self.hp.items():
            if isinstance(v, np.ndarray) and v.size not in (1, runs):
                raise ValueError(
                    f"{k} has {v.size} values but params has {runs} run(s) (shape "
                    f"{params.shape}); give one value or one per run"
                )
        buffers = {}
        for name in self.rule.buffers(self.hp):
            buf = xp.zeros_like(params)
            start = self.rule.initial.get(name)
            if start is not None:
                _fill_rows(buf, self.hp[start], xp)
            buffers[name] = buf
        return OptState(
            t=0, buffers=buffers, shape=tuple(params.shape), dtype=params.dtype, owner=self._key
        )

    def step(self, params: Any, grads: Any, state: OptState) -> None:
        """Advance ``state`` by one step and update ``params`` in place.

        Raises ValueError (one line, nothing changed) when ``state`` was made by another
        optimizer (another rule or other hyperparameter values), or when ``params`` and
        ``grads`` do not match it in shape, dtype or array backend.
        """
        self._check_step(params, grads, state)
        state.t += 1
        p2 = params.reshape(-1, params.shape[-1])
        g2 = grads.reshape(p2.shape)
        bufs = [state.buffers[n].reshape(p2.shape) for n in self._buffer_names]
        if not self.rule.compiled:  # a plugin rule: its NumPy step (core/plugins.py)
            named = dict(zip(self._buffer_names, bufs, strict=True))
            self.rule.reference(p2, g2, named, self.hp, state.t)
            return
        coef = self._coefficients(state, params)
        kernels_for(params).apply(self.rule.kernel, p2, g2, bufs, coef)

    def _coefficients(self, state: OptState, like: Any) -> Any:
        """This step's (R, K) kernel coefficients, from a table computed per block of steps."""
        k = state.t - state.table_start
        if state.table is None or not 0 <= k < len(state.table):
            steps = np.arange(state.t, state.t + _TABLE_STEPS).reshape(-1, 1)
            table = np.ascontiguousarray(self.rule.coefficients(self.hp, steps), state.dtype)
            state.table = array_module(like).asarray(table)
            state.table_start, k = state.t, 0
        return state.table[k]

    def reference_step(self, params: np.ndarray, grads: np.ndarray, state: OptState) -> None:
        """The rule's readable float64 reference update (NumPy only), for checking kernels."""
        if params.dtype != np.float64 or grads.dtype != np.float64:
            raise ValueError("reference_step works on float64 arrays")
        self._check_step(params, grads, state)
        state.t += 1
        p2 = params.reshape(-1, params.shape[-1])
        bufs = {k: v.reshape(p2.shape) for k, v in state.buffers.items()}
        self.rule.reference(p2, grads.reshape(p2.shape), bufs, self.hp, state.t)

    def _check_step(self, params: Any, grads: Any, state: OptState) -> None:
        """The checks of ``step``: the state's owner, then the arrays against the state."""
        owner = getattr(state, "owner", None)
        if owner is not self._key and owner != self._key:
            raise ValueError(_foreign_state(owner, self._key))
        _check_array("params", params)
        _check_array("grads", grads)
        if grads.shape != params.shape or grads.dtype != params.dtype:
            raise ValueError(
                f"grads must match params: got {grads.dtype}{list(grads.shape)}, "
                f"params are {params.dtype}{list(params.shape)}"
            )
        if tuple(params.shape) != state.shape or params.dtype != state.dtype:
            raise ValueError(
                f"params {params.dtype}{list(params.shape)} do not match the state, made "
                f"for {state.dtype}{list(state.shape)}; call init(params) first"
            )
        on_device = is_cupy_array(params)
        if is_cupy_array(grads) != on_device:
            raise ValueError(
                f"grads are {_where(grads)} arrays but params are {_where(params)} arrays; "
                "use one backend"
            )
        for name in self._buffer_names:
            buf = state.buffers.get(name)
            if buf is None or buf.shape != params.shape or buf.dtype != params.dtype:
                got = "missing" if buf is None else f"{buf.dtype}{list(buf.shape)}"
                raise ValueError(
                    f"state buffer {name!r} is {got}, not {state.dtype}{list(state.shape)} "
                    "as the state says; call init(params) for a new state"
                )
            if is_cupy_array(buf) != on_device:
                raise ValueError(
                    f"the state is in {_where(buf)} arrays but params are {_where(params)} "
                    "arrays; call init(params) on the arrays you step"
                )


def _where(x: Any) -> str:
    return "CuPy" if is_cupy_array(x) else "NumPy"


def _frozen(value: Any) -> Any:
    """A read-only copy of a validated array (others unchanged): the key stays true."""
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.flags.writeable = False
    return value


def _plain(value: Any) -> Any:
    """A hyperparameter value as the user could give it again (for pickling)."""
    return value.copy() if isinstance(value, np.ndarray) else value


def _key(name: str, hp: dict[str, Any]) -> Key:
    """(rule name, sorted (hyperparameter, value) pairs), floats as tuples of per-run values.

    A scalar and a length-1 vector are the same value (validation stores both as a
    length-1 vector); -0.0 == 0.0, and NaN never occurs (refused by validation).
    """
    items = tuple(
        (k, tuple(float(x) for x in v.reshape(-1)) if isinstance(v, np.ndarray) else v)
        for k, v in sorted(hp.items())
    )
    return (name, items)


def _show_value(v: Any) -> str:
    if isinstance(v, tuple):
        text = f"{v[0]!r}" if len(v) == 1 else "[" + ", ".join(f"{x!r}" for x in v) + "]"
    else:
        text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _foreign_state(owner: Key | None, mine: Key) -> str:
    """The one-line error for a state made by another optimizer (or by no optimizer)."""
    fix = "step it with the optimizer that made it, or call init(params) for a new state"
    if owner is None:
        return f"this state was not made by Optimizer.init, so {mine[0]!r} cannot step it; {fix}"
    if owner[0] != mine[0]:
        return f"this state was made by {owner[0]!r}, not {mine[0]!r}; {fix}"
    theirs, ours = dict(owner[1]), dict(mine[1])
    diff = [k for k in sorted(set(theirs) | set(ours)) if theirs.get(k) != ours.get(k)]
    shown = diff[:3]
    a = ", ".join(f"{k}={_show_value(theirs.get(k))}" for k in shown)
    b = ", ".join(f"{k}={_show_value(ours.get(k))}" for k in shown)
    more = f" (and {len(diff) - 3} more)" if len(diff) > 3 else ""
    return f"this state was made by {owner[0]!r} with {a}, not {b}{more}; {fix}"


def _same_bits(a: Any, b: Any) -> bool:
    """Equal shape, dtype and bytes (so -0.0 != 0.0 and a NaN equals the same NaN)."""
    x, y = to_numpy(a), to_numpy(b)
    return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()


def _restore(rule: Rule, hyperparameters: dict[str, Any]) -> Optimizer:
    """Unpickle an optimizer: its rule (looked up by name), its values validated again."""
    return Optimizer(rule, rule.validate(hyperparameters))


def _fill_rows(buf: Any, values: np.ndarray, xp: Any) -> None:
    """Set each run's row of ``buf`` to its value (one value fills everything)."""
    if values.size == 1 or buf.ndim == 1:
        buf[...] = float(values.reshape(-1)[0])
    else:
        buf[...] = xp.asarray(values.reshape(-1, 1), dtype=buf.dtype)


def _check_array(what: str, x: Any) -> None:
    if not hasattr(x, "dtype") or not hasattr(x, "shape"):
        raise ValueError(f"{what} must be a NumPy or CuPy array, got {type(x).__name__}")
    if x.dtype not in _DTYPES:
        raise ValueError(f"{what} must be float32 or float64, got {x.dtype}")
    if x.ndim not in (1, 2) or x.size == 0:
        raise ValueError(f"{what} must have shape (d,) or (B, d) with d, B >= 1, got {x.shape}")
    if not x.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous (use numpy.ascontiguousarray)")
    if what == "params" and not getattr(x.flags, "writeable", True):
        raise ValueError("params must be writeable: the update is in place")


def make_optimizer(name: str, **hyperparameters: Any) -> Optimizer:
    """The optimizer ``name`` (see ``adambench list``) with validated hyperparameters.

    Raises ValueError naming any unknown optimizer or hyperparameter, or a value outside
    its allowed range.
    """
    rule = get_rule(name)
    return Optimizer(rule, rule.validate(hyperparameters))
