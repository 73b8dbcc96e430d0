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

#: Decorators of generated model functions. error_model="numpy" makes a division by zero give
#: inf/NaN (which the engine reports as a failed patient) instead of raising inside a cfunc,
#: where an exception cannot propagate and would be lost.
CFUNC = '@cfunc(SIG, cache=True, nogil=True, error_model="numpy")'
EVENT_CFUNC = '@cfunc(EVENT_SIG, cache=True, nogil=True, error_model="numpy")'

#: Beyond this many stored entries, straight-line code gets too long to compile quickly.
MAX_LU_ENTRIES = 4000


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

    f: list[str] = [CFUNC, "def lu_factor(fac, jv, lu, flag):"]
    f.append("    flag[0] = 0.0")
    jac_at = {(pos[i], pos[j]): k for k, (i, j) in enumerate(jac_entries)}
    scale_terms: dict[int, list[str]] = {k: [] for k in range(n)}
    for (i, j), s_ij in slot.items():
        k_j = jac_at.get((i, j))
        if k_j is not None:
            scale_terms[i].append(f"abs(jv[{k_j}])")
        if i == j:
            value = "fac" if k_j is None else f"fac - jv[{k_j}]"
        else:
            value = "0.0" if k_j is None else f"-jv[{k_j}]"
        f.append(f"    lu[{s_ij}] = {value}")
    for k in range(n):
        row_sum = " + ".join(scale_terms[k]) or "0.0"
        f.append(f"    s_{k} = 1e-12 * (abs(fac) + {row_sum})")
    for k in range(n):
        d = slot[(k, k)]
        f.append(f"    if not abs(lu[{d}]) > s_{k}:")
        f.append("        return")
        f.append(f"    inv = 1.0 / lu[{d}]")
        f.append(f"    lu[{d}] = inv")  # store the inverse pivot: solves multiply
        right = sorted(j for j in rows[k] if j > k)
        for i in range(k + 1, n):
            if k not in rows[i]:
                continue
            f.append(f"    m = lu[{slot[(i, k)]}] * inv")
            f.append(f"    lu[{slot[(i, k)]}] = m")
            for j in right:
                f.append(f"    lu[{slot[(i, j)]}] -= m * lu[{slot[(k, j)]}]")
    f.append("    flag[0] = 1.0")
    f.append("    return")

    sv: list[str] = [CFUNC, "def lu_solve(t, lu, b, unused):"]
    # Forward substitution with unit lower factor, in elimination order; b stays in the
    # original numbering, so the permutation is folded into the indices.
    for i in range(n):
        terms = [f" - lu[{slot[(i, j)]}] * b[{order[j]}]" for j in sorted(rows[i]) if j < i]
        if terms:
            sv.append(f"    b[{order[i]}] = b[{order[i]}]{''.join(terms)}")
    for i in range(n - 1, -1, -1):
        terms = [f" - lu[{slot[(i, j)]}] * b[{order[j]}]" for j in sorted(rows[i]) if j > i]
        sv.append(f"    b[{order[i]}] = (b[{order[i]}]{''.join(terms)}) * lu[{slot[(i, i)]}]")
    sv.append("    return")
    source = "\n".join(f) + "\n\n\n" + "\n".join(sv) + "\n"
    return SparseLU(True, len(jac_entries), len(slots), source)
