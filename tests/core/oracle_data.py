"""What the independent-oracle tests share (not a test module).

``test_torch_reference.py``, ``test_torch_reference_decay.py`` and
``test_optax_reference.py`` compare adambench with trajectories that torch.optim or optax
produced (committed under ``tests/data``, made by the scripts of ``scripts/``).  Shared
here: reading such an npz file, running our rule along a gradient sequence, the error
measure, and the live reruns of a script's oracle.  Each test module keeps its own
mapping to our hyperparameters and its own pinned definitional differences.

Error measure (``rel_err``): at step t and coordinate i, |ours - oracle| divided by the
largest distance the oracle's coordinate i has moved from its start up to step t (a
coordinate that has not moved must match exactly).  This is relative to the optimizer's
own motion, stricter than |ours - oracle| / |oracle| whenever the parameters are larger
than the distance travelled, and it does not blow up where a parameter crosses zero.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import math
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import adambench

TOL = 1e-10
MODES = ("kernel", "reference")
FRESH_STEPS = 500

OursFor = Callable[[dict[str, Any]], tuple[str, dict[str, Any]]]


@functools.cache
def load_reference(path: Path, version_key: str) -> dict[str, Any]:
    """A committed oracle file: gradients, p0, cases and trajectories keyed by case name.

    ``version_key`` names the oracle's stored version (``torch_version``,
    ``optax_version``), returned under the same key as a string.
    """
    with np.load(path) as z:
        cases = json.loads(str(z["cases"]))
        traj = z["trajectories"]
        return {
            "grads": z["grads"],
            "p0": z["p0"],
            "cases": {c["name"]: c for c in cases},
            "traj": {c["name"]: traj[k] for k, c in enumerate(cases)},
            version_key: str(z[version_key]),
        }


def run_ours(
    name: str, hp: dict[str, Any], grads: np.ndarray, p0: np.ndarray, mode: str
) -> np.ndarray:
    """Our trajectory (steps, *p0.shape): row k = parameters after gradient ``grads[k]``.

    ``p0`` may be (d,) or (B, d); each gradient row is then given to every run.  The
    gradients are passed read-only: ``step`` must not need to write them.  ``mode`` is
    "kernel" (``opt.step``) or "reference" (``opt.reference_step``).
    """
    opt = adambench.make_optimizer(name, **hp)
    params = np.array(p0, dtype=np.float64)
    state = opt.init(params)
    step = opt.step if mode == "kernel" else opt.reference_step
    out = np.empty((grads.shape[0], *params.shape))
    for k in range(grads.shape[0]):
        g = np.array(np.broadcast_to(grads[k], params.shape), order="C")
        g.setflags(write=False)
        step(params, g, state)
        out[k] = params
    return out


def rel_err(ours: np.ndarray, ref: np.ndarray, p0: np.ndarray) -> float:
    """Largest |ours - ref| relative to the distance ref has moved so far (module doc)."""
    moved = np.maximum.accumulate(np.abs(ref - p0), axis=0)
    diff = np.abs(ours - ref)
    if not np.all(np.isfinite(diff)) or np.any(diff[moved == 0] != 0):
        return math.inf
    return float(np.max(diff[moved > 0] / moved[moved > 0], initial=0.0))


def ours_error(
    ours_for: OursFor,
    case: dict[str, Any],
    grads: np.ndarray,
    p0: np.ndarray,
    ref: np.ndarray,
    mode: str,
) -> tuple[str, float]:
    """Our rule mapped from ``case`` (by ``ours_for``), run on ``grads`` from ``p0``: a
    label "case (our name, mode)" and ``rel_err`` against the oracle's trajectory ``ref``."""
    name, hp = ours_for(case)
    ours = run_ours(name, hp, grads, p0, mode)
    return f"{case['name']} ({name}, {mode})", rel_err(ours, ref, p0)


def check_committed(ours_for: OursFor, data: dict[str, Any], case: str, mode: str) -> None:
    """Our rule, mapped by ``ours_for``, follows the committed trajectory of ``case`` to TOL."""
    cfg, ref = data["cases"][case], data["traj"][case]
    label, err = ours_error(ours_for, cfg, data["grads"], data["p0"], ref, mode)
    assert err <= TOL, f"{label}: relative error {err:.3g} > {TOL:g}"


# ---------------------------------------------------------------- live oracle reruns


@functools.cache
def load_script(path: Path) -> ModuleType:
    """A script of ``scripts/`` imported by path (it is not a package)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def live_committed(script: Path, oracle: str, data: dict[str, Any], case: str) -> np.ndarray:
    """The oracle (function ``oracle`` of ``script``) rerun on the committed gradients.

    The script's cases must be the committed ones, in the committed order.
    """
    module = load_script(script)
    assert module.CASES == list(data["cases"].values()), f"{script.name}: cases changed"
    return getattr(module, oracle)(data["cases"][case], data["grads"], data["p0"])


def check_live_committed(script: Path, oracle: str, data: dict[str, Any], case: str) -> None:
    """``live_committed`` follows the committed trajectory of ``case`` to TOL."""
    live = live_committed(script, oracle, data, case)
    err = rel_err(live, data["traj"][case], data["p0"])
    assert err <= TOL, f"{case}, live {oracle}: relative error {err:.3g}"


@functools.cache
def fresh_sequence(script: Path) -> dict[str, np.ndarray]:
    """Gradients and p0 from the script's generator on a seed the committed file did not use."""
    module = load_script(script)
    rng = np.random.default_rng(module.SEED + 1)
    grads = module.make_gradients(rng, FRESH_STEPS)
    return {"grads": grads, "p0": module.make_initial(rng)}


def check_live_fresh(script: Path, oracle: str, case: str, ours_for: OursFor, mode: str) -> None:
    """Our rule follows the oracle rerun live on ``fresh_sequence(script)`` to TOL."""
    cfg = next((c for c in load_script(script).CASES if c["name"] == case), None)
    assert cfg is not None, f"{script.name} has no case {case!r}"
    fresh = fresh_sequence(script)
    live = getattr(load_script(script), oracle)(cfg, fresh["grads"], fresh["p0"])
    label, err = ours_error(ours_for, cfg, fresh["grads"], fresh["p0"], live, mode)
    assert err <= TOL, f"{label}, fresh seed: relative error {err:.3g}"
