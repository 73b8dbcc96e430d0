"""Straight-line sparse LU code for the Rosenbrock iteration matrix ``E = I/(h*gamma) - J``.

Profiling the reference model showed the dense LU and its six solves per step taking about
two thirds of the step time, although its Jacobian has 35 non-zeros out of 100. Since the
pattern of ``J`` is known when the model is compiled, we generate the elimination as
straight-line code over the non-zeros and the fill-in only (as KPP does for chemistry):
no loops, no index arrays, no pivot search.

Pivoting is replaced by a fill-reducing symmetric ordering (greedy minimum degree), which
keeps pivots on the diagonal where ``1/(h*gamma)`` makes them large for the small steps
that stiff problems need. A pivot that is nonetheless tiny against its row makes the
generated factorisation report failure, and the engine falls back to dense LU with partial
pivoting for that step — so the sparse path is an optimisation, never a source of error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from numba import njit

#: Decorators of generated model functions. error_model="numpy" makes a division by zero give
#: inf/NaN (which the engine reports as a failed patient) instead of raising inside a cfunc,
#: where an exception cannot propagate and would be lost.
CFUNC = '@cfunc(SIG, cache=True, nogil=True, error_model="numpy")'
EVENT_CFUNC = '@cfunc(EVENT_SIG, cache=True, nogil=True, error_model="numpy")'

#: Beyond this many stored entries the engine uses its dense LU with partial pivoting.
MAX_LU_ENTRIES = 4000

#: Up to this many stored entries the LU is straight-line code (fastest to run); above it, the
#: same operations in the same order are read from index tables by :func:`factor_plan` and
#: :func:`solve_plan`, which numba compiles once per installation. Straight-line code costs
#: numba about 1 ms of compile time per operation (measured: 3.7 s for the 112 entries of a
#: 25-state model), so a large model would spend most of its first run compiling its LU.
STRAIGHT_LINE_MAX = 64


@dataclass
class SparseLU:
    """Generated sources and sizes; ``available`` is False when the dense path must be used."""

    available: bool
    n_jac: int
    n_lu: int
    source: str


def minimum_degree_order(n: int, pattern: set[tuple[int, int]]) -> list[int]:
    """Greedy minimum-degree elimination order on the symmetrised pattern."""
    neighbours: dict[int, set[int]] = {i: set() for i in range(n)}
    for i, j in pattern:
        if i != j:
            neighbours[i].add(j)
            neighbours[j].add(i)
    order: list[int] = []
    remaining = set(range(n))
    while remaining:
        k = min(remaining, key=lambda v: (len(neighbours[v] & remaining), v))
        order.append(k)
        remaining.remove(k)
        nbrs = neighbours[k] & remaining
        for a in nbrs:
            neighbours[a] |= nbrs - {a}
    return order


def generate_sparse_lu(n: int, jac_entries: list[tuple[int, int]]) -> SparseLU:
    """Sources of the cfuncs ``lu_factor`` and ``lu_solve`` (see the module docstring).

    ``lu_factor(fac, jv, lu, flag)``: ``jv`` holds J's non-zeros in ``jac_entries`` order;
    writes the factors into ``lu`` and ``flag[0]`` = 1.0 on success, 0.0 on a tiny pivot.
    ``lu_solve(0, lu, b, unused)``: overwrites ``b`` with ``E^-1 b``.
    """
    order = minimum_degree_order(n, set(jac_entries))
    pos = {v: k for k, v in enumerate(order)}  # original index -> elimination position
    # Pattern in permuted coordinates, diagonal always present.
    pattern = {(pos[i], pos[j]) for i, j in jac_entries} | {(k, k) for k in range(n)}
    rows: dict[int, set[int]] = {k: set() for k in range(n)}
    for i, j in pattern:
        rows[i].add(j)
    for k in range(n):  # symbolic elimination: fill-in
        below = [i for i in range(k + 1, n) if k in rows[i]]
        right = [j for j in rows[k] if j > k]
        for i in below:
            rows[i].update(right)
    slots = sorted((i, j) for i in range(n) for j in rows[i])
    if len(slots) > MAX_LU_ENTRIES:
        return SparseLU(False, len(jac_entries), 0, "")
    slot = {ij: s for s, ij in enumerate(slots)}
    if len(slots) > STRAIGHT_LINE_MAX:
        source = _plan_source(n, order, pos, rows, slot, jac_entries)
        return SparseLU(True, len(jac_entries), len(slots), source)

    # Every value lives in a local scalar with a name of its own, and the factors are stored
    # once at the end: numba's front end (SSA reconstruction) and LLVM both slow down sharply
    # on one name reassigned hundreds of times or on loads and stores through pointers that
    # may alias (measured: 3.7 s -> see docs/benchmarks.md). The arithmetic is the same
    # sequence of operations as the in-place form, so the results are bitwise identical.
    f: list[str] = [CFUNC, "def lu_factor(fac, jv, lu, flag):"]
    f.append("    flag[0] = 0.0")
    jac_at = {(pos[i], pos[j]): k for k, (i, j) in enumerate(jac_entries)}
    scale_terms: dict[int, list[str]] = {k: [] for k in range(n)}
    cur: dict[int, str] = {}
    fresh = iter(range(10**9))

    def assign(s: int, value: str) -> None:
        name = f"a{next(fresh)}"
        f.append(f"    {name} = {value}")
        cur[s] = name

    for (i, j), s_ij in slot.items():
        k_j = jac_at.get((i, j))
        if k_j is not None:
            scale_terms[i].append(f"abs(jv[{k_j}])")
        if i == j:
            value = "fac" if k_j is None else f"fac - jv[{k_j}]"
        else:
            value = "0.0" if k_j is None else f"-jv[{k_j}]"
        assign(s_ij, value)
    for k in range(n):
        row_sum = " + ".join(scale_terms[k]) or "0.0"
        f.append(f"    s_{k} = 1e-12 * (abs(fac) + {row_sum})")
    # A pivot that is tiny against its row (or NaN) fails the factorisation. The test is
    # folded into one flag instead of a return per pivot: branches multiply numba's analysis
    # time, and values computed after a failed pivot are never used (flag stays 0).
    f.append("    ok = True")
    for k in range(n):
        d = slot[(k, k)]
        f.append(f"    ok = ok & (abs({cur[d]}) > s_{k})")
        inv = f"inv_{k}"
        f.append(f"    {inv} = 1.0 / {cur[d]}")
        cur[d] = inv  # store the inverse pivot: solves multiply
        right = sorted(j for j in rows[k] if j > k)
        for i in range(k + 1, n):
            if k not in rows[i]:
                continue
            s_ik = slot[(i, k)]
            assign(s_ik, f"{cur[s_ik]} * {inv}")
            m = cur[s_ik]
            for j in right:
                s_ij = slot[(i, j)]
                assign(s_ij, f"{cur[s_ij]} - {m} * {cur[slot[(k, j)]]}")
    f.append("    if not ok:")
    f.append("        return")
    for s in range(len(slots)):
        f.append(f"    lu[{s}] = {cur[s]}")
    f.append("    flag[0] = 1.0")
    f.append("    return")

    sv: list[str] = [CFUNC, "def lu_solve(t, lu, b, unused):"]
    # Forward substitution with unit lower factor, in elimination order; b stays in the
    # original numbering, so the permutation is folded into the indices. Locals again, one
    # name per value, b written back once.
    xb = {i: f"b{i}_0" for i in range(n)}
    sv += [f"    b{i}_0 = b[{i}]" for i in range(n)]
    for i in range(n):
        terms = [f" - lu[{slot[(i, j)]}] * {xb[order[j]]}" for j in sorted(rows[i]) if j < i]
        if terms:
            name = f"b{order[i]}_1"
            sv.append(f"    {name} = {xb[order[i]]}{''.join(terms)}")
            xb[order[i]] = name
    for i in range(n - 1, -1, -1):
        terms = [f" - lu[{slot[(i, j)]}] * {xb[order[j]]}" for j in sorted(rows[i]) if j > i]
        name = f"b{order[i]}_2"
        sv.append(f"    {name} = ({xb[order[i]]}{''.join(terms)}) * lu[{slot[(i, i)]}]")
        xb[order[i]] = name
    sv += [f"    b[{i}] = {xb[i]}" for i in range(n)]
    sv.append("    return")
    source = "\n".join(f) + "\n\n\n" + "\n".join(sv) + "\n"
    return SparseLU(True, len(jac_entries), len(slots), source)


def _plan_source(
    n: int,
    order: list[int],
    pos: dict[int, int],
    rows: dict[int, set[int]],
    slot: dict[tuple[int, int], int],
    jac_entries: list[tuple[int, int]],
) -> str:
    """``lu_factor``/``lu_solve`` as calls of the shared table-driven kernels.

    The tables list exactly the operations of the straight-line form, in its order, so both
    forms give bitwise the same factors and solutions.
    """
    jac_at = {(pos[i], pos[j]): k for k, (i, j) in enumerate(jac_entries)}
    init_kind: list[int] = []
    init_jac: list[int] = []
    scale: dict[int, list[int]] = {k: [] for k in range(n)}
    for (i, j), _s in slot.items():  # slot order: (row, column) ascending
        k_j = jac_at.get((i, j))
        if k_j is not None:
            scale[i].append(k_j)
        if i == j:
            init_kind.append(1 if k_j is None else 2)
        else:
            init_kind.append(0 if k_j is None else 3)
        init_jac.append(-1 if k_j is None else k_j)
    scale_ptr, scale_idx = [0], []
    for k in range(n):
        scale_idx += scale[k]
        scale_ptr.append(len(scale_idx))
    diag = [slot[(k, k)] for k in range(n)]
    elim_ptr, elim_ik, upd_ptr, upd_ij, upd_kj = [0], [], [0], [], []
    for k in range(n):
        right = sorted(j for j in rows[k] if j > k)
        for i in range(k + 1, n):
            if k not in rows[i]:
                continue
            elim_ik.append(slot[(i, k)])
            for j in right:
                upd_ij.append(slot[(i, j)])
                upd_kj.append(slot[(k, j)])
            upd_ptr.append(len(upd_ij))
        elim_ptr.append(len(elim_ik))
    fw_ptr, fw_slot, fw_b, fw_tgt = [0], [], [], []
    for i in range(n):
        for j in sorted(rows[i]):
            if j < i:
                fw_slot.append(slot[(i, j)])
                fw_b.append(order[j])
        fw_ptr.append(len(fw_slot))
        fw_tgt.append(order[i])
    bw_ptr, bw_slot, bw_b, bw_tgt, bw_diag = [0], [], [], [], []
    for i in range(n - 1, -1, -1):
        for j in sorted(rows[i]):
            if j > i:
                bw_slot.append(slot[(i, j)])
                bw_b.append(order[j])
        bw_ptr.append(len(bw_slot))
        bw_tgt.append(order[i])
        bw_diag.append(slot[(i, i)])

    def arr(name: str, values: list[int]) -> str:
        return f"{name} = np.array({values!r}, dtype=np.int64)\n"

    tables = {
        "_LU_INIT_KIND": init_kind,
        "_LU_INIT_JAC": init_jac,
        "_LU_SCALE_PTR": scale_ptr,
        "_LU_SCALE_IDX": scale_idx,
        "_LU_DIAG": diag,
        "_LU_ELIM_PTR": elim_ptr,
        "_LU_ELIM_IK": elim_ik,
        "_LU_UPD_PTR": upd_ptr,
        "_LU_UPD_IJ": upd_ij,
        "_LU_UPD_KJ": upd_kj,
        "_LU_FW_PTR": fw_ptr,
        "_LU_FW_SLOT": fw_slot,
        "_LU_FW_B": fw_b,
        "_LU_FW_TGT": fw_tgt,
        "_LU_BW_PTR": bw_ptr,
        "_LU_BW_SLOT": bw_slot,
        "_LU_BW_B": bw_b,
        "_LU_BW_TGT": bw_tgt,
        "_LU_BW_DIAG": bw_diag,
    }
    f_args = ", ".join(list(tables)[:10])
    s_args = ", ".join(list(tables)[10:])
    return (
        "from mdrsim.engine.sparse_lu import factor_plan, solve_plan\n\n"
        + "".join(arr(k, v) for k, v in tables.items())
        + f"\n\n{CFUNC}\ndef lu_factor(fac, jv, lu, flag):\n"
        + f"    factor_plan(fac, jv, lu, flag, {f_args})\n    return\n\n\n"
        + f"{CFUNC}\ndef lu_solve(t, lu, b, unused):\n"
        + f"    solve_plan(lu, b, {s_args})\n    return\n"
    )


@njit(cache=True, nogil=True, error_model="numpy")
def factor_plan(
    fac: float,
    jv: Any,
    lu: Any,
    flag: Any,
    init_kind: Any,
    init_jac: Any,
    scale_ptr: Any,
    scale_idx: Any,
    diag: Any,
    elim_ptr: Any,
    elim_ik: Any,
    upd_ptr: Any,
    upd_ij: Any,
    upd_kj: Any,
) -> None:
    """The sparse factorisation read from tables (same operations as the straight-line form)."""
    flag[0] = 0.0
    for s in range(init_kind.shape[0]):
        kind = init_kind[s]
        if kind == 0:
            lu[s] = 0.0
        elif kind == 1:
            lu[s] = fac
        elif kind == 2:
            lu[s] = fac - jv[init_jac[s]]
        else:
            lu[s] = -jv[init_jac[s]]
    ok = True
    for k in range(diag.shape[0]):
        acc = abs(fac)
        for q in range(scale_ptr[k], scale_ptr[k + 1]):
            acc = acc + abs(jv[scale_idx[q]])
        d = diag[k]
        ok = ok & (abs(lu[d]) > 1e-12 * acc)
        inv = 1.0 / lu[d]
        lu[d] = inv
        for e in range(elim_ptr[k], elim_ptr[k + 1]):
            ik = elim_ik[e]
            m = lu[ik] * inv
            lu[ik] = m
            for u in range(upd_ptr[e], upd_ptr[e + 1]):
                lu[upd_ij[u]] = lu[upd_ij[u]] - m * lu[upd_kj[u]]
    if ok:
        flag[0] = 1.0


@njit(cache=True, nogil=True, error_model="numpy")
def solve_plan(
    lu: Any,
    b: Any,
    fw_ptr: Any,
    fw_slot: Any,
    fw_b: Any,
    fw_tgt: Any,
    bw_ptr: Any,
    bw_slot: Any,
    bw_b: Any,
    bw_tgt: Any,
    bw_diag: Any,
) -> None:
    """Forward and back substitution read from tables (same order as the straight-line form)."""
    for i in range(fw_tgt.shape[0]):
        if fw_ptr[i] == fw_ptr[i + 1]:
            continue
        t = fw_tgt[i]
        acc = b[t]
        for q in range(fw_ptr[i], fw_ptr[i + 1]):
            acc = acc - lu[fw_slot[q]] * b[fw_b[q]]
        b[t] = acc
    for r in range(bw_tgt.shape[0]):
        t = bw_tgt[r]
        acc = b[t]
        for q in range(bw_ptr[r], bw_ptr[r + 1]):
            acc = acc - lu[bw_slot[q]] * b[bw_b[q]]
        b[t] = acc * lu[bw_diag[r]]
