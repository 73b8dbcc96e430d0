"""Event triggers that are true only at an instant (``time == 57``): convert or refuse.

An integrator never lands exactly on the instant where an equality of continuously changing
quantities holds, so such a trigger would silently never fire. Two cases:

- ``time == c`` (either way round), where ``c`` does not change continuously, no other event
  changes it and the trigger's ``initialValue`` is true, becomes ``time >= c``: both fire once
  when time reaches ``c`` (after which the event's own assignments may move ``c`` on, which
  re-arms both the same way), and neither fires at the start. The engine then stops exactly at
  ``c`` — the modeller's evident intent (a dose at day 57).
- any other ``==`` or ``!=`` whose sides change continuously (states, time, rules of them)
  is refused with a message saying why. Equalities of quantities that change only at events
  (a flag set by an event) are true over intervals and are kept.
"""

from __future__ import annotations

from dataclasses import replace

import sympy

from mdrsim.errors import UnsupportedSBMLFeatureError
from mdrsim.model.expressions import TIME
from mdrsim.model.ir import Event, Model

__all__ = ["check_instant_triggers", "continuous_names"]


def continuous_names(model: Model) -> set[str]:
    """Names whose values change continuously in time: states, and rules that use them."""
    changing = set(model.state_names()) | {TIME.name}
    rules = {
        v: {s.name for s in r.expression.free_symbols} for v, r in model.assignment_rules.items()
    }
    grown = True
    while grown:
        grown = False
        for variable, uses in rules.items():
            if variable not in changing and uses & changing:
                changing.add(variable)
                grown = True
    return changing


def _names(expr: sympy.Basic) -> set[str]:
    return {s.name for s in expr.free_symbols}


def check_instant_triggers(model: Model) -> Model:
    """``model`` with ``time == c`` triggers made timed; raises for other instant triggers."""
    if not model.events:
        return model
    changing = continuous_names(model)
    events = dict(model.events)
    for name, event in model.events.items():
        converted = _as_timed(event, model, changing)
        if converted is not None:
            events[name] = converted
            continue
        for relation in event.trigger.atoms(sympy.Eq, sympy.Ne):
            if _names(relation) & changing:
                _refuse(event, relation, changing)
    return replace(model, events=events) if events != dict(model.events) else model


def _as_timed(event: Event, model: Model, changing: set[str]) -> Event | None:
    trigger = event.trigger
    if not isinstance(trigger, sympy.Eq):
        return None
    if trigger.lhs == TIME:
        threshold = trigger.rhs
    elif trigger.rhs == TIME:
        threshold = trigger.lhs
    else:
        return None
    if not event.initial_value or _names(threshold) & changing:
        return None
    set_by_others = {
        a.variable
        for other in model.events.values()
        if other is not event
        for a in other.assignments
    }
    if _names(threshold) & set_by_others:
        return None
    return replace(event, trigger=sympy.Ge(TIME, threshold))


def _refuse(event: Event, relation: sympy.Basic, changing: set[str]) -> None:
    moving = sorted(_names(relation) & changing)
    reason = (
        "it is true only at an instant, which a numerical integrator does not land on, so the "
        "event would silently never fire"
    )
    if isinstance(relation, sympy.Eq) and TIME in relation.free_symbols:
        hint = (
            "; only a trigger that is exactly `time == c` with c fixed between events, not "
            'changed by another event, and initialValue="true" is converted to a timed event '
            "— write `time >= c` to fire once at c"
        )
    else:
        hint = "; write the condition with <, <=, > or >="
    raise UnsupportedSBMLFeatureError(
        f"event {event.name!r}: the trigger compares {', '.join(moving)} with "
        f"{'==' if isinstance(relation, sympy.Eq) else '!='} ({relation}); {reason}{hint}",
        "event trigger true only at an instant (== / !=)",
    )
