"""The tables of a report, as plain data (title, header, rows of strings) for Markdown and HTML.

Numbers come from the results document alone; ``-`` marks a missing value (NaN/Inf are
stored as null in results files).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from .plots_ablation import VARIANTS, budgets, section


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""


def num(x: Any, digits: int = 4) -> str:
    """A number in general format; '-' for missing."""
    if x is None or isinstance(x, bool) or not isinstance(x, (int, float)) or x != x:
        return "-" if not isinstance(x, bool) else str(x).lower()
    return f"{x:.{digits}g}"


def interval(x: Any, lo: Any, hi: Any, digits: int = 3) -> str:
    if lo is None or hi is None:
        return num(x, digits)
    return f"{num(x, digits)} [{num(lo, digits)}, {num(hi, digits)}]"


def _size(n: int) -> str:
    mant, exp = f"{n:.1e}".split("e")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}e{int(exp)}" if n >= 1000 else str(n)


def regret_tables(doc: dict[str, Any]) -> list[Table]:
    rows = []
    for r in doc["rows"]:
        e = r.get("exponent") or {}
        b = r.get("bound") or {}
        lo, hi = (r.get("R_T_interval") or [None, None])[:2]
        bound = num(b.get("value")) if b.get("applies") else "n/a"
        if b.get("applies") and b.get("vacuous"):
            bound += " (vacuous)"
        v = r["verdict"]
        text = v["text"] + (f"; needs {v['decide']}" if v.get("decide") else "")
        rows.append(
            [
                r["problem"], r["optimizer"], r.get("point") or "", str(r["T"]),
                interval(r.get("R_T"), lo, hi, 4), num(r["curve"]["R_over_T"][-1]),
                interval(e.get("slope"), e.get("low"), e.get("high"), 3) if e else "-",
                bound, str(b.get("theorem") or "-"), text,
            ]
        )  # fmt: skip
    header = ["problem", "optimizer", "point", "T", "R(T) [95%]", "R(T)/T", "exponent [95%]"]
    header += ["bound", "theorem", "verdict"]
    return [
        Table(
            "Regret at T",
            header,
            rows,
            "Mean over seeds with a 95% t interval across seeds (none for one seed or for "
            "identical curves); exponent: slope of log R vs log T over the last two decades, "
            "per seed; bound: the theorem's value on the run's own constants (n/a where its "
            "conditions do not hold; vacuous: above the trivial T G D); verdict: linear, "
            "sublinear or undetermined by the rule of docs/theory.md §4.4.",
        )
    ]


def bench_reliability(r: dict[str, Any]) -> str:
    """A bench row's "reliable" cell: "yes", "no: flag, flag" (still flagged after one
    re-measure, bench/reliability.py), "yes (re-measured)"; "-" in files older than flags."""
    if "reliable" not in r:
        return "-"
    if r.get("reliable") is False:
        return "no: " + ", ".join(map(str, r.get("flags") or ["flagged"]))
    return "yes (re-measured)" if r.get("first_pass_flags") else "yes"


def bench_tables(doc: dict[str, Any]) -> list[Table]:
    rows = []
    judged = any("reliable" in r for r in doc["rows"])
    for r in doc["rows"]:
        iqr = r.get("iqr_s")
        rows.append(
            [
                r["optimizer"], _size(r["size"]), r["dtype"], str(r["threads"]), r["impl"],
                num(r["median_s"] * 1e3, 4),
                "-" if iqr is None else f"{100 * iqr / r['median_s']:.0f}%",
                num(r.get("ns_per_param"), 3), num(r["gbps"], 3), num(r.get("roofline_gbps"), 3),
                "-" if r.get("fraction_of_roofline") is None
                else f"{100 * r['fraction_of_roofline']:.0f}%",
                num(r.get("ratio_to_adambench"), 3),
            ] + [bench_reliability(r)] * judged
        )  # fmt: skip
    header = ["optimizer", "N", "dtype", "thr", "impl", "median ms", "IQR", "ns/param", "GB/s"]
    header += ["roofline GB/s", "% roofline", "time / adambench"] + ["reliable"] * judged
    note = (
        "Median of repeats; IQR as a share of the median; GB/s from the bytes the rule "
        "must move; roofline: same-run loop with the rule's own access pattern."
    )
    if judged:
        note += (
            " reliable: no = a figure that cannot be right, still after one re-measure "
            "(above-roofline: faster than the roofline by > 10%; wide-iqr: IQR > 50% of the "
            "median; low-bandwidth: roofline, copy or triad GB/s < 25% of one thread's; "
            "slow-threads: > 4x the one-thread time; loaded: load average above the cores at "
            "the start); such rows are data about the machine, not about the kernel."
        )
    out = [Table("Update step timings", header, rows, note)]
    verdicts = (doc.get("compare") or {}).get("verdicts") or []
    if verdicts:
        out.append(
            Table(
                "Regression gate (bench --compare)",
                ["optimizer", "N", "dtype", "thr", "baseline", "current", "change", "p", "status"],
                [
                    [
                        str(v.get("optimizer")),
                        _size(int(v.get("size", 0))),
                        str(v.get("dtype")),
                        str(v.get("threads")),
                        num(v.get("baseline_median")),
                        num(v.get("current_median")),
                        f"{100 * v.get('change', 0):+.1f}%",
                        num(v.get("p_slower"), 2),
                        str(v.get("status")),
                    ]
                    for v in verdicts
                ],  # fmt: skip
            )
        )
    return out


def rank_label(e: dict[str, Any]) -> str:
    """A run entry's rank label ("1=", "3", "?", "-"); documents older than the tied
    ranking have only ``rank``."""
    label = e.get("rank_label")
    return str(label) if label is not None else str(e.get("rank") or "-")


def _run_order(e: dict[str, Any]) -> tuple:
    """Rows by rank, then mean final training loss (tied rows adjacent, unranked by
    loss); entries without a chosen point last."""
    c = e.get("chosen")
    if not c:
        return (True, 0, 0.0)
    mean = (c.get("final_train_loss") or {}).get("mean")
    return (False, e.get("rank") or 0, mean if isinstance(mean, (int, float)) else float("inf"))


def _run_note(ranking: dict[str, Any] | None) -> str:
    """The "#" column's rule, where the document states it."""
    if not ranking:
        return ""
    level = ranking.get("level", 0.05)
    text = (
        f"#: 1 + the number of optimizers whose final training loss is lower by a "
        f"{ranking.get('test', 'paired t test across seeds')} at the {100 * level:g}% level "
        f"({ranking.get('seeds', '?')} seeds; each pair at that level, not corrected for "
        "multiple comparisons); k= marks a tie"
    )
    if isinstance(ranking.get("seeds"), int) and ranking["seeds"] < 2:
        text += f"; ?: {ranking.get('note') or 'ranking needs --seeds >= 2'}"
    return text + ". "


