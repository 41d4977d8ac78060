"""A state belongs to the optimizer that made it (core/optimizer.py).

The state caches a 256-step table of its optimizer's coefficients, so another optimizer
stepping it used to apply the first one's numbers for up to 256 steps and then its own
(sgd lr=0.1 then lr=1e-6: steps 2-256 moved by 0.1), and an Adam state stepped by sgd
moved p by +0.81.  Now ``step`` refuses a state made by another rule or with other
hyperparameter values (one line naming both, nothing changed); an equal optimizer (the
same rule and values, however written) may step it, and gives the same numbers.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from test_kernels import CASE_IDS, CASES, gradients, per_run
from test_validation import one_line, raises

from adambench import make_optimizer
from adambench.core.optimizer import OptState
from adambench.core.registry import RULES


def snapshot(p, state):
    return p.copy(), state.t, {k: v.copy() for k, v in state.buffers.items()}


def assert_unchanged(before, p, state):
    p0, t0, bufs0 = before
    np.testing.assert_array_equal(p, p0)
    assert state.t == t0
    for k, v in bufs0.items():
        np.testing.assert_array_equal(state.buffers[k], v)


def test_the_reported_case():
    """sgd lr=0.1 made the state; sgd lr=1e-6 must not step it with lr=0.1's table."""
    p, g = np.zeros(4), np.ones(4)
    first = make_optimizer("sgd", lr=0.1)
    state = first.init(p)
    first.step(p, g, state)
    second = make_optimizer("sgd", lr=1e-6)
    before = snapshot(p, state)
    with raises("'sgd'", "lr=0.1", "lr=1e-06", "init(params)") as e:
        second.step(p, g, state)
    one_line(e)
    assert_unchanged(before, p, state)
    # with its own state, the second optimizer moves by 1e-6 at every step
    own = second.init(p)
    for _ in range(300):
        q = p.copy()
        second.step(p, g, own)
        np.testing.assert_allclose(q - p, 1e-6, rtol=1e-9)


@pytest.mark.parametrize(
    ("maker", "stepper"), list(itertools.permutations(RULES, 2)), ids="-by-".join
)
def test_a_state_of_another_rule_is_refused(maker, stepper):
    p, g = np.zeros((2, 5)), np.ones((2, 5))
    state = make_optimizer(maker).init(p)
    before = snapshot(p, state)
    for step in ("step", "reference_step"):
        with raises(f"made by {maker!r}", f"not {stepper!r}") as e:
            getattr(make_optimizer(stepper), step)(p, g, state)
        one_line(e)
        assert_unchanged(before, p, state)


# (rule, hyperparameters of the maker, of the stepper, the difference the message names)
OTHER_VALUES = [
    ("adam", {}, {"lr": 1e-2}, ("lr=0.001", "lr=0.01")),
    ("adam", {}, {"eps_hat": 0.0}, ("eps_hat=-1.0", "eps_hat=0.0")),
    ("adam", {"lr": [1e-3, 1e-2]}, {"lr": [1e-3, 1e-3]}, ("lr=[0.001, 0.01]", "lr=[0.001, 0.001]")),
    ("adam", {"lr": [1e-3, 1e-2]}, {"lr": 1e-3}, ("lr=[0.001, 0.01]", "lr=0.001")),
    ("adam", {}, {"lr_schedule": "inv_sqrt"}, ("lr_schedule='constant'", "'inv_sqrt'")),
    ("amsgrad", {}, {"bias_correction": True}, ("bias_correction=False", "=True")),
    ("sgd", {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True}, ("nesterov=False",)),
    ("adam", {}, {"lr": 1, "beta1": 0.5, "beta2": 0.5, "eps": 1.0}, ("and 1 more",)),
]


@pytest.mark.parametrize(("name", "made", "other", "shown"), OTHER_VALUES)
def test_a_state_of_other_hyperparameters_is_refused(name, made, other, shown):
    p = np.zeros((2, 3))
    state = make_optimizer(name, **made).init(p)
    before = snapshot(p, state)
    with raises(f"made by {name!r}", *shown) as e:
        make_optimizer(name, **other).step(p, np.ones_like(p), state)
    one_line(e)
    assert_unchanged(before, p, state)


