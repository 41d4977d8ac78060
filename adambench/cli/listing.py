"""``adambench list``: every optimizer with its hyperparameters, defaults and equation;
``adambench list problems``: every online problem and training task.

Each entry says where it comes from (``built-in`` or the plugin's distribution) and what
it can do, as the registries answer it (``core.registry``, ``problems.catalog``): a rule's
kernels (numba CPU and CUDA, or its reference implementation only) and the commands that
take it; a problem's kind and the commands that take it.
"""

from __future__ import annotations

from typing import Any

import typer

from .render import Cell, Col, Format, Grid, emit, fail, output_format

WHAT = ("optimizers", "problems")


BUILT_IN = "built-in"
KERNEL_WORDS = {"numba-cpu": "numba CPU", "cuda": "CUDA", "reference": "reference only"}


def layout_bytes(rule: Any) -> dict[str, dict[str, int]]:
    """(read, written) bytes per parameter of ``rule``'s default step in each named layout."""
    from ..core.precision import NAMED

    nstates = len(rule.buffers(rule.validate({})))
    return {
        name: dict(zip(("read", "written"), lay.bytes(nstates), strict=True))
        for name, lay in NAMED.items()
    }


def bytes_grid(docs: list[dict[str, Any]]) -> Grid:
    """Bytes per parameter by dtype layout: read + written = total, one column per layout."""
    from ..core.precision import NAMED

    rows = []
    for d in docs:
        cells = [
            Cell(f"{b['read']}+{b['written']}={b['read'] + b['written']}", b["read"] + b["written"])
            for b in d["bytes_per_param"].values()
        ]
        rows.append((d["name"], *cells))
    cols = [Col("optimizer")] + [Col(name, "number") for name in NAMED]
    layouts = "; ".join(f"{name}: {lay.describe()}" for name, lay in NAMED.items())
    title = f"Bytes per parameter one step reads + writes, default hyperparameters ({layouts})"
    return Grid(title, cols, rows, name="bytes")


def optimizers_doc() -> list[dict[str, Any]]:
    from ..core import plugins, registry

    rules = registry.all_rules()  # built-in, then plugins (entry points, core/plugins.py)
    found = plugins.optimizers()
    return [
        {
            "name": r.name,
            "title": r.title,
            "source": r.source,
            "equation": r.equation,
            "bytes_per_param_fp32": r.bytes_per_param,
            "bytes_per_param": layout_bytes(r),
            "origin": registry.origin(r.name),
            "distribution": found[r.name].distribution or None if r.name in found else None,
            "kernels": list(registry.implementation(r)),
            "backends": list(registry.backends(r)),
            "commands": list(registry.COMMANDS),
            "hyperparameters": [
                {
                    "name": p.name,
                    "default": p.default,
                    "allowed": p.range_text(),
                    "per_run_vector": p.kind == "float",
                    "doc": p.doc,
                }
                for p in r.params
            ],
        }
        for r in rules.values()
    ]


