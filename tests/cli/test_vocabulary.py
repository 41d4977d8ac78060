"""One command-line vocabulary across every command (adambench/cli/vocabulary.py, README
"Command-line vocabulary").

The click commands Typer builds (``typer.main.get_command``) are introspected against a
table written here, independently of the declarations: each shared concept has its
canonical name and short flag wherever it appears, old spellings parse to the same
value, list options take repeats, comma lists and both, ``--help`` shows no ``<bool>``,
``-V`` prints the version and shell completion is on.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

import adambench
from adambench.cli import vocabulary as vocab
from adambench.cli.app import app

COMMANDS = ("list", "bench", "compare", "run", "ablate", "regret", "sweep", "report")

# concept -> (canonical long name, short flag or None, old spellings still accepted)
CONCEPTS = {
    "optimizers": ("--optimizers", "-o", {"--optimizer"}),
    "problems": ("--problems", "-p", {"--problem"}),
    "seeds": ("--seeds", "-s", set()),
    "seed": ("--seed", None, set()),
    "lr": ("--lr", None, set()),
    "T": ("--T", "-T", set()),
    "epochs": ("--epochs", "-e", set()),
    "dim": ("--dim", "-d", set()),
    "batch_size": ("--batch-size", "-b", set()),
    "jobs": ("--jobs", "-j", set()),
}
TRAINING_TASK_ALIASES = {"--tasks", "--task", "-t"}  # run and ablate's old task options

# Which command has which concept (from the README's table).
HAS = {
    "bench": {"optimizers", "seed"},
    "run": {"optimizers", "problems", "seeds", "seed", "lr", "epochs", "batch_size"},
    "ablate": {"problems", "seeds", "seed", "lr", "batch_size"},
    "regret": {"optimizers", "problems", "seeds", "seed", "lr", "T", "dim"},
    "sweep": {"jobs"},
}
# Per command, old spellings beyond CONCEPTS' (the seed and lr aliases of their commands).
EXTRA_ALIASES = {
    ("run", "problems"): TRAINING_TASK_ALIASES,
    ("ablate", "problems"): TRAINING_TASK_ALIASES,
    ("run", "lr"): {"--lr-grid"},
    ("regret", "lr"): {"--lr-grid"},
    ("ablate", "lr"): {"--lr-grid"},
    ("run", "seed"): {"--seed-start"},
    ("ablate", "seed"): {"--seed-start"},
    ("regret", "seed"): {"--seed-start"},
}


@pytest.fixture(scope="module")
def group():
    return typer.main.get_command(app)


def _option(cmd, name: str):
    found = [p for p in cmd.params if name in getattr(p, "opts", [])]
    assert len(found) <= 1, (cmd.name, name)
    return found[0] if found else None


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_is_built_with_the_vocabulary_command_class(group, command):
    assert isinstance(group.commands[command], vocab.Command)


@pytest.mark.parametrize("command", sorted(HAS))
def test_shared_concepts_have_the_canonical_names_and_short_flags(group, command):
    cmd = group.commands[command]
    for concept in HAS[command]:
        long, short, old = CONCEPTS[concept]
        p = _option(cmd, long)
        assert p is not None, f"{command}: no {long}"
        assert p.opts[0] == long, (command, p.opts)
        if short is not None:
            assert short in p.opts, (command, long, p.opts)
        for alias in old | EXTRA_ALIASES.get((command, concept), set()):
            assert alias in p.opts, (command, long, alias)


@pytest.mark.parametrize("command", COMMANDS)
def test_no_command_spells_a_shared_concept_another_way(group, command):
    """Any short flag or old spelling of a concept belongs to that concept's option."""
    cmd = group.commands[command]
    owner = {}
    for long, short, old in CONCEPTS.values():
        for name in old | ({short} if short else set()):
            owner[name] = long
    for name in TRAINING_TASK_ALIASES:
        owner[name] = "--problems"
    owner["--lr-grid"], owner["--seed-start"] = "--lr", "--seed"
    for p in cmd.params:
        for name in getattr(p, "opts", []):
            if name in owner:
                assert owner[name] in p.opts, (command, name, p.opts)


def _parsed(group, command: str, args: list[str]) -> dict:
    cmd = group.commands[command]
    study = ["bias-correction"] if command == "ablate" else []  # its required argument
    return cmd.make_context(command, [*study, *args]).params


LIST_FORMS = [
    ["-o", "adam", "-o", "sgd", "-o", "amsgrad"],
    ["-o", "adam,sgd,amsgrad"],
    ["--optimizers", "adam,sgd", "-o", "amsgrad"],
    ["--optimizer", "adam", "--optimizers", "sgd,amsgrad"],
    ["-o", " adam , sgd", "-o", "amsgrad,adam"],  # spaces and a repeat dropped
]


