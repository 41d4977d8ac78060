"""The lanes loop's generated source (``lanes.py`` compiles it): the loop nest over a
task's steps and runs, and the straight-line body of the loop over lanes, generated for a
problem's d, nnz, projection and loss form, so that LLVM vectorises it across runs.

Invariant: the body performs ``cpu.run_block``'s operations for one run in
``run_block``'s order (``lanes.py``'s docstring); only the loop nest differs.  Pure
functions of their arguments, returning Python source text.
"""

from __future__ import annotations

from ...problems.online.base import PROJ_BOX

_SOURCE = """
def NAME(idx, val, yv, table, cols, base, const, n_live, t0, lr, inv_sqrt, x, s0, s1, s2, radius,
         loss_sum, loss_comp, gsq, gmax2, gmaxinf, xmin, xmax, tracked, diverged, q0, q1):
    S, d, P = x.shape
    n = yv.shape[1]
    tasks = (P + LANES - 1) // LANES
    for q in range(q0, q1):  # tasks q0 .. q1-1 of S * tasks (a thread's share)
        b = q // S  # lanes l0 .. l0+LANES-1 of seed s: a block's seeds one after another,
        s = q - b * S  # which read its rows' table from the cache the first one filled
        l0 = b * LANES
        w = min(LANES, P - l0)
        live = min(max(n_live - l0, 0), w)
        ft = x.dtype
        xl = np.zeros((D, LANES), ft)
        a0 = np.zeros((D, LANES), ft)
        a1 = np.zeros((D, LANES), ft)
        a2 = np.zeros((D, LANES), ft)
        sq = np.zeros((D, LANES))
        lo = np.zeros((D, LANES))
        hi = np.zeros((D, LANES))
        tot = np.zeros(LANES)
        cmp = np.zeros(LANES)
        g2 = np.zeros(LANES)
        gi = np.zeros(LANES)
        tr = np.zeros(LANES)
        dead = np.zeros(LANES)  # 1.0 for a diverged run
        rows = np.zeros((KC, LANES), x.dtype)  # rows[:, j]: lane j's coefficient row
        COPY_IN
        same_lr = True  # one alpha for every settled lane: alpha / sqrt(t) once per step
        for j in range(live, w):
            same_lr = same_lr and lr[l0 + j] == lr[l0 + live]
        # the fast loop: no run is diverged, and (SHARED) the runs' gradient statistics
        # are equal, as they are for runs of one seed while the loss's slope is constant
        fast = True
        for j in range(w):
            fast = fast and dead[j] == 0.0
            for i in range(D):
                fast = fast and (not SHARED or sq[i, j] == sq[i, 0])
            fast = fast and (not SHARED or (g2[j] == g2[0] and gi[j] == gi[0]))
        SHARED_INIT
        nbad = 0
        for t in range(n if fast else 0):
            ROWS
            SHARED_STEP
            for j in range(w):  # one run per lane: LLVM vectorises this loop
                FAST_STEP
        if fast and nbad == 0:
            SHARED_OUT
        elif fast:  # a run left the finite numbers: the block again, with the selects
            COPY_IN
        for t in range(0 if fast and nbad == 0 else n):
            ROWS
            for j in range(w):
                STEP
        for j in range(w):
            r = l0 + j
            for i in range(D):
                x[s, i, r] = xl[i, j]
                s0[s, i, r] = a0[i, j]
                s1[s, i, r] = a1[i, j]
                s2[s, i, r] = a2[i, j]
                gsq[s, i, r] = sq[i, j]
                xmin[s, i, r] = lo[i, j]
                xmax[s, i, r] = hi[i, j]
            loss_sum[s, r] = tot[j]
            loss_comp[s, r] = cmp[j]
            gmax2[s, r] = g2[j]
            gmaxinf[s, r] = gi[j]
            tracked[s, r] = tr[j]
            diverged[s, r] = dead[j] != 0.0
"""

