"""Optimizers, states and rules pickle, and round-trip equal (core/optimizer.py).

``pickle.dumps(make_optimizer("adam"))`` used to fail on a lambda inside the rule.  An
optimizer now pickles by its rule (by name, core/registry.py) and its hyperparameter
values, validated again on loading; a state pickles as plain data.  The unpickled pair
steps bit for bit as the original pair does, and each may step the other's state.
"""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
from test_kernels import CASE_IDS, CASES, gradients, per_run

from adambench import make_optimizer
from adambench.core.plugins import numpy_rule
from adambench.core.registry import RULES
from adambench.core.spec import Param

PROTOCOLS = range(2, pickle.HIGHEST_PROTOCOL + 1)


def test_the_reported_case():
    opt = make_optimizer("adam")
    again = pickle.loads(pickle.dumps(opt))
    assert again == opt and repr(again) == repr(opt) and again.rule is opt.rule


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["f64", "f32"])
@pytest.mark.parametrize(("name", "hp"), CASES, ids=CASE_IDS)
def test_round_trip_steps_bit_for_bit(name, hp, dtype):
    runs, d = 3, 40
    opt = make_optimizer(name, **per_run(name, hp, runs))
    rng = np.random.default_rng(7)
    p = rng.standard_normal((runs, d)).astype(dtype)
    grads = gradients(rng, 262, (runs, d), dtype)
    state = opt.init(p)
    for t in range(5):  # mid-run: inside the coefficient table
        opt.step(p, grads[t], state)
    opt2, state2, p2 = pickle.loads(pickle.dumps((opt, state, p)))
    assert opt2 == opt and hash(opt2) == hash(opt)
    assert state2 == state and state2 is not state and state2.owner == opt.key
    for t in range(5, 262):  # past the table's end: a new table from the unpickled hp
        opt.step(p, grads[t], state)
        opt2.step(p2, grads[t], state2)
    np.testing.assert_array_equal(p2, p)
    assert state2 == state
    # and by value: the unpickled optimizer steps the original's state, and back
    q, q2 = p.copy(), p.copy()
    s, s2 = pickle.loads(pickle.dumps(state)), pickle.loads(pickle.dumps(state))
    opt2.step(q, grads[0], s)
    opt.step(q2, grads[0], s2)
    np.testing.assert_array_equal(q, q2)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_every_protocol(protocol):
    opt = make_optimizer("amsgrad", lr=[1e-3, 2e-3], bias_correction=True)
    p = np.ones((2, 3))
    state = opt.init(p)
    opt.step(p, np.ones_like(p), state)
    opt2, state2 = pickle.loads(pickle.dumps((opt, state), protocol=protocol))
    assert opt2 == opt and state2 == state


def test_unpickled_hyperparameters_are_validated_and_read_only():
    opt2 = pickle.loads(pickle.dumps(make_optimizer("adam", lr=[1e-3, 1e-2])))
    assert not opt2.hp["lr"].flags.writeable
    np.testing.assert_array_equal(opt2.hp["lr"], [1e-3, 1e-2])


@pytest.mark.parametrize("name", list(RULES))
def test_registered_rules_pickle_by_name(name):
    assert pickle.loads(pickle.dumps(RULES[name])) is RULES[name]


def test_an_unregistered_rule_is_refused_when_pickled():
    rule = numpy_rule("not-registered", lambda p, g, s, hp, t: None, (Param("lr", 0.1, "lr"),))
    with pytest.raises(pickle.PicklingError, match="'not-registered' is not the registered"):
        pickle.dumps(rule)
    copy = dataclasses.replace(RULES["adam"], title="a copy")  # a name that is not its own
    with pytest.raises(pickle.PicklingError, match="registered"):
        pickle.dumps(copy)


def test_state_equality_is_bitwise():
    opt = make_optimizer("adam")
    p = np.zeros(3)
    a, b = opt.init(p), opt.init(p)
    assert a == b
    b.buffers["m"][0] = -0.0  # equal as numbers, not as bits
    assert a != b
    b.buffers["m"][0] = 0.0
    b.t = 1
    assert a != b
    assert a != make_optimizer("adam", lr=1e-2).init(p)  # another owner
