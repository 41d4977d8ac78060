"""Parameter structures and 16-bit layouts (core/tree_state.py, core/multi_tensor.py).

* A structure's step is each tensor's step alone, bit for bit (every rule, float32 and
  float64, lists, tuples, dicts, nested, tensors of any shape, empty ones included).
* A 16-bit step is, bit for bit, the definition of core/precision.py written out here with
  ml_dtypes/NumPy ``astype``: widen p (or the master), g and the states to float32, run the
  float32 flat kernel, round every stored array back to nearest even.
* Over many steps without a master copy the 16-bit parameters stay within a bound derived
  from their roundings (test docstring); with a master copy the master is the float32 run.
* Bad input is a one-line ValueError and changes nothing.
"""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.core import kernels_cpu, multi_tensor
from adambench.core.precision import BFLOAT16, FLOAT16, unit_roundoff
from adambench.core.registry import RULES

SHAPES = [(3, 4), (7,), (), (0,), (100, 10), (40000,), (2, 3, 5)]
HP = {
    "sgd": {"momentum": 0.9, "nesterov": True},
    "adamw": {"weight_decay": 0.1},
    "rmsprop-momentum": {"momentum": 0.9, "centered": True},  # three states
    "lion": {"weight_decay": 0.1},
}


def _rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def _tensors(rng, dtype, shapes=SHAPES):
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(RULES))
def test_structure_step_is_each_tensor_alone(name, dtype):
    rng = _rng(1)
    opt = make_optimizer(name, **HP.get(name, {}))
    params = _tensors(rng, dtype)
    alone = [p.reshape(-1).copy() for p in params]
    state = opt.init(params)
    states = [opt.init(a) if a.size else None for a in alone]
    for _ in range(4):
        grads = _tensors(rng, dtype)
        opt.step(params, grads, state)
        for a, g, s in zip(alone, grads, states, strict=True):
            if s is not None:
                opt.step(a, g.reshape(-1), s)
    for p, a in zip(params, alone, strict=True):
        assert p.reshape(-1).tobytes() == a.tobytes()
    assert state.t == 4
    for name_ in opt.rule.buffers(opt.hp):
        assert [b.shape for b in state.buffers[name_]] == [p.shape for p in params]


def test_dicts_tuples_and_nesting_mirror_the_structure():
    rng = _rng(2)
    opt = make_optimizer("adam")
    params = {
        "b": (rng.standard_normal(3), rng.standard_normal((2, 2))),
        "a": [rng.standard_normal(5)],
    }
    flat = [params["a"][0].copy(), params["b"][0].copy(), params["b"][1].reshape(-1).copy()]
    state = opt.init(params)
    assert isinstance(state.buffers["m"], dict) and isinstance(state.buffers["m"]["b"], tuple)
    ref = opt.init(np.concatenate(flat))
    g = {"b": (rng.standard_normal(3), rng.standard_normal((2, 2))), "a": [rng.standard_normal(5)]}
    opt.step(params, g, state)
    cat = np.concatenate(flat)
    opt.step(cat, np.concatenate([g["a"][0], g["b"][0], g["b"][1].reshape(-1)]), ref)
    got = np.concatenate([params["a"][0], params["b"][0], params["b"][1].reshape(-1)])
    assert got.tobytes() == cat.tobytes()


def _definition(opt, params, grads, states, master, t, dtype, state_dtype):
    """The step core/precision.py defines, with astype: widen, float32 kernel, round."""
    coef = np.ascontiguousarray(opt.rule.coefficients(opt.hp, np.array([[t]]))[0], np.float32)
    out_p, out_s, out_m = [], [], []
    for k, (p, g) in enumerate(zip(params, grads, strict=True)):
        x = (master[k] if master is not None else p.astype(np.float32)).reshape(1, -1).copy()
        s = [st[k].astype(np.float32).reshape(1, -1).copy() for st in states]
        kernels_cpu.apply(opt.rule.kernel, x, g.astype(np.float32).reshape(1, -1), s, coef)
        out_p.append(x.reshape(p.shape).astype(dtype))
        out_s.append([a.reshape(p.shape).astype(state_dtype) for a in s])
        out_m.append(x.reshape(p.shape))
    return out_p, [list(z) for z in zip(*out_s, strict=True)] if states else [], out_m


