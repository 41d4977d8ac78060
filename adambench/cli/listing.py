"""``adambench list``: every optimizer with its hyperparameters, defaults and equation."""

from __future__ import annotations

from typing import Any

import typer

from .render import console, fail, print_json, table

WHAT = ("optimizers", "problems")


def optimizers_doc() -> list[dict[str, Any]]:
    from ..core import plugins
    from ..core.registry import RULES

    origins = {name: "adambench" for name in RULES}
    rules = dict(RULES)
    for name, plug in plugins.optimizers().items():  # entry points (core/plugins.py)
        rules[name], origins[name] = plug.obj, f"plugin: {plug.origin}"
    return [
        {
            "name": r.name,
            "title": r.title,
            "source": r.source,
            "equation": r.equation,
            "bytes_per_param_fp32": r.bytes_per_param,
            "origin": origins[r.name],
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
) -> None:
    """List the optimizers (hyperparameters, defaults, equations) or the online problems."""
    if what not in WHAT:
        fail(f"unknown list {what!r}; choose from: {', '.join(WHAT)}")
    if what == "problems":
        _list_problems(as_json)
        return
    docs = optimizers_doc()
    if as_json:
        print_json({"optimizers": docs})
        return
    rows = []
    for d in docs:
        hps = "\n".join(f"{h['name']}={h['default']}  {h['allowed']}" for h in d["hyperparameters"])
        name = d["name"] if d["origin"] == "adambench" else f"{d['name']}\n[dim]{d['origin']}[/]"
        rows.append((name, f"{d['equation']}\n[dim]{d['source']}[/]", hps))
    columns = ["name", "update (source)", "hyperparameters (default, allowed)"]
    console.print(table("Optimizers", columns, rows))


def _list_problems(as_json: bool) -> None:
    """The online convex problems of ``adambench regret`` with one-line descriptions."""
    from ..core import plugins
    from ..problems.online.registry import describe_all

    docs = [{**d, "origin": "adambench"} for d in describe_all()]
    for name, plug in plugins.problems().items():  # training tasks for sweeps (plugins.py)
        desc = getattr(plug.obj, "description", "") or "plugin training task (sweep kind run)"
        docs.append({"name": name, "description": desc, "default_dim": "-", "dim_fixed": False,
                     "sets": ["-"], "origin": f"plugin: {plug.origin}"})  # fmt: skip
    if as_json:
        print_json({"problems": docs})
        return
    rows = [
        (d["name"], d["description"], "1 (fixed)" if d["dim_fixed"] else d["default_dim"],
         " | ".join(d["sets"]), d["origin"])
        for d in docs
    ]  # fmt: skip
    console.print(table("Online problems", ["name", "description", "d", "set", "origin"], rows))
