"""The independent check of weight decay, AdamW, NAdam and RAdam: torch.optim, float64.

``tests/data/torch_reference_decay.npz`` (made by ``scripts/make_torch_reference_decay.py``,
torch run with float64 as its default dtype) holds torch.optim trajectories for: L2
``weight_decay`` on Adam, Adam(amsgrad), Adamax, Adagrad, RMSprop and SGD; AdamW (and
amsgrad); NAdam (L2 and decoupled weight decay); RAdam (L2 and decoupled).  500 steps of
mixed-scale gradients (1e-3 to 1e2, heavy tails, exact zeros, an always-zero coordinate,
which weight decay now moves).  Our kernel and our float64 reference must follow every
trajectory to <= 1e-10 relative (the error measure of oracle_data.rel_err), without
torch; with torch importable, torch is rerun in-process on the committed gradients and on
a fresh seed.

Definitional differences from the papers, pinned here with hand-written loops of the
papers' algorithms (docs/theory.md §7.2, §7.4):

* AdamW: Loshchilov & Hutter's Algorithm 2 subtracts eta_t lambda theta (lambda not times
  alpha); torch's weight_decay is lambda / alpha.  Ours = the paper with lambda = alpha *
  weight_decay (eta_t = 1, and eta_t = 1/sqrt(t) with ``inv_sqrt``), and reading
  weight_decay as the paper's lambda is a different trajectory.
* RAdam: the paper switches at rho_t > 4 and has no eps; torch at rho_t > 5 with eps added
  to sqrt(v_t).  ``rho_threshold=4, eps=0`` is the paper's Algorithm 2 (hand loop); the
  torch form departs from it at t = 5 exactly (beta2 = 0.999).
* NAdam: torch keeps the running product of mu_t in its default dtype; float32 (torch's
  default) moves the trajectory by more than 1e-10 but less than 1e-5 (live test), which is
  why the script runs torch in float64.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import oracle_data
import pytest
from oracle_data import MODES, TOL, rel_err, run_ours
from test_torch_reference import ours_for as ours_for_base

DATA = Path(__file__).resolve().parents[1] / "data" / "torch_reference_decay.npz"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_torch_reference_decay.py"


def reference_data() -> dict[str, Any]:
    """The committed torch trajectories (weight decay, AdamW, NAdam, RAdam) by case name."""
    return oracle_data.load_reference(DATA, "torch_version")


CASE_NAMES = list(reference_data()["cases"])


def ours_for(case: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our optimizer and hyperparameters for a torch.optim configuration."""
    kw, opt = case["kwargs"], case["optimizer"]
    hp: dict[str, Any] = {"lr": kw["lr"], "lr_schedule": case["schedule"]}
    if opt in ("AdamW", "NAdam", "RAdam"):
        hp.update(beta1=kw["betas"][0], beta2=kw["betas"][1], eps=kw["eps"])
        if "weight_decay" in kw:
            hp["weight_decay"] = kw["weight_decay"]
    if opt == "AdamW":
        return "adamw", {**hp, "amsgrad": kw.get("amsgrad", False)}
    if opt == "NAdam":
        return "nadam", {
            **hp,
            "momentum_decay": kw["momentum_decay"],
            "decoupled_weight_decay": kw.get("decoupled_weight_decay", False),
        }
    if opt == "RAdam":
        return "radam", {**hp, "decoupled_weight_decay": kw.get("decoupled_weight_decay", False)}
    name, hp = ours_for_base(case)
    return name, {**hp, "weight_decay": kw.get("weight_decay", 0.0)}


