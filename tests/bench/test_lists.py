"""``bench`` on parameter lists and dtype layouts: parsing, bytes, roofline loops, rows.

The bytes are the figures written out by hand from what each step must read and write
(docs/design.md §8): bf16 p, g with fp32 m, v read 2 + 2 + 4 + 4 = 12 B and write
2 + 4 + 4 = 10 B; with a float32 master (``mixed``) g, m, v and the master are read
(2 + 4 + 4 + 4 = 14 B) and p, m, v and the master written (14 B).  The 16-bit roofline
loops are checked against NumPy / ml_dtypes arithmetic on copies; the rows of a list run
against the per-repeat samples they carry, and, through a fake timing harness, against
chosen numbers.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from adambench.bench import config as bc
from adambench.bench import roofline
from adambench.bench import run as br
from adambench.bench.timing import Timings
from adambench.core.optimizer import make_optimizer
from adambench.core.precision import NAMED

BF16 = np.dtype(ml_dtypes.bfloat16)


def test_parse_lists_presets_and_grid():
    (gpt2,) = bc.parse_lists("gpt2-124m", None, None)
    assert (gpt2.shapes, gpt2.tensors, gpt2.size, gpt2.numel_per_tensor) == (
        "gpt2-124m", 148, 124_439_808, None,
    )  # fmt: skip
    every = bc.parse_lists("all", None, None)
    assert [s.shapes for s in every] == ["gpt2-124m", "resnet50", "bert-base", "llama-7b-layer"]
    grid = bc.parse_lists(None, "100,500", "1024,1e3")
    assert [(s.tensors, s.numel_per_tensor, s.size) for s in grid] == [
        (100, 1024, 102400), (100, 1000, 100000), (500, 1024, 512000), (500, 1000, 500000),
    ]  # fmt: skip
    assert all(s.shapes == "grid" and set(s.tensor_shapes) == {(s.numel_per_tensor,)} for s in grid)
    assert grid[0].label == "100x1024" and gpt2.label == "gpt2-124m"
    assert bc.parse_lists(None, None, None) == []


@pytest.mark.parametrize(
    "shapes, tensors, numel, phrase",
    [
        ("gpt3", None, None, "unknown preset 'gpt3'"),
        ("gpt2-124m", "10", "100", "alternatives"),
        (None, "10", None, "--tensors needs --numel"),
        (None, None, "100", "--numel needs --tensors"),
        (None, "0", "100", "--tensors must list whole numbers >= 1, got '0'"),
        (None, "10", "-1", "--numel must list whole numbers >= 1"),
        (None, "2.5", "10", "--tensors must list whole numbers"),
        (None, "100000", "100000", "exceeds the bound"),
        ("", None, None, "--shapes must name a preset"),
    ],
)
def test_parse_lists_refuses_bad_input_in_one_line(shapes, tensors, numel, phrase):
    with pytest.raises(ValueError, match=None) as e:
        bc.parse_lists(shapes, tensors, numel)
    assert phrase in str(e.value) and "\n" not in str(e.value)


def test_dtype_layout_names():
    assert bc.parse_dtypes("mixed,bfloat16,float16,float32") == [
        "mixed", "bfloat16", "float16", "float32",
    ]  # fmt: skip
    with pytest.raises(ValueError, match="dtype must be one of float32, float64, bfloat16"):
        bc.parse_dtypes("float8")


@pytest.mark.parametrize(
    "spec, bytes_by_layout",
    [
        ("adam", {"float32": 28, "float64": 56, "bfloat16": 12 + 10, "float16": 22, "mixed": 28}),
        ("amsgrad", {"float32": 36, "bfloat16": 16 + 14, "mixed": 18 + 18}),
        ("sgd", {"float32": 12, "bfloat16": 4 + 2, "mixed": 6 + 6}),
        ("sgd:momentum=0.9", {"float32": 20, "bfloat16": 8 + 6, "mixed": 10 + 10}),
        ("lion", {"float32": 20, "float64": 40, "bfloat16": 14, "mixed": 20}),
    ],
)
def test_layout_bytes_are_what_the_step_moves(spec, bytes_by_layout):
    (case,) = bc.parse_cases([spec])
    opt = make_optimizer(case.name, **case.hp)
    for name, want in bytes_by_layout.items():
        assert roofline.layout_bytes(opt.rule, opt.hp, NAMED[name]) == want, name
    read, written = NAMED["bfloat16"].bytes(len(opt.rule.buffers(opt.hp)))
    assert read + written == bytes_by_layout["bfloat16"]


@pytest.mark.parametrize("name", ["bfloat16", "float16", "mixed"])
@pytest.mark.parametrize("nstates", [0, 1, 2, 3])
def test_low_roofline_loops_leave_arrays_and_write_each(name, nstates):
    lay = NAMED[name]
    rng = np.random.default_rng(nstates)
    n = 40_000  # more than one chunk
    p = rng.standard_normal(n).astype(lay.param)
    g = rng.standard_normal(n).astype(lay.param)
    states = [rng.standard_normal(n).astype(np.float32) for _ in range(nstates)]
    master = None
    if lay.master:  # a master that is not exactly bfloat16, p its nearest-even rounding
        master = (p.astype(np.float32) * np.float32(1 + 2**-12)).astype(np.float32)
        p[:] = master.astype(BF16)
    arrays = [p, g, *states] + ([master] if lay.master else [])
    before = [a.copy() for a in arrays]
    roofline.layout_loop(lay, p, g, states, master)()
    for a, b in zip(arrays, before, strict=True):
        assert np.array_equal(a.view(np.uint8), b.view(np.uint8))
    roofline.layout_loop(lay, p, g, states, master, coefficients=(2.0, 0.0))()
    for a, b in zip(states, before[2 : 2 + nstates], strict=True):
        np.testing.assert_array_equal(a, 2 * b)
    if lay.master:
        np.testing.assert_array_equal(master, 2 * before[-1])
        want = (2 * before[-1]).astype(BF16)  # ml_dtypes: round to nearest even
        np.testing.assert_array_equal(p.view(np.uint16), want.view(np.uint16))
    else:  # p's 16-bit pattern times 2 (integer arithmetic on the bits)
        bits = (before[0].view(np.uint16).astype(np.int64) * 2) % 2**16
        np.testing.assert_array_equal(p.view(np.uint16), bits.astype(np.uint16))
    np.testing.assert_array_equal(g.view(np.uint16), before[1].view(np.uint16))


def test_layout_loop_refuses_what_it_cannot_move():
    lay = NAMED["mixed"]
    p = np.zeros(8, BF16)
    with pytest.raises(ValueError, match="needs its float32 master"):
        roofline.layout_loop(lay, p, p.copy(), [np.zeros(8, np.float32)])
    with pytest.raises(ValueError, match="distinct arrays of one length"):
        roofline.layout_loop(NAMED["bfloat16"], p, p.copy(), [np.zeros(9, np.float32)])


def test_list_tensors_are_the_flat_arrays_stretches():
    arrays = br.Arrays(np.random.default_rng(3))
    spec = bc.ListSpec("x", ((2, 3), (5,), (1, 1, 4)))
    for dtype in ("float32", "bfloat16", "mixed"):
        pf, gf = arrays.params_grads(spec.size, dtype)
        ps, gs = arrays.lists(spec, dtype)
        assert pf.dtype == NAMED[dtype].param and pf.size == 15
        assert [a.shape for a in ps] == [(2, 3), (5,), (1, 1, 4)]
        for flat, parts in ((pf, ps), (gf, gs)):
            want = np.split(flat, [6, 11])
            for a, w in zip(parts, want, strict=True):
                assert a.dtype == flat.dtype and not np.shares_memory(a, flat)
                np.testing.assert_array_equal(a.reshape(-1).view(np.uint8), w.view(np.uint8))


def _tiny(dtypes: list[str], **kw) -> bc.BenchConfig:
    cfg = bc.BenchConfig(
        bc.parse_cases(["adam"]), [], dtypes, [1], repeats=5, textbook=True, torch=False,
        min_sample_s=1e-4, budget_s=0.5, **kw,
    )  # fmt: skip
    cfg.lists = bc.parse_lists(None, "3", "100,1000")
    return cfg


def test_list_run_rows_carry_the_schema():
    out = br.run_bench(_tiny(["float32", "mixed"]))
    rows = out["rows"]
    assert {(r["numel_per_tensor"], r["dtype"], r["impl"]) for r in rows} == {
        (k, d, i)
        for k in (100, 1000)
        for d in ("float32", "mixed")
        for i in (br.ADAMBENCH, br.FLAT)
    }  # no textbook peer on lists
    for r in rows:
        assert (r["shapes"], r["tensors"], r["size"]) == ("grid", 3, 3 * r["numel_per_tensor"])
        assert r["bytes_per_step"] == 28 * r["size"]  # adam: fp32 and mixed both 28 B
        np.testing.assert_allclose(r["ns_per_param"], r["median_s"] / r["size"] * 1e9)
        np.testing.assert_allclose(r["gbps"], r["bytes_per_step"] / r["median_s"] / 1e9)
        assert r["fraction_of_roofline"] > 0 and r["roofline_pattern"] == (
            "r4w4" if r["dtype"] == "mixed" else "r4w3"
        )
        twin = next(
            f for f in rows
            if f["impl"] == br.FLAT and (f["dtype"], f["size"]) == (r["dtype"], r["size"])
        )  # fmt: skip
        if r["impl"] == br.ADAMBENCH:
            want = np.median(r["samples_s"]) / np.median(twin["samples_s"])
            np.testing.assert_allclose(r["list_overhead"], want)
        else:
            assert r["list_overhead"] is None and "flat array" in r["note"]
    recs = out["rooflines"]
    assert {(r["numel_per_tensor"], r["dtype"]) for r in recs} == {
        (k, d) for k in (100, 1000) for d in ("float32", "mixed")
    }
    mixed = next(r for r in recs if r["dtype"] == "mixed")
    assert mixed["bytes_per_param"] == 28 and "float32 master" in mixed["layout"]
    assert {(r["size"], r["dtype"]) for r in out["references"]} == {
        (s, d) for s in (300, 3000) for d in ("float32", "mixed")
    }


def _fake(times: dict[str, float], spread: float = 0.0):
    """A timing harness returning ``times[name]`` (x (1 + spread * r) on repeat r)."""

    def measure(fns, repeats, **_):
        seq = np.array([1 + spread * r for r in range(repeats)])
        cpu = {k: times.get(k, 1e-3) * seq for k in fns}  # "fn": a copy/triad reference
        return Timings(cpu, dict(cpu), dict.fromkeys(fns, 1))

    return measure


def test_list_overhead_and_roofline_share_from_chosen_times():
    times = {br.ADAMBENCH: 1.2e-3, br.FLAT: 1.0e-3, br.ROOFLINE: 0.6e-3}
    out = br.run_bench(_tiny(["bfloat16"]), measure_fn=_fake(times), load=(0.0,))
    for r in out["rows"]:
        np.testing.assert_allclose(
            r["fraction_of_roofline"], 0.6 / (1.2 if r["impl"] == br.ADAMBENCH else 1.0)
        )
        if r["impl"] == br.ADAMBENCH:
            np.testing.assert_allclose(r["list_overhead"], 1.2)
        else:
            np.testing.assert_allclose(r["ratio_to_adambench"], 1 / 1.2)
        assert r["bytes_per_step"] == 22 * r["size"] and r["reliable"]


def test_torch_rows_count_the_bytes_torch_moves(monkeypatch):
    """torch on bf16 keeps bf16 state and no master: 14 B per Adam parameter, not 28."""
    times = {br.ADAMBENCH: 1.2e-3, br.FLAT: 1.0e-3, br.ROOFLINE: 0.6e-3, "torch-fused": 0.9e-3}
    monkeypatch.setattr(br.peers_torch, "available", lambda: True)
    monkeypatch.setattr(
        br, "_torch", lambda *a: ({"torch-fused": lambda: None}, {"torch-fused": "fused"})
    )
    cfg = _tiny(["mixed"])
    cfg.torch = True
    out = br.run_bench(cfg, measure_fn=_fake(times), load=(0.0,))
    for r in out["rows"]:
        per = 14 if r["impl"] == "torch-fused" else 28
        assert r["bytes_per_step"] == per * r["size"]
        np.testing.assert_allclose(r["gbps"], per * r["size"] / times[r["impl"]] / 1e9)
        roof_gbps = 28 * r["size"] / 0.6e-3 / 1e9
        np.testing.assert_allclose(r["roofline_gbps"], roof_gbps)
        np.testing.assert_allclose(r["fraction_of_roofline"], r["gbps"] / roof_gbps)


def test_a_flagged_list_group_is_re_measured_as_a_list():
    times = {br.ADAMBENCH: 1e-3, br.FLAT: 1e-3, br.ROOFLINE: 0.5e-3}
    out = br.run_bench(_tiny(["float32"]), measure_fn=_fake(times, spread=1.0), load=(0.0,))
    rows = out["rows"]  # IQR of 1..5 x the time: wide, flagged, re-measured, still a list
    assert len(rows) == 4 and all(r["shapes"] == "grid" and "first_pass_flags" in r for r in rows)
    assert all("wide-iqr" in r["first_pass_flags"] for r in rows)


def test_list_memory_is_checked_before_any_work():
    cfg = bc.BenchConfig(bc.parse_cases(["adam"]), [], ["float32"], [1], torch=False)
    cfg.lists = bc.parse_lists("gpt2-124m", None, None)
    per = bc.bytes_needed(cfg.cases[0], "float32", False, False, True)
    assert per == 3 * (4 + 4 + 2 * 4) + 3 * 4  # list, flat twin, roofline copy + scratch
    with pytest.raises(ValueError, match="parameter list gpt2-124m .* needs .* GiB"):
        bc.check_list_memory(cfg, available=2**30)
    bc.check_list_memory(cfg, available=2**40)
    assert bc.check_memory(cfg, explicit=False, available=2**30) == []  # no flat sizes
