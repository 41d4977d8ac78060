"""torch.optim peers: single-tensor, foreach and fused implementations, on the CPU or CUDA.

torch is never a dependency: ``available()`` says whether it imports, and nothing here
imports it at module level.  Each adambench configuration maps to the torch optimizer that
computes the same rule (docs/theory.md §3 gives the torch forms); configurations torch has no
form for (Adam without bias correction, scheduled step sizes, beta1 decay, the efficient
Adam form, eps inside the RMSprop square root) have no torch peer.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

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


def peers(
    name: str, hp: dict[str, Any], p: Any, g: Any
) -> tuple[dict[str, Callable[[], None]], dict[str, str]]:
    """Zero-argument step callables for each torch variant that supports this rule.

    ``p`` and ``g`` are copied into one torch parameter shared by the variants (each has
    its own optimizer state): NumPy arrays into CPU tensors, CuPy arrays into tensors on
    their CUDA device (through DLPack, no host copy).  Returns the callables and a note
    per variant (why one is missing, or how its rule differs).
    """
    from ..core.backend import is_cupy_array

    spec = _spec(name, hp)
    if spec is None:
        return {}, {"torch": f"torch.optim has no form of this {name} configuration"}
    import torch

    device = is_cupy_array(p)
    if device and not torch.cuda.is_available():
        return {}, {"torch": "torch has no CUDA device (a CPU-only build?)"}
    tensor = torch.from_dlpack if device else torch.from_numpy
    cls_name, args, note = spec
    cls = getattr(torch.optim, cls_name)
    param = torch.nn.Parameter(tensor(p.copy()))
    param.grad = tensor(g.copy())
    where = " on CUDA" if device else ""
    calls: dict[str, Callable[[], None]] = {}
    notes: dict[str, str] = {}
    for variant, extra in VARIANTS.items():
        kwargs = dict(args, **extra)
        if variant == "torch-fused":
            kwargs["fused"] = True
        try:
            opt = cls([param], **kwargs)
            opt.step()  # fused support is decided on first step; fail here, not mid-timing
        except (RuntimeError, ValueError, TypeError) as e:
            notes[variant] = f"{cls_name}: {' '.join(str(e).split())[:120]}"
            continue
        calls[variant] = opt.step
        notes[variant] = (
            f"torch.optim.{cls_name}({_describe(extra, variant)}){where} {note}".strip()
        )
    return calls, notes


def _describe(extra: dict[str, Any], variant: str) -> str:
    if variant == "torch-fused":
        return "fused=True"
    return f"foreach={extra['foreach']}"


def version() -> str | None:
    if not available():
        return None
    import torch

    return str(torch.__version__)