_COPY_IN = """
for j in range(w):
    r = l0 + j
    for i in range(D):
        xl[i, j] = x[s, i, r]
        a0[i, j] = s0[s, i, r]
        a1[i, j] = s1[s, i, r]
        a2[i, j] = s2[s, i, r]
        sq[i, j] = gsq[s, i, r]
        lo[i, j] = xmin[s, i, r]
        hi[i, j] = xmax[s, i, r]
    tot[j] = loss_sum[s, r]
    cmp[j] = loss_comp[s, r]
    g2[j] = gmax2[s, r]
    gi[j] = gmaxinf[s, r]
    tr[j] = tracked[s, r]
    dead[j] = 1.0 if diverged[s, r] else 0.0
    for k in range(KC):  # a changing row: its value at the piece's first step
        if j < live:
            rows[k, j] = base[k, r]
        else:
            rows[k, j] = const[k, r]
"""

# step t's rows: the changing ones from the table, then under alpha/sqrt(t) alpha_t into
# the settled ones' alpha columns, the operations of schedules.step_size (once per step
# when every settled lane has the same alpha: the same bits).  The loops write every lane
# (a select keeps the others): vector stores, which the loop over lanes' vector loads read
# back at once; stores of a part of the lanes are scalar, and each vector load then waits
# for them to retire (measured: 0.4 ns per run-step for the alpha column alone)
_ROWS = """
if live > 0:  # the table's width is a multiple of LANES: every lane's column is there
    for c in range(cols.size):  # the columns that change in the piece
        k = cols[c]
        for j in range(LANES):
            rows[k, j] = table[t, c, l0 + j] if j < live else rows[k, j]
if inv_sqrt:
    root = np.sqrt(np.float64(t0 + t))
    if same_lr and live < w:
        al = FT(lr[l0 + live] / root)
        ALPHA_SAME
    elif live < w:
        ALPHA_EACH
y = yv[s, t]
LOAD_DATA
"""


