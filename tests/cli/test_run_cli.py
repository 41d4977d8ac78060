"""``adambench run`` and ``adambench ablate`` end to end through the real entry point
with tiny settings: results files, --json, and bad input -> exit 2, one line, no
results file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from adambench.results import read_json
from adambench.stats import paired_ranks

MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"


def run_cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
    )


def run_in_process(args, monkeypatch, capsys):
    """The real entry point in this process (fast for the many bad-input cases)."""
    from adambench.cli.app import main

    monkeypatch.setattr(sys, "argv", ["adambench", *args])
    monkeypatch.setenv("NO_COLOR", "1")
    with pytest.raises(SystemExit) as exit_info:
        main()
    out = capsys.readouterr()
    return exit_info.value.code, out.out, out.err


TINY = ["--tasks", "logreg,mlp", "--optimizers", "adam,sgd", "--epochs", "2", "--seeds", "2"]
TINY += ["--lr-grid", "0.01,0.1", "--width", "0.05"]


def test_run_tiny_end_to_end(tmp_path):
    proc = run_cli("run", *TINY, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    files = list(tmp_path.glob("run-*.json"))
    assert len(files) == 1
    doc = read_json(files[0], command="run")
    assert doc["config"]["epochs"] == 2 and doc["data"]["name"] == "digits"
    assert [t["task"]["name"] for t in doc["tasks"]] == ["logreg", "mlp"]
    for t in doc["tasks"]:
        for e in t["optimizers"]:
            assert len(e["grid"]) == 2
            for p in e["grid"]:
                assert len(p["train_loss_curves"]) == 2 and len(p["train_loss_curves"][0]) == 3
            assert e["chosen"]["lr"] in (0.01, 0.1)
            assert 0 <= e["timing"]["optimizer_share"] <= 1
        # ranks with ties by a paired t test across the 2 seeds of each chosen point
        assert t["ranking"]["test"] == "paired t test across seeds"
        assert t["ranking"]["level"] == 0.05 and t["ranking"]["seeds"] == 2
        entries = t["optimizers"]
        per_seed = {e["optimizer"]: e["chosen"]["final_train_loss_per_seed"] for e in entries}
        assert all(len(v) == 2 for v in per_seed.values())
        expected = paired_ranks(per_seed)
        for e in entries:
            got = {k: e[k] for k in ("rank", "rank_label", "better_than")}
            assert got == expected[e["optimizer"]]
            assert isinstance(e["rank"], int) and e["rank_label"].rstrip("=") == str(e["rank"])
    assert "logreg on digits" in proc.stdout and "mlp on digits" in proc.stdout
    assert "adam" in proc.stdout and "sgd" in proc.stdout
    text = " ".join(proc.stdout.split())
    assert (
        "#: 1 + the number of optimizers whose final training loss is lower by a paired t test "
        "across seeds at the 5% level; k= marks a tie" in text
    )


def test_run_json_is_the_results_document(tmp_path):
    args = ["--tasks", "cnn", "--optimizers", "adam", "--epochs", "1", "--seeds", "1"]
    proc = run_cli(
        "run", *args, "--lr-grid", "0.001", "--width", "0.05", "--json", "--out", str(tmp_path)
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "run" and doc["schema_version"] >= 1
    (t,) = doc["tasks"]
    assert t["task"]["name"] == "cnn" and t["optimizers"][0]["chosen"]["test_accuracy"] > 0
    assert len(list(tmp_path.glob("run-*.json"))) == 1
    # one seed: no test is possible, so no rank
    assert t["ranking"]["seeds"] == 1 and t["ranking"]["note"] == "ranking needs --seeds >= 2"
    e = t["optimizers"][0]
    assert (e["rank"], e["rank_label"], e["better_than"]) == (None, "?", [])


def test_run_with_one_seed_prints_unranked_rows(tmp_path):
    args = ["--tasks", "logreg", "--optimizers", "adam,sgd", "--epochs", "1", "--seeds", "1"]
    proc = run_cli("run", *args, "--lr-grid", "0.1", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    rows = [ln.split() for ln in proc.stdout.splitlines() if ln.split()[1:2] in (["adam"], ["sgd"])]
    assert sorted(r[1] for r in rows) == ["adam", "sgd"] and all(r[0] == "?" for r in rows), rows
    assert "?: ranking needs --seeds >= 2" in " ".join(proc.stdout.split())


def test_ablate_tiny_end_to_end(tmp_path):
    args = ["--task", "logreg", "--short", "1", "--long", "2", "--beta1", "0.9"]
    args += ["--beta2", "0.99,0.9999", "--log10-lr", "-2,-1"]
    proc = run_cli("ablate", "bias-correction", *args, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    (path,) = tmp_path.glob("ablate-*.json")
    doc = read_json(path, command="ablate")
    rows = doc["ablation"]["rows"]
    assert len(rows) == 4
    assert {"adam_short", "adam_long", "adam-nobias_short", "adam-nobias_long"} <= set(rows[0])
    assert len(rows[0]["adam_long_per_seed"]) == 3  # 3 seeds by default
    f = doc["ablation"]["findings"]
    assert f["seeds"] == [0, 1, 2] and len(f["tolerance_per_seed"]) == 3
    assert f["reproduced"] in ("yes", "no", "not decided")
    assert len(f["claims"]) == 3
    for c in f["claims"].values():
        assert c["status"] in ("holds", "does not hold", "not decided")
        assert [e["seed"] for e in c["per_seed"]] == [0, 1, 2]
    assert "Bias correction, logreg on digits" in proc.stdout
    out = " ".join(proc.stdout.split())  # the terminal wraps long lines
    assert "Tolerance per seed" in out and "seed 2:" in out
    for i, c in enumerate(f["claims"].values(), 1):
        text = c["claim"][:1].lower() + c["claim"][1:].rstrip(".")
        assert f"Claim {i} ({text}): {c['status']} (" in out
        assert f"seed 0 {c['per_seed'][0]['result']}:" in out
    assert f"Paper's finding (section 6.4) reproduced: {f['reproduced']}" in out


BAD_RUN = [
    (["--epochs", "0"], "--epochs"),
    (["--seeds", "0"], "--seeds"),
    (["--optimizers", "adam,lionx"], "lionx"),
    (["--tasks", "resnet"], "resnet"),
    (["--lr", "0.1,-1"], "--lr must"),
    (["--lr-grid", "nan"], "--lr must"),
    (["--lr", "fast"], "--lr must"),
    (["--batch-size", "0"], "--batch-size"),
    (["--dtype", "float16"], "--dtype"),
    (["--width", "0"], "--width"),
    (["--backend", "cupy"], "cupy"),
    (["--backend", "tpu"], "--backend"),
    (["--data", "mnist"], "--data-dir"),
    (["--data", "imagenet"], "--data"),
    (["--threads", "0"], "--threads"),
    (["--beta1", "1.0"], "beta1 must be in [0, 1)"),
    (["--beta2", "-0.1"], "beta2 must be in [0, 1)"),
    (["--beta1", "high"], "--beta1"),
    (["--optimizers", "sgd,adagrad", "--beta1", "0.9"], "none of the selected optimizers"),
]


@pytest.mark.parametrize(("args", "phrase"), BAD_RUN, ids=[" ".join(a) for a, _ in BAD_RUN])
def test_run_bad_input_exit_2_no_file(tmp_path, monkeypatch, capsys, args, phrase):
    if args == ["--backend", "cupy"]:
        from adambench.core.backend import cuda_status

        if cuda_status()[0]:
            pytest.skip("a CUDA device is usable here: --backend cupy is not bad input")
    code, out, err = run_in_process(
        ["run", *args, "--out", str(tmp_path / "out")], monkeypatch, capsys
    )
    assert code == 2, err
    assert out == "" and "Traceback" not in err
    assert err.startswith("error: ") and "\n" not in err.strip() and phrase in err, err
    assert not (tmp_path / "out").exists()


def test_run_missing_data_files_exit_2_naming_the_file(tmp_path):
    (tmp_path / "mnist").mkdir()
    proc = run_cli(
        "run",
        "--data",
        "mnist",
        "--data-dir",
        str(tmp_path / "mnist"),
        "--out",
        str(tmp_path / "o"),
    )
    assert proc.returncode == 2 and "train-images-idx3-ubyte" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    bad = tmp_path / "x.svm"
    bad.write_text("garbage\n")
    proc = run_cli("run", "--data", f"libsvm:{bad}", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "x.svm is not a valid LIBSVM file" in proc.stderr
    assert not (tmp_path / "o").exists()


BAD_ABLATE = [
    (["bias-correction", "--beta2", "1"], "--beta2"),
    (["bias-correction", "--beta1", "-0.1"], "--beta1"),
    (["bias-correction", "--short", "5", "--long", "3"], "--long"),
    (["bias-correction", "--log10-lr", "3"], "--log10-lr"),
    (["bias-correction", "--task", "gpt"], "--problems"),
    (["bias-correction", "-p", "mlp,vae"], "one task"),
    (["bias-correction", "--lr", "20"], "--lr"),
    (["bias-correction", "--lr", "0.01", "--log10-lr", "-2"], "give only one"),
    (["warmup"], "unknown study"),
]


@pytest.mark.parametrize(("args", "phrase"), BAD_ABLATE, ids=[" ".join(a) for a, _ in BAD_ABLATE])
def test_ablate_bad_input_exit_2_no_file(tmp_path, monkeypatch, capsys, args, phrase):
    code, out, err = run_in_process(
        ["ablate", *args, "--out", str(tmp_path / "out")], monkeypatch, capsys
    )
    assert code == 2 and out == "" and "Traceback" not in err
    assert err.startswith("error: ") and "\n" not in err.strip() and phrase in err, err
    assert not (tmp_path / "out").exists()


def test_help_documents_every_option():
    for cmd in ("run", "ablate"):
        proc = run_cli(cmd, "--help")
        assert proc.returncode == 0
        for opt in (
            "--epochs" if cmd == "run" else "--short",
            "--seeds",
            "--dtype",
            "--backend",
            "--data-dir",
            "--json",
            "--out",
        ):
            assert opt in proc.stdout, (cmd, opt)


def test_cli_optimizer_names_match_the_engine():
    from adambench.bench.config import DEFAULT_OPTIMIZERS
    from adambench.cli.run import optimizer_names
    from adambench.core.registry import RULES
    from adambench.experiments.training import OPTIMIZERS

    assert optimizer_names() == OPTIMIZERS == DEFAULT_OPTIMIZERS == tuple(RULES)
    assert OPTIMIZERS == (
        "adam", "adamax", "adagrad", "rmsprop-momentum", "adam-nobias", "amsgrad", "sgd",
        "adamw", "nadam", "radam", "yogi", "adabelief", "lion",
    )  # fmt: skip


def test_run_beta_grids_search_lr_x_beta1_x_beta2_where_the_rule_has_them(tmp_path):
    args = ["--tasks", "logreg", "--optimizers", "adam,rmsprop-momentum", "--epochs", "2"]
    args += ["--seeds", "2", "--lr-grid", "0.01,0.1", "--beta1", "0.5,0.9"]
    args += ["--beta2", "0.99,0.999", "--json", "--out", str(tmp_path)]
    proc = run_cli("run", *args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["config"]["beta1_grid"] == [0.5, 0.9]
    entries = {e["optimizer"]: e for e in doc["tasks"][0]["optimizers"]}
    adam, rms = entries["adam"], entries["rmsprop-momentum"]
    # adam: 2 lr x 2 beta1 x 2 beta2 points, 2 seeds each; rmsprop has no beta1/beta2.
    points = {(g["lr"], g["beta1"], g["beta2"]) for g in adam["grid"]}
    assert len(points) == 8 and adam["runs"] == 16
    assert rms["runs"] == 4 and all("beta1" not in g for g in rms["grid"])
    # The chosen point is the grid point with the lowest mean final loss, betas included.
    best = min(adam["grid"], key=lambda g: g["mean_final_train_loss"])
    assert {k: adam["chosen"][k] for k in ("lr", "beta1", "beta2")} == {
        k: best[k] for k in ("lr", "beta1", "beta2")
    }
    # Different betas really train differently (the grid is not ignored).
    finals = {round(g["mean_final_train_loss"], 12) for g in adam["grid"]}
    assert len(finals) == 8
