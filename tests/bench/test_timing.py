"""The timing harness, the roofline loops, the peers and the benchmark runner.

No test here asserts how long anything takes: timings on a shared machine are data, not
facts.  What is checked is what the harness computes from them, that every loop does
the work it claims, and that every peer computes the rule it stands beside.
"""

from __future__ import annotations

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.bench import config as bc
from adambench.bench import peers_numpy, roofline, timing
from adambench.bench.run import ADAMBENCH, ROOFLINE, TEXTBOOK, run_bench
from adambench.core.registry import RULES


# ---- harness -------------------------------------------------------------------------
def test_measure_interleaves_every_callable_and_keeps_every_repeat():
    calls: list[str] = []
    fns = {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}
    t = timing.measure(fns, repeats=7, warmup=1, min_sample_s=0.0)
    for clock in ("wall", "cpu"):
        s = t.samples(clock)
        assert set(s) == {"a", "b"}
        assert all(len(v) == 7 and np.all(v >= 0) for v in s.values())
    assert t.numbers == {"a": 1, "b": 1}
    # warm-up (1 each), calibration (3 singles each), then a, b alternating 7 times
    assert calls[-14:] == ["a", "b"] * 7


def test_calibrate_batches_fast_calls_into_long_samples():
    number, one = timing.calibrate(lambda: None, min_sample_s=1e-3)
    assert number > 1 and number * one >= 1e-3 * 0.5


def test_budget_cuts_repeats_but_never_below_the_minimum():
    slow = {"x": lambda: sum(range(20000))}
    t = timing.measure(slow, repeats=50, min_sample_s=0.0, budget_s=1e-9, min_repeats=5)
    assert len(t.wall["x"]) == 5
    t = timing.measure(slow, repeats=3, min_sample_s=0.0, budget_s=1e-9, min_repeats=5)
    assert len(t.wall["x"]) == 3
    with pytest.raises(ValueError, match="repeats"):
        timing.measure(slow, repeats=0)


def test_summarize_median_quartiles_best():
    s = timing.summarize(np.array([5.0, 1.0, 3.0, 2.0, 4.0]))
    assert (s.median, s.q1, s.q3, s.best, s.iqr) == (3.0, 2.0, 4.0, 1.0, 2.0)


def test_threads_context_sets_and_restores_numba_threads():
    import numba

    before = numba.get_num_threads()
    with timing.threads(1):
        assert numba.get_num_threads() == 1
    assert numba.get_num_threads() == before


def test_slowed_pads_each_call_to_the_injected_fraction(monkeypatch):
    clock = {"t": 0.0}

    def fake_thread_time() -> float:
        clock["t"] += 0.001  # every look at the clock costs a little, like the real one
        return clock["t"]

    def work() -> None:
        clock["t"] += 1.0

    monkeypatch.setattr(timing.time, "thread_time", fake_thread_time)
    timing.slowed(work, 0.25)()
    assert 1.25 <= clock["t"] <= 1.26
    assert timing.slowed(work, 0.0) is work


@pytest.mark.parametrize("raw, value", [("", 0.0), ("0.25", 0.25), (" 1 ", 1.0)])
def test_injected_slowdown_reads_the_test_only_variable(monkeypatch, raw, value):
    monkeypatch.setenv(timing.SLOWDOWN_ENV, raw)
    assert timing.injected_slowdown() == value


@pytest.mark.parametrize("raw", ["fast", "-0.1", "10", "nan"])
def test_injected_slowdown_rejects_nonsense(monkeypatch, raw):
    monkeypatch.setenv(timing.SLOWDOWN_ENV, raw)
    with pytest.raises(ValueError, match=timing.SLOWDOWN_ENV):
        timing.injected_slowdown()


# ---- roofline ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, hp, pattern",
    [
        ("adam", {}, "r4w3"),
        ("adam-nobias", {}, "r4w3"),
        ("adamax", {}, "r4w3"),
        ("rmsprop-momentum", {}, "r4w3"),
        ("rmsprop-momentum", {"centered": True}, "r5w4"),
        ("amsgrad", {}, "r5w4"),
        ("adagrad", {}, "r3w2"),
        ("sgd", {}, "r2w1"),
        ("sgd", {"momentum": 0.9}, "r3w2"),
    ],
)
def test_access_pattern_and_bytes_follow_the_design_table(name, hp, pattern):
    opt = make_optimizer(name, **hp)
    pat = roofline.rule_pattern(opt.rule, opt.hp)
    assert pat.name == pattern
    fp32 = roofline.rule_bytes(opt.rule, opt.hp, 4)
    assert fp32 == pat.bytes_per_param(4)  # the rule's table figure is its access pattern
    assert roofline.rule_bytes(opt.rule, opt.hp, 8) == 2 * fp32
    if not hp:
        assert fp32 == RULES[name].bytes_per_param