def test_reference_file_covers_the_rules():
    data = reference_data()
    grads, traj = data["grads"], data["traj"]
    steps, d = grads.shape
    assert steps >= 500 and DATA.stat().st_size < 500_000 and data["torch_version"]
    assert (grads == 0).any(axis=0).all() and (grads == 0).all(axis=0).sum() == 1
    scales = np.abs(grads).max(axis=0)
    assert scales[scales > 0].max() / scales[scales > 0].min() > 1e4
    cases = data["cases"].values()
    opts = {c["optimizer"] for c in cases}
    assert opts == {"Adam", "Adamax", "Adagrad", "RMSprop", "SGD", "AdamW", "NAdam", "RAdam"}
    kws = [c["kwargs"] for c in cases]
    assert any(
        k.get("amsgrad") and c["optimizer"] == "AdamW" for k, c in zip(kws, cases, strict=True)
    )
    assert any(
        k.get("amsgrad") and c["optimizer"] == "Adam" for k, c in zip(kws, cases, strict=True)
    )
    for opt in ("NAdam", "RAdam"):
        flags = {k.get("decoupled_weight_decay", False) for k, c in zip(kws, cases, strict=True)
                 if c["optimizer"] == opt and k.get("weight_decay", 0) > 0}  # fmt: skip
        assert flags == {False, True}, opt
    for opt in ("Adam", "Adamax", "Adagrad", "RMSprop", "SGD"):
        assert any(c["optimizer"] == opt and k.get("weight_decay", 0) > 0
                   for k, c in zip(kws, cases, strict=True)), opt  # fmt: skip
    for t in traj.values():
        assert t.shape == (steps, d) and np.isfinite(t).all()
    # weight decay moves the coordinate whose gradient is always zero
    zero = int(np.flatnonzero((grads == 0).all(axis=0))[0])
    assert traj["adamw"][-1, zero] != data["p0"][zero]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_matches_torch(case: str, mode: str):
    oracle_data.check_committed(ours_for, reference_data(), case, mode)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("case", "key", "value"),
    [("adam_wd", "weight_decay", 0.1001), ("adamw", "weight_decay", 0.0101),
     ("nadam", "momentum_decay", 0.0041), ("nadam_decoupled", "decoupled_weight_decay", False),
     ("radam_decoupled", "decoupled_weight_decay", False), ("radam", "rho_threshold", 4.0)],
)  # fmt: skip
def test_mapping_is_not_vacuous(case: str, key: str, value: Any, mode: str):
    """Changing one hyperparameter breaks the match, so the comparison can fail."""
    data = reference_data()
    name, hp = ours_for(data["cases"][case])
    ours = run_ours(name, {**hp, key: value}, data["grads"], data["p0"], mode)
    assert rel_err(ours, data["traj"][case], data["p0"]) > 1e-6


def test_batched_sweep_matches_torch():
    """Two AdamW configurations as one (B, d) run with per-run hyperparameters."""
    data = reference_data()
    cases = ["adamw", "adamw_strong"]
    hps = [ours_for(data["cases"][c])[1] for c in cases]
    hp = {k: v if isinstance(v, (bool, str)) else [h[k] for h in hps] for k, v in hps[0].items()}
    p0 = np.tile(data["p0"], (len(cases), 1))
    for mode in MODES:
        ours = run_ours("adamw", hp, data["grads"], p0, mode)
        for b, case in enumerate(cases):
            err = rel_err(ours[:, b], data["traj"][case], data["p0"])
            assert err <= TOL, f"{case} as run {b} ({mode}): {err:.3g}"


# ------------------------------------------------------------ AdamW: the paper's lambda


def loshchilov_hutter_algorithm2(grads, theta0, alpha, beta1, beta2, eps, lam, inv_sqrt):
    """Loshchilov & Hutter 2019, Algorithm 2 (AdamW lines), per coordinate: line 12 is
    theta_t = theta_{t-1} - eta_t (alpha m_hat_t / (sqrt(v_hat_t) + eps) + lam theta_{t-1})
    with the schedule multiplier eta_t = 1 (or 1/sqrt(t))."""
    steps, d = grads.shape
    out = np.empty((steps, d))
    for i in range(d):
        theta, m, v = float(theta0[i]), 0.0, 0.0
        for t in range(1, steps + 1):
            g = float(grads[t - 1, i])
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            m_hat = m / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)
            eta = 1 / math.sqrt(t) if inv_sqrt else 1.0
            theta = theta - eta * (alpha * m_hat / (math.sqrt(v_hat) + eps) + lam * theta)
            out[t - 1, i] = theta
    return out


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", ["adamw_strong", "adamw_inv_sqrt"])
def test_adamw_is_the_paper_with_lambda_times_alpha(case: str, mode: str):
    data = reference_data()
    grads, p0 = data["grads"], data["p0"]
    _, hp = ours_for(data["cases"][case])
    ours = run_ours("adamw", hp, grads, p0, mode)
    args = (grads, p0, hp["lr"], hp["beta1"], hp["beta2"], hp["eps"])
    inv = hp["lr_schedule"] == "inv_sqrt"
    paper = loshchilov_hutter_algorithm2(*args, hp["lr"] * hp["weight_decay"], inv)
    assert rel_err(ours, paper, p0) <= TOL
    # weight_decay read as the paper's lambda (not scaled by alpha) is another rule
    unscaled = loshchilov_hutter_algorithm2(*args, hp["weight_decay"], inv)
    assert rel_err(ours, unscaled, p0) > 1e-2


# ------------------------------------------------------ RAdam: threshold 4 and no eps


