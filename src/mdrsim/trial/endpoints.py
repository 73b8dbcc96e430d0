"""The endpoint schema of a trial: one row per patient and arm, typed once here.

Simulators produce these columns (:func:`mdrsim.trial.simulator.conform_endpoints` fixes order
and dtype), the store writes them, the analysis and the report read them. Code refers to a
column as ``Endpoint.PFS_DAYS`` rather than spelling ``"pfs_days"``, so a renamed column is a
failed import, not a silently empty figure.

Dtypes are pandas' nullable ones: a simulator may lack an endpoint (the generic model
simulator has no neutropenia) and a failed patient has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

__all__ = [
    "ENDPOINTS",
    "ENDPOINT_COLUMNS",
    "STATUS_FAILED",
    "STATUS_OK",
    "Endpoint",
    "EndpointColumn",
    "Status",
]

Dtype = Literal["int64", "string", "Float64", "boolean"]


class Endpoint(StrEnum):
    """Names of the endpoint columns (a ``str``: usable wherever the name is)."""

    PATIENT = "patient"
    ARM = "arm"
    STATUS = "status"
    REASON = "reason"
    PFS_DAYS = "pfs_days"
    PFS_EVENT = "pfs_event"
    BEST_RESPONSE = "best_response"
    BEST_CHANGE_PCT = "best_change_pct"
    TTF_LINE1_DAYS = "ttf_line1_days"
    TTF_LINE1_EVENT = "ttf_line1_event"
    ANC_NADIR = "anc_nadir"
    GRADE4_NEUTROPENIA = "grade4_neutropenia"
    INFECTION_CLEARED = "infection_cleared"
    INFECTION_CLEARANCE_DAY = "infection_clearance_day"
    CD8_MEMORY = "cd8_memory"
    CD8_MEMORY_RATIO = "cd8_memory_ratio"
    OS_DAYS = "os_days"
    OS_EVENT = "os_event"
    DEATH_CAUSE = "death_cause"
    EARLY_DEATH = "early_death"
    FEBRILE_NEUTROPENIA = "febrile_neutropenia"


class Status(StrEnum):
    """Values of the ``status`` column."""

    OK = "ok"
    FAILED = "failed"


#: Plain strings, for code that compares with pandas columns.
STATUS_OK: Final[str] = Status.OK.value
STATUS_FAILED: Final[str] = Status.FAILED.value


@dataclass(frozen=True)
class EndpointColumn:
    """One column of the endpoint table: name, pandas dtype, meaning (with its unit)."""

    name: Endpoint
    dtype: Dtype
    description: str


#: The endpoint table, in column order.
ENDPOINTS: Final[tuple[EndpointColumn, ...]] = (
    EndpointColumn(Endpoint.PATIENT, "int64", "patient index in the virtual population"),
    EndpointColumn(Endpoint.ARM, "string", "arm name"),
    EndpointColumn(Endpoint.STATUS, "string", "'ok' or 'failed'"),
    EndpointColumn(Endpoint.REASON, "string", "why the patient failed ('' when ok)"),
    EndpointColumn(Endpoint.PFS_DAYS, "Float64", "progression-free survival or censoring (days)"),
    EndpointColumn(Endpoint.PFS_EVENT, "boolean", "progressed (False: censored at the horizon)"),
    EndpointColumn(Endpoint.BEST_RESPONSE, "string", "RECIST 1.1 best response: CR, PR, SD, PD"),
    EndpointColumn(
        Endpoint.BEST_CHANGE_PCT, "Float64", "best change of the tumour diameter sum (%)"
    ),
    EndpointColumn(Endpoint.TTF_LINE1_DAYS, "Float64", "time to failure of the first line (days)"),
    EndpointColumn(Endpoint.TTF_LINE1_EVENT, "boolean", "the first line failed"),
    EndpointColumn(Endpoint.ANC_NADIR, "Float64", "lowest neutrophil count (10⁹/L)"),
    EndpointColumn(Endpoint.GRADE4_NEUTROPENIA, "boolean", "ANC below 0.5 × 10⁹/L at any time"),
    EndpointColumn(Endpoint.INFECTION_CLEARED, "boolean", "the first infection was cleared"),
    EndpointColumn(
        Endpoint.INFECTION_CLEARANCE_DAY, "Float64", "day the first infection was cleared"
    ),
    EndpointColumn(Endpoint.CD8_MEMORY, "Float64", "CD8 memory cells at the horizon (cells)"),
    EndpointColumn(
        Endpoint.CD8_MEMORY_RATIO, "Float64", "CD8 memory relative to the same patient untreated"
    ),
    EndpointColumn(Endpoint.OS_DAYS, "Float64", "overall survival or censoring (days)"),
    EndpointColumn(Endpoint.OS_EVENT, "boolean", "died (False: alive at the horizon)"),
    EndpointColumn(
        Endpoint.DEATH_CAUSE,
        "Float64",
        "0 alive, 1 progression, 2 neutropenic infection, 3 uncleared infection",
    ),
    EndpointColumn(Endpoint.EARLY_DEATH, "boolean", "died within 60 days of the start"),
    EndpointColumn(
        Endpoint.FEBRILE_NEUTROPENIA, "boolean", "at least one febrile-neutropenia episode"
    ),
)

#: Column → pandas dtype, in column order (the form ``conform_endpoints`` and the store use).
ENDPOINT_COLUMNS: Final[dict[str, str]] = {str(c.name): c.dtype for c in ENDPOINTS}
