"""Small results documents shaped like those of regret, bench, run and ablate (see
analysis/regret.py rows, analysis/bench.py run_group, analysis/training_sweep.py
summarise, analysis/ablation.py run_ablation), for report tests.  The numbers follow
the behaviour the reports describe: Adam's regret on ``reddi`` linear, AMSGrad's
O(sqrt T)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from adambench.results import make_result, write_json

CHECKPOINTS = [1, 2, 3, 4, 6, 10, 16, 25, 40, 63, 100, 158, 251, 398, 631, 1000]


def _regret_row(problem: str, opt: str, rate: float, coef: float, x_end: float) -> dict:
    T = CHECKPOINTS
    mean = [rate * t + coef * math.sqrt(t) for t in T]
    half = [0.05 * m + 0.1 for m in mean]
    linear = rate > 0
    slope = 1.0 if linear else 0.5
    return {
        "problem": problem,
        "optimizer": opt,
        "point": "",
        "hyperparameters": {"lr": 0.5, "lr_schedule": "inv_sqrt"},
        "T": T[-1],
        "R_T": mean[-1],
        "R_T_interval": [mean[-1] - half[-1], mean[-1] + half[-1]],
        "R_over_T": mean[-1] / T[-1],
        "R_over_sqrtT": mean[-1] / math.sqrt(T[-1]),
        "exponent": {"slope": slope - 0.02, "low": slope - 0.05, "high": slope + 0.01},
        "limit_R_over_T": {"rate": rate, "low": rate - 0.01, "high": rate + 0.01},
        "bound": {
            "theorem": "Kingma & Ba Thm 4.1" if opt == "adam" else "Reddi et al. Thm 4 (AMSGrad)",
            "applies": opt in ("adam", "amsgrad"),
            "why": "",
            "value": 300.0 if opt in ("adam", "amsgrad") else None,
            "terms": {},
            "exceeded_by_seeds": 2 if linear else 0,
            "guarantee": "O(sqrt T)",
            "sound": opt != "adam",
            "trivial_bound": 2000.0,
            "vacuous": False,
        },
        "verdict": {
            "class": "linear" if linear else "sublinear",
            "text": (
                f"linear: R/T -> {rate} [{rate - 0.01}, {rate + 0.01}]; exceeds its theoretical "
                "bound"
                if linear
                else "sublinear, consistent with O(sqrt T) (exponent 0.48 [0.45, 0.51])"
            ),
            "reason": "",
            "decide": None,
        },
        "diverged_seeds": 0,
        "curve": {
            "T": T,
            "R_mean": mean,
            "R_low": [m - h for m, h in zip(mean, half, strict=True)],
            "R_high": [m + h for m, h in zip(mean, half, strict=True)],
            "R_over_sqrtT": [m / math.sqrt(t) for m, t in zip(mean, T, strict=True)],
            "R_over_T": [m / t for m, t in zip(mean, T, strict=True)],
            "R_per_seed": [mean, mean],
            "x_first_coord_mean": [x_end * (1 - 1 / (1 + t)) for t in T],
        },
    }


def regret_doc() -> dict[str, Any]:
    rows = [
        _regret_row("reddi", "adam", 0.667, 1.0, 1.0),
        _regret_row("reddi", "amsgrad", 0.0, 3.0, -1.0),
        _regret_row("logistic", "adam", 0.0, 2.0, 0.3),
        _regret_row("logistic", "sgd", 0.0, 2.5, 0.3),
    ]
    rows[3]["exponent"] = None  # a row without a fit
    rows[3]["verdict"] = {
        "class": "undetermined",
        "text": "undetermined: too few checkpoints in the last decade",
        "reason": "too few checkpoints in the last decade",
        "decide": "more checkpoints per decade or a longer T",
    }
    return make_result("regret", {"T": 1000, "problems": ["reddi", "logistic"]}, rows=rows)


def bench_doc() -> dict[str, Any]:
    rows, roofs, refs = [], [], []
    for n in (1000, 10000, 100000):
        refs.append(
            {"size": n, "dtype": "float32", "threads": 1, "copy_gbps": 20.0, "triad_gbps": 22.0}
        )
        for opt, nbytes in (("adam", 28), ("sgd", 12)):
            roof_s = nbytes * n / 25e9
            pattern = "r4w3" if opt == "adam" else "r2w1"
            roofs.append({"optimizer": opt, "dtype": "float32", "size": n, "threads": 1,
                          "pattern": pattern, "gbps": 25.0})  # fmt: skip
            for impl, slow in (("adambench", 1.1), ("numpy-textbook", 3.0), ("torch-fused", 1.2)):
                med = roof_s * slow
                rows.append(
                    {
                        "optimizer": opt, "rule": opt, "impl": impl, "backend": "numpy",
                        "dtype": "float32", "size": n, "threads": 1, "clock": "cpu",
                        "median_s": med, "q1_s": med * 0.98, "q3_s": med * 1.03,
                        "iqr_s": med * 0.05, "best_s": med * 0.97, "ns_per_param": med / n * 1e9,
                        "bytes_per_step": nbytes * n, "gbps": nbytes * n / med / 1e9,
                        "roofline_pattern": "r4w3", "roofline_gbps": 25.0,
                        "fraction_of_roofline": 1 / slow, "ratio_to_adambench": slow / 1.1,
                        "repeats": 5, "samples_s": [med] * 5, "norm_samples": [slow] * 5,
                    }
                )  # fmt: skip
    return make_result("bench", {"sizes": [1000, 10000, 100000], "quick": False},
                       rows=rows, rooflines=roofs, references=refs)  # fmt: skip


def _curves(start: float, end: float, seeds: int, epochs: int = 4) -> list[list[float]]:
    return [
        [start * (end / start) ** (e / epochs) * (1 + 0.05 * s) for e in range(epochs + 1)]
        for s in range(seeds)
    ]


def run_doc() -> dict[str, Any]:
    def entry(opt: str, rank: int | None, end: float, beats: list[str]) -> dict:
        grid = []
        for lr in (0.001, 0.01):
            curves = _curves(2.3, end if lr == 0.01 else 2 * end, 2)
            grid.append({"lr": lr, "seeds": [0, 1], "final_train_loss": [c[-1] for c in curves],
                         "mean_final_train_loss": sum(c[-1] for c in curves) / 2,
                         "train_loss_curves": curves})  # fmt: skip
        chosen = {
            "lr": 0.01, "on_grid_edge": True,
            "final_train_loss": {"mean": end, "ci95_low": end * 0.9, "ci95_high": end * 1.1},
            "test_loss": end * 1.2, "test_accuracy": 0.9, "epochs_to_target": 3,
            "final_train_loss_per_seed": grid[-1]["final_train_loss"],
        }  # fmt: skip
        return {"optimizer": opt, "grid": grid, "diverged_runs": 0, "runs": 4,
                "chosen": chosen, "rank": rank, "rank_label": str(rank),
                "better_than": beats}  # fmt: skip

    gone = {
        "optimizer": "sgd",
        "grid": [{"lr": 1.0, "seeds": [0, 1], "train_loss_curves": [[2.3, None, None]] * 2}],
        "diverged_runs": 2,
        "runs": 2,
        "chosen": None,
        "rank": None,
        "rank_label": "-",
        "better_than": [],
    }
    entries = [entry("adam", 1, 0.1, ["adagrad"]), entry("adagrad", 2, 0.2, []), gone]
    ranking = {"test": "paired t test across seeds", "level": 0.05, "seeds": 2,
               "note": "each pair tested at the 5% level, not corrected for multiple "
               "comparisons; k= marks a tie"}  # fmt: skip
    task = {"task": {"name": "logreg", "parameters": 650, "lr_schedule": "inv_sqrt"},
            "target_loss": 0.5, "ranking": ranking, "optimizers": entries}  # fmt: skip
    return make_result("run", {"tasks": ["logreg"], "epochs": 4, "data": "digits"},
                       data={"name": "digits"}, tasks=[task])  # fmt: skip


def ablate_doc() -> dict[str, Any]:
    from adambench.experiments.ablation import AblationConfig, findings

    rows = []
    for b1 in (0.0, 0.9):
        for b2 in (0.99, 0.9999):
            for lg in (-3.0, -2.0, -1.0):
                base = 1.0 + abs(lg + 2)
                nob = None if (b2 == 0.9999 and lg == -1.0) else base * (1.5 if b2 > 0.999 else 1.0)
                row = {"beta1": b1, "beta2": b2, "log10_lr": lg,
                       "adam_short": base * 1.2, "adam_long": base,
                       "adam-nobias_short": None if nob is None else nob * 1.2,
                       "adam-nobias_long": nob,
                       "adam_diverged_epoch": None,
                       "adam-nobias_diverged_epoch": 3 if nob is None else None}  # fmt: skip
                for key in list(row)[3:]:  # two seeds, 1% either side of the mean
                    v = row[key]
                    row[f"{key}_per_seed"] = [v, v] if v is None or "epoch" in key else [
                        0.99 * v, 1.01 * v]  # fmt: skip
                rows.append(row)
    # Claim 1 holds (beta2 = 0.9999 unstable), 2 ties (both bests 1.0), 3 holds.
    cfg = AblationConfig(beta1=(0.0, 0.9), beta2=(0.99, 0.9999), log10_lr=(-3.0, -2.0, -1.0),
                         short_epochs=2, long_epochs=5, seeds=(0, 1))  # fmt: skip
    ablation = {"task": {"name": "vae", "parameters": 1000, "lr_schedule": "constant"},
                "initial_loss": 5.0, "initial_loss_per_seed": [5.0, 5.0], "rows": rows,
                "findings": findings(rows, cfg, [5.0, 5.0])}  # fmt: skip
    return make_result("ablate", {"task": "vae", "short_epochs": 2, "long_epochs": 5},
                       data={"name": "digits"}, ablation=ablation)  # fmt: skip


DOCS = {"regret": regret_doc, "bench": bench_doc, "run": run_doc, "ablate": ablate_doc}


def write(folder: Path, command: str, name: str | None = None) -> Path:
    """Write the ``command`` document into ``folder``; return its path."""
    return write_json(folder / (name or f"{command}.json"), DOCS[command]())
