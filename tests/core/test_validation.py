"""Bad input to the Python API: ValueError naming the parameter and the allowed range.

Issue 2, "Bad input": every wrong hyperparameter, shape or dtype and every unknown name
is a one-line ValueError that names it and says what is allowed.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import adambench
from adambench import make_optimizer
from adambench.core.registry import RULES

NAMES = ("adam", "adamax", "adagrad", "rmsprop-momentum", "adam-nobias", "amsgrad", "sgd",
         "adamw", "nadam", "radam", "yogi", "adabelief", "lion")  # fmt: skip


def raises(match: str, *names: str):
    """pytest.raises(ValueError) whose one-line message contains every string given."""
    pattern = "".join(f"(?=.*{re.escape(n)})" for n in (match, *names))
    return pytest.raises(ValueError, match=pattern)


def one_line(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text and text.strip() == text and len(text) < 300
    return text


def test_registry_has_the_builtin_rules():
    assert set(RULES) == set(NAMES)
    assert set(adambench.list_optimizers()) == set(NAMES)


@pytest.mark.parametrize("name", ["bogus", "Adam", "", None, 3, "adam "])
def test_unknown_optimizer_lists_the_names(name):
    with pytest.raises(ValueError, match="unknown optimizer") as e:
        make_optimizer(name)
    text = one_line(e)
    for known in NAMES:
        assert known in text


@pytest.mark.parametrize("name", NAMES)
def test_unknown_hyperparameter_lists_the_allowed_ones(name):
    with raises("unknown hyperparameter", "'momentumm'", name) as e:
        make_optimizer(name, momentumm=0.9)
    text = one_line(e)
    for p in RULES[name].params:
        assert p.name in text


# (rule, hyperparameters, the parameter named, the allowed range it must state)
BAD_VALUES = [
    ("adam", {"beta1": 1}, "beta1", "[0, 1)"),
    ("adam", {"beta1": 1.0000001}, "beta1", "[0, 1)"),
    ("adam", {"beta2": -0.1}, "beta2", "[0, 1)"),
    ("adamax", {"beta2": 1.0}, "beta2", "[0, 1)"),
    ("amsgrad", {"beta1": -1e-9}, "beta1", "[0, 1)"),
    ("adam", {"lr": 0}, "lr", "> 0"),
    ("adam", {"lr": -1}, "lr", "> 0"),
    ("sgd", {"lr": 0.0}, "lr", "> 0"),
    ("adam", {"eps": -1}, "eps", ">= 0"),
    ("rmsprop-momentum", {"eps": -1e-8}, "eps", ">= 0"),
    ("rmsprop-momentum", {"decay": 1.0}, "decay", "[0, 1)"),
    ("rmsprop-momentum", {"momentum": -0.5}, "momentum", "[0, 1)"),
    ("sgd", {"momentum": 1.0}, "momentum", "[0, 1)"),
    ("adagrad", {"initial_accumulator": -1}, "initial_accumulator", ">= 0"),
    ("adam", {"beta1_decay": 0.0}, "beta1_decay", "(0, 1]"),
    ("adam", {"beta1_decay": 1.5}, "beta1_decay", "(0, 1]"),
    ("adam", {"lr": float("nan")}, "lr", "> 0"),
    ("adam", {"lr": float("inf")}, "lr", "> 0"),
    ("adam", {"beta2": float("nan")}, "beta2", "[0, 1)"),
    ("adam", {"eps": float("inf")}, "eps", ">= 0"),
    ("adam", {"beta1": float("-inf")}, "beta1", "[0, 1)"),
    ("adam", {"lr": [1e-3, float("nan")]}, "lr", "> 0"),
    ("adam", {"beta1": np.array([0.9, 1.0])}, "beta1", "[0, 1)"),
    ("adam", {"lr": True}, "lr", "> 0"),
    ("sgd", {"momentum": np.bool_(False)}, "momentum", "[0, 1)"),
    ("adam", {"lr": None}, "lr", "> 0"),
    ("adam", {"lr": "fast"}, "lr", "> 0"),
    ("adam", {"lr": [[1e-3, 1e-2]]}, "lr", "1-D"),
    ("adam", {"beta1": np.zeros((2, 2))}, "beta1", "1-D"),
    ("adam", {"lr": []}, "lr", "> 0"),
    ("adam", {"lr_schedule": "bogus"}, "lr_schedule", "constant | inv_sqrt"),
    ("adam", {"lr_schedule": None}, "lr_schedule", "constant | inv_sqrt"),
    ("amsgrad", {"bias_correction": "yes"}, "bias_correction", "true or false"),
    ("rmsprop-momentum", {"centered": 1}, "centered", "true or false"),
    ("sgd", {"nesterov": True}, "nesterov", "momentum in (0, 1)"),
    ("sgd", {"nesterov": True, "momentum": [0.9, 0.0]}, "nesterov", "momentum in (0, 1)"),
    ("adam", {"eps_hat": [1e-8, -1.0]}, "eps_hat", ">= 0"),
    ("adam", {"eps_hat": -0.5}, "eps_hat", "-1 (off)"),
    ("adam", {"eps_hat": -2.0}, "eps_hat", "-1 (off) or >= 0"),
]


@pytest.mark.parametrize(
    ("name", "hp", "param", "allowed"),
    BAD_VALUES,
    ids=[f"{n}-{p}-{i}" for i, (n, _, p, _) in enumerate(BAD_VALUES)],
)
def test_bad_hyperparameter_names_itself_and_its_range(name, hp, param, allowed):
    with raises(param, allowed) as e:
        make_optimizer(name, **hp)
    text = one_line(e)
    assert text.startswith(param) or f" {param}" in text
    assert "np.float64" not in text  # values read as the user wrote them


def test_bad_value_message_shows_the_offending_value():
    with pytest.raises(ValueError, match=r"^beta1 must be in \[0, 1\), got 1\.0$"):
        make_optimizer("adam", beta1=1)
    with pytest.raises(ValueError, match=r"^lr must be > 0, got -2\.0$"):
        make_optimizer("adam", lr=[1e-3, -2.0])


def test_edges_of_the_ranges_are_allowed():
    make_optimizer("adam", beta1=0.0, beta2=0.0, eps=0.0, beta1_decay=1.0)
    make_optimizer("adam", eps_hat=0.0)
    make_optimizer("sgd", momentum=0.0, nesterov=False)
    make_optimizer("adagrad", initial_accumulator=0.0, eps=0.0)
    make_optimizer("adam", lr=np.float32(1e-3), beta1=np.array([0.9, 0.0]))


def test_vector_length_must_match_the_runs():
    opt = make_optimizer("adam", lr=[1e-3, 1e-2], beta1=[0.9, 0.8, 0.7])
    with raises("lr", "2 values", "3 run(s)", "one value or one per run") as e:
        opt.init(np.zeros((3, 4)))
    one_line(e)
    with raises("beta1", "3 values", "2 run(s)"):
        opt.init(np.zeros((2, 4)))
    with raises("has 2 values", "1 run(s)"):
        opt.init(np.zeros(4))
    make_optimizer("adam", lr=[1e-3, 1e-2]).init(np.zeros((2, 4)))  # one per run: fine
    make_optimizer("adam", lr=[1e-3]).init(np.zeros((5, 4)))  # one for all: fine


# Arrays that init (and step) must refuse: (what, array, phrases of the message)
BAD_ARRAYS = [
    ("int", np.zeros(4, dtype=np.int64), ("params dtype", "float32, float64", "int64")),
    ("complex", np.zeros(4, dtype=np.complex128), ("params dtype", "bfloat16, float16")),
    ("bool", np.zeros(4, dtype=bool), ("params dtype", "float32, float64", "bool")),
    ("empty", np.zeros(0), ("params", "(d,) or (B, d)", "(0,)")),
    ("empty-rows", np.zeros((0, 3)), ("params", "(d,) or (B, d)")),
    ("empty-cols", np.zeros((3, 0)), ("params", "(d,) or (B, d)")),
    ("strided", np.zeros(8)[::2], ("params", "C-contiguous")),
    ("column-slice", np.zeros((4, 6))[:, 1:3], ("params", "C-contiguous")),
    ("fortran", np.asfortranarray(np.zeros((3, 4))), ("params", "C-contiguous")),
    ("list-of-floats", [0.0, 1.0], ("params[0]", "float", "give arrays")),
    ("scalar", 1.0, ("params", "NumPy or CuPy array", "list, tuple or dict", "float")),
    ("none", None, ("params", "NumPy or CuPy array", "NoneType")),
]


@pytest.mark.parametrize(("what", "params", "phrases"), BAD_ARRAYS, ids=[b[0] for b in BAD_ARRAYS])
def test_bad_params_are_refused_at_init(what, params, phrases):
    with raises(*phrases) as e:
        make_optimizer("adam").init(params)
    one_line(e)


@pytest.mark.parametrize(("what", "params", "phrases"), BAD_ARRAYS, ids=[b[0] for b in BAD_ARRAYS])
def test_bad_params_are_refused_at_step(what, params, phrases):
    opt = make_optimizer("adam")
    state = opt.init(np.zeros(4))
    with raises(*phrases):
        opt.step(params, np.zeros(4), state)


# Arrays that a (d,) or (B, d) float array path does not take but a parameter structure
# does (one 16-bit, N-d or 0-d tensor): init accepts them; a state made for a float64[4]
# array refuses them at step, naming both.
OTHER_TENSORS = [
    ("float16", np.zeros(4, dtype=np.float16), "float16[4]"),
    ("3-D", np.zeros((2, 2, 2)), "float64[2, 2, 2]"),
    ("0-D", np.zeros(()), "float64[]"),
    ("list", [np.zeros(4)], "a list of 1 item(s)"),
]


@pytest.mark.parametrize(
    ("what", "params", "shown"), OTHER_TENSORS, ids=[b[0] for b in OTHER_TENSORS]
)
def test_other_tensors_are_taken_by_init_and_refused_by_an_array_state(what, params, shown):
    opt = make_optimizer("adam", lr=0.1)
    state = opt.init(params)
    p = params.copy() if hasattr(params, "copy") else [x.copy() for x in params]
    g = np.ones_like(params) if hasattr(params, "dtype") else [np.ones_like(x) for x in params]
    opt.step(p, g, state)
    moved = np.asarray(p, np.float64) if hasattr(p, "dtype") else np.asarray(p[0])
    assert np.all(moved < 0)  # Adam's first step: -lr * sign(g), every element
    with raises(f"params is {shown}", "float64[4] array", "init(params)") as e:
        opt.step(params, g, opt.init(np.zeros(4)))
    one_line(e)


def test_read_only_params_are_refused():
    p = np.zeros(4)
    p.flags.writeable = False
    with raises("params", "writeable"):
        make_optimizer("adam").init(p)


BAD_GRADS = [
    ("shape", np.zeros((2, 5)), ("grads must match params", "float64[2, 5]", "float64[2, 4]")),
    ("flat", np.zeros(8), ("grads must match params", "float64[8]")),
    ("dtype", np.zeros((2, 4), np.float32), ("grads must match params", "float32[2, 4]")),
    ("int", np.zeros((2, 4), np.int32), ("grads dtype", "float32, float64", "int32")),
    ("float16", np.zeros((2, 4), np.float16), ("grads must match params", "float16[2, 4]")),
    ("strided", np.zeros((2, 8))[:, ::2], ("grads", "C-contiguous")),
    ("list", [[0.0] * 4] * 2, ("grads", "NumPy or CuPy array")),
]


@pytest.mark.parametrize(("what", "grads", "phrases"), BAD_GRADS, ids=[b[0] for b in BAD_GRADS])
def test_bad_grads_are_refused_and_nothing_changes(what, grads, phrases):
    opt = make_optimizer("adam")
    p = np.ones((2, 4))
    state = opt.init(p)
    with raises(*phrases) as e:
        opt.step(p, grads, state)
    one_line(e)
    assert state.t == 0 and (p == 1).all()


@pytest.mark.parametrize(
    "other",
    [np.zeros((2, 5)), np.zeros(8), np.zeros((3, 4)), np.zeros((2, 4), np.float32)],
    ids=["cols", "flat", "rows", "dtype"],
)
def test_params_must_match_the_state(other):
    opt = make_optimizer("amsgrad")
    state = opt.init(np.zeros((2, 4)))
    with raises("params", "do not match the state", "float64[2, 4]", "init(params)") as e:
        opt.step(other, np.zeros_like(other), state)
    one_line(e)
    assert state.t == 0


def test_reference_step_needs_float64():
    opt = make_optimizer("adam")
    p = np.zeros(4, np.float32)
    with raises("reference_step", "float64"):
        opt.reference_step(p, np.zeros(4, np.float32), opt.init(p))


def test_read_only_grads_are_accepted():
    """Gradients are only read: a read-only array (e.g. a broadcast view copy) is fine."""
    opt = make_optimizer("sgd", lr=0.5)
    p = np.ones((2, 3))
    g = np.ones((2, 3))
    g.flags.writeable = False
    opt.step(p, g, opt.init(p))
    np.testing.assert_array_equal(p, 0.5)


# Values NumPy would convert silently (np.asarray("0.1", float64) is 0.1): refused.
NOT_NUMBERS = [
    ("adam", {"lr": "0.1"}, "lr", "> 0", "a string"),
    ("adam", {"beta1": "0.9"}, "beta1", "[0, 1)", "a string"),
    ("adam", {"eps": b"1e-8"}, "eps", ">= 0", "a string"),
    ("adam", {"lr": np.str_("0.1")}, "lr", "> 0", "a string"),
    ("adam", {"lr": [1e-3, "1e-2"]}, "lr", "> 0", "a string"),
    ("adam", {"lr": np.array(["0.1"])}, "lr", "> 0", "an array of strings"),
    ("adam", {"lr": np.array([1e-3, "x"], dtype=object)}, "lr", "> 0", "a string"),
    ("adam", {"lr": [True, 1e-3]}, "lr", "> 0", "a bool"),
    ("adam", {"beta1": (0.9, False)}, "beta1", "[0, 1)", "a bool"),
    ("adam", {"lr": np.array([True, False])}, "lr", "> 0", "an array of bools"),
    ("sgd", {"momentum": True}, "momentum", "[0, 1)", "a bool"),
    ("adam", {"lr": 1e-3 + 0j}, "lr", "> 0", "a complex number"),
    ("adam", {"lr": np.array([1e-3 + 0j])}, "lr", "> 0", "an array of complex numbers"),
    ("rmsprop-momentum", {"decay": "0.99"}, "decay", "[0, 1)", "a string"),
    ("adagrad", {"initial_accumulator": "0"}, "initial_accumulator", ">= 0", "a string"),
]


@pytest.mark.parametrize(
    ("name", "hp", "param", "allowed", "what"),
    NOT_NUMBERS,
    ids=[f"{n}-{p}-{i}" for i, (n, _, p, _, _) in enumerate(NOT_NUMBERS)],
)
def test_strings_and_bools_are_not_numbers(name, hp, param, allowed, what):
    with raises(param, allowed, f"not {what}") as e:
        make_optimizer(name, **hp)
    text = one_line(e)
    assert text.startswith(f"{param} must be a number")
    assert "np.str_" not in text and "np.float64" not in text


def test_a_string_value_message():
    with pytest.raises(ValueError, match=r"^lr must be a number > 0, not a string: got '0\.1'$"):
        make_optimizer("adam", lr="0.1")


def test_numbers_in_every_numeric_form_are_accepted():
    """ints, NumPy scalars and arrays of any real dtype, lists, tuples, object arrays of
    numbers: all the same float64 values."""
    for lr in (1, np.int64(1), np.float32(0.5), [1, 0.5], (0.5,), np.array([1, 2], np.int32),
               np.array([0.5, 1.0], dtype=object)):  # fmt: skip
        got = make_optimizer("adam", lr=lr).hp["lr"]
        assert got.dtype == np.float64
        np.testing.assert_array_equal(got, np.asarray(lr, dtype=np.float64).reshape(-1))


@pytest.mark.parametrize(
    "value", [float("nan"), float("inf"), -float("inf"), np.float32("nan"), [0.9, np.inf]]
)
@pytest.mark.parametrize("param", ["lr", "beta1", "beta2", "eps", "eps_hat", "beta1_decay"])
def test_nan_and_inf_are_refused_for_every_float(param, value):
    with raises(param, "got") as e:
        make_optimizer("adam", **{param: value})
    one_line(e)