@pytest.mark.parametrize("command", ["run", "regret", "bench"])
@pytest.mark.parametrize("args", LIST_FORMS, ids=[" ".join(a) for a in LIST_FORMS])
def test_optimizer_lists_take_repeats_commas_and_both(group, command, args):
    params = _parsed(group, command, args)
    assert vocab.names(
        "--optimizers", params["optimizers" if command != "regret" else "optimizer"]
    ) == [
        "adam",
        "sgd",
        "amsgrad",
    ]


PROBLEM_FORMS = {
    "run": [["-p", "mlp", "-p", "cnn"], ["-p", "mlp,cnn"], ["--tasks", "mlp,cnn"],
            ["-t", "mlp", "--problem", "cnn"], ["--task", "mlp", "--problems", "cnn"]],
    "regret": [["-p", "hinge", "-p", "reddi"], ["--problems", "hinge,reddi"],
               ["--problem", "hinge", "-p", "reddi"]],
}  # fmt: skip


@pytest.mark.parametrize(
    ("command", "args"), [(c, a) for c, forms in PROBLEM_FORMS.items() for a in forms]
)
def test_problem_aliases_parse_to_the_same_list(group, command, args):
    key = "tasks" if command == "run" else "problem"
    want = ["mlp", "cnn"] if command == "run" else ["hinge", "reddi"]
    assert vocab.names("--problems", _parsed(group, command, args)[key]) == want


@pytest.mark.parametrize("command", ["run", "ablate", "regret"])
def test_seed_and_lr_aliases_parse_to_the_same_value(group, command):
    key = "seed_start" if command == "regret" else "first_seed"
    lr_key = "lr" if command != "run" else "lr_grid"
    for args in (["--seed", "7"], ["--seed-start", "7"]):
        assert _parsed(group, command, args)[key] == 7
    for args in (["--lr", "0.1", "--lr", "0.01"], ["--lr-grid", "0.1,0.01"],
                 ["--lr", "0.1", "--lr-grid", "0.01"]):  # fmt: skip
        assert vocab.names("--lr", _parsed(group, command, args)[lr_key]) == ["0.1", "0.01"]
    assert _parsed(group, command, ["-s", "4"])["seeds"] == 4


def test_names_rejects_an_empty_list():
    with pytest.raises(ValueError, match="--optimizers needs at least one value"):
        vocab.names("--optimizers", [",", " "])
    assert vocab.names("--optimizers", None) is None


MAIN = "import sys; from adambench.cli.app import main; sys.argv[0] = 'adambench'; main()"


def cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200", TERM="dumb")
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args], capture_output=True, text=True, env=env,
        timeout=600, stdin=subprocess.DEVNULL, cwd=cwd,
    )  # fmt: skip


def test_regret_lists_reach_the_run_the_same_way(tmp_path):
    """End to end: repeats and a comma list give the same problems, optimizers and lr grid."""
    base = ["regret", "--T", "100", "-s", "1", "--json", "--out", str(tmp_path)]
    a = cli(*base, "-p", "hinge", "-o", "adam", "-o", "sgd", "--lr", "0.1", "--lr", "0.01")
    b = cli(*base, "--problem", "hinge", "--optimizer", "adam,sgd", "--lr-grid", "0.1,0.01")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    ca, cb = json.loads(a.stdout)["config"], json.loads(b.stdout)["config"]
    assert ca["optimizers"] == cb["optimizers"] == ["adam", "sgd"]
    assert ca["problems"] == cb["problems"] == ["hinge"]
    pa = sorted((r["optimizer"], r["point"]) for r in json.loads(a.stdout)["rows"])
    pb = sorted((r["optimizer"], r["point"]) for r in json.loads(b.stdout)["rows"])
    assert pa == pb and len(pa) == 4  # 2 optimizers x 2 learning rates


def test_regret_seed_and_seed_start_are_one_option(tmp_path):
    base = ["regret", "--T", "100", "-p", "hinge", "-o", "sgd", "-s", "2", "--json"]
    a = cli(*base, "--seed", "5", "--out", str(tmp_path))
    b = cli(*base, "--seed-start", "5", "--out", str(tmp_path))
    assert json.loads(a.stdout)["seeds"] == json.loads(b.stdout)["seeds"] == [5, 6]
    bad = cli(*base, "--seed", "-1", "--out", str(tmp_path / "o"))
    assert bad.returncode == 2 and bad.stderr.startswith("error: --seed must be"), bad.stderr