LAYOUTS = [
    (BFLOAT16, None, False),
    (FLOAT16, None, False),
    (BFLOAT16, BFLOAT16, False),
    (FLOAT16, FLOAT16, False),
    (BFLOAT16, None, True),
    (FLOAT16, BFLOAT16, True),
]


# Every rule's lane takes the fused loop, compiled per layout (core/multi_tensor.py): adam
# in every layout, the others in two (one without a 16-bit state, one with a master).  The
# buffered path (widen into a buffer, run the row, round), which a kernel without a lane
# and float64 compute take, is one compiled loop whatever the layout: forced here for the
# rules of its former cases, in every layout, at no compile cost per layout.
CASES = [
    (name, *layout, "fused")
    for name in RULES
    for i, layout in enumerate(LAYOUTS)
    if name == "adam" or i in (2, 5)
] + [
    (name, *layout, "buffered")
    for name in ("adam", "sgd", "lion", "adagrad", "adamw")
    for layout in LAYOUTS
]


@pytest.mark.parametrize("name, dtype, state_dtype, master, path", CASES, ids=lambda v: str(v))
def test_16_bit_step_is_the_widened_float32_step_rounded(
    name, dtype, state_dtype, master, path, monkeypatch
):
    if path == "buffered":  # no fused loop: as for a kernel without a lane
        monkeypatch.setattr(multi_tensor, "_fused", lambda *layout: None)
    rng = _rng(3)
    opt = make_optimizer(name, **HP.get(name, {}))
    shapes = [(5,), (0,), (300, 7), (20000,)]
    params = [0.1 * p for p in _tensors(rng, np.float32, shapes)]
    params = [p.astype(dtype) for p in params]
    state = opt.init(params, state_dtype=state_dtype, master_weights=master)
    sd = np.dtype(state_dtype or np.float32)
    names = opt.rule.buffers(opt.hp)
    mine = [p.copy() for p in params]
    my_states = [
        [np.asarray(b, dtype=np.float32).astype(sd) for b in state.buffers[n]] for n in names
    ]
    my_master = [p.astype(np.float32) for p in params] if master else None
    for t in range(1, 4):
        grads = [(0.01 * g).astype(dtype) for g in _tensors(rng, np.float32, shapes)]
        opt.step(params, grads, state)
        mine, my_states, new_master = _definition(
            opt, mine, grads, my_states, my_master, t, dtype, sd
        )
        my_master = new_master if master else None
    for p, q in zip(params, mine, strict=True):
        assert p.dtype == dtype and p.tobytes() == q.tobytes()
    for n, mine_s in zip(names, my_states, strict=True):
        for a, b in zip(state.buffers[n], mine_s, strict=True):
            assert a.dtype == sd and a.tobytes() == b.tobytes()
    if master:
        for a, b, p in zip(state.master, my_master, params, strict=True):
            assert a.dtype == np.float32 and a.tobytes() == b.tobytes()
            assert a.astype(dtype).tobytes() == p.tobytes()


