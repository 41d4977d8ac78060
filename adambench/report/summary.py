"""A short summary of findings, computed from a results document (one sentence per line).

Regret: per problem, which optimizers show linear regret, which exceed their theorem's
bound, which are consistent with O(sqrt T) (exponent and interval).  Bench: the share
of the roofline the kernels reach at the largest size and how peers compare.  Run: the
ranking per task.  Ablate: the section 6.4 statements (``experiments/ablation.findings``).
"""

from __future__ import annotations

import math
from typing import Any

from .plots_ablation import section
from .plots_regret import by_problem
from .tables import _size, num


def _expo(r: dict[str, Any]) -> str:
    e = r.get("exponent") or {}
    slope, lo, hi = e.get("slope"), e.get("low"), e.get("high")
    if slope is None:
        return r["optimizer"]
    if lo is None or hi is None:
        return f"{r['optimizer']} {slope:.2f}"
    return f"{r['optimizer']} {slope:.2f} [{lo:.2f}, {hi:.2f}]"


def regret_summary(doc: dict[str, Any]) -> list[str]:
    out = []
    for problem, rows in by_problem(doc["rows"]).items():
        T = max(int(r["T"]) for r in rows)
        parts = []
        linear = [r for r in rows if r["verdict"].startswith("linear")]
        if linear:
            rates = ", ".join(
                f"{r['optimizer']} {num(r['curve']['R_over_T'][-1], 3)}" for r in linear
            )
            parts.append(f"linear regret (R(T)/T at T={T}: {rates})")
        over = [r for r in rows if "exceeds" in r["verdict"]]
        if over:
            names = ", ".join(
                f"{r['optimizer']} ({(r.get('bound') or {}).get('theorem', 'bound')})" for r in over
            )
            parts.append(f"exceed the theoretical bound: {names}")
        sqrt_t = [r for r in rows if "consistent with O(sqrt T)" in r["verdict"]]
        if sqrt_t:
            parts.append("consistent with O(√T), exponent [95%]: " + "; ".join(map(_expo, sqrt_t)))
        rest = [r for r in rows if r not in linear and r not in sqrt_t]
        for r in rest:
            parts.append(f"{r['optimizer']}: {r['verdict']}")
        out.append(f"{problem}: " + "; ".join(parts) + ".")
    return out


def bench_summary(doc: dict[str, Any]) -> list[str]:
    out = []
    rows = doc["rows"]
    for dtype, threads in dict.fromkeys((r["dtype"], r["threads"]) for r in rows):
        sel = [r for r in rows if r["dtype"] == dtype and r["threads"] == threads]
        n = max(r["size"] for r in sel)
        top = [r for r in sel if r["size"] == n]
        ours = [r for r in top if r["impl"] == "adambench"]
        where = f"At N = {_size(n)} ({dtype}, {threads} thread{'s' if threads > 1 else ''})"
        fr = [
            (r["fraction_of_roofline"], r["optimizer"])
            for r in ours
            if r.get("fraction_of_roofline")
        ]
        if fr:
            lo, hi = min(fr), max(fr)
            out.append(
                f"{where}: adambench kernels reach {100 * lo[0]:.0f}% ({lo[1]}) to "
                f"{100 * hi[0]:.0f}% ({hi[1]}) of their same-run roofline; "
                + ", ".join(f"{r['optimizer']} {num(r['gbps'], 3)} GB/s" for r in ours)
                + "."
            )
        peers = [r for r in top if r["impl"] != "adambench" and r.get("ratio_to_adambench")]
        spans = []
        for impl in dict.fromkeys(r["impl"] for r in peers):
            ratios = [(r["ratio_to_adambench"], r["optimizer"]) for r in peers if r["impl"] == impl]
            lo, hi = min(ratios), max(ratios)
            spans.append(
                f"{impl} {lo[0]:.2f}x" if lo == hi
                else f"{impl} {lo[0]:.2f}x ({lo[1]}) to {hi[0]:.2f}x ({hi[1]})"
            )  # fmt: skip
        if spans:
            out.append(f"{where}, peers' time per step / adambench's: " + "; ".join(spans) + ".")
    verdicts = (doc.get("compare") or {}).get("verdicts") or []
    if verdicts:
        counts: dict[str, int] = {}
        for v in verdicts:
            counts[str(v.get("status"))] = counts.get(str(v.get("status")), 0) + 1
        out.append(
            "Regression gate: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) + "."
        )
    return out


def run_summary(doc: dict[str, Any]) -> list[str]:
    out = []
    for t in doc["tasks"]:
        ranked = sorted(
            (e for e in t["optimizers"] if e.get("chosen")), key=lambda e: e.get("rank") or 0
        )
        name = t["task"]["name"]
        if not ranked:
            out.append(f"{name}: every run diverged.")
            continue

        def loss(e: dict[str, Any]) -> str:
            f = e["chosen"].get("final_train_loss") or {}
            return f"{e['optimizer']} {num(f.get('mean'), 3)} (lr {e['chosen']['lr']:g})"

        text = f"{name}: final training loss, best first: " + ", ".join(map(loss, ranked))
        edge = [e["optimizer"] for e in ranked if e["chosen"].get("on_grid_edge")]
        if edge:
            text += f"; best lr on the grid's edge for {', '.join(edge)}"
        div = [
            f"{e['optimizer']} {e['diverged_runs']}/{e['runs']}"
            for e in t["optimizers"]
            if e.get("diverged_runs")
        ]
        if div:
            text += f"; diverged runs: {', '.join(div)}"
        out.append(text + ".")
    return out


def ablate_summary(doc: dict[str, Any]) -> list[str]:
    sec = section(doc)
    f = sec.get("findings")
    out = []
    if isinstance(f, dict):
        unstable = f.get("unstable_without_correction") or {}
        if unstable:
            out.append(
                "Grid points where the uncorrected variant diverged or ended worse, per β2: "
                + ", ".join(f"β2={k}: {v}" for k, v in unstable.items())
                + "."
            )
        share = f.get("corrected_at_least_as_good")
        if isinstance(share, (int, float)):
            out.append(
                f"Adam with correction is at least as good at {100 * share:.0f}% of the points."
            )
        if f.get("overall_best_variant"):
            out.append(f"Best long-budget loss of the grid: {f['overall_best_variant']}.")
        if "reproduced" in f:
            yes = "reproduced" if f["reproduced"] else "not reproduced"
            out.append(f"The paper's finding (β2 near 1 unstable without correction): {yes}.")
        return out
    rows = sec["rows"]
    for b in ("short", "long"):
        done = [
            (r[f"{v}_{b}"], v, r)
            for r in rows
            for v in ("adam", "adam-nobias")
            if r.get(f"{v}_{b}") is not None
        ]
        best = min(done, default=None, key=lambda p: p[0])
        if best is not None and math.isfinite(best[0]):
            r = best[2]
            out.append(
                f"Best {b}-budget loss {num(best[0], 4)}: {best[1]} at β1={r['beta1']:g}, "
                f"β2={r['beta2']:g}, log10 α={r['log10_lr']:g}."
            )
    return out


SUMMARIES = {"regret": regret_summary, "bench": bench_summary, "run": run_summary}
SUMMARIES["ablate"] = ablate_summary
