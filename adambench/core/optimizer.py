"""The public optimizer API: ``make_optimizer(name, **hp)``, ``opt.init``, ``opt.step``.

Hyperparameters are validated once, here, at the boundary; arrays are checked at
``init`` and ``step``.  ``step`` runs the rule's fused kernel on the arrays' backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .backend import array_module, kernels_for
from .registry import get_rule
from .spec import Rule

_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_TABLE_STEPS = 256


@dataclass
class OptState:
    """What a rule carries between steps: the step count and its state arrays.

    ``buffers`` maps names (``m``, ``v``, ...) to arrays shaped like the parameters.
    """

    t: int
    buffers: dict[str, Any] = field(default_factory=dict)
    shape: tuple[int, ...] = ()
    dtype: np.dtype = np.dtype(np.float64)
    # Kernel coefficients for steps table_start .. table_start + len(table) - 1, computed
    # for a block of steps at once so that a step costs no per-step NumPy calls.
    table: Any = None
    table_start: int = 0


class Optimizer:
    """One rule with validated hyperparameters, applicable to (d,) or (B, d) arrays.

    A hyperparameter given as a length-B vector sets one value per run of a batch.
    """

    def __init__(self, rule: Rule, hyperparameters: dict[str, Any]):
        self.rule = rule
        self.hp = hyperparameters
        self._buffer_names = rule.buffers(hyperparameters)

    @property
    def name(self) -> str:
        return self.rule.name

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
        return OptState(t=0, buffers=buffers, shape=tuple(params.shape), dtype=params.dtype)

    def step(self, params: Any, grads: Any, state: OptState) -> None:
        """Advance ``state`` by one step and update ``params`` in place."""
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
        state.t += 1
        p2 = params.reshape(-1, params.shape[-1])
        bufs = {k: v.reshape(p2.shape) for k, v in state.buffers.items()}
        self.rule.reference(p2, grads.reshape(p2.shape), bufs, self.hp, state.t)


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
