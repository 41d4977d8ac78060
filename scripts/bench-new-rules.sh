#!/usr/bin/env bash
# The speed check of AdamW, NAdam, RAdam, Yogi, AdaBelief and Lion (with Adam and SGD as
# references): N = 1e7 float32, one thread, torch.optim peers, all in ONE bench run, so
# every fraction of the roofline and every ratio to torch is taken on the same machine at
# the same time.  Bar: each new rule >= 90 % of its same-run access-pattern roofline;
# adamw, nadam, radam no slower than torch.optim's foreach and fused versions where torch
# has them (torch 2.x has no fused NAdam or RAdam: the bench row says so).
#
# Needs no network.  torch is optional (not a dependency of adambench): run with a Python
# that has it for the torch columns, e.g. PYTHON=/path/to/venv/bin/python.  The load
# average is printed before and after (single-thread rows are timed by thread CPU time,
# but a busy machine still shares memory bandwidth); rerun when it is above the cores.
#
#   PYTHON=... bash scripts/bench-new-rules.sh            # results in ./results/bench-new-rules
#   OUT=/tmp/x SIZES=1e6 bash scripts/bench-new-rules.sh  # elsewhere, another size
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
OUT="${OUT:-$PWD/results/bench-new-rules}"
SIZES="${SIZES:-1e7}"
OPTIMIZERS="${OPTIMIZERS:-adam,sgd,adamw,nadam,radam,yogi,adabelief,lion}"
mkdir -p "$OUT"

echo "load before: $(cat /proc/loadavg 2>/dev/null || uptime)"
"$PY" -c "from adambench.cli.app import main; main()" bench -o "$OPTIMIZERS" \
    --sizes "$SIZES" --dtype float32 --threads 1 --out "$OUT"
echo "load after:  $(cat /proc/loadavg 2>/dev/null || uptime)"

# The table from the newest results file: B/param, GB/s, fraction of the roofline, and
# torch time / adambench time (> 1: adambench faster) as the ratio of medians and as the
# median of the per-repeat ratios (the repeats are interleaved, bench/timing.py).  "roof"
# is bench's fraction (the roofline's best time over the kernel's median time), "paired"
# the median over repeats of roofline time / kernel time in the same repeat, which a
# noisy machine moves less (both near 1: the kernel runs at its memory limit).
"$PY" - "$OUT" <<'EOF'
import json, sys
from pathlib import Path
import numpy as np

path = max(Path(sys.argv[1]).glob("bench-*.json"), key=lambda p: p.stat().st_mtime)
doc = json.loads(path.read_text())
rows = doc["rows"]
rel = doc.get("reliability", {})
print(f"\n{path}\nload average at start: {rel.get('load_at_start')} on {rel.get('cores')} cores")
print("ratio = torch time / adambench time (median ratio; median of per-repeat ratios)")
head = f"{'rule':10s} {'size':>5s} {'B/p':>4s} {'GB/s':>6s} {'roof':>6s} {'bar':>4s} {'paired':>6s}"
print(f"{head} {'torch-foreach':>15s} {'torch-fused':>15s}  flags")
for r in rows:
    if r["impl"] != "adambench":
        continue
    peers = {x["impl"]: x for x in rows if x["optimizer"] == r["optimizer"]
             and x["size"] == r["size"] and x["impl"].startswith("torch")}
    cols = []
    for impl in ("torch-foreach", "torch-fused"):
        x = peers.get(impl)
        if x is None:
            cols.append(f"{'-':>15s}")
            continue
        paired = np.median(np.asarray(x["samples_s"]) / np.asarray(r["samples_s"]))
        cols.append(f"{x['median_s'] / r['median_s']:>7.2f}; {paired:5.2f}")
    frac = r["fraction_of_roofline"]
    bpp = r["bytes_per_step"] // r["size"]
    ok = "ok" if frac is not None and frac >= 0.9 else "LOW"
    paired = 1.0 / np.median(r["norm_samples"])
    print(f"{r['optimizer']:10s} {r['size']:5.0e} {bpp:4d} {r['gbps']:6.1f} {frac:6.1%} {ok:>4s} "
          f"{paired:6.1%} "
          f"{' '.join(cols)}  {','.join(r.get('flags', [])) or '-'}")
EOF