@pytest.mark.parametrize("dtype", [BFLOAT16, FLOAT16], ids=["bfloat16", "float16"])
def test_16_bit_parameters_stay_within_their_rounding_bound(dtype):
    """Adam with weight_decay 0: m and v depend on the gradients only, so with the same
    (16-bit) gradients a float32 run and a 16-bit run (float32 state) compute the same
    step Delta_t from bit-identical states.  The 16-bit run stores p_t = rnd16(fl32(p_{t-1}
    - Delta_t)), the float32 run q_t = fl32(q_{t-1} - Delta_t); with e_t = p_t - q_t,
        |e_t| <= |e_{t-1}| + u16 |p_t| + u32 (|fl32(p_{t-1} - Delta_t)| + |q_t|),
    one 16-bit rounding and two float32 roundings per step (u = unit roundoff; each bound
    with |x| in place of the unrounded |x| costs a factor (1 + u) that the 1.01 covers).
    The bound is summed over the run's own values and must hold at every step."""
    rng = _rng(4)
    opt = make_optimizer("adam", lr=1e-2)
    shape = (4000,)
    p16 = [rng.standard_normal(shape).astype(dtype)]
    q32 = [p16[0].astype(np.float32)]
    s16, s32 = opt.init(p16), opt.init(q32)
    bound = np.zeros(shape)
    u16, u32 = unit_roundoff(dtype), unit_roundoff(np.float32)
    for _ in range(200):
        g = rng.standard_normal(shape).astype(dtype)
        before = p16[0].astype(np.float32)
        opt.step(q32, [g.astype(np.float32)], s32)
        opt.step(p16, [g], s16)
        assert s16.buffers["m"][0].tobytes() == s32.buffers["m"][0].tobytes()
        p = p16[0].astype(np.float64)
        bound += u16 * np.abs(p) + u32 * (
            np.abs(before.astype(np.float64)) + np.abs(p) + np.abs(q32[0])
        )
        err = np.abs(p - q32[0].astype(np.float64))
        assert (err <= 1.01 * bound + 1e-30).all(), float(np.max(err - bound))
    assert np.max(np.abs(p16[0].astype(np.float64) - q32[0])) > 0  # the roundings happened


def test_master_copy_is_the_float32_run():
    rng = _rng(5)
    opt = make_optimizer("adam", lr=1e-3)
    start = rng.standard_normal((3, 500)).astype(np.float32)
    low = [start.astype(BFLOAT16)]
    wide = [low[0].astype(np.float32)]
    s_low, s_wide = opt.init(low, master_weights=True), opt.init(wide)
    for _ in range(50):
        g = rng.standard_normal((3, 500)).astype(BFLOAT16)
        opt.step(low, [g], s_low)
        opt.step(wide, [g.astype(np.float32)], s_wide)
    assert s_low.master[0].tobytes() == wide[0].tobytes()
    assert low[0].tobytes() == wide[0].astype(BFLOAT16).tobytes()


def test_new_grad_arrays_each_step_and_copies_of_the_state():
    rng = _rng(6)
    opt = make_optimizer("adam")
    params = _tensors(rng, np.float32, [(10,), (3, 3)])
    state = opt.init(params)
    opt.step(params, _tensors(rng, np.float32, [(10,), (3, 3)]), state)
    twin_params = [p.copy() for p in params]
    twin = copy.deepcopy(state)
    back = pickle.loads(pickle.dumps(state))
    assert twin == state and back == state
    g = _tensors(rng, np.float32, [(10,), (3, 3)])
    opt.step(twin_params, [x.copy() for x in g], twin)
    assert twin != state  # stepping the copy left the original alone
    opt.step(params, g, state)
    assert twin == state
    assert all(a.tobytes() == b.tobytes() for a, b in zip(params, twin_params, strict=True))
    opt.step(params, [x.copy() for x in g], back)  # an unpickled state steps other arrays
    assert back.t == 2


@pytest.mark.parametrize(
    "shapes", [[(10,), (3, 3), (40,)], [(10,), (1,), (40,)]], ids=["sizes>=2", "a 1-element tensor"]
)
@pytest.mark.parametrize("column", ["params", "grads", "m", "v"])
def test_an_array_replaced_after_steady_steps_is_the_one_stepped(shapes, column):
    """After steps with the same arrays (tree_state's steady path, which compares the
    lists with ``==``), a new array in any place is the one read and written, as if it had
    been there all along; a wrong one (shape) is still a one-line error."""
    rng = _rng(8)
    opt = make_optimizer("adam", lr=0.1)
    params = _tensors(rng, np.float32, shapes)
    grads = _tensors(rng, np.float32, shapes)
    twin_params, twin_grads = [p.copy() for p in params], [g.copy() for g in grads]
    state, twin = opt.init(params), opt.init(twin_params)
    for _ in range(3):  # steady: the same arrays every step
        opt.step(params, grads, state)
        opt.step(twin_params, twin_grads, twin)
    where = {"params": params, "grads": grads, "m": state.buffers["m"], "v": state.buffers["v"]}
    where[column][1] = where[column][1].copy()  # same values, a new array
    for _ in range(2):
        opt.step(params, grads, state)
        opt.step(twin_params, twin_grads, twin)
    for a, b in zip(params + state.buffers["v"], twin_params + twin.buffers["v"], strict=True):
        assert a.tobytes() == b.tobytes()
    bad = where[column][2]
    where[column][2] = np.zeros(3, np.float32)
    _raises(r"\[2\] is float32\[3\]", opt.step, params, grads, state)
    where[column][2] = bad


