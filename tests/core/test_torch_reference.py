"""The independent check: every rule against torch.optim, float64.

``tests/data/torch_reference.npz`` holds gradients, initial parameters, torch
hyperparameters and the parameter trajectory torch.optim produced at every step
(made by ``scripts/make_torch_reference.py``; the torch version is stored with it).
Both our fused kernel (``opt.step``) and our float64 reference (``opt.reference_step``)
must follow those trajectories to a relative error <= 1e-10 at every step, where the
definitions coincide.  Where they differ by definition, the difference is pinned:

* AdaMax (docs/theory.md §1.8): ours defaults to eps = 0 (the paper); torch puts eps = 1e-8
  inside the max.  With eps = 0, torch divides 0 by 0 on a coordinate whose first
  gradient is zero (NaN for ever after); ours keeps it put until a gradient arrives.
* AMSGrad (docs/theory.md §2.4): ``bias_correction=True`` is torch's Adam(amsgrad=True);
  the paper form (no bias correction, no eps) is checked against a hand-written loop of
  Reddi et al. Algorithm 2 and its first step is pinned.

The committed-data tests need no torch; the live tests (torch importable) rerun torch
in-process, on the committed gradients and on a fresh seed.

Error measure: ``oracle_data.rel_err``, |ours - torch| relative to the largest distance
torch's coordinate has moved from its start so far (tests/core/oracle_data.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import oracle_data
import pytest
from oracle_data import MODES, TOL, rel_err, run_ours

import adambench

DATA = Path(__file__).resolve().parents[1] / "data" / "torch_reference.npz"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_torch_reference.py"
# Cases where torch and ours differ by definition; tested by the pinning tests below.
PINNED = {"adamax_eps0"}


def reference_data() -> dict[str, Any]:
    """The committed torch trajectories, keyed by case name."""
    return oracle_data.load_reference(DATA, "torch_version")


CASE_NAMES = list(reference_data()["cases"])
MATCHING = [n for n in CASE_NAMES if n not in PINNED]


def ours_for(case: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our optimizer name and hyperparameters equivalent to a torch.optim configuration."""
    kw, opt = case["kwargs"], case["optimizer"]
    hp: dict[str, Any] = {"lr": kw["lr"], "lr_schedule": case["schedule"]}
    if opt in ("Adam", "Adamax"):
        hp.update(beta1=kw["betas"][0], beta2=kw["betas"][1], eps=kw["eps"])
    if opt == "Adam":
        if kw.get("amsgrad", False):
            return "amsgrad", {**hp, "bias_correction": True}
        return "adam", hp
    if opt == "Adamax":
        return "adamax", hp
    if opt == "Adagrad":
        return "adagrad", {
            **hp,
            "eps": kw["eps"],
            "initial_accumulator": kw["initial_accumulator_value"],
        }
    if opt == "RMSprop":
        return "rmsprop-momentum", {
            **hp,
            "decay": kw["alpha"],
            "momentum": kw["momentum"],
            "eps": kw["eps"],
            "centered": kw["centered"],
        }
    if opt == "SGD":
        return "sgd", {**hp, "momentum": kw["momentum"], "nesterov": kw["nesterov"]}
    raise AssertionError(f"no mapping for torch.optim.{opt}")


# --------------------------------------------------------------------------- data file


def test_reference_file_covers_the_issue():
    data = reference_data()
    grads, traj = data["grads"], data["traj"]
    steps, d = grads.shape
    assert steps >= 500 and DATA.stat().st_size < 1_000_000
    assert data["torch_version"]
    # exact zeros, an always-zero coordinate and mixed scales
    assert (grads == 0).any(axis=0).all()
    assert (grads == 0).all(axis=0).sum() == 1
    scales = np.abs(grads).max(axis=0)
    assert scales[scales > 0].max() / scales[scales > 0].min() > 1e4
    opts = {c["optimizer"] for c in data["cases"].values()}
    assert opts >= {"Adam", "Adamax", "Adagrad", "RMSprop", "SGD"}
    kw = [c["kwargs"] for c in data["cases"].values()]
    assert any(k.get("amsgrad") for k in kw)
    assert any(k.get("initial_accumulator_value", 0) > 0 for k in kw)
    assert {k.get("centered") for k in kw} >= {True, False}
    assert any(k.get("nesterov") for k in kw)
    assert any(k.get("momentum", 0) > 0 and not k.get("nesterov") for k in kw)
    assert any(k.get("momentum", 1) == 0 for k in kw)
    assert any(c["schedule"] == "inv_sqrt" for c in data["cases"].values())
    for name, t in traj.items():
        assert t.shape == (steps, d), name


# ------------------------------------------------------- committed data, no torch needed


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", MATCHING)
def test_matches_torch(case: str, mode: str):
    oracle_data.check_committed(ours_for, reference_data(), case, mode)