def liu_algorithm2(grads, theta0, alpha, beta1, beta2):
    """Liu et al. 2020, Algorithm 2, per coordinate, no eps: rho_t > 4 switches to the
    rectified adaptive step.  A coordinate with v_t = 0 (only zero gradients: m_t = 0)
    stays put in the adaptive phase (the paper's l_t is 1/0 there)."""
    steps, d = grads.shape
    rho_inf = 2 / (1 - beta2) - 1
    out = np.empty((steps, d))
    for i in range(d):
        theta, m, v = float(theta0[i]), 0.0, 0.0
        for t in range(1, steps + 1):
            g = float(grads[t - 1, i])
            v = beta2 * v + (1 - beta2) * g * g
            m = beta1 * m + (1 - beta1) * g
            m_hat = m / (1 - beta1**t)
            rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
            if rho_t > 4:
                r = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                              / ((rho_inf - 4) * (rho_inf - 2) * rho_t))  # fmt: skip
                if v > 0:
                    theta = theta - alpha * r * m_hat * math.sqrt((1 - beta2**t) / v)
            else:
                theta = theta - alpha * m_hat
            out[t - 1, i] = theta
    return out


@pytest.mark.parametrize("mode", MODES)
def test_radam_paper_form_is_liu_algorithm2(mode: str):
    data = reference_data()
    grads, p0 = data["grads"], data["p0"]
    _, hp = ours_for(data["cases"]["radam"])
    paper_hp = {**hp, "rho_threshold": 4.0, "eps": 0.0}
    ours = run_ours("radam", paper_hp, grads, p0, mode)
    paper = liu_algorithm2(grads, p0, hp["lr"], hp["beta1"], hp["beta2"])
    assert rel_err(ours, paper, p0) <= TOL
    # torch's form (rho_t > 5) is the same rule up to t = 4 and departs at t = 5, where
    # rho_5 = 4.996 (beta2 = 0.999): the paper adapts there, torch still steps alpha m_hat
    torch_traj = data["traj"]["radam"]
    assert hp["beta2"] == 0.999
    assert rel_err(torch_traj[:4], paper[:4], p0) <= 1e-6  # eps is the only difference
    step5_torch = torch_traj[4] - torch_traj[3]
    step5_paper = paper[4] - paper[3]
    moving = grads[:5].any(axis=0)
    assert (np.abs(step5_torch[moving] - step5_paper[moving]) > 1e-4 * hp["lr"]).all()


def test_radam_first_adaptive_step_by_hand():
    """Step 6 (beta2 = 0.999, threshold 5): alpha r_6 m_hat l_6 with the numbers of the
    module docstring of rules/radam.py, written out for one coordinate."""
    import adambench

    b1, b2, lr, eps = 0.9, 0.999, 1e-2, 1e-8
    g = np.array([0.3, -2.0, 0.5, 1.0, -1.0, 4.0])
    opt = adambench.make_optimizer("radam", lr=lr, beta1=b1, beta2=b2, eps=eps)
    p = np.zeros(1)
    state = opt.init(p)
    m = v = 0.0
    for t, gt in enumerate(g, start=1):
        before = float(p[0])
        opt.step(p, np.array([gt]), state)
        m, v = b1 * m + (1 - b1) * gt, b2 * v + (1 - b2) * gt * gt
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        m_hat = m / (1 - b1**t)
        if t <= 5:
            assert rho <= 5
            expected = lr * m_hat
        else:
            r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            expected = lr * r * m_hat * math.sqrt(1 - b2**t) / (math.sqrt(v) + eps)
        assert before - float(p[0]) == pytest.approx(expected, rel=1e-12)


# --------------------------------------------------------------- live torch comparison


@pytest.mark.parametrize("case", CASE_NAMES)
def test_live_torch_reproduces_committed(case: str):
    pytest.importorskip("torch")
    oracle_data.check_live_committed(SCRIPT, "run_torch", reference_data(), case)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_live_torch_fresh_seed(case: str, mode: str):
    pytest.importorskip("torch")
    oracle_data.check_live_fresh(SCRIPT, "run_torch", case, ours_for, mode)


def test_live_nadam_float32_scalars_are_not_float64():
    """torch's default dtype (float32) keeps NAdam's mu product in float32: off by more
    than the 1e-10 tolerance, by less than 1e-5 (why the script runs torch in float64)."""
    torch = pytest.importorskip("torch")
    data = reference_data()
    assert torch.get_default_dtype() == torch.float32
    # make_torch_reference.run_torch: no default-dtype change
    base = oracle_data.load_script(SCRIPT)._BASE
    live32 = base.run_torch(data["cases"]["nadam"], data["grads"], data["p0"])
    err = rel_err(live32, data["traj"]["nadam"], data["p0"])
    assert 1e-10 < err < 1e-5, err
