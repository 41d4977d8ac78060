#!/usr/bin/env bash
# Make one example report per command under reports/examples/ (regret, bench, run,
# ablate), each from a run small enough that all four take a few minutes on a 2-core
# machine (about 2 minutes measured while other work ran), and two of bench on parameter
# lists (bench-lists-grid, bench-lists-gpt2: about 3 more minutes; torch.optim peers
# where torch is installed).  The results files are not
# kept (the bench one alone is ~200 KB); set KEEP_RESULTS=DIR to keep them there.
#
#   scripts/make-example-reports.sh            # all four
#   scripts/make-example-reports.sh regret run # some of them
#   scripts/make-example-reports.sh bench-lists-grid bench-lists-gpt2
#   scripts/make-example-reports.sh phase      # five phase maps (about 8 minutes)
#
# Plots are PNG at 72 dpi (one format, embedded in report.html) to keep the folder small.
set -euo pipefail

cd "$(dirname "$0")/.."
ADAMBENCH=${ADAMBENCH:-adambench}
DEST=reports/examples
REPORT_OPTS=(--plot-format png --dpi 72)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$DEST"

want() { [ ${#SELECTED[@]} -eq 0 ] || [[ " ${SELECTED[*]} " == *" $1 "* ]]; }
SELECTED=("$@")

report() {  # report COMMAND RESULTS: build the report (and keep the results if asked)
    local command=$1 results=$2
    "$ADAMBENCH" report "$results" --out "$DEST/$command" "${REPORT_OPTS[@]}"
    if [ -n "${KEEP_RESULTS:-}" ]; then
        mkdir -p "$KEEP_RESULTS"
        cp "$results" "$KEEP_RESULTS/$command.json"
    fi
}

if want regret; then
    echo "== regret: Reddi et al.'s counterexample and online logistic regression, T = 1e5"
    "$ADAMBENCH" regret --problems reddi,logistic --optimizers adam,amsgrad,adagrad,sgd \
        --T 1e5 --seeds 3 --out "$work/regret"
    report regret "$(ls "$work"/regret/regret-*.json)"
fi

if want bench; then
    echo "== bench: the quick gate's sizes and more, with the peers, one thread"
    "$ADAMBENCH" bench --quick --peers --sizes 1e4,1e5,1e6,1e7 \
        --optimizers adam,amsgrad,adagrad,sgd --out "$work/bench"
    report bench "$(ls "$work"/bench/bench-*.json)"
fi

if want bench-lists-grid; then
    echo "== bench: the tensor-count x size grid, float32 and mixed, one thread"
    "$ADAMBENCH" bench -o adam,adamw --tensors 100,1000 --numel 1024,65536 \
        --dtype float32,mixed --threads 1 --repeats 7 --budget 3 --out "$work/lists-grid"
    report bench-lists-grid "$(ls "$work"/lists-grid/bench-*.json)"
fi

if want bench-lists-gpt2; then
    echo "== bench: the gpt2-124m parameter list, float32, mixed and bfloat16, one thread"
    "$ADAMBENCH" bench -o adam --shapes gpt2-124m --dtype float32,mixed,bfloat16 \
        --threads 1 --repeats 7 --budget 25 --out "$work/lists-gpt2"
    report bench-lists-gpt2 "$(ls "$work"/lists-gpt2/bench-*.json)"
fi

if want phase; then
    echo "== phase: Adam, AMSGrad, Yogi, AdaBelief on reddi-stochastic (beta1 x beta2), Adam on reddi (beta2 x C)"
    for opt in adam amsgrad yogi adabelief; do
        "$ADAMBENCH" phase -p reddi-stochastic -o "$opt" --x beta1=0:0.99:12 \
            --y beta2=0.5:0.9999:12 --T 1e7 --seeds 10 --out "$work/phase"
    done
    "$ADAMBENCH" phase -p reddi -o adam --x beta2=0.01:0.3:20 --y C=2.5:10:16 --hp beta1=0 \
        --T 1e5 --seeds 1 --out "$work/phase"
    # shellcheck disable=SC2046
    "$ADAMBENCH" report $(ls "$work"/phase/phase-*.json) --out "$DEST/phase" "${REPORT_OPTS[@]}"
    if [ -n "${KEEP_RESULTS:-}" ]; then
        mkdir -p "$KEEP_RESULTS" && cp "$work"/phase/phase-*.json "$KEEP_RESULTS/"
    fi
fi

if want run; then
    echo "== run: logreg and mlp on the bundled digits, 4 optimizers, 6 epochs, 2 seeds"
    "$ADAMBENCH" run --problems logreg,mlp --optimizers adam,amsgrad,adagrad,sgd \
        --epochs 6 --seeds 2 --out "$work/run"
    report run "$(ls "$work"/run/run-*.json)"
fi

if want ablate; then
    echo "== ablate: bias correction on a small VAE, budgets 3 and 10 epochs"
    "$ADAMBENCH" ablate bias-correction --short 3 --long 10 --width 0.2 --out "$work/ablate"
    report ablate "$(ls "$work"/ablate/ablate-*.json)"
fi

du -sh "$DEST"/*