def _batched_groups() -> list[list[str]]:
    """Cases sharing our optimizer and its non-vector settings: one (B, d) sweep each."""
    groups: dict[tuple, list[str]] = {}
    for case in MATCHING:
        name, hp = ours_for(reference_data()["cases"][case])
        fixed = tuple(sorted((k, v) for k, v in hp.items() if isinstance(v, (bool, str))))
        groups.setdefault((name, fixed), []).append(case)
    return [g for g in groups.values() if len(g) > 1]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("cases", _batched_groups(), ids="+".join)
def test_batched_sweep_matches_torch(cases: list[str], mode: str):
    """Several torch configurations as one (B, d) run with per-run hyperparameter vectors."""
    data = reference_data()
    hps = [ours_for(data["cases"][c]) for c in cases]
    name = hps[0][0]
    hp = {
        k: v if isinstance(v, (bool, str)) else [h[k] for _, h in hps] for k, v in hps[0][1].items()
    }
    p0 = np.tile(data["p0"], (len(cases), 1))
    ours = run_ours(name, hp, data["grads"], p0, mode)
    for b, case in enumerate(cases):
        err = rel_err(ours[:, b], data["traj"][case], data["p0"])
        assert err <= TOL, f"{case} as run {b} of a batch ({mode}): relative error {err:.3g}"


def test_mapping_is_not_vacuous():
    """Changing one hyperparameter breaks the match, so the comparison can fail."""
    data = reference_data()
    name, hp = ours_for(data["cases"]["adam"])
    ours = run_ours(name, {**hp, "eps": 1e-7}, data["grads"], data["p0"], "kernel")
    assert rel_err(ours, data["traj"]["adam"], data["p0"]) > 1e-6


# ------------------------------------------------------------------ AdaMax eps (pinned)


def _first_nonzero_step(grads: np.ndarray) -> np.ndarray:
    """Per coordinate, the index of the first nonzero gradient (steps if none)."""
    nz = grads != 0
    return np.where(nz.any(axis=0), nz.argmax(axis=0), grads.shape[0])


@pytest.mark.parametrize("mode", MODES)
def test_adamax_eps0_against_torch_eps0(mode: str):
    """Ours(eps=0) = torch(eps=0) wherever torch is defined; torch NaNs where ours stays put."""
    data = reference_data()
    grads, p0, torch_traj = data["grads"], data["p0"], data["traj"]["adamax_eps0"]
    name, hp = ours_for(data["cases"]["adamax_eps0"])
    assert hp["eps"] == 0.0
    ours = run_ours(name, hp, grads, p0, mode)
    assert np.all(np.isfinite(ours))
    # torch: u_1 = |g_1| = 0 and m_1 = 0 give 0/0 on step 1, and NaN stays NaN.
    nan_cols = np.isnan(torch_traj).any(axis=0)
    np.testing.assert_array_equal(nan_cols, grads[0] == 0)
    np.testing.assert_array_equal(np.isnan(torch_traj), np.broadcast_to(nan_cols, ours.shape))
    assert nan_cols.any() and not nan_cols.all()
    # ours: such a coordinate stays put until its first nonzero gradient, then moves.
    first = _first_nonzero_step(grads)
    for i in np.flatnonzero(nan_cols):
        assert np.all(ours[: first[i], i] == p0[i])
        if first[i] < grads.shape[0]:
            assert ours[first[i], i] != p0[i]
    ok = ~nan_cols
    err = rel_err(ours[:, ok], torch_traj[:, ok], p0[ok])
    assert err <= TOL, f"adamax eps=0 ({mode}): relative error {err:.3g}"


def test_adamax_default_eps_is_the_papers_not_torchs():
    """Ours defaults to eps = 0; torch's default 1e-8 measurably changes small coordinates."""
    assert adambench.make_optimizer("adamax").hyperparameters["eps"] == 0.0
    data = reference_data()
    case = data["cases"]["adamax"]
    assert case["kwargs"]["eps"] == 1e-8  # torch.optim.Adamax's default
    name, hp = ours_for(case)
    del hp["eps"]
    ours = run_ours(name, hp, data["grads"], data["p0"], "kernel")
    small = 0  # the 1e-3-scale coordinate, where eps = 1e-8 is a 1e-5 relative change
    assert np.abs(data["grads"][:, small]).max() < 1e-2
    torch_eps = data["traj"]["adamax"][:, [small]]
    assert rel_err(ours[:, [small]], torch_eps, data["p0"][[small]]) > 1e-7


# ---------------------------------------------------------------- AMSGrad forms (pinned)


