"""Parameter structures: an array, or a list, tuple or dict of them (nested at will).

Invariant: ``flatten(x)`` returns the leaves (arrays) in one fixed order, lists and tuples
in their order and dicts by sorted key, and a ``Treedef`` that ``unflatten`` turns back
into the same structure around any leaves; two structures are the same, for ``step``,
exactly when their treedefs are equal.  A leaf's place is written as a path (``[2]``,
``['w']``) in error messages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

LEAF = "leaf"


@dataclass(frozen=True)
class Treedef:
    """A structure without its leaves: ``kind`` is ``leaf``, ``list``, ``tuple`` or
    ``dict``; ``keys`` the dict's sorted keys; ``children`` one Treedef per item."""

    kind: str
    keys: tuple[Any, ...] = ()
    children: tuple[Treedef, ...] = ()

    @cached_property
    def one_level(self) -> bool:
        """True for a list, tuple or dict whose items are all arrays (read without a walk)."""
        return self.kind != LEAF and all(c.kind == LEAF for c in self.children)

    @property
    def leaves(self) -> int:
        """How many leaves the structure holds."""
        return 1 if self.kind == LEAF else sum(c.leaves for c in self.children)

    def paths(self, prefix: str = "") -> Iterator[str]:
        """Each leaf's path, in leaf order (``""`` for a bare array)."""
        if self.kind == LEAF:
            yield prefix
            return
        names = self.keys if self.kind == "dict" else range(len(self.children))
        for name, child in zip(names, self.children, strict=True):
            yield from child.paths(f"{prefix}[{name!r}]")

    def describe(self) -> str:
        """A short phrase: ``an array``, ``a list of 148 arrays``, ``a dict with keys 'a', 'b'``."""
        if self.kind == LEAF:
            return "an array"
        if self.kind == "dict":
            keys = ", ".join(repr(k) for k in self.keys[:4]) + (
                ", ..." if len(self.keys) > 4 else ""
            )
            return f"a dict with keys {keys}" if self.keys else "an empty dict"
        return f"a {self.kind} of {len(self.children)} item(s)"


def flatten(x: Any, what: str = "params") -> tuple[list[Any], Treedef]:
    """(leaves, treedef) of ``x``; ValueError (one line) for an item that is neither an
    array nor a list, tuple or dict, and for a structure with no arrays at all."""
    leaves: list[Any] = []
    tree = _flatten(x, leaves, what, "")
    if not leaves:
        raise ValueError(f"{what} holds no arrays ({tree.describe()})")
    return leaves, tree


def _flatten(x: Any, leaves: list[Any], what: str, path: str) -> Treedef:
    if isinstance(x, (list, tuple)):
        kind = "list" if isinstance(x, list) else "tuple"
        children = tuple(_flatten(v, leaves, what, f"{path}[{i}]") for i, v in enumerate(x))
        return Treedef(kind, (), children)
    if isinstance(x, dict):
        try:
            keys = tuple(sorted(x))
        except TypeError:
            raise ValueError(f"{what}{path}: dict keys must be sortable (all str, say)") from None
        children = tuple(_flatten(x[k], leaves, what, f"{path}[{k!r}]") for k in keys)
        return Treedef("dict", keys, children)
    if hasattr(x, "dtype") and hasattr(x, "shape"):
        leaves.append(x)
        return Treedef(LEAF)
    raise ValueError(
        f"{what}{path} is a {type(x).__name__}; give arrays, or a list, tuple or dict of them"
    )


def unflatten(tree: Treedef, leaves: list[Any]) -> Any:
    """The structure ``tree`` around ``leaves`` (in ``flatten``'s order)."""
    items = iter(leaves)
    out = _build(tree, items)
    if next(items, None) is not None:
        raise ValueError(f"{len(leaves)} leaves for a structure of {tree.leaves}")
    return out


def _build(tree: Treedef, items: Iterator[Any]) -> Any:
    if tree.kind == LEAF:
        return next(items)
    built = [_build(c, items) for c in tree.children]
    if tree.kind == "dict":
        return dict(zip(tree.keys, built, strict=True))
    return built if tree.kind == "list" else tuple(built)


def map_leaves(f: Callable[[Any], Any], tree: Treedef, leaves: list[Any]) -> Any:
    """The structure ``tree`` around ``f(leaf)`` for each leaf."""
    return unflatten(tree, [f(x) for x in leaves])


def mismatch(expected: Treedef, got: Treedef, what: str) -> str:
    """The one-line error for ``what`` whose structure is not ``expected``."""
    return (
        f"{what} is {got.describe()} but the state was made for {expected.describe()}; "
        "give the same structure, or call init(params) for a new state"
    )