@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_an_equal_optimizer_steps_the_state_as_the_maker_would(name, hp):
    """Identity is by rule and values, not by object: a second optimizer with the same
    values (written as vectors, lists or numpy arrays) may step the state, through the
    256-step coefficient table and past it, and the numbers are the maker's bit for bit."""
    runs, d, steps = 3, 16, 300
    hpv = per_run(name, hp, runs)
    written = {k: (list(v) if isinstance(v, np.ndarray) else v) for k, v in hpv.items()}
    maker, twin = make_optimizer(name, **hpv), make_optimizer(name, **written)
    assert maker == twin and hash(maker) == hash(twin) and maker is not twin
    rng = np.random.default_rng(5)
    p0 = rng.standard_normal((runs, d))
    grads = gradients(rng, steps, (runs, d), np.float64)
    pa, pb = p0.copy(), p0.copy()
    sa, sb = maker.init(pa), maker.init(pb)
    for t in range(steps):
        maker.step(pa, grads[t], sa)
        (twin if t % 3 else maker).step(pb, grads[t], sb)  # alternate who steps
    np.testing.assert_array_equal(pa, pb)
    assert sa == sb


def test_scalar_and_one_element_vector_are_the_same_value():
    assert make_optimizer("adam", lr=0.1) == make_optimizer("adam", lr=[0.1])
    assert make_optimizer("adam", lr=0.1) == make_optimizer("adam", lr=np.array([0.1]))
    assert make_optimizer("adam", lr=0.1) != make_optimizer("adam", lr=np.float32(0.1))
    assert make_optimizer("adam") != make_optimizer("adam-nobias")
    assert make_optimizer("adam") != "adam"


def test_hyperparameters_are_fixed_at_construction():
    """The key a state is tied to cannot go stale: the values are read-only copies."""
    lr = np.array([1e-3, 1e-2])
    opt = make_optimizer("adam", lr=lr)
    key = opt.key
    lr[0] = 5.0  # the caller's array is not the optimizer's
    assert opt.key == key and opt.hp["lr"][0] == 1e-3
    with pytest.raises(ValueError, match="read-only"):
        opt.hp["lr"][0] = 5.0


def test_a_state_not_made_by_init_is_refused():
    p = np.zeros(3)
    state = OptState(t=0, buffers={"m": np.zeros(3), "v": np.zeros(3)}, shape=(3,))
    with raises("not made by Optimizer.init", "'adam'") as e:
        make_optimizer("adam").step(p, np.ones(3), state)
    one_line(e)


@pytest.mark.parametrize(
    ("change", "phrases"),
    [
        ("shape", ("state buffer 'v'", "float64[3]", "float64[2, 4]")),
        ("dtype", ("state buffer 'v'", "float32[2, 4]", "float64[2, 4]")),
        ("missing", ("state buffer 'v'", "missing")),
    ],
)
def test_buffers_must_match_the_state(change, phrases):
    opt = make_optimizer("adam")
    p = np.zeros((2, 4))
    state = opt.init(p)
    if change == "shape":
        state.buffers["v"] = np.zeros(3)
    elif change == "dtype":
        state.buffers["v"] = np.zeros((2, 4), np.float32)
    else:
        del state.buffers["v"]
    with raises(*phrases) as e:
        opt.step(p, np.ones_like(p), state)
    one_line(e)
    assert state.t == 0 and (p == 0).all()


def test_params_grads_and_state_on_one_backend(emulated_cupy):
    cp = emulated_cupy
    opt = make_optimizer("adam")
    host = np.zeros((2, 4))
    state = opt.init(host)
    with raises("state is in NumPy arrays", "params are CuPy arrays") as e:
        opt.step(cp.asarray(host), cp.ones((2, 4)), state)
    one_line(e)
    with raises("grads are CuPy arrays", "params are NumPy arrays") as e:
        opt.step(host, cp.ones((2, 4)), state)
    one_line(e)
    dev = cp.zeros((2, 4))
    dstate = opt.init(dev)
    with raises("state is in CuPy arrays", "params are NumPy arrays"):
        opt.step(host, np.ones((2, 4)), dstate)
    assert state.t == 0 and dstate.t == 0
