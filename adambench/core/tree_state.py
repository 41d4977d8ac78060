"""Optimizer state for parameter structures: lists, tuples and dicts of tensors of any shape.

Invariant: one ``step`` updates every tensor of the structure once, each by the rule's
flat kernel on its own values (bit for bit the step of that tensor alone), with one
compiled pass per dtype group (core/multi_tensor.py on the CPU, core/kernels_cuda_chunks.py
on a CUDA device: one launch per group), never a Python loop over tensors.  A group is the
tensors of one ``precision.Layout``; its pointer table holds the addresses of the arrays
it last checked, and an array is checked again (shape, dtype, contiguity, backend) only
when a different array object comes in its place, so stepping the same arrays costs one
identity test per tensor.

Layouts per tensor: float32 and float64 tensors keep their state in their own dtype;
float16 and bfloat16 tensors keep it in ``state_dtype`` (float32 by default) and, with
``master_weights``, a float32 master copy (core/precision.py).
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import multi_tensor, precision
from .backend import array_module, is_cupy_array, to_numpy
from .registry import KINDS
from .tree import Treedef, flatten, mismatch, unflatten


@dataclass(eq=False)
class Group:
    """The tensors of one layout: their indices, chunk table and pointer table (a cache)."""

    layout: precision.Layout
    leaves: tuple[int, ...]
    chunks: Any  # multi_tensor.chunk_table over these leaves (on the arrays' device)
    ptrs: np.ndarray  # (L, 6) int64 host table: p, g, s0, s1, s2, master
    seen: list[list[Any]]  # per column, the arrays whose addresses are in ``ptrs``
    device_ptrs: Any = None  # the table on the device (CuPy groups), refreshed on change
    tiny: bool = False  # a tensor of <= 1 element: ``refresh`` never compares with ==
    steady: list[bool] | None = None  # per column: the same arrays came back last step

    @property
    def codes(self) -> tuple[int, int, bool]:
        lay = self.layout
        return precision.STORAGE[lay.param], precision.STORAGE[lay.state], lay.master


@dataclass(eq=False)
class TreeParts:
    """What a structure's state holds besides the buffers: the structure, each tensor's
    shape and layout, the float32 master copies (or None) and the group cache."""

    treedef: Treedef
    shapes: tuple[tuple[int, ...], ...]
    layouts: tuple[precision.Layout, ...]
    master: list[Any] | None = None  # per tensor: its float32 master copy, or None
    on_device: bool = False
    groups: list[Group] | None = None  # rebuilt after unpickling or copying (addresses)
    tables: dict[Any, tuple[int, Any]] | None = None  # compute dtype -> (first step, table)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "groups": None, "tables": None}

    def same(self, other: TreeParts) -> bool:
        """Same structure, shapes, layouts and bit-identical master copies (the caches do
        not count)."""
        if (self.treedef, self.shapes, self.layouts, self.on_device) != (
            other.treedef, other.shapes, other.layouts, other.on_device
        ):  # fmt: skip
            return False
        mine, theirs = self.master or [], other.master or []
        return len(mine) == len(theirs) and all(
            (a is None and b is None) or (a is not None and b is not None and same_bits(a, b))
            for a, b in zip(mine, theirs, strict=True)
        )


def leaves_of(x: Any, treedef: Treedef, what: str) -> list[Any]:
    """The leaves of ``x`` if its structure is ``treedef``; one-line ValueError otherwise.

    One-level lists, tuples and dicts (the common case) are read without a full flatten.
    """
    kind = treedef.kind
    if treedef.one_level:
        if kind == "dict":
            if type(x) is dict and len(x) == len(treedef.keys):
                try:
                    return [x[k] for k in treedef.keys]
                except KeyError:
                    pass
        elif type(x) is (list if kind == "list" else tuple) and len(x) == len(treedef.children):
            return x if kind == "list" else list(x)
    leaves, got = flatten(x, what)
    if got != treedef:
        raise ValueError(mismatch(treedef, got, what))
    return leaves


def leaf_layouts(
    leaves: list[Any], paths: list[str], state_dtype: Any, master_weights: bool
) -> list[precision.Layout]:
    """Each tensor's layout: its own dtype for float32/float64 tensors, ``state_dtype`` (and
    the master) for 16-bit ones; a one-line ValueError naming the first bad tensor."""
    out = []
    for x, path in zip(leaves, paths, strict=True):
        dtype = precision.dtype_of(x.dtype, f"params{path} dtype")
        try:
            if dtype in precision.WIDE:
                out.append(precision.layout(dtype, state_dtype))
            else:
                out.append(precision.layout(dtype, state_dtype, master_weights))
        except ValueError as e:
            raise ValueError(f"params{path}: {e}" if path else str(e)) from None
    return out


def check_leaf(what: str, x: Any, shape: tuple[int, ...], dtype: Any, device: bool) -> None:
    """One tensor of ``params``/``grads`` against what the state was made for."""
    if not hasattr(x, "dtype") or not hasattr(x, "shape"):
        raise ValueError(f"{what} must be a NumPy or CuPy array, got {type(x).__name__}")
    if tuple(x.shape) != shape or x.dtype != dtype:
        raise ValueError(
            f"{what} is {x.dtype}{list(x.shape)} but the state was made for "
            f"{np.dtype(dtype)}{list(shape)}; call init(params) for a new state"
        )
    if is_cupy_array(x) != device:
        mine, theirs = ("CuPy", "NumPy") if device else ("NumPy", "CuPy")
        raise ValueError(f"{what} is a {theirs} array but the state is on {mine} arrays")
    if not x.flags.c_contiguous:
        raise ValueError(f"{what} must be C-contiguous (use ascontiguousarray)")
    if what.startswith("params") and not getattr(x.flags, "writeable", True):
        raise ValueError(f"{what} must be writeable: the update is in place")


def new_parts(params: Any, state_dtype: Any, master_weights: bool) -> tuple[TreeParts, list[Any]]:
    """The structure's parts (master copies made) and its leaves, every leaf checked."""
    leaves, treedef = flatten(params, "params")
    device = is_cupy_array(leaves[0])
    paths = list(treedef.paths())
    for x, path in zip(leaves, paths, strict=True):
        if not hasattr(x, "flags"):
            raise ValueError(f"params{path} must be a NumPy or CuPy array")
        check_leaf(f"params{path}", x, tuple(x.shape), x.dtype, device)
    layouts = tuple(leaf_layouts(leaves, paths, state_dtype, master_weights))
    if master_weights and not any(lay.master for lay in layouts):
        precision.layout(leaves[0].dtype, None, True)  # its one-line refusal
    master = None
    if any(lay.master for lay in layouts):
        master = [
            x.astype(np.float32) if lay.master else None
            for x, lay in zip(leaves, layouts, strict=True)
        ]
    parts = TreeParts(treedef, tuple(tuple(x.shape) for x in leaves), layouts, master, device)
    return parts, leaves