@pytest.mark.parametrize("reads", [2, 3, 4, 5])
@pytest.mark.parametrize("n", [1, 1000, 40000])
def test_pattern_loop_reads_and_writes_every_array(reads, n):
    rng = np.random.default_rng(reads)
    pat = roofline.Pattern(reads, reads - 1)
    arrays = roofline.filled(n, "float32", rng, reads)
    before = [a.copy() for a in arrays]
    roofline.pattern_loop(pat, arrays)()  # identity coefficients: nothing changes
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)
    roofline.pattern_loop(pat, arrays, coefficients=(0.5, 2.0))()
    g = before[1]
    np.testing.assert_array_equal(arrays[1], g)  # g is only read
    for a, b in zip(arrays[:1] + arrays[2:], before[:1] + before[2:], strict=True):
        np.testing.assert_allclose(a, 0.5 * b + 2.0 * g, rtol=1e-6)


def test_pattern_loop_refuses_shared_or_missing_arrays():
    a = np.ones(10)
    with pytest.raises(ValueError, match="distinct"):
        roofline.pattern_loop(roofline.Pattern(3, 2), [a, a, np.ones(10)])
    with pytest.raises(ValueError, match="distinct"):
        roofline.pattern_loop(roofline.Pattern(3, 2), [a, np.ones(10)])
    with pytest.raises(ValueError, match="no roofline loop"):
        roofline.pattern_loop(roofline.Pattern(7, 6), [np.ones(1)] * 7)


def test_copy_and_triad_compute_what_they_claim():
    rng = np.random.default_rng(0)
    src, dst = roofline.filled(50000, "float64", rng, 2)
    roofline.copy_loop([src, dst])()
    np.testing.assert_array_equal(dst, src)
    a, b, c = roofline.filled(50000, "float32", rng, 3)
    roofline.triad_loop([a, b, c])()
    np.testing.assert_allclose(a, b + np.float32(0.5) * c, rtol=1e-6)


