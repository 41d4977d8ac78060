"""torch.optim peers: single-tensor, foreach and fused implementations, on the CPU or CUDA.

torch is never a dependency: ``available()`` says whether it imports, and nothing here
imports it at module level.  Each adambench configuration maps to the torch optimizer that
computes the same rule (docs/theory.md §3 gives the torch forms); configurations torch has no
form for (Adam without bias correction, scheduled step sizes, beta1 decay, the efficient
Adam form, eps inside the RMSprop square root) have no torch peer.

Decision rule for dtypes (``list_peers``): torch's parameters take the layout's parameter
dtype (core/precision.py), float32 and float64 as they are, bfloat16 and float16 as
torch.bfloat16 and torch.float16.  torch keeps every state tensor in its parameter's dtype
and has no built-in float32 master copy, so a layout with a float32 state or a master gets
the peer torch has (16-bit parameters, 16-bit state), and the note says how it differs.
A variant's support (fused kernels above all) is decided by one step on a one-element
probe of the same dtype and device, so building the peers never moves the parameters.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..core.precision import BFLOAT16, FLOAT16, Layout, dtype_of, named_layout
from ..core.registry import get_rule

VARIANTS = {"torch": {"foreach": False}, "torch-foreach": {"foreach": True}, "torch-fused": {}}


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def _spec(name: str, hp: dict[str, Any]) -> tuple[str, dict[str, Any], str] | None:
    """(torch class name, its arguments, a note) for this rule, or None when torch has none.

    The rule says which torch optimizer computes it (``Rule.torch_form``); torch has no
    scheduled step size or beta1 decay, so those configurations have no peer.
    """
    if hp.get("lr_schedule", "constant") != "constant" or hp.get("beta1_decay", 1.0) != 1.0:
        return None
    rule = get_rule(name)
    return None if rule.torch_form is None else rule.torch_form(hp)


def _to_torch(a: Any, dtype: np.dtype) -> Any:
    """A torch tensor holding a copy of ``a`` in ``dtype`` (NumPy: on the CPU; CuPy: on its
    CUDA device through DLPack, no host copy).  bfloat16 has no NumPy or DLPack type torch
    reads, so its 16-bit patterns travel as int16 and are reinterpreted (``Tensor.view``)."""
    import torch

    from ..core.backend import is_cupy_array

    a = a.astype(dtype) if a.dtype != dtype else a.copy()
    tensor = torch.from_dlpack if is_cupy_array(a) else torch.from_numpy
    if dtype == BFLOAT16:
        return tensor(a.view(np.int16)).view(torch.bfloat16)
    return tensor(a)


def _variants(
    cls_name: str,
    args: dict[str, Any],
    params: list[Any],
    describe: str,
) -> tuple[dict[str, Callable[[], None]], dict[str, str]]:
    """One optimizer per variant over ``params`` (shared; each variant has its own state),
    after a probe step decides whether the variant runs on these dtypes and devices."""
    import torch

    cls = getattr(torch.optim, cls_name)
    kinds = {(p.dtype, p.device) for p in params}
    calls: dict[str, Callable[[], None]] = {}
    notes: dict[str, str] = {}
    for variant, extra in VARIANTS.items():
        kwargs = dict(args, **extra)
        if variant == "torch-fused":
            kwargs["fused"] = True
        try:
            for dt, dev in kinds:  # fused support is decided on a first step: fail here
                probe = torch.nn.Parameter(torch.zeros(1, dtype=dt, device=dev))
                probe.grad = torch.ones_like(probe)
                cls([probe], **kwargs).step()
            opt = cls(params, **kwargs)
        except (RuntimeError, ValueError, TypeError) as e:
            notes[variant] = f"{cls_name}: {' '.join(str(e).split())[:120]}"
            continue
        calls[variant] = opt.step
        notes[variant] = f"torch.optim.{cls_name}({_describe(extra, variant)}){describe}".rstrip()
    return calls, notes


def peers(
    name: str, hp: dict[str, Any], p: Any, g: Any
) -> tuple[dict[str, Callable[[], None]], dict[str, str]]:
    """Zero-argument step callables for each torch variant that supports this rule.

    ``p`` and ``g`` are copied into one torch parameter shared by the variants (each has
    its own optimizer state): NumPy arrays into CPU tensors, CuPy arrays into tensors on
    their CUDA device (through DLPack, no host copy).  Returns the callables and a note
    per variant (why one is missing, or how its rule differs).
    """
    return list_peers(name, hp, [p], [g], None)


def list_peers(
    name: str,
    hp: dict[str, Any],
    params: Sequence[Any],
    grads: Sequence[Any],
    layout: Layout | str | None,
) -> tuple[dict[str, Callable[[], None]], dict[str, str]]:
    """``peers`` for a list of arrays of any shapes: one torch Parameter per array (its
    ``.grad`` the matching gradient), all in one optimizer per variant.

    ``layout`` (a ``Layout`` or a ``precision.NAMED`` name; None: the arrays' own dtype)
    gives the parameters' dtype; where adambench's state or master differs from what torch
    keeps (its state in the parameter dtype, no master), the notes say so.
    """
    from ..core.backend import is_cupy_array

    if len(params) != len(grads) or not params:
        raise ValueError(f"list_peers needs as many grads as params (>= 1), got {len(params)} "
                         f"and {len(grads)}")  # fmt: skip
    lay = named_layout(layout, "layout") if isinstance(layout, str) else layout
    dtype = dtype_of(params[0].dtype) if lay is None else lay.param
    spec = _spec(name, hp)
    if spec is None:
        return {}, {"torch": f"torch.optim has no form of this {name} configuration"}
    import torch

    device = is_cupy_array(params[0])
    if device and not torch.cuda.is_available():
        return {}, {"torch": "torch has no CUDA device (a CPU-only build?)"}
    tensors = []
    for p, g in zip(params, grads, strict=True):
        t = torch.nn.Parameter(_to_torch(p, dtype))
        t.grad = _to_torch(g, dtype)
        tensors.append(t)
    cls_name, args, note = spec
    where = "on CUDA" if device else ""
    differs = "" if lay is None else _layout_note(lay)
    describe = " ".join(s for s in (where, note, differs) if s)
    return _variants(cls_name, args, tensors, " " + describe if describe else "")


def torch_layout(lay: Layout) -> Layout:
    """The layout torch.optim keeps for adambench's ``lay``: its state in the parameters'
    dtype and no master copy (so, for 16-bit parameters, fewer bytes per step)."""
    return Layout(lay.param, lay.param, False)


def _layout_note(lay: Layout) -> str:
    """How torch's peer differs from adambench's ``lay`` ("" where it does not)."""
    if lay.param not in (BFLOAT16, FLOAT16):
        return ""
    p = lay.param.name
    parts = [f"{p} params"]
    if lay.state != lay.param:
        parts.append(f"torch state in {p} (adambench's: {lay.state.name})")
    if lay.master:
        parts.append("torch has no built-in master weights: no float32 master copy")
    return "; ".join(parts)


def _describe(extra: dict[str, Any], variant: str) -> str:
    if variant == "torch-fused":
        return "fused=True"
    return f"foreach={extra['foreach']}"


def version() -> str | None:
    if not available():
        return None
    import torch

    return str(torch.__version__)
