"""The independent check of Yogi, AdaBelief and Lion: optax 0.2.8 in float64.

``tests/data/optax_reference.npz`` holds gradients (d = 10, 500 steps, scales 1e-6 to
1e3, exact zeros, an always-zero coordinate), initial parameters, the optax calls and
the parameter trajectory optax produced at every step (made by
``scripts/make_optax_reference.py`` with ``jax_enable_x64``; the optax and jax versions
are stored with it).  Our fused kernel (``opt.step``) and our float64 reference
(``opt.reference_step``) must follow each trajectory to a relative error <= 1e-10 at
every step (the error measure of tests/core/oracle_data.py, ``rel_err``: relative to the
distance the coordinate has moved), with our rule configured to optax's form:

* ``optax.yogi(lr, b1, b2, eps)`` = ``yogi(lr, beta1=b1, beta2=b2, eps=eps,
  bias_correction=True, initial_accumulator=1e-6, initial_m=1e-6)``: optax
  (scale_by_yogi) bias-corrects m and v and starts *both* m and v at
  initial_accumulator_value = 1e-6; its eps_root (inside the root) is 0.
* ``optax.adabelief(lr, b1, b2, eps, eps_root)`` = ``adabelief(..., eps=eps,
  eps_placement="paper")`` when eps_root = eps (Algorithm 2: eps added to s_t, stored,
  and outside the root), ``eps_placement="outside"`` when eps_root = 0.  Other pairs have
  no counterpart.
* ``optax.lion(lr, b1, b2, weight_decay)`` = ``lion(lr, beta1=b1, beta2=b2,
  weight_decay=weight_decay)``; optax's default weight_decay is 1e-3, ours (the paper's)
  0, so a case that leaves it to optax maps to weight_decay = 1e-3.

Where the definitions differ, the difference is pinned (below, each test says what and
why).  The committed-data tests need neither jax nor optax; the live tests (optax
importable) rerun optax in-process, on the committed gradients and on a fresh seed, and
check optax's defaults.
"""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

import numpy as np
import oracle_data
import pytest
from oracle_data import MODES, TOL, rel_err, run_ours

DATA = Path(__file__).resolve().parents[1] / "data" / "optax_reference.npz"
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_optax_reference.py"
# optax 0.2.8's defaults (checked live by test_live_optax_defaults).
OPTAX_DEFAULTS = {
    "yogi": {"b1": 0.9, "b2": 0.999, "eps": 1e-3},
    "scale_by_yogi": {"eps_root": 0.0, "initial_accumulator_value": 1e-6},
    "adabelief": {"b1": 0.9, "b2": 0.999, "eps": 1e-16, "eps_root": 1e-16},
    "lion": {"b1": 0.9, "b2": 0.99, "weight_decay": 1e-3},
}


def reference_data() -> dict[str, Any]:
    """The committed optax trajectories, keyed by case name."""
    return oracle_data.load_reference(DATA, "optax_version")


CASE_NAMES = list(reference_data()["cases"])


