#!/usr/bin/env bash
# The GPU check, for a machine with a CUDA device (sized for one H200, 16 cores):
#   1. install the project (no network: --no-deps --no-build-isolation; cupy, and torch
#      with CUDA for the peers, must already be installed),
#   2. the GPU tests (pytest -m gpu),
#   3. adambench bench --backend cupy, Adam at N = 1e8 and 1e9 float32, torch.optim peers,
#   3b. the gpt2-124m parameter list (float32, bfloat16) and its launch counts,
#   4. a regret run of 1024 runs at T = 1e6 on the GPU and the same on the CPU engine,
#   4b. a 40 x 40 x 3 phase map at T = 1e5 on the GPU and on the CPU lanes engine,
#   5. a short table last: Adam GB/s, fraction of the device copy bandwidth, ratio to
#      torch.optim.Adam(fused=True), GPU-vs-CPU regret engine speed-up.
# Total wall time aims at under ~8 minutes.  Results land in $OUT (or ./gpu-check-results).
#
# A dry run of the plumbing without a GPU, on the host CUDA emulator of the tests (tiny
# sizes; it measures nothing about a GPU):
#   PYTHONPATH=tests/emulated_cuda SIZES=1e4 T=1000 SEEDS=8 bash scripts/gpu-check.sh
set -euo pipefail
SIZES="${SIZES:-1e8,1e9}"
T="${T:-1e6}"
SEEDS="${SEEDS:-1024}"

cd "$(dirname "$0")/.."
RESULTS="${OUT:-$PWD/gpu-check-results}"
mkdir -p "$RESULTS"
PY="${PYTHON:-python}"
ADAMBENCH=("$PY" -c "from adambench.cli.app import main; main()")
start=$(date +%s)

stage() { printf '\n=== %s (t = %ss)\n' "$1" "$(($(date +%s) - start))"; }

stage "environment"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total \
    --format=csv,noheader || echo "nvidia-smi not found"
if ! "$PY" -c "import cupy, sys; n = cupy.cuda.runtime.getDeviceCount(); sys.exit(n < 1)"; then
    echo "gpu-check: cupy does not import or sees no CUDA device (install cupy-cuda12x or -13x)" >&2
    exit 2
fi
"$PY" -c "import cupy; print('cupy', cupy.__version__)"
"$PY" -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" \
    || echo "torch not installed: no torch.optim peers"

stage "install"
"$PY" -m pip install -e . --no-deps --no-build-isolation -q

stage "GPU tests"
rc=0
# The GPU machine has no pytest-xdist: pyproject's addopts without its -n, in one process.
timeout 240 "$PY" -m pytest -m gpu -q -p no:cacheprovider -p no:xdist \
    -o "addopts=-ra --benchmark-disable --ignore=tests/benchmarks" tests \
    > "$RESULTS/pytest-gpu.txt" 2>&1 || rc=$?
tail -25 "$RESULTS/pytest-gpu.txt"
test "$rc" -eq 0 || echo "gpu-check: GPU TESTS FAILED (exit $rc, see pytest-gpu.txt)"

stage "bench --backend cupy (adam, $SIZES float32, torch peers)"
timeout 300 "${ADAMBENCH[@]}" bench --backend cupy -o adam --sizes "$SIZES" \
    --dtype float32 --repeats 20 --out "$RESULTS" --save-baseline "$RESULTS/bench-cupy.json" \
    || echo "gpu-check: BENCH FAILED"

stage "bench lists: gpt2-124m parameter list, float32 and bfloat16 (adam, adamw)"
timeout 240 "${ADAMBENCH[@]}" bench --backend cupy --shapes gpt2-124m --dtype float32,bfloat16 \
    -o adam,adamw --repeats 20 --out "$RESULTS" --save-baseline "$RESULTS/bench-lists.json" \
    || echo "gpu-check: LIST BENCH FAILED"