# The loop over lanes is straight-line code, generated for the problem's d and nnz: the
# step's nnz entries (index, value) of a_t are read once per step into scalars, and
# coordinate i of a run is reached by selects over i = 0..d-1, never at an offset computed
# from an index nor in an inner loop (with either, LLVM leaves the loop scalar: measured,
# 2.5x slower at d = 1).  That costs d selects per entry, d * nnz per step; where a block's
# a_t is dense in coordinate order (entry e at coordinate e, every step: the dense
# problems' streams), entry e is coordinate e and there is no select (``dense``).
# Operations are run_block's, in its order.
#
# Two bodies.  The exact one keeps a diverged run's values with selects (``keep``), as
# run_block stops at it.  The fast one, for a block in which no run of the task is diverged,
# has no selects and counts the steps at which a run left the finite numbers (``nbad``);
# if it counts any, the task's block is run again by the exact one, from the same values
# (measured at d = 1: the selects and checks cost 1.35 ns of the exact body's 2.5 ns per
# run-step).  With a linear loss (phi' = 1 at every z) every run of a seed has the same
# g_t, so the fast body keeps the gradient statistics (sum g_i^2, max ||g||^2, max
# ||g||_inf) once per step for the task, not per lane (``shared``), when they start equal.
def _step(
    d: int, nnz: int, proj: int, tracks: bool, fast: bool, shared: bool, dense: bool
) -> list[str]:
    """The body of the loop over lanes (one run, lane j, step t): the exact one, or the
    fast one (``fast``; ``shared``: the gradient statistics kept outside it; ``dense``:
    entry e of a_t is coordinate e, no selects)."""
    coords, entries = range(d), range(nnz)
    out = ["# the played point x_t: its bounding box, a divergence check, <a_t, x_t>"]
    out += [] if fast else ["bad = dead[j] != 0.0"]
    for i in coords:
        out += [f"x{i} = np.float64(xl[{i}, j])",
                f"lo[{i}, j] = x{i} if x{i} < lo[{i}, j] else lo[{i}, j]",
                f"hi[{i}, j] = x{i} if x{i} > hi[{i}, j] else hi[{i}, j]"]  # fmt: skip
        out += [] if fast else [f"bad = bad or not np.isfinite(x{i})"]
    out.append("z = 0.0")
    for e in entries:
        if dense:
            out.append(f"z += ve{e} * x{e}")
            continue
        out.append("xe = 0.0")
        out += [f"xe = x{i} if ie{e} == {i} else xe" for i in coords]
        out.append(f"z += ve{e} * xe")
    out.append("f, df, _ = phi(LOSS, z, y)")
    if fast:  # x * 0.0 is 0.0 but for inf and nan: one count for a step that left them
        zero = " + ".join([f"x{i} * 0.0" for i in coords] + ["f * 0.0"])
        out += [f"nbad += 0 if {zero} == 0.0 else 1",
                "yk = f - cmp[j]",
                "tk = tot[j] + yk",
                "cmp[j] = (tk - tot[j]) - yk",
                "tot[j] = tk"]  # fmt: skip
    else:
        out += ["keep = bad or not np.isfinite(f)  # diverged: its values stay as they are",
                "dead[j] = 1.0 if keep else 0.0",
                "yk = f - cmp[j]",
                "tk = tot[j] + yk",
                "cmp[j] = cmp[j] if keep else (tk - tot[j]) - yk",
                "tot[j] = tot[j] if keep else tk"]  # fmt: skip
    out += [f"ge{e} = df * ve{e}" for e in entries]
    if not shared:
        out += _gstats(d, nnz, "" if fast else "keep", True, dense)
    out.append("row = rows[:, j]")
    for i in coords:  # g_t at coordinate i in the run dtype (run_block's g array): the last entry
        gc = f"ge{i}" if dense else " + ".join(f"ge{e} * last{e}_{i}" for e in entries)
        out.append(
            f"p, b0, b1, b2 = _lane(xl[{i}, j], FT({gc}), a0[{i}, j], a1[{i}, j], a2[{i}, j], row)"
        )
        if proj == PROJ_BOX:
            out.append("p = -radius if p < -radius else (radius if p > radius else p)")
        states = (("xl", "p"), ("a0", "b0"), ("a1", "b1"), ("a2", "b2"))
        out += [f"{a}[{i}, j] = {b}" if fast else f"{a}[{i}, j] = {a}[{i}, j] if keep else {b}"
                for a, b in states]  # fmt: skip
    kept = "" if fast else " and not keep"
    if proj != PROJ_BOX:  # the Euclidean ball: x * (r / ||x||) where ||x|| > r (cpu.project)
        out.append("q2 = 0.0")
        for i in coords:
            out += [f"x{i} = np.float64(xl[{i}, j])", f"q2 += x{i} * x{i}"]
        out += [f"out = q2 > radius * radius{kept}",
                "scale = radius / np.sqrt(q2) if out else 1.0"]  # fmt: skip
        out += [f"xl[{i}, j] = xl[{i}, j] * scale if out else xl[{i}, j]" for i in coords]
    if tracks:  # a theorem's per-step statistic (Kernel.track)
        out += [f"on = _on(row){kept}", "acc = 0.0"]
        out += [f"acc += _term(a0[{i}, j], a1[{i}, j], a2[{i}, j])" for i in coords]
        out.append("tr[j] = tr[j] + _add(acc, row) if on else tr[j]")
    return out


def _gstats(d: int, nnz: int, keep: str, lane: bool, dense: bool) -> list[str]:
    """run_block's gradient statistics of step t from g's entries: sum g_i^2 per coordinate
    (sq), max ||g||^2 (g2), max ||g||_inf (gi); of lane j (``lane``; ``keep``: the select
    that keeps them), or the task's shared scalars ssq{i}, sg2, sgi from sge{e}; entry e
    at coordinate e (``dense``), or at any, weighted by on{e}_{i}."""

    def put(name: str, value: str) -> str:
        return f"{name} = {name} if {keep} else {value}" if keep else f"{name} = {value}"

    ge = "ge{e}" if lane else "sge{e}"
    sq = "sq[{i}, j]" if lane else "ssq{i}"
    g2, gi = ("g2[j]", "gi[j]") if lane else ("sg2", "sgi")
    out = ["n2 = 0.0", "ninf = 0.0"]
    for e in range(nnz):
        g = ge.format(e=e)
        if dense:  # run_block's gsq[r, e] += g_e * g_e
            out.append(put(sq.format(i=e), f"{sq.format(i=e)} + {g} * {g}"))
        else:
            out += [put(sq.format(i=i), f"{sq.format(i=i)} + {g} * {g} * on{e}_{i}")
                    for i in range(d)]  # fmt: skip
        out += [f"n2 += {g} * {g}", f"ninf = max(ninf, abs({g}))"]
    return out + [put(g2, f"max({g2}, n2)"), put(gi, f"max({gi}, ninf)")]


