"""The rules of docs/theory.md §7-§8 through the training engine (``train_batch``) on a
tiny MLP with dropout, against an independent NumPy loop of each paper's update on the
same gradients (the same initialisation, minibatches and dropout masks, seed for seed).

The loop below is written from the papers' equations (Loshchilov & Hutter 2019,
Algorithm 2; Dozat 2016 in torch's form; Liu et al. 2020, Algorithm 2; Zaheer et al.
2018, Algorithm 2; Zhuang et al. 2020, Algorithm 2; Chen et al. 2023, Algorithm 2), one
run at a time, in float64, with none of the package's rule code: only the task's own
forward/backward gives the gradients.  ``weight_decay`` is checked the same way: with
lambda > 0 the engine follows the loop's formula (L2 through the gradient, or decoupled
theta *= 1 - alpha lambda, as each rule defines it) and leaves the lambda = 0
trajectory.  Two runs of different learning rates train as one batch (per-run vectors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from adambench.engines.training import TaskData, seed_rng, train_batch
from adambench.problems.data import Dataset, load_digits
from adambench.problems.nn import make_task

SEED, EPOCHS, BATCH = 3, 2, 32
LRS = (1e-3, 3e-3)


@pytest.fixture(scope="module")
def setting():
    full = load_digits()
    data = Dataset(
        name="digits-tiny",
        x_train=full.x_train[:160],
        y_train=full.y_train[:160],
        x_test=full.x_test[:40],
        y_test=full.y_test[:40],
        n_classes=full.n_classes,
        image_shape=full.image_shape,
    )
    task = make_task("mlp", data.n_features, data.n_classes, data.image_shape, 0.02)
    return task, TaskData.prepare(task, data, np.float64)


# ---- the papers' updates, one run, plain NumPy ------------------------------------------


def adamw(p, g, s, t, lr, hp):
    b1, b2, eps, wd = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
    p = p * (1 - lr * wd)
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g**2
    return p - lr * (s["m"] / (1 - b1**t)) / (np.sqrt(s["v"] / (1 - b2**t)) + eps)


def nadam(p, g, s, t, lr, hp):
    b1, b2, eps, wd, psi = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"], 0.004
    if hp["decoupled_weight_decay"]:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    mu = b1 * (1 - 0.5 * 0.96 ** (t * psi))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * psi))
    s["prod"] = s.get("prod", 1.0) * mu
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g**2
    d = np.sqrt(s["v"] / (1 - b2**t)) + eps
    return (
        p - lr * ((1 - mu) / (1 - s["prod"]) * g + mu_next / (1 - s["prod"] * mu_next) * s["m"]) / d
    )


def radam(p, g, s, t, lr, hp):
    b1, b2, eps, wd = hp["beta1"], hp["beta2"], hp["eps"], hp["weight_decay"]
    if hp["decoupled_weight_decay"]:
        p = p * (1 - lr * wd)
    else:
        g = g + wd * p
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * g**2
    m_hat = s["m"] / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho <= hp["rho_threshold"]:
        return p - lr * m_hat
    r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
    return p - lr * r * m_hat * math.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)


def yogi(p, g, s, t, lr, hp):
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = s["v"] - (1 - b2) * np.sign(s["v"] - g**2) * g**2
    return p - lr * s["m"] / (np.sqrt(s["v"]) + eps)


def adabelief(p, g, s, t, lr, hp):
    b1, b2, eps = hp["beta1"], hp["beta2"], hp["eps"]
    s["m"] = b1 * s["m"] + (1 - b1) * g
    s["v"] = b2 * s["v"] + (1 - b2) * (g - s["m"]) ** 2 + eps
    return p - lr * (s["m"] / (1 - b1**t)) / (np.sqrt(s["v"] / (1 - b2**t)) + eps)


def lion(p, g, s, t, lr, hp):
    b1, b2, wd = hp["beta1"], hp["beta2"], hp["weight_decay"]
    c = b1 * s["m"] + (1 - b1) * g
    s["m"] = b2 * s["m"] + (1 - b2) * g
    return p - lr * (np.sign(c) + wd * p)


ORACLES = {"adamw": adamw, "nadam": nadam, "radam": radam, "yogi": yogi,
           "adabelief": adabelief, "lion": lion}  # fmt: skip
# Each paper's (or torch's) defaults, written here, not read from the rules.
DEFAULTS = {
    "adamw": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 1e-2},
    "nadam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
              "decoupled_weight_decay": False},
    "radam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "weight_decay": 0.0,
              "decoupled_weight_decay": False, "rho_threshold": 5.0},
    "yogi": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-3},
    "adabelief": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-16},
    "lion": {"beta1": 0.9, "beta2": 0.99, "weight_decay": 0.0},
}  # fmt: skip


def oracle_curve(task, data, name, lr, hp):
    """Whole-training-set loss after each epoch of the NumPy loop (epoch 0 first)."""
    p = task.init_params(seed_rng(SEED, 0), np.float64)[None]
    order, noise_rng = seed_rng(SEED, 1), seed_rng(SEED, 2)
    x, y = data.x_train, data.y_train
    n = x.shape[0]
    state = {"m": np.zeros_like(p), "v": np.zeros_like(p)}

    def loss():
        return float(task.evaluate(p, x[None], y[None], {})[0][0])

    curve, t = [loss()], 0
    for _ in range(EPOCHS):
        perm = order.permutation(n)
        for start in range(0, n, BATCH):
            idx = perm[start : start + BATCH]
            noise = {k: v[None] for k, v in task.sample_noise(noise_rng, idx.size, True).items()}
            g = np.zeros_like(p)
            task.loss_and_grad(p, x[idx][None], y[idx][None], noise, g)
            t += 1
            p = ORACLES[name](p, g, state, t, lr, hp)
        curve.append(loss())
    return np.array(curve)


def engine_curves(task, data, name, given):
    res = train_batch(task, data, name, list(LRS), [SEED, SEED], EPOCHS, BATCH, np.float64,
                      given or None)  # fmt: skip
    assert not res.diverged.any()
    return res.train_loss


@pytest.mark.parametrize("name", list(ORACLES))
def test_engine_equals_the_papers_loop(name, setting):
    task, data = setting
    got = engine_curves(task, data, name, {})
    for r, lr in enumerate(LRS):
        want = oracle_curve(task, data, name, lr, DEFAULTS[name])
        assert want[-1] < want[0]  # it trains
        np.testing.assert_allclose(got[r], want, rtol=1e-9, atol=0)


# (rule, its hyperparameters with weight decay): L2 or decoupled, as each rule defines it
DECAYED = [
    ("adamw", {"weight_decay": 0.5}),
    ("nadam", {"weight_decay": 0.5}),
    ("nadam", {"weight_decay": 0.5, "decoupled_weight_decay": True}),
    ("radam", {"weight_decay": 0.5}),
    ("radam", {"weight_decay": 0.5, "decoupled_weight_decay": True}),
    ("lion", {"weight_decay": 0.5}),
]


@pytest.mark.parametrize("name, given", DECAYED, ids=[f"{n}-{len(g)}" for n, g in DECAYED])
def test_weight_decay_follows_its_formula(name, given, setting):
    task, data = setting
    got = engine_curves(task, data, name, given)
    plain = engine_curves(task, data, name, {"weight_decay": 0.0})
    for r, lr in enumerate(LRS):
        want = oracle_curve(task, data, name, lr, {**DEFAULTS[name], **given})
        np.testing.assert_allclose(got[r], want, rtol=1e-9, atol=0)
        assert abs(got[r, -1] - plain[r, -1]) > 1e-6 * abs(plain[r, -1])  # it matters


def test_weight_decay_zero_is_the_rule_without_it(setting):
    """lambda = 0 is the undecayed update itself: AdamW at 0 is Adam (Kingma & Ba 2015,
    Algorithm 1), bit for bit through the same engine."""
    task, data = setting
    adamw0 = engine_curves(task, data, "adamw", {"weight_decay": 0.0})
    adam = engine_curves(task, data, "adam", {})
    np.testing.assert_allclose(adamw0, adam, rtol=1e-12, atol=0)
