"""A short summary of findings, computed from a results document (one sentence per line).

Regret: per problem, the rows by verdict class (``experiments/regret_rows.verdict``): which
optimizers show linear regret (the rate a with its interval across seeds), which exceed
their theorem's bound, which are sublinear or consistent with O(sqrt T) (exponent and
interval), and which are undetermined and what would decide them.  Bench: the share
of the roofline the kernels reach at the largest size and how peers compare.  Run: the
ranking per task.  Ablate: the section 6.4 statements (``experiments/ablation.findings``).
"""

from __future__ import annotations

import math
from typing import Any

from .plots_ablation import section
from .plots_regret import by_problem
from .plots_regret import label as row_label
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
    """Per problem, the rows grouped by verdict class (docs/theory.md §4.4)."""
    out = []
    for problem, rows in by_problem(doc["rows"]).items():
        T = max(int(r["T"]) for r in rows)
        parts = []

        def of(kind: str, rows: list[dict[str, Any]] = rows) -> list[dict[str, Any]]:
            return [r for r in rows if r["verdict"]["class"] == kind]

        linear = of("linear")
        if linear:
            rates = ", ".join(f"{r['optimizer']} {_limit(r)}" for r in linear)
            parts.append(f"linear regret (R(T)/T -> a, at T={T}: {rates})")
        over = [r for r in rows if "exceeds" in r["verdict"]["text"]]
        if over:
            names = ", ".join(
                f"{r['optimizer']} ({(r.get('bound') or {}).get('theorem', 'bound')})" for r in over
            )
            parts.append(f"exceed the theoretical bound: {names}")
        sub = of("sublinear")
        sqrt_t = [r for r in sub if "consistent with O(sqrt T)" in r["verdict"]["text"]]
        if sqrt_t:
            parts.append("consistent with O(√T), exponent [95%]: " + "; ".join(map(_expo, sqrt_t)))
        other = [r for r in sub if r not in sqrt_t]
        if other:
            parts.append("sublinear: " + "; ".join(map(_expo, other)))
        for r in of("undetermined") + of("diverged") + of("failed"):  # failed: a sweep's point
            v = r["verdict"]
            need = f" (needs {v['decide']})" if v.get("decide") else ""
            parts.append(f"{row_label(r, rows)}: {v['text']}{need}")  # its point if several
        out.append(f"{problem}: " + "; ".join(parts) + ".")
    return out


def _limit(r: dict[str, Any]) -> str:
    a = r.get("limit_R_over_T") or {}
    if a.get("rate") is None:
        return num(r["curve"]["R_over_T"][-1], 3)
    if a.get("low") is None:
        return num(a["rate"], 3)
    return f"{num(a['rate'], 3)} [{num(a['low'], 3)}, {num(a['high'], 3)}]"


def _unreliable(r: dict[str, Any]) -> bool:
    """A row still flagged after its re-measure (bench/reliability.py); files older than
    the flags have no ``reliable`` and count as reliable."""
    return r.get("reliable") is False


def _flagged(rows: list[dict[str, Any]]) -> str:
    """Rows named with their flags: "adam (wide-iqr), sgd numpy-textbook (loaded)"."""
    return ", ".join(
        f"{r['optimizer']}" + (f" {r['impl']}" if r["impl"] != "adambench" else "")
        + f" ({', '.join(map(str, r.get('flags') or ['flagged']))})"
        for r in rows
    )  # fmt: skip