def list_command(
    what: str = typer.Argument("optimizers", help="What to list: " + ", ".join(WHAT) + "."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable JSON on stdout."),
    table_format: Format = "text",
) -> None:
    """List the optimizers (hyperparameters, defaults, equations) or the online problems."""
    if what not in WHAT:
        fail(f"unknown list {what!r}; choose from: {', '.join(WHAT)}")
    try:
        form = output_format(table_format, as_json)
    except ValueError as e:
        fail(str(e))
    if what == "problems":
        _list_problems(form)
        return
    docs = optimizers_doc()
    rows = []
    for d in docs:
        hp = d["hyperparameters"]
        hps = "\n".join(f"{h['name']}={h['default']}  {h['allowed']}" for h in hp)
        flat = "; ".join(f"{h['name']}={h['default']} ({h['allowed']})" for h in hp)
        where = d["origin"].split(" (")[0]  # "plugin: DIST VERSION", without module:attr
        name = d["name"] if d["origin"] == BUILT_IN else f"{d['name']}\n[dim]{where}[/]"
        update = Cell(f"{d['equation']}\n[dim]{d['source']}[/]", (d["equation"], d["source"]))
        kernels = ", ".join(KERNEL_WORDS.get(k, k) for k in d["kernels"])
        takes = ", ".join(d["commands"]) + ("" if "cupy" in d["backends"] else " (CPU)")
        runs = Cell(f"{kernels}\n[dim]{takes}[/]", (kernels, takes))
        meaning = "\n".join(f"{h['name']}: {h['doc']}" for h in hp)
        rows.append((Cell(name, d["name"]), update, Cell(hps, flat), runs, d["origin"], meaning))
    columns = [
        Col("name"),
        Col("update (source)", "text", 1, short="update", csv=("update", "source")),
        Col("hyperparameters (default, allowed)", short="hyperparameters"),
        Col("kernels (commands)", "text", 3, short="kernels", csv=("kernels", "commands")),
        Col("origin", priority=0),
        Col("meaning of each hyperparameter", "text"),
    ]
    keep = [i for i in range(len(columns)) if i != len(columns) - 2 or docs_have_plugins(docs)]
    if form == "text":  # people read the meanings in a table of their own, below
        keep = keep[:-1]
    columns = [columns[i] for i in keep]
    rows = [tuple(r[i] for i in keep) for r in rows]
    grids = [Grid("Optimizers", columns, rows, name="optimizers")]
    if form == "text":
        grids.append(_meanings(docs))
    if form in ("text", "md"):
        grids.append(bytes_grid(docs))
    emit(form, grids, {"optimizers": docs}, multi=False)


def docs_have_plugins(docs: list[dict[str, Any]]) -> bool:
    """Whether any rule listed is not built in (then the origin column shows)."""
    return any(d["origin"] != BUILT_IN for d in docs)


def _meanings(docs: list[dict[str, Any]]) -> Grid:
    """Every hyperparameter's meaning, rule by rule: the definitional switches (where eps
    goes, which weight decay, which threshold) are options, and this says what each does."""
    rows = [
        (d["name"] if k == 0 else "", h["name"], h["doc"])
        for d in docs
        for k, h in enumerate(d["hyperparameters"])
    ]
    cols = [Col("optimizer"), Col("hyperparameter"), Col("meaning", "text")]
    return Grid("Hyperparameters", cols, rows, name="hyperparameters")


def problems_doc() -> list[dict[str, Any]]:
    """Every problem (``problems.catalog``): the online problems with their dimension and
    sets, then the plugins' training tasks, each with its kind, origin and the commands
    that take it."""
    from ..problems import catalog
    from ..problems.online.registry import describe_all

    online = {d["name"]: d for d in describe_all()}
    docs = []
    for e in catalog.entries().values():
        if e.kind == catalog.TASK and e.origin == catalog.BUILT_IN:
            continue  # the paper's tasks are `adambench run --help`'s; plugins' are listed
        shape = online.get(e.name, {"default_dim": "-", "dim_fixed": False, "sets": ["-"]})
        docs.append({**shape, "name": e.name, "description": e.description, "kind": e.kind,
                     "origin": e.origin, "distribution": e.distribution,
                     "commands": list(e.commands)})  # fmt: skip
    return docs


def _list_problems(form: str) -> None:
    """The online convex problems and the training tasks, with what takes each."""
    docs = problems_doc()
    rows = [
        (d["name"], d["description"], d["kind"], ", ".join(d["commands"]),
         Cell("1 (fixed)", 1) if d["dim_fixed"] else d["default_dim"],
         " | ".join(d["sets"]), d["origin"])
        for d in docs
    ]  # fmt: skip
    cols = [Col("name"), Col("description", "text"), Col("kind", "text", 3),
            Col("commands", "text"), Col("d", "number"), Col("set", priority=2),
            Col("origin", priority=1)]  # fmt: skip
    grid = Grid("Problems and training tasks", cols, rows, name="problems")
    emit(form, [grid], {"problems": docs})