def zero_buffers(parts: TreeParts, leaves: list[Any], names: tuple[str, ...], fill: dict) -> dict:
    """A zero state structure per buffer name (``fill[name]``: its start value, or None)."""
    out = {}
    for name in names:
        bufs = []
        for x, lay in zip(leaves, parts.layouts, strict=True):
            xp = array_module(x)
            buf = xp.zeros(x.shape, dtype=lay.state)
            if fill.get(name) is not None:
                buf[...] = fill[name]
            bufs.append(buf)
        out[name] = unflatten(parts.treedef, bufs)
    return out


def _address(x: Any) -> int:
    if is_cupy_array(x):
        return int(x.data.ptr)
    if x.dtype in precision.LOW:
        x = x.view(np.uint16)
    return int(multi_tensor.address(x))


def build_groups(parts: TreeParts, chunk: int) -> list[Group]:
    """One group per layout, in the order the layouts first occur; tables empty (0)."""
    by_layout: dict[precision.Layout, list[int]] = {}
    for i, lay in enumerate(parts.layouts):
        by_layout.setdefault(lay, []).append(i)
    groups = []
    for lay, idx in by_layout.items():
        sizes = [int(np.prod(parts.shapes[i], dtype=np.int64)) for i in idx]
        chunks = multi_tensor.chunk_table(sizes, chunk)
        ptrs = np.zeros((len(idx), multi_tensor.COLUMNS), np.int64)
        seen = [[None] * len(idx) for _ in range(multi_tensor.COLUMNS)]
        tiny = any(s <= 1 for s in sizes)
        steady = [False] * multi_tensor.COLUMNS
        groups.append(Group(lay, tuple(idx), chunks, ptrs, seen, tiny=tiny, steady=steady))
    return groups


def refresh(group: Group, column: int, arrays: list[Any], check: Any) -> bool:
    """Point ``column`` at ``arrays`` (this group's tensors); ``check(i, x)`` validates an
    array seen for the first time.  True when any address changed."""
    seen = group.seen[column]
    if len(seen) == len(arrays) and _same_objects(arrays, seen, group, column):
        return False
    group.steady[column] = False
    for k, x in enumerate(arrays):
        if x is not seen[k]:
            check(group.leaves[k], x)
            group.ptrs[k, column] = _address(x)
            seen[k] = x
    return True


def _same_objects(arrays: list[Any], seen: list[Any], group: Group, column: int) -> bool:
    """Is every ``arrays[k]`` the object ``seen[k]``?

    In the steady state (the same arrays as last step) ``arrays == seen`` answers without
    touching the arrays: a list comparison skips identical items by address, where a loop
    of ``is`` tests reads every object header (a cache miss each, after a step's sweep
    through memory: ~50 us per 1000 tensors and 4 columns, measured).  ``==`` on two
    different arrays of >= 2 elements raises (an array's truth value is ambiguous) or is
    False, so it cannot pass for identity; a group with a tensor of <= 1 element (where
    it could) and a column whose arrays changed last step (a comparison would read a whole
    tensor once more) take the ``is`` loop.
    """
    if group.tiny or not group.steady[column]:
        same = all(map(operator.is_, arrays, seen))
        group.steady[column] = same
        return same
    try:
        return bool(arrays == seen)
    except Exception:  # noqa: BLE001 - any failed comparison means "not the same"
        return False


