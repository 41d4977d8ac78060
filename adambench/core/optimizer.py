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

from . import tree_state
from .backend import array_module, is_cupy_array, kernels_for
from .ownership import Key, foreign_state, key_of
from .registry import get_rule
from .spec import Rule
from .tree import flatten

# An optimizer's identity: (rule name, ((hyperparameter, value), ...)), each float
# hyperparameter as a tuple of its per-run values.

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
    # A parameter structure's state (core/tree_state.py): its structure, each tensor's
    # shape and dtype layout, the master copies; None for a (d,) or (B, d) array's state.
    tree: tree_state.TreeParts | None = None

    @property
    def master(self) -> Any:
        """The float32 master copies, in the parameters' structure (None where a tensor
        has none); None when the state keeps no master copies."""
        if self.tree is None or self.tree.master is None:
            return None
        from .tree import unflatten

        return unflatten(self.tree.treedef, list(self.tree.master))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, OptState):
            return NotImplemented
        if (self.tree is None) != (other.tree is None):
            return False
        if self.tree is not None and not self.tree.same(other.tree):
            return False
        return (
            (self.owner, self.t, tuple(self.shape), np.dtype(self.dtype))
            == (other.owner, other.t, tuple(other.shape), np.dtype(other.dtype))
            and self.buffers.keys() == other.buffers.keys()
            and all(_same_tree(self.buffers[k], other.buffers[k]) for k in self.buffers)
        )

    __hash__ = None  # mutable


class Optimizer:
    """One rule with validated hyperparameters, applicable to (d,) or (B, d) arrays and to
    parameter structures (lists, tuples, dicts of arrays of any shapes and dtypes float32,
    float64, float16, bfloat16; core/tree_state.py).

    A hyperparameter given as a length-B vector sets one value per run of a (B, d) batch.
    """

    def __init__(self, rule: Rule, hyperparameters: dict[str, Any]):
        self.rule = rule
        self.hp = {k: _frozen(v) for k, v in hyperparameters.items()}
        self._buffer_names = rule.buffers(self.hp)
        self._key = key_of(rule.name, self.hp)

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

    def init(self, params: Any, state_dtype: Any = None, master_weights: bool = False) -> OptState:
        """Zero state for ``params``: a float32/float64 array of shape (d,) or (B, d), or a
        list, tuple or dict (nested) of C-contiguous arrays of any shapes in float32,
        float64, float16 or bfloat16 (ml_dtypes), NumPy or CuPy.

        16-bit tensors keep their state in ``state_dtype`` (float32 by default, or float16
        or bfloat16) and, with ``master_weights=True``, a float32 master copy that the step
        updates and rounds to nearest even into the tensor (docs/theory.md §9); float32
        and float64 tensors keep theirs in their own dtype.
        """
        if not _is_array_case(params, state_dtype, master_weights):
            return self._init_tree(params, state_dtype, master_weights)
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
        if getattr(state, "tree", None) is not None or not _is_array_case(params, None, False):
            self._step_tree(params, grads, state)
            return
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

    def _init_tree(self, params: Any, state_dtype: Any, master_weights: bool) -> OptState:
        """``init`` for a parameter structure (or a 16-bit or N-d array): core/tree_state.py."""
        for k, v in self.hp.items():
            if isinstance(v, np.ndarray) and v.size > 1:
                raise ValueError(
                    f"{k} has {v.size} values: one value per run needs a (B, d) float32 or "
                    "float64 array; a parameter structure takes one value"
                )
        parts, leaves = tree_state.new_parts(params, state_dtype, master_weights)
        if not self.rule.compiled and any(lay.param not in _DTYPES for lay in parts.layouts):
            raise ValueError(
                f"optimizer {self.name!r} has no compiled kernel; its reference step takes "
                "float32 or float64 tensors only, not float16 or bfloat16"
            )
        if not self.rule.compiled and parts.on_device:
            raise ValueError(f"optimizer {self.name!r} has no compiled kernel: NumPy arrays only")
        fill = {
            n: float(np.asarray(self.hp[s]).reshape(-1)[0]) for n, s in self.rule.initial.items()
        }
        buffers = tree_state.zero_buffers(parts, leaves, self._buffer_names, fill)
        return OptState(t=0, buffers=buffers, dtype=leaves[0].dtype, owner=self._key, tree=parts)

    def _step_tree(self, params: Any, grads: Any, state: OptState) -> None:
        """``step`` for a structure's state (core/tree_state.py); checks first, as ``step``."""
        owner = getattr(state, "owner", None)
        if owner is not self._key and owner != self._key:
            raise ValueError(foreign_state(owner, self._key))
        if getattr(state, "tree", None) is None:
            leaves, treedef = flatten(params, "params")
            got = treedef.describe()
            if not isinstance(params, (list, tuple, dict)):
                got = f"{leaves[0].dtype}{list(leaves[0].shape)}"
            raise ValueError(
                f"params is {got} but the state was made for a {np.dtype(state.dtype)}"
                f"{list(state.shape)} array; call init(params) for a new state"
            )
        tree_state.step(self.rule, self.hp, self._buffer_names, params, grads, state)

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
            raise ValueError(foreign_state(owner, self._key))
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


def _is_array_case(params: Any, state_dtype: Any, master_weights: Any) -> bool:
    """True for the (d,) or (B, d) float32/float64 array path (and for anything that is
    not a structure: its checks word the errors); False for a structure, a 16-bit array,
    an array of another rank, or a state dtype or master copy asked for."""
    if isinstance(params, (list, tuple, dict)):
        return False
    dtype = getattr(params, "dtype", None)
    if dtype is not None and np.dtype(dtype) in tree_state.precision.LOW:
        return False
    if getattr(params, "ndim", 1) not in (1, 2) and dtype in _DTYPES:
        return False
    if master_weights is not False or state_dtype is not None:
        return (
            dtype is not None
            and state_dtype in (dtype, getattr(dtype, "name", None))
            and (master_weights is False)
        )
    return True


def _same_tree(a: Any, b: Any) -> bool:
    """``_same_bits`` leaf by leaf for structures (and for single arrays)."""
    if isinstance(a, (list, tuple, dict)) or isinstance(b, (list, tuple, dict)):
        (la, ta), (lb, tb) = flatten(a, "state"), flatten(b, "state")
        return ta == tb and all(tree_state.same_bits(x, y) for x, y in zip(la, lb, strict=True))
    return tree_state.same_bits(a, b)


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
        raise ValueError(
            f"{what} must be a NumPy or CuPy array, or a list, tuple or dict of them, got "
            f"{type(x).__name__}"
        )
    if x.dtype not in _DTYPES:
        tree_state.precision.dtype_of(x.dtype, f"{what} dtype")  # names every supported dtype
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
