"""``adambench bench`` on AdamW, NAdam, RAdam, Yogi, AdaBelief and Lion.

The bytes a step must move are derived here without the rule's own figure: one float32
kernel step is run and the arrays it reads (those whose values change what it writes) and
writes (those it changes) are observed.  A fused in-place update moves each of them once
(docs/design.md, "Bytes each rule must move"), so bytes per parameter = 4 x (reads +
writes): 28 for the Adam-like rules (p, m, v read and written, g read), 36 for AdamW with
amsgrad (and v_hat), 20 for Lion (p and m read and written, g read: 8 fewer than Adam).
That figure must be the rule's ``bytes_per_param``, the one bench divides by, and the
roofline loop's access pattern.  No test asserts how fast anything runs.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest

from adambench import make_optimizer
from adambench.bench import config as bc
from adambench.bench import peers_torch, roofline, timing
from adambench.bench.run import ADAMBENCH, run_bench
from adambench.core.registry import RULES

NEW = ("adamw", "nadam", "radam", "yogi", "adabelief", "lion")
CASES = [(name, {}) for name in NEW] + [("adamw", {"amsgrad": True}), ("adam", {})]
TORCH_FORMS = ("adamw", "nadam", "radam")  # the rules torch.optim computes
N = 3000


def observed_pattern(name: str, hp: dict) -> tuple[int, int]:
    """(arrays read, arrays written) by one float32 kernel step, observed on the arrays."""
    rng = np.random.default_rng(15)
    d = 512
    opt = make_optimizer(name, **hp)
    p = rng.standard_normal(d).astype(np.float32)
    state = opt.init(p)
    for _ in range(8):  # past RAdam's momentum phase (rho_t > 5 from t = 6)
        opt.step(p, rng.standard_normal(d).astype(np.float32), state)
    g = rng.standard_normal(d).astype(np.float32)
    names = list(state.buffers)

    def run(which: int | None) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """p, g and the states before and after one step, array ``which`` (0 p, 1 g,
        2.. states) perturbed first (kept positive for the states: v, s >= 0)."""
        pp, gg, st = p.copy(), g.copy(), copy.deepcopy(state)
        arrays = [pp, gg, *(st.buffers[k] for k in names)]
        if which is not None:
            a = arrays[which]
            a[...] = a * np.float32(1.5) + np.float32(0.01) if which >= 2 else a + np.float32(0.3)
        before = [a.copy() for a in arrays]
        opt.step(pp, gg, st)
        return before, [pp, gg, *(st.buffers[k] for k in names)]

    before, base = run(None)
    written = [
        k for k, (b, a) in enumerate(zip(before, base, strict=True)) if not np.array_equal(b, a)
    ]
    # read: perturbing it changes something the step writes (a write-only array's old
    # value would change nothing)
    reads = sum(
        any(not np.array_equal(out[k], base[k]) for k in written)
        for out in (run(which)[1] for which in range(len(base)))
    )
    writes = len(written)
    return reads, writes


@pytest.mark.parametrize("name, hp", CASES, ids=[f"{n}{'-ams' if h else ''}" for n, h in CASES])
def test_bytes_per_param_is_the_observed_access_pattern(name, hp):
    reads, writes = observed_pattern(name, hp)
    n_states = len(make_optimizer(name, **hp).init(np.zeros(4, np.float32)).buffers)
    assert (reads, writes) == (2 + n_states, 1 + n_states)  # p, g, states in; p, states out
    fp32 = 4 * (reads + writes)
    opt = make_optimizer(name, **hp)
    assert roofline.rule_bytes(opt.rule, opt.hp, 4) == fp32
    assert roofline.rule_bytes(opt.rule, opt.hp, 8) == 2 * fp32
    assert roofline.rule_pattern(opt.rule, opt.hp).name == f"r{reads}w{writes}"
    if not hp:
        assert RULES[name].bytes_per_param == fp32


def test_lion_moves_eight_bytes_fewer_than_adam():
    lion, adam = observed_pattern("lion", {}), observed_pattern("adam", {})
    assert 4 * sum(lion) == 20 and 4 * sum(adam) == 28


@pytest.fixture(scope="module")
def bench_out(request):
    mp = pytest.MonkeyPatch()
    mp.delenv(timing.SLOWDOWN_ENV, raising=False)
    request.addfinalizer(mp.undo)
    cfg = bc.BenchConfig(
        bc.parse_cases([",".join(NEW)]), [N], ["float32"], [1], repeats=3, textbook=False,
        torch=peers_torch.available(), min_sample_s=1e-4, budget_s=0.5,
    )  # fmt: skip
    return run_bench(cfg)


@pytest.mark.parametrize("name", NEW)
def test_bench_row_of_each_new_rule(bench_out, name):
    reads, writes = observed_pattern(name, {})
    (row,) = [r for r in bench_out["rows"] if r["optimizer"] == name and r["impl"] == ADAMBENCH]
    assert row["implementation"] == "adambench"  # a compiled kernel, not the reference step
    frac = row["fraction_of_roofline"]
    assert isinstance(frac, float) and math.isfinite(frac) and frac > 0
    assert row["bytes_per_step"] == 4 * (reads + writes) * N
    assert row["roofline_pattern"] == f"r{reads}w{writes}"
    np.testing.assert_allclose(row["gbps"], row["bytes_per_step"] / row["median_s"] / 1e9)
    (rec,) = [r for r in bench_out["rooflines"] if r["optimizer"] == name]
    assert (rec["reads"], rec["writes"], rec["bytes_per_param"]) == (
        reads, writes, 4 * (reads + writes),
    )  # fmt: skip
    np.testing.assert_allclose(frac, rec["best_s"] / row["median_s"])


@pytest.mark.parametrize("name", NEW)
def test_torch_peer_rows_where_torch_has_the_rule(bench_out, name):
    pytest.importorskip("torch")
    impls = {r["impl"] for r in bench_out["rows"] if r["optimizer"] == name}
    (rec,) = [r for r in bench_out["rooflines"] if r["optimizer"] == name]
    if name not in TORCH_FORMS:
        assert impls == {ADAMBENCH} and "no form" in rec["missing_peers"]["torch"]
        return
    assert {"torch", "torch-foreach"} <= impls
    # torch-fused: a row, or the reason torch gave (no fused NAdam/RAdam in some versions)
    assert "torch-fused" in impls or "torch-fused" in rec["missing_peers"]
    if name == "adamw":
        assert "torch-fused" in impls  # torch.optim.AdamW(fused=True) runs on the CPU
    for r in bench_out["rows"]:
        if r["optimizer"] == name and r["impl"] != ADAMBENCH:
            assert r["bytes_per_step"] == 28 * N and r["fraction_of_roofline"] > 0