def ours_for(case: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Our optimizer name and hyperparameters equal to an optax call (module docstring)."""
    opt = case["optimizer"]
    kw = {**OPTAX_DEFAULTS[opt], **case["kwargs"]}
    hp: dict[str, Any] = {"lr": case["lr"], "lr_schedule": case["schedule"]}
    hp.update(beta1=kw["b1"], beta2=kw["b2"])
    if opt == "yogi":
        init = OPTAX_DEFAULTS["scale_by_yogi"]["initial_accumulator_value"]
        return "yogi", {**hp, "eps": kw["eps"], "bias_correction": True,
                        "initial_accumulator": init, "initial_m": init}  # fmt: skip
    if opt == "adabelief":
        if kw["eps_root"] == kw["eps"]:
            return "adabelief", {**hp, "eps": kw["eps"], "eps_placement": "paper"}
        if kw["eps_root"] == 0:
            return "adabelief", {**hp, "eps": kw["eps"], "eps_placement": "outside"}
        raise AssertionError(f"no mapping for adabelief eps={kw['eps']} eps_root={kw['eps_root']}")
    if opt == "lion":
        return "lion", {**hp, "weight_decay": kw["weight_decay"]}
    raise AssertionError(f"no mapping for optax.{opt}")


# --------------------------------------------------------------------------- data file


def test_reference_file_covers_the_issue():
    data = reference_data()
    grads = data["grads"]
    steps, d = grads.shape
    assert steps >= 500 and DATA.stat().st_size < 400_000
    assert data["optax_version"] == "0.2.8"
    assert (grads == 0).any(axis=0).all()  # exact zeros in every coordinate
    assert (grads == 0).all(axis=0).sum() == 1  # one always-zero coordinate
    scales = np.abs(grads).max(axis=0)
    assert scales[scales > 0].max() / scales[scales > 0].min() > 1e8  # many decades
    assert {c["optimizer"] for c in data["cases"].values()} == {"yogi", "adabelief", "lion"}
    for traj in data["traj"].values():
        assert traj.dtype == np.float64 and np.isfinite(traj).all()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_matches_optax(case: str, mode: str):
    oracle_data.check_committed(ours_for, reference_data(), case, mode)


def test_mapping_is_not_vacuous():
    """Each case moves every coordinate with a gradient, and a 0.1% change of lr is seen."""
    data = reference_data()
    for case in CASE_NAMES:
        traj = data["traj"][case]
        moved = np.abs(traj - data["p0"]).max(axis=0)
        assert (moved[np.abs(data["grads"]).max(axis=0) > 0] > 0).all(), case
        name, hp = ours_for(data["cases"][case])
        off = run_ours(name, {**hp, "lr": hp["lr"] * 1.001}, data["grads"], data["p0"], "kernel")
        assert rel_err(off, traj, data["p0"]) > 1e3 * TOL, case


# ----------------------------------------------------------- pinned definitional gaps


def test_yogi_paper_form_is_not_optax_default_form():
    """Algorithm 2 as printed (m_0 = v_0 = 0, no bias correction: our defaults) against
    optax.yogi's defaults (m_0 = v_0 = 1e-6, bias-corrected), step 1 by hand.

    Paper: m_1 = (1 - b1) g, v_1 = (1 - b2) g^2 (sign(0 - g^2) = -1), x_1 = x_0 - lr m_1 /
    (sqrt(v_1) + eps).  optax: m_1 = (1 - b1) g + b1 1e-6, v_1 = 1e-6 - (1 - b2) sign(1e-6
    - g^2) g^2, divided by 1 - b1 and 1 - b2.  The 1e-6 start also moves a coordinate whose
    gradient is always zero under optax (m decays from 1e-6); the paper form keeps it put.
    """
    data = reference_data()
    case = data["cases"]["yogi_optax_defaults"]
    g, x0, lr = data["grads"][0], data["p0"], case["lr"]
    b1, b2, eps, a0 = 0.9, 0.999, 1e-3, 1e-6
    m = (1 - b1) * g + b1 * a0
    v = a0 - (1 - b2) * np.sign(a0 - g * g) * g * g
    optax_1 = x0 - lr * (m / (1 - b1)) / (np.sqrt(v / (1 - b2)) + eps)
    assert rel_err(data["traj"]["yogi_optax_defaults"][:1], optax_1[None], x0) <= 1e-13
    paper_1 = x0 - lr * ((1 - b1) * g) / (np.sqrt((1 - b2) * g * g) + eps)
    for mode in MODES:
        ours = run_ours("yogi", {"lr": lr}, data["grads"][:1], x0, mode)
        np.testing.assert_allclose(ours[0], paper_1, rtol=1e-14, atol=0)
    assert np.abs(paper_1 - optax_1).max() > 1e-3 * lr  # a visible difference
    z = int(np.flatnonzero((data["grads"] == 0).all(axis=0))[0])
    assert data["traj"]["yogi_optax_defaults"][-1, z] != x0[z]  # optax: it drifts
    ours = run_ours("yogi", {"lr": lr}, data["grads"], x0, "kernel")
    assert (ours[:, z] == x0[z]).all()  # paper form: it stays put


@pytest.mark.parametrize("mode", MODES)
def test_yogi_sign_of_zero_keeps_v(mode: str):
    """sign(0) = 0 (numpy's and jax's sign; optax uses jnp.sign): where v_{t-1} = g_t^2
    exactly, v_t = v_{t-1}.  v_0 = 0.25 and g = 0.5 at every step keep v = 0.25, and the
    step is then lr m / (sqrt(0.25) + eps) with m = 0.5 (1 - 0.9^t)."""
    from adambench import make_optimizer

    opt = make_optimizer("yogi", lr=1e-2, initial_accumulator=0.25)
    p = np.zeros(3)
    s = opt.init(p)
    step = opt.step if mode == "kernel" else opt.reference_step
    for t in range(1, 21):
        before = p.copy()
        step(p, np.full(3, 0.5), s)
        assert (s.buffers["v"] == 0.25).all()
        m = 0.5 * (1 - 0.9**t)
        np.testing.assert_allclose(before - p, 1e-2 * m / (0.5 + 1e-3), rtol=1e-14)


def test_adabelief_eps_placements_differ_and_only_two_are_optax():
    """Algorithm 2 adds eps to s_t (stored: after k steps of zero residual s = eps (1 -
    b2^k) / (1 - b2), here by hand) and again outside the root; optax's eps_root is the
    first of these (stored, not added under the root at the update like optax.adam's
    eps_root), so optax has "paper" (eps_root = eps) and "outside" (eps_root = 0) but no
    "root" (sqrt(s_hat + eps)).  The three give different trajectories on the data."""
    from adambench import make_optimizer

    b2, eps = 0.999, 1e-8
    for mode in MODES:
        opt = make_optimizer("adabelief", eps=eps, beta2=b2)
        p = np.ones(2)
        s = opt.init(p)
        step = opt.step if mode == "kernel" else opt.reference_step
        for k in range(1, 31):
            step(p, np.zeros(2), s)
            np.testing.assert_allclose(s.buffers["s"], eps * (1 - b2**k) / (1 - b2), rtol=1e-12)
        assert (p == 1).all()  # m = 0: nothing moves
        root = make_optimizer("adabelief", eps=eps, eps_placement="root")
        s = root.init(p)
        for _ in range(5):
            root.step(p, np.zeros(2), s)
        assert (s.buffers["s"] == 0).all()  # eps not stored
    data = reference_data()
    case = data["cases"]["adabelief_eps_outside"]
    _, hp = ours_for(case)
    runs = {
        pl: run_ours("adabelief", {**hp, "eps_placement": pl}, data["grads"], data["p0"], "kernel")
        for pl in ("paper", "outside", "root")
    }
    ref = data["traj"]["adabelief_eps_outside"]
    assert rel_err(runs["outside"], ref, data["p0"]) <= TOL
    assert rel_err(runs["paper"], ref, data["p0"]) > 1e-6
    assert rel_err(runs["root"], ref, data["p0"]) > 1e-6


def test_lion_default_weight_decay_is_the_papers_not_optaxs():
    """The paper's Lion defaults weight decay to 0; optax.lion to 1e-3 (times the
    learning rate, as ours: theta -= lr (sign(c) + wd theta)).  The case that leaves it
    to optax matches ours only with weight_decay = 1e-3."""
    from adambench import make_optimizer

    assert make_optimizer("lion").hyperparameters["weight_decay"] == 0.0
    assert make_optimizer("lion").hyperparameters["lr"] == 1e-4
    assert make_optimizer("lion").hyperparameters["beta2"] == 0.99
    data = reference_data()
    case = data["cases"]["lion_optax_default_wd"]
    ref = data["traj"]["lion_optax_default_wd"]
    hp = {"lr": case["lr"]}  # our defaults otherwise: b1 = 0.9, b2 = 0.99, wd = 0
    ours = run_ours("lion", hp, data["grads"], data["p0"], "kernel")
    assert rel_err(ours, ref, data["p0"]) > 1e-6
    ours = run_ours("lion", {**hp, "weight_decay": 1e-3}, data["grads"], data["p0"], "kernel")
    assert rel_err(ours, ref, data["p0"]) <= TOL


def test_lion_moves_by_exactly_lr_or_not_at_all():
    """Without weight decay every coordinate of optax's Lion moves by lr (up to the
    rounding of x - lr) or, where c_t = 0 (sign(0) = 0), not at all; ours likewise."""
    data = reference_data()
    lr = data["cases"]["lion"]["lr"]
    traj = np.vstack([data["p0"], data["traj"]["lion"]])
    ours = run_ours("lion", {"lr": lr}, data["grads"], data["p0"], "kernel")
    ours = np.vstack([data["p0"], ours])
    for tr in (traj, ours):
        step = np.abs(np.diff(tr, axis=0))
        ulp = np.spacing(np.abs(tr[:-1]) + lr)
        assert ((np.abs(step - lr) <= ulp) | (step == 0)).all()
        z = int(np.flatnonzero((data["grads"] == 0).all(axis=0))[0])
        assert (step[:, z] == 0).all()


# --------------------------------------------------------------------------- live optax


def test_live_optax_defaults():
    """optax's own defaults are those the mapping assumes (OPTAX_DEFAULTS)."""
    optax = pytest.importorskip("optax")
    from optax._src import transform

    funcs = {"yogi": optax.yogi, "adabelief": optax.adabelief, "lion": optax.lion,
             "scale_by_yogi": transform.scale_by_yogi}  # fmt: skip
    for fname, defaults in OPTAX_DEFAULTS.items():
        sig = inspect.signature(funcs[fname]).parameters
        for k, v in defaults.items():
            assert sig[k].default == v, (fname, k)


@pytest.mark.parametrize("case", CASE_NAMES)
def test_live_optax_reproduces_committed(case: str):
    """optax installed here reproduces the committed trajectory (same gradients)."""
    pytest.importorskip("optax")
    oracle_data.check_live_committed(SCRIPT, "run_optax", reference_data(), case)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", CASE_NAMES)
def test_live_optax_fresh_seed(case: str, mode: str):
    """A fresh gradient sequence run through optax in-process and through ours."""
    pytest.importorskip("optax")
    oracle_data.check_live_fresh(SCRIPT, "run_optax", case, ours_for, mode)


def test_live_optax_yogi_sign_of_zero():
    """optax agrees on sign(0) = 0: v_0 = g^2 = 0.25 stays 0.25."""
    pytest.importorskip("optax")
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from optax._src import transform

    tx = transform.scale_by_yogi(initial_accumulator_value=0.25)
    state = tx.init(jnp.zeros(3))
    for _ in range(5):
        _, state = tx.update(jnp.full(3, 0.5), state)
    assert (np.asarray(state.nu) == 0.25).all()
    assert math.isclose(float(np.asarray(state.nu)[0]), 0.25)