def _raises(match, f, *args, **kw):
    with pytest.raises(ValueError, match=match) as info:
        f(*args, **kw)
    assert "\n" not in str(info.value)


def test_mismatches_are_one_line_errors_that_change_nothing():
    rng = _rng(7)
    opt = make_optimizer("adam")
    params = {"w": rng.standard_normal((4, 3)).astype(np.float32), "b": np.zeros(3, np.float32)}
    grads = {k: np.ones_like(v) for k, v in params.items()}
    state = opt.init(params)
    before = copy.deepcopy(state), {k: v.copy() for k, v in params.items()}
    _raises("structure|dict with keys", opt.step, params, {"w": grads["w"]}, state)
    _raises(
        r"grads\['w'\] is float64",
        opt.step,
        params,
        {**grads, "w": grads["w"].astype(np.float64)},
        state,
    )
    _raises(
        r"params\['b'\] is float32\[4\]",
        opt.step,
        {**params, "b": np.zeros(4, np.float32)},
        grads,
        state,
    )
    _raises("made by 'adam', not 'sgd'", make_optimizer("sgd").step, params, grads, state)
    _raises(
        "made for a float32\\[3\\] array",
        opt.step,
        [params["b"]],
        [grads["b"]],
        opt.init(params["b"]),
    )
    _raises("C-contiguous", opt.step, {**params, "w": np.asfortranarray(params["w"])}, grads, state)
    ro = params["b"].copy()
    ro.flags.writeable = False
    _raises("writeable", opt.step, {**params, "b": ro}, grads, state)
    assert state == before[0] and all(params[k].tobytes() == before[1][k].tobytes() for k in params)
    _raises("params\\[0\\] dtype must be one of", opt.init, [np.zeros(3, np.int32)])
    _raises(
        "master_weights=True needs float16 or bfloat16",
        opt.init,
        np.zeros((2, 3, 4), np.float32),
        master_weights=True,
    )
    _raises(
        "state_dtype float64 with bfloat16",
        opt.init,
        [np.zeros(3, BFLOAT16)],
        state_dtype="float64",
    )
    _raises("state_dtype must be one of", opt.init, [np.zeros(3, BFLOAT16)], state_dtype="int8")
    _raises(
        "one value per run", make_optimizer("adam", lr=[1e-3, 1e-2]).init, [np.zeros(3, np.float32)]
    )
    _raises("holds no arrays", opt.init, [])
    _raises(r"params\[1\] is a str", opt.init, [np.zeros(2), "x"])


def test_plugin_rule_steps_structures_tensor_by_tensor(example):
    opt = make_optimizer("signsgd", lr=0.1, momentum=0.5)
    rng = _rng(8)
    params = _tensors(rng, np.float64, [(4,), (2, 3)])
    alone = [p.reshape(1, -1).copy() for p in params]
    state, states = opt.init(params), [opt.init(a) for a in alone]
    g = _tensors(rng, np.float64, [(4,), (2, 3)])
    opt.step(params, g, state)
    for a, gg, s in zip(alone, g, states, strict=True):
        opt.step(a, gg.reshape(1, -1), s)
    pairs = zip(params, alone, strict=True)
    assert all(p.reshape(1, -1).tobytes() == a.tobytes() for p, a in pairs)
    _raises("no compiled kernel", opt.init, [np.zeros(3, BFLOAT16)])
