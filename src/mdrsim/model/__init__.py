"""Model IR, builder, safe expression parsing and validation."""

from mdrsim.model.builder import ModelBuilder
from mdrsim.model.domain import Domain
from mdrsim.model.expressions import TIME, parse_expression
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
from mdrsim.model.validation import rule_order, validate_model

__all__ = [
    "TIME",
    "AssignmentRule",
    "Compartment",
    "Domain",
    "Event",
    "EventAssignment",
    "InitialAssignment",
    "Model",
    "ModelBuilder",
    "Observable",
    "Parameter",
    "RateRule",
    "Reaction",
    "Species",
    "parse_expression",
    "rule_order",
    "validate_model",
]