stage "launch counts: one opt.step on the gpt2-124m list (one launch per dtype group)"
timeout 120 "$PY" - > "$RESULTS/launches.txt" 2>&1 <<'EOF' || echo "gpu-check: LAUNCH COUNT FAILED"
import cupy
from adambench import make_optimizer
from adambench.bench.shapes import preset
from adambench.core import kernels_cuda_chunks as kc
from adambench.core.precision import BFLOAT16

shapes = [s for _, s in preset("gpt2-124m")]
for name, dtype, master in (("float32", "float32", False), ("bfloat16", BFLOAT16, False),
                            ("mixed", BFLOAT16, True)):
    rng = cupy.random.default_rng(0)
    params = [rng.standard_normal(s, dtype="float32").astype(dtype) for s in shapes]
    grads = [p * 0.5 for p in params]
    opt = make_optimizer("adam")
    state = opt.init(params, master_weights=master)
    before = kc.launches
    opt.step(params, grads, state)
    cupy.cuda.Device().synchronize()
    print(f"launches {name}: {kc.launches - before} for {len(shapes)} tensors")
EOF
cat "$RESULTS/launches.txt"

REGRET=(regret --T "$T" -p linear -o adam --seeds "$SEEDS" --dtype float64 --json --out "$RESULTS")
stage "regret warm-up (NVRTC compiles the engine for d=10 once; CuPy caches it on disk)"
timeout 120 "${ADAMBENCH[@]}" regret --T 1000 -p linear -o adam --seeds 4 --backend cupy --out "$RESULTS" \
    --json > /dev/null || echo "gpu-check: GPU REGRET WARM-UP FAILED"
stage "regret on the GPU: linear d=10, adam, $SEEDS seeds, T=$T"
timeout 240 "${ADAMBENCH[@]}" "${REGRET[@]}" --backend cupy \
    > "$RESULTS/regret-cupy.json" || echo "gpu-check: GPU REGRET FAILED"
stage "regret on the CPU engine: the same configuration"
timeout 300 "${ADAMBENCH[@]}" "${REGRET[@]}" --backend numpy \
    > "$RESULTS/regret-numpy.json" || echo "gpu-check: CPU REGRET FAILED"

PHASE=(phase -p reddi-stochastic -o adam --x beta1=0:0.99:40 --y beta2=0.5:0.9999:40 --T 1e5 --seeds 3
       --json --out "$RESULTS")
stage "phase map on the GPU (a thread per run at d = 1): 40 x 40 cells x 3 seeds, T = 1e5"
timeout 180 "${ADAMBENCH[@]}" "${PHASE[@]}" --backend cupy > "$RESULTS/phase-cupy.json" \
    || echo "gpu-check: GPU PHASE FAILED"
stage "phase map on the CPU lanes engine: the same map"
timeout 180 "${ADAMBENCH[@]}" "${PHASE[@]}" --backend numpy > "$RESULTS/phase-numpy.json" \
    || echo "gpu-check: CPU PHASE FAILED"

stage "summary"
"$PY" - "$RESULTS" <<'EOF'
import json, sys
from pathlib import Path

d = Path(sys.argv[1])


def load(name):
    try:
        return json.loads((d / name).read_text())
    except (OSError, ValueError) as e:
        print(f"{name}: missing or unreadable ({e})")
        return None


lines = []
bench = load("bench-cupy.json")
if bench:
    gpu = bench["environment"].get("gpu", {})
    lines.append(f"GPU: {gpu.get('name')}  driver {gpu.get('driver')}  CUDA {gpu.get('cuda_runtime')}"
                 f"  CuPy {gpu.get('cupy')}")
    copy = {(r["size"], r["dtype"]): r["copy_gbps"] for r in bench["references"]}
    lines.append(f"{'N':>6} {'impl':<14} {'median':>10} {'GB/s':>8} {'of copy':>8} {'of roof':>8}"
                 f" {'torch-fused/us':>15}")
    for n in sorted({r["size"] for r in bench["rows"]}):
        rows = {r["impl"]: r for r in bench["rows"] if r["size"] == n and r["rule"] == "adam"}
        fused = rows.get("torch-fused")
        for impl, r in rows.items():
            ratio = f"{fused['median_s'] / r['median_s']:.2f}" if fused else "-"
            lines.append(f"{n:>6.0e} {impl:<14} {r['median_s'] * 1e3:>8.3f}ms {r['gbps']:>8.0f}"
                         f" {r['fraction_of_copy']:>8.1%} {r['fraction_of_roofline']:>8.1%}"
                         f" {ratio if impl == 'adambench' else '':>15}")
        lines.append(f"{n:>6.0e} device copy {copy.get((n, 'float32'), float('nan')):.0f} GB/s"
                     " (cudaMemcpy D2D, read + write)")
