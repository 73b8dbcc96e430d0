"""SBML import: any SBML document libsbml reads, into a validated :class:`~mdrsim.model.ir.Model`.

Math is converted by :mod:`mdrsim.io.sbml_math` (never through text); mdrsim's own metadata,
exact values and unit names come from :mod:`mdrsim.io.sbml_meta`. Documents written by other
tools are read too: their names and notes become descriptions, local parameters become global
ones and features mdrsim does not simulate are reported by name.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import libsbml
import sympy

from mdrsim.errors import (
    ModelImportError,
    ModelValidationError,
    UnsupportedFeatureError,
    UnsupportedSBMLFeatureError,
)
from mdrsim.io.sbml_events import check_instant_triggers
from mdrsim.io.sbml_math import MathReader, as_condition, as_number
from mdrsim.io.sbml_meta import Meta, SBase, UnitNamer, read_domain, read_meta, restore_exact
from mdrsim.io.sbml_rates import substitute_rate_of
from mdrsim.model.expressions import TIME, did_you_mean
from mdrsim.model.ir import (
    AssignmentRule,
    Compartment,
    Event,
    EventAssignment,
    InitialAssignment,
    Model,
    Observable,
    Parameter,
    RateRule,
    Reaction,
    Species,
)

__all__ = ["read_sbml", "read_sbml_string"]

_MAX_MESSAGES = 20


def read_sbml_string(xml: str) -> Model:
    """Read an SBML document (any level/version libsbml reads) into a validated Model.

    Raises :class:`ModelImportError` for unreadable documents (with libsbml's messages and
    line numbers), :class:`UnsupportedFeatureError` for features mdrsim does not simulate and
    :class:`ModelValidationError` when the imported model is inconsistent.
    """
    return _read(xml, None)


def _read(xml: str, location: Path | None) -> Model:
    if not isinstance(xml, str):
        raise ModelImportError(f"expected SBML as text, got {type(xml).__name__}")
    if not xml.strip():
        raise ModelImportError("the SBML document is empty")
    document = libsbml.readSBMLFromString(xml)
    _raise_read_errors(document)
    if location is not None:
        document.setLocationURI(location.resolve().as_uri())
    _flatten_comp(document)
    sbml_model = document.getModel()
    if sbml_model is None:
        raise ModelImportError("the SBML document contains no <model> element")
    _reject_required_packages(document)
    _reject_required_foreign_namespaces(xml, document)
    return _Importer(sbml_model).run().validate()


def read_sbml(path: str | os.PathLike[str]) -> Model:
    """Read an SBML file; errors name the file."""
    file = Path(path)
    if not file.is_file():
        raise ModelImportError(f"SBML file not found: {file}")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelImportError(f"cannot read SBML file {file}: {exc}") from None
    try:
        return _read(text, file)
    except ModelImportError as exc:
        wrapped = type(exc)(f"{file}: {exc}")
        wrapped.__dict__.update(exc.__dict__)  # keeps e.g. the refused ``feature``
        raise wrapped from None


def _raise_read_errors(document: Any) -> None:
    serious = (libsbml.LIBSBML_SEV_ERROR, libsbml.LIBSBML_SEV_FATAL)
    errors = [
        document.getError(i)
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() in serious
    ]
    if not errors:
        return
    lines = [
        f"  line {e.getLine()}, column {e.getColumn()}: {' '.join(e.getMessage().split())}"
        for e in errors[:_MAX_MESSAGES]
    ]
    if len(errors) > _MAX_MESSAGES:
        lines.append(f"  … and {len(errors) - _MAX_MESSAGES} more")
    raise ModelImportError("cannot read the SBML document:\n" + "\n".join(lines))


def _flatten_comp(document: Any) -> None:
    """Replace hierarchical model composition (the ``comp`` package) by one flat model.

    libsbml's CompFlatteningConverter instantiates every submodel (ids prefixed by the
    submodel's id), applies replacements and deletions and leaves a core model. External
    model definitions are resolved relative to the file read (not for text).
    """
    if document.getLevel() < 3 or not document.isPackageEnabled("comp"):
        return
    properties = libsbml.ConversionProperties()
    properties.addOption("flatten comp", True)
    properties.addOption("leavePorts", False)
    properties.addOption("performValidation", False)
    status = document.convert(properties)
    if status == libsbml.LIBSBML_OPERATION_SUCCESS:
        return
    serious = [
        " ".join(document.getError(i).getMessage().split())
        for i in range(document.getNumErrors())
        if document.getError(i).getSeverity() >= libsbml.LIBSBML_SEV_ERROR
    ]
    details = "; ".join(serious[1:4] or serious[:3]) or f"libsbml status {status}"
    raise UnsupportedSBMLFeatureError(
        f"the SBML package 'comp' (model composition) could not be flattened: {details}",
        "comp package (not flattenable)",
    )


def _reject_required_packages(document: Any) -> None:
    # A package marked required changes the meaning of core elements; optional ones (layout,
    # render, ...) only add information and are ignored.
    # Packages exist from Level 3 on (Level 2 layout lives in annotations). libsbml represents
    # L3V2 core math as the internal package "l3v2extendedmath".
    if document.getLevel() < 3:
        return
    for i in range(document.getNumPlugins()):
        package = document.getPlugin(i).getPackageName()
        if (
            package
            and package != "l3v2extendedmath"
            and document.isPackageEnabled(package)
            and document.getPackageRequired(package)
        ):
            raise UnsupportedFeatureError(f"the SBML package {package!r} is not supported")
    for i in range(document.getNumUnknownPackages()):
        uri = document.getUnknownPackageURI(i)
        if document.getPackageRequired(uri):
            raise UnsupportedFeatureError(f"the SBML package {uri!r} is not supported")


class _RootSeenError(Exception):
    pass


def _reject_required_foreign_namespaces(xml: str, document: Any) -> None:
    """A package marked required whose namespace libsbml does not know is refused by name.

    libsbml records unknown packages only when their URI follows the sbml.org pattern; for any
    other namespace a ``required="true"`` on <sbml> would be silently ignored. The root tag's
    attributes are read with expat (stopping at the root; nothing is fetched or expanded).
    """
    if document.getLevel() < 3:
        return
    from xml.parsers import expat

    required: list[str] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        for key, value in attrs.items():
            uri, _, local = key.rpartition(" ")
            if uri and local == "required" and value.strip().lower() in ("true", "1"):
                required.append(uri)
        raise _RootSeenError

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = start
    with contextlib.suppress(_RootSeenError, expat.ExpatError):
        parser.Parse(xml.encode("utf-8"), True)
    # Packages libsbml knows were judged by _reject_required_packages (or flattened: comp);
    # so were the unknown ones it recorded.
    registry = libsbml.SBMLExtensionRegistry.getInstance()
    recorded = {document.getUnknownPackageURI(i) for i in range(document.getNumUnknownPackages())}
    for uri in required:
        if not registry.isRegistered(uri) and uri not in recorded:
            raise UnsupportedSBMLFeatureError(
                f"the document marks the package {uri!r} as required, and neither libsbml nor "
                "mdrsim knows it; its meaning cannot be simulated safely",
                "SBML package (required, unknown)",
            )


def _notes_text(sbase: SBase) -> str:
    if not sbase.isSetNotes():
        return ""
    parts: list[str] = []

    def collect(node: Any) -> None:
        if node.isText():
            parts.append(node.getCharacters())
        for i in range(node.getNumChildren()):
            collect(node.getChild(i))

    collect(sbase.getNotes())
    return " ".join(" ".join(parts).split())


def _foreign_description(sbase: SBase) -> str:
    name = sbase.getName() if sbase.isSetName() else ""
    if name == sbase.getId():
        name = ""
    return "\n\n".join(p for p in (name, _notes_text(sbase)) if p)


def _is_timed(trigger: sympy.Basic, event_assigned: set[str]) -> bool:
    """Whether the engine treats ``trigger`` as a timed event (mdrsim.engine.codegen's rule:
    ``time >= c`` / ``time > c`` either way round, ``c`` free of time and of event targets)."""
    if isinstance(trigger, sympy.Ge | sympy.Gt):
        lhs, rhs = trigger.lhs, trigger.rhs
    elif isinstance(trigger, sympy.Le | sympy.Lt):
        lhs, rhs = trigger.rhs, trigger.lhs
    else:
        return False
    if lhs != TIME or TIME in rhs.free_symbols:
        return False
    return not ({s.name for s in rhs.free_symbols} & event_assigned)


def _zero_dimensional(compartment: Any) -> bool:
    return bool(
        compartment.isSetSpatialDimensions() and compartment.getSpatialDimensionsAsDouble() == 0
    )


def _described_by(sbase: SBase) -> str:
    """The source of a component of a foreign model: the resources of its
    ``bqbiol:isDescribedBy`` terms (Antimony: ``k isDescribedBy "https://doi.org/…"``)."""
    uris = []
    for i in range(sbase.getNumCVTerms()):
        term = sbase.getCVTerm(i)
        if (
            term.getQualifierType() == libsbml.BIOLOGICAL_QUALIFIER
            and term.getBiologicalQualifierType() == libsbml.BQB_IS_DESCRIBED_BY
        ):
            uris += [term.getResourceURI(j) for j in range(term.getNumResources())]
    return "; ".join(uris)


def _unique(base: str, taken: set[str]) -> str:
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


class _Importer:
    """Builds a Model from one libsbml Model, section by section."""

    def __init__(self, model: Any) -> None:
        self.m = model
        self.units = UnitNamer(model)
        functions = {fd.getId(): fd for fd in model.getListOfFunctionDefinitions()}
        self.math = MathReader(functions)
        self.compartments: dict[str, Compartment] = {}
        self.species: dict[str, Species] = {}
        self.parameters: dict[str, Parameter] = {}
        self.reactions: dict[str, Reaction] = {}
        self.assignment_rules: dict[str, AssignmentRule] = {}
        self.rate_rules: dict[str, RateRule] = {}
        self.initial_assignments: dict[str, InitialAssignment] = {}
        self.observables: dict[str, Observable] = {}
        self.events: dict[str, Event] = {}
        self.stoichiometry_ids = {
            sr.getId()
            for r in model.getListOfReactions()
            for group in (r.getListOfReactants(), r.getListOfProducts())
            for sr in group
            if sr.isSetId()
        }
        self.taken = self._all_ids() | self.stoichiometry_ids
        # Each species' reaction terms: (reaction, signed stoichiometry expression), and the
        # species whose stoichiometry is not a fixed number (set by math, rules or events).
        self.terms: dict[str, list[tuple[str, sympy.Basic]]] = {}
        self.variable_stoichiometry: set[str] = set()
        # 0-D compartments without a size: their species are amounts; the size is undefined.
        self.unsized: set[str] = set()
        # Concentration species in compartments whose size changes, integrated as amounts:
        # species -> compartment.
        self.as_amounts: dict[str, str] = {}
        # Algebraic rules 0 = expression, as (formula as written, expression).
        self.algebraic: list[tuple[str, sympy.Basic]] = []
        self.observable_ids = self._observable_ids()
        self.without_value: list[tuple[str, str]] = []
        # Species whose initial value SBML gives in the other unit (amount for a
        # concentration species or the reverse): (species, compartment, value, is_amount).
        self.converted_initial: list[tuple[str, str, float, bool]] = []
        self.prioritised: dict[str, sympy.Basic] = {}
        self.non_persistent: list[str] = []

    def _all_ids(self) -> set[str]:
        groups = (
            self.m.getListOfCompartments(), self.m.getListOfSpecies(),
            self.m.getListOfParameters(), self.m.getListOfReactions(),
            self.m.getListOfEvents(), self.m.getListOfFunctionDefinitions(),
        )  # fmt: skip
        return {x.getId() for group in groups for x in group if x.isSetId()}

    def _observable_ids(self) -> set[str]:
        ids = set()
        for p in self.m.getListOfParameters():
            meta = read_meta(p)
            rule = self.m.getRuleByVariable(p.getId())
            flagged = meta is not None and meta.flag("observable", False)
            if flagged and rule is not None and rule.isAssignment():
                ids.add(p.getId())
        return ids

    def run(self) -> Model:
        self._check_model_level()
        for c in self.m.getListOfCompartments():
            self.compartments[c.getId()] = self._compartment(c)
        for s in self.m.getListOfSpecies():
            self.species[s.getId()] = self._species(s)
        for p in self.m.getListOfParameters():
            if p.getId() not in self.observable_ids:
                self.parameters[p.getId()] = self._parameter(p)
        for r in self.m.getListOfReactions():
            self.reactions[r.getId()] = self._reaction(r)
        for rule in self.m.getListOfRules():
            self._rule(rule)
        for ia in self.m.getListOfInitialAssignments():
            self._initial_assignment(ia)
        for i, e in enumerate(self.m.getListOfEvents()):
            event = self._event(e, i)
            if event is not None:
                self.events[event.name] = event
        self._solve_algebraic_rules()
        self._initial_values_after_sizes()
        self._check_event_order()
        self._check_values_defined()
        self._species_in_varying_compartments()
        self._reaction_terms_as_rate_rules()
        model = _concentrations_as_amounts(self._model(), self.as_amounts)
        self._check_unsized(model)
        return check_instant_triggers(model)

    def _check_unsized(self, model: Model) -> None:
        used = sorted(self.unsized & model.referenced_names())
        if used:
            raise ModelValidationError(
                [
                    f"compartment {cid!r} has no size (it is 0-dimensional) and no initial "
                    "assignment or rule, but math uses its size"
                    for cid in used
                ]
            )

    def _solve_algebraic_rules(self) -> None:
        """Algebraic rules that fix one variable linearly become assignment rules.

        ``0 = f`` determines a variable that nothing else determines (not constant, no rule,
        not changed by reactions, no initial assignment, not set by events). When exactly one
        such variable ``x`` occurs in ``f`` and ``f`` is linear in it (``f = a·x + b`` with
        ``a`` free of ``x``), the rule is ``x = −b / a`` at every instant — exact, no DAE
        solver needed. Rules are taken one at a time (a solved variable is determined for the
        next). Anything else is refused: mdrsim does not integrate DAEs.
        """
        if not self.algebraic:
            return
        moved_by_reactions = {
            sid
            for sid in self.terms
            if not self.species[sid].boundary and not self.species[sid].constant
        }
        set_by_events = {a.variable for e in self.events.values() for a in e.assignments}
        constant = {p for p, par in self.parameters.items() if par.constant}
        constant |= {c.getId() for c in self.m.getListOfCompartments() if c.getConstant()}
        constant |= {s for s, sp in self.species.items() if sp.constant}
        pending = list(self.algebraic)
        while pending:
            determined = (
                set(self.assignment_rules)
                | set(self.rate_rules)
                | moved_by_reactions
                | set(self.initial_assignments)
                | set_by_events
                | constant
            )
            for formula, expr in pending:
                free = {s.name for s in expr.free_symbols} - {TIME.name}
                candidates = sorted(free & set(self.parameters) | free & set(self.compartments)
                                    | free & set(self.species))  # fmt: skip
                open_ = [c for c in candidates if c not in determined]
                if len(open_) != 1:
                    continue
                x = sympy.Symbol(open_[0])
                slope = sympy.diff(expr, x)
                if x in slope.free_symbols or slope == 0:
                    continue
                solution = -expr.xreplace({x: sympy.Integer(0)}) / slope
                self.assignment_rules[x.name] = AssignmentRule(x.name, solution)
                pending.remove((formula, expr))
                break
            else:
                formula = pending[0][0]
                raise UnsupportedSBMLFeatureError(
                    f"algebraic rule 0 = {formula}: mdrsim solves an algebraic rule only when "
                    "it is linear in exactly one variable that nothing else determines (it "
                    "becomes an assignment rule); mdrsim does not integrate DAEs",
                    "algebraic rule",
                )

    def _species_in_varying_compartments(self) -> None:
        """Concentration species in a compartment whose size changes become amounts.

        SBML: what reactions (and nothing else) change is a species' *amount*; its
        concentration is amount / size, so when the size changes (rule, rate rule, event) the
        concentration changes with it. Such a species is integrated as an amount (the IR's
        ``amount_based``); :func:`_concentrations_as_amounts` then writes ``S / size`` wherever
        the model's math means its concentration and converts values assigned to it.
        A species with a rate rule stays a concentration: SBML's rate rule gives d[S]/dt.
        """
        assigned_by_events = {
            a.variable: name for name, e in self.events.items() for a in e.assignments
        }
        varying = {
            cid
            for cid in self.compartments
            if cid in self.assignment_rules or cid in self.rate_rules or cid in assigned_by_events
        }
        if not varying:
            return
        meta = read_meta(self.m)
        own = meta is not None and meta.attributes.get("writer") == "mdrsim"
        for sid, species in self.species.items():
            cid = species.compartment
            if cid not in varying or species.amount_based or sid in self.assignment_rules:
                continue
            if sid in self.rate_rules:
                # SBML: a rate rule of a concentration species gives d[S]/dt itself, so S
                # stays a concentration (its amount follows the size). A size that jumps at
                # an event would have to rescale it: refused.
                if cid in assigned_by_events:
                    raise UnsupportedSBMLFeatureError(
                        f"species {sid!r} has a rate rule for its concentration and event "
                        f"{assigned_by_events[cid]!r} changes the size of its compartment "
                        f"{cid!r}; not supported",
                        "non-constant compartment (rate rule for a concentration)",
                    )
                continue
            for event in self.events.values():
                targets = {a.variable for a in event.assignments}
                if sid in targets and cid in targets:
                    raise UnsupportedSBMLFeatureError(
                        f"event {event.name!r} assigns both the concentration of {sid!r} and "
                        f"the size of its compartment {cid!r}; which size converts the "
                        "concentration is ambiguous, so the model is refused",
                        "non-constant compartment (species and size set by one event)",
                    )
            if own:
                # mdrsim's IR keeps concentrations when a size changes (no dilution); the
                # SBML it wrote says otherwise, so reading it back would change the model.
                raise UnsupportedSBMLFeatureError(
                    f"species {sid!r} is a concentration in compartment {cid!r}, whose size "
                    "changes; this document was written by mdrsim, whose model does not dilute "
                    "concentrations when a size changes as SBML does, so it is not read back",
                    "non-constant compartment (mdrsim-written)",
                )
            self.as_amounts[sid] = cid
            if sid not in self.initial_assignments:
                # The concentration at the start; converted with the start size below.
                self.initial_assignments[sid] = InitialAssignment(sid, sympy.Float(species.initial))
            size = self.compartments[cid].size
            self.species[sid] = replace(species, amount_based=True, initial=species.initial * size)

    def _reaction_terms_as_rate_rules(self) -> None:
        """Species with a conversion factor or a variable stoichiometry get a rate rule.

        SBML: a species' rate of change from reactions is ``f * sum(stoichiometry * rate)``
        (an amount per time; divided by the compartment size for a concentration), where ``f``
        is the species' ``conversionFactor``, else the model's, else 1, and a stoichiometry may
        be a species reference whose value rules, initial assignments or events set (Level 3),
        or ``stoichiometryMath`` (Level 2). The IR's reactions have fixed numbers, so such a
        species leaves the reactions' stoichiometry and gets that sum as its rate rule; the
        reaction ids in it are replaced by the rates afterwards.
        """
        model_factor = self.m.getConversionFactor() if self.m.isSetConversionFactor() else ""
        moved: set[str] = set()
        for sid, terms in self.terms.items():
            species = self.species[sid]
            if species.boundary or species.constant:
                continue
            sbml_species = self.m.getSpecies(sid)
            factor = (
                sbml_species.getConversionFactor()
                if sbml_species.isSetConversionFactor()
                else model_factor
            )
            if not factor and sid not in self.variable_stoichiometry:
                continue
            if sid in self.rate_rules or sid in self.assignment_rules:
                continue  # invalid SBML; validation names the conflict
            total = sympy.Add(*(stoich * sympy.Symbol(rid) for rid, stoich in terms))
            if factor:
                total = sympy.Symbol(factor) * total
            if not species.amount_based:
                total = total / sympy.Symbol(species.compartment)
            self.rate_rules[sid] = RateRule(sid, total)
            moved.add(sid)
        if not moved:
            return
        for rid, reaction in self.reactions.items():
            self.reactions[rid] = replace(
                reaction,
                reactants={k: v for k, v in reaction.reactants.items() if k not in moved},
                products={k: v for k, v in reaction.products.items() if k not in moved},
            )

    def _initial_values_after_sizes(self) -> None:
        """Convert initial amounts with the compartment size *after* initial assignments.

        SBML: a species' ``initialAmount`` (for a concentration species) or
        ``initialConcentration`` (for an amount species) is converted with the compartment's
        initial size, which an initial assignment may set. The IR stores one number computed
        with the declared size, so for such compartments the conversion is made an initial
        assignment of the species instead (unless the species has its own).
        """
        for sid, cid, value, is_amount in self.converted_initial:
            if cid not in self.initial_assignments and cid not in self.assignment_rules:
                continue
            if sid in self.initial_assignments or sid in self.assignment_rules:
                continue
            size = sympy.Symbol(cid)
            number = sympy.Float(value)
            expression = number / size if is_amount else number * size
            self.initial_assignments[sid] = InitialAssignment(sid, expression)

    def _check_event_order(self) -> None:
        """Priorities and non-persistent triggers where they could matter.

        Both only change results when events are due at the same instant. Where the order in
        which mdrsim carries out such events (model order) is provably SBML's (see
        :meth:`_events_by_priority`) the events are put in that order. Otherwise, with
        priorities, the events keep them and the engine orders the executions due at one
        instant by priority (values from the trigger time taken first; a tie — equal
        priorities or an event without one, which SBML leaves to chance — fails that patient
        with a named status). Non-persistent triggers without priorities are refused.
        """
        if len(self.events) < 2:
            return
        meta = read_meta(self.m)
        if meta is not None and meta.attributes.get("writer") == "mdrsim":
            # Written by mdrsim from its own model: the flags mean what mdrsim does with
            # them, and reading the document back must give the same model.
            self._use_priorities()
            return
        if self.prioritised or self.non_persistent:
            ordered = self._events_by_priority()
            if ordered is not None:
                self.events = ordered
                return
        if self.prioritised:
            self._use_priorities()
            return
        if self.non_persistent:
            names = ", ".join(repr(n) for n in self.non_persistent)
            raise UnsupportedSBMLFeatureError(
                f'non-persistent trigger: event(s) {names} have persistent="false"; mdrsim '
                "carries out every triggered event even when another event at the same instant "
                "makes its trigger false, so a model with several events and a non-persistent "
                "trigger is refused",
                "non-persistent event trigger",
            )

    def _use_priorities(self) -> None:
        """Keep each event's priority: the engine orders executions due at one instant by it."""
        if self.prioritised:
            self.events = {
                k: replace(e, priority=self.prioritised.get(k)) for k, e in self.events.items()
            }

    def _events_by_priority(self) -> dict[str, Event] | None:
        """The events in an order whose one-after-another execution is SBML's, or None.

        mdrsim carries out events due at the same instant one after another in model order
        (timed events first, then state-triggered ones, each seeing the values the previous
        ones set). Exact when no event sets anything a trigger uses (no event can join the
        pending set, or leave it when its trigger is not persistent, by another's doing) and
        no event's assignments use what another sets (values taken at trigger time and at
        execution agree). Then, if no two events set the same variable, the order does not
        matter at all; otherwise every event needs a priority that is a fixed number, all
        different, and the events must be all timed or all state-triggered with one and the
        same trigger (so that they are due at exactly the same instant), and they are put in
        priority order.
        """
        events = self.events
        rule_subs: dict[sympy.Basic, sympy.Basic] = {}
        for _ in range(len(self.assignment_rules) + 1):
            grown = {
                sympy.Symbol(v): r.expression.xreplace(rule_subs)
                for v, r in self.assignment_rules.items()
            }
            if grown == rule_subs:
                break
            rule_subs = grown

        def names(expr: sympy.Basic) -> set[str]:
            found = {x.name for x in expr.xreplace(rule_subs).free_symbols}
            # A concentration is amount / size: an event that resizes the compartment changes
            # it at that instant, so the compartment counts as a name the expression uses.
            return found | {
                self.species[n].compartment
                for n in found
                if n in self.species and not self.species[n].amount_based
            }

        targets = {k: {a.variable for a in e.assignments} for k, e in events.items()}
        all_targets = set().union(*targets.values())
        for k, e in events.items():
            if names(e.trigger) & all_targets or e.trigger.atoms(sympy.Eq, sympy.Ne):
                return None
            uses = set().union(*(names(a.expression) for a in e.assignments))
            if uses & (all_targets - targets[k]):
                return None
        if sum(len(t) for t in targets.values()) == len(all_targets):
            return dict(events)  # no variable set twice: any order gives the same values
        if set(self.prioritised) != set(events) or self.non_persistent:
            return None
        if any(e.delay is not None for e in events.values()):
            return None  # delayed executions may meet at one instant in any combination
        fixed = {
            sympy.Symbol(p.name): sympy.Float(p.value)
            for p in self.parameters.values()
            if p.constant
            and p.name not in self.initial_assignments
            and p.name not in self.assignment_rules
            and p.name not in all_targets
        }
        values: dict[str, float] = {}
        for k, priority in self.prioritised.items():
            number = priority.xreplace(rule_subs).xreplace(fixed)
            if number.free_symbols or not number.is_number:
                return None
            values[k] = float(number)
        if len(set(values.values())) != len(values) or not all(
            math.isfinite(v) for v in values.values()
        ):
            return None
        triggers = {k: e.trigger.xreplace(rule_subs) for k, e in events.items()}
        timed = {_is_timed(t, all_targets) for t in triggers.values()}
        if timed == {False} and len(set(triggers.values())) != 1:
            return None  # state triggers: only one and the same trigger is due at one instant
        if len(timed) != 1:
            return None
        order = sorted(events, key=lambda k: -values[k])
        return {k: events[k] for k in order}

    def _check_values_defined(self) -> None:
        """A parameter or compartment with no value, rule or initial assignment is an error.

        SBML leaves its value undefined; Antimony produces one for every name it does not know,
        so this is how a misspelt name in an Antimony model shows up. (Species without an
        initial value start at 0, the convention of Antimony and SBML simulators.)
        """
        defined = set(self.assignment_rules) | set(self.initial_assignments)
        known = set(self.parameters) | set(self.species) | set(self.compartments)
        problems = [
            f"{kind} {name!r} has no value, initial assignment or assignment rule"
            + did_you_mean(name, known - {name})
            for kind, name in self.without_value
            if name not in defined
        ]
        if problems:
            raise ModelValidationError(problems)

    # -- model level -------------------------------------------------------------------------

    def _check_model_level(self) -> None:
        """Nothing at the model level is refused (conversion factors: see the species)."""

    def _model(self) -> Model:
        meta = read_meta(self.m)
        # The human-readable name when the file has one (issue 13: `info` showed the SBML id).
        name = self.m.getName() or self.m.getId() or "model"
        if meta is not None:
            name = meta.texts.get("name", name)
            description = meta.texts.get("description", "")
        else:
            description = _foreign_description(self.m)
        return substitute_rate_of(
            _substitute_reaction_ids(
                Model(
                    name=name,
                    compartments=self.compartments,
                    species=self.species,
                    parameters=self.parameters,
                    reactions=self.reactions,
                    assignment_rules=self.assignment_rules,
                    rate_rules=self.rate_rules,
                    initial_assignments=self.initial_assignments,
                    observables=self.observables,
                    events=self.events,
                    description=description,
                )
            ),
            concentration_species=set(self.as_amounts),
        )

    def _texts(self, sbase: SBase, meta: Meta | None) -> tuple[str, str]:
        """(description, source): from the mdrsim annotation, else from name and notes."""
        if meta is None:
            return _foreign_description(sbase), _described_by(sbase)
        return meta.texts.get("description", ""), meta.texts.get("source", "")

    @staticmethod
    def _unit(meta: Meta | None, fallback: str | None, default: str = "dimensionless") -> str:
        """The unit as written in the annotation, else as SBML declares it, else ``default``."""
        written = meta.texts.get("unit") if meta is not None else None
        return written or fallback or default

    # -- components ----------------------------------------------------------------------------

    def _compartment(self, c: Any) -> Compartment:
        cid = c.getId()
        # constant="false" alone is accepted: what changes the size is refused by _check_target.
        meta = read_meta(c)
        description, source = self._texts(c, meta)
        volume_units = self.m.getVolumeUnits() if c.getSpatialDimensions() == 3 else ""
        unit_ref = c.getUnits() or volume_units
        if not c.isSetSize():
            if _zero_dimensional(c):
                self.unsized.add(cid)
            else:
                self.without_value.append(("compartment", cid))
        size = restore_exact(c.getSize(), meta) if c.isSetSize() else 1.0
        unit = self._unit(meta, self.units.name(unit_ref), default="L")
        return Compartment(cid, size, unit, description, source, read_domain(meta))

    def _species(self, s: Any) -> Species:
        sid = s.getId()
        meta = read_meta(s)
        description, source = self._texts(s, meta)
        amount_based = bool(s.getHasOnlySubstanceUnits())
        compartment = self.m.getCompartment(s.getCompartment())
        if compartment is not None and compartment.getId() in self.unsized:
            # A 0-D compartment without a size has none to divide by: its species are amounts.
            if s.isSetInitialConcentration():
                raise ModelValidationError(
                    [
                        f"species {sid!r} has an initialConcentration in the 0-dimensional "
                        f"compartment {compartment.getId()!r}, which has no size"
                    ]
                )
            amount_based = True
        return Species(
            sid,
            self._initial_value(s, meta, amount_based),
            s.getCompartment(),
            # SBML declares no sign: only mdrsim's own annotation makes a species non-negative
            # (several SBML test-suite models have species that go below zero).
            non_negative=meta.flag("nonNegative", False) if meta is not None else False,
            amount_based=amount_based,
            boundary=bool(s.getBoundaryCondition()),
            constant=bool(s.getConstant()),
            description=description,
            source=source,
            unit=self._unit(meta, self._species_unit(s, amount_based)),
            domain=read_domain(meta),
        )

    def _initial_value(self, s: Any, meta: Meta | None, amount_based: bool) -> float:
        """The species' initial concentration, or amount when ``amount_based``."""
        compartment = self.compartments.get(s.getCompartment())
        size = compartment.size if compartment is not None else 1.0
        if s.isSetInitialAmount():
            amount = restore_exact(s.getInitialAmount(), meta)
            if not amount_based:
                self.converted_initial.append((s.getId(), s.getCompartment(), amount, True))
            return amount if amount_based else amount / size
        if s.isSetInitialConcentration():
            concentration = restore_exact(s.getInitialConcentration(), meta)
            if amount_based:
                self.converted_initial.append((s.getId(), s.getCompartment(), concentration, False))
            return concentration * size if amount_based else concentration
        return 0.0  # set by an initial assignment or rule, or undefined in SBML

    def _species_unit(self, s: Any, amount_based: bool) -> str | None:
        substance = self.units.name(s.getSubstanceUnits() or self.m.getSubstanceUnits())
        if amount_based or substance is None:
            return substance
        compartment = self.m.getCompartment(s.getCompartment())
        volume_ref = compartment.getUnits() if compartment is not None else ""
        volume = self.units.name(volume_ref or self.m.getVolumeUnits())
        if volume is None:
            return None
        if "/" in volume or "*" in volume:
            volume = f"({volume})"
        return f"{substance}/{volume}"

    def _parameter(self, p: Any) -> Parameter:
        meta = read_meta(p)
        description, source = self._texts(p, meta)
        bounds = None
        if meta is not None:
            lower, upper = meta.number("lower"), meta.number("upper")
            if lower is not None and upper is not None:
                bounds = (lower, upper)
        if not p.isSetValue():
            self.without_value.append(("parameter", p.getId()))
        value = restore_exact(p.getValue(), meta) if p.isSetValue() else 0.0
        return Parameter(
            p.getId(), value, self._unit(meta, self.units.name(p.getUnits())), bounds, source,
            description, bool(p.getConstant()), read_domain(meta),
        )  # fmt: skip

    # -- reactions -----------------------------------------------------------------------------

    def _reaction(self, r: Any) -> Reaction:
        rid = r.getId()
        if r.isSetFast() and r.getFast():
            raise UnsupportedFeatureError(
                f"reaction {rid!r} is marked fast, which is not supported"
            )
        law = r.getKineticLaw()
        if law is None or not law.isSetMath():
            raise ModelImportError(f"reaction {rid!r} has no kinetic law; mdrsim needs a rate")
        env = self._local_parameters(rid, law)
        meta = read_meta(r)
        description = meta.texts.get("description", "") if meta else _foreign_description(r)
        return Reaction(
            rid,
            as_number(self.math.read(law.getMath(), f"rate of reaction {rid!r}", env)),
            self._stoichiometries(r.getListOfReactants(), rid, -1),
            self._stoichiometries(r.getListOfProducts(), rid, 1),
            reversible=bool(r.getReversible()),
            description=description,
        )

    def _local_parameters(self, rid: str, law: Any) -> dict[str, sympy.Basic]:
        """Make each local parameter a global ``<reaction>_<id>`` and rename it in this law."""
        level3 = self.m.getLevel() >= 3
        local = law.getListOfLocalParameters() if level3 else law.getListOfParameters()
        env: dict[str, sympy.Basic] = {}
        for lp in local:
            name = _unique(f"{rid}_{lp.getId()}", self.taken)
            self.parameters[name] = Parameter(
                name,
                lp.getValue() if lp.isSetValue() else 0.0,
                self._unit(None, self.units.name(lp.getUnits())),
                description=_foreign_description(lp)
                or f"local parameter {lp.getId()!r} of reaction {rid!r}",
            )
            env[lp.getId()] = sympy.Symbol(name)
        return env

    def _stoichiometries(self, references: Any, rid: str, sign: int) -> dict[str, float]:
        """Fixed stoichiometries by species; every term (fixed or not) goes to ``terms``.

        A species reference with an id is also a parameter of that name (SBML: its value is
        the stoichiometry), which math may use and rules, initial assignments and events may
        set; a Level 2 ``stoichiometryMath`` is the stoichiometry itself.
        """
        result: dict[str, float] = {}
        for sr in references:
            species = sr.getSpecies()
            value = restore_exact(sr.getStoichiometry(), read_meta(sr))
            if self.m.getLevel() >= 3 and not sr.isSetStoichiometry():
                value = 1.0
            expression: sympy.Basic = sympy.Float(value)
            if self.m.getLevel() < 3 and sr.isSetStoichiometryMath():
                math = sr.getStoichiometryMath().getMath()
                where = f"stoichiometryMath of {species!r} in reaction {rid!r}"
                expression = as_number(self.math.read(math, where))
                self.variable_stoichiometry.add(species)
            elif sr.isSetId():
                srid = sr.getId()
                changed = self._is_changed(srid)
                self.parameters[srid] = Parameter(
                    srid, value, constant=not changed,
                    description=f"stoichiometry of {species!r} in reaction {rid!r}",
                )  # fmt: skip
                if changed:
                    expression = sympy.Symbol(srid)
                    self.variable_stoichiometry.add(species)
            self.terms.setdefault(species, []).append((rid, sign * expression))
            result[species] = result.get(species, 0.0) + value
        return result

    def _is_changed(self, sid: str) -> bool:
        m = self.m
        if m.getRuleByVariable(sid) is not None or m.getInitialAssignmentBySymbol(sid) is not None:
            return True
        return any(e.getEventAssignment(sid) is not None for e in m.getListOfEvents())

    # -- rules and assignments -----------------------------------------------------------------

    def _check_target(self, variable: str, what: str) -> None:
        """Nothing is refused any more: compartments of varying size are handled by
        :meth:`_species_in_varying_compartments`."""

    def _rule(self, rule: Any) -> None:
        if not rule.isSetMath():
            return  # SBML L3V2 allows a rule without math; it has no effect
        if rule.isAlgebraic():
            formula = libsbml.formulaToL3String(rule.getMath())
            self.algebraic.append((formula, as_number(self.math.read(rule.getMath(), formula))))
            return
        variable = rule.getVariable()
        kind = "assignment rule" if rule.isAssignment() else "rate rule"
        where = f"{kind} for {variable!r}"
        self._check_target(variable, where)
        expression = as_number(self.math.read(rule.getMath(), where))
        if rule.isRate():
            self.rate_rules[variable] = RateRule(variable, expression)
        elif variable in self.observable_ids:
            self.observables[variable] = self._observable(variable, expression)
        else:
            self.assignment_rules[variable] = AssignmentRule(variable, expression)

    def _observable(self, name: str, expression: sympy.Basic) -> Observable:
        p = self.m.getParameter(name)
        meta = read_meta(p)
        description, _ = self._texts(p, meta)
        unit = self._unit(meta, self.units.name(p.getUnits()))
        return Observable(name, expression, unit, description)

    def _initial_assignment(self, ia: Any) -> None:
        symbol = ia.getSymbol()
        if not ia.isSetMath():
            return  # SBML L3V2 allows it; it has no effect
        where = f"initial assignment for {symbol!r}"
        self._check_target(symbol, where)
        self.initial_assignments[symbol] = InitialAssignment(
            symbol, as_number(self.math.read(ia.getMath(), where))
        )

    # -- events --------------------------------------------------------------------------------

    def _event(self, e: Any, index: int) -> Event | None:
        name = e.getId() if e.isSetId() else _unique(f"event_{index + 1}", self.taken)
        delay = self._delay(e, name)
        trigger = e.getTrigger()
        if trigger is None or not trigger.isSetMath():
            return None  # SBML L3V2: an event without a trigger never fires
        assignments = tuple(
            self._event_assignment(a, name) for a in e.getListOfEventAssignments() if a.isSetMath()
        )
        if not assignments:
            return None  # an event that assigns nothing has no effect
        if e.isSetPriority() and e.getPriority().isSetMath():
            # Read (so that e.g. a delay() in it is refused), then judged in _check_event_order.
            priority = self.math.read(e.getPriority().getMath(), f"priority of event {name!r}")
            self.prioritised[name] = as_number(priority)
        if not trigger.getPersistent():
            self.non_persistent.append(name)
        meta = read_meta(e)
        description = meta.texts.get("description", "") if meta else _foreign_description(e)
        return Event(
            name,
            as_condition(self.math.read(trigger.getMath(), f"trigger of event {name!r}")),
            assignments,
            initial_value=bool(trigger.getInitialValue()),
            persistent=bool(trigger.getPersistent()),
            description=description,
            delay=delay,
            # SBML Level 2 before version 4 has no attribute: values from the trigger time.
            use_values_from_trigger_time=(
                bool(e.getUseValuesFromTriggerTime())
                if e.isSetUseValuesFromTriggerTime() or self.m.getLevel() > 2
                else True
            ),
        )

    def _delay(self, e: Any, name: str) -> sympy.Expr | None:
        """The event's delay, or None when it has none (or one that is exactly 0)."""
        if not e.isSetDelay() or not e.getDelay().isSetMath():
            return None
        delay = as_number(self.math.read(e.getDelay().getMath(), f"delay of event {name!r}"))
        if delay.is_zero is True:
            return None
        if delay.is_number and (delay.is_negative or not delay.is_finite):
            raise UnsupportedSBMLFeatureError(
                f"event {name!r} has the delay {delay}; a delay must be a finite number >= 0",
                "event delay",
            )
        return delay

    def _event_assignment(self, a: Any, event: str) -> EventAssignment:
        variable = a.getVariable()
        where = f"event {event!r} assignment to {variable!r}"
        self._check_target(variable, where)
        return EventAssignment(variable, as_number(self.math.read(a.getMath(), where)))


