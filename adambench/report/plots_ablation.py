"""The bias-correction ablation in the layout of Kingma & Ba's Figure 4 (section 6.4).

One panel per (beta1, beta2): rows beta1, columns beta2, the short budget's panels on
the left and the long budget's on the right (the paper's 10 and 100 epochs); in each,
the training loss against log10(alpha), with the bias correction (Algorithm 1,
docs/theory.md §1.4) and without (``adam-nobias``); the paper's red and green are
replaced by the report's colour-blind-safe blue and orange (``figures.OKABE_ITO``).  A
diverged point is drawn as a cross at the top of its panel.  Several results files
overlaid (``overlay.py``: rows tagged with their file's label) are told apart by line style.
"""

from __future__ import annotations

from typing import Any

from .figures import GREY, OKABE_ITO, SERIES_STYLES, Plot, legend, new_figure, series_of

VARIANTS = (
    ("adam", "with correction", OKABE_ITO["blue"]),
    ("adam-nobias", "without", OKABE_ITO["orange"]),
)
BUDGETS = ("short", "long")


def section(doc: dict[str, Any]) -> dict[str, Any]:
    """The part of an ablate document holding ``rows`` (top level, or one nested object)."""
    if "rows" in doc:
        return doc
    for key in ("ablation", "result", "results"):
        if isinstance(doc.get(key), dict) and "rows" in doc[key]:
            return doc[key]
    return doc


STATUSES = ("holds", "does not hold", "not decided")  # a claim across seeds
SEED_RESULTS = ("holds", "fails", "tie")  # a claim on one seed
REPRODUCED = ("yes", "no", "not decided")


def check_ablation(c: Any, doc: dict[str, Any]) -> None:
    """Check the layout (``c`` is load._Checker): rows with the grid and both variants
    (per-seed lists optional), and, where present, the per-claim findings
    (``experiments/ablation.findings``).  Older documents without ``claims`` pass."""
    sec = section(doc)
    rows = c.items(sec, "rows", "")
    if not rows:
        c.fail("rows", "is empty")
    for i, r in enumerate(rows):
        p = f"rows[{i}]"
        for key in ("beta1", "beta2", "log10_lr"):
            c.get(r, key, (int, float), p)
        for v, _, _ in VARIANTS:
            for b in BUDGETS:
                c.get(r, f"{v}_{b}", (int, float), p, optional=True)
                if isinstance(r, dict) and f"{v}_{b}_per_seed" in r:
                    c.numbers(r, f"{v}_{b}_per_seed", p)
    f = c.get(sec, "findings", dict, "", optional=True)
    if f is None:
        return
    reproduced = c.get(f, "reproduced", (str, bool), "findings", optional=True)
    claims = c.get(f, "claims", dict, "findings", optional=True)
    if claims is None:
        return
    if isinstance(reproduced, bool) or reproduced not in REPRODUCED:
        c.fail("findings.reproduced", f"should be one of: {', '.join(REPRODUCED)}")
    for name, claim in claims.items():
        p = f"findings.claims.{name}"
        if not isinstance(claim, dict):
            c.fail(p, "should be an object")
        c.get(claim, "claim", str, p)
        if c.get(claim, "status", str, p) not in STATUSES:
            c.fail(f"{p}.status", f"should be one of: {', '.join(STATUSES)}")
        for j, e in enumerate(c.items(claim, "per_seed", p)):
            q = f"{p}.per_seed[{j}]"
            c.get(e, "seed", int, q)
            if c.get(e, "result", str, q) not in SEED_RESULTS:
                c.fail(f"{q}.result", f"should be one of: {', '.join(SEED_RESULTS)}")
            c.get(e, "evidence", str, q)
            c.get(e, "tolerance", (int, float), q)


def budgets(doc: dict[str, Any]) -> dict[str, str]:
    """Labels of the two budgets, e.g. {"short": "10 epochs", "long": "100 epochs"}."""
    cfg = doc.get("config", {})
    out = {}
    for b in BUDGETS:
        e = cfg.get(f"{b}_epochs")
        out[b] = f"{e} epochs" if isinstance(e, int) else f"{b} budget"
    return out


def _cap(sec: dict[str, Any], values: list[float]) -> float | None:
    """Top of the loss axis: 1.25 x the initial loss when recorded (larger losses are a
    blow-up, drawn as triangles at the top), else the largest value."""
    init = sec.get("initial_loss")
    if isinstance(init, (int, float)) and init > 0 and values and max(values) > 1.25 * init:
        return 1.25 * init
    return None