lists = load("bench-lists.json")
if lists:  # the parameter-list rows: GB/s, of the device copy, torch fused over adambench
    copy = {r["dtype"]: r["copy_gbps"] for r in lists.get("references", []) if "copy_gbps" in r}
    rows = [r for r in lists["rows"] if r.get("shapes") and r["rule"] == "adam"]
    for dt in sorted({r["dtype"] for r in rows}):
        by = {r["impl"]: r for r in rows if r["dtype"] == dt and r["optimizer"] == "adam"}
        fused = next((r for i, r in by.items() if "fused" in i), None)
        for impl, r in by.items():
            cp_ = copy.get(dt) or copy.get("float32")
            of_copy = f"{r['gbps'] / cp_:.1%}" if cp_ else "-"
            ratio = f"{fused['median_s'] / r['median_s']:.2f}" if fused and impl == "adambench" else ""
            over = r.get("list_overhead")
            lines.append(f"gpt2 {dt:<9} {impl:<16} {r['median_s'] * 1e3:>8.3f}ms {r['gbps']:>7.0f} GB/s"
                         f" of copy {of_copy:>6} torch-fused/us {ratio:>5}"
                         + (f" list/flat {over:.2f}" if over else ""))
launches = d / "launches.txt"
if launches.exists():
    lines += [x for x in launches.read_text().splitlines() if x.startswith("launches")]
g, c = load("regret-cupy.json"), load("regret-numpy.json")
if g and c:
    eg = sum(x["seconds"]["engine"] for x in g["comparators"])
    ec = sum(x["seconds"]["engine"] for x in c["comparators"])
    cg = sum(x["seconds"]["comparator"] for x in g["comparators"])
    cc = sum(x["seconds"]["comparator"] for x in c["comparators"])
    rg = {(r["problem"], r["optimizer"], r.get("point")): r["R_T"] for r in g["rows"]}
    rc = {(r["problem"], r["optimizer"], r.get("point")): r["R_T"] for r in c["rows"]}
    worst = max(abs(rg[k] - rc[k]) / max(abs(rc[k]), 1e-12) for k in rc)
    lines.append(f"regret T={g['config']['T']}, {len(g['config']['seeds'])} runs: engine GPU {eg:.2f} s, CPU {ec:.2f} s, speed-up "
                 f"{ec / eg:.1f}x; comparator GPU {cg:.2f} s, CPU {cc:.2f} s; whole command "
                 f"{g['seconds']:.1f} s vs {c['seconds']:.1f} s ({c['seconds'] / g['seconds']:.1f}x); "
                 f"max relative R(T) difference {worst:.2e}")
g, c = load("phase-cupy.json"), load("phase-numpy.json")
if g and c:  # the same cells' verdicts (float tolerance: a verdict may flip at a threshold)
    same = sum(a["class"] == b["class"] for a, b in zip(g["cells"], c["cells"]))
    lines.append(f"phase 40x40x3 T=1e5: GPU {g['seconds']:.2f} s, CPU lanes {c['seconds']:.2f} s, "
                 f"speed-up {c['seconds'] / g['seconds']:.1f}x; same verdict in {same} of "
                 f"{len(c['cells'])} cells")
print("\n".join(lines))
(d / "summary.txt").write_text("\n".join(lines) + "\n")
EOF
echo "total wall time: $(($(date +%s) - start)) s"