def _concentrations_as_amounts(model: Model, as_amounts: Mapping[str, str]) -> Model:
    """Math means a concentration where it names a species now integrated as an amount.

    Every ``S`` becomes ``S / size``; a value assigned to ``S`` (initial assignment, event)
    is a concentration, stored as ``value * size`` (the size before the event: one event
    never sets both, see :meth:`_Importer._species_in_varying_compartments`). Rate rules
    built for such species from reaction terms are amounts per time already.
    """
    if not as_amounts:
        return model
    subs = {sympy.Symbol(s): sympy.Symbol(s) / sympy.Symbol(c) for s, c in as_amounts.items()}

    def fn(e: sympy.Basic) -> sympy.Basic:
        return e.xreplace(subs)

    def amount(variable: str, e: sympy.Basic) -> sympy.Basic:
        e = fn(e)
        return e * sympy.Symbol(as_amounts[variable]) if variable in as_amounts else e

    for e in model.events.values():
        stored = sorted({a.variable for a in e.assignments} & set(as_amounts))
        if e.delay is not None and e.use_values_from_trigger_time and stored:
            # value * size would be taken at the trigger time, but the size may change before
            # the assignment is carried out.
            raise UnsupportedSBMLFeatureError(
                f"event {e.name!r} has a delay and assigns the concentration of "
                f"{', '.join(repr(v) for v in stored)}, whose compartment changes size, with "
                "values from the trigger time; mdrsim cannot convert that to an amount",
                "event delay",
            )
    mapped = _map_expressions(model, fn)
    reactions = {k: replace(r, rate=fn(r.rate)) for k, r in model.reactions.items()}
    initial = {
        k: replace(a, expression=amount(k, a.expression))
        for k, a in model.initial_assignments.items()
    }
    events = {
        k: replace(
            e,
            trigger=fn(e.trigger),
            delay=None if e.delay is None else fn(e.delay),
            priority=None if e.priority is None else fn(e.priority),
            assignments=tuple(
                replace(a, expression=amount(a.variable, a.expression)) for a in e.assignments
            ),
        )
        for k, e in model.events.items()
    }
    return replace(mapped, reactions=reactions, initial_assignments=initial, events=events)


