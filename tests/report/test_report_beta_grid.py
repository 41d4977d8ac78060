"""Run results with a beta grid (``adambench run --beta1/--beta2``): the report picks the
chosen point by lr and betas, plots one point per lr (best over betas) and shows the betas."""

from __future__ import annotations

import pytest

pytest.importorskip("matplotlib")

from report_docs import run_doc  # noqa: E402

from adambench.report import plots_training, tables  # noqa: E402


def _with_beta_grid() -> dict:
    doc = run_doc()
    entry = doc["tasks"][0]["optimizers"][0]  # adam
    grid = []
    for g in entry["grid"]:
        for b1, scale in ((0.5, 1.5), (0.9, 1.0)):
            curves = [[v * scale for v in c] for c in g["train_loss_curves"]]
            grid.append({**g, "beta1": b1, "train_loss_curves": curves,
                         "mean_final_train_loss": g["mean_final_train_loss"] * scale})  # fmt: skip
    entry["grid"] = grid
    entry["chosen"]["beta1"] = 0.9
    return doc


def test_chosen_point_matches_lr_and_betas():
    doc = _with_beta_grid()
    entry = doc["tasks"][0]["optimizers"][0]
    point = plots_training.chosen_point(entry)
    assert point is not None and point["lr"] == 0.01 and point["beta1"] == 0.9
    entry["chosen"]["beta1"] = 0.5
    assert plots_training.chosen_point(entry)["beta1"] == 0.5


def test_lr_plot_has_one_point_per_lr_the_best_over_betas():
    doc = _with_beta_grid()
    plot = plots_training.lr_plot(doc["tasks"][0], "digits")
    adam_line = next(ln for ln in plot.figure.axes[0].lines if ln.get_label() == "adam")
    xs, ys = adam_line.get_data()
    assert list(xs) == [0.001, 0.01]
    finals = {g["lr"]: g["mean_final_train_loss"] for g in doc["tasks"][0]["optimizers"][0]["grid"]
              if g["beta1"] == 0.9}  # fmt: skip
    assert list(ys) == pytest.approx([finals[0.001], finals[0.01]])


def test_table_shows_the_chosen_betas():
    doc = _with_beta_grid()
    rows = tables.run_tables(doc)[0].rows
    adam = next(r for r in rows if r[1] == "adam")
    assert "β1=0.9" in adam[2]
