"""Reaction propensities and stoichiometry for the stochastic engines, from the same Model.

The stochastic engines (:mod:`mdrsim.engine.stochastic`) read a model as a jump process:
each *discrete* reaction fires one at a time (or, in tau-leaping, a Poisson number of times)
with probability per unit time ``a_j(t, x, p)`` — its rate law, read in molecule/cell
counts — and changes the counts by its net stoichiometry. Everything else comes from the ODE
path, so that both read a model the same way:

- the state vector, the parameter vector and the outputs are those of
  :func:`mdrsim.engine.codegen.flatten` (same names, same order);
- initial assignments, model events, outputs and the derivatives of the *continuous*
  variables are the ODE module's own compiled functions (:func:`compile_model`, cached);
- only the propensities are generated here, with the ODE generator's helpers (symbol
  renaming to ``y_i``/``p_i``, CSE, the exact printer), cached on disk the same way.

Partition of the states:

- **discrete**: species changed by reactions. They are counts, so each must be
  ``amount_based`` or live in a compartment of size 1 (otherwise the rate law is not in
  counts per time): anything else raises :class:`UnsupportedFeatureError` naming the species.
- **continuous**: variables with rate rules (e.g. a drug concentration, an AUC), plus species
  the caller lists in ``continuous`` (e.g. a drug species eliminated by a reaction). They are
  integrated deterministically (hybrid and tau methods). A reaction that changes only
  continuous species is part of that ODE; a reaction that changes a discrete species is
  discrete, and may not also change a continuous one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numba
import numpy as np
import sympy

from mdrsim import __version__
from mdrsim.engine.cache import ModuleCache
from mdrsim.engine.codegen import _function, _Indexer
from mdrsim.engine.compiled import CompiledModel, compile_model
from mdrsim.errors import SimulationInputError, UnsupportedFeatureError
from mdrsim.model.expressions import TIME, did_you_mean
from mdrsim.model.ir import Model
from mdrsim.model.validation import rule_order

#: Bump when the generated propensity module's layout changes.
STOCHASTIC_CODEGEN_VERSION = "2"  # 2: negative whole powers printed as divisions

#: Generated propensity modules: ``<cache>/stochastic/propensities_<key>.py``.
_MODULES = ModuleCache("stochastic", "propensities_", module_prefix="stochastic_")


@dataclass
class StochasticModel:
    """A model compiled for the stochastic engines; parameters and initial counts stay inputs.

    ``nu[j, i]`` is the net change of state ``i`` when discrete reaction ``j`` fires once
    (zero for continuous states). The CSR arrays hold the same numbers for the kernel:
    ``nu_ptr/nu_idx/nu_val`` all non-zeros, ``react_ptr/react_idx/react_coef`` the consumed
    ones (a reaction cannot fire while a consumed species has fewer than ``react_coef``);
    ``guard`` = (reactions, ptr, species, amounts) repeats them for the reactions whose rate
    law does not itself vanish then (the kernel sets those propensities to zero).
    ``hor[i]``/``hor_mult[i]`` are the highest order of a reaction whose propensity uses
    discrete state ``i`` and how many of ``i`` it takes (Cao, Gillespie & Petzold 2006, for the
    tau-leaping step bound; 0 when no propensity uses ``i``).
    """

    model: Model
    ode: CompiledModel
    module: ModuleType
    key: str
    source_path: Path
    reaction_names: list[str]
    continuous_reactions: list[str]
    discrete: np.ndarray
    nu: np.ndarray
    nu_ptr: np.ndarray
    nu_idx: np.ndarray
    nu_val: np.ndarray
    react_ptr: np.ndarray
    react_idx: np.ndarray
    react_coef: np.ndarray
    guard: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    hor: np.ndarray
    hor_mult: np.ndarray
    uses_time: bool
    #: (parameter index, species) for compartments that must stay of size 1.
    unit_compartments: list[tuple[int, str]]

    @property
    def state_names(self) -> list[str]:
        return self.ode.state_names

    @property
    def parameter_names(self) -> list[str]:
        return self.ode.parameter_names

    @property
    def output_names(self) -> list[str]:
        return self.ode.output_names

    @property
    def discrete_names(self) -> list[str]:
        return [n for n, d in zip(self.state_names, self.discrete, strict=True) if d]

    @property
    def continuous_names(self) -> list[str]:
        return [n for n, d in zip(self.state_names, self.discrete, strict=True) if not d]

    def continuous_index(self) -> np.ndarray:
        return np.flatnonzero(~self.discrete).astype(np.int64)

    def kernel_arguments(self) -> tuple[object, ...]:
        """Model-specific leading arguments of :func:`mdrsim.engine.stochastic.stochastic_range`."""
        m = self.ode.module
        ev = self.ode.flat.events
        return (
            (
                self.module.propensities,
                m.rhs,
                m.outputs,
                m.timed_event_times,
                m.triggers,
                m.initial_assignments,
            ),
            m.apply_event,
            np.array(ev.timed_index, dtype=np.int64),
            np.array(ev.state_index, dtype=np.int64),
            np.array(ev.initial_value, dtype=np.bool_),
            len(self.ode.flat.timed_times),
            len(self.ode.flat.triggers),
            np.ascontiguousarray(self.discrete, dtype=np.bool_),
            self.continuous_index(),
            self.nu_ptr,
            self.nu_idx,
            self.nu_val,
            self.react_ptr,
            self.react_idx,
            self.react_coef,
            self.guard,
            self.hor,
            self.hor_mult,
            bool(self.uses_time),
        )


def _rule_substitution(model: Model) -> dict[sympy.Symbol, sympy.Expr]:
    subs: dict[sympy.Symbol, sympy.Expr] = {}
    for var in rule_order(model):
        subs[sympy.Symbol(var)] = model.assignment_rules[var].expression.xreplace(subs)
    return subs


def _orders(
    rate: sympy.Expr, symbols: dict[sympy.Symbol, int], fallback: dict[int, int]
) -> dict[int, int]:
    """Order of a propensity in each discrete state it uses (state index -> exponent).

    Mass-action laws (one monomial in the counts) give their exponents; any other law falls
    back on the reactant stoichiometry, and 1 for a species it uses without consuming it.
    """
    used = [s for s in rate.free_symbols if s in symbols]
    if not used:
        return {}
    try:
        poly = sympy.Poly(rate, *used)
        if len(poly.terms()) == 1:
            ((exponents, _),) = poly.terms()
            return {symbols[s]: int(e) for s, e in zip(used, exponents, strict=True) if e > 0}
    except (sympy.PolynomialError, sympy.GeneratorsNeeded):
        pass
    return {symbols[s]: max(1, fallback.get(symbols[s], 1)) for s in used}


def _vanishes(rate: sympy.Expr, symbol: sympy.Symbol, amount: float) -> bool:
    """True when ``rate`` is identically zero for every count of ``symbol`` below ``amount``."""
    for v in range(int(amount)):
        value = rate.xreplace({symbol: sympy.Integer(v)})
        if not (value == 0 or value.is_zero is True):
            return False
    return True


def _partition(
    model: Model, ode: CompiledModel, continuous: Sequence[str]
) -> tuple[np.ndarray, list[tuple[int, str]]]:
    states = ode.state_names
    params = ode.parameter_names
    for name in continuous:
        if name not in states or name not in model.species:
            species_states = [s for s in states if s in model.species]
            raise SimulationInputError(
                f"continuous={name!r}: not a species that reactions change"
                + did_you_mean(name, species_states)
                + (f"; such species: {', '.join(species_states)}" if species_states else "")
            )
    discrete = np.array(
        [n in model.species and n not in model.rate_rules and n not in continuous for n in states],
        dtype=bool,
    )
    assigned_by_event = {a.variable for e in model.events.values() for a in e.assignments}
    unit_compartments: list[tuple[int, str]] = []
    for name, is_discrete in zip(states, discrete, strict=True):
        if not is_discrete:
            continue
        sp = model.species[name]
        if sp.amount_based:
            continue
        comp = model.compartments[sp.compartment]
        if comp.size != 1.0 or comp.name in model.rate_rules or comp.name in assigned_by_event:
            raise UnsupportedFeatureError(
                f"species {name!r} is a concentration in compartment {comp.name!r} "
                f"(size {comp.size:g}{', changed during a run' if comp.size == 1.0 else ''}); "
                "the stochastic engines count molecules or cells, so a discrete species must "
                "be amount_based or live in a compartment of size 1 — or be integrated "
                f"continuously (continuous=[{name!r}], methods 'hybrid' and 'tau')"
            )
        unit_compartments.append((params.index(comp.name), name))
    return discrete, unit_compartments


def compile_stochastic(
    model: Model,
    *,
    continuous: Sequence[str] = (),
    cache: Path | None = None,
) -> StochasticModel:
    """Partition the states, build the stoichiometry and compile the propensities (cached).

    ``continuous`` lists species changed by reactions that should nonetheless be integrated
    deterministically (drug concentrations); variables with rate rules always are.
    """
    queued = [
        e.name for e in model.events.values() if e.delay is not None or e.priority is not None
    ]
    if queued:
        raise UnsupportedFeatureError(
            f"event(s) {', '.join(repr(n) for n in queued)} have a delay or a priority that "
            "orders simultaneous events; the stochastic engines carry out events only at once, "
            "in model order — use the ODE engine (method 'rodas4')"
        )
    ode = compile_model(model, cache=cache, warm=False)
    continuous = tuple(sorted(set(continuous)))
    discrete, unit_compartments = _partition(model, ode, continuous)
    states = ode.state_names
    index = {n: i for i, n in enumerate(states)}
    subs = _rule_substitution(model)

    reaction_names: list[str] = []
    continuous_reactions: list[str] = []
    rates: list[sympy.Expr] = []
    rows: list[dict[int, float]] = []
    for reaction in model.reactions.values():
        net = {index[s]: c for s, c in reaction.net_stoichiometry().items() if s in index}
        on_discrete = {i: c for i, c in net.items() if discrete[i]}
        on_continuous = sorted(states[i] for i in net if not discrete[i])
        if not on_discrete:
            if on_continuous:
                continuous_reactions.append(reaction.name)
            continue  # part of the continuous ODE, or changes only boundary species
        if on_continuous:
            raise UnsupportedFeatureError(
                f"reaction {reaction.name!r} changes discrete species "
                f"{sorted(states[i] for i in on_discrete)} and continuous "
                f"{on_continuous}; split it, or make all of them continuous or all discrete"
            )
        for i, c in on_discrete.items():
            if c != round(c):
                raise UnsupportedFeatureError(
                    f"reaction {reaction.name!r} changes {states[i]!r} by {c:g} per firing; "
                    "a discrete species needs whole-number stoichiometry"
                )
        reaction_names.append(reaction.name)
        rates.append(reaction.rate.xreplace(subs) if subs else reaction.rate)
        rows.append({i: float(round(c)) for i, c in on_discrete.items()})

    n_r, n_s = len(rows), len(states)
    nu = np.zeros((n_r, n_s))
    for j, row in enumerate(rows):
        for i, c in row.items():
            nu[j, i] = c
    nu_ptr = np.zeros(n_r + 1, dtype=np.int64)
    react_ptr = np.zeros(n_r + 1, dtype=np.int64)
    nu_idx: list[int] = []
    nu_val: list[float] = []
    react_idx: list[int] = []
    react_coef: list[float] = []
    for j, row in enumerate(rows):
        for i in sorted(row):
            nu_idx.append(i)
            nu_val.append(row[i])
            if row[i] < 0:
                react_idx.append(i)
                react_coef.append(-row[i])
        nu_ptr[j + 1] = len(nu_idx)
        react_ptr[j + 1] = len(react_idx)

    # Reactions whose law is not zero when a consumed species is short of what it takes.
    guard_rxn: list[int] = []
    guard_ptr = [0]
    guard_idx: list[int] = []
    guard_coef: list[float] = []
    for j, rate in enumerate(rates):
        short = [(i, -c) for i, c in sorted(rows[j].items()) if c < 0]
        if short and not all(_vanishes(rate, sympy.Symbol(states[i]), c) for i, c in short):
            guard_rxn.append(j)
            for i, c in short:
                guard_idx.append(i)
                guard_coef.append(c)
            guard_ptr.append(len(guard_idx))

    # Highest order of reaction per discrete state (Cao, Gillespie & Petzold 2006: g_i).
    symbols = {sympy.Symbol(n): i for i, n in enumerate(states) if discrete[i]}
    hor = np.zeros(n_s, dtype=np.int64)
    hor_mult = np.zeros(n_s, dtype=np.int64)
    for j, rate in enumerate(rates):
        consumed = {i: int(-c) for i, c in rows[j].items() if c < 0}
        orders = _orders(rate, symbols, consumed)
        total = sum(orders.values())
        for i, mult in orders.items():
            if total > hor[i] or (total == hor[i] and mult > hor_mult[i]):
                hor[i] = total
                hor_mult[i] = mult

    flat = ode.flat
    key = _key(model, continuous)

    def source() -> str:
        idx = _Indexer(flat)
        return (
            f"# Generated by mdrsim {__version__} (stochastic codegen "
            f"{STOCHASTIC_CODEGEN_VERSION}) for model structure "
            f"{model.structure_hash()}; do not edit.\n"
            "import math\n\nfrom numba import cfunc, types\n\n"
            "_PTR = types.CPointer(types.float64)\n"
            "SIG = types.void(types.float64, _PTR, _PTR, _PTR)\n\n\n"
            + _function(
                "propensities",
                "t, y, p, out",
                [idx(r) for r in rates],
                [f"out[{j}]" for j in range(n_r)],
                idx.loads,
            )
        )

    module, path = _MODULES.get(key, source, cache)
    return StochasticModel(
        model=model,
        ode=ode,
        module=module,
        key=key,
        source_path=path,
        reaction_names=reaction_names,
        continuous_reactions=continuous_reactions,
        discrete=discrete,
        nu=nu,
        nu_ptr=nu_ptr,
        nu_idx=np.array(nu_idx, dtype=np.int64),
        nu_val=np.array(nu_val, dtype=np.float64),
        react_ptr=react_ptr,
        react_idx=np.array(react_idx, dtype=np.int64),
        react_coef=np.array(react_coef, dtype=np.float64),
        guard=(
            np.array(guard_rxn, dtype=np.int64),
            np.array(guard_ptr, dtype=np.int64),
            np.array(guard_idx, dtype=np.int64),
            np.array(guard_coef, dtype=np.float64),
        ),
        hor=hor,
        hor_mult=hor_mult,
        uses_time=any(TIME in r.free_symbols for r in rates),
        unit_compartments=unit_compartments,
    )


def _key(model: Model, continuous: tuple[str, ...]) -> str:
    """Cache key: model structure, the continuous species, codegen, mdrsim and numba versions."""
    h = hashlib.sha256()
    for piece in (
        model.structure_hash(),
        ",".join(continuous),
        STOCHASTIC_CODEGEN_VERSION,
        __version__,
        numba.__version__,
    ):
        h.update(piece.encode())
        h.update(b"\0")
    return h.hexdigest()[:24]
