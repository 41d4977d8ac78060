#!/usr/bin/env bash
# The regret table of all 13 built-in rules (reports/regret-13-rules.md): reddi-synthetic
# and logistic at T = 1e6, the three Reddi problems at Reddi et al.'s betas (the problems
# set beta1/beta2 themselves, docs/theory.md §5.3), AdaBelief with the beta1 decay of its
# theorem, and a check of that theorem's hypothesis s_t <= s_{t+1} (docs/theory.md §8.3).
# About 5 minutes on 2 busy cores (measured 2026-12-02).  Results (JSON) and the tables
# (Markdown) land in $OUT (default /tmp/regret-13-rules), not in the repository.
#
#   scripts/regret-13-rules.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/regret-13-rules}
ADAMBENCH=${ADAMBENCH:-adambench}
mkdir -p "$OUT"

table() {  # table NAME ARGS...: one `adambench regret` run, its Markdown table in NAME.md
  local name=$1
  shift
  echo "== $name: adambench regret $*" >&2
  "$ADAMBENCH" regret "$@" --out "$OUT" --format md >"$OUT/$name.md"
}

# 1. The table: every rule (the default set), both problems, T = 1e6, 5 seeds.
table main -p reddi-synthetic,logistic --T 1e6 -s 5
# 2. The Reddi problems at their own betas: reddi (beta1 = 0, beta2 = 1/(1 + C^2)),
#    reddi-stochastic with 40 seeds (docs/theory.md §4.4: 5 do not decide it at 1e6),
#    reddi-synthetic again at T = 1e7 (one seed: the problem is deterministic).
table reddi -p reddi --T 1e6 -s 3
table reddi-stochastic -p reddi-stochastic --T 1e6 -s 40
table reddi-synthetic-1e7 -p reddi-synthetic --T 1e7 -s 1
# 3. AdaBelief under its theorem's conditions (alpha/sqrt(t), decaying beta1).
table decay -o adabelief,adam,amsgrad,yogi -p reddi-synthetic,logistic --T 1e6 -s 5 \
  --beta1-decay 0.999

# 4. Zhuang et al. Theorem 2.1 assumes s_{t,i} <= s_{t+1,i}; the engine does not record
#    it, so count here (the rule's reference step, clipped to F = [-1, 1]^d) the steps
#    where some s_{t,i} decreases, at the settings of the runs above.
python3 - <<'EOF' | tee "$OUT/s-monotone.txt"
import numpy as np

from adambench import make_optimizer
from adambench.problems.online import generate
from adambench.problems.online.registry import make_problem
from adambench.problems.streams import stream_key

T = 10_000
for pname, lr in (("reddi-synthetic", 0.5), ("logistic", 0.1)):
    prob = make_problem(pname)
    for decay in (1.0, 0.999):
        hp = {"lr": lr, "lr_schedule": "inv_sqrt", "beta1_decay": decay}
        if pname.startswith("reddi"):
            hp.update(beta1=0.9, beta2=0.99)
        opt = make_optimizer("adabelief", **hp)
        x = np.zeros(prob.d)
        st = opt.init(x)
        idx = np.empty((1, T, prob.nnz), np.int64)
        val = np.empty((1, T, prob.nnz))
        y = np.empty((1, T))
        keys = np.array([stream_key(0)], np.uint64)
        generate.gen_block(prob.family, keys, prob.params(0)[None], 1, idx, val, y)
        prev, down = np.zeros(prob.d), 0
        for k in range(T):
            a = np.zeros(prob.d)
            np.add.at(a, idx[0, k], val[0, k])
            z = float(a @ x)
            if prob.name == "logistic":
                df = -y[0, k] / (1.0 + np.exp(y[0, k] * z))
            else:
                df = 1.0
            opt.reference_step(x, df * a, st)
            np.clip(x, -prob.radius, prob.radius, out=x)
            s = st.buffers["s"]
            down += bool((s < prev).any())
            prev = s.copy()
        print(f"{pname} beta1_decay={decay}: s_t decreases on {down} of {T} steps")
EOF
echo "tables and results in $OUT" >&2