# ---- peers ---------------------------------------------------------------------------
PEER_CASES = [
    ("adam", {}),
    ("adam", {"eps_hat": 1e-7}),
    ("adam", {"lr_schedule": "inv_sqrt", "beta1_decay": 0.99}),
    ("adam-nobias", {}),
    ("amsgrad", {}),
    ("amsgrad", {"bias_correction": True, "eps": 1e-8}),
    ("adamax", {"eps": 1e-8}),
    ("adagrad", {"initial_accumulator": 0.1}),
    ("rmsprop-momentum", {}),
    ("rmsprop-momentum", {"centered": True, "eps_inside": True}),
    ("sgd", {}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
]


@pytest.mark.parametrize("name, hp", PEER_CASES)
def test_textbook_numpy_peer_computes_the_rule(name, hp):
    rng = np.random.default_rng(1)
    opt = make_optimizer(name, **hp)
    p_ref = rng.standard_normal(300)
    p_peer = p_ref.copy()
    ref_state = opt.init(p_ref)
    peer_state = {k: v.copy() for k, v in ref_state.buffers.items()}
    hps = peers_numpy.scalar_hp(opt.hp)
    for t in range(1, 8):
        g = rng.standard_normal(300)
        opt.reference_step(p_ref, g, ref_state)
        peers_numpy.STEPS[name](p_peer, g, peer_state, hps, t)
    np.testing.assert_allclose(p_peer, p_ref, rtol=1e-12, atol=1e-15)


def test_textbook_peer_stays_in_float32():
    opt = make_optimizer("adam")
    p = np.ones(10, np.float32)
    state = {"m": np.zeros_like(p), "v": np.zeros_like(p)}
    peers_numpy.STEPS["adam"](
        p, np.full(10, 0.5, np.float32), state, peers_numpy.scalar_hp(opt.hp), 1
    )
    assert p.dtype == state["m"].dtype == state["v"].dtype == np.float32


def test_every_rule_has_a_textbook_peer():
    assert set(peers_numpy.STEPS) == set(RULES)


def test_torch_peers_follow_the_same_rule():
    torch = pytest.importorskip("torch")
    from adambench.bench import peers_torch

    rng = np.random.default_rng(2)
    p = rng.standard_normal(64).astype(np.float32)
    g = rng.standard_normal(64).astype(np.float32)
    opt = make_optimizer("adam")
    calls, notes = peers_torch.peers("adam", peers_numpy.scalar_hp(opt.hp), p, g)
    assert {"torch", "torch-foreach"} <= set(calls)
    assert "fused" in notes.get("torch-fused", "")
    # One torch optimizer step from fresh state equals one reference Adam step.
    ref = p.astype(np.float64)
    state = opt.init(ref)
    opt.reference_step(ref, g.astype(np.float64), state)
    param = torch.nn.Parameter(torch.from_numpy(p.copy()))
    param.grad = torch.from_numpy(g.copy())
    torch.optim.Adam([param], lr=1e-3, foreach=False).step()
    np.testing.assert_allclose(param.detach().numpy(), ref, rtol=1e-6)
    nobias = peers_numpy.scalar_hp(make_optimizer("adam-nobias").hp)
    none, why = peers_torch.peers("adam-nobias", nobias, p, g)
    assert none == {} and "no form" in why["torch"]


# ---- configuration and the runner ----------------------------------------------------
def test_parse_cases_names_and_hyperparameters():
    cases = bc.parse_cases(["adam,sgd", "sgd:momentum=0.9,nesterov=true", "adam"])
    assert [c.label for c in cases] == ["adam", "sgd", "sgd:momentum=0.9,nesterov=true"]
    assert cases[2].hp == {"momentum": 0.9, "nesterov": True}
    assert [c.name for c in bc.parse_cases(None)] == list(bc.DEFAULT_OPTIMIZERS)


@pytest.mark.parametrize(
    "value, phrase",
    [
        ("adamq", "unknown optimizer"),
        ("adam:beta1=1", "beta1"),
        ("adam:bogus=1", "unknown hyperparameter"),
        ("sgd:momentum", "key=value"),
        ("", "at least one"),
    ],
)
def test_parse_cases_rejects_bad_input(value, phrase):
    with pytest.raises(ValueError, match=phrase):
        bc.parse_cases([value])


def test_parse_sizes_threads_dtypes():
    assert bc.parse_sizes("1e4, 100,1e4", ()) == [10000, 100]
    assert bc.parse_sizes(None, (5,)) == [5]
    for bad in ("0", "-3", "1.5", "abc", "inf", "1e30", ","):
        with pytest.raises(ValueError, match="size"):
            bc.parse_sizes(bad, ())
    assert bc.parse_threads("1,all,2", 2) == [1, 2]
    for bad in ("0", "3", "many", ""):
        with pytest.raises(ValueError, match="threads"):
            bc.parse_threads(bad, 2)
    assert bc.parse_dtypes("float64,float32") == ["float64", "float32"]
    assert bc.parse_dtypes("bfloat16,float16,mixed") == ["bfloat16", "float16", "mixed"]
    with pytest.raises(ValueError, match="dtype must be one of float32, .*, mixed, got 'int8'"):
        bc.parse_dtypes("float32,int8")


def test_backends():
    bc.check_backend("numpy")
    with pytest.raises(ValueError, match="unknown backend"):
        bc.check_backend("tpu")
    with pytest.raises(ValueError, match="cupy"):
        bc.check_backend("cupy")  # not installed here, or not built yet: exit 2 either way


def test_memory_check_refuses_explicit_and_skips_default_sizes():
    cfg = bc.BenchConfig(bc.parse_cases(["adam"]), [1000, 10**9], ["float32"], [1])
    with pytest.raises(ValueError, match="size 1e\\+09 needs .* GiB"):
        bc.check_memory(cfg, explicit=True, available=2**30)
    assert bc.check_memory(cfg, explicit=False, available=2**30) == [1000]
    assert "skipped" in cfg.notes[0]
    assert bc.check_memory(cfg, explicit=True, available=None) == [1000, 10**9]
    with pytest.raises(ValueError, match="no size fits"):
        bc.check_memory(
            bc.BenchConfig(cfg.cases, [10**9], ["float32"], [1]), explicit=False, available=2**30
        )


def test_run_bench_rows_on_a_tiny_size(monkeypatch):
    monkeypatch.delenv(timing.SLOWDOWN_ENV, raising=False)
    cfg = bc.BenchConfig(
        bc.parse_cases(["adam", "sgd:momentum=0.9"]), [3000], ["float32"], [1], repeats=4,
        textbook=True, torch=False, min_sample_s=1e-4,
    )  # fmt: skip
    out = run_bench(cfg)
    rows = out["rows"]
    assert {(r["optimizer"], r["impl"]) for r in rows} == {
        (o, i) for o in ("adam", "sgd:momentum=0.9") for i in (ADAMBENCH, TEXTBOOK)
    }
    for r in rows:
        assert r["clock"] == "cpu" and r["repeats"] == 4
        assert len(r["samples_s"]) == len(r["norm_samples"]) == len(r["textbook_samples"]) == 4
        assert r["median_s"] > 0 and r["iqr_s"] >= 0 and r["fraction_of_roofline"] > 0
        np.testing.assert_allclose(r["gbps"], r["bytes_per_step"] / r["median_s"] / 1e9)
    adam = next(r for r in rows if r["optimizer"] == "adam" and r["impl"] == ADAMBENCH)
    assert adam["bytes_per_step"] == 28 * 3000 and adam["ratio_to_adambench"] == 1.0
    sgd = next(r for r in rows if r["optimizer"] != "adam" and r["impl"] == ADAMBENCH)
    assert sgd["bytes_per_step"] == 20 * 3000 and sgd["roofline_pattern"] == "r3w2"
    assert [r["pattern"] for r in out["rooflines"]] == ["r4w3", "r3w2"]
    assert out["references"][0]["copy_gbps"] > 0 and "injected_slowdown" not in out
    assert ROOFLINE not in {r["impl"] for r in rows}
