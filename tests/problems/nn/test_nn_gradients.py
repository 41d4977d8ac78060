"""Neural-net tasks: hand-written backward passes against finite differences,
batched runs against single runs, the flat parameter layout, and im2col convolution
against scipy's correlate."""

from __future__ import annotations

import numpy as np
import pytest

from adambench.problems.nn import TASKS, make_task
from adambench.problems.nn.conv import conv_backward, conv_forward, maxpool_forward

SMALL = {  # sizes that keep float64 finite differences fast
    "logreg": dict(width=0.25),
    "mlp": dict(width=0.02),
    "cnn": dict(width=0.08),
    "vae": dict(width=0.1),
}


def _setup(name: str, runs: int = 2, n: int = 6, seed: int = 0, train: bool = True):
    task = make_task(name, 64, 10, (8, 8, 1), **SMALL[name])
    rng = np.random.default_rng(seed)
    params = np.stack(
        [
            task.init_params(rng, np.float64) + 0.05 * rng.standard_normal(task.size)
            for _ in range(runs)
        ]
    )
    x = rng.random((runs, n, 64))
    y = rng.integers(0, 10, (runs, n))
    per_run = [task.sample_noise(np.random.default_rng(100 + r), n, train) for r in range(runs)]
    noise = {k: np.stack([d[k] for d in per_run]) for k in per_run[0]}
    return task, params, x, y, noise


@pytest.mark.parametrize("name", TASKS)
@pytest.mark.parametrize("train", [True, False], ids=["dropout-fixed", "no-dropout"])
def test_gradient_matches_central_differences(name, train):
    task, params, x, y, noise = _setup(name, train=train)
    grads = np.zeros_like(params)
    task.forward_backward(params, x, y, noise, grads, train)
    rng = np.random.default_rng(1)
    coords = rng.choice(task.size, size=min(80, task.size), replace=False)
    h = 1e-6
    numeric = np.zeros((params.shape[0], coords.size))
    for j, i in enumerate(coords):
        up, down = params.copy(), params.copy()
        up[:, i] += h
        down[:, i] -= h
        lu = task.forward_backward(up, x, y, noise, None, train)[0]
        ld = task.forward_backward(down, x, y, noise, None, train)[0]
        numeric[:, j] = (lu - ld) / (2 * h)
    analytic = grads[:, coords]
    rel = np.linalg.norm(numeric - analytic) / np.linalg.norm(numeric + analytic)
    assert rel < 1e-6, rel
    assert np.linalg.norm(analytic) > 0


@pytest.mark.parametrize("name", TASKS)
def test_batched_runs_equal_single_runs(name):
    task, params, x, y, noise = _setup(name, runs=3)
    grads = np.zeros_like(params)
    loss = task.loss_and_grad(params, x, y, noise, grads)
    for r in range(3):
        g1 = np.zeros((1, task.size))
        nz = {k: v[r : r + 1] for k, v in noise.items()}
        l1 = task.loss_and_grad(params[r : r + 1].copy(), x[r : r + 1], y[r : r + 1], nz, g1)
        np.testing.assert_allclose(l1[0], loss[r], rtol=1e-12)
        np.testing.assert_allclose(g1[0], grads[r], rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name", TASKS)
def test_shared_inputs_broadcast_over_runs(name):
    """Evaluation feeds one (1, n, f) input to all runs; same numbers as repeating it."""
    task, params, x, y, _ = _setup(name, runs=2, train=False)
    noise = {k: v[:1] for k, v in _setup(name, runs=1, train=False)[4].items()}
    shared = task.evaluate(params, x[:1], y[:1], noise)[0]
    rep = {k: np.repeat(v, 2, axis=0) for k, v in noise.items()}
    full = task.evaluate(params, np.repeat(x[:1], 2, 0), np.repeat(y[:1], 2, 0), rep)[0]
    np.testing.assert_allclose(shared, full, rtol=1e-12)


def test_parameters_are_one_flat_vector_with_layer_views():
    task = make_task("mlp", 64, 10, width=0.02)
    params = np.zeros((2, task.size))
    views = task.layout.views(params)
    assert sum(v[0].size for v in views.values()) == task.size == 64 * 20 + 20 + 20 * 20 + 20 + 210
    views["W2"][1, 3, 4] = 7.0
    lo = task.layout.offsets()["W2"][0]
    assert params[1, lo + 3 * 20 + 4] == 7.0
    assert np.shares_memory(views["b3"], params)


def test_init_is_a_function_of_the_generator():
    task = make_task("cnn", 64, 10, (8, 8, 1), width=0.1)
    a = task.init_params(np.random.default_rng(5))
    b = task.init_params(np.random.default_rng(5))
    c = task.init_params(np.random.default_rng(6))
    assert a.dtype == np.float32 and a.flags.c_contiguous
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_im2col_convolution_matches_scipy_correlate():
    from scipy.signal import correlate

    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 6, 7, 3))  # runs, images, H, W, C
    w = rng.standard_normal((1, 25 * 3, 4))  # rows ordered (a, b, c)
    out, _ = conv_forward(x, w, np.zeros((1, 4)), 5)
    kern = w[0].reshape(5, 5, 3, 4).transpose(2, 0, 1, 3)
    for i in range(2):
        for f in range(4):
            ref = sum(correlate(x[0, i, :, :, c], kern[c, :, :, f], mode="same") for c in range(3))
            np.testing.assert_allclose(out[0, i, :, :, f], ref, atol=1e-12)


def test_conv_backward_is_the_adjoint():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2, 5, 5, 2))
    w = rng.standard_normal((1, 50, 3))
    out, cols = conv_forward(x, w, np.zeros((1, 3)), 5)
    dout = rng.standard_normal(out.shape)
    _, _, dx = conv_backward(dout, cols, w, x.shape, 5, need_dx=True)
    # <conv(x), dout> is linear in x, so its gradient dx satisfies <dx, x> = <out, dout>.
    np.testing.assert_allclose((dx * x).sum(), (out * dout).sum(), rtol=1e-10)


def test_maxpool_3x3_stride2():
    x = np.arange(25.0).reshape(1, 1, 5, 5, 1)
    out, _ = maxpool_forward(x)
    assert out.shape == (1, 1, 3, 3, 1)
    np.testing.assert_array_equal(out[0, 0, :, :, 0], [[6, 8, 9], [16, 18, 19], [21, 23, 24]])


def test_bad_sizes_are_named():
    with pytest.raises(ValueError, match="unknown task"):
        make_task("resnet", 64, 10)
    with pytest.raises(ValueError, match="width"):
        make_task("mlp", 64, 10, width=0)
    with pytest.raises(ValueError, match="image"):
        make_task("cnn", 64, 10, None)
    task = make_task("logreg", 64, 10)
    with pytest.raises(ValueError, match=r"params must be \(B, 650\)"):
        task.evaluate(np.zeros((1, 3)), np.zeros((1, 2, 64)), np.zeros((1, 2), int), {})