def reddi_algorithm2(
    grads: np.ndarray, x1: np.ndarray, lr: float, beta1: float, beta2: float, inv_sqrt: bool
) -> np.ndarray:
    """Reddi, Kale & Kumar, Algorithm 2 (docs/theory.md §2.4), one coordinate at a time.

    m_t = b1 m + (1 - b1) g;  v_t = b2 v + (1 - b2) g^2;  vhat_t = max(vhat, v_t);
    x_{t+1} = x_t - alpha_t m_t / sqrt(vhat_t), alpha_t = alpha or alpha / sqrt(t);
    no bias correction, no eps, no projection (F = R^d).  vhat = 0 means every gradient
    so far was zero, so m = 0 too; the coordinate then stays put.
    """
    steps, d = grads.shape
    out = np.empty((steps, d))
    for i in range(d):
        x, m, v, vhat = float(x1[i]), 0.0, 0.0, 0.0
        for t in range(1, steps + 1):
            g = float(grads[t - 1, i])
            alpha = lr / math.sqrt(t) if inv_sqrt else lr
            m = beta1 * m + (1.0 - beta1) * g
            v = beta2 * v + (1.0 - beta2) * g * g
            vhat = max(vhat, v)
            if vhat > 0.0:
                x = x - alpha * m / math.sqrt(vhat)
            out[t - 1, i] = x
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ["adam_amsgrad", "adam_amsgrad_inv_sqrt"])
def test_amsgrad_paper_form_is_reddi_algorithm2(case: str, mode: str):
    data = reference_data()
    grads, p0 = data["grads"], data["p0"]
    _, hp = ours_for(data["cases"][case])
    paper = {**hp, "bias_correction": False, "eps": 0.0}
    ours = run_ours("amsgrad", paper, grads, p0, mode)
    hand = reddi_algorithm2(
        grads, p0, hp["lr"], hp["beta1"], hp["beta2"], hp["lr_schedule"] == "inv_sqrt"
    )
    err = rel_err(ours, hand, p0)
    assert err <= TOL, f"paper-form AMSGrad ({mode}) vs Algorithm 2: relative error {err:.3g}"
    # ... and it is a different rule from torch's Adam(amsgrad=True)
    assert rel_err(ours, data["traj"][case], p0) > 1e-3


def test_amsgrad_first_step_paper_vs_torch():
    """Step 1: the paper form moves lr (1 - b1)/sqrt(1 - b2) per coordinate, torch ~ lr."""
    data = reference_data()
    grads, p0 = data["grads"], data["p0"]
    _, hp = ours_for(data["cases"]["adam_amsgrad"])
    lr, b1, b2 = hp["lr"], hp["beta1"], hp["beta2"]
    params = p0.copy()
    opt = adambench.make_optimizer("amsgrad", **{**hp, "bias_correction": False, "eps": 0.0})
    opt.step(params, grads[0].copy(), opt.init(params))
    g1 = grads[0]
    moving = g1 != 0
    assert moving.any() and not moving.all()
    paper_step = p0 - params
    expected = lr * (1 - b1) / math.sqrt(1 - b2) * np.sign(g1)
    np.testing.assert_allclose(paper_step[moving], expected[moving], rtol=1e-12, atol=0)
    assert np.all(paper_step[~moving] == 0)
    # torch: m_hat_1 = g_1 and sqrt(v_hat_1) = |g_1|, so the step is lr |g| / (|g| + eps)
    torch_step = p0 - data["traj"]["adam_amsgrad"][0]
    eps = hp["eps"]
    expected_torch = lr * g1 / (np.abs(g1) + eps)
    np.testing.assert_allclose(torch_step, expected_torch, rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.abs(torch_step[moving]), lr, rtol=1e-4)
    ratio = np.abs(paper_step[moving] / torch_step[moving])
    np.testing.assert_allclose(ratio, (1 - b1) / math.sqrt(1 - b2), rtol=1e-4)


# --------------------------------------------------------------- live torch comparison


@pytest.mark.parametrize("case", CASE_NAMES)
def test_live_torch_reproduces_committed(case: str):
    """Torch installed here reproduces the committed trajectory (same gradients)."""
    pytest.importorskip("torch")
    data = reference_data()
    live = oracle_data.live_committed(SCRIPT, "run_torch", data, case)
    ref = data["traj"][case]
    np.testing.assert_array_equal(np.isnan(live), np.isnan(ref))
    ok = ~np.isnan(ref).any(axis=0)
    assert rel_err(live[:, ok], ref[:, ok], data["p0"][ok]) <= TOL


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", MATCHING)
def test_live_torch_fresh_seed(case: str, mode: str):
    """A fresh gradient sequence run through torch in-process and through ours."""
    pytest.importorskip("torch")
    oracle_data.check_live_fresh(SCRIPT, "run_torch", case, ours_for, mode)
