"""The regression gate: normalised figures, Mann-Whitney U and a minimum effect size.

Absolute times do not travel between machines or even between hours of one shared
machine; a kernel's time *relative to a loop with its own access pattern timed in the
same repeat* does (docs/design.md, "Timing is relative").  For every row present in both
results files the gate compares those per-repeat ratios (``norm_samples``; or, with
``metric="textbook"``, the ratio to the same-run textbook NumPy step):

- change = median(current) / median(baseline) - 1 (positive: slower);
- p = one-sided Mann-Whitney U p-value that current is stochastically larger
  (scipy.stats.mannwhitneyu, which picks the exact or asymptotic method itself);
- ``regressed`` when p < alpha AND change > threshold; ``unclear`` when the change
  exceeds the threshold but is not significant (too few or too noisy samples: re-measure);
  ``faster`` for the mirror image of ``regressed``; ``ok`` otherwise.

Requiring both a significant test and a minimum effect is what keeps the gate quiet on
a noisy machine: tight within-run samples make any small drift "significant", and a
single noisy run can show a big median change; neither alone fails the gate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from .run import ADAMBENCH, row_key

METRICS = {"roofline": "norm_samples", "textbook": "textbook_samples"}
DEFAULT_THRESHOLD = 0.10
DEFAULT_ALPHA = 0.01


@dataclass(frozen=True)
class Verdict:
    optimizer: str
    impl: str
    backend: str
    dtype: str
    size: int
    threads: int
    metric: str
    baseline_median: float
    current_median: float
    change: float
    p_slower: float
    p_faster: float
    status: str
    remeasured: bool = False

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.optimizer, self.impl, self.backend, self.dtype, self.size, self.threads)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_threshold(threshold: float, alpha: float = DEFAULT_ALPHA) -> None:
    if not (0.0 < threshold < 1.0):
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")
    if not (0.0 < alpha < 1.0):
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def _samples(row: dict[str, Any], field: str, where: str) -> np.ndarray | None:
    raw = row.get(field)
    if raw is None:
        return None
    try:
        s = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: row {row_key(row)} has non-numeric {field}") from None
    if s.ndim != 1 or s.size < 3 or not np.isfinite(s).all() or (s <= 0).any():
        raise ValueError(f"{where}: row {row_key(row)} needs >= 3 positive finite {field}")
    return s


def _rows(doc: dict[str, Any], where: str, impls: tuple[str, ...]) -> dict[tuple, dict]:
    if doc.get("command") != "bench":
        raise ValueError(f"{where} holds results of {doc.get('command')!r}, not 'bench'")
    rows = doc.get("rows")
    if not isinstance(rows, list):
        raise ValueError(f"{where} has no list of benchmark rows")
    out = {}
    for row in rows:
        try:
            key = row_key(row)
        except (KeyError, TypeError):
            raise ValueError(f"{where} has a malformed benchmark row") from None
        if row["impl"] in impls:
            out[key] = row
    return out


def compare_row(
    base: np.ndarray, cur: np.ndarray, threshold: float, alpha: float
) -> tuple[float, float, float, str]:
    """(change, p_slower, p_faster, status) for two sets of normalised samples."""
    from scipy.stats import mannwhitneyu

    change = float(np.median(cur) / np.median(base) - 1.0)
    p_slower = float(mannwhitneyu(cur, base, alternative="greater").pvalue)
    p_faster = float(mannwhitneyu(cur, base, alternative="less").pvalue)
    if change > threshold:
        status = "regressed" if p_slower < alpha else "unclear"
    elif change < -threshold and p_faster < alpha:
        status = "faster"
    else:
        status = "ok"
    return change, p_slower, p_faster, status


def compare_docs(
    baseline: dict[str, Any],
    current: dict[str, Any],
    threshold: float = DEFAULT_THRESHOLD,
    alpha: float = DEFAULT_ALPHA,
    metric: str = "roofline",
    impls: tuple[str, ...] = (ADAMBENCH,),
    names: tuple[str, str] = ("baseline", "current"),
) -> list[Verdict]:
    """Verdicts for every row in both documents; ValueError when none overlap."""
    check_threshold(threshold, alpha)
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
    field = METRICS[metric]
    b_rows = _rows(baseline, names[0], impls)
    c_rows = _rows(current, names[1], impls)
    verdicts = []
    for key, crow in c_rows.items():
        brow = b_rows.get(key)
        if brow is None:
            continue
        b = _samples(brow, field, names[0])
        c = _samples(crow, field, names[1])
        if b is None or c is None:
            continue
        change, p_slow, p_fast, status = compare_row(b, c, threshold, alpha)
        verdicts.append(
            Verdict(
                *key,
                metric=metric,
                baseline_median=float(np.median(b)),
                current_median=float(np.median(c)),
                change=change,
                p_slower=p_slow,
                p_faster=p_fast,
                status=status,
                remeasured=bool(crow.get("remeasured", False)),
            )  # fmt: skip
        )
    if not verdicts:
        raise ValueError(
            f"no overlapping rows between {names[0]} and {names[1]} with {field} "
            "(same optimizer, impl, backend, dtype, size and threads)"
        )
    return verdicts


def regressed(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.status == "regressed"]


def needs_remeasure(verdicts: list[Verdict]) -> list[Verdict]:
    """Rows a re-measurement should confirm before the gate fails (regressed or unclear)."""
    return [v for v in verdicts if v.status in ("regressed", "unclear")]


def to_markdown(verdicts: list[Verdict], threshold: float, alpha: float) -> str:
    """A Markdown summary for a pull-request comment."""
    bad = regressed(verdicts)
    head = (
        f"**adambench compare: {len(bad)} regression(s)** in {len(verdicts)} rows"
        if bad
        else f"**adambench compare: no regression** in {len(verdicts)} rows"
    )
    lines = [
        head,
        "",
        f"Normalised time (kernel / same-run {verdicts[0].metric}); regression = "
        f"Mann-Whitney p < {alpha:g} and slower by more than {threshold:.0%}.",
        "",
        "| optimizer | size | dtype | threads | baseline | current | change | p | status |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for v in verdicts:
        lines.append(
            f"| {v.optimizer} | {v.size:.0e} | {v.dtype} | {v.threads} | "
            f"{v.baseline_median:.3f} | {v.current_median:.3f} | {v.change:+.1%} | "
            f"{v.p_slower:.2g} | {v.status}{' (re-measured)' if v.remeasured else ''} |"
        )
    return "\n".join(lines) + "\n"