def loop_source(
    name: str, d: int, nnz: int, proj: int, tracks: bool, alpha: tuple[int, ...], shared: bool,
    dense: bool,
) -> str:  # fmt: skip
    """The lanes loop's source for one (d, nnz, projection, track, shared statistics,
    dense a_t), its function called ``name``."""
    if dense:  # entry e is coordinate e: its value only
        load = [f"ve{e} = val[s, t, {e}]" for e in range(nnz)]
    else:
        load = [f"ie{e} = idx[s, t, {e}]\nve{e} = val[s, t, {e}]" for e in range(nnz)]
    # 1.0 / 0.0 weights, per step: entry e is at coordinate i (on), and is the last there
    # (last: run_block's g[i] = g_e overwrites).  A product by a weight and a sum of one
    # nonzero term are exact (g_t is finite where it is used), and unlike a select on the
    # index they leave the loop over lanes vectorised (a select: 4x slower, measured).
    for e in range(nnz if not dense else 0):
        for i in range(d):
            later = "".join(f" and ie{k} != {i}" for k in range(e + 1, nnz))
            load += [f"on{e}_{i} = 1.0 if ie{e} == {i} else 0.0",
                     f"last{e}_{i} = 1.0 if ie{e} == {i}{later} else 0.0"]  # fmt: skip
    every = "for j in range(LANES):\n    rows[{k}, j] = al if j >= live else rows[{k}, j]"
    rows = _fill(_ROWS, {
        "ALPHA_SAME": [every.format(k=k) for k in alpha] or ["pass"],
        "ALPHA_EACH": [f"for j in range(live, w):\n    rows[{k}, j] = FT(lr[l0 + j] / root)"
                       for k in alpha] or ["pass"],
        "LOAD_DATA": load,
    })  # fmt: skip
    marks = {
        "COPY_IN": _COPY_IN.strip().splitlines(),
        "ROWS": rows.strip().splitlines(),
        "FAST_STEP": _step(d, nnz, proj, tracks, True, shared, dense),
        "STEP": _step(d, nnz, proj, tracks, False, False, dense),
    }
    if shared:  # the task's statistics: from lane 0, per step, into every lane
        marks["SHARED_INIT"] = [f"ssq{i} = sq[{i}, 0]" for i in range(d)] + [
            "sg2 = g2[0]", "sgi = gi[0]"]  # fmt: skip
        marks["SHARED_STEP"] = [
            f"sge{e} = phi(LOSS, 0.0, y)[1] * ve{e}" for e in range(nnz)
        ] + _gstats(d, nnz, "", False, dense)
        marks["SHARED_OUT"] = (
            ["for j in range(w):"]
            + [f"    sq[{i}, j] = ssq{i}" for i in range(d)]
            + ["    g2[j] = sg2", "    gi[j] = sgi"]
        )
    else:
        marks.update(SHARED_INIT=["pass"], SHARED_STEP=["pass"], SHARED_OUT=["pass"])
    return _fill(_SOURCE.replace("NAME", name), marks)


def _fill(src: str, marks: dict[str, list[str]]) -> str:
    """``src`` with each line that is only a mark replaced by its lines, indented as it."""
    out = []
    for line in src.splitlines():
        lines = marks.get(line.strip())
        if lines is None:
            out.append(line)
            continue
        pad = line[: len(line) - len(line.lstrip())]
        out += [pad + t for t in "\n".join(lines).splitlines()]
    return "\n".join(out) + "\n"