def bench_summary(doc: dict[str, Any]) -> list[str]:
    """Per (dtype, threads): the share of the roofline adambench reaches at the largest size
    and how peers compare, from reliable rows only; unreliable ones are named, not quoted."""
    out = []
    rows = doc["rows"]
    bad = [r for r in rows if _unreliable(r)]
    if bad:
        rel = doc.get("reliability") or {}
        load = rel.get("load_at_start") or [None]
        busy = (
            f"; the machine was overcommitted at the start: load average {num(load[0], 3)} on "
            f"{rel.get('cores', '?')} cores"
            if rel.get("loaded") else ""
        )  # fmt: skip
        out.append(
            f"{len(bad)} of {len(rows)} rows are unreliable (flagged, and not cleared by one "
            f"re-measure{busy}); they are not quoted below."
        )
    for dtype, threads in dict.fromkeys((r["dtype"], r["threads"]) for r in rows):
        sel = [r for r in rows if r["dtype"] == dtype and r["threads"] == threads]
        n = max(r["size"] for r in sel)
        top = [r for r in sel if r["size"] == n]
        ours = [r for r in top if r["impl"] == "adambench" and not _unreliable(r)]
        where = f"At N = {_size(n)} ({dtype}, {threads} thread{'s' if threads > 1 else ''})"
        fr = [
            (r["fraction_of_roofline"], r["optimizer"])
            for r in ours
            if r.get("fraction_of_roofline")
        ]
        if fr:
            lo, hi = min(fr), max(fr)
            reach = f"{100 * lo[0]:.0f}% ({lo[1]})"
            if len(fr) > 1:
                reach += f" to {100 * hi[0]:.0f}% ({hi[1]})"
            out.append(
                f"{where}: adambench kernels reach {reach} of their same-run roofline; "
                + ", ".join(f"{r['optimizer']} {num(r['gbps'], 3)} GB/s" for r in ours)
                + "."
            )
        bad_top = [r for r in top if _unreliable(r)]
        if bad_top:
            out.append(f"{where}, unreliable, not quoted: {_flagged(bad_top)}.")
        # A peer's ratio is to adambench's median of the same group: both must be reliable.
        base_ok = {r["optimizer"] for r in ours}
        peers = [
            r
            for r in top
            if r["impl"] != "adambench" and r.get("ratio_to_adambench")
            and not _unreliable(r) and r["optimizer"] in base_ok
        ]  # fmt: skip
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
    """Per task: the optimizers best first, tied ones grouped (the task's ``ranking``: a
    paired t test across seeds); documents without ``ranking`` list them by mean loss."""
    from .tables import _run_order, rank_label

    out = []
    if doc.get("complete") is False:  # an interrupted run: what it kept
        stop = doc.get("interrupted") or {}
        left = ", ".join(stop.get("not_started") or []) or "none"
        out.append(
            f"Partial results: the run was interrupted ({stop.get('signal', 'signal')}); "
            f"{len(stop.get('finished_tasks') or [])} task(s) finished, not started: {left}."
        )
    for t in doc["tasks"]:
        ranked = sorted((e for e in t["optimizers"] if e.get("chosen")), key=_run_order)
        name = t["task"]["name"]
        if t.get("complete") is False:
            missing = ", ".join(t.get("missing_optimizers") or [])
            name += f" (incomplete: not trained: {missing})"
        if not ranked:
            out.append(f"{name}: every run diverged.")
            continue

        def loss(e: dict[str, Any]) -> str:
            f = e["chosen"].get("final_train_loss") or {}
            return f"{e['optimizer']} {num(f.get('mean'), 3)} (lr {e['chosen']['lr']:g})"

        ranking = t.get("ranking")
        if not ranking:
            text = f"{name}: final training loss, best first: " + ", ".join(map(loss, ranked))
        elif all(e.get("rank") is None for e in ranked):
            note = ranking.get("note") or "not ranked"
            text = f"{name}: not ranked ({note}); final training loss: "
            text += ", ".join(map(loss, ranked))
        else:
            groups: list[list[dict[str, Any]]] = []  # runs of a shared rank ("k=")
            for e in ranked:
                label = rank_label(e)
                if groups and label.endswith("=") and rank_label(groups[-1][0]) == label:
                    groups[-1].append(e)
                else:
                    groups.append([e])
            how = (
                f"by a paired t test across {ranking.get('seeds', '?')} seeds at "
                f"{100 * ranking.get('level', 0.05):g}%"
            )
            first, rest = groups[0], groups[1:]
            text = f"{name}: best ({'tied ' if len(first) > 1 else ''}{how}): "
            text += ", ".join(map(loss, first))
            for g in rest:
                text += "; then " + ("tied: " if len(g) > 1 else "") + ", ".join(map(loss, g))
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
    if isinstance(f, dict) and isinstance(f.get("claims"), dict):
        # One line per claim of section 6.4: its status across seeds and each seed's result.
        for c in f["claims"].values():
            per = ", ".join(f"seed {e['seed']} {e['result']}" for e in c.get("per_seed", []))
            more = "; more seeds or a larger budget would decide it"
            tail = more if c["status"] == "not decided" else ""
            out.append(f"{c['claim'].rstrip('.')}: {c['status']} ({per}{tail}).")
        if "reproduced" in f:
            n = len(f.get("seeds") or [])
            out.append(
                f"The paper's finding (section 6.4, all three claims, {n} seed(s)) "
                f"reproduced: {f['reproduced']}."
            )
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