def _substitute_reaction_ids(model: Model) -> Model:
    """Replace reaction ids used as symbols (SBML: the reaction's rate) by the rate itself."""
    used = model.referenced_names() & set(model.reactions)
    if not used:
        return model
    subs = {sympy.Symbol(name): model.reactions[name].rate for name in model.reactions}
    # A rate may use another reaction's id: substitute until no reaction id is left.
    for _ in range(len(subs) + 1):
        nested = {k: v.xreplace(subs) for k, v in subs.items()}
        if nested == subs:
            break
        subs = nested
    else:
        raise ModelValidationError(["reaction rates use each other's ids in a cycle"])
    reactions = {k: replace(r, rate=r.rate.xreplace(subs)) for k, r in model.reactions.items()}
    return _map_expressions(replace(model, reactions=reactions), lambda e: e.xreplace(subs))


def _map_expressions(model: Model, fn: Callable[[sympy.Basic], sympy.Basic]) -> Model:
    """A copy of ``model`` with ``fn`` applied to every rule, observable and event expression."""

    def exprs(group: Mapping[str, Any]) -> dict[str, Any]:
        return {k: replace(v, expression=fn(v.expression)) for k, v in group.items()}

    events = {
        k: replace(
            e,
            trigger=fn(e.trigger),
            delay=None if e.delay is None else fn(e.delay),
            priority=None if e.priority is None else fn(e.priority),
            assignments=tuple(replace(a, expression=fn(a.expression)) for a in e.assignments),
        )
        for k, e in model.events.items()
    }
    return replace(
        model,
        assignment_rules=exprs(model.assignment_rules),
        rate_rules=exprs(model.rate_rules),
        initial_assignments=exprs(model.initial_assignments),
        observables=exprs(model.observables),
        events=events,
    )