def loss_centre(f: dict[str, Any]) -> Any:
    """The centre of a final training loss's interval: its ``geometric_mean``, the centre
    of the t interval on log loss (``stats.log_t_interval``), where the document has a
    finite one; else the arithmetic ``mean`` (older documents, or a loss <= 0, whose
    interval is the t interval of the mean: experiments/training_results.loss_interval)."""
    gm = f.get("geometric_mean")
    ok = isinstance(gm, (int, float)) and not isinstance(gm, bool) and math.isfinite(gm)
    return gm if ok else f.get("mean")


def run_tables(doc: dict[str, Any]) -> list[Table]:
    out = []
    for t in doc["tasks"]:
        rows = []
        entries = sorted(t["optimizers"], key=_run_order)
        for e in entries:
            c = e.get("chosen")
            div = f"{e.get('diverged_runs', '-')}/{e.get('runs', '-')}"
            if not c:
                rows.append(["-", e["optimizer"], "-", "all diverged", "-", "-", "-", div])
                continue
            f = c.get("final_train_loss") or {}
            acc = c.get("test_accuracy")
            rows.append(
                [
                    rank_label(e), e["optimizer"],
                    f"{c['lr']:g}" + ("*" if c.get("on_grid_edge") else "")
                    + "".join(f" β{k[-1]}={c[k]:g}" for k in ("beta1", "beta2") if k in c),
                    interval(loss_centre(f), f.get("ci95_low"), f.get("ci95_high")),
                    num(c.get("test_loss"), 3),
                    "-" if not isinstance(acc, (int, float)) or acc != acc else f"{100 * acc:.1f}",
                    "-" if c.get("epochs_to_target") is None else str(c["epochs_to_target"]),
                    div,
                ]
            )  # fmt: skip
        task = t["task"]
        out.append(
            Table(
                f"{task['name']}: {task.get('parameters', '?')} parameters, lr schedule "
                f"{task.get('lr_schedule', '?')}, target loss {num(t.get('target_loss'), 3)}",
                ["#", "optimizer", "lr", "final train loss [95%]", "test loss", "test acc %"]
                + ["epochs to target", "diverged"],
                rows,
                _run_note(t.get("ranking"))
                + "lr: best of the grid by mean final training loss (* = on the grid's edge). "
                "final train loss: geometric mean over seeds [95% t interval of the log "
                "losses, back-transformed] (the arithmetic mean and its t interval where "
                "the document has no geometric mean).",
            )
        )
    return out


def ablate_tables(doc: dict[str, Any]) -> list[Table]:
    sec = section(doc)
    labels = budgets(doc)
    header = ["β1", "β2", "log10 α"]
    keys = []
    for b in ("short", "long"):
        for v, name, _ in VARIANTS:
            header.append(f"{labels[b]}, {name}")
            keys.append(f"{v}_{b}")
    rows = [
        [num(r["beta1"]), num(r["beta2"]), num(r["log10_lr"])]
        + [num(r.get(k)) if r.get(k) is not None else "diverged" for k in keys]
        for r in sec["rows"]
    ]
    return [Table("Training loss over the grid", header, rows, "Mean over seeds.")]


TABLES = {"regret": regret_tables, "bench": bench_tables, "run": run_tables}
TABLES["ablate"] = ablate_tables


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested configuration/environment as (dotted key, short value) pairs."""
    if isinstance(obj, dict) and obj:
        out = []
        for k, v in obj.items():
            out += flatten(v, f"{prefix}.{k}" if prefix else str(k))
        return out
    if isinstance(obj, float):
        text = num(obj, 6)
    elif isinstance(obj, str):
        text = obj
    else:
        text = json.dumps(obj, separators=(", ", ": "))
    if len(text) > 160:
        text = text[:157] + "..."
    return [(prefix or "-", text)]


def key_values(title: str, obj: Any) -> Table:
    return Table(title, ["key", "value"], [list(p) for p in flatten(obj)])