def _draw(ax: Any, sel: list[dict], key: str, col: str, cap: float | None, ls: Any) -> None:
    """One variant's losses over log10(lr) in one panel: blow-ups as triangles at the cap,
    diverged points as crosses at the top."""
    xs = [float(r["log10_lr"]) for r in sel]
    ys = [r.get(key) for r in sel]
    ok = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
    if cap is not None:
        high = [x for x, y in ok if y > cap]
        ok = [(x, y if y <= cap else cap) for x, y in ok]
        if high:
            ax.plot(high, [cap] * len(high), ls="none", marker="^", color=col, ms=5)
    if ok:
        ax.plot(*zip(*ok, strict=True), color=col, marker="o", ms=3, lw=1.4, ls=ls)
    bad = [x for x, y in zip(xs, ys, strict=True) if y is None]
    if bad:
        ax.plot(
            bad, [0.96] * len(bad), ls="none", marker="x", color=col,
            transform=ax.get_xaxis_transform(), clip_on=False,
        )  # fmt: skip


def figure4(doc: dict[str, Any], suffix: str = "") -> Plot:
    """Loss against log10(lr), one panel per (budget, beta1, beta2)."""
    sec = section(doc)
    rows = sec["rows"]
    b1s = sorted({float(r["beta1"]) for r in rows})
    b2s = sorted({float(r["beta2"]) for r in rows})
    labels = budgets(doc)
    files = list(dict.fromkeys(r["series"] for r in rows if r.get("series")))
    fig = new_figure(1.9 * len(BUDGETS) * len(b2s) + 0.8, 1.9 * len(b1s) + 1.3)
    blocks = fig.subfigures(1, len(BUDGETS), wspace=0.02)
    for budget, sub in zip(BUDGETS, blocks, strict=True):
        sub.suptitle(f"after {labels[budget]}", fontsize=10)
        axes = sub.subplots(len(b1s), len(b2s), squeeze=False, sharex=True, sharey=True)
        every = [
            float(r[f"{v}_{budget}"]) for r in rows for v, _, _ in VARIANTS
            if r.get(f"{v}_{budget}") is not None
        ]  # fmt: skip
        cap = _cap(sec, every)
        for i, b1 in enumerate(b1s):
            for j, b2 in enumerate(b2s):
                ax = axes[i][j]
                sel = sorted(
                    (r for r in rows if float(r["beta1"]) == b1 and float(r["beta2"]) == b2),
                    key=lambda r: r["log10_lr"],
                )
                for v, _, col in VARIANTS:
                    for k in range(max(1, len(files))):
                        mine = [r for r in sel if series_of(r, files) == (k if files else None)]
                        _draw(ax, mine, f"{v}_{budget}", col, cap, SERIES_STYLES[k % 6])
                ax.set_title(f"β1={b1:g}, β2={b2:g}", fontsize=8)
                if i == len(b1s) - 1:
                    ax.set_xlabel("log10(α)")
                if j == 0:
                    ax.set_ylabel("training loss")
        if cap is not None:
            axes[0][0].set_ylim(top=cap * 1.04)
    from matplotlib.lines import Line2D

    handles = [(name, dict(color=col, marker="o", ms=3)) for _, name, col in VARIANTS]
    handles += [(f, dict(color=GREY, ls=SERIES_STYLES[k % 6])) for k, f in enumerate(files)]
    handles += [
        ("diverged (NaN/Inf)", dict(color=GREY, marker="x", ls="none")),
        ("above the axis (blow-up)", dict(color=GREY, marker="^", ls="none")),
    ]
    lines = [Line2D([], [], **kw) for _, kw in handles]
    legend(fig, lines, [h[0] for h in handles], where="below")
    task = sec.get("task", {}).get("name") if isinstance(sec.get("task"), dict) else None
    return Plot(
        f"ablation{suffix}",
        "Bias-correction ablation (Kingma & Ba Figure 4 layout)",
        f"Training loss{' of ' + task if task else ''} after the short (left block) and long "
        "(right block) budget against log10(α); rows β1, columns β2; blue: Adam with bias "
        "correction, orange: without (the paper's red and green)"
        + ("; line style: results file" if files else "")
        + ". Crosses: diverged (in some seed); triangles: a loss above "
        "1.25x the initial loss, drawn at the top of the axis. Mean over seeds.",
        fig,
    )


def plots(doc: dict[str, Any], suffix: str = "") -> list[Plot]:
    return [figure4(doc, suffix)]