_TABLE_STEPS = 256


def _coefficients(rule: Any, hp: dict, parts: TreeParts, t: int, dtype: Any, device: Any) -> Any:
    """Step ``t``'s (1, K) coefficient row in ``dtype``, from a table per block of steps."""
    tables = parts.tables if parts.tables is not None else {}
    parts.tables = tables
    start, table = tables.get(dtype, (0, None))
    if table is None or not 0 <= t - start < len(table):
        steps = np.arange(t, t + _TABLE_STEPS).reshape(-1, 1)
        table = np.ascontiguousarray(rule.coefficients(hp, steps), dtype)
        table = device.asarray(table) if device is not None else table
        start = t
        tables[dtype] = (start, table)
    return table[t - start]


def step(rule: Any, hp: dict, names: tuple[str, ...], params: Any, grads: Any, state: Any) -> None:
    """One step of every tensor of ``params`` (a structure ``state.tree`` was made for).

    Everything is checked before anything changes: on a ValueError the parameters, the
    state and its step count are as they were.
    """
    parts: TreeParts = state.tree
    tree = parts.treedef
    p_leaves = leaves_of(params, tree, "params")
    g_leaves = leaves_of(grads, tree, "grads")
    s_leaves = [leaves_of(state.buffers[n], tree, f"state buffer {n!r}") for n in names]
    paths: list[str] = []

    def path(i: int) -> str:
        if not paths:
            paths.extend(tree.paths())
        return paths[i]

    def checker(what: str, dtype_of_leaf: Any) -> Any:
        def check(i: int, x: Any) -> None:
            check_leaf(f"{what}{path(i)}", x, parts.shapes[i], dtype_of_leaf(i), parts.on_device)

        return check

    lay = parts.layouts
    check_p = checker("params", lambda i: lay[i].param)
    check_g = checker("grads", lambda i: lay[i].param)
    check_s = [checker(f"state buffer {n!r}", lambda i: lay[i].state) for n in names]
    check_m = checker("master", lambda i: precision.FLOAT32)
    if not rule.compiled:  # a plugin rule: its NumPy reference step, tensor by tensor
        for i, x in enumerate(p_leaves):
            check_p(i, x)
            check_g(i, g_leaves[i])
            for k in range(len(names)):
                check_s[k](i, s_leaves[k][i])
        state.t += 1
        for i, x in enumerate(p_leaves):
            if x.size:
                named = {n: s_leaves[k][i].reshape(1, -1) for k, n in enumerate(names)}
                rule.reference(x.reshape(1, -1), g_leaves[i].reshape(1, -1), named, hp, state.t)
        return
    if parts.groups is None:
        parts.groups = build_groups(parts, _chunk(parts.on_device))
    full = len(parts.groups) == 1
    changed = []
    for group in parts.groups:

        def take(leaves: list[Any], group: Group = group) -> list[Any]:
            return leaves if full else [leaves[i] for i in group.leaves]

        moved = refresh(group, 0, take(p_leaves), check_p)
        moved |= refresh(group, 1, take(g_leaves), check_g)
        for k in range(len(names)):
            moved |= refresh(group, 2 + k, take(s_leaves[k]), check_s[k])
        if group.layout.master:
            moved |= refresh(group, multi_tensor.M, take(parts.master), check_m)
        changed.append(moved)
    state.t += 1
    xp = array_module(p_leaves[0]) if parts.on_device else None
    for group, moved in zip(parts.groups, changed, strict=True):
        if not len(group.chunks):
            continue
        coef = _coefficients(rule, hp, parts, state.t, group.layout.compute, xp)
        if parts.on_device:
            from . import kernels_cuda_chunks

            if moved or group.device_ptrs is None:
                group.device_ptrs = xp.asarray(group.ptrs)
            if not is_cupy_array(group.chunks):
                group.chunks = xp.asarray(group.chunks)
            kernels_cuda_chunks.apply_chunks(
                rule.kernel, len(names), group.device_ptrs, group.chunks, coef, group.layout
            )
        else:
            multi_tensor.apply(
                KINDS[rule.kernel.name], len(names), group.ptrs, group.chunks, coef, group.codes
            )


def _chunk(on_device: bool) -> int:
    if on_device:
        from . import kernels_cuda_chunks

        return kernels_cuda_chunks.CHUNK
    return multi_tensor.CHUNK


def same_bits(a: Any, b: Any) -> bool:
    """Equal shape, dtype and bytes (so -0.0 != 0.0 and a NaN equals the same NaN)."""
    x, y = to_numpy(a), to_numpy(b)
    return x.shape == y.shape and x.dtype == y.dtype and x.tobytes() == y.tobytes()
