"""The phase section of a report: heat maps of a map's verdicts, R(T)/T and final iterate.

Each cell of ``adambench phase`` results (``experiments/phase.py``) is drawn at its grid
point, its edges halfway to the neighbours (geometric halfway on a log axis).  Verdict
classes take fixed colour-blind-safe colours (``figures.OKABE_ITO``): linear vermillion,
sublinear bluish green, undetermined light grey, diverged black.  R(T)/T and the final
iterate use viridis / cividis (perceptually uniform, readable with the common colour-vision
deficiencies); a diverged cell is left blank there.  The theory's curves (results
``theory``) are drawn over every panel in black, one dash style each.  Several results
files (``overlay.py``) make one set of figures per file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from .figures import LIGHT_GREY, OKABE_ITO, Plot, new_figure
from .tables import Table, num

CLASS_COLOURS = {
    "linear": OKABE_ITO["vermillion"],
    "sublinear": OKABE_ITO["bluish green"],
    "undetermined": LIGHT_GREY,
    "diverged": OKABE_ITO["black"],
}
_DASHES = ("-", "--", ":", "-.")


def check_phase(c: Any, doc: dict[str, Any]) -> None:
    """Check the layout a phase report reads (``c`` is load._Checker)."""
    cfg = c.get(doc, "config", dict, "")
    for ax in ("x", "y"):
        a = c.get(cfg, ax, dict, "config")
        c.get(a, "name", str, f"config.{ax}")
        c.numbers(a, "values", f"config.{ax}")
    cells = c.items(doc, "cells", "")
    if not cells:
        c.fail("cells", "is empty")
    nx, ny = len(cfg["x"]["values"]), len(cfg["y"]["values"])
    for i, r in enumerate(cells):
        p = f"cells[{i}]"
        ix, iy = c.get(r, "ix", int, p), c.get(r, "iy", int, p)
        if not (0 <= ix < nx and 0 <= iy < ny):
            c.fail(p, f"is outside the {nx} x {ny} grid")
        cls = c.get(r, "class", str, p)
        if cls not in CLASS_COLOURS:
            c.fail(p + ".class", f"must be one of {', '.join(CLASS_COLOURS)}")
        for key in ("R_over_T", "x_final"):
            c.get(r, key, (int, float), p, optional=True)
    for i, t in enumerate(c.items(doc, "theory", "", optional=True) or []):
        c.get(t, "label", str, f"theory[{i}]")
        for j, pt in enumerate(c.get(t, "points", list, f"theory[{i}]")):
            ok = isinstance(pt, list) and len(pt) == 2
            if not ok or not all(isinstance(v, (int, float)) for v in pt):
                c.fail(f"theory[{i}].points[{j}]", "should be a pair of numbers")


def _edges(values: list[float], log: bool) -> np.ndarray:
    import numpy as np

    v = np.log(values) if log else np.asarray(values, dtype=np.float64)
    if v.size == 1:
        e = np.array([v[0] - 0.5, v[0] + 0.5]) if not log else np.array([v[0] - 0.1, v[0] + 0.1])
    else:
        mid = (v[1:] + v[:-1]) / 2
        e = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    return np.exp(e) if log else e


def _grid(doc: dict[str, Any], key: str) -> np.ndarray:
    import numpy as np

    cfg = doc["config"]
    out = np.full((len(cfg["y"]["values"]), len(cfg["x"]["values"])), np.nan)
    for r in doc["cells"]:
        v = r.get(key)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out[r["iy"], r["ix"]] = v
    return out


def _axes(ax: Any, doc: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    cfg = doc["config"]
    xe = _edges(cfg["x"]["values"], bool(cfg["x"].get("log")))
    ye = _edges(cfg["y"]["values"], bool(cfg["y"].get("log")))
    if cfg["x"].get("log"):
        ax.set_xscale("log")
    if cfg["y"].get("log"):
        ax.set_yscale("log")
    ax.set_xlabel(cfg["x"]["name"])
    ax.set_ylabel(cfg["y"]["name"])
    ax.grid(False)
    return xe, ye


def _theory(ax: Any, doc: dict[str, Any], xe: np.ndarray, ye: np.ndarray) -> None:
    import numpy as np

    for i, t in enumerate(doc.get("theory") or []):
        pts = np.asarray(t["points"], dtype=np.float64).reshape(-1, 2)
        if len(pts):
            ax.plot(pts[:, 0], pts[:, 1], color=OKABE_ITO["black"], lw=1.6,
                    ls=_DASHES[i % len(_DASHES)], label=t["label"])  # fmt: skip
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])


def _title(doc: dict[str, Any]) -> str:
    cfg = doc["config"]
    tag = f" · {doc['series']}" if doc.get("series") else ""
    return (
        f"{cfg.get('optimizer', '?')} on {cfg.get('problem', '?')}, T = {cfg.get('T', '?'):,}{tag}"
    )


def _maps(doc: dict[str, Any], suffix: str) -> list[Plot]:
    import numpy as np
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    fig = new_figure(11.0, 4.6)
    left, right = fig.subplots(1, 2)
    xe, ye = _axes(left, doc)
    names = list(CLASS_COLOURS)
    codes = np.full(_grid(doc, "R_over_T").shape, np.nan)
    for r in doc["cells"]:
        codes[r["iy"], r["ix"]] = names.index(r["class"])
    cmap = ListedColormap([CLASS_COLOURS[n] for n in names])
    left.pcolormesh(xe, ye, codes, cmap=cmap, norm=BoundaryNorm(np.arange(-0.5, 4), 4))
    _theory(left, doc, xe, ye)
    handles = [Patch(color=CLASS_COLOURS[n], label=n) for n in names]
    handles += left.get_legend_handles_labels()[0]
    left.legend(handles=handles, loc="lower left", fontsize=7, framealpha=0.9)
    left.set_title("verdict per cell")
    _axes(right, doc)
    rt = _grid(doc, "R_over_T")
    mesh = right.pcolormesh(xe, ye, np.ma.masked_invalid(rt), cmap="viridis")
    fig.colorbar(mesh, ax=right, label="R(T)/T (mean over seeds)")
    _theory(right, doc, xe, ye)
    right.set_title("R(T)/T")
    fig.suptitle(_title(doc))
    cfg = doc["config"]
    stem = f"phase-{cfg.get('optimizer', 'rule')}-{cfg.get('problem', 'problem')}{suffix}"
    caption = (
        "Left: each cell's regret verdict (linear, sublinear, undetermined or diverged); "
        "right: R(T)/T. Black lines: the theory's conditions (legend). "
        f"{len(cfg.get('seeds', []))} seed(s) per cell."
    )
    plots = [Plot(stem, "Phase map: " + _title(doc), caption, fig)]
    xf = _grid(doc, "x_final")
    if np.isfinite(xf).any():
        fig2 = new_figure(8.4, 4.6)
        ax = fig2.subplots()
        _axes(ax, doc)
        mesh = ax.pcolormesh(xe, ye, np.ma.masked_invalid(xf), cmap="cividis")
        fig2.colorbar(mesh, ax=ax, label="x_{T+1}, first coordinate (mean over seeds)")
        _theory(ax, doc, xe, ye)
        if doc.get("theory"):
            ax.legend(loc="lower left", fontsize=7, framealpha=0.9)
        ax.set_title("final iterate · " + _title(doc))
        plots.append(Plot(stem + "-iterate", "Final iterate: " + _title(doc),
                          "Where each cell's runs ended (first coordinate).", fig2))  # fmt: skip
    return plots


def plots(doc: dict[str, Any], suffix: str = "") -> list[Plot]:
    """The heat maps of one results document, or of each file of an overlay."""
    docs = doc.get("maps") or [doc]
    out = []
    for i, d in enumerate(docs):
        out += _maps(d, suffix + (f"-{i + 1}" if len(docs) > 1 else ""))
    return out


def tables(doc: dict[str, Any]) -> list[Table]:
    """Cells per verdict and the boundaries along each axis."""
    counts = doc.get("counts") or {}
    total = sum(counts.values()) or 1
    out = [Table("Cells per verdict", ["verdict", "cells", "share"],
                 [[k, str(v), f"{100 * v / total:.0f}%"] for k, v in counts.items()])]  # fmt: skip
    rows = []
    cfg = doc["config"]
    for key, along, other in (("along_x", cfg["x"]["name"], cfg["y"]["name"]),
                              ("along_y", cfg["y"]["name"], cfg["x"]["name"])):  # fmt: skip
        for e in (doc.get("boundaries") or {}).get(key, []):
            rows.append([along, f"{other} = {num(e['at'])}", f"{num(e['between'][0])} .. "
                         f"{num(e['between'][1])}", f"{e['from']} -> {e['to']}"])  # fmt: skip
    if rows:
        out.append(Table("Boundaries between linear and sublinear cells",
                         ["along", "at", "between", "change"], rows))  # fmt: skip
    return out


def summary(doc: dict[str, Any]) -> list[str]:
    """What the map shows, in a few lines: the verdicts, the Theorem 3 region, boundaries."""
    cfg = doc["config"]
    counts = doc.get("counts") or {}
    total = sum(counts.values())
    parts = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    out = [f"{cfg['optimizer']} on {cfg['problem']} over {cfg['x']['name']} x "
           f"{cfg['y']['name']}: {total} cells at T = {cfg['T']:,}: {parts}."]  # fmt: skip
    region = doc.get("theorem3_region")
    if region:
        for side, what in (("inside", "beta1 < sqrt(beta2)"), ("outside", "beta1 >= sqrt(beta2)")):
            n = sum(region[side].values())
            if n:
                out.append(f"{what} (Reddi et al. Theorem 3's region when inside): "
                           f"{region[side]['linear']} of {n} cells linear, "
                           f"{region[side]['sublinear']} sublinear.")  # fmt: skip
    if counts.get("undetermined"):
        out.append(f"{counts['undetermined']} cells undetermined: more seeds or a longer T "
                   "would decide them (each cell's reason is in the results).")  # fmt: skip
    return out