def test_ablate_lr_is_learning_rates_and_log10_lr_the_old_spelling(tmp_path):
    base = ["ablate", "bias-correction", "-p", "logreg", "--short", "1", "--long", "1"]
    base += ["-s", "1", "--beta1", "0.9", "--beta2", "0.99", "--width", "0.05", "--json"]
    a = cli(*base, "--lr", "0.01,0.1", "--out", str(tmp_path))
    b = cli(*base, "--log10-lr", "-2,-1", "--out", str(tmp_path))
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    la = json.loads(a.stdout)["config"]["log10_lr"]
    lb = json.loads(b.stdout)["config"]["log10_lr"]
    assert la == lb == [-2.0, -1.0]  # the results document keeps its field
    both = cli(*base, "--lr", "0.01", "--log10-lr", "-2", "--out", str(tmp_path / "o"))
    assert both.returncode == 2 and "give only one" in both.stderr
    assert "--log10-lr" not in cli("ablate", "--help").stdout  # hidden: the old spelling


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_shows_no_bool_type_and_only_canonical_names(command):
    args = ["--help"] if command is None else [command, "--help"]
    res = CliRunner().invoke(app, args, env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output
    for line in res.output.splitlines():  # aliases only inside "(Also: ...)"
        cells = line.strip("│ ").split()
        assert not (cells and cells[0].rstrip(",") in vocab.ALIASES), line


def test_help_names_the_aliases():
    out = CliRunner().invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    out = " ".join(out.replace("│", " ").split())  # the help text as one line
    assert "(Also: --problem, --tasks, --task, -t.)" in out
    assert "(Also: --lr-grid.)" in out


@pytest.mark.parametrize("flag", ["-V", "--version"])
def test_version_short_and_long(flag):
    proc = cli(flag)
    assert proc.returncode == 0 and proc.stdout.strip() == f"adambench {adambench.__version__}"


def test_completion_options_exist(group):
    ctx = group.make_context("adambench", ["list"])
    names = {o for p in group.get_params(ctx) for o in getattr(p, "opts", [])}
    assert {"--install-completion", "--show-completion", "-V", "--version", "-h"} <= names


SHELLS = [("bash", "complete -o"), ("zsh", "#compdef"), ("fish", "complete --command adambench")]


@pytest.mark.parametrize(("shell", "marker"), SHELLS)
def test_show_completion_for_a_named_shell_needs_no_terminal(shell, marker):
    proc = cli("--show-completion", shell)  # stdin is /dev/null, no terminal
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout and "_ADAMBENCH_COMPLETE" in proc.stdout


def test_show_completion_unknown_shell_is_one_line_exit_2():
    proc = cli("--show-completion", "tcsh")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        "error: --show-completion: unknown shell 'tcsh'; choose from: bash, zsh, fish, "
        "powershell, pwsh"
    ]


def test_completion_completes_canonical_option_names():
    env = dict(os.environ, _ADAMBENCH_COMPLETE="complete_bash", COMP_WORDS="adambench run --prob",
               COMP_CWORD="2")  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", MAIN], capture_output=True, text=True, env=env,
                          timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
    assert proc.returncode == 0 and "--problems" in proc.stdout.split()


def _shape(doc):
    """The plan without its measured numbers (run's estimate times real steps)."""
    if isinstance(doc, dict):
        return {k: _shape(v) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_shape(v) for v in doc]
    return None if isinstance(doc, float) else doc


@pytest.mark.parametrize("command", ["run", "regret", "bench"])
def test_optimizers_all_means_every_built_in_rule(command):
    """``-o all`` is what the help's "default: all" says: the same plan as no ``-o``."""
    from adambench.core.registry import RULES

    runner = CliRunner()
    base = [command, "--dry-run", "--json"]
    if command == "regret":
        base += ["--T", "100"]
    given = runner.invoke(app, [*base, "-o", "all"])
    default = runner.invoke(app, base)
    assert given.exit_code == 0 == default.exit_code, given.output
    given_doc, default_doc = json.loads(given.stdout), json.loads(default.stdout)
    assert given_doc.pop("estimate", {}).get("runs") == default_doc.pop("estimate", {}).get("runs")
    assert _shape(given_doc) == _shape(default_doc)
    for name in RULES:
        assert name in given.stdout


def test_regret_problems_all_means_every_online_problem():
    from adambench.problems import catalog

    online = [n for n, e in catalog.entries().items() if e.kind == catalog.ONLINE]
    r = CliRunner().invoke(app, ["regret", "--dry-run", "--T", "100", "-o", "sgd", "-p", "all"])
    assert r.exit_code == 0, r.output
    for name in online:
        assert f"{name} (d =" in r.stdout
